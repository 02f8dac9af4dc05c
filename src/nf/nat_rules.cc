#include "nf/nat_rules.h"

#include <algorithm>

#include <fmt/format.h>

#include "nf/names.h"
#include "nf/netfilter.h"

namespace vnet::nf {

namespace {

constexpr Hook kHooks[] = {Hook::PreRouting, Hook::LocalIn, Hook::LocalOut, Hook::PostRouting};
constexpr int kMaxJumpDepth = 64;

const char* builtin_name(Hook hook) {
  switch (hook) {
    case Hook::PreRouting:
      return "PREROUTING";
    case Hook::LocalIn:
      return "INPUT";
    case Hook::LocalOut:
      return "OUTPUT";
    case Hook::PostRouting:
      return "POSTROUTING";
  }
  return "";
}

bool target_allowed(TargetKind kind, Hook hook) {
  switch (kind) {
    case TargetKind::Masquerade:
      return hook == Hook::PostRouting;
    case TargetKind::Snat:
      return hook == Hook::PostRouting || hook == Hook::LocalIn;
    case TargetKind::Dnat:
      return hook == Hook::PreRouting || hook == Hook::LocalOut;
    default:
      return true;
  }
}

bool port_matches(const PortRange& range, uint16_t port) {
  if (!range.set) return true;
  return (port >= range.min && port <= range.max) != range.invert;
}

// xtables_print_num(): counters are 5 wide with K/M/G/T suffixes (rounded) unless -x.
std::string format_count(uint64_t n, bool exact) {
  if (exact) return fmt::format("{:8} ", n);
  if (n <= 99999) return fmt::format("{:5} ", n);
  const char suffixes[] = {'K', 'M', 'G', 'T'};
  for (size_t i = 0; i < 4; ++i) {
    n = (n + 500) / 1000;
    if (n <= 9999 || i == 3) return fmt::format("{:4}{} ", n, suffixes[i]);
  }
  return "";
}

std::string protocol_name(uint8_t protocol) {
  // xtables_chain_protos first ("all" for 0), then /etc/protocols.
  switch (protocol) {
    case 0:
      return "all";
    case 1:
      return "icmp";
    case 6:
      return "tcp";
    case 17:
      return "udp";
    default:
      break;
  }
  if (auto name = protocol_file_name(protocol)) return std::string(*name);
  return std::to_string(protocol);
}

std::string port_text(uint16_t port, MatchKind kind, bool numeric) {
  if (!numeric) {
    if (auto name = service_name(port, kind == MatchKind::Tcp)) return std::string(*name);
  }
  return std::to_string(port);
}

void list_ports(std::string& out, const char* name, const PortRange& r, MatchKind kind,
                bool numeric) {
  if (!r.set || (r.min == 0 && r.max == 0xffff && !r.invert)) return;
  const char* inv = r.invert ? "!" : "";
  if (r.min == r.max) {
    out += fmt::format(" {}:{}{}", name, inv, port_text(r.min, kind, numeric));
  } else {
    out += fmt::format(" {}s:{}{}:{}", name, inv, port_text(r.min, kind, numeric),
                       port_text(r.max, kind, numeric));
  }
}

void save_ports(std::string& out, const char* option, const PortRange& r) {
  if (!r.set || (r.min == 0 && r.max == 0xffff)) return;
  out += r.invert ? " ! " : " ";
  if (r.min == r.max) {
    out += fmt::format("{} {}", option, r.min);
  } else {
    out += fmt::format("{} {}:{}", option, r.min, r.max);
  }
}

std::string nat_range_text(const NatRange& r) {
  std::string out;
  if (r.has_addr) {
    out += r.min_addr.to_string();
    if (r.max_addr != r.min_addr) out += "-" + r.max_addr.to_string();
  }
  if (r.has_ports) {
    out += fmt::format(":{}", r.min_port);
    if (r.max_port != r.min_port) out += fmt::format("-{}", r.max_port);
  }
  return out;
}

std::string ports_text(const NatRange& r) {
  if (r.max_port == r.min_port) return std::to_string(r.min_port);
  return fmt::format("{}-{}", r.min_port, r.max_port);
}

const char* target_name(const Rule& rule) {
  switch (rule.target) {
    case TargetKind::None:
      return "";
    case TargetKind::Accept:
      return "ACCEPT";
    case TargetKind::Return:
      return "RETURN";
    case TargetKind::Masquerade:
      return "MASQUERADE";
    case TargetKind::Snat:
      return "SNAT";
    case TargetKind::Dnat:
      return "DNAT";
    case TargetKind::Jump:
      return rule.jump.c_str();
  }
  return "";
}

}  // namespace

const char* to_string(Hook hook) {
  return builtin_name(hook);
}

bool Rule::same_spec(const Rule& o) const {
  return src == o.src && src_invert == o.src_invert && dst == o.dst && dst_invert == o.dst_invert &&
         in_iface == o.in_iface && in_invert == o.in_invert && out_iface == o.out_iface &&
         out_invert == o.out_invert && protocol == o.protocol &&
         protocol_invert == o.protocol_invert && fragment == o.fragment &&
         fragment_invert == o.fragment_invert && match == o.match && sport == o.sport &&
         dport == o.dport && target == o.target && jump == o.jump && nat == o.nat;
}

bool iface_matches(const std::string& pattern, std::string_view name) {
  if (pattern.empty()) return true;
  if (pattern.back() == '+') {
    return name.substr(0, pattern.size() - 1) ==
           std::string_view(pattern).substr(0, pattern.size() - 1);
  }
  return name == pattern;
}

std::string format_prefix(const net::Prefix& prefix, bool omit_host_len) {
  if (prefix.len() == 32 && omit_host_len) return prefix.addr().to_string();
  return fmt::format("{}/{}", prefix.addr().to_string(), prefix.len());
}

NatTable::NatTable() {
  for (Hook hook : kHooks) {
    Chain chain;
    chain.name = builtin_name(hook);
    chain.builtin = true;
    builtins_.push_back(std::move(chain));
  }
}

Chain* NatTable::find(const std::string& name) {
  for (auto& chain : builtins_) {
    if (chain.name == name) return &chain;
  }
  auto it = user_.find(name);
  return it == user_.end() ? nullptr : &it->second;
}

const Chain* NatTable::find(const std::string& name) const {
  return const_cast<NatTable*>(this)->find(name);  // NOLINT
}

std::vector<const Chain*> NatTable::chains() const {
  std::vector<const Chain*> out;
  for (const auto& chain : builtins_) out.push_back(&chain);
  for (const auto& [name, chain] : user_) out.push_back(&chain);
  return out;
}

std::vector<Chain*> NatTable::chains() {
  std::vector<Chain*> out;
  for (auto& chain : builtins_) out.push_back(&chain);
  for (auto& [name, chain] : user_) out.push_back(&chain);
  return out;
}

Chain& NatTable::builtin(Hook hook) {
  return builtins_[static_cast<size_t>(hook)];
}

bool NatTable::add_chain(const std::string& name) {
  if (find(name)) return false;
  Chain chain;
  chain.name = name;
  user_.emplace(name, std::move(chain));
  return true;
}

bool NatTable::delete_chain(const std::string& name) {
  return user_.erase(name) > 0;
}

bool NatTable::rename_chain(const std::string& from, const std::string& to) {
  auto it = user_.find(from);
  if (it == user_.end() || find(to)) return false;
  Chain chain = std::move(it->second);
  user_.erase(it);
  chain.name = to;
  user_.emplace(to, std::move(chain));
  for (Chain* c : chains()) {
    for (auto& rule : c->rules) {
      if (rule.target == TargetKind::Jump && rule.jump == from) rule.jump = to;
    }
  }
  return true;
}

size_t NatTable::references(const std::string& name) const {
  size_t n = 0;
  for (const Chain* c : chains()) {
    for (const auto& rule : c->rules) {
      if (rule.target == TargetKind::Jump && rule.jump == name) ++n;
    }
  }
  return n;
}

std::vector<Hook> NatTable::hooks_reaching(const std::string& name) const {
  std::vector<Hook> out;
  for (Hook hook : kHooks) {
    // Breadth-first walk of the jump graph from the built-in chain.
    std::vector<std::string> seen{builtin_name(hook)};
    for (size_t i = 0; i < seen.size(); ++i) {
      if (seen[i] == name) {
        out.push_back(hook);
        break;
      }
      const Chain* c = find(seen[i]);
      if (!c) continue;
      for (const auto& rule : c->rules) {
        if (rule.target == TargetKind::Jump &&
            std::find(seen.begin(), seen.end(), rule.jump) == seen.end()) {
          seen.push_back(rule.jump);
        }
      }
    }
  }
  return out;
}

int NatTable::validate_in(const std::string& chain, const Rule& rule,
                          const std::vector<Hook>& hooks, int depth) const {
  if (depth > kMaxJumpDepth) return 40;  // ELOOP
  if (rule.target == TargetKind::Jump) {
    if (rule.jump == chain) return 40;
    const Chain* target = find(rule.jump);
    if (!target) return 2;  // ENOENT
    for (const auto& r : target->rules) {
      if (r.target == TargetKind::Jump && r.jump == chain) return 40;
      if (int err = validate_in(chain, r, hooks, depth + 1)) return err;
    }
    return 0;
  }
  for (Hook hook : hooks) {
    if (!target_allowed(rule.target, hook)) return 22;  // EINVAL
  }
  return 0;
}

int NatTable::validate(const std::string& chain, const Rule& rule) const {
  return validate_in(chain, rule, hooks_reaching(chain), 0);
}

NatDecision NatTable::evaluate(Hook hook, const PacketInfo& p, HookTrace* trace) {
  struct Frame {
    Chain* chain;
    size_t next;
  };
  std::vector<Frame> stack;
  Chain& base = builtin(hook);
  stack.push_back({&base, 0});
  const bool input_side = hook == Hook::PreRouting || hook == Hook::LocalIn;
  while (!stack.empty()) {
    Frame& frame = stack.back();
    if (frame.next >= frame.chain->rules.size()) {
      stack.pop_back();
      if (stack.empty()) break;
      continue;
    }
    size_t index = frame.next++;
    Rule& rule = frame.chain->rules[index];
    if (!rule.src.contains(p.src) != rule.src_invert) continue;
    if (!rule.dst.contains(p.dst) != rule.dst_invert) continue;
    std::string_view in_name = input_side ? p.in_iface : std::string_view();
    std::string_view out_name = input_side ? std::string_view() : p.out_iface;
    if (!rule.in_iface.empty() && iface_matches(rule.in_iface, in_name) == rule.in_invert) continue;
    if (!rule.out_iface.empty() && iface_matches(rule.out_iface, out_name) == rule.out_invert) {
      continue;
    }
    if (rule.protocol != 0 && (rule.protocol == p.protocol) == rule.protocol_invert) continue;
    if (rule.fragment && p.fragment == rule.fragment_invert) continue;
    if (rule.match != MatchKind::None) {
      uint8_t want = rule.match == MatchKind::Tcp ? kProtoTcp : kProtoUdp;
      if (p.protocol != want || !p.has_ports) continue;
      if (!port_matches(rule.sport, p.sport) || !port_matches(rule.dport, p.dport)) continue;
    }
    ++rule.packets;
    rule.bytes += p.length;
    if (trace) {
      trace->lines.push_back(fmt::format(
          "nat {}: rule {} matched in chain {}: {}", to_string(hook), index + 1, frame.chain->name,
          rule.target == TargetKind::None ? "(no target)" : target_name(rule)));
    }
    switch (rule.target) {
      case TargetKind::None:
        break;
      case TargetKind::Accept:
        return {};
      case TargetKind::Return:
        stack.pop_back();
        break;
      case TargetKind::Jump: {
        Chain* target = find(rule.jump);
        if (target && stack.size() < kMaxJumpDepth) stack.push_back({target, 0});
        break;
      }
      case TargetKind::Masquerade:
      case TargetKind::Snat:
      case TargetKind::Dnat:
        if (!target_allowed(rule.target, hook)) break;  // the kernel refuses such rules
        return {rule.target, rule.nat, frame.chain->name, index + 1};
    }
    if (stack.empty()) break;
  }
  ++base.policy_packets;
  base.policy_bytes += p.length;
  if (trace) trace->lines.push_back(fmt::format("nat {}: policy ACCEPT", to_string(hook)));
  return {};
}

std::string NatTable::list_rule(const Rule& rule, size_t number, const ListFormat& f) const {
  std::string out;
  if (f.line_numbers) out += fmt::format("{:<4} ", number);
  if (f.verbose) {
    out += format_count(rule.packets, f.exact);
    out += format_count(rule.bytes, f.exact);
  }
  out += fmt::format("{:<9} ", target_name(rule));
  out += rule.protocol_invert ? '!' : ' ';
  out += fmt::format("{:<5}",
                     f.numeric ? std::to_string(rule.protocol) : protocol_name(rule.protocol));
  out += rule.fragment_invert ? '!' : '-';
  out += rule.fragment ? 'f' : '-';
  out += ' ';
  if (f.verbose) {
    std::string in = rule.in_invert ? "!" : "";
    in += rule.in_iface.empty() ? (f.numeric ? "*" : "any") : rule.in_iface;
    std::string outdev = rule.out_invert ? "!" : "";
    outdev += rule.out_iface.empty() ? (f.numeric ? "*" : "any") : rule.out_iface;
    out += fmt::format(" {:<6} {:<6} ", in, outdev);
  }
  auto addr = [&](const net::Prefix& p, bool inv) {
    std::string text = format_prefix(p, true);
    if (!f.numeric && p.len() == 0) text = "anywhere";
    // Names come from the resolver; a node's /etc/hosts only names the loopback address.
    if (!f.numeric && p.len() == 32 && p.addr() == net::Ipv4Addr::from_octets(127, 0, 0, 1)) {
      text = "localhost";
    }
    out += inv ? '!' : ' ';
    out += fmt::format("{:<19} ", text);
  };
  addr(rule.src, rule.src_invert);
  addr(rule.dst, rule.dst_invert);
  if (rule.match != MatchKind::None) {
    out += rule.match == MatchKind::Tcp ? " tcp" : " udp";
    list_ports(out, "spt", rule.sport, rule.match, f.numeric);
    list_ports(out, "dpt", rule.dport, rule.match, f.numeric);
  }
  const NatRange& r = rule.nat;
  if (rule.target == TargetKind::Snat || rule.target == TargetKind::Dnat) {
    out += " to:" + nat_range_text(r);
    if (r.random) out += " random";
    if (r.random_fully) out += " random-fully";
    if (r.persistent) out += " persistent";
  } else if (rule.target == TargetKind::Masquerade) {
    if (r.has_ports) out += " masq ports: " + ports_text(r);
    if (r.random) out += " random";
    if (r.random_fully) out += " random-fully";
  }
  out += '\n';
  return out;
}

std::string NatTable::list_chain(const Chain& chain, const ListFormat& f) const {
  std::string out;
  if (chain.builtin) {
    if (f.verbose) {
      out += fmt::format("Chain {} (policy ACCEPT {} packets, {} bytes)\n", chain.name,
                         chain.policy_packets, chain.policy_bytes);
    } else {
      out += fmt::format("Chain {} (policy ACCEPT)\n", chain.name);
    }
  } else {
    out += fmt::format("Chain {} ({} references)\n", chain.name, references(chain.name));
  }
  if (f.line_numbers) out += "num  ";
  if (f.verbose) out += f.exact ? "    pkts      bytes " : " pkts bytes ";
  out += "target     prot opt ";
  if (f.verbose) out += "in     out     ";
  out += "source               destination         \n";
  size_t n = 0;
  for (const auto& rule : chain.rules) out += list_rule(rule, ++n, f);
  return out;
}

std::string NatTable::save_policy(const Chain& chain, bool counters) const {
  if (!chain.builtin) return fmt::format("-N {}\n", chain.name);
  if (counters) {
    return fmt::format("-P {} ACCEPT -c {} {}\n", chain.name, chain.policy_packets,
                       chain.policy_bytes);
  }
  return fmt::format("-P {} ACCEPT\n", chain.name);
}

std::string NatTable::save_rule(const Chain& chain, const Rule& rule, bool counters) const {
  std::string out = "-A " + chain.name;
  if (rule.src.len() != 0 || rule.src_invert) {
    out += fmt::format("{} -s {}", rule.src_invert ? " !" : "", format_prefix(rule.src, false));
  }
  if (rule.dst.len() != 0 || rule.dst_invert) {
    out += fmt::format("{} -d {}", rule.dst_invert ? " !" : "", format_prefix(rule.dst, false));
  }
  if (!rule.in_iface.empty())
    out += fmt::format("{} -i {}", rule.in_invert ? " !" : "", rule.in_iface);
  if (!rule.out_iface.empty()) {
    out += fmt::format("{} -o {}", rule.out_invert ? " !" : "", rule.out_iface);
  }
  if (rule.protocol != 0) {
    out += fmt::format("{} -p {}", rule.protocol_invert ? " !" : "", protocol_name(rule.protocol));
  }
  if (rule.fragment) out += rule.fragment_invert ? " ! -f" : " -f";
  if (rule.match != MatchKind::None) {
    out += rule.match == MatchKind::Tcp ? " -m tcp" : " -m udp";
    save_ports(out, "--sport", rule.sport);
    save_ports(out, "--dport", rule.dport);
  }
  if (counters) out += fmt::format(" -c {} {}", rule.packets, rule.bytes);
  if (rule.target != TargetKind::None) out += fmt::format(" -j {}", target_name(rule));
  const NatRange& r = rule.nat;
  if (rule.target == TargetKind::Snat || rule.target == TargetKind::Dnat) {
    out += rule.target == TargetKind::Snat ? " --to-source " : " --to-destination ";
    out += nat_range_text(r);
    if (r.random) out += " --random";
    if (r.random_fully) out += " --random-fully";
    if (r.persistent) out += " --persistent";
  } else if (rule.target == TargetKind::Masquerade) {
    if (r.has_ports) out += " --to-ports " + ports_text(r);
    if (r.random) out += " --random";
    if (r.random_fully) out += " --random-fully";
  }
  out += '\n';
  return out;
}

}  // namespace vnet::nf
