// IPVS in the packet path (net/netfilter/ipvs/ip_vs_core.c and ip_vs_xmit.c): the LOCAL_IN hook
// that schedules a client's new connection to a virtual service and forwards its packets to
// the chosen real server (IPIP/GUE/GRE tunnel, direct routing, or NAT), and the FORWARD hook
// that rewrites a NAT real server's replies back to the virtual address.
//
// The connection table, schedulers and counters live in lb/; this file parses packets, routes,
// encapsulates, rewrites and records what it decided for `vnet trace`.  Packets IPVS forwards
// are untracked (ip_vs_notrack()): netfilter's POSTROUTING does not see them, except a
// tunnel's outer packet, which leaves as a new local packet.
#include <fmt/format.h>

#include <bit>
#include <cstdio>
#include <cstring>

#include "lb/conn_table.h"
#include "lb/ipvs_table.h"
#include "nf/nat_packet.h"
#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/gre.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::stack {

namespace {

constexpr uint64_t kSecond = 1'000'000'000;

}  // namespace

// The client side of a TCP/UDP datagram: ports, and for TCP the flags the state machine uses.
struct IpvsFlow {
  uint8_t protocol = 0;
  Ipv4Addr saddr, daddr;
  uint16_t sport = 0, dport = 0;
  lb::TcpFlagsSeen flags;
  bool ok = false;  // the transport header is present
};

namespace {

IpvsFlow parse_l4(std::span<const std::byte> packet) {
  IpvsFlow l;
  wire::Ipv4ConstView ip(packet);
  l.protocol = static_cast<uint8_t>(ip.protocol());
  l.saddr = ip.source();
  l.daddr = ip.destination();
  auto p = ip.payload();
  if (l.protocol == lb::kProtoTcp) {
    if (p.size() < 20) return l;
    wire::TcpConstView t(p);
    l.sport = t.source_port();
    l.dport = t.destination_port();
    l.flags = {t.syn(), t.fin(), t.ack(), t.rst()};
    l.ok = true;
  } else if (l.protocol == lb::kProtoUdp || l.protocol == lb::kProtoSctp) {
    if (p.size() < 8) return l;
    l.sport = wire::load_be16(p, 0);
    l.dport = wire::load_be16(p, 2);
    l.ok = true;
  }
  return l;
}

// An ICMP error (destination unreachable, source quench, time exceeded) with the quoted
// datagram's IPv4 header and 8 bytes after it: its type and the quote, or type 0.
struct QuotedError {
  uint8_t type = 0;
  std::span<const std::byte> quoted;
};

QuotedError quoted_error(std::span<const std::byte> packet) {
  auto icmp = wire::Ipv4ConstView(packet).payload();
  if (icmp.size() < 8 + 20) return {};
  uint8_t type = static_cast<uint8_t>(icmp[0]);
  if (type != 3 && type != 4 && type != 11) return {};
  auto quoted = icmp.subspan(8);
  wire::Ipv4ConstView q(quoted);
  if (q.check_header() || quoted.size() < q.header_len_bytes() + 8) return {};
  return {type, quoted};
}

const char* proto_label(uint8_t p) {
  return p == lb::kProtoTcp ? "TCP" : p == lb::kProtoUdp ? "UDP" : "SCTP";
}

const char* method_label(uint32_t fwd) {
  switch (fwd) {
    case lb::kConnMasq:
      return "Masq";
    case lb::kConnLocalNode:
      return "Local";
    case lb::kConnTunnel:
      return "Tunnel";
    case lb::kConnDroute:
      return "Route";
    default:
      return "Bypass";
  }
}

std::string flow_label(const IpvsFlow& l) {
  return fmt::format("{} {}:{} -> {}:{}", proto_label(l.protocol), l.saddr.to_string(), l.sport,
                     l.daddr.to_string(), l.dport);
}

std::string service_label(const lb::Service& s) {
  const lb::ServiceKey& k = s.config.key;
  if (k.fwmark != 0) return fmt::format("FWM {} {}", k.fwmark, s.config.scheduler);
  return fmt::format("{} {}:{} {}", proto_label(k.protocol), k.addr.to_string(), k.port,
                     s.config.scheduler);
}

// The UDP checksum after NAT: IPVS fills in a checksum the datagram did not have.
void fix_udp_checksum(std::vector<std::byte>& packet) {
  wire::Ipv4View ip(packet);
  if (ip.protocol() != wire::IpProtocol::Udp) return;
  auto udp = ip.payload();
  if (udp.size() < 8 || wire::load_be16(udp, 6) != 0) return;
  uint16_t len = wire::load_be16(udp, 4);
  if (len < 8 || len > udp.size()) return;
  uint16_t sum = wire::internet_checksum(
      udp.first(len),
      wire::pseudo_header_sum(ip.source(), ip.destination(), wire::IpProtocol::Udp, len));
  wire::store_be16(udp, 6, sum == 0 ? 0xffff : sum);
}

// A flow hash for the GUE source port (udp_flow_src_port() maps skb_get_hash() into the
// local port range; the kernel's hash is keyed randomly, vnet's is fixed).
uint32_t flow_hash(const IpvsFlow& l) {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (uint64_t v : {uint64_t{l.saddr.value()}, uint64_t{l.daddr.value()},
                     (uint64_t{l.sport} << 16) | l.dport, uint64_t{l.protocol}}) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

void Node::ipvs_count_in(lb::Connection& c, size_t len) {
  // ip_vs_in_stats(): only while the real server is in its service.
  if (!c.dest || !c.dest->available || c.dest->svc == nullptr) return;
  for (lb::Stats* s : {&c.dest->stats, &c.dest->svc->stats, &ipvs_->total_stats()}) {
    ++s->inpkts;
    s->inbytes += len;
  }
}

void Node::ipvs_count_out(lb::Connection& c, size_t len) {
  if (!c.dest || !c.dest->available || c.dest->svc == nullptr) return;
  for (lb::Stats* s : {&c.dest->stats, &c.dest->svc->stats, &ipvs_->total_stats()}) {
    ++s->outpkts;
    s->outbytes += len;
  }
}

void Node::ipvs_set_state(lb::Connection& c, lb::ConnDirection dir, const IpvsFlow& l4) {
  lb::TcpConnState before = c.tcp_state();
  if (l4.protocol == lb::kProtoTcp) {
    ipvs_->conns().set_tcp_state(c, dir, l4.flags, ipvs_->sysctls().secure_tcp > 1);
  } else {
    ipvs_->conns().set_udp_state(c, dir);
  }
  trace(TraceStage::Ipvs, [&] {
    if (l4.protocol != lb::kProtoTcp) {
      return fmt::format("conn UDP, expires in {} s", c.timeout_ns / kSecond);
    }
    return fmt::format("conn {} -> {}, expires in {} s", lb::tcp_state_name(before),
                       lb::tcp_state_name(c.tcp_state()), c.timeout_ns / kSecond);
  });
}

lb::Connection* Node::ipvs_schedule(lb::Service& svc, const IpvsFlow& l4, bool* leave) {
  // ip_vs_schedule() / ip_vs_sched_persist()
  *leave = false;
  lb::IpvsTable& t = *ipvs_;
  const lb::ServiceConfig& cfg = svc.config;
  if (l4.sport == 20) {
    trace(TraceStage::Ipvs, [] { return std::string("not scheduling FTPDATA"); });
    return nullptr;
  }
  lb::SchedPacket sp{l4.saddr, l4.daddr, l4.sport, l4.dport, l4.protocol, now_ns_};
  auto count_conn = [&](lb::RealServer& d) {  // ip_vs_conn_stats()
    ++d.stats.conns;
    ++svc.stats.conns;
    ++t.total_stats().conns;
  };
  auto pick = [&]() -> lb::RealServer* {
    lb::Dest* d = svc.scheduler->schedule(svc.dests, sp);
    return static_cast<lb::RealServer*>(d);
  };
  uint32_t flags = 0;
  if ((cfg.flags & lb::kSvcOnePacket) && l4.protocol == lb::kProtoUdp) flags = lb::kConnOnePacket;
  lb::ConnKey key{l4.protocol, l4.saddr, l4.daddr, l4.sport, l4.dport};
  if (cfg.flags & lb::kSvcPersistent) {
    // Templates: <caddr & netmask, vaddr, vport> (vport 0 for port-0, fwmark and FTP services;
    // a fwmark template is protocol 0 with the mark as its address).
    lb::ConnKey tk;
    tk.caddr = Ipv4Addr(l4.saddr.value() & cfg.netmask);
    if (cfg.key.fwmark == 0 && l4.dport == cfg.key.port) {
      tk.protocol = l4.protocol;
      tk.vaddr = l4.daddr;
      tk.vport = cfg.key.port != 21 ? l4.dport : 0;
    } else if (cfg.key.fwmark != 0) {
      tk.protocol = 0;
      tk.vaddr = Ipv4Addr(cfg.key.fwmark);
    } else {
      tk.protocol = l4.protocol;
      tk.vaddr = l4.daddr;
    }
    lb::Connection* ct = t.conns().template_get(tk);
    if (ct) {
      // ip_vs_check_template()
      bool valid = ct->dest && ct->dest->available &&
                   !(t.sysctls().expire_quiescent_template && ct->dest->weight == 0);
      if (!valid) {
        trace(TraceStage::Ipvs, [&] {
          return fmt::format("persistence template for {} to {} is stale: rescheduling",
                             tk.caddr.to_string(), ct->daddr.to_string());
        });
        t.conns().invalidate_template(*ct);
        ct = nullptr;
      }
    }
    if (ct == nullptr) {
      lb::RealServer* d = pick();
      if (d == nullptr) {
        *leave = true;
        return nullptr;
      }
      uint16_t tdport = (l4.dport == cfg.key.port && cfg.key.port != 21) ? d->port : 0;
      ct = t.conns().create(tk, d->addr, tdport, lb::kConnTemplate | d->conn_flags(), svc.share(d),
                            cfg.key.fwmark, now_ns_);
      ct->timeout_ns = uint64_t{cfg.timeout_s} * kSecond;
      trace(TraceStage::Ipvs, [&] {
        return fmt::format("persistence template {}/{} -> {}, {} s", tk.caddr.to_string(),
                           std::popcount(cfg.netmask), d->addr.to_string(), cfg.timeout_s);
      });
    } else {
      trace(TraceStage::Ipvs, [&] {
        return fmt::format("persistence template {} -> {} (expires in {} s)", tk.caddr.to_string(),
                           ct->daddr.to_string(),
                           (ct->expires_ns - std::min(ct->expires_ns, now_ns_)) / kSecond);
      });
    }
    std::shared_ptr<lb::RealServer> dest = ct->dest;
    uint16_t dport = l4.dport;
    if (l4.dport == cfg.key.port && dest->port != 0) dport = dest->port;
    lb::Connection* c =
        t.conns().create(key, dest->addr, dport, dest->conn_flags() | flags, dest, 0, now_ns_);
    lb::ConnTable::control_add(*c, *ct);
    t.conns().put(*ct, now_ns_);
    count_conn(*dest);
    return c;
  }
  if (cfg.key.fwmark == 0 && l4.dport != cfg.key.port) {
    trace(TraceStage::Ipvs,
          [] { return std::string("port zero only supported in persistent services"); });
    *leave = true;
    return nullptr;
  }
  lb::RealServer* d = pick();
  if (d == nullptr) {
    *leave = true;
    return nullptr;
  }
  std::shared_ptr<lb::RealServer> dest = svc.share(d);
  uint16_t dport = d->port != 0 ? d->port : l4.dport;
  lb::Connection* c =
      t.conns().create(key, d->addr, dport, d->conn_flags() | flags, dest, 0, now_ns_);
  count_conn(*d);
  return c;
}

Node::IpvsVerdict Node::ipvs_in(Device& in, std::vector<std::byte>& packet) {
  // ip_vs_in_hook() at LOCAL_IN, priority 99.
  if (!ipvs_ || !ipvs_->active()) return IpvsVerdict::Accept;
  lb::IpvsTable& t = *ipvs_;
  t.estimate_until(now_ns_);
  wire::Ipv4ConstView ip(packet);
  if (ip.protocol() == wire::IpProtocol::Icmp) return ipvs_in_icmp(in, packet);
  uint8_t proto = static_cast<uint8_t>(ip.protocol());
  if (proto != lb::kProtoTcp && proto != lb::kProtoUdp) return IpvsVerdict::Accept;
  IpvsFlow l4 = parse_l4(packet);
  if (!l4.ok) {
    drop(DropReason::IpvsDrop, "IPVS: truncated transport header", &in);
    return IpvsVerdict::Stolen;
  }
  lb::ConnKey key{proto, l4.saddr, l4.daddr, l4.sport, l4.dport};
  lb::Connection* c = t.conns().in_get(key);
  const lb::IpvsSysctls& sys = t.sysctls();
  if (c && proto == lb::kProtoTcp && l4.flags.syn) {
    // Port reuse: a SYN for an entry that is finishing (conn_reuse_mode), or whose server was
    // quiesced (expire_nodest_conn), starts a new connection.
    bool resched = false;
    const char* why = "";
    if (sys.expire_nodest_conn && c->dest && c->dest->weight == 0) {
      resched = true;
      why = "its real server has weight 0 (expire_nodest_conn)";
    } else if (sys.conn_reuse_mode != 0 && c->control == nullptr) {
      lb::TcpConnState s = c->tcp_state();
      if (s == lb::TcpConnState::TimeWait || s == lb::TcpConnState::Close ||
          ((sys.conn_reuse_mode & 2) && s == lb::TcpConnState::FinWait &&
           (c->flags & lb::kConnNoOutput))) {
        resched = true;
        why = "the old connection is closing (conn_reuse_mode)";
      }
    }
    if (resched) {
      trace(TraceStage::Ipvs, [&] {
        return fmt::format("{}: SYN reuses the port of a {} connection to {}: rescheduling, {}",
                           flow_label(l4), lb::tcp_state_name(c->tcp_state()), c->daddr.to_string(),
                           why);
      });
      if (c->n_control == 0) t.conns().expire_now(*c, now_ns_);
      c = nullptr;
    }
  }
  if (c && c->dest && !c->dest->available) {
    if (sys.expire_nodest_conn) {
      trace(TraceStage::Ipvs, [&] {
        return fmt::format("{}: real server {} was removed: connection expired, rescheduling",
                           flow_label(l4), c->daddr.to_string());
      });
      t.conns().expire_now(*c, now_ns_);
      c = nullptr;
    } else {
      drop(DropReason::IpvsDestUnavailable,
           fmt::format("IPVS: {}: real server {}:{} was removed (expire_nodest_conn=0)",
                       flow_label(l4), c->daddr.to_string(), c->dport),
           &in);
      return IpvsVerdict::Stolen;
    }
  }
  if (c == nullptr) {
    // tcp_conn_schedule() / udp_conn_schedule()
    if (proto == lb::kProtoTcp && (l4.flags.rst || !(sys.sloppy_tcp || l4.flags.syn))) {
      return IpvsVerdict::Accept;
    }
    lb::Service* svc = t.service_for(0, proto, l4.daddr, l4.dport);
    if (svc == nullptr) return IpvsVerdict::Accept;
    bool leave = false;
    c = ipvs_schedule(*svc, l4, &leave);
    if (c == nullptr) {
      if (!leave) return IpvsVerdict::Accept;
      // ip_vs_leave(): no real server can take it.
      if (svc->config.key.port == 21 && l4.dport != 21) return IpvsVerdict::Accept;
      trace(TraceStage::Ipvs, [&] {
        return fmt::format("{}: service {}: no destination available", flow_label(l4),
                           service_label(*svc));
      });
      icmp_send(packet, 3, 3, 0, in.ifindex, true);
      drop(DropReason::IpvsNoDest,
           fmt::format("IPVS: {}: no destination available", service_label(*svc)), &in);
      return IpvsVerdict::Stolen;
    }
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("{}: service {} scheduled {}:{} ({}, weight {}, {} active {} inactive)",
                         flow_label(l4), service_label(*svc), c->daddr.to_string(), c->dport,
                         method_label(c->fwd()), c->dest->weight, c->dest->activeconns,
                         c->dest->inactconns);
    });
  } else {
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("{}: connection to {}:{} ({})", flow_label(l4), c->daddr.to_string(),
                         c->dport, method_label(c->fwd()));
    });
  }
  ipvs_count_in(*c, packet.size());
  ipvs_set_state(*c, lb::ConnDirection::Input, l4);
  IpvsVerdict v = ipvs_xmit(*c, in, packet);
  ++c->in_pkts;
  t.conns().put(*c, now_ns_);
  return v;
}

bool Node::ipvs_route(Ipv4Addr daddr, RouteAnswer* route) {
  RouteQuery q;
  q.trace = trace_ != nullptr;
  q.dst = daddr;
  int err = route_get(q, route);
  for (const std::string& line : route->trace) trace(TraceStage::Route, [&] { return line; });
  if (err != 0) {
    drop(DropReason::IpvsXmit,
         fmt::format("IPVS: no route to real server {}: {}", daddr.to_string(), errno_text(err)));
    return false;
  }
  return true;
}

bool Node::ipvs_decrease_ttl(std::vector<std::byte>& packet, int in_ifindex) {
  wire::Ipv4View ip(packet);
  if (ip.ttl() <= 1) {
    // __ip_vs_get_out_rt()'s decrement_ttl(): sent while the packet's input route (to the
    // local VIP) is still attached, so from the VIP.
    icmp_send(packet, 11, 0, 0, in_ifindex, true);
    drop(DropReason::TtlExpired, "IPVS: TTL exceeded on the way to the real server");
    return false;
  }
  ip.set_ttl(static_cast<uint8_t>(ip.ttl() - 1));
  return true;
}

bool Node::ipvs_mtu_ok(std::vector<std::byte>& packet, uint32_t mtu, Device& in) {
  if (!wire::Ipv4ConstView(packet).dont_fragment() || packet.size() <= mtu) return true;
  trace(TraceStage::Ipvs, [&] {
    return fmt::format("{} bytes with DF > mtu {}: fragmentation needed", packet.size(), mtu);
  });
  icmp_send(packet, 3, 4, mtu, in.ifindex, true);
  drop(DropReason::PktTooBig, fmt::format("IPVS: needs fragmentation, mtu {}", mtu), &in);
  return false;
}

Node::IpvsVerdict Node::ipvs_xmit(lb::Connection& c, Device& in, std::vector<std::byte>& packet) {
  switch (c.fwd()) {
    case lb::kConnLocalNode:
      return IpvsVerdict::Accept;  // ip_vs_null_xmit(): this node serves it
    case lb::kConnTunnel:
      return ipvs_tunnel_xmit(c, in, packet);
    case lb::kConnDroute:
      return ipvs_dr_xmit(c, in, packet);
    case lb::kConnMasq:
      return ipvs_nat_xmit(c, in, packet);
    default:
      drop(DropReason::IpvsDrop, "IPVS: bypass connections are not supported", &in);
      return IpvsVerdict::Stolen;
  }
}

Node::IpvsVerdict Node::ipvs_tunnel_xmit(lb::Connection& c, Device& in,
                                         std::vector<std::byte>& packet) {
  // ip_vs_tunnel_xmit()
  RouteAnswer route;
  if (!ipvs_route(c.daddr, &route)) return IpvsVerdict::Stolen;
  if (route.local) {
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("real server {} is this node: local delivery", c.daddr.to_string());
    });
    return IpvsVerdict::Accept;
  }
  const lb::RealServer* dest = c.dest.get();
  lb::TunnelType type = dest ? dest->tun_type : lb::TunnelType::Ipip;
  uint8_t tun_flags = dest ? dest->tun_flags : uint8_t{lb::kTunNoCsum};
  size_t tun_hlen = 0;
  if (type == lb::TunnelType::Gue) tun_hlen = 8 + 4;
  if (type == lb::TunnelType::Gre) tun_hlen = (tun_flags & lb::kTunCsum) ? 8 : 4;
  const Device* out = device(route.oif);
  int mtu = static_cast<int>(route_mtu(route)) - 20 - static_cast<int>(tun_hlen);
  if (mtu < 68) {
    drop(DropReason::IpvsXmit, fmt::format("IPVS: tunnel mtu {} too small", mtu), &in);
    return IpvsVerdict::Stolen;
  }
  if (!ipvs_decrease_ttl(packet, in.ifindex)) return IpvsVerdict::Stolen;
  wire::Ipv4ConstView inner(packet);
  // The route's MTU less the tunnel's headers; with pmtu_disc=0 the packet goes without DF
  // and is fragmented instead.
  bool pmtu_disc = ipvs_->sysctls().pmtu_disc != 0;
  if (pmtu_disc && !ipvs_mtu_ok(packet, static_cast<uint32_t>(mtu), in)) {
    return IpvsVerdict::Stolen;
  }
  bool df = pmtu_disc && inner.dont_fragment();
  uint8_t tos = inner.tos();
  if ((tos & 3) == 3) tos = static_cast<uint8_t>((tos & ~3) | 2);  // INET_ECN_encapsulate
  uint8_t ttl = inner.ttl();
  Ipv4Addr src = route.prefsrc;
  if (20 + tun_hlen + packet.size() > 65535) {
    drop(DropReason::PktTooBig, "IPVS: encapsulated packet would exceed 65535 bytes", &in);
    return IpvsVerdict::Stolen;
  }
  std::vector<std::byte> outer(20 + tun_hlen + packet.size());
  std::memcpy(outer.data() + 20 + tun_hlen, packet.data(), packet.size());
  wire::IpProtocol next = wire::IpProtocol::Ipip;
  std::string how = "ipip";
  if (type == lb::TunnelType::Gue) {
    // UDP, then the 4-byte GUE header: version 0, hlen 0, proto_ctype 4 (IPIP), flags 0.
    IpvsFlow flow = parse_l4(packet);
    uint32_t lo = 32768, hi = 60999;
    if (auto r = sysctls_.get("net.ipv4.ip_local_port_range")) {
      unsigned a = 0, b = 0;
      if (std::sscanf(r->c_str(), "%u %u", &a, &b) == 2 && a < b) {
        lo = a;
        hi = b;
      }
    }
    uint16_t sport = static_cast<uint16_t>(((uint64_t{flow_hash(flow)} * (hi - lo)) >> 32) + lo);
    auto udp = std::span(outer).subspan(20);
    uint16_t ulen = static_cast<uint16_t>(8 + 4 + packet.size());
    wire::store_be16(udp, 0, sport);
    wire::store_be16(udp, 2, dest ? dest->tun_port : 0);
    wire::store_be16(udp, 4, ulen);
    wire::store_be16(udp, 6, 0);
    udp[8] = std::byte{0};
    udp[9] = std::byte{4};
    udp[10] = std::byte{0};
    udp[11] = std::byte{0};
    if (tun_flags & (lb::kTunCsum | lb::kTunRemCsum)) {
      uint16_t sum = wire::internet_checksum(
          udp.first(ulen), wire::pseudo_header_sum(src, c.daddr, wire::IpProtocol::Udp, ulen));
      wire::store_be16(udp, 6, sum == 0 ? 0xffff : sum);
    }
    next = wire::IpProtocol::Udp;
    how = fmt::format("gue sport {} dport {}{}", sport, dest ? dest->tun_port : 0,
                      (tun_flags & (lb::kTunCsum | lb::kTunRemCsum)) ? " csum" : "");
  } else if (type == lb::TunnelType::Gre) {
    wire::GreRepr gre;
    gre.protocol_type = 0x0800;
    gre.checksum = (tun_flags & lb::kTunCsum) != 0;
    (void)gre.emit(std::span(outer).subspan(20));
    next = wire::IpProtocol::Gre;
    how = gre.checksum ? "gre csum" : "gre";
  }
  wire::Ipv4Repr o;
  o.source = src;
  o.destination = c.daddr;
  o.protocol = next;
  o.payload_len = static_cast<uint16_t>(tun_hlen + packet.size());
  o.ttl = ttl;
  o.tos = tos;
  o.dont_fragment = df;
  o.identification = df ? 0 : ip_ident_++;
  (void)o.emit(outer);
  trace(TraceStage::Encap, [&] {
    return fmt::format("IPVS {}: outer {} -> {} ttl {} tos {:#04x}{}, via {}{}", how,
                       src.to_string(), c.daddr.to_string(), ttl, tos, df ? " DF" : "",
                       out ? out->name : "?",
                       route.gateway ? " gw " + route.gateway->to_string() : std::string());
  });
  (void)ip_local_out(std::move(outer), route);
  return IpvsVerdict::Stolen;
}

Node::IpvsVerdict Node::ipvs_dr_xmit(lb::Connection& c, Device& in,
                                     std::vector<std::byte>& packet) {
  // ip_vs_dr_xmit(): the packet keeps the virtual address; the real server's own MAC is the
  // next hop (FLOWI_FLAG_KNOWN_NH).
  RouteAnswer route;
  if (!ipvs_route(c.daddr, &route)) return IpvsVerdict::Stolen;
  if (route.local) return IpvsVerdict::Accept;
  if (!ipvs_decrease_ttl(packet, in.ifindex)) return IpvsVerdict::Stolen;
  if (!ipvs_mtu_ok(packet, route_mtu(route), in)) return IpvsVerdict::Stolen;
  const Device* out = device(route.oif);
  wire::Ipv4ConstView ip(packet);
  route.gateway = c.daddr;
  trace(TraceStage::Ipvs, [&] {
    return fmt::format("direct routing to {} via {} (destination stays {})", c.daddr.to_string(),
                       out ? out->name : "?", ip.destination().to_string());
  });
  nf::PacketCt ct;
  ip_output(std::move(packet), route, ct, true);
  return IpvsVerdict::Stolen;
}

Node::IpvsVerdict Node::ipvs_nat_xmit(lb::Connection& c, Device& in,
                                      std::vector<std::byte>& packet) {
  // ip_vs_nat_xmit(): DNAT to the real server.
  RouteAnswer route;
  if (!ipvs_route(c.daddr, &route)) return IpvsVerdict::Stolen;
  if (route.local && (c.daddr.value() >> 24) == 127) {
    drop(DropReason::IpvsXmit, "IPVS: stopping DNAT to loopback address", &in);
    return IpvsVerdict::Stolen;
  }
  if (!route.local) {
    if (!ipvs_decrease_ttl(packet, in.ifindex)) return IpvsVerdict::Stolen;
    if (!ipvs_mtu_ok(packet, route_mtu(route), in)) return IpvsVerdict::Stolen;
  }
  nf::Tuple target;
  target.dst = c.daddr;
  target.dst_key = c.dport;
  target.protocol = c.key.protocol;
  nf::manip_packet(packet, target, nf::Manip::Dst, false);
  fix_udp_checksum(packet);
  trace(TraceStage::Ipvs, [&] {
    return fmt::format("DNAT {}:{} -> {}:{}", c.key.vaddr.to_string(), c.key.vport,
                       c.daddr.to_string(), c.dport);
  });
  if (route.local) return IpvsVerdict::Accept;
  nf::PacketCt ct;
  ip_output(std::move(packet), route, ct, true);
  return IpvsVerdict::Stolen;
}

Node::IpvsVerdict Node::ipvs_in_icmp(Device& in, std::vector<std::byte>& packet) {
  // ip_vs_in_icmp(): an ICMP error about a packet of an IPVS connection.
  const QuotedError err = quoted_error(packet);
  if (err.type == 0) return IpvsVerdict::Accept;
  const uint8_t type = err.type;
  const std::span<const std::byte> quoted = err.quoted;
  auto icmp = wire::Ipv4ConstView(packet).payload();
  wire::Ipv4ConstView q(quoted);
  size_t qhl = q.header_len_bytes();
  uint8_t qproto = static_cast<uint8_t>(q.protocol());
  // An error about one of our tunnel packets (IPIP, GRE, or GUE on UDP): the quoted packet's
  // payload, after the tunnel header, is the client's own packet.
  auto tunnel_inner = [&]() -> std::span<const std::byte> {
    if (!is_local_address(q.source())) return {};
    auto after = quoted.subspan(qhl);
    if (qproto == 4) return after;
    if (qproto == 47 && after.size() >= 4) {
      uint16_t flags = wire::load_be16(after, 0);
      if (wire::load_be16(after, 2) != 0x0800 || (flags & 0x7fff) != 0) return {};
      size_t hlen = (flags & 0x8000) ? 8 : 4;
      return after.size() >= hlen ? after.subspan(hlen) : std::span<const std::byte>{};
    }
    if (qproto == lb::kProtoUdp && after.size() >= 12 && static_cast<uint8_t>(after[9]) == 4 &&
        (static_cast<uint8_t>(after[8]) & 0xc0) == 0) {
      // GUE to a real server's --tun-port.
      uint16_t dport = wire::load_be16(after, 2);
      for (const auto& svc : ipvs_->services()) {
        for (const lb::Dest* d : svc->dests) {
          const auto* r = static_cast<const lb::RealServer*>(d);
          if (r->addr != q.destination() || r->tun_type != lb::TunnelType::Gue ||
              r->tun_port != dport) {
            continue;
          }
          size_t hlen = 8 + 4 + 4u * (static_cast<uint8_t>(after[8]) & 0x1f);
          return after.size() >= hlen ? after.subspan(hlen) : std::span<const std::byte>{};
        }
      }
    }
    return {};
  };
  if (auto inner = tunnel_inner(); !inner.empty()) {
    wire::Ipv4ConstView iq(inner);
    if (iq.check_header() || inner.size() < iq.header_len_bytes() + 8) {
      return IpvsVerdict::Accept;
    }
    IpvsFlow l = parse_l4(inner);
    lb::Connection* c =
        ipvs_->conns().in_get(lb::ConnKey{l.protocol, l.saddr, l.daddr, l.sport, l.dport});
    if (c == nullptr || c->daddr != q.destination()) return IpvsVerdict::Accept;
    uint8_t code = static_cast<uint8_t>(icmp[1]);
    uint32_t info = 0;
    if (type == 3 && code == 4) {
      uint32_t mtu = wire::load_be16(icmp, 6);
      update_pmtu(q.destination(), mtu);
      if (!iq.dont_fragment()) {
        // The client's packet may be fragmented: nothing to tell it.
        drop(DropReason::IpvsDrop, "IPVS: tunnel fragmentation-needed for a non-DF packet", &in);
        return IpvsVerdict::Stolen;
      }
      // Only the outer IP header is taken off, whatever the tunnel (as ip_vs_in_icmp() does).
      if (mtu > 88) mtu -= 20;
      info = mtu;
    }
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("ICMP {}/{} about the tunnel to {}: relayed to client {}", type, code,
                         q.destination().to_string(), l.saddr.to_string());
    });
    ipvs_count_out(*c, packet.size());
    icmp_send(inner, type, code, info, in.ifindex, true);
    drop(DropReason::IpvsDrop, "IPVS: tunnel ICMP error consumed after relaying", &in);
    return IpvsVerdict::Stolen;
  }
  if (qproto != lb::kProtoTcp && qproto != lb::kProtoUdp) return IpvsVerdict::Accept;
  // The quoted packet went from the virtual address to the client.
  IpvsFlow l = parse_l4(quoted);
  lb::Connection* c =
      ipvs_->conns().in_get(lb::ConnKey{l.protocol, l.daddr, l.saddr, l.dport, l.sport});
  if (c == nullptr) return IpvsVerdict::Accept;
  ipvs_count_in(*c, packet.size());
  trace(TraceStage::Ipvs, [&] {
    return fmt::format("ICMP type {} about {}: for the connection to {} ({})", type, flow_label(l),
                       c->daddr.to_string(), method_label(c->fwd()));
  });
  if (c->fwd() != lb::kConnMasq) {
    IpvsVerdict v = ipvs_xmit(*c, in, packet);
    ipvs_->conns().put(*c, now_ns_);
    return v;
  }
  // NAT: the error goes to the real server, quoting its own packet.
  RouteAnswer route;
  if (!ipvs_route(c->daddr, &route)) return IpvsVerdict::Stolen;
  nf::Tuple inner_target, outer_target;
  inner_target.src = c->daddr;
  inner_target.src_key = c->dport;
  inner_target.protocol = c->key.protocol;
  outer_target.dst = c->daddr;
  outer_target.protocol = 1;
  nf::manip_icmp_error(packet, inner_target, nf::Manip::Src, outer_target, nf::Manip::Dst);
  ipvs_->conns().put(*c, now_ns_);
  if (route.local) return IpvsVerdict::Accept;
  if (!ipvs_decrease_ttl(packet, in.ifindex)) return IpvsVerdict::Stolen;
  nf::PacketCt ct;
  ip_output(std::move(packet), route, ct, true);
  return IpvsVerdict::Stolen;
}

Node::IpvsVerdict Node::ipvs_out(std::vector<std::byte>& packet, RouteAnswer* route) {
  // ip_vs_out_hook() at FORWARD, priority 100: replies of NAT real servers.
  if (!ipvs_ || !ipvs_->active()) return IpvsVerdict::Accept;
  ipvs_->estimate_until(now_ns_);
  wire::Ipv4ConstView ip(packet);
  if (ip.protocol() == wire::IpProtocol::Icmp) return ipvs_out_icmp(packet);
  uint8_t proto = static_cast<uint8_t>(ip.protocol());
  if (proto != lb::kProtoTcp && proto != lb::kProtoUdp) return IpvsVerdict::Accept;
  IpvsFlow l4 = parse_l4(packet);
  if (!l4.ok) return IpvsVerdict::Accept;
  lb::Connection* c = ipvs_->conns().out_get(proto, l4.saddr, l4.sport, l4.daddr, l4.dport);
  if (c == nullptr) {
    if (ipvs_->sysctls().nat_icmp_send && !(proto == lb::kProtoTcp && l4.flags.rst)) {
      for (const auto& s : ipvs_->services()) {
        lb::RealServer* r = s->find(l4.saddr, l4.sport);
        if (r && r->method == lb::ForwardMethod::Masquerade && s->config.key.protocol == proto) {
          icmp_send(packet, 3, 3, 0, 0, false);
          drop(
              DropReason::IpvsDrop,
              fmt::format("IPVS: {} from a NAT real server matches no connection", flow_label(l4)));
          return IpvsVerdict::Stolen;
        }
      }
    }
    return IpvsVerdict::Accept;
  }
  // handle_response()
  if (c->fwd() == lb::kConnMasq) {
    nf::Tuple target;
    target.src = c->key.vaddr;
    target.src_key = c->key.vport;
    target.protocol = proto;
    nf::manip_packet(packet, target, nf::Manip::Src, false);
    fix_udp_checksum(packet);
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("{}: reply of NAT connection: SNAT {}:{} -> {}:{}", flow_label(l4),
                         c->daddr.to_string(), c->dport, c->key.vaddr.to_string(), c->key.vport);
    });
    if (ipvs_->sysctls().snat_reroute && route != nullptr) {
      // ip_route_me_harder(): routed again as a packet from the virtual address.
      RouteQuery q;
      q.trace = trace_ != nullptr;
      q.dst = l4.daddr;
      q.src = c->key.vaddr;
      q.tos = ip.tos();
      RouteAnswer again;
      int err = route_get(q, &again);
      for (const std::string& line : again.trace) trace(TraceStage::Route, [&] { return line; });
      if (err != 0) {
        drop(DropReason::IpvsXmit,
             fmt::format("IPVS: no route for the SNATed reply: {}", errno_text(err)));
        return IpvsVerdict::Stolen;
      }
      *route = std::move(again);
    }
  } else {
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("{}: reply of a {} connection through the director", flow_label(l4),
                         method_label(c->fwd()));
    });
  }
  ipvs_count_out(*c, packet.size());
  ipvs_set_state(*c, lb::ConnDirection::Output, l4);
  ipvs_->conns().put(*c, now_ns_);
  return IpvsVerdict::Untracked;
}

Node::IpvsVerdict Node::ipvs_out_icmp(std::vector<std::byte>& packet) {
  // ip_vs_out_icmp(): an error a NAT real server (or a router near it) sends the client
  // about the client's packet: it must seem to come from the virtual address.
  const QuotedError err = quoted_error(packet);
  if (err.type == 0) return IpvsVerdict::Accept;
  const uint8_t type = err.type;
  const std::span<const std::byte> quoted = err.quoted;
  wire::Ipv4ConstView q(quoted);
  uint8_t qproto = static_cast<uint8_t>(q.protocol());
  if (qproto != lb::kProtoTcp && qproto != lb::kProtoUdp) return IpvsVerdict::Accept;
  IpvsFlow l = parse_l4(quoted);  // client -> real server
  lb::Connection* c = ipvs_->conns().out_get(qproto, l.daddr, l.dport, l.saddr, l.sport);
  if (c == nullptr) return IpvsVerdict::Accept;
  if (c->fwd() == lb::kConnMasq) {
    nf::Tuple inner_target, outer_target;
    inner_target.dst = c->key.vaddr;
    inner_target.dst_key = c->key.vport;
    inner_target.protocol = qproto;
    outer_target.src = c->key.vaddr;
    outer_target.protocol = 1;
    nf::manip_icmp_error(packet, inner_target, nf::Manip::Dst, outer_target, nf::Manip::Src);
    trace(TraceStage::Ipvs, [&] {
      return fmt::format("ICMP type {} from NAT real server {}: source set to {}", type,
                         c->daddr.to_string(), c->key.vaddr.to_string());
    });
  }
  ipvs_count_out(*c, packet.size());
  return IpvsVerdict::Untracked;
}

}  // namespace vnet::stack
