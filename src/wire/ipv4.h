// IPv4 headers (RFC 791 section 3.1): the view that ip_rcv-style checks, routing, TTL decrement
// and NAT read and rewrite, and the Repr that locally generated packets are built from.
//
// Input: the bytes from the IPv4 header on (an Ethernet payload, which may end in padding).
// check() makes the checks of Linux's ip_rcv_core(): at least 20 bytes, version 4, IHL >= 5,
// IHL*4 <= buffer, IHL*4 <= total length <= buffer.  The payload then starts after the options
// at IHL*4 and ends at the total length, so Ethernet padding after it is not payload.  The header
// checksum is verified separately (verify_checksum()), as the kernel counts it separately.
// Example, a ping from 192.0.2.1 to 198.51.100.2 inside a 60-byte Ethernet frame:
//   45 00 00 1c 12 34 40 00 40 01 <cksum> c0 00 02 01 c6 33 64 02 <8 bytes ICMP> <18 bytes pad>
//   -> header_len_bytes() 20, total_len() 28, dont_fragment(), ttl() 64, protocol() Icmp,
//      payload() the 8 ICMP bytes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4_addr.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/error.h"
#include "wire/ip_protocol.h"

namespace vnet::wire {

// Byte offsets (RFC 791 section 3.1).
namespace ipv4_field {
inline constexpr size_t kVersionIhl = 0;
inline constexpr size_t kTypeOfService = 1;  // DSCP (RFC 2474) and ECN (RFC 3168)
inline constexpr size_t kTotalLength = 2;
inline constexpr size_t kIdentification = 4;
inline constexpr size_t kFlagsFragmentOffset = 6;
inline constexpr size_t kTimeToLive = 8;
inline constexpr size_t kProtocol = 9;
inline constexpr size_t kHeaderChecksum = 10;
inline constexpr size_t kSourceAddress = 12;
inline constexpr size_t kDestinationAddress = 16;
inline constexpr size_t kOptions = 20;
}  // namespace ipv4_field

// The flags share a 16-bit word with the 13-bit fragment offset: bit 0 reserved, DF, MF.
inline constexpr uint16_t kIpv4DontFragment = 0x4000;
inline constexpr uint16_t kIpv4MoreFragments = 0x2000;
inline constexpr uint16_t kIpv4FragmentOffsetMask = 0x1fff;

namespace detail {
std::optional<WireError> check_ipv4_header(std::span<const std::byte> packet);
std::optional<WireError> check_ipv4(std::span<const std::byte> packet);
void set_ipv4_ttl(std::span<std::byte> packet, uint8_t ttl);
void fill_ipv4_checksum(std::span<std::byte> packet);
}  // namespace detail

template <WireByte Byte>
class BasicIpv4View {
 public:
  // The header without options; IHL 5.
  static constexpr size_t kHeaderLen = 20;
  // IHL is 4 bits: at most 15 words.
  static constexpr size_t kMaxHeaderLen = 60;

  explicit BasicIpv4View(std::span<Byte> packet) : packet_(packet) {}
  operator BasicIpv4View<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicIpv4View<const std::byte>(packet_);
  }

  std::span<Byte> buffer() const { return packet_; }

  // The full ip_rcv checks (see the file comment).  Truncated below 20 bytes, BadVersion,
  // BadHeaderLength for IHL < 5 or IHL*4 beyond the buffer, BadTotalLength for a total length
  // below IHL*4 or beyond the buffer.
  std::optional<WireError> check() const { return detail::check_ipv4(packet_); }
  // The same without "total length <= buffer": for the original datagram quoted in an ICMP error
  // (RFC 792), of which only the header and the first 8 payload bytes need be present.  After
  // it, payload() holds the bytes present, which may be fewer than total_len() says.
  std::optional<WireError> check_header() const { return detail::check_ipv4_header(packet_); }

  uint8_t version() const { return load_u8(packet_, ipv4_field::kVersionIhl) >> 4; }
  // Internet Header Length, in 32-bit words.
  uint8_t ihl() const { return load_u8(packet_, ipv4_field::kVersionIhl) & 0x0f; }
  size_t header_len_bytes() const { return size_t{ihl()} * 4; }
  // The whole second byte: DSCP in the upper 6 bits, ECN in the lower 2.
  uint8_t tos() const { return load_u8(packet_, ipv4_field::kTypeOfService); }
  uint8_t dscp() const { return tos() >> 2; }
  uint8_t ecn() const { return tos() & 0x03; }
  uint16_t total_len() const { return load_be16(packet_, ipv4_field::kTotalLength); }
  uint16_t identification() const { return load_be16(packet_, ipv4_field::kIdentification); }
  bool dont_fragment() const { return (flags_fragment_offset() & kIpv4DontFragment) != 0; }
  bool more_fragments() const { return (flags_fragment_offset() & kIpv4MoreFragments) != 0; }
  // Fragment offset in 8-byte units, as carried, and in bytes.
  uint16_t fragment_offset_units() const {
    return flags_fragment_offset() & kIpv4FragmentOffsetMask;
  }
  uint32_t fragment_offset_bytes() const { return uint32_t{fragment_offset_units()} * 8; }
  bool is_fragment() const { return more_fragments() || fragment_offset_units() != 0; }
  uint8_t ttl() const { return load_u8(packet_, ipv4_field::kTimeToLive); }
  IpProtocol protocol() const { return IpProtocol{load_u8(packet_, ipv4_field::kProtocol)}; }
  uint16_t checksum() const { return load_be16(packet_, ipv4_field::kHeaderChecksum); }
  net::Ipv4Addr source() const { return load_ipv4_addr(packet_, ipv4_field::kSourceAddress); }
  net::Ipv4Addr destination() const {
    return load_ipv4_addr(packet_, ipv4_field::kDestinationAddress);
  }
  // Bytes 20 .. IHL*4; empty for IHL 5.
  std::span<Byte> options() const {
    return packet_.subspan(kHeaderLen, header_len_bytes() - kHeaderLen);
  }
  std::span<Byte> header() const { return packet_.first(header_len_bytes()); }
  // Bytes IHL*4 .. total length (bounded by the buffer after check_header()).
  std::span<Byte> payload() const {
    size_t end = std::min<size_t>(total_len(), packet_.size());
    return packet_.subspan(header_len_bytes(), end - header_len_bytes());
  }
  size_t payload_len() const { return payload().size(); }

  // The header, options included, sums to 0xffff (RFC 791 "Header Checksum").
  bool verify_checksum() const { return internet_checksum(header()) == 0; }

  // Sets the TTL and adjusts the checksum for the changed TTL/protocol word (RFC 1624), as
  // ip_decrease_ttl() does, so a correct checksum stays correct.
  void set_ttl(uint8_t ttl) requires(!std::is_const_v<Byte>) { detail::set_ipv4_ttl(packet_, ttl); }
  // Address setters leave the checksum alone: NAT adjusts it with checksum_adjust32() together
  // with the transport checksum, or the caller calls fill_checksum().
  void set_source(net::Ipv4Addr addr) requires(!std::is_const_v<Byte>) {
    store_ipv4_addr(packet_, ipv4_field::kSourceAddress, addr);
  }
  void set_destination(net::Ipv4Addr addr) requires(!std::is_const_v<Byte>) {
    store_ipv4_addr(packet_, ipv4_field::kDestinationAddress, addr);
  }
  void set_checksum(uint16_t checksum) requires(!std::is_const_v<Byte>) {
    store_be16(packet_, ipv4_field::kHeaderChecksum, checksum);
  }
  // Recomputes the checksum over the whole header, options included.
  void fill_checksum() requires(!std::is_const_v<Byte>) { detail::fill_ipv4_checksum(packet_); }

 private:
  uint16_t flags_fragment_offset() const {
    return load_be16(packet_, ipv4_field::kFlagsFragmentOffset);
  }

  std::span<Byte> packet_;
};

using Ipv4View = BasicIpv4View<std::byte>;
using Ipv4ConstView = BasicIpv4View<const std::byte>;

// The IPv4 header as values.  Options are not represented: parse skips them and emit writes a
// 20-byte header.  The reserved flag is dropped.
struct Ipv4Repr {
  net::Ipv4Addr source{};
  net::Ipv4Addr destination{};
  IpProtocol protocol = IpProtocol::Icmp;
  uint16_t payload_len = 0;  // total length - IHL*4
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t identification = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  uint16_t fragment_offset_bytes = 0;  // a multiple of 8, at most 8191 * 8

  // check(), then BadChecksum unless verify_checksum().
  static WireResult<Ipv4Repr> parse(Ipv4ConstView packet);
  size_t buffer_len() const { return Ipv4View::kHeaderLen; }
  // Writes the 20-byte header with IHL 5, total length 20 + payload_len and a filled checksum.
  // TooLong when the total length would exceed 65535, BadFragmentOffset for an offset that the
  // 13-bit field in 8-byte units cannot carry.
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer) const;

  friend bool operator==(const Ipv4Repr&, const Ipv4Repr&) = default;
};

}  // namespace vnet::wire
