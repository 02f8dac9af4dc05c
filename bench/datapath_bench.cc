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
//   build-bench/bench/datapath_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
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

enum class Path { Plain, Ipip, Gre, Vxlan, Masquerade };

std::vector<std::byte> udp_frame(Ipv4Addr dst) {
  std::vector<std::byte> f(14 + 20 + 8 + 64);
  vnet::wire::EthernetRepr eth{MacAddr(2, 0, 0, 0, 1, 1), MacAddr(2, 0, 0, 0, 1, 2),
                               vnet::wire::EtherType::Ipv4};
  (void)eth.emit(f);
  vnet::wire::Ipv4Repr ip;
  ip.source = *Ipv4Addr::parse("198.51.100.2");
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

void BM_Forward(benchmark::State& state, Path path) {
  Node node;
  CountingIo io;
  node.set_io(&io);
  add_ports(node);
  std::vector<std::string> lines = kGatewayLines;
  switch (path) {
    case Path::Plain:
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
  if (!configure(state, node, lines)) return;
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

BENCHMARK_CAPTURE(BM_Ipvs, plain_tcp_peer, Lb::PlainTcp);
BENCHMARK_CAPTURE(BM_Ipvs, dr_established, Lb::DrEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, tun_established, Lb::TunEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, nat_established, Lb::NatEstablished);
BENCHMARK_CAPTURE(BM_Ipvs, dr_new, Lb::DrNew);
BENCHMARK_CAPTURE(BM_Ipvs, tun_new, Lb::TunNew);

BENCHMARK_CAPTURE(BM_Forward, plain, Path::Plain);
BENCHMARK_CAPTURE(BM_Forward, ipip_encap, Path::Ipip);
BENCHMARK_CAPTURE(BM_Forward, gre_key_encap, Path::Gre);
BENCHMARK_CAPTURE(BM_Forward, vxlan_encap, Path::Vxlan);
BENCHMARK_CAPTURE(BM_Forward, masquerade, Path::Masquerade);

}  // namespace

BENCHMARK_MAIN();
