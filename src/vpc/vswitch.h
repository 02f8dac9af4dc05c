// VSwitch: the state of a VPC host's virtual switch (seed 004): its underlay address, the
// per-VPC tables, the VM ports, and the lookups the packet path makes (stack/node_vpc.cc).
//
//   route_table   (vpc, VM IP) -> host IP     where a VM lives; this host's address: here
//   neigh_table   (vpc, VM IP) -> VM MAC      the destination MAC of frames given to a VM
//   subnet_route  vpc: prefix -> peer vpc     peering: looked up when route_table misses
//   ports         ifindex -> (vpc, VM IP, VM MAC), and (vpc, VM IP) -> ifindex
//
// VPC 0 is the shared network; every other id is its own address space, so two VPCs may hold
// the same addresses.  A VPC exists once declared (`vpc add`) or once anything refers to it.
// Configuration calls validate first and change nothing on error; the message is what the
// command prints after "Error: ".
//
// Migration: changing a route whose host was this host's address to another host leaves a
// grace time (default 2 s): traffic still arriving here for the VM is sent on to its new host,
// afterwards it is dropped (VPC_MIGRATED).
//
// Example:
//   VSwitch vs; vs.set_local(ip("10.10.1.9"));
//   vs.route_add(6289, ip("172.16.0.47"), ip("10.10.1.10"), VSwitch::Mode::Add, 0);
//   vs.route(6289, ip("172.16.0.47"))->host -> 10.10.1.10
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/ipv4_addr.h"
#include "vpc/vpc_map.h"

namespace vnet::vpc {

using net::Ipv4Addr;
using net::MacAddr;
using net::Prefix;

struct Status {
  int err = 0;  // 0 or a negative errno
  std::string message;
  bool ok() const { return err == 0; }
};

struct VmPort {
  int ifindex = 0;
  std::string name;
  uint32_t vpc = 0;
  Ipv4Addr ip;
  MacAddr mac;
  uint64_t rx_packets = 0, tx_packets = 0, dropped = 0;
};

struct SubnetRoute {
  Prefix prefix;
  uint32_t peer = 0;
};

struct Vpc {
  uint32_t id = 0;
  bool declared = false;        // `vpc add`, rather than made by a table entry
  std::vector<Prefix> subnets;  // its own address space, as declared
  // Longest prefix first, then by address: the first covering entry is the longest match.
  std::vector<SubnetRoute> subnet_routes;
};

struct VSwitchStats {
  uint64_t arp_proxied = 0;     // requests answered with the vSwitch's MAC
  uint64_t arp_consumed = 0;    // gratuitous ARP, probes, replies: kept, not answered
  uint64_t local_switched = 0;  // VM to VM on this host
  uint64_t encapsulated = 0;
  uint64_t decapsulated = 0;
  uint64_t stale_forwarded = 0;  // arrived for a VM that moved away, sent to its new host
};

class VSwitch {
 public:
  // One MAC for every VM's every neighbour, the same on every host, so a migrated VM's ARP
  // cache stays right.
  static constexpr MacAddr default_mac() { return MacAddr(0xee, 0xff, 0xff, 0xff, 0xff, 0xff); }
  static constexpr uint64_t kDefaultGraceNs = 2'000'000'000;
  static constexpr int kOverhead = 28;  // outer IPv4 (20) + GRE with a key (8)

  enum class Mode { Add, Change, Replace };

  // ---- settings ----
  Ipv4Addr local() const { return local_; }
  Status set_local(Ipv4Addr addr);
  MacAddr mac() const { return mac_; }
  Status set_mac(MacAddr mac);
  uint64_t grace_ns() const { return grace_ns_; }
  void set_grace_ns(uint64_t ns) { grace_ns_ = ns; }
  // Configured at all (an address, a VPC or a port): the packet path looks at GRE only then.
  bool active() const { return !local_.is_unspecified() || !vpcs_.empty() || !ports_.empty(); }

  // ---- configuration ----
  Status vpc_add(uint32_t id, const std::vector<Prefix>& subnets);
  Status vpc_del(uint32_t id);
  // Declares the VPC, or changes a declared VPC's subnets (the control plane's put of its
  // config); vpc_undeclare: its config went away, its tables stay.
  Status vpc_set(uint32_t id, const std::vector<Prefix>& subnets);
  void vpc_undeclare(uint32_t id);
  // A change that moves a VM away from this host (its route said `local`) starts its grace time.
  Status route_add(uint32_t vpc, Ipv4Addr ip, Ipv4Addr host, Mode mode, uint64_t now_ns);
  // host: only when it matches.
  Status route_del(uint32_t vpc, Ipv4Addr ip, std::optional<Ipv4Addr> host);
  Status neigh_add(uint32_t vpc, Ipv4Addr ip, MacAddr mac, Mode mode);
  Status neigh_del(uint32_t vpc, Ipv4Addr ip);
  Status subnet_route_add(uint32_t vpc, Prefix prefix, uint32_t peer);
  Status subnet_route_del(uint32_t vpc, Prefix prefix);
  // mac: the VM's; unset: its neigh_table entry (which a given one must match, if present).
  Status port_add(int ifindex, const std::string& name, uint32_t vpc, Ipv4Addr ip,
                  std::optional<MacAddr> mac);
  Status port_del(int ifindex);
  // The port's device went away, or was renamed.
  void forget_port(int ifindex);
  void rename_port(int ifindex, const std::string& name) {
    if (VmPort* p = port(ifindex)) p->name = name;
  }

  // ---- lookups (the packet path) ----
  const VmPort* port(int ifindex) const {
    return ifindex >= 0 && static_cast<size_t>(ifindex) < port_index_.size() &&
                   port_index_[static_cast<size_t>(ifindex)] != nullptr
               ? port_index_[static_cast<size_t>(ifindex)]
               : nullptr;
  }
  VmPort* port(int ifindex) { return const_cast<VmPort*>(std::as_const(*this).port(ifindex)); }
  // The VM's host in route_table, or nullptr.
  const Ipv4Addr* route(uint32_t vpc, Ipv4Addr ip) const { return routes_.find({vpc, ip.value()}); }
  // For a VM whose route moved it away from this host: when its grace time ends (forwarding
  // stale traffic to the new host until then).  nullopt if it never lived here, or came back.
  std::optional<uint64_t> moved_until(uint32_t vpc, Ipv4Addr ip) const {
    auto it = moved_.find({vpc, ip.value()});
    return it == moved_.end() ? std::nullopt : std::optional(it->second);
  }
  const MacAddr* neigh(uint32_t vpc, Ipv4Addr ip) const { return neighs_.find({vpc, ip.value()}); }
  VmPort* local_port(uint32_t vpc, Ipv4Addr ip) {
    const int* ix = port_by_vm_.find({vpc, ip.value()});
    return ix == nullptr ? nullptr : port(*ix);
  }
  // The longest subnet_route of vpc covering addr, or nullptr.
  const SubnetRoute* subnet_route(uint32_t vpc, Ipv4Addr addr) const;
  bool known_vpc(uint32_t vpc) const { return vpcs_.count(vpc) != 0; }

  // ---- views ----
  const std::map<uint32_t, Vpc>& vpcs() const { return vpcs_; }
  const std::map<int, VmPort>& ports() const { return ports_; }
  const VpcMap<Ipv4Addr>& routes() const { return routes_; }
  const VpcMap<MacAddr>& neighs() const { return neighs_; }
  VSwitchStats& stats() { return stats_; }
  const VSwitchStats& stats() const { return stats_; }
  // Bytes held by the two mapping tables and the port index, for `vpc show -s` and benchmarks.
  size_t table_bytes() const {
    return routes_.memory_bytes() + neighs_.memory_bytes() + port_by_vm_.memory_bytes();
  }

 private:
  Vpc& vpc_ref(uint32_t id);
  void reindex_ports();

  Ipv4Addr local_;
  MacAddr mac_ = default_mac();
  uint64_t grace_ns_ = kDefaultGraceNs;
  std::map<uint32_t, Vpc> vpcs_;
  VpcMap<Ipv4Addr> routes_;
  // Moved-away VMs only (few): the grace time's end.  Kept out of routes_ so that a route_table
  // slot is 16 bytes.
  std::map<VpcIp, uint64_t> moved_;
  VpcMap<MacAddr> neighs_;
  std::map<int, VmPort> ports_;
  VpcMap<int> port_by_vm_;
  std::vector<VmPort*> port_index_;  // by ifindex
  VSwitchStats stats_;
};

}  // namespace vnet::vpc
