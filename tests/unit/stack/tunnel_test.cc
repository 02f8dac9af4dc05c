// Tunnel devices on one gateway node whose two Ethernet ports are driven by the test: frames go
// in with receive() and come out through a recording NodeIo.  The expected encapsulated bytes
// were built independently with scapy 2.5 (tests/unit/stack/tunnel_oracle.py) from the same
// fields, so they pin the wire format, not vnet's own builder.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../wire/wire_test_util.h"
#include "gateway_fixture.h"
#include "stack/node.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"
#include "wire/vxlan.h"

namespace vnet::stack {
namespace {

using net::Ipv4Addr;
using net::MacAddr;
using test::A;
using test::to_hex;
using wire::test::hex;

constexpr uint64_t kSecond = 1'000'000'000;

class TunnelTest : public test::GatewayTest {};

// ---------------------------------------------------------------- MTU and devices

TEST_F(TunnelTest, MtuDerivesFromTheUnderlay) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  EXPECT_EQ(dev("t1").mtu, 1480);
  run("ip tunnel add g1 mode gre remote 192.0.2.2 local 192.0.2.1 key 5");
  EXPECT_EQ(dev("g1").mtu, 1472);  // 20 + 4 + key 4
  run("ip tunnel add g2 mode gre remote 192.0.2.3 local 192.0.2.1 key 6 csum seq");
  EXPECT_EQ(dev("g2").mtu, 1464);  // 20 + 4 + csum 4 + key 4 + seq 4
  run("ip link set eth0 mtu 9000");
  run("ip link add t2 type ipip remote 192.0.2.9 local 192.0.2.1");
  EXPECT_EQ(dev("t2").mtu, 8980);
  // No route to the remote and no dev: 1500 - 20.
  run("ip tunnel add t3 mode ipip remote 203.0.113.200");
  EXPECT_EQ(dev("t3").mtu, 1480);
  // The fallback devices: tunl0 1480, gre0 1476.
  EXPECT_EQ(dev("tunl0").mtu, 1480);
  EXPECT_EQ(dev("gre0").mtu, 1476);
  // VXLAN: lower device - 50, or 1500 without one.
  run("ip link add vx0 type vxlan id 42 remote 192.0.2.2 dstport 4789 dev eth1");
  EXPECT_EQ(dev("vx0").mtu, 1450);
  run("ip link add vx1 type vxlan id 43 dstport 4789");
  EXPECT_EQ(dev("vx1").mtu, 1500);
}

TEST_F(TunnelTest, ModprobeCreatesTheFallbackDevice) {
  EXPECT_EQ(node.device_by_name("tunl0"), nullptr);
  run("modprobe ipip");
  EXPECT_EQ(out("ip link show tunl0"),
            "4: tunl0@NONE: <NOARP> mtu 1480 qdisc noop state DOWN mode DEFAULT group default qlen "
            "1000\n    link/ipip 0.0.0.0 brd 0.0.0.0\n");
  EXPECT_EQ(out("ip tunnel show"), "tunl0: any/ip remote any local any ttl inherit nopmtudisc\n");
  EXPECT_EQ(out("lsmod | grep ipip"), "ipip                       0  0\n");
  // Deleting a fallback device succeeds and changes nothing (ip_tunnel_dellink()).
  run("ip link del tunl0");
  EXPECT_NE(node.device_by_name("tunl0"), nullptr);
  EXPECT_EQ(shell.run("ip tunnel del tunl0").err,
            "delete tunnel \"tunl0\" failed: Operation not permitted\n");
}

TEST_F(TunnelTest, IpTunnelShowAndErrors) {
  run("ip tunnel add g1 mode gre remote 192.0.2.2 local 192.0.2.1 ikey 1 okey 2 icsum oseq");
  EXPECT_EQ(out("ip tunnel show g1"),
            "g1: gre/ip remote 192.0.2.2 local 192.0.2.1 ttl inherit ikey 1 okey 2\n"
            "  Checksum in received packet is required.\n  Sequence packets on output.\n");
  auto dup = shell.run("ip tunnel add g9 mode gre remote 192.0.2.2 local 192.0.2.1 ikey 1");
  EXPECT_EQ(dup.err, "add tunnel \"gre0\" failed: File exists\n");
  EXPECT_EQ(dup.status, 1);
  run("ip tunnel change g1 mode gre remote 192.0.2.2 local 192.0.2.1 key 3 ttl 9");
  // `change NAME` starts from the tunnel's parameters (iproute2 reads them first), so the flags
  // not named on the line stay.
  EXPECT_EQ(out("ip tunnel show g1"),
            "g1: gre/ip remote 192.0.2.2 local 192.0.2.1 ttl 9 key 3\n"
            "  Checksum in received packet is required.\n  Sequence packets on output.\n");
  EXPECT_EQ(shell.run("ip tunnel del nosuch").err,
            "delete tunnel \"nosuch\" failed: No such device\n");
  EXPECT_EQ(shell.run("ip tunnel add x mode foo").err, "Unknown tunnel mode \"foo\"\n");
  EXPECT_EQ(shell.run("ip tunnel add x mode ipip key 5").err,
            "Keys are not allowed with ipip and sit tunnels\n");
  EXPECT_EQ(shell.run("ip tunnel add x remote 1.2.3.4").err,
            "cannot determine tunnel mode (ipip, gre, vti or sit)\n");
  EXPECT_EQ(shell.run("ip tunnel add x mode ipip ttl 64 nopmtudisc").err,
            "ttl != 0 and nopmtudisc are incompatible\n");
  // Nothing half-made by the failures.
  EXPECT_EQ(node.device_by_name("x"), nullptr);
  EXPECT_EQ(node.device_by_name("g9"), nullptr);
}

// ---------------------------------------------------------------- encapsulation bytes

TEST_F(TunnelTest, IpipEncapsulationBytes) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5")), 0);
  EXPECT_EQ(to_hex(sent_on("eth0")),
            "020000000002020000000001080045000034000140004004b6c1c0000201c000020245000020123440"
            "003f01c36dc6336402cb00710508001c1500070001766e6574");
  EXPECT_EQ(dev("t1").tx_packets, 1u);
}

TEST_F(TunnelTest, GreEncapsulationBytesWithKeyChecksumAndSequence) {
  run("ip tunnel add g1 mode gre remote 192.0.2.2 local 192.0.2.1 ttl 64 key 6289 csum seq");
  run("ip link set g1 up");
  run("ip route add 203.0.113.0/24 dev g1");
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5")), 0);
  EXPECT_EQ(to_hex(sent_on("eth0")),
            "02000000000202000000000108004500004400014000402fb686c0000201c0000202b00008002f6e00"
            "0000001891000000004500002012344000"
            "3f01c36dc6336402cb00710508001c1500070001766e6574");
  // The next packet carries sequence number 1 (the kernel starts at 0).
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5")), 0);
  EXPECT_EQ(to_hex(sent_on("eth0")),
            "02000000000202000000000108004500004400024000402fb685c0000201c0000202b00008002f6d00"
            "0000001891000000014500002012344000"
            "3f01c36dc6336402cb00710508001c1500070001766e6574");
}

TEST_F(TunnelTest, VxlanEncapsulationBytes) {
  run("ip link add vx0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dstport 4789 dev eth0");
  run("ip link set vx0 address 02:00:00:00:0a:01");
  run("ip link set vx0 up");
  run("ip addr add 10.10.0.1/24 dev vx0");
  run("ip neigh add 10.10.0.2 lladdr 02:00:00:00:0a:02 dev vx0 nud permanent");
  node.receive(ifindex("eth1"), lan_frame(A("10.10.0.2")), 0);
  std::vector<std::byte> f = sent_on("eth0");
  // Outer UDP source port: vnet's flow hash of the inner packet, in 32768..60999.
  wire::UdpConstView udp(std::span<const std::byte>(f).subspan(34));
  EXPECT_EQ(udp.source_port(), 53532);
  // No DF, TTL 64 ("ttl auto"), UDP checksum on (udpcsum), VXLAN flags 0x08 and VNI 42.
  EXPECT_EQ(to_hex(f),
            "020000000002020000000001080045000052000100004011f696c0000201c0000202d11c12b5003e45"
            "990800000000002a00020000000a02020000000a01080045000020123440003f01f567c63364020a0a"
            "000208001c1500070001766e6574");
}

// ---------------------------------------------------------------- path MTU

TEST_F(TunnelTest, DfPacketLargerThanTheTunnelGetsFragNeeded) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");
  // 1500-byte datagram with DF: ip_forward() finds it larger than t1's 1480.
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5"), true, 1472), 0);
  EXPECT_EQ(icmp_to_lan(), (std::vector<std::tuple<int, int, int>>{{3, 4, 1480}}));
  EXPECT_EQ(node.drops().get(DropReason::PktTooBig), 1u);
  EXPECT_TRUE(sent_on("eth0").empty());
}

TEST_F(TunnelTest, ShrunkUnderlayIsCaughtAtEncapsulation) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");
  // The underlay shrinks after the tunnel was made: t1 keeps 1480, but tnl_update_pmtu()
  // computes 1400 - 20 at transmit time.
  run("ip link set eth0 mtu 1400");
  EXPECT_EQ(dev("t1").mtu, 1480);
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5"), true, 1420), 0);
  EXPECT_EQ(icmp_to_lan(), (std::vector<std::tuple<int, int, int>>{{3, 4, 1380}}));
  EXPECT_EQ(dev("t1").errors.tx_errors, 1u);
}

TEST_F(TunnelTest, FragNeededFromTheUnderlayTeachesTheTunnelItsPathMtu) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");
  // A router on the underlay refuses one of our 1500-byte outer packets: frag-needed, mtu 1400,
  // quoting the outer header (192.0.2.1 -> 192.0.2.2, protocol 4).
  wire::Ipv4Repr quoted;
  quoted.source = A("192.0.2.1");
  quoted.destination = A("192.0.2.2");
  quoted.protocol = wire::IpProtocol::Ipip;
  quoted.payload_len = 1480;
  quoted.dont_fragment = true;
  std::vector<std::byte> q(28);
  (void)quoted.emit(q);
  wire::IcmpRepr icmp =
      wire::IcmpRepr::destination_unreachable(wire::UnreachableCode::FragmentationNeeded, q, 1400);
  std::vector<std::byte> l4(icmp.buffer_len());
  (void)icmp.emit(l4);
  node.receive(ifindex("eth0"), from_remote(1, l4), 0);
  EXPECT_EQ(out("ip route get 192.0.2.2"),
            "192.0.2.2 dev eth0 src 192.0.2.1 uid 0 \n    cache expires 599sec mtu 1400 \n");
  // t1 keeps its 1480, but encapsulation now answers with 1400 - 20.
  EXPECT_EQ(dev("t1").mtu, 1480);
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5"), true, 1420), 0);
  EXPECT_EQ(icmp_to_lan(), (std::vector<std::tuple<int, int, int>>{{3, 4, 1380}}));
  run("ip route flush cache");
  EXPECT_EQ(out("ip route get 192.0.2.2"), "192.0.2.2 dev eth0 src 192.0.2.1 uid 0 \n    cache \n");
}

TEST_F(TunnelTest, WithoutDfTheInnerPacketIsFragmentedBeforeEncapsulation) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5"), false, 2000), 0);
  std::vector<std::vector<std::byte>> outer;
  for (const auto& f : io.frames) {
    if (f.ifindex == ifindex("eth0")) outer.push_back(f.bytes);
  }
  ASSERT_EQ(outer.size(), 2u);
  // 2028-byte datagram: 1456 + 552 payload bytes (1480 - 20 rounded down to 8), each in an
  // outer packet with DF (pmtudisc) that fits eth0's 1500.
  std::span<const std::byte> first = outer[0], second = outer[1];
  wire::Ipv4ConstView o1(first.subspan(14));
  wire::Ipv4ConstView i1(o1.payload());
  wire::Ipv4ConstView o2(second.subspan(14));
  wire::Ipv4ConstView i2(o2.payload());
  EXPECT_EQ(o1.total_len(), 1496);
  EXPECT_TRUE(o1.dont_fragment());
  EXPECT_TRUE(i1.more_fragments());
  EXPECT_EQ(i1.total_len(), 1476);
  EXPECT_EQ(i2.fragment_offset_bytes(), 1456);
  EXPECT_FALSE(i2.more_fragments());
  EXPECT_EQ(i2.total_len(), 20 + 2008 - 1456);
}

// ---------------------------------------------------------------- receive

TEST_F(TunnelTest, IpipDecapsulatesAndAnswersThroughTheTunnel) {
  run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip addr add 10.9.0.1 peer 10.9.0.2 dev t1");
  node.receive(ifindex("eth0"), from_remote(4, inner_echo()), 0);
  std::vector<std::byte> reply = sent_on("eth0");
  ASSERT_FALSE(reply.empty());
  wire::Ipv4ConstView outer(std::span<const std::byte>(reply).subspan(14));
  EXPECT_EQ(outer.protocol(), wire::IpProtocol::Ipip);
  wire::Ipv4ConstView inner(outer.payload());
  EXPECT_EQ(inner.source(), A("10.9.0.1"));
  EXPECT_EQ(inner.destination(), A("10.9.0.2"));
  EXPECT_EQ(static_cast<int>(inner.payload()[0]), 0);  // echo reply
  EXPECT_EQ(dev("t1").rx_packets, 1u);
}

TEST_F(TunnelTest, TunlZeroTakesIpipFromAnyPeer) {
  // LVS-TUN real servers: the VIP on tunl0, IPIP from any director.
  run("modprobe ipip");
  run("ip link set tunl0 up");
  run("ip addr add 10.9.0.1/32 dev tunl0");
  node.receive(ifindex("eth0"), from_remote(4, inner_echo(), A("192.0.2.77")), 0);
  EXPECT_EQ(dev("tunl0").rx_packets, 1u);
  // tunl0 has no remote: the reply leaves as a plain packet by the routing table (there is no
  // route to 10.9.0.2 here, so it is counted as unroutable, not encapsulated).
  EXPECT_EQ(node.drops().get(DropReason::TunnelNoMatch), 0u);
}

TEST_F(TunnelTest, IpipWithNoTunnelIsPortUnreachable) {
  run("modprobe ipip");  // tunl0 exists but is down
  node.receive(ifindex("eth0"), from_remote(4, inner_echo()), 0);
  EXPECT_EQ(node.drops().get(DropReason::TunnelNoMatch), 1u);
  std::vector<std::byte> icmp = sent_on("eth0");
  ASSERT_FALSE(icmp.empty());
  wire::Ipv4ConstView ip(std::span<const std::byte>(icmp).subspan(14));
  EXPECT_EQ(static_cast<int>(ip.payload()[0]), 3);
  EXPECT_EQ(static_cast<int>(ip.payload()[1]), 3);
}

TEST_F(TunnelTest, ProtocolFourWithoutTheModuleIsProtocolUnreachable) {
  node.receive(ifindex("eth0"), from_remote(4, inner_echo()), 0);
  EXPECT_EQ(node.drops().get(DropReason::IpNoproto), 1u);
}

TEST_F(TunnelTest, GreKeyMismatchIsDroppedAndCounted) {
  run("ip tunnel add g1 mode gre remote 192.0.2.2 local 192.0.2.1 key 100");
  run("ip link set g1 up");
  run("ip addr add 10.9.0.1 peer 10.9.0.2 dev g1");
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(200)), 0);
  EXPECT_EQ(node.drops().get(DropReason::TunnelKeyMismatch), 1u);
  EXPECT_EQ(dev("g1").rx_packets, 0u);
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(std::nullopt)), 0);
  EXPECT_EQ(node.drops().get(DropReason::TunnelKeyMismatch), 2u);
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(100)), 0);
  EXPECT_EQ(dev("g1").rx_packets, 1u);
  EXPECT_EQ(node.drops().get(DropReason::TunnelKeyMismatch), 2u);
}

TEST_F(TunnelTest, GreChecksumAndSequenceChecks) {
  run("ip tunnel add g1 mode gre remote 192.0.2.2 local 192.0.2.1 key 1 icsum iseq");
  run("ip link set g1 up");
  run("ip addr add 10.9.0.1 peer 10.9.0.2 dev g1");
  // No checksum while the tunnel requires one.
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(1, false, 5)), 0);
  EXPECT_EQ(dev("g1").errors.rx_crc_errors, 1u);
  // A corrupted checksum.
  std::vector<std::byte> bad = gre_packet(1, true, 5);
  bad.back() ^= std::byte{0xff};
  node.receive(ifindex("eth0"), from_remote(47, bad), 0);
  EXPECT_EQ(node.drops().get(DropReason::TunnelCsum), 2u);
  // In order: 5, 6; then 4 is out of sequence; no sequence number at all is refused too.
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(1, true, 5)), 0);
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(1, true, 6, 2)), 0);
  EXPECT_EQ(dev("g1").rx_packets, 2u);
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(1, true, 4, 3)), 0);
  node.receive(ifindex("eth0"), from_remote(47, gre_packet(1, true, std::nullopt, 4)), 0);
  EXPECT_EQ(dev("g1").rx_packets, 2u);
  EXPECT_EQ(dev("g1").errors.rx_fifo_errors, 2u);
  EXPECT_EQ(node.drops().get(DropReason::TunnelSeq), 2u);
  EXPECT_NE(out("ip -s tunnel show g1").find("    2          "), std::string::npos);
}

TEST_F(TunnelTest, DeadLoopIsCounted) {
  run("ip tunnel add t1 mode ipip remote 203.0.113.9 local 192.0.2.1 ttl 64");
  run("ip link set t1 up");
  run("ip route add 203.0.113.0/24 dev t1");  // the remote itself is routed into t1
  node.receive(ifindex("eth1"), lan_frame(A("203.0.113.5")), 0);
  EXPECT_EQ(dev("t1").errors.collisions, 1u);
  EXPECT_EQ(node.drops().get(DropReason::TunnelDeadLoop), 1u);
}

TEST_F(TunnelTest, VxlanLearnsAndAgesRemoteMacs) {
  run("ip link add vx0 type vxlan id 42 local 192.0.2.1 dstport 4789 dev eth0 ageing 300");
  run("ip link set vx0 address 02:00:00:00:0a:01");
  run("ip link set vx0 up");
  run("ip addr add 10.10.0.1/24 dev vx0");
  // A VXLAN frame from VTEP 192.0.2.2 carrying an ARP request from 02:00:00:00:0a:02.
  std::vector<std::byte> arp =
      hex("ffffffffffff02000000 0a020806 0001080006040001 02000000 0a020a0a0002 000000000000"
          "0a0a0001");
  std::vector<std::byte> udp(8 + 8 + arp.size());
  (void)wire::VxlanRepr{42}.emit(std::span(udp).subspan(8));
  std::copy(arp.begin(), arp.end(), udp.begin() + 16);
  wire::UdpRepr u{40000, 4789, static_cast<uint16_t>(8 + arp.size())};
  (void)u.emit(udp, A("192.0.2.2"), A("192.0.2.1"));
  node.receive(ifindex("eth0"), from_remote(17, udp), 0);
  EXPECT_EQ(out("bridge fdb show dev vx0"), "02:00:00:00:0a:02 dst 192.0.2.2 self \n");
  // The ARP reply went back to the learned VTEP.
  std::vector<std::byte> reply = sent_on("eth0");
  ASSERT_FALSE(reply.empty());
  wire::Ipv4ConstView ip(std::span<const std::byte>(reply).subspan(14));
  EXPECT_EQ(ip.destination(), A("192.0.2.2"));
  // After the ageing time the entry is gone, and with no default remote the frame is dropped.
  node.run_timers(400 * kSecond);
  run("ip neigh replace 10.10.0.2 lladdr 02:00:00:00:0a:02 dev vx0 nud permanent");
  node.receive(ifindex("eth1"), lan_frame(A("10.10.0.2")), 400 * kSecond);
  EXPECT_EQ(node.drops().get(DropReason::VxlanNoRemote), 1u);
}

TEST_F(TunnelTest, VxlanUnknownVniIsDropped) {
  run("ip link add vx0 type vxlan id 42 local 192.0.2.1 dstport 4789");
  run("ip link set vx0 up");
  std::vector<std::byte> udp(8 + 8 + 14);
  (void)wire::VxlanRepr{43}.emit(std::span(udp).subspan(8));
  wire::UdpRepr u{40000, 4789, 8 + 14};
  (void)u.emit(udp, A("192.0.2.2"), A("192.0.2.1"));
  node.receive(ifindex("eth0"), from_remote(17, udp), 0);
  EXPECT_EQ(node.drops().get(DropReason::VxlanVniNotFound), 1u);
}

TEST_F(TunnelTest, BridgeFdbCommands) {
  run("ip link add vx0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dstport 4789 dev eth0");
  run("bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.5");
  run("bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.5");  // identical: no-op
  run("bridge fdb add 02:11:22:33:44:66 dev vx0 dst 192.0.2.8 vni 100 port 4790 self permanent");
  EXPECT_EQ(out("bridge fdb show"),
            "00:00:00:00:00:00 dev vx0 dst 192.0.2.2 via eth0 self permanent\n"
            "00:00:00:00:00:00 dev vx0 dst 192.0.2.5 self permanent\n"
            "02:11:22:33:44:66 dev vx0 dst 192.0.2.8 port 4790 vni 100 self permanent\n");
  auto again = shell.run("bridge fdb add 02:11:22:33:44:66 dev vx0 dst 192.0.2.9");
  EXPECT_EQ(again.err, "RTNETLINK answers: File exists\n");
  EXPECT_EQ(again.status, 255);
  run("bridge fdb del 02:11:22:33:44:66 dev vx0");
  EXPECT_EQ(shell.run("bridge fdb del 02:11:22:33:44:66 dev vx0").err,
            "RTNETLINK answers: No such file or directory\n");
}

}  // namespace
}  // namespace vnet::stack

namespace vnet::stack {
namespace {

// Fragments from the underlay side, addressed to the gateway.
class FragmentTest : public test::GatewayTest {
 protected:
  void fragment(uint16_t id, size_t offset, size_t len, bool more) {
    wire::Ipv4Repr ip;
    ip.source = test::A("192.0.2.2");
    ip.destination = test::A("192.0.2.1");
    ip.protocol = wire::IpProtocol::Udp;
    ip.identification = id;
    ip.more_fragments = more;
    ip.fragment_offset_bytes = static_cast<uint16_t>(offset);
    ip.payload_len = static_cast<uint16_t>(len);
    node.receive(ifindex("eth0"),
                 ether(net::MacAddr(2, 0, 0, 0, 0, 1), net::MacAddr(2, 0, 0, 0, 0, 2), ip,
                       [](std::span<std::byte> b) { std::fill(b.begin(), b.end(), std::byte{1}); }),
                 0);
  }
};

TEST_F(FragmentTest, DatagramsEndingPast65535AreDiscarded) {
  // The "ping of death": the last piece ends past the largest IP datagram.
  fragment(1, 0, 1480, true);
  fragment(1, 65528, 100, false);
  EXPECT_EQ(node.drops().get(DropReason::FragFailed), 1u);
  EXPECT_EQ(node.drops().get(DropReason::IpNoproto) + node.drops().get(DropReason::UdpCsum) +
                node.drops().get(DropReason::NoSocket),
            0u);
}

TEST_F(FragmentTest, AnOverlapDiscardsTheDatagram) {
  fragment(2, 0, 64, true);
  fragment(2, 64, 64, true);
  fragment(2, 32, 64, true);  // overlaps both: the whole datagram goes
  fragment(2, 128, 8, false);
  EXPECT_EQ(node.drops().get(DropReason::FragFailed), 1u);
  // What arrived after the discard starts a new datagram that never completes (no UDP
  // delivery, so no checksum or socket drop either).
  EXPECT_EQ(node.drops().get(DropReason::UdpCsum) + node.drops().get(DropReason::NoSocket), 0u);
}

TEST_F(FragmentTest, ExactDuplicatesAreIgnored) {
  fragment(3, 0, 64, true);
  fragment(3, 0, 64, true);
  EXPECT_EQ(node.drops().get(DropReason::FragFailed), 0u);
}

TEST_F(FragmentTest, ArpOverVxlanAlsoResolvesTheUnderlay) {
  // Resolving 10.10.0.2 on the VXLAN device sends an ARP request in VXLAN, which creates the
  // underlay's neighbour entry for 192.0.2.3 while the overlay's is being set up.
  run("ip link add vx0 type vxlan id 42 remote 192.0.2.3 local 192.0.2.1 dstport 4789 dev eth0");
  run("ip link set vx0 up");
  run("ip addr add 10.10.0.1/24 dev vx0");
  node.receive(ifindex("eth1"), lan_frame(test::A("10.10.0.2")), 0);
  node.run_timers(1'000'000'000);
  node.run_timers(2'000'000'000);
  std::string neigh = out("ip neigh show");
  EXPECT_NE(neigh.find("10.10.0.2 dev vx0"), std::string::npos) << neigh;
  EXPECT_NE(neigh.find("192.0.2.3 dev eth0"), std::string::npos) << neigh;
}

}  // namespace
}  // namespace vnet::stack
