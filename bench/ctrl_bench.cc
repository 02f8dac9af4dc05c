// Migration propagation through the control plane (issue 13): the time from a writer's
// `vpc --etcd migrate` (one transaction in a real etcd) to the moment every one of 100 agents on
// this machine has applied it to its node's vSwitch.  Each agent is what vnetd runs: its own
// gRPC channel to etcd, its own thread, watching its host prefix and VPC 7 (each host has a VM
// there), applying through ctrl::VpcApplier.
//
// The peer, measured in the same run against the same etcd: etcd's own put-to-watch latency,
// from a put to the moment a plain watch stream sees the event, with 1 watcher and with 100
// watchers (each its own channel), no agent code at all.
//
// Every benchmark reports p50_ms, p99_ms and max_ms over its iterations (manual time is the
// mean); the migration also write_p50_ms, the writer's own part (its reads and the commit).  Run
// (etcd-server installed; ~1 min):
//   build/bench/ctrl_bench
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cmd/control_plane.h"
#include "ctrl/agent.h"
#include "ctrl/etcd_store.h"
#include "ctrl/vpc_applier.h"
#include "etcd_process.h"

namespace {

using namespace vnet;  // NOLINT(google-build-using-namespace)
using Clock = std::chrono::steady_clock;

constexpr int kAgents = 100;
const char* const kVm = "10.7.0.1";  // the VM that migrates between host h0 and host h1

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

uint64_t now_ms() {
  return static_cast<uint64_t>(now_ns() / 1'000'000);
}

void report(benchmark::State& state, std::vector<double> ms) {
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  state.counters["p50_ms"] = at(0.50);
  state.counters["p99_ms"] = at(0.99);
  state.counters["max_ms"] = ms.back();
}

// One etcd for the whole run, with the VPC and every host's VM written once.
struct World {
  vnet::ctrl::test::EtcdCluster etcd{1};
  std::unique_ptr<ctrl::Store> writer;
  World() {
    if (!etcd.wait_ready()) std::abort();
    writer = std::move(ctrl::EtcdStore::connect(etcd.endpoints()).value());
    ctrl::Store& s = *writer;
    auto must = [](bool ok) {
      if (!ok) std::abort();
    };
    must(s.put("/vnet/v1/vpc/7/config", R"({"subnets":["10.7.0.0/16"]})").ok());
    for (int h = 0; h < kAgents; ++h) {
      std::string host = "h" + std::to_string(h);
      std::string vm = "10.7." + std::to_string(1 + h / 250) + "." + std::to_string(1 + h % 250);
      std::string local = "10.10." + std::to_string(h / 250) + "." + std::to_string(1 + h % 250);
      must(s.put("/vnet/v1/host/" + host + "/config", R"({"local":")" + local + R"("})").ok());
      must(s.put("/vnet/v1/vpc/7/route/" + vm, R"({"host":")" + local + R"("})").ok());
      must(s.put("/vnet/v1/vpc/7/neigh/" + vm,
                 R"({"mac":"52:54:00:01:00:)" + fmt::format("{:02x}", h) + R"("})")
               .ok());
      must(s.put("/vnet/v1/host/" + host + "/port/vm" + std::to_string(h),
                 R"({"vpc":7,"ip":")" + vm + R"("})")
               .ok());
    }
    // The VM that migrates: on h0 at first.
    must(s.put("/vnet/v1/vpc/7/route/" + std::string(kVm), R"({"host":"10.10.0.1"})").ok());
    must(s.put("/vnet/v1/vpc/7/neigh/" + std::string(kVm), R"({"mac":"52:54:00:00:00:01"})").ok());
    must(s.put("/vnet/v1/host/h0/port/mig", R"({"vpc":7,"ip":"10.7.0.1"})").ok());
  }
};

World& world() {
  static World w;
  return w;
}

// An agent as vnetd runs it, on its own thread, applying to its own node.
class Host {
 public:
  explicit Host(int index) : name_("h" + std::to_string(index)) {
    store_ = std::move(ctrl::EtcdStore::connect(world().etcd.endpoints()).value());
    (void)node_.link_add_external("vm" + std::to_string(index));
    (void)node_.link_add_external("mig");
    applier_ = std::make_unique<ctrl::VpcApplier>(node_);
    agent_ = std::make_unique<ctrl::Agent>(
        *store_, ctrl::Agent::Options{.node = name_},
        [this](const std::vector<ctrl::Change>& changes) {
          applier_->apply(changes, 0);
          auto r = node_.vswitch().route(7, *net::Ipv4Addr::parse(kVm));
          if (r) applied_host_.store(r->value(), std::memory_order_release);
        },
        [](ctrl::Agent::Level, const std::string&) {});
    thread_ = std::thread([this] {
      while (!stop_) agent_->poll(100, now_ms());
    });
  }
  ~Host() {
    stop_ = true;
    thread_.join();
  }
  // The host the migrating VM's route names on this node now (host order), or 0.
  uint32_t applied_host() const { return applied_host_.load(std::memory_order_acquire); }

 private:
  std::string name_;
  std::unique_ptr<ctrl::Store> store_;
  stack::Node node_;
  std::unique_ptr<ctrl::VpcApplier> applier_;
  std::unique_ptr<ctrl::Agent> agent_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> applied_host_{0};
};

void BM_MigrationPropagation(benchmark::State& state) {
  World& w = world();
  std::vector<std::unique_ptr<Host>> hosts;
  for (int h = 0; h < kAgents; ++h) hosts.push_back(std::make_unique<Host>(h));
  const uint32_t h0 = net::Ipv4Addr::parse("10.10.0.1")->value();
  const uint32_t h1 = net::Ipv4Addr::parse("10.10.0.2")->value();
  auto all_at = [&](uint32_t want, int64_t deadline) {
    while (now_ns() < deadline) {
      bool all = true;
      for (const auto& h : hosts) all = all && h->applied_host() == want;
      if (all) return true;
      std::this_thread::yield();
    }
    return false;
  };
  if (!all_at(h0, now_ns() + 30'000'000'000)) {
    state.SkipWithError("the agents did not sync");
    return;
  }
  std::vector<double> ms;
  std::vector<double> write_ms;  // until the writer's txn returned (its reads and the commit)
  bool on_h0 = true;
  for (auto _ : state) {
    const std::string to = on_h0 ? "h1" : "h0";
    const std::string from = on_h0 ? "h0" : "h1";
    int64_t t0 = now_ns();
    cmd::CmdOutput o = cmd::run_vpc_store(
        *w.writer, "", {"vpc", "migrate", kVm, "vpc", "7", "to", to, "dev", "mig", "from", from});
    if (o.status != 0) {
      state.SkipWithError(o.err.c_str());
      return;
    }
    write_ms.push_back(static_cast<double>(now_ns() - t0) / 1e6);
    if (!all_at(on_h0 ? h1 : h0, t0 + 10'000'000'000)) {
      state.SkipWithError("not every agent applied the migration within 10 s");
      return;
    }
    double seconds = static_cast<double>(now_ns() - t0) / 1e9;
    state.SetIterationTime(seconds);
    ms.push_back(seconds * 1e3);
    on_h0 = !on_h0;
  }
  state.counters["agents"] = kAgents;
  std::sort(write_ms.begin(), write_ms.end());
  if (!write_ms.empty()) state.counters["write_p50_ms"] = write_ms[write_ms.size() / 2];
  report(state, std::move(ms));
}

// The peer: put -> event on `watchers` plain watch streams (one channel each).
void BM_EtcdPutToWatch(benchmark::State& state) {
  World& w = world();
  const int watchers = static_cast<int>(state.range(0));
  const std::string key = "/bench/peer/" + std::to_string(watchers);
  std::atomic<int64_t> want{0};
  std::atomic<int> seen{0};
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<ctrl::Store>> stores;
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int i = 0; i < watchers; ++i) {
    stores.push_back(std::move(ctrl::EtcdStore::connect(w.etcd.endpoints()).value()));
    ctrl::Store* s = stores.back().get();
    threads.emplace_back([&, s] {
      auto stream = std::move(s->watch().value());
      ctrl::WatchCreate c;
      c.watch_id = 1;
      c.key = key;
      if (!stream->create(c)) return;
      ctrl::WatchResponse r;
      while (!stop) {
        auto got = stream->read(&r, 100);
        if (got == ctrl::WatchStream::ReadResult::Broken) return;
        if (got != ctrl::WatchStream::ReadResult::Response) continue;
        if (r.created) created.fetch_add(1);
        for (const ctrl::Event& e : r.events) {
          if (e.kv.mod_revision == want.load()) seen.fetch_add(1);
        }
      }
    });
  }
  while (created.load() < watchers) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::vector<double> ms;
  int n = 0;
  for (auto _ : state) {
    seen = 0;
    int64_t t0 = now_ns();
    // The revision is known only when the put returns; a watcher may see the event first, so
    // it counts events at the revision the put will get: the next one.
    auto st = w.writer->status();
    if (!st.ok()) {
      state.SkipWithError("status");
      break;
    }
    t0 = now_ns();
    want = st.value().revision + 1;
    auto put = w.writer->put(key, std::to_string(n++));
    if (!put.ok() || put.value() != want.load()) {
      state.SkipWithError("another writer got in");
      break;
    }
    while (seen.load() < watchers && now_ns() - t0 < 10'000'000'000) std::this_thread::yield();
    double seconds = static_cast<double>(now_ns() - t0) / 1e9;
    state.SetIterationTime(seconds);
    ms.push_back(seconds * 1e3);
  }
  stop = true;
  for (std::thread& t : threads) t.join();
  state.counters["watchers"] = watchers;
  report(state, std::move(ms));
}

}  // namespace

BENCHMARK(BM_EtcdPutToWatch)
    ->Arg(1)
    ->Iterations(300)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EtcdPutToWatch)
    ->Arg(kAgents)
    ->Iterations(300)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MigrationPropagation)->Iterations(300)->UseManualTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
