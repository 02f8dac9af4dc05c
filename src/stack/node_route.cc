// Route and rule configuration with the kernel's validation (fib_create_info(),
// fib_check_nh(), fib_valid_prefsrc() in net/ipv4/fib_semantics.c; fib_nl_newrule() in
// net/core/fib_rules.c) and the nexthop life cycle (fib_sync_down_dev(), fib_sync_up(),
// fib_flush(), fib_rebalance()).
#include <algorithm>
#include <cerrno>

#include "stack/node.h"

namespace vnet::stack {

using fib::RouteType;
namespace scope = fib::scope;
namespace nh_flags = fib::nh_flags;

Status Node::check_nexthop(fib::NextHop& nh, uint32_t table_id, uint8_t route_scope) const {
  if (!nh.gateway.is_unspecified()) {
    if (nh.flags & nh_flags::kOnlink) {
      if (route_scope >= scope::kLink) return Status::error(-EINVAL, "Nexthop has invalid scope");
      const Device* dev = device(nh.ifindex);
      if (dev == nullptr) return Status::error(-ENODEV, "Nexthop device required for onlink");
      if (!dev->up()) return Status::error(-ENETDOWN, "Nexthop device is not up");
      // inet_addr_type_dev_table() passes no device down: any local-table match counts.
      if (addr_type(nh.gateway, fib::table::kLocal) != RouteType::Unicast) {
        return Status::error(-EINVAL, "Nexthop has invalid gateway");
      }
      if (!dev->carrier_ok()) nh.flags |= nh_flags::kLinkdown;
      nh.scope = scope::kLink;
      return {};
    }
    fib::Flow flow;
    flow.dst = nh.gateway;
    flow.scope = static_cast<uint8_t>(std::max<int>(route_scope + 1, scope::kLink));
    flow.oif = nh.ifindex;
    flow.iif = kLoopbackIfindex;
    flow.ignore_linkstate = true;
    fib::LookupResult res;
    int err = -EAGAIN;
    bool have_table =
        table_id != 0 && table_id != fib::table::kMain && fib_.find_table(table_id) != nullptr;
    if (have_table) err = fib_.table_lookup(table_id, flow, &res);
    if (!have_table || err != 0) err = fib_.lookup(flow, &res);
    if (err != 0) return Status::error(err, "Nexthop has invalid gateway");
    if (res.type != RouteType::Unicast && res.type != RouteType::Local) {
      return Status::error(-EINVAL, "Nexthop has invalid gateway");
    }
    const fib::NextHop* found = res.nexthop();
    nh.scope = res.scope;
    nh.ifindex = found ? found->ifindex : 0;
    const Device* dev = device(nh.ifindex);
    if (dev == nullptr) return Status::error(-EINVAL, "No egress device for nexthop gateway");
    if (!dev->carrier_ok()) nh.flags |= nh_flags::kLinkdown;
    if (!dev->up()) return Status::error(-ENETDOWN);
    return {};
  }
  if (nh.flags & nh_flags::kOnlink) {
    return Status::error(-EINVAL,
                         "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set");
  }
  const Device* dev = device(nh.ifindex);
  if (dev == nullptr) return Status::error(-ENODEV);
  if (!dev->up()) return Status::error(-ENETDOWN, "Device for nexthop is not up");
  nh.scope = scope::kHost;
  if (!dev->carrier_ok()) nh.flags |= nh_flags::kLinkdown;
  return {};
}

bool Node::valid_prefsrc(const fib::Route& route, Ipv4Addr prefsrc) const {
  if (route.type != RouteType::Local || route.dst.addr().is_unspecified() ||
      prefsrc != route.dst.addr()) {
    uint32_t tb = route.table == fib::table::kMain ? fib::table::kLocal : route.table;
    RouteType rc = addr_type(prefsrc, tb);
    if (rc != RouteType::Local && tb != fib::table::kLocal) {
      rc = addr_type(prefsrc, fib::table::kLocal);
    }
    if (rc != RouteType::Local) return false;
  }
  return true;
}

Status Node::route_add(const RouteRequest& req) {
  ConfigChange change(*this);
  fib::Route r = req.route;
  // inet_rtm_newroute(): the table exists from here on, even if the insert fails.
  if (r.tos & 0x03) return Status::error(-EINVAL, "Invalid dsfield (tos): ECN bits must be 0");
  fib::Table& table = fib_.table(r.table);
  // fib_valid_key_len()
  if (r.dst.has_host_bits()) {
    return Status::error(-EINVAL, "Invalid prefix for given prefix length");
  }
  // fib_create_info()
  if (route_type_min_scope(r.type) > r.scope) return Status::error(-EINVAL, "Invalid scope");
  r.nexthops.clear();
  if (!req.multipath.empty()) {
    for (const auto& hop : req.multipath) {
      fib::NextHop nh;
      nh.ifindex = hop.ifindex;
      nh.gateway = hop.gateway.value_or(Ipv4Addr());
      nh.weight = hop.weight;
      if (hop.onlink || req.onlink) nh.flags |= nh_flags::kOnlink;
      r.nexthops.push_back(nh);
    }
    if (req.oif != 0 && r.nexthops[0].ifindex != req.oif) {
      return Status::error(-EINVAL, "Nexthop device index does not match RTA_OIF");
    }
    if (req.gateway && r.nexthops[0].gateway != *req.gateway) {
      return Status::error(-EINVAL, "Nexthop gateway does not match RTA_GATEWAY");
    }
  } else {
    fib::NextHop nh;
    nh.ifindex = req.oif;
    nh.gateway = req.gateway.value_or(Ipv4Addr());
    if (req.onlink) nh.flags |= nh_flags::kOnlink;
    r.nexthops.push_back(nh);
  }
  if (fib::route_type_error(r.type) != 0) {
    if (req.gateway || req.oif != 0 || !req.multipath.empty()) {
      return Status::error(
          -EINVAL, "Gateway, device and multipath can not be specified for this route type");
    }
    r.nexthops.clear();
  } else {
    switch (r.type) {
      case RouteType::Unicast:
      case RouteType::Local:
      case RouteType::Broadcast:
      case RouteType::Anycast:
      case RouteType::Multicast:
        break;
      default:
        return Status::error(-EINVAL, "Invalid route type");
    }
    if (r.scope > scope::kHost) return Status::error(-EINVAL, "Invalid scope");
    if (r.scope == scope::kHost) {
      if (r.nexthops.size() != 1) {
        return Status::error(-EINVAL, "Route with host scope can not have multiple nexthops");
      }
      fib::NextHop& nh = r.nexthops[0];
      if (!nh.gateway.is_unspecified()) {
        return Status::error(-EINVAL, "Route with host scope can not have a gateway");
      }
      nh.scope = scope::kNowhere;
      if (device(nh.ifindex) == nullptr) return Status::error(-ENODEV);
    } else {
      size_t linkdown = 0;
      for (fib::NextHop& nh : r.nexthops) {
        Status s = check_nexthop(nh, r.table, r.scope);
        if (!s.ok()) return s;
        if (nh.flags & nh_flags::kLinkdown) ++linkdown;
      }
      if (linkdown == r.nexthops.size()) r.flags |= nh_flags::kLinkdown;
    }
    if (!r.prefsrc.is_unspecified() && !valid_prefsrc(r, r.prefsrc)) {
      return Status::error(-EINVAL, "Invalid prefsrc address");
    }
    fib_rebalance(r);
  }
  bool custom_local = r.type == RouteType::Local && r.protocol != fib::protocol::kKernel;
  int err = table.insert(std::move(r), req.nlm_flags);
  if (err != 0) return Status::error(err);
  if (custom_local) custom_local_routes_ = true;
  return {};
}

Status Node::route_del(uint32_t table_id, const fib::DeleteSpec& spec) {
  ConfigChange change(*this);
  fib::Table* t = fib_.find_table(table_id);
  if (fib_.merged() && table_id == fib::table::kLocal && t == nullptr) {
    t = fib_.find_table(fib::table::kMain) ? &fib_.table(fib::table::kLocal) : nullptr;
  }
  if (t == nullptr) return Status::error(-ESRCH, "FIB table does not exist");
  if (spec.dst.has_host_bits()) {
    return Status::error(-EINVAL, "Invalid prefix for given prefix length");
  }
  int err = t->remove(spec);
  if (err != 0) return Status::error(err);
  return {};
}

void Node::fib_rebalance(fib::Route& r) {
  // fib_rebalance(): upper bounds over the live nexthops' weights, scaled to 2^31.
  if (r.nexthops.size() < 2) {
    for (auto& nh : r.nexthops) nh.upper_bound = nh.alive() ? 0x7fffffff : -1;
    return;
  }
  int64_t total = 0;
  for (const auto& nh : r.nexthops) {
    if (nh.alive()) total += nh.weight;
  }
  int64_t w = 0;
  for (auto& nh : r.nexthops) {
    if (!nh.alive() || total == 0) {
      nh.upper_bound = -1;
      continue;
    }
    w += nh.weight;
    // DIV_ROUND_CLOSEST_ULL((u64)w << 31, total) - 1
    int64_t ub = ((w << 31) + total / 2) / total - 1;
    nh.upper_bound = static_cast<int32_t>(ub);
  }
}

void Node::fib_sync_down_dev(int ifindex, NetdevEvent event, bool force) {
  ConfigChange change(*this);
  // Nexthops on the device die (Down/Unregister) or lose their link (Change); host-scope
  // nexthops (local routes) are spared unless forced.  A route dies with its last nexthop, and
  // on Unregister with any of them.
  int skip_scope = force ? -1 : scope::kNowhere;
  bool kill = event != NetdevEvent::Change;
  for (fib::Table* t : fib_.all_tables()) {
    t->for_each_mutable([&](fib::Route& r) {
      bool uses = std::any_of(r.nexthops.begin(), r.nexthops.end(),
                              [&](const fib::NextHop& nh) { return nh.ifindex == ifindex; });
      if (!uses) return;
      size_t dead = 0;
      for (fib::NextHop& nh : r.nexthops) {
        if (nh.flags & nh_flags::kDead) {
          ++dead;
        } else if (nh.ifindex == ifindex && nh.scope != skip_scope) {
          if (kill) nh.flags |= nh_flags::kDead;
          nh.flags |= nh_flags::kLinkdown;
          ++dead;
        }
        if (event == NetdevEvent::Unregister && nh.ifindex == ifindex) {
          dead = r.nexthops.size();
          break;
        }
      }
      if (dead == r.nexthops.size()) {
        if (kill) r.flags |= nh_flags::kDead;
        r.flags |= nh_flags::kLinkdown;
      }
      fib_rebalance(r);
    });
  }
}

void Node::fib_disable_ip(int ifindex, NetdevEvent event, bool force) {
  ConfigChange change(*this);
  fib_sync_down_dev(ifindex, event, force);
  fib_flush();
  // arp_ifdown() -> neigh_ifdown(): every entry on the device, permanent ones too.
  std::erase_if(neighbours_, [ifindex](const Neighbour& n) { return n.ifindex == ifindex; });
  ++neigh_gen_;
}

void Node::fib_sync_up(int ifindex, uint32_t flags) {
  ConfigChange change(*this);
  const Device* dev = device(ifindex);
  if (dev == nullptr || !dev->up()) return;
  if ((flags & nh_flags::kDead) && dev->carrier_ok()) flags |= nh_flags::kLinkdown;
  for (fib::Table* t : fib_.all_tables()) {
    t->for_each_mutable([&](fib::Route& r) {
      bool uses = std::any_of(r.nexthops.begin(), r.nexthops.end(),
                              [&](const fib::NextHop& nh) { return nh.ifindex == ifindex; });
      if (!uses) return;
      size_t alive = 0;
      for (fib::NextHop& nh : r.nexthops) {
        if (!(nh.flags & flags)) {
          ++alive;
          continue;
        }
        const Device* nd = device(nh.ifindex);
        if (nd == nullptr || !nd->up()) continue;
        if (nh.ifindex != ifindex) continue;
        ++alive;
        nh.flags &= ~flags;
      }
      if (alive > 0) r.flags &= ~flags;
      fib_rebalance(r);
    });
  }
}

void Node::fib_sync_down_addr(Ipv4Addr local) {
  ConfigChange change(*this);
  // Only routes of the main table die with their prefsrc (fi->fib_tb_id != tb_id is skipped).
  if (fib::Table* t = fib_.find_table(fib::table::kMain)) {
    t->for_each_mutable([&](fib::Route& r) {
      if (r.prefsrc == local) r.flags |= nh_flags::kDead;
    });
  }
}

void Node::fib_flush() {
  ConfigChange change(*this);
  for (fib::Table* t : fib_.all_tables()) {
    t->remove_if([](const fib::Route& r) { return r.dead(); });
  }
}

// ---- rules ----

Status Node::rule_add(fib::Rule rule, bool user_priority) {
  ConfigChange change(*this);
  if (!user_priority) rule.priority = fib_.default_rule_priority();
  if (!rule.iifname.empty()) {
    const Device* d = device_by_name(rule.iifname);
    rule.iifindex = d ? d->ifindex : -1;
  }
  if (!rule.oifname.empty()) {
    const Device* d = device_by_name(rule.oifname);
    rule.oifindex = d ? d->ifindex : -1;
  }
  if (rule.action == fib::RuleAction::Goto) {
    if (rule.goto_target <= rule.priority) {
      return Status::error(-EINVAL, "Backward goto not supported");
    }
  }
  if (fib_.rule_exists(rule)) return Status::error(-EEXIST);
  if (rule.tos & 0x03) return Status::error(-EINVAL, "Invalid dsfield (tos): ECN bits must be 0");
  if (rule.tos & ~0x1e) return Status::error(-EINVAL, "Invalid tos");
  if (rule.action == fib::RuleAction::ToTable && rule.table == 0) {
    // fib_empty_table(): the first unused table id.
    uint32_t id = 1;
    while (fib_.find_table(id) != nullptr) ++id;
    fib_.table(id);
    rule.table = id;
  }
  // fib_unmerge(): local routes move out of main for good.
  fib_.add_rule(std::move(rule));
  return {};
}

Status Node::rule_del(const fib::RuleDeleteSpec& spec) {
  ConfigChange change(*this);
  int idx = fib_.find_rule_for_delete(spec);
  if (idx < 0) return Status::error(-ENOENT);
  fib_.erase_rule(static_cast<size_t>(idx));
  return {};
}

// ---- neighbours ----

Status Node::neigh_add(const Neighbour& n, bool replace, bool create, bool excl) {
  ConfigChange change(*this);
  const Device* dev = device(n.ifindex);
  if (dev == nullptr) return Status::error(-ENODEV);
  for (Neighbour& e : neighbours_) {
    if (e.ifindex == n.ifindex && e.dst == n.dst && e.proxy == n.proxy) {
      if (excl) return Status::error(-EEXIST);
      if (!replace && !create) return Status::error(-EEXIST);
      e = n;
      return {};
    }
  }
  if (!create) return Status::error(-ENOENT);
  neighbours_.push_back(n);
  ++neigh_gen_;
  return {};
}

Status Node::neigh_del(int ifindex, Ipv4Addr dst) {
  ConfigChange change(*this);
  for (auto it = neighbours_.begin(); it != neighbours_.end(); ++it) {
    if (it->ifindex == ifindex && it->dst == dst) {
      neighbours_.erase(it);
      ++neigh_gen_;
      return {};
    }
  }
  return Status::error(-ENOENT);
}

}  // namespace vnet::stack
