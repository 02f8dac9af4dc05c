// The packet path of a node, named as Linux names it (net/core/dev.c, net/ipv4/ip_input.c,
// ip_forward.c, ip_output.c, icmp.c): frames in through netif_receive(), IPv4 to ip_rcv(), then
// local delivery or forwarding, and locally generated packets out through ip_output() and the
// neighbour layer (node_arp.cc).  Every drop is counted under a DropReason and traced.
//
// Frames between the two ends of a veth pair and through lo stay inside the node: they are
// queued and processed in order before receive() returns, as the kernel's backlog would.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::stack {

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1'000 * kMs;
// ipfrag_time: 30 s to complete a datagram.
constexpr uint64_t kReassemblyTimeoutNs = 30 * kSecond;
constexpr size_t kReassemblyMemoryBytes = 4u << 20;  // ipfrag_high_thresh
// icmp_ratelimit (1000 ms) and the inet_peer bucket depth (XRLIM_BURST_FACTOR 6).
constexpr uint64_t kIcmpRateNs = 1000 * kMs;
constexpr uint64_t kIcmpBurstNs = 6 * kIcmpRateNs;

MacAddr multicast_mac(Ipv4Addr group) {
  // RFC 1112 section 6.4: 01:00:5e + the low 23 bits of the group.
  uint32_t v = group.value();
  return MacAddr(0x01, 0x00, 0x5e, static_cast<uint8_t>((v >> 16) & 0x7f),
                 static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v));
}

std::string addr_pair(const wire::Ipv4ConstView& ip) {
  return ip.source().to_string() + " -> " + ip.destination().to_string();
}

}  // namespace

// ---------------------------------------------------------------- driver interface

uint64_t Node::random_u64() {
  // splitmix64: deterministic per node.
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void Node::drop(DropReason reason, const std::string& why, Device* dev) {
  drops_.add(reason);
  if (dev) ++dev->rx_dropped;
  if (trace_) {
    trace_->record(TraceRecord{now_ns_, TraceStage::Drop,
                               fmt::format("{} ({})", drop_reason_name(reason), why), reason});
  }
}

Status Node::link_add_external(const std::string& name, std::optional<MacAddr> mac) {
  ConfigChange change(*this);
  Status s = link_add(name, LinkKind::Ether);
  if (!s.ok()) return s;
  if (mac) {
    for (auto& [ix, d] : devices_) {
      if (d.name == name) d.mac = *mac;
    }
  }
  return s;
}

void Node::set_carrier(int ifindex, bool carrier) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr || d->kind != LinkKind::Ether || d->carrier == carrier) return;
  d->carrier = carrier;
  if (d->up()) carrier_changed(*d);
}

void Node::process_pending() {
  if (processing_) return;  // the outer call drains the queue
  processing_ = true;
  drain_pending();
  processing_ = false;
}

void Node::drain_pending() {
  while (!pending_rx_.empty()) {
    auto [ifindex, frame] = std::move(pending_rx_.front());
    pending_rx_.pop_front();
    netif_receive(ifindex, std::move(frame));
  }
}

uint64_t Node::next_deadline_ns() const {
  uint64_t t = kNoDeadline;
  for (const Neighbour& n : neighbours_) {
    if (n.timer_ns != 0) t = std::min(t, n.timer_ns);
  }
  for (const auto& [key, r] : reassembly_) t = std::min(t, r.expires_ns);
  for (const auto& [id, timer] : timers_) t = std::min(t, timer.at_ns);
  t = std::min(t, tcp_->next_deadline_ns());
  if (ipvs_) t = std::min(t, ipvs_->next_deadline_ns());
  return t;
}

void Node::run_timers(uint64_t now_ns) {
  now_ns_ = std::max(now_ns_, now_ns);
  // Neighbour timers (a timer may add entries; the list keeps them all in place).  While they
  // run, a forced gc may not remove entries: a timer's ICMP errors and probes can need a new
  // entry, and the entry being handled (or the loop's next one) must stay (Linux holds a
  // reference in neigh_timer_handler()).
  ++neigh_pinned_;
  for (Neighbour& n : neighbours_) {
    if (n.timer_ns != 0 && n.timer_ns <= now_ns_) neigh_timer(n);
  }
  --neigh_pinned_;
  if (std::erase_if(neighbours_, [](const Neighbour& n) {
        return n.state == NeighState::Failed && n.queue.empty() && n.timer_ns == 0 &&
               !n.lladdr.has_value();
      }) != 0) {
    ++neigh_gen_;
  }
  // Reassembly timeouts (ip_expire): ICMP time exceeded if the first fragment arrived.
  for (auto it = reassembly_.begin(); it != reassembly_.end();) {
    if (it->second.expires_ns > now_ns_) {
      ++it;
      continue;
    }
    for (const auto& [o2, p2] : it->second.fragments) reassembly_bytes_ -= p2.size();
    drop(DropReason::FragReasmTimeout, "reassembly timed out");
    // ip_expire(): time exceeded only for datagrams being reassembled for local delivery.
    if (!it->second.first_header.empty() && it->second.local_deliver) {
      icmp_send(it->second.first_header, 11, 1, 0, it->second.ifindex, false);
    }
    it = reassembly_.erase(it);
  }
  tcp_->run_timers(now_ns_);
  if (ipvs_) ipvs_->run_timers(now_ns_);
  // Application timers, in time order; a callback may add timers.
  while (true) {
    auto due = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.at_ns <= now_ns_ &&
          (due == timers_.end() || it->second.at_ns < due->second.at_ns)) {
        due = it;
      }
    }
    if (due == timers_.end()) break;
    auto fn = std::move(due->second.fn);
    timers_.erase(due);
    fn(now_ns_);
  }
  process_pending();
}

int Node::add_listener(Listener listener) {
  int id = next_handle_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}
void Node::remove_listener(int id) {
  listeners_.erase(id);
}
int Node::add_arp_listener(ArpListener listener) {
  int id = next_handle_++;
  arp_listeners_.emplace(id, std::move(listener));
  return id;
}
void Node::remove_arp_listener(int id) {
  arp_listeners_.erase(id);
}
int Node::add_timer(uint64_t at_ns, std::function<void(uint64_t)> fn) {
  int id = next_handle_++;
  timers_.emplace(id, Timer{at_ns, std::move(fn)});
  return id;
}
void Node::cancel_timer(int id) {
  timers_.erase(id);
}

// ---------------------------------------------------------------- receive

void Node::netif_receive(int ifindex, std::vector<std::byte> frame) {
  Device* dev = device(ifindex);
  if (dev == nullptr) return;
  if (!dev->up()) {
    drop(DropReason::DevReady, dev->name + " is down", dev);
    return;
  }
  ++dev->rx_packets;
  dev->rx_bytes += frame.size();
  wire::EthernetConstView eth(frame);
  if (eth.check()) {
    drop(DropReason::PktTooSmall, "truncated Ethernet frame on " + dev->name, dev);
    return;
  }
  if (eth.has_vlan_tag()) {
    drop(DropReason::UnhandledProto,
         fmt::format("802.1Q tag {} on {}: no VLAN device", eth.vlan_id(), dev->name), dev);
    return;
  }
  MacAddr dst = eth.destination();
  PktType type;
  if (dev->is_loopback()) {
    type = PktType::Loopback;
  } else if (dst == MacAddr::broadcast()) {
    type = PktType::Broadcast;
  } else if (dst.is_multicast()) {
    type = PktType::Multicast;
    ++dev->rx_multicast;
  } else if (dst == dev->mac) {
    type = PktType::Host;
  } else {
    type = PktType::OtherHost;
  }
  if (vswitch_ && vswitch_->port(ifindex) != nullptr) {
    // A VM port belongs to the vSwitch, as a bridge port does to its bridge.
    vpc_port_rcv(*dev, frame);
    return;
  }
  auto payload = eth.payload();
  switch (eth.payload_ethertype()) {
    case wire::EtherType::Arp:
      arp_rcv(*dev, payload, type);
      return;
    case wire::EtherType::Ipv4:
      ip_rcv(*dev, payload, type);
      return;
    default:
      drop(DropReason::UnhandledProto,
           fmt::format("EtherType {:#06x} on {}", static_cast<unsigned>(eth.payload_ethertype()),
                       dev->name),
           dev);
  }
}

void Node::ip_rcv(Device& dev, std::span<const std::byte> bytes, PktType type) {
  // ip_rcv_core()
  if (type == PktType::OtherHost) {
    drop(DropReason::OtherHost, "frame for another host on " + dev.name, &dev);
    return;
  }
  wire::Ipv4ConstView ip(bytes);
  if (auto err = ip.check()) {
    drop(DropReason::IpInhdr, std::string("bad IPv4 header: ") + wire::to_string(*err), &dev);
    return;
  }
  if (!ip.verify_checksum()) {
    drop(DropReason::IpCsum, "bad IPv4 header checksum", &dev);
    return;
  }
  std::vector<std::byte> packet(bytes.begin(), bytes.begin() + ip.total_len());
  nf::PacketCt ct;
  if (type == PktType::Loopback) {
    // Looped-back packets keep the route output chose (skb_dst) and the conntrack entry OUTPUT
    // attached: straight to local delivery.
    trace(TraceStage::IpRcv,
          [&] { return fmt::format("ip_rcv on lo: {}", addr_pair(wire::Ipv4ConstView(packet))); });
    ip_local_deliver(dev, std::move(packet), ct);
    return;
  }
  trace(TraceStage::IpRcv, [&] {
    wire::Ipv4ConstView v(packet);
    return std::string(fmt::format("{} on {}: {} proto {} ttl {} len {}", "ip_rcv", dev.name,
                                   addr_pair(v), static_cast<int>(v.protocol()), v.ttl(),
                                   v.total_len()));
  });
  // With conntrack loaded, fragments are reassembled before PREROUTING (nf_defrag_ipv4), so
  // NAT sees whole datagrams; ip_output() fragments them again on the way out.
  if (nf_ && !ip_defrag(dev, packet, false)) return;
  if (nf_) {
    nf::HookTrace lines;
    nf::Verdict v = nf_->pre_routing(packet, nf::Iface{dev.ifindex, dev.name}, now_ns_, ct,
                                     trace_ ? &lines : nullptr);
    if (!nf_verdict(v, lines, "PREROUTING", &dev)) return;
  }
  wire::Ipv4ConstView iph(packet);
  RouteQuery q;
  q.trace = trace_ != nullptr;
  q.dst = iph.destination();
  q.src = iph.source();
  q.iif = dev.ifindex;
  q.tos = iph.tos();
  RouteAnswer route;
  int err = route_get(q, &route);
  ip_rcv_routed(dev, std::move(packet), type, err, route, ct);
}

void Node::ip_rcv_routed(Device& dev, std::vector<std::byte> packet, PktType type, int err,
                         const RouteAnswer& route, nf::PacketCt& ct) {
  for (const std::string& line : route.trace) trace(TraceStage::Route, [&] { return line; });
  if (err != 0) {
    DropReason reason = route.drop.value_or(DropReason::IpInnoroutes);
    if (route.no_route && forwarding(dev.ifindex)) {
      // ip_error(): an unreachable route answers with ICMP; blackhole stays silent.
      uint8_t code = 255;
      if (err == -EHOSTUNREACH) code = 1;
      if (err == -ENETUNREACH) code = 0;
      if (err == -EACCES) code = 13;
      if (code != 255) icmp_send(packet, 3, code, 0, dev.ifindex, false);
    }
    drop(reason, route.trace.empty() ? errno_text(err) : route.trace.back(), &dev);
    return;
  }
  if (route.local || route.broadcast || route.multicast) {
    ip_local_deliver(dev, std::move(packet), ct);
    return;
  }
  if (type != PktType::Host) {
    drop(DropReason::NotForwarded, "unicast packet in a broadcast/multicast frame", &dev);
    return;
  }
  ip_forward(dev, std::move(packet), route, ct);
}

// ---------------------------------------------------------------- forward

uint32_t Node::route_mtu(const RouteAnswer& route) const {
  const Device* out = device(route.oif);
  uint32_t mtu = out ? static_cast<uint32_t>(out->mtu) : 1500;
  return route.mtu != 0 ? std::min(mtu, route.mtu) : mtu;
}

void Node::ip_forward(Device& in, std::vector<std::byte> packet, const RouteAnswer& route,
                      nf::PacketCt& ct) {
  wire::Ipv4View ip(packet);
  if (ip.ttl() <= 1) {
    trace(TraceStage::Forward, [&] { return fmt::format("ttl {}: time exceeded", ip.ttl()); });
    icmp_send(packet, 11, 0, 0, in.ifindex, false);
    drop(DropReason::TtlExpired, "TTL exceeded in transit", &in);
    return;
  }
  const Device* out = device(route.oif);
  uint32_t mtu = route_mtu(route);
  if (ip.total_len() > mtu && ip.dont_fragment()) {
    trace(TraceStage::Forward, [&] {
      return std::string(
          fmt::format("{} bytes > mtu {} with DF: fragmentation needed", ip.total_len(), mtu));
    });
    icmp_send(packet, 3, 4, mtu, in.ifindex, false);
    drop(DropReason::PktTooBig, fmt::format("needs fragmentation, mtu {}", mtu), &in);
    return;
  }
  ip.set_ttl(static_cast<uint8_t>(ip.ttl() - 1));
  trace(TraceStage::Forward, [&] {
    return std::string(fmt::format(
        "forward to {}{} ttl {}", out ? out->name : "?",
        route.gateway ? " via " + route.gateway->to_string() : std::string(), ip.ttl()));
  });
  if (ipvs_ && ipvs_->active()) {
    // FORWARD: IPVS rewrites a NAT real server's reply (ip_vs_out_hook, priority 100).
    RouteAnswer r = route;
    IpvsVerdict v = ipvs_out(packet, &r);
    if (v == IpvsVerdict::Stolen) return;
    if (v == IpvsVerdict::Untracked) {
      ip_output(std::move(packet), r, ct, true);
      return;
    }
  }
  ip_output(std::move(packet), route, ct);
}

// ---------------------------------------------------------------- local delivery

bool Node::ip_defrag(Device& in, std::vector<std::byte>& packet, bool local_deliver) {
  // ip_defrag(): collect the pieces; true once `packet` holds the whole datagram.
  wire::Ipv4ConstView ip(packet);
  if (!ip.more_fragments() && ip.fragment_offset_bytes() == 0) return true;
  auto key = std::make_tuple(ip.source().value(), ip.destination().value(), ip.identification(),
                             static_cast<uint8_t>(ip.protocol()));
  auto payload = ip.payload();
  // ip_frag_queue(): a non-last piece is cut to a multiple of 8; a datagram may not end past
  // 65535 bytes (IP_MAX_MTU); a piece that overlaps another (not an exact duplicate) makes
  // the kernel discard the whole datagram (RFC 5722's rule, applied to IPv4 since 4.19).
  if (ip.more_fragments()) payload = payload.first(payload.size() & ~size_t{7});
  size_t offset = ip.fragment_offset_bytes();
  size_t end = offset + payload.size();
  if (end + ip.header_len_bytes() > 65535 || payload.empty()) {
    reassembly_.erase(key);
    drop(DropReason::FragFailed,
         fmt::format("bad fragment: offset {} len {} (id {})", offset, payload.size(),
                     ip.identification()),
         &in);
    return false;
  }
  auto existing = reassembly_.find(key);
  if (existing == reassembly_.end()) {
    // ipfrag_high_thresh (4 MiB): no new datagram while the queues hold that much.
    if (reassembly_bytes_ + payload.size() > kReassemblyMemoryBytes) {
      drop(DropReason::FragFailed, "reassembly memory full", &in);
      return false;
    }
    existing = reassembly_.emplace(key, Reassembly{}).first;
    existing->second.expires_ns = now_ns_ + kReassemblyTimeoutNs;
    existing->second.ifindex = in.ifindex;
    existing->second.local_deliver = local_deliver;
  }
  Reassembly& r = existing->second;
  for (const auto& [o, piece] : r.fragments) {
    size_t e = o + piece.size();
    if (o == offset && e == end) return false;  // a duplicate: ignored
    if (offset < e && o < end) {
      for (const auto& [o2, p2] : r.fragments) reassembly_bytes_ -= p2.size();
      reassembly_.erase(existing);
      drop(DropReason::FragFailed,
           fmt::format("overlapping fragment at offset {} (id {}): datagram discarded", offset,
                       ip.identification()),
           &in);
      return false;
    }
  }
  if ((!ip.more_fragments() && r.total_len != 0 && r.total_len != end) ||
      (r.total_len != 0 && end > r.total_len)) {
    for (const auto& [o2, p2] : r.fragments) reassembly_bytes_ -= p2.size();
    reassembly_.erase(existing);
    drop(DropReason::FragFailed, "fragments disagree on the datagram's length", &in);
    return false;
  }
  r.fragments[static_cast<uint16_t>(offset)] =
      std::vector<std::byte>(payload.begin(), payload.end());
  reassembly_bytes_ += payload.size();
  if (offset == 0) r.first_header.assign(packet.begin(), packet.end());
  if (!ip.more_fragments()) r.total_len = static_cast<uint32_t>(end);
  trace(TraceStage::LocalDeliver, [&] {
    return std::string(fmt::format("fragment offset {} len {} (id {})", ip.fragment_offset_bytes(),
                                   payload.size(), ip.identification()));
  });
  if (r.total_len == 0 || r.first_header.empty()) return false;
  std::vector<std::byte> data;
  for (const auto& [at, piece] : r.fragments) {
    if (at != data.size()) {
      if (at > data.size()) return false;  // a hole remains
      if (at + piece.size() <= data.size()) continue;
      data.resize(at);
    }
    data.insert(data.end(), piece.begin(), piece.end());
  }
  if (data.size() < r.total_len) return false;
  data.resize(r.total_len);
  for (const auto& [o2, p2] : r.fragments) reassembly_bytes_ -= p2.size();
  wire::Ipv4ConstView first(r.first_header);
  std::vector<std::byte> whole(first.header_len_bytes() + data.size());
  std::memcpy(whole.data(), r.first_header.data(), first.header_len_bytes());
  std::memcpy(whole.data() + first.header_len_bytes(), data.data(), data.size());
  wire::Ipv4View w(whole);
  wire::store_be16(whole, 2, static_cast<uint16_t>(whole.size()));
  wire::store_be16(whole, 6, 0);  // no MF, offset 0
  w.fill_checksum();
  reassembly_.erase(key);
  trace(TraceStage::LocalDeliver,
        [&] { return fmt::format("reassembled {} bytes", whole.size()); });
  packet = std::move(whole);
  return true;
}

void Node::ip_local_deliver(Device& in, std::vector<std::byte> packet, nf::PacketCt& ct) {
  if (!ip_defrag(in, packet, true)) return;
  if (ipvs_ && ipvs_->active() && !in.is_loopback()) {
    // LOCAL_IN: IPVS takes connections to its virtual services (ip_vs_in_hook, priority 99,
    // before nat INPUT and conntrack's confirmation; the packets it forwards stay untracked).
    IpvsVerdict v = ipvs_in(in, packet);
    if (v == IpvsVerdict::Stolen) return;
  }
  if (nf_) {
    nf::HookTrace lines;
    nf::Verdict v = nf_->local_in(packet, nf::Iface{in.ifindex, in.name}, now_ns_, ct,
                                  trace_ ? &lines : nullptr);
    if (!nf_verdict(v, lines, "INPUT", &in)) return;
  }
  wire::Ipv4ConstView iph(packet);
  Delivered d;
  d.time_ns = now_ns_;
  d.ifindex = in.ifindex;
  d.src = iph.source();
  d.dst = iph.destination();
  d.ttl = iph.ttl();
  d.tos = iph.tos();
  d.protocol = static_cast<uint8_t>(iph.protocol());
  d.l4 = iph.payload();
  trace(TraceStage::LocalDeliver, [&] {
    return std::string(
        fmt::format("deliver {} proto {}", addr_pair(iph), static_cast<int>(d.protocol)));
  });
  switch (iph.protocol()) {
    case wire::IpProtocol::Icmp:
      icmp_rcv(in, packet, d);
      return;
    case wire::IpProtocol::Udp: {
      wire::UdpConstView udp(d.l4);
      if (udp.check() || !udp.verify_checksum(d.src, d.dst)) {
        drop(DropReason::UdpCsum, "bad UDP length or checksum", &in);
        return;
      }
      if (vxlan_rcv(in, packet)) return;
      bool consumed = false;
      for (auto& [id, l] : std::map<int, Listener>(listeners_)) consumed |= l(d);
      if (consumed) return;
      // No socket: port unreachable, unless the packet was broadcast/multicast.
      if (!d.dst.is_multicast() && !d.dst.is_limited_broadcast() && is_local_address(d.dst)) {
        icmp_send(packet, 3, 3, 0, in.ifindex, true);
      }
      drop(DropReason::NoSocket, fmt::format("no socket on UDP port {}", udp.destination_port()),
           &in);
      return;
    }
    case wire::IpProtocol::Ipip:
    case wire::IpProtocol::Gre:
      // The vSwitch takes keyed GRE to its address (it is the host's vpcko, not a gre device).
      if (iph.protocol() == wire::IpProtocol::Gre && vswitch_ && vpc_gre_rcv(in, packet)) return;
      // tunnel4 / gre_demux exist once the module is loaded (a tunnel or modprobe).
      if (module_loaded(iph.protocol() == wire::IpProtocol::Gre ? "ip_gre" : "ipip")) {
        ip_tunnel_rcv(in, std::move(packet));
        return;
      }
      [[fallthrough]];
    default: {
      bool consumed = false;
      for (auto& [id, l] : std::map<int, Listener>(listeners_)) consumed |= l(d);
      if (consumed) return;
      if (iph.protocol() == wire::IpProtocol::Tcp) {
        // tcp_v4_rcv(): only packets addressed to this host.
        if (d.dst.is_multicast() || d.dst.is_limited_broadcast() || !is_local_address(d.dst)) {
          drop(DropReason::NotForwarded, "TCP to a broadcast or multicast address", &in);
          return;
        }
        tcp_->rcv(in.ifindex, d.src, d.dst, d.tos, d.l4);
        return;
      }
      icmp_send(packet, 3, 2, 0, in.ifindex, true);
      drop(DropReason::IpNoproto,
           fmt::format("protocol {} unreachable", static_cast<int>(d.protocol)), &in);
    }
  }
}

// ---------------------------------------------------------------- ICMP

void Node::icmp_rcv(Device& in, std::span<const std::byte> packet, const Delivered& d) {
  wire::IcmpConstView icmp(d.l4);
  if (icmp.check() || !icmp.verify_checksum()) {
    drop(DropReason::IcmpCsum, "bad ICMP message", &in);
    return;
  }
  trace(TraceStage::Icmp, [&] {
    return std::string(fmt::format("icmp type {} code {} from {}", static_cast<int>(icmp.type()),
                                   static_cast<int>(icmp.code()), d.src.to_string()));
  });
  if (static_cast<int>(icmp.type()) == 3 && static_cast<int>(icmp.code()) == 4) {
    // icmp_unreach() -> the protocol's err handler -> ipv4_update_pmtu(): a packet we sent was
    // too big somewhere on the path; remember the next-hop MTU for its destination.
    wire::Ipv4ConstView quoted(icmp.data());
    uint16_t mtu = wire::load_be16(d.l4, 6);
    if (!quoted.check_header() && mtu >= 68 && is_local_address(quoted.source())) {
      update_pmtu(quoted.destination(), mtu);
      trace(TraceStage::Icmp, [&] {
        return fmt::format("path mtu to {} is {}", quoted.destination().to_string(), mtu);
      });
    }
  }
  for (auto& [id, l] : std::map<int, Listener>(listeners_)) l(d);
  {
    // icmp_unreach() -> tcp_v4_err(): errors quoting a TCP segment we sent.
    int type = static_cast<int>(icmp.type());
    wire::Ipv4ConstView quoted(icmp.data());
    if ((type == 3 || type == 11) && !quoted.check_header() &&
        quoted.protocol() == wire::IpProtocol::Tcp && is_local_address(quoted.source())) {
      tcp_->icmp_error(static_cast<uint8_t>(type), static_cast<uint8_t>(icmp.code()),
                       wire::load_be16(d.l4, 6), icmp.data());
    }
  }
  if (icmp.type() != wire::IcmpType::EchoRequest) return;
  // icmp_echo()
  bool broadcast = d.dst.is_limited_broadcast() || d.dst.is_multicast() || !is_local_address(d.dst);
  if (sysctls_.global("icmp_echo_ignore_all") ||
      (broadcast && sysctls_.global("icmp_echo_ignore_broadcasts"))) {
    drop(DropReason::IcmpEchoIgnored, "echo request ignored", &in);
    return;
  }
  wire::Ipv4ConstView ip(packet);
  OutPacket reply;
  reply.dst = d.src;
  // fib_compute_spec_dst(): the address the request was sent to, or one of ours for broadcasts.
  reply.src = broadcast ? select_addr(in.ifindex, d.src, fib::scope::kLink) : d.dst;
  reply.tos = d.tos;
  reply.ttl = static_cast<uint8_t>(sysctls_.global("ip_default_ttl"));
  reply.dont_fragment = false;
  reply.protocol = 1;
  auto data = icmp.data();
  reply.l4.resize(8 + data.size());
  wire::IcmpRepr repr =
      wire::IcmpRepr::echo_reply(icmp.echo_identifier(), icmp.echo_sequence_number(), data);
  (void)repr.emit(reply.l4);
  trace(TraceStage::Icmp, [&] { return fmt::format("echo reply to {}", d.src.to_string()); });
  send(reply);
}

bool Node::icmp_rate_allow(Ipv4Addr dst) {
  // inet_peer_xrlim_allow(): a bucket of up to six messages per destination, one more a second.
  // Peers are garbage-collected: a full bucket (idle for 6 s) carries no state worth keeping.
  if (icmp_tokens_.size() >= 4096 && !icmp_tokens_.count(dst.value())) {
    std::erase_if(icmp_tokens_, [&](const auto& e) {
      return e.second.first + (now_ns_ - e.second.second) >= kIcmpBurstNs;
    });
    if (icmp_tokens_.size() >= 4096) icmp_tokens_.erase(icmp_tokens_.begin());
  }
  auto [it, fresh] = icmp_tokens_.try_emplace(dst.value(), kIcmpBurstNs, now_ns_);
  auto& [tokens, last] = it->second;
  if (!fresh) {
    tokens = std::min(kIcmpBurstNs, tokens + (now_ns_ - last));
    last = now_ns_;
  }
  if (tokens < kIcmpRateNs) return false;
  tokens -= kIcmpRateNs;
  return true;
}

void Node::icmp_send(std::span<const std::byte> offending, uint8_t type, uint8_t code,
                     uint32_t info, int in_ifindex, bool to_local_dst) {
  // __icmp_send(): never about ICMP errors, non-first fragments, or broadcasts/multicasts.
  wire::Ipv4ConstView ip(offending);
  if (ip.check_header()) return;
  if (ip.fragment_offset_bytes() != 0) return;
  if (ip.destination().is_limited_broadcast() || ip.destination().is_multicast()) return;
  if (ip.source().is_unspecified() || ip.source().is_multicast()) return;
  if (ip.protocol() == wire::IpProtocol::Icmp && ip.payload().size() >= 1) {
    uint8_t t = static_cast<uint8_t>(ip.payload()[0]);
    if (t != 0 && t != 8 && t != 13 && t != 14 && t != 15 && t != 16 && t != 17 && t != 18) return;
  }
  if (!icmp_rate_allow(ip.source())) {
    trace(TraceStage::Icmp, [&] { return std::string("icmp error rate-limited"); });
    return;
  }
  // Quote as much of the datagram as fits in 576 bytes (RFC 1812 4.3.2.3).
  size_t quote = std::min<size_t>(offending.size(), 576 - 20 - 8);
  std::span<const std::byte> quoted = offending.first(quote);
  wire::IcmpRepr repr;
  if (type == 11) {
    repr = wire::IcmpRepr::time_exceeded(static_cast<wire::TimeExceededCode>(code), quoted);
  } else {
    repr = wire::IcmpRepr::destination_unreachable(static_cast<wire::UnreachableCode>(code), quoted,
                                                   static_cast<uint16_t>(info));
  }
  OutPacket out;
  out.dst = ip.source();
  // The offending packet's destination when it was for us, else routing picks our source.
  out.src = to_local_dst ? ip.destination() : Ipv4Addr();
  out.tos = static_cast<uint8_t>((ip.tos() & 0x1e) | 0xc0);  // IPTOS_PREC_INTERNETCONTROL
  out.ttl = static_cast<uint8_t>(sysctls_.global("ip_default_ttl"));
  out.dont_fragment = false;
  out.protocol = 1;
  out.l4.resize(repr.buffer_len());
  (void)repr.emit(out.l4);
  trace(TraceStage::Icmp, [&] {
    return std::string(
        fmt::format("send icmp type {} code {} to {}", type, code, ip.source().to_string()));
  });
  (void)in_ifindex;
  send(out);
}

// ---------------------------------------------------------------- output

int Node::send(const OutPacket& p, Ipv4Addr* chosen_src, uint32_t* path_mtu) {
  RouteQuery q;
  q.trace = trace_ != nullptr;
  q.dst = p.dst;
  q.src = p.src;
  q.oif = p.oif;
  q.tos = p.tos;
  RouteAnswer route;
  int err = route_get(q, &route);
  for (const std::string& line : route.trace) trace(TraceStage::Route, [&] { return line; });
  if (err != 0) {
    drop(DropReason::IpOutnoroutes, std::string("output route: ") + errno_text(err));
    return err;
  }
  Ipv4Addr src = p.src.is_unspecified() ? route.prefsrc : p.src;
  if (chosen_src) *chosen_src = src;
  std::vector<std::byte> l4 = p.l4;
  if (p.protocol == 17) {
    std::vector<std::byte> udp(8 + p.l4.size());
    std::memcpy(udp.data() + 8, p.l4.data(), p.l4.size());
    wire::UdpRepr u{p.udp_sport, p.udp_dport, static_cast<uint16_t>(p.l4.size())};
    (void)u.emit(udp, src, p.dst);
    l4 = std::move(udp);
  }
  wire::Ipv4Repr ip;
  ip.source = src;
  ip.destination = p.dst;
  ip.protocol = static_cast<wire::IpProtocol>(p.protocol);
  ip.payload_len = static_cast<uint16_t>(l4.size());
  ip.ttl = p.ttl;
  ip.tos = p.tos;
  // ip_select_ident(): 0 for DF datagrams of unconnected sockets, else a per-node counter.
  bool df = p.dont_fragment;
  {
    const Device* out = device(route.oif);
    uint32_t mtu = route_mtu(route);
    bool too_big = 20 + l4.size() > mtu && !(out && out->is_loopback());
    if (df && too_big && p.pmtudisc_want) df = false;
    if (df && too_big) {
      if (path_mtu) *path_mtu = mtu;
      trace(TraceStage::Output, [&] {
        return fmt::format("{} bytes with DF > path mtu {}: EMSGSIZE to the sender", 20 + l4.size(),
                           mtu);
      });
      return -EMSGSIZE;
    }
  }
  ip.identification = df ? 0 : ip_ident_++;
  ip.dont_fragment = df;
  std::vector<std::byte> packet(20 + l4.size());
  if (ip.emit(packet)) return -EMSGSIZE;
  std::memcpy(packet.data() + 20, l4.data(), l4.size());
  trace(TraceStage::Output, [&] {
    return std::string(fmt::format("ip_local_out {} -> {} proto {} len {}", src.to_string(),
                                   p.dst.to_string(), p.protocol, packet.size()));
  });
  int rc = ip_local_out(std::move(packet), std::move(route));
  process_pending();
  return rc;
}

int Node::ip_local_out(std::vector<std::byte> packet, RouteAnswer route) {
  nf::PacketCt ct;
  if (nf_) {
    const Device* out = device(route.oif);
    Ipv4Addr dst = wire::Ipv4ConstView(packet).destination();
    nf::HookTrace lines;
    nf::Verdict v = nf_->local_out(packet, nf::Iface{route.oif, out ? out->name : ""}, now_ns_, ct,
                                   trace_ ? &lines : nullptr);
    if (!nf_verdict(v, lines, "OUTPUT", nullptr)) return 0;
    wire::Ipv4ConstView ip(packet);
    if (ip.destination() != dst) {
      // ip_route_me_harder(): DNAT in OUTPUT changed the destination; route again.
      RouteQuery q;
      q.trace = trace_ != nullptr;
      q.dst = ip.destination();
      q.src = ip.source();
      q.tos = ip.tos();
      RouteAnswer again;
      int err = route_get(q, &again);
      for (const std::string& line : again.trace) trace(TraceStage::Route, [&] { return line; });
      if (err != 0) {
        drop(DropReason::IpOutnoroutes, std::string("output route after DNAT: ") + errno_text(err));
        return err;
      }
      route = std::move(again);
    }
  }
  ip_output(std::move(packet), route, ct);
  return 0;
}

bool Node::nf_verdict(nf::Verdict v, const nf::HookTrace& lines, const char* hook, Device* dev) {
  for (const std::string& line : lines.lines) {
    trace(TraceStage::Netfilter, [&] { return fmt::format("{}: {}", hook, line); });
  }
  if (v == nf::Verdict::Accept) return true;
  drop(DropReason::NetfilterDrop,
       lines.lines.empty() ? fmt::format("dropped at {}", hook) : lines.lines.back(), dev);
  return false;
}

std::optional<Ipv4Addr> Node::masquerade_addr(int oif, Ipv4Addr next) const {
  Ipv4Addr a = select_addr(oif, next, fib::scope::kUniverse);
  if (a.is_unspecified()) return std::nullopt;
  return a;
}

void Node::ip_output(std::vector<std::byte> packet, const RouteAnswer& route, nf::PacketCt& ct,
                     bool untracked) {
  Device* dev = device(route.oif);
  if (dev == nullptr) {
    drop(DropReason::IpOutnoroutes, "no output device");
    return;
  }
  if (nf_ && !untracked) {
    // POSTROUTING: SNAT/MASQUERADE, then the new connection is confirmed.
    Ipv4Addr nh = route.gateway.value_or(wire::Ipv4ConstView(packet).destination());
    nf::HookTrace lines;
    nf::Verdict v = nf_->post_routing(packet, nf::Iface{dev->ifindex, dev->name}, nh,
                                      masquerade_source_, now_ns_, ct, trace_ ? &lines : nullptr);
    if (!nf_verdict(v, lines, "POSTROUTING", nullptr)) return;
  }
  wire::Ipv4ConstView ip(packet);
  Ipv4Addr nexthop = route.gateway.value_or(ip.destination());
  uint32_t mtu = static_cast<uint32_t>(dev->mtu);
  if (route.mtu != 0) mtu = std::min(mtu, route.mtu);
  if (packet.size() <= mtu || dev->is_loopback()) {
    ip_finish_output(std::move(packet), dev->ifindex, nexthop, route.broadcast, route.multicast);
    return;
  }
  if (ip.dont_fragment()) {
    // ip_fragment() with DF on a locally generated packet: EMSGSIZE to the sender; we answer
    // ourselves with frag-needed so probes see the MTU, as a PMTU socket error would.
    icmp_send(packet, 3, 4, mtu, 0, false);
    drop(DropReason::PktTooBig, fmt::format("needs fragmentation, mtu {}", mtu));
    return;
  }
  // ip_do_fragment(): pieces of (mtu - header) rounded down to 8 bytes.
  size_t hlen = ip.header_len_bytes();
  auto payload = ip.payload();
  size_t chunk = ((mtu - hlen) / 8) * 8;
  if (chunk == 0) {
    drop(DropReason::FragFailed, "mtu too small to fragment");
    return;
  }
  uint16_t base_offset = ip.fragment_offset_bytes();
  bool base_mf = ip.more_fragments();
  for (size_t off = 0; off < payload.size(); off += chunk) {
    size_t len = std::min(chunk, payload.size() - off);
    std::vector<std::byte> frag(hlen + len);
    std::memcpy(frag.data(), packet.data(), hlen);
    std::memcpy(frag.data() + hlen, payload.data() + off, len);
    bool more = off + len < payload.size() || base_mf;
    uint16_t units = static_cast<uint16_t>((base_offset + off) / 8);
    wire::store_be16(frag, 2, static_cast<uint16_t>(frag.size()));
    wire::store_be16(frag, 6, static_cast<uint16_t>((more ? 0x2000 : 0) | units));
    wire::Ipv4View(frag).fill_checksum();
    trace(TraceStage::Output, [&] {
      return std::string(fmt::format("fragment offset {} len {}", base_offset + off, len));
    });
    ip_finish_output(std::move(frag), dev->ifindex, nexthop, route.broadcast, route.multicast);
  }
}

void Node::ip_finish_output(std::vector<std::byte> packet, int ifindex, Ipv4Addr nexthop,
                            bool broadcast, bool multicast) {
  Device* dev = device(ifindex);
  if (dev == nullptr) return;
  if (dev->is_loopback()) {
    transmit_frame(ifindex, MacAddr(), 0x0800, packet);
    return;
  }
  if (dev->is_ip_tunnel()) {
    // NOARP point-to-point devices: no neighbour, the tunnel encapsulates.
    if (!dev->up()) {
      ++dev->tx_dropped;
      drop(DropReason::DevReady, dev->name + " is down");
      return;
    }
    ip_tunnel_xmit(*dev, std::move(packet), nexthop);
    return;
  }
  wire::Ipv4ConstView ip(packet);
  if (broadcast || ip.destination().is_limited_broadcast()) {
    transmit_frame(ifindex, MacAddr::broadcast(), 0x0800, packet);
    return;
  }
  if (multicast || ip.destination().is_multicast()) {
    transmit_frame(ifindex, multicast_mac(ip.destination()), 0x0800, packet);
    return;
  }
  neigh_output(*dev, nexthop, std::move(packet));
}

void Node::transmit_frame(int ifindex, MacAddr dst, uint16_t ethertype,
                          std::span<const std::byte> payload, std::optional<MacAddr> src) {
  Device* dev = device(ifindex);
  if (dev == nullptr) return;
  wire::EthernetRepr eth;
  eth.destination = dst;
  eth.source = src.value_or(dev->mac);
  eth.ethertype = static_cast<wire::EtherType>(ethertype);
  // Pad to the 60-byte minimum frame (no FCS), as NICs do.
  bool pad = !dev->is_loopback() && dev->kind != LinkKind::Vxlan;
  size_t len = std::max<size_t>(14 + payload.size(), pad ? 60 : 0);
  std::vector<std::byte> frame(len);
  (void)eth.emit(frame);
  std::memcpy(frame.data() + 14, payload.data(), payload.size());
  tx(*dev, std::move(frame));
}

void Node::tx(Device& dev, std::vector<std::byte> frame) {
  if (!dev.up() || !dev.carrier_ok()) {
    ++dev.tx_dropped;
    drop(DropReason::DevReady, dev.name + " has no carrier");
    return;
  }
  ++dev.tx_packets;
  dev.tx_bytes += frame.size();
  trace(TraceStage::Tx, [&] { return fmt::format("tx {} {} bytes", dev.name, frame.size()); });
  switch (dev.kind) {
    case LinkKind::Loopback:
      pending_rx_.emplace_back(dev.ifindex, std::move(frame));
      return;
    case LinkKind::Veth: {
      // The peer lives in this node: its receive path runs from our queue.
      pending_rx_.emplace_back(dev.peer_ifindex, std::move(frame));
      return;
    }
    case LinkKind::Dummy:
      return;  // dummy_xmit() consumes everything
    case LinkKind::Vxlan:
      vxlan_xmit(dev, std::move(frame));
      return;
    default:
      if (io_) io_->transmit(dev.ifindex, frame);
      return;
  }
}

}  // namespace vnet::stack
