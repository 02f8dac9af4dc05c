// `ip tunnel` (iproute2 6.1 ip/iptunnel.c + ip/tunnel.c, the ioctl interface) and the tunnel
// types of `ip link add` (ip/link_iptnl.c, link_gre.c, iplink_vxlan.c, the netlink interface).
// Parsing follows their argument loops, so the same lines succeed or fail the same way; errors
// are the texts those tools print (the ioctl path names the fallback device it talked to:
// `add tunnel "tunl0" failed: File exists`).
#include <fmt/format.h>

#include <cerrno>

#include "cmd/ip_common.h"
#include "cmd/json_writer.h"

namespace vnet::cmd::ip_detail {

namespace {

using stack::LinkKind;
using stack::TunnelParams;

struct TunnelSpec {
  std::string name;
  LinkKind kind = LinkKind::Other;  // Other: not determined
  TunnelParams params;
  bool pmtudisc_given = false;
};

const char* mode_name(LinkKind k) {
  return k == LinkKind::Gre ? "gre" : "ipip";
}

const char* base_device(LinkKind k) {
  return k == LinkKind::Gre ? "gre0" : "tunl0";
}

std::optional<Ipv4Addr> parse_endpoint(const std::string& v) {
  if (v == "any") return Ipv4Addr();
  auto a = Ipv4Addr::parse(v);
  if (!a)
    throw IpExit{fmt::format("Error: an inet address is expected rather than \"{}\".\n", v), 1};
  return a;
}

// tnl_parse_key(): a dotted quad or an unsigned number.
uint32_t parse_key(const std::string& what, const std::string& v) {
  if (v.find('.') != std::string::npos) {
    auto a = Ipv4Addr::parse(v);
    if (a) return a->value();
  } else if (auto n = net::parse_c_number(v); n && *n <= 0xffffffffu) {
    return static_cast<uint32_t>(*n);
  }
  throw IpExit{
      fmt::format("invalid value for \"{}\": \"{}\"; it should be an unsigned integer\n", what, v),
      255};
}

uint8_t parse_ttl(const std::string& v) {
  if (v == "inherit") return 0;
  auto n = net::parse_c_number(v);
  if (!n || *n > 255) invarg("invalid TTL\n", v);
  return static_cast<uint8_t>(*n);
}

uint8_t parse_tos(Ctx& c, const std::string& v) {
  if (v == "inherit") return 1;
  std::string s = v;
  uint8_t inherit = 0;
  if (s.rfind("inherit/", 0) == 0) {
    inherit = 1;
    s = s.substr(8);
  }
  auto d = dsfield_from_name(c.node, s);
  if (!d) invarg("bad TOS value", v);
  return static_cast<uint8_t>(*d | inherit);
}

bool common_tunnel_option(Ctx& c, const std::string& k, ArgReader& r, TunnelParams& p,
                          std::string* medium) {
  if (k == "remote") {
    p.remote = *parse_endpoint(r.value());
  } else if (k == "local") {
    p.local = *parse_endpoint(r.value());
  } else if (k == "dev") {
    *medium = r.value();
  } else if (k == "ttl" || k == "hoplimit" || k == "hlim") {
    p.ttl = parse_ttl(r.value());
  } else if (k == "tos" || k == "tclass" || k == "dsfield") {
    p.tos = parse_tos(c, r.value());
  } else if (k == "nopmtudisc") {
    p.pmtudisc = false;
  } else if (k == "pmtudisc") {
    p.pmtudisc = true;
  } else {
    return false;
  }
  return true;
}

bool gre_option(const std::string& k, ArgReader& r, TunnelParams& p) {
  if (k == "key") {
    uint32_t v = parse_key("key", r.value());
    p.ikey = p.okey = v;
  } else if (k == "ikey") {
    p.ikey = parse_key("ikey", r.value());
  } else if (k == "okey") {
    p.okey = parse_key("okey", r.value());
  } else if (k == "seq") {
    p.iseq = p.oseq = true;
  } else if (k == "iseq") {
    p.iseq = true;
  } else if (k == "oseq") {
    p.oseq = true;
  } else if (k == "csum") {
    p.icsum = p.ocsum = true;
  } else if (k == "icsum") {
    p.icsum = true;
  } else if (k == "ocsum") {
    p.ocsum = true;
  } else {
    return false;
  }
  return true;
}

// iptunnel.c parse_args().  `change` starts from the named tunnel's current parameters.
TunnelSpec parse_tunnel_args(Ctx& c, const Args& a, size_t i, bool change) {
  TunnelSpec t;
  ArgReader r(a, i);
  std::string medium;
  bool mode_given = false;
  bool named = false;
  while (!r.done()) {
    std::string k = r.next();
    if (k == "mode") {
      std::string m = r.value();
      LinkKind kind;
      if (m == "ipip" || m == "ip/ip") {
        kind = LinkKind::Ipip;
      } else if (m == "gre" || m == "gre/ip") {
        kind = LinkKind::Gre;
      } else if (m == "sit" || m == "ipv6/ip" || m == "isatap" || m == "vti") {
        throw IpExit{fmt::format("vnet: tunnel mode \"{}\" is not supported\n", m), 1};
      } else {
        throw IpExit{fmt::format("Unknown tunnel mode \"{}\"\n", m), 255};
      }
      if (mode_given && kind != t.kind) {
        throw IpExit{"You managed to ask for more than one tunnel mode.\n", 255};
      }
      t.kind = kind;
      mode_given = true;
    } else if (common_tunnel_option(c, k, r, t.params, &medium)) {
      if (k == "pmtudisc" || k == "nopmtudisc") t.pmtudisc_given = true;
    } else if (gre_option(k, r, t.params)) {
    } else if (k == "ignore-df" || k == "noignore-df") {
    } else if (k == "prl-default" || k == "prl-nodefault" || k == "prl-delete" ||
               k == "6rd-prefix" || k == "6rd-relay_prefix") {
      throw IpExit{
          fmt::format("vnet: \"{}\" is for sit/isatap tunnels, which are not supported\n", k), 1};
    } else {
      std::string name = k;
      if (k == "name") name = r.value();
      if (named) duparg2("name", name);
      if (name.empty() || name.size() > 15) invarg("\"name\" not a valid ifname", name);
      t.name = name;
      named = true;
      if (change) {
        const Device* d = c.node.device_by_name(name);
        if (d != nullptr && d->tunnel && d->is_ip_tunnel()) {
          t.params = *d->tunnel;
          if (!mode_given) t.kind = d->kind;
          if (d->tunnel->link) {
            if (const Device* l = c.node.device(d->tunnel->link)) medium = l->name;
          }
        }
      }
    }
  }
  if (t.kind == LinkKind::Other) {
    if (t.name.rfind("gre", 0) == 0) t.kind = LinkKind::Gre;
    if (t.name.rfind("ipip", 0) == 0) t.kind = LinkKind::Ipip;
  }
  const TunnelParams& p = t.params;
  if ((p.ikey || p.okey) && t.kind != LinkKind::Gre && t.kind != LinkKind::Other) {
    throw IpExit{"Keys are not allowed with ipip and sit tunnels\n", 1};
  }
  t.params.link = 0;
  if (!medium.empty()) {
    const Device* d = c.node.device_by_name(medium);
    if (d == nullptr) {
      throw IpExit{fmt::format("Cannot find device \"{}\"\n", medium), 1};
    }
    t.params.link = d->ifindex;
  }
  if (p.remote.is_multicast()) {
    if (!p.ikey) t.params.ikey = p.remote.value();
    if (!p.okey) t.params.okey = p.remote.value();
    if (p.local.is_unspecified()) {
      throw IpExit{"A broadcast tunnel requires a source address\n", 1};
    }
  }
  return t;
}

std::string endpoint_text(Ipv4Addr a) {
  return a.is_unspecified() ? "any" : a.to_string();
}

// print_tunnel() + tnl_print_gre_flags().
std::string tunnel_text(const Node& node, const Device& d) {
  const TunnelParams& p = *d.tunnel;
  const char* proto =
      p.fallback && d.kind == LinkKind::Ipip ? "any" : (d.kind == LinkKind::Gre ? "gre" : "ip");
  std::string s = fmt::format("{}: {}/ip remote {} local {}", d.name, proto,
                              endpoint_text(p.remote), endpoint_text(p.local));
  if (p.link) {
    if (const Device* l = node.device(p.link)) s += " dev " + l->name;
  }
  s += p.ttl ? fmt::format(" ttl {}", p.ttl) : std::string(" ttl inherit");
  if (p.tos) {
    if (p.tos == 1) {
      s += " tos inherit";
    } else {
      std::string name = dsfield_name(node, static_cast<uint8_t>(p.tos & ~1));
      s += (p.tos & 1) ? " tos inherit/" + name : " tos " + name;
    }
  }
  if (!p.pmtudisc) s += " nopmtudisc";
  if (p.ikey && p.okey && *p.ikey == *p.okey) {
    s += fmt::format(" key {}", *p.ikey);
  } else {
    if (p.ikey) s += fmt::format(" ikey {}", *p.ikey);
    if (p.okey) s += fmt::format(" okey {}", *p.okey);
  }
  if (d.kind == LinkKind::Gre) {
    if (p.iseq) s += "\n  Drop packets out of sequence.";
    if (p.icsum) s += "\n  Checksum in received packet is required.";
    if (p.oseq) s += "\n  Sequence packets on output.";
    if (p.ocsum) s += "\n  Checksum output packets.";
  }
  return s;
}

std::string tunnel_stats_text(const Device& d) {
  const stack::DeviceErrors& e = d.errors;
  std::string s = "\nRX: Packets    Bytes        Errors CsumErrs OutOfSeq Mcasts\n";
  s += fmt::format("    {:<10} {:<12} {:<6} {:<8} {:<8} {:<8}\n", d.rx_packets, d.rx_bytes,
                   e.rx_errors, e.rx_frame_errors, e.rx_fifo_errors, e.multicast);
  s += "TX: Packets    Bytes        Errors DeadLoop NoRoute  NoBufs\n";
  s += fmt::format("    {:<10} {:<12} {:<6} {:<8} {:<8} {:<6}", d.tx_packets, d.tx_bytes,
                   e.tx_errors, e.collisions, e.tx_carrier_errors, d.tx_dropped);
  return s;
}

Json tunnel_json(const Node& node, const Device& d) {
  const TunnelParams& p = *d.tunnel;
  Json j = Json::object();
  j.set("ifname", d.name);
  j.set("mode", std::string(p.fallback && d.kind == LinkKind::Ipip
                                ? "any"
                                : (d.kind == LinkKind::Gre ? "gre" : "ip")) +
                    "/ip");
  j.set("remote", endpoint_text(p.remote));
  j.set("local", endpoint_text(p.local));
  if (p.link) {
    if (const Device* l = node.device(p.link)) j.set("dev", l->name);
  }
  if (p.ttl) j.set("ttl", p.ttl);
  if (p.tos > 1) j.set("tos", dsfield_name(node, static_cast<uint8_t>(p.tos & ~1)));
  if (!p.pmtudisc) j.set("nopmtudisc", Json::boolean(true));
  if (p.ikey && p.okey && *p.ikey == *p.okey) {
    j.set("key", *p.ikey);
  } else {
    if (p.ikey) j.set("ikey", *p.ikey);
    if (p.okey) j.set("okey", *p.okey);
  }
  return j;
}

std::string next_free_name(const Node& node, const std::string& base) {
  for (int n = 0;; ++n) {
    std::string name = base + std::to_string(n);
    if (node.device_by_name(name) == nullptr) return name;
  }
}

}  // namespace

bool is_ip_tunnel_link(const Device& d) {
  return d.is_ip_tunnel() && d.tunnel.has_value();
}

int do_tunnel(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  size_t rest = i + (i < a.size() ? 1 : 0);
  if (matches(sub, "help")) throw IpExit{std::string(ip_usage("tunnel")), 255};
  if (matches(sub, "add") || matches(sub, "change")) {
    bool change = !matches(sub, "add");
    TunnelSpec t = parse_tunnel_args(c, a, rest, change);
    if (t.params.ttl && !t.params.pmtudisc) {
      throw IpExit{"ttl != 0 and nopmtudisc are incompatible\n", 1};
    }
    if (t.kind == LinkKind::Other) {
      throw IpExit{"cannot determine tunnel mode (ipip, gre, vti or sit)\n", 1};
    }
    const char* base = base_device(t.kind);
    if (!change) {
      if (t.name.empty()) t.name = next_free_name(c.node, mode_name(t.kind));
      stack::Status s = c.node.tunnel_add(t.name, t.kind, t.params);
      if (!s.ok()) {
        c.o.err += fmt::format("add tunnel \"{}\" failed: {}\n", base, stack::errno_text(s.err));
        return 1;
      }
      return 0;
    }
    // SIOCCHGTUNNEL goes to the named device (or the base device).
    std::string target = t.name.empty() ? base : t.name;
    const Device* d = c.node.device_by_name(target);
    stack::Status s;
    if (d == nullptr) {
      s = stack::Status::error(-ENODEV);
    } else if (!d->is_ip_tunnel() || d->kind != t.kind) {
      s = stack::Status::error(d->is_ip_tunnel() ? -EINVAL : -EOPNOTSUPP);
    } else {
      s = c.node.tunnel_change(d->ifindex, t.params);
    }
    if (!s.ok()) {
      c.o.err += fmt::format("add tunnel \"{}\" failed: {}\n", target, stack::errno_text(s.err));
      return 1;
    }
    return 0;
  }
  if (matches(sub, "delete")) {
    TunnelSpec t = parse_tunnel_args(c, a, rest, false);
    std::string target = t.name;
    if (target.empty()) {
      if (t.kind == LinkKind::Other) {
        throw IpExit{"cannot determine tunnel mode (ipip, gre, vti or sit)\n", 1};
      }
      target = base_device(t.kind);
    }
    const Device* d = c.node.device_by_name(target);
    int err = 0;
    if (d == nullptr) {
      err = -ENODEV;
    } else if (!d->is_ip_tunnel()) {
      err = -EOPNOTSUPP;
    } else if (d->tunnel->fallback) {
      err = -EPERM;  // ip_tunnel_ioctl(SIOCDELTUNNEL) on the fallback device
    } else {
      err = c.node.link_del(d->ifindex).err;
    }
    if (err != 0) {
      c.o.err += fmt::format("delete tunnel \"{}\" failed: {}\n", target, stack::errno_text(err));
      return 1;
    }
    return 0;
  }
  if (matches(sub, "show") || matches(sub, "list") || matches(sub, "lst")) {
    TunnelSpec t = parse_tunnel_args(c, a, rest, false);
    Json arr = Json::array();
    auto emit = [&](const Device& d) {
      if (c.json) {
        arr.push(tunnel_json(c.node, d));
      } else {
        c.o.out += tunnel_text(c.node, d) + (c.stats ? tunnel_stats_text(d) : std::string()) + "\n";
      }
    };
    if (!t.name.empty() && t.kind != LinkKind::Other) {
      // A mode (given or read from the name) makes iproute2 ask that one device.
      const Device* d = c.node.device_by_name(t.name);
      if (d == nullptr || !d->is_ip_tunnel()) {
        c.o.err += fmt::format("get tunnel \"{}\" failed: {}\n", t.name,
                               stack::errno_text(d == nullptr ? -ENODEV : -EOPNOTSUPP));
        return 1;
      }
      emit(*d);
    } else {
      const TunnelParams& f = t.params;
      for (const auto& [ix, d] : c.node.devices()) {
        if (!is_ip_tunnel_link(d)) continue;
        if (!t.name.empty() && d.name != t.name) continue;
        if (t.kind != LinkKind::Other && d.kind != t.kind) continue;
        if (!f.remote.is_unspecified() && d.tunnel->remote != f.remote) continue;
        if (!f.local.is_unspecified() && d.tunnel->local != f.local) continue;
        if (f.link && d.tunnel->link != f.link) continue;
        emit(d);
      }
    }
    if (c.json) c.o.out += arr.dump(c.pretty) + "\n";
    return 0;
  }
  if (matches(sub, "prl") || matches(sub, "6rd")) {
    throw IpExit{fmt::format("vnet: \"ip tunnel {}\" (sit/isatap) is not supported\n", sub), 1};
  }
  throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip tunnel help\"\n", sub), 255};
}

int link_add_tunnel(Ctx& c, const std::string& name, const std::string& type, ArgReader& r,
                    std::optional<int> mtu, bool up) {
  TunnelParams p;
  LinkKind kind =
      type == "gre" ? LinkKind::Gre : (type == "ipip" ? LinkKind::Ipip : LinkKind::Vxlan);
  std::string medium;
  bool vni_given = false, dstport_given = false;
  while (!r.done()) {
    std::string k = r.next();
    if (kind == LinkKind::Vxlan) {
      if (k == "id" || k == "vni") {
        auto v = net::parse_c_number(r.value());
        if (!v || *v >= (1u << 24)) invarg("invalid id", k);
        p.vni = static_cast<uint32_t>(*v);
        vni_given = true;
      } else if (k == "group" || k == "remote") {
        std::string v = r.value();
        auto addr = Ipv4Addr::parse(v);
        if (!addr) invarg(fmt::format("invalid address \"{}\"", v), v);
        if ((k == "group") != addr->is_multicast()) {
          throw IpExit{k == "group" ? "vxlan: remote must be a multicast address with group\n"
                                    : "vxlan: remote address must be unicast\n",
                       1};
        }
        p.remote = *addr;
      } else if (k == "local") {
        std::string v = r.value();
        auto addr = Ipv4Addr::parse(v);
        if (!addr) invarg(fmt::format("invalid address \"{}\"", v), v);
        p.local = *addr;
      } else if (k == "dev") {
        medium = r.value();
      } else if (k == "dstport") {
        auto v = net::parse_c_number(r.value());
        if (!v || *v > 65535) invarg("dstport", k);
        p.dstport = *v ? static_cast<uint16_t>(*v) : 8472;
        dstport_given = true;
      } else if (k == "port" || k == "srcport") {
        auto lo = net::parse_c_number(r.value());
        auto hi = net::parse_c_number(r.value());
        if (!lo || !hi || *lo > 65535 || *hi > 65535) invarg("port", k);
        p.port_min = static_cast<uint16_t>(*lo);
        p.port_max = static_cast<uint16_t>(*hi);
      } else if (k == "ttl" || k == "hoplimit") {
        std::string v = r.value();
        p.ttl = v == "auto" ? 0 : parse_ttl(v);
      } else if (k == "tos") {
        p.tos = parse_tos(c, r.value());
      } else if (k == "learning") {
        p.learning = true;
      } else if (k == "nolearning") {
        p.learning = false;
      } else if (k == "udpcsum") {
        p.udpcsum = true;
      } else if (k == "noudpcsum") {
        p.udpcsum = false;
      } else if (k == "ageing") {
        p.ageing_s = need_u32(r.value(), "ageing");
      } else if (k == "noudp6zerocsumtx" || k == "noudp6zerocsumrx" || k == "udp6zerocsumtx" ||
                 k == "udp6zerocsumrx" || k == "noproxy" || k == "norsc" || k == "nol2miss" ||
                 k == "nol3miss") {
      } else {
        throw IpExit{fmt::format("vxlan: unknown command \"{}\"?\n", k), 255};
      }
      continue;
    }
    if (common_tunnel_option(c, k, r, p, &medium)) continue;
    if (kind == LinkKind::Gre && gre_option(k, r, p)) continue;
    if (k == "mode") {
      std::string m = r.value();
      if (kind == LinkKind::Ipip && (m == "ipip" || m == "ip4ip4")) continue;
      invarg("Invalid mode", m);
    }
    if (k == "ignore-df" || k == "noignore-df") continue;
    throw IpExit{fmt::format("{}: unknown command \"{}\"?\n", type, k), 255};
  }
  if (kind == LinkKind::Vxlan) {
    if (!vni_given) throw IpExit{"vxlan: missing virtual network identifier\n", 255};
    if (!dstport_given) {
      c.o.err +=
          "vxlan: destination port not specified\nWill use Linux kernel default (non-standard "
          "value)\nUse 'dstport 4789' to get the IANA assigned value\nUse 'dstport 0' to get "
          "default and quiet this message\n";
    }
  } else if (p.ttl && !p.pmtudisc) {
    throw IpExit{"ttl != 0 and nopmtudisc are incompatible\n", 255};
  }
  if (!medium.empty()) {
    const Device* d = c.node.device_by_name(medium);
    if (d == nullptr) throw IpExit{fmt::format("Cannot find device \"{}\"\n", medium), 1};
    p.link = d->ifindex;
  }
  int rc = report(c, c.node.tunnel_add(name, kind, p));
  if (rc) return rc;
  const Device* d = c.node.device_by_name(name);
  if (mtu && d) rc = report(c, c.node.link_set_mtu(d->ifindex, *mtu));
  if (up && d && rc == 0) c.node.link_set_up(d->ifindex, true);
  return rc;
}

}  // namespace vnet::cmd::ip_detail
