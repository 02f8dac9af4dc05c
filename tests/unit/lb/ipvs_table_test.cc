// The IPVS control plane: the errno each operation returns where ip_vs_ctl.c returns it, the
// newest-first destination list, thresholds and OVERLOAD, scheduler changes and --set.
#include <gtest/gtest.h>

#include <cerrno>

#include "lb/ipvs_table.h"

namespace vnet::lb {
namespace {

net::Ipv4Addr ip(const char* s) {
  return *net::Ipv4Addr::parse(s);
}

ServiceKey vip() {
  return {0, kProtoTcp, ip("192.168.73.120"), 80};
}

DestConfig tunnel(const char* addr) {
  DestConfig d;
  d.addr = ip(addr);
  d.port = 80;
  d.method = ForwardMethod::Tunnel;
  return d;
}

TEST(IpvsTableTest, ServicesAndDestinationsAsTheKernelKeepsThem) {
  IpvsTable t;
  ServiceConfig c;
  c.key = vip();
  c.scheduler = "rr";
  EXPECT_EQ(t.add_service(c), 0);
  EXPECT_EQ(t.add_service(c), EEXIST);
  EXPECT_EQ(t.add_dest(vip(), tunnel("192.168.73.110")), 0);
  EXPECT_EQ(t.add_dest(vip(), tunnel("192.168.73.111")), 0);
  EXPECT_EQ(t.add_dest(vip(), tunnel("192.168.73.111")), EEXIST);
  const Service* s = t.find(vip());
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->dests.size(), 2U);
  EXPECT_EQ(s->dests[0]->addr, ip("192.168.73.111"));  // newest first
  // rr over that list: web2 first.
  Dest* d = s->scheduler->schedule(s->dests, {});
  EXPECT_EQ(d->addr, ip("192.168.73.111"));
  EXPECT_EQ(t.del_dest(vip(), ip("192.168.73.112"), 80), ENOENT);
  EXPECT_EQ(t.del_dest({0, kProtoUdp, ip("192.168.73.120"), 80}, ip("192.168.73.110"), 80), ESRCH);
  EXPECT_EQ(t.del_dest(vip(), ip("192.168.73.111"), 80), 0);
  EXPECT_EQ(s->scheduler->schedule(s->dests, {})->addr, ip("192.168.73.110"));
  EXPECT_EQ(t.del_service(vip()), 0);
  EXPECT_EQ(t.del_service(vip()), ESRCH);
}

TEST(IpvsTableTest, BadSchedulerWeightsAndThresholds) {
  IpvsTable t;
  ServiceConfig c;
  c.key = vip();
  c.scheduler = "nope";
  EXPECT_EQ(t.add_service(c), ENOENT);
  EXPECT_TRUE(t.services().empty());  // nothing half-made
  c.scheduler = "wrr";
  ASSERT_EQ(t.add_service(c), 0);
  DestConfig d = tunnel("10.0.0.1");
  d.weight = -1;
  EXPECT_EQ(t.add_dest(vip(), d), ERANGE);
  d.weight = 1;
  d.u_threshold = 10;
  d.l_threshold = 20;
  EXPECT_EQ(t.add_dest(vip(), d), ERANGE);
  d.l_threshold = 5;
  EXPECT_EQ(t.add_dest(vip(), d), 0);
  EXPECT_EQ(t.edit_dest(vip(), tunnel("10.0.0.2")), ENOENT);
  // A raised upper threshold clears OVERLOAD (__ip_vs_update_dest).
  RealServer* r = t.find(vip())->find(ip("10.0.0.1"), 80);
  r->overloaded = true;
  d.u_threshold = 20;
  EXPECT_EQ(t.edit_dest(vip(), d), 0);
  EXPECT_FALSE(r->overloaded);
  // Weight 0 quiesces; last_weight remembers 1 (Maglev keeps the slots).
  d.weight = 0;
  EXPECT_EQ(t.edit_dest(vip(), d), 0);
  EXPECT_EQ(r->weight, 0);
  EXPECT_EQ(r->last_weight, 1);
}

TEST(IpvsTableTest, EditServiceSwapsTheSchedulerAndSetKeepsZeros) {
  IpvsTable t;
  ServiceConfig c;
  c.key = vip();
  ASSERT_EQ(t.add_service(c), 0);
  EXPECT_EQ(t.find(vip())->scheduler->name(), "wlc");
  c.scheduler = "mh";
  c.flags = kSchedFlag1;
  EXPECT_EQ(t.edit_service(c), 0);
  EXPECT_EQ(t.find(vip())->scheduler->name(), "mh");
  ServiceConfig other = c;
  other.key.port = 81;
  EXPECT_EQ(t.edit_service(other), ESRCH);
  t.set_timeouts(0, 60, 0);
  EXPECT_EQ(t.timeouts().tcp_s, 900U);
  EXPECT_EQ(t.timeouts().tcp_fin_s, 60U);
  EXPECT_EQ(t.timeouts().udp_s, 300U);
  EXPECT_EQ(t.zero(other.key), ESRCH);
  EXPECT_EQ(t.zero(std::nullopt), 0);
  // Firewall-mark services are keyed by the mark alone.
  ServiceConfig f;
  f.key.fwmark = 7;
  EXPECT_EQ(t.add_service(f), 0);
  ServiceKey k;
  k.fwmark = 7;
  k.protocol = kProtoUdp;
  EXPECT_NE(t.find(k), nullptr);
  t.flush();
  EXPECT_TRUE(t.services().empty());
}

}  // namespace
}  // namespace vnet::lb
