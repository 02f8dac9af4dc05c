// Simulator throughput with real nodes: a chain of 1,000 routers between two hosts, pinged end
// to end, reporting simulator events/s and packet-hops/s (frames delivered over links); and the
// time and heap to deploy 10,000 nodes.  The peer measured in the same run is the bare
// simulator core forwarding frames through the same number of trivial elements
// (bench/sim_bench.cc's chain), so the ratio is what the Linux-faithful stack costs per hop.
//
//   build-bench/bench/lab_bench
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <memory>

#include "lab/lab_spec.h"
#include "labrun/lab.h"

namespace {

using vnet::lab::LabSpec;
using vnet::lab::LinkSpec;
using vnet::lab::NodeSpec;

// Link j (between r[j-1] and r[j]) is the /30 10.A.B.C with base j*4; .1 is the left end, .2
// the right end.  h0 sits left of r0 on 192.168.0.0/30.  Routers send 10.0.0.0/8 to the right
// and everything else (h0) to the left.
std::string addr(int link, int end) {
  uint32_t base = static_cast<uint32_t>(link) * 4 + static_cast<uint32_t>(end);
  return fmt::format("10.{}.{}.{}", (base >> 16) & 0xff, (base >> 8) & 0xff, base & 0xff);
}

LabSpec chain_spec(int routers) {
  LabSpec spec;
  spec.name = "chain";
  auto node = [&](const std::string& name) -> NodeSpec& {
    spec.nodes.push_back({});
    spec.nodes.back().name = name;
    return spec.nodes.back();
  };
  auto exec = [](NodeSpec& n, std::string line) { n.exec.push_back({std::move(line), {}}); };
  NodeSpec& left = node("h0");
  exec(left, "ip addr add 192.168.0.1/30 dev eth0");
  exec(left, "ip route add default via 192.168.0.2");
  for (int i = 0; i < routers; ++i) {
    NodeSpec& r = node(fmt::format("r{}", i));
    exec(r, i == 0 ? "ip addr add 192.168.0.2/30 dev left"
                   : fmt::format("ip addr add {}/30 dev left", addr(i, 2)));
    if (i + 1 < routers) exec(r, fmt::format("ip addr add {}/30 dev right", addr(i + 1, 1)));
    exec(r, "sysctl -qw net.ipv4.ip_forward=1");
    // Replies must survive 250 hops back: the default TTL of 64 would not.
    exec(r, "sysctl -qw net.ipv4.ip_default_ttl=255");
    if (i + 1 < routers) exec(r, fmt::format("ip route add 10.0.0.0/8 via {}", addr(i + 1, 2)));
    exec(r, i == 0 ? "ip route add default via 192.168.0.1"
                   : fmt::format("ip route add default via {}", addr(i, 1)));
  }
  auto link = [&](std::string a, std::string ai, std::string b, std::string bi) {
    LinkSpec l;
    l.a = {std::move(a), std::move(ai), {}};
    l.b = {std::move(b), std::move(bi), {}};
    spec.links.push_back(l);
  };
  link("h0", "eth0", "r0", "left");
  for (int i = 0; i + 1 < routers; ++i) {
    link(fmt::format("r{}", i), "right", fmt::format("r{}", i + 1), "left");
  }
  return spec;
}

// 1,000 routers; pings from h0 cross 250 of them (a TTL of 255 allows no more).
void BM_ChainPing(benchmark::State& state) {
  int routers = static_cast<int>(state.range(0));
  int hops = static_cast<int>(state.range(1));
  auto deployed = vnet::labrun::Lab::deploy(chain_spec(routers), {});
  if (auto* err = std::get_if<std::string>(&deployed)) {
    state.SkipWithError(err->c_str());
    return;
  }
  auto& lab = *std::get<std::unique_ptr<vnet::labrun::Lab>>(deployed);
  std::string target = addr(hops, 2);  // r[hops]'s left address
  std::string ping = fmt::format("ping -c 10 -i 0.001 -t 255 {}", target);
  // Warm the neighbour caches so iterations measure forwarding.
  if (lab.run("h0", ping).status != 0) {
    state.SkipWithError("warm-up ping failed");
    return;
  }
  uint64_t events0 = lab.sim().events_processed();
  uint64_t frames0 = lab.sim().counters().frames_delivered;
  int pings = 0;
  for (auto _ : state) {
    auto o = lab.run("h0", ping);
    if (o.status != 0) state.SkipWithError("ping failed");
    pings += 10;
  }
  state.counters["events"] = benchmark::Counter(
      static_cast<double>(lab.sim().events_processed() - events0), benchmark::Counter::kIsRate);
  state.counters["packet_hops"] =
      benchmark::Counter(static_cast<double>(lab.sim().counters().frames_delivered - frames0),
                         benchmark::Counter::kIsRate);
  state.counters["pings"] = pings;
}
BENCHMARK(BM_ChainPing)->Args({1000, 250})->Unit(benchmark::kMillisecond)->MinTime(2.0);

// Simulated TCP goodput: iperf3 from h1 to h2 through a router (two links of 1 ms and
// 1 Gbit/s, a 1000-frame queue), 2 s of virtual time per iteration.  packet_hops counts frames
// carried by links per wall-clock second, comparable with BM_ChainPing's (ICMP forwarding,
// the peer in the same run); goodput_bytes is TCP payload delivered per wall-clock second.
void BM_TcpGoodput(benchmark::State& state) {
  LabSpec spec;
  spec.name = "tcp";
  auto node = [&](const std::string& name, std::vector<std::string> lines) {
    spec.nodes.push_back({});
    spec.nodes.back().name = name;
    for (auto& l : lines) spec.nodes.back().exec.push_back({std::move(l), {}});
  };
  node("h1", {"ip addr add 10.0.1.1/24 dev eth0", "ip route add default via 10.0.1.254"});
  node("r", {"ip addr add 10.0.1.254/24 dev eth0", "ip addr add 10.0.2.254/24 dev eth1",
             "sysctl -qw net.ipv4.ip_forward=1"});
  node("h2",
       {"ip addr add 10.0.2.1/24 dev eth0", "ip route add default via 10.0.2.254", "iperf3 -s &"});
  auto link = [&](std::string a, std::string ai, std::string b, std::string bi) {
    LinkSpec l;
    l.a = {std::move(a), std::move(ai), {}};
    l.b = {std::move(b), std::move(bi), {}};
    l.delay_ns = 1'000'000;
    l.rate_bps = 1'000'000'000;
    spec.links.push_back(l);
  };
  link("h1", "eth0", "r", "eth0");
  link("r", "eth1", "h2", "eth0");
  auto deployed = vnet::labrun::Lab::deploy(spec, {});
  if (auto* err = std::get_if<std::string>(&deployed)) {
    state.SkipWithError(err->c_str());
    return;
  }
  auto& lab = *std::get<std::unique_ptr<vnet::labrun::Lab>>(deployed);
  uint64_t frames0 = lab.sim().counters().frames_delivered;
  uint64_t delivered0 = lab.node("h2")->tcp().counters().in_segs;
  double payload = 0, virtual_s = 0;
  for (auto _ : state) {
    auto o = lab.run("h1", "iperf3 -c 10.0.2.1 -t 2");
    if (o.status != 0) {
      state.SkipWithError("iperf3 failed");
      break;
    }
    // "... 0.00-2.00   sec   227 MBytes   952 Mbits/sec ... receiver": bytes from Mbits/sec.
    size_t r = o.out.find("receiver");
    size_t unit = o.out.rfind("bits/sec", r);
    size_t start = o.out.rfind("  ", unit - 3);
    double rate = std::stod(o.out.substr(start, unit - start));
    char prefix = o.out[unit - 1];
    double mult = prefix == 'G' ? 1e9 : prefix == 'M' ? 1e6 : prefix == 'K' ? 1e3 : 1;
    payload += rate * mult / 8 * 2;
    virtual_s += 2;
  }
  state.counters["packet_hops"] =
      benchmark::Counter(static_cast<double>(lab.sim().counters().frames_delivered - frames0),
                         benchmark::Counter::kIsRate);
  state.counters["goodput_bytes"] = benchmark::Counter(payload, benchmark::Counter::kIsRate);
  state.counters["sim_Mbit_s"] = virtual_s > 0 ? payload * 8 / virtual_s / 1e6 : 0;
  state.counters["segments_in"] =
      static_cast<double>(lab.node("h2")->tcp().counters().in_segs - delivered0);
}
BENCHMARK(BM_TcpGoodput)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Deploy(benchmark::State& state) {
  int nodes = static_cast<int>(state.range(0));
  LabSpec spec;
  spec.name = "many";
  for (int i = 0; i < nodes; ++i) {
    spec.nodes.push_back({});
    spec.nodes.back().name = fmt::format("n{}", i);
  }
  for (int i = 0; i + 1 < nodes; ++i) {
    LinkSpec l;
    l.a = {fmt::format("n{}", i), "right", {}};
    l.b = {fmt::format("n{}", i + 1), "left", {}};
    spec.links.push_back(l);
  }
  double heap_mib = 0;
  for (auto _ : state) {
    struct mallinfo2 before = mallinfo2();
    auto deployed = vnet::labrun::Lab::deploy(spec, {});
    struct mallinfo2 after = mallinfo2();
    heap_mib = static_cast<double>(after.uordblks - before.uordblks) / (1024.0 * 1024.0);
    benchmark::DoNotOptimize(deployed);
  }
  state.counters["heap_MiB"] = heap_mib;
  state.counters["KiB_per_node"] = heap_mib * 1024.0 / nodes;
}
BENCHMARK(BM_Deploy)->Arg(10000)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
