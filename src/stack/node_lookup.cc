// Route resolution for locally generated and received packets, as `ip route get` exercises it:
// ip_route_output_key_hash_rcu()/__mkroute_output() and ip_route_input_slow()/
// __mkroute_input() with fib_validate_source() (net/ipv4/route.c, fib_frontend.c).
#include <fmt/format.h>

#include <algorithm>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "stack/node.h"

namespace vnet::stack {

using fib::RouteType;
namespace scope = fib::scope;

namespace {

// A deterministic stand-in for the kernel's seeded L3 flow hash (fib_multipath_hash(),
// policy 0: source and destination address).  Result in [0, 2^31).
int32_t l3_hash(Ipv4Addr src, Ipv4Addr dst) {
  uint32_t h = src.value() * 0x9e3779b1u ^ (dst.value() + 0x7f4a7c15u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return static_cast<int32_t>(h >> 1);
}

const char* route_type_word(RouteType t) {
  switch (t) {
    case RouteType::Local:
      return "local";
    case RouteType::Broadcast:
      return "broadcast";
    case RouteType::Anycast:
      return "anycast";
    case RouteType::Multicast:
      return "multicast";
    case RouteType::Blackhole:
      return "blackhole";
    case RouteType::Unreachable:
      return "unreachable";
    case RouteType::Prohibit:
      return "prohibit";
    case RouteType::Throw:
      return "throw";
    default:
      return "unicast";
  }
}

constexpr Ipv4Addr kAllHostsGroup = Ipv4Addr::from_octets(224, 0, 0, 1);

bool is_local_multicast(Ipv4Addr a) {
  return (a.value() & 0xffffff00u) == 0xe0000000u;
}

}  // namespace

// One line for `vnet trace`: the rule that decided, the table and the route found.
std::string Node::describe_lookup(const fib::LookupResult& res, int err) const {
  std::string s;
  if (res.rule) {
    s += "rule " + std::to_string(res.rule->priority) + ": ";
  } else if (!fib_.has_custom_rules()) {
    s += "no rules (main+local, then default): ";
  }
  if (err != 0 && res.route == nullptr) return s + "no route (" + errno_text(err) + ")";
  if (res.route == nullptr) return s + errno_text(err);
  s += "table " + std::to_string(res.table) + " ";
  const fib::Route& r = *res.route;
  if (r.type != RouteType::Unicast) s += std::string(route_type_word(r.type)) + " ";
  s += r.dst.to_string();
  if (const fib::NextHop* nh = res.nexthop()) {
    if (!nh->gateway.is_unspecified()) s += " via " + nh->gateway.to_string();
    if (const Device* d = device(nh->ifindex)) s += " dev " + d->name;
    if (r.multipath())
      s += " (nexthop " + std::to_string(res.nh_index + 1) + " of " +
           std::to_string(r.nexthops.size()) + ")";
  }
  if (err != 0) s += std::string(": ") + errno_text(err);
  return s;
}

int Node::select_multipath(const fib::Route& route, Ipv4Addr src, Ipv4Addr dst) const {
  int32_t hash = l3_hash(src, dst);
  for (size_t i = 0; i < route.nexthops.size(); ++i) {
    if (hash > route.nexthops[i].upper_bound) continue;
    return static_cast<int>(i);
  }
  return 0;
}

Ipv4Addr Node::result_prefsrc(const fib::LookupResult& res) const {
  // fib_result_prefsrc(): the route's src, else the nexthop device's address for its scope.
  if (!res.route->prefsrc.is_unspecified()) return res.route->prefsrc;
  const fib::NextHop* nh = res.nexthop();
  if (nh == nullptr) return Ipv4Addr();
  return select_addr(nh->ifindex, nh->gateway, res.route->scope);
}

int Node::route_resolve(const RouteQuery& q, RouteAnswer* a) const {
  *a = RouteAnswer{};
  a->dst = q.dst;
  a->src = q.src;
  a->mark = q.mark;
  if (q.iif != 0) return route_input(q, a);
  return route_output(q, a);
}

namespace {

bool same_query(const RouteQuery& x, const RouteQuery& y) {
  return x.dst == y.dst && x.src == y.src && x.iif == y.iif && x.oif == y.oif && x.mark == y.mark &&
         x.tos == y.tos && x.fibmatch == y.fibmatch && x.trace == y.trace;
}

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser: every input bit reaches every output bit
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The query's set (of two entries) in the route cache.
size_t query_slot(const RouteQuery& q) {
  uint64_t addrs = static_cast<uint64_t>(q.dst.value()) << 32 | q.src.value();
  uint64_t rest = (static_cast<uint64_t>(static_cast<uint32_t>(q.iif)) << 40) ^
                  (static_cast<uint64_t>(static_cast<uint32_t>(q.oif)) << 20) ^ q.mark ^
                  (static_cast<uint64_t>(q.tos) << 56) ^ (q.fibmatch ? 1ull << 63 : 0);
  return static_cast<size_t>(mix64(addrs ^ mix64(rest)) % (Node::kRouteCacheSize / 2));
}

std::string describe_answer(int err, const RouteAnswer& a) {
  return fmt::format(
      "err {} type {} oif {} iif {} table {} prefsrc {} gateway {} local {} input {} drop {} "
      "mtu {} route {}",
      err, static_cast<int>(a.type), a.oif, a.iif, a.table, a.prefsrc.to_string(),
      a.gateway ? a.gateway->to_string() : "-", a.local, a.input,
      a.drop ? static_cast<int>(*a.drop) : -1, a.mtu, static_cast<const void*>(a.fib_route));
}

}  // namespace

// Every field but the trace (which cached queries never collect).
bool same_answer(const RouteAnswer& x, const RouteAnswer& y) {
  return x.type == y.type && x.dst == y.dst && x.src == y.src && x.prefsrc == y.prefsrc &&
         x.gateway == y.gateway && x.oif == y.oif && x.iif == y.iif && x.table == y.table &&
         x.tos == y.tos && x.mark == y.mark && x.input == y.input && x.local == y.local &&
         x.broadcast == y.broadcast && x.multicast == y.multicast && x.redirect == y.redirect &&
         x.error == y.error && x.no_route == y.no_route && x.drop == y.drop && x.mtu == y.mtu &&
         x.pmtu_expires_ns == y.pmtu_expires_ns && x.fib_route == y.fib_route;
}

bool verify_route_cache() {
  static const bool on = [] {
    const char* v = std::getenv("VNET_ROUTE_CACHE_VERIFY");
    return v != nullptr && *v != '\0' && std::string_view(v) != "0";
  }();
  return on;
}

int Node::route_get(const RouteQuery& q, RouteAnswer* a) const {
  int err;
  if (q.trace || !route_cache_on_) {
    err = route_resolve(q, a);
  } else {
    if (route_cache_.empty()) {
      route_cache_.resize(kRouteCacheSize);
      route_cache_mru_.assign(kRouteCacheSize / 2, 0);
    }
    // Two ways per set; the way hit or filled last is remembered, the other one is replaced.
    const size_t set = query_slot(q);
    RouteCacheEntry* ways = &route_cache_[set * 2];
    size_t way = 0;
    if (!(ways[0].generation == config_gen_ && same_query(ways[0].query, q))) way = 1;
    RouteCacheEntry& e = ways[way];
    if (e.generation == config_gen_ && same_query(e.query, q)) {
      ++route_cache_stats_.hits;
      route_cache_mru_[set] = static_cast<uint8_t>(way);
      *a = e.answer;
      err = e.err;
      if (verify_route_cache()) {
        RouteAnswer fresh;
        int fresh_err = route_resolve(q, &fresh);
        if (fresh_err != err || !same_answer(fresh, *a)) {
          std::fprintf(stderr,
                       "route cache: stale answer for %s -> %s iif %d oif %d mark %u tos %u "
                       "(generation %llu)\n  cached: %s\n  fresh:  %s\n",
                       q.src.to_string().c_str(), q.dst.to_string().c_str(), q.iif, q.oif, q.mark,
                       q.tos, static_cast<unsigned long long>(config_gen_),
                       describe_answer(err, *a).c_str(), describe_answer(fresh_err, fresh).c_str());
          std::abort();
        }
      }
    } else {
      ++route_cache_stats_.misses;
      err = route_resolve(q, a);
      // route_resolve may have looked up other queries (and reused this set): write it last.
      size_t victim = route_cache_[set * 2].generation != config_gen_ ? 0
                      : route_cache_[set * 2 + 1].generation != config_gen_
                          ? 1
                          : 1 - route_cache_mru_[set];
      route_cache_mru_[set] = static_cast<uint8_t>(victim);
      RouteCacheEntry& slot = route_cache_[set * 2 + victim];
      slot.generation = config_gen_;
      slot.query = q;
      slot.err = err;
      slot.answer = *a;
    }
  }
  if (q.iif != 0) return err;
  if (err == 0 && !a->local && !a->broadcast && !a->multicast && !q.fibmatch) {
    auto it = pmtu_.find(q.dst.value());
    if (it != pmtu_.end() && it->second.expires_ns > now_ns_) {
      a->mtu = a->mtu ? std::min(a->mtu, it->second.mtu) : it->second.mtu;
      a->pmtu_expires_ns = it->second.expires_ns;
      if (q.trace) {
        a->trace.push_back(
            fmt::format("learned path mtu {} to {}", it->second.mtu, q.dst.to_string()));
      }
    }
  }
  return err;
}

void Node::update_pmtu(Ipv4Addr dst, uint32_t mtu) {
  constexpr uint32_t kMinPmtu = 552;                          // ip_rt_min_pmtu
  constexpr uint64_t kExpiresNs = 600ull * 1'000'000'000ull;  // ip_rt_mtu_expires
  RouteQuery q;
  q.dst = dst;
  RouteAnswer a;
  if (route_get(q, &a) != 0 || a.local) return;
  const Device* dev = device(a.oif);
  uint32_t old_mtu = dev ? static_cast<uint32_t>(dev->mtu) : 1500;
  if (a.mtu) old_mtu = std::min(old_mtu, a.mtu);
  if (old_mtu < mtu) return;
  if (mtu < kMinPmtu) mtu = std::min(old_mtu, kMinPmtu);
  // Bounded like the kernel's exception buckets: forget expired entries, then the oldest.
  constexpr size_t kMaxEntries = 4096;
  if (pmtu_.size() >= kMaxEntries && !pmtu_.count(dst.value())) {
    std::erase_if(pmtu_, [&](const auto& e) { return e.second.expires_ns <= now_ns_; });
    if (pmtu_.size() >= kMaxEntries) {
      auto oldest = std::min_element(pmtu_.begin(), pmtu_.end(), [](const auto& x, const auto& y) {
        return x.second.expires_ns < y.second.expires_ns;
      });
      pmtu_.erase(oldest);
    }
  }
  pmtu_[dst.value()] = Pmtu{mtu, now_ns_ + kExpiresNs};
}

int Node::route_output(const RouteQuery& q, RouteAnswer* a) const {
  fib::Flow fl;
  fl.dst = q.dst;
  fl.src = q.src;
  fl.oif = q.oif;
  fl.iif = kLoopbackIfindex;
  fl.mark = q.mark;
  fl.tos = q.tos;
  int orig_oif = q.oif;
  const Device* dev_out = nullptr;
  fib::LookupResult res;
  bool have_fi = false;
  uint32_t flags_local = 0;
  if (q.trace) a->trace.push_back("output route: dst " + q.dst.to_string());

  auto addr_device = [&](Ipv4Addr addr) -> const Device* {
    // __ip_dev_find(): the device holding addr, else a local-table route of type local.
    for (const auto& [i, d] : devices_) {
      for (const IfAddr& ifa : d.addrs) {
        if (ifa.local == addr) return &d;
      }
    }
    fib::Flow f;
    f.dst = addr;
    fib::LookupResult r;
    if (fib_.table_lookup(fib::table::kLocal, f, &r) == 0 && r.type == RouteType::Local &&
        r.nexthop()) {
      return device(r.nexthop()->ifindex);
    }
    return nullptr;
  };

  if (!fl.src.is_unspecified()) {
    if (fl.src.is_multicast() || fl.src.is_limited_broadcast() || fl.src.is_zeronet()) {
      return -EINVAL;
    }
    if (fl.oif == 0 && (fl.dst.is_multicast() || fl.dst.is_limited_broadcast())) {
      dev_out = addr_device(fl.src);
      if (dev_out == nullptr) return -ENETUNREACH;
      fl.oif = dev_out->ifindex;
      goto make_route;
    }
    if (addr_device(fl.src) == nullptr) {
      if (q.trace) a->trace.push_back("source " + fl.src.to_string() + " is not a local address");
      return -ENETUNREACH;
    }
  }
  if (fl.oif != 0) {
    dev_out = device(fl.oif);
    if (dev_out == nullptr) return -ENODEV;
    if (!dev_out->up()) return -ENETUNREACH;
    if (is_local_multicast(fl.dst) || fl.dst.is_limited_broadcast()) {
      if (fl.src.is_unspecified()) fl.src = select_addr(dev_out->ifindex, Ipv4Addr(), scope::kLink);
      goto make_route;
    }
    if (fl.src.is_unspecified()) {
      if (fl.dst.is_multicast()) {
        fl.src = select_addr(dev_out->ifindex, Ipv4Addr(), fl.scope);
      } else if (fl.dst.is_unspecified()) {
        fl.src = select_addr(dev_out->ifindex, Ipv4Addr(), scope::kHost);
      }
    }
  }
  if (fl.dst.is_unspecified()) {
    fl.dst = fl.src;
    if (fl.dst.is_unspecified()) fl.dst = fl.src = Ipv4Addr::from_octets(127, 0, 0, 1);
    dev_out = device(kLoopbackIfindex);
    fl.oif = kLoopbackIfindex;
    res.type = RouteType::Local;
    flags_local = 1;
    goto make_route;
  }
  {
    int err = fib_.lookup(fl, &res);
    if (q.trace) a->trace.push_back(describe_lookup(res, err));
    if (err != 0) {
      if (fl.oif != 0) {
        // "Apparently, routing tables are wrong. Assume, that the destination is on link."
        if (fl.src.is_unspecified())
          fl.src = select_addr(dev_out->ifindex, Ipv4Addr(), scope::kLink);
        res = fib::LookupResult{};
        res.type = RouteType::Unicast;
        goto make_route;
      }
      return err;
    }
    have_fi = true;
    if (res.type == RouteType::Local) {
      if (fl.src.is_unspecified()) {
        fl.src = !res.route->prefsrc.is_unspecified() ? res.route->prefsrc : fl.dst;
      }
      dev_out = device(kLoopbackIfindex);
      orig_oif = res.nexthop() ? res.nexthop()->ifindex : 0;
      fl.oif = kLoopbackIfindex;
      flags_local = 1;
      goto make_route;
    }
    // fib_select_path()
    if (fl.oif == 0 && res.route->multipath()) {
      res.nh_index = select_multipath(*res.route, fl.src, fl.dst);
    }
    if (fl.src.is_unspecified()) fl.src = result_prefsrc(res);
    dev_out = res.nexthop() ? device(res.nexthop()->ifindex) : nullptr;
  }

make_route:
  // __mkroute_output()
  if (dev_out == nullptr) return -EINVAL;
  if (!route_localnet(dev_out->ifindex) && fl.src.is_loopback() && !dev_out->is_loopback()) {
    return -EINVAL;
  }
  {
    RouteType type = res.type;
    bool keep_fi = have_fi;
    if (fl.dst.is_limited_broadcast()) {
      type = RouteType::Broadcast;
    } else if (fl.dst.is_multicast()) {
      type = RouteType::Multicast;
    } else if (fl.dst.is_zeronet()) {
      return -EINVAL;
    }
    if (dev_out->is_loopback()) flags_local = 1;
    if (type == RouteType::Broadcast) {
      a->broadcast = true;
      flags_local = 1;
      keep_fi = false;
    } else if (type == RouteType::Multicast) {
      a->multicast = true;
      // ip_check_mc_rcu(): every up interface is in the all-hosts group and in no other.
      flags_local = fl.dst == kAllHostsGroup && dev_out->up() ? 1 : 0;
      if (keep_fi && res.prefix.len() < 4) keep_fi = false;
    }
    (void)orig_oif;
    a->type = type;
    a->local = flags_local != 0;
    a->oif = dev_out->ifindex;
    a->prefsrc = fl.src;
    a->table = res.route ? res.table : 0;
    a->tos = res.route ? res.route->tos : 0;
    if (keep_fi && res.route) {
      const fib::NextHop* nh = res.nexthop();
      if (nh && !nh->gateway.is_unspecified() && nh->scope == scope::kLink)
        a->gateway = nh->gateway;
      a->mtu = res.route->mtu;
    }
    a->fib_route = res.route;
    return 0;
  }
}

int Node::validate_source(Ipv4Addr src, Ipv4Addr dst, uint8_t tos, int oif, int iif, uint32_t mark,
                          bool* on_link) const {
  // fib_validate_source(): returns 0 (ok), 1 (ok and the source is directly connected), or a
  // negative errno (-EXDEV for an rp_filter failure, -EINVAL for a martian source).
  *on_link = false;
  int rpf = rp_filter(iif);
  const Device* dev = device(iif);
  if (rpf == 0 && (iif != oif || !send_redirects(iif))) {
    if (accept_local(iif)) return 0;
    if (!custom_local_routes_ && !fib_.has_custom_rules()) {
      if (is_local_address(src)) return -EINVAL;
      return 0;
    }
  }
  fib::Flow fl;
  fl.oif = 0;
  fl.iif = oif != 0 ? oif : kLoopbackIfindex;
  fl.dst = src;
  fl.src = dst;
  fl.tos = tos;
  fl.mark = src_valid_mark(iif) ? mark : 0;
  bool no_addr = dev == nullptr || dev->addrs.empty();
  fib::LookupResult res;
  if (fib_.lookup(fl, &res) != 0) {
    if (rpf) return -EXDEV;
    return 0;
  }
  if (res.type != RouteType::Unicast && (res.type != RouteType::Local || !accept_local(iif))) {
    return -EINVAL;
  }
  bool dev_match = false;
  for (const fib::NextHop& nh : res.route->nexthops) {
    if (nh.ifindex == iif) dev_match = true;
  }
  if (res.type == RouteType::Local && iif == kLoopbackIfindex) dev_match = true;
  if (dev_match) {
    *on_link = res.nexthop() && res.nexthop()->scope >= scope::kHost;
    return *on_link ? 1 : 0;
  }
  if (no_addr) {
    if (rpf) return -EXDEV;
    return 0;
  }
  if (rpf == 1) return -EXDEV;
  fl.oif = iif;
  fl.ignore_linkstate = true;
  int ret = 0;
  if (fib_.lookup(fl, &res) == 0 && res.type == RouteType::Unicast) {
    ret = res.nexthop() && res.nexthop()->scope >= scope::kHost ? 1 : 0;
  }
  *on_link = ret == 1;
  return ret;
}

int Node::route_input(const RouteQuery& q, RouteAnswer* a) const {
  const Device* dev = device(q.iif);
  if (dev == nullptr) return -ENODEV;
  a->input = true;
  a->iif = q.iif;
  if (q.trace)
    a->trace.push_back("input route on " + dev->name + ": " + q.src.to_string() + " -> " +
                       q.dst.to_string());
  Ipv4Addr daddr = q.dst, saddr = q.src;
  bool on_link = false;
  fib::LookupResult res;
  int err = 0;

  auto local_input = [&](RouteType type) {
    a->type = type;
    a->local = true;
    a->oif = kLoopbackIfindex;
    a->table = res.route ? res.table : 0;
    a->tos = res.route ? res.route->tos : 0;
    a->fib_route = res.route;
    return 0;
  };
  auto no_route = [&](int e) {
    // The kernel builds an unreachable route whose dst.error the query reports.
    if (q.trace) a->trace.push_back(std::string("no route: ") + errno_text(e));
    a->no_route = true;
    a->error = e;
    a->drop = !forwarding(q.iif)
                  ? (e == -ENETUNREACH ? DropReason::IpInnoroutes : DropReason::IpInaddrErrors)
              : e == -EINVAL ? DropReason::Blackhole
                             : DropReason::Unreachable;
    return e;
  };
  auto fail = [&](DropReason reason, const char* why) {
    if (q.trace) a->trace.emplace_back(why);
    a->drop = reason;
    return -EINVAL;
  };
  auto source_failed = [&](int v) {
    if (v == -EXDEV) {
      if (q.trace)
        a->trace.push_back(fmt::format("rp_filter {}: {} is not reachable back through {}",
                                       rp_filter(q.iif), saddr.to_string(), dev->name));
      a->drop = DropReason::IpRpfilter;
      return -EINVAL;
    }
    return fail(DropReason::IpInvalidSource, "martian source");
  };
  auto brd_input = [&]() {
    if (!saddr.is_zeronet()) {
      int v = validate_source(saddr, Ipv4Addr(), q.tos, 0, q.iif, q.mark, &on_link);
      if (v < 0) return source_failed(v);
    }
    a->broadcast = true;
    return local_input(RouteType::Broadcast);
  };

  if (daddr.is_multicast()) {
    // ip_route_input_rcu(): only groups we joined are received; every up interface is in
    // 224.0.0.1 (all hosts).  We forward no multicast.
    if (daddr != kAllHostsGroup || !dev->up()) {
      return fail(DropReason::IpInvalidDest, "multicast group not joined");
    }
    if (saddr.is_multicast() || saddr.is_limited_broadcast() ||
        (saddr.is_loopback() && !route_localnet(q.iif))) {
      return fail(DropReason::IpInvalidSource, "martian source");
    }
    if (!saddr.is_zeronet()) {
      int v = validate_source(saddr, Ipv4Addr(), q.tos, 0, q.iif, q.mark, &on_link);
      if (v < 0) return source_failed(v);
    }
    a->type = RouteType::Multicast;
    a->multicast = true;
    a->local = true;
    a->oif = kLoopbackIfindex;
    return 0;
  }
  if (saddr.is_multicast() || saddr.is_limited_broadcast()) {
    return fail(DropReason::IpInvalidSource, "martian source");
  }
  if (daddr.is_limited_broadcast() || (saddr.is_unspecified() && daddr.is_unspecified())) {
    return brd_input();
  }
  if (saddr.is_zeronet()) return fail(DropReason::IpInvalidSource, "martian source 0.0.0.0");
  if (daddr.is_zeronet()) return fail(DropReason::IpInvalidDest, "martian destination");
  if (daddr.is_loopback() && !route_localnet(q.iif)) {
    return fail(DropReason::IpInvalidDest, "martian destination (loopback)");
  }
  if (saddr.is_loopback() && !route_localnet(q.iif)) {
    return fail(DropReason::IpInvalidSource, "martian source (loopback)");
  }

  {
    fib::Flow fl;
    fl.dst = daddr;
    fl.src = saddr;
    fl.iif = q.iif;
    fl.mark = q.mark;
    fl.tos = q.tos;
    err = fib_.lookup(fl, &res);
  }
  if (q.trace) a->trace.push_back(describe_lookup(res, err));
  if (err != 0) {
    if (!forwarding(q.iif)) err = -EHOSTUNREACH;
    return no_route(err);
  }
  if (res.type == RouteType::Broadcast) {
    if (sysctls_.conf(dev->name, "bc_forwarding") && forwarding(q.iif)) {
      // make_route for directed broadcast forwarding; rarely used.
    }
    return brd_input();
  }
  if (res.type == RouteType::Local) {
    int v = validate_source(saddr, daddr, q.tos, 0, q.iif, q.mark, &on_link);
    if (v < 0) return source_failed(v);
    if (q.trace)
      a->trace.push_back("rp_filter " + std::to_string(rp_filter(q.iif)) + ": source accepted");
    return local_input(RouteType::Local);
  }
  if (!forwarding(q.iif)) {
    if (q.trace) a->trace.push_back("ip_forward is off on " + dev->name);
    return no_route(-EHOSTUNREACH);
  }
  if (res.type != RouteType::Unicast) return fail(DropReason::IpInvalidDest, "not unicast");

  // ip_mkroute_input() / __mkroute_input()
  if (res.route->multipath()) res.nh_index = select_multipath(*res.route, saddr, daddr);
  const fib::NextHop* nh = res.nexthop();
  const Device* out_dev = nh ? device(nh->ifindex) : nullptr;
  if (out_dev == nullptr) return -EINVAL;
  int v = validate_source(saddr, daddr, q.tos, out_dev->ifindex, q.iif, q.mark, &on_link);
  if (v < 0) return source_failed(v);
  if (q.trace)
    a->trace.push_back("rp_filter " + std::to_string(rp_filter(q.iif)) + ": source accepted");
  if (out_dev->ifindex == q.iif && v > 0 && send_redirects(out_dev->ifindex)) {
    bool onlink_src = false;
    for (const IfAddr& ifa : out_dev->addrs) {
      if (ifa.matches(saddr) && (nh->gateway.is_unspecified() || ifa.matches(nh->gateway))) {
        onlink_src = true;
      }
    }
    if (shared_media(out_dev->ifindex) || onlink_src) a->redirect = true;
  }
  a->type = RouteType::Unicast;
  a->oif = out_dev->ifindex;
  a->table = res.table;
  a->tos = res.route->tos;
  if (!nh->gateway.is_unspecified() && nh->scope == scope::kLink) a->gateway = nh->gateway;
  a->fib_route = res.route;
  return 0;
}

}  // namespace vnet::stack
