// `iptables` for the nat table, following iptables 1.8.9 (nf_tables): do_parse()'s option loop
// (getopt_long with unambiguous long-option prefixes, "!" inversion, implicit tcp/udp match
// loading), the per-command option legality table, the error texts and exit codes (2 parameter
// problem, 1 "kernel" error, 3 missing table, 4 nf_tables netlink error), and the listings.
// A command is parsed and validated whole before it changes anything.
#include <algorithm>
#include <bit>
#include <cctype>
#include <climits>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nf/names.h"
#include "nf/netfilter.h"

namespace vnet::nf {

namespace {

constexpr const char* kPrefix = "iptables v1.8.9 (nf_tables): ";
constexpr const char* kTry = "Try `iptables -h' or 'iptables --help' for more information.\n";

struct Failure {
  CmdResult result;
};

[[noreturn]] void fail(std::string err, int status) {
  throw Failure{CmdResult{"", std::move(err), status}};
}
// xtables_error(PARAMETER_PROBLEM, ...).
[[noreturn]] void param_problem(const std::string& message) {
  fail(kPrefix + message + "\n" + kTry, 2);
}
[[noreturn]] void bad_argument(const std::string& arg) {
  fail("Bad argument `" + arg + "'\n" + kTry, 2);
}
// Errors iptables prints through nft_strerror() with exit code 1.
[[noreturn]] void kernel_error(const std::string& message) {
  fail("iptables: " + message + "\n", 1);
}
[[noreturn]] void netlink_error(const std::string& op, const char* reason,
                                const std::string& what) {
  fail(fmt::format("{} {} failed ({}): {}\n", kPrefix, op, reason, what), 4);
}

enum Command : unsigned {
  kNone = 0,
  kAppend = 1u << 0,
  kDelete = 1u << 1,
  kInsert = 1u << 2,
  kReplace = 1u << 3,
  kList = 1u << 4,
  kListRules = 1u << 5,
  kFlush = 1u << 6,
  kZero = 1u << 7,
  kNewChain = 1u << 8,
  kDeleteChain = 1u << 9,
  kPolicy = 1u << 10,
  kRename = 1u << 11,
  kCheck = 1u << 12,
  kVersion = 1u << 13,
  kHelp = 1u << 14,
};

char command_char(unsigned command) {
  const std::pair<unsigned, char> table[] = {
      {kAppend, 'A'},    {kDelete, 'D'}, {kInsert, 'I'}, {kReplace, 'R'},  {kList, 'L'},
      {kListRules, 'S'}, {kFlush, 'F'},  {kZero, 'Z'},   {kNewChain, 'N'}, {kDeleteChain, 'X'},
      {kPolicy, 'P'},    {kRename, 'E'}, {kCheck, 'C'},  {kVersion, 'V'},  {kHelp, 'h'},
  };
  for (auto [bit, c] : table) {
    if (command & bit) return c;
  }
  return '?';
}

enum Opt {
  oNumeric,
  oSource,
  oDestination,
  oProtocol,
  oJump,
  oVerbose,
  oExact,
  oIn,
  oOut,
  oLineNumbers,
  oCounters,
  oFragment,
  oCount,
};
constexpr char kOptChars[oCount] = {'n', 's', 'd', 'p', 'j', 'v', 'x', 'i', 'o', '0', 'c', 'f'};
constexpr const char* kOptNames[oCount] = {
    "-n", "-s", "-d", "-p", "-j", "-v", "-x", "-i", "-o", "--line-numbers", "-c", "-f"};

// commands_v_options[][]: 'x' illegal.  Columns in Opt order.
char legality(unsigned command, Opt opt) {
  //                          n    s    d    p    j    v    x    i    o   line  c    f
  static const char kAdd[] = {'x', ' ', ' ', ' ', ' ', ' ', 'x', ' ', ' ', 'x', ' ', ' '};
  static const char kDel[] = {'x', ' ', ' ', ' ', ' ', ' ', 'x', ' ', ' ', 'x', 'x', ' '};
  static const char kDelNum[] = {'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x'};
  static const char kListRow[] = {' ', 'x', 'x', 'x', 'x', ' ', ' ', 'x', 'x', ' ', 'x', 'x'};
  static const char kOther[] = {'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', 'x', 'x'};
  static const char kPolicyRow[] = {'x', 'x', 'x', 'x', 'x', ' ', 'x', 'x', 'x', 'x', ' ', 'x'};
  const char* row = kOther;
  if (command & (kAppend | kInsert | kReplace)) row = kAdd;
  if (command & (kDelete | kCheck)) row = kDel;
  if (command & kList) row = kListRow;
  if (command & kPolicy) row = kPolicyRow;
  if (command == kDelete + (1u << 20)) row = kDelNum;
  return row[opt];
}

struct LongOption {
  const char* name;
  int id;
  bool has_arg;
};

enum OptId {
  idAppend = 'A',
  idCheck = 'C',
  idDelete = 'D',
  idInsert = 'I',
  idReplace = 'R',
  idList = 'L',
  idListRules = 'S',
  idFlush = 'F',
  idZero = 'Z',
  idNewChain = 'N',
  idDeleteChain = 'X',
  idPolicy = 'P',
  idRename = 'E',
  idVersion = 'V',
  idHelp = 'h',
  idTable = 't',
  idSource = 's',
  idDestination = 'd',
  idIn = 'i',
  idOut = 'o',
  idProtocol = 'p',
  idJump = 'j',
  idMatch = 'm',
  idNumeric = 'n',
  idVerbose = 'v',
  idExact = 'x',
  idFragment = 'f',
  idCounters = 'c',
  idWait = 'w',
  idIpv4 = '4',
  idLineNumbers = 1000,
  idSport,
  idDport,
  idToSource,
  idToDestination,
  idToPorts,
  idRandom,
  idRandomFully,
  idPersistent,
};

const LongOption kMainOptions[] = {
    {"append", idAppend, true},
    {"delete", idDelete, true},
    {"check", idCheck, true},
    {"insert", idInsert, true},
    {"replace", idReplace, true},
    {"list", idList, false},
    {"list-rules", idListRules, false},
    {"flush", idFlush, false},
    {"zero", idZero, false},
    {"new-chain", idNewChain, true},
    {"delete-chain", idDeleteChain, false},
    {"policy", idPolicy, true},
    {"rename-chain", idRename, true},
    {"version", idVersion, false},
    {"help", idHelp, false},
    {"table", idTable, true},
    {"source", idSource, true},
    {"src", idSource, true},
    {"destination", idDestination, true},
    {"dst", idDestination, true},
    {"in-interface", idIn, true},
    {"out-interface", idOut, true},
    {"protocol", idProtocol, true},
    {"jump", idJump, true},
    {"match", idMatch, true},
    {"numeric", idNumeric, false},
    {"verbose", idVerbose, false},
    {"exact", idExact, false},
    {"fragments", idFragment, false},
    {"set-counters", idCounters, true},
    {"line-numbers", idLineNumbers, false},
    {"wait", idWait, false},
    {"ipv4", idIpv4, false},
};
const LongOption kPortOptions[] = {
    {"source-port", idSport, true},
    {"sport", idSport, true},
    {"destination-port", idDport, true},
    {"dport", idDport, true},
};
const LongOption kSnatOptions[] = {
    {"to-source", idToSource, true},
    {"random", idRandom, false},
    {"random-fully", idRandomFully, false},
    {"persistent", idPersistent, false},
};
const LongOption kDnatOptions[] = {
    {"to-destination", idToDestination, true},
    {"random", idRandom, false},
    {"persistent", idPersistent, false},
};
const LongOption kMasqOptions[] = {
    {"to-ports", idToPorts, true},
    {"random", idRandom, false},
    {"random-fully", idRandomFully, false},
};

// Short options and whether they take an argument ("optional" ones are handled by the command
// code, which peeks at the next argument as iptables does).
std::optional<std::pair<int, bool>> short_option(char c) {
  switch (c) {
    case 'A':
    case 'C':
    case 'D':
    case 'I':
    case 'R':
    case 'N':
    case 'P':
    case 'E':
    case 't':
    case 's':
    case 'd':
    case 'i':
    case 'o':
    case 'p':
    case 'j':
    case 'm':
    case 'c':
      return std::pair<int, bool>{c, true};
    case 'L':
    case 'S':
    case 'F':
    case 'Z':
    case 'X':
    case 'V':
    case 'h':
    case 'n':
    case 'v':
    case 'x':
    case 'f':
    case 'w':
    case '4':
      return std::pair<int, bool>{c, false};
    default:
      return std::nullopt;
  }
}

struct Parsed {
  unsigned command = kNone;
  bool delete_num = false;
  std::string chain;
  std::string chain2;  // -E new name, -P policy
  std::optional<uint32_t> rule_number;
  std::string table = "filter";
  bool numeric = false, verbose = false, exact = false, line_numbers = false;
  std::vector<std::string> sources, destinations;
  bool source_given = false, destination_given = false;
  Rule rule;
  std::string jump;
  bool jump_given = false;
  bool proto_given = false;
  bool match_tcp = false, match_udp = false;  // -m given
  bool to_given = false;
  std::optional<std::pair<uint64_t, uint64_t>> counters;
  bool options_seen[oCount] = {};
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// xtables_parse_protocol().
uint8_t parse_protocol(const std::string& text) {
  std::string s = lower(text);
  if (auto n = net::parse_c_number(s); n && *n <= 255) return static_cast<uint8_t>(*n);
  if (s == "all") return 0;
  if (s == "tcp") return 6;
  if (s == "udp") return 17;
  if (s == "icmp") return 1;
  if (auto n = protocol_file_number(s)) return *n;
  param_problem("unknown protocol \"" + text + "\" specified");
}

// xtables_parse_interface().
std::string parse_interface(const std::string& text) {
  if (text.size() >= 16) {
    param_problem("interface name `" + text + "' must be shorter than IFNAMSIZ (15)");
  }
  if (text == "+") return "";
  return text;
}

std::optional<net::Ipv4Addr> numeric_addr(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  size_t pos = 0;
  while (parts < 4) {
    size_t dot = text.find('.', pos);
    std::string_view part = text.substr(pos, dot == std::string_view::npos ? text.npos : dot - pos);
    auto n = net::parse_c_number(part);
    if (!n || *n > 255) return std::nullopt;
    value |= static_cast<uint32_t>(*n) << (24 - 8 * parts);
    ++parts;
    if (dot == std::string_view::npos) return net::Ipv4Addr(value);
    pos = dot + 1;
  }
  return std::nullopt;
}

// xtables_ipparse_multiple(): "a[/mask][,b[/mask]...]".
std::vector<net::Prefix> parse_addresses(const std::string& text) {
  std::vector<net::Prefix> out;
  size_t pos = 0;
  for (;;) {
    size_t comma = text.find(',', pos);
    std::string item =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::string addr_text = item;
    int len = 32;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      addr_text = item.substr(0, slash);
      std::string mask = item.substr(slash + 1);
      if (mask.find('.') != std::string::npos) {
        auto m = numeric_addr(mask);
        if (!m) param_problem("host/network `" + mask + "' not found");
        uint32_t v = m->value();
        int ones = std::popcount(v);
        if (v != net::prefix_mask(ones)) {
          param_problem("vnet: non-contiguous mask `" + mask + "' is not supported");
        }
        len = ones;
      } else {
        auto n = net::parse_c_number(mask);
        if (!n || *n > 32 || mask.empty()) param_problem("invalid mask `" + mask + "' specified");
        len = static_cast<int>(*n);
      }
    }
    std::optional<net::Ipv4Addr> addr = addr_text == "localhost"
                                            ? net::Ipv4Addr::from_octets(127, 0, 0, 1)
                                            : numeric_addr(addr_text);
    if (!addr) param_problem("host/network `" + addr_text + "' not found");
    out.push_back(net::Prefix(*addr, len).network());
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

// xtables_parse_port() and the tcp/udp "a:b" ranges.
uint16_t parse_match_port(const std::string& text, bool tcp) {
  if (auto n = net::parse_c_number(text); n && *n <= 65535 && !text.empty()) {
    return static_cast<uint16_t>(*n);
  }
  if (auto p = service_port(text, tcp)) return *p;
  param_problem("invalid port/service `" + text + "' specified");
}

PortRange parse_port_range(const std::string& text, bool tcp, bool invert) {
  PortRange r;
  r.set = true;
  r.invert = invert;
  auto colon = text.find(':');
  if (colon == std::string::npos) {
    r.min = r.max = parse_match_port(text, tcp);
    return r;
  }
  std::string a = text.substr(0, colon);
  std::string b = text.substr(colon + 1);
  r.min = a.empty() ? 0 : parse_match_port(a, tcp);
  r.max = b.empty() ? 0xffff : parse_match_port(b, tcp);
  if (r.min > r.max) param_problem("invalid portrange (min > max)");
  return r;
}

// The NAT targets' port parsing (parse_ports() in libxt_NAT/libxt_MASQUERADE).
uint16_t parse_nat_port(const std::string& text, size_t* end) {
  size_t i = 0;
  uint32_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && value <= 65535) {
    value = value * 10 + static_cast<uint32_t>(text[i] - '0');
    ++i;
  }
  if (i == 0 || value > 65535) param_problem("Port `" + text + "' not valid");
  *end = i;
  return static_cast<uint16_t>(value);
}

void parse_nat_ports(const std::string& text, NatRange& r, bool masquerade) {
  size_t end = 0;
  r.min_port = r.max_port = parse_nat_port(text, &end);
  r.has_ports = true;
  if (end == text.size()) return;
  if (text[end] == ':' && masquerade) param_problem("Invalid port:port syntax - use dash");
  if (text[end] != '-') param_problem("Garbage after port value: `" + text.substr(end) + "'");
  std::string rest = text.substr(end + 1);
  size_t end2 = 0;
  r.max_port = parse_nat_port(rest, &end2);
  if (end2 != rest.size()) param_problem("Garbage after port value: `" + rest.substr(end2) + "'");
  if (r.max_port < r.min_port) param_problem("Port range `" + rest + "' funky");
}

bool ports_allowed(const Rule& rule) {
  return !rule.protocol_invert &&
         (rule.protocol == 6 || rule.protocol == 17 || rule.protocol == 132 || rule.protocol == 33);
}

void parse_to(const std::string& text, Rule& rule) {
  NatRange& r = rule.nat;
  std::string addrs = text;
  if (auto colon = text.find(':'); colon != std::string::npos) {
    addrs = text.substr(0, colon);
    if (!ports_allowed(rule)) param_problem("Need TCP, UDP, SCTP or DCCP with port specification");
    parse_nat_ports(text.substr(colon + 1), r, false);
  }
  if (addrs.empty()) return;
  std::string a = addrs;
  std::string b;
  if (auto dash = addrs.find('-'); dash != std::string::npos) {
    a = addrs.substr(0, dash);
    b = addrs.substr(dash + 1);
  }
  auto min = net::Ipv4Addr::parse(a);
  if (!min) param_problem("Bad IP address \"" + a + "\"");
  r.has_addr = true;
  r.min_addr = r.max_addr = *min;
  if (addrs.find('-') != std::string::npos) {
    auto max = net::Ipv4Addr::parse(b);
    if (!max) param_problem("Bad IP address \"" + b + "\"");
    r.max_addr = *max;
  }
}

bool is_builtin_chain(const std::string& name) {
  return name == "PREROUTING" || name == "INPUT" || name == "OUTPUT" || name == "POSTROUTING";
}

// Returns the option's id and whether it was an exact or unique-prefix match.
std::optional<LongOption> match_long(const std::string& name,
                                     const std::vector<const LongOption*>& options) {
  std::optional<LongOption> found;
  for (const LongOption* o : options) {
    if (name == o->name) return *o;
  }
  for (const LongOption* o : options) {
    if (std::string_view(o->name).substr(0, name.size()) == name) {
      if (found && found->id != o->id) return std::nullopt;  // ambiguous
      found = *o;
    }
  }
  return found;
}

template <size_t N>
void add_options(std::vector<const LongOption*>& v, const LongOption (&options)[N]) {
  for (const auto& o : options) v.push_back(&o);
}

class Parser {
 public:
  explicit Parser(const std::vector<std::string>& argv) : argv_(argv) {}

  Parsed parse();

 private:
  bool next_is_value() const {
    return i_ < argv_.size() && !argv_[i_].empty() && argv_[i_][0] != '-' && argv_[i_][0] != '!';
  }
  void add_command(unsigned command, unsigned allowed) {
    if (invert_) param_problem("unexpected '!' flag");
    if (p_.command & ~allowed) {
      param_problem(fmt::format("Cannot use -{} with -{}", command_char(command),
                                command_char(p_.command & ~allowed)));
    }
    p_.command |= command;
  }
  void set_option(Opt opt, bool invertible) {
    if (p_.options_seen[opt] && opt != oVerbose) {
      param_problem(fmt::format("multiple {} flags not allowed", kOptNames[opt]));
    }
    if (invert_ && !invertible) {
      param_problem(fmt::format("cannot have ! before {}", kOptNames[opt]));
    }
    p_.options_seen[opt] = true;
  }
  uint32_t rule_number(const std::string& text) {
    auto n = net::parse_c_number(text);
    if (!n || *n < 1 || *n > INT_MAX || text.empty()) {
      param_problem("Invalid rule number `" + text + "'");
    }
    return static_cast<uint32_t>(*n);
  }
  void handle(int id, const std::string& arg, const std::string& spelled);

  const std::vector<std::string>& argv_;
  size_t i_ = 1;
  Parsed p_;
  bool invert_ = false;
  bool sport_seen_ = false, dport_seen_ = false;
  std::string match_loaded_;  // "tcp" / "udp" once a port match is loaded
};

void Parser::handle(int id, const std::string& arg, const std::string& spelled) {
  Rule& r = p_.rule;
  switch (id) {
    case idAppend:
      add_command(kAppend, kNone);
      p_.chain = arg;
      break;
    case idCheck:
      add_command(kCheck, kNone);
      p_.chain = arg;
      break;
    case idDelete:
      add_command(kDelete, kNone);
      p_.chain = arg;
      if (next_is_value()) {
        p_.rule_number = rule_number(argv_[i_++]);
        p_.delete_num = true;
      }
      break;
    case idInsert:
      add_command(kInsert, kNone);
      p_.chain = arg;
      p_.rule_number = next_is_value() ? rule_number(argv_[i_++]) : 1;
      break;
    case idReplace:
      add_command(kReplace, kNone);
      p_.chain = arg;
      if (!next_is_value()) param_problem("-R requires a rule number");
      p_.rule_number = rule_number(argv_[i_++]);
      break;
    case idList:
    case idListRules:
    case idZero:
      if (id == idList) add_command(kList, kZero);
      if (id == idListRules) add_command(kListRules, kZero);
      if (id == idZero) add_command(kZero, kList | kListRules);
      if (!arg.empty()) {
        p_.chain = arg;
      } else if (next_is_value()) {
        p_.chain = argv_[i_++];
      }
      if (!p_.chain.empty() && next_is_value()) p_.rule_number = rule_number(argv_[i_++]);
      break;
    case idFlush:
      add_command(kFlush, kNone);
      if (!arg.empty()) {
        p_.chain = arg;
      } else if (next_is_value()) {
        p_.chain = argv_[i_++];
      }
      break;
    case idDeleteChain:
      add_command(kDeleteChain, kNone);
      if (!arg.empty()) {
        p_.chain = arg;
      } else if (next_is_value()) {
        p_.chain = argv_[i_++];
      }
      break;
    case idNewChain:
      if (!arg.empty() && arg[0] == '-') param_problem("chain name not allowed to start with `-'");
      add_command(kNewChain, kNone);
      p_.chain = arg;
      break;
    case idPolicy:
      add_command(kPolicy, kNone);
      p_.chain = arg;
      if (!next_is_value()) param_problem("-P requires a chain and a policy");
      p_.chain2 = argv_[i_++];
      break;
    case idRename:
      add_command(kRename, kNone);
      p_.chain = arg;
      if (!next_is_value()) param_problem("-E requires old-chain-name and new-chain-name");
      p_.chain2 = argv_[i_++];
      break;
    case idVersion:
      add_command(kVersion, kNone);
      break;
    case idHelp:
      add_command(kHelp, kNone);
      break;
    case idTable:
      if (invert_) param_problem("unexpected ! flag before --table");
      p_.table = arg;
      break;
    case idSource:
      set_option(oSource, true);
      p_.sources.push_back(arg);
      r.src_invert = invert_;
      break;
    case idDestination:
      set_option(oDestination, true);
      p_.destinations.push_back(arg);
      r.dst_invert = invert_;
      break;
    case idIn:
      set_option(oIn, true);
      r.in_iface = parse_interface(arg);
      r.in_invert = invert_;
      break;
    case idOut:
      set_option(oOut, true);
      r.out_iface = parse_interface(arg);
      r.out_invert = invert_;
      break;
    case idProtocol:
      set_option(oProtocol, true);
      r.protocol = parse_protocol(arg);
      r.protocol_invert = invert_;
      if (r.protocol == 0 && invert_) param_problem("rule would never match protocol");
      p_.proto_given = true;
      break;
    case idFragment:
      set_option(oFragment, true);
      r.fragment = true;
      r.fragment_invert = invert_;
      break;
    case idJump: {
      set_option(oJump, false);
      p_.jump = arg;
      p_.jump_given = true;
      if (arg == "ACCEPT")
        r.target = TargetKind::Accept;
      else if (arg == "RETURN")
        r.target = TargetKind::Return;
      else if (arg == "SNAT")
        r.target = TargetKind::Snat;
      else if (arg == "DNAT")
        r.target = TargetKind::Dnat;
      else if (arg == "MASQUERADE")
        r.target = TargetKind::Masquerade;
      else if (arg == "DROP")
        r.target = TargetKind::None;  // refused after parsing
      else if (arg == "REDIRECT" || arg == "NETMAP" || arg == "LOG" || arg == "REJECT" ||
               arg == "MARK" || arg == "CONNMARK" || arg == "QUEUE" || arg == "NFQUEUE") {
        param_problem("vnet: target `" + arg +
                      "' is not supported (ACCEPT, RETURN, SNAT, DNAT, "
                      "MASQUERADE and user chains are)");
      } else {
        r.target = TargetKind::Jump;
        r.jump = arg;
      }
      break;
    }
    case idMatch: {
      if (invert_) param_problem("unexpected ! flag before --match");
      if (arg == "tcp" || arg == "udp") {
        if ((arg == "tcp" && p_.match_tcp) || (arg == "udp" && p_.match_udp)) break;
        if (!match_loaded_.empty() && match_loaded_ != arg) {
          param_problem("vnet: only one of -m tcp and -m udp per rule");
        }
        match_loaded_ = arg;
        (arg == "tcp" ? p_.match_tcp : p_.match_udp) = true;
      } else {
        param_problem("Couldn't load match `" + arg + "':No such file or directory");
      }
      break;
    }
    case idNumeric:
      set_option(oNumeric, false);
      p_.numeric = true;
      break;
    case idVerbose:
      set_option(oVerbose, false);
      p_.verbose = true;
      break;
    case idExact:
      set_option(oExact, false);
      p_.exact = true;
      break;
    case idLineNumbers:
      set_option(oLineNumbers, false);
      p_.line_numbers = true;
      break;
    case idCounters: {
      set_option(oCounters, false);
      auto packets = net::parse_c_number(arg);
      if (!packets || arg.empty()) param_problem("-c packet counter not numeric");
      if (i_ >= argv_.size()) param_problem("-c requires packet and byte counter");
      auto bytes = net::parse_c_number(argv_[i_]);
      if (!bytes || argv_[i_].empty()) param_problem("-c byte counter not numeric");
      ++i_;
      p_.counters = {*packets, *bytes};
      break;
    }
    case idWait:
    case idIpv4:
      break;
    case idSport:
    case idDport: {
      bool& seen = id == idSport ? sport_seen_ : dport_seen_;
      if (seen) {
        param_problem(fmt::format("{}: option \"--{}\" can only be used once.\n", match_loaded_,
                                  id == idSport ? "source-port" : "destination-port"));
      }
      seen = true;
      PortRange range = parse_port_range(arg, match_loaded_ == "tcp", invert_);
      (id == idSport ? r.sport : r.dport) = range;
      break;
    }
    case idToSource:
    case idToDestination: {
      const char* target = id == idToSource ? "SNAT" : "DNAT";
      if (p_.to_given) {
        param_problem(fmt::format("{}: option \"--{}\" can only be used once.\n", target,
                                  id == idToSource ? "to-source" : "to-destination"));
      }
      p_.to_given = true;
      parse_to(arg, r);
      break;
    }
    case idToPorts:
      if (p_.to_given) param_problem("MASQUERADE: option \"--to-ports\" can only be used once.\n");
      p_.to_given = true;
      if (!ports_allowed(r)) param_problem("Need TCP, UDP, SCTP or DCCP with port specification");
      parse_nat_ports(arg, r.nat, true);
      break;
    case idRandom:
      r.nat.random = true;
      break;
    case idRandomFully:
      r.nat.random_fully = true;
      break;
    case idPersistent:
      r.nat.persistent = true;
      break;
    default:
      param_problem("unknown option \"" + spelled + "\"");
  }
  (void)spelled;
}

Parsed Parser::parse() {
  bool previous_invert = false;
  while (i_ < argv_.size()) {
    std::string arg = argv_[i_++];
    invert_ = previous_invert;
    previous_invert = false;
    if (arg == "!") {
      if (invert_) param_problem("multiple consecutive ! not allowed");
      previous_invert = true;
      continue;
    }
    if (arg.size() >= 2 && arg[0] == '-' && arg[1] == '-') {
      std::string body = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = body.find('='); eq != std::string::npos) {
        value = body.substr(eq + 1);
        body = body.substr(0, eq);
        has_value = true;
      }
      std::vector<const LongOption*> options;
      add_options(options, kMainOptions);
      // Implicit loading of the tcp/udp match by -p (libxtables' "load the protocol match").
      if (match_loaded_.empty() && !p_.rule.protocol_invert &&
          (p_.rule.protocol == 6 || p_.rule.protocol == 17)) {
        std::vector<const LongOption*> with_ports = options;
        add_options(with_ports, kPortOptions);
        if (auto o = match_long(body, with_ports); o && (o->id == idSport || o->id == idDport)) {
          match_loaded_ = p_.rule.protocol == 6 ? "tcp" : "udp";
        }
      }
      if (!match_loaded_.empty()) add_options(options, kPortOptions);
      if (p_.rule.target == TargetKind::Snat) add_options(options, kSnatOptions);
      if (p_.rule.target == TargetKind::Dnat) add_options(options, kDnatOptions);
      if (p_.rule.target == TargetKind::Masquerade) add_options(options, kMasqOptions);
      auto o = match_long(body, options);
      if (!o) param_problem("unknown option \"" + arg + "\"");
      if (o->has_arg && !has_value) {
        bool optional = o->id == idList || o->id == idListRules || o->id == idFlush ||
                        o->id == idZero || o->id == idDeleteChain;
        if (!optional) {
          if (i_ >= argv_.size()) param_problem("option \"" + arg + "\" requires an argument");
          value = argv_[i_++];
        }
      }
      handle(o->id, value, arg);
      continue;
    }
    if (arg.size() >= 2 && arg[0] == '-') {
      // A cluster of short options; one taking an argument ends it.
      for (size_t k = 1; k < arg.size(); ++k) {
        auto s = short_option(arg[k]);
        if (!s) param_problem(fmt::format("unknown option \"-{}\"", arg[k]));
        std::string value;
        bool optional = s->first == 'L' || s->first == 'S' || s->first == 'F' || s->first == 'Z' ||
                        s->first == 'X';
        if (s->second || optional) {
          if (k + 1 < arg.size()) {
            value = arg.substr(k + 1);
          } else if (s->second) {
            if (i_ >= argv_.size()) {
              param_problem(fmt::format("option \"-{}\" requires an argument", arg[k]));
            }
            value = argv_[i_++];
          }
          handle(s->first, value, fmt::format("-{}", arg[k]));
          if (!value.empty() || s->second) break;
          continue;
        }
        handle(s->first, value, fmt::format("-{}", arg[k]));
      }
      continue;
    }
    bad_argument(arg);
  }
  if (previous_invert) param_problem("cannot have ! before -j");  // a trailing "!"
  if (p_.command == kNone) param_problem("no command specified");
  // Option legality per command.
  unsigned row = p_.command;
  if ((row & kDelete) && p_.delete_num) row = kDelete + (1u << 20);
  for (int opt = 0; opt < oCount; ++opt) {
    if (!p_.options_seen[opt]) continue;
    // generic_opt_check(): legal when any of the given commands allows it.
    int legal = 0;
    for (unsigned bit = 1; bit <= kHelp; bit <<= 1) {
      if (!(p_.command & bit)) continue;
      unsigned r = bit == kDelete && p_.delete_num ? kDelete + (1u << 20) : bit;
      if (legality(r, static_cast<Opt>(opt)) != 'x') {
        legal = 1;
      } else if (legal == 0) {
        legal = -1;
      }
    }
    if (legal == -1) {
      param_problem(fmt::format("Illegal option `{}' with this command",
                                opt == oLineNumbers ? std::string("--line-numbers")
                                                    : fmt::format("-{}", kOptChars[opt])));
    }
  }
  (void)row;
  return p_;
}

std::string help_text() {
  return "iptables v1.8.9 (nf_tables)\n\n"
         "Usage: iptables -[ACD] chain rule-specification [options]\n"
         "       iptables -I chain [rulenum] rule-specification [options]\n"
         "       iptables -R chain rulenum rule-specification [options]\n"
         "       iptables -D chain rulenum [options]\n"
         "       iptables -[LS] [chain [rulenum]] [options]\n"
         "       iptables -[FZ] [chain] [options]\n"
         "       iptables -[NX] chain\n"
         "       iptables -E old-chain-name new-chain-name\n"
         "       iptables -P chain target [options]\n"
         "       iptables -h (print this help information)\n";
}

void check_chain_name(const std::string& name) {
  if (name.size() >= 29) {
    param_problem("chain name `" + name + "' too long (must be under 29 chars)");
  }
  const char* targets[] = {"ACCEPT", "DROP", "QUEUE", "RETURN", "SNAT", "DNAT", "MASQUERADE"};
  for (const char* t : targets) {
    if (name == t) param_problem("chain name may not clash with target name");
  }
}

CmdResult execute(Netfilter& nf, Parsed& p) {
  CmdResult result;
  if (p.command & kVersion) {
    result.out = "iptables v1.8.9 (nf_tables)\n";
    return result;
  }
  if (p.command & kHelp) {
    result.out = help_text();
    return result;
  }
  if (p.table != "nat") {
    if (p.table == "filter" || p.table == "mangle" || p.table == "raw" || p.table == "security") {
      fail(std::string(kPrefix) + "vnet supports only the nat table (use -t nat); table `" +
               p.table + "' is not implemented\n",
           3);
    }
    fail(std::string(kPrefix) + "table '" + p.table +
             "' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n",
         3);
  }
  NatTable& nat = nf.nat();
  Rule& rule = p.rule;
  const bool rule_command = p.command & (kAppend | kInsert | kReplace | kCheck) ||
                            ((p.command & kDelete) && !p.delete_num);

  std::vector<net::Prefix> sources{net::Prefix()};
  std::vector<net::Prefix> destinations{net::Prefix()};
  if (rule_command) {
    if (!p.sources.empty()) sources = parse_addresses(p.sources.front());
    if (!p.destinations.empty()) destinations = parse_addresses(p.destinations.front());
    if (is_builtin_chain(p.chain)) {
      if (!rule.in_iface.empty() && (p.chain == "POSTROUTING" || p.chain == "OUTPUT")) {
        param_problem("Can't use -i with " + p.chain + "\n");
      }
      if (!rule.out_iface.empty() && (p.chain == "PREROUTING" || p.chain == "INPUT")) {
        param_problem("Can't use -o with " + p.chain + "\n");
      }
    }
  }
  if ((p.jump_given && p.jump == "DROP") || ((p.command & kPolicy) && p.chain2 == "DROP")) {
    param_problem(
        "\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore "
        "inhibited.\n\n");
  }
  if (rule_command) {
    if (p.match_tcp && (rule.protocol != 6 || rule.protocol_invert)) {
      param_problem("TCP match requires '-p tcp'");
    }
    if (p.match_udp && (rule.protocol != 17 || rule.protocol_invert)) {
      param_problem("UDP match requires '-p udp'");
    }
    if (p.match_tcp || p.match_udp || rule.sport.set || rule.dport.set) {
      rule.match = rule.protocol == 6 ? MatchKind::Tcp : MatchKind::Udp;
    }
    if (rule.target == TargetKind::Snat && !p.to_given) {
      param_problem("SNAT: option \"--to-source\" must be specified\n");
    }
    if (rule.target == TargetKind::Dnat && !p.to_given) {
      param_problem("DNAT: option \"--to-destination\" must be specified\n");
    }
    if (p.counters) {
      rule.packets = p.counters->first;
      rule.bytes = p.counters->second;
    }
  }

  auto require_chain = [&](const std::string& name) -> Chain& {
    Chain* chain = nat.find(name);
    if (!chain) kernel_error("No chain/target/match by that name.");
    return *chain;
  };
  auto expand = [&]() {
    std::vector<Rule> rules;
    for (const auto& s : sources) {
      for (const auto& d : destinations) {
        Rule r = rule;
        r.src = s;
        r.dst = d;
        rules.push_back(std::move(r));
      }
    }
    return rules;
  };
  auto check_target = [&](const std::string& chain, const Rule& r, const char* op) {
    if (r.target == TargetKind::Jump && !nat.find(r.jump)) {
      param_problem("Chain '" + r.jump + "' does not exist");
    }
    if (r.src_invert && r.src.len() == 0) {
      netlink_error(op, "Invalid argument", "rule in chain " + chain);
    }
    if (r.dst_invert && r.dst.len() == 0) {
      netlink_error(op, "Invalid argument", "rule in chain " + chain);
    }
    int err = nat.validate(chain, r);
    if (err == 40) netlink_error(op, "Too many levels of symbolic links", "rule in chain " + chain);
    if (err != 0) netlink_error(op, "Invalid argument", "rule in chain " + chain);
  };
  auto zero_line = [&](const Chain& c) {
    if (p.verbose || (p.command & kList)) result.out += "Zeroing chain `" + c.name + "'\n";
  };
  auto zero = [&]() {
    if (!p.chain.empty()) {
      Chain& c = require_chain(p.chain);
      if (p.rule_number) {
        if (*p.rule_number <= c.rules.size()) {
          c.rules[*p.rule_number - 1].packets = c.rules[*p.rule_number - 1].bytes = 0;
        }
        return;
      }
      for (auto& r : c.rules) r.packets = r.bytes = 0;
      c.policy_packets = c.policy_bytes = 0;
      zero_line(c);
      return;
    }
    for (Chain* c : nat.chains()) {
      for (auto& r : c->rules) r.packets = r.bytes = 0;
      c->policy_packets = c->policy_bytes = 0;
      zero_line(*c);
    }
  };

  if (p.command & kAppend) {
    Chain& c = require_chain(p.chain);
    auto rules = expand();
    for (const auto& r : rules) check_target(p.chain, r, "RULE_APPEND");
    for (auto& r : rules) c.rules.push_back(std::move(r));
  } else if (p.command & kInsert) {
    Chain& c = require_chain(p.chain);
    if (*p.rule_number > c.rules.size() + 1) kernel_error("Index of insertion too big.");
    auto rules = expand();
    for (const auto& r : rules) check_target(p.chain, r, "RULE_INSERT");
    c.rules.insert(c.rules.begin() + (*p.rule_number - 1), rules.begin(), rules.end());
  } else if (p.command & kReplace) {
    Chain& c = require_chain(p.chain);
    auto rules = expand();
    if (rules.size() != 1) param_problem("-R requires a single source and destination");
    if (*p.rule_number > c.rules.size()) kernel_error("Index of replacement too big.");
    check_target(p.chain, rules[0], "RULE_REPLACE");
    c.rules[*p.rule_number - 1] = std::move(rules[0]);
  } else if (p.command & kDelete) {
    Chain& c = require_chain(p.chain);
    if (p.delete_num) {
      if (*p.rule_number > c.rules.size()) kernel_error("Index of deletion too big.");
      c.rules.erase(c.rules.begin() + (*p.rule_number - 1));
    } else {
      std::vector<Rule> after = c.rules;
      for (const auto& r : expand()) {
        auto it =
            std::find_if(after.begin(), after.end(), [&](const Rule& x) { return x.same_spec(r); });
        if (it == after.end())
          kernel_error("Bad rule (does a matching rule exist in that chain?).");
        after.erase(it);
      }
      c.rules = std::move(after);
    }
  } else if (p.command & kCheck) {
    Chain& c = require_chain(p.chain);
    for (const auto& r : expand()) {
      if (std::none_of(c.rules.begin(), c.rules.end(),
                       [&](const Rule& x) { return x.same_spec(r); })) {
        kernel_error("Bad rule (does a matching rule exist in that chain?).");
      }
    }
  } else if (p.command & (kList | kListRules)) {
    ListFormat format{p.numeric, p.verbose, p.exact, p.line_numbers};
    std::vector<const Chain*> chains;
    if (!p.chain.empty()) {
      const Chain* c = nat.find(p.chain);
      if (!c) {
        fail(std::string(kPrefix) + "chain `" + p.chain +
                 "' in table `nat' is incompatible, use 'nft' tool.\n",
             1);
      }
      chains.push_back(c);
    } else {
      chains = static_cast<const NatTable&>(nat).chains();
    }
    if (p.command & kList) {
      if (p.rule_number) {
        const Chain* c = chains.front();
        if (*p.rule_number <= c->rules.size()) {
          result.out += nat.list_rule(c->rules[*p.rule_number - 1], *p.rule_number, format);
        }
      } else {
        bool first = true;
        for (const Chain* c : chains) {
          if (!first) result.out += "\n";
          first = false;
          result.out += nat.list_chain(*c, format);
        }
      }
    } else {
      if (p.rule_number) {
        const Chain* c = chains.front();
        if (*p.rule_number <= c->rules.size()) {
          result.out += nat.save_rule(*c, c->rules[*p.rule_number - 1], p.verbose);
        }
      } else {
        for (const Chain* c : chains) result.out += nat.save_policy(*c, p.verbose);
        for (const Chain* c : chains) {
          for (const auto& r : c->rules) result.out += nat.save_rule(*c, r, p.verbose);
        }
      }
    }
    if (p.command & kZero) {
      p.verbose = p.verbose || true;
      zero();
    }
  } else if (p.command & kZero) {
    zero();
  } else if (p.command & kFlush) {
    if (!p.chain.empty()) {
      Chain& c = require_chain(p.chain);
      c.rules.clear();
      if (p.verbose) result.out += "Flushing chain `" + c.name + "'\n";
    } else {
      for (Chain* c : nat.chains()) {
        c->rules.clear();
        if (p.verbose) result.out += "Flushing chain `" + c->name + "'\n";
      }
    }
  } else if (p.command & kNewChain) {
    check_chain_name(p.chain);
    if (nat.find(p.chain)) kernel_error("Chain already exists.");
    nat.add_chain(p.chain);
  } else if (p.command & kDeleteChain) {
    std::vector<std::string> names;
    if (!p.chain.empty()) {
      const Chain* c = nat.find(p.chain);
      if (!c) kernel_error("No chain/target/match by that name.");
      names.push_back(p.chain);
    } else {
      for (const Chain* c : static_cast<const NatTable&>(nat).chains()) {
        if (!c->builtin) names.push_back(c->name);
      }
    }
    for (const auto& name : names) {
      const Chain* c = nat.find(name);
      size_t refs = nat.references(name);
      // References from chains that are deleted together do not count.
      for (const auto& other : names) {
        if (other == name) continue;
        for (const auto& r : nat.find(other)->rules) {
          if (r.target == TargetKind::Jump && r.jump == name) --refs;
        }
      }
      // nf_tables refuses to delete a chain that still has rules or is jumped to.
      if (c->builtin || refs > 0 || !c->rules.empty()) {
        netlink_error("CHAIN_DEL", "Device or resource busy", "chain " + name);
      }
    }
    for (const auto& name : names) nat.delete_chain(name);
  } else if (p.command & kPolicy) {
    Chain* c = nat.find(p.chain);
    if (!c || !c->builtin) kernel_error("Bad built-in chain name.");
    if (p.chain2 != "ACCEPT") kernel_error("Bad policy name. Run `dmesg' for more information.");
    if (p.counters) {
      c->policy_packets = p.counters->first;
      c->policy_bytes = p.counters->second;
    }
  } else if (p.command & kRename) {
    check_chain_name(p.chain2);
    const Chain* c = nat.find(p.chain);
    if (!c || c->builtin) kernel_error("No chain/target/match by that name.");
    if (nat.find(p.chain2)) kernel_error("File exists.");
    nat.rename_chain(p.chain, p.chain2);
  }
  return result;
}

}  // namespace

CmdResult run_iptables(Netfilter& nf, const std::vector<std::string>& argv, uint64_t now_ns) {
  (void)now_ns;
  try {
    Parser parser(argv);
    Parsed parsed = parser.parse();
    // Work on a copy so that a failing command leaves the table as it was.
    NatTable saved = nf.nat();
    try {
      return execute(nf, parsed);
    } catch (const Failure&) {
      nf.nat() = std::move(saved);
      throw;
    }
  } catch (const Failure& failure) {
    return failure.result;
  }
}

}  // namespace vnet::nf
