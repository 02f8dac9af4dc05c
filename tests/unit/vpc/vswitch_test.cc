// VSwitch configuration semantics (vpc/vswitch.h): every refusal with its errno and message,
// that a refused call changes nothing, the route/neigh modes, subnet_route ordering and longest
// match, ports, the migration grace bookkeeping, and vpc_del's reach.  Addresses are seed 004's.
#include <gtest/gtest.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "vpc/vswitch.h"

namespace vnet::vpc {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMs = 1'000'000;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse_iproute2(s);
}
MacAddr mac(const char* s) {
  return *MacAddr::parse(s);
}

// The tables as text, to compare a whole switch before and after a refused call.
std::string dump(const VSwitch& vs) {
  std::string s = "local " + vs.local().to_string() + " mac " + vs.mac().to_string() + " grace " +
                  std::to_string(vs.grace_ns()) + "\n";
  for (const auto& [id, v] : vs.vpcs()) {
    s += "vpc " + std::to_string(id) + (v.declared ? " declared" : "");
    for (const Prefix& p : v.subnets) s += " " + p.to_string();
    for (const SubnetRoute& sr : v.subnet_routes) {
      s += " sr " + sr.prefix.to_string() + ">" + std::to_string(sr.peer);
    }
    s += "\n";
  }
  for (const auto& [k, host] : vs.routes().sorted()) {
    std::optional<uint64_t> moved = vs.moved_until(k.vpc, Ipv4Addr(k.ip));
    s += "route " + std::to_string(k.vpc) + " " + Ipv4Addr(k.ip).to_string() + " " +
         host.to_string() + (moved ? " moved " + std::to_string(*moved) : "") + "\n";
  }
  for (const auto& [k, m] : vs.neighs().sorted()) {
    s += "neigh " + std::to_string(k.vpc) + " " + Ipv4Addr(k.ip).to_string() + " " + m.to_string() +
         "\n";
  }
  for (const auto& [ix, p] : vs.ports()) {
    s += "port " + std::to_string(ix) + " " + p.name + " " + std::to_string(p.vpc) + " " +
         p.ip.to_string() + " " + p.mac.to_string() + "\n";
  }
  return s;
}

void expect_status(const Status& s, int err, const std::string& message) {
  EXPECT_EQ(s.err, err) << s.message;
  EXPECT_EQ(s.message, message);
}

// Some of everything, for "refused changes nothing".  (Filled in place: a VSwitch's port
// index points into its own port map.)
void populate(VSwitch& vs) {
  EXPECT_TRUE(vs.set_local(ip("10.10.1.9")).ok());
  EXPECT_TRUE(vs.vpc_add(6289, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpc_add(6774, {pfx("172.16.0.0/24"), pfx("10.0.2.0/24")}).ok());
  EXPECT_TRUE(vs.route_add(6289, ip("10.0.1.141"), ip("10.10.1.9"), VSwitch::Mode::Add, 0).ok());
  EXPECT_TRUE(vs.route_add(6774, ip("172.16.0.47"), ip("10.10.1.10"), VSwitch::Mode::Add, 0).ok());
  EXPECT_TRUE(
      vs.neigh_add(6289, ip("10.0.1.141"), mac("52:54:00:00:00:01"), VSwitch::Mode::Add).ok());
  EXPECT_TRUE(vs.port_add(3, "vm1p", 6289, ip("10.0.1.141"), std::nullopt).ok());
  EXPECT_TRUE(vs.subnet_route_add(6289, pfx("172.16.0.0/24"), 6774).ok());
  EXPECT_TRUE(vs.subnet_route_add(6774, pfx("10.0.1.0/24"), 6289).ok());
}

TEST(VSwitchSettings, LocalAndMac) {
  VSwitch vs;
  EXPECT_FALSE(vs.active());
  EXPECT_EQ(vs.mac(), VSwitch::default_mac());
  EXPECT_EQ(vs.mac().to_string(), "ee:ff:ff:ff:ff:ff");
  EXPECT_EQ(vs.grace_ns(), 2 * kSec);
  expect_status(vs.set_local(ip("224.0.0.1")), -EINVAL,
                "224.0.0.1 cannot be the vSwitch's address");
  expect_status(vs.set_local(ip("255.255.255.255")), -EINVAL,
                "255.255.255.255 cannot be the vSwitch's address");
  EXPECT_FALSE(vs.active());
  EXPECT_TRUE(vs.set_local(ip("10.10.1.9")).ok());
  EXPECT_TRUE(vs.active());
  EXPECT_EQ(vs.local(), ip("10.10.1.9"));
  expect_status(vs.set_mac(mac("00:00:00:00:00:00")), -EINVAL,
                "00:00:00:00:00:00 is not a unicast MAC");
  expect_status(vs.set_mac(mac("01:00:5e:00:00:01")), -EINVAL,
                "01:00:5e:00:00:01 is not a unicast MAC");
  EXPECT_EQ(vs.mac(), VSwitch::default_mac());
  EXPECT_TRUE(vs.set_mac(mac("02:00:00:00:00:fe")).ok());
  EXPECT_EQ(vs.mac(), mac("02:00:00:00:00:fe"));
}

TEST(VSwitchVpc, AddAndRefusals) {
  VSwitch vs;
  EXPECT_TRUE(vs.vpc_add(6289, {pfx("10.0.1.0/24"), pfx("10.0.2.0/24")}).ok());
  EXPECT_TRUE(vs.active());
  ASSERT_TRUE(vs.known_vpc(6289));
  EXPECT_TRUE(vs.vpcs().at(6289).declared);
  EXPECT_EQ(vs.vpcs().at(6289).subnets,
            (std::vector<Prefix>{pfx("10.0.1.0/24"), pfx("10.0.2.0/24")}));
  std::string before = dump(vs);
  expect_status(vs.vpc_add(6289, {}), -EEXIST, "vpc 6289 exists");
  expect_status(vs.vpc_add(6774, {pfx("10.0.0.0/16"), pfx("10.0.1.0/24")}), -EINVAL,
                "subnets 10.0.0.0/16 and 10.0.1.0/24 overlap");
  expect_status(
      vs.vpc_add(6774, {pfx("172.16.0.0/24"), pfx("10.0.2.0/24"), pfx("172.16.0.128/25")}), -EINVAL,
      "subnets 172.16.0.0/24 and 172.16.0.128/25 overlap");
  expect_status(vs.vpc_add(6774, {pfx("172.16.0.47/24")}), -EINVAL,
                "subnet 172.16.0.47/24 has host bits set");
  expect_status(vs.vpc_del(6774), -ENOENT, "no vpc 6774");
  EXPECT_EQ(dump(vs), before);
  EXPECT_FALSE(vs.known_vpc(6774));
  // Different VPCs may hold the same subnets; VPC 0 and the largest id are ordinary ids.
  EXPECT_TRUE(vs.vpc_add(6774, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpc_add(0, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpc_add(UINT32_MAX, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpc_add(1, {}).ok());
  EXPECT_EQ(vs.vpcs().size(), 5u);
}

TEST(VSwitchVpc, ImplicitVpcCanBeDeclaredOnce) {
  VSwitch vs;
  // A table entry makes the VPC, undeclared.
  ASSERT_TRUE(vs.route_add(7, ip("10.0.1.5"), ip("10.10.1.9"), VSwitch::Mode::Add, 0).ok());
  ASSERT_TRUE(vs.known_vpc(7));
  EXPECT_FALSE(vs.vpcs().at(7).declared);
  // A subnet_route makes its peer known too.
  ASSERT_TRUE(vs.subnet_route_add(7, pfx("172.16.0.0/16"), 8).ok());
  EXPECT_TRUE(vs.known_vpc(8));
  EXPECT_FALSE(vs.vpcs().at(8).declared);
  // Declaring it: its subnets must not overlap its subnet_routes.
  std::string before = dump(vs);
  expect_status(vs.vpc_add(7, {pfx("10.0.1.0/24"), pfx("172.16.3.0/24")}), -EINVAL,
                "subnet 172.16.3.0/24 overlaps subnet_route 172.16.0.0/16 to peer vpc 8");
  EXPECT_EQ(dump(vs), before);
  EXPECT_TRUE(vs.vpc_add(7, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpcs().at(7).declared);
  EXPECT_EQ(*vs.route(7, ip("10.0.1.5")), ip("10.10.1.9"));  // kept
  expect_status(vs.vpc_add(7, {pfx("10.0.1.0/24")}), -EEXIST, "vpc 7 exists");
  EXPECT_TRUE(vs.vpc_add(8, {pfx("172.16.0.0/16")}).ok());
}

TEST(VSwitchRoute, AddChangeReplaceDel) {
  VSwitch vs;
  const Ipv4Addr vm = ip("172.16.0.47");
  EXPECT_EQ(vs.route(6289, vm), nullptr);
  expect_status(vs.route_add(6289, vm, ip("10.10.1.10"), VSwitch::Mode::Change, 0), -ENOENT,
                "route_table has no 172.16.0.47 in vpc 6289");
  EXPECT_FALSE(vs.known_vpc(6289));  // a refused change makes no VPC
  ASSERT_TRUE(vs.route_add(6289, vm, ip("10.10.1.10"), VSwitch::Mode::Add, 0).ok());
  EXPECT_EQ(*vs.route(6289, vm), ip("10.10.1.10"));
  EXPECT_EQ(vs.route(6774, vm), nullptr);
  expect_status(vs.route_add(6289, vm, ip("10.10.1.11"), VSwitch::Mode::Add, 0), -EEXIST,
                "route_table has 172.16.0.47 in vpc 6289");
  EXPECT_EQ(*vs.route(6289, vm), ip("10.10.1.10"));
  ASSERT_TRUE(vs.route_add(6289, vm, ip("10.10.1.11"), VSwitch::Mode::Change, 0).ok());
  EXPECT_EQ(*vs.route(6289, vm), ip("10.10.1.11"));
  ASSERT_TRUE(vs.route_add(6289, vm, ip("10.10.1.12"), VSwitch::Mode::Replace, 0).ok());
  EXPECT_EQ(*vs.route(6289, vm), ip("10.10.1.12"));
  ASSERT_TRUE(vs.route_add(6774, vm, ip("10.10.1.9"), VSwitch::Mode::Replace, 0).ok());  // new
  EXPECT_EQ(*vs.route(6774, vm), ip("10.10.1.9"));
  EXPECT_EQ(vs.routes().size(), 2u);

  // Bad addresses.
  for (const char* bad : {"0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3", "127.0.0.1"}) {
    expect_status(vs.route_add(6289, ip(bad), ip("10.10.1.10"), VSwitch::Mode::Replace, 0), -EINVAL,
                  std::string(bad) + " is not a VM address");
  }
  for (const char* bad : {"0.0.0.0", "255.255.255.255", "224.0.0.1"}) {
    expect_status(vs.route_add(6289, ip("10.0.1.1"), ip(bad), VSwitch::Mode::Replace, 0), -EINVAL,
                  std::string(bad) + " is not a host address");
  }
  EXPECT_EQ(vs.routes().size(), 2u);

  // Deletion, with and without the host.
  expect_status(vs.route_del(6289, ip("172.16.0.48"), std::nullopt), -ESRCH,
                "route_table has no 172.16.0.48 in vpc 6289");
  expect_status(vs.route_del(6289, vm, ip("10.10.1.10")), -ESRCH,
                "route_table has no 172.16.0.47 host 10.10.1.10 in vpc 6289");
  expect_status(vs.route_del(1, vm, std::nullopt), -ESRCH,
                "route_table has no 172.16.0.47 in vpc 1");
  EXPECT_NE(vs.route(6289, vm), nullptr);
  EXPECT_TRUE(vs.route_del(6289, vm, ip("10.10.1.12")).ok());
  EXPECT_EQ(vs.route(6289, vm), nullptr);
  EXPECT_NE(vs.route(6774, vm), nullptr);
  EXPECT_TRUE(vs.route_del(6774, vm, std::nullopt).ok());
  EXPECT_EQ(vs.routes().size(), 0u);
}

TEST(VSwitchNeigh, AddChangeReplaceDel) {
  VSwitch vs;
  const Ipv4Addr vm = ip("10.0.1.141");
  expect_status(vs.neigh_add(6289, vm, mac("52:54:00:00:00:01"), VSwitch::Mode::Change), -ENOENT,
                "neigh_table has no 10.0.1.141 in vpc 6289");
  ASSERT_TRUE(vs.neigh_add(6289, vm, mac("52:54:00:00:00:01"), VSwitch::Mode::Add).ok());
  expect_status(vs.neigh_add(6289, vm, mac("52:54:00:00:00:02"), VSwitch::Mode::Add), -EEXIST,
                "neigh_table has 10.0.1.141 in vpc 6289");
  EXPECT_EQ(*vs.neigh(6289, vm), mac("52:54:00:00:00:01"));
  ASSERT_TRUE(vs.neigh_add(6289, vm, mac("52:54:00:00:00:02"), VSwitch::Mode::Change).ok());
  EXPECT_EQ(*vs.neigh(6289, vm), mac("52:54:00:00:00:02"));
  ASSERT_TRUE(vs.neigh_add(6289, vm, mac("52:54:00:00:00:03"), VSwitch::Mode::Replace).ok());
  EXPECT_EQ(*vs.neigh(6289, vm), mac("52:54:00:00:00:03"));
  ASSERT_TRUE(vs.neigh_add(0, vm, mac("52:54:00:00:00:04"), VSwitch::Mode::Replace).ok());
  EXPECT_EQ(*vs.neigh(0, vm), mac("52:54:00:00:00:04"));
  EXPECT_EQ(*vs.neigh(6289, vm), mac("52:54:00:00:00:03"));
  expect_status(vs.neigh_add(6289, vm, mac("00:00:00:00:00:00"), VSwitch::Mode::Replace), -EINVAL,
                "00:00:00:00:00:00 is not a unicast MAC");
  expect_status(vs.neigh_add(6289, vm, mac("ff:ff:ff:ff:ff:ff"), VSwitch::Mode::Replace), -EINVAL,
                "ff:ff:ff:ff:ff:ff is not a unicast MAC");
  expect_status(vs.neigh_add(6289, ip("127.0.0.1"), mac("52:54:00:00:00:05"), VSwitch::Mode::Add),
                -EINVAL, "127.0.0.1 is not a VM address");
  EXPECT_EQ(*vs.neigh(6289, vm), mac("52:54:00:00:00:03"));
  expect_status(vs.neigh_del(6289, ip("10.0.1.142")), -ESRCH,
                "neigh_table has no 10.0.1.142 in vpc 6289");
  EXPECT_TRUE(vs.neigh_del(6289, vm).ok());
  EXPECT_EQ(vs.neigh(6289, vm), nullptr);
  EXPECT_NE(vs.neigh(0, vm), nullptr);
  expect_status(vs.neigh_del(6289, vm), -ESRCH, "neigh_table has no 10.0.1.141 in vpc 6289");
}

TEST(VSwitchSubnetRoute, RefusalsAndLongestMatch) {
  VSwitch vs;
  ASSERT_TRUE(vs.vpc_add(6289, {pfx("10.0.1.0/24"), pfx("192.168.12.0/24")}).ok());
  std::string before = dump(vs);
  expect_status(vs.subnet_route_add(6289, pfx("172.16.0.47/16"), 6774), -EINVAL,
                "subnet 172.16.0.47/16 has host bits set");
  expect_status(vs.subnet_route_add(6289, pfx("172.16.0.0/16"), 6289), -EINVAL,
                "vpc 6289 cannot peer with itself");
  // Overlap with an own subnet either way round: the message names both prefixes.
  expect_status(vs.subnet_route_add(6289, pfx("10.0.0.0/8"), 6774), -EINVAL,
                "10.0.0.0/8 overlaps subnet 10.0.1.0/24 of vpc 6289: peered subnets must not "
                "overlap");
  expect_status(vs.subnet_route_add(6289, pfx("192.168.12.128/25"), 6774), -EINVAL,
                "192.168.12.128/25 overlaps subnet 192.168.12.0/24 of vpc 6289: peered subnets "
                "must not overlap");
  expect_status(vs.subnet_route_add(6289, pfx("0.0.0.0/0"), 6774), -EINVAL,
                "default overlaps subnet 10.0.1.0/24 of vpc 6289: peered subnets must not overlap");
  EXPECT_EQ(dump(vs), before);
  EXPECT_FALSE(vs.known_vpc(6774));  // a refused subnet_route makes no peer

  ASSERT_TRUE(vs.subnet_route_add(6289, pfx("172.0.0.0/8"), 1).ok());
  ASSERT_TRUE(vs.subnet_route_add(6289, pfx("172.16.0.0/24"), 2).ok());
  ASSERT_TRUE(vs.subnet_route_add(6289, pfx("172.16.0.0/16"), 3).ok());
  ASSERT_TRUE(vs.subnet_route_add(6289, pfx("172.15.0.0/24"), 4).ok());
  ASSERT_TRUE(vs.subnet_route_add(6289, pfx("172.16.0.64/26"), 5).ok());
  EXPECT_TRUE(vs.known_vpc(1) && vs.known_vpc(5));
  expect_status(vs.subnet_route_add(6289, pfx("172.16.0.0/16"), 6774), -EEXIST,
                "vpc 6289 has a subnet_route for 172.16.0.0/16 (to peer vpc 3)");
  expect_status(vs.subnet_route_add(6289, pfx("172.16.0.0/16"), 3), -EEXIST,
                "vpc 6289 has a subnet_route for 172.16.0.0/16 (to peer vpc 3)");
  // Longest prefix first, then by address.
  std::vector<std::pair<std::string, uint32_t>> order;
  for (const SubnetRoute& sr : vs.vpcs().at(6289).subnet_routes) {
    order.emplace_back(sr.prefix.to_string(), sr.peer);
  }
  EXPECT_EQ(order, (std::vector<std::pair<std::string, uint32_t>>{{"172.16.0.64/26", 5},
                                                                  {"172.15.0.0/24", 4},
                                                                  {"172.16.0.0/24", 2},
                                                                  {"172.16.0.0/16", 3},
                                                                  {"172.0.0.0/8", 1}}));
  auto peer_of = [&](const char* a) -> int {
    const SubnetRoute* sr = vs.subnet_route(6289, ip(a));
    return sr == nullptr ? -1 : static_cast<int>(sr->peer);
  };
  EXPECT_EQ(peer_of("172.16.0.65"), 5);
  EXPECT_EQ(peer_of("172.16.0.127"), 5);
  EXPECT_EQ(peer_of("172.16.0.128"), 2);
  EXPECT_EQ(peer_of("172.16.0.0"), 2);
  EXPECT_EQ(peer_of("172.16.1.0"), 3);
  EXPECT_EQ(peer_of("172.15.0.9"), 4);
  EXPECT_EQ(peer_of("172.15.1.9"), 1);
  EXPECT_EQ(peer_of("172.255.255.255"), 1);
  EXPECT_EQ(peer_of("173.0.0.1"), -1);
  EXPECT_EQ(peer_of("10.0.1.1"), -1);
  EXPECT_EQ(vs.subnet_route(6774, ip("172.16.0.1")), nullptr);  // unknown VPC
  EXPECT_EQ(vs.subnet_route(1, ip("172.16.0.1")), nullptr);     // the peer has none

  // Deletion: exact prefix only.
  expect_status(vs.subnet_route_del(6289, pfx("172.16.0.0/15")), -ESRCH,
                "vpc 6289 has no subnet_route for 172.16.0.0/15");
  expect_status(vs.subnet_route_del(42, pfx("172.16.0.0/16")), -ESRCH,
                "vpc 42 has no subnet_route for 172.16.0.0/16");
  EXPECT_TRUE(vs.subnet_route_del(6289, pfx("172.16.0.64/26")).ok());
  EXPECT_EQ(peer_of("172.16.0.65"), 2);
  EXPECT_TRUE(vs.subnet_route_del(6289, pfx("172.16.0.0/24")).ok());
  EXPECT_EQ(peer_of("172.16.0.65"), 3);
  expect_status(vs.subnet_route_del(6289, pfx("172.16.0.0/24")), -ESRCH,
                "vpc 6289 has no subnet_route for 172.16.0.0/24");
}

TEST(VSwitchPort, AddFromNeighTableAndRefusals) {
  VSwitch vs;
  const Ipv4Addr vm = ip("10.0.1.141");
  std::string before = dump(vs);
  expect_status(vs.port_add(3, "vm1p", 6289, vm, std::nullopt), -EINVAL,
                "no lladdr given and neigh_table has no 10.0.1.141 in vpc 6289");
  expect_status(vs.port_add(3, "vm1p", 6289, ip("0.0.0.0"), mac("52:54:00:00:00:01")), -EINVAL,
                "0.0.0.0 is not a VM address");
  expect_status(vs.port_add(3, "vm1p", 6289, vm, mac("33:33:00:00:00:01")), -EINVAL,
                "33:33:00:00:00:01 is not a unicast MAC");
  EXPECT_EQ(dump(vs), before);
  EXPECT_FALSE(vs.known_vpc(6289));

  ASSERT_TRUE(vs.neigh_add(6289, vm, mac("52:54:00:00:00:01"), VSwitch::Mode::Add).ok());
  ASSERT_TRUE(vs.port_add(3, "vm1p", 6289, vm, std::nullopt).ok());
  ASSERT_NE(vs.port(3), nullptr);
  EXPECT_EQ(vs.port(3)->mac, mac("52:54:00:00:00:01"));  // from neigh_table
  EXPECT_EQ(vs.port(3)->name, "vm1p");
  EXPECT_EQ(vs.port(3)->vpc, 6289u);
  EXPECT_EQ(vs.port(3)->ip, vm);
  EXPECT_EQ(vs.local_port(6289, vm), vs.port(3));
  EXPECT_EQ(vs.local_port(6774, vm), nullptr);
  EXPECT_EQ(vs.port(2), nullptr);
  EXPECT_EQ(vs.port(4), nullptr);
  EXPECT_EQ(vs.port(-1), nullptr);
  EXPECT_EQ(vs.port(1000), nullptr);

  before = dump(vs);
  expect_status(vs.port_add(3, "vm1p", 6774, vm, mac("52:54:00:00:00:02")), -EEXIST,
                "vm1p is a port of vm 10.0.1.141 already");
  expect_status(vs.port_add(4, "vm2p", 6289, vm, mac("52:54:00:00:00:02")), -EEXIST,
                "vm 10.0.1.141 of vpc 6289 has port vm1p already");
  EXPECT_EQ(dump(vs), before);

  // An explicit lladdr wins over neigh_table; the same address in another VPC is another VM.
  ASSERT_TRUE(vs.port_add(9, "vm2p", 6774, vm, mac("52:54:00:00:00:02")).ok());
  EXPECT_EQ(vs.port(9)->mac, mac("52:54:00:00:00:02"));
  EXPECT_EQ(vs.local_port(6774, vm), vs.port(9));
  EXPECT_EQ(vs.local_port(6289, vm), vs.port(3));  // pointers stay right after reindexing

  expect_status(vs.port_del(5), -ENODEV, "not a vSwitch port");
  EXPECT_TRUE(vs.port_del(3).ok());
  EXPECT_EQ(vs.port(3), nullptr);
  EXPECT_EQ(vs.local_port(6289, vm), nullptr);
  EXPECT_EQ(vs.local_port(6774, vm), vs.port(9));
  EXPECT_NE(vs.neigh(6289, vm), nullptr);  // the neighbour stays
  vs.forget_port(9);
  vs.forget_port(9);  // twice is harmless
  EXPECT_EQ(vs.port(9), nullptr);
  EXPECT_TRUE(vs.ports().empty());
  // The address can have a port again.
  EXPECT_TRUE(vs.port_add(4, "vm1q", 6289, vm, std::nullopt).ok());
}

TEST(VSwitchMigration, GraceFollowsTheRoute) {
  VSwitch vs;
  const Ipv4Addr h1 = ip("10.10.1.9"), h2 = ip("10.10.1.10"), h3 = ip("10.10.1.11");
  const Ipv4Addr vm = ip("172.16.0.47");
  ASSERT_TRUE(vs.set_local(h1).ok());
  vs.set_grace_ns(500 * kMs);
  ASSERT_TRUE(vs.route_add(6289, vm, h1, VSwitch::Mode::Add, 1 * kSec).ok());
  EXPECT_FALSE(vs.moved_until(6289, vm));

  // Leaves this host: grace from now.
  ASSERT_TRUE(vs.route_add(6289, vm, h2, VSwitch::Mode::Change, 5 * kSec).ok());
  EXPECT_EQ(*vs.route(6289, vm), h2);
  EXPECT_TRUE(vs.moved_until(6289, vm));
  EXPECT_EQ(vs.moved_until(6289, vm), 5 * kSec + 500 * kMs);

  // Moves on between other hosts: the grace is kept, not restarted.
  ASSERT_TRUE(vs.route_add(6289, vm, h3, VSwitch::Mode::Replace, 6 * kSec).ok());
  EXPECT_EQ(*vs.route(6289, vm), h3);
  EXPECT_TRUE(vs.moved_until(6289, vm));
  EXPECT_EQ(vs.moved_until(6289, vm), 5 * kSec + 500 * kMs);

  // Comes back: cleared.
  ASSERT_TRUE(vs.route_add(6289, vm, h1, VSwitch::Mode::Change, 7 * kSec).ok());
  EXPECT_EQ(*vs.route(6289, vm), h1);
  EXPECT_FALSE(vs.moved_until(6289, vm));

  // Leaves again with the default grace, by replace.
  vs.set_grace_ns(VSwitch::kDefaultGraceNs);
  ASSERT_TRUE(vs.route_add(6289, vm, h2, VSwitch::Mode::Replace, 8 * kSec).ok());
  EXPECT_TRUE(vs.moved_until(6289, vm));
  EXPECT_EQ(vs.moved_until(6289, vm), 10 * kSec);

  // A route that never was this host's does not move.
  const Ipv4Addr other = ip("172.16.0.48");
  ASSERT_TRUE(vs.route_add(6289, other, h2, VSwitch::Mode::Add, 1 * kSec).ok());
  ASSERT_TRUE(vs.route_add(6289, other, h3, VSwitch::Mode::Change, 2 * kSec).ok());
  EXPECT_FALSE(vs.moved_until(6289, other));
  // Nor the same address in another VPC.
  ASSERT_TRUE(vs.route_add(6774, vm, h1, VSwitch::Mode::Add, 0).ok());
  EXPECT_FALSE(vs.moved_until(6774, vm));

  // Without a local address nothing is "this host".
  VSwitch anon;
  ASSERT_TRUE(anon.route_add(6289, vm, h1, VSwitch::Mode::Add, 0).ok());
  ASSERT_TRUE(anon.route_add(6289, vm, h2, VSwitch::Mode::Change, kSec).ok());
  EXPECT_FALSE(anon.moved_until(6289, vm));
}

TEST(VSwitchVpc, DelRemovesThatVpcOnly) {
  VSwitch vs;
  populate(vs);
  // The same addresses in a third VPC, with its own port.
  ASSERT_TRUE(vs.vpc_add(7, {pfx("10.0.1.0/24")}).ok());
  ASSERT_TRUE(vs.route_add(7, ip("10.0.1.141"), ip("10.10.1.9"), VSwitch::Mode::Add, 0).ok());
  ASSERT_TRUE(vs.neigh_add(7, ip("10.0.1.141"), mac("52:54:00:00:00:07"), VSwitch::Mode::Add).ok());
  ASSERT_TRUE(vs.port_add(5, "vm7p", 7, ip("10.0.1.141"), std::nullopt).ok());

  ASSERT_TRUE(vs.vpc_del(6289).ok());
  EXPECT_FALSE(vs.known_vpc(6289));
  EXPECT_EQ(vs.route(6289, ip("10.0.1.141")), nullptr);
  EXPECT_EQ(vs.neigh(6289, ip("10.0.1.141")), nullptr);
  EXPECT_EQ(vs.port(3), nullptr);
  EXPECT_EQ(vs.local_port(6289, ip("10.0.1.141")), nullptr);
  // VPC 7's equal entries and VPC 6774 untouched, but for its subnet_route to 6289, which goes.
  EXPECT_EQ(*vs.route(7, ip("10.0.1.141")), ip("10.10.1.9"));
  EXPECT_EQ(*vs.neigh(7, ip("10.0.1.141")), mac("52:54:00:00:00:07"));
  EXPECT_EQ(vs.local_port(7, ip("10.0.1.141")), vs.port(5));
  EXPECT_EQ(*vs.route(6774, ip("172.16.0.47")), ip("10.10.1.10"));
  EXPECT_EQ(vs.subnet_route(6774, ip("10.0.1.1")), nullptr);
  EXPECT_EQ(vs.routes().size(), 2u);
  EXPECT_EQ(vs.neighs().size(), 1u);
  EXPECT_EQ(vs.ports().size(), 1u);
  expect_status(vs.vpc_del(6289), -ENOENT, "no vpc 6289");

  // Declaring it again starts empty.
  ASSERT_TRUE(vs.vpc_add(6289, {pfx("10.0.1.0/24")}).ok());
  EXPECT_TRUE(vs.vpcs().at(6289).subnet_routes.empty());
  EXPECT_TRUE(vs.port_add(3, "vm1p", 6289, ip("10.0.1.141"), mac("52:54:00:00:00:01")).ok());
}

TEST(VSwitchVpc, RefusedCallsChangeNothing) {
  VSwitch vs;
  populate(vs);
  const std::string before = dump(vs);
  EXPECT_FALSE(vs.vpc_add(6289, {}).ok());
  EXPECT_FALSE(vs.vpc_add(9, {pfx("10.0.0.0/8"), pfx("10.1.0.0/16")}).ok());
  EXPECT_FALSE(vs.vpc_del(9).ok());
  EXPECT_FALSE(vs.route_add(6289, ip("10.0.1.141"), ip("10.10.1.10"), VSwitch::Mode::Add, 0).ok());
  EXPECT_FALSE(vs.route_add(9, ip("10.0.1.1"), ip("10.10.1.10"), VSwitch::Mode::Change, 0).ok());
  EXPECT_FALSE(vs.route_add(9, ip("224.0.0.5"), ip("10.10.1.10"), VSwitch::Mode::Add, 0).ok());
  EXPECT_FALSE(vs.route_del(6289, ip("10.0.1.141"), ip("10.10.1.10")).ok());
  EXPECT_FALSE(
      vs.neigh_add(9, ip("10.0.1.1"), mac("52:54:00:00:00:09"), VSwitch::Mode::Change).ok());
  EXPECT_FALSE(vs.neigh_add(9, ip("10.0.1.1"), mac("01:00:00:00:00:09"), VSwitch::Mode::Add).ok());
  EXPECT_FALSE(vs.neigh_del(9, ip("10.0.1.1")).ok());
  EXPECT_FALSE(vs.subnet_route_add(6289, pfx("172.16.0.0/24"), 9).ok());
  EXPECT_FALSE(vs.subnet_route_add(6289, pfx("10.0.1.128/25"), 9).ok());
  EXPECT_FALSE(vs.subnet_route_add(9, pfx("10.0.0.0/8"), 9).ok());
  EXPECT_FALSE(vs.subnet_route_add(9, pfx("10.0.0.1/8"), 10).ok());
  EXPECT_FALSE(vs.subnet_route_del(6289, pfx("172.16.0.0/16")).ok());
  EXPECT_FALSE(vs.port_add(3, "vm1p", 9, ip("10.0.1.1"), mac("52:54:00:00:00:09")).ok());
  EXPECT_FALSE(vs.port_add(4, "vm9p", 6289, ip("10.0.1.141"), mac("52:54:00:00:00:09")).ok());
  EXPECT_FALSE(vs.port_add(4, "vm9p", 9, ip("10.0.1.1"), std::nullopt).ok());
  EXPECT_FALSE(vs.port_del(4).ok());
  EXPECT_FALSE(vs.set_local(ip("239.0.0.1")).ok());
  EXPECT_FALSE(vs.set_mac(mac("01:02:03:04:05:06")).ok());
  EXPECT_EQ(dump(vs), before);
  EXPECT_FALSE(vs.known_vpc(9));
  EXPECT_FALSE(vs.known_vpc(10));
}

// route_del and neigh_del validate nothing, so they must refuse the one address no entry can
// have like any other absent one.
TEST(VSwitchRoute, DelOfReservedKeyIsRefused) {
  VSwitch vs;
  ASSERT_TRUE(
      vs.route_add(UINT32_MAX, ip("10.0.1.5"), ip("10.10.1.9"), VSwitch::Mode::Add, 0).ok());
  const std::string before = dump(vs);
  expect_status(vs.route_del(UINT32_MAX, Ipv4Addr(0xffffffff), std::nullopt), -ESRCH,
                "route_table has no 255.255.255.255 in vpc 4294967295");
  expect_status(vs.neigh_del(UINT32_MAX, Ipv4Addr(0xffffffff)), -ESRCH,
                "neigh_table has no 255.255.255.255 in vpc 4294967295");
  EXPECT_EQ(vs.routes().size(), 1u);
  EXPECT_EQ(vs.neighs().size(), 0u);
  EXPECT_EQ(vs.route(UINT32_MAX, Ipv4Addr(0xffffffff)), nullptr);
  EXPECT_EQ(dump(vs), before);
}

// A VPC made by route_table entries alone (no `vpc add ... subnet`) still cannot peer over its
// own VMs' addresses.
TEST(VSwitchSubnetRoute, RefusedOverTheVpcsOwnVms) {
  VSwitch vs;
  ASSERT_TRUE(vs.route_add(6289, ip("172.16.0.5"), ip("10.10.1.9"), VSwitch::Mode::Add, 0).ok());
  expect_status(vs.subnet_route_add(6289, pfx("172.16.0.0/16"), 6774), -EINVAL,
                "172.16.0.0/16 covers vm 172.16.0.5 of vpc 6289: peered subnets must not overlap");
  EXPECT_TRUE(vs.subnet_route_add(6289, pfx("172.17.0.0/16"), 6774).ok());
}

// Delivery uses neigh_table's MAC and port security the port's: a port whose MAC is not the
// VM's neigh_table entry is refused.
TEST(VSwitchPort, LladdrMustMatchNeighTable) {
  VSwitch vs;
  ASSERT_TRUE(
      vs.neigh_add(6289, ip("10.0.1.5"), mac("52:54:00:00:00:05"), VSwitch::Mode::Add).ok());
  expect_status(vs.port_add(3, "vm1p", 6289, ip("10.0.1.5"), mac("52:54:00:00:00:06")), -EINVAL,
                "lladdr 52:54:00:00:00:06 is not neigh_table's 52:54:00:00:00:05 for 10.0.1.5 in "
                "vpc 6289");
  EXPECT_TRUE(vs.ports().empty());
  EXPECT_TRUE(vs.port_add(3, "vm1p", 6289, ip("10.0.1.5"), mac("52:54:00:00:00:05")).ok());
}

}  // namespace
}  // namespace vnet::vpc
