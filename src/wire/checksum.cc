#include "wire/checksum.h"

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
  // A 64-bit accumulator cannot overflow: even 2^32 words of 0xffff stay below 2^48.
  uint64_t sum = initial_sum;
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += load_be16(data, i);
  if (i < data.size()) sum += uint64_t{load_u8(data, i)} << 8;
  return fold(sum);
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
