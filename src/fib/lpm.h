// Longest-prefix-match indexes from IPv4 prefixes to small values (usually pointers).
//
// Two implementations share one interface so tests can run the same script against both and
// compare them on random operations (tests/unit/fib/lpm_test.cc):
//   * LpmReference: a std::map probed once per prefix length, 32 down to 0.  Obviously correct,
//     O(33 log n) per lookup; it is the oracle.
//   * LpmTrie: a multibit trie with 8-bit strides (four levels).  Each node has 256 slots; a slot
//     caches the longest prefix *stored in that node* that covers it, plus a child pointer.  A
//     lookup walks at most four nodes and remembers the deepest cached match, so the common case
//     is four dependent loads.  Prefixes of length 8k+1 .. 8k+8 live in the level-k node (length
//     0 lives in the root) and are expanded over 2^(8(k+1)-len) slots.
//
// Both support visiting every matching prefix from longest to shortest (for_each_match), which
// the FIB needs: the kernel backtracks to shorter prefixes when no alias of the longest one fits
// the flow (tos, scope, oif).
//
// Example:
//   LpmTrie<int> t; t.insert(*Prefix::parse_iproute2("10.0.0.0/8"), 1);
//   t.insert(*Prefix::parse_iproute2("10.1.0.0/16"), 2);
//   t.lookup(Ipv4Addr::from_octets(10, 1, 2, 3)) -> 2; then for_each_match visits 2, then 1.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::fib {

template <typename V>
class LpmReference {
 public:
  // Inserts or overwrites.
  void insert(net::Prefix prefix, V value) { map_[key(prefix)] = value; }
  bool erase(net::Prefix prefix) { return map_.erase(key(prefix)) > 0; }
  const V* find(net::Prefix prefix) const {
    auto it = map_.find(key(prefix));
    return it == map_.end() ? nullptr : &it->second;
  }
  std::optional<V> lookup(net::Ipv4Addr addr) const {
    std::optional<V> out;
    for_each_match(addr, [&](net::Prefix, const V& v) {
      out = v;
      return false;
    });
    return out;
  }
  // Calls fn(prefix, value) for each stored prefix covering addr, longest first, until fn
  // returns false.
  template <typename Fn>
  void for_each_match(net::Ipv4Addr addr, Fn&& fn) const {
    for (int len = 32; len >= 0; --len) {
      auto it = map_.find(std::pair{addr.value() & net::prefix_mask(len), len});
      if (it != map_.end() && !fn(net::Prefix(net::Ipv4Addr(it->first.first), len), it->second)) {
        return;
      }
    }
  }
  size_t size() const { return map_.size(); }

 private:
  static std::pair<uint32_t, int> key(net::Prefix p) {
    return {p.addr().value() & p.mask(), p.len()};
  }
  std::map<std::pair<uint32_t, int>, V> map_;
};

template <typename V>
class LpmTrie {
 public:
  LpmTrie() { nodes_.push_back(std::make_unique<Node>()); }

  void insert(net::Prefix prefix, V value) {
    prefix = prefix.network();
    Node* node = node_for(prefix, /*create=*/true);
    for (Stored& s : node->stored) {
      if (s.prefix == prefix) {
        entries_[s.entry].value = value;
        return;
      }
    }
    uint32_t entry = allocate(prefix, value);
    node->stored.push_back({prefix, entry});
    auto [first, count] = slot_range(prefix);
    for (uint32_t i = first; i < first + count; ++i) {
      uint32_t cur = node->slots[i].best;
      if (cur == 0 || entries_[cur - 1].prefix.len() <= prefix.len())
        node->slots[i].best = entry + 1;
    }
    ++size_;
  }

  bool erase(net::Prefix prefix) {
    prefix = prefix.network();
    Node* node = node_for(prefix, /*create=*/false);
    if (node == nullptr) return false;
    auto it = node->stored.begin();
    while (it != node->stored.end() && !(it->prefix == prefix)) ++it;
    if (it == node->stored.end()) return false;
    uint32_t entry = it->entry;
    node->stored.erase(it);
    auto [first, count] = slot_range(prefix);
    for (uint32_t i = first; i < first + count; ++i) {
      if (node->slots[i].best == entry + 1) node->slots[i].best = best_in_node(*node, i, 33);
    }
    free_.push_back(entry);
    --size_;
    return true;
  }

  const V* find(net::Prefix prefix) const {
    prefix = prefix.network();
    const Node* node = const_cast<LpmTrie*>(this)->node_for(prefix, false);
    if (node == nullptr) return nullptr;
    for (const Stored& s : node->stored) {
      if (s.prefix == prefix) return &entries_[s.entry].value;
    }
    return nullptr;
  }

  // The hot path: at most four slot reads.
  std::optional<V> lookup(net::Ipv4Addr addr) const {
    uint32_t best = 0;
    const Node* node = nodes_[0].get();
    uint32_t key = addr.value();
    for (int level = 0; level < 4 && node != nullptr; ++level) {
      const Slot& slot = node->slots[(key >> (24 - 8 * level)) & 0xff];
      if (slot.best != 0) best = slot.best;
      node = child(slot);
    }
    if (best == 0) return std::nullopt;
    return entries_[best - 1].value;
  }

  template <typename Fn>
  void for_each_match(net::Ipv4Addr addr, Fn&& fn) const {
    const Node* path[4] = {nullptr, nullptr, nullptr, nullptr};
    const Node* node = nodes_[0].get();
    uint32_t key = addr.value();
    int depth = 0;
    for (; depth < 4 && node != nullptr; ++depth) {
      path[depth] = node;
      node = child(node->slots[(key >> (24 - 8 * depth)) & 0xff]);
    }
    for (int level = depth - 1; level >= 0; --level) {
      const Node& n = *path[level];
      uint32_t slot = (key >> (24 - 8 * level)) & 0xff;
      // First the cached best, then (rarely needed) shorter ones stored in the same node.
      int below = 33;
      uint32_t e = n.slots[slot].best;
      while (e != 0) {
        const Entry& entry = entries_[e - 1];
        if (!fn(entry.prefix, entry.value)) return;
        below = entry.prefix.len();
        e = best_in_node(n, slot, below);
      }
    }
  }

  size_t size() const { return size_; }

 private:
  struct Node;
  // Eight bytes: the cached match and the child node, both as index + 1 (0 = none), so a
  // 256-slot node is 2 KiB.
  struct Slot {
    uint32_t best = 0;   // entries_ index + 1
    uint32_t child = 0;  // nodes_ index + 1
  };
  struct Stored {
    net::Prefix prefix;
    uint32_t entry;
  };
  struct Node {
    std::array<Slot, 256> slots;
    std::vector<Stored> stored;
  };
  struct Entry {
    net::Prefix prefix;
    V value;
  };

  static int level_of(int len) { return len == 0 ? 0 : (len - 1) / 8; }

  static std::pair<uint32_t, uint32_t> slot_range(net::Prefix p) {
    int level = level_of(p.len());
    int bits_in_level = p.len() - 8 * level;  // 0..8
    uint32_t first = (p.addr().value() >> (24 - 8 * level)) & 0xff;
    uint32_t count = 1u << (8 - bits_in_level);
    return {first & ~(count - 1), count};
  }

  const Node* child(const Slot& slot) const {
    return slot.child == 0 ? nullptr : nodes_[slot.child - 1].get();
  }

  Node* node_for(net::Prefix p, bool create) {
    Node* node = nodes_[0].get();
    int level = level_of(p.len());
    for (int l = 0; l < level; ++l) {
      Slot& slot = node->slots[(p.addr().value() >> (24 - 8 * l)) & 0xff];
      if (slot.child == 0) {
        if (!create) return nullptr;
        // Adding to nodes_ may move the vector's storage, but not the nodes themselves.
        nodes_.push_back(std::make_unique<Node>());
        slot.child = static_cast<uint32_t>(nodes_.size());
      }
      node = nodes_[slot.child - 1].get();
    }
    return node;
  }

  // Longest prefix stored in `node` covering `slot` and shorter than `below`; entry index + 1.
  uint32_t best_in_node(const Node& node, uint32_t slot, int below) const {
    uint32_t best = 0;
    int best_len = -1;
    for (const Stored& s : node.stored) {
      if (s.prefix.len() >= below || s.prefix.len() <= best_len) continue;
      auto [first, count] = slot_range(s.prefix);
      if (slot >= first && slot < first + count) {
        best = s.entry + 1;
        best_len = s.prefix.len();
      }
    }
    return best;
  }

  uint32_t allocate(net::Prefix prefix, V value) {
    if (!free_.empty()) {
      uint32_t e = free_.back();
      free_.pop_back();
      entries_[e] = Entry{prefix, value};
      return e;
    }
    entries_.push_back(Entry{prefix, value});
    return static_cast<uint32_t>(entries_.size() - 1);
  }

  std::vector<std::unique_ptr<Node>> nodes_;  // nodes_[0] is the root
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  size_t size_ = 0;
};

}  // namespace vnet::fib
