// The IPVS schedulers' cost per new connection over 10 real servers, each against rr measured
// in the same run, and Maglev's table build at 1,000 servers (the work every ipvsadm -a/-e/-d
// on an mh service repeats).  Run: build/bench/sched_bench
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <string>

#include "lb/scheduler.h"

namespace {

using vnet::lb::Dest;
using vnet::lb::DestList;

struct Farm {
  std::deque<Dest> store;
  DestList list;
  explicit Farm(int n) {
    for (int i = 0; i < n; ++i) {
      Dest d;
      d.addr = vnet::net::Ipv4Addr(0x0a000000u + static_cast<uint32_t>(i) + 1);
      d.port = 80;
      d.weight = 1 + i % 3;
      d.last_weight = d.weight;
      store.push_back(d);
      list.insert(list.begin(), &store.back());
    }
  }
};

void BM_Schedule(benchmark::State& state, const std::string& name) {
  Farm farm(10);
  uint32_t seed = 7;
  vnet::lb::SchedulerConfig config;
  config.random = [&seed](uint32_t bound) {
    seed = seed * 1103515245 + 12345;
    return bound == 0 ? 0 : (seed >> 8) % bound;
  };
  auto s = vnet::lb::make_scheduler(name, config, farm.list);
  for (Dest* d : farm.list) s->add_dest(farm.list, *d);
  vnet::lb::SchedPacket p;
  p.daddr = vnet::net::Ipv4Addr(0xc0a84978);  // 192.168.73.120
  uint32_t client = 0xc6120000;               // 198.18.0.0/15
  uint64_t n = 0;
  for (auto _ : state) {
    p.saddr = vnet::net::Ipv4Addr(client + static_cast<uint32_t>(n % 65536));
    p.sport = static_cast<uint16_t>(32768 + n % 28000);
    p.now_ns = n * 1000;
    Dest* d = s->schedule(farm.list, p);
    // Connections come and go: the least-connection schedulers see changing counts.
    if (d != nullptr) {
      ++d->activeconns;
      if (d->activeconns > 50) d->activeconns = 0;
    }
    benchmark::DoNotOptimize(d);
    ++n;
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MaglevBuild(benchmark::State& state) {
  Farm farm(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto s = vnet::lb::make_mh(0, farm.list);
    benchmark::DoNotOptimize(s);
  }
  state.SetLabel(std::to_string(state.range(0)) + " servers, 4093 entries");
}

}  // namespace

BENCHMARK_CAPTURE(BM_Schedule, rr, std::string("rr"));
BENCHMARK_CAPTURE(BM_Schedule, wrr, std::string("wrr"));
BENCHMARK_CAPTURE(BM_Schedule, lc, std::string("lc"));
BENCHMARK_CAPTURE(BM_Schedule, wlc, std::string("wlc"));
BENCHMARK_CAPTURE(BM_Schedule, sed, std::string("sed"));
BENCHMARK_CAPTURE(BM_Schedule, nq, std::string("nq"));
BENCHMARK_CAPTURE(BM_Schedule, fo, std::string("fo"));
BENCHMARK_CAPTURE(BM_Schedule, ovf, std::string("ovf"));
BENCHMARK_CAPTURE(BM_Schedule, twos, std::string("twos"));
BENCHMARK_CAPTURE(BM_Schedule, sh, std::string("sh"));
BENCHMARK_CAPTURE(BM_Schedule, dh, std::string("dh"));
BENCHMARK_CAPTURE(BM_Schedule, mh, std::string("mh"));
BENCHMARK_CAPTURE(BM_Schedule, lblc, std::string("lblc"));
BENCHMARK_CAPTURE(BM_Schedule, lblcr, std::string("lblcr"));
BENCHMARK(BM_MaglevBuild)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
