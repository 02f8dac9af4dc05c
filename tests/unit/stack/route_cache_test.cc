// The route cache in Node::route_get: answers are reused within one configuration generation and
// never across a change.  Each test makes one kind of change through the shell (as a user
// would) between two identical queries and checks the second answer is the new one, and that
// the repeated query before the change was a cache hit.  The whole test suite also runs with
// VNET_ROUTE_CACHE_VERIFY=1 (scripts/test.sh), which re-resolves every hit and aborts on a
// difference; these tests check the cache is in use at all, and the changes a test suite might
// not make.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"

namespace vnet::stack {
namespace {

using net::Ipv4Addr;

class RouteCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* line :
         {"ip link add v0 type veth peer name v1", "ip link add w0 type veth peer name w1",
          "ip link set v0 up", "ip link set v1 up", "ip link set w0 up", "ip link set w1 up",
          "ip addr add 192.0.2.1/24 dev v0", "ip addr add 198.51.100.1/24 dev w0",
          "ip route add 203.0.113.0/24 via 192.0.2.2", "sysctl -qw net.ipv4.ip_forward=1"}) {
      run(line);
    }
  }
  void run(const std::string& line) {
    cmd::CmdOutput out = shell_.run(line);
    ASSERT_EQ(out.status, 0) << line << ": " << out.err;
  }
  int ifindex(const char* name) const { return node_.device_by_name(name)->ifindex; }

  // The same output query twice: the second must be a hit with the same answer.
  RouteAnswer output_twice(const char* dst, int* err) {
    RouteQuery q;
    q.dst = *Ipv4Addr::parse(dst);
    RouteAnswer first, second;
    int e1 = node_.route_get(q, &first);
    uint64_t hits = node_.route_cache_stats().hits;
    int e2 = node_.route_get(q, &second);
    EXPECT_EQ(node_.route_cache_stats().hits, hits + 1) << dst;
    EXPECT_EQ(e1, e2);
    EXPECT_EQ(first.oif, second.oif);
    *err = e2;
    return second;
  }

  Node node_;
  cmd::Shell shell_{node_};
};

TEST_F(RouteCacheTest, RouteChangesAreSeen) {
  int err = 0;
  RouteAnswer a = output_twice("203.0.113.5", &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(a.oif, ifindex("v0"));
  run("ip route replace 203.0.113.0/24 via 198.51.100.2");
  a = output_twice("203.0.113.5", &err);
  ASSERT_EQ(err, 0);
  EXPECT_EQ(a.oif, ifindex("w0"));
  run("ip route add 203.0.113.5/32 via 192.0.2.7");
  a = output_twice("203.0.113.5", &err);
  EXPECT_EQ(a.oif, ifindex("v0"));
  ASSERT_TRUE(a.gateway.has_value());
  EXPECT_EQ(a.gateway->to_string(), "192.0.2.7");
  run("ip route del 203.0.113.5/32");
  run("ip route del 203.0.113.0/24");
  output_twice("203.0.113.5", &err);
  EXPECT_EQ(err, -ENETUNREACH);
}

TEST_F(RouteCacheTest, RulesAddressesLinksAndSysctlsAreSeen) {
  int err = 0;
  output_twice("203.0.113.5", &err);
  ASSERT_EQ(err, 0);
  // A rule sends it to table 100 (empty at first: the lookup goes on to main).
  run("ip rule add to 203.0.113.5 table 100");
  RouteAnswer a = output_twice("203.0.113.5", &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(a.oif, ifindex("v0"));
  run("ip route add default dev w0 table 100");
  a = output_twice("203.0.113.5", &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(a.oif, ifindex("w0"));
  // The output device goes down: table 100's route goes with it, and main answers again.
  run("ip link set w0 down");
  a = output_twice("203.0.113.5", &err);
  EXPECT_EQ(err, 0);
  EXPECT_EQ(a.oif, ifindex("v0"));
  run("ip rule del to 203.0.113.5 table 100");
  // An address removed takes its connected route, and the gateway's route with it.
  run("ip addr del 192.0.2.1/24 dev v0");
  output_twice("192.0.2.9", &err);
  EXPECT_EQ(err, -ENETUNREACH);
  run("ip addr add 192.0.2.1/24 dev v0");
  output_twice("192.0.2.9", &err);
  EXPECT_EQ(err, 0);

  // Input routes: forwarding and rp_filter are sysctls.
  RouteQuery in;
  in.dst = *Ipv4Addr::parse("192.0.2.9");
  in.src = *Ipv4Addr::parse("203.0.113.9");
  in.iif = ifindex("v0");
  RouteAnswer ans;
  EXPECT_EQ(node_.route_get(in, &ans), 0);
  EXPECT_EQ(node_.route_get(in, &ans), 0);
  run("sysctl -qw net.ipv4.conf.all.rp_filter=1");
  EXPECT_EQ(node_.route_get(in, &ans), -EINVAL);  // 203.0.113.9 is routed back by ... nothing
  run("echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter");
  EXPECT_EQ(node_.route_get(in, &ans), 0);
  run("sysctl -qw net.ipv4.ip_forward=0");
  EXPECT_EQ(node_.route_get(in, &ans), -EHOSTUNREACH);
}

TEST_F(RouteCacheTest, TracedQueriesBypassTheCache) {
  RouteQuery q;
  q.dst = *Ipv4Addr::parse("203.0.113.5");
  q.trace = true;
  RouteAnswer a;
  uint64_t hits = node_.route_cache_stats().hits;
  uint64_t misses = node_.route_cache_stats().misses;
  ASSERT_EQ(node_.route_get(q, &a), 0);
  ASSERT_EQ(node_.route_get(q, &a), 0);
  EXPECT_FALSE(a.trace.empty());
  EXPECT_EQ(node_.route_cache_stats().hits, hits);
  EXPECT_EQ(node_.route_cache_stats().misses, misses);
}

}  // namespace
}  // namespace vnet::stack
