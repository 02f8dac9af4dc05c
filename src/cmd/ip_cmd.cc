// `ip` (iproute2 6.1): link, address, route, rule, neighbour.  Parsing follows iproute2's own
// argument loops (ip/iplink.c, ipaddress.c, iproute.c, iprule.c, ipneigh.c) so that the same
// command lines succeed or fail the same way; printing follows their print functions.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <optional>
#include <stdexcept>

#include "cmd/command.h"
#include "cmd/ip_common.h"
#include "cmd/json_writer.h"
#include "cmd/names.h"
#include "cmd/usage.h"
#include "net/ipv4_addr.h"

namespace vnet::cmd {

namespace {

using namespace ip_detail;  // NOLINT(google-build-using-namespace)
using fib::RouteType;
using net::Ipv4Addr;
using net::Prefix;
using stack::Device;
using stack::Node;

// iproute2 prints small marks in decimal and others in hex ("mark 15", "mark 0x10").
std::string mark_text(uint32_t mark) {
  return mark < 16 ? std::to_string(mark) : fmt::format("{:#x}", mark);
}

void finish_json(Ctx& c, const Json& arr) {
  c.o.out += arr.dump(c.pretty) + "\n";
}

// ---------------------------------------------------------------- link

std::vector<std::string> link_flag_names(const Node& node, const Device& d, bool* mdown) {
  std::vector<std::string> f;
  uint32_t flags = d.flags;
  bool running = d.carrier_ok();
  if ((flags & stack::iff::kUp) && !running) f.emplace_back("NO-CARRIER");
  if (flags & stack::iff::kLoopback) f.emplace_back("LOOPBACK");
  if (flags & stack::iff::kBroadcast) f.emplace_back("BROADCAST");
  if (flags & stack::iff::kPointToPoint) f.emplace_back("POINTOPOINT");
  if (flags & stack::iff::kMulticast) f.emplace_back("MULTICAST");
  if (flags & stack::iff::kNoArp) f.emplace_back("NOARP");
  if (flags & stack::iff::kUp) f.emplace_back("UP");
  if (running) f.emplace_back("LOWER_UP");
  *mdown = false;
  if (d.peer_ifindex) {
    const Device* peer = node.device(d.peer_ifindex);
    *mdown = peer && !peer->up();
  }
  return f;
}

std::string operstate(const Node& node, const Device& d) {
  if (d.is_loopback()) return d.up() ? "UNKNOWN" : "DOWN";
  if (!d.up()) return "DOWN";
  if (!d.carrier_ok()) {
    if (d.peer_ifindex) {
      const Device* peer = node.device(d.peer_ifindex);
      if (peer && !(peer->up() && peer->carrier_ok())) return "LOWERLAYERDOWN";
    }
    return "DOWN";
  }
  if (d.kind == stack::LinkKind::Dummy || d.tunnel) return "UNKNOWN";
  return "UP";
}

std::string qdisc(const Device& d) {
  return d.ever_up ? "noqueue" : "noop";
}

// `ip -s`: iproute2's print_stats64(), columns as wide as their widest number.
std::string link_stats_text(const Device& d) {
  size_t cols[] = {10, 7, 6, 7, 7, 7};
  uint64_t rx[] = {d.rx_bytes, d.rx_packets, d.errors.rx_errors, d.rx_dropped, 0, d.rx_multicast};
  uint64_t tx[] = {d.tx_bytes,
                   d.tx_packets,
                   d.errors.tx_errors,
                   d.tx_dropped,
                   d.errors.tx_carrier_errors,
                   d.errors.collisions};
  for (const uint64_t* row : {rx, tx}) {
    for (size_t i = 0; i < 6; ++i) cols[i] = std::max(cols[i], std::to_string(row[i]).size());
  }
  auto values = [&](const uint64_t* row) {
    std::string s = "    ";
    for (size_t i = 0; i < 6; ++i) s += fmt::format("{:>{}} ", row[i], cols[i]);
    return s + "\n";
  };
  std::string s = fmt::format("    RX: {:>{}} {:>{}} {:>{}} {:>{}} {:>{}} {:>{}} {:>10}\n", "bytes",
                              cols[0] - 4, "packets", cols[1], "errors", cols[2], "dropped",
                              cols[3], "missed", cols[4], "mcast", cols[5], "");
  s += values(rx);
  s += fmt::format("    TX: {:>{}} {:>{}} {:>{}} {:>{}} {:>{}} {:>{}} {:>10}\n", "bytes",
                   cols[0] - 4, "packets", cols[1], "errors", cols[2], "dropped", cols[3],
                   "carrier", cols[4], "collsns", cols[5], "");
  s += values(tx);
  return s;
}

Json link_stats_json(const Device& d) {
  Json rx = Json::object();
  rx.set("bytes", d.rx_bytes);
  rx.set("packets", d.rx_packets);
  rx.set("errors", d.errors.rx_errors);
  rx.set("dropped", d.rx_dropped);
  rx.set("over_errors", 0);
  rx.set("multicast", d.rx_multicast);
  Json tx = Json::object();
  tx.set("bytes", d.tx_bytes);
  tx.set("packets", d.tx_packets);
  tx.set("errors", d.errors.tx_errors);
  tx.set("dropped", d.tx_dropped);
  tx.set("carrier_errors", d.errors.tx_carrier_errors);
  tx.set("collisions", d.errors.collisions);
  Json s = Json::object();
  s.set("rx", rx);
  s.set("tx", tx);
  return s;
}

std::string link_display_name(const Node& node, const Device& d) {
  if (is_ip_tunnel_link(d)) {
    // ip_tunnel_get_iflink(): the underlay, or "NONE" (IFLA_LINK 0).
    const Device* under = d.tunnel->link ? node.device(d.tunnel->link) : nullptr;
    return d.name + "@" + (under ? under->name : std::string("NONE"));
  }
  if (d.peer_ifindex) {
    const Device* peer = node.device(d.peer_ifindex);
    if (peer) return d.name + "@" + peer->name;
  }
  return d.name;
}

void link_json_common(const Node& node, const Device& d, Json& j, bool with_linkmode) {
  bool mdown = false;
  j.set("ifindex", d.ifindex);
  if (is_ip_tunnel_link(d)) {
    const Device* under = d.tunnel->link ? node.device(d.tunnel->link) : nullptr;
    if (under) {
      j.set("link", under->name);
    } else {
      j.set("link", Json::null());
    }
  } else if (d.peer_ifindex) {
    if (const Device* peer = node.device(d.peer_ifindex)) j.set("link", peer->name);
  }
  j.set("ifname", d.name);
  Json flags = Json::array();
  for (const auto& f : link_flag_names(node, d, &mdown)) flags.push(f);
  if (mdown) flags.push("M-DOWN");
  j.set("flags", flags);
  j.set("mtu", d.mtu);
  j.set("qdisc", qdisc(d));
  j.set("operstate", operstate(node, d));
  if (with_linkmode) j.set("linkmode", "DEFAULT");
  j.set("group", "default");
  j.set("txqlen", d.txqlen);
  if (is_ip_tunnel_link(d)) {
    // ARPHRD_TUNNEL / ARPHRD_IPGRE: the 4-byte local and remote addresses.
    j.set("link_type", d.kind == stack::LinkKind::Gre ? "gre" : "ipip");
    j.set("address", d.tunnel->local.to_string());
    if (d.flags & stack::iff::kPointToPoint) j.set("link_pointtopoint", Json::boolean(true));
    j.set("broadcast", d.tunnel->remote.to_string());
    return;
  }
  j.set("link_type", d.is_loopback() ? "loopback" : "ether");
  j.set("address", d.mac.to_string());
  j.set("broadcast", d.broadcast_mac.to_string());
}

std::string link_text_header(const Node& node, const Device& d, bool with_mode) {
  bool mdown = false;
  auto flags = link_flag_names(node, d, &mdown);
  std::string f;
  for (size_t i = 0; i < flags.size(); ++i) f += (i ? "," : "") + flags[i];
  if (mdown) f += (f.empty() ? "" : ",") + std::string("M-DOWN");
  std::string s = fmt::format("{}: {}: <{}> mtu {} qdisc {} state {} ", d.ifindex,
                              link_display_name(node, d), f, d.mtu, qdisc(d), operstate(node, d));
  if (with_mode) s += "mode DEFAULT ";
  s += fmt::format("group default qlen {}\n", d.txqlen);
  if (is_ip_tunnel_link(d)) {
    s += fmt::format("    link/{} {} {} {}\n", d.kind == stack::LinkKind::Gre ? "gre" : "ipip",
                     d.tunnel->local.to_string(),
                     (d.flags & stack::iff::kPointToPoint) ? "peer" : "brd",
                     d.tunnel->remote.to_string());
    return s;
  }
  s += fmt::format("    link/{} {} brd {}\n", d.is_loopback() ? "loopback" : "ether",
                   d.mac.to_string(), d.broadcast_mac.to_string());
  return s;
}

int do_link(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  ArgReader r(a, i + (i < a.size() ? 1 : 0));
  if (matches(sub, "add")) {
    std::string name, type, peer;
    std::optional<int> mtu;
    bool up = false;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "name")
        name = r.value();
      else if (k == "type") {
        type = r.value();
        if (type == "ipip" || type == "gre" || type == "vxlan") {
          if (name.empty()) name = type + "0";
          return link_add_tunnel(c, name, type, r, mtu, up);
        }
        if (type == "veth") {
          // veth options: peer name NAME
          while (!r.done()) {
            std::string p = r.next();
            if (p == "peer") {
              if (!r.done() && r.peek() == "name") r.next();
              peer = r.value();
            }
          }
        }
      } else if (k == "mtu")
        mtu = static_cast<int>(need_u32(r.value(), "mtu"));
      else if (k == "up")
        up = true;
      else if (k == "dev")
        name = r.value();
      else if (name.empty())
        name = k;
      else
        duparg2("dev", k);
    }
    if (type.empty()) throw IpExit{"Not enough information: \"type\" argument is required\n", 1};
    stack::LinkKind kind;
    if (type == "veth")
      kind = stack::LinkKind::Veth;
    else if (type == "dummy")
      kind = stack::LinkKind::Dummy;
    else if (type == "bridge")
      kind = stack::LinkKind::Bridge;
    else
      return report(c, stack::Status::error(-EOPNOTSUPP, "Unknown device type"));
    if (name.empty()) name = type + "0";
    int rc = report(c, c.node.link_add(name, kind, peer));
    if (rc) return rc;
    const Device* d = c.node.device_by_name(name);
    if (mtu && d) c.node.link_set_mtu(d->ifindex, *mtu);
    if (up && d) c.node.link_set_up(d->ifindex, true);
    return 0;
  }
  if (matches(sub, "delete")) {
    std::string name;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "dev")
        name = r.value();
      else if (name.empty())
        name = k;
    }
    if (name.empty()) throw IpExit{"Not enough information: \"dev\" argument is required.\n", 1};
    const Device& d = need_device(c, name);
    return report(c, c.node.link_del(d.ifindex));
  }
  if (matches(sub, "set") || matches(sub, "change")) {
    std::string name;
    std::vector<std::function<stack::Status(int)>> ops;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "up")
        ops.emplace_back([&](int ix) { return c.node.link_set_up(ix, true); });
      else if (k == "down")
        ops.emplace_back([&](int ix) { return c.node.link_set_up(ix, false); });
      else if (k == "mtu") {
        int mtu = static_cast<int>(need_u32(r.value(), "mtu"));
        ops.emplace_back([&c, mtu](int ix) { return c.node.link_set_mtu(ix, mtu); });
      } else if (k == "address") {
        std::string v = r.value();
        auto mac = net::MacAddr::parse(v);
        if (!mac) throw IpExit{fmt::format("\"{}\" is invalid lladdr.\n", v), 1};
        ops.emplace_back([&c, m = *mac](int ix) { return c.node.link_set_mac(ix, m); });
      } else if (k == "name") {
        std::string n = r.value();
        ops.emplace_back([&c, n](int ix) { return c.node.link_set_name(ix, n); });
      } else if (k == "dev") {
        name = r.value();
      } else if (k == "arp" || k == "multicast" || k == "promisc" || k == "allmulticast") {
        r.value();
      } else if (k == "txqueuelen" || k == "qlen" || k == "txqlen") {
        int q = static_cast<int>(need_u32(r.value(), "txqlen"));
        ops.emplace_back([&c, q](int ix) {
          c.node.device(ix)->txqlen = q;
          return stack::Status{};
        });
      } else if (name.empty()) {
        name = k;
      } else {
        duparg2("dev", k);
      }
    }
    if (name.empty()) throw IpExit{"Not enough information: \"dev\" argument is required.\n", 1};
    const Device& d = need_device(c, name);
    int ix = d.ifindex;
    for (auto& op : ops) {
      int rc = report(c, op(ix));
      if (rc) return rc;
    }
    return 0;
  }
  if (matches(sub, "show") || matches(sub, "list") || matches(sub, "lst")) {
    std::string name;
    bool only_up = false;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "dev")
        name = r.value();
      else if (k == "up")
        only_up = true;
      else
        name = k;
    }
    if (!name.empty()) need_device(c, name);
    Json arr = Json::array();
    for (const auto& [ix, d] : c.node.devices()) {
      if (!name.empty() && d.name != name) continue;
      if (only_up && !d.up()) continue;
      if (c.json) {
        Json j = Json::object();
        link_json_common(c.node, d, j, true);
        if (c.stats) j.set("stats64", link_stats_json(d));
        arr.push(j);
      } else {
        c.o.out += link_text_header(c.node, d, true);
        if (c.stats) c.o.out += link_stats_text(d);
      }
    }
    if (c.json) finish_json(c, arr);
    return 0;
  }
  throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip link help\".\n", sub), 255};
}

// ---------------------------------------------------------------- address

Json addr_json(const Node& node, const stack::IfAddr& a) {
  (void)node;
  Json j = Json::object();
  j.set("family", "inet");
  j.set("local", a.local.to_string());
  if (a.has_peer()) j.set("address", a.address.to_string());
  j.set("prefixlen", a.prefixlen);
  if (!a.broadcast.is_unspecified()) j.set("broadcast", a.broadcast.to_string());
  j.set("scope", scope_name(a.scope));
  if (a.flags & stack::ifa_flags::kSecondary) j.set("secondary", Json::boolean(true));
  if (a.flags & stack::ifa_flags::kNoPrefixRoute) j.set("noprefixroute", Json::boolean(true));
  j.set("label", a.label);
  j.set("valid_life_time", uint32_t{4294967295u});
  j.set("preferred_life_time", uint32_t{4294967295u});
  return j;
}

std::string addr_text(const stack::IfAddr& a) {
  std::string s = "    inet " + a.local.to_string();
  if (a.has_peer()) s += " peer " + a.address.to_string();
  s += "/" + std::to_string(a.prefixlen);
  if (!a.broadcast.is_unspecified()) s += " brd " + a.broadcast.to_string();
  s += " scope " + scope_name(a.scope) + " ";
  if (a.flags & stack::ifa_flags::kSecondary) s += "secondary ";
  if (a.flags & stack::ifa_flags::kNoPrefixRoute) s += "noprefixroute ";
  s += a.label + "\n       valid_lft forever preferred_lft forever\n";
  return s;
}

int do_addr(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  ArgReader r(a, i + (i < a.size() ? 1 : 0));
  bool add = matches(sub, "add"), replace = matches(sub, "replace") || sub == "change";
  if (add || replace || matches(sub, "delete")) {
    bool del = !add && !replace;
    std::optional<Prefix> local;
    std::optional<Prefix> peer;
    std::string dev, label;
    std::optional<uint8_t> scope;
    std::optional<Ipv4Addr> brd;
    bool brd_plus = false, brd_minus = false, noprefixroute = false;
    uint32_t metric = 0;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "peer" || k == "remote") {
        if (peer) duparg("peer", k);
        peer = need_prefix(r.value());
      } else if (matches(k, "broadcast") || k == "brd") {
        std::string v = r.value();
        if (v == "+")
          brd_plus = true;
        else if (v == "-")
          brd_minus = true;
        else
          brd = need_addr(v);
      } else if (k == "local") {
        local = need_prefix(r.value());
      } else if (k == "dev") {
        dev = r.value();
      } else if (k == "label") {
        label = r.value();
      } else if (k == "scope") {
        std::string v = r.value();
        scope = scope_from_name(v);
        if (!scope) invarg("invalid scope value.", v);
      } else if (k == "noprefixroute") {
        noprefixroute = true;
      } else if (k == "metric" || k == "priority" || k == "preference") {
        metric = need_u32(r.value(), "metric");
      } else if (k == "valid_lft" || k == "preferred_lft") {
        r.value();
      } else if (k == "home" || k == "nodad" || k == "mngtmpaddr" || k == "autojoin") {
      } else {
        if (k == "to") k = r.value();
        if (local) duparg2("local", k);
        local = need_prefix(k);
      }
    }
    if (dev.empty()) {
      throw IpExit{"Not enough information: \"dev\" argument is required.\n", 1};
    }
    const Device& d = need_device(c, dev);
    if (!local) {
      if (del) {
        // Flush-style delete of everything is not what iproute2 does without an address.
        throw IpExit{"Not enough information: \"local\" argument is required.\n", 1};
      }
      throw IpExit{"Not enough information: \"local\" argument is required.\n", 1};
    }
    if (del) {
      int prefixlen = -1;
      std::optional<Ipv4Addr> peer_addr;
      bool has_len = local->len() != 32 || a.size() > 0;
      (void)has_len;
      // iproute2 sends IFA_ADDRESS (and thus a prefix length) only when the user gave one.
      bool explicit_len = false;
      for (const auto& arg : a) {
        if (arg.find('/') != std::string::npos) explicit_len = true;
      }
      if (peer) {
        prefixlen = peer->len();
        peer_addr = peer->addr();
      } else if (explicit_len) {
        prefixlen = local->len();
      } else {
        c.o.err += fmt::format(
            "Warning: Executing wildcard deletion to stay compatible with old scripts.\n"
            "         Explicitly specify the prefix length ({}/{}) to avoid this warning.\n"
            "         This special behaviour is likely to disappear in further releases,\n"
            "         fix your scripts!\n",
            local->addr().to_string(), local->len());
      }
      return report(c, c.node.addr_del(d.ifindex, local->addr(), prefixlen, peer_addr, label));
    }
    stack::IfAddr ifa;
    ifa.local = local->addr();
    ifa.address = peer ? peer->addr() : local->addr();
    ifa.prefixlen = peer ? peer->len() : local->len();
    ifa.label = label.empty() ? d.name : label;
    if (!label.empty() && label.rfind(d.name, 0) != 0) {
      throw IpExit{"\"dev\" (" + d.name + ") must match \"label\" (" + label + ").\n", 1};
    }
    ifa.metric = metric;
    if (noprefixroute) ifa.flags |= stack::ifa_flags::kNoPrefixRoute;
    if (brd) {
      ifa.broadcast = *brd;
    } else if ((brd_plus || brd_minus) && !peer && ifa.prefixlen <= 30) {
      uint32_t mask = net::prefix_mask(ifa.prefixlen);
      ifa.broadcast =
          brd_plus ? Ipv4Addr(ifa.local.value() | ~mask) : Ipv4Addr(ifa.local.value() & mask);
    }
    if (scope) {
      ifa.scope = *scope;
    } else if (ifa.local.is_loopback()) {
      ifa.scope = fib::scope::kHost;
    }
    return report(c, c.node.addr_add(d.ifindex, ifa, replace));
  }
  if (matches(sub, "flush")) {
    std::string dev;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "dev")
        dev = r.value();
      else if (dev.empty())
        dev = k;
    }
    if (dev.empty()) {
      throw IpExit{"Flush requires arguments.\n", 1};
    }
    const Device& d = need_device(c, dev);
    int ix = d.ifindex;
    while (true) {
      const Device* cur = c.node.device(ix);
      if (cur == nullptr || cur->addrs.empty()) break;
      // Secondaries go with their primary; delete the last primary-first as iproute2 does.
      const stack::IfAddr ifa = cur->addrs.front();
      c.node.addr_del(ix, ifa.local, ifa.prefixlen,
                      ifa.has_peer() ? std::optional(ifa.address) : std::nullopt, {});
    }
    return 0;
  }
  if (matches(sub, "show") || matches(sub, "list") || matches(sub, "lst")) {
    std::string name;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "dev")
        name = r.value();
      else if (k == "up" || k == "primary" || k == "secondary") {
      } else
        name = k;
    }
    if (!name.empty()) need_device(c, name);
    Json arr = Json::array();
    for (const auto& [ix, d] : c.node.devices()) {
      if (!name.empty() && d.name != name) continue;
      if (c.json) {
        Json j = Json::object();
        link_json_common(c.node, d, j, false);
        Json infos = Json::array();
        for (const auto& ifa : d.addrs) infos.push(addr_json(c.node, ifa));
        j.set("addr_info", infos);
        if (c.stats) j.set("stats64", link_stats_json(d));
        arr.push(j);
      } else {
        c.o.out += link_text_header(c.node, d, false);
        for (const auto& ifa : d.addrs) c.o.out += addr_text(ifa);
        if (c.stats) c.o.out += link_stats_text(d);
      }
    }
    if (c.json) finish_json(c, arr);
    return 0;
  }
  throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip address help\".\n", sub), 255};
}

// ---------------------------------------------------------------- route printing

std::string dev_name(const Node& node, int ifindex) {
  const Device* d = node.device(ifindex);
  return d ? d->name : std::to_string(ifindex);
}

std::vector<std::string> nh_flag_names(uint32_t flags) {
  std::vector<std::string> f;
  if (flags & fib::nh_flags::kDead) f.emplace_back("dead");
  if (flags & fib::nh_flags::kOnlink) f.emplace_back("onlink");
  if (flags & fib::nh_flags::kPervasive) f.emplace_back("pervasive");
  if (flags & fib::nh_flags::kLinkdown) f.emplace_back("linkdown");
  return f;
}

// What a `show` filter fixed, which iproute2's print_route() then leaves out.
struct Hidden {
  bool table = false, dev = false, via = false, protocol = false, scope = false, type = false;
};

// One route as print_route() prints a dump (or fib_dump_info() answers fibmatch): the text
// form and the JSON form come from the same field list.
void print_fib_route(Ctx& c, const fib::Route& r, const Hidden& hide, Json* arr) {
  const Node& node = c.node;
  bool mp = r.multipath();
  // A single-path route's rtm_flags carry its nexthop's flags.
  uint32_t flags = r.flags & (fib::nh_flags::kDead | fib::nh_flags::kLinkdown);
  if (!mp && !r.nexthops.empty()) flags = r.nexthops[0].flags;
  const fib::NextHop* single = !mp && !r.nexthops.empty() ? &r.nexthops[0] : nullptr;

  Json j = Json::object();
  std::string s;
  auto field = [&](const char* key, const std::string& word, Json value, const std::string& shown) {
    j.set(key, std::move(value));
    s += word.empty() ? shown + " " : word + " " + shown + " ";
  };
  if (r.type != RouteType::Unicast && !hide.type) {
    field("type", "", route_type_name(r.type), route_type_name(r.type));
  }
  field("dst", "", r.dst.to_string(), r.dst.to_string());
  if (r.tos) field("tos", "tos", dsfield_name(node, r.tos), dsfield_name(node, r.tos));
  if (single && !single->gateway.is_unspecified() && !hide.via) {
    field("gateway", "via", single->gateway.to_string(), single->gateway.to_string());
  }
  if (single && single->ifindex && !hide.dev) {
    field("dev", "dev", dev_name(node, single->ifindex), dev_name(node, single->ifindex));
  }
  if (r.table != fib::table::kMain && !hide.table) {
    field("table", "table", table_name(node, r.table), table_name(node, r.table));
  }
  if (r.protocol != fib::protocol::kBoot && !hide.protocol) {
    field("protocol", "proto", protocol_name(node, r.protocol), protocol_name(node, r.protocol));
  }
  if (r.scope != fib::scope::kUniverse && !hide.scope) {
    field("scope", "scope", scope_name(r.scope), scope_name(r.scope));
  }
  if (!r.prefsrc.is_unspecified()) {
    field("prefsrc", "src", r.prefsrc.to_string(), r.prefsrc.to_string());
  }
  if (r.priority) field("metric", "metric", r.priority, std::to_string(r.priority));
  Json f = Json::array();
  for (const auto& n : nh_flag_names(flags)) {
    f.push(n);
    s += n + " ";
  }
  j.set("flags", f);
  if (mp) {
    Json nhs = Json::array();
    for (const auto& nh : r.nexthops) {
      Json n = Json::object();
      s += "\n\tnexthop ";
      if (!nh.gateway.is_unspecified()) {
        n.set("gateway", nh.gateway.to_string());
        s += "via " + nh.gateway.to_string() + " ";
      }
      n.set("dev", dev_name(node, nh.ifindex));
      n.set("weight", nh.weight);
      s += "dev " + dev_name(node, nh.ifindex) + " weight " + std::to_string(nh.weight) + " ";
      Json nf = Json::array();
      for (const auto& x : nh_flag_names(nh.flags)) {
        nf.push(x);
        s += x + " ";
      }
      n.set("flags", nf);
      nhs.push(n);
    }
    j.set("nexthops", nhs);
  }
  if (c.json) {
    arr->push(j);
  } else {
    c.o.out += s + "\n";
  }
}

std::string cache_flags(const stack::RouteAnswer& a, Json* arr) {
  std::vector<std::string> f;
  if (a.local) f.emplace_back("local");
  if (a.multicast) f.emplace_back("mc");
  if (a.broadcast) f.emplace_back("brd");
  if (a.redirect) f.emplace_back("redirect");
  std::string s;
  for (const auto& x : f) {
    arr->push(x);
    s += (s.empty() ? "" : ",") + x;
  }
  return s.empty() ? "" : "<" + s + "> ";
}

void print_route_answer(Ctx& c, const stack::RouteQuery& q, const stack::RouteAnswer& a) {
  const Node& node = c.node;
  Json j = Json::object();
  std::string s;
  if (a.type != RouteType::Unicast) {
    j.set("type", route_type_name(a.type));
    s += route_type_name(a.type) + " ";
  }
  j.set("dst", a.dst.to_string());
  s += a.dst.to_string() + " ";
  if (!q.src.is_unspecified()) {
    j.set("from", q.src.to_string());
    s += "from " + q.src.to_string() + " ";
  }
  if (a.tos) {
    j.set("tos", dsfield_name(c.node, a.tos));
    s += "tos " + dsfield_name(c.node, a.tos) + " ";
  }
  if (a.gateway) {
    j.set("gateway", a.gateway->to_string());
    s += "via " + a.gateway->to_string() + " ";
  }
  if (a.oif) {
    j.set("dev", dev_name(node, a.oif));
    s += "dev " + dev_name(node, a.oif) + " ";
  }
  if (a.table != 0 && a.table != fib::table::kMain) {
    j.set("table", table_name(node, a.table));
    s += "table " + table_name(node, a.table) + " ";
  }
  if (!a.input && a.prefsrc != q.src) {
    j.set("prefsrc", a.prefsrc.to_string());
    s += "src " + a.prefsrc.to_string() + " ";
  }
  Json rt_flags = Json::array();
  if (a.multicast) {
    // RTCF_MULTICAST shares its bit with RTM_F_OFFLOAD_FAILED, which iproute2 6.1 prints.
    rt_flags.push("rt_offload_failed");
    s += "rt_offload_failed ";
  }
  j.set("flags", rt_flags);
  if (a.mark) {
    j.set("mark", a.mark);
    s += "mark " + mark_text(a.mark) + " ";
  }
  if (!a.input) {
    j.set("uid", 0);
    s += "uid 0 ";
  }
  Json cache = Json::array();
  std::string cf = cache_flags(a, &cache);
  j.set("cache", cache);
  s += "\n    cache " + cf;
  if (a.pmtu_expires_ns > c.node.now_ns()) {
    // RTA_CACHEINFO's expiry in whole seconds (jiffies / HZ, rounded down) and the PMTU metric.
    uint64_t left_s = (a.pmtu_expires_ns - c.node.now_ns() - 1) / 1'000'000'000ull;
    j.set("expires", left_s);
    Json metric = Json::object();
    metric.set("mtu", a.mtu);
    Json metrics = Json::array();
    metrics.push(metric);
    j.set("metrics", metrics);
    s += fmt::format("expires {}sec mtu {} ", left_s, a.mtu);
  }
  if (a.input) {
    j.set("iif", dev_name(node, a.iif));
    s += "iif " + dev_name(node, a.iif) + " ";
  }
  if (c.json) {
    Json arr = Json::array();
    arr.push(j);
    finish_json(c, arr);
  } else {
    c.o.out += s + "\n";
  }
}

// ---------------------------------------------------------------- route

struct RouteFilter {
  std::optional<uint32_t> table;      // nullopt: main; 0: all
  std::optional<Prefix> root;         // "root PREFIX"
  std::optional<Prefix> match;        // bare PREFIX: exact
  std::optional<Prefix> match_cover;  // "match PREFIX"
  int oif = 0;
  std::optional<Ipv4Addr> via;
  std::optional<uint8_t> protocol;
  std::optional<uint8_t> scope;
  std::optional<RouteType> type;
};

bool filter_accepts(const RouteFilter& f, const fib::Route& r) {
  if (f.match && !(r.dst.network() == f.match->network())) return false;
  if (f.root && !(r.dst.len() >= f.root->len() && f.root->contains(r.dst.addr()))) return false;
  if (f.match_cover &&
      !(r.dst.len() <= f.match_cover->len() && r.dst.contains(f.match_cover->addr())))
    return false;
  // iproute2 filters on the RTA_OIF / RTA_GATEWAY attributes, which multipath routes lack.
  const fib::NextHop* single = r.nexthops.size() == 1 ? &r.nexthops[0] : nullptr;
  if (f.oif && (single == nullptr || single->ifindex != f.oif)) return false;
  if (f.via && (single == nullptr || single->gateway != *f.via)) return false;
  if (f.protocol && r.protocol != *f.protocol) return false;
  if (f.scope && r.scope != *f.scope) return false;
  if (f.type && r.type != *f.type) return false;
  return true;
}

RouteFilter parse_route_filter(Ctx& c, ArgReader& r) {
  RouteFilter f;
  while (!r.done()) {
    std::string k = r.next();
    if (k == "table") {
      std::string v = r.value();
      if (v == "all")
        f.table = 0;
      else if (v == "cache")
        f.table = 0;
      else
        f.table = need_table(c, v);
    } else if (k == "dev" || k == "oif") {
      f.oif = need_device(c, r.value()).ifindex;
    } else if (k == "via") {
      f.via = need_addr(r.value());
    } else if (k == "proto" || k == "protocol") {
      std::string v = r.value();
      f.protocol = protocol_from_name(c.node, v);
      if (!f.protocol) invarg("invalid \"protocol\"\n", v);
    } else if (k == "scope") {
      std::string v = r.value();
      f.scope = scope_from_name(v);
      if (!f.scope) invarg("invalid \"scope\"\n", v);
    } else if (k == "type") {
      std::string v = r.value();
      f.type = route_type_from_name(v);
      if (!f.type) invarg("node type value is invalid\n", v);
    } else if (k == "root") {
      f.root = need_prefix(r.value());
    } else if (k == "match") {
      f.match_cover = need_prefix(r.value());
    } else if (k == "exact") {
      f.match = need_prefix(r.value());
    } else {
      if (k == "to") k = r.value();
      if (auto t = route_type_from_name(k)) {
        f.type = t;
        continue;
      }
      f.match = need_prefix(k);
    }
  }
  return f;
}

std::vector<const fib::Route*> filtered_routes(Ctx& c, const RouteFilter& f) {
  std::vector<const fib::Route*> out;
  auto visit = [&](const fib::Table& t) {
    t.for_each([&](const fib::Route& r) {
      if (filter_accepts(f, r)) out.push_back(&r);
    });
  };
  uint32_t t = f.table.value_or(fib::table::kMain);
  if (t == 0) {
    for (const fib::Table* tb : c.node.fib().tables_in_dump_order()) visit(*tb);
  } else if (const fib::Table* tb = c.node.fib().find_table(t)) {
    visit(*tb);
  }
  return out;
}

int route_show(Ctx& c, ArgReader& r) {
  RouteFilter f = parse_route_filter(c, r);
  uint32_t t = f.table.value_or(fib::table::kMain);
  if (t != 0 && c.node.fib().find_table(t) == nullptr &&
      !(t == fib::table::kLocal && c.node.fib().find_table(fib::table::kMain))) {
    // iproute2 has already opened the JSON array when the dump fails.
    if (c.json) c.o.out += "[";
    c.o.err += "Error: ipv4: FIB table does not exist.\nDump terminated\n";
    return 2;
  }
  Json arr = Json::array();
  Hidden hide;
  hide.table = t != 0;
  hide.dev = f.oif != 0;
  hide.via = f.via.has_value();
  hide.protocol = f.protocol.has_value();
  hide.scope = f.scope.has_value();
  hide.type = f.type.has_value();
  for (const fib::Route* route : filtered_routes(c, f)) print_fib_route(c, *route, hide, &arr);
  if (c.json) finish_json(c, arr);
  return 0;
}

int route_flush(Ctx& c, ArgReader& r) {
  RouteFilter f = parse_route_filter(c, r);
  uint32_t t = f.table.value_or(fib::table::kMain);
  if (t != 0 && c.node.fib().find_table(t) == nullptr) {
    c.o.err += "Error: ipv4: FIB table does not exist.\nFlush terminated\n";
    return 2;
  }
  std::vector<fib::Route> victims;
  for (const fib::Route* route : filtered_routes(c, f)) victims.push_back(*route);
  for (const fib::Route& v : victims) {
    fib::DeleteSpec spec;
    spec.dst = v.dst;
    spec.tos = v.tos;
    spec.type = v.type;
    spec.scope = v.scope;
    spec.protocol = v.protocol;
    spec.priority = v.priority;
    spec.prefsrc = v.prefsrc;
    if (!v.multipath() && !v.nexthops.empty()) {
      spec.ifindex = v.nexthops[0].ifindex;
      if (!v.nexthops[0].gateway.is_unspecified()) spec.gateway = v.nexthops[0].gateway;
    }
    c.node.route_del(v.table, spec);
  }
  return 0;
}

int route_get(Ctx& c, ArgReader& r) {
  stack::RouteQuery q;
  bool have_dst = false;
  while (!r.done()) {
    std::string k = r.next();
    if (k == "from") {
      Prefix p = need_prefix(r.value(), have_dst ? "inet" : "any valid");
      q.src = p.addr();
    } else if (k == "iif") {
      q.iif = need_device(c, r.value()).ifindex;
    } else if (k == "oif" || k == "dev") {
      q.oif = need_device(c, r.value()).ifindex;
    } else if (k == "mark") {
      std::string v = r.value();
      auto m = net::parse_c_number(v);
      if (!m || *m > 0xffffffffu) invarg("invalid mark value", v);
      q.mark = static_cast<uint32_t>(*m);
    } else if (k == "tos" || k == "dsfield") {
      std::string v = r.value();
      auto t = dsfield_from_name(c.node, v);
      if (!t) invarg("TOS value is invalid\n", v);
      q.tos = *t;
    } else if (k == "fibmatch") {
      q.fibmatch = true;
    } else if (k == "connected" || k == "notify" || k == "uid" || k == "ipproto" || k == "sport" ||
               k == "dport") {
      if (k == "uid" || k == "ipproto" || k == "sport" || k == "dport") r.value();
    } else {
      if (k == "to") k = r.value();
      if (have_dst) duparg2("to", k);
      Prefix p = need_prefix(k);
      if (p.len() != 32) {
        c.o.err += fmt::format(
            "Warning: /{} as prefix is invalid, only /32 (or none) is supported.\n", p.len());
      }
      q.dst = p.addr();
      have_dst = true;
    }
  }
  if (!have_dst) throw IpExit{"need at least a destination address\n", 1};
  stack::RouteAnswer a;
  int err = c.node.route_get(q, &a);
  if (err != 0) return report(c, stack::Status::error(err));
  if (q.fibmatch) {
    if (a.fib_route == nullptr) return report(c, stack::Status::error(-EHOSTUNREACH));
    // fib_dump_info() with the rtable's type (a broadcast or multicast answer keeps it).
    fib::Route shown = *a.fib_route;
    shown.type = a.type;
    if (a.table != 0) shown.table = a.table;  // the table the lookup found it in (merged: main)
    Json arr = Json::array();
    print_fib_route(c, shown, Hidden{}, &arr);
    if (c.json) finish_json(c, arr);
    return 0;
  }
  print_route_answer(c, q, a);
  return 0;
}

int route_modify(Ctx& c, ArgReader& r, const std::string& sub,
                 const std::vector<Node::RouteRequest::Hop>& hops) {
  bool del = matches(sub, "delete");
  Node::RouteRequest req;
  fib::Route& rt = req.route;
  if (matches(sub, "add"))
    req.nlm_flags = fib::nlm::kCreate | fib::nlm::kExcl;
  else if (sub == "change" || sub == "chg")
    req.nlm_flags = fib::nlm::kReplace;
  else if (matches(sub, "replace"))
    req.nlm_flags = fib::nlm::kCreate | fib::nlm::kReplace;
  else if (matches(sub, "prepend"))
    req.nlm_flags = fib::nlm::kCreate;
  else if (matches(sub, "append"))
    req.nlm_flags = fib::nlm::kCreate | fib::nlm::kAppend;
  // iproute_modify(): a delete starts from scope nowhere (any), protocol and type unspec.
  rt.protocol = del ? 0 : fib::protocol::kBoot;
  rt.type = del ? RouteType::Unspec : RouteType::Unicast;
  rt.scope = del ? fib::scope::kNowhere : fib::scope::kUniverse;
  bool table_ok = false, scope_ok = false, dst_ok = false, proto_ok = false;
  bool type_given = false;
  std::string dev_name_arg;
  std::optional<Prefix> dst;
  uint32_t metric = 0;
  bool metric_given = false;
  while (!r.done()) {
    std::string k = r.next();
    if (k == "src") {
      rt.prefsrc = need_addr(r.value());
      req.has_prefsrc = true;
    } else if (k == "via") {
      std::string v = r.value();
      if (req.gateway) duparg("via", v);
      req.gateway = need_addr(v, "inet");
    } else if (k == "from") {
      need_prefix(r.value());
    } else if (k == "tos" || matches(k, "dsfield")) {
      std::string v = r.value();
      auto t = dsfield_from_name(c.node, v);
      if (!t) invarg("\"tos\" value is invalid\n", v);
      rt.tos = *t;
    } else if (k == "expires") {
      r.value();
    } else if (matches(k, "metric") || matches(k, "priority") || k == "preference") {
      std::string v = r.value();
      if (metric_given) duparg("metric", v);
      metric = need_u32(v, "metric");
      metric_given = true;
    } else if (k == "scope") {
      std::string v = r.value();
      auto s = scope_from_name(v);
      if (!s) invarg("invalid \"scope\" value\n", v);
      rt.scope = *s;
      scope_ok = true;
    } else if (k == "mtu") {
      std::string v = r.value();
      if (v == "lock") v = r.value();
      rt.mtu = need_u32(v, "mtu");
    } else if (k == "advmss" || k == "rtt" || k == "rttvar" || k == "reordering" || k == "window" ||
               k == "cwnd" || k == "initcwnd" || k == "initrwnd" || k == "realms" ||
               k == "hoplimit" || k == "ssthresh" || k == "rto_min" || k == "features" ||
               k == "quickack" || k == "congctl" || k == "fastopen_no_cookie") {
      r.value();
    } else if (k == "onlink") {
      req.onlink = true;
    } else if (k == "pervasive") {
    } else if (matches(k, "protocol")) {
      std::string v = r.value();
      auto p = protocol_from_name(c.node, v);
      if (!p) invarg("\"protocol\" value is invalid\n", v);
      rt.protocol = *p;
      proto_ok = true;
    } else if (matches(k, "table")) {
      rt.table = need_table(c, r.value());
      table_ok = true;
    } else if (k == "vrf") {
      r.value();
    } else if (k == "dev" || k == "oif") {
      dev_name_arg = r.value();
    } else {
      if (k == "to") k = r.value();
      if (auto t = route_type_from_name(k); t && !r.done()) {
        rt.type = *t;
        type_given = true;
        k = r.next();
      } else if (auto t2 = route_type_from_name(k)) {
        rt.type = *t2;
        type_given = true;
        continue;
      }
      if (dst_ok) duparg2("to", k);
      dst = need_prefix(k);
      dst_ok = true;
    }
  }
  (void)proto_ok;
  (void)type_given;
  if (!dst_ok) throw IpExit{std::string(ip_usage("route")), 255};
  req.multipath = hops;
  rt.dst = *dst;
  rt.priority = metric;
  if (!dev_name_arg.empty()) req.oif = need_device(c, dev_name_arg).ifindex;
  if (!table_ok) {
    if (rt.type == RouteType::Local || rt.type == RouteType::Broadcast ||
        rt.type == RouteType::Nat || rt.type == RouteType::Anycast) {
      rt.table = fib::table::kLocal;
    }
  }
  if (!scope_ok) {
    if (rt.type == RouteType::Local || rt.type == RouteType::Nat)
      rt.scope = fib::scope::kHost;
    else if (rt.type == RouteType::Broadcast || rt.type == RouteType::Multicast ||
             rt.type == RouteType::Anycast)
      rt.scope = fib::scope::kLink;
    else if (rt.type == RouteType::Unicast || rt.type == RouteType::Unspec) {
      if (del)
        rt.scope = fib::scope::kNowhere;
      else if (!req.gateway && req.multipath.empty())
        rt.scope = fib::scope::kLink;
    }
  }
  if (del) {
    fib::DeleteSpec spec;
    spec.dst = rt.dst;
    spec.tos = rt.tos;
    spec.type = rt.type;
    spec.scope = rt.scope;
    spec.protocol = rt.protocol;
    spec.prefsrc = rt.prefsrc;
    spec.priority = metric;
    spec.ifindex = req.oif;
    spec.gateway = req.gateway;
    for (const auto& h : req.multipath) spec.multipath.emplace_back(h.ifindex, h.gateway);
    return report(c, c.node.route_del(rt.table, spec));
  }
  return report(c, c.node.route_add(req));
}

// "ip route add ... nexthop via A dev X weight 1 nexthop ...": the words after the first
// `nexthop` are hop groups (iproute2 parse_nexthops()).
int route_modify_with_nexthops(Ctx& c, const Args& a, size_t start, const std::string& sub) {
  Args head(a.begin(), a.begin() + static_cast<ptrdiff_t>(start));
  std::vector<Args> hops;
  for (size_t i = start; i < a.size(); ++i) {
    if (a[i] == "nexthop") {
      hops.emplace_back();
      continue;
    }
    if (hops.empty())
      head.push_back(a[i]);
    else
      hops.back().push_back(a[i]);
  }
  std::vector<Node::RouteRequest::Hop> parsed;
  for (const Args& h : hops) {
    Node::RouteRequest::Hop hop;
    ArgReader hr(h, 0);
    while (!hr.done()) {
      std::string k = hr.next();
      if (k == "via") {
        hop.gateway = need_addr(hr.value(), "inet");
      } else if (k == "dev") {
        hop.ifindex = need_device(c, hr.value()).ifindex;
      } else if (k == "weight") {
        std::string v = hr.value();
        auto w = net::parse_c_number(v);
        if (!w || *w == 0 || *w > 256) invarg("\"weight\" is invalid\n", v);
        hop.weight = static_cast<int>(*w);
      } else if (k == "onlink") {
        hop.onlink = true;
      } else if (k != "pervasive") {
        invarg("\"nexthop\" value is invalid\n", k);
      }
    }
    parsed.push_back(hop);
  }
  ArgReader r(head, start);
  return route_modify(c, r, sub, parsed);
}

int do_route(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  size_t next = i + (i < a.size() ? 1 : 0);
  ArgReader r(a, next);
  if (matches(sub, "add") || sub == "change" || sub == "chg" || matches(sub, "replace") ||
      matches(sub, "prepend") || matches(sub, "append") || matches(sub, "delete")) {
    return route_modify_with_nexthops(c, a, next, sub);
  }
  if (matches(sub, "list") || matches(sub, "show") || matches(sub, "lst")) return route_show(c, r);
  if (matches(sub, "get")) return route_get(c, r);
  if (matches(sub, "flush")) {
    if (!r.done() && r.peek() == "cache") {
      c.node.flush_route_cache();
      return 0;
    }
    return route_flush(c, r);
  }
  throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip route help\".\n", sub), 255};
}

// ---------------------------------------------------------------- rule

std::string rule_action_text(const Node& node, const fib::Rule& rule, Json* j) {
  switch (rule.action) {
    case fib::RuleAction::ToTable: {
      std::string t = table_name(node, rule.table);
      j->set("table", t);
      return "lookup " + t + " ";
    }
    case fib::RuleAction::Goto: {
      j->set("goto", rule.goto_target);
      std::string s = "goto " + std::to_string(rule.goto_target) + " ";
      if (node.fib().goto_target(rule) == nullptr) {
        j->set("unresolved", Json::null());
        s += "[unresolved] ";
      }
      return s;
    }
    case fib::RuleAction::Nop:
      j->set("nop", Json::null());
      return "nop ";
    case fib::RuleAction::Blackhole:
      j->set("action", "blackhole");
      return "blackhole ";
    case fib::RuleAction::Unreachable:
      j->set("action", "unreachable");
      return "unreachable ";
    case fib::RuleAction::Prohibit:
      j->set("action", "prohibit");
      return "prohibit ";
    default:
      return "";
  }
}

void print_rule(Ctx& c, const fib::Rule& rule, Json* arr) {
  Json j = Json::object();
  std::string s = std::to_string(rule.priority) + ":\t";
  j.set("priority", rule.priority);
  if (rule.invert) {
    j.set("not", Json::null());
    s += "not ";
  }
  if (rule.src.len() != 0) {
    j.set("src", rule.src.addr().to_string());
    s += "from " + rule.src.addr().to_string();
    if (rule.src.len() != 32) {
      j.set("srclen", rule.src.len());
      s += "/" + std::to_string(rule.src.len());
    }
    s += " ";
  } else {
    j.set("src", "all");
    s += "from all ";
  }
  if (rule.dst.len() != 0) {
    j.set("dst", rule.dst.addr().to_string());
    s += "to " + rule.dst.addr().to_string();
    if (rule.dst.len() != 32) {
      j.set("dstlen", rule.dst.len());
      s += "/" + std::to_string(rule.dst.len());
    }
    s += " ";
  }
  if (rule.tos) {
    j.set("tos", dsfield_name(c.node, rule.tos));
    s += "tos " + dsfield_name(c.node, rule.tos) + " ";
  }
  if (rule.fwmark || rule.fwmask) {
    j.set("fwmark", c_hex(rule.fwmark));
    s += "fwmark " + c_hex(rule.fwmark);
    if (rule.fwmask != 0xffffffffu) {
      j.set("fwmask", c_hex(rule.fwmask));
      s += "/" + c_hex(rule.fwmask);
    }
    s += " ";
  }
  if (!rule.iifname.empty()) {
    j.set("iif", rule.iifname);
    s += "iif " + rule.iifname + " ";
    if (rule.iifindex == -1) {
      j.set("iif_detached", Json::null());
      s += "[detached] ";
    }
  }
  if (!rule.oifname.empty()) {
    j.set("oif", rule.oifname);
    s += "oif " + rule.oifname + " ";
    if (rule.oifindex == -1) {
      j.set("oif_detached", Json::null());
      s += "[detached] ";
    }
  }
  s += rule_action_text(c.node, rule, &j);
  if (rule.suppress_prefixlen >= 0) {
    j.set("suppress_prefixlen", rule.suppress_prefixlen);
    s += "suppress_prefixlength " + std::to_string(rule.suppress_prefixlen) + " ";
  }
  if (rule.protocol != 0 && rule.protocol != fib::protocol::kKernel) {
    j.set("protocol", protocol_name(c.node, rule.protocol));
    s += "proto " + protocol_name(c.node, rule.protocol) + " ";
  }
  if (c.json) {
    arr->push(j);
  } else {
    // iproute2 ends a rule line with the last field's trailing space trimmed.
    while (!s.empty() && s.back() == ' ') s.pop_back();
    c.o.out += s + "\n";
  }
}

int do_rule(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  ArgReader r(a, i + (i < a.size() ? 1 : 0));
  if (matches(sub, "list") || matches(sub, "show") || matches(sub, "lst")) {
    // iprule.c filter_nlmsg(): each selector given must match.
    std::optional<uint32_t> pref, table, fwmark;
    std::optional<Prefix> from, to;
    std::optional<std::string> iif, oif;
    std::optional<uint8_t> tos;
    bool invert = false;
    while (!r.done()) {
      std::string k = r.next();
      if (matches(k, "preference") || matches(k, "order") || matches(k, "priority")) {
        pref = need_u32(r.value(), "preference");
      } else if (matches(k, "table") || k == "lookup") {
        std::string v = r.value();
        auto t = table_from_name(c.node, v);
        if (!t) invarg("table id value is invalid\n", v);
        table = *t;
      } else if (k == "from") {
        from = need_prefix(r.value());
      } else if (k == "to") {
        to = need_prefix(r.value());
      } else if (k == "iif" || k == "dev") {
        iif = r.value();
      } else if (k == "oif") {
        oif = r.value();
      } else if (k == "fwmark") {
        fwmark = need_u32(r.value(), "fwmark");
      } else if (k == "tos" || matches(k, "dsfield")) {
        std::string v = r.value();
        tos = dsfield_from_name(c.node, v);
        if (!tos) invarg("TOS value is invalid\n", v);
      } else if (k == "not") {
        invert = true;
      } else {
        throw IpExit{fmt::format("Error: argument \"{}\" is wrong: Failed to parse rule type\n", k),
                     255};
      }
    }
    Json arr = Json::array();
    for (const fib::Rule& rule : c.node.fib().rules()) {
      if (pref && rule.priority != *pref) continue;
      if (table && rule.table != *table) continue;
      if (from && (rule.src.len() != from->len() || rule.src.addr() != from->addr())) continue;
      if (to && (rule.dst.len() != to->len() || rule.dst.addr() != to->addr())) continue;
      if (iif && rule.iifname != *iif) continue;
      if (oif && rule.oifname != *oif) continue;
      if (fwmark && rule.fwmark != *fwmark) continue;
      if (tos && rule.tos != *tos) continue;
      if (invert && !rule.invert) continue;
      print_rule(c, rule, &arr);
    }
    if (c.json) finish_json(c, arr);
    return 0;
  }
  bool add = matches(sub, "add");
  bool del = matches(sub, "delete");
  if (!add && !del) {
    if (matches(sub, "flush")) {
      auto rules = c.node.fib().rules();
      for (const fib::Rule& rule : rules) {
        if (rule.priority == 0) continue;
        fib::RuleDeleteSpec spec;
        spec.rule = rule;
        spec.rule.action = fib::RuleAction::Unspec;
        spec.user_priority = true;
        c.node.rule_del(spec);
      }
      return 0;
    }
    throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip rule help\".\n", sub), 255};
  }
  if (r.done()) {
    throw IpExit{fmt::format("\"ip rule {}\" requires arguments.\n", sub), 1};
  }
  fib::Rule rule;
  rule.action = add ? fib::RuleAction::ToTable : fib::RuleAction::Unspec;
  bool user_priority = false;
  bool table_ok = false;
  if (r.done() && add) {
    // iproute2 requires at least one selector or action for add.
  }
  while (!r.done()) {
    std::string k = r.next();
    if (k == "not") {
      rule.invert = true;
    } else if (k == "from") {
      std::string v = r.value();
      Prefix p = need_prefix(v);
      rule.src = p;
    } else if (k == "to") {
      std::string v = r.value();
      rule.dst = need_prefix(v);
    } else if (matches(k, "preference") || matches(k, "order") || matches(k, "priority")) {
      std::string v = r.value();
      auto n = net::parse_c_number(v);
      if (!n || *n > 0xffffffffu) invarg("preference value is invalid\n", v);
      rule.priority = static_cast<uint32_t>(*n);
      user_priority = true;
    } else if (k == "tos" || matches(k, "dsfield")) {
      std::string v = r.value();
      auto t = dsfield_from_name(c.node, v);
      if (!t) invarg("TOS value is invalid\n", v);
      rule.tos = *t;
    } else if (k == "fwmark") {
      std::string v = r.value();
      size_t slash = v.find('/');
      auto m = net::parse_c_number(v.substr(0, slash));
      if (!m || *m > 0xffffffffu) invarg("fwmark value is invalid\n", v);
      rule.fwmark = static_cast<uint32_t>(*m);
      rule.fwmask = rule.fwmark ? 0xffffffffu : 0;
      if (slash != std::string::npos) {
        auto mk = net::parse_c_number(v.substr(slash + 1));
        if (!mk || *mk > 0xffffffffu) invarg("fwmask value is invalid\n", v);
        rule.fwmask = static_cast<uint32_t>(*mk);
      }
    } else if (k == "realms") {
      r.value();
    } else if (matches(k, "table") || k == "lookup") {
      std::string v = r.value();
      auto t = table_from_name(c.node, v);
      if (!t) invarg("invalid table ID\n", v);
      rule.table = *t;
      table_ok = true;
    } else if (k == "suppress_prefixlength" || k == "sup_pl") {
      std::string v = r.value();
      auto n = net::parse_c_number(v);
      if (!n || *n > 0x7fffffff) invarg("suppress_prefixlength value is invalid\n", v);
      rule.suppress_prefixlen = static_cast<int>(*n);
    } else if (k == "dev" || k == "iif") {
      rule.iifname = r.value();
    } else if (k == "oif") {
      rule.oifname = r.value();
    } else if (k == "goto") {
      std::string v = r.value();
      auto n = net::parse_c_number(v);
      if (!n || *n > 0xffffffffu) invarg("invalid target\n", v);
      rule.action = fib::RuleAction::Goto;
      rule.goto_target = static_cast<uint32_t>(*n);
    } else if (k == "nop") {
      rule.action = fib::RuleAction::Nop;
    } else if (k == "blackhole") {
      rule.action = fib::RuleAction::Blackhole;
    } else if (k == "unreachable") {
      rule.action = fib::RuleAction::Unreachable;
    } else if (k == "prohibit") {
      rule.action = fib::RuleAction::Prohibit;
    } else if (k == "protocol" || k == "proto") {
      std::string v = r.value();
      auto p = protocol_from_name(c.node, v);
      if (!p) invarg("\"protocol\" value is invalid\n", v);
      rule.protocol = *p;
    } else if (k == "type") {
      std::string v = r.value();
      if (v == "blackhole")
        rule.action = fib::RuleAction::Blackhole;
      else if (v == "unreachable")
        rule.action = fib::RuleAction::Unreachable;
      else if (v == "prohibit")
        rule.action = fib::RuleAction::Prohibit;
      else if (v == "nop")
        rule.action = fib::RuleAction::Nop;
      else if (v != "unicast")
        invarg("Failed to parse rule type", v);
    } else {
      throw IpExit{fmt::format("Error: argument \"{}\" is wrong: Failed to parse rule type\n", k),
                   255};
    }
  }
  (void)table_ok;
  if (del) {
    fib::RuleDeleteSpec spec;
    spec.rule = rule;
    spec.user_priority = user_priority;
    return report(c, c.node.rule_del(spec));
  }
  if (rule.action == fib::RuleAction::ToTable && rule.table == 0 && !table_ok) {
    rule.table = fib::table::kMain;
  }
  return report(c, c.node.rule_add(rule, user_priority));
}

// ---------------------------------------------------------------- neighbour

int do_neigh(Ctx& c, const Args& a, size_t i) {
  std::string sub = i < a.size() ? a[i] : "show";
  ArgReader r(a, i + (i < a.size() ? 1 : 0));
  if (matches(sub, "show") || matches(sub, "list") || matches(sub, "lst")) {
    std::string dev;
    while (!r.done()) {
      std::string k = r.next();
      if (k == "dev") dev = r.value();
    }
    int ix = dev.empty() ? 0 : need_device(c, dev).ifindex;
    Json arr = Json::array();
    for (const auto& n : c.node.neighbours()) {
      if (ix && n.ifindex != ix) continue;
      Json j = Json::object();
      std::string s = n.dst.to_string() + " ";
      j.set("dst", n.dst.to_string());
      if (!ix) {
        j.set("dev", dev_name(c.node, n.ifindex));
        s += "dev " + dev_name(c.node, n.ifindex) + " ";
      }
      if (n.lladdr) {
        j.set("lladdr", n.lladdr->to_string());
        s += "lladdr " + n.lladdr->to_string() + " ";
      }
      if (n.router) {
        j.set("router", Json::null());
        s += "router ";
      }
      Json st = Json::array();
      st.push(stack::neigh_state_name(n.state));
      j.set("state", st);
      s += std::string(stack::neigh_state_name(n.state)) + " ";
      arr.push(j);
      if (!c.json) c.o.out += s + "\n";
    }
    if (c.json) finish_json(c, arr);
    return 0;
  }
  bool add = matches(sub, "add"), del = matches(sub, "delete");
  bool change = sub == "change" || sub == "chg", replace = matches(sub, "replace");
  if (!add && !del && !change && !replace) {
    if (matches(sub, "flush")) return 0;
    throw IpExit{fmt::format("Command \"{}\" is unknown, try \"ip neigh help\".\n", sub), 255};
  }
  stack::Neighbour n;
  std::string dev;
  bool have_dst = false;
  while (!r.done()) {
    std::string k = r.next();
    if (k == "lladdr") {
      std::string v = r.value();
      auto mac = net::MacAddr::parse(v);
      if (!mac) invarg("\"lladdr\" value is invalid\n", v);
      n.lladdr = *mac;
    } else if (k == "nud") {
      std::string v = r.value();
      if (v == "permanent")
        n.state = stack::NeighState::Permanent;
      else if (v == "reachable")
        n.state = stack::NeighState::Reachable;
      else if (v == "stale")
        n.state = stack::NeighState::Stale;
      else if (v == "noarp")
        n.state = stack::NeighState::Noarp;
      else if (v == "delay")
        n.state = stack::NeighState::Delay;
      else if (v == "probe")
        n.state = stack::NeighState::Probe;
      else if (v == "failed")
        n.state = stack::NeighState::Failed;
      else if (v == "none")
        n.state = stack::NeighState::None;
      else
        invarg("nud state is bad", v);
    } else if (k == "permanent") {
      n.state = stack::NeighState::Permanent;
    } else if (k == "router") {
      n.router = true;
    } else if (k == "proxy") {
      n.proxy = true;
      n.dst = need_addr(r.value());
      have_dst = true;
    } else if (k == "dev") {
      dev = r.value();
    } else {
      if (k == "to") k = r.value();
      if (have_dst) duparg2("to", k);
      n.dst = need_addr(k);
      have_dst = true;
    }
  }
  if (dev.empty() || !have_dst) {
    throw IpExit{"Device and destination are required arguments.\n", 255};
  }
  n.ifindex = need_device(c, dev).ifindex;
  if (del) return report(c, c.node.neigh_del(n.ifindex, n.dst));
  return report(c, c.node.neigh_add(n, replace || change, add || replace, add));
}

}  // namespace

CmdOutput run_ip(stack::Node& node, const Args& argv) {
  Ctx c{node, false, false, 0, 0, false, {}};
  size_t i = 1;
  try {
    while (i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-') {
      std::string opt = argv[i];
      if (opt.rfind("--", 0) == 0) opt = opt.substr(1);
      if (matches(opt, "-json"))
        c.json = true;
      else if (matches(opt, "-pretty"))
        c.pretty = true;
      else if (matches(opt, "-details"))
        ++c.details;
      else if (matches(opt, "-statistics"))
        ++c.stats;
      else if (opt == "-4") {
      } else if (matches(opt, "-oneline"))
        c.oneline = true;
      else if (opt == "-f" || matches(opt, "-family")) {
        ++i;
        if (i >= argv.size() || argv[i] != "inet") {
          throw IpExit{"vnet: only the inet family is supported\n", 255};
        }
      } else {
        throw IpExit{fmt::format("Option \"{}\" is unknown, try \"ip -help\".\n", argv[i]), 255};
      }
      ++i;
    }
    if (i >= argv.size()) {
      throw IpExit{"Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n", 255};
    }
    std::string obj = argv[i];
    if (i + 1 < argv.size() && matches(argv[i + 1], "help")) {
      for (const char* o : {"address", "route", "rule", "neigh", "link", "tunnel"}) {
        if (matches(obj, o) || (std::string_view(o) == "neigh" && matches(obj, "neighbour"))) {
          throw IpExit{std::string(ip_usage(o)), 255};
        }
      }
    }
    int rc;
    if (matches(obj, "address"))
      rc = do_addr(c, argv, i + 1);
    else if (matches(obj, "route"))
      rc = do_route(c, argv, i + 1);
    else if (matches(obj, "rule"))
      rc = do_rule(c, argv, i + 1);
    else if (matches(obj, "neighbor") || matches(obj, "neighbour"))
      rc = do_neigh(c, argv, i + 1);
    else if (matches(obj, "link"))
      rc = do_link(c, argv, i + 1);
    else if (matches(obj, "tunnel") || obj == "tunl")
      rc = do_tunnel(c, argv, i + 1);
    else
      throw IpExit{fmt::format("Object \"{}\" is unknown, try \"ip help\".\n", obj), 1};
    c.o.status = rc;
  } catch (const IpExit& e) {
    c.o.err += e.message;
    c.o.status = e.status;
  }
  return std::move(c.o);
}

}  // namespace vnet::cmd
