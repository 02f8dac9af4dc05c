// The vSwitch's packet path on one host, case by case: ECN across decapsulation, stale
// forwarding after a migration (and its loop guards), which ARP requests are answered, keyed
// GRE that belongs to a gre device of the host, GRE sequence numbers, and fragmentation-needed
// only for what __icmp_send() would answer.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"
#include "vm_frames.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

namespace vnet::stack {
namespace {

using net::Ipv4Addr;
using net::MacAddr;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}

constexpr MacAddr kVmMac = MacAddr(0x52, 0x54, 0, 0, 0, 5);
constexpr MacAddr kHostMac = MacAddr(0x02, 0, 0x0a, 0x0a, 0x01, 0x09);
constexpr MacAddr kPeerMac = MacAddr(0x02, 0, 0x0a, 0x0a, 0x01, 0x0a);

// Host 10.10.1.9 (eth0, 10.10.1.0/24; 10.10.1.10 and .11 are permanent neighbours) with vm1
// 10.0.1.5 of vpc 6289 on port vm1p; 10.0.1.6 lives on 10.10.1.10.  Frames the node sends are
// kept per device.
class Host : public NodeIo {
 public:
  Host() {
    node.set_io(this);
    EXPECT_TRUE(node.link_add_external("eth0", kHostMac).ok());
    EXPECT_TRUE(node.link_add_external("vm1p").ok());
    for (const char* dev : {"eth0", "vm1p"}) {
      int ix = node.device_by_name(dev)->ifindex;
      EXPECT_TRUE(node.link_set_up(ix, true).ok());
      node.set_carrier(ix, true);
    }
    for (const char* line : {
             "ip link set lo up",
             "ip addr add 10.10.1.9/24 dev eth0",
             "ip neigh add 10.10.1.10 lladdr 02:00:0a:0a:01:0a dev eth0 nud permanent",
             "ip neigh add 10.10.1.11 lladdr 02:00:0a:0a:01:0b dev eth0 nud permanent",
             "vpc local 10.10.1.9",
             "vpc add 6289 subnet 10.0.1.0/24",
             "vpc route add 10.0.1.5 host 10.10.1.9 vpc 6289",
             "vpc route add 10.0.1.6 host 10.10.1.10 vpc 6289",
             "vpc neigh add 10.0.1.5 lladdr 52:54:00:00:00:05 vpc 6289",
             "vpc port add vm1p vm 10.0.1.5 vpc 6289",
         }) {
      run(line);
    }
  }
  void run(const std::string& line) {
    cmd::Shell shell(node);
    cmd::CmdOutput o = shell.run(line);
    EXPECT_EQ(o.status, 0) << line << ": " << o.err;
  }
  void transmit(int ifindex, std::span<const std::byte> frame) override {
    sent[node.device(ifindex)->name].emplace_back(frame.begin(), frame.end());
  }
  // Keyed GRE from `from` to 10.10.1.9 carrying `inner`, into eth0.
  void gre_in(Ipv4Addr from, uint32_t key, const std::vector<std::byte>& inner,
              uint8_t outer_tos = 0, bool sequence = false) {
    wire::GreRepr g;
    g.key = key;
    if (sequence) g.sequence_number = 7;
    wire::Ipv4Repr outer;
    outer.source = from;
    outer.destination = ip("10.10.1.9");
    outer.protocol = wire::IpProtocol::Gre;
    outer.payload_len = static_cast<uint16_t>(g.buffer_len() + inner.size());
    outer.tos = outer_tos;
    outer.ttl = 64;
    std::vector<std::byte> packet(20 + g.buffer_len() + inner.size());
    EXPECT_FALSE(outer.emit(packet).has_value());
    EXPECT_FALSE(g.emit(std::span(packet).subspan(20)).has_value());
    std::copy(inner.begin(), inner.end(), packet.begin() + 20 + g.buffer_len());
    now += 1000;
    node.receive(node.device_by_name("eth0")->ifindex,
                 vpc::test::ether_frame(kHostMac, kPeerMac, wire::EtherType::Ipv4, packet), now);
  }
  void vm_in(const std::vector<std::byte>& frame) {
    now += 1000;
    node.receive(node.device_by_name("vm1p")->ifindex, frame, now);
  }
  std::vector<std::byte> inner(Ipv4Addr src, Ipv4Addr dst, uint8_t tos = 0, uint8_t ttl = 64,
                               size_t size = 32) {
    std::vector<std::byte> payload(size, std::byte{0x42});
    return vpc::test::udp_packet(src, dst, payload, ttl, 1, tos);
  }
  uint64_t dropped(DropReason r) const { return node.drops().get(r); }

  Node node;
  std::map<std::string, std::vector<std::vector<std::byte>>> sent;
  uint64_t now = 0;
};

TEST(VpcNode, EcnCongestionIsPassedInOrDropped) {
  Host h;
  // Outer CE over an ECT(0) inner packet: delivered with CE, checksum still right.
  h.gre_in(ip("10.10.1.10"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5"), 0x02), 0x03);
  ASSERT_EQ(h.sent["vm1p"].size(), 1u);
  wire::Ipv4ConstView got(wire::EthernetConstView(h.sent["vm1p"][0]).payload());
  EXPECT_EQ(got.tos() & 3, 3);
  EXPECT_TRUE(got.verify_checksum());
  // Outer CE over a Not-ECT inner packet: dropped (RFC 6040).
  h.gre_in(ip("10.10.1.10"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5"), 0x00), 0x03);
  EXPECT_EQ(h.sent["vm1p"].size(), 1u);
  // No congestion: the inner ECN field is left alone.
  h.gre_in(ip("10.10.1.10"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5"), 0x01), 0x01);
  ASSERT_EQ(h.sent["vm1p"].size(), 2u);
  EXPECT_EQ(wire::Ipv4ConstView(wire::EthernetConstView(h.sent["vm1p"][1]).payload()).tos() & 3, 1);
}

TEST(VpcNode, StaleTrafficGoesOnButNeverBack) {
  Host h;
  // vm1 moves to 10.10.1.10: its port goes, this host forwards for the grace time.
  h.run("vpc set grace 1s");
  h.run("vpc route change 10.0.1.5 host 10.10.1.10 vpc 6289");
  h.run("vpc port del vm1p");
  // From a third host: sent on to 10.10.1.10, inner TTL one less.
  h.gre_in(ip("10.10.1.11"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5"), 0, 64));
  ASSERT_EQ(h.sent["eth0"].size(), 1u);
  wire::Ipv4ConstView outer(wire::EthernetConstView(h.sent["eth0"][0]).payload());
  EXPECT_EQ(outer.destination(), ip("10.10.1.10"));
  wire::Ipv4ConstView in(wire::GreConstView(outer.payload()).payload());
  EXPECT_EQ(in.ttl(), 63);
  EXPECT_TRUE(in.verify_checksum());
  EXPECT_EQ(h.node.vswitch_if_loaded()->stats().stale_forwarded, 1u);
  // From the new host itself (whose tables point back here): not sent back.
  h.gre_in(ip("10.10.1.10"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5")));
  EXPECT_EQ(h.sent["eth0"].size(), 1u);
  EXPECT_EQ(h.dropped(DropReason::VpcMigrated), 1u);
  // TTL exhausted: dropped, not forwarded.
  h.gre_in(ip("10.10.1.11"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5"), 0, 1));
  EXPECT_EQ(h.sent["eth0"].size(), 1u);
  EXPECT_EQ(h.dropped(DropReason::VpcMigrated), 2u);
  // After the grace time: dropped.
  h.now += 2'000'000'000;
  h.gre_in(ip("10.10.1.11"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5")));
  EXPECT_EQ(h.sent["eth0"].size(), 1u);
  EXPECT_EQ(h.dropped(DropReason::VpcMigrated), 3u);
}

TEST(VpcNode, ArpAnsweredForUnicastTargetsOnly) {
  Host h;
  h.vm_in(vpc::test::arp_request_frame(kVmMac, ip("10.0.1.5"), ip("10.0.1.6")));
  ASSERT_EQ(h.sent["vm1p"].size(), 1u);
  for (const char* target : {"224.0.0.1", "255.255.255.255", "127.0.0.1", "0.0.0.0"}) {
    SCOPED_TRACE(target);
    h.vm_in(vpc::test::arp_request_frame(kVmMac, ip("10.0.1.5"), ip(target)));
    EXPECT_EQ(h.sent["vm1p"].size(), 1u);
  }
  EXPECT_EQ(h.node.vswitch_if_loaded()->stats().arp_proxied, 1u);
  EXPECT_EQ(h.node.vswitch_if_loaded()->stats().arp_consumed, 4u);
}

TEST(VpcNode, UnknownKeyOfTheHostsOwnGreDevice) {
  Host h;
  h.run("ip tunnel add gre1 mode gre key 999 local 10.10.1.9 remote 10.10.1.10");
  h.run("ip link set gre1 up");
  h.run("ip addr add 192.168.9.1/24 dev gre1");
  const Device* gre1 = h.node.device_by_name("gre1");
  uint64_t before = gre1->rx_packets;
  // Key 999 is gre1's: the ordinary GRE path takes it.
  h.gre_in(ip("10.10.1.10"), 999, h.inner(ip("192.168.9.2"), ip("192.168.9.1")));
  EXPECT_EQ(h.node.device_by_name("gre1")->rx_packets, before + 1);
  EXPECT_EQ(h.dropped(DropReason::VpcUnknownKey), 0u);
  // Key 998 is nobody's.
  h.gre_in(ip("10.10.1.10"), 998, h.inner(ip("192.168.9.2"), ip("192.168.9.1")));
  EXPECT_EQ(h.dropped(DropReason::VpcUnknownKey), 1u);
}

TEST(VpcNode, SequenceNumbersAreIgnored) {
  Host h;
  h.gre_in(ip("10.10.1.10"), 6289, h.inner(ip("10.0.1.6"), ip("10.0.1.5")), 0, true);
  EXPECT_EQ(h.sent["vm1p"].size(), 1u);
}

TEST(VpcNode, FragmentationNeededOnlyForWhatIcmpAnswers) {
  Host h;
  // 1473 bytes with DF over a 1500 underlay less 28: fragmentation-needed, mtu 1472, from the
  // address the VM sent to.
  std::vector<std::byte> big = h.inner(ip("10.0.1.5"), ip("10.0.1.6"), 0, 64, 1473 - 28);
  h.vm_in(vpc::test::ether_frame(vpc::VSwitch::default_mac(), kVmMac, wire::EtherType::Ipv4, big));
  ASSERT_EQ(h.sent["vm1p"].size(), 1u);
  wire::Ipv4ConstView icmp_ip(wire::EthernetConstView(h.sent["vm1p"][0]).payload());
  EXPECT_EQ(icmp_ip.source(), ip("10.0.1.6"));
  wire::IcmpConstView icmp(icmp_ip.payload());
  EXPECT_EQ(static_cast<int>(icmp.type()), 3);
  EXPECT_EQ(icmp.code(), 4);
  EXPECT_EQ(icmp.next_hop_mtu(), 1472);
  EXPECT_EQ(h.dropped(DropReason::PktTooBig), 1u);
  // The same size carrying an ICMP error: dropped, but never answered with another error.
  std::vector<std::byte> err = big;
  wire::Ipv4View v(err);
  err[9] = std::byte{1};   // protocol ICMP
  err[20] = std::byte{3};  // destination unreachable
  v.fill_checksum();
  h.vm_in(vpc::test::ether_frame(vpc::VSwitch::default_mac(), kVmMac, wire::EtherType::Ipv4, err));
  EXPECT_EQ(h.sent["vm1p"].size(), 1u);
  EXPECT_EQ(h.dropped(DropReason::PktTooBig), 2u);
}

}  // namespace
}  // namespace vnet::stack
