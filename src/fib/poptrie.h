// Poptrie: the FIB's fast longest-prefix-match index (Asai and Ohara, "Poptrie: A Compressed
// Trie with Population Count for Fast and Scalable Software IP Routing Table Lookup",
// SIGCOMM 2015), with the same interface as LpmTrie and LpmReference (lpm.h), which stay as its
// oracles in tests/unit/fib/lpm_test.cc.
//
// Layout.
//   * direct_: 2^s entries indexed by the key's top s bits: s = 18 (1 MiB) for a table of more
//     than 2048 prefixes, s = 8 (1 KiB) for small ones, so the thousands of small tables of a
//     simulated topology stay small.  A table switches layout by a full rebuild (at 2048
//     prefixes up, at 256 down).  An entry is either a leaf (kLeaf | entry id, 0 = no route) or
//     the index of the slot's root node.
//   * pool_: the nodes and the leaves, in one array of 4-byte words.  A node is 6 words (24
//     bytes) of stride 6, at bit offsets s, s + 6, ... (for s = 18: 18, 24 and 30; at 30 only
//     two key bits are left, and the bits past 32 read as zero).  `vector` marks the 64
//     positions that have a child, `leafvec` the positions where a run of equal leaves starts.
//     A node's children are contiguous from base1 and its leaves from base0, and both are found
//     by popcount:
//       child = base1 + 6 * (popcount(vector & ((2 << c) - 1)) - 1)
//       leaf  = pool_[base0 + popcount(leafvec & ((2 << c) - 1)) - 1]
//     A leaf is an entry id.  entries_[id] holds the prefix and its value, so a lookup returns
//     both (the FIB needs the prefix to backtrack).
//   * A slot's subtree is written with each node's leaves right after it, the root and its
//     leaves first.  When those fit in a 64-byte line but would straddle two, the root moves to
//     the next line.  In a BGP-shaped table most slots hold one node and a handful of leaves, so
//     a lookup costs one direct read and one cache line, where separate node and leaf arrays
//     cost two lines.
// A lookup in a large table is one direct read, at most three node reads and one leaf read, all of
// them independent of other lookups, so a burst of lookups overlaps its cache misses.
//
// Updates.  The authoritative store is an open-addressing hash of (network, length) -> entry id,
// with a count of prefixes per length.  Each /s slot keeps a linked list (through
// entries_[].next) of its prefixes longer than /s, and short_best_[slot] is the longest prefix
// of length <= s covering it.
//   * Adding or removing a prefix longer than /s rebuilds that one slot's subtree (a few nodes
//     for a BGP table), appended to pool_; the old subtree becomes garbage.
//   * A prefix of length <= s changes short_best_ over 2^(s - len) slots.  A slot with a
//     subtree gets its leaves patched in place: every leaf equal to the old short best becomes
//     the new one.  That keeps leaf runs valid, because the new short best cannot be a leaf of
//     the subtree already (those are its own longer prefixes and the old short best).
//   * When the pool has doubled since the last full build, everything is rebuilt into a fresh
//     pool (a compaction), so updates cost amortised O(size of the slot) and the pool stays
//     within about twice its live part.
// for_each_match takes the longest match from the trie, then probes the hash for each shorter
// length present (the rare backtracking path of fib_lookup).
//
// Not thread-safe: one writer and no concurrent readers during an update, like LpmTrie.
//
// Example:
//   Poptrie<int> t; t.insert(*Prefix::parse_iproute2("10.0.0.0/8"), 1);
//   t.insert(*Prefix::parse_iproute2("10.1.0.0/16"), 2);
//   t.lookup(Ipv4Addr::from_octets(10, 1, 2, 3)) -> 2; then for_each_match visits 2, then 1.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::fib {

// Arrays start on a 64-byte cache line; those of 2 MiB and more are 2 MiB-aligned and advised
// to be backed by transparent huge pages (MADV_HUGEPAGE), so the lookup arrays of a large table
// cost few TLB misses.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;
  static constexpr std::align_val_t kLine{64};
  // T may be a pointer (the FIB's values are): its own size is meant.
  static constexpr size_t kSize = sizeof(T);  // NOLINT(bugprone-sizeof-expression)
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) {
    const size_t bytes = n * kSize;
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes, kLine));
    const size_t rounded = (bytes + kHuge - 1) & ~(kHuge - 1);
    void* p = std::aligned_alloc(kHuge, rounded);
    if (p == nullptr) throw std::bad_alloc();
    (void)madvise(p, rounded, MADV_HUGEPAGE);  // advice only: fine if THP is off
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * kSize < kHuge) {
      ::operator delete(p, kLine);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename V>
class Poptrie {
 public:
  // The direct table's index width: small tables use kSmallBits (3 KiB of arrays), and a table
  // switches to kLargeBits when it grows past kGrowAt prefixes (back below kShrinkAt).
  static constexpr int kSmallBits = 8;
  static constexpr int kLargeBits = 18;
  static constexpr size_t kGrowAt = 2048;
  static constexpr size_t kShrinkAt = 256;

  Poptrie() : entries_(1), values_(1), hash_(kInitialHash, 0) { relayout(kSmallBits); }

  // Inserts or overwrites.
  void insert(net::Prefix prefix, V value) {
    prefix = prefix.network();
    const uint32_t net = prefix.addr().value();
    const int len = prefix.len();
    if (uint32_t id = hash_find(net, len); id != 0) {
      values_[id] = value;
      return;
    }
    const uint32_t id = allocate(value, net, len);
    hash_insert(id);
    ++size_;
    ++length_count_[len];
    if (bits_ == kSmallBits && size_ > kGrowAt) {
      relayout(kLargeBits);
      return;
    }
    add_to_trie(id);
    maybe_compact();
  }

  bool erase(net::Prefix prefix) {
    prefix = prefix.network();
    const uint32_t net = prefix.addr().value();
    const int len = prefix.len();
    const uint32_t id = hash_find(net, len);
    if (id == 0) return false;
    hash_erase(id);
    --size_;
    --length_count_[len];
    if (bits_ == kLargeBits && size_ < kShrinkAt) {
      release(id);
      relayout(kSmallBits);
      return true;
    }
    if (len > bits_) {
      const uint32_t slot = net >> shift_;
      uint32_t* link = &long_head_[slot];
      while (*link != id) link = &entries_[*link].next;
      *link = entries_[id].next;
      rebuild_slot(slot);
    } else {
      const uint32_t first = net >> shift_;
      const uint32_t count = 1u << (bits_ - len);
      for (uint32_t s = first; s < first + count; ++s) {
        if (short_best_[s] == id) set_short_best(s, best_short_covering(s, len - 1));
      }
    }
    release(id);
    maybe_compact();
    return true;
  }

  const V* find(net::Prefix prefix) const {
    prefix = prefix.network();
    uint32_t id = hash_find(prefix.addr().value(), prefix.len());
    return id == 0 ? nullptr : &values_[id];
  }

  // The hot path.
  std::optional<V> lookup(net::Ipv4Addr addr) const {
    uint32_t id = lookup_id(addr.value());
    if (id == 0) return std::nullopt;
    return values_[id];
  }

  // Handles: lookup_handle() and lookup_burst() return an entry id (0: no route) that stays
  // valid until the next update; value() and prefix() read it.
  uint32_t lookup_handle(net::Ipv4Addr addr) const { return lookup_id(addr.value()); }
  const V& value(uint32_t handle) const { return values_[handle]; }
  net::Prefix prefix(uint32_t handle) const {
    return net::Prefix(net::Ipv4Addr(entries_[handle].net), entries_[handle].len);
  }

  // Looks up keys[0..n) (host byte order) into handles[0..n).  The keys go through the trie
  // level by level in groups of kBurstGroup, with every load of a level prefetched before any is
  // used, so a group's cache misses overlap instead of queueing behind each other.
  static constexpr size_t kBurstGroup = 32;
  void lookup_burst(const uint32_t* keys, uint32_t* handles, size_t n) const {
    for (size_t base = 0; base < n; base += kBurstGroup) {
      const size_t m = std::min(kBurstGroup, n - base);
      burst_group(keys + base, handles + base, m);
    }
  }

  // Calls fn(prefix, value) for each stored prefix covering addr, longest first, until fn
  // returns false.
  template <typename Fn>
  void for_each_match(net::Ipv4Addr addr, Fn&& fn) const {
    uint32_t id = lookup_id(addr.value());
    if (id == 0) return;
    const Entry* e = &entries_[id];
    if (!fn(net::Prefix(net::Ipv4Addr(e->net), e->len), values_[id])) return;
    for (int len = e->len - 1; len >= 0; --len) {
      if (length_count_[len] == 0) continue;
      uint32_t shorter = hash_find(addr.value() & net::prefix_mask(len), len);
      if (shorter == 0) continue;
      e = &entries_[shorter];
      if (!fn(net::Prefix(net::Ipv4Addr(e->net), e->len), values_[shorter])) return;
    }
  }

  size_t size() const { return size_; }

  // Bytes held by the index's arrays (capacity, not just the used part).
  size_t memory_bytes() const {
    return (direct_.capacity() + short_best_.capacity() + long_head_.capacity() + pool_.capacity() +
            hash_.capacity() + free_.capacity()) *
               sizeof(uint32_t) +
           entries_.capacity() * sizeof(Entry) +
           values_.capacity() * sizeof(V) +  // NOLINT(bugprone-sizeof-expression)
           scratch_.capacity() * sizeof(uint32_t);
  }
  size_t node_count() const { return live_nodes_; }
  size_t leaf_count() const { return live_leaves_; }
  size_t compactions() const { return compactions_; }
  int direct_bits() const { return bits_; }
  size_t relayouts() const { return relayouts_; }

 private:
  static constexpr uint32_t kLeaf = 0x80000000u;
  static constexpr int kStride = 6;
  static constexpr size_t kInitialHash = 64;

  // A node as it sits in pool_ (6 words, 4-byte aligned: read and written with memcpy).
  struct Node {
    uint64_t vector;   // positions with a child
    uint64_t leafvec;  // leaf positions where a run of equal leaves starts
    uint32_t base0;    // first leaf in pool_
    uint32_t base1;    // first child in pool_
  };
  static constexpr uint32_t kNodeWords = sizeof(Node) / sizeof(uint32_t);
  static_assert(sizeof(Node) == 24);
  static constexpr size_t kLineWords = 16;  // 64 bytes
  struct Entry {
    uint32_t net = 0;
    uint32_t next = 0;  // the slot's list of longer prefixes, or the free list
    uint8_t len = 0;
  };

  // Bits off .. off+5 of key (bit 0 is the most significant); bits past 32 read as zero.
  static uint32_t extract(uint32_t key, int off) {
    return static_cast<uint32_t>((static_cast<uint64_t>(key) << (32 + off)) >> 58);
  }

  uint32_t lookup_id(uint32_t key) const {
    const uint32_t d = direct_[key >> shift_];
    if (d & kLeaf) return d & ~kLeaf;
    return descend(d, key);
  }

  // The rest of a lookup from the slot's root node d.
  uint32_t descend(uint32_t d, uint32_t key) const {
    uint64_t bits = static_cast<uint64_t>(key) << (32 + bits_);
    for (;;) {
      const uint32_t* n = &pool_[d];
      const uint64_t c = bits >> 58;
      const uint64_t upto = (uint64_t{2} << c) - 1;  // c = 63: 2 << 63 wraps to 0, all ones
      uint64_t vector;
      std::memcpy(&vector, n, sizeof vector);
      if (vector & (uint64_t{1} << c)) {
        d = n[5] + kNodeWords * (static_cast<uint32_t>(std::popcount(vector & upto)) - 1);
        bits <<= kStride;
        continue;
      }
      uint64_t leafvec;
      std::memcpy(&leafvec, n + 2, sizeof leafvec);
      return pool_[n[4] + static_cast<uint32_t>(std::popcount(leafvec & upto)) - 1];
    }
  }

  // One group of lookup_burst: the direct entries are prefetched, then read; for each key that
  // goes on to a node, the node's line (where its leaves usually are too) is prefetched, and then
  // those keys descend.  The values of the answers are prefetched as they come.
  void burst_group(const uint32_t* keys, uint32_t* out, size_t m) const {
    uint32_t node[kBurstGroup];
    uint8_t index[kBurstGroup];
    size_t pending = 0;
    for (size_t i = 0; i < m; ++i) __builtin_prefetch(&direct_[keys[i] >> shift_]);
    for (size_t i = 0; i < m; ++i) {
      const uint32_t d = direct_[keys[i] >> shift_];
      out[i] = d & ~kLeaf;
      if (d & kLeaf) {
        __builtin_prefetch(&values_[d & ~kLeaf]);  // every caller reads the value next
      } else {
        __builtin_prefetch(&pool_[d]);
        node[pending] = d;
        index[pending++] = static_cast<uint8_t>(i);
      }
    }
    for (size_t j = 0; j < pending; ++j) {
      const uint32_t id = descend(node[j], keys[index[j]]);
      __builtin_prefetch(&values_[id]);
      out[index[j]] = id;
    }
  }

  // ---- entries ----
  uint32_t allocate(V value, uint32_t net, int len) {
    uint32_t id;
    if (!free_.empty()) {
      id = free_.back();
      free_.pop_back();
    } else {
      id = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back();
      values_.emplace_back();
    }
    entries_[id] = Entry{net, 0, static_cast<uint8_t>(len)};
    values_[id] = value;
    return id;
  }
  void release(uint32_t id) {
    entries_[id] = Entry{};
    values_[id] = V{};
    free_.push_back(id);
  }

  // ---- the authoritative hash: linear probing over entry ids (0 = empty) ----
  size_t home(uint32_t net, int len) const {
    uint64_t k =
        (static_cast<uint64_t>(net) << 6 | static_cast<uint64_t>(len)) * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(k >> 32) & (hash_.size() - 1);
  }
  uint32_t hash_find(uint32_t net, int len) const {
    const size_t mask = hash_.size() - 1;
    for (size_t i = home(net, len);; i = (i + 1) & mask) {
      uint32_t id = hash_[i];
      if (id == 0) return 0;
      if (entries_[id].net == net && entries_[id].len == len) return id;
    }
  }
  void hash_place(uint32_t id) {
    const size_t mask = hash_.size() - 1;
    size_t i = home(entries_[id].net, entries_[id].len);
    while (hash_[i] != 0) i = (i + 1) & mask;
    hash_[i] = id;
  }
  void hash_insert(uint32_t id) {
    if ((size_ + 1) * 2 > hash_.size()) {
      std::vector<uint32_t> old(hash_.size() * 2, 0);
      old.swap(hash_);
      for (uint32_t e : old) {
        if (e != 0) hash_place(e);
      }
    }
    hash_place(id);
  }
  void hash_erase(uint32_t id) {
    const size_t mask = hash_.size() - 1;
    size_t i = home(entries_[id].net, entries_[id].len);
    while (hash_[i] != id) i = (i + 1) & mask;
    // Backward-shift deletion: pull later members of the probe run into the hole.
    for (size_t j = (i + 1) & mask; hash_[j] != 0; j = (j + 1) & mask) {
      size_t k = home(entries_[hash_[j]].net, entries_[hash_[j]].len);
      bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
      if (movable) {
        hash_[i] = hash_[j];
        i = j;
      }
    }
    hash_[i] = 0;
  }

  // The longest prefix of length <= max_len (and <= bits_) covering the slot, or 0.
  uint32_t best_short_covering(uint32_t slot, int max_len) const {
    const uint32_t addr = slot << shift_;
    for (int len = max_len; len >= 0; --len) {
      if (length_count_[len] == 0) continue;
      if (uint32_t id = hash_find(addr & net::prefix_mask(len), len); id != 0) return id;
    }
    return 0;
  }

  // ---- the trie ----
  Node node_at(uint32_t n) const {
    Node node;
    std::memcpy(&node, &pool_[n], sizeof node);
    return node;
  }
  void set_node(uint32_t n, const Node& node) { std::memcpy(&pool_[n], &node, sizeof node); }

  void set_short_best(uint32_t slot, uint32_t id) {
    const uint32_t old = short_best_[slot];
    short_best_[slot] = id;
    const uint32_t d = direct_[slot];
    if (d & kLeaf) {
      direct_[slot] = kLeaf | id;
    } else {
      patch(d, old, id);
    }
  }

  // Replaces leaf value `from` by `to` throughout the subtree at node n.
  void patch(uint32_t n, uint32_t from, uint32_t to) {
    const Node node = node_at(n);
    const uint32_t leaves = static_cast<uint32_t>(std::popcount(node.leafvec));
    for (uint32_t i = 0; i < leaves; ++i) {
      if (pool_[node.base0 + i] == from) pool_[node.base0 + i] = to;
    }
    const uint32_t children = static_cast<uint32_t>(std::popcount(node.vector));
    for (uint32_t i = 0; i < children; ++i) patch(node.base1 + kNodeWords * i, from, to);
  }

  // Adds the subtree at node n (nodes and leaves) to the garbage count.
  void discard(uint32_t n) {
    const Node node = node_at(n);
    const auto leaves = static_cast<size_t>(std::popcount(node.leafvec));
    --live_nodes_;
    live_leaves_ -= leaves;
    const uint32_t children = static_cast<uint32_t>(std::popcount(node.vector));
    for (uint32_t i = 0; i < children; ++i) discard(node.base1 + kNodeWords * i);
  }

  void rebuild_slot(uint32_t slot) {
    const uint32_t d = direct_[slot];
    if (!(d & kLeaf)) discard(d);
    if (long_head_[slot] == 0) {
      direct_[slot] = kLeaf | short_best_[slot];
      return;
    }
    scratch_.clear();
    for (uint32_t id = long_head_[slot]; id != 0; id = entries_[id].next) scratch_.push_back(id);
    std::sort(scratch_.begin(), scratch_.end(), [&](uint32_t a, uint32_t b) {
      return entries_[a].net != entries_[b].net ? entries_[a].net < entries_[b].net
                                                : entries_[a].len < entries_[b].len;
    });
    direct_[slot] = build(kNewRoot, bits_, short_best_[slot], 0, scratch_.size());
  }

  // Fills node n at bit offset off from scratch_[first, last): the prefixes inside the node's
  // range sorted by network, some of them too short for it (length <= off; ignored).
  // `inherited` is the leaf for positions no prefix of this node covers.
  // n = kNewRoot: the slot's root, placed here so that it and its leaves share a cache line
  // when they fit in one.  Returns n.
  static constexpr uint32_t kNewRoot = ~uint32_t{0};
  uint32_t build(uint32_t n, int off, uint32_t inherited, size_t first, size_t last) {
    uint32_t leaf[64];
    uint8_t leaf_len[64];
    std::fill(std::begin(leaf), std::end(leaf), inherited);
    std::fill(std::begin(leaf_len), std::end(leaf_len), uint8_t{0});
    uint64_t vector = 0;
    for (size_t i = first; i < last; ++i) {
      const Entry& e = entries_[scratch_[i]];
      if (e.len <= off) continue;
      const uint32_t c = extract(e.net, off);
      if (e.len > off + kStride) {
        vector |= uint64_t{1} << c;
        continue;
      }
      const uint32_t span = 1u << (off + kStride - e.len);
      for (uint32_t k = c & ~(span - 1); k < (c & ~(span - 1)) + span; ++k) {
        if (e.len > leaf_len[k]) {
          leaf[k] = scratch_[i];
          leaf_len[k] = e.len;
        }
      }
    }
    if (pool_.size() + size_t{64} * (kNodeWords + 1) >= kLeaf) {
      std::abort();  // 2^31 words (8 GiB): the direct entries' leaf flag would overflow
    }
    uint64_t leafvec = 0;
    uint32_t runs[64];
    size_t run_count = 0;
    for (uint32_t c = 0; c < 64; ++c) {
      if (vector >> c & 1) continue;
      if (run_count == 0 || leaf[c] != runs[run_count - 1]) {
        leafvec |= uint64_t{1} << c;
        runs[run_count++] = leaf[c];
      }
    }
    // The root, its padding, its leaves and its children, at most.
    reserve_pool(kLineWords + size_t{65} * kNodeWords + run_count);
    if (n == kNewRoot) {
      const size_t block = kNodeWords + run_count;
      const size_t used = pool_.size() % kLineWords;
      if (block <= kLineWords && used + block > kLineWords) {
        pool_.resize(pool_.size() + kLineWords - used);  // start a line rather than straddle
      }
      n = static_cast<uint32_t>(pool_.size());
      pool_.resize(pool_.size() + kNodeWords);
    }
    const auto base0 = static_cast<uint32_t>(pool_.size());
    pool_.insert(pool_.end(), runs, runs + run_count);
    ++live_nodes_;
    live_leaves_ += static_cast<size_t>(std::popcount(leafvec));
    const auto base1 = static_cast<uint32_t>(pool_.size());
    pool_.resize(pool_.size() + kNodeWords * static_cast<size_t>(std::popcount(vector)));
    set_node(n, Node{vector, leafvec, base0, base1});
    // Children in position order; their prefixes are contiguous in scratch_ (sorted by network).
    size_t i = first;
    uint32_t child = base1;
    for (uint64_t rest = vector; rest != 0; rest &= rest - 1) {
      const auto c = static_cast<uint32_t>(std::countr_zero(rest));
      while (i < last && extract(entries_[scratch_[i]].net, off) < c) ++i;
      size_t j = i;
      while (j < last && extract(entries_[scratch_[j]].net, off) == c) ++j;
      build(child, off + kStride, leaf[c], i, j);
      child += kNodeWords;
      i = j;
    }
    return n;
  }

  // Links a new entry into the trie: a longer prefix into its slot's list (and rebuilds the
  // slot), a shorter one into short_best_ of the slots it covers.
  void add_to_trie(uint32_t id) {
    const uint32_t net = entries_[id].net;
    const int len = entries_[id].len;
    if (len > bits_) {
      const uint32_t slot = net >> shift_;
      entries_[id].next = long_head_[slot];
      long_head_[slot] = id;
      rebuild_slot(slot);
      return;
    }
    const uint32_t first = net >> shift_;
    const uint32_t count = 1u << (bits_ - len);
    for (uint32_t s = first; s < first + count; ++s) {
      uint32_t cur = short_best_[s];
      if (cur == 0 || entries_[cur].len < len) set_short_best(s, id);
    }
  }

  // Rebuilds the whole trie with a direct table of 2^bits entries from the hash.
  void relayout(int bits) {
    ++relayouts_;
    bits_ = bits;
    shift_ = 32 - bits;
    const size_t slots = size_t{1} << bits;
    std::vector<uint32_t, HugePageAllocator<uint32_t>>(slots, kLeaf).swap(direct_);
    std::vector<uint32_t>(slots, 0).swap(short_best_);
    std::vector<uint32_t>(slots, 0).swap(long_head_);
    clear_pool();
    // Short prefixes first, shortest first, so each slot ends with its longest cover; then the
    // longer ones go into their lists, and each slot with a list is built once.
    std::vector<uint32_t> ids;
    ids.reserve(size_);
    for (uint32_t id : hash_) {
      if (id != 0) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end(),
              [&](uint32_t a, uint32_t b) { return entries_[a].len < entries_[b].len; });
    for (uint32_t id : ids) {
      const Entry& e = entries_[id];
      const uint32_t first = e.net >> shift_;
      if (e.len > bits_) {
        entries_[id].next = long_head_[first];
        long_head_[first] = id;
        continue;
      }
      const uint32_t count = 1u << (bits_ - e.len);
      std::fill(short_best_.begin() + first, short_best_.begin() + first + count, id);
    }
    for (uint32_t s = 0; s < slots; ++s) {
      direct_[s] = kLeaf | short_best_[s];
      if (long_head_[s] != 0) rebuild_slot(s);
    }
    compacted_words_ = pool_.size();
  }

  // Makes room for n more words.  The pool grows by a quarter, not by std::vector's doubling,
  // so that a large table holds little slack.
  void reserve_pool(size_t n) {
    if (pool_.capacity() - pool_.size() >= n) return;
    pool_.reserve(pool_.size() + std::max(n, pool_.size() / 4));
  }

  void clear_pool() {
    decltype(pool_)().swap(pool_);
    live_nodes_ = 0;
    live_leaves_ = 0;
  }

  // Rebuilds every subtree into a fresh pool once the pool has doubled since the last time.
  void maybe_compact() {
    // The pool only grows (discarded subtrees and their padding stay until a compaction):
    // compacting when it has doubled since the last one bounds it at twice the live part.
    if (pool_.size() < 32768 || pool_.size() < 2 * compacted_words_) return;
    ++compactions_;
    clear_pool();
    for (uint32_t s = 0; s < long_head_.size(); ++s) {
      if (long_head_[s] == 0) continue;
      direct_[s] = kLeaf;  // nothing to discard: the old arrays are gone
      rebuild_slot(s);
    }
    compacted_words_ = pool_.size();
  }

  int bits_ = 0;    // the direct table has 2^bits_ entries
  int shift_ = 32;  // 32 - bits_
  std::vector<uint32_t, HugePageAllocator<uint32_t>> direct_;
  std::vector<uint32_t> short_best_;
  std::vector<uint32_t> long_head_;
  std::vector<uint32_t, HugePageAllocator<uint32_t>> pool_;
  // Per entry id, the prefix (entries_) and the value (values_, apart so that the hot path reads
  // a dense array).  Id 0 is unused: it means "no route".
  std::vector<Entry> entries_;
  std::vector<V, HugePageAllocator<V>> values_;
  std::vector<uint32_t> free_;
  std::vector<uint32_t> hash_;
  std::vector<uint32_t> scratch_;
  size_t size_ = 0;
  size_t live_nodes_ = 0;
  size_t live_leaves_ = 0;
  size_t compacted_words_ = 0;  // pool_.size() after the last relayout or compaction
  size_t compactions_ = 0;
  size_t relayouts_ = 0;
  uint32_t length_count_[33] = {};
};

}  // namespace vnet::fib
