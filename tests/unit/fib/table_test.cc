// Golden behaviours of one routing table against the kernel's fib_table_insert() and
// fib_table_delete() (net/ipv4/fib_trie.c): NLM_F_* flag semantics as `ip route
// add/append/prepend/replace/change` send them, alias order within a prefix, partial delete
// specs as `ip route del` sends them, and dump order.
#include "fib/table.h"

#include <gtest/gtest.h>

#include "fib_test_util.h"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "fib/route.h"

namespace vnet::fib {
namespace {

// The flags iproute2 sends for each `ip route` verb (ip/iproute.c, iproute_modify()).
constexpr unsigned kAdd = nlm::kCreate | nlm::kExcl;
constexpr unsigned kAppend = nlm::kCreate | nlm::kAppend;
constexpr unsigned kPrepend = nlm::kCreate;
constexpr unsigned kReplace = nlm::kCreate | nlm::kReplace;
constexpr unsigned kChange = nlm::kReplace;

constexpr int kEth0 = 2;
constexpr int kEth1 = 3;

using test::A;
using test::P;

// `ip route add DST [via GW] dev IFINDEX metric PRIORITY tos TOS`.
Route route(std::string_view dst, int ifindex, std::string_view gateway = "", uint32_t priority = 0,
            uint8_t tos = 0) {
  Route r;
  r.dst = P(dst);
  r.priority = priority;
  r.tos = tos;
  NextHop nh;
  nh.ifindex = ifindex;
  if (!gateway.empty()) {
    nh.gateway = A(gateway);
    nh.scope = scope::kLink;
  } else {
    nh.scope = scope::kHost;
    r.scope = scope::kLink;
  }
  r.nexthops.push_back(nh);
  return r;
}

Route typed_route(std::string_view dst, RouteType type, uint32_t priority = 0) {
  Route r;
  r.dst = P(dst);
  r.type = type;
  r.priority = priority;
  return r;
}

// One alias as a short line: "192.0.2.0/24 tos 8 metric 5 via 198.51.100.1 dev 2".
std::string describe(const Route& r) {
  std::string s = r.dst.to_string();
  if (r.type != RouteType::Unicast) s += " type " + std::to_string(static_cast<int>(r.type));
  if (r.tos != 0) s += " tos " + std::to_string(r.tos);
  if (r.priority != 0) s += " metric " + std::to_string(r.priority);
  for (const NextHop& nh : r.nexthops) {
    if (!nh.gateway.is_unspecified()) s += " via " + nh.gateway.to_string();
    s += " dev " + std::to_string(nh.ifindex);
  }
  return s;
}

std::vector<std::string> dump(const Table& t) {
  std::vector<std::string> out;
  t.for_each([&](const Route& r) { out.push_back(describe(r)); });
  return out;
}

std::vector<std::string> aliases(const Table& t, std::string_view dst) {
  std::vector<std::string> out;
  if (const AliasList* list = t.find(P(dst))) {
    for (const Route& r : *list) out.push_back(describe(r));
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(Table, AddTwiceIsEexist) {
  Table t(table::kMain);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0), kAdd), 0);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0), kAdd), -EEXIST);
  // NLM_F_EXCL refuses any alias with the same (tos, priority), even a different nexthop.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.1"), kAdd), -EEXIST);
  EXPECT_EQ(t.size(), 1u);
  // Another metric or tos is another key.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.1", 10), kAdd), 0);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.1", 0, 8), kAdd), 0);
  EXPECT_EQ(t.size(), 3u);
  // The route is filed under its table and its prefix.
  const AliasList* list = t.find(P("192.0.2.0/24"));
  ASSERT_NE(list, nullptr);
  for (const Route& r : *list) EXPECT_EQ(r.table, table::kMain);
}

TEST(Table, AppendGoesAfterTheSameKeyAndRefusesDuplicates) {
  Table t(table::kMain);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.1", 5), kAdd), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.9", 10), kAdd), 0);
  // Identical route (type and fib_info): -EEXIST.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.1", 5), kAppend), -EEXIST);
  // A different one goes after every alias of its (tos, priority), before the next key.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.2", 5), kAppend), 0);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.3", 5), kAppend), 0);
  EXPECT_EQ(aliases(t, "192.0.2.0/24"), (Strings{"192.0.2.0/24 metric 5 via 198.51.100.1 dev 2",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.2 dev 2",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.3 dev 3",
                                                 "192.0.2.0/24 metric 10 via 198.51.100.9 dev 2"}));
  // An identical route that is not the first alias of its key is found too.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.3", 5), kAppend), -EEXIST);
  // A route that differs only in type is not identical.
  Route blackhole = typed_route("192.0.2.0/24", RouteType::Blackhole, 10);
  EXPECT_EQ(t.insert(blackhole, kAppend), 0);
  EXPECT_EQ(t.insert(blackhole, kAppend), -EEXIST);
  EXPECT_EQ(t.size(), 5u);
  EXPECT_EQ(aliases(t, "192.0.2.0/24").back(), "192.0.2.0/24 type 6 metric 10");
  // Append of a new key creates it.
  EXPECT_EQ(t.insert(route("198.51.100.0/24", kEth0), kAppend), 0);
  EXPECT_EQ(aliases(t, "198.51.100.0/24"), Strings{"198.51.100.0/24 dev 2"});
}

TEST(Table, PrependGoesBeforeTheSameKey) {
  Table t(table::kMain);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.1", 5), kAdd), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.2", 5), kAppend), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.9", 10), kAdd), 0);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.3", 5), kPrepend), 0);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.2", 5), kPrepend), -EEXIST);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.4", 10), kPrepend), 0);
  EXPECT_EQ(aliases(t, "192.0.2.0/24"), (Strings{"192.0.2.0/24 metric 5 via 198.51.100.3 dev 3",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.1 dev 2",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.2 dev 2",
                                                 "192.0.2.0/24 metric 10 via 198.51.100.4 dev 3",
                                                 "192.0.2.0/24 metric 10 via 198.51.100.9 dev 2"}));
}

TEST(Table, ReplaceReplacesTheFirstAliasOfTheKey) {
  Table t(table::kMain);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.1", 5), kAdd), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.2", 5), kAppend), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.9", 10), kAdd), 0);

  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.7", 5), kReplace), 0);
  EXPECT_EQ(aliases(t, "192.0.2.0/24"), (Strings{"192.0.2.0/24 metric 5 via 198.51.100.7 dev 3",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.2 dev 2",
                                                 "192.0.2.0/24 metric 10 via 198.51.100.9 dev 2"}));
  // Replacing with the route that already is the first alias: success, nothing changes.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.7", 5), kReplace), 0);
  // Replacing with a copy of a later alias of the key: -EEXIST (it would duplicate it).
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.2", 5), kReplace), -EEXIST);
  EXPECT_EQ(t.size(), 3u);
  // Replace of a key that does not exist creates it, in order.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0, "198.51.100.8", 7), kReplace), 0);
  EXPECT_EQ(t.insert(route("203.0.113.0/24", kEth0), kReplace), 0);
  EXPECT_EQ(aliases(t, "192.0.2.0/24"), (Strings{"192.0.2.0/24 metric 5 via 198.51.100.7 dev 3",
                                                 "192.0.2.0/24 metric 5 via 198.51.100.2 dev 2",
                                                 "192.0.2.0/24 metric 7 via 198.51.100.8 dev 2",
                                                 "192.0.2.0/24 metric 10 via 198.51.100.9 dev 2"}));
  EXPECT_EQ(t.size(), 5u);
}

TEST(Table, ChangeNeedsAnExistingKey) {
  Table t(table::kMain);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth0), kChange), -ENOENT);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.find(P("192.0.2.0/24")), nullptr);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "", 5), kAdd), 0);
  // Same prefix, other metric: still no such key.
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "", 6), kChange), -ENOENT);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "", 5, 4), kChange), -ENOENT);
  EXPECT_EQ(t.insert(route("192.0.2.0/24", kEth1, "", 5), kChange), 0);
  EXPECT_EQ(aliases(t, "192.0.2.0/24"), Strings{"192.0.2.0/24 metric 5 dev 3"});
  // Without NLM_F_CREATE nothing is ever created (a bare "append" or "prepend").
  EXPECT_EQ(t.insert(route("198.51.100.0/24", kEth0), nlm::kAppend), -ENOENT);
  EXPECT_EQ(t.insert(route("198.51.100.0/24", kEth0), 0), -ENOENT);
  EXPECT_EQ(t.size(), 1u);
}

TEST(Table, AliasesOrderByTosDescendingThenPriorityAscending) {
  Table t(table::kMain);
  struct {
    uint8_t tos;
    uint32_t metric;
  } const inserts[] = {{0, 10}, {8, 20}, {0, 5}, {16, 0}, {8, 1}, {0, 0}, {16, 300}};
  for (auto [tos, metric] : inserts) {
    ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0, "", metric, tos), kAdd), 0);
  }
  EXPECT_EQ(aliases(t, "192.0.2.0/24"),
            (Strings{"192.0.2.0/24 tos 16 dev 2", "192.0.2.0/24 tos 16 metric 300 dev 2",
                     "192.0.2.0/24 tos 8 metric 1 dev 2", "192.0.2.0/24 tos 8 metric 20 dev 2",
                     "192.0.2.0/24 dev 2", "192.0.2.0/24 metric 5 dev 2",
                     "192.0.2.0/24 metric 10 dev 2"}));
  // for_each_match hands the same alias list over.
  int visits = 0;
  t.for_each_match(A("192.0.2.1"), [&](Prefix p, const AliasList& list) {
    ++visits;
    EXPECT_EQ(p, P("192.0.2.0/24"));
    EXPECT_EQ(list.size(), 7u);
    return true;
  });
  EXPECT_EQ(visits, 1);
}

TEST(Table, DeleteMatchesPartialSpecs) {
  Table t(table::kMain);
  Route a = route("192.0.2.0/24", kEth0, "198.51.100.1", 5);
  a.protocol = protocol::kStatic;
  Route b = route("192.0.2.0/24", kEth1, "198.51.100.2", 5);
  b.prefsrc = A("192.0.2.10");
  Route c = route("192.0.2.0/24", kEth1, "", 10);  // scope link, directly connected
  Route d = typed_route("192.0.2.0/24", RouteType::Unreachable, 20);
  Route e = route("192.0.2.0/24", kEth0, "198.51.100.1", 5, 8);
  for (const Route& r : {a, b, c, d, e}) ASSERT_EQ(t.insert(r, kAppend), 0);

  auto spec = [] {
    DeleteSpec s;
    s.dst = P("192.0.2.0/24");
    return s;
  };
  // Nothing matches -> -ESRCH, and the table is untouched.
  DeleteSpec s = spec();
  s.priority = 7;
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.type = RouteType::Blackhole;
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.scope = scope::kHost;
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.gateway = A("198.51.100.99");
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.ifindex = 99;
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.protocol = protocol::kKernel;
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.prefsrc = A("192.0.2.99");
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.tos = 4;  // no alias with this tos
  EXPECT_EQ(t.remove(s), -ESRCH);
  s = spec();
  s.dst = P("192.0.2.0/25");  // no such prefix
  EXPECT_EQ(t.remove(s), -ESRCH);
  s.dst = P("198.51.100.0/24");
  EXPECT_EQ(t.remove(s), -ESRCH);
  EXPECT_EQ(t.size(), 5u);

  // gateway and ifindex select within the tos-0 group; the removed route is reported.
  Route removed;
  s = spec();
  s.gateway = A("198.51.100.2");
  s.ifindex = kEth1;
  EXPECT_EQ(t.remove(s, &removed), 0);
  EXPECT_EQ(describe(removed), "192.0.2.0/24 metric 5 via 198.51.100.2 dev 3");
  // A gateway never matches a directly connected nexthop, ifindex alone does.
  s = spec();
  s.ifindex = kEth1;
  s.gateway = A("0.0.0.0");
  EXPECT_EQ(t.remove(s), -ESRCH);
  // type Unspec, scope kNowhere, priority 0 match anything: only tos narrows the spec, so
  // the bare `ip route del 192.0.2.0/24` removes the first tos-0 alias ...
  EXPECT_EQ(t.remove(spec(), &removed), 0);
  EXPECT_EQ(describe(removed), "192.0.2.0/24 metric 5 via 198.51.100.1 dev 2");
  EXPECT_EQ(removed.protocol, protocol::kStatic);
  // ... never the tos-8 alias that comes before it.
  s = spec();
  s.type = RouteType::Unreachable;
  s.scope = scope::kUniverse;
  s.priority = 20;
  EXPECT_EQ(t.remove(s, &removed), 0);
  EXPECT_EQ(removed.type, RouteType::Unreachable);
  s = spec();
  s.scope = scope::kLink;
  EXPECT_EQ(t.remove(s, &removed), 0);
  EXPECT_EQ(describe(removed), "192.0.2.0/24 metric 10 dev 3");
  EXPECT_EQ(aliases(t, "192.0.2.0/24"),
            Strings{"192.0.2.0/24 tos 8 metric 5 via 198.51.100.1 dev 2"});
  EXPECT_EQ(t.remove(spec()), -ESRCH);
  // The last alias takes the prefix with it: no longer found nor matched.
  s = spec();
  s.tos = 8;
  EXPECT_EQ(t.remove(s), 0);
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.find(P("192.0.2.0/24")), nullptr);
  bool matched = false;
  t.for_each_match(A("192.0.2.1"), [&](Prefix, const AliasList&) {
    matched = true;
    return true;
  });
  EXPECT_FALSE(matched);
  EXPECT_EQ(t.remove(s), -ESRCH);
}

TEST(Table, DeleteWithMultipathSpec) {
  Table t(table::kMain);
  Route mp;
  mp.dst = P("203.0.113.0/24");
  mp.nexthops = {NextHop{.gateway = A("198.51.100.1"), .ifindex = kEth0},
                 NextHop{.gateway = A("198.51.100.2"), .ifindex = kEth1}};
  ASSERT_EQ(t.insert(mp, kAdd), 0);

  DeleteSpec s;
  s.dst = P("203.0.113.0/24");
  // Matched position by position.
  s.multipath = {{kEth1, A("198.51.100.2")}, {kEth0, A("198.51.100.1")}};
  EXPECT_EQ(t.remove(s), -ESRCH);
  s.multipath = {{kEth0, A("198.51.100.1")}, {kEth1, A("198.51.100.9")}};
  EXPECT_EQ(t.remove(s), -ESRCH);
  // Zero ifindex and a missing gateway are wildcards.
  s.multipath = {{0, A("198.51.100.1")}, {kEth1, std::nullopt}};
  EXPECT_EQ(t.remove(s), 0);
  EXPECT_TRUE(t.empty());
}

TEST(Table, DeleteWithShorterMultipathSpecMatchesNothing) {
  // fib_nh_match() walks the route's nexthops and returns -EINVAL (no match) when the
  // RTA_MULTIPATH of the request runs out first (`if (!rtnh_ok(rtnh, remaining)) return
  // -EINVAL;`), so `ip route del 203.0.113.0/24 nexthop via 198.51.100.1 dev eth0` on a
  // two-nexthop route fails with ESRCH in the kernel.
  Table t(table::kMain);
  Route mp;
  mp.dst = P("203.0.113.0/24");
  mp.nexthops = {NextHop{.gateway = A("198.51.100.1"), .ifindex = kEth0},
                 NextHop{.gateway = A("198.51.100.2"), .ifindex = kEth1}};
  ASSERT_EQ(t.insert(mp, kAdd), 0);
  DeleteSpec s;
  s.dst = P("203.0.113.0/24");
  s.multipath = {{kEth0, A("198.51.100.1")}};
  EXPECT_EQ(t.remove(s), -ESRCH);
  EXPECT_EQ(t.size(), 1u);
  // A spec longer than the route still matches: the kernel stops at the route's last nexthop.
  s.multipath = {{kEth0, A("198.51.100.1")}, {kEth1, A("198.51.100.2")}, {kEth1, std::nullopt}};
  EXPECT_EQ(t.remove(s), 0);
}

TEST(Table, DumpsInAddressOrderLongerPrefixFirst) {
  Table t(table::kMain);
  for (std::string_view dst : {"203.0.113.0/24", "192.0.2.0/24", "192.0.2.128/25", "default",
                               "198.51.100.7", "192.0.2.0/25", "192.0.0.0/16", "192.0.2.0/26"}) {
    ASSERT_EQ(t.insert(route(dst, kEth0), kAdd), 0) << dst;
  }
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.1", 1), kAdd), 0);
  EXPECT_EQ(
      dump(t),
      (Strings{"default dev 2", "192.0.0.0/16 dev 2", "192.0.2.0/26 dev 2", "192.0.2.0/25 dev 2",
               "192.0.2.0/24 dev 2", "192.0.2.0/24 metric 1 via 198.51.100.1 dev 3",
               "192.0.2.128/25 dev 2", "198.51.100.7 dev 2", "203.0.113.0/24 dev 2"}));
  EXPECT_EQ(t.size(), 9u);

  // Longest match first through the index.
  std::vector<std::string> seen;
  t.for_each_match(A("192.0.2.5"), [&](Prefix p, const AliasList&) {
    seen.push_back(p.to_string());
    return true;
  });
  EXPECT_EQ(seen,
            (Strings{"192.0.2.0/26", "192.0.2.0/25", "192.0.2.0/24", "192.0.0.0/16", "default"}));
}

TEST(Table, RemoveIfDropsEmptyPrefixes) {
  Table t(table::kMain);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth0), kAdd), 0);
  ASSERT_EQ(t.insert(route("192.0.2.0/24", kEth1, "198.51.100.1", 5), kAdd), 0);
  ASSERT_EQ(t.insert(route("198.51.100.0/24", kEth1), kAdd), 0);
  ASSERT_EQ(t.insert(route("default", kEth0, "192.0.2.1"), kAdd), 0);
  // Flush everything on device kEth1, as a link going away does.
  EXPECT_EQ(t.remove_if([](const Route& r) { return r.nexthops[0].ifindex == kEth1; }), 2);
  EXPECT_EQ(dump(t), (Strings{"default via 192.0.2.1 dev 2", "192.0.2.0/24 dev 2"}));
  EXPECT_EQ(t.find(P("198.51.100.0/24")), nullptr);
  std::vector<std::string> seen;
  t.for_each_match(A("198.51.100.1"), [&](Prefix p, const AliasList&) {
    seen.push_back(p.to_string());
    return true;
  });
  EXPECT_EQ(seen, Strings{"default"});
  EXPECT_EQ(t.remove_if([](const Route&) { return false; }), 0);
  EXPECT_EQ(t.remove_if([](const Route&) { return true; }), 2);
  EXPECT_TRUE(t.empty());
}

}  // namespace
}  // namespace vnet::fib
