// Routes as the kernel's FIB stores them: one `Route` is a fib_alias plus its fib_info
// (type, tos, priority/metric, protocol, scope, prefsrc, nexthops).  Routing tables hold Routes
// keyed by destination prefix (see table.h); rules pick tables (see rule.h).
//
// Example: `ip route add 10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5 table 100` becomes
//   Route{table=100, dst=10.0.0.0/8, type=Unicast, priority=5, protocol=Boot,
//         scope=Universe, nexthops={{gateway=192.0.2.1, ifindex=<eth0>}}}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::fib {

using net::Ipv4Addr;
using net::Prefix;

// rtm_type values (include/uapi/linux/rtnetlink.h).
enum class RouteType : uint8_t {
  Unspec = 0,
  Unicast = 1,
  Local = 2,
  Broadcast = 3,
  Anycast = 4,
  Multicast = 5,
  Blackhole = 6,
  Unreachable = 7,
  Prohibit = 8,
  Throw = 9,
  Nat = 10,
  Xresolve = 11,
};

// rtm_scope values.
namespace scope {
inline constexpr uint8_t kUniverse = 0;
inline constexpr uint8_t kSite = 200;
inline constexpr uint8_t kLink = 253;
inline constexpr uint8_t kHost = 254;
inline constexpr uint8_t kNowhere = 255;
}  // namespace scope

// rtm_protocol values.
namespace protocol {
inline constexpr uint8_t kUnspec = 0;
inline constexpr uint8_t kRedirect = 1;
inline constexpr uint8_t kKernel = 2;
inline constexpr uint8_t kBoot = 3;
inline constexpr uint8_t kStatic = 4;
}  // namespace protocol

// Reserved table ids (rtm_table / RTA_TABLE).
namespace table {
inline constexpr uint32_t kUnspec = 0;
inline constexpr uint32_t kCompat = 252;
inline constexpr uint32_t kDefault = 253;
inline constexpr uint32_t kMain = 254;
inline constexpr uint32_t kLocal = 255;
}  // namespace table

// Nexthop flags (RTNH_F_*).
namespace nh_flags {
inline constexpr uint32_t kDead = 1;
inline constexpr uint32_t kPervasive = 2;
inline constexpr uint32_t kOnlink = 4;
inline constexpr uint32_t kLinkdown = 16;
}  // namespace nh_flags

// A route's or rule's tos selects flows whose tos, masked to the legacy TOS bits (0x1c), equals
// it (fib_dscp_masked_match() with INET_DSCP_LEGACY_TOS_MASK).
constexpr bool tos_matches(uint8_t selector, uint8_t flow_tos) {
  return selector == (flow_tos & 0x1c);
}

// Errors that route types produce on lookup (fib_props[].error in net/ipv4/fib_semantics.c).
// Values are negative errno numbers, as the kernel returns them.
int route_type_error(RouteType type);
// The minimum scope a route type requires (fib_props[].scope).
uint8_t route_type_min_scope(RouteType type);

struct NextHop {
  Ipv4Addr gateway;    // 0.0.0.0: directly connected
  int ifindex = 0;     // output device
  int weight = 1;      // 1..256 (rtnh_hops + 1)
  uint32_t flags = 0;  // nh_flags
  uint8_t scope = 0;   // fib_nh_scope: host for direct routes, link for gatewayed ones
  // Multipath hash upper bound, as fib_rebalance() computes it; -1 while the nexthop is dead.
  int32_t upper_bound = 0;

  bool alive() const { return (flags & nh_flags::kDead) == 0; }
  friend bool operator==(const NextHop& a, const NextHop& b) {
    return a.gateway == b.gateway && a.ifindex == b.ifindex && a.weight == b.weight &&
           (a.flags & nh_flags::kOnlink) == (b.flags & nh_flags::kOnlink);
  }
};

struct Route {
  uint32_t table = table::kMain;
  Prefix dst;
  uint8_t tos = 0;
  RouteType type = RouteType::Unicast;
  uint8_t protocol = protocol::kBoot;
  uint8_t scope = scope::kUniverse;
  uint32_t priority = 0;  // "metric"
  Ipv4Addr prefsrc;
  uint32_t flags = 0;  // fib_flags: kDead / kLinkdown for the whole route
  uint32_t mtu = 0;    // RTAX_MTU metric, 0 when unset
  std::vector<NextHop> nexthops;

  bool dead() const { return (flags & nh_flags::kDead) != 0; }
  bool multipath() const { return nexthops.size() > 1; }
  // fib_info identity (fib_find_info): same attributes and nexthops.
  bool same_info(const Route& other) const;
};

}  // namespace vnet::fib
