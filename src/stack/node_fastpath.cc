// The fast path: plainly forwarded IPv4 packets, a burst at a time.
//
// receive_burst() takes up to kMaxBurst frames that arrived together on one interface and runs
// them through three stages, each over the whole run before the next starts:
//   1. parse: the Ethernet and IPv4 checks of netif_receive() and ip_rcv_core(), and the route
//      query built from the header;
//   2. route: route_get() for each packet (the route cache answers almost all of them);
//   3. forward: the checks of ip_forward(), ip_output() and neigh_output(), then the outgoing
//      frame is written into a burst arena (the TTL decrement adjusts the checksum
//      incrementally) and the counters are bumped.  The arena's frames go out with one
//      NodeIo::transmit_burst() per interface per burst.
// Nothing is allocated per packet.
//
// Anything the fast path does not take goes to the per-packet path, at the point it reached and
// in the order the frames arrived, and the per-packet path's own queue is drained before the
// next frame, so receive_burst() behaves as receive() frame by frame (except that frames a
// NodeIo hands back to the node from inside transmit_burst() are received after the burst):
//   - a frame that fails a stage-1 check (not IPv4 to this host's MAC, a bad header, ...) goes
//     to netif_receive(), which counts and drops it or takes it elsewhere (ARP, ...);
//   - a routed packet that is not a plain forward (local delivery, an unreachable route, TTL 1,
//     too big, a tunnel or veth device, a neighbour not yet resolved, ...) goes to
//     ip_rcv_routed() with the route already looked up.
// Besides plain forwards, the fast path encapsulates into IPIP, GRE (key, no checksum or
// sequence) and VXLAN (one remote for the inner MAC) when the outer packet leaves at once by an
// Ethernet underlay.  With netfilter (conntrack and the nat table) it runs PREROUTING before
// routing and POSTROUTING after the TTL decrement on a copy of each packet, with the packet's
// conntrack entry handed over to the per-packet path when that takes the packet; a run is then
// one packet, so the hooks see the packets in their order; tunnels take the per-packet path.
// The fast path runs only when the node has no active IPVS and no trace sink; a run is parsed
// and routed under one configuration generation, and if a packet handed to the per-packet path
// changes the configuration, the rest of the run takes the per-packet path.
//
// Offloaded frames (vnetd's GSO super-frames and partial checksums, receive_burst() with
// offloads) are taken one at a time between the runs of complete frames: a plain forward keeps
// the frame whole and hands its header on with it; anything else cuts it first.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "stack/node.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/ipv4.h"
#include "wire/offload.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vxlan.h"

namespace vnet::stack {

namespace {

constexpr size_t kFastTxArenaBytes = size_t{256} * 1024;
constexpr size_t kEthHeaderLen = 14;
constexpr size_t kMinFrameLen = 60;  // without the FCS

}  // namespace

bool Node::fast_path_ready() const {
  return fast_path_on_ && route_cache_on_ && trace_ == nullptr && !(ipvs_ && ipvs_->active());
}

void Node::receive(int ifindex, std::span<const std::byte> frame, uint64_t now_ns) {
  receive_burst(ifindex, std::span(&frame, 1), now_ns);
}

void Node::receive_burst(int ifindex, std::span<const std::span<const std::byte>> frames,
                         uint64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  if (processing_ || !fast_path_ready()) {
    // Inside another receive (a frame looped back from transmit), or the fast path is off.
    for (std::span<const std::byte> f : frames) {
      pending_rx_.emplace_back(ifindex, std::vector<std::byte>(f.begin(), f.end()));
    }
    process_pending();
    return;
  }
  processing_ = true;
  for (size_t i = 0; i < frames.size(); i += kMaxBurst) {
    fast_receive(ifindex, frames.subspan(i, std::min(kMaxBurst, frames.size() - i)));
  }
  processing_ = false;
  process_pending();
}

void Node::receive_burst(int ifindex, std::span<const std::span<const std::byte>> frames,
                         uint64_t now_ns, std::span<const wire::VirtioNetHdr> offloads) {
  if (offloads.size() != frames.size()) {
    receive_burst(ifindex, frames, now_ns);
    return;
  }
  size_t i = 0;
  while (i < frames.size()) {
    // A run of complete frames, then one offloaded frame.
    size_t j = i;
    while (j < frames.size() && offloads[j].gso_type == wire::VirtioNetHdr::kGsoNone &&
           offloads[j].flags == 0) {
      ++j;
    }
    if (j > i) receive_burst(ifindex, frames.subspan(i, j - i), now_ns);
    if (j == frames.size()) break;
    receive_offloaded(ifindex, frames[j], offloads[j], now_ns);
    i = j + 1;
  }
}

void Node::receive_offloaded(int ifindex, std::span<const std::byte> frame,
                             const wire::VirtioNetHdr& offload, uint64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  if (!processing_ && fast_path_ready()) {
    processing_ = true;
    bool whole = fast_forward_offloaded(ifindex, frame, offload);
    fast_tx_flush();
    processing_ = false;
    if (whole) {
      process_pending();
      return;
    }
  }
  // Cut and complete it, then take the segments as if they had arrived.  The scratch vector is
  // moved out while in use: a frame received from inside receive_burst() may come back here.
  std::vector<std::vector<std::byte>> segments = std::move(offload_segments_);
  segments.clear();
  std::string error;
  if (!wire::resolve_offloads(frame, offload, &segments, &error)) {
    drop(DropReason::OffloadInvalid, error, device(ifindex));
  } else {
    ++offload_stats_.cut;
    offload_stats_.segments += segments.size();
    std::vector<std::span<const std::byte>> spans(segments.begin(), segments.end());
    receive_burst(ifindex, spans, now_ns);
  }
  offload_segments_ = std::move(segments);
}

void Node::fast_init() {
  if (fast_packets_.empty()) {
    fast_packets_.resize(kMaxBurst);
    fast_tx_arena_.resize(kFastTxArenaBytes);
    fast_tx_frames_.reserve(kMaxBurst);
    fast_tx_offloads_.reserve(kMaxBurst);
  }
}

void Node::fast_receive(int ifindex, std::span<const std::span<const std::byte>> frames) {
  fast_init();
  size_t i = 0;
  while (i < frames.size()) {
    Device* in = device(ifindex);
    bool take = fast_path_ready() && in != nullptr && in->up() && in->kind == LinkKind::Ether &&
                !(vswitch_ && vswitch_->port(ifindex) != nullptr);
    if (!take) {
      for (; i < frames.size(); ++i) fast_fallback_frame(ifindex, frames[i]);
      return;
    }
    const uint64_t generation = config_gen_;
    // Stage 1: parse a run of frames, up to the first the fast path cannot take.  With
    // netfilter a run is one packet: conntrack must see the packets' hooks in their order (a
    // flow's first packet confirms its entry at POSTROUTING before the second one's PREROUTING).
    const size_t max_run = nf_ ? 1 : frames.size() - i;
    size_t run = 0;
    while (run < max_run && fast_parse(*in, frames[i + run], fast_packets_[run])) ++run;
    // Stage 2: route the run (with netfilter, after PREROUTING).
    for (size_t k = 0; k < run; ++k) {
      FastPacket& p = fast_packets_[k];
      if (nf_) {
        fast_pre_routing(*in, p);
        if (p.done) continue;
      }
      p.err = route_get(p.query, &p.route);
    }
    // Stage 3: forward.
    if (run > 0) ++fast_stats_.bursts;
    for (size_t k = 0; k < run; ++k) {
      if (config_gen_ != generation) {
        // A packet handed to the per-packet path changed the configuration: what stages 1 and
        // 2 found may no longer hold.
        fast_tx_flush();
        fast_fallback_frame(ifindex, frames[i + k]);
        continue;
      }
      if (fast_packets_[k].done) continue;
      fast_forward(*in, fast_packets_[k]);
    }
    fast_tx_flush();
    i += run;
    // The run ended at a frame the parse stage refused (not at the netfilter cap of one).
    if (run < max_run) fast_fallback_frame(ifindex, frames[i++]);
  }
}

bool Node::fast_parse(const Device& in, std::span<const std::byte> frame, FastPacket& p) const {
  wire::EthernetConstView eth(frame);
  if (eth.check() || eth.has_vlan_tag()) return false;
  MacAddr dst = eth.destination();
  // PACKET_HOST only (netif_receive's classification: broadcast, then multicast, then ours).
  if (dst != in.mac || dst == MacAddr::broadcast() || dst.is_multicast()) return false;
  if (eth.payload_ethertype() != wire::EtherType::Ipv4) return false;
  std::span<const std::byte> payload = eth.payload();
  wire::Ipv4ConstView ip(payload);
  if (ip.check() || !ip.verify_checksum()) return false;
  // With conntrack, fragments are reassembled before PREROUTING.
  if (nf_ && (ip.more_fragments() || ip.fragment_offset_bytes() != 0)) return false;
  p.frame = frame;
  p.done = false;
  p.ip = payload.first(ip.total_len());
  p.query = RouteQuery{};
  p.query.dst = ip.destination();
  p.query.src = ip.source();
  p.query.iif = in.ifindex;
  p.query.tos = ip.tos();
  return true;
}

namespace {

bool transmits_now(const Neighbour* n) {
  // neigh_output(): an entry that transmits at once, without a state change.
  return n != nullptr && n->lladdr &&
         (n->state == NeighState::Reachable || n->state == NeighState::Permanent ||
          n->state == NeighState::Noarp || n->state == NeighState::Delay ||
          n->state == NeighState::Probe);
}

// What netif_receive() counts of a frame before ip_rcv().
void count_rx(Device& in, size_t frame_bytes) {
  ++in.rx_packets;
  in.rx_bytes += frame_bytes;
}

}  // namespace

void Node::fast_pre_routing(Device& in, FastPacket& p) {
  // ip_rcv() with conntrack: PREROUTING sees (and NAT rewrites) the packet before routing.
  fast_nf_packet_.assign(p.ip.begin(), p.ip.end());
  std::span<std::byte> packet(fast_nf_packet_);
  p.ct = nf::PacketCt{};
  nf::HookTrace lines;
  nf::Verdict v = nf_->pre_routing(packet, nf::Iface{in.ifindex, in.name}, now_ns_, p.ct, nullptr);
  if (v != nf::Verdict::Accept) {
    count_rx(in, p.frame.size());
    (void)nf_verdict(v, lines, "PREROUTING", &in);
    p.done = true;
    return;
  }
  p.ip = packet;
  wire::Ipv4ConstView ip(packet);
  p.query.dst = ip.destination();
  p.query.src = ip.source();
}

void Node::fast_forward(Device& in, FastPacket& p) {
  const RouteAnswer& route = p.route;
  if (p.err != 0 || route.local || route.broadcast || route.multicast) {
    fast_fallback_routed(in, p);
    return;
  }
  wire::Ipv4ConstView ip(p.ip);
  Device* out = device(route.oif);
  // ip_forward(): TTL and the MTU; ip_output() with nothing to fragment; ip_finish_output() for
  // a unicast destination.
  if (ip.ttl() <= 1 || out == nullptr || p.ip.size() > route_mtu(route) ||
      ip.destination().is_limited_broadcast() || ip.destination().is_multicast()) {
    fast_fallback_routed(in, p);
    return;
  }
  if (nf_ && (out->is_ip_tunnel() || out->kind == LinkKind::Vxlan)) {
    // The inner packet's POSTROUTING, then the outer packet's own hooks: the per-packet path.
    fast_fallback_routed(in, p);
    return;
  }
  if (out->is_ip_tunnel()) {
    if (!fast_tunnel(in, p, *out)) fast_fallback_routed(in, p);
    return;
  }
  if (out->kind == LinkKind::Vxlan) {
    if (!fast_vxlan(in, p, *out)) fast_fallback_routed(in, p);
    return;
  }
  if (out->kind != LinkKind::Ether || !out->carrier_ok() || (out->flags & iff::kNoArp) != 0) {
    fast_fallback_routed(in, p);
    return;
  }
  Neighbour* n = neigh_lookup(out->ifindex, route.gateway.value_or(ip.destination()));
  if (!transmits_now(n)) {
    fast_fallback_routed(in, p);
    return;
  }
  count_rx(in, p.frame.size());
  if (nf_) {
    // ip_forward() decrements the TTL (RFC 1624's incremental update, as ip_decrease_ttl()
    // does); POSTROUTING (SNAT, MASQUERADE, the de-DNAT of replies, confirmation) sees the
    // packet after that, and the neighbour is used after it.
    std::span<std::byte> packet(fast_nf_packet_.data(), p.ip.size());
    wire::Ipv4View(packet).set_ttl(static_cast<uint8_t>(ip.ttl() - 1));
    const Ipv4Addr nexthop = route.gateway.value_or(ip.destination());
    nf::HookTrace lines;
    nf::Verdict v = nf_->post_routing(packet, nf::Iface{out->ifindex, out->name}, nexthop,
                                      masquerade_source_, now_ns_, p.ct, nullptr);
    if (!nf_verdict(v, lines, "POSTROUTING", nullptr)) return;
    (void)fast_frame(*out, *n->lladdr, 0, packet);
    ++fast_stats_.fast;
    return;
  }
  std::byte* f = fast_frame(*out, *n->lladdr, 0, p.ip);
  // RFC 1624's incremental update, as ip_decrease_ttl() does.
  wire::Ipv4View(std::span(f + kEthHeaderLen, p.ip.size()))
      .set_ttl(static_cast<uint8_t>(ip.ttl() - 1));
  ++fast_stats_.fast;
}

bool Node::fast_forward_offloaded(int ifindex, std::span<const std::byte> frame,
                                  const wire::VirtioNetHdr& offload) {
  // Conntrack's window tracking and NAT's checksum updates see segments: cut.
  if (nf_) return false;
  fast_init();
  Device* in = device(ifindex);
  if (in == nullptr || !in->up() || in->kind != LinkKind::Ether ||
      (vswitch_ && vswitch_->port(ifindex) != nullptr)) {
    return false;
  }
  FastPacket& p = fast_packets_[0];
  if (!fast_parse(*in, frame, p)) return false;
  wire::Ipv4ConstView ip(p.ip);
  if (ip.more_fragments() || ip.fragment_offset_bytes() != 0) return false;
  // The header must describe this packet: the transport header right after the IPv4 header,
  // its checksum field where the protocol keeps it, a GSO type for that protocol.
  using Hdr = wire::VirtioNetHdr;
  const uint8_t type = offload.gso_type & static_cast<uint8_t>(~Hdr::kGsoEcn);
  const size_t l4 = kEthHeaderLen + ip.header_len_bytes();
  size_t l4_header_len = 0;
  uint16_t csum_offset = 0;
  if (ip.protocol() == wire::IpProtocol::Tcp) {
    wire::TcpConstView tcp(ip.payload());
    if (tcp.check() || (type != Hdr::kGsoNone && type != Hdr::kGsoTcpv4)) return false;
    l4_header_len = tcp.header_len_bytes();
    csum_offset = 16;
  } else if (ip.protocol() == wire::IpProtocol::Udp) {
    wire::UdpConstView udp(ip.payload());
    if (udp.check() || (type != Hdr::kGsoNone && type != Hdr::kGsoUdpL4)) return false;
    l4_header_len = 8;
    csum_offset = 6;
  } else {
    return false;
  }
  if ((offload.flags & Hdr::kNeedsCsum) == 0 || offload.csum_start != l4 ||
      offload.csum_offset != csum_offset || (type != Hdr::kGsoNone && offload.gso_size == 0)) {
    return false;
  }
  p.err = route_get(p.query, &p.route);
  const RouteAnswer& route = p.route;
  if (p.err != 0 || route.local || route.broadcast || route.multicast) return false;
  Device* out = device(route.oif);
  if (ip.ttl() <= 1 || out == nullptr || out->kind != LinkKind::Ether || !out->carrier_ok() ||
      (out->flags & iff::kNoArp) != 0 || ip.destination().is_limited_broadcast() ||
      ip.destination().is_multicast()) {
    return false;
  }
  // ip_forward()'s ip_exceeds_mtu() and ip_finish_output_gso(): a GSO packet passes whole when
  // each of its segments fits (skb_gso_validate_network_len()); else it is segmented first.
  const size_t mtu = route_mtu(route);
  const size_t segment_len = type == Hdr::kGsoNone
                                 ? p.ip.size()
                                 : ip.header_len_bytes() + l4_header_len + offload.gso_size;
  if (segment_len > mtu) return false;
  Neighbour* n = neigh_lookup(out->ifindex, route.gateway.value_or(ip.destination()));
  if (!transmits_now(n)) return false;

  count_rx(*in, frame.size());
  std::byte* f = fast_frame(*out, *n->lladdr, 0, p.ip);
  // The TTL is outside the pseudo header, so the partial checksum stays as it is.
  wire::Ipv4View(std::span(f + kEthHeaderLen, p.ip.size()))
      .set_ttl(static_cast<uint8_t>(ip.ttl() - 1));
  Hdr& sent = fast_tx_offloads_.back();
  sent = offload;
  sent.hdr_len = static_cast<uint16_t>(l4 + l4_header_len);
  fast_tx_offloaded_ = true;
  ++fast_stats_.fast;
  ++offload_stats_.whole;
  return true;
}

std::byte* Node::fast_frame(Device& out, MacAddr dst, size_t headroom,
                            std::span<const std::byte> ip) {
  const size_t len = std::max(kEthHeaderLen + headroom + ip.size(), kMinFrameLen);
  std::byte* f = fast_tx_reserve(out.ifindex, len);
  wire::EthernetRepr eth;
  eth.destination = dst;
  eth.source = out.mac;
  eth.ethertype = wire::EtherType::Ipv4;
  (void)eth.emit(std::span(f, kEthHeaderLen));
  std::memcpy(f + kEthHeaderLen + headroom, ip.data(), ip.size());
  const size_t used = kEthHeaderLen + headroom + ip.size();
  if (len > used) std::memset(f + used, 0, len - used);
  ++out.tx_packets;
  out.tx_bytes += len;
  return f;
}

bool Node::fast_tunnel(Device& in, FastPacket& p, Device& tun) {
  // ip_tunnel_xmit() for IPIP and GRE (without checksums or sequence numbers), then
  // ip_local_out() and ip_output() of the outer packet with nothing to fragment, to an
  // Ethernet underlay with a resolved neighbour.  Nothing changes until every check passed.
  if (!tun.up() || !tun.tunnel) return false;
  const TunnelParams& tp = *tun.tunnel;
  if (tun.kind == LinkKind::Gre && (tp.ocsum || tp.oseq)) return false;
  wire::Ipv4ConstView inner(p.ip);
  Ipv4Addr nexthop = p.route.gateway.value_or(inner.destination());
  Ipv4Addr dst = tp.remote.is_unspecified() ? nexthop : tp.remote;
  if (dst.is_unspecified()) return false;
  uint8_t tos = tp.tos;
  if (tos & 1) tos = inner.tos();
  uint8_t inner_ecn = inner.tos() & 3;
  tos = static_cast<uint8_t>((tos & ~3) | (inner_ecn == 3 ? 2 : inner_ecn));
  RouteQuery q;
  q.dst = dst;
  q.src = tp.local;
  q.oif = tp.link;
  q.tos = static_cast<uint8_t>(tos & 0x1e);
  const TunnelDst* cached = fast_outer_route(tun, q);
  if (cached == nullptr) return false;
  Device* under = fast_underlay(tun, *cached);
  if (under == nullptr) return false;
  const RouteAnswer& outer_route = cached->route;
  const int overhead = tunnel_overhead(tun);
  int path_mtu = tun.mtu;
  int under_mtu = static_cast<int>(route_mtu(outer_route));
  if (tp.pmtudisc) path_mtu = under_mtu - overhead;
  if (inner.dont_fragment() && static_cast<int>(p.ip.size()) > path_mtu) return false;
  const size_t tun_hlen = static_cast<size_t>(overhead - 20);
  const size_t outer_len = 20 + tun_hlen + p.ip.size();
  if (static_cast<int>(outer_len) > under_mtu) return false;  // ip_output() would fragment
  if (dst.is_limited_broadcast() || dst.is_multicast()) return false;
  Neighbour* n = neigh_lookup(under->ifindex, outer_route.gateway.value_or(dst));
  if (!transmits_now(n)) return false;

  count_rx(in, p.frame.size());
  std::byte* f = fast_frame(*under, *n->lladdr, 20 + tun_hlen, p.ip);
  std::span<std::byte> outer(f + kEthHeaderLen, outer_len);
  const uint8_t inner_ttl = static_cast<uint8_t>(inner.ttl() - 1);
  wire::Ipv4View(outer.subspan(20 + tun_hlen)).set_ttl(inner_ttl);
  if (tun.kind == LinkKind::Gre) {
    wire::GreRepr gre;
    gre.protocol_type = 0x0800;
    gre.key = tp.okey;
    (void)gre.emit(outer.subspan(20, tun_hlen));
  }
  wire::Ipv4Repr oip;
  oip.source = tp.local.is_unspecified() ? outer_route.prefsrc : tp.local;
  oip.destination = dst;
  oip.protocol = tun.kind == LinkKind::Gre ? wire::IpProtocol::Gre : wire::IpProtocol::Ipip;
  oip.payload_len = static_cast<uint16_t>(tun_hlen + p.ip.size());
  oip.ttl = tp.ttl ? tp.ttl : inner_ttl;
  oip.tos = tos;
  oip.identification = ip_ident_++;
  oip.dont_fragment = tp.pmtudisc || inner.dont_fragment();
  (void)oip.emit(outer);
  ++tun.tx_packets;
  tun.tx_bytes += p.ip.size();
  ++fast_stats_.fast;
  return true;
}

bool Node::fast_vxlan(Device& in, FastPacket& p, Device& vx) {
  // ip_finish_output() -> neigh_output() on the VXLAN device, whose frame goes to vxlan_xmit():
  // the FDB entry for the inner destination MAC (else the default remotes), the outer UDP and
  // IPv4 headers, then ip_local_out() and ip_output() of the outer packet with nothing to
  // fragment, to an Ethernet underlay with a resolved neighbour.
  if (!vx.up() || !vx.carrier_ok() || (vx.flags & iff::kNoArp) != 0 || !vx.tunnel) return false;
  const TunnelParams& tp = *vx.tunnel;
  wire::Ipv4ConstView inner(p.ip);
  Neighbour* n = neigh_lookup(vx.ifindex, p.route.gateway.value_or(inner.destination()));
  if (!transmits_now(n)) return false;
  const MacAddr inner_dst = *n->lladdr;
  vxlan_fdb_expire(vx);
  const FdbEntry* remote = nullptr;
  int matches = 0;
  if (!inner_dst.is_multicast()) {
    for (const FdbEntry& e : vx.fdb) {
      if (e.mac == inner_dst && ++matches == 1) remote = &e;
    }
  }
  if (matches == 0) {
    for (const FdbEntry& e : vx.fdb) {
      if (e.mac.is_zero() && ++matches == 1) remote = &e;
    }
  }
  if (matches != 1) return false;  // none (a drop) or several (one copy each)
  const size_t inner_len = kEthHeaderLen + p.ip.size();
  const size_t udp_len = 8 + 8 + inner_len;
  const size_t outer_len = 20 + udp_len;
  if (outer_len > 65535 || remote->dst.is_limited_broadcast() || remote->dst.is_multicast()) {
    return false;
  }
  RouteQuery q;
  q.dst = remote->dst;
  q.src = tp.local;
  q.oif = remote->via ? remote->via : tp.link;
  const TunnelDst* cached = fast_outer_route(vx, q);
  if (cached == nullptr) return false;
  Device* under = fast_underlay(vx, *cached);
  if (under == nullptr) return false;
  const RouteAnswer& outer_route = cached->route;
  int under_mtu = static_cast<int>(route_mtu(outer_route));
  if (static_cast<int>(outer_len) > under_mtu) return false;  // ip_output() would fragment
  Neighbour* un = neigh_lookup(under->ifindex, outer_route.gateway.value_or(remote->dst));
  if (!transmits_now(un)) return false;

  count_rx(in, p.frame.size());
  // Ethernet | outer IPv4 20 | UDP 8 | VXLAN 8 | inner Ethernet 14 | inner IPv4.
  std::byte* f = fast_frame(*under, *un->lladdr, 50, p.ip);
  std::span<std::byte> outer(f + kEthHeaderLen, outer_len);
  std::span<std::byte> inner_frame = outer.subspan(36);
  wire::EthernetRepr eth;
  eth.destination = inner_dst;
  eth.source = vx.mac;
  eth.ethertype = wire::EtherType::Ipv4;
  (void)eth.emit(inner_frame.first(kEthHeaderLen));
  wire::Ipv4View(inner_frame.subspan(kEthHeaderLen)).set_ttl(static_cast<uint8_t>(inner.ttl() - 1));
  ++vx.tx_packets;
  vx.tx_bytes += inner_len;
  const Ipv4Addr src = tp.local.is_unspecified() ? outer_route.prefsrc : tp.local;
  (void)wire::VxlanRepr{remote->vni ? remote->vni : tp.vni}.emit(outer.subspan(28, 8));
  std::span<std::byte> udp = outer.subspan(20);
  wire::UdpRepr u{vxlan_src_port(tp, vxlan_flow_hash_ipv4(p.ip)),
                  remote->port ? remote->port : tp.dstport, static_cast<uint16_t>(udp_len - 8)};
  if (tp.udpcsum) {
    (void)u.emit(udp, src, remote->dst);
  } else {
    wire::store_be16(udp, 0, u.source_port);
    wire::store_be16(udp, 2, u.destination_port);
    wire::store_be16(udp, 4, static_cast<uint16_t>(udp_len));
    wire::store_be16(udp, 6, 0);
  }
  wire::Ipv4Repr oip;
  oip.source = src;
  oip.destination = remote->dst;
  oip.protocol = wire::IpProtocol::Udp;
  oip.payload_len = static_cast<uint16_t>(udp_len);
  oip.ttl = tp.ttl ? tp.ttl : static_cast<uint8_t>(cached->default_ttl);
  oip.tos = static_cast<uint8_t>(tp.tos & ~1);
  oip.identification = ip_ident_++;
  oip.dont_fragment = false;
  (void)oip.emit(outer);
  ++fast_stats_.fast;
  return true;
}

const Node::TunnelDst* Node::fast_outer_route(const Device& tun, const RouteQuery& q) {
  if (tun.ifindex < 0 || tun.ifindex >= 65536) return nullptr;
  if (static_cast<size_t>(tun.ifindex) >= fast_tunnel_dst_.size()) {
    fast_tunnel_dst_.resize(static_cast<size_t>(tun.ifindex) + 1);
  }
  TunnelDst& cached = fast_tunnel_dst_[static_cast<size_t>(tun.ifindex)];
  // A learned path MTU is applied after route_get's cache and expires with time: with any
  // learned, the route is looked up every time.
  if (cached.generation != config_gen_ || cached.dst != q.dst || cached.tos != q.tos ||
      cached.oif != q.oif || !pmtu_.empty()) {
    cached.err = route_get(q, &cached.route);
    cached.generation = pmtu_.empty() ? config_gen_ : 0;
    cached.dst = q.dst;
    cached.tos = q.tos;
    cached.oif = q.oif;
    cached.default_ttl = sysctls_.global("ip_default_ttl");
  } else if (verify_route_cache()) {
    RouteAnswer fresh;
    if (route_get(q, &fresh) != cached.err || !same_answer(fresh, cached.route) ||
        sysctls_.global("ip_default_ttl") != cached.default_ttl) {
      std::fprintf(stderr, "tunnel dst cache: stale outer route on %s\n", tun.name.c_str());
      std::abort();
    }
  }
  return &cached;
}

Device* Node::fast_underlay(const Device& tun, const TunnelDst& outer) {
  const RouteAnswer& r = outer.route;
  if (outer.err != 0 || r.oif == tun.ifindex || r.local || r.broadcast || r.multicast) {
    return nullptr;
  }
  Device* under = device(r.oif);
  if (under == nullptr || under->kind != LinkKind::Ether || !under->carrier_ok() ||
      (under->flags & iff::kNoArp) != 0) {
    return nullptr;
  }
  return under;
}

void Node::fast_fallback_frame(int ifindex, std::span<const std::byte> frame) {
  ++fast_stats_.fallback;
  netif_receive(ifindex, std::vector<std::byte>(frame.begin(), frame.end()));
  drain_pending();
}

void Node::fast_fallback_routed(Device& in, FastPacket& p) {
  fast_tx_flush();
  ++fast_stats_.fallback;
  count_rx(in, p.frame.size());
  nf::PacketCt ct = std::move(p.ct);
  ip_rcv_routed(in, std::vector<std::byte>(p.ip.begin(), p.ip.end()), PktType::Host, p.err, p.route,
                ct);
  drain_pending();
}

std::byte* Node::fast_tx_reserve(int ifindex, size_t len) {
  if (ifindex != fast_tx_ifindex_ || fast_tx_used_ + len > fast_tx_arena_.size() ||
      fast_tx_frames_.size() == kMaxBurst) {
    fast_tx_flush();
  }
  if (len > fast_tx_arena_.size()) fast_tx_arena_.resize(len);  // only with nothing pending
  fast_tx_ifindex_ = ifindex;
  std::byte* f = fast_tx_arena_.data() + fast_tx_used_;
  fast_tx_used_ += len;
  fast_tx_frames_.emplace_back(f, len);
  fast_tx_offloads_.emplace_back();
  return f;
}

void Node::fast_tx_flush() {
  if (!fast_tx_frames_.empty() && io_ != nullptr) {
    if (fast_tx_offloaded_) {
      io_->transmit_burst_offload(fast_tx_ifindex_, fast_tx_frames_, fast_tx_offloads_);
    } else {
      io_->transmit_burst(fast_tx_ifindex_, fast_tx_frames_);
    }
  }
  fast_tx_frames_.clear();
  fast_tx_offloads_.clear();
  fast_tx_offloaded_ = false;
  fast_tx_used_ = 0;
}

void NodeIo::transmit_burst_offload(int ifindex, std::span<const std::span<const std::byte>> frames,
                                    std::span<const wire::VirtioNetHdr> offloads) {
  std::vector<std::vector<std::byte>> segments;
  for (size_t i = 0; i < frames.size(); ++i) {
    const wire::VirtioNetHdr& h = i < offloads.size() ? offloads[i] : wire::VirtioNetHdr{};
    if (h.gso_type == wire::VirtioNetHdr::kGsoNone && h.flags == 0) {
      transmit(ifindex, frames[i]);
      continue;
    }
    segments.clear();
    // The node checked the header against the frame before passing it on whole.
    if (!wire::resolve_offloads(frames[i], h, &segments, nullptr)) continue;
    for (auto& segment : segments) {
      // Padded as the node pads every frame it sends (a kernel-made segment on a veth is not).
      if (segment.size() < kMinFrameLen) segment.resize(kMinFrameLen);
      transmit(ifindex, segment);
    }
  }
}

}  // namespace vnet::stack
