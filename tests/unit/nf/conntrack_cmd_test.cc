// `conntrack` output and errors as conntrack-tools 1.4.7 prints them (captured on Linux 6.18).
#include <gtest/gtest.h>

#include "nf_test_util.h"

namespace vnet::nf::test {
namespace {

constexpr const char* kTry = "Try `conntrack -h' or 'conntrack --help' for more information.\n";

CmdResult ct(Netfilter& nf, const std::string& line, uint64_t now_ns = 0) {
  return run_conntrack(nf, split(line), now_ns);
}

TEST(ConntrackCmd, EmptyTable) {
  Netfilter nf;
  CmdResult l = ct(nf, "conntrack -L");
  EXPECT_EQ(l.out, "");
  EXPECT_EQ(l.err, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been shown.\n");
  EXPECT_EQ(ct(nf, "conntrack -C").out, "0\n");
  CmdResult f = ct(nf, "conntrack -F");
  EXPECT_EQ(f.err,
            "conntrack v1.4.7 (conntrack-tools): connection tracking table has been emptied.\n");
  EXPECT_EQ(ct(nf, "conntrack -L expect").err,
            "conntrack v1.4.7 (conntrack-tools): 0 expectations have been shown.\n");
  EXPECT_EQ(ct(nf, "conntrack -V").out, "conntrack v1.4.7 (conntrack-tools)\n");
}

TEST(ConntrackCmd, Errors) {
  Netfilter nf;
  auto expect_error = [&](const std::string& cmd, const std::string& message) {
    CmdResult r = ct(nf, cmd);
    EXPECT_EQ(r.status, 2) << cmd;
    EXPECT_EQ(r.err, "conntrack v1.4.7 (conntrack-tools): " + message + "\n" + kTry) << cmd;
  };
  expect_error("conntrack -L -p foo", "`foo' unsupported protocol");
  expect_error("conntrack -L --dport 7777", "unknown option `--dport'");
  expect_error("conntrack -L --state ESTABLISHED", "unknown option `--state'");
  expect_error("conntrack -X", "unknown option `-X'");
  expect_error("conntrack -L -L", "Invalid commands combination");
  expect_error("conntrack -L -F", "Invalid commands combination");
  expect_error("conntrack --bogus", "unknown option `--bogus'");
  expect_error("conntrack -L -p", "option `-p' requires an argument");
  EXPECT_EQ(ct(nf, "conntrack").out.substr(0, 73),
            "Command line interface for the connection tracking system. Version 1.4.7\n");
}

// The capture's flows: ping, UDP to a closed port (port unreachable came back), UDP to a host
// that does not exist, TCP with data then a close from the client.
TEST(ConntrackCmd, ListingFiltersAndDelete) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  Packet u1 = udp("10.0.0.2", "198.51.100.99", 40002, 7777);
  Packet u2 = udp("10.0.0.2", "198.51.100.2", 40001, 9999);
  Packet ping = echo("10.0.0.2", "198.51.100.2", true, 24309, 1);
  Packet pong = echo("198.51.100.2", "203.0.113.1", false, 24309, 1);
  ASSERT_TRUE(r.in_to_out(u1, 0));
  ASSERT_TRUE(r.in_to_out(u2, 0));
  ASSERT_TRUE(r.in_to_out(ping, 0));
  ASSERT_TRUE(r.out_to_in(pong, 0));
  const std::string udp1 =
      "udp      17 28 src=10.0.0.2 dst=198.51.100.99 sport=40002 dport=7777 [UNREPLIED] "
      "src=198.51.100.99 dst=203.0.113.1 sport=7777 dport=40002 mark=0 use=1\n";
  const std::string udp2 =
      "udp      17 28 src=10.0.0.2 dst=198.51.100.2 sport=40001 dport=9999 [UNREPLIED] "
      "src=198.51.100.2 dst=203.0.113.1 sport=9999 dport=40001 mark=0 use=1\n";
  const std::string icmp =
      "icmp     1 28 src=10.0.0.2 dst=198.51.100.2 type=8 code=0 id=24309 src=198.51.100.2 "
      "dst=203.0.113.1 type=0 code=0 id=24309 mark=0 use=1\n";
  const uint64_t t = 2 * kSec;
  EXPECT_EQ(ct(r.nf, "conntrack -L", t).out, udp1 + udp2 + icmp);
  EXPECT_EQ(ct(r.nf, "conntrack -L -p udp", t).out, udp1 + udp2);
  EXPECT_EQ(ct(r.nf, "conntrack -L -p udp", t).err,
            "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n");
  EXPECT_EQ(ct(r.nf, "conntrack -L -p icmp", t).out, icmp);
  EXPECT_EQ(ct(r.nf, "conntrack -L -d 198.51.100.99", t).out, udp1);
  EXPECT_EQ(ct(r.nf, "conntrack -L -s 10.9.9.9", t).out, "");
  EXPECT_EQ(ct(r.nf, "conntrack -L -p udp --sport 40001", t).out, udp2);
  EXPECT_EQ(ct(r.nf, "conntrack -L -r 198.51.100.2", t).out, udp2 + icmp);
  EXPECT_EQ(ct(r.nf, "conntrack -L -q 203.0.113.1 -p icmp", t).out, icmp);
  EXPECT_EQ(ct(r.nf, "conntrack -L -o extended -p icmp", t).out, "ipv4     2 " + icmp);
  EXPECT_EQ(ct(r.nf, "conntrack -C", t).out, "3\n");

  CmdResult d = ct(r.nf, "conntrack -D -p udp --dport 7777", t);
  EXPECT_EQ(d.out, udp1);
  EXPECT_EQ(d.err, "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been deleted.\n");
  EXPECT_EQ(d.status, 0);
  CmdResult none = ct(r.nf, "conntrack -D -d 10.9.9.9", t);
  EXPECT_EQ(none.err, "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n");
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(ct(r.nf, "conntrack -L", t).out, udp2 + icmp);
  ct(r.nf, "conntrack -F", t);
  EXPECT_EQ(ct(r.nf, "conntrack -C", t).out, "0\n");
}

}  // namespace
}  // namespace vnet::nf::test
