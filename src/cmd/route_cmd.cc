// net-tools `route`: `route -n`, `route add|del -net|-host TARGET [netmask M] [gw G]
// [metric N] [dev D]`.  route(8) talks to the kernel through SIOCADDRT, which creates routes
// with proto boot and scope universe (link without a gateway), in table main.
#include <fmt/format.h>

#include <cerrno>

#include "cmd/command.h"
#include "net/ipv4_addr.h"

namespace vnet::cmd {

namespace {

std::string route_flags(const fib::Route& r) {
  // /proc/net/route flags: U (up), G (gateway), H (host); reject routes show "!".
  if (r.type == fib::RouteType::Unreachable || r.type == fib::RouteType::Prohibit) return "!";
  bool gateway = !r.nexthops.empty() && !r.nexthops[0].gateway.is_unspecified();
  bool host = r.dst.len() == 32;
  return std::string("U") + (gateway ? "G" : "") + (host ? "H" : "");
}

}  // namespace

CmdOutput run_route(stack::Node& node, const Args& argv) {
  CmdOutput o;
  size_t i = 1;
  bool numeric = false;
  while (i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-' && argv[i] != "-net" &&
         argv[i] != "-host") {
    if (argv[i].find('n') != std::string::npos) numeric = true;
    ++i;
  }
  if (i >= argv.size()) {
    o.out += "Kernel IP routing table\n";
    o.out += "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface\n";
    const fib::Table* t = node.fib().find_table(fib::table::kMain);
    if (t == nullptr) return o;
    // route(8) reads /proc/net/route: main-table routes in the trie's walk order.
    std::vector<const fib::Route*> routes;
    t->for_each([&](const fib::Route& r) { routes.push_back(&r); });
    for (const fib::Route* r : routes) {
      // /proc/net/route skips broadcast and multicast routes; reject routes print as "!" with
      // "-" for gateway, refcount and device; a blackhole has no device ("*").
      if (r->type == fib::RouteType::Broadcast || r->type == fib::RouteType::Multicast) continue;
      bool reject = r->type == fib::RouteType::Unreachable || r->type == fib::RouteType::Prohibit;
      const fib::NextHop* nh = r->nexthops.empty() ? nullptr : &r->nexthops[0];
      const stack::Device* d = nh ? node.device(nh->ifindex) : nullptr;
      std::string dest = r->dst.addr().to_string();
      if (!numeric && r->dst.len() == 0) dest = "default";
      std::string gw = reject ? "-" : (nh ? nh->gateway.to_string() : std::string("0.0.0.0"));
      o.out += fmt::format("{:<15} {:<15} {:<15} {:<5} {:<6} {:<6} {:>3} {}\n", dest, gw,
                           net::Ipv4Addr(r->dst.mask()).to_string(), route_flags(*r), r->priority,
                           reject ? "-" : "0", 0, reject ? "-" : (d ? d->name : "*"));
    }
    return o;
  }
  std::string verb = argv[i++];
  bool add = verb == "add", del = verb == "del";
  if (!add && !del) {
    o.err += fmt::format("route: unknown command '{}'\n", verb);
    o.status = 1;
    return o;
  }
  bool host = false;
  std::optional<net::Prefix> target;
  std::optional<net::Ipv4Addr> gw, netmask;
  std::string dev;
  uint32_t metric = 0;
  bool reject = false;
  while (i < argv.size()) {
    std::string k = argv[i++];
    auto value = [&]() -> std::string {
      if (i >= argv.size()) return {};
      return argv[i++];
    };
    if (k == "-net")
      host = false;
    else if (k == "-host")
      host = true;
    else if (k == "gw" || k == "gateway") {
      std::string v = value();
      gw = net::Ipv4Addr::parse(v);
      if (!gw) {
        o.err += fmt::format("{}: Unknown host\n", v);
        o.status = 1;
        return o;
      }
    } else if (k == "netmask") {
      netmask = net::Ipv4Addr::parse(value());
    } else if (k == "metric") {
      metric = static_cast<uint32_t>(std::stoul(value()));
    } else if (k == "dev") {
      dev = value();
    } else if (k == "reject") {
      reject = true;
    } else if (k == "mss" || k == "window" || k == "irtt") {
      value();
    } else if (!target) {
      if (k == "default") {
        target = net::Prefix(net::Ipv4Addr(), 0);
      } else {
        target = net::Prefix::parse_iproute2(k);
        if (!target ||
            (k.find('/') == std::string::npos && !host && !netmask && !net::Ipv4Addr::parse(k))) {
          o.err += fmt::format("{}: Unknown host\n", k);
          o.status = 1;
          return o;
        }
      }
    } else {
      dev = k;  // route(8) takes a trailing bare word as the device
    }
  }
  if (!target) {
    o.err += "Usage: route [-nNvee] [-FC] [<AF>]           List kernel routing tables\n";
    o.status = 1;
    return o;
  }
  net::Prefix p = *target;
  if (netmask) {
    int len = 0;
    while (len < 32 && (netmask->value() & (0x80000000u >> len))) ++len;
    p = net::Prefix(p.addr(), len);
  } else if (host) {
    p = net::Prefix(p.addr(), 32);
  }
  if (p.has_host_bits()) {
    o.err += "route: netmask doesn't match route address\n";
    o.status = 1;
    return o;
  }
  int oif = 0;
  if (!dev.empty()) {
    const stack::Device* d = node.device_by_name(dev);
    if (d == nullptr) {
      o.err += "SIOCADDRT: No such device\n";
      o.status = 7;
      return o;
    }
    oif = d->ifindex;
  }
  if (del) {
    fib::DeleteSpec spec;
    spec.dst = p;
    spec.ifindex = oif;
    spec.gateway = gw;
    spec.priority = metric;
    stack::Status s = node.route_del(fib::table::kMain, spec);
    if (!s.ok()) {
      o.err += fmt::format("SIOCDELRT: {}\n", stack::errno_text(s.err));
      o.status = 7;
    }
    return o;
  }
  stack::Node::RouteRequest req;
  req.route.table = fib::table::kMain;
  req.route.dst = p;
  req.route.priority = metric;
  req.route.protocol = fib::protocol::kBoot;
  req.route.type = reject ? fib::RouteType::Unreachable : fib::RouteType::Unicast;
  req.route.scope = (gw || reject) ? fib::scope::kUniverse : fib::scope::kLink;
  req.gateway = gw;
  req.oif = oif;
  req.nlm_flags = fib::nlm::kCreate;
  stack::Status s = node.route_add(req);
  if (!s.ok()) {
    o.err += fmt::format("SIOCADDRT: {}\n", stack::errno_text(s.err));
    o.status = 7;
  }
  return o;
}

}  // namespace vnet::cmd
