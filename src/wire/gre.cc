#include "wire/gre.h"

#include "wire/checksum.h"

namespace vnet::wire {

namespace detail {

size_t gre_header_len(uint16_t flags) {
  size_t len = 4;
  if (flags & gre_flags::kChecksum) len += 4;
  if (flags & gre_flags::kKey) len += 4;
  if (flags & gre_flags::kSequence) len += 4;
  return len;
}

std::optional<WireError> check_gre(std::span<const std::byte> packet) {
  if (packet.size() < 4) return WireError::Truncated;
  uint16_t flags = load_be16(packet, 0);
  if ((flags & gre_flags::kVersionMask) != 0 || (flags & gre_flags::kRouting) != 0) {
    return WireError::BadVersion;
  }
  if (packet.size() < gre_header_len(flags)) return WireError::Truncated;
  return std::nullopt;
}

bool verify_gre_checksum(std::span<const std::byte> packet) {
  return internet_checksum(packet) == 0;
}

}  // namespace detail

WireResult<GreRepr> GreRepr::parse(GreConstView packet) {
  if (auto err = packet.check()) return *err;
  if (!packet.verify_checksum()) return WireError::BadChecksum;
  GreRepr r;
  r.protocol_type = packet.protocol_type();
  r.checksum = packet.checksum_present();
  if (packet.key_present()) r.key = packet.key();
  if (packet.sequence_present()) r.sequence_number = packet.sequence_number();
  return r;
}

size_t GreRepr::buffer_len() const {
  return 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (sequence_number ? 4 : 0);
}

std::optional<WireError> GreRepr::emit(std::span<std::byte> packet) const {
  size_t len = buffer_len();
  if (packet.size() < len) return WireError::Truncated;
  uint16_t flags =
      static_cast<uint16_t>((checksum ? gre_flags::kChecksum : 0) | (key ? gre_flags::kKey : 0) |
                            (sequence_number ? gre_flags::kSequence : 0));
  store_be16(packet, 0, flags);
  store_be16(packet, 2, protocol_type);
  size_t off = 4;
  if (checksum) {
    store_be32(packet, 4, 0);  // checksum and reserved1, filled below
    off = 8;
  }
  if (key) {
    store_be32(packet, off, *key);
    off += 4;
  }
  if (sequence_number) store_be32(packet, off, *sequence_number);
  if (checksum) store_be16(packet, 4, internet_checksum(packet));
  return std::nullopt;
}

}  // namespace vnet::wire
