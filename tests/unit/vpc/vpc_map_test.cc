// The (VPC, IP) maps (vpc/vpc_map.h): one scripted test that both implementations run, a long
// randomised comparison of VpcMap with its std::map oracle over key spaces small enough that
// probe clusters form, grow and are torn down by backward-shift deletion, clusters built on
// purpose around the end of the slot array, and growth across several doublings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vpc/vpc_map.h"

namespace vnet::vpc {
namespace {

constexpr uint32_t kMaxVpc = UINT32_MAX;

constexpr uint32_t ipv4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

template <typename Map>
class VpcMapScript : public ::testing::Test {};

using Implementations = ::testing::Types<VpcMap<uint32_t>, VpcMapReference<uint32_t>>;

class ImplementationName {
 public:
  template <typename T>
  static std::string GetName(int) {  // NOLINT(readability-identifier-naming): gtest's name
    return std::is_same_v<T, VpcMap<uint32_t>> ? "VpcMap" : "VpcMapReference";
  }
};

TYPED_TEST_SUITE(VpcMapScript, Implementations, ImplementationName);

TYPED_TEST(VpcMapScript, SharedScript) {
  TypeParam m;
  const VpcIp a{6289, ipv4(172, 16, 0, 47)};
  const VpcIp a_other_vpc{6774, ipv4(172, 16, 0, 47)};  // the same address in another VPC
  const VpcIp vpc0_first{0, ipv4(0, 0, 0, 1)};
  const VpcIp vpc0_zero{0, 0};  // packed key 0
  const VpcIp max_vpc{kMaxVpc, ipv4(10, 0, 1, 141)};
  const VpcIp max_vpc_high{kMaxVpc, ipv4(255, 255, 255, 254)};  // next to the reserved key

  // Empty.
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.find(a), nullptr);
  EXPECT_FALSE(m.erase(a));
  EXPECT_EQ(m.erase_vpc(6289), 0u);
  EXPECT_TRUE(m.sorted().empty());

  // Insert, and a duplicate insert changes nothing.
  EXPECT_TRUE(m.insert(a, 100));
  EXPECT_FALSE(m.insert(a, 200));
  ASSERT_NE(m.find(a), nullptr);
  EXPECT_EQ(*m.find(a), 100u);
  EXPECT_EQ(m.size(), 1u);

  // Equal addresses in different VPCs are different keys.
  EXPECT_EQ(m.find(a_other_vpc), nullptr);
  EXPECT_TRUE(m.insert(a_other_vpc, 300));
  EXPECT_EQ(*m.find(a), 100u);
  EXPECT_EQ(*m.find(a_other_vpc), 300u);

  // The edges of the key space.
  EXPECT_TRUE(m.insert(vpc0_first, 1));
  EXPECT_TRUE(m.insert(vpc0_zero, 2));
  EXPECT_TRUE(m.insert(max_vpc, 3));
  EXPECT_TRUE(m.insert(max_vpc_high, 4));
  EXPECT_FALSE(m.insert(vpc0_zero, 22));
  EXPECT_EQ(m.size(), 6u);
  EXPECT_EQ(*m.find(vpc0_first), 1u);
  EXPECT_EQ(*m.find(vpc0_zero), 2u);
  EXPECT_EQ(*m.find(max_vpc), 3u);
  EXPECT_EQ(*m.find(max_vpc_high), 4u);
  EXPECT_EQ(m.find(VpcIp{1, ipv4(0, 0, 0, 1)}), nullptr);
  EXPECT_EQ(m.find(VpcIp{kMaxVpc - 1, ipv4(10, 0, 1, 141)}), nullptr);

  // assign overwrites or inserts.
  m.assign(a, 101);
  EXPECT_EQ(*m.find(a), 101u);
  EXPECT_EQ(*m.find(a_other_vpc), 300u);
  m.assign(VpcIp{6289, ipv4(10, 0, 1, 141)}, 5);
  EXPECT_EQ(m.size(), 7u);

  // find() gives a pointer to the stored value.
  *m.find(max_vpc) = 33;
  EXPECT_EQ(*m.find(max_vpc), 33u);
  const TypeParam& cm = m;
  ASSERT_NE(cm.find(max_vpc), nullptr);
  EXPECT_EQ(*cm.find(max_vpc), 33u);

  // sorted(): (vpc, ip) order, VPC 0 first and VPC 4294967295 last.
  std::vector<std::pair<VpcIp, uint32_t>> want = {
      {vpc0_zero, 2},    {vpc0_first, 1},    {VpcIp{6289, ipv4(10, 0, 1, 141)}, 5},
      {a, 101},          {a_other_vpc, 300}, {max_vpc, 33},
      {max_vpc_high, 4},
  };
  EXPECT_EQ(m.sorted(), want);

  // erase: once.
  EXPECT_TRUE(m.erase(a));
  EXPECT_FALSE(m.erase(a));
  EXPECT_EQ(m.find(a), nullptr);
  EXPECT_EQ(*m.find(a_other_vpc), 300u);
  EXPECT_EQ(m.size(), 6u);

  // erase_vpc removes one VPC's entries, the last VPC included.
  EXPECT_EQ(m.erase_vpc(kMaxVpc), 2u);
  EXPECT_EQ(m.find(max_vpc), nullptr);
  EXPECT_EQ(m.find(max_vpc_high), nullptr);
  EXPECT_EQ(m.erase_vpc(kMaxVpc), 0u);
  EXPECT_EQ(m.erase_vpc(12345), 0u);
  EXPECT_EQ(m.erase_vpc(0), 2u);
  EXPECT_EQ(m.size(), 2u);
  want = {{VpcIp{6289, ipv4(10, 0, 1, 141)}, 5}, {a_other_vpc, 300}};
  EXPECT_EQ(m.sorted(), want);

  // Erased keys can come back.
  EXPECT_TRUE(m.insert(a, 7));
  EXPECT_TRUE(m.insert(max_vpc, 8));
  EXPECT_EQ(*m.find(a), 7u);
  EXPECT_EQ(*m.find(max_vpc), 8u);
  EXPECT_EQ(m.size(), 4u);
}

// A key space of `vpcs` x `ips` keys, with VPCs and addresses that share bits, so that equal
// addresses in different VPCs (and VPC 0 and 4294967295) are common.
struct KeySpace {
  std::vector<uint32_t> vpcs;
  std::vector<uint32_t> ips;
  VpcIp draw(std::mt19937_64& rng) const {
    return VpcIp{vpcs[rng() % vpcs.size()], ips[rng() % ips.size()]};
  }
};

KeySpace key_space(std::mt19937_64& rng, size_t n_vpcs, size_t n_ips) {
  KeySpace ks;
  std::vector<uint32_t> vpc_pool = {0, 1, 2, 6289, 6774, kMaxVpc - 1, kMaxVpc};
  for (size_t i = 0; i < n_vpcs; ++i) {
    ks.vpcs.push_back(i < vpc_pool.size() ? vpc_pool[i] : static_cast<uint32_t>(rng()));
  }
  for (size_t i = 0; i < n_ips; ++i) {
    switch (i % 4) {
      case 0:
        ks.ips.push_back(ipv4(10, 0, 1, 0) + static_cast<uint32_t>(i));
        break;
      case 1:
        ks.ips.push_back(static_cast<uint32_t>(i));  // 0.0.0.1 ...
        break;
      case 2:
        ks.ips.push_back(ipv4(255, 255, 255, 254) - static_cast<uint32_t>(i));
        break;
      default:
        ks.ips.push_back(static_cast<uint32_t>(rng()) | 1u);  // never 255.255.255.255
        break;
    }
  }
  return ks;
}

// 200,000 random operations on both maps, compared after each; one phase per key space, each
// phase with fresh maps that fill up to near the growth threshold and drain again, so that long
// clusters form and deletions in their middle must shift the rest back correctly.
TEST(VpcMapRandom, MatchesReference) {
  std::mt19937_64 rng(4);
  const std::vector<std::pair<size_t, size_t>> phases = {
      {1, 12}, {2, 12}, {3, 8},  {1, 24},  {4, 24},  {2, 48},
      {7, 16}, {3, 64}, {5, 40}, {7, 100}, {2, 500}, {7, 300},
  };
  const size_t kOps = 200'000;
  size_t done = 0;
  for (size_t phase = 0; phase < phases.size(); ++phase) {
    KeySpace ks = key_space(rng, phases[phase].first, phases[phase].second);
    const size_t keys = ks.vpcs.size() * ks.ips.size();
    VpcMap<uint32_t> m;
    VpcMapReference<uint32_t> ref;
    const size_t ops = phase + 1 == phases.size() ? kOps - done : kOps / phases.size();
    bool filling = true;
    for (size_t op = 0; op < ops; ++op, ++done) {
      SCOPED_TRACE(testing::Message() << "phase " << phase << " op " << op);
      // Alternate between filling (mostly inserts) and draining (mostly erases).
      if (ref.size() * 10 >= keys * 9) filling = false;
      if (ref.size() * 10 <= keys) filling = true;
      VpcIp k = ks.draw(rng);
      auto v = static_cast<uint32_t>(rng());
      unsigned what = static_cast<unsigned>(rng() % 100);
      if (what < 40) {
        bool grow = filling;
        if (grow) {
          ASSERT_EQ(m.insert(k, v), ref.insert(k, v));
        } else {
          ASSERT_EQ(m.erase(k), ref.erase(k));
        }
      } else if (what < 60) {
        if (filling) {
          ASSERT_EQ(m.erase(k), ref.erase(k));
        } else {
          ASSERT_EQ(m.insert(k, v), ref.insert(k, v));
        }
      } else if (what < 75) {
        m.assign(k, v);
        ref.assign(k, v);
      } else if (what < 80) {
        // Change a value through find().
        uint32_t* mv = m.find(k);
        uint32_t* rv = ref.find(k);
        ASSERT_EQ(mv == nullptr, rv == nullptr);
        if (mv != nullptr) {
          *mv = v;
          *rv = v;
        }
      } else if (what < 81) {
        uint32_t vpc = ks.vpcs[rng() % ks.vpcs.size()];
        ASSERT_EQ(m.erase_vpc(vpc), ref.erase_vpc(vpc));
      } else if (what < 99) {
        // Erase a key that is present (tried a few times), so erasures hit clusters often.
        for (int tries = 0; tries < 8 && ref.find(k) == nullptr; ++tries) k = ks.draw(rng);
        ASSERT_EQ(m.erase(k), ref.erase(k));
      } else {
        ASSERT_EQ(m.sorted(), ref.sorted());
      }
      ASSERT_EQ(m.size(), ref.size());
      ASSERT_LE(m.size() * 4, m.capacity() * 3);
      for (int probe = 0; probe < 4; ++probe) {
        VpcIp q = ks.draw(rng);
        const uint32_t* mv = m.find(q);
        const uint32_t* rv = ref.find(q);
        ASSERT_EQ(mv == nullptr, rv == nullptr) << "vpc " << q.vpc << " ip " << q.ip;
        if (mv != nullptr) {
          ASSERT_EQ(*mv, *rv);
        }
      }
    }
    ASSERT_EQ(m.sorted(), ref.sorted());
    // Every key of the space, not only the sampled ones.
    for (uint32_t vpc : ks.vpcs) {
      for (uint32_t ip : ks.ips) {
        ASSERT_EQ(m.find({vpc, ip}) == nullptr, ref.find({vpc, ip}) == nullptr);
      }
    }
  }
  EXPECT_EQ(done, kOps);
}

// Keys of VPC 6289 whose home slot in a 16-slot table is `home`.
std::vector<VpcIp> keys_with_home(size_t home, size_t n) {
  std::vector<VpcIp> out;
  for (uint32_t ip = 1; out.size() < n; ++ip) {
    VpcIp k{6289, ip};
    if ((VpcMap<uint32_t>::hash(k.packed()) & 15) == home) out.push_back(k);
  }
  return out;
}

// Clusters that wrap from the last slot to the first, built from keys with chosen home slots,
// then deleted in every rotation of their insertion order: the case where backward-shift
// deletion compares positions across the wrap.
TEST(VpcMapClusters, WrappedClusterDeletion) {
  std::vector<VpcIp> keys;
  for (size_t home : {13u, 14u, 15u, 15u, 0u, 14u, 1u, 15u, 0u, 13u, 2u}) {
    keys.push_back(keys_with_home(home, 4)[keys.size() % 4]);
  }
  // Distinct keys (homes repeat, the picks differ).
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  ASSERT_LE(keys.size(), 12u);  // stays within 16 slots: 12 * 4 <= 16 * 3
  for (size_t rotation = 0; rotation < keys.size(); ++rotation) {
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(testing::Message() << "rotation " << rotation << " reverse " << reverse);
      VpcMap<uint32_t> m;
      VpcMapReference<uint32_t> ref;
      std::vector<VpcIp> order = keys;
      std::rotate(order.begin(), order.begin() + static_cast<long>(rotation), order.end());
      if (reverse) std::reverse(order.begin(), order.end());
      for (size_t i = 0; i < order.size(); ++i) {
        ASSERT_TRUE(m.insert(order[i], static_cast<uint32_t>(i)));
        ref.insert(order[i], static_cast<uint32_t>(i));
      }
      ASSERT_EQ(m.capacity(), 16u);
      // Delete in another order: every second key first, then the rest.
      std::vector<VpcIp> del;
      for (size_t i = 0; i < order.size(); i += 2)
        del.push_back(order[(i + rotation) % order.size()]);
      for (size_t i = 1; i < order.size(); i += 2)
        del.push_back(order[(i + rotation) % order.size()]);
      for (VpcIp k : del) {
        ASSERT_TRUE(m.erase(k));
        ref.erase(k);
        for (VpcIp q : keys) {
          const uint32_t* mv = m.find(q);
          const uint32_t* rv = ref.find(q);
          ASSERT_EQ(mv == nullptr, rv == nullptr) << "ip " << q.ip;
          if (mv != nullptr) {
            ASSERT_EQ(*mv, *rv);
          }
        }
        ASSERT_EQ(m.sorted(), ref.sorted());
      }
      EXPECT_EQ(m.size(), 0u);
    }
  }
}

// Growth: 16 slots, doubling when an insert would pass 3/4; every key stays findable across each
// doubling; the table never shrinks.
TEST(VpcMapGrowth, DoublesAtThreeQuarters) {
  VpcMap<uint32_t> m;
  EXPECT_EQ(m.capacity(), 16u);
  std::mt19937_64 rng(44);
  std::vector<VpcIp> keys;
  size_t doublings = 0;
  size_t cap = m.capacity();
  for (uint32_t i = 0; i < 50'000; ++i) {
    // Clustered keys: consecutive addresses in a few VPCs, plus random ones.
    VpcIp k = i % 3 == 0 ? VpcIp{static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()) | 1u}
                         : VpcIp{i % 5, ipv4(10, 0, 0, 0) + i};
    if (!m.insert(k, i)) continue;  // a repeated random key
    keys.push_back(k);
    // Capacity is the smallest power of two >= 16 that keeps the load <= 3/4.
    size_t want = 16;
    while (m.size() * 4 > want * 3) want *= 2;
    ASSERT_EQ(m.capacity(), want) << "after " << m.size() << " entries";
    if (m.capacity() != cap) {
      ++doublings;
      ASSERT_EQ(m.capacity(), cap * 2);
      cap = m.capacity();
      for (size_t j = 0; j < keys.size(); ++j) {
        const uint32_t* v = m.find(keys[j]);
        ASSERT_NE(v, nullptr) << "key " << j << " lost growing to " << cap;
      }
    }
  }
  EXPECT_GE(doublings, 10u);  // 16 -> 65536 and beyond
  EXPECT_EQ(m.memory_bytes(), m.capacity() * (sizeof(uint64_t) + sizeof(uint32_t) + 4));
  for (VpcIp k : keys) ASSERT_TRUE(m.erase(k));
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.capacity(), cap);  // never shrinks
  EXPECT_TRUE(m.sorted().empty());
  for (size_t j = 0; j < 100; ++j) EXPECT_TRUE(m.insert(keys[j], 1));
  EXPECT_EQ(m.size(), 100u);
}

// The reserved key (vpc.h: VPC 4294967295's 255.255.255.255, never an entry's) marks empty
// slots; looking it up or erasing it must still find nothing, as in the oracle.
TEST(VpcMapReservedKey, FindsNothing) {
  const VpcIp reserved{kMaxVpc, 0xffffffffu};
  VpcMap<uint32_t> m;
  VpcMapReference<uint32_t> ref;
  EXPECT_EQ(ref.find(reserved), nullptr);
  EXPECT_EQ(m.find(reserved), nullptr);
  EXPECT_FALSE(m.erase(reserved));
  EXPECT_EQ(m.size(), 0u);
  ASSERT_TRUE(m.insert({kMaxVpc, 0xfffffffeu}, 1));
  EXPECT_EQ(m.find(reserved), nullptr);
  EXPECT_FALSE(m.erase(reserved));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_NE(m.find({kMaxVpc, 0xfffffffeu}), nullptr);
}

}  // namespace
}  // namespace vnet::vpc
