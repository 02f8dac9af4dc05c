// The iptables nat table: rules, chains, their traversal by the first packet of a connection, and
// their printing as iptables 1.8.9 (nf_tables) prints them (`-L` with -n/-v/-x/--line-numbers,
// `-S`).
//
// Input to traversal: a PacketInfo (addresses, protocol, ports, devices, length) and the hook.
// Output: the NAT target that fired (SNAT/DNAT/MASQUERADE with its range) or none (ACCEPT, RETURN
// from a built-in chain, end of chain: the policy, always ACCEPT in nat).  Traversal increments
// the counters of every rule that matched and of the policy when it decides.  Example:
//   -A POSTROUTING -s 10.0.0.0/24 -o eth0 -j MASQUERADE
//   evaluate(Hook::PostRouting, {src 10.0.0.2, out "eth0", ...}) -> {Masquerade, rule 1}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::nf {

struct HookTrace;

enum class Hook : uint8_t { PreRouting, LocalIn, LocalOut, PostRouting };
const char* to_string(Hook hook);

struct PortRange {
  bool set = false;
  bool invert = false;
  uint16_t min = 0;
  uint16_t max = 0xffff;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

enum class TargetKind : uint8_t { None, Accept, Return, Masquerade, Snat, Dnat, Jump };

// struct nf_nat_range2 as the SNAT/DNAT/MASQUERADE targets fill it.
struct NatRange {
  bool has_addr = false;  // NF_NAT_RANGE_MAP_IPS
  net::Ipv4Addr min_addr{};
  net::Ipv4Addr max_addr{};
  bool has_ports = false;  // NF_NAT_RANGE_PROTO_SPECIFIED
  uint16_t min_port = 0;
  uint16_t max_port = 0;
  bool random = false;        // NF_NAT_RANGE_PROTO_RANDOM
  bool random_fully = false;  // NF_NAT_RANGE_PROTO_RANDOM_FULLY
  bool persistent = false;    // NF_NAT_RANGE_PERSISTENT
  friend bool operator==(const NatRange&, const NatRange&) = default;
};

enum class MatchKind : uint8_t { None, Tcp, Udp };

struct Rule {
  net::Prefix src{};  // length 0: any
  bool src_invert = false;
  net::Prefix dst{};
  bool dst_invert = false;
  std::string in_iface;  // "" any; "veth+" a prefix
  bool in_invert = false;
  std::string out_iface;
  bool out_invert = false;
  uint8_t protocol = 0;  // 0: all
  bool protocol_invert = false;
  bool fragment = false;  // -f: second and further fragments
  bool fragment_invert = false;
  MatchKind match = MatchKind::None;
  PortRange sport;
  PortRange dport;
  TargetKind target = TargetKind::None;
  std::string jump;  // TargetKind::Jump
  NatRange nat;
  uint64_t packets = 0;
  uint64_t bytes = 0;

  // Equality of the rule specification (what `-D chain rule-spec` and `-C` compare).
  bool same_spec(const Rule& other) const;
};

struct Chain {
  std::string name;
  bool builtin = false;
  std::vector<Rule> rules;
  uint64_t policy_packets = 0;
  uint64_t policy_bytes = 0;
};

// What a packet looks like to the rule matches.
struct PacketInfo {
  net::Ipv4Addr src{};
  net::Ipv4Addr dst{};
  uint8_t protocol = 0;
  bool has_ports = false;
  uint16_t sport = 0;
  uint16_t dport = 0;
  bool fragment = false;  // a non-first fragment
  std::string_view in_iface;
  std::string_view out_iface;
  uint32_t length = 0;
};

struct NatDecision {
  TargetKind kind = TargetKind::None;  // Masquerade, Snat, Dnat or None
  NatRange range;
  std::string chain;
  size_t rule_number = 0;  // 1-based
};

struct ListFormat {
  bool numeric = false;
  bool verbose = false;
  bool exact = false;
  bool line_numbers = false;
};

class NatTable {
 public:
  NatTable();

  Chain* find(const std::string& name);
  const Chain* find(const std::string& name) const;
  // Built-ins in hook order, then user chains sorted by name (iptables-nft's listing order).
  std::vector<const Chain*> chains() const;
  std::vector<Chain*> chains();
  Chain& builtin(Hook hook);
  bool add_chain(const std::string& name);
  bool delete_chain(const std::string& name);
  bool rename_chain(const std::string& from, const std::string& to);
  size_t references(const std::string& name) const;

  // The hooks whose traversal can reach `chain` (itself for a built-in, through jumps otherwise).
  std::vector<Hook> hooks_reaching(const std::string& chain) const;
  // Whether `rule`, placed in `chain`, is valid for every hook reaching it: NAT targets in the
  // hooks they support, jumps to chains whose rules are valid there, no loops.  The kernel refuses
  // an invalid rule with EINVAL (loops: ELOOP).  Returns 0 or the errno.
  int validate(const std::string& chain, const Rule& rule) const;

  NatDecision evaluate(Hook hook, const PacketInfo& packet, HookTrace* trace);

  std::string list_chain(const Chain& chain, const ListFormat& format) const;
  std::string list_rule(const Rule& rule, size_t number, const ListFormat& format) const;
  std::string save_rule(const Chain& chain, const Rule& rule, bool counters) const;
  std::string save_policy(const Chain& chain, bool counters) const;

 private:
  int validate_in(const std::string& chain, const Rule& rule, const std::vector<Hook>& hooks,
                  int depth) const;
  std::vector<Chain> builtins_;
  std::map<std::string, Chain> user_;
};

bool iface_matches(const std::string& pattern, std::string_view name);
// "A.B.C.D" for /32, "A.B.C.D/len", or "A.B.C.D/M.A.S.K" for a non-contiguous mask.
std::string format_prefix(const net::Prefix& prefix, bool omit_host_len);

}  // namespace vnet::nf
