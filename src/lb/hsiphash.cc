#include "lb/hsiphash.h"

#include <bit>

namespace vnet::lb {

namespace {

struct State {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
};

}  // namespace

uint32_t hsiphash_u32(uint32_t v, const HsiphashKey& key) {
  // PREAMBLE(len): the SipHash constants xored with the key, b holding the length.
  State s{0x736f6d6570736575ULL ^ key.key[0], 0x646f72616e646f6dULL ^ key.key[1],
          0x6c7967656e657261ULL ^ key.key[0], 0x7465646279746573ULL ^ key.key[1]};
  // Four bytes: no full 64-bit word, the tail goes into b ("case 4: b |= le32").
  uint64_t b = (uint64_t{4} << 56) | v;
  // HPOSTAMBLE: one compression round, then three finalisation rounds.
  s.v3 ^= b;
  s.round();
  s.v0 ^= b;
  s.v2 ^= 0xff;
  s.round();
  s.round();
  s.round();
  return static_cast<uint32_t>((s.v0 ^ s.v1) ^ (s.v2 ^ s.v3));
}

}  // namespace vnet::lb
