// Node: one Linux-faithful IPv4 network stack (what a network namespace holds): interfaces,
// addresses, neighbours, sysctls, routing tables and rules, and route resolution for `ip route
// get` (ip_route_output_key / ip_route_input_slow in net/ipv4/route.c).
//
// Inputs: typed configuration requests from cmd/ (already parsed), and flows to resolve.
// Outputs: a Status (0 or a negative errno plus the kernel's extack message, if any) and, for
// resolutions, a RouteAnswer that cmd/ prints as iproute2 does.  A Node makes no system calls
// and reads no clock.
//
// Example: Node n; n.link_set_up(1, true) gives lo 127.0.0.1/8 and its local routes, as
// bringing lo up in a fresh namespace does.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fib/fib.h"
#include "net/ipv4_addr.h"
#include "stack/sysctl.h"

namespace vnet::stack {

using net::Ipv4Addr;
using net::MacAddr;
using net::Prefix;

// Result of a control operation: err is 0 or a negative errno; message is the kernel's extack
// text (iproute2 prints "Error: <message>." when present, else "RTNETLINK answers: <strerror>").
struct Status {
  int err = 0;
  std::string message;
  bool ok() const { return err == 0; }
  static Status error(int e, std::string msg = {}) { return Status{e, std::move(msg)}; }
};

enum class LinkKind { Loopback, Veth, Dummy, Bridge, Ipip, Gre, Vxlan, Other };

// IFA_F_* flags.
namespace ifa_flags {
inline constexpr uint32_t kSecondary = 0x01;
inline constexpr uint32_t kNoPrefixRoute = 0x200;
inline constexpr uint32_t kPermanent = 0x80;
}  // namespace ifa_flags

struct IfAddr {
  Ipv4Addr local;
  Ipv4Addr address;  // the peer for point-to-point addresses, else == local
  int prefixlen = 32;
  Ipv4Addr broadcast;
  uint8_t scope = fib::scope::kUniverse;
  uint32_t flags = ifa_flags::kPermanent;
  std::string label;
  uint32_t metric = 0;  // ifa_rt_priority
  bool has_peer() const { return address != local; }
  uint32_t mask() const { return net::prefix_mask(prefixlen); }
  // inet_ifa_match()
  bool matches(Ipv4Addr a) const { return ((a.value() ^ address.value()) & mask()) == 0; }
};

// IFF_* flags as `ip link` prints them.
namespace iff {
inline constexpr uint32_t kUp = 0x1;
inline constexpr uint32_t kBroadcast = 0x2;
inline constexpr uint32_t kLoopback = 0x8;
inline constexpr uint32_t kPointToPoint = 0x10;
inline constexpr uint32_t kNoArp = 0x80;
inline constexpr uint32_t kRunning = 0x40;
inline constexpr uint32_t kMulticast = 0x1000;
inline constexpr uint32_t kLowerUp = 0x10000;
}  // namespace iff

struct Device {
  int ifindex = 0;
  std::string name;
  LinkKind kind = LinkKind::Other;
  uint32_t flags = 0;    // administrative IFF_* flags (kUp, kBroadcast, ...)
  bool carrier = false;  // physical/peer state
  int mtu = 1500;
  int txqlen = 1000;
  MacAddr mac;
  MacAddr broadcast_mac = MacAddr::broadcast();
  int peer_ifindex = 0;       // veth peer
  bool ever_up = false;       // a qdisc is attached at the first up and stays
  std::vector<IfAddr> addrs;  // kernel order: primaries by scope, then secondaries

  bool up() const { return (flags & iff::kUp) != 0; }
  bool carrier_ok() const { return up() && carrier; }
  bool is_loopback() const { return kind == LinkKind::Loopback; }
};

enum class NeighState : uint16_t {
  Incomplete = 0x01,
  Reachable = 0x02,
  Stale = 0x04,
  Delay = 0x08,
  Probe = 0x10,
  Failed = 0x20,
  Noarp = 0x40,
  Permanent = 0x80,
  None = 0x00,
};

struct Neighbour {
  Ipv4Addr dst;
  int ifindex = 0;
  std::optional<MacAddr> lladdr;
  NeighState state = NeighState::Permanent;
  bool router = false;
  bool proxy = false;
};

// What `ip route get` resolves to (an rtable plus the flow it was resolved for).
struct RouteAnswer {
  fib::RouteType type = fib::RouteType::Unicast;
  Ipv4Addr dst;
  Ipv4Addr src;      // flow source as given ("from")
  Ipv4Addr prefsrc;  // chosen source (output routes)
  std::optional<Ipv4Addr> gateway;
  int oif = 0;  // device of the result (lo for local deliveries)
  int iif = 0;  // input device for input-route queries
  uint32_t table = 0;
  uint8_t tos = 0;  // the matched route's tos
  uint32_t mark = 0;
  bool input = false;
  bool local = false;      // RTCF_LOCAL
  bool broadcast = false;  // RTCF_BROADCAST
  bool multicast = false;  // RTCF_MULTICAST
  bool redirect = false;   // RTCF_DOREDIRECT
  int error = 0;           // dst.error for unreachable input routes
  uint32_t mtu = 0;
  // fibmatch: the FIB entry itself.
  const fib::Route* fib_route = nullptr;
  // Decision log for `vnet trace`-style explanations.
  std::vector<std::string> trace;
};

struct RouteQuery {
  Ipv4Addr dst;
  Ipv4Addr src;
  int iif = 0;
  int oif = 0;
  uint32_t mark = 0;
  uint8_t tos = 0;
  bool fibmatch = false;
};

class Node {
 public:
  Node();

  // ---- devices ----
  const Device* device(int ifindex) const;
  Device* device(int ifindex);
  const Device* device_by_name(std::string_view name) const;
  const std::map<int, Device>& devices() const { return devices_; }
  // `ip link add NAME type veth peer name PEER` and friends.  MACs come from a deterministic
  // per-node sequence.
  Status link_add(const std::string& name, LinkKind kind, const std::string& peer_name = {});
  Status link_del(int ifindex);
  Status link_set_up(int ifindex, bool up);
  Status link_set_mtu(int ifindex, int mtu);
  Status link_set_mac(int ifindex, MacAddr mac);
  Status link_set_name(int ifindex, const std::string& name);
  // The loopback device's ifindex (always 1).
  static constexpr int kLoopbackIfindex = 1;

  // ---- addresses ----
  Status addr_add(int ifindex, IfAddr addr, bool replace = false);
  // Deletes the first address matching; prefixlen < 0 means any (wildcard deletion).
  Status addr_del(int ifindex, Ipv4Addr local, int prefixlen, std::optional<Ipv4Addr> peer,
                  const std::string& label);
  // inet_addr_type_table(): RTN_LOCAL if addr is local in the given table, etc.
  fib::RouteType addr_type(Ipv4Addr addr, uint32_t table_id, int ifindex = 0) const;
  // inet_select_addr()
  Ipv4Addr select_addr(int ifindex, Ipv4Addr dst, uint8_t scope) const;
  bool is_local_address(Ipv4Addr addr) const;

  // ---- routes ----
  struct RouteRequest {
    fib::Route route;
    unsigned nlm_flags = 0;
    bool has_prefsrc = false;
    int oif = 0;  // RTA_OIF for single-path requests
    std::optional<Ipv4Addr> gateway;
    bool onlink = false;
    struct Hop {
      int ifindex = 0;
      std::optional<Ipv4Addr> gateway;
      int weight = 1;
      bool onlink = false;
    };
    std::vector<Hop> multipath;  // non-empty: RTA_MULTIPATH
  };
  Status route_add(const RouteRequest& request);
  Status route_del(uint32_t table_id, const fib::DeleteSpec& spec);
  fib::Fib& fib() { return fib_; }
  const fib::Fib& fib() const { return fib_; }

  // ---- rules ----
  Status rule_add(fib::Rule rule, bool user_priority);
  Status rule_del(const fib::RuleDeleteSpec& spec);

  // ---- neighbours ----
  Status neigh_add(Neighbour n, bool replace, bool create, bool excl);
  Status neigh_del(int ifindex, Ipv4Addr dst);
  const std::vector<Neighbour>& neighbours() const { return neighbours_; }

  // ---- sysctls ----
  Sysctls& sysctls() { return sysctls_; }
  const Sysctls& sysctls() const { return sysctls_; }
  // Effective per-device values (IN_DEV_* macros).
  int rp_filter(int ifindex) const;        // max(all, dev)
  bool forwarding(int ifindex) const;      // dev's value (all copies into every device)
  bool accept_local(int ifindex) const;    // all || dev
  bool send_redirects(int ifindex) const;  // all || dev
  bool shared_media(int ifindex) const;
  bool route_localnet(int ifindex) const;

  // ---- resolution ----
  // `ip route get`: returns 0 and fills *answer, or a negative errno.
  int route_get(const RouteQuery& query, RouteAnswer* answer) const;

  // ---- files (/etc/iproute2/rt_tables and anything a command writes) ----
  std::map<std::string, std::string>& files() { return files_; }
  const std::map<std::string, std::string>& files() const { return files_; }

 private:
  int route_output(const RouteQuery& q, RouteAnswer* a) const;
  int route_input(const RouteQuery& q, RouteAnswer* a) const;
  int validate_source(Ipv4Addr src, Ipv4Addr dst, uint8_t tos, int oif, int iif, uint32_t mark,
                      bool* on_link) const;
  Ipv4Addr result_prefsrc(const fib::LookupResult& res) const;
  int select_multipath(const fib::Route& route, Ipv4Addr src, Ipv4Addr dst) const;

  // Kernel events: routes follow addresses and link state.
  void fib_add_ifaddr(const Device& dev, const IfAddr& ifa);
  void fib_del_ifaddr(const Device& dev, const IfAddr& ifa, const IfAddr* iprim);
  void fib_magic(bool add, fib::RouteType type, Ipv4Addr dst, int len, const Device& dev,
                 const IfAddr& prim, uint32_t priority);
  // The netdev event fib_sync_down_dev() reacts to.
  enum class NetdevEvent { Down, Change, Unregister };
  void fib_sync_down_dev(int ifindex, NetdevEvent event, bool force);
  // fib_disable_ip(): kill routes through the device and flush its neighbours.
  void fib_disable_ip(int ifindex, NetdevEvent event, bool force);
  void fib_sync_up(int ifindex, uint32_t nh_flags);
  void fib_sync_down_addr(Ipv4Addr local);
  void fib_flush();
  void fib_rebalance(fib::Route& route);
  void carrier_changed(Device& dev);
  void update_carrier(Device& dev);
  Status check_nexthop(fib::NextHop& nh, uint32_t table_id, uint8_t route_scope) const;
  bool valid_prefsrc(const fib::Route& route, Ipv4Addr prefsrc) const;
  void resolve_rule_devices();

  std::map<int, Device> devices_;
  int next_ifindex_ = 2;
  uint32_t mac_counter_ = 0;
  std::vector<Neighbour> neighbours_;
  fib::Fib fib_;
  Sysctls sysctls_;
  std::map<std::string, std::string> files_;
  bool custom_local_routes_ = false;  // fib_has_custom_local_routes
};

// strerror() texts as iproute2 prints them after "RTNETLINK answers: ".
const char* errno_text(int err);

}  // namespace vnet::stack
