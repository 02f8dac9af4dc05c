// `conntrack` (conntrack-tools 1.4.7) over the vnet table: -L, -D, -F, -C, -S, -V, -h, with the
// -p/-s/-d/-r/-q/--sport/--dport/-u filters and -o extended/id.  Entry lines are printed as
// libnetfilter_conntrack's default formatter prints them; the summary goes to stderr.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "nf/netfilter.h"

namespace vnet::nf {

namespace {

constexpr const char* kPrefix = "conntrack v1.4.7 (conntrack-tools): ";
constexpr const char* kTry = "Try `conntrack -h' or 'conntrack --help' for more information.\n";

const char* kHelpText =
    "Command line interface for the connection tracking system. Version 1.4.7\n"
    "Usage: conntrack [commands] [options]\n"
    "\n"
    "Commands:\n"
    "  -L [table] [options]\t\tList conntrack or expectation table\n"
    "  -G [table] parameters\t\tGet conntrack or expectation\n"
    "  -D [table] parameters\t\tDelete conntrack or expectation\n"
    "  -I [table] parameters\t\tCreate a conntrack or expectation\n"
    "  -U [table] parameters\t\tUpdate a conntrack\n"
    "  -E [table] [options]\t\tShow events\n"
    "  -F [table]\t\t\tFlush table\n"
    "  -C [table]\t\t\tShow counter\n"
    "  -S\t\t\t\tShow statistics\n"
    "\n"
    "Tables: conntrack, expect, dying, unconfirmed\n"
    "\n"
    "Conntrack parameters and options:\n"
    "  -n, --src-nat ip\t\t\tsource NAT ip\n"
    "  -g, --dst-nat ip\t\t\tdestination NAT ip\n"
    "  -j, --any-nat ip\t\t\tsource or destination NAT ip\n"
    "  -m, --mark mark\t\t\tSet mark\n"
    "  -c, --secmark secmark\t\t\tSet selinux secmark\n"
    "  -e, --event-mask eventmask\t\tEvent mask, eg. NEW,DESTROY\n"
    "  -z, --zero \t\t\t\tZero counters while listing\n"
    "  -o, --output type[,...]\t\tOutput format, eg. xml\n"
    "  -l, --label label[,...]\t\tconntrack labels\n"
    "\n"
    "Expectation parameters and options:\n"
    "  --tuple-src ip\tSource address in expect tuple\n"
    "  --tuple-dst ip\tDestination address in expect tuple\n"
    "\n"
    "Updating parameters and options:\n"
    "  --label-add label\tAdd label\n"
    "  --label-del label\tDelete label\n"
    "\n"
    "Common parameters and options:\n"
    "  -s, --src, --orig-src ip\t\tSource address from original direction\n"
    "  -d, --dst, --orig-dst ip\t\tDestination address from original direction\n"
    "  -r, --reply-src ip\t\tSource addres from reply direction\n"
    "  -q, --reply-dst ip\t\tDestination address from reply direction\n"
    "  -p, --protonum proto\t\tLayer 4 Protocol, eg. 'tcp'\n"
    "  -f, --family proto\t\tLayer 3 Protocol, eg. 'ipv6'\n"
    "  -t, --timeout timeout\t\tSet timeout\n"
    "  -u, --status status\t\tSet status, eg. ASSURED\n"
    "  -w, --zone value\t\tSet conntrack zone\n"
    "  --orig-zone value\t\tSet zone for original direction\n"
    "  --reply-zone value\t\tSet zone for reply direction\n"
    "  -b, --buffer-size\t\tNetlink socket buffer size\n"
    "  --mask-src ip\t\t\tSource mask address\n"
    "  --mask-dst ip\t\t\tDestination mask address\n"
    "\n";

struct Failure {
  CmdResult result;
};

// Calls fn for each item of a comma-separated list ("ASSURED,SEEN_REPLY"), empty items too.
template <typename Fn>
void for_each_item(const std::string& list, Fn&& fn) {
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    fn(list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
    if (comma == std::string::npos) return;
    pos = comma + 1;
  }
}

[[noreturn]] void param_problem(const std::string& message) {
  throw Failure{CmdResult{"", kPrefix + message + "\n" + kTry, 2}};
}

enum Command : unsigned {
  kNone = 0,
  kList = 1,
  kDelete = 2,
  kFlush = 4,
  kCount = 8,
  kStats = 16,
  kVersion = 32,
  kHelp = 64,
};

struct Filter {
  std::optional<uint8_t> protocol;
  std::optional<net::Ipv4Addr> orig_src, orig_dst, reply_src, reply_dst;
  std::optional<uint16_t> orig_sport, orig_dport, reply_sport, reply_dport;
  uint32_t status_bits = 0;
  bool extended = false;
  bool show_id = false;
  bool expect_table = false;
};

const char* proto_name(uint8_t protocol) {
  switch (protocol) {
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 33:
      return "dccp";
    case 47:
      return "gre";
    case 58:
      return "icmpv6";
    case 132:
      return "sctp";
    case 136:
      return "udplite";
    default:
      return "unknown";
  }
}

std::optional<uint8_t> proto_number(const std::string& name) {
  const std::pair<const char*, uint8_t> table[] = {
      {"tcp", 6},   {"udp", 17}, {"udplite", 136}, {"sctp", 132},
      {"dccp", 33}, {"icmp", 1}, {"icmpv6", 58},   {"gre", 47},
  };
  for (auto [n, v] : table) {
    if (name == n) return v;
  }
  return std::nullopt;
}

// inet_aton(): 1 to 4 parts, like "1.2.3" = 1.2.0.3.
std::optional<net::Ipv4Addr> parse_inet_aton(const std::string& text) {
  std::vector<uint64_t> parts;
  size_t pos = 0;
  for (;;) {
    size_t dot = text.find('.', pos);
    std::string part = text.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    auto n = net::parse_c_number(part);
    if (!n || part.empty()) return std::nullopt;
    parts.push_back(*n);
    if (dot == std::string::npos) break;
    pos = dot + 1;
    if (parts.size() == 4) return std::nullopt;
  }
  uint64_t value = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i] > 255) return std::nullopt;
    value |= parts[i] << (24 - 8 * i);
  }
  uint64_t last_max = parts.size() == 1 ? 0xffffffffull : (1ull << (8 * (5 - parts.size()))) - 1;
  if (parts.back() > last_max) return std::nullopt;
  value |= parts.back();
  return net::Ipv4Addr(static_cast<uint32_t>(value));
}

std::string tuple_fields(const Tuple& t) {
  std::string out = fmt::format("src={} dst={} ", t.src.to_string(), t.dst.to_string());
  if (t.protocol == kProtoTcp || t.protocol == kProtoUdp) {
    out += fmt::format("sport={} dport={} ", t.src_key, t.dst_key);
  } else if (t.protocol == kProtoIcmp) {
    out += fmt::format("type={} code={} id={} ", t.icmp_type(), t.icmp_code(), t.src_key);
  }
  return out;
}

std::string entry_line(const Conn& c, uint64_t now_ns, const Filter& f) {
  std::string out;
  if (f.extended) out += "ipv4     2 ";
  const Tuple& o = c.original();
  uint64_t remaining = c.deadline_ns > now_ns ? (c.deadline_ns - now_ns) / 1'000'000'000ull : 0;
  out += fmt::format("{:<8} {} {} ", proto_name(o.protocol), o.protocol, remaining);
  if (o.protocol == kProtoTcp) out += fmt::format("{} ", to_string(c.tcp_state));
  out += tuple_fields(o);
  if (!c.has(ct_status::kSeenReply)) out += "[UNREPLIED] ";
  out += tuple_fields(c.reply());
  if (c.has(ct_status::kAssured)) out += "[ASSURED] ";
  out += "mark=0 use=1";
  if (f.show_id) out += fmt::format(" id={}", static_cast<uint32_t>(c.id));
  out += '\n';
  return out;
}

bool matches(const Conn& c, const Filter& f) {
  const Tuple& o = c.original();
  const Tuple& r = c.reply();
  if (f.protocol && o.protocol != *f.protocol) return false;
  if (f.orig_src && o.src != *f.orig_src) return false;
  if (f.orig_dst && o.dst != *f.orig_dst) return false;
  if (f.reply_src && r.src != *f.reply_src) return false;
  if (f.reply_dst && r.dst != *f.reply_dst) return false;
  if (f.orig_sport && o.src_key != *f.orig_sport) return false;
  if (f.orig_dport && o.dst_key != *f.orig_dport) return false;
  if (f.reply_sport && r.src_key != *f.reply_sport) return false;
  if (f.reply_dport && r.dst_key != *f.reply_dport) return false;
  if ((c.status & f.status_bits) != f.status_bits) return false;
  return true;
}

CmdResult run(Netfilter& nf, const std::vector<std::string>& argv, uint64_t now_ns) {
  unsigned command = kNone;
  Filter f;
  auto add_command = [&](unsigned c) {
    if (command != kNone) param_problem("Invalid commands combination");
    command = c;
  };
  size_t i = 1;
  auto take = [&](const std::string& spelled) -> std::string {
    if (i >= argv.size()) param_problem("option `" + spelled + "' requires an argument");
    return argv[i++];
  };
  auto address = [&](const std::string& spelled) {
    std::string text = take(spelled);
    auto a = parse_inet_aton(text);
    if (!a) param_problem("Bad parameter `" + text + "'");
    return *a;
  };
  auto port = [&](const std::string& spelled) -> uint16_t {
    if (!f.protocol || (*f.protocol != kProtoTcp && *f.protocol != kProtoUdp)) {
      param_problem("unknown option `" + spelled + "'");
    }
    std::string text = take(spelled);
    auto n = net::parse_c_number(text);
    if (!n || *n > 65535 || text.empty()) param_problem("Bad parameter `" + text + "'");
    return static_cast<uint16_t>(*n);
  };
  if (argv.size() <= 1) return CmdResult{kHelpText, "", 0};
  while (i < argv.size()) {
    std::string a = argv[i++];
    auto table_arg = [&]() {
      if (i < argv.size() && !argv[i].empty() && argv[i][0] != '-') {
        const std::string& t = argv[i++];
        if (t == "expect" || t == "expectation") {
          f.expect_table = true;
        } else if (t != "conntrack") {
          param_problem("unknown table `" + t + "'");
        }
      }
    };
    if (a == "-L" || a == "--dump") {
      add_command(kList);
      table_arg();
    } else if (a == "-D" || a == "--delete") {
      add_command(kDelete);
      table_arg();
    } else if (a == "-F" || a == "--flush") {
      add_command(kFlush);
      table_arg();
    } else if (a == "-C" || a == "--count") {
      add_command(kCount);
      table_arg();
    } else if (a == "-S" || a == "--stats") {
      add_command(kStats);
    } else if (a == "-V" || a == "--version") {
      add_command(kVersion);
    } else if (a == "-h" || a == "--help") {
      add_command(kHelp);
    } else if (a == "-p" || a == "--protonum" || a == "--proto") {
      std::string name = take(a);
      auto n = proto_number(name);
      if (!n) param_problem("`" + name + "' unsupported protocol");
      f.protocol = n;
    } else if (a == "-s" || a == "--src" || a == "--orig-src") {
      f.orig_src = address(a);
    } else if (a == "-d" || a == "--dst" || a == "--orig-dst") {
      f.orig_dst = address(a);
    } else if (a == "-r" || a == "--reply-src") {
      f.reply_src = address(a);
    } else if (a == "-q" || a == "--reply-dst") {
      f.reply_dst = address(a);
    } else if (a == "--sport" || a == "--orig-port-src") {
      f.orig_sport = port(a);
    } else if (a == "--dport" || a == "--orig-port-dst") {
      f.orig_dport = port(a);
    } else if (a == "--reply-port-src") {
      f.reply_sport = port(a);
    } else if (a == "--reply-port-dst") {
      f.reply_dport = port(a);
    } else if (a == "-u" || a == "--status") {
      for_each_item(take(a), [&](const std::string& item) {
        if (item == "ASSURED") {
          f.status_bits |= ct_status::kAssured;
        } else if (item == "SEEN_REPLY") {
          f.status_bits |= ct_status::kSeenReply;
        } else if (item == "SRC_NAT") {
          f.status_bits |= ct_status::kSrcNat;
        } else if (item == "DST_NAT") {
          f.status_bits |= ct_status::kDstNat;
        } else if (item != "UNSET" && item != "FIXED_TIMEOUT" && item != "EXPECTED") {
          param_problem("Bad parameter `" + item + "'");
        }
      });
    } else if (a == "-o" || a == "--output") {
      for_each_item(take(a), [&](const std::string& item) {
        if (item == "extended") {
          f.extended = true;
        } else if (item == "id") {
          f.show_id = true;
        } else if (item != "timestamp" && item != "ktimestamp" && item != "userspace" &&
                   item != "labels") {
          param_problem("Bad parameter `" + item + "'");
        }
      });
    } else if (a == "-f" || a == "--family") {
      std::string fam = take(a);
      if (fam != "ipv4") param_problem("vnet: only the ipv4 family is tracked");
    } else {
      param_problem("unknown option `" + a + "'");
    }
  }

  CmdResult result;
  ConntrackTable& table = nf.table();
  switch (command) {
    case kNone:
      param_problem("no command specified");
    case kVersion:
      result.out = "conntrack v1.4.7 (conntrack-tools)\n";
      break;
    case kHelp:
      result.out = kHelpText;
      break;
    case kList: {
      if (f.expect_table) {
        result.err = std::string(kPrefix) + "0 expectations have been shown.\n";
        break;
      }
      table.expire(now_ns);
      size_t n = 0;
      table.for_each([&](Conn& c) {
        if (!matches(c, f)) return;
        result.out += entry_line(c, now_ns, f);
        ++n;
      });
      result.err = fmt::format("{}{} flow entries have been shown.\n", kPrefix, n);
      break;
    }
    case kDelete: {
      table.expire(now_ns);
      std::vector<Conn*> doomed;
      table.for_each([&](Conn& c) {
        if (matches(c, f)) doomed.push_back(&c);
      });
      for (Conn* c : doomed) {
        result.out += entry_line(*c, now_ns, f);
        table.remove(*c);
      }
      result.err = fmt::format("{}{} flow entries have been deleted.\n", kPrefix, doomed.size());
      result.status = doomed.empty() ? 1 : 0;
      break;
    }
    case kFlush:
      if (!f.expect_table) table.clear();
      result.err = f.expect_table
                       ? std::string(kPrefix) + "expectation table has been emptied.\n"
                       : std::string(kPrefix) + "connection tracking table has been emptied.\n";
      break;
    case kCount:
      result.out = fmt::format("{}\n", f.expect_table ? 0 : nf.count(now_ns));
      break;
    case kStats: {
      const ConntrackStats& s = nf.stats();
      result.out = fmt::format(
          "cpu=0   \tfound={} invalid={} insert={} insert_failed={} drop={} early_drop={} "
          "error={} search_restart={} clash_resolve={} chaintoolong={} \n",
          s.found, s.invalid, s.insert, s.insert_failed, s.drop, s.early_drop, s.error,
          s.search_restart, s.clash_resolve, s.chaintoolong);
      break;
    }
    default:
      break;
  }
  return result;
}

}  // namespace

CmdResult run_conntrack(Netfilter& nf, const std::vector<std::string>& argv, uint64_t now_ns) {
  try {
    return run(nf, argv, now_ns);
  } catch (const Failure& failure) {
    return failure.result;
  }
}

}  // namespace vnet::nf
