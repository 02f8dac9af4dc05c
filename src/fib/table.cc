#include "fib/table.h"

#include <cerrno>

namespace vnet::fib {

const AliasList* Table::find(Prefix p) const {
  auto it = routes_.find(DumpKey{p.network().addr().value(), p.len()});
  return it == routes_.end() ? nullptr : &it->second;
}

size_t Table::size() const {
  size_t n = 0;
  for (const auto& [key, list] : routes_) n += list.size();
  return n;
}

int Table::insert(Route route, unsigned nlm_flags) {
  route.table = id_;
  Prefix dst = route.dst.network();
  route.dst = dst;
  DumpKey key{dst.addr().value(), dst.len()};
  auto it = routes_.find(key);
  AliasList* list = it == routes_.end() ? nullptr : &it->second;

  // fib_find_alias(): the first alias with tos <= ours and (priority >= ours or tos < ours).
  size_t pos = list ? list->size() : 0;
  if (list) {
    for (size_t i = 0; i < list->size(); ++i) {
      const Route& fa = (*list)[i];
      if (fa.tos > route.tos) continue;
      if (fa.priority >= route.priority || fa.tos < route.tos) {
        pos = i;
        break;
      }
    }
  }
  bool found_same_key = list && pos < list->size() && (*list)[pos].tos == route.tos &&
                        (*list)[pos].priority == route.priority;
  if (found_same_key) {
    if (nlm_flags & nlm::kExcl) return -EEXIST;
    size_t first = pos;
    size_t match = SIZE_MAX;
    size_t i = pos;
    for (; i < list->size(); ++i) {
      const Route& fa = (*list)[i];
      if (fa.tos != route.tos || fa.priority != route.priority) break;
      if (fa.type == route.type && fa.same_info(route) && !fa.dead()) {
        match = i;
        break;
      }
    }
    if (nlm_flags & nlm::kReplace) {
      if (match != SIZE_MAX) return match == first ? 0 : -EEXIST;
      (*list)[first] = std::move(route);
      return 0;
    }
    if (match != SIZE_MAX) return -EEXIST;
    pos = (nlm_flags & nlm::kAppend) ? i : first;
  }
  if (!(nlm_flags & nlm::kCreate)) return -ENOENT;
  if (!list) {
    list = &routes_[key];
    index_.insert(dst, list);
    pos = 0;
  }
  list->insert(list->begin() + static_cast<ptrdiff_t>(pos), std::move(route));
  return 0;
}

static bool delete_matches(const DeleteSpec& spec, const Route& fa) {
  if (spec.type != RouteType::Unspec && fa.type != spec.type) return false;
  if (spec.scope != scope::kNowhere && fa.scope != spec.scope) return false;
  if (!spec.prefsrc.is_unspecified() && fa.prefsrc != spec.prefsrc) return false;
  if (spec.protocol != 0 && fa.protocol != spec.protocol) return false;
  // fib_nh_match()
  if (spec.priority != 0 && spec.priority != fa.priority) return false;
  if (spec.ifindex != 0 || spec.gateway) {
    if (fa.nexthops.empty()) return spec.ifindex == 0 && !spec.gateway;
    const NextHop& nh = fa.nexthops[0];
    if (spec.ifindex != 0 && spec.ifindex != nh.ifindex) return false;
    if (spec.gateway && *spec.gateway != nh.gateway) return false;
    if (spec.gateway && nh.gateway.is_unspecified()) return false;
    return true;
  }
  if (spec.multipath.empty()) return true;
  // fib_nh_match(): the spec must list at least as many nexthops as the route has.
  if (spec.multipath.size() < fa.nexthops.size()) return false;
  for (size_t i = 0; i < fa.nexthops.size(); ++i) {
    const auto& [ifindex, gateway] = spec.multipath[i];
    if (ifindex != 0 && ifindex != fa.nexthops[i].ifindex) return false;
    if (gateway && *gateway != fa.nexthops[i].gateway) return false;
  }
  return true;
}

int Table::remove(const DeleteSpec& spec, Route* removed) {
  Prefix dst = spec.dst.network();
  auto it = routes_.find(DumpKey{dst.addr().value(), dst.len()});
  if (it == routes_.end()) return -ESRCH;
  AliasList& list = it->second;
  // fib_find_alias(prio 0): first alias with the same tos; then scan that tos group.
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].tos > spec.tos) continue;
    if (list[i].tos < spec.tos) break;
    if (delete_matches(spec, list[i])) {
      if (removed) *removed = list[i];
      list.erase(list.begin() + static_cast<ptrdiff_t>(i));
      if (list.empty()) {
        index_.erase(dst);
        routes_.erase(it);
      }
      return 0;
    }
  }
  return -ESRCH;
}

int Table::remove_if(const std::function<bool(const Route&)>& pred) {
  int n = 0;
  for (auto it = routes_.begin(); it != routes_.end();) {
    AliasList& list = it->second;
    size_t before = list.size();
    std::erase_if(list, pred);
    n += static_cast<int>(before - list.size());
    if (list.empty()) {
      index_.erase(Prefix(Ipv4Addr(it->first.addr), it->first.len));
      it = routes_.erase(it);
    } else {
      ++it;
    }
  }
  return n;
}

}  // namespace vnet::fib
