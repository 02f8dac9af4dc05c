#include "lb/ipvsadm.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <sstream>

namespace vnet::lb {

namespace {

enum Cmd {
  kCmdNone = 0,
  kCmdAdd,
  kCmdEdit,
  kCmdDel,
  kCmdFlush,
  kCmdList,
  kCmdAddDest,
  kCmdDelDest,
  kCmdEditDest,
  kCmdTimeout,
  kCmdStartDaemon,
  kCmdStopDaemon,
  kCmdRestore,
  kCmdSave,
  kCmdZero,
};

constexpr std::array<const char*, 14> kCmdNames = {
    "add-service", "edit-service",  "delete-service", "flush", "list",
    "add-server",  "delete-server", "edit-server",    "set",   "start-daemon",
    "stop-daemon", "restore",       "save",           "zero"};

enum Optc {
  kOptNumeric = 0,
  kOptConnection,
  kOptService,
  kOptScheduler,
  kOptPersistent,
  kOptNetmask,
  kOptServer,
  kOptForward,
  kOptWeight,
  kOptUThreshold,
  kOptLThreshold,
  kOptMcast,
  kOptTimeout,
  kOptDaemon,
  kOptStats,
  kOptRate,
  kOptThresholds,
  kOptPersistentConn,
  kOptNoSort,
  kOptSyncId,
  kOptExact,
  kOptOnePacket,
  kOptPe,
  kOptSchedFlags,
  kOptMcastGroup,
  kOptMcastPort,
  kOptMcastTtl,
  kOptSyncMaxlen,
  kOptTunInfo,
  kOptTunType,
  kOptTunPort,
  kOptTunNoCsum,
  kOptTunCsum,
  kOptTunRemCsum,
  kNumOpt
};

constexpr std::array<const char*, kNumOpt> kOptNames = {"numeric",
                                                        "connection",
                                                        "service-address",
                                                        "scheduler",
                                                        "persistent",
                                                        "netmask",
                                                        "real-server",
                                                        "forwarding-method",
                                                        "weight",
                                                        "u-threshold",
                                                        "l-threshold",
                                                        "mcast-interface",
                                                        "timeout",
                                                        "daemon",
                                                        "stats",
                                                        "rate",
                                                        "thresholds",
                                                        "persistent-conn",
                                                        "nosort",
                                                        "syncid",
                                                        "exact",
                                                        "ops",
                                                        "pe",
                                                        "sched-flags",
                                                        "mcast-group",
                                                        "mcast-port",
                                                        "mcast-ttl",
                                                        "sync-maxlen",
                                                        "tun-info",
                                                        "tun-type",
                                                        "tun-port",
                                                        "tun-nocsum",
                                                        "tun-csum",
                                                        "tun-remcsum"};

// commands_v_options: '+' compulsory, 'x' illegal, '1' exclusive, ' ' optional.  Columns in
// Optc order: -n -c svc -s -p -M -r fwd -w -x -y -mc tot dmn -st -rt thr -pc srt sid -ex ops
// -pe -b grp port ttl size tinf type tprt nocs csum remc.
constexpr std::array<const char*, 14> kCommandsVsOptions = {
    "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx",  // ADD
    "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx",  // EDIT
    "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // DEL
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // FLUSH
    " 11xxxxxxxxx11       xxxxxxx xxxxx",  // LIST
    "xx+xxx+    xxxxxxxxxxxxxxxxxx     ",  // ADDSRV
    "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx",  // DELSRV
    "xx+xxx+    xxxxxxxxxxxxxxxxxx     ",  // EDITSRV
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // TIMEOUT
    "xxxxxxxxxxx xxxxxxx xxxx    xxxxxx",  // STARTD
    "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx",  // STOPD
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // RESTORE
    " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // SAVE
    "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",  // ZERO
};

constexpr std::array<const char*, 3> kTunNames = {"ipip", "gue", "gre"};
constexpr std::array<const char*, 3> kTunFlagNames = {"-c", "+c", "r+c"};
constexpr std::array<const char*, 3> kTunFlagOpts = {"--tun-nocsum", "--tun-csum", "--tun-remcsum"};
// tunnel_types_v_options, columns: tun-port, tun-nocsum, tun-csum, tun-remcsum.
constexpr std::array<const char*, 3> kTunnelVsOptions = {"xxxx", "+111", "x111"};
constexpr std::array<int, 4> kTunOpts = {kOptTunPort, kOptTunNoCsum, kOptTunCsum, kOptTunRemCsum};

enum Format : unsigned {
  kFmtNumeric = 0x1,
  kFmtRule = 0x2,
  kFmtStats = 0x4,
  kFmtRate = 0x8,
  kFmtThresholds = 0x10,
  kFmtPersistentConn = 0x20,
  kFmtNoSort = 0x40,
  kFmtExact = 0x80,
  kFmtTunInfo = 0x100,
};

constexpr uint32_t kMaxTimeout = 86400 * 31;
constexpr uint32_t kDefaultPersistentTimeout = 6 * 60;
constexpr const char* kVersion = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)";

// fail(): the message, a newline, and exit with the status.
struct Fail {
  int status;
  std::string message;
};

[[noreturn]] void fail(int status, std::string message) {
  throw Fail{status, std::move(message)};
}

struct Entry {
  Cmd cmd = kCmdNone;
  ServiceConfig svc;
  DestConfig dest;
  uint64_t options = 0;
  unsigned format = 0;
  uint32_t tcp = 0, tcpfin = 0, udp = 0;
  std::string sched_flags_arg;
  bool sched_given = false;
  std::string daemon_state;
  std::string mcast_ifn;
  int syncid = -1;
};

void set_command(Entry& e, Cmd c) {
  if (e.cmd != kCmdNone) fail(2, "multiple commands specified");
  e.cmd = c;
}

void set_option(Entry& e, int optc) {
  uint64_t bit = uint64_t{1} << optc;
  if ((e.options & bit) != 0)
    fail(2, fmt::format("multiple '{}' options specified", kOptNames[optc]));
  e.options |= bit;
}

// string_to_number(): a whole decimal number within [min, max], or -1.
long string_to_number(const std::string& s, long min, long max) {
  if (s.empty()) return -1;
  errno = 0;
  char* end = nullptr;
  long n = std::strtol(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || n < min || n > max) return -1;
  return n;
}

uint32_t parse_timeout(const std::optional<std::string>& s, long min, long max) {
  if (!s) return kDefaultPersistentTimeout;
  long v = string_to_number(*s, min, max);
  if (v == -1) fail(2, fmt::format("invalid timeout value `{}' specified", *s));
  return static_cast<uint32_t>(v);
}

enum ParseResult { kServiceNone = 0, kServiceAddr = 1, kServicePort = 2 };

// parse_service(): host[:port], the port a number or a service name.
int parse_service(const std::string& text, uint8_t protocol, net::Ipv4Addr* addr, uint16_t* port,
                  const IpvsadmNames& names) {
  if (text.empty() || std::all_of(text.begin(), text.end(), ::isdigit)) return kServiceNone;
  if (text[0] == '[') return kServiceNone;  // IPv6: not in vnet
  std::string host = text;
  std::optional<std::string> port_text;
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (auto a = net::Ipv4Addr::parse(host)) {
    *addr = *a;
  } else if (auto b = names.addr_of ? names.addr_of(host) : std::nullopt) {
    *addr = *b;
  } else {
    return kServiceNone;
  }
  int result = kServiceAddr;
  if (port_text) {
    result |= kServicePort;
    long n = string_to_number(*port_text, 0, 65535);
    if (n != -1) {
      *port = static_cast<uint16_t>(n);
    } else if (auto p = service_port(*port_text, protocol)) {
      *port = *p;
    } else {
      return kServiceNone;
    }
  }
  return result;
}

uint32_t parse_sched_flags(const std::string& sched_in, const std::string& arg) {
  std::string sched = sched_in.empty() ? "wlc" : sched_in;
  uint32_t flags = 0;
  size_t pos = 0;
  do {
    size_t comma = arg.find(',', pos);
    std::string flag =
        arg.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? arg.size() + 1 : comma + 1;
    if (flag.empty()) continue;  // strtok skips empty tokens
    auto need = [&](const char* s) {
      if (sched != s) fail(2, fmt::format("incompatible scheduler flag `{}'", flag));
    };
    if (flag == "flag-1") {
      flags |= kSchedFlag1;
    } else if (flag == "flag-2") {
      flags |= kSchedFlag2;
    } else if (flag == "flag-3") {
      flags |= kSchedFlag3;
    } else if (flag == "sh-fallback") {
      flags |= kSchedFlag1;
      need("sh");
    } else if (flag == "sh-port") {
      flags |= kSchedFlag2;
      need("sh");
    } else if (flag == "mh-fallback") {
      flags |= kSchedFlag1;
      need("mh");
    } else if (flag == "mh-port") {
      flags |= kSchedFlag2;
      need("mh");
    } else {
      fail(2, fmt::format("invalid scheduler flag `{}'", flag));
    }
  } while (pos <= arg.size());
  return flags;
}

// The popt table: long name, short letter, argument (0 none, 1 required, 2 optional).
struct OptDef {
  const char* name;
  char letter;
  int arg;
  int tag;
};

enum Tag {
  kTagSet = 256,
  kTagStartDaemon,
  kTagStopDaemon,
  kTagSctp,
  kTagMcastInterface,
  kTagTimeout,
  kTagDaemon,
  kTagStats,
  kTagRate,
  kTagThresholds,
  kTagPersistentConn,
  kTagNoSort,
  kTagSort,
  kTagPe,
  kTagMcastGroup,
  kTagMcastPort,
  kTagMcastTtl,
  kTagSyncMaxlen,
  kTagTunInfo,
  kTagTunType,
  kTagTunPort,
  kTagTunNoCsum,
  kTagTunCsum,
  kTagTunRemCsum,
};

constexpr OptDef kOpts[] = {
    {"add-service", 'A', 0, 'A'},
    {"edit-service", 'E', 0, 'E'},
    {"delete-service", 'D', 0, 'D'},
    {"clear", 'C', 0, 'C'},
    {"list", 'L', 0, 'L'},
    {"list", 'l', 0, 'l'},
    {"zero", 'Z', 0, 'Z'},
    {"add-server", 'a', 0, 'a'},
    {"edit-server", 'e', 0, 'e'},
    {"delete-server", 'd', 0, 'd'},
    {"set", 0, 0, kTagSet},
    {"help", 'h', 0, 'h'},
    {"version", 'v', 0, 'v'},
    {"restore", 'R', 0, 'R'},
    {"save", 'S', 0, 'S'},
    {"start-daemon", 0, 1, kTagStartDaemon},
    {"stop-daemon", 0, 1, kTagStopDaemon},
    {"tcp-service", 't', 1, 't'},
    {"udp-service", 'u', 1, 'u'},
    {"sctp-service", 0, 1, kTagSctp},
    {"fwmark-service", 'f', 1, 'f'},
    {"scheduler", 's', 1, 's'},
    {"persistent", 'p', 2, 'p'},
    {"netmask", 'M', 1, 'M'},
    {"real-server", 'r', 1, 'r'},
    {"masquerading", 'm', 0, 'm'},
    {"ipip", 'i', 0, 'i'},
    {"gatewaying", 'g', 0, 'g'},
    {"weight", 'w', 1, 'w'},
    {"u-threshold", 'x', 1, 'x'},
    {"l-threshold", 'y', 1, 'y'},
    {"numeric", 'n', 0, 'n'},
    {"connection", 'c', 0, 'c'},
    {"mcast-interface", 0, 1, kTagMcastInterface},
    {"syncid", 0, 1, 'I'},
    {"timeout", 0, 0, kTagTimeout},
    {"daemon", 0, 0, kTagDaemon},
    {"stats", 0, 0, kTagStats},
    {"rate", 0, 0, kTagRate},
    {"thresholds", 0, 0, kTagThresholds},
    {"persistent-conn", 0, 0, kTagPersistentConn},
    {"nosort", 0, 0, kTagNoSort},
    {"sort", 0, 0, kTagSort},
    {"exact", 'X', 0, 'X'},
    {"ipv6", '6', 0, '6'},
    {"ops", 'o', 0, 'o'},
    {"pe", 0, 1, kTagPe},
    {"sched-flags", 'b', 1, 'b'},
    {"mcast-group", 0, 1, kTagMcastGroup},
    {"mcast-port", 0, 1, kTagMcastPort},
    {"mcast-ttl", 0, 1, kTagMcastTtl},
    {"sync-maxlen", 0, 1, kTagSyncMaxlen},
    {"tun-info", 0, 0, kTagTunInfo},
    {"tun-type", 0, 1, kTagTunType},
    {"tun-port", 0, 1, kTagTunPort},
    {"tun-nocsum", 0, 0, kTagTunNoCsum},
    {"tun-csum", 0, 0, kTagTunCsum},
    {"tun-remcsum", 0, 0, kTagTunRemCsum},
};

// One option as popt returns it: its tag and argument, or an error naming the option.
struct Parsed {
  int tag = 0;
  std::optional<std::string> arg;
  std::string bad;    // the option as written: poptBadOption() names it in messages
  std::string error;  // poptStrerror(): "unknown option", "missing argument"
};

// popt's walk over argv: options (bundled short ones, --long and --long=value) anywhere,
// plain words kept as leftover arguments, "--" ending the options.
class Popt {
 public:
  explicit Popt(const std::vector<std::string>& argv) : argv_(argv) {}
  // false at the end.
  bool next(Parsed& p) {
    p = {};
    while (true) {
      if (!pending_short_.empty()) return short_opt(p);
      if (i_ >= argv_.size()) return false;
      const std::string& a = argv_[i_++];
      if (done_ || a.size() < 2 || a[0] != '-') {
        leftover_.push_back(a);
        continue;
      }
      if (a == "--") {
        done_ = true;
        continue;
      }
      if (a[1] == '-') return long_opt(a.substr(2), p);
      pending_short_ = a.substr(1);
    }
  }
  const std::vector<std::string>& leftover() const { return leftover_; }

 private:
  bool long_opt(const std::string& body, Parsed& p) {
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    for (const OptDef& o : kOpts) {
      if (name != o.name) continue;
      p.tag = o.tag;
      p.bad = "--" + name;
      if (eq != std::string::npos) {
        if (o.arg == 0) {
          p.bad = "--" + body;
          p.error = "option does not take an argument";
          return true;
        }
        p.arg = body.substr(eq + 1);
      } else if (o.arg != 0) {
        take_arg(o, p, "--" + name);
      }
      return true;
    }
    p.bad = "--" + body;
    p.error = "unknown option";
    return true;
  }
  bool short_opt(Parsed& p) {
    char c = pending_short_[0];
    pending_short_.erase(0, 1);
    for (const OptDef& o : kOpts) {
      if (o.letter != c || c == 0) continue;
      p.tag = o.tag;
      p.bad = std::string("-") + c;
      if (o.arg != 0) {
        if (!pending_short_.empty()) {
          p.arg = pending_short_;
          pending_short_.clear();
        } else {
          take_arg(o, p, std::string("-") + c);
        }
      }
      return true;
    }
    p.bad = std::string("-") + c;
    p.error = "unknown option";
    pending_short_.clear();
    return true;
  }
  void take_arg(const OptDef& o, Parsed& p, const std::string& shown) {
    bool next_is_value = i_ < argv_.size() && !(argv_[i_].size() > 1 && argv_[i_][0] == '-');
    if (o.arg == 2) {
      if (next_is_value) p.arg = argv_[i_++];
      return;
    }
    if (i_ < argv_.size()) {
      p.arg = argv_[i_++];
      return;
    }
    p.bad = shown;
    p.error = "missing argument";
  }

  const std::vector<std::string>& argv_;
  size_t i_ = 1;
  std::string pending_short_;
  bool done_ = false;
  std::vector<std::string> leftover_;
};

std::string tryhelp() {
  return "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n";
}

std::string usage() {
  const char* p = "ipvsadm";
  std::string u = std::string(kVersion) + "\n";
  u += fmt::format(
      "Usage:\n"
      "  {0} -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe "
      "persistence_engine] [-b sched-flags]\n"
      "  {0} -D virtual-service\n"
      "  {0} -C\n"
      "  {0} -R\n"
      "  {0} -S [-n]\n"
      "  {0} -a|e virtual-service -r server-address [options]\n"
      "  {0} -d virtual-service -r server-address\n"
      "  {0} -L|l [virtual-service] [options]\n"
      "  {0} -Z [virtual-service]\n"
      "  {0} --set tcp tcpfin udp\n"
      "  {0} --start-daemon {{master|backup}} [daemon-options]\n"
      "  {0} --stop-daemon {{master|backup}}\n"
      "  {0} -h\n\n",
      p);
  u += "Commands:\n"
       "Either long or short options are allowed.\n"
       "  --add-service     -A        add virtual service with options\n"
       "  --edit-service    -E        edit virtual service with options\n"
       "  --delete-service  -D        delete virtual service\n"
       "  --clear           -C        clear the whole table\n"
       "  --restore         -R        restore rules from stdin\n"
       "  --save            -S        save rules to stdout\n"
       "  --add-server      -a        add real server with options\n"
       "  --edit-server     -e        edit real server with options\n"
       "  --delete-server   -d        delete real server\n"
       "  --list            -L|-l     list the table\n"
       "  --zero            -Z        zero counters in a service or all services\n"
       "  --set tcp tcpfin udp        set connection timeout values\n"
       "  --start-daemon              start connection sync daemon\n"
       "  --stop-daemon               stop connection sync daemon\n"
       "  --help            -h        display this help message\n\n";
  u += "virtual-service:\n"
       "  --tcp-service|-t  service-address   service-address is host[:port]\n"
       "  --udp-service|-u  service-address   service-address is host[:port]\n"
       "  --sctp-service    service-address   service-address is host[:port]\n"
       "  --fwmark-service|-f fwmark          fwmark is an integer greater than zero\n"
       "\n";
  u += "Options:\n"
       "  --ipv6         -6                   fwmark entry uses IPv6\n"
       "  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|"
       "ovf|mh,\n"
       "                                      the default scheduler is wlc.\n"
       "  --pe            engine              alternate persistence engine may be sip,\n"
       "                                      not set by default.\n"
       "  --persistent   -p [timeout]         persistent service\n"
       "  --netmask      -M netmask           persistent granularity mask\n"
       "  --real-server  -r server-address    server-address is host (and port)\n"
       "  --gatewaying   -g                   gatewaying (direct routing) (default)\n"
       "  --ipip         -i                   ipip encapsulation (tunneling)\n"
       "  --masquerading -m                   masquerading (NAT)\n"
       "  --tun-type      type                one of ipip|gue|gre,\n"
       "                                      the default tunnel type is ipip.\n"
       "  --tun-port      port                tunnel destination port\n"
       "  --tun-nocsum                        tunnel encapsulation without checksum\n"
       "  --tun-csum                          tunnel encapsulation with checksum\n"
       "  --tun-remcsum                       tunnel encapsulation with remote checksum\n"
       "  --weight       -w weight            capacity of real server\n"
       "  --u-threshold  -x uthreshold        upper threshold of connections\n"
       "  --l-threshold  -y lthreshold        lower threshold of connections\n"
       "  --connection   -c                   output of current IPVS connections\n"
       "  --timeout                           output of timeout (tcp tcpfin udp)\n"
       "  --daemon                            output of daemon information\n"
       "  --stats                             output of statistics information\n"
       "  --rate                              output of rate information\n"
       "  --exact                             expand numbers (display exact values)\n"
       "  --thresholds                        output of thresholds information\n"
       "  --persistent-conn                   output of persistent connection info\n"
       "  --tun-info                          output of tunnel information\n"
       "  --nosort                            disable sorting output of service/server "
       "entries\n"
       "  --sort                              does nothing, for backwards compatibility\n"
       "  --ops          -o                   one-packet scheduling\n"
       "  --numeric      -n                   numeric output of addresses and ports\n"
       "  --sched-flags  -b flags             scheduler flags (comma-separated)\n";
  u += "Daemon Options:\n"
       "  --syncid sid                        syncid for connection sync (default=255)\n"
       "  --sync-maxlen length                Max sync message length (default=1472)\n"
       "  --mcast-interface interface         multicast interface for connection sync\n"
       "  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n"
       "  --mcast-port port                   UDP port (default=8848)\n"
       "  --mcast-ttl ttl                     Multicast TTL (default=1)\n";
  return u;
}

// Leaves the parse early: -h, -v, or popt's complaint about the first option.
struct Exit {
  IpvsadmResult result;
};

Entry parse(const std::vector<std::string>& argv, const IpvsadmNames& names) {
  Entry e;
  e.dest.weight = 1;
  e.dest.method = ForwardMethod::Route;
  e.svc.netmask = 0xffffffff;
  Popt popt(argv);
  Parsed p;
  if (!popt.next(p) || !p.error.empty()) throw Exit{{"", tryhelp(), 255}};
  switch (p.tag) {
    case 'A':
      set_command(e, kCmdAdd);
      break;
    case 'E':
      set_command(e, kCmdEdit);
      break;
    case 'D':
      set_command(e, kCmdDel);
      break;
    case 'a':
      set_command(e, kCmdAddDest);
      break;
    case 'e':
      set_command(e, kCmdEditDest);
      break;
    case 'd':
      set_command(e, kCmdDelDest);
      break;
    case 'C':
      set_command(e, kCmdFlush);
      break;
    case 'L':
    case 'l':
      set_command(e, kCmdList);
      break;
    case 'Z':
      set_command(e, kCmdZero);
      break;
    case kTagSet:
      set_command(e, kCmdTimeout);
      break;
    case 'R':
      set_command(e, kCmdRestore);
      break;
    case 'S':
      set_command(e, kCmdSave);
      break;
    case kTagStartDaemon:
    case kTagStopDaemon: {
      bool start = p.tag == kTagStartDaemon;
      set_command(e, start ? kCmdStartDaemon : kCmdStopDaemon);
      if (*p.arg != "master" && *p.arg != "backup") {
        fail(2,
             start ? "illegal start-daemon parameter specified" : "illegal start_daemon specified");
      }
      e.daemon_state = *p.arg;
      break;
    }
    case 'h':
      throw Exit{{usage(), "", 0}};
    case 'v':
      throw Exit{{std::string(kVersion) + "\n", "", 0}};
    default:
      throw Exit{{"", tryhelp(), 255}};
  }
  std::optional<std::string> sched_flags;
  while (popt.next(p)) {
    if (!p.error.empty()) throw Exit{{"", fmt::format("{}: {}\n", p.bad, p.error), 255}};
    const std::string arg = p.arg.value_or("");
    switch (p.tag) {
      case 't':
      case 'u':
      case kTagSctp: {
        set_option(e, kOptService);
        e.svc.key.protocol = p.tag == 't' ? kProtoTcp : p.tag == 'u' ? kProtoUdp : kProtoSctp;
        int r = parse_service(arg, e.svc.key.protocol, &e.svc.key.addr, &e.svc.key.port, names);
        if ((r & kServiceAddr) == 0) fail(2, "illegal virtual server address[:port] specified");
        break;
      }
      case 'f': {
        set_option(e, kOptService);
        e.svc.key.protocol = kProtoTcp;
        errno = 0;
        char* end = nullptr;
        long v = std::strtol(arg.c_str(), &end, 10);
        if (*end != '\0' || arg.empty() || errno == ERANGE || v <= 0 || v > UINT_MAX) {
          fail(2, fmt::format("invalid fwmark value `{}' specified", arg));
        }
        e.svc.key.fwmark = static_cast<uint32_t>(v);
        break;
      }
      case 's':
        set_option(e, kOptScheduler);
        e.svc.scheduler = arg.substr(0, 15);  // IP_VS_SCHEDNAME_MAXLEN - 1
        e.sched_given = true;
        break;
      case 'p':
        set_option(e, kOptPersistent);
        e.svc.flags |= kSvcPersistent;
        e.svc.timeout_s = parse_timeout(p.arg, 1, kMaxTimeout);
        break;
      case 'M': {
        set_option(e, kOptNetmask);
        auto m = net::Ipv4Addr::parse(arg);
        if (!m) fail(2, "illegal virtual server persistent mask specified");
        e.svc.netmask = m->value();
        break;
      }
      case 'r': {
        set_option(e, kOptServer);
        uint16_t port = e.svc.key.port;
        int r = parse_service(arg, e.svc.key.protocol, &e.dest.addr, &port, names);
        if ((r & kServiceAddr) == 0) fail(2, "illegal real server address[:port] specified");
        e.dest.port = r == kServiceAddr ? e.svc.key.port : port;
        break;
      }
      case 'i':
        set_option(e, kOptForward);
        e.dest.method = ForwardMethod::Tunnel;
        break;
      case 'g':
        set_option(e, kOptForward);
        e.dest.method = ForwardMethod::Route;
        break;
      case 'm':
        set_option(e, kOptForward);
        e.dest.method = ForwardMethod::Masquerade;
        break;
      case 'w': {
        set_option(e, kOptWeight);
        long w = string_to_number(arg, 0, 65535);
        if (w == -1) fail(2, "illegal weight specified");
        e.dest.weight = static_cast<int>(w);
        break;
      }
      case 'x': {
        set_option(e, kOptUThreshold);
        long v = string_to_number(arg, 0, INT_MAX);
        if (v == -1) fail(2, "illegal u_threshold specified");
        e.dest.u_threshold = static_cast<uint32_t>(v);
        break;
      }
      case 'y': {
        set_option(e, kOptLThreshold);
        long v = string_to_number(arg, 0, INT_MAX);
        if (v == -1) fail(2, "illegal l_threshold specified");
        e.dest.l_threshold = static_cast<uint32_t>(v);
        break;
      }
      case 'c':
        set_option(e, kOptConnection);
        break;
      case 'n':
        set_option(e, kOptNumeric);
        e.format |= kFmtNumeric;
        break;
      case kTagMcastInterface:
        set_option(e, kOptMcast);
        e.mcast_ifn = arg.substr(0, 15);
        break;
      case 'I': {
        set_option(e, kOptSyncId);
        long v = string_to_number(arg, 0, 255);
        if (v == -1) fail(2, "illegal syncid specified");
        e.syncid = static_cast<int>(v);
        break;
      }
      case kTagTimeout:
        set_option(e, kOptTimeout);
        break;
      case kTagDaemon:
        set_option(e, kOptDaemon);
        break;
      case kTagStats:
        set_option(e, kOptStats);
        e.format |= kFmtStats;
        break;
      case kTagRate:
        set_option(e, kOptRate);
        e.format |= kFmtRate;
        break;
      case kTagThresholds:
        set_option(e, kOptThresholds);
        e.format |= kFmtThresholds;
        break;
      case kTagPersistentConn:
        set_option(e, kOptPersistentConn);
        e.format |= kFmtPersistentConn;
        break;
      case kTagNoSort:
        set_option(e, kOptNoSort);
        e.format |= kFmtNoSort;
        break;
      case kTagSort:
        break;  // the default; kept for compatibility
      case 'X':
        set_option(e, kOptExact);
        e.format |= kFmtExact;
        break;
      case '6':
        if (e.svc.key.fwmark == 0) fail(2, "-6 used before -f\n");
        fail(2, "IPv6 services are not supported by vnet");
      case 'o':
        set_option(e, kOptOnePacket);
        e.svc.flags |= kSvcOnePacket;
        break;
      case kTagPe:
        set_option(e, kOptPe);
        e.svc.pe_name = arg.substr(0, 32);
        break;
      case 'b':
        set_option(e, kOptSchedFlags);
        sched_flags = arg;
        break;
      case kTagMcastGroup: {
        set_option(e, kOptMcastGroup);
        auto g = net::Ipv4Addr::parse(arg);
        if (arg.find(':') != std::string::npos) {
          fail(2, fmt::format("invalid IPv6 mcast-group `{}'", arg));
        }
        if (!g || !g->is_multicast()) fail(2, fmt::format("invalid IPv4 mcast-group `{}'", arg));
        break;
      }
      case kTagMcastPort:
        set_option(e, kOptMcastPort);
        if (string_to_number(arg, 1, 65535) == -1) fail(2, "illegal mcast-port specified");
        break;
      case kTagMcastTtl:
        set_option(e, kOptMcastTtl);
        if (string_to_number(arg, 1, 255) == -1) fail(2, "illegal mcast-ttl specified");
        break;
      case kTagSyncMaxlen:
        set_option(e, kOptSyncMaxlen);
        if (string_to_number(arg, 1, 65535 - 20 - 8) == -1) {
          fail(2, "illegal sync-maxlen specified");
        }
        break;
      case kTagTunInfo:
        set_option(e, kOptTunInfo);
        e.format |= kFmtTunInfo;
        break;
      case kTagTunType:
        set_option(e, kOptTunType);
        if (arg == "ipip") {
          e.dest.tun_type = TunnelType::Ipip;
        } else if (arg == "gue") {
          e.dest.tun_type = TunnelType::Gue;
        } else if (arg == "gre") {
          e.dest.tun_type = TunnelType::Gre;
        } else {
          fail(2, "illegal tunnel type specified");
        }
        break;
      case kTagTunPort: {
        set_option(e, kOptTunPort);
        long v = string_to_number(arg, 1, 65535);
        if (v == -1) fail(2, "illegal tunnel port specified");
        e.dest.tun_port = static_cast<uint16_t>(v);
        break;
      }
      case kTagTunNoCsum:
        set_option(e, kOptTunNoCsum);
        e.dest.tun_flags |= kTunNoCsum;
        break;
      case kTagTunCsum:
        set_option(e, kOptTunCsum);
        e.dest.tun_flags |= kTunCsum;
        break;
      case kTagTunRemCsum:
        set_option(e, kOptTunRemCsum);
        e.dest.tun_flags |= kTunRemCsum;
        break;
      default:
        fail(2, fmt::format("invalid option `{}'", p.bad));
    }
  }
  const std::vector<std::string>& left = popt.leftover();
  size_t used = 0;
  if (e.cmd == kCmdTimeout) {
    if (left.size() < 3) fail(2, "--set option requires 3 timeout values");
    e.tcp = parse_timeout(left[0], 0, kMaxTimeout);
    e.tcpfin = parse_timeout(left[1], 0, kMaxTimeout);
    e.udp = parse_timeout(left[2], 0, kMaxTimeout);
    used = 3;
  }
  if (left.size() > used) fail(2, fmt::format("unexpected argument {}", left[used]));
  if (sched_flags) {
    e.svc.flags &= ~static_cast<uint32_t>(kSvcSchedFlags);
    e.svc.flags |= parse_sched_flags(e.sched_given ? e.svc.scheduler : "", *sched_flags);
  }
  return e;
}

void generic_opt_check(Cmd cmd, uint64_t options) {
  int i = cmd - 1;
  int last = 0, count = 0;
  for (int j = 0; j < kNumOpt; ++j) {
    char rule = kCommandsVsOptions[static_cast<size_t>(i)][j];
    if ((options & (uint64_t{1} << j)) == 0) {
      if (rule == '+') {
        fail(2, fmt::format("You need to supply the '{}' option for the '{}' command", kOptNames[j],
                            kCmdNames[static_cast<size_t>(i)]));
      }
    } else {
      if (rule == 'x') {
        fail(2, fmt::format("Illegal '{}' option with the '{}' command", kOptNames[j],
                            kCmdNames[static_cast<size_t>(i)]));
      }
      if (rule == '1') {
        if (++count == 1) {
          last = j;
          continue;
        }
        fail(2, fmt::format("The option '{}' conflicts with the '{}' option in the '{}' command",
                            kOptNames[j], kOptNames[last], kCmdNames[static_cast<size_t>(i)]));
      }
    }
  }
}

void tunnel_opt_check(TunnelType type, uint64_t options) {
  auto i = static_cast<size_t>(type);
  int last = 0, count = 0;
  for (size_t j = 0; j < kTunOpts.size(); ++j) {
    int k = kTunOpts[j];
    char rule = kTunnelVsOptions[i][j];
    if ((options & (uint64_t{1} << k)) == 0) {
      if (rule == '+') {
        fail(2, fmt::format("You need to supply the '{}' option for the '{}' tunnel type",
                            kOptNames[static_cast<size_t>(k)], kTunNames[i]));
      }
    } else {
      if (rule == 'x') {
        fail(2, fmt::format("Illegal '{}' option with the '{}' tunnel type",
                            kOptNames[static_cast<size_t>(k)], kTunNames[i]));
      }
      if (rule == '1') {
        if (++count == 1) {
          last = k;
          continue;
        }
        fail(2,
             fmt::format("The option '{}' conflicts with the '{}' option in the '{}' tunnel type",
                         kOptNames[static_cast<size_t>(k)], kOptNames[static_cast<size_t>(last)],
                         kTunNames[i]));
      }
    }
  }
}

// ipvs_strerror(): the message for an errno, by operation.
std::string strerror_for(Cmd cmd, int err) {
  struct Row {
    Cmd cmd;
    int err;
    const char* text;
  };
  static constexpr Row kTable[] = {
      {kCmdAdd, EEXIST, "Service already exists"},
      {kCmdAdd, ENOENT, "Scheduler or persistence engine not found"},
      {kCmdEdit, ESRCH, "No such service"},
      {kCmdEdit, ENOENT, "Scheduler or persistence engine not found"},
      {kCmdDel, ESRCH, "No such service"},
      {kCmdZero, ESRCH, "No such service"},
      {kCmdAddDest, ESRCH, "Service not defined"},
      {kCmdAddDest, EEXIST, "Destination already exists"},
      {kCmdEditDest, ESRCH, "Service not defined"},
      {kCmdEditDest, ENOENT, "No such destination"},
      {kCmdDelDest, ESRCH, "Service not defined"},
      {kCmdDelDest, ENOENT, "No such destination"},
      {kCmdStartDaemon, EEXIST, "Daemon has already run"},
      {kCmdStopDaemon, ESRCH, "No daemon is running"},
      {kCmdList, ESRCH, "No such service"},
      {kCmdNone, EPERM, "Permission denied (you must be root)"},
      {kCmdNone, EINVAL,
       "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
      {kCmdNone, ENOPROTOOPT, "Protocol not available"},
      {kCmdNone, ENOMEM, "Memory allocation problem"},
      {kCmdNone, EOPNOTSUPP, "Operation not supported with IPv6"},
      {kCmdNone, EAFNOSUPPORT, "Operation not supported with specified address family"},
      {kCmdNone, EMSGSIZE, "Module is wrong version"},
  };
  for (const Row& r : kTable) {
    if ((r.cmd == kCmdNone || r.cmd == cmd) && r.err == err) return r.text;
  }
  return std::strerror(err);
}

std::string protocol_name(uint8_t p) {
  return p == kProtoTcp ? "TCP" : p == kProtoUdp ? "UDP" : p == kProtoSctp ? "SCTP" : "?";
}

std::string protocol_option(uint8_t p) {
  return p == kProtoTcp    ? "-t"
         : p == kProtoUdp  ? "-u"
         : p == kProtoSctp ? "--sctp-service"
                           : "--xxx-service";
}

std::string addrport(net::Ipv4Addr a, uint16_t port, uint8_t proto, unsigned format,
                     const IpvsadmNames& names) {
  if ((format & kFmtNumeric) != 0) return fmt::format("{}:{}", a.to_string(), port);
  std::string host = a.to_string();
  if (names.host_of) {
    if (auto h = names.host_of(a)) host = *h;
  }
  std::string p = service_name(port, proto).value_or(std::to_string(port));
  return fmt::format("{}:{}", host, p);
}

// print_conn() for each line of /proc/net/ip_vs_conn.
std::string list_connections(const ConnTable& conns, unsigned format, const IpvsadmNames& names) {
  std::string out;
  std::istringstream proc(proc_ip_vs_conn(conns, names.now_ns));
  std::string line;
  std::getline(proc, line);  // the header
  while (std::getline(proc, line)) {
    std::istringstream f(line);
    std::string proto, caddr, cport, vaddr, vport, daddr, dport, state;
    unsigned expires = 0;
    f >> proto >> caddr >> cport >> vaddr >> vport >> daddr >> dport >> state >> expires;
    uint8_t p = proto == "TCP"    ? kProtoTcp
                : proto == "UDP"  ? kProtoUdp
                : proto == "SCTP" ? kProtoSctp
                                  : 0;
    auto hex = [](const std::string& h) {
      return static_cast<uint32_t>(std::stoul(h, nullptr, 16));
    };
    auto name = [&](const std::string& a, const std::string& port) {
      return addrport(net::Ipv4Addr(hex(a)), static_cast<uint16_t>(hex(port)), p, format, names);
    };
    std::string expire = fmt::format("{:02}:{:02}", expires / 60, expires % 60);
    out += fmt::format("{:<3} {:<6} {:<11} {:<18} {:<18} {}\n", proto, expire, state,
                       name(caddr, cport), name(vaddr, vport), name(daddr, dport));
  }
  return out;
}

std::string largenum(uint64_t i, unsigned format) {
  if ((format & kFmtExact) != 0) {
    std::string s = std::to_string(i);
    int width = s.size() <= 8 ? 9 : static_cast<int>(s.size()) + 1;
    return fmt::format("{:>{}}", s, width);
  }
  if (i < 100000000ULL) return fmt::format("{:9}", i);
  if (i < 1000000000ULL) return fmt::format("{:8}K", i / 1000);
  if (i < 100000000000ULL) return fmt::format("{:8}M", i / 1000000);
  if (i < 100000000000000ULL) return fmt::format("{:8}G", i / 1000000000ULL);
  return fmt::format("{:8}T", i / 1000000000000ULL);
}

std::string sched_flags_text(const ServiceConfig& c) {
  std::vector<std::string> f;
  if (c.scheduler == "sh" || c.scheduler == "mh") {
    if ((c.flags & kSchedFlag1) != 0) f.push_back(c.scheduler + "-fallback");
    if ((c.flags & kSchedFlag2) != 0) f.push_back(c.scheduler + "-port");
  } else {
    if ((c.flags & kSchedFlag1) != 0) f.emplace_back("flag-1");
    if ((c.flags & kSchedFlag2) != 0) f.emplace_back("flag-2");
    if ((c.flags & kSchedFlag3) != 0) f.emplace_back("flag-3");
  }
  std::string out;
  for (size_t i = 0; i < f.size(); ++i) out += (i ? "," : "") + f[i];
  return out;
}

const char* fwd_name(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Masquerade:
      return "Masq";
    case ForwardMethod::Local:
      return "Local";
    case ForwardMethod::Tunnel:
      return "Tunnel";
    case ForwardMethod::Route:
      return "Route";
  }
  return "";
}

const char* fwd_switch(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Masquerade:
      return "-m";
    case ForwardMethod::Tunnel:
      return "-i";
    case ForwardMethod::Local:
    case ForwardMethod::Route:
      return "-g";
  }
  return "";
}

std::string title(unsigned format) {
  if ((format & kFmtStats) != 0) {
    return fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes",
                       "OutBytes");
  }
  if ((format & kFmtRate) != 0) {
    return fmt::format("{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS");
  }
  if ((format & kFmtThresholds) != 0) {
    return fmt::format("{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn",
                       "InActConn");
  }
  if ((format & kFmtPersistentConn) != 0) {
    return fmt::format("{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port\n",
                       "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn",
                       "InActConn");
  }
  if ((format & kFmtTunInfo) != 0) {
    return "Prot LocalAddress:Port Scheduler Flags\n"
           "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n";
  }
  if ((format & kFmtRule) == 0) {
    return "Prot LocalAddress:Port Scheduler Flags\n"
           "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n";
  }
  return "";
}

std::string service_entry(const Service& s, unsigned format, const IpvsadmNames& names) {
  const ServiceConfig& c = s.config;
  std::string out;
  std::string svc_name;
  if (c.key.fwmark != 0) {
    svc_name = (format & kFmtRule) != 0 ? fmt::format("-f {}", c.key.fwmark)
                                        : fmt::format("FWM  {}", c.key.fwmark);
  } else {
    std::string vname = addrport(c.key.addr, c.key.port, c.key.protocol, format, names);
    if ((format & kFmtRule) != 0) {
      svc_name = protocol_option(c.key.protocol) + " " + vname;
    } else {
      svc_name = fmt::format("{:<4} {}", protocol_name(c.key.protocol), vname);
      if (svc_name.size() > 33) svc_name.resize(33);
    }
  }
  bool has_sched_flags = (c.flags & kSvcSchedFlags) != 0;
  if ((format & kFmtRule) != 0) {
    out += fmt::format("-A {} -s {}", svc_name, c.scheduler);
    if ((c.flags & kSvcPersistent) != 0) {
      out += fmt::format(" -p {}", c.timeout_s);
      if (c.netmask != 0xffffffff) out += " -M " + net::Ipv4Addr(c.netmask).to_string();
    }
    if (!c.pe_name.empty()) out += " --pe " + c.pe_name;
    if ((c.flags & kSvcOnePacket) != 0) out += " -o";
    if (has_sched_flags) out += " -b " + sched_flags_text(c);
  } else if ((format & (kFmtStats | kFmtRate)) != 0) {
    out += fmt::format("{:<33}", svc_name);
    if ((format & kFmtStats) != 0) {
      const Stats& st = s.stats;
      for (uint64_t v : {st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes}) {
        out += largenum(v, format);
      }
    } else {
      for (int k = 0; k < 5; ++k) out += largenum(s.stats.rate(k), format);
    }
  } else {
    out += svc_name + " " + c.scheduler;
    if (has_sched_flags) out += " (" + sched_flags_text(c) + ")";
    if ((c.flags & kSvcPersistent) != 0) {
      out += fmt::format(" persistent {}", c.timeout_s);
      if (c.netmask != 0xffffffff) out += " mask " + net::Ipv4Addr(c.netmask).to_string();
      if (!c.pe_name.empty()) out += " pe " + c.pe_name;
    }
    if ((c.flags & kSvcOnePacket) != 0) out += " ops";
  }
  out += "\n";
  std::vector<const RealServer*> dests;
  for (const Dest* d : s.dests) dests.push_back(static_cast<const RealServer*>(d));
  if ((format & kFmtNoSort) == 0) {
    std::stable_sort(dests.begin(), dests.end(), [](const RealServer* a, const RealServer* b) {
      if (a->addr.value() != b->addr.value()) return a->addr.value() < b->addr.value();
      return a->port < b->port;
    });
  }
  for (const RealServer* e : dests) {
    std::string dname = addrport(e->addr, e->port, c.key.protocol, format, names);
    if ((format & kFmtRule) == 0 && dname.size() > 28) dname.resize(28);
    if ((format & kFmtRule) != 0) {
      std::string line =
          fmt::format("-a {} -r {} {} -w {}", svc_name, dname, fwd_switch(e->method), e->weight);
      if (e->method == ForwardMethod::Tunnel) {
        auto t = static_cast<size_t>(e->tun_type);
        if (e->tun_type == TunnelType::Gre) {
          line += fmt::format(" --tun-type {} {}", kTunNames[t], kTunFlagOpts[e->tun_flags % 3]);
        } else if (e->tun_type == TunnelType::Gue) {
          line += fmt::format(" --tun-type {} --tun-port {} {}", kTunNames[t], e->tun_port,
                              kTunFlagOpts[e->tun_flags % 3]);
        } else {
          line += fmt::format(" --tun-type {}", kTunNames[t]);
        }
      }
      out += line + "\n";
    } else if ((format & kFmtStats) != 0) {
      out += fmt::format("  -> {:<28}", dname);
      const Stats& st = e->stats;
      for (uint64_t v : {st.conns, st.inpkts, st.outpkts, st.inbytes, st.outbytes}) {
        out += largenum(v, format);
      }
      out += "\n";
    } else if ((format & kFmtRate) != 0) {
      const Stats& st = e->stats;
      out += fmt::format("  -> {:<28} {:8} {:8} {:8}", dname, st.rate(0), st.rate(1), st.rate(2));
      out += largenum(st.rate(3), format) + largenum(st.rate(4), format) + "\n";
    } else if ((format & kFmtThresholds) != 0) {
      out += fmt::format("  -> {:<28} {:<10} {:<10} {:<10} {:<10}\n", dname, e->u_threshold,
                         e->l_threshold, e->activeconns, e->inactconns);
    } else if ((format & kFmtPersistentConn) != 0) {
      out += fmt::format("  -> {:<28} {:<9} {:<11} {:<10} {:<10}\n", dname, e->weight,
                         e->persistconns, e->activeconns, e->inactconns);
    } else if ((format & kFmtTunInfo) != 0) {
      std::string ti = "n/a";
      if (e->method == ForwardMethod::Tunnel) {
        auto t = static_cast<size_t>(e->tun_type);
        if (e->tun_type == TunnelType::Ipip) {
          ti = kTunNames[t];
        } else if (e->tun_type == TunnelType::Gue) {
          ti = fmt::format("{}:{}:{}", kTunNames[t], e->tun_port, kTunFlagNames[e->tun_flags % 3]);
        } else {
          ti = fmt::format("{}:{}", kTunNames[t], kTunFlagNames[e->tun_flags % 3]);
        }
      }
      out += fmt::format("  -> {:<28} {:<7} {:<13} {:<6} {:<10} {:<10}\n", dname,
                         fwd_name(e->method), ti, e->weight, e->activeconns, e->inactconns);
    } else {
      out += fmt::format("  -> {:<28} {:<7} {:<6} {:<10} {:<10}\n", dname, fwd_name(e->method),
                         e->weight, e->activeconns, e->inactconns);
    }
  }
  return out;
}

std::vector<const Service*> sorted_services(const IpvsTable& t, unsigned format) {
  std::vector<const Service*> v;
  for (const auto& s : t.services()) v.push_back(s.get());
  if ((format & kFmtNoSort) == 0) {
    // ipvs_cmp_services(): fwmark, family, protocol, address, port.
    std::stable_sort(v.begin(), v.end(), [](const Service* a, const Service* b) {
      const ServiceKey& x = a->config.key;
      const ServiceKey& y = b->config.key;
      if (x.fwmark != y.fwmark) return x.fwmark < y.fwmark;
      if (x.protocol != y.protocol) return x.protocol < y.protocol;
      if (x.addr.value() != y.addr.value()) return x.addr.value() < y.addr.value();
      return x.port < y.port;
    });
  }
  return v;
}

std::string list_all(const IpvsTable& t, unsigned format, const IpvsadmNames& names) {
  std::string out;
  if ((format & kFmtRule) == 0) {
    out += fmt::format("IP Virtual Server version 1.2.1 (size={})\n", IpvsTable::kConnTabSize);
  }
  out += title(format);
  for (const Service* s : sorted_services(t, format)) out += service_entry(*s, format, names);
  return out;
}

// process_options(): one command line.  Returns the exit status; output appended.
int process(IpvsTable& t, const std::vector<std::string>& argv, const std::string& input,
            bool reading_stdin, const IpvsadmNames& names, IpvsadmResult& res);

int restore(IpvsTable& t, const std::string& input, bool reading_stdin, const IpvsadmNames& names,
            IpvsadmResult& res) {
  if (reading_stdin) {
    res.err += tryhelp();
    return 255;
  }
  int result = 0;
  size_t pos = 0;
  while (pos < input.size()) {
    size_t e = input.find('\n', pos);
    if (e == std::string::npos) e = input.size();
    std::string line = input.substr(pos, e - pos);
    pos = e + 1;
    // config_stream_read(): words split on blanks, "quoted" words kept whole, # comments.
    std::vector<std::string> words = {"ipvsadm"};
    std::string cur;
    bool in_word = false, quoted = false;
    for (char c : line) {
      if (quoted) {
        if (c == '"') {
          quoted = false;
        } else {
          cur += c;
        }
        continue;
      }
      if (c == '#') break;
      if (c == '"') {
        quoted = in_word = true;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        if (in_word) words.push_back(cur);
        cur.clear();
        in_word = false;
      } else {
        cur += c;
        in_word = true;
      }
    }
    if (in_word) words.push_back(cur);
    if (words.size() > 1) {
      // A refused operation prints its message and the restore goes on (the exit status is
      // the last line's); fail() and popt's errors end the whole program there.
      result = process(t, words, {}, true, names, res);
      if (res.status != 0) return res.status;
    }
  }
  return result;
}

int process(IpvsTable& t, const std::vector<std::string>& argv, const std::string& input,
            bool reading_stdin, const IpvsadmNames& names, IpvsadmResult& res) {
  Entry e;
  try {
    e = parse(argv, names);
    generic_opt_check(e.cmd, e.options);
    if (e.cmd == kCmdAdd || e.cmd == kCmdEdit) {
      if (e.svc.key.fwmark == 0 && e.svc.key.port == 0 && (e.svc.flags & kSvcPersistent) == 0) {
        fail(2, "Zero port specified for non-persistent service");
      }
      if ((e.svc.flags & kSvcOnePacket) != 0 && e.svc.key.fwmark == 0 &&
          e.svc.key.protocol != kProtoUdp) {
        fail(2, "One-Packet Scheduling is only for UDP virtual services");
      }
    }
    if (e.cmd == kCmdAddDest || e.cmd == kCmdEditDest) {
      if (e.svc.key.fwmark == 0 &&
          (e.dest.method == ForwardMethod::Tunnel || e.dest.method == ForwardMethod::Route)) {
        e.dest.port = e.svc.key.port;
      }
      uint64_t tun_opts = (uint64_t{1} << kOptTunType) | (uint64_t{1} << kOptTunPort) |
                          (uint64_t{1} << kOptTunNoCsum) | (uint64_t{1} << kOptTunCsum) |
                          (uint64_t{1} << kOptTunRemCsum);
      if ((e.options & tun_opts) != 0 && e.dest.method != ForwardMethod::Tunnel) {
        fail(2, "Tunnel options conflict with forward method");
      }
      tunnel_opt_check(e.dest.tun_type, e.options);
      // The kernel marks a real server that is this host "Local" (IP_VS_CONN_F_LOCALNODE).
      if (names.is_local && names.is_local(e.dest.addr)) e.dest.method = ForwardMethod::Local;
    }
  } catch (const Exit& x) {
    res.out += x.result.out;
    res.err += x.result.err;
    res.status = x.result.status;
    return x.result.status;
  } catch (const Fail& f) {
    res.err += f.message + "\n";
    res.status = f.status;
    return f.status;
  }
  auto bit = [&](int o) { return (e.options & (uint64_t{1} << o)) != 0; };
  int err = 0;
  switch (e.cmd) {
    case kCmdList: {
      t.estimate_until(names.now_ns);
      if (((bit(kOptConnection) || bit(kOptTimeout) || bit(kOptDaemon)) &&
           (bit(kOptStats) || bit(kOptRate) || bit(kOptThresholds))) ||
          ((bit(kOptTimeout) || bit(kOptDaemon)) && bit(kOptPersistentConn))) {
        res.err += "options conflicts in the list command\n";
        res.status = 2;
        return 2;
      }
      if (bit(kOptConnection)) {
        // list_conn(): /proc/net/ip_vs_conn read back and printed with names.
        res.out += "IPVS connection entries\n";
        if ((e.format & kFmtPersistentConn) != 0) {
          res.out += fmt::format("pro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n", "state",
                                 "source", "virtual", "destination", "pe name", "pe_data");
        } else {
          res.out += fmt::format("pro expire {:<11} {:<18} {:<18} {}\n", "state", "source",
                                 "virtual", "destination");
        }
        res.out += list_connections(t.conns(), e.format, names);
      } else if (bit(kOptService)) {
        const Service* s = t.find(e.svc.key);
        if (s == nullptr) {
          res.err += strerror_for(kCmdList, ESRCH) + "\n";
          res.status = 1;
          return 1;
        }
        res.out += title(e.format) + service_entry(*s, e.format, names);
      } else if (bit(kOptTimeout)) {
        res.out += fmt::format("Timeout (tcp tcpfin udp): {} {} {}\n", t.timeouts().tcp_s,
                               t.timeouts().tcp_fin_s, t.timeouts().udp_s);
      } else if (bit(kOptDaemon)) {
        // No sync daemon runs in vnet: list_daemon() prints nothing.
      } else {
        res.out += list_all(t, e.format, names);
      }
      return 0;
    }
    case kCmdRestore:
      return restore(t, input, reading_stdin, names, res);
    case kCmdSave:
      res.out += list_all(t, e.format | kFmtRule, names);
      return 0;
    case kCmdFlush:
      t.flush();
      break;
    case kCmdAdd:
      err = t.add_service(e.svc);
      break;
    case kCmdEdit: {
      // ipvsadm sends the whole service: an -E without -s sets the default scheduler.
      err = t.edit_service(e.svc);
      break;
    }
    case kCmdDel:
      err = t.del_service(e.svc.key);
      break;
    case kCmdZero:
      err = t.zero(bit(kOptService) ? std::optional<ServiceKey>(e.svc.key) : std::nullopt);
      break;
    case kCmdAddDest:
      err = t.add_dest(e.svc.key, e.dest);
      break;
    case kCmdEditDest:
      err = t.edit_dest(e.svc.key, e.dest);
      break;
    case kCmdDelDest:
      err = t.del_dest(e.svc.key, e.dest.addr, e.dest.port);
      break;
    case kCmdTimeout:
      t.set_timeouts(e.tcp, e.tcpfin, e.udp);
      break;
    case kCmdStartDaemon:
    case kCmdStopDaemon:
      // The connection sync daemon needs multicast between directors: not in vnet.
      err = EOPNOTSUPP;
      res.err += "vnet: the IPVS connection sync daemon is not supported\n";
      res.status = 255;
      return 255;
    case kCmdNone:
      break;
  }
  if (err != 0) {
    res.err += strerror_for(e.cmd, err) + "\n";
    return 255;  // not fatal: res.status stays for the caller to set
  }
  return 0;
}

}  // namespace

IpvsadmResult run_ipvsadm(IpvsTable& table, const std::vector<std::string>& argv,
                          const std::string& input, const IpvsadmNames& names) {
  IpvsadmResult res;
  if (argv.size() <= 1) {
    res.out = list_all(table, 0, names);
    return res;
  }
  int rc = process(table, argv, input, false, names, res);
  if (res.status == 0) res.status = rc;
  return res;
}

std::string ipvsadm_save(const IpvsTable& table, bool numeric) {
  return list_all(table, kFmtRule | (numeric ? unsigned{kFmtNumeric} : 0U), {});
}

namespace {

struct ServiceRow {
  uint16_t port;
  const char* name;
  bool tcp, udp, sctp;
};

// From netbase 6.4's /etc/services (Debian 12): the first name for each port.
constexpr ServiceRow kServices[] = {
    {21, "ftp", true, false, false},         {22, "ssh", true, false, true},
    {23, "telnet", true, false, false},      {25, "smtp", true, false, false},
    {53, "domain", true, true, false},       {67, "bootps", false, true, false},
    {68, "bootpc", false, true, false},      {69, "tftp", false, true, false},
    {80, "http", true, false, true},         {110, "pop3", true, false, false},
    {123, "ntp", false, true, false},        {143, "imap2", true, false, false},
    {161, "snmp", true, true, false},        {389, "ldap", true, true, false},
    {443, "https", true, true, true},        {514, "shell", true, false, false},
    {587, "submission", true, false, false}, {993, "imaps", true, false, false},
    {995, "pop3s", true, false, false},      {1080, "socks", true, false, false},
    {3128, "squid", true, false, false},     {3306, "mysql", true, false, false},
    {5060, "sip", true, true, false},        {5432, "postgresql", true, false, false},
    {6379, "redis", true, false, false},     {8080, "http-alt", true, false, false},
};

bool row_has(const ServiceRow& r, uint8_t protocol) {
  return protocol == kProtoTcp ? r.tcp : protocol == kProtoUdp ? r.udp : r.sctp;
}

}  // namespace

std::optional<std::string> service_name(uint16_t port, uint8_t protocol) {
  for (const ServiceRow& r : kServices) {
    if (r.port == port && row_has(r, protocol)) return r.name;
  }
  return std::nullopt;
}

std::optional<uint16_t> service_port(const std::string& name, uint8_t protocol) {
  for (const ServiceRow& r : kServices) {
    if (name == r.name && row_has(r, protocol)) return r.port;
  }
  if (name == "www" && protocol == kProtoTcp) return 80;  // an alias in /etc/services
  return std::nullopt;
}

}  // namespace vnet::lb
