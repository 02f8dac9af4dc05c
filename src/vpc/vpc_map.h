// Maps keyed by (VPC id, IPv4 address): the vSwitch's route_table (VM -> host), neigh_table
// (VM -> MAC) and port index (VM -> local port).
//
// Two implementations share one interface, so one test script runs against both and random
// operations compare them (tests/unit/vpc/vpc_map_test.cc):
//   * VpcMapReference: a std::map.  Obviously correct; it is the oracle.
//   * VpcMap: open addressing with linear probing over one array of {key, value} slots, the key
//     packed as vpc << 32 | ip, hashed with splitmix64's finaliser; deletion shifts the following
//     entries back (no tombstones), so a lookup of an absent key stops at the first empty slot.
//     The table starts at 16 slots, doubles when it is 3/4 full and never shrinks.  A lookup is one
//     hash and, at the usual load, one or two cache lines.
// Lookup cost depends only on the keys stored (configuration), not on the keys looked up
// (packets), so traffic cannot make probe chains longer.
//
// Example:
//   VpcMap<net::Ipv4Addr> routes;
//   routes.insert({6289, ip("172.16.0.47")}, ip("10.10.1.10"));
//   routes.find({6289, ip("172.16.0.47")}) -> 10.10.1.10; routes.find({6774, ...}) -> nullptr.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace vnet::vpc {

struct VpcIp {
  uint32_t vpc = 0;
  uint32_t ip = 0;  // host order
  uint64_t packed() const { return (static_cast<uint64_t>(vpc) << 32) | ip; }
  static VpcIp unpack(uint64_t k) {
    return VpcIp{static_cast<uint32_t>(k >> 32), static_cast<uint32_t>(k)};
  }
  auto operator<=>(const VpcIp&) const = default;  // NOLINT(modernize-use-nullptr): clang-tidy 14
};

template <typename V>
class VpcMapReference {
 public:
  // Inserts; false (and no change) if the key is present, or is the reserved key (vpc
  // 4294967295's 255.255.255.255, which neither map stores).
  bool insert(VpcIp k, V v) { return !reserved(k) && map_.emplace(k, std::move(v)).second; }
  // Inserts or overwrites.
  void assign(VpcIp k, V v) {
    if (!reserved(k)) map_[k] = std::move(v);
  }
  bool erase(VpcIp k) { return map_.erase(k) > 0; }
  const V* find(VpcIp k) const {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  V* find(VpcIp k) {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }
  size_t size() const { return map_.size(); }
  // Removes every entry of one VPC; returns how many.
  size_t erase_vpc(uint32_t vpc) {
    auto lo = map_.lower_bound(VpcIp{vpc, 0});
    auto hi = vpc == UINT32_MAX ? map_.end() : map_.lower_bound(VpcIp{vpc + 1, 0});
    size_t n = static_cast<size_t>(std::distance(lo, hi));
    map_.erase(lo, hi);
    return n;
  }
  // Every entry in (vpc, ip) order.
  std::vector<std::pair<VpcIp, V>> sorted() const { return {map_.begin(), map_.end()}; }
  // Bytes held, estimated as a red-black tree node per entry.
  size_t memory_bytes() const { return map_.size() * (sizeof(std::pair<const VpcIp, V>) + 32); }

 private:
  static bool reserved(VpcIp k) { return k.packed() == UINT64_MAX; }
  std::map<VpcIp, V> map_;
};

template <typename V>
class VpcMap {
 public:
  VpcMap() { slots_.resize(kMinSlots); }

  // The reserved key (kEmpty) is never stored: insert refuses it, find and erase see nothing.
  bool insert(VpcIp k, V v) {
    uint64_t key = k.packed();
    if (key == kEmpty) return false;
    size_t i = probe(key);
    if (slots_[i].key == key) return false;
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
      i = probe(key);
    }
    slots_[i].key = key;
    slots_[i].value = std::move(v);
    ++size_;
    return true;
  }
  void assign(VpcIp k, V v) {
    if (k.packed() == kEmpty) return;
    if (V* cur = find(k)) {
      *cur = std::move(v);
    } else {
      insert(k, std::move(v));
    }
  }
  bool erase(VpcIp k) {
    uint64_t key = k.packed();
    if (key == kEmpty) return false;
    size_t i = probe(key);
    if (slots_[i].key != key) return false;
    erase_slot(i);
    return true;
  }
  const V* find(VpcIp k) const {
    uint64_t key = k.packed();
    if (key == kEmpty) return nullptr;
    const Slot& s = slots_[probe(key)];
    return s.key == key ? &s.value : nullptr;
  }
  V* find(VpcIp k) { return const_cast<V*>(std::as_const(*this).find(k)); }
  size_t size() const { return size_; }
  size_t erase_vpc(uint32_t vpc) {
    std::vector<VpcIp> keys;
    for (const Slot& s : slots_) {
      if (s.key != kEmpty && static_cast<uint32_t>(s.key >> 32) == vpc) {
        keys.push_back(VpcIp::unpack(s.key));
      }
    }
    for (VpcIp k : keys) erase(k);
    return keys.size();
  }
  std::vector<std::pair<VpcIp, V>> sorted() const {
    std::vector<std::pair<VpcIp, V>> out;
    out.reserve(size_);
    for (const Slot& s : slots_) {
      if (s.key != kEmpty) out.emplace_back(VpcIp::unpack(s.key), s.value);
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot); }
  size_t capacity() const { return slots_.size(); }

  // The key no entry may have: VPC 4294967295's 255.255.255.255 (a broadcast address is never
  // a VM's).
  static constexpr uint64_t kEmpty = UINT64_MAX;
  // A packed key's hash; its home slot is hash & (capacity - 1).
  static uint64_t hash(uint64_t x) {
    // splitmix64's finaliser.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
  }

 private:
  static constexpr size_t kMinSlots = 16;
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };

  size_t mask() const { return slots_.size() - 1; }
  // The slot holding key, or the empty slot where it would go.
  size_t probe(uint64_t key) const {
    size_t i = hash(key) & mask();
    while (slots_[i].key != key && slots_[i].key != kEmpty) i = (i + 1) & mask();
    return i;
  }
  void erase_slot(size_t i) {
    // Backward-shift deletion (Knuth's algorithm R): move later members of the cluster into the
    // hole when their home slot is not between the hole and them.
    size_t hole = i;
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask();
      if (slots_[j].key == kEmpty) break;
      size_t home = hash(slots_[j].key) & mask();
      bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
      if (movable) {
        slots_[hole] = std::move(slots_[j]);
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.size() * 2, Slot{});
    for (Slot& s : old) {
      if (s.key == kEmpty) continue;
      slots_[probe(s.key)] = std::move(s);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace vnet::vpc
