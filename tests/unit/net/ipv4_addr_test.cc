#include "net/ipv4_addr.h"

#include <gtest/gtest.h>

namespace vnet::net {
namespace {

TEST(Ipv4Addr, ParsesStrictDottedQuad) {
  EXPECT_EQ(Ipv4Addr::parse("192.0.2.1"), Ipv4Addr::from_octets(192, 0, 2, 1));
  EXPECT_EQ(Ipv4Addr::parse("0.0.0.0"), Ipv4Addr());
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2"));
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2.256"));
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2.1."));
  EXPECT_FALSE(Ipv4Addr::parse("192.0.2.1 "));
  EXPECT_FALSE(Ipv4Addr::parse(""));
  EXPECT_FALSE(Ipv4Addr::parse("1.2.3.0004"));
}

TEST(Ipv4Addr, ParsesIproute2LenientForms) {
  EXPECT_EQ(Ipv4Addr::parse_iproute2("10"), Ipv4Addr::from_octets(10, 0, 0, 0));
  EXPECT_EQ(Ipv4Addr::parse_iproute2("10.1"), Ipv4Addr::from_octets(10, 1, 0, 0));
  EXPECT_EQ(Ipv4Addr::parse_iproute2("0x0a.010.1.1"), Ipv4Addr::from_octets(10, 8, 1, 1));
  EXPECT_FALSE(Ipv4Addr::parse_iproute2("10.256"));
  EXPECT_FALSE(Ipv4Addr::parse_iproute2("10..1"));
  EXPECT_FALSE(Ipv4Addr::parse_iproute2("1.2.3.4.5"));
  EXPECT_FALSE(Ipv4Addr::parse_iproute2("eth0"));
}

TEST(Ipv4Addr, Prints) {
  EXPECT_EQ(Ipv4Addr::from_octets(198, 51, 100, 7).to_string(), "198.51.100.7");
}

TEST(Prefix, ParsesAndPrintsLikeIproute2) {
  auto p = Prefix::parse_iproute2("192.0.2.0/24");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->len(), 24);
  EXPECT_EQ(p->to_string(), "192.0.2.0/24");
  EXPECT_EQ(Prefix::parse_iproute2("192.0.2.9")->to_string(), "192.0.2.9");
  EXPECT_EQ(Prefix::parse_iproute2("default")->to_string(), "default");
  EXPECT_EQ(Prefix::parse_iproute2("10.0.0.0/255.0.0.0")->len(), 8);
  EXPECT_FALSE(Prefix::parse_iproute2("10.0.0.0/255.0.255.0"));
  EXPECT_FALSE(Prefix::parse_iproute2("10.0.0.0/33"));
  EXPECT_TRUE(Prefix::parse_iproute2("192.0.2.1/24")->has_host_bits());
  EXPECT_TRUE(Prefix::parse_iproute2("192.0.2.0/24")->contains(*Ipv4Addr::parse("192.0.2.200")));
  EXPECT_FALSE(Prefix::parse_iproute2("192.0.2.0/24")->contains(*Ipv4Addr::parse("192.0.3.1")));
}

TEST(MacAddr, ParsesAndPrints) {
  auto m = MacAddr::parse("02:00:5E:10:00:01");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->to_string(), "02:00:5e:10:00:01");
  EXPECT_FALSE(MacAddr::parse("02:00:5e:10:00"));
  EXPECT_FALSE(MacAddr::parse("02:00:5e:10:00:01:02"));
  EXPECT_TRUE(MacAddr::broadcast().is_multicast());
}

TEST(ParseCNumber, FollowsStrtoulBaseZero) {
  EXPECT_EQ(parse_c_number("42"), 42u);
  EXPECT_EQ(parse_c_number("0x2a"), 42u);
  EXPECT_EQ(parse_c_number("052"), 42u);
  EXPECT_EQ(parse_c_number("0"), 0u);
  EXPECT_FALSE(parse_c_number("42x"));
  EXPECT_FALSE(parse_c_number(""));
}

}  // namespace
}  // namespace vnet::net
