// hsiphash() as Linux computes it on 64-bit machines (lib/siphash.c): there "HalfSipHash"
// is SipHash-1-3 with a 128-bit key, returning the low 32 bits of v0^v1^v2^v3.  The Maglev
// scheduler hashes addresses with it, so vnet's Maglev tables are the kernel's.
#pragma once

#include <cstdint>

namespace vnet::lb {

struct HsiphashKey {
  uint64_t key[2];
};

// hsiphash(&v, sizeof(u32), key) of one little-endian 32-bit word.
uint32_t hsiphash_u32(uint32_t v, const HsiphashKey& key);

}  // namespace vnet::lb
