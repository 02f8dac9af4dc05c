// Simulator core throughput and topology build cost.
//
// Element: a Forwarder (port 1 -> port 2 and back, at once, no timer), so the numbers are the
// simulator's own cost per event: the heap, the link checks, the frame copy into the pool, two
// virtual calls (receive, next_deadline_ns).  The node-based variant, with stack::Node behind a
// NodeElement on every hop, comes when the Node packet path lands.
//
// Benchmarks:
//   chain/<in_flight>  1,000 Forwarders in a line, element i port 2 <-> element i+1 port 1, links
//                      with a 1 us delay.  One iteration injects <in_flight> 60-byte frames at
//                      element 0 port 1, 1 us apart, and runs until idle: each frame is 1,000
//                      arrival events (the injection and 999 link crossings; the last element's
//                      port 2 has no link and drops it as no_link).  The spacing equals the delay,
//                      so about <in_flight> frames are in the event heap at once.
//                      Counters: events (events/s), frame_hops (link crossings/s).
//   build/10000        builds a ring of 10,000 Forwarders and 10,000 links (one iteration = one
//                      build; freeing it is not timed).  Counters: heap_MiB and
//                      heap_bytes_per_element (element + link + simulator state), the growth
//                      of in-use malloc memory (mallinfo2) during the build.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/element.h"
#include "sim/sim.h"

namespace {

using vnet::sim::Element;
using vnet::sim::ElementId;
using vnet::sim::ElementIo;
using vnet::sim::LinkProps;
using vnet::sim::Sim;

class Forwarder final : public Element {
 public:
  void attach(ElementIo* io) override { io_ = io; }
  void receive(int port, std::span<const std::byte> frame, uint64_t /*now_ns*/) override {
    io_->transmit(port == 1 ? 2 : 1, frame);
  }
  bool has_port(int port) const override { return port == 1 || port == 2; }

 private:
  ElementIo* io_ = nullptr;
};

constexpr uint64_t kDelayNs = 1000;

// n Forwarders f0..f(n-1), f(i):2 <-> f(i+1):1, and f(n-1):2 <-> f0:1 when `ring`.
std::unique_ptr<Sim> build_topology(size_t n, bool ring) {
  auto sim = std::make_unique<Sim>(1);
  std::vector<ElementId> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string name = "f";  // not "f" + to_string(i): GCC 12 -O3 warns falsely (-Wrestrict)
    name += std::to_string(i);
    ids.push_back(*sim->add_element(std::move(name), std::make_unique<Forwarder>()));
  }
  LinkProps props{.mtu = 1500, .delay_ns = kDelayNs, .loss = 0.0};
  for (size_t i = 0; i + 1 < n; ++i) (void)sim->connect(ids[i], 2, ids[i + 1], 1, props);
  if (ring) (void)sim->connect(ids[n - 1], 2, ids[0], 1, props);
  return sim;
}

uint64_t link_frames(const Sim& sim) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < sim.link_count(); ++i) {
    total += sim.link({i}).counters(0).frames + sim.link({i}).counters(1).frames;
  }
  return total;
}

void chain_benchmark(benchmark::State& state) {
  const auto in_flight = static_cast<uint64_t>(state.range(0));
  std::unique_ptr<Sim> sim = build_topology(1000, /*ring=*/false);
  // Destination 02:00:00:00:00:02, source 02:00:00:00:00:01, EtherType 0x88b5, zero payload.
  std::vector<std::byte> frame(60, std::byte{0});
  frame[0] = frame[6] = std::byte{0x02};
  frame[5] = std::byte{0x02};
  frame[11] = std::byte{0x01};
  frame[12] = std::byte{0x88};
  frame[13] = std::byte{0xb5};
  const uint64_t events_before = sim->events_processed();
  const uint64_t hops_before = link_frames(*sim);
  for (auto _ : state) {
    const uint64_t start = sim->now_ns();
    for (uint64_t i = 0; i < in_flight; ++i) {
      (void)sim->inject_at(start + i * kDelayNs, ElementId{0}, 1, frame);
    }
    bool idle = sim->run_until_idle(UINT64_MAX);
    benchmark::DoNotOptimize(idle);
  }
  const auto events = static_cast<double>(sim->events_processed() - events_before);
  const auto hops = static_cast<double>(link_frames(*sim) - hops_before);
  state.counters["events"] = benchmark::Counter(events, benchmark::Counter::kIsRate);
  state.counters["frame_hops"] = benchmark::Counter(hops, benchmark::Counter::kIsRate);
}

// Bytes currently handed out by malloc, small and mmapped chunks together.
double heap_in_use_bytes() {
  struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

void build_benchmark(benchmark::State& state) {
  const auto n = static_cast<size_t>(state.range(0));
  double heap_bytes = 0;
  for (auto _ : state) {
    double before = heap_in_use_bytes();
    std::unique_ptr<Sim> sim = build_topology(n, /*ring=*/true);
    state.PauseTiming();
    heap_bytes = heap_in_use_bytes() - before;
    if (sim->link_count() != n) state.SkipWithError("wrong link count");
    sim.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["heap_MiB"] = heap_bytes / (1024.0 * 1024.0);
  state.counters["heap_bytes_per_element"] = heap_bytes / static_cast<double>(n);
}

BENCHMARK(chain_benchmark)
    ->Name("chain")
    ->Arg(1)
    ->Arg(64)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(build_benchmark)->Name("build")->Arg(10000)->Iterations(5)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
