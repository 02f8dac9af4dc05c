// Netfilter for one node: connection tracking and the iptables nat table, driven through the four
// IPv4 hooks the node's packet path calls, plus the `iptables` and `conntrack` commands.
//
// Input: complete IPv4 datagrams at PREROUTING (after ip_rcv's checks), OUTPUT (after the output
// route), POSTROUTING and INPUT, with the current virtual time.  Output: a verdict, the datagram
// rewritten in place when NAT applies (addresses, ports, ICMP echo id, checksums; for ICMP errors
// related to a tracked flow also the quoted header), and decision lines for `vnet trace`.
// State: the conntrack table, the nat rules and their counters, the conntrack sysctls.
// Priorities follow the kernel: conntrack (-200) before nat DNAT (-100) at PREROUTING/OUTPUT,
// nat SNAT (100) before confirm (INT_MAX) at POSTROUTING/INPUT.
//
// Example: after `iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE`, a ping 10.0.0.2 ->
// 198.51.100.1 forwarded out of eth1 (address 203.0.113.1) leaves as 203.0.113.1 -> 198.51.100.1
// with the same echo id, and its reply is rewritten back to 10.0.0.2 at PREROUTING.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/ipv4_addr.h"
#include "nf/conntrack.h"
#include "nf/nat_rules.h"

namespace vnet::nf {

struct Iface {
  int ifindex = 0;
  std::string name;
};

// enum ip_conntrack_info, seen from the packet.
enum class CtInfo : uint8_t {
  Untracked,         // not looked up, a fragment, or not trackable
  Invalid,           // conntrack refused the packet (bad header/checksum, invalid TCP flags...)
  New,               // original direction, no reply seen yet
  Established,       // original direction after a reply
  EstablishedReply,  // reply direction
  Related,           // an ICMP error about a tracked flow, original direction
  RelatedReply,      // an ICMP error about a tracked flow, reply direction
};

// Conntrack state attached to one packet as it crosses the hooks (the kernel's skb->_nfct).
// Movable, not copyable.  A new connection's entry lives here (unconfirmed) until POSTROUTING or
// INPUT confirms it.
class PacketCt {
 public:
  PacketCt() = default;
  PacketCt(PacketCt&&) noexcept = default;
  PacketCt& operator=(PacketCt&&) noexcept = default;
  PacketCt(const PacketCt&) = delete;
  PacketCt& operator=(const PacketCt&) = delete;

  CtInfo info() const { return info_; }
  bool tracked() const { return conn_ != nullptr; }
  // The entry (nullptr when untracked); read-only for callers.
  const Conn* conn() const { return conn_.get(); }

 private:
  friend class Netfilter;
  std::shared_ptr<Conn> conn_;
  CtInfo info_ = CtInfo::Untracked;
  bool looked_up_ = false;
};

enum class Verdict { Accept, Drop };

// Human-readable decision lines for `vnet trace`.  Hooks take a pointer: nullptr builds no
// strings.
struct HookTrace {
  std::vector<std::string> lines;
};

// The net.netfilter.nf_conntrack_* sysctls, with the defaults of a fresh network namespace on
// Linux 6.18.  Timeouts are in seconds.  Keys marked "stored" are accepted and shown but do not
// change behaviour (see docs/NF.md).
struct Config {
  uint32_t max = 262144;  // nf_conntrack_max (0 = unlimited)
  uint32_t icmp_timeout_s = 30;
  uint32_t udp_timeout_s = 30;
  uint32_t udp_timeout_stream_s = 120;
  uint32_t generic_timeout_s = 600;
  uint32_t tcp_timeout_syn_sent_s = 120;
  uint32_t tcp_timeout_syn_recv_s = 60;
  uint32_t tcp_timeout_established_s = 432000;
  uint32_t tcp_timeout_fin_wait_s = 120;
  uint32_t tcp_timeout_close_wait_s = 60;
  uint32_t tcp_timeout_last_ack_s = 30;
  uint32_t tcp_timeout_time_wait_s = 120;
  uint32_t tcp_timeout_close_s = 10;
  uint32_t tcp_timeout_max_retrans_s = 300;     // stored
  uint32_t tcp_timeout_unacknowledged_s = 300;  // stored
  uint32_t tcp_loose = 1;                       // 0: a mid-stream ACK creates no entry
  uint32_t tcp_be_liberal = 0;                  // stored (no window tracking)
  uint32_t tcp_max_retrans = 3;                 // stored
  uint32_t tcp_ignore_invalid_rst = 0;          // stored
  uint32_t checksum = 1;                        // verify checksums at PREROUTING
  uint32_t acct = 0;                            // stored
  uint32_t timestamp = 0;                       // stored
  uint32_t events = 2;                          // stored
  uint32_t log_invalid = 0;                     // stored
  uint32_t expect_max = 4096;                   // stored
  uint32_t gre_timeout_s = 30;                  // stored (GRE is tracked as generic)
  uint32_t gre_timeout_stream_s = 180;          // stored
  uint32_t buckets = 262144;                    // read-only
  // Seed of the deterministic generator that replaces get_random_u16() in NAT port selection.
  uint64_t port_seed = 0x766e65742d6e6174ull;
};

// Returns the source address MASQUERADE must use: the node's inet_select_addr(out, nexthop,
// universe); nullopt -> the kernel logs "%s ate my IP address" and drops.
using MasqueradeSource =
    std::function<std::optional<net::Ipv4Addr>(int out_ifindex, net::Ipv4Addr nexthop)>;

class Netfilter {
 public:
  Netfilter();

  Config& config() { return config_; }
  const Config& config() const { return config_; }

  // PREROUTING: conntrack, then nat (DNAT for new flows, de-SNAT for replies).
  Verdict pre_routing(std::span<std::byte> packet, const Iface& in, uint64_t now_ns, PacketCt& ct,
                      HookTrace* trace);
  // OUTPUT (after the output route, so `out` is known): conntrack, then nat DNAT.  When the
  // destination changed, the caller reroutes.
  Verdict local_out(std::span<std::byte> packet, const Iface& out, uint64_t now_ns, PacketCt& ct,
                    HookTrace* trace);
  // POSTROUTING: nat SNAT/MASQUERADE for new flows (de-DNAT for replies), then confirm.
  Verdict post_routing(std::span<std::byte> packet, const Iface& out, net::Ipv4Addr nexthop,
                       const MasqueradeSource& masq, uint64_t now_ns, PacketCt& ct,
                       HookTrace* trace);
  // INPUT: nat INPUT (SNAT) for new flows, then confirm, for locally delivered packets.
  Verdict local_in(std::span<std::byte> packet, const Iface& in, uint64_t now_ns, PacketCt& ct,
                   HookTrace* trace);

  // Drops every entry masqueraded out of `ifindex` (NETDEV_DOWN, address removal).
  void device_down(int ifindex);
  void expire(uint64_t now_ns);
  // nf_conntrack_count: allocated entries, unconfirmed ones included.
  size_t count(uint64_t now_ns);
  const ConntrackStats& stats() const { return stats_; }
  ConntrackStats& stats() { return stats_; }

  ConntrackTable& table() { return table_; }
  const ConntrackTable& table() const { return table_; }
  NatTable& nat() { return nat_; }
  const NatTable& nat() const { return nat_; }

  // Sysctl glue for net.netfilter.nf_conntrack_*: keys in `sysctl -a` order; get returns the
  // value text; set returns 0, -ENOENT (no such key), -EINVAL (bad value or read-only key, as the
  // kernel answers for nf_conntrack_count).
  std::vector<std::string> sysctl_keys() const;
  std::optional<std::string> sysctl_get(const std::string& key) const;
  int sysctl_set(const std::string& key, const std::string& value);

 private:
  Verdict conntrack_in(std::span<std::byte> packet, Hook hook, uint64_t now_ns, PacketCt& ct,
                       HookTrace* trace);
  Verdict nat_hook(std::span<std::byte> packet, Hook hook, const Iface* in, const Iface* out,
                   net::Ipv4Addr nexthop, const MasqueradeSource* masq, uint64_t now_ns,
                   PacketCt& ct, HookTrace* trace);
  Verdict confirm(PacketCt& ct, uint64_t now_ns, HookTrace* trace);
  void setup_nat(Conn& conn, const NatRange& range, Manip manip, uint64_t now_ns);
  Tuple unique_tuple(const Conn& conn, const Tuple& original, const NatRange& range, Manip manip,
                     uint64_t now_ns);
  bool used(const Tuple& tuple, const Conn& conn, uint64_t now_ns);
  uint16_t random16();
  uint64_t timeout_ns(uint32_t seconds) const { return uint64_t{seconds} * 1'000'000'000ull; }

  Config config_;
  ConntrackTable table_;
  NatTable nat_;
  ConntrackStats stats_;
  uint64_t rng_state_ = 0;
  bool rng_seeded_ = false;
};

struct CmdResult {
  std::string out;
  std::string err;
  int status = 0;
};

// `iptables` (1.8.9, nf_tables variant) restricted to the nat table.  argv[0] == "iptables".
CmdResult run_iptables(Netfilter& nf, const std::vector<std::string>& argv, uint64_t now_ns);
// `conntrack` (conntrack-tools 1.4.7).  argv[0] == "conntrack".
CmdResult run_conntrack(Netfilter& nf, const std::vector<std::string>& argv, uint64_t now_ns);

}  // namespace vnet::nf
