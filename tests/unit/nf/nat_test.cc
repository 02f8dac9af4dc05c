// NAT through the hooks: MASQUERADE, SNAT, DNAT, port preservation and clash remapping, reply
// de-NAT, ICMP errors related to a flow, checksums verified with the wire views.
#include <gtest/gtest.h>

#include "nf_test_util.h"

namespace vnet::nf::test {
namespace {

TEST(Nat, MasqueradesIcmpEchoAndDeNatsTheReply) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  Packet req = echo("10.0.0.2", "198.51.100.7", true, 0x1234, 1);
  ASSERT_TRUE(r.in_to_out(req, 0));
  Ports out = check_packet(req);
  EXPECT_EQ(out.src, ip("203.0.113.1"));
  EXPECT_EQ(out.dst, ip("198.51.100.7"));
  EXPECT_EQ(out.sport, 0x1234);  // echo id kept

  Packet reply = echo("198.51.100.7", "203.0.113.1", false, 0x1234, 1);
  ASSERT_TRUE(r.out_to_in(reply, kSec));
  Ports back = check_packet(reply);
  EXPECT_EQ(back.src, ip("198.51.100.7"));
  EXPECT_EQ(back.dst, ip("10.0.0.2"));
  EXPECT_EQ(back.sport, 0x1234);

  auto list = run_conntrack(r.nf, split("conntrack -L"), 2 * kSec);
  EXPECT_EQ(list.out,
            "icmp     1 29 src=10.0.0.2 dst=198.51.100.7 type=8 code=0 id=4660 src=198.51.100.7 "
            "dst=203.0.113.1 type=0 code=0 id=4660 mark=0 use=1\n");
  EXPECT_EQ(list.err, "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n");
  // Only the first packet traversed the chain.
  EXPECT_EQ(r.nf.nat().builtin(Hook::PostRouting).rules[0].packets, 1u);
}

TEST(Nat, MasqueradeWithoutAddressDrops) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j MASQUERADE");
  Packet p = udp("10.0.0.2", "198.51.100.7", 1000, 53);
  PacketCt ct;
  ASSERT_EQ(r.nf.pre_routing(p, r.eth0, 0, ct, nullptr), Verdict::Accept);
  HookTrace trace;
  Iface eth9{9, "eth9"};
  EXPECT_EQ(r.nf.post_routing(p, eth9, ip("1.1.1.1"), r.masq, 0, ct, &trace), Verdict::Drop);
  EXPECT_EQ(trace.lines.back(), "MASQUERADE: eth9 ate my IP address, drop");
}

TEST(Nat, SnatUdpKeepsPortAndRemapsOnClash) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 203.0.113.5");
  Packet a = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(a, 0));
  EXPECT_EQ(check_packet(a).src, ip("203.0.113.5"));
  EXPECT_EQ(check_packet(a).sport, 5000);
  // A second client with the same source port would clash: the port changes, in 1024-65535.
  Packet b = udp("10.0.0.3", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(b, 0));
  Ports pb = check_packet(b);
  EXPECT_EQ(pb.src, ip("203.0.113.5"));
  EXPECT_NE(pb.sport, 5000);
  EXPECT_GE(pb.sport, 1024);
  // Replies reach each client.
  Packet ra = udp("198.51.100.7", "203.0.113.5", 53, 5000);
  ASSERT_TRUE(r.out_to_in(ra, kSec));
  EXPECT_EQ(check_packet(ra).dst, ip("10.0.0.2"));
  EXPECT_EQ(check_packet(ra).dport, 5000);
  Packet rb = udp("198.51.100.7", "203.0.113.5", 53, pb.sport);
  ASSERT_TRUE(r.out_to_in(rb, kSec));
  EXPECT_EQ(check_packet(rb).dst, ip("10.0.0.3"));
  EXPECT_EQ(check_packet(rb).dport, 5000);
}

TEST(Nat, PrivilegedPortsStayInTheirClass) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j SNAT --to-source 203.0.113.5");
  Packet a = udp("10.0.0.2", "198.51.100.7", 123, 123);
  Packet b = udp("10.0.0.3", "198.51.100.7", 123, 123);
  ASSERT_TRUE(r.in_to_out(a, 0));
  ASSERT_TRUE(r.in_to_out(b, 0));
  uint16_t port = check_packet(b).sport;
  EXPECT_NE(port, 123);
  EXPECT_GE(port, 1);
  EXPECT_LE(port, 511);
}

TEST(Nat, UdpZeroChecksumStaysZero) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j MASQUERADE");
  Packet p = udp("10.0.0.2", "198.51.100.7", 4000, 53, true);
  ASSERT_TRUE(r.in_to_out(p, 0));
  wire::Ipv4ConstView v(p);
  EXPECT_TRUE(v.verify_checksum());
  EXPECT_EQ(wire::UdpConstView(v.payload()).checksum(), 0);
}

TEST(Nat, DnatTcpWithPortAndReply) {
  Router r;
  r.iptables(
      "iptables -t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT --to-destination "
      "10.0.0.2:80");
  Packet syn = tcp("198.51.100.7", "203.0.113.1", 40000, 8080, wire::kTcpSyn);
  ASSERT_TRUE(r.out_to_in(syn, 0));
  Ports s = check_packet(syn);
  EXPECT_EQ(s.dst, ip("10.0.0.2"));
  EXPECT_EQ(s.dport, 80);
  EXPECT_EQ(s.sport, 40000);
  Packet synack = tcp("10.0.0.2", "198.51.100.7", 80, 40000, wire::kTcpSyn | wire::kTcpAck);
  ASSERT_TRUE(r.in_to_out(synack, kSec));
  Ports sa = check_packet(synack);
  EXPECT_EQ(sa.src, ip("203.0.113.1"));
  EXPECT_EQ(sa.sport, 8080);
  // A packet to another port is not translated (null binding for its own flow).
  Packet other = tcp("198.51.100.7", "203.0.113.1", 40001, 22, wire::kTcpSyn);
  ASSERT_TRUE(r.out_to_in(other, 0));
  EXPECT_EQ(check_packet(other).dst, ip("203.0.113.1"));
}

TEST(Nat, DnatOnOutputThenSnat) {
  Router r;
  r.iptables("iptables -t nat -A OUTPUT -d 192.0.2.80 -p udp -j DNAT --to-destination 10.0.0.9");
  Packet p = udp("10.0.0.1", "192.0.2.80", 3333, 53);
  PacketCt ct;
  ASSERT_EQ(r.nf.local_out(p, r.eth0, 0, ct, nullptr), Verdict::Accept);
  EXPECT_EQ(check_packet(p).dst, ip("10.0.0.9"));
  ASSERT_EQ(r.nf.post_routing(p, r.eth0, ip("10.0.0.9"), r.masq, 0, ct, nullptr), Verdict::Accept);
  Packet reply = udp("10.0.0.9", "10.0.0.1", 53, 3333);
  PacketCt ct2;
  ASSERT_EQ(r.nf.pre_routing(reply, r.eth0, kSec, ct2, nullptr), Verdict::Accept);
  EXPECT_EQ(ct2.info(), CtInfo::EstablishedReply);
  // The reply's source is restored by the source manipulation at INPUT, as in the kernel.
  EXPECT_EQ(check_packet(reply).src, ip("10.0.0.9"));
  ASSERT_EQ(r.nf.local_in(reply, r.eth0, kSec, ct2, nullptr), Verdict::Accept);
  EXPECT_EQ(check_packet(reply).src, ip("192.0.2.80"));
}

TEST(Nat, RulesOnlySeeTheFirstPacketAndLaterRulesDoNotApply) {
  Router r;
  Packet a = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(a, 0));  // null binding: no rule yet
  r.iptables("iptables -t nat -A POSTROUTING -j MASQUERADE");
  Packet b = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(b, kSec));
  EXPECT_EQ(check_packet(b).src, ip("10.0.0.2"));
  EXPECT_EQ(r.nf.nat().builtin(Hook::PostRouting).rules[0].packets, 0u);
}

TEST(Nat, TimeExceededForAMasqueradedFlowIsTranslatedWithItsQuote) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  Packet probe = udp("10.0.0.2", "198.51.100.7", 45000, 33434);
  ASSERT_TRUE(r.in_to_out(probe, 0));
  // A router beyond answers with time exceeded, quoting the masqueraded probe.
  Packet err = icmp_error("192.0.2.254", "203.0.113.1", probe, true);
  PacketCt ct;
  HookTrace trace;
  ASSERT_EQ(r.nf.pre_routing(err, r.eth1, kSec, ct, &trace), Verdict::Accept);
  EXPECT_EQ(ct.info(), CtInfo::RelatedReply);
  ASSERT_EQ(r.nf.post_routing(err, r.eth0, ip("10.0.0.2"), r.masq, kSec, ct, nullptr),
            Verdict::Accept);
  Ports outer = check_packet(err);  // verifies the recomputed ICMP checksum
  EXPECT_EQ(outer.src, ip("192.0.2.254"));
  EXPECT_EQ(outer.dst, ip("10.0.0.2"));
  wire::Ipv4ConstView v(err);
  wire::IcmpConstView icmp(v.payload());
  wire::Ipv4ConstView inner(icmp.data());
  ASSERT_EQ(inner.check_header(), std::nullopt);
  EXPECT_TRUE(inner.verify_checksum());
  EXPECT_EQ(inner.source(), ip("10.0.0.2"));
  EXPECT_EQ(inner.destination(), ip("198.51.100.7"));
  wire::UdpConstView inner_udp(inner.payload());
  EXPECT_EQ(inner_udp.source_port(), 45000);
  // The quoted UDP checksum was adjusted: it verifies against the original addresses.
  Packet original = udp("10.0.0.2", "198.51.100.7", 45000, 33434);
  EXPECT_EQ(inner_udp.checksum(),
            wire::UdpConstView(wire::Ipv4ConstView(original).payload()).checksum());
  // The error is related, not a reply: the flow stays UNREPLIED.
  auto list = run_conntrack(r.nf, split("conntrack -L"), kSec);
  EXPECT_NE(list.out.find("[UNREPLIED]"), std::string::npos);
}

TEST(Nat, PortUnreachableThroughDnat) {
  Router r;
  r.iptables(
      "iptables -t nat -A PREROUTING -p udp --dport 53 -j DNAT --to-destination 10.0.0.2:5353");
  Packet q = udp("198.51.100.7", "203.0.113.1", 6000, 53);
  ASSERT_TRUE(r.out_to_in(q, 0));
  EXPECT_EQ(check_packet(q).dport, 5353);
  // The server answers port unreachable, quoting the translated datagram.
  Packet err = icmp_error("10.0.0.2", "198.51.100.7", q, false);
  ASSERT_TRUE(r.in_to_out(err, kSec));
  Ports outer = check_packet(err);
  EXPECT_EQ(outer.src, ip("203.0.113.1"));
  EXPECT_EQ(outer.dst, ip("198.51.100.7"));
  wire::IcmpConstView icmp(wire::Ipv4ConstView(err).payload());
  wire::Ipv4ConstView inner(icmp.data());
  EXPECT_EQ(inner.destination(), ip("203.0.113.1"));
  EXPECT_EQ(wire::UdpConstView(inner.payload()).destination_port(), 53);
}

TEST(Nat, UnrelatedIcmpErrorIsLeftAlone) {
  Router r;
  Packet stray = udp("10.9.9.9", "198.51.100.7", 1, 2);
  Packet err = icmp_error("192.0.2.254", "203.0.113.1", stray, true);
  Packet copy = err;
  PacketCt ct;
  ASSERT_EQ(r.nf.pre_routing(err, r.eth1, 0, ct, nullptr), Verdict::Accept);
  EXPECT_EQ(err, copy);
  EXPECT_FALSE(ct.tracked());
}

TEST(Nat, SnatAddressRangeIsStablePerClient) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j SNAT --to-source 203.0.113.10-203.0.113.20");
  Packet a = udp("10.0.0.2", "198.51.100.7", 1111, 53);
  ASSERT_TRUE(r.in_to_out(a, 0));
  Ipv4Addr first = check_packet(a).src;
  EXPECT_GE(first, ip("203.0.113.10"));
  EXPECT_LE(first, ip("203.0.113.20"));
  Packet b = udp("10.0.0.2", "198.51.100.7", 2222, 53);
  ASSERT_TRUE(r.in_to_out(b, 0));
  EXPECT_EQ(check_packet(b).src, first);
}

TEST(Nat, MasqueradeToPortsAndDeviceDown) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 5000-5001");
  Packet a = tcp("10.0.0.2", "198.51.100.7", 40000, 80, wire::kTcpSyn);
  ASSERT_TRUE(r.in_to_out(a, 0));
  uint16_t port = check_packet(a).sport;
  EXPECT_TRUE(port == 5000 || port == 5001);
  EXPECT_EQ(r.nf.count(0), 1u);
  r.nf.device_down(2);
  EXPECT_EQ(r.nf.count(0), 0u);
}

TEST(Nat, FragmentsAreNotTracked) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j MASQUERADE");
  Packet p = udp("10.0.0.2", "198.51.100.7", 1, 2);
  wire::Ipv4View v(p);
  p[6] = std::byte{0x20};  // MF
  v.fill_checksum();
  Packet copy = p;
  ASSERT_TRUE(r.in_to_out(p, 0));
  EXPECT_EQ(p, copy);
  EXPECT_EQ(r.nf.count(0), 0u);
}

}  // namespace
}  // namespace vnet::nf::test
