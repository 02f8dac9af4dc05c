// GRE headers (RFC 2784 with the key and sequence number of RFC 2890): what GRE tunnels put in
// front of the inner IPv4 packet, and what the receiving end checks before decapsulating.
//
// Input: the IPv4 payload of a protocol-47 packet.  check() makes gre_parse_header()'s checks:
// at least 4 bytes, version 0 and no routing bit (Linux drops others), and the optional fields
// the flags announce present; the payload follows them.  The checksum, when present, covers
// the GRE header and payload.  Example, a keyed GRE header for VPC 6289 carrying IPv4:
//   20 00 08 00 00 00 18 91 <inner packet>
//   -> key_present(), key() 6289, protocol_type() 0x0800, header_len_bytes() 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/endian.h"
#include "wire/error.h"

namespace vnet::wire {

namespace gre_flags {
inline constexpr uint16_t kChecksum = 0x8000;  // C
inline constexpr uint16_t kRouting = 0x4000;   // R (RFC 1701; Linux refuses it)
inline constexpr uint16_t kKey = 0x2000;       // K
inline constexpr uint16_t kSequence = 0x1000;  // S
inline constexpr uint16_t kVersionMask = 0x0007;
}  // namespace gre_flags

namespace detail {
std::optional<WireError> check_gre(std::span<const std::byte> packet);
size_t gre_header_len(uint16_t flags);
bool verify_gre_checksum(std::span<const std::byte> packet);
}  // namespace detail

template <WireByte Byte>
class BasicGreView {
 public:
  static constexpr size_t kBaseHeaderLen = 4;

  explicit BasicGreView(std::span<Byte> packet) : packet_(packet) {}
  operator BasicGreView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicGreView<const std::byte>(packet_);
  }

  // Truncated, BadVersion (version not 0 or the routing bit set).
  std::optional<WireError> check() const { return detail::check_gre(packet_); }

  uint16_t flags() const { return load_be16(packet_, 0); }
  bool checksum_present() const { return (flags() & gre_flags::kChecksum) != 0; }
  bool key_present() const { return (flags() & gre_flags::kKey) != 0; }
  bool sequence_present() const { return (flags() & gre_flags::kSequence) != 0; }
  uint8_t version() const { return static_cast<uint8_t>(flags() & gre_flags::kVersionMask); }
  uint16_t protocol_type() const { return load_be16(packet_, 2); }
  size_t header_len_bytes() const { return detail::gre_header_len(flags()); }
  uint16_t checksum() const { return checksum_present() ? load_be16(packet_, 4) : 0; }
  uint32_t key() const { return key_present() ? load_be32(packet_, key_offset()) : 0; }
  uint32_t sequence_number() const {
    return sequence_present() ? load_be32(packet_, key_offset() + (key_present() ? 4 : 0)) : 0;
  }
  std::span<Byte> payload() const { return packet_.subspan(header_len_bytes()); }
  // The one's-complement sum over header and payload is zero (RFC 2784 section 2.5).
  bool verify_checksum() const {
    return !checksum_present() || detail::verify_gre_checksum(packet_);
  }

 private:
  size_t key_offset() const { return checksum_present() ? 8 : 4; }
  std::span<Byte> packet_;
};

using GreView = BasicGreView<std::byte>;
using GreConstView = BasicGreView<const std::byte>;

// The header as values.  emit() writes the header; with `checksum` it also needs the payload
// already in place after the header, since the checksum covers it.
struct GreRepr {
  uint16_t protocol_type = 0x0800;
  bool checksum = false;
  std::optional<uint32_t> key;
  std::optional<uint32_t> sequence_number;

  static WireResult<GreRepr> parse(GreConstView packet);
  size_t buffer_len() const;
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> packet) const;

  friend bool operator==(const GreRepr&, const GreRepr&) = default;
};

}  // namespace vnet::wire
