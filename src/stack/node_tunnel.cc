// Tunnel devices: IPIP (RFC 2003) and GRE (RFC 2784/2890) as net/ipv4/ip_tunnel.c, ipip.c and
// ip_gre.c build them, and VXLAN (RFC 7348) as drivers/net/vxlan does.
//
//   transmit: ip_finish_output() hands an inner packet to ip_tunnel_xmit() (IPIP/GRE) or tx()
//             hands an Ethernet frame to vxlan_xmit(); they add the outer headers, route the
//             outer packet and send it with ip_output().
//   receive:  ip_local_deliver() gives protocols 4 and 47 to ip_tunnel_rcv() and UDP to
//             vxlan_rcv(); the inner packet is then received on the tunnel device, so routing,
//             rp_filter and rules see the tunnel as its input interface.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/node.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "wire/vxlan.h"

namespace vnet::stack {

namespace {

constexpr uint64_t kSecondNs = 1'000'000'000;
constexpr int kMinMtu = 68;         // IPV4_MIN_MTU / ETH_MIN_MTU
constexpr int kVxlanHeadroom = 50;  // outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14
constexpr int kMaxXmitDepth = 8;    // XMIT_RECURSION_LIMIT
constexpr uint16_t kEphemeralLow = 32768, kEphemeralHigh = 60999;  // ip_local_port_range

int gre_header_len(const TunnelParams& p) {
  // gre_calc_hlen(o_flags): 4, plus 4 for each of checksum, key and sequence.
  return 4 + (p.ocsum ? 4 : 0) + (p.okey ? 4 : 0) + (p.oseq ? 4 : 0);
}

std::string key_text(std::optional<uint32_t> key) {
  return key ? std::to_string(*key) : std::string("none");
}

constexpr uint32_t kFnvBasis = 2166136261u;

uint32_t fnv_mix(uint32_t h, std::span<const std::byte> bytes) {
  for (std::byte b : bytes) h = (h ^ static_cast<uint8_t>(b)) * 16777619u;
  return h;
}

// A deterministic stand-in for udp_flow_src_port()'s flow hash over the inner frame: the same
// inner flow always leaves from the same source port.
uint32_t inner_flow_hash(std::span<const std::byte> frame) {
  wire::EthernetConstView eth(frame);
  if (!eth.check() && eth.payload_ethertype() == wire::EtherType::Ipv4) {
    wire::Ipv4ConstView ip(eth.payload());
    if (!ip.check_header()) return Node::vxlan_flow_hash_ipv4(eth.payload());
  }
  return fnv_mix(kFnvBasis, frame.first(std::min<size_t>(frame.size(), 14)));  // MACs, EtherType
}

}  // namespace

uint32_t Node::vxlan_flow_hash_ipv4(std::span<const std::byte> p) {
  // The addresses, the protocol and (for TCP and UDP, unfragmented) the ports, mixed by two
  // multiplications and a fold: a few cycles, where a byte-wise hash took one multiplication a
  // byte (a tenth of the VXLAN fast path).
  wire::Ipv4ConstView ip(p);
  uint64_t rest = static_cast<uint8_t>(p[9]);  // protocol
  auto l4 = ip.payload();
  if ((ip.protocol() == wire::IpProtocol::Udp || ip.protocol() == wire::IpProtocol::Tcp) &&
      l4.size() >= 4 && ip.fragment_offset_bytes() == 0) {
    rest |= uint64_t{wire::load_be32(l4, 0)} << 8;  // the ports
  }
  uint64_t h =
      (uint64_t{ip.source().value()} << 32 | ip.destination().value()) * 0x9e3779b97f4a7c15ull +
      rest * 0xc2b2ae3d27d4eb4full;
  h ^= h >> 32;
  h *= 0xbf58476d1ce4e5b9ull;
  return static_cast<uint32_t>(h ^ (h >> 29));
}

// ---------------------------------------------------------------- configuration

int Node::tunnel_overhead(const Device& dev) {
  if (!dev.tunnel) return 0;
  switch (dev.kind) {
    case LinkKind::Ipip:
      return 20;
    case LinkKind::Gre:
      return 20 + gre_header_len(*dev.tunnel);
    case LinkKind::Vxlan:
      return kVxlanHeadroom;
    default:
      return 0;
  }
}

int Node::tunnel_bind_mtu(const Device& dev) const {
  const TunnelParams& p = *dev.tunnel;
  if (dev.kind == LinkKind::Vxlan) {
    // vxlan_config_apply(): lower device MTU - 50; no lower device: ether_setup's 1500.
    const Device* lower = p.link ? device(p.link) : nullptr;
    return lower ? std::max(kMinMtu, lower->mtu - kVxlanHeadroom) : 1500;
  }
  // ip_tunnel_bind_dev(): the device a route to the remote leaves by, else `dev`, else none
  // (1500); minus the outer headers; at least 68.
  const Device* under = nullptr;
  if (!p.remote.is_unspecified()) {
    RouteQuery q;
    q.dst = p.remote;
    q.src = p.local;
    q.oif = p.link;
    q.tos = static_cast<uint8_t>(p.tos & 0x1e);
    RouteAnswer a;
    if (route_get(q, &a) == 0) under = device(a.oif);
  }
  if (under == nullptr && p.link) under = device(p.link);
  int base = under ? under->mtu : 1500;
  return std::max(kMinMtu, base - tunnel_overhead(dev));
}

void Node::update_tunnel_flags(Device& dev) {
  ConfigChange change(*this);
  if (!dev.is_ip_tunnel()) return;
  const TunnelParams& p = *dev.tunnel;
  uint32_t up = dev.flags & iff::kUp;
  dev.flags = iff::kNoArp | up;
  // ip_tunnel_bind_dev(): a unicast remote makes the device point-to-point; ipgre_tunnel_init():
  // a multicast remote makes a GRE device broadcast-capable.
  if (!p.remote.is_unspecified() && !p.remote.is_multicast()) dev.flags |= iff::kPointToPoint;
  if (dev.kind == LinkKind::Gre && p.remote.is_multicast()) dev.flags |= iff::kBroadcast;
}

void Node::load_module(const std::string& module) {
  ConfigChange change(*this);
  if (!modules_.insert(module).second) return;
  // ip_tunnel_init_net(): the module's fallback device, with no endpoints and no DF.
  auto fallback = [&](const std::string& name, LinkKind kind) {
    if (device_by_name(name)) return;
    if (!link_add(name, kind).ok()) return;
    for (auto& [ix, d] : devices_) {
      if (d.name != name) continue;
      TunnelParams p;
      p.fallback = true;
      p.pmtudisc = false;
      d.tunnel = p;
      d.mac = MacAddr();
      d.broadcast_mac = MacAddr();
      d.carrier = true;
      update_tunnel_flags(d);
      d.mtu = tunnel_bind_mtu(d);
    }
  };
  if (module == "ipip") fallback("tunl0", LinkKind::Ipip);
  if (module == "ip_gre") fallback("gre0", LinkKind::Gre);
}

int Node::unload_module(const std::string& module) {
  ConfigChange change(*this);
  if (module.rfind("ip_vs_", 0) == 0) {
    // A scheduler module is in use while a service uses it.
    if (!ipvs_) return 0;
    std::string sched = module.substr(6);
    for (const auto& s : ipvs_->services()) {
      if (s->config.scheduler == sched) return -EBUSY;
    }
    ipvs_->forget_module(module);
    return 0;
  }
  if (!modules_.count(module)) return 0;
  if (module == "ip_vs") {
    if (ipvs_ && !ipvs_->modules().empty()) return -EBUSY;
    ipvs_.reset();
  }
  if (module == "ipip" || module == "ip_gre") {
    // ipip_exit_batch_net(): every device of the module is unregistered.
    LinkKind kind = module == "ipip" ? LinkKind::Ipip : LinkKind::Gre;
    std::vector<int> victims;
    for (const auto& [ix, d] : devices_) {
      if (d.kind == kind) victims.push_back(ix);
    }
    for (int ix : victims) (void)link_del(ix, true);
  }
  modules_.erase(module);
  return 0;
}

Status Node::tunnel_add(const std::string& name, LinkKind kind, TunnelParams p) {
  ConfigChange change(*this);
  if (kind == LinkKind::Ipip) load_module("ipip");
  if (kind == LinkKind::Gre) load_module("ip_gre");
  if (kind == LinkKind::Vxlan) load_module("vxlan");
  if (p.link && device(p.link) == nullptr) return Status::error(-ENODEV);
  if (device_by_name(name)) return Status::error(-EEXIST);
  for (const auto& [ix, d] : devices_) {
    if (!d.tunnel || d.kind != kind || d.tunnel->fallback) continue;
    const TunnelParams& t = *d.tunnel;
    if (kind == LinkKind::Vxlan) {
      // vxlan_vni_in_use(): one device per VNI and UDP port.
      if (t.vni == p.vni && t.dstport == p.dstport) {
        return Status::error(-EEXIST, "A VXLAN device with the specified VNI already exists");
      }
    } else if (t.local == p.local && t.remote == p.remote && t.link == p.link && t.ikey == p.ikey) {
      return Status::error(-EEXIST);  // ip_tunnel_find()
    }
  }
  Status s = link_add(name, kind);
  if (!s.ok()) return s;
  Device& d = *device(device_by_name(name)->ifindex);
  d.tunnel = p;
  d.carrier = true;
  if (kind == LinkKind::Vxlan) {
    d.flags = iff::kBroadcast | iff::kMulticast;
    if (!p.remote.is_unspecified()) {
      // vxlan_dev_configure(): the remote becomes the all-zeros default entry.
      FdbEntry e;
      e.dst = p.remote;
      e.via = p.link;
      d.fdb.push_back(e);
    }
  } else {
    d.mac = MacAddr();
    d.broadcast_mac = MacAddr();
    update_tunnel_flags(d);
  }
  d.mtu = tunnel_bind_mtu(d);
  return {};
}

Status Node::tunnel_change(int ifindex, TunnelParams p) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr || !d->tunnel) return Status::error(-ENODEV);
  if (d->tunnel->fallback) return Status::error(-EINVAL);
  if (p.link && device(p.link) == nullptr) return Status::error(-ENODEV);
  for (const auto& [ix, o] : devices_) {
    if (ix == ifindex || !o.tunnel || o.kind != d->kind || o.tunnel->fallback) continue;
    const TunnelParams& t = *o.tunnel;
    if (t.local == p.local && t.remote == p.remote && t.link == p.link && t.ikey == p.ikey) {
      return Status::error(-EEXIST);
    }
  }
  bool rebind = p.link != d->tunnel->link;
  p.i_seqno = d->tunnel->i_seqno;
  p.o_seqno = d->tunnel->o_seqno;
  p.fallback = false;
  d->tunnel = p;
  update_tunnel_flags(*d);
  // ip_tunnel_update(): only a new underlay link recomputes the MTU.
  if (rebind) d->mtu = tunnel_bind_mtu(*d);
  return {};
}

Status Node::fdb_add(int ifindex, const FdbEntry& entry, FdbOp op) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (d->kind != LinkKind::Vxlan) return Status::error(-EOPNOTSUPP);
  auto same_mac = [&](const FdbEntry& e) { return e.mac == entry.mac; };
  auto it = std::find_if(d->fdb.begin(), d->fdb.end(), same_mac);
  FdbEntry e = entry;
  e.updated_ns = now_ns_;
  switch (op) {
    case FdbOp::Add:
      if (it != d->fdb.end()) return Status::error(-EEXIST);
      d->fdb.push_back(e);
      return {};
    case FdbOp::Append:
      // vxlan_fdb_append(): another remote for the MAC; an identical one is a no-op.
      for (const FdbEntry& x : d->fdb) {
        if (x.mac == e.mac && x.dst == e.dst && x.port == e.port && x.vni == e.vni) return {};
      }
      d->fdb.push_back(e);
      return {};
    case FdbOp::Replace:
      if (it == d->fdb.end()) {
        d->fdb.push_back(e);
      } else {
        *it = e;
      }
      return {};
  }
  return {};
}

Status Node::fdb_del(int ifindex, MacAddr mac, std::optional<Ipv4Addr> dst) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (d->kind != LinkKind::Vxlan) return Status::error(-EOPNOTSUPP);
  size_t n = std::erase_if(
      d->fdb, [&](const FdbEntry& e) { return e.mac == mac && (!dst || e.dst == *dst); });
  return n ? Status{} : Status::error(-ENOENT);
}

// ---------------------------------------------------------------- IPIP / GRE transmit

void Node::ip_tunnel_xmit(Device& dev, std::vector<std::byte> inner, Ipv4Addr nexthop) {
  TunnelParams& p = *dev.tunnel;
  wire::Ipv4ConstView in(inner);
  // A tunnel without a remote (tunl0, `remote any`) sends to the inner route's next hop.
  Ipv4Addr dst = p.remote.is_unspecified() ? nexthop : p.remote;
  if (dst.is_unspecified()) {
    ++dev.errors.tx_fifo_errors;
    ++dev.errors.tx_errors;
    drop(DropReason::TunnelNoRoute, dev.name + ": no remote and no next hop");
    return;
  }
  // TOS: fixed, or inherited (bit 0); ECN is encapsulated from the inner header (RFC 6040).
  uint8_t tos = p.tos;
  if (tos & 1) tos = in.tos();
  uint8_t inner_ecn = in.tos() & 3;
  tos = static_cast<uint8_t>((tos & ~3) | (inner_ecn == 3 ? 2 : inner_ecn));
  RouteQuery q;
  q.trace = trace_ != nullptr;
  q.dst = dst;
  q.src = p.local;
  q.oif = p.link;
  q.tos = static_cast<uint8_t>(tos & 0x1e);
  RouteAnswer route;
  int err = route_get(q, &route);
  if (err != 0) {
    ++dev.errors.tx_carrier_errors;
    ++dev.errors.tx_errors;
    drop(DropReason::TunnelNoRoute,
         fmt::format("{}: no route to remote {}: {}", dev.name, dst.to_string(), errno_text(err)));
    return;
  }
  if (route.oif == dev.ifindex) {
    ++dev.errors.collisions;
    ++dev.errors.tx_errors;
    drop(DropReason::TunnelDeadLoop,
         fmt::format("{}: the route to {} goes through the tunnel itself", dev.name,
                     dst.to_string()));
    return;
  }
  // tnl_update_pmtu(): with pmtudisc the path MTU is the underlay's minus our headers; an inner
  // DF packet larger than that gets fragmentation-needed with that MTU.
  const Device* under = device(route.oif);
  int overhead = tunnel_overhead(dev);
  int mtu = dev.mtu;
  if (p.pmtudisc && under != nullptr) {
    int under_mtu = under->mtu;
    if (route.mtu != 0) under_mtu = std::min<int>(under_mtu, static_cast<int>(route.mtu));
    mtu = under_mtu - overhead;
  }
  if (in.dont_fragment() && static_cast<int>(inner.size()) > mtu) {
    trace(TraceStage::Encap, [&] {
      return fmt::format("{}: {} bytes with DF > path mtu {} ({} - {}): fragmentation needed",
                         dev.name, inner.size(), mtu, mtu + overhead, overhead);
    });
    ++dev.errors.tx_errors;
    icmp_send(inner, 3, 4, static_cast<uint32_t>(std::max(mtu, kMinMtu)), 0, false);
    drop(DropReason::PktTooBig, fmt::format("{}: needs fragmentation, mtu {}", dev.name, mtu));
    return;
  }
  bool df = p.pmtudisc || in.dont_fragment();
  uint8_t ttl = p.ttl ? p.ttl : in.ttl();
  Ipv4Addr src = p.local.is_unspecified() ? route.prefsrc : p.local;

  size_t tun_hlen = dev.kind == LinkKind::Gre ? static_cast<size_t>(gre_header_len(p)) : 0;
  if (20 + tun_hlen + inner.size() > 65535) {
    ++dev.errors.tx_errors;
    drop(DropReason::PktTooBig, dev.name + ": encapsulated packet would exceed 65535 bytes");
    return;
  }
  std::vector<std::byte> outer(20 + tun_hlen + inner.size());
  std::memcpy(outer.data() + 20 + tun_hlen, inner.data(), inner.size());
  wire::GreRepr gre;
  if (dev.kind == LinkKind::Gre) {
    gre.protocol_type = 0x0800;
    gre.checksum = p.ocsum;
    gre.key = p.okey;
    if (p.oseq) gre.sequence_number = p.o_seqno++;
    (void)gre.emit(std::span(outer).subspan(20));
  }
  wire::Ipv4Repr ip;
  ip.source = src;
  ip.destination = dst;
  ip.protocol = dev.kind == LinkKind::Gre ? wire::IpProtocol::Gre : wire::IpProtocol::Ipip;
  ip.payload_len = static_cast<uint16_t>(tun_hlen + inner.size());
  ip.ttl = ttl;
  ip.tos = tos;
  ip.identification = ip_ident_++;
  ip.dont_fragment = df;
  if (ip.emit(outer)) {
    ++dev.errors.tx_errors;
    drop(DropReason::PktTooBig, dev.name + ": encapsulated packet exceeds 65535 bytes");
    return;
  }
  ++dev.tx_packets;
  dev.tx_bytes += inner.size();
  for (const std::string& line : route.trace) trace(TraceStage::Route, [&] { return line; });
  trace(TraceStage::Encap, [&] {
    std::string s =
        fmt::format("{} {}: outer {} -> {} proto {} ttl {} tos {:#04x}{}", dev.name,
                    dev.kind == LinkKind::Gre ? "gre" : "ipip", src.to_string(), dst.to_string(),
                    dev.kind == LinkKind::Gre ? 47 : 4, ttl, tos, df ? " DF" : "");
    if (dev.kind == LinkKind::Gre) {
      if (gre.key) s += fmt::format(" key {}", *gre.key);
      if (gre.checksum) s += " csum";
      if (gre.sequence_number) s += fmt::format(" seq {}", *gre.sequence_number);
    }
    const Device* o = device(route.oif);
    return s + fmt::format(", via {}{}", o ? o->name : "?",
                           route.gateway ? " gw " + route.gateway->to_string() : std::string());
  });
  tunnel_output(dev, std::move(outer), route);
}

void Node::tunnel_output(Device& dev, std::vector<std::byte> outer, const RouteAnswer& route) {
  if (xmit_depth_ >= kMaxXmitDepth) {
    ++dev.errors.collisions;
    drop(DropReason::TunnelDeadLoop, dev.name + ": tunnels nested too deep");
    return;
  }
  ++xmit_depth_;
  // iptunnel_xmit() -> ip_local_out(): the outer packet is a new local packet (OUTPUT and
  // POSTROUTING see it, with conntrack of its own).
  (void)ip_local_out(std::move(outer), route);
  --xmit_depth_;
}

// ---------------------------------------------------------------- IPIP / GRE receive

Device* Node::ip_tunnel_lookup(LinkKind kind, int link, Ipv4Addr remote, Ipv4Addr local,
                               std::optional<uint32_t> key, std::string* how) {
  // ip_tunnel_lookup(): exact endpoints, then remote only, then local only, then a keyed
  // wildcard tunnel, then the fallback device.  A tunnel on the packet's input link wins within
  // a pass.
  auto key_match = [&](const TunnelParams& p) { return p.ikey ? key == p.ikey : !key; };
  Device* cand = nullptr;
  const char* cand_how = "";
  auto pass = [&](auto&& pred, const char* what, bool overwrite) -> Device* {
    for (auto& [ix, d] : devices_) {
      if (d.kind != kind || !d.tunnel || !d.up()) continue;
      const TunnelParams& p = *d.tunnel;
      if (!pred(p) || !key_match(p)) continue;
      if (p.link == link) {
        *how = what;
        return &d;
      }
      if (overwrite || cand == nullptr) {
        cand = &d;
        cand_how = what;
      }
    }
    return nullptr;
  };
  if (Device* t =
          pass([&](const TunnelParams& p) { return p.local == local && p.remote == remote; },
               "remote and local match", true)) {
    return t;
  }
  if (Device* t = pass(
          [&](const TunnelParams& p) { return p.remote == remote && p.local.is_unspecified(); },
          "remote matches, local any", false)) {
    return t;
  }
  if (Device* t = pass(
          [&](const TunnelParams& p) {
            return (p.local == local && p.remote.is_unspecified()) ||
                   (local.is_multicast() && p.remote == local);
          },
          "local matches, remote any", false)) {
    return t;
  }
  if (kind == LinkKind::Gre) {
    for (auto& [ix, d] : devices_) {
      if (d.kind != kind || !d.tunnel || !d.up() || d.tunnel->fallback) continue;
      const TunnelParams& p = *d.tunnel;
      if (p.ikey.value_or(0) != key.value_or(0) || !p.local.is_unspecified() ||
          !p.remote.is_unspecified()) {
        continue;
      }
      if (p.link == link) {
        *how = "key matches, endpoints any";
        return &d;
      }
      if (cand == nullptr) {
        cand = &d;
        cand_how = "key matches, endpoints any";
      }
    }
  }
  if (cand != nullptr) {
    *how = cand_how;
    return cand;
  }
  for (auto& [ix, d] : devices_) {
    if (d.kind == kind && d.tunnel && d.tunnel->fallback && d.up()) {
      *how = "fallback device";
      return &d;
    }
  }
  return nullptr;
}

void Node::ip_tunnel_rcv(Device& in, std::vector<std::byte> packet) {
  wire::Ipv4ConstView ip(packet);
  LinkKind kind = ip.protocol() == wire::IpProtocol::Gre ? LinkKind::Gre : LinkKind::Ipip;
  const char* kind_name = kind == LinkKind::Gre ? "gre" : "ipip";
  std::span<const std::byte> inner = ip.payload();
  std::optional<uint32_t> key;
  bool has_csum = false;
  std::optional<uint32_t> seq;
  if (kind == LinkKind::Gre) {
    wire::GreConstView gre(inner);
    if (auto e = gre.check()) {
      drop(DropReason::TunnelInvalidHdr, std::string("bad GRE header: ") + wire::to_string(*e),
           &in);
      return;
    }
    if (!gre.verify_checksum()) {
      drop(DropReason::TunnelCsum, "bad GRE checksum", &in);
      return;
    }
    if (gre.protocol_type() != 0x0800) {
      drop(DropReason::TunnelInvalidHdr,
           fmt::format("GRE protocol {:#06x}: only IPv4 payloads are supported",
                       gre.protocol_type()),
           &in);
      return;
    }
    if (gre.key_present()) key = gre.key();
    has_csum = gre.checksum_present();
    if (gre.sequence_present()) seq = gre.sequence_number();
    inner = gre.payload();
  }
  std::string how;
  Device* t = ip_tunnel_lookup(kind, in.ifindex, ip.source(), ip.destination(), key, &how);
  if (t == nullptr) {
    // No tunnel claims the packet: tunnel4_rcv()/gre_rcv() answer port unreachable.
    icmp_send(packet, 3, 3, 0, in.ifindex, true);
    for (const auto& [ix, d] : devices_) {
      if (d.kind != kind || !d.tunnel || d.tunnel->fallback) continue;
      const TunnelParams& p = *d.tunnel;
      bool endpoints = (p.remote.is_unspecified() || p.remote == ip.source()) &&
                       (p.local.is_unspecified() || p.local == ip.destination());
      if (endpoints && d.up() && p.ikey != key) {
        drop(DropReason::TunnelKeyMismatch,
             fmt::format("{} from {}: key {} but {} expects key {}", kind_name,
                         ip.source().to_string(), key_text(key), d.name, key_text(p.ikey)),
             &in);
        return;
      }
    }
    drop(DropReason::TunnelNoMatch,
         fmt::format("{} from {} to {} key {}: no tunnel", kind_name, ip.source().to_string(),
                     ip.destination().to_string(), key_text(key)),
         &in);
    return;
  }
  TunnelParams& p = *t->tunnel;
  // ip_tunnel_rcv(): checksum presence must match the tunnel's icsum, then sequence order.
  if (kind == LinkKind::Gre && has_csum != p.icsum) {
    ++t->errors.rx_crc_errors;
    ++t->errors.rx_errors;
    drop(DropReason::TunnelCsum,
         fmt::format("{}: checksum {} but the tunnel {}", t->name, has_csum ? "present" : "absent",
                     p.icsum ? "requires one" : "has icsum off"),
         t);
    return;
  }
  if (p.iseq) {
    if (!seq || (p.i_seqno != 0 && static_cast<int32_t>(*seq - p.i_seqno) < 0)) {
      ++t->errors.rx_fifo_errors;
      ++t->errors.rx_errors;
      drop(DropReason::TunnelSeq,
           seq ? fmt::format("{}: sequence {} before expected {}", t->name, *seq, p.i_seqno)
               : t->name + ": no sequence number",
           t);
      return;
    }
    p.i_seqno = *seq + 1;
  }
  if (ip.destination().is_multicast()) ++t->errors.multicast;
  ++t->rx_packets;
  t->rx_bytes += inner.size();
  trace(TraceStage::Decap, [&] {
    std::string s = fmt::format("{} {}: outer {} -> {} ({}", t->name, kind_name,
                                ip.source().to_string(), ip.destination().to_string(), how);
    if (key) s += fmt::format(", key {}", *key);
    if (seq) s += fmt::format(", seq {}", *seq);
    return s + ")";
  });
  // The inner packet is received on the tunnel now (the kernel queues it through GRO cells);
  // nested tunnels are bounded as on transmit.
  if (rcv_depth_ >= kMaxXmitDepth) {
    drop(DropReason::TunnelInvalidHdr, t->name + ": tunnels nested too deep", t);
    return;
  }
  ++rcv_depth_;
  ip_rcv(*t, inner, PktType::Host);
  --rcv_depth_;
}

// ---------------------------------------------------------------- VXLAN

void Node::fdb_learn(Device& dev, MacAddr mac, Ipv4Addr remote) {
  if (mac.is_multicast() || mac.is_zero()) return;
  for (FdbEntry& e : dev.fdb) {
    if (e.mac != mac) continue;
    if (e.dst != remote && !e.permanent) {
      trace(TraceStage::Fdb, [&] {
        return fmt::format("{}: {} moved from {} to {}", dev.name, mac.to_string(),
                           e.dst.to_string(), remote.to_string());
      });
      e.dst = remote;
    }
    e.updated_ns = now_ns_;
    return;
  }
  FdbEntry e;
  e.mac = mac;
  e.dst = remote;
  e.permanent = false;
  e.updated_ns = now_ns_;
  dev.fdb.push_back(e);
  trace(TraceStage::Fdb, [&] {
    return fmt::format("{}: learned {} at {}", dev.name, mac.to_string(), remote.to_string());
  });
}

void Node::vxlan_fdb_expire(Device& dev) {
  const TunnelParams& p = *dev.tunnel;
  if (p.ageing_s == 0) return;
  uint64_t ageing_ns = static_cast<uint64_t>(p.ageing_s) * kSecondNs;
  std::erase_if(dev.fdb, [&](const FdbEntry& e) {
    return !e.permanent && now_ns_ - e.updated_ns > ageing_ns;
  });
}

uint16_t Node::vxlan_src_port(const TunnelParams& p, uint32_t hash) {
  hash ^= hash << 16;
  uint16_t lo = p.port_min, hi = p.port_max;
  if (lo >= hi) {
    lo = kEphemeralLow;
    hi = kEphemeralHigh;
  }
  return static_cast<uint16_t>(((static_cast<uint64_t>(hash) * (hi - lo)) >> 32) + lo);
}

void Node::vxlan_xmit(Device& dev, std::vector<std::byte> frame) {
  TunnelParams& p = *dev.tunnel;
  wire::EthernetConstView eth(frame);
  MacAddr dst_mac = eth.destination();
  vxlan_fdb_expire(dev);
  std::vector<FdbEntry> remotes;
  if (!dst_mac.is_multicast()) {
    for (const FdbEntry& e : dev.fdb) {
      if (e.mac == dst_mac) remotes.push_back(e);
    }
  }
  bool hit = !remotes.empty();
  if (remotes.empty()) {
    for (const FdbEntry& e : dev.fdb) {
      if (e.mac.is_zero()) remotes.push_back(e);
    }
  }
  if (remotes.empty()) {
    ++dev.tx_dropped;
    drop(DropReason::VxlanNoRemote, fmt::format("{}: no FDB entry for {} and no default remote",
                                                dev.name, dst_mac.to_string()));
    return;
  }
  trace(TraceStage::Fdb, [&] {
    std::string list;
    for (const FdbEntry& e : remotes) list += (list.empty() ? "" : ", ") + e.dst.to_string();
    return fmt::format("{}: {} {} -> {}", dev.name, dst_mac.to_string(),
                       hit ? "hit" : "miss, default remotes", list);
  });
  const uint16_t sport = vxlan_src_port(p, inner_flow_hash(frame));
  for (const FdbEntry& e : remotes) {
    RouteQuery q;
    q.trace = trace_ != nullptr;
    q.dst = e.dst;
    q.src = p.local;
    q.oif = e.via ? e.via : p.link;
    RouteAnswer route;
    int err = route_get(q, &route);
    if (err != 0) {
      ++dev.errors.tx_carrier_errors;
      ++dev.errors.tx_errors;
      drop(DropReason::TunnelNoRoute, fmt::format("{}: no route to VTEP {}: {}", dev.name,
                                                  e.dst.to_string(), errno_text(err)));
      continue;
    }
    if (route.oif == dev.ifindex) {
      ++dev.errors.collisions;
      ++dev.errors.tx_errors;
      drop(DropReason::TunnelDeadLoop,
           fmt::format("{}: the route to {} goes through the device itself", dev.name,
                       e.dst.to_string()));
      continue;
    }
    Ipv4Addr src = p.local.is_unspecified() ? route.prefsrc : p.local;
    uint16_t dport = e.port ? e.port : p.dstport;
    uint32_t vni = e.vni ? e.vni : p.vni;
    size_t udp_len = 8 + wire::VxlanRepr::buffer_len() + frame.size();
    if (20 + udp_len > 65535) {
      ++dev.errors.tx_errors;
      drop(DropReason::PktTooBig, dev.name + ": encapsulated frame would exceed 65535 bytes");
      return;
    }
    std::vector<std::byte> outer(20 + udp_len);
    std::span<std::byte> udp = std::span(outer).subspan(20);
    (void)wire::VxlanRepr{vni}.emit(udp.subspan(8));
    std::memcpy(udp.data() + 16, frame.data(), frame.size());
    wire::UdpRepr u{sport, dport, static_cast<uint16_t>(udp_len - 8)};
    (void)u.emit(udp, src, e.dst);
    if (!p.udpcsum) wire::store_be16(udp, 6, 0);
    wire::Ipv4Repr ip;
    ip.source = src;
    ip.destination = e.dst;
    ip.protocol = wire::IpProtocol::Udp;
    ip.payload_len = static_cast<uint16_t>(udp_len);
    ip.ttl = p.ttl ? p.ttl : static_cast<uint8_t>(sysctls_.global("ip_default_ttl"));
    ip.tos = static_cast<uint8_t>(p.tos & ~1);
    ip.identification = ip_ident_++;
    ip.dont_fragment = false;
    if (ip.emit(outer)) continue;
    for (const std::string& line : route.trace) trace(TraceStage::Route, [&] { return line; });
    trace(TraceStage::Encap, [&] {
      const Device* o = device(route.oif);
      return fmt::format("{} vxlan: vni {} outer {}:{} -> {}:{} ttl {}, via {}", dev.name, vni,
                         src.to_string(), sport, e.dst.to_string(), dport, ip.ttl,
                         o ? o->name : "?");
    });
    tunnel_output(dev, std::move(outer), route);
  }
}

bool Node::vxlan_rcv(Device& in, std::span<const std::byte> packet) {
  wire::Ipv4ConstView ip(packet);
  wire::UdpConstView udp(ip.payload());
  uint16_t dport = udp.destination_port();
  // The VXLAN sockets: devices listening on this port (and this local address, if bound).
  bool listening = false;
  for (const auto& [ix, d] : devices_) {
    if (d.kind == LinkKind::Vxlan && d.tunnel && d.up() && d.tunnel->dstport == dport &&
        (d.tunnel->local.is_unspecified() || d.tunnel->local == ip.destination())) {
      listening = true;
    }
  }
  if (!listening) return false;
  auto payload = udp.payload();
  wire::VxlanConstView vx(payload);
  if (auto e = vx.check()) {
    drop(DropReason::VxlanInvalidHdr, std::string("bad VXLAN header: ") + wire::to_string(*e), &in);
    return true;
  }
  Device* dev = nullptr;
  for (auto& [ix, d] : devices_) {
    if (d.kind == LinkKind::Vxlan && d.tunnel && d.up() && d.tunnel->dstport == dport &&
        d.tunnel->vni == vx.vni() &&
        (d.tunnel->local.is_unspecified() || d.tunnel->local == ip.destination())) {
      dev = &d;
      break;
    }
  }
  if (dev == nullptr) {
    drop(DropReason::VxlanVniNotFound, fmt::format("no VXLAN device for VNI {}", vx.vni()), &in);
    return true;
  }
  auto frame = vx.payload();
  wire::EthernetConstView eth(frame);
  if (eth.check()) {
    drop(DropReason::PktTooSmall, dev->name + ": truncated inner frame", dev);
    return true;
  }
  if (eth.source() == dev->mac) {
    drop(DropReason::VxlanInvalidHdr, dev->name + ": inner source is our own MAC", dev);
    return true;
  }
  trace(TraceStage::Decap, [&] {
    return fmt::format("{} vxlan: vni {} from {}:{}, inner {} -> {}", dev->name, vx.vni(),
                       ip.source().to_string(), udp.source_port(), eth.source().to_string(),
                       eth.destination().to_string());
  });
  if (dev->tunnel->learning) fdb_learn(*dev, eth.source(), ip.source());
  pending_rx_.emplace_back(dev->ifindex, std::vector<std::byte>(frame.begin(), frame.end()));
  return true;
}

}  // namespace vnet::stack
