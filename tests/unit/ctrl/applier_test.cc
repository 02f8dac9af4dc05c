// The applier onto a node's vSwitch: each kind of change, and changes that arrive in an order
// the vSwitch refuses (a port before its device or before the neigh entry it must match) wait
// and are applied once they can be.
#include <gtest/gtest.h>

#include "ctrl/vpc_applier.h"

namespace vnet::ctrl {
namespace {

Change put(const std::string& k, const std::string& v) {
  auto r = schema::parse(k, v);
  EXPECT_TRUE(std::holds_alternative<schema::Entry>(r)) << std::get<std::string>(r);
  return {false, std::get<schema::Entry>(r), 0};
}
Change del(const std::string& k, const std::string& v) {
  Change c = put(k, v);
  c.deleted = true;
  return c;
}

net::Ipv4Addr ip(const char* s) {
  return *net::Ipv4Addr::parse(s);
}

TEST(VpcApplier, AppliesEachKind) {
  stack::Node node;
  ASSERT_TRUE(node.link_add_external("vm1").ok());
  VpcApplier a(node);
  a.apply({put("/vnet/v1/host/host1/config", R"({"local":"10.10.1.9","grace_ms":500})"),
           put("/vnet/v1/vpc/7/config", R"({"subnets":["172.16.0.0/16"]})"),
           put("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.9"})"),
           put("/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:01"})"),
           put("/vnet/v1/vpc/7/subnet-route/172.17.0.0/16", R"({"peer":8})"),
           put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.16.0.47"})")},
          0);
  EXPECT_TRUE(a.pending().empty());
  vpc::VSwitch& vs = node.vswitch();
  EXPECT_EQ(vs.local(), ip("10.10.1.9"));
  EXPECT_EQ(vs.grace_ns(), 500'000'000u);
  EXPECT_EQ(*vs.route(7, ip("172.16.0.47")), ip("10.10.1.9"));
  ASSERT_NE(vs.subnet_route(7, ip("172.17.1.1")), nullptr);
  EXPECT_EQ(vs.subnet_route(7, ip("172.17.1.1"))->peer, 8u);
  ASSERT_NE(vs.local_port(7, ip("172.16.0.47")), nullptr);
  EXPECT_EQ(vs.local_port(7, ip("172.16.0.47"))->name, "vm1");
  // Changes replace; the peer of a subnet route too.
  a.apply({put("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.10"})"),
           put("/vnet/v1/vpc/7/subnet-route/172.17.0.0/16", R"({"peer":9})")},
          1000);
  EXPECT_EQ(*vs.route(7, ip("172.16.0.47")), ip("10.10.1.10"));
  EXPECT_EQ(vs.moved_until(7, ip("172.16.0.47")), 1000u + 500'000'000u);
  EXPECT_EQ(vs.subnet_route(7, ip("172.17.1.1"))->peer, 9u);
  // Deletes, twice (the second is already done).
  for (int i = 0; i < 2; ++i) {
    a.apply({del("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.16.0.47"})"),
             del("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.10"})"),
             del("/vnet/v1/vpc/7/subnet-route/172.17.0.0/16", R"({"peer":9})"),
             del("/vnet/v1/vpc/7/config", R"({"subnets":[]})")},
            2000);
    EXPECT_TRUE(a.pending().empty());
  }
  EXPECT_EQ(vs.route(7, ip("172.16.0.47")), nullptr);
  EXPECT_EQ(vs.local_port(7, ip("172.16.0.47")), nullptr);
  EXPECT_FALSE(vs.vpcs().at(7).declared);
}

TEST(VpcApplier, OutOfOrderChangesWaitThenApply) {
  stack::Node node;
  VpcApplier a(node);
  // The port's MAC disagrees with neigh_table until the neigh change comes; its device is not
  // there yet either.
  a.apply({put("/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:01"})"),
           put("/vnet/v1/host/host1/port/vm1",
               R"({"vpc":7,"ip":"172.16.0.47","mac":"52:54:00:00:00:02"})")},
          0);
  ASSERT_EQ(a.pending().size(), 1u);
  EXPECT_EQ(a.pending().begin()->second.error, "no device vm1");
  ASSERT_TRUE(node.link_add_external("vm1").ok());
  a.retry(0);
  ASSERT_EQ(a.pending().size(), 1u);
  EXPECT_NE(a.pending().begin()->second.error.find("is not neigh_table's"), std::string::npos)
      << a.pending().begin()->second.error;
  a.apply({put("/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:02"})")}, 0);
  EXPECT_TRUE(a.pending().empty());
  EXPECT_NE(node.vswitch().local_port(7, ip("172.16.0.47")), nullptr);
  // A delete of a waiting change drops it.
  a.apply({put("/vnet/v1/host/host1/port/vm9", R"({"vpc":7,"ip":"172.16.0.9"})")}, 0);
  EXPECT_EQ(a.pending().size(), 1u);
  a.apply({del("/vnet/v1/host/host1/port/vm9", R"({"vpc":7,"ip":"172.16.0.9"})")}, 0);
  EXPECT_TRUE(a.pending().empty());
}

}  // namespace
}  // namespace vnet::ctrl
