// Why the packet path dropped a packet.  Names follow the kernel's SKB_DROP_REASON_* (what
// `perf trace -e skb:kfree_skb` and dropwatch show), so a drop in vnet reads like one on Linux.
//
// Example: a request that fails strict reverse-path filtering is counted under
// DropReason::IpRpfilter, printed "IP_RPFILTER".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vnet::stack {

enum class DropReason : uint8_t {
  DevReady,             // interface down
  OtherHost,            // frame for another MAC (PACKET_OTHERHOST)
  PktTooSmall,          // truncated frame
  UnhandledProto,       // EtherType or VLAN we do not handle
  ArpInvalid,           // malformed or ignored ARP
  IpInhdr,              // bad IPv4 header
  IpCsum,               // bad IPv4 header checksum
  IpInvalidSource,      // martian source
  IpInvalidDest,        // martian destination
  IpRpfilter,           // reverse path filter
  IpInaddrErrors,       // no route, forwarding disabled on the input device
  IpInnoroutes,         // no route
  IpOutnoroutes,        // no route for a locally generated packet
  Blackhole,            // blackhole route or rule
  Unreachable,          // unreachable/prohibit answered with ICMP
  TtlExpired,           // forwarding with TTL <= 1
  PktTooBig,            // DF set and larger than the path MTU
  FragFailed,           // cannot fragment
  FragReasmTimeout,     // reassembly timed out
  NeighFailed,          // address resolution failed
  NeighQueueFull,       // too many packets waiting for resolution
  NeighCreateFail,      // the neighbour table is full (gc_thresh3): no entry for the next hop
  NoSocket,             // nobody listens (port unreachable sent)
  IcmpCsum,             // bad ICMP checksum
  IcmpEchoIgnored,      // icmp_echo_ignore_all / broadcasts
  UdpCsum,              // bad UDP length or checksum
  IpNoproto,            // unknown IP protocol (protocol unreachable sent)
  NotForwarded,         // a unicast packet in a broadcast/multicast frame
  TunnelNoMatch,        // IPIP/GRE for no tunnel and no fallback device (port unreachable sent)
  TunnelKeyMismatch,    // GRE whose key matches no tunnel between these endpoints
  TunnelCsum,           // GRE checksum missing, unexpected or wrong (rx_crc_errors)
  TunnelSeq,            // GRE sequence number missing or out of order (rx_fifo_errors)
  TunnelInvalidHdr,     // malformed GRE header or unsupported GRE payload
  TunnelNoRoute,        // no route to the tunnel's remote (tx_carrier_errors, "NoRoute")
  TunnelDeadLoop,       // the route to the remote goes through the tunnel itself ("DeadLoop")
  VxlanInvalidHdr,      // malformed VXLAN header
  VxlanVniNotFound,     // VXLAN for a VNI no device has
  VxlanNoRemote,        // no FDB entry and no default remote for the destination MAC
  NetfilterDrop,        // dropped by netfilter (conntrack table full, MASQUERADE without address)
  TcpCsum,              // bad TCP header or checksum
  TcpListenOverflow,    // a listener's accept or SYN queue is full
  TcpInvalidSequence,   // outside the receive window, or an unacceptable ACK
  TcpFlags,             // flags the state does not accept (SYN to an established socket...)
  TcpOldData,           // data already received
  TcpClose,             // data after the peer's FIN
  IpvsNoDest,           // a virtual service with no usable real server (port unreachable sent)
  IpvsDestUnavailable,  // a connection whose real server was removed (expire_nodest_conn=0)
  IpvsXmit,             // IPVS could not route or rewrite the packet for its real server
  IpvsDrop,             // other IPVS drops (truncated headers, relayed tunnel errors)
  VpcPortSecurity,      // a VM sent with a source MAC or IP that is not its own
  VpcFlood,             // broadcast, multicast or unknown unicast from a VM (never leaves the host)
  VpcNoRoute,           // no route_table entry and no subnet_route for the destination
  VpcPeering,           // a subnet_route whose peer VPC has none back (peering needs both sides)
  VpcUnknownKey,        // GRE whose key is no VPC this vSwitch knows
  VpcUnknownVm,         // decapsulated for a VM this host does not have (no port, no neighbour)
  VpcMigrated,          // for a VM that moved away, after the grace time
  VpcSrcDenied,         // decapsulated from a source the VPC has no route_table or subnet_route for
  VpcEncap,             // no underlay route to the destination host, or too big to encapsulate
  OffloadInvalid,       // a GSO or partial-checksum frame whose offload header its bytes contradict
  kCount,
};

const char* drop_reason_name(DropReason reason);

struct DropCounters {
  std::array<uint64_t, static_cast<std::size_t>(DropReason::kCount)> count{};
  void add(DropReason r) { ++count[static_cast<std::size_t>(r)]; }
  uint64_t get(DropReason r) const { return count[static_cast<std::size_t>(r)]; }
  uint64_t total() const {
    uint64_t t = 0;
    for (uint64_t c : count) t += c;
    return t;
  }
};

}  // namespace vnet::stack
