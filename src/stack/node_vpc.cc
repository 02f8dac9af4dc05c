// The vSwitch's packet path (seed 004; tables in vpc/vswitch.h).
//
// From a VM port (netif_receive hands the whole frame over, as to a bridge):
//   port security (source MAC and IP must be the VM's) -> ARP: answered by proxy with the
//   vSwitch's MAC, never forwarded -> IPv4 to the vSwitch's MAC only (broadcast, multicast and
//   unknown unicast stay on the host) -> vpc_forward.
// vpc_forward(vpc, packet): a local port for (vpc, dst) -> neigh_table -> the VM; else
//   route_table(vpc, dst) -> host: this host -> neigh_table, another -> GRE with key = vpc;
//   on a miss subnet_route(vpc, dst) -> peer vpc P, which must route the source back to vpc
//   (peering needs both sides), then P's port or route_table (never P's subnet_route: peering is
//   not transitive), and the key is P.
// From the underlay: keyed GRE (protocol 0x0800) delivered locally to the vSwitch's address,
//   after the host's INPUT hook: the key must be a known VPC, the inner source known to it
//   (route_table or subnet_route), then a local port and neigh_table; a VM that moved away within
//   the grace time is forwarded to its new host.
// The outer packet is the host's own: routed by its RPDB, through OUTPUT and POSTROUTING,
// fragmented or refused by the path MTU like any local packet.  The inner TTL is not changed
// (the VPC is one L2-looking network to its VMs).
#include <fmt/format.h>

#include <cstring>

#include "stack/node.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"

namespace vnet::stack {

namespace {

// As tunnel_output's dev_xmit_recursion limit: an outer packet that reached a vSwitch port or
// tunnel synchronously would come back here.
constexpr int kMaxXmitDepth = 4;
constexpr int kMinMtu = 68;

std::string flow_text(const wire::Ipv4ConstView& ip) {
  return fmt::format("{} -> {}", ip.source().to_string(), ip.destination().to_string());
}

}  // namespace

vpc::VSwitch& Node::vswitch() {
  if (!vswitch_) vswitch_ = std::make_unique<vpc::VSwitch>();
  return *vswitch_;
}

void Node::vpc_drop(vpc::VmPort* port, DropReason reason, const std::string& why) {
  if (port != nullptr) ++port->dropped;
  drop(reason, why, port != nullptr ? device(port->ifindex) : nullptr);
}

void Node::vpc_port_rcv(Device& dev, std::span<const std::byte> frame) {
  vpc::VmPort& port = *vswitch_->port(dev.ifindex);
  ++port.rx_packets;
  wire::EthernetConstView eth(frame);
  if (eth.source() != port.mac) {
    vpc_drop(&port, DropReason::VpcPortSecurity,
             fmt::format("{}: source MAC {} is not vm {}'s ({})", dev.name,
                         eth.source().to_string(), port.ip.to_string(), port.mac.to_string()));
    return;
  }
  MacAddr dst = eth.destination();
  switch (eth.payload_ethertype()) {
    case wire::EtherType::Arp:
      vpc_arp(dev, port, eth.payload());
      return;
    case wire::EtherType::Ipv4:
      break;
    default:
      vpc_drop(&port, DropReason::UnhandledProto,
               fmt::format("{}: EtherType {:#06x} from vm {}: the vSwitch carries IPv4", dev.name,
                           static_cast<unsigned>(eth.payload_ethertype()), port.ip.to_string()));
      return;
  }
  if (dst != vswitch_->mac()) {
    vpc_drop(&port, DropReason::VpcFlood,
             fmt::format("{}: {} frame to {} from vm {} stays on the host", dev.name,
                         dst == MacAddr::broadcast() ? "broadcast"
                         : dst.is_multicast()        ? "multicast"
                                                     : "unknown unicast",
                         dst.to_string(), port.ip.to_string()));
    return;
  }
  wire::Ipv4ConstView ip(eth.payload());
  if (auto err = ip.check()) {
    vpc_drop(&port, DropReason::IpInhdr,
             std::string("bad IPv4 header from vm: ") + wire::to_string(*err));
    return;
  }
  if (!ip.verify_checksum()) {
    vpc_drop(&port, DropReason::IpCsum, "bad IPv4 header checksum from vm");
    return;
  }
  if (ip.source() != port.ip) {
    vpc_drop(&port, DropReason::VpcPortSecurity,
             fmt::format("{}: source {} is not vm {}'s address", dev.name, ip.source().to_string(),
                         port.ip.to_string()));
    return;
  }
  if (ip.destination().is_multicast() || ip.destination().is_limited_broadcast()) {
    vpc_drop(&port, DropReason::VpcFlood,
             fmt::format("{}: {} to {} stays on the host", dev.name,
                         ip.destination().is_multicast() ? "multicast" : "broadcast",
                         ip.destination().to_string()));
    return;
  }
  std::vector<std::byte> packet(eth.payload().begin(), eth.payload().begin() + ip.total_len());
  trace(TraceStage::Vpc, [&] {
    return fmt::format("{}: vm {} of vpc {}: {} proto {}", dev.name, port.ip.to_string(), port.vpc,
                       flow_text(ip), static_cast<int>(ip.protocol()));
  });
  vpc_forward(port.vpc, std::move(packet), &port);
}

void Node::vpc_arp(Device& dev, vpc::VmPort& port, std::span<const std::byte> bytes) {
  auto parsed = wire::ArpRepr::parse(wire::ArpConstView(bytes));
  if (!parsed) {
    vpc_drop(&port, DropReason::ArpInvalid, dev.name + ": malformed ARP from vm");
    return;
  }
  const wire::ArpRepr& arp = *parsed;
  if (arp.sender_hardware_address != port.mac) {
    vpc_drop(&port, DropReason::VpcPortSecurity,
             fmt::format("{}: ARP sender MAC {} is not vm {}'s ({})", dev.name,
                         arp.sender_hardware_address.to_string(), port.ip.to_string(),
                         port.mac.to_string()));
    return;
  }
  Ipv4Addr sip = arp.sender_protocol_address;
  Ipv4Addr tip = arp.target_protocol_address;
  if (!sip.is_unspecified() && sip != port.ip) {
    vpc_drop(&port, DropReason::VpcPortSecurity,
             fmt::format("{}: ARP from vm {} claims {}", dev.name, port.ip.to_string(),
                         sip.to_string()));
    return;
  }
  bool unicast_target = !tip.is_unspecified() && !tip.is_limited_broadcast() &&
                        !tip.is_multicast() && (tip.value() >> 24) != 127;
  if (arp.operation != wire::ArpOperation::Request || sip.is_unspecified() || tip == sip ||
      !unicast_target) {
    // Replies, duplicate-address probes and gratuitous ARP stay here: answering a probe for the
    // VM's own address would tell it the address is taken.  Requests for multicast, broadcast
    // or loopback targets go unanswered, as arp_process() ignores them.
    ++vswitch_->stats().arp_consumed;
    trace(TraceStage::Vpc, [&] {
      const char* what = arp.operation != wire::ArpOperation::Request ? "reply"
                         : sip.is_unspecified()                       ? "probe"
                         : tip == sip                                 ? "gratuitous ARP"
                                                                      : "request";
      return fmt::format("{}: arp {} for {} from vm {} kept on the host (not answered)", dev.name,
                         what, tip.to_string(), port.ip.to_string());
    });
    return;
  }
  wire::ArpRepr reply;
  reply.operation = wire::ArpOperation::Reply;
  reply.sender_hardware_address = vswitch_->mac();
  reply.sender_protocol_address = tip;
  reply.target_hardware_address = port.mac;
  reply.target_protocol_address = sip;
  std::vector<std::byte> payload(reply.buffer_len());
  (void)reply.emit(payload);
  ++vswitch_->stats().arp_proxied;
  ++port.tx_packets;
  trace(TraceStage::Vpc, [&] {
    return fmt::format("{}: arp proxy: who-has {} tell {} -> {} is-at {} (vpc {})", dev.name,
                       tip.to_string(), sip.to_string(), tip.to_string(),
                       vswitch_->mac().to_string(), port.vpc);
  });
  transmit_frame(dev.ifindex, port.mac, static_cast<uint16_t>(wire::EtherType::Arp), payload,
                 vswitch_->mac());
}

void Node::vpc_forward(uint32_t vpc_id, std::vector<std::byte> packet, vpc::VmPort* from) {
  vpc::VSwitch& vs = *vswitch_;
  wire::Ipv4ConstView ip(packet);
  Ipv4Addr src = ip.source();
  Ipv4Addr dst = ip.destination();
  // One VPC's lookup: a local port, else route_table.  Returns false on a route_table miss.
  auto switch_in = [&](uint32_t vpc, uint32_t key) -> bool {
    if (vpc::VmPort* to = vs.local_port(vpc, dst)) {
      trace(TraceStage::Vpc, [&] {
        return fmt::format("port_table vpc {}: {} is on this host ({})", vpc, dst.to_string(),
                           to->name);
      });
      if (vpc_deliver(vpc, *to, packet)) ++vs.stats().local_switched;
      return true;
    }
    const Ipv4Addr* host = vs.route(vpc, dst);
    if (host == nullptr) return false;
    trace(TraceStage::Vpc, [&] {
      return fmt::format("route_table vpc {}: {} hit: host {}", vpc, dst.to_string(),
                         host->to_string());
    });
    if (*host == vs.local()) {
      vpc_drop(
          from, DropReason::VpcUnknownVm,
          fmt::format("route_table puts vm {} of vpc {} on this host, which has no port for it",
                      dst.to_string(), vpc));
      return true;
    }
    vpc_encap(key, *host, std::move(packet), from);
    return true;
  };
  if (switch_in(vpc_id, vpc_id)) return;
  trace(TraceStage::Vpc,
        [&] { return fmt::format("route_table vpc {}: {} miss", vpc_id, dst.to_string()); });
  const vpc::SubnetRoute* sr = vs.subnet_route(vpc_id, dst);
  if (sr == nullptr) {
    vpc_drop(from, DropReason::VpcNoRoute,
             fmt::format("vpc {}: no route_table entry and no subnet_route for {}", vpc_id,
                         dst.to_string()));
    return;
  }
  uint32_t peer = sr->peer;
  const vpc::SubnetRoute* back = vs.subnet_route(peer, src);
  if (back == nullptr || back->peer != vpc_id) {
    vpc_drop(from, DropReason::VpcPeering,
             fmt::format("subnet_route vpc {}: {} -> peer vpc {}, which has no subnet_route back "
                         "to {} in vpc {}: peering needs both sides",
                         vpc_id, sr->prefix.to_string(), peer, src.to_string(), vpc_id));
    return;
  }
  trace(TraceStage::Vpc, [&] {
    return fmt::format("subnet_route vpc {}: {} -> peer vpc {} (whose {} leads back)", vpc_id,
                       sr->prefix.to_string(), peer, back->prefix.to_string());
  });
  if (switch_in(peer, peer)) return;
  vpc_drop(from, DropReason::VpcNoRoute,
           fmt::format("peer vpc {}: route_table has no {} (peering is not transitive: its "
                       "subnet_routes are not used)",
                       peer, dst.to_string()));
}

bool Node::vpc_deliver(uint32_t vpc_id, vpc::VmPort& to, std::vector<std::byte>& packet) {
  wire::Ipv4ConstView ip(packet);
  const MacAddr* mac = vswitch_->neigh(vpc_id, ip.destination());
  if (mac == nullptr) {
    vpc_drop(&to, DropReason::VpcUnknownVm,
             fmt::format("neigh_table vpc {}: no {}", vpc_id, ip.destination().to_string()));
    return false;
  }
  trace(TraceStage::Vpc, [&] {
    return fmt::format("neigh_table vpc {}: {} is {}, port {}", vpc_id,
                       ip.destination().to_string(), mac->to_string(), to.name);
  });
  ++to.tx_packets;
  transmit_frame(to.ifindex, *mac, static_cast<uint16_t>(wire::EtherType::Ipv4), packet,
                 vswitch_->mac());
  return true;
}

void Node::vpc_frag_needed_to_vm(vpc::VmPort& vm, std::span<const std::byte> offending,
                                 uint32_t mtu) {
  // As __icmp_send(): never about a non-first fragment or an ICMP error.
  wire::Ipv4ConstView ip(offending);
  if (ip.fragment_offset_bytes() != 0) return;
  if (ip.protocol() == wire::IpProtocol::Icmp && !ip.payload().empty()) {
    auto t = static_cast<uint8_t>(ip.payload()[0]);
    if (t != 0 && t != 8 && t != 13 && t != 14 && t != 15 && t != 16 && t != 17 && t != 18) return;
  }
  size_t quote = std::min<size_t>(offending.size(), 576 - 20 - 8);
  wire::IcmpRepr icmp =
      wire::IcmpRepr::destination_unreachable(wire::UnreachableCode::FragmentationNeeded,
                                              offending.first(quote), static_cast<uint16_t>(mtu));
  std::vector<std::byte> out(20 + icmp.buffer_len());
  (void)icmp.emit(std::span(out).subspan(20));
  wire::Ipv4Repr h;
  // From the address the VM was talking to: the one a route back from the VM surely covers.
  h.source = ip.destination();
  h.destination = ip.source();
  h.protocol = wire::IpProtocol::Icmp;
  h.payload_len = static_cast<uint16_t>(icmp.buffer_len());
  h.ttl = 64;
  h.tos = 0xc0;
  h.identification = ip_ident_++;
  (void)h.emit(out);
  trace(TraceStage::Icmp, [&] {
    return fmt::format("vSwitch: icmp fragmentation-needed mtu {} to vm {}", mtu,
                       vm.ip.to_string());
  });
  ++vm.tx_packets;
  transmit_frame(vm.ifindex, vm.mac, static_cast<uint16_t>(wire::EtherType::Ipv4), out,
                 vswitch_->mac());
}

void Node::vpc_encap(uint32_t key, Ipv4Addr host, std::vector<std::byte> inner, vpc::VmPort* from) {
  vpc::VSwitch& vs = *vswitch_;
  wire::Ipv4ConstView in(inner);
  if (vs.local().is_unspecified()) {
    vpc_drop(from, DropReason::VpcEncap,
             "the vSwitch has no underlay address (vpc local ADDR) to encapsulate from");
    return;
  }
  RouteQuery q;
  q.trace = trace_ != nullptr;
  q.dst = host;
  q.src = vs.local();
  RouteAnswer route;
  int err = route_get(q, &route);
  for (const std::string& line : route.trace) trace(TraceStage::Route, [&] { return line; });
  if (err != 0) {
    vpc_drop(from, DropReason::VpcEncap,
             fmt::format("no underlay route to host {}: {}", host.to_string(), errno_text(err)));
    return;
  }
  // The path MTU less the outer headers; a DF packet larger gets fragmentation-needed.
  int mtu = static_cast<int>(route_mtu(route)) - vpc::VSwitch::kOverhead;
  if (in.dont_fragment() && static_cast<int>(inner.size()) > mtu) {
    trace(TraceStage::Encap, [&] {
      return fmt::format("vpc gre key {}: {} bytes with DF > path mtu {} ({} - {})", key,
                         inner.size(), mtu, mtu + vpc::VSwitch::kOverhead, vpc::VSwitch::kOverhead);
    });
    // (Traffic forwarded in a grace time has no port here to answer: a VM behind another
    // host gets no fragmentation-needed for it.)
    if (from != nullptr) {
      vpc_frag_needed_to_vm(*from, inner, static_cast<uint32_t>(std::max(mtu, kMinMtu)));
    }
    vpc_drop(from, DropReason::PktTooBig,
             fmt::format("vpc gre key {}: needs fragmentation, mtu {}", key, mtu));
    return;
  }
  if (20 + 8 + inner.size() > 65535) {
    vpc_drop(from, DropReason::VpcEncap, "encapsulated packet would exceed 65535 bytes");
    return;
  }
  std::vector<std::byte> outer(20 + 8 + inner.size());
  std::memcpy(outer.data() + 28, inner.data(), inner.size());
  wire::GreRepr gre;
  gre.protocol_type = 0x0800;
  gre.key = key;
  (void)gre.emit(std::span(outer).subspan(20));
  wire::Ipv4Repr h;
  h.source = vs.local();
  h.destination = host;
  h.protocol = wire::IpProtocol::Gre;
  h.payload_len = static_cast<uint16_t>(8 + inner.size());
  h.ttl = 64;
  // TOS from the inner packet, ECN encapsulated as RFC 6040's normal mode.
  uint8_t ecn = in.tos() & 3;
  h.tos = static_cast<uint8_t>((in.tos() & ~3) | (ecn == 3 ? 2 : ecn));
  h.identification = ip_ident_++;
  h.dont_fragment = in.dont_fragment();
  (void)h.emit(outer);
  trace(TraceStage::Encap, [&] {
    const Device* o = device(route.oif);
    return fmt::format("vpc gre key {}: outer {} -> {} proto 47, inner {}, via {}{}", key,
                       vs.local().to_string(), host.to_string(), flow_text(in), o ? o->name : "?",
                       route.gateway ? " gw " + route.gateway->to_string() : std::string());
  });
  if (xmit_depth_ >= kMaxXmitDepth) {
    vpc_drop(from, DropReason::TunnelDeadLoop, "vSwitch: encapsulations nested too deep");
    return;
  }
  ++vs.stats().encapsulated;
  ++xmit_depth_;
  (void)ip_local_out(std::move(outer), route);
  --xmit_depth_;
}

bool Node::vpc_gre_rcv(Device& in, std::span<const std::byte> packet) {
  vpc::VSwitch& vs = *vswitch_;
  wire::Ipv4ConstView outer(packet);
  if (!vs.active() || vs.local().is_unspecified() || outer.destination() != vs.local()) {
    return false;
  }
  wire::GreConstView gre(outer.payload());
  if (gre.check() || !gre.key_present() || gre.protocol_type() != 0x0800) {
    return false;  // not the vSwitch's encapsulation: the ordinary GRE path decides
  }
  // A sequence number is accepted and ignored (as OVS's flow-based GRE does); a checksum, when
  // present, must be right.
  uint32_t key = gre.key();
  if (!vs.known_vpc(key)) {
    // A keyed gre device of the host's own (`ip tunnel add ... key K local ADDR`) takes it.
    std::string how;
    if (module_loaded("ip_gre")) {
      const Device* t = ip_tunnel_lookup(LinkKind::Gre, in.ifindex, outer.source(),
                                         outer.destination(), key, &how);
      if (t != nullptr && t->tunnel && !t->tunnel->fallback) return false;
    }
    drop(DropReason::VpcUnknownKey,
         fmt::format("GRE key {} from {}: no such vpc here", key, outer.source().to_string()), &in);
    return true;
  }
  if (!gre.verify_checksum()) {
    drop(DropReason::TunnelCsum, fmt::format("vpc gre key {}: bad GRE checksum", key), &in);
    return true;
  }
  wire::Ipv4ConstView inner(gre.payload());
  if (auto err = inner.check()) {
    drop(DropReason::IpInhdr,
         std::string("vpc gre: bad inner IPv4 header: ") + wire::to_string(*err), &in);
    return true;
  }
  // ECN (RFC 6040's decapsulation, INET_ECN_decapsulate()): congestion marked on the underlay
  // is passed on to an ECN-capable inner packet; a Not-ECT inner packet so marked is dropped.
  bool outer_ce = (outer.tos() & 3) == 3;
  if (outer_ce && (inner.tos() & 3) == 0) {
    // (ip_tunnel_rcv() counts it as an rx_frame_error of the tunnel.)
    drop(DropReason::TunnelInvalidHdr,
         fmt::format("vpc gre key {}: congestion experienced on a Not-ECT packet", key), &in);
    return true;
  }
  ++vs.stats().decapsulated;
  trace(TraceStage::Decap, [&] {
    return fmt::format("vpc gre key {} from {}: inner {} proto {}", key, outer.source().to_string(),
                       flow_text(inner), static_cast<int>(inner.protocol()));
  });
  Ipv4Addr src = inner.source();
  Ipv4Addr dst = inner.destination();
  if (vs.route(key, src) == nullptr && vs.subnet_route(key, src) == nullptr) {
    drop(DropReason::VpcSrcDenied,
         fmt::format("vpc {} knows no {} (neither route_table nor subnet_route)", key,
                     src.to_string()),
         &in);
    return true;
  }
  std::vector<std::byte> pkt(gre.payload().begin(), gre.payload().begin() + inner.total_len());
  if (outer_ce && (inner.tos() & 3) != 3) {
    pkt[1] = static_cast<std::byte>(inner.tos() | 3);
    wire::Ipv4View(pkt).fill_checksum();
  }
  if (vpc::VmPort* to = vs.local_port(key, dst)) {
    (void)vpc_deliver(key, *to, pkt);
    return true;
  }
  const Ipv4Addr* host = vs.route(key, dst);
  std::optional<uint64_t> moved = vs.moved_until(key, dst);
  if (host != nullptr && *host != vs.local() && moved) {
    // Never back where it came from, and a stale forward is a hop (TTL), so two hosts whose
    // tables point at each other cannot bounce a packet for the whole grace time.
    if (*host == outer.source() || inner.ttl() <= 1) {
      drop(DropReason::VpcMigrated,
           *host == outer.source()
               ? fmt::format("vm {} of vpc {} moved to host {}, which sent this: not sent back",
                             dst.to_string(), key, host->to_string())
               : fmt::format("vm {} of vpc {} moved to host {}: TTL exhausted", dst.to_string(),
                             key, host->to_string()),
           &in);
      return true;
    }
    if (now_ns_ < *moved) {
      wire::Ipv4View(pkt).set_ttl(static_cast<uint8_t>(inner.ttl() - 1));
      ++vs.stats().stale_forwarded;
      trace(TraceStage::Vpc, [&] {
        return fmt::format(
            "route_table vpc {}: vm {} moved to host {}: forwarding stale traffic ({:.3f} s of "
            "grace left)",
            key, dst.to_string(), host->to_string(), static_cast<double>(*moved - now_ns_) / 1e9);
      });
      vpc_encap(key, *host, std::move(pkt), nullptr);
      return true;
    }
    drop(DropReason::VpcMigrated,
         fmt::format("vm {} of vpc {} moved to host {}; the grace time is over", dst.to_string(),
                     key, host->to_string()),
         &in);
    return true;
  }
  drop(DropReason::VpcUnknownVm,
       host != nullptr && *host != vs.local()
           ? fmt::format("vm {} of vpc {} is on host {}, not here", dst.to_string(), key,
                         host->to_string())
           : fmt::format("no port for vm {} of vpc {} on this host", dst.to_string(), key),
       &in);
  return true;
}

}  // namespace vnet::stack
