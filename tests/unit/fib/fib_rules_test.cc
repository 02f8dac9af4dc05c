// Lookups through the routing policy database: rule selectors and actions, goto, throw routes,
// route-type errors, the local/main merge before the first rule change, and the rule-list
// bookkeeping behind `ip rule add/del` (net/core/fib_rules.c, net/ipv4/fib_rules.c,
// include/net/ip_fib.h fib_lookup(), net/ipv4/fib_trie.c fib_table_lookup()).
#include "fib/fib.h"

#include <gtest/gtest.h>

#include "fib_test_util.h"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace vnet::fib {
namespace {

constexpr unsigned kAdd = nlm::kCreate | nlm::kExcl;
constexpr int kLo = 1;
constexpr int kEth0 = 2;
constexpr int kEth1 = 3;
constexpr int kEth2 = 4;
constexpr uint32_t kTable100 = 100;
constexpr uint32_t kTable200 = 200;

using test::A;
using test::P;

// `ip route add DST dev IFINDEX` (scope link), or `... via GW` (scope universe).
Route unicast(std::string_view dst, int ifindex, std::string_view gateway = "") {
  Route r;
  r.dst = P(dst);
  NextHop nh;
  nh.ifindex = ifindex;
  if (gateway.empty()) {
    r.scope = scope::kLink;
    nh.scope = scope::kHost;
  } else {
    nh.gateway = A(gateway);
    nh.scope = scope::kLink;
  }
  r.nexthops.push_back(nh);
  return r;
}

// `ip route add local DST dev lo table local` as the kernel adds it for an address.
Route local(std::string_view dst) {
  Route r;
  r.dst = P(dst);
  r.type = RouteType::Local;
  r.scope = scope::kHost;
  r.protocol = protocol::kKernel;
  NextHop nh;
  nh.ifindex = kLo;
  nh.scope = scope::kHost;
  r.nexthops.push_back(nh);
  return r;
}

// blackhole / unreachable / prohibit / throw DST.
Route typed(std::string_view dst, RouteType type) {
  Route r;
  r.dst = P(dst);
  r.type = type;
  return r;
}

void add(Fib& fib, uint32_t table_id, Route r) {
  r.table = table_id;
  ASSERT_EQ(fib.table(table_id).insert(std::move(r), kAdd), 0);
}

Rule to_table(uint32_t priority, uint32_t table_id) {
  Rule r;
  r.priority = priority;
  r.action = RuleAction::ToTable;
  r.table = table_id;
  return r;
}

Rule action_rule(uint32_t priority, RuleAction action) {
  Rule r;
  r.priority = priority;
  r.action = action;
  return r;
}

Rule goto_rule(uint32_t priority, uint32_t target) {
  Rule r;
  r.priority = priority;
  r.action = RuleAction::Goto;
  r.goto_target = target;
  return r;
}

Flow to(std::string_view dst) {
  Flow f;
  f.dst = A(dst);
  f.iif = kLo;  // an output lookup, as ip_route_output_key() makes it
  return f;
}

// Result of one lookup, flattened for comparison: "table T prefix P dev D" or "errno E".
std::string lookup(const Fib& fib, const Flow& flow) {
  LookupResult res;
  int err = fib.lookup(flow, &res);
  if (err != 0) return "error " + std::to_string(-err);
  std::string s = "table " + std::to_string(res.table) + " " + res.prefix.to_string();
  if (const NextHop* nh = res.nexthop()) s += " dev " + std::to_string(nh->ifindex);
  return s;
}

std::string error(int errno_value) {
  return "error " + std::to_string(errno_value);
}

// A Fib with distinct default routes in main (dev kEth0) and in table 100 (dev kEth1), so a
// lookup's table shows which rule selected it.
class RuleSelectors : public ::testing::Test {
 protected:
  void SetUp() override {
    add(fib_, table::kMain, unicast("default", kEth0, "192.0.2.1"));
    add(fib_, kTable100, unicast("default", kEth1, "198.51.100.1"));
  }
  // Adds `rule` at priority 100 pointing at table 100.
  void add_rule(Rule rule) {
    rule.priority = 100;
    rule.action = RuleAction::ToTable;
    rule.table = kTable100;
    fib_.add_rule(std::move(rule));
  }
  std::string table_of(const Flow& flow) const {
    LookupResult res;
    int err = fib_.lookup(flow, &res);
    if (err != 0) return error(-err);
    return std::to_string(res.table);
  }
  Fib fib_;
};

TEST_F(RuleSelectors, From) {
  Rule r;
  r.src = P("203.0.113.0/24");
  add_rule(r);
  Flow f = to("198.51.100.77");
  f.src = A("203.0.113.9");
  EXPECT_EQ(table_of(f), "100");
  f.src = A("203.0.114.9");
  EXPECT_EQ(table_of(f), "254");
  f.src = Ipv4Addr();
  EXPECT_EQ(table_of(f), "254");
}

TEST_F(RuleSelectors, FromKeepsHostBitsButMatchesOnThePrefix) {
  Rule r;
  r.src = P("203.0.113.200/24");  // the kernel stores the address as given
  add_rule(r);
  Flow f = to("198.51.100.77");
  f.src = A("203.0.113.9");
  EXPECT_EQ(table_of(f), "100");
}

TEST_F(RuleSelectors, To) {
  Rule r;
  r.dst = P("198.51.100.0/25");
  add_rule(r);
  EXPECT_EQ(table_of(to("198.51.100.127")), "100");
  EXPECT_EQ(table_of(to("198.51.100.128")), "254");
}

TEST_F(RuleSelectors, Iif) {
  Rule r;
  r.iifname = "eth2";
  r.iifindex = kEth2;
  add_rule(r);
  Flow f = to("198.51.100.77");
  EXPECT_EQ(table_of(f), "254");  // output lookups carry iif = lo
  f.iif = kEth2;
  EXPECT_EQ(table_of(f), "100");
  // While the named device does not exist the rule matches nothing.
  fib_.resolve_rule_devices([](const std::string&) { return -1; });
  EXPECT_EQ(table_of(f), "254");
  fib_.resolve_rule_devices([](const std::string& name) { return name == "eth2" ? kEth2 : -1; });
  EXPECT_EQ(table_of(f), "100");
}

TEST_F(RuleSelectors, Oif) {
  Rule r;
  r.oifname = "eth1";
  r.oifindex = kEth1;
  add_rule(r);
  Flow f = to("198.51.100.77");
  EXPECT_EQ(table_of(f), "254");
  f.oif = kEth1;
  EXPECT_EQ(table_of(f), "100");
  f.oif = kEth2;
  // The rule does not match; main's default route is on kEth0, not the flow's oif.
  EXPECT_EQ(table_of(f), error(ENETUNREACH));
}

TEST_F(RuleSelectors, FwmarkWithMask) {
  Rule r;
  r.fwmark = 0x10;
  r.fwmask = 0xf0;
  add_rule(r);
  Flow f = to("198.51.100.77");
  for (uint32_t mark : {0x10u, 0x1fu, 0xff10u}) {
    f.mark = mark;
    EXPECT_EQ(table_of(f), "100") << mark;
  }
  for (uint32_t mark : {0x0u, 0x20u, 0x01u}) {
    f.mark = mark;
    EXPECT_EQ(table_of(f), "254") << mark;
  }
}

TEST_F(RuleSelectors, FwmarkWithFullMask) {
  // `ip rule add fwmark 0x10` without a mask: the kernel compares all 32 bits.
  Rule r;
  r.fwmark = 0x10;
  r.fwmask = 0xffffffff;
  add_rule(r);
  Flow f = to("198.51.100.77");
  f.mark = 0x10;
  EXPECT_EQ(table_of(f), "100");
  f.mark = 0x11;
  EXPECT_EQ(table_of(f), "254");
}

TEST_F(RuleSelectors, TosComparesTheLegacyTosBits) {
  Rule r;
  r.tos = 0x10;
  add_rule(r);
  Flow f = to("198.51.100.77");
  // fib_dscp_masked_match(): only the 0x1c bits of the flow's tos take part.
  for (uint8_t tos : {0x10, 0x13, 0xf0, 0x30}) {
    f.tos = tos;
    EXPECT_EQ(table_of(f), "100") << int{tos};
  }
  for (uint8_t tos : {0x00, 0x08, 0x18, 0x04}) {
    f.tos = tos;
    EXPECT_EQ(table_of(f), "254") << int{tos};
  }
}

TEST_F(RuleSelectors, NotInvertsTheWholeMatch) {
  Rule r;
  r.invert = true;
  r.src = P("203.0.113.0/24");
  r.fwmark = 1;
  r.fwmask = 0xffffffff;
  add_rule(r);
  Flow f = to("198.51.100.77");
  f.src = A("203.0.113.9");
  f.mark = 1;
  EXPECT_EQ(table_of(f), "254");  // both selectors match: not -> no
  f.mark = 2;
  EXPECT_EQ(table_of(f), "100");  // one fails: not -> yes
  f.src = A("192.0.2.9");
  f.mark = 1;
  EXPECT_EQ(table_of(f), "100");
}

TEST_F(RuleSelectors, EmptyRuleMatchesEverything) {
  add_rule(Rule{});
  EXPECT_EQ(table_of(to("198.51.100.77")), "100");
}

TEST(FibLookup, NothingMatchesIsEnetunreach) {
  Fib fib;
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(ENETUNREACH));
  add(fib, table::kMain, unicast("198.51.100.0/24", kEth0));
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(ENETUNREACH));
  fib.add_rule(to_table(1000, kTable100));  // the rule walk: -ESRCH becomes -ENETUNREACH
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(ENETUNREACH));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 254 198.51.100.0/24 dev 2");
}

TEST(FibLookup, MergedUntilTheFirstRule) {
  Fib fib;
  add(fib, table::kLocal, local("127.0.0.0/8"));
  add(fib, table::kMain, unicast("127.1.0.0/16", kEth0));
  EXPECT_TRUE(fib.merged());
  EXPECT_FALSE(fib.has_custom_rules());
  // Merged: one trie, longest prefix across local and main.
  EXPECT_EQ(lookup(fib, to("127.1.2.3")), "table 254 127.1.0.0/16 dev 2");
  EXPECT_EQ(lookup(fib, to("127.0.0.1")), "table 254 127.0.0.0/8 dev 1");

  // Any rule unmerges for good; the local rule (priority 0) now wins with its /8.
  fib.add_rule(to_table(1000, kTable100));
  EXPECT_FALSE(fib.merged());
  EXPECT_TRUE(fib.has_custom_rules());
  EXPECT_EQ(lookup(fib, to("127.1.2.3")), "table 255 127.0.0.0/8 dev 1");
  LookupResult res;
  ASSERT_EQ(fib.lookup(to("127.1.2.3"), &res), 0);
  EXPECT_EQ(res.type, RouteType::Local);
  EXPECT_EQ(res.scope, scope::kHost);
  ASSERT_NE(res.rule, nullptr);
  EXPECT_EQ(res.rule->priority, 0u);
  EXPECT_EQ(res.rule->table, table::kLocal);
}

TEST(FibLookup, MergedSamePrefixLocalAliasesFirst) {
  Fib fib;
  add(fib, table::kMain, unicast("192.0.2.1/32", kEth0));
  add(fib, table::kLocal, local("192.0.2.1/32"));
  LookupResult res;
  ASSERT_EQ(fib.lookup(to("192.0.2.1"), &res), 0);
  EXPECT_EQ(res.type, RouteType::Local);
  ASSERT_NE(res.nexthop(), nullptr);
  EXPECT_EQ(res.nexthop()->ifindex, kLo);
}

TEST(FibLookup, MergedFallsBackToTheDefaultTable) {
  Fib fib;
  add(fib, table::kMain, unicast("192.0.2.0/24", kEth0));
  add(fib, table::kDefault, unicast("default", kEth1, "198.51.100.1"));
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), "table 254 192.0.2.0/24 dev 2");
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), "table 253 default dev 3");
  // Unmerged, the default rule (32767) does the same.
  fib.add_rule(to_table(1000, kTable100));
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), "table 253 default dev 3");
}

TEST(FibLookup, MergedRouteTypeErrorThenDefaultTable) {
  // fib_lookup() without custom rules: if main fails *for any reason* and the default table
  // exists, the default table's answer replaces main's (include/net/ip_fib.h).  An empty
  // default table thus turns main's blackhole into -ENETUNREACH.
  Fib fib;
  add(fib, table::kMain, typed("192.0.2.0/24", RouteType::Blackhole));
  fib.table(table::kDefault);
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(ENETUNREACH));
  add(fib, table::kDefault, unicast("default", kEth1, "198.51.100.1"));
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), "table 253 default dev 3");
}

TEST(FibLookup, MergedRouteTypeErrorsWithoutDefaultTable) {
  // include/net/ip_fib.h fib_lookup() only consults the default table if it exists
  // (`tb = fib_default; if (tb) err = fib_table_lookup(tb, ...)`); a fresh namespace has none,
  // so a blackhole route in main answers -EINVAL, unreachable -EHOSTUNREACH, prohibit -EACCES.
  Fib fib;
  add(fib, table::kMain, typed("192.0.2.0/24", RouteType::Blackhole));
  add(fib, table::kMain, typed("198.51.100.0/24", RouteType::Unreachable));
  add(fib, table::kMain, typed("203.0.113.0/24", RouteType::Prohibit));
  ASSERT_EQ(fib.find_table(table::kDefault), nullptr);
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(EINVAL));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), error(EHOSTUNREACH));
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), error(EACCES));
}

TEST(FibLookup, RouteTypeErrors) {
  Fib fib;
  add(fib, table::kMain, typed("192.0.2.0/24", RouteType::Blackhole));
  add(fib, table::kMain, typed("198.51.100.0/24", RouteType::Unreachable));
  add(fib, table::kMain, typed("203.0.113.0/24", RouteType::Prohibit));
  add(fib, table::kMain, unicast("default", kEth0, "192.0.2.254"));
  fib.add_rule(to_table(1000, kTable100));
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(EINVAL));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), error(EHOSTUNREACH));
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), error(EACCES));
  // The error is final: no backtracking to the default route, no later rule.
  LookupResult res;
  EXPECT_EQ(fib.lookup(to("192.0.2.1"), &res), -EINVAL);
  ASSERT_NE(res.rule, nullptr);
  EXPECT_EQ(res.rule->table, table::kMain);
  EXPECT_EQ(lookup(fib, to("209.0.0.1")), "table 254 default dev 2");
}

TEST(FibLookup, RuleActions) {
  Fib fib;
  add(fib, table::kMain, unicast("default", kEth0, "192.0.2.254"));
  Rule unreachable = action_rule(100, RuleAction::Unreachable);
  unreachable.dst = P("192.0.2.0/24");
  Rule prohibit = action_rule(100, RuleAction::Prohibit);
  prohibit.dst = P("198.51.100.0/24");
  Rule blackhole = action_rule(100, RuleAction::Blackhole);
  blackhole.dst = P("203.0.113.0/24");
  Rule nop = action_rule(50, RuleAction::Nop);
  fib.add_rule(unreachable);
  fib.add_rule(prohibit);
  fib.add_rule(blackhole);
  fib.add_rule(nop);
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), error(ENETUNREACH));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), error(EACCES));
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), error(EINVAL));
  EXPECT_EQ(lookup(fib, to("209.0.0.1")), "table 254 default dev 2");
  LookupResult res;
  EXPECT_EQ(fib.lookup(to("198.51.100.1"), &res), -EACCES);
  ASSERT_NE(res.rule, nullptr);
  EXPECT_EQ(res.rule->action, RuleAction::Prohibit);
}

TEST(FibLookup, ThrowRouteContinuesWithTheNextRule) {
  Fib fib;
  add(fib, kTable100, typed("198.51.100.0/24", RouteType::Throw));
  add(fib, kTable100, unicast("default", kEth1, "192.0.2.1"));
  add(fib, kTable200, unicast("198.51.100.0/25", kEth2));
  add(fib, table::kMain, unicast("198.51.100.0/24", kEth0));
  fib.add_rule(to_table(100, kTable100));
  // The throw stops table 100 (no backtracking to its default route); the walk goes on.
  EXPECT_EQ(lookup(fib, to("198.51.100.200")), "table 254 198.51.100.0/24 dev 2");
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), "table 100 default dev 3");
  fib.add_rule(to_table(200, kTable200));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 200 198.51.100.0/25 dev 4");
  // Nothing after the throw: -ENETUNREACH.
  Fib lonely;
  add(lonely, kTable100, typed("default", RouteType::Throw));
  lonely.add_rule(to_table(100, kTable100));
  EXPECT_EQ(lookup(lonely, to("203.0.113.1")), error(ENETUNREACH));
}

TEST(FibLookup, EmptyOrMissingTableContinues) {
  Fib fib;
  add(fib, table::kMain, unicast("default", kEth0, "192.0.2.254"));
  fib.add_rule(to_table(100, 4242));  // never created
  fib.table(kTable200);               // created, empty
  fib.add_rule(to_table(200, kTable200));
  EXPECT_EQ(lookup(fib, to("203.0.113.1")), "table 254 default dev 2");
}

TEST(FibLookup, GotoSkipsToItsTarget) {
  Fib fib;
  add(fib, kTable100, unicast("default", kEth1, "192.0.2.1"));
  add(fib, kTable200, unicast("default", kEth2, "192.0.2.2"));
  Rule jump = goto_rule(100, 200);
  jump.src = P("203.0.113.0/24");
  fib.add_rule(jump);
  fib.add_rule(to_table(150, kTable100));
  fib.add_rule(to_table(200, kTable200));
  Flow f = to("198.51.100.1");
  f.src = A("203.0.113.5");
  EXPECT_EQ(lookup(fib, f), "table 200 default dev 4");
  f.src = A("192.0.2.5");
  EXPECT_EQ(lookup(fib, f), "table 100 default dev 3");
  EXPECT_EQ(fib.goto_target(jump), &fib.rules()[3]);
}

TEST(FibLookup, GotoTargetIsTestedAndTheWalkGoesOnFromIt) {
  Fib fib;
  add(fib, kTable100, unicast("default", kEth1, "192.0.2.1"));
  add(fib, table::kMain, unicast("default", kEth0, "192.0.2.254"));
  fib.add_rule(goto_rule(100, 200));
  // Two rules share priority 200: the goto lands on the first; it does not match the flow,
  // so the walk continues with the second, and never goes back to 150.
  Rule marked = to_table(200, kTable200);
  marked.fwmark = 7;
  marked.fwmask = 0xffffffff;
  fib.add_rule(to_table(150, kTable100));
  fib.add_rule(marked);
  fib.add_rule(to_table(200, table::kMain));
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 254 default dev 2");
  // The first rule at 200 matches but its table is missing: the walk goes on too.
  Flow f = to("198.51.100.1");
  f.mark = 7;
  EXPECT_EQ(lookup(fib, f), "table 254 default dev 2");
}

TEST(FibLookup, UnresolvedGotoIsSkippedUntilItsTargetAppears) {
  Fib fib;
  add(fib, kTable100, unicast("default", kEth1, "192.0.2.1"));
  add(fib, kTable200, unicast("default", kEth2, "192.0.2.2"));
  Rule jump = goto_rule(100, 300);
  fib.add_rule(jump);
  fib.add_rule(to_table(150, kTable100));
  EXPECT_EQ(fib.goto_target(jump), nullptr);
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 100 default dev 3");
  fib.add_rule(to_table(300, kTable200));
  ASSERT_NE(fib.goto_target(jump), nullptr);
  EXPECT_EQ(fib.goto_target(jump)->table, kTable200);
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 200 default dev 4");
  // Deleting the target unresolves the goto again.
  int idx = fib.find_rule_for_delete({.rule = to_table(300, kTable200), .user_priority = true});
  ASSERT_GE(idx, 0);
  fib.erase_rule(static_cast<size_t>(idx));
  EXPECT_EQ(fib.goto_target(jump), nullptr);
  EXPECT_EQ(lookup(fib, to("198.51.100.1")), "table 100 default dev 3");
}

TEST(FibLookup, SuppressPrefixlength) {
  // The wg-quick pattern: `ip rule add table main suppress_prefixlength 0` ahead of a rule
  // that sends everything else to the tunnel's table.
  Fib fib;
  add(fib, table::kMain, unicast("default", kEth0, "192.0.2.254"));
  add(fib, table::kMain, unicast("192.0.2.0/24", kEth0));
  add(fib, 51820, unicast("default", kEth1));
  Rule main_no_default = to_table(100, table::kMain);
  main_no_default.suppress_prefixlen = 0;
  fib.add_rule(main_no_default);
  fib.add_rule(to_table(200, 51820));
  EXPECT_EQ(lookup(fib, to("192.0.2.9")), "table 254 192.0.2.0/24 dev 2");
  EXPECT_EQ(lookup(fib, to("203.0.113.9")), "table 51820 default dev 3");
}

TEST(FibLookup, AliasChecksBacktrackToShorterPrefixes) {
  Fib fib;
  Route tos_route = unicast("192.0.2.0/24", kEth1);
  tos_route.tos = 0x10;
  add(fib, table::kMain, tos_route);
  add(fib, table::kMain, unicast("192.0.0.0/16", kEth0));
  add(fib, table::kMain, unicast("default", kEth2, "198.51.100.1"));
  fib.add_rule(to_table(1000, kTable100));
  Flow f = to("192.0.2.9");
  // Route tos must match the flow's (masked) tos.
  EXPECT_EQ(lookup(fib, f), "table 254 192.0.0.0/16 dev 2");
  f.tos = 0x12;
  EXPECT_EQ(lookup(fib, f), "table 254 192.0.2.0/24 dev 3");
  // The flow's oif must be one of the route's nexthop devices.
  f.tos = 0;
  f.oif = kEth2;
  EXPECT_EQ(lookup(fib, f), "table 254 default dev 4");
  // The route's scope must be at least the flow's: only link/host scope routes serve a
  // link-scope flow.
  f = to("192.0.2.9");
  f.scope = scope::kLink;
  EXPECT_EQ(lookup(fib, f), "table 254 192.0.0.0/16 dev 2");
  f = to("198.51.100.9");
  f.scope = scope::kLink;
  EXPECT_EQ(lookup(fib, f), error(ENETUNREACH));
}

TEST(FibLookup, DeadNexthopsAndRoutesAreSkipped) {
  Fib fib;
  Route mp = unicast("192.0.2.0/24", kEth0, "198.51.100.1");
  NextHop second;
  second.ifindex = kEth1;
  second.gateway = A("198.51.100.2");
  mp.nexthops.push_back(second);
  mp.nexthops[0].flags = nh_flags::kDead;
  add(fib, table::kMain, mp);
  Route dead = unicast("192.0.0.0/16", kEth2);
  dead.flags = nh_flags::kDead;
  add(fib, table::kMain, dead);
  add(fib, table::kMain, unicast("default", kEth2, "203.0.113.1"));
  LookupResult res;
  ASSERT_EQ(fib.lookup(to("192.0.2.9"), &res), 0);
  EXPECT_EQ(res.nh_index, 1);
  EXPECT_EQ(res.nexthop()->ifindex, kEth1);
  EXPECT_EQ(lookup(fib, to("192.0.9.9")), "table 254 default dev 4");
}

TEST(FibRules, DefaultRulesAndPrioritySequence) {
  Fib fib;
  ASSERT_EQ(fib.rules().size(), 3u);
  EXPECT_EQ(fib.rules()[0].priority, 0u);
  EXPECT_EQ(fib.rules()[0].table, table::kLocal);
  EXPECT_EQ(fib.rules()[1].priority, 32766u);
  EXPECT_EQ(fib.rules()[1].table, table::kMain);
  EXPECT_EQ(fib.rules()[2].priority, 32767u);
  EXPECT_EQ(fib.rules()[2].table, table::kDefault);

  // `ip rule add` without pref, repeatedly: one below the second rule each time.
  EXPECT_EQ(fib.default_rule_priority(), 32765u);
  fib.add_rule(to_table(fib.default_rule_priority(), kTable100));
  EXPECT_EQ(fib.default_rule_priority(), 32764u);
  fib.add_rule(to_table(fib.default_rule_priority(), kTable100));
  EXPECT_EQ(fib.default_rule_priority(), 32763u);
  // A rule with an explicit pref becomes the second rule and drives the sequence.
  fib.add_rule(to_table(1000, kTable200));
  EXPECT_EQ(fib.default_rule_priority(), 999u);
  // Rules go after existing ones of the same priority.
  Rule second_1000 = to_table(1000, kTable100);
  fib.add_rule(second_1000);
  EXPECT_EQ(fib.rules()[1].table, kTable200);
  EXPECT_EQ(fib.rules()[2].table, kTable100);
  // A second rule at priority 0: the fallback is 0.
  fib.add_rule(to_table(0, kTable200));
  EXPECT_EQ(fib.rules()[0].table, table::kLocal);
  EXPECT_EQ(fib.rules()[1].table, kTable200);
  EXPECT_EQ(fib.default_rule_priority(), 0u);
  std::vector<uint32_t> priorities;
  for (const Rule& r : fib.rules()) priorities.push_back(r.priority);
  EXPECT_EQ(priorities, (std::vector<uint32_t>{0, 0, 1000, 1000, 32764, 32765, 32766, 32767}));

  // With only one rule left there is no second rule: 0.
  Fib bare;
  while (bare.rules().size() > 1) bare.erase_rule(1);
  EXPECT_EQ(bare.default_rule_priority(), 0u);
}

TEST(FibRules, RuleExists) {
  Fib fib;
  Rule r = to_table(100, kTable100);
  r.src = P("203.0.113.0/24");
  r.fwmark = 0x10;
  r.fwmask = 0xff;
  fib.add_rule(r);
  EXPECT_TRUE(fib.rule_exists(r));
  EXPECT_TRUE(fib.rule_exists(to_table(32766, table::kMain)));
  Rule other = r;
  other.table = kTable200;
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.priority = 101;
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.src = P("203.0.113.0/25");
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.src = P("198.51.100.0/24");
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.fwmask = 0xffffffff;
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.iifname = "eth0";
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.action = RuleAction::Prohibit;
  other.table = 0;
  EXPECT_FALSE(fib.rule_exists(other));
  other = r;
  other.suppress_prefixlen = 0;
  EXPECT_FALSE(fib.rule_exists(other));
}

TEST(FibRules, RuleExistsTreatsUnsetPrefixAndTosAsWildcards) {
  // rule_exists() ends with ops->compare() = fib4_rule_compare(), which checks src/dst and tos
  // only when the *new* rule sets them (`if (frh->src_len && ...)`, `if (frh->tos && ...)`).
  // So with `from 203.0.113.0/24 pref 100 table 100` present, `ip rule add pref 100 table 100`
  // fails with EEXIST in the kernel.
  Fib fib;
  Rule r = to_table(100, kTable100);
  r.src = P("203.0.113.0/24");
  r.dst = P("198.51.100.0/24");
  r.tos = 0x10;
  fib.add_rule(r);
  EXPECT_TRUE(fib.rule_exists(to_table(100, kTable100)));
  // A set selector must still be equal.
  Rule other = to_table(100, kTable100);
  other.src = P("203.0.113.0/25");
  EXPECT_FALSE(fib.rule_exists(other));
}

TEST(FibRules, FindRuleForDelete) {
  Fib fib;
  Rule from = to_table(100, kTable100);
  from.src = P("203.0.113.0/24");
  fib.add_rule(from);
  Rule marked = to_table(200, kTable200);
  marked.fwmark = 0x10;
  marked.fwmask = 0xffffffff;
  marked.iifname = "eth1";
  fib.add_rule(marked);
  Rule unreachable = action_rule(300, RuleAction::Unreachable);
  fib.add_rule(unreachable);
  // rules: 0 local, 100 from, 200 marked, 300 unreachable, 32766 main, 32767 default

  auto find = [&](const RuleDeleteSpec& spec) { return fib.find_rule_for_delete(spec); };
  RuleDeleteSpec spec;
  spec.rule.action = RuleAction::Unspec;
  // An empty spec selects the first rule, the local one (`ip rule del` with no selector).
  EXPECT_EQ(find(spec), 0);
  spec.rule.priority = 32766;
  EXPECT_EQ(find(spec), 0);  // priority only counts when given
  spec.user_priority = true;
  EXPECT_EQ(find(spec), 4);
  spec = {};
  spec.rule.action = RuleAction::Unspec;
  spec.rule.table = kTable200;
  EXPECT_EQ(find(spec), 2);
  spec.rule.table = kTable100;
  EXPECT_EQ(find(spec), 1);
  spec.rule.table = 4242;
  EXPECT_EQ(find(spec), -1);
  spec = {};
  spec.rule.action = RuleAction::Unspec;
  spec.rule.src = P("203.0.113.0/24");
  EXPECT_EQ(find(spec), 1);
  spec.rule.src = P("203.0.113.0/25");
  EXPECT_EQ(find(spec), -1);
  spec = {};
  spec.rule.action = RuleAction::Unspec;
  spec.rule.fwmark = 0x10;
  EXPECT_EQ(find(spec), 2);
  spec.rule.iifname = "eth1";
  EXPECT_EQ(find(spec), 2);
  spec.rule.iifname = "eth0";
  EXPECT_EQ(find(spec), -1);
  spec = {};
  spec.rule.action = RuleAction::Unreachable;
  spec.rule.table = 0;
  EXPECT_EQ(find(spec), 3);
  spec.rule.action = RuleAction::Prohibit;
  EXPECT_EQ(find(spec), -1);
  // ToTable with no table: the first table rule.
  spec = {};
  spec.rule.action = RuleAction::ToTable;
  EXPECT_EQ(find(spec), 0);

  fib.erase_rule(3);
  spec = {};
  spec.rule.action = RuleAction::Unreachable;
  EXPECT_EQ(find(spec), -1);
  EXPECT_EQ(fib.rules().size(), 5u);
}

TEST(FibRules, DeletingARuleAlsoEndsTheMergedFastPath) {
  // fib4_rule_delete() sets fib_has_custom_rules = true just as fib4_rule_configure() does
  // (net/ipv4/fib_rules.c), so after `ip rule del pref 32767` on a fresh node lookups walk the
  // remaining rules and still find local routes.
  Fib fib;
  add(fib, table::kLocal, local("127.0.0.0/8"));
  add(fib, table::kMain, unicast("192.0.2.0/24", kEth0));
  RuleDeleteSpec spec;
  spec.rule.action = RuleAction::Unspec;
  spec.rule.priority = 32767;
  spec.user_priority = true;
  int idx = fib.find_rule_for_delete(spec);
  ASSERT_EQ(idx, 2);
  fib.erase_rule(static_cast<size_t>(idx));
  EXPECT_FALSE(fib.merged());
  EXPECT_TRUE(fib.has_custom_rules());
  EXPECT_EQ(lookup(fib, to("127.0.0.1")), "table 255 127.0.0.0/8 dev 1");
  EXPECT_EQ(lookup(fib, to("192.0.2.1")), "table 254 192.0.2.0/24 dev 2");
}

}  // namespace
}  // namespace vnet::fib
