// VXLAN headers (RFC 7348): the 8 bytes between the outer UDP header (destination port 4789 by
// IANA, 8472 by Linux's historical default) and the inner Ethernet frame.
//
//   flags(8) reserved(24) | VNI(24) reserved(8)
//
// check() makes the checks of Linux's vxlan_rcv() for a device without extensions (GBP, GPE,
// remote checksum offload): the I flag must be set, and every other flag bit and both reserved
// fields must be zero.  Linux deliberately stricter than RFC 7348 section 5 (which says to ignore
// reserved bits) so that a packet using an extension the receiver does not know is dropped
// rather than misread; vnet does the same.  Example, VNI 42:
//   08 00 00 00 00 00 2a 00 <inner Ethernet frame>
//   -> vni() 42, header_len_bytes() 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/endian.h"
#include "wire/error.h"

namespace vnet::wire {

namespace vxlan {
inline constexpr uint8_t kFlagI = 0x08;              // "a valid VNI is present"
inline constexpr uint32_t kMaxVni = 0xffffff;        // 24 bits
inline constexpr uint16_t kIanaPort = 4789;          // RFC 7348
inline constexpr uint16_t kLinuxDefaultPort = 8472;  // Linux's default without `dstport`
}  // namespace vxlan

namespace detail {
std::optional<WireError> check_vxlan(std::span<const std::byte> packet);
}  // namespace detail

template <WireByte Byte>
class BasicVxlanView {
 public:
  static constexpr size_t kHeaderLen = 8;

  explicit BasicVxlanView(std::span<Byte> packet) : packet_(packet) {}
  operator BasicVxlanView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicVxlanView<const std::byte>(packet_);
  }

  // Truncated (under 8 bytes), BadFlags (I flag clear, or a reserved bit set).
  std::optional<WireError> check() const { return detail::check_vxlan(packet_); }

  uint8_t flags() const { return static_cast<uint8_t>(packet_[0]); }
  uint32_t vni() const { return load_be32(packet_, 4) >> 8; }
  size_t header_len_bytes() const { return kHeaderLen; }
  // The inner Ethernet frame.
  std::span<Byte> payload() const { return packet_.subspan(kHeaderLen); }

 private:
  std::span<Byte> packet_;
};

using VxlanView = BasicVxlanView<std::byte>;
using VxlanConstView = BasicVxlanView<const std::byte>;

// The header as values.  emit() refuses a VNI wider than 24 bits (TooLong).
struct VxlanRepr {
  uint32_t vni = 0;

  static WireResult<VxlanRepr> parse(VxlanConstView packet);
  static constexpr size_t buffer_len() { return VxlanView::kHeaderLen; }
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> packet) const;

  friend bool operator==(const VxlanRepr&, const VxlanRepr&) = default;
};

}  // namespace vnet::wire
