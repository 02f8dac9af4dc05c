// Longest-prefix-match throughput and build cost of the FIB's index, fib::Poptrie, against DPDK's
// rte_lpm (the peer), fib::LpmTrie (the previous index) and fib::LpmReference (the std::map
// oracle), all in the same run over the same data.
//
// Data (generated once, with fixed seeds, before any benchmark runs, so none of it is timed):
//   * 1,000,000 random prefix draws in each of two length distributions:
//       uniform  lengths uniform over /8 .. /32.
//       bgp      a DFZ-like mix: 60% /24, 10% /23, 11% /22, 5% /21, 4.5% /20, 3% /19,
//                1.5% /18, 1% /17, 1.5% /16, 2.2% spread evenly over /8 .. /15, and a few
//                longer ones (0.3% over /25 .. /32).
//     The addresses are uniform random with host bits cleared.  Repeated draws are dropped
//     (the first value is kept), so a table holds fewer than 1M prefixes (counter `prefixes`):
//     about 0.97M for bgp, about 0.71M for uniform, whose ~40k draws per length can only produce
//     256 distinct /8s, 512 /9s, ...  Every implementation gets the same list, ordered by length
//     (shortest first) and randomly within a length: rte_lpm_add shifts every longer rule when
//     it adds a shorter one, so this is the order it builds fastest in.
//   * 1,048,576 uniform random keys, walked in batches of kBatch per benchmark iteration.
//
// Benchmarks:
//   insert/<dist>/<impl>  builds a table from the list (one iteration = one full build; freeing
//                         it is not timed).  Counters: heap_MiB and heap_bytes_per_prefix, the
//                         growth of in-use malloc memory (mallinfo2) during the build.
//                         rte_lpm has no insert benchmark: rte_lpm_add scans every rule of the
//                         prefix's length (to find a duplicate) and every tbl8 group (to find a
//                         free one), so a 1M-prefix build takes minutes.  Each of its two tables
//                         is built once, before the benchmarks, and that build's time and memory
//                         (DPDK's heap statistics) are reported in the summary.
//   lookup/<dist>/<impl>  one lookup() per key; items_per_second = lookups per second.
//                         Counter hit_ratio: share of keys with a covering prefix.
//   lookup_bulk/<dist>/rte_lpm  rte_lpm_lookup_bulk over the batch (DPDK's burst API).
// At the end the program prints, per distribution, each implementation's lookups/s as a ratio
// to rte_lpm's best (single or bulk) and the build times and memory side by side.
//
// The peer (when Debian's libdpdk-dev was found at configure time): DPDK 22.11's rte_lpm, the
// DIR-24-8 table.  The EAL runs on one core without devices or shared files
// (--no-pci --no-shconf).  With 2 MiB hugepages free (HugePages_Free in /proc/meminfo, e.g. after
// `echo 512 > /proc/sys/vm/nr_hugepages`) it runs on them, as DPDK is deployed; otherwise with
// --no-huge on 4 KiB pages.  The program prints which.  rte_lpm keeps 24-bit next hops, so the
// value stored is 1 + the prefix's index (below 2^24) for every implementation alike.  Its tbl8
// groups are sized to what the table needs: one per distinct /24 holding a longer prefix.
// Before anything is timed, Poptrie and rte_lpm must agree with LpmTrie on every key.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fib/lpm.h"
#include "fib/poptrie.h"

#ifdef VNET_HAVE_RTE_LPM
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_malloc.h>
#include <rte_vect.h>
#endif

namespace {

using vnet::fib::LpmReference;
using vnet::fib::LpmTrie;
using vnet::fib::Poptrie;
using vnet::net::Ipv4Addr;
using vnet::net::Prefix;

constexpr size_t kDraws = 1'000'000;
constexpr size_t kKeys = 1u << 20;
constexpr size_t kBatch = 4096;  // lookups per benchmark iteration; divides kKeys
static_assert(kKeys % kBatch == 0);

std::vector<Prefix> make_prefixes(bool bgp_like, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> uniform_len(8, 32);
  // Weights in percent, indexed by prefix length (see the file comment).
  std::vector<double> weights(33, 0.0);
  for (int len = 8; len <= 15; ++len) weights[len] = 2.2 / 8;
  weights[16] = 1.5;
  weights[17] = 1.0;
  weights[18] = 1.5;
  weights[19] = 3.0;
  weights[20] = 4.5;
  weights[21] = 5.0;
  weights[22] = 11.0;
  weights[23] = 10.0;
  weights[24] = 60.0;
  for (int len = 25; len <= 32; ++len) weights[len] = 0.3 / 8;
  std::discrete_distribution<int> bgp_len(weights.begin(), weights.end());
  std::vector<Prefix> draws;
  draws.reserve(kDraws);
  for (size_t i = 0; i < kDraws; ++i) {
    int len = bgp_like ? bgp_len(rng) : uniform_len(rng);
    auto addr = static_cast<uint32_t>(rng());
    draws.push_back(Prefix(Ipv4Addr(addr), len).network());
  }
  // Drop repeats, keep the draw order within a length, then order by length.
  std::set<std::pair<uint32_t, int>> seen;
  std::vector<Prefix> out;
  out.reserve(kDraws);
  for (const Prefix& p : draws) {
    if (seen.emplace(p.addr().value(), p.len()).second) out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Prefix& a, const Prefix& b) { return a.len() < b.len(); });
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

const char* dist_name(bool bgp_like) {
  return bgp_like ? "bgp" : "uniform";
}

// Bytes currently handed out by malloc, small and mmapped chunks together (and by DPDK's heap,
// for the peer).
double heap_in_use_bytes() {
  struct mallinfo2 info = mallinfo2();
  double bytes = static_cast<double>(info.uordblks + info.hblkhd);
#ifdef VNET_HAVE_RTE_LPM
  rte_malloc_socket_stats stats{};
  if (rte_malloc_get_socket_stats(0, &stats) == 0) {
    bytes += static_cast<double>(stats.heap_allocsz_bytes);
  }
#endif
  return bytes;
}

#ifdef VNET_HAVE_RTE_LPM
bool eal_on_hugepages = false;

// rte_lpm behind the benchmark's interface.
class RteLpm {
 public:
  explicit RteLpm(uint32_t tbl8s) {
    static int n = 0;
    rte_lpm_config config{};
    config.max_rules = static_cast<uint32_t>(kDraws);
    config.number_tbl8s = tbl8s;
    std::string name = "bench" + std::to_string(n++);
    lpm_ = rte_lpm_create(name.c_str(), 0, &config);
    if (lpm_ == nullptr) {
      std::fprintf(stderr, "rte_lpm_create: %s\n", rte_strerror(rte_errno));
      std::abort();
    }
  }
  ~RteLpm() { rte_lpm_free(lpm_); }
  RteLpm(const RteLpm&) = delete;
  RteLpm& operator=(const RteLpm&) = delete;

  void insert(Prefix p, uint32_t value) {
    int rc = rte_lpm_add(lpm_, p.addr().value(), static_cast<uint8_t>(p.len()), value);
    if (rc != 0) {
      std::fprintf(stderr, "rte_lpm_add %s: %s\n", p.to_string().c_str(), rte_strerror(-rc));
      std::abort();
    }
  }
  std::optional<uint32_t> lookup(Ipv4Addr a) const {
    uint32_t hop = 0;
    if (rte_lpm_lookup(lpm_, a.value(), &hop) != 0) return std::nullopt;
    return hop;
  }
  const rte_lpm* get() const { return lpm_; }

 private:
  rte_lpm* lpm_ = nullptr;
};

// One tbl8 group per distinct /24 that holds a longer prefix, plus a little slack.
uint32_t tbl8s_needed(bool bgp_like) {
  std::set<uint32_t> groups;
  for (const Prefix& p : prefixes(bgp_like)) {
    if (p.len() > 24) groups.insert(p.addr().value() >> 8);
  }
  return static_cast<uint32_t>(groups.size() + groups.size() / 16 + 16);
}

template <typename Lpm>
std::unique_ptr<Lpm> make_table(bool bgp_like) {
  if constexpr (std::is_same_v<Lpm, RteLpm>) {
    return std::make_unique<RteLpm>(tbl8s_needed(bgp_like));
  } else {
    return std::make_unique<Lpm>();
  }
}
#else
template <typename Lpm>
std::unique_ptr<Lpm> make_table(bool) {
  return std::make_unique<Lpm>();
}
#endif

template <typename Lpm>
std::unique_ptr<Lpm> build(bool bgp_like) {
  auto lpm = make_table<Lpm>(bgp_like);
  uint32_t value = 0;
  for (const Prefix& p : prefixes(bgp_like)) lpm->insert(p, ++value);
  return lpm;
}

template <typename Lpm>
const Lpm& table_for(const std::string& impl, bool bgp_like);

// Build figures per "insert/<dist>/<impl>", for the summary.
struct BuildFigures {
  double seconds = 0;
  double heap_mib = 0;
};
std::map<std::string, BuildFigures> build_figures;

// The implementations must give the same answers, or their speed means nothing.
template <typename Lpm>
bool agrees_with_trie(const Lpm& lpm, bool bgp_like, const char* name) {
  auto trie = build<LpmTrie<uint32_t>>(bgp_like);
  const Lpm* other = &lpm;
  size_t differ = 0;
  for (uint32_t k : keys()) {
    auto a = trie->lookup(Ipv4Addr(k));
    auto b = other->lookup(Ipv4Addr(k));
    if (a != b && differ++ < 3) {
      std::printf("  %s: trie %u, %s %u\n", Ipv4Addr(k).to_string().c_str(), a.value_or(0), name,
                  b.value_or(0));
    }
  }
  std::printf("%s: %s and LpmTrie differ on %zu of %zu keys\n", dist_name(bgp_like), name, differ,
              keys().size());
  return differ == 0;
}

#ifdef VNET_HAVE_RTE_LPM
// The peer's tables, each built once (see the file comment) and kept for the whole run.
const RteLpm& peer_table(bool bgp_like) {
  static std::unique_ptr<RteLpm> tables[2];
  std::unique_ptr<RteLpm>& t = tables[bgp_like ? 1 : 0];
  if (!t) {
    double before = heap_in_use_bytes();
    auto start = std::chrono::steady_clock::now();
    t = build<RteLpm>(bgp_like);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    BuildFigures& f = build_figures[std::string("insert/") + dist_name(bgp_like) + "/rte_lpm"];
    f.seconds = took.count();
    f.heap_mib = (heap_in_use_bytes() - before) / (1024.0 * 1024.0);
    std::printf("rte_lpm: %s table built once in %.1f s\n", dist_name(bgp_like), f.seconds);
    if (!agrees_with_trie(*t, bgp_like, "rte_lpm")) std::exit(1);
    std::fflush(stdout);
  }
  return *t;
}

template <>
const RteLpm& table_for<RteLpm>(const std::string&, bool bgp_like) {
  return peer_table(bgp_like);
}
#endif

template <typename Lpm>
void insert_benchmark(benchmark::State& state, const std::string& name, bool bgp_like) {
  double heap_bytes = 0;
  const size_t size = prefixes(bgp_like).size();
  for (auto _ : state) {
    double before = heap_in_use_bytes();
    std::unique_ptr<Lpm> lpm = build<Lpm>(bgp_like);
    state.PauseTiming();
    heap_bytes = heap_in_use_bytes() - before;
    lpm.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * size));
  state.counters["prefixes"] = static_cast<double>(size);
  state.counters["heap_MiB"] = heap_bytes / (1024.0 * 1024.0);
  state.counters["heap_bytes_per_prefix"] = heap_bytes / static_cast<double>(size);
  build_figures[name].heap_mib = heap_bytes / (1024.0 * 1024.0);
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
const Lpm& table_for(const std::string& impl, bool bgp_like) {
  std::string name = impl + "/" + dist_name(bgp_like);
  if (cached_table.name != name) {
    cached_table.table.reset();
    cached_table.table = build<Lpm>(bgp_like);
    cached_table.name = name;
  }
  return *static_cast<const Lpm*>(cached_table.table.get());
}

void set_lookup_counters(benchmark::State& state, bool bgp_like, uint64_t hits) {
  auto lookups = static_cast<int64_t>(state.iterations() * kBatch);
  state.SetItemsProcessed(lookups);
  state.counters["prefixes"] = static_cast<double>(prefixes(bgp_like).size());
  state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(lookups);
}

template <typename Lpm>
void lookup_benchmark(benchmark::State& state, const std::string& impl, bool bgp_like) {
  const Lpm& lpm = table_for<Lpm>(impl, bgp_like);
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
  set_lookup_counters(state, bgp_like, hits);
}

// Poptrie's burst lookup (handles for kBatch keys, then the values), as the packet pipeline
// uses it.
void poptrie_burst_benchmark(benchmark::State& state, const std::string& impl, bool bgp_like) {
  const auto& lpm = table_for<Poptrie<uint32_t>>(impl, bgp_like);
  const std::vector<uint32_t>& k = keys();
  std::vector<uint32_t> handles(kBatch);
  size_t offset = 0;
  uint64_t hits = 0;
  uint64_t checksum = 0;
  for (auto _ : state) {
    lpm.lookup_burst(k.data() + offset, handles.data(), kBatch);
    for (uint32_t h : handles) {
      hits += h != 0;
      checksum += h != 0 ? lpm.value(h) : 0;
    }
    offset = (offset + kBatch) % kKeys;
  }
  benchmark::DoNotOptimize(checksum);
  set_lookup_counters(state, bgp_like, hits);
}

#ifdef VNET_HAVE_RTE_LPM
// rte_lpm_lookupx4: four keys per call in an SSE register, as DPDK's l3fwd uses it.
void rte_lpm_x4_benchmark(benchmark::State& state, const std::string& impl, bool bgp_like) {
  const RteLpm& lpm = table_for<RteLpm>(impl, bgp_like);
  const std::vector<uint32_t>& k = keys();
  size_t offset = 0;
  uint64_t hits = 0;
  uint64_t checksum = 0;
  constexpr uint32_t kMiss = 0;  // values are >= 1
  for (auto _ : state) {
    for (size_t i = offset; i < offset + kBatch; i += 4) {
      uint32_t hop[4];
      xmm_t ip = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k.data() + i));
      rte_lpm_lookupx4(lpm.get(), ip, hop, kMiss);
      for (uint32_t h : hop) {
        hits += h != kMiss;
        checksum += h;
      }
    }
    offset = (offset + kBatch) % kKeys;
  }
  benchmark::DoNotOptimize(checksum);
  set_lookup_counters(state, bgp_like, hits);
}

void rte_lpm_bulk_benchmark(benchmark::State& state, const std::string& impl, bool bgp_like) {
  const RteLpm& lpm = table_for<RteLpm>(impl, bgp_like);
  const std::vector<uint32_t>& k = keys();
  std::vector<uint32_t> hops(kBatch);
  size_t offset = 0;
  uint64_t hits = 0;
  uint64_t checksum = 0;
  for (auto _ : state) {
    rte_lpm_lookup_bulk(lpm.get(), k.data() + offset, hops.data(), kBatch);
    for (uint32_t h : hops) {
      bool hit = (h & RTE_LPM_LOOKUP_SUCCESS) != 0;
      hits += hit;
      checksum += hit ? (h & 0x00ffffffu) : 0;
    }
    offset = (offset + kBatch) % kKeys;
  }
  benchmark::DoNotOptimize(checksum);
  set_lookup_counters(state, bgp_like, hits);
}
#endif

// Console output as usual, then a summary with every implementation's lookups/s as a ratio to
// the peer's best and the build figures.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      const std::string name = run.run_name.function_name;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) per_second_[name] = it->second.value;
      if (name.rfind("insert/", 0) == 0) {
        build_figures[name].seconds = run.GetAdjustedRealTime() / 1e3;  // unit: ms
      }
    }
  }

  void print_summary() {
    for (bool bgp_like : {false, true}) {
      const std::string dist = dist_name(bgp_like);
      std::printf("\n%s (%zu prefixes):\n", dist.c_str(), prefixes(bgp_like).size());
      double peer = 0;
      std::string peer_name;
      for (const char* kind : {"lookup/", "lookup_bulk/", "lookup_x4/"}) {
        double rate = get(kind + dist + "/rte_lpm");
        if (rate > peer) {
          peer = rate;
          peer_name = kind;
        }
      }
      for (const char* impl : {"poptrie", "trie", "reference", "rte_lpm"}) {
        double rate = get("lookup/" + dist + "/" + impl);
        if (rate == 0) continue;
        const BuildFigures& b = build_figures["insert/" + dist + "/" + impl];
        std::printf("  %-10s %7.1f M lookups/s", impl, rate / 1e6);
        if (peer > 0) std::printf("  %.2fx rte_lpm's best", rate / peer);
        std::printf("  build %.2f s  heap %.1f MiB\n", b.seconds, b.heap_mib);
      }
      for (const char* kind : {"lookup_burst/", "lookup_bulk/", "lookup_x4/"}) {
        for (const char* impl : {"poptrie", "rte_lpm"}) {
          double rate = get(kind + dist + "/" + impl);
          if (rate == 0) continue;
          std::printf("  %-10s %7.1f M lookups/s (%s)", impl, rate / 1e6, kind);
          if (peer > 0) std::printf("  %.2fx rte_lpm's best", rate / peer);
          std::printf("\n");
        }
      }
      if (peer > 0) std::printf("  rte_lpm's best: %s\n", peer_name.c_str());
    }
  }

 private:
  double get(const std::string& name) const {
    auto it = per_second_.find(name);
    return it == per_second_.end() ? 0 : it->second;
  }
  std::map<std::string, double> per_second_;
};

void register_benchmarks() {
  using Trie = LpmTrie<uint32_t>;
  using Reference = LpmReference<uint32_t>;
  using Pop = Poptrie<uint32_t>;
  using InsertFn = void (*)(benchmark::State&, const std::string&, bool);
  for (bool bgp_like : {false, true}) {
    const std::string dist = dist_name(bgp_like);
    std::vector<std::pair<std::string, InsertFn>> inserts = {
        {"poptrie", &insert_benchmark<Pop>},
        {"trie", &insert_benchmark<Trie>},
        {"reference", &insert_benchmark<Reference>}};
    for (const auto& [impl, fn] : inserts) {
      // One iteration is a whole build (around a second, or more for the peer).
      std::string name = "insert/" + dist + "/" + impl;
      benchmark::RegisterBenchmark(name.c_str(), fn, name, bgp_like)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    }
    std::vector<std::pair<std::string, InsertFn>> lookups = {
        {"poptrie", &lookup_benchmark<Pop>},
        {"trie", &lookup_benchmark<Trie>},
        {"reference", &lookup_benchmark<Reference>}};
#ifdef VNET_HAVE_RTE_LPM
    lookups.emplace_back("rte_lpm", &lookup_benchmark<RteLpm>);
#endif
    for (const auto& [impl, fn] : lookups) {
      std::string name = "lookup/" + dist + "/" + impl;
      benchmark::RegisterBenchmark(name.c_str(), fn, impl, bgp_like)
          ->MinTime(1.0)
          ->Unit(benchmark::kNanosecond);
    }
    std::vector<std::pair<std::string, InsertFn>> bursts = {
        {"lookup_burst/" + dist + "/poptrie", &poptrie_burst_benchmark}};
#ifdef VNET_HAVE_RTE_LPM
    bursts.emplace_back("lookup_bulk/" + dist + "/rte_lpm", &rte_lpm_bulk_benchmark);
    bursts.emplace_back("lookup_x4/" + dist + "/rte_lpm", &rte_lpm_x4_benchmark);
#endif
    for (const auto& [name, fn] : bursts) {
      std::string impl = name.substr(name.rfind('/') + 1);
      benchmark::RegisterBenchmark(name.c_str(), fn, impl, bgp_like)
          ->MinTime(1.0)
          ->Unit(benchmark::kNanosecond);
    }
  }
}

#ifdef VNET_HAVE_RTE_LPM
long hugepages_free() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long value = 0;
  while (meminfo >> key >> value) {
    if (key == "HugePages_Free:") return value;
    meminfo.ignore(256, '\n');
  }
  return 0;
}

bool start_eal() {
  // 64 MiB of tbl24, the rules and the tbl8 groups, with room for one table at a time plus the
  // uniform table's 2^18 groups: 1 GiB on hugepages is enough.
  eal_on_hugepages = hugepages_free() >= 512;
  std::vector<std::string> eal = {
      "lpm_bench",     "--no-pci", "--no-shconf", "-l", "0", "--log-level=lib.eal:error",
      "--no-telemetry"};
  if (eal_on_hugepages) {
    eal.insert(eal.end(), {"-m", "1024", "--in-memory"});
  } else {
    eal.insert(eal.end(), {"--no-huge", "-m", "2048"});
  }
  std::vector<char*> eal_argv;
  for (std::string& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
    return false;
  }
  std::printf("rte_lpm: DPDK EAL on %s\n",
              eal_on_hugepages ? "2 MiB hugepages" : "4 KiB pages (--no-huge; no hugepages free)");
  return true;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
#ifdef VNET_HAVE_RTE_LPM
  if (!start_eal()) return 1;
#else
  std::printf("rte_lpm: not built (no libdpdk-dev at configure time); no peer in this run\n");
#endif
  // Generate the data up front so the first benchmark does not pay for it.
  prefixes(false);
  prefixes(true);
  keys();
  for (bool bgp_like : {false, true}) {
    if (!agrees_with_trie(*build<Poptrie<uint32_t>>(bgp_like), bgp_like, "poptrie")) return 1;
  }
  register_benchmarks();
  SummaryReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                 : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary();
  cached_table.table.reset();
  benchmark::Shutdown();
#ifdef VNET_HAVE_RTE_LPM
  rte_eal_cleanup();
#endif
  return 0;
}
