// Big-endian field loads and stores for wire views: network byte order <-> host integers.
//
// Input: a byte span and the field's offset; output: the field in host order (or the bytes
// written).  Loads copy with memcpy so that packet bytes are never accessed through a pointer of
// another type (no alignment or aliasing assumptions).  Example:
//   load_be16(bytes, 2)   // {0x45, 0x00, 0x00, 0x54} -> 0x0054, an IPv4 total length of 84
// Callers (the views) guarantee the bounds through check(); the asserts catch misuse in debug and
// fuzz builds.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "net/ipv4_addr.h"

namespace vnet::wire {

// A view's byte type: std::byte for a writable view, const std::byte for a read-only one.
template <typename Byte>
concept WireByte = std::is_same_v<Byte, std::byte> || std::is_same_v<Byte, const std::byte>;

inline uint8_t load_u8(std::span<const std::byte> bytes, size_t offset) {
  assert(offset < bytes.size());
  return std::to_integer<uint8_t>(bytes[offset]);
}

inline uint16_t load_be16(std::span<const std::byte> bytes, size_t offset) {
  assert(offset + 2 <= bytes.size());
  uint16_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap16(value);
  return value;
}

inline uint32_t load_be32(std::span<const std::byte> bytes, size_t offset) {
  assert(offset + 4 <= bytes.size());
  uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap32(value);
  return value;
}

inline void store_u8(std::span<std::byte> bytes, size_t offset, uint8_t value) {
  assert(offset < bytes.size());
  bytes[offset] = std::byte{value};
}

inline void store_be16(std::span<std::byte> bytes, size_t offset, uint16_t value) {
  assert(offset + 2 <= bytes.size());
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap16(value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

inline void store_be32(std::span<std::byte> bytes, size_t offset, uint32_t value) {
  assert(offset + 4 <= bytes.size());
  if constexpr (std::endian::native == std::endian::little) value = __builtin_bswap32(value);
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

inline net::Ipv4Addr load_ipv4_addr(std::span<const std::byte> bytes, size_t offset) {
  return net::Ipv4Addr(load_be32(bytes, offset));
}

inline void store_ipv4_addr(std::span<std::byte> bytes, size_t offset, net::Ipv4Addr addr) {
  store_be32(bytes, offset, addr.value());
}

inline net::MacAddr load_mac_addr(std::span<const std::byte> bytes, size_t offset) {
  assert(offset + 6 <= bytes.size());
  uint8_t octets[6];
  std::memcpy(octets, bytes.data() + offset, sizeof octets);
  return net::MacAddr(octets[0], octets[1], octets[2], octets[3], octets[4], octets[5]);
}

inline void store_mac_addr(std::span<std::byte> bytes, size_t offset, net::MacAddr addr) {
  assert(offset + 6 <= bytes.size());
  for (int i = 0; i < 6; ++i) bytes[offset + static_cast<size_t>(i)] = std::byte{addr[i]};
}

}  // namespace vnet::wire
