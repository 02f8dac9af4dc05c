// Floods with random sources into a simulated node, bounded in count and time: the node's tables
// stay within Linux's limits, an established flow keeps forwarding, and the counters say what
// was dropped.  The router r has 10.0.0.0/8 inside (eth0) and masquerades out of eth1 to the
// server 198.51.100.2; nf_conntrack_max is 2048.  An established UDP flow (10.0.0.2:5000 <->
// 198.51.100.2:6000, replies seen, so assured) sends one datagram each way every 100 flood
// packets, and every one must come out the other side.
//   - SYN flood: 60,000 SYNs from random inside sources to the server, forwarded and tracked:
//     conntrack never exceeds nf_conntrack_max; each new entry evicts an unassured one (early
//     drop, counted by `conntrack -S`), so the assured flow's entry stays.
//   - UDP flood: the same with UDP datagrams.
//   - ICMP flood: 30,000 echo requests to r from random inside sources: each reply needs a
//     neighbour entry; the table stays within gc_thresh3 (1024), NEIGH_CREATEFAIL counts the
//     replies that got none, and entries that failed are collected as time goes on.
//   - Fragment flood: 20,000 first fragments (MF set, random ids) for r: reassembly holds at
//     most ipfrag_high_thresh (4 MiB); FRAG_FAILED counts the rest.
// tests/real/flood.sh floods a vnetd the same way.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "cmd/shell.h"
#include "nf/netfilter.h"
#include "stack/node.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::stack {
namespace {

using net::Ipv4Addr;
using net::MacAddr;

const MacAddr kEth0Mac(2, 0, 0, 0, 0, 1), kEth1Mac(2, 0, 0, 0, 1, 1);
const MacAddr kInsideMac(2, 0, 0, 0, 0, 2), kServerMac(2, 0, 0, 0, 1, 2);
const Ipv4Addr kClient = *Ipv4Addr::parse("10.0.0.2");
const Ipv4Addr kServer = *Ipv4Addr::parse("198.51.100.2");
const Ipv4Addr kRouterOut = *Ipv4Addr::parse("198.51.100.1");
const Ipv4Addr kRouterIn = *Ipv4Addr::parse("10.0.0.1");

// Frames the router sends, counted by what they are.
struct CountingIo : NodeIo {
  void transmit(int ifindex, std::span<const std::byte> frame) override {
    ++frames;
    wire::EthernetConstView eth(frame);
    if (eth.check() || eth.payload_ethertype() != wire::EtherType::Ipv4) return;
    wire::Ipv4ConstView ip(eth.payload());
    if (ip.check() || ip.protocol() != wire::IpProtocol::Udp) return;
    wire::UdpConstView udp(ip.payload());
    if (udp.check()) return;
    if (ifindex == eth1 && ip.source() == kRouterOut && udp.destination_port() == 6000) ++flow_out;
    if (ifindex == eth0 && ip.destination() == kClient && udp.destination_port() == 5000) {
      ++flow_back;
    }
  }
  int eth0 = 0, eth1 = 0;
  uint64_t frames = 0, flow_out = 0, flow_back = 0;
};

std::vector<std::byte> frame(MacAddr dst, MacAddr src, const wire::Ipv4Repr& ip,
                             const std::function<void(std::span<std::byte>)>& l4, size_t l4_len) {
  std::vector<std::byte> f(14 + 20 + l4_len);
  (void)wire::EthernetRepr{dst, src, wire::EtherType::Ipv4}.emit(f);
  wire::Ipv4Repr h = ip;
  h.payload_len = static_cast<uint16_t>(l4_len);
  if (h.ttl == 0) h.ttl = 64;
  (void)h.emit(std::span(f).subspan(14));
  if (l4) l4(std::span(f).subspan(34));
  return f;
}

std::vector<std::byte> udp(MacAddr dst, MacAddr src, Ipv4Addr s, Ipv4Addr d, uint16_t sport,
                           uint16_t dport) {
  wire::Ipv4Repr ip;
  ip.source = s;
  ip.destination = d;
  ip.protocol = wire::IpProtocol::Udp;
  return frame(
      dst, src, ip,
      [&](std::span<std::byte> l4) {
        (void)wire::UdpRepr{sport, dport, 8}.emit(l4, s, d);
      },
      16);
}

std::vector<std::byte> syn(Ipv4Addr s, uint16_t sport) {
  wire::Ipv4Repr ip;
  ip.source = s;
  ip.destination = kServer;
  ip.protocol = wire::IpProtocol::Tcp;
  wire::TcpRepr t{.source_port = sport,
                  .destination_port = 80,
                  .sequence_number = 1,
                  .flags = wire::kTcpSyn,
                  .window = 64240};
  return frame(
      kEth0Mac, kInsideMac, ip, [&](std::span<std::byte> l4) { (void)t.emit(l4, s, kServer); },
      t.buffer_len());
}

struct Router {
  Router() {
    node.set_io(&io);
    for (auto [name, mac] : {std::pair{"eth0", kEth0Mac}, std::pair{"eth1", kEth1Mac}}) {
      EXPECT_TRUE(node.link_add_external(name, mac).ok());
      int ix = node.device_by_name(name)->ifindex;
      node.link_set_up(ix, true);
      node.set_carrier(ix, true);
    }
    io.eth0 = node.device_by_name("eth0")->ifindex;
    io.eth1 = node.device_by_name("eth1")->ifindex;
    for (const char* line :
         {"ip addr add 10.0.0.1/8 dev eth0", "ip addr add 198.51.100.1/24 dev eth1",
          "ip neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent",
          "ip neigh add 198.51.100.2 lladdr 02:00:00:00:01:02 dev eth1 nud permanent",
          "sysctl -qw net.ipv4.ip_forward=1", "sysctl -qw net.netfilter.nf_conntrack_max=2048",
          "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE"}) {
      cmd::CmdOutput o = shell.run(line);
      EXPECT_EQ(o.status, 0) << line << ": " << o.err;
    }
  }
  void in(const std::vector<std::byte>& f) { node.receive(io.eth0, f, now); }
  void out(const std::vector<std::byte>& f) { node.receive(io.eth1, f, now); }
  // One datagram of the established flow each way (the reply to the masqueraded port).
  void flow() {
    ++flow_sent;
    in(udp(kEth0Mac, kInsideMac, kClient, kServer, 5000, 6000));
    out(udp(kEth1Mac, kServerMac, kServer, kRouterOut, 6000, masq_port));
  }
  size_t conntrack_count() { return node.netfilter_if_loaded()->count(now); }
  Node node;
  CountingIo io;
  cmd::Shell shell{node};
  uint64_t now = 1'000'000'000;
  uint64_t flow_sent = 0;
  uint16_t masq_port = 5000;  // MASQUERADE keeps the source port when it is free
};

// Random inside sources (10.1.0.0 - 10.254.255.255, never the client) and ports.
Ipv4Addr random_inside(std::mt19937& rng) {
  return Ipv4Addr((10u << 24) | ((1 + rng() % 254) << 16) | (rng() & 0xffff));
}

void establish(Router& r) {
  for (int i = 0; i < 3; ++i) r.flow();
  ASSERT_EQ(r.io.flow_out, 3u);
  ASSERT_EQ(r.io.flow_back, 3u);
}

TEST(Flood, SynAndUdpFloodsStayWithinConntrackMaxAndTheFlowGoesOn) {
  Router r;
  establish(r);
  std::mt19937 rng(7);
  size_t max_seen = 0;
  for (int i = 0; i < 120'000; ++i) {
    Ipv4Addr src = random_inside(rng);
    auto sport = static_cast<uint16_t>(1024 + rng() % 60000);
    r.in(i < 60'000 ? syn(src, sport) : udp(kEth0Mac, kInsideMac, src, kServer, sport, 53));
    if (i % 100 == 0) r.flow();
    if (i % 1000 == 0) {
      r.now += 1'000'000;  // 1 ms per 1000 packets: the flood outlives no timeout
      r.node.run_timers(r.now);
      max_seen = std::max(max_seen, r.conntrack_count());
    }
  }
  EXPECT_LE(max_seen, 2048u);
  EXPECT_EQ(r.conntrack_count(), 2048u);
  const nf::ConntrackStats& st = r.node.netfilter_if_loaded()->stats();
  // Every flood packet's entry found an unassured one to evict: none had to be dropped.
  EXPECT_GT(st.early_drop, 115'000u);
  EXPECT_EQ(st.drop, 0u);
  // Every datagram of the assured flow got through, both ways.
  EXPECT_EQ(r.io.flow_out, r.flow_sent);
  EXPECT_EQ(r.io.flow_back, r.flow_sent);
  std::string s = r.shell.run("conntrack -S").out;
  EXPECT_NE(s.find("early_drop=" + std::to_string(st.early_drop)), std::string::npos) << s;
}

TEST(Flood, IcmpFloodStaysWithinGcThresh3) {
  Router r;
  establish(r);
  std::mt19937 rng(8);
  size_t max_neigh = 0;
  for (int i = 0; i < 30'000; ++i) {
    wire::Ipv4Repr ip;
    ip.source = random_inside(rng);
    ip.destination = kRouterIn;
    ip.protocol = wire::IpProtocol::Icmp;
    std::array<std::byte, 8> data{};
    auto echo = wire::IcmpRepr::echo_request(static_cast<uint16_t>(i), 1, data);
    r.in(frame(
        kEth0Mac, kInsideMac, ip, [&](std::span<std::byte> l4) { (void)echo.emit(l4); },
        echo.buffer_len()));
    if (i % 100 == 0) r.flow();
    if (i % 500 == 0) {
      r.now += 200'000'000;  // 0.2 s per 500: unanswered resolutions fail after 3 s
      r.node.run_timers(r.now);
    }
    max_neigh = std::max(max_neigh, r.node.neighbours().size());
  }
  // gc_thresh3 entries that gc may take, plus the two permanent ones.
  EXPECT_LE(max_neigh, 1024u + 2);
  EXPECT_GE(max_neigh, 1000u);
  EXPECT_GT(r.node.drops().get(DropReason::NeighCreateFail), 0u);
  EXPECT_EQ(r.io.flow_out, r.flow_sent);
  EXPECT_EQ(r.io.flow_back, r.flow_sent);
  // The permanent entries survived every forced gc.
  EXPECT_NE(r.shell.run("ip neigh show 198.51.100.2").out.find("PERMANENT"), std::string::npos);
}

// A scan of an on-link range from random on-link sources while the table is full: every
// resolution fails after its probes, and each failure sends an ICMP error to a source that needs
// an entry of its own.  The timers run with a full table (gc may not take entries from under
// them; the ASan build checks that nothing is used after it was freed), and the counters add up.
TEST(Flood, OnLinkScanWithAFullTable) {
  Router r;
  ASSERT_EQ(r.shell.run("ip addr add 172.16.0.1/12 dev eth1").status, 0);
  establish(r);
  std::mt19937 rng(10);
  for (int i = 0; i < 6'000; ++i) {
    Ipv4Addr dst((172u << 24) | (16u << 16) | (rng() & 0xfffff));
    r.in(udp(kEth0Mac, kInsideMac, random_inside(rng), dst, 4000, 4000));
    if (i % 100 == 0) {
      r.flow();
      r.now += 250'000'000;
      r.node.run_timers(r.now);
    }
  }
  for (int i = 0; i < 20; ++i) {
    r.now += 1'000'000'000;
    r.node.run_timers(r.now);
  }
  EXPECT_LE(r.node.neighbours().size(), 1024u + 2);
  EXPECT_GT(r.node.drops().get(DropReason::NeighCreateFail), 0u);
  EXPECT_GT(r.node.drops().get(DropReason::NeighFailed), 0u);
  EXPECT_EQ(r.io.flow_out, r.flow_sent);
  EXPECT_EQ(r.io.flow_back, r.flow_sent);
}

TEST(Flood, FragmentFloodStaysWithinIpfragHighThresh) {
  Router r;
  establish(r);
  std::mt19937 rng(9);
  size_t max_bytes = 0;
  for (int i = 0; i < 20'000; ++i) {
    wire::Ipv4Repr ip;
    ip.source = random_inside(rng);
    ip.destination = kRouterIn;
    ip.protocol = wire::IpProtocol::Udp;
    ip.identification = static_cast<uint16_t>(rng());
    std::vector<std::byte> f = frame(kEth0Mac, kInsideMac, ip, nullptr, 1200);
    wire::store_be16(f, 14 + 6, 0x2000);  // MF, offset 0: the rest never comes
    wire::Ipv4View(std::span(f).subspan(14)).fill_checksum();
    r.in(f);
    if (i % 100 == 0) r.flow();
    max_bytes = std::max(max_bytes, r.node.reassembly_bytes());
  }
  EXPECT_LE(max_bytes, size_t{4} << 20);
  EXPECT_GT(max_bytes, size_t{3} << 20);
  EXPECT_GT(r.node.drops().get(DropReason::FragFailed), 10'000u);
  EXPECT_EQ(r.io.flow_out, r.flow_sent);
  EXPECT_EQ(r.io.flow_back, r.flow_sent);
  // The queues time out (30 s) and the memory comes back.
  r.now += 31'000'000'000;
  r.node.run_timers(r.now);
  EXPECT_EQ(r.node.reassembly_bytes(), 0u);
}

}  // namespace
}  // namespace vnet::stack
