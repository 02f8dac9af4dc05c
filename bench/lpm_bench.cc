// Longest-prefix-match throughput of fib::LpmTrie (the 8-bit-stride trie the FIB uses) against
// fib::LpmReference (the std::map oracle), measured in the same run over the same data.
//
// Data (generated once, with fixed seeds, before any benchmark runs, so none of it is timed):
//   * 1,000,000 random prefixes in each of two length distributions:
//       uniform  lengths uniform over /8 .. /32.
//       bgp      a DFZ-like mix: 60% /24, 10% /23, 11% /22, 5% /21, 4.5% /20, 3% /19,
//                1.5% /18, 1% /17, 1.5% /16, and the remaining 2.5% spread evenly over /8 .. /15.
//     The addresses are uniform random with host bits cleared.  Duplicates overwrite, so a table
//     holds fewer than 1M prefixes (counter `prefixes`): about 0.97M for bgp, about 0.71M for
//     uniform, whose ~40k draws per length can only produce 256 distinct /8s, 512 /9s, ...
//   * 1,048,576 uniform random keys, walked in batches of kBatch per benchmark iteration.
//
// Benchmarks:
//   insert/<dist>/<impl>  builds a table from the 1M prefixes (one iteration = one full build;
//                         freeing it is not timed).  Counters: heap_MiB and heap_bytes_per_prefix,
//                         the growth of in-use malloc memory (mallinfo2) during the build.
//   lookup/<dist>/<impl>  lookup() on random keys; items_per_second = lookups per second.
//                         Counter hit_ratio: share of keys with a covering prefix.
// At the end the program prints, per distribution, trie items_per_second / reference
// items_per_second.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fib/lpm.h"

namespace {

using vnet::fib::LpmReference;
using vnet::fib::LpmTrie;
using vnet::net::Ipv4Addr;
using vnet::net::Prefix;

constexpr size_t kPrefixes = 1'000'000;
constexpr size_t kKeys = 1u << 20;
constexpr size_t kBatch = 4096;  // lookups per benchmark iteration; divides kKeys
static_assert(kKeys % kBatch == 0);

std::vector<Prefix> make_prefixes(bool bgp_like, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> uniform_len(8, 32);
  // Weights in percent, indexed by prefix length (see the file comment).
  std::vector<double> weights(33, 0.0);
  for (int len = 8; len <= 15; ++len) weights[len] = 2.5 / 8;
  weights[16] = 1.5;
  weights[17] = 1.0;
  weights[18] = 1.5;
  weights[19] = 3.0;
  weights[20] = 4.5;
  weights[21] = 5.0;
  weights[22] = 11.0;
  weights[23] = 10.0;
  weights[24] = 60.0;
  std::discrete_distribution<int> bgp_len(weights.begin(), weights.end());
  std::vector<Prefix> out;
  out.reserve(kPrefixes);
  for (size_t i = 0; i < kPrefixes; ++i) {
    int len = bgp_like ? bgp_len(rng) : uniform_len(rng);
    auto addr = static_cast<uint32_t>(rng());
    out.push_back(Prefix(Ipv4Addr(addr), len).network());
  }
  return out;
}

const std::vector<Prefix>& prefixes(bool bgp_like) {
  static const std::vector<Prefix> uniform = make_prefixes(false, 1);
  static const std::vector<Prefix> bgp = make_prefixes(true, 2);
  return bgp_like ? bgp : uniform;
}

const std::vector<uint32_t>& keys() {
  static const std::vector<uint32_t> k = [] {
    std::mt19937 rng(3);
    std::vector<uint32_t> out(kKeys);
    for (uint32_t& key : out) key = static_cast<uint32_t>(rng());
    return out;
  }();
  return k;
}

// Bytes currently handed out by malloc, small and mmapped chunks together.
double heap_in_use_bytes() {
  struct mallinfo2 info = mallinfo2();
  return static_cast<double>(info.uordblks + info.hblkhd);
}

template <typename Lpm>
std::unique_ptr<Lpm> build(const std::vector<Prefix>& input) {
  auto lpm = std::make_unique<Lpm>();
  uint32_t value = 0;
  for (const Prefix& p : input) lpm->insert(p, value++);
  return lpm;
}

template <typename Lpm>
void insert_benchmark(benchmark::State& state, bool bgp_like) {
  const std::vector<Prefix>& input = prefixes(bgp_like);
  double heap_bytes = 0;
  size_t size = 0;
  for (auto _ : state) {
    double before = heap_in_use_bytes();
    std::unique_ptr<Lpm> lpm = build<Lpm>(input);
    state.PauseTiming();
    heap_bytes = heap_in_use_bytes() - before;
    size = lpm->size();
    lpm.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * input.size()));
  state.counters["prefixes"] = static_cast<double>(size);
  state.counters["heap_MiB"] = heap_bytes / (1024.0 * 1024.0);
  state.counters["heap_bytes_per_prefix"] = heap_bytes / static_cast<double>(size);
}

// The table a lookup benchmark reads.  Google Benchmark calls a benchmark function several
// times while it sizes the iteration count, so the table is built once and kept until a
// benchmark needs a different one (keeping one at a time bounds memory).
struct CachedTable {
  std::string name;
  std::shared_ptr<void> table;
};
CachedTable cached_table;

template <typename Lpm>
const Lpm& table_for(const std::string& name, bool bgp_like) {
  if (cached_table.name != name) {
    cached_table.table.reset();
    cached_table.table = build<Lpm>(prefixes(bgp_like));
    cached_table.name = name;
  }
  return *static_cast<const Lpm*>(cached_table.table.get());
}

template <typename Lpm>
void lookup_benchmark(benchmark::State& state, const std::string& name, bool bgp_like) {
  const Lpm& lpm = table_for<Lpm>(name, bgp_like);
  const std::vector<uint32_t>& k = keys();
  size_t offset = 0;
  uint64_t hits = 0;
  uint64_t checksum = 0;
  for (auto _ : state) {
    for (size_t i = offset; i < offset + kBatch; ++i) {
      std::optional<uint32_t> v = lpm.lookup(Ipv4Addr(k[i]));
      hits += v.has_value();
      checksum += v.value_or(0);
    }
    offset = (offset + kBatch) % kKeys;
  }
  benchmark::DoNotOptimize(checksum);
  auto lookups = static_cast<int64_t>(state.iterations() * kBatch);
  state.SetItemsProcessed(lookups);
  state.counters["prefixes"] = static_cast<double>(lpm.size());
  state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(lookups);
}

// Console output as usual, plus the trie/reference lookup ratio per distribution at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        items_per_second_[run.run_name.function_name] = it->second.value;
      }
    }
  }

  void print_ratios() {
    for (const char* dist : {"uniform", "bgp"}) {
      auto trie = items_per_second_.find(std::string("lookup/") + dist + "/trie");
      auto ref = items_per_second_.find(std::string("lookup/") + dist + "/reference");
      if (trie == items_per_second_.end() || ref == items_per_second_.end()) continue;
      std::printf(
          "lookup/%s: trie %.3g lookups/s, reference %.3g lookups/s, trie/reference %.1fx\n", dist,
          trie->second, ref->second, trie->second / ref->second);
    }
  }

 private:
  std::map<std::string, double> items_per_second_;
};

void register_benchmarks() {
  using Trie = LpmTrie<uint32_t>;
  using Reference = LpmReference<uint32_t>;
  for (bool bgp_like : {false, true}) {
    std::string dist = bgp_like ? "bgp" : "uniform";
    // One iteration is a whole 1M-prefix build (around a second); two are enough.
    benchmark::RegisterBenchmark(("insert/" + dist + "/trie").c_str(), &insert_benchmark<Trie>,
                                 bgp_like)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("insert/" + dist + "/reference").c_str(),
                                 &insert_benchmark<Reference>, bgp_like)
        ->Iterations(2)
        ->Unit(benchmark::kMillisecond);
    for (const char* impl : {"trie", "reference"}) {
      std::string name = "lookup/" + dist + "/" + impl;
      auto* fn =
          std::string(impl) == "trie" ? &lookup_benchmark<Trie> : &lookup_benchmark<Reference>;
      benchmark::RegisterBenchmark(name.c_str(), fn, name, bgp_like)
          ->MinTime(1.0)
          ->Unit(benchmark::kNanosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Generate the data up front so the first benchmark does not pay for it.
  prefixes(false);
  prefixes(true);
  keys();
  register_benchmarks();
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratios();
  cached_table.table.reset();
  benchmark::Shutdown();
  return 0;
}
