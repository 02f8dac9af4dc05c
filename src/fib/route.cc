#include "fib/route.h"

#include <cerrno>

namespace vnet::fib {

int route_type_error(RouteType type) {
  switch (type) {
    case RouteType::Unspec:
    case RouteType::Unicast:
    case RouteType::Local:
    case RouteType::Broadcast:
    case RouteType::Anycast:
    case RouteType::Multicast:
      return 0;
    case RouteType::Blackhole:
      return -EINVAL;
    case RouteType::Unreachable:
      return -EHOSTUNREACH;
    case RouteType::Prohibit:
      return -EACCES;
    case RouteType::Throw:
      return -EAGAIN;
    case RouteType::Nat:
    case RouteType::Xresolve:
      return -EINVAL;
  }
  return -EINVAL;
}

uint8_t route_type_min_scope(RouteType type) {
  switch (type) {
    case RouteType::Local:
      return scope::kHost;
    case RouteType::Broadcast:
    case RouteType::Anycast:
      return scope::kLink;
    case RouteType::Nat:
    case RouteType::Xresolve:
      return scope::kNowhere;
    default:
      return scope::kUniverse;
  }
}

bool Route::same_info(const Route& other) const {
  return protocol == other.protocol && scope == other.scope && priority == other.priority &&
         prefsrc == other.prefsrc && mtu == other.mtu && nexthops == other.nexthops;
}

}  // namespace vnet::fib
