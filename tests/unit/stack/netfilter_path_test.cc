// Netfilter in a node's packet path: NAT at the hooks where the kernel applies it, replies
// de-NATed, rules bound at a connection's first packet, the conntrack timeout, and a full table
// (new flows dropped and counted while established ones go on).
#include <gtest/gtest.h>

#include "gateway_fixture.h"

namespace vnet::stack {
namespace {

using test::A;

constexpr uint64_t kSecond = 1'000'000'000;

class NetfilterPathTest : public test::GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    run("ip route add 203.0.113.0/24 via 192.0.2.2");
  }
  // A UDP datagram in a frame: from the LAN host (on eth1) or from outside (on eth0).
  std::vector<std::byte> udp_frame(bool from_lan, Ipv4Addr src, Ipv4Addr dst, uint16_t sport,
                                   uint16_t dport) {
    wire::Ipv4Repr ip;
    ip.source = src;
    ip.destination = dst;
    ip.protocol = wire::IpProtocol::Udp;
    ip.ttl = 64;
    ip.payload_len = 8 + 4;
    MacAddr to = from_lan ? MacAddr(2, 0, 0, 0, 1, 1) : MacAddr(2, 0, 0, 0, 0, 1);
    MacAddr from = from_lan ? MacAddr(2, 0, 0, 0, 1, 2) : MacAddr(2, 0, 0, 0, 0, 2);
    return ether(to, from, ip, [&](std::span<std::byte> l4) {
      l4[8] = std::byte{'v'};
      wire::UdpRepr u{sport, dport, 4};
      (void)u.emit(l4, src, dst);
    });
  }
  void from_lan(uint16_t sport, const char* dst, uint64_t t) {
    node.receive(ifindex("eth1"), udp_frame(true, A("198.51.100.2"), A(dst), sport, 53), t);
  }
  // The addresses and ports of the last frame sent on a port.
  std::string last_on(const char* port) {
    std::vector<std::byte> f = sent_on(port);
    if (f.empty()) return "nothing";
    wire::Ipv4ConstView ip(std::span<const std::byte>(f).subspan(14));
    wire::UdpConstView udp(ip.payload());
    EXPECT_TRUE(ip.verify_checksum());
    EXPECT_TRUE(udp.verify_checksum(ip.source(), ip.destination()));
    return fmt::format("{}:{} -> {}:{}", ip.source().to_string(), udp.source_port(),
                       ip.destination().to_string(), udp.destination_port());
  }
  size_t frames_on(const char* port) {
    size_t n = 0;
    for (const auto& f : io.frames) n += f.ifindex == ifindex(port) ? 1 : 0;
    return n;
  }
};

TEST_F(NetfilterPathTest, MasqueradeAndTheReply) {
  run("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  from_lan(40000, "203.0.113.5", 0);
  EXPECT_EQ(last_on("eth0"), "192.0.2.1:40000 -> 203.0.113.5:53");
  // The reply to the gateway's address goes back to the LAN host.
  node.receive(ifindex("eth0"), udp_frame(false, A("203.0.113.5"), A("192.0.2.1"), 53, 40000),
               kSecond);
  EXPECT_EQ(last_on("eth1"), "203.0.113.5:53 -> 198.51.100.2:40000");
  EXPECT_EQ(out("conntrack -L"),
            "udp      17 30 src=198.51.100.2 dst=203.0.113.5 sport=40000 dport=53 src=203.0.113.5 "
            "dst=192.0.2.1 sport=53 dport=40000 mark=0 use=1\n");
}

TEST_F(NetfilterPathTest, DnatPortForward) {
  run("iptables -t nat -A PREROUTING -i eth0 -p udp --dport 8053 -j DNAT --to-destination "
      "198.51.100.2:53");
  node.receive(ifindex("eth0"), udp_frame(false, A("203.0.113.5"), A("192.0.2.1"), 5555, 8053), 0);
  EXPECT_EQ(last_on("eth1"), "203.0.113.5:5555 -> 198.51.100.2:53");
  node.receive(ifindex("eth1"), udp_frame(true, A("198.51.100.2"), A("203.0.113.5"), 53, 5555),
               kSecond);
  EXPECT_EQ(last_on("eth0"), "192.0.2.1:8053 -> 203.0.113.5:5555");
}

TEST_F(NetfilterPathTest, RulesBindAtTheFirstPacketUntilTheEntryTimesOut) {
  // A rule for another device: the flow is tracked and gets a null binding.
  run("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  from_lan(40000, "203.0.113.5", 0);
  run("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  from_lan(40000, "203.0.113.5", 10 * kSecond);
  EXPECT_EQ(last_on("eth0"), "198.51.100.2:40000 -> 203.0.113.5:53");
  // Unreplied UDP lives udp_timeout (30 s) after its last packet; then the next packet is a new
  // connection and meets the rule.
  EXPECT_NE(out("conntrack -L"), "");
  node.run_timers(41 * kSecond);
  EXPECT_EQ(out("conntrack -L"), "");
  from_lan(40000, "203.0.113.5", 41 * kSecond);
  EXPECT_EQ(last_on("eth0"), "192.0.2.1:40000 -> 203.0.113.5:53");
}

TEST_F(NetfilterPathTest, FullTableDropsNewFlowsAndKeepsEstablishedOnes) {
  run("sysctl -w net.netfilter.nf_conntrack_max=1");
  run("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  // Flow 1 becomes ASSURED: a reply, then another packet more than 2 s after it began.
  from_lan(40000, "203.0.113.5", 0);
  node.receive(ifindex("eth0"), udp_frame(false, A("203.0.113.5"), A("192.0.2.1"), 53, 40000),
               kSecond);
  from_lan(40000, "203.0.113.5", 3 * kSecond);
  EXPECT_NE(out("conntrack -L").find("[ASSURED]"), std::string::npos);
  size_t sent = frames_on("eth0");
  // Flow 2 finds the table full and nothing it may evict.
  from_lan(40001, "203.0.113.6", 4 * kSecond);
  EXPECT_EQ(frames_on("eth0"), sent);
  EXPECT_EQ(node.drops().get(DropReason::NetfilterDrop), 1u);
  EXPECT_NE(out("conntrack -S").find(" drop=1 "), std::string::npos);
  // Flow 1 goes on.
  from_lan(40000, "203.0.113.5", 5 * kSecond);
  EXPECT_EQ(frames_on("eth0"), sent + 1);
  EXPECT_EQ(last_on("eth0"), "192.0.2.1:40000 -> 203.0.113.5:53");
  // Raising the limit lets new flows in again.
  run("sysctl -w net.netfilter.nf_conntrack_max=2");
  from_lan(40001, "203.0.113.6", 6 * kSecond);
  EXPECT_EQ(last_on("eth0"), "192.0.2.1:40001 -> 203.0.113.6:53");
}

TEST_F(NetfilterPathTest, FragmentsAreReassembledForNatAndSentOnFragmented) {
  // With conntrack loaded the gateway reassembles before PREROUTING (as nf_defrag_ipv4 does), so
  // MASQUERADE rewrites the whole datagram, and every piece that leaves carries the new source.
  run("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  run("ip link set eth0 mtu 1000");
  std::vector<std::byte> payload(1800, std::byte{0x5a});
  std::vector<std::byte> udp(8 + payload.size());
  std::copy(payload.begin(), payload.end(), udp.begin() + 8);
  wire::UdpRepr u{40000, 53, static_cast<uint16_t>(payload.size())};
  (void)u.emit(udp, A("198.51.100.2"), A("203.0.113.5"));
  for (size_t offset : {size_t{0}, size_t{1200}}) {
    size_t len = std::min<size_t>(1200, udp.size() - offset);
    wire::Ipv4Repr ip;
    ip.source = A("198.51.100.2");
    ip.destination = A("203.0.113.5");
    ip.protocol = wire::IpProtocol::Udp;
    ip.ttl = 64;
    ip.identification = 77;
    ip.more_fragments = offset == 0;
    ip.fragment_offset_bytes = static_cast<uint16_t>(offset);
    ip.payload_len = static_cast<uint16_t>(len);
    node.receive(ifindex("eth1"),
                 ether(MacAddr(2, 0, 0, 0, 1, 1), MacAddr(2, 0, 0, 0, 1, 2), ip,
                       [&](std::span<std::byte> b) {
                         std::copy_n(udp.begin() + static_cast<long>(offset), len, b.begin());
                       }),
                 0);
  }
  // 1808 bytes of UDP leave as 976 + 832 (eth0's MTU 1000), both from 192.0.2.1.
  std::vector<std::vector<std::byte>> sent;
  for (const auto& f : io.frames) {
    if (f.ifindex == ifindex("eth0")) sent.push_back(f.bytes);
  }
  ASSERT_EQ(sent.size(), 2u);
  size_t total = 0;
  for (const auto& f : sent) {
    wire::Ipv4ConstView ip(std::span<const std::byte>(f).subspan(14));
    EXPECT_EQ(ip.source(), A("192.0.2.1"));
    EXPECT_TRUE(ip.verify_checksum());
    total += ip.payload().size();
  }
  EXPECT_EQ(total, udp.size());
  std::span<const std::byte> first_frame = sent[0];
  wire::UdpConstView first(wire::Ipv4ConstView(first_frame.subspan(14)).payload());
  EXPECT_EQ(first.source_port(), 40000);
  EXPECT_NE(out("conntrack -L").find("src=198.51.100.2 dst=203.0.113.5 sport=40000"),
            std::string::npos);
}

TEST_F(NetfilterPathTest, TracedTranslation) {
  struct Sink : TraceSink {
    void record(const TraceRecord& r) override { text += r.text + "\n"; }
    std::string text;
  } sink;
  node.set_trace(&sink);
  run("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  from_lan(40000, "203.0.113.5", 0);
  EXPECT_NE(sink.text.find("POSTROUTING: nat POSTROUTING: source 198.51.100.2 -> 192.0.2.1"),
            std::string::npos)
      << sink.text;
  EXPECT_NE(sink.text.find("conntrack: new udp src=198.51.100.2 dst=203.0.113.5"),
            std::string::npos)
      << sink.text;
  node.set_trace(nullptr);
}

}  // namespace
}  // namespace vnet::stack
