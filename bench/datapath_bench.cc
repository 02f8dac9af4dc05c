// One gateway node's forwarding path, per packet, on one core: a 64-byte-payload UDP datagram
// arrives on eth1 and leaves by eth0 either routed plainly (the peer, measured in the same run),
// encapsulated in IPIP, in GRE with a key, in VXLAN, or source-NATed by MASQUERADE (each packet
// of one established flow through conntrack).  The ratio to plain forwarding is what each
// feature costs.  Frames leave through a NodeIo that only counts them.
//
// BM_Ipvs is an IPVS director on the same two ports: a TCP segment for a virtual service on
// eth1 leaves by eth0 to the real server by direct routing, IPIP or NAT, either as a packet of
// an established connection (a connection-table hit) or as the SYN of a new one (scheduling,
// a new entry and its timer).  Its peer is the same TCP segment forwarded plainly.
//
// BM_Vpc is a VPC host's vSwitch holding 100,000 VMs in 10,000 VPCs (ten each, the same ten
// addresses in every VPC) on 1,000 hosts, and 64 local VM ports in 64 VPCs: a VM's UDP datagram
// is encapsulated in GRE keyed by its VPC towards the destination VM's host (encap), or a
// keyed GRE packet from the underlay is decapsulated to a local VM (decap), or a VM's datagram
// goes to another VM on this host (local).  Frames cycle over the 64 ports and over
// destinations spread through the tables, so the lookups are not all cache hits.  Its peer is
// BM_Forward/plain, in the same run.  Counters: the tables' bytes per mapping.
//
//   build-bench/bench/datapath_bench
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace {

using vnet::net::Ipv4Addr;
using vnet::net::MacAddr;
using vnet::stack::Node;

struct CountingIo : vnet::stack::NodeIo {
  void transmit(int, std::span<const std::byte> frame) override {
    ++frames;
    bytes += frame.size();
  }
  uint64_t frames = 0, bytes = 0;
};

enum class Path { Plain, PlainUncached, Ipip, Gre, Vxlan, Masquerade };

// A UDP datagram with a 64-byte payload, from 198.51.100.2 (or src) to dst, in an Ethernet frame
// (from the gateway's client to its eth1 unless given).
std::vector<std::byte> udp_frame(Ipv4Addr dst, Ipv4Addr src = *Ipv4Addr::parse("198.51.100.2"),
                                 MacAddr eth_dst = MacAddr(2, 0, 0, 0, 1, 1),
                                 MacAddr eth_src = MacAddr(2, 0, 0, 0, 1, 2)) {
  std::vector<std::byte> f(14 + 20 + 8 + 64);
  vnet::wire::EthernetRepr eth{eth_dst, eth_src, vnet::wire::EtherType::Ipv4};
  (void)eth.emit(f);
  vnet::wire::Ipv4Repr ip;
  ip.source = src;
  ip.destination = dst;
  ip.protocol = vnet::wire::IpProtocol::Udp;
  ip.ttl = 64;
  ip.payload_len = 8 + 64;
  (void)ip.emit(std::span(f).subspan(14));
  vnet::wire::UdpRepr udp{40000, 5001, 64};
  (void)udp.emit(std::span(f).subspan(34), ip.source, ip.destination);
  return f;
}

// The gateway both benchmarks configure: eth0 192.0.2.1/24 towards 192.0.2.2 (a permanent
// neighbour), eth1 198.51.100.1/24, forwarding on.
void add_ports(Node& node) {
  (void)node.link_add_external("eth0", MacAddr(2, 0, 0, 0, 0, 1));
  (void)node.link_add_external("eth1", MacAddr(2, 0, 0, 0, 1, 1));
  for (const char* n : {"eth0", "eth1"}) {
    int ix = node.device_by_name(n)->ifindex;
    node.link_set_up(ix, true);
    node.set_carrier(ix, true);
  }
}

const std::vector<std::string> kGatewayLines = {
    "ip addr add 192.0.2.1/24 dev eth0", "ip addr add 198.51.100.1/24 dev eth1",
    "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent",
    "sysctl -qw net.ipv4.ip_forward=1"};

// Runs the lines; false (and the benchmark skipped with the failing line) if one fails.
bool configure(benchmark::State& state, Node& node, const std::vector<std::string>& lines) {
  vnet::cmd::Shell sh(node);
  for (const std::string& l : lines) {
    vnet::cmd::CmdOutput o = sh.run(l);
    if (o.status != 0) {
      state.SkipWithError((l + ": " + o.err).c_str());
      return false;
    }
  }
  return true;
}

// Configures node for path; false (the benchmark skipped) if a line fails.
bool setup_forward(benchmark::State& state, Node& node, Path path) {
  add_ports(node);
  std::vector<std::string> lines = kGatewayLines;
  switch (path) {
    case Path::Plain:
    case Path::PlainUncached:
    case Path::Masquerade:
      lines.emplace_back("ip route add 203.0.113.0/24 via 192.0.2.2");
      break;
    case Path::Ipip:
      lines.emplace_back("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1 ttl 64");
      lines.emplace_back("ip link set t1 up");
      lines.emplace_back("ip route add 203.0.113.0/24 dev t1");
      break;
    case Path::Gre:
      lines.emplace_back("ip tunnel add t1 mode gre remote 192.0.2.2 local 192.0.2.1 key 42");
      lines.emplace_back("ip link set t1 up");
      lines.emplace_back("ip route add 203.0.113.0/24 dev t1");
      break;
    case Path::Vxlan:
      lines.emplace_back(
          "ip link add vx0 type vxlan id 42 remote 192.0.2.2 local 192.0.2.1 dstport 4789");
      lines.emplace_back("ip link set vx0 up");
      lines.emplace_back("ip addr add 10.10.0.1/24 dev vx0");
      lines.emplace_back("ip neigh add 10.10.0.2 lladdr 02:00:00:00:0a:02 dev vx0 nud permanent");
      lines.emplace_back("ip route add 203.0.113.0/24 via 10.10.0.2");
      break;
  }
  if (path == Path::Masquerade) {
    lines.emplace_back("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE");
  }
  if (!configure(state, node, lines)) return false;
  if (path == Path::PlainUncached) node.set_route_cache(false);
  return true;
}

void BM_Forward(benchmark::State& state, Path path) {
  Node node;
  CountingIo io;
  node.set_io(&io);
  if (!setup_forward(state, node, path)) return;
  std::vector<std::byte> frame = udp_frame(*Ipv4Addr::parse("203.0.113.5"));
  int eth1 = node.device_by_name("eth1")->ifindex;
  uint64_t now = 0;
  for (auto _ : state) {
    node.receive(eth1, frame, now);
    now += 1000;  // 1 µs apart: conntrack never times out within a run
  }
  if (io.frames != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every packet was forwarded");
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_out_per_pkt"] =
      static_cast<double>(io.bytes) / static_cast<double>(std::max<uint64_t>(io.frames, 1));
}

// The same paths fed 256 frames at a time through Node::receive_burst(), as vnetd reads them
// from a ring: destinations cycle over 64 addresses of the routed prefix.
void BM_ForwardBurst(benchmark::State& state, Path path) {
  Node node;
  CountingIo io;
  node.set_io(&io);
  if (!setup_forward(state, node, path)) return;
  std::vector<std::vector<std::byte>> frames;
  for (uint32_t i = 0; i < Node::kMaxBurst; ++i) {
    frames.push_back(udp_frame(Ipv4Addr(Ipv4Addr::parse("203.0.113.0")->value() | (i % 64))));
  }
  std::vector<std::span<const std::byte>> spans(frames.begin(), frames.end());
  int eth1 = node.device_by_name("eth1")->ifindex;
  uint64_t now = 0;
  for (auto _ : state) {
    node.receive_burst(eth1, spans, now);
    now += 256'000;
  }
  const uint64_t packets = static_cast<uint64_t>(state.iterations()) * Node::kMaxBurst;
  if (io.frames != packets) state.SkipWithError("not every packet was forwarded");
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.counters["fast_path_share"] =
      static_cast<double>(node.fast_path_stats().fast) / static_cast<double>(packets);
  const Node::RouteCacheStats& rc = node.route_cache_stats();
  state.counters["route_cache_hits"] =
      static_cast<double>(rc.hits) /
      static_cast<double>(std::max<uint64_t>(rc.hits + rc.misses, 1));
}

// A TCP segment from 198.51.100.2:sport to dst:80 (SYN, or ACK with 64 bytes).
std::vector<std::byte> tcp_frame(Ipv4Addr dst, uint16_t sport, bool syn) {
  size_t payload = syn ? 0 : 64;
  std::vector<std::byte> f(14 + 20 + 20 + payload);
  vnet::wire::EthernetRepr eth{MacAddr(2, 0, 0, 0, 1, 1), MacAddr(2, 0, 0, 0, 1, 2),
                               vnet::wire::EtherType::Ipv4};
  (void)eth.emit(f);
  vnet::wire::Ipv4Repr ip;
  ip.source = *Ipv4Addr::parse("198.51.100.2");
  ip.destination = dst;
  ip.protocol = vnet::wire::IpProtocol::Tcp;
  ip.ttl = 64;
  ip.dont_fragment = true;
  ip.payload_len = static_cast<uint16_t>(20 + payload);
  (void)ip.emit(std::span(f).subspan(14));
  vnet::wire::TcpRepr tcp;
  tcp.source_port = sport;
  tcp.destination_port = 80;
  tcp.sequence_number = 1000;
  tcp.acknowledgment_number = syn ? 0 : 5000;
  tcp.flags = syn ? vnet::wire::kTcpSyn : vnet::wire::kTcpAck;
  tcp.window = 502;
  tcp.payload_len = static_cast<uint16_t>(payload);
  (void)tcp.emit(std::span(f).subspan(34), ip.source, ip.destination);
  return f;
}

enum class Lb { PlainTcp, DrEstablished, TunEstablished, NatEstablished, TunNew, DrNew };

void BM_Ipvs(benchmark::State& state, Lb mode) {
  Node node;
  CountingIo io;
  node.set_io(&io);
  add_ports(node);
  std::vector<std::string> lines = kGatewayLines;
  lines.emplace_back("ip route add 203.0.113.0/24 via 192.0.2.2");
  if (mode != Lb::PlainTcp) {
    const char* method = mode == Lb::DrEstablished || mode == Lb::DrNew ? "-g"
                         : mode == Lb::NatEstablished                   ? "-m"
                                                                        : "-i";
    lines.emplace_back("ip addr add 198.51.100.10/32 dev eth1");
    lines.emplace_back("ipvsadm -A -t 198.51.100.10:80 -s rr");
    lines.emplace_back(std::string("ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.2 ") + method);
  }
  if (!configure(state, node, lines)) return;
  Ipv4Addr dst = *Ipv4Addr::parse(mode == Lb::PlainTcp ? "203.0.113.5" : "198.51.100.10");
  int eth1 = node.device_by_name("eth1")->ifindex;
  uint64_t now = 0;
  bool fresh = mode == Lb::TunNew || mode == Lb::DrNew;
  std::vector<std::byte> frame = tcp_frame(dst, 40000, fresh);
  if (!fresh && mode != Lb::PlainTcp) {
    node.receive(eth1, tcp_frame(dst, 40000, true), now);  // the SYN that made the entry
    io.frames = 0;
  }
  uint16_t port = 1024;
  for (auto _ : state) {
    if (fresh) {
      // A new client port each time: every SYN is scheduled and gets an entry.
      if (port == 65535) {
        state.PauseTiming();
        node.ipvs().conns().flush();
        port = 1024;
        state.ResumeTiming();
      }
      vnet::wire::store_be16(std::span(frame).subspan(34), 0, ++port);
      // The checksum covers the port: adjust it as a NIC would have computed it.
      uint16_t sum = vnet::wire::load_be16(std::span(frame).subspan(34), 16);
      vnet::wire::store_be16(
          std::span(frame).subspan(34), 16,
          vnet::wire::checksum_adjust16(sum, static_cast<uint16_t>(port - 1), port));
    }
    node.receive(eth1, frame, now);
    now += 1000;
  }
  if (io.frames != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every packet was forwarded");
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_out_per_pkt"] =
      static_cast<double>(io.bytes) / static_cast<double>(std::max<uint64_t>(io.frames, 1));
}

enum class Vpc { Encap, Decap, Local };

constexpr uint32_t kVpcs = 10'000, kVmsPerVpc = 10, kHosts = 1000, kLocalPorts = 64;

// VM k (0..9) of VPC v: 10.0.0.(k+2) everywhere; on host (v * 10 + k) % kHosts, which is this
// host (10.10.0.2) for the local ones.
Ipv4Addr vm_ip(uint32_t k) {
  return Ipv4Addr(0x0a000002 + k);
}
Ipv4Addr host_ip(uint32_t h) {
  return Ipv4Addr(0x0a0a0002 + h);
}
MacAddr vm_mac(uint32_t v, uint32_t k) {
  return MacAddr(0x52, 0x54, static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v),
                 static_cast<uint8_t>(k), 1);
}

std::vector<std::byte> vm_frame(MacAddr src_mac, Ipv4Addr src, Ipv4Addr dst) {
  return udp_frame(dst, src, vnet::vpc::VSwitch::default_mac(), src_mac);
}

// A keyed GRE packet from host `from` to this host carrying a VM-to-VM datagram.
std::vector<std::byte> gre_frame(uint32_t key, Ipv4Addr from, Ipv4Addr src, Ipv4Addr dst) {
  std::vector<std::byte> inner = vm_frame(MacAddr(2, 0, 0, 0, 9, 9), src, dst);
  inner.erase(inner.begin(), inner.begin() + 14);
  std::vector<std::byte> f(14 + 20 + 8 + inner.size());
  vnet::wire::EthernetRepr eth{MacAddr(2, 0, 0, 0, 0, 1), MacAddr(2, 0, 0, 0, 0, 2),
                               vnet::wire::EtherType::Ipv4};
  (void)eth.emit(f);
  vnet::wire::GreRepr gre;
  gre.key = key;
  (void)gre.emit(std::span(f).subspan(34));
  std::memcpy(f.data() + 42, inner.data(), inner.size());
  vnet::wire::Ipv4Repr ip;
  ip.source = from;
  ip.destination = host_ip(0);
  ip.protocol = vnet::wire::IpProtocol::Gre;
  ip.ttl = 64;
  ip.payload_len = static_cast<uint16_t>(8 + inner.size());
  (void)ip.emit(std::span(f).subspan(14));
  return f;
}

void BM_Vpc(benchmark::State& state, Vpc mode) {
  Node node;
  CountingIo io;
  node.set_io(&io);
  (void)node.link_add_external("eth0", MacAddr(2, 0, 0, 0, 0, 1));
  // The hosts are reached through one router (192.0.2.2), so that one permanent neighbour
  // serves them all; this host's underlay address is on lo.
  if (!configure(state, node,
                 {"ip link set dev lo up", "ip link set dev eth0 up",
                  "ip addr add 10.10.0.2/32 dev lo", "ip addr add 192.0.2.1/24 dev eth0",
                  "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent",
                  "ip route add 10.10.0.0/16 via 192.0.2.2 src 10.10.0.2"})) {
    return;
  }
  node.set_carrier(node.device_by_name("eth0")->ifindex, true);
  vnet::vpc::VSwitch& vs = node.vswitch();
  (void)vs.set_local(host_ip(0));
  // VPC v's VM k is local when (v * 10 + k) % 1000 == 0 and v < 64 * 100: ports for VM 0 of
  // VPCs 0, 100, 200, ... (64 of them).
  std::vector<std::pair<uint32_t, int>> ports;  // (vpc, ifindex)
  for (uint32_t v = 0; v < kVpcs; ++v) {
    for (uint32_t k = 0; k < kVmsPerVpc; ++k) {
      uint32_t h = (v * kVmsPerVpc + k) % kHosts;
      (void)vs.route_add(v, vm_ip(k), host_ip(h), vnet::vpc::VSwitch::Mode::Add, 0);
      if (h == 0) (void)vs.neigh_add(v, vm_ip(k), vm_mac(v, k), vnet::vpc::VSwitch::Mode::Add);
    }
  }
  for (uint32_t p = 0; p < kLocalPorts; ++p) {
    uint32_t v = p * 100;
    std::string name = "vm" + std::to_string(p);
    (void)node.link_add_external(name, MacAddr(2, 0, 0, 1, 0, static_cast<uint8_t>(p)));
    int ix = node.device_by_name(name)->ifindex;
    node.link_set_up(ix, true);
    node.set_carrier(ix, true);
    (void)vs.port_add(ix, name, v, vm_ip(0), vm_mac(v, 0));
    ports.emplace_back(v, ix);
  }
  // Frames: for each port, to VM 1..9 of its VPC (remote), or the decapsulated reverse, or (local)
  // to VM 0 of the same VPC from a second port of that VPC.
  struct Item {
    int ifindex;
    std::vector<std::byte> frame;
  };
  std::vector<Item> items;
  int eth0 = node.device_by_name("eth0")->ifindex;
  for (const auto& [v, ix] : ports) {
    for (uint32_t k = 1; k < kVmsPerVpc; ++k) {
      switch (mode) {
        case Vpc::Encap:
          items.push_back({ix, vm_frame(vm_mac(v, 0), vm_ip(0), vm_ip(k))});
          break;
        case Vpc::Decap:
          items.push_back(
              {eth0, gre_frame(v, host_ip((v * kVmsPerVpc + k) % kHosts), vm_ip(k), vm_ip(0))});
          break;
        case Vpc::Local:
          break;
      }
    }
  }
  if (mode == Vpc::Local) {
    // A second VM (10.0.0.200) in each port's VPC, on this host, sending to VM 0.
    for (uint32_t p = 0; p < kLocalPorts; ++p) {
      uint32_t v = ports[p].first;
      std::string name = "vx" + std::to_string(p);
      (void)node.link_add_external(name, MacAddr(2, 0, 0, 2, 0, static_cast<uint8_t>(p)));
      int ix = node.device_by_name(name)->ifindex;
      node.link_set_up(ix, true);
      node.set_carrier(ix, true);
      MacAddr m(0x52, 0x55, 0, 0, 0, static_cast<uint8_t>(p));
      (void)vs.port_add(ix, name, v, Ipv4Addr(0x0a0000c8), m);
      items.push_back({ix, vm_frame(m, Ipv4Addr(0x0a0000c8), vm_ip(0))});
    }
  }
  uint64_t now = 0;
  size_t i = 0;
  for (auto _ : state) {
    const Item& it = items[i];
    node.receive(it.ifindex, it.frame, now);
    if (++i == items.size()) i = 0;
    now += 1000;
  }
  if (io.frames != static_cast<uint64_t>(state.iterations())) {
    state.SkipWithError("not every packet was switched");
  }
  state.SetItemsProcessed(state.iterations());
  size_t mappings = vs.routes().size() + vs.neighs().size();
  state.counters["mappings"] = static_cast<double>(mappings);
  state.counters["bytes_per_mapping"] =
      static_cast<double>(vs.table_bytes()) / static_cast<double>(mappings);
  state.counters["bytes_out_per_pkt"] =
      static_cast<double>(io.bytes) / static_cast<double>(std::max<uint64_t>(io.frames, 1));
}

BENCHMARK_CAPTURE(BM_Vpc, encap, Vpc::Encap);
BENCHMARK_CAPTURE(BM_Vpc, decap, Vpc::Decap);
BENCHMARK_CAPTURE(BM_Vpc, local, Vpc::Local);

BENCHMARK_CAPTURE(BM_Ipvs, plain_tcp_peer, Lb::PlainTcp);
BENCHMARK_CAPTURE(BM_Ipvs, dr_established, Lb::DrEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, tun_established, Lb::TunEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, nat_established, Lb::NatEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, dr_new, Lb::DrNew);
BENCHMARK_CAPTURE(BM_Ipvs, tun_new, Lb::TunNew);

BENCHMARK_CAPTURE(BM_Forward, plain, Path::Plain);
BENCHMARK_CAPTURE(BM_Forward, plain_without_route_cache, Path::PlainUncached);
BENCHMARK_CAPTURE(BM_Forward, ipip_encap, Path::Ipip);
BENCHMARK_CAPTURE(BM_Forward, gre_key_encap, Path::Gre);
BENCHMARK_CAPTURE(BM_Forward, vxlan_encap, Path::Vxlan);
BENCHMARK_CAPTURE(BM_Forward, masquerade, Path::Masquerade);
BENCHMARK_CAPTURE(BM_ForwardBurst, plain, Path::Plain);
BENCHMARK_CAPTURE(BM_ForwardBurst, ipip_encap, Path::Ipip);
BENCHMARK_CAPTURE(BM_ForwardBurst, gre_key_encap, Path::Gre);
BENCHMARK_CAPTURE(BM_ForwardBurst, vxlan_encap, Path::Vxlan);
BENCHMARK_CAPTURE(BM_ForwardBurst, masquerade, Path::Masquerade);

// Console output as usual, then every benchmark's packets/s as a ratio to BM_Forward/plain
// measured in the same run (and the burst paths also to BM_ForwardBurst/plain).
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        rates_.emplace_back(run.benchmark_name(), it->second.value);
      }
    }
  }
  void print_ratios() const {
    double plain = 0, burst_plain = 0;
    for (const auto& [name, rate] : rates_) {
      if (name == "BM_Forward/plain") plain = rate;
      if (name == "BM_ForwardBurst/plain") burst_plain = rate;
    }
    if (plain == 0) return;
    std::printf("\nratio to BM_Forward/plain (%.2f M packets/s, %.0f ns a packet):\n", plain / 1e6,
                1e9 / plain);
    if (burst_plain != 0) {
      std::printf(
          "and, for BM_ForwardBurst, to BM_ForwardBurst/plain (%.2f M packets/s, %.1f ns):\n",
          burst_plain / 1e6, 1e9 / burst_plain);
    }
    for (const auto& [name, rate] : rates_) {
      std::printf("  %-40s %7.2f M/s  %5.2fx", name.c_str(), rate / 1e6, rate / plain);
      if (burst_plain != 0 && name.starts_with("BM_ForwardBurst/")) {
        std::printf("  %5.2fx of burst plain", rate / burst_plain);
      }
      std::printf("\n");
    }
  }

 private:
  std::vector<std::pair<std::string, double>> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  benchmark::Shutdown();
  return 0;
}
