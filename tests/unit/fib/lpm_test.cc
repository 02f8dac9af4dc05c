// One scripted test shared by the three longest-prefix-match implementations (LpmReference, the
// oracle; LpmTrie, the 8-bit-stride multibit trie; Poptrie, the FIB's index), then randomised
// comparisons of the trie and the Poptrie with the oracle.
//
// The trie keeps each prefix in the node of its stride (lengths 8k+1 .. 8k+8 at level k, /0 in
// the root) and expands it over 2^(8(k+1)-len) slots, so the interesting lengths are the ones on
// either side of a stride boundary: /0, /8, /9, /16, /17, /24, /25, /32.
#include "fib/lpm.h"
#include "fib/poptrie.h"

#include <gtest/gtest.h>

#include "fib_test_util.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace vnet::fib {
namespace {

using net::Ipv4Addr;
using net::Prefix;

using test::A;
using test::P;

// Every match for addr, longest first, as "prefix=value" strings (readable on failure).
template <typename Lpm>
std::vector<std::string> matches(const Lpm& lpm, Ipv4Addr addr) {
  std::vector<std::string> out;
  lpm.for_each_match(addr, [&](Prefix p, const int& v) {
    out.push_back(p.to_string() + "=" + std::to_string(v));
    return true;
  });
  return out;
}

using Strings = std::vector<std::string>;

template <typename Lpm>
class LpmTest : public ::testing::Test {
 protected:
  Lpm lpm_;
};

using Implementations = ::testing::Types<LpmReference<int>, LpmTrie<int>, Poptrie<int>>;

class ImplementationNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if constexpr (std::is_same_v<T, LpmTrie<int>>) return "Trie";
    if constexpr (std::is_same_v<T, Poptrie<int>>) return "Poptrie";
    return "Reference";
  }
};

TYPED_TEST_SUITE(LpmTest, Implementations, ImplementationNames);

TYPED_TEST(LpmTest, Script) {
  auto& lpm = this->lpm_;

  // Empty.
  EXPECT_EQ(lpm.size(), 0u);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), std::nullopt);
  EXPECT_EQ(lpm.lookup(A("0.0.0.0")), std::nullopt);
  EXPECT_EQ(lpm.find(P("default")), nullptr);
  EXPECT_EQ(matches(lpm, A("192.0.2.1")), Strings{});
  EXPECT_FALSE(lpm.erase(P("192.0.2.0/24")));
  EXPECT_FALSE(lpm.erase(P("default")));

  // A /32 matches its own address only.
  lpm.insert(P("192.0.2.1/32"), 32);
  EXPECT_EQ(lpm.size(), 1u);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 32);
  EXPECT_EQ(lpm.lookup(A("192.0.2.0")), std::nullopt);
  EXPECT_EQ(lpm.lookup(A("192.0.2.2")), std::nullopt);
  EXPECT_EQ(lpm.lookup(A("192.0.3.1")), std::nullopt);
  ASSERT_NE(lpm.find(P("192.0.2.1")), nullptr);
  EXPECT_EQ(*lpm.find(P("192.0.2.1")), 32);
  EXPECT_EQ(lpm.find(P("192.0.2.0/31")), nullptr);

  // The default route matches everything else, including both ends of the address space.
  lpm.insert(P("default"), 0);
  EXPECT_EQ(lpm.size(), 2u);
  EXPECT_EQ(lpm.lookup(A("0.0.0.0")), 0);
  EXPECT_EQ(lpm.lookup(A("255.255.255.255")), 0);
  EXPECT_EQ(lpm.lookup(A("192.0.2.2")), 0);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 32);
  EXPECT_EQ(matches(lpm, A("192.0.2.1")), (Strings{"192.0.2.1=32", "default=0"}));

  // Overlapping prefixes: the longest covering one wins.
  lpm.insert(P("192.0.0.0/16"), 16);
  lpm.insert(P("192.0.2.0/24"), 24);
  lpm.insert(P("192.0.2.0/25"), 25);
  EXPECT_EQ(lpm.size(), 5u);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 32);
  EXPECT_EQ(lpm.lookup(A("192.0.2.2")), 25);
  EXPECT_EQ(lpm.lookup(A("192.0.2.127")), 25);
  EXPECT_EQ(lpm.lookup(A("192.0.2.128")), 24);
  EXPECT_EQ(lpm.lookup(A("192.0.2.255")), 24);
  EXPECT_EQ(lpm.lookup(A("192.0.3.0")), 16);
  EXPECT_EQ(lpm.lookup(A("192.0.255.255")), 16);
  EXPECT_EQ(lpm.lookup(A("192.1.0.0")), 0);
  EXPECT_EQ(matches(lpm, A("192.0.2.1")),
            (Strings{"192.0.2.1=32", "192.0.2.0/25=25", "192.0.2.0/24=24", "192.0.0.0/16=16",
                     "default=0"}));
  EXPECT_EQ(matches(lpm, A("192.0.2.200")),
            (Strings{"192.0.2.0/24=24", "192.0.0.0/16=16", "default=0"}));

  // Inserting an existing prefix overwrites its value.
  lpm.insert(P("192.0.2.0/24"), 240);
  EXPECT_EQ(lpm.size(), 5u);
  EXPECT_EQ(lpm.lookup(A("192.0.2.200")), 240);

  // for_each_match stops as soon as the callback returns false.
  std::vector<int> seen;
  lpm.for_each_match(A("192.0.2.1"), [&](Prefix, const int& v) {
    seen.push_back(v);
    return seen.size() < 2;
  });
  EXPECT_EQ(seen, (std::vector<int>{32, 25}));
  seen.clear();
  lpm.for_each_match(A("192.0.2.1"), [&](Prefix, const int& v) {
    seen.push_back(v);
    return false;
  });
  EXPECT_EQ(seen, std::vector<int>{32});

  // Erasing a prefix uncovers the next shorter one.
  EXPECT_TRUE(lpm.erase(P("192.0.2.0/25")));
  EXPECT_EQ(lpm.size(), 4u);
  EXPECT_EQ(lpm.find(P("192.0.2.0/25")), nullptr);
  EXPECT_EQ(lpm.lookup(A("192.0.2.2")), 240);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 32);
  EXPECT_TRUE(lpm.erase(P("192.0.2.1/32")));
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 240);
  EXPECT_TRUE(lpm.erase(P("192.0.2.0/24")));
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 16);
  EXPECT_EQ(matches(lpm, A("192.0.2.1")), (Strings{"192.0.0.0/16=16", "default=0"}));

  // Erasing what is not there changes nothing: a missing length next to a present one, a
  // prefix already erased, a longer prefix inside a present one.
  EXPECT_FALSE(lpm.erase(P("192.0.0.0/17")));
  EXPECT_FALSE(lpm.erase(P("192.0.0.0/15")));
  EXPECT_FALSE(lpm.erase(P("192.0.2.0/24")));
  EXPECT_FALSE(lpm.erase(P("192.0.2.1/32")));
  EXPECT_EQ(lpm.size(), 2u);
  EXPECT_EQ(lpm.lookup(A("192.0.2.1")), 16);

  // Erasing the default route leaves addresses outside 192.0.0.0/16 unmatched.
  EXPECT_TRUE(lpm.erase(P("default")));
  EXPECT_EQ(lpm.lookup(A("198.51.100.1")), std::nullopt);
  EXPECT_EQ(lpm.lookup(A("192.0.9.9")), 16);
  EXPECT_TRUE(lpm.erase(P("192.0.0.0/16")));
  EXPECT_EQ(lpm.size(), 0u);
  EXPECT_EQ(lpm.lookup(A("192.0.9.9")), std::nullopt);

  // Host bits are ignored on insert: the prefix's network is stored, and find/erase with host
  // bits address the same entry.
  lpm.insert(P("198.51.100.77/24"), 7);
  EXPECT_EQ(lpm.size(), 1u);
  ASSERT_NE(lpm.find(P("198.51.100.0/24")), nullptr);
  EXPECT_EQ(*lpm.find(P("198.51.100.0/24")), 7);
  ASSERT_NE(lpm.find(P("198.51.100.200/24")), nullptr);
  EXPECT_EQ(lpm.lookup(A("198.51.100.1")), 7);
  EXPECT_EQ(matches(lpm, A("198.51.100.1")), Strings{"198.51.100.0/24=7"});
  lpm.insert(P("198.51.100.1/24"), 8);  // the same prefix: overwrite
  EXPECT_EQ(lpm.size(), 1u);
  EXPECT_EQ(lpm.lookup(A("198.51.100.250")), 8);
  EXPECT_TRUE(lpm.erase(P("198.51.100.99/24")));
  EXPECT_EQ(lpm.size(), 0u);
  EXPECT_EQ(lpm.lookup(A("198.51.100.1")), std::nullopt);
}

// Prefixes of one address at lengths on both sides of every stride boundary.  Flipping the
// first bit a /len does not cover gives an address that every prefix of length <= len still
// covers and no longer one does.
TYPED_TEST(LpmTest, StrideBoundaries) {
  auto& lpm = this->lpm_;
  const Ipv4Addr anchor = A("203.0.113.77");
  const std::vector<int> lengths = {0, 8, 9, 16, 17, 18, 19, 24, 25, 30, 31, 32};
  for (int len : lengths) lpm.insert(Prefix(anchor, len), len);
  EXPECT_EQ(lpm.size(), lengths.size());

  auto longest_at_most = [&](int len) {
    int best = -1;
    for (int l : lengths) {
      if (l <= len) best = l;
    }
    return best;
  };
  for (int len = 0; len <= 32; ++len) {
    SCOPED_TRACE(len);
    Ipv4Addr key = len == 32 ? anchor : Ipv4Addr(anchor.value() ^ (0x80000000u >> len));
    EXPECT_EQ(lpm.lookup(key), longest_at_most(len));
    std::vector<int> seen;
    lpm.for_each_match(key, [&](Prefix p, const int& v) {
      EXPECT_EQ(p, Prefix(anchor, v).network());
      seen.push_back(v);
      return true;
    });
    std::vector<int> want;
    for (auto it = lengths.rbegin(); it != lengths.rend(); ++it) {
      if (*it <= len) want.push_back(*it);
    }
    EXPECT_EQ(seen, want);
  }

  // Remove them shortest first, then longest first, checking the anchor each time.
  for (size_t i = 0; i < lengths.size(); ++i) {
    EXPECT_TRUE(lpm.erase(Prefix(anchor, lengths[i])));
    if (i + 1 < lengths.size()) {
      EXPECT_EQ(lpm.lookup(anchor), 32);
      EXPECT_EQ(lpm.lookup(Ipv4Addr(anchor.value() ^ 0x80000000u)), std::nullopt);
    }
  }
  EXPECT_EQ(lpm.lookup(anchor), std::nullopt);
  for (int len : lengths) lpm.insert(Prefix(anchor, len), len);
  for (auto it = lengths.rbegin(); it != lengths.rend(); ++it) {
    EXPECT_TRUE(lpm.erase(Prefix(anchor, *it)));
    auto next = it + 1;
    EXPECT_EQ(lpm.lookup(anchor), next == lengths.rend() ? std::nullopt : std::optional(*next));
  }
  EXPECT_EQ(lpm.size(), 0u);

  // Sibling prefixes inside one stride node partition its slots without disturbing each other.
  lpm.insert(P("203.0.113.0/25"), 1);
  lpm.insert(P("203.0.113.128/25"), 2);
  lpm.insert(P("203.0.113.128/26"), 3);
  EXPECT_EQ(lpm.lookup(A("203.0.113.127")), 1);
  EXPECT_EQ(lpm.lookup(A("203.0.113.128")), 3);
  EXPECT_EQ(lpm.lookup(A("203.0.113.191")), 3);
  EXPECT_EQ(lpm.lookup(A("203.0.113.192")), 2);
  EXPECT_TRUE(lpm.erase(P("203.0.113.128/25")));
  EXPECT_EQ(lpm.lookup(A("203.0.113.128")), 3);
  EXPECT_EQ(lpm.lookup(A("203.0.113.192")), std::nullopt);
  EXPECT_EQ(lpm.lookup(A("203.0.113.0")), 1);
}

// Randomised comparison of the trie with the oracle.  Prefixes are drawn near a handful of
// anchor addresses, with lengths biased towards stride boundaries, so inserts overwrite,
// erases hit, and prefixes nest and share trie nodes far more often than uniform draws would.
class LpmRandom {
 public:
  explicit LpmRandom(uint32_t seed) : rng_(seed) {
    for (auto& a : anchors_) a = static_cast<uint32_t>(rng_());
    anchors_[0] = 0;            // low edge of the address space
    anchors_[1] = 0xffffffffu;  // high edge
  }

  int length() {
    static constexpr int kBoundary[] = {0,  1,  7,  8,  9,  15, 16, 17, 18,
                                        19, 23, 24, 25, 29, 30, 31, 32};
    if (uniform(0, 1) == 0) return kBoundary[uniform(0, std::size(kBoundary) - 1)];
    return static_cast<int>(uniform(0, 32));
  }

  // An anchor with a few random low bits changed (0..16 of them).
  uint32_t near_anchor() {
    uint32_t a = anchors_[uniform(0, kAnchors - 1)];
    int noise_bits = static_cast<int>(uniform(0, 16));
    uint32_t noise = noise_bits == 0 ? 0 : static_cast<uint32_t>(rng_()) >> (32 - noise_bits);
    return a ^ noise;
  }

  Prefix prefix() { return Prefix(Ipv4Addr(near_anchor()), length()); }

  // Keys: uniform, near an anchor, or on the edges of a prefix (first, last, one outside).
  Ipv4Addr key(const std::vector<Prefix>& live) {
    switch (uniform(0, 3)) {
      case 0:
        return Ipv4Addr(static_cast<uint32_t>(rng_()));
      case 1:
        return Ipv4Addr(near_anchor());
      default: {
        Prefix p = live.empty() ? prefix() : live[uniform(0, live.size() - 1)];
        uint32_t first = p.network().addr().value();
        uint32_t last = first | ~p.mask();
        switch (uniform(0, 3)) {
          case 0:
            return Ipv4Addr(first);
          case 1:
            return Ipv4Addr(last);
          case 2:
            return Ipv4Addr(first - 1);
          default:
            return Ipv4Addr(last + 1);
        }
      }
    }
  }

  uint64_t uniform(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

 private:
  static constexpr size_t kAnchors = 12;
  std::mt19937 rng_;
  uint32_t anchors_[kAnchors] = {};
};

using Match = std::tuple<uint32_t, int, int>;  // network, length, value

template <typename Lpm>
std::vector<Match> match_list(const Lpm& lpm, Ipv4Addr addr) {
  std::vector<Match> out;
  lpm.for_each_match(addr, [&](Prefix p, const int& v) {
    out.emplace_back(p.addr().value(), p.len(), v);
    return true;
  });
  return out;
}

// The trie and the Poptrie against the oracle, on the same random operations.
TEST(LpmRandomised, AllAgreeWithReference) {
  constexpr int kOps = 20000;
  constexpr int kCheckEvery = 250;
  constexpr int kKeysPerCheck = 256;
  LpmRandom gen(20240601);
  LpmReference<int> reference;
  LpmTrie<int> trie;
  Poptrie<int> poptrie;
  std::vector<Prefix> live;  // may hold duplicates and erased prefixes; only a source of keys

  for (int op = 1; op <= kOps; ++op) {
    // 60% insert, 40% erase; an erase picks a prefix that was inserted earlier two times in
    // three, so it usually hits.
    if (gen.uniform(0, 9) < 6) {
      Prefix p = gen.prefix();
      int value = op;
      reference.insert(p, value);
      trie.insert(p, value);
      poptrie.insert(p, value);
      live.push_back(p);
    } else {
      Prefix p = (!live.empty() && gen.uniform(0, 2) != 0) ? live[gen.uniform(0, live.size() - 1)]
                                                           : gen.prefix();
      bool erased = reference.erase(p);
      ASSERT_EQ(trie.erase(p), erased) << "op " << op << " erase " << p.to_string();
      ASSERT_EQ(poptrie.erase(p), erased) << "op " << op << " erase " << p.to_string();
    }
    ASSERT_EQ(trie.size(), reference.size()) << "op " << op;
    ASSERT_EQ(poptrie.size(), reference.size()) << "op " << op;

    if (op % kCheckEvery != 0) continue;
    std::vector<uint32_t> burst_keys;
    for (int k = 0; k < kKeysPerCheck; ++k) {
      Ipv4Addr key = gen.key(live);
      burst_keys.push_back(key.value());
      std::optional<int> want = reference.lookup(key);
      ASSERT_EQ(trie.lookup(key), want) << "op " << op << " key " << key.to_string();
      ASSERT_EQ(poptrie.lookup(key), want) << "op " << op << " key " << key.to_string();
      std::vector<Match> want_list = match_list(reference, key);
      ASSERT_EQ(match_list(trie, key), want_list) << "op " << op << " key " << key.to_string();
      ASSERT_EQ(match_list(poptrie, key), want_list) << "op " << op << " key " << key.to_string();
    }
    // The burst lookup gives the same answers, with the matched prefix.  An odd count leaves a
    // partial group at the end.
    std::vector<uint32_t> handles(burst_keys.size() - 1);
    poptrie.lookup_burst(burst_keys.data(), handles.data(), handles.size());
    for (size_t k = 0; k < handles.size(); ++k) {
      std::vector<Match> want_list = match_list(reference, Ipv4Addr(burst_keys[k]));
      if (want_list.empty()) {
        ASSERT_EQ(handles[k], 0u) << "op " << op << " key " << Ipv4Addr(burst_keys[k]).to_string();
        continue;
      }
      ASSERT_NE(handles[k], 0u) << "op " << op << " key " << Ipv4Addr(burst_keys[k]).to_string();
      Prefix got = poptrie.prefix(handles[k]);
      ASSERT_EQ(Match(got.addr().value(), got.len(), poptrie.value(handles[k])), want_list[0])
          << "op " << op << " key " << Ipv4Addr(burst_keys[k]).to_string();
      ASSERT_EQ(poptrie.lookup_handle(Ipv4Addr(burst_keys[k])), handles[k]);
    }
    for (size_t i = 0; i < 32 && !live.empty(); ++i) {
      Prefix p = live[gen.uniform(0, live.size() - 1)];
      const int* want = reference.find(p);
      for (const int* got : {trie.find(p), poptrie.find(p)}) {
        ASSERT_EQ(got == nullptr, want == nullptr) << "op " << op << " find " << p.to_string();
        if (want != nullptr) {
          EXPECT_EQ(*got, *want) << "op " << op << " find " << p.to_string();
        }
      }
    }
  }
  EXPECT_GT(reference.size(), 100u);  // the mix must leave a sizeable table behind

  // Drain everything and check all end empty.
  for (const Prefix& p : live) {
    bool erased = reference.erase(p);
    ASSERT_EQ(trie.erase(p), erased) << p.to_string();
    ASSERT_EQ(poptrie.erase(p), erased) << p.to_string();
  }
  EXPECT_EQ(reference.size(), 0u);
  EXPECT_EQ(trie.size(), 0u);
  EXPECT_EQ(poptrie.size(), 0u);
  for (uint32_t key : {0u, 0xffffffffu, 0x0a000001u}) {
    EXPECT_EQ(trie.lookup(Ipv4Addr(key)), std::nullopt);
    EXPECT_EQ(poptrie.lookup(Ipv4Addr(key)), std::nullopt);
  }
  EXPECT_EQ(poptrie.node_count(), 0u);
  EXPECT_EQ(poptrie.leaf_count(), 0u);
}

// Tens of thousands of prefixes spread over the whole space, inserted and erased in waves, so the
// Poptrie compacts several times; after each wave every key of a fixed set must agree with the
// oracle.  Then draining it switches it back to the small layout.
TEST(LpmRandomised, PoptrieCompactsAndStaysExact) {
  std::mt19937 rng(7);
  std::discrete_distribution<int> length({1, 0, 0, 0, 0, 0, 0,  0,  2, 1, 1, 1, 1, 1, 1, 1, 2,
                                          2, 3, 3, 4, 5, 8, 10, 40, 3, 2, 2, 2, 2, 2, 2, 3});
  auto random_prefix = [&] {
    return Prefix(Ipv4Addr(static_cast<uint32_t>(rng())), length(rng)).network();
  };
  std::vector<uint32_t> keys(4096);
  for (uint32_t& k : keys) k = static_cast<uint32_t>(rng());
  LpmReference<int> reference;
  Poptrie<int> poptrie;
  std::vector<Prefix> present;
  int value = 0;
  for (int wave = 0; wave < 6; ++wave) {
    for (int i = 0; i < 12000; ++i) {
      Prefix p = random_prefix();
      reference.insert(p, ++value);
      poptrie.insert(p, value);
      present.push_back(p);
    }
    // Erase a random half of what was inserted so far.
    std::shuffle(present.begin(), present.end(), rng);
    size_t half = present.size() / 2;
    for (size_t i = 0; i < half; ++i) {
      ASSERT_EQ(poptrie.erase(present[i]), reference.erase(present[i])) << present[i].to_string();
    }
    present.erase(present.begin(), present.begin() + static_cast<ptrdiff_t>(half));
    ASSERT_EQ(poptrie.size(), reference.size());
    std::vector<uint32_t> edges;  // first, last and one past the last address of prefixes
    for (size_t i = 0; i < 2000 && i < present.size(); ++i) {
      uint32_t first = present[i].addr().value();
      uint32_t last = first | ~present[i].mask();
      edges.insert(edges.end(), {first, last, last + 1});
    }
    for (const std::vector<uint32_t>* set : {&keys, &edges}) {
      std::vector<uint32_t> handles(set->size());
      poptrie.lookup_burst(set->data(), handles.data(), handles.size());
      for (size_t i = 0; i < set->size(); ++i) {
        uint32_t k = (*set)[i];
        std::optional<int> want = reference.lookup(Ipv4Addr(k));
        ASSERT_EQ(poptrie.lookup(Ipv4Addr(k)), want)
            << "wave " << wave << " key " << Ipv4Addr(k).to_string();
        ASSERT_EQ(handles[i] == 0 ? std::nullopt : std::optional(poptrie.value(handles[i])), want)
            << "wave " << wave << " burst key " << Ipv4Addr(k).to_string();
      }
    }
  }
  EXPECT_GT(poptrie.compactions(), 0u);
  EXPECT_EQ(poptrie.direct_bits(), Poptrie<int>::kLargeBits);
  // Draining the table switches it back to the small layout, still exact on the way down.
  size_t checked = 0;
  while (present.size() > 100) {
    // present may hold a prefix twice (random draws repeat): both must say the same.
    ASSERT_EQ(poptrie.erase(present.back()), reference.erase(present.back()));
    present.pop_back();
    if (present.size() % 97 == 0) {
      for (size_t i = 0; i < 256; ++i, ++checked) {
        ASSERT_EQ(poptrie.lookup(Ipv4Addr(keys[i])), reference.lookup(Ipv4Addr(keys[i])));
      }
    }
  }
  EXPECT_EQ(poptrie.direct_bits(), Poptrie<int>::kSmallBits);
  EXPECT_GE(poptrie.relayouts(), 3u);  // the first layout, up, down
  EXPECT_GT(checked, 0u);
  for (const Prefix& p : present) {
    ASSERT_EQ(poptrie.lookup(p.addr()), reference.lookup(p.addr())) << p.to_string();
  }
}

// One /18 slot full of prefixes of every longer length, every /32 of a /26 and both /31s around
// the slot's edges: the deepest level (offset 30, two key bits) and the slot boundaries.
TEST(LpmRandomised, PoptrieDenseSlot) {
  LpmReference<int> reference;
  Poptrie<int> poptrie;
  const uint32_t base = A("10.64.0.0").value();  // a /18 boundary
  int value = 0;
  auto add = [&](uint32_t addr, int len) {
    Prefix p = Prefix(Ipv4Addr(addr), len).network();
    reference.insert(p, ++value);
    poptrie.insert(p, value);
  };
  for (uint32_t i = 0; i < 64; ++i) add(base + 0x1000u + i, 32);
  for (int len = 19; len <= 31; ++len) add(base + 0x1000u, len);
  add(base - 2, 31);
  add(base + 0x3ffe, 31);
  add(base, 18);
  add(base, 12);
  for (uint32_t k = base - 0x100; k < base + 0x4100; ++k) {
    ASSERT_EQ(poptrie.lookup(Ipv4Addr(k)), reference.lookup(Ipv4Addr(k)))
        << Ipv4Addr(k).to_string();
    ASSERT_EQ(match_list(poptrie, Ipv4Addr(k)), match_list(reference, Ipv4Addr(k)))
        << Ipv4Addr(k).to_string();
  }
  // Shorter prefixes changing under the dense slot patch its leaves in place.
  ASSERT_TRUE(poptrie.erase(Prefix(Ipv4Addr(base), 18)));
  ASSERT_TRUE(reference.erase(Prefix(Ipv4Addr(base), 18)));
  add(base, 14);
  add(0, 0);
  for (uint32_t k = base - 0x100; k < base + 0x4100; ++k) {
    ASSERT_EQ(poptrie.lookup(Ipv4Addr(k)), reference.lookup(Ipv4Addr(k)))
        << Ipv4Addr(k).to_string();
  }
}

}  // namespace
}  // namespace vnet::fib
