// One routing table: routes keyed by prefix, with the kernel's alias order and its insert and
// delete semantics (fib_table_insert / fib_table_delete in net/ipv4/fib_trie.c).
//
// Inputs: fully validated Routes from the node (stack/) and lookups from fib.h.  Within one
// prefix, aliases are kept in the kernel's order: tos descending, then priority ascending, then
// by the NLM_F_APPEND / prepend position rules.  Dumps walk prefixes in address order, longer
// prefixes first for the same address, which is the order `ip route show` prints.
//
// Example: Table t(254); t.insert(route_10_8, kCreate | kExcl) -> {0}; inserting it again ->
// {-EEXIST}; t.remove({dst=10.0.0.0/8}) -> {0}.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fib/poptrie.h"
#include "fib/route.h"

namespace vnet::fib {

// NLM_F_* flags of RTM_NEWROUTE as `ip route add/replace/change/append/prepend` send them.
namespace nlm {
inline constexpr unsigned kReplace = 0x100;
inline constexpr unsigned kExcl = 0x200;
inline constexpr unsigned kCreate = 0x400;
inline constexpr unsigned kAppend = 0x800;
}  // namespace nlm

// What `ip route del` asked for: zero/unset fields match anything (fib_table_delete).
struct DeleteSpec {
  Prefix dst;
  uint8_t tos = 0;
  RouteType type = RouteType::Unspec;
  uint8_t scope = scope::kNowhere;  // kNowhere: any
  uint8_t protocol = 0;             // 0: any
  Ipv4Addr prefsrc;                 // 0: any
  uint32_t priority = 0;            // 0: any
  int ifindex = 0;                  // single-path: match nexthop 0's device
  std::optional<Ipv4Addr> gateway;  // single-path: match nexthop 0's gateway
  // Multipath spec: per nexthop (ifindex, gateway); matched position by position.
  std::vector<std::pair<int, std::optional<Ipv4Addr>>> multipath;
};

using AliasList = std::vector<Route>;

class Table {
 public:
  explicit Table(uint32_t id) : id_(id) {}
  uint32_t id() const { return id_; }

  // Returns 0 or a negative errno (-EEXIST, -ENOENT).
  int insert(Route route, unsigned nlm_flags);
  // Returns 0, or -ESRCH when nothing matches.  The removed route is stored in *removed.
  int remove(const DeleteSpec& spec, Route* removed = nullptr);
  // Removes every route for which pred returns true; returns how many.
  int remove_if(const std::function<bool(const Route&)>& pred);

  // Visits, longest prefix first, the alias lists whose prefix covers addr; fn returns false
  // to stop.
  template <typename Fn>
  void for_each_match(Ipv4Addr addr, Fn&& fn) const {
    index_.for_each_match(addr, [&](Prefix p, AliasList* list) { return fn(p, *list); });
  }
  // Dump order.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [key, list] : routes_) {
      for (const Route& r : list) fn(r);
    }
  }
  // Mutable visit, used by link-state changes to set nexthop flags.
  template <typename Fn>
  void for_each_mutable(Fn&& fn) {
    for (auto& [key, list] : routes_) {
      for (Route& r : list) fn(r);
    }
  }
  const AliasList* find(Prefix p) const;
  bool empty() const { return routes_.empty(); }
  size_t size() const;

 private:
  // Address ascending, then longer prefix first.
  struct DumpKey {
    uint32_t addr;
    int len;
    bool operator<(const DumpKey& o) const { return addr != o.addr ? addr < o.addr : len > o.len; }
  };

  uint32_t id_;
  std::map<DumpKey, AliasList> routes_;
  Poptrie<AliasList*> index_;
};

}  // namespace vnet::fib
