#include "wire/checksum.h"

#include <bit>
#include <cstring>

#include "wire/endian.h"

namespace vnet::wire {

namespace {

// Folds carries back in until the sum fits in 16 bits (RFC 1071 section 4.1).
uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

}  // namespace

uint16_t ones_complement_sum(std::span<const std::byte> data, uint16_t initial_sum) {
  // RFC 1071 section 2(B): the sum does not depend on byte order, so add the data as native
  // 32-bit words (two 16-bit words at a time; 2^16 = 1 in one's-complement arithmetic, so a
  // 32-bit word folds to the sum of its halves) and swap the folded result once at the end.
  // A 64-bit accumulator cannot overflow below 2^32 additions (16 GiB).  tests/unit/wire
  // compares this with the plain 16-bit loop of RFC 1071 section 4.1.
  // 32 bytes a round go through four independent 64-bit additions whose carries are counted
  // (the end-around carry of RFC 1071 section 2(A)), then are folded to 32 bits.
  const std::byte* p = data.data();
  size_t n = data.size();
  uint64_t sum = 0;
  size_t i = 0;
  if (n >= 32) {
    uint64_t acc[4] = {0, 0, 0, 0};
    uint64_t carries = 0;
    for (; i + 32 <= n; i += 32) {
      for (int k = 0; k < 4; ++k) {
        uint64_t w = 0;
        std::memcpy(&w, p + i + static_cast<size_t>(k) * 8, 8);
        acc[k] += w;
        carries += acc[k] < w ? 1 : 0;
      }
    }
    for (uint64_t a : acc) sum += (a & 0xffffffff) + (a >> 32);
    sum += carries;  // each carry is 2^64 = 1 in this arithmetic
  }
  for (; i + 8 <= n; i += 8) {
    uint32_t a = 0, b = 0;
    std::memcpy(&a, p + i, 4);
    std::memcpy(&b, p + i + 4, 4);
    sum += a;
    sum += b;
  }
  for (; i + 2 <= n; i += 2) {
    uint16_t w = 0;
    std::memcpy(&w, p + i, 2);
    sum += w;
  }
  if (i < n) {
    // The odd byte is the high-order byte of a big-endian word padded with zero.
    uint8_t last = load_u8(data, i);
    sum += std::endian::native == std::endian::little ? uint64_t{last} : uint64_t{last} << 8;
  }
  uint16_t native = fold(sum);
  uint16_t big_endian = std::endian::native == std::endian::little
                            ? static_cast<uint16_t>((native >> 8) | (native << 8))
                            : native;
  return ones_complement_add(big_endian, initial_sum);
}

uint16_t ones_complement_add(uint16_t a, uint16_t b) {
  return fold(uint64_t{a} + b);
}

uint16_t internet_checksum(std::span<const std::byte> data, uint16_t initial_sum) {
  return static_cast<uint16_t>(~ones_complement_sum(data, initial_sum));
}

uint16_t pseudo_header_sum(net::Ipv4Addr source, net::Ipv4Addr destination, IpProtocol protocol,
                           uint16_t upper_layer_length) {
  uint64_t sum = 0;
  sum += source.value() >> 16;
  sum += source.value() & 0xffff;
  sum += destination.value() >> 16;
  sum += destination.value() & 0xffff;
  sum += static_cast<uint8_t>(protocol);  // the zero byte, then the protocol: one word
  sum += upper_layer_length;
  return fold(sum);
}

uint16_t checksum_adjust16(uint16_t checksum, uint16_t old_word, uint16_t new_word) {
  uint64_t sum = uint16_t(~checksum);
  sum += uint16_t(~old_word);
  sum += new_word;
  return static_cast<uint16_t>(~fold(sum));
}

uint16_t checksum_adjust32(uint16_t checksum, uint32_t old_value, uint32_t new_value) {
  uint64_t sum = uint16_t(~checksum);
  sum += uint16_t(~(old_value >> 16));
  sum += uint16_t(~old_value);
  sum += new_value >> 16;
  sum += new_value & 0xffff;
  return static_cast<uint16_t>(~fold(sum));
}

}  // namespace vnet::wire
