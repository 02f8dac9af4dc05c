// TCP segment headers (RFC 9293 section 3.1): the view that conntrack, NAT and load balancing
// read ports, flags and sequence numbers from, and the Repr that the simulator's TCP endpoints
// build segments with.
//
// Input: exactly the segment, i.e. the IPv4 payload: TCP has no length field, so the segment
// length in the pseudo-header is the buffer size.  check() requires 20 bytes and a data offset of
// at least 5 words that fits in the buffer; options are bytes 20 .. data offset * 4 and the
// payload follows them.  Example, a SYN with an MSS option:
//   c0 01 00 50 00 00 03 e8 00 00 00 00 60 02 fa f0 <cksum> 00 00 02 04 05 b4
//   -> ports 49153 -> 80, sequence_number() 1000, header_len_bytes() 24, syn(), window() 64240,
//      max_segment_size() 1460.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4_addr.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/error.h"

namespace vnet::wire {

// Byte offsets (RFC 9293 section 3.1).
namespace tcp_field {
inline constexpr size_t kSourcePort = 0;
inline constexpr size_t kDestinationPort = 2;
inline constexpr size_t kSequenceNumber = 4;
inline constexpr size_t kAcknowledgmentNumber = 8;
inline constexpr size_t kDataOffset = 12;  // upper 4 bits; the rest is reserved
inline constexpr size_t kFlags = 13;
inline constexpr size_t kWindow = 14;
inline constexpr size_t kChecksum = 16;
inline constexpr size_t kUrgentPointer = 18;
inline constexpr size_t kOptions = 20;
}  // namespace tcp_field

// The control bits in byte 13; ECE and CWR from RFC 3168 section 6.1.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr uint8_t kTcpUrg = 0x20;
inline constexpr uint8_t kTcpEce = 0x40;
inline constexpr uint8_t kTcpCwr = 0x80;

// Option kinds (RFC 9293 section 3.2).
inline constexpr uint8_t kTcpOptionEnd = 0;
inline constexpr uint8_t kTcpOptionNoOperation = 1;
inline constexpr uint8_t kTcpOptionMaxSegmentSize = 2;
inline constexpr uint8_t kTcpOptionMaxSegmentSizeLen = 4;

namespace detail {
std::optional<WireError> check_tcp(std::span<const std::byte> segment);
std::optional<uint16_t> tcp_max_segment_size(std::span<const std::byte> options);
uint16_t tcp_checksum(std::span<const std::byte> segment, net::Ipv4Addr source,
                      net::Ipv4Addr destination);
void fill_tcp_checksum(std::span<std::byte> segment, net::Ipv4Addr source,
                       net::Ipv4Addr destination);
}  // namespace detail

template <WireByte Byte>
class BasicTcpView {
 public:
  // The header without options; data offset 5.
  static constexpr size_t kHeaderLen = 20;
  static constexpr size_t kMaxHeaderLen = 60;

  explicit BasicTcpView(std::span<Byte> segment) : segment_(segment) {}
  operator BasicTcpView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicTcpView<const std::byte>(segment_);
  }

  std::span<Byte> buffer() const { return segment_; }

  // Truncated below 20 bytes, BadHeaderLength for a data offset below 5 or beyond the buffer,
  // TooLong for a buffer the 16-bit pseudo-header length cannot describe.
  std::optional<WireError> check() const { return detail::check_tcp(segment_); }

  uint16_t source_port() const { return load_be16(segment_, tcp_field::kSourcePort); }
  uint16_t destination_port() const { return load_be16(segment_, tcp_field::kDestinationPort); }
  uint32_t sequence_number() const { return load_be32(segment_, tcp_field::kSequenceNumber); }
  uint32_t acknowledgment_number() const {
    return load_be32(segment_, tcp_field::kAcknowledgmentNumber);
  }
  // Header length in 32-bit words.
  uint8_t data_offset() const { return load_u8(segment_, tcp_field::kDataOffset) >> 4; }
  size_t header_len_bytes() const { return size_t{data_offset()} * 4; }
  // All eight control bits; compare with kTcpSyn etc.
  uint8_t flags() const { return load_u8(segment_, tcp_field::kFlags); }
  bool fin() const { return (flags() & kTcpFin) != 0; }
  bool syn() const { return (flags() & kTcpSyn) != 0; }
  bool rst() const { return (flags() & kTcpRst) != 0; }
  bool psh() const { return (flags() & kTcpPsh) != 0; }
  bool ack() const { return (flags() & kTcpAck) != 0; }
  bool urg() const { return (flags() & kTcpUrg) != 0; }
  bool ece() const { return (flags() & kTcpEce) != 0; }
  bool cwr() const { return (flags() & kTcpCwr) != 0; }
  uint16_t window() const { return load_be16(segment_, tcp_field::kWindow); }
  uint16_t checksum() const { return load_be16(segment_, tcp_field::kChecksum); }
  uint16_t urgent_pointer() const { return load_be16(segment_, tcp_field::kUrgentPointer); }
  // Bytes 20 .. data offset * 4.
  std::span<Byte> options() const {
    return segment_.subspan(kHeaderLen, header_len_bytes() - kHeaderLen);
  }
  std::span<Byte> payload() const { return segment_.subspan(header_len_bytes()); }
  // The MSS option's value, if present with length 4.  Like Linux's tcp_parse_options(), a
  // malformed option (length below 2 or past the end) ends the option list instead of failing.
  std::optional<uint16_t> max_segment_size() const {
    return detail::tcp_max_segment_size(options());
  }

  // The pseudo-header (segment length = buffer size), header and payload sum to 0xffff.
  bool verify_checksum(net::Ipv4Addr source, net::Ipv4Addr destination) const {
    return detail::tcp_checksum(segment_, source, destination) == 0;
  }

  void set_source_port(uint16_t port) requires(!std::is_const_v<Byte>) {
    store_be16(segment_, tcp_field::kSourcePort, port);
  }
  void set_destination_port(uint16_t port) requires(!std::is_const_v<Byte>) {
    store_be16(segment_, tcp_field::kDestinationPort, port);
  }
  void set_sequence_number(uint32_t sequence_number) requires(!std::is_const_v<Byte>) {
    store_be32(segment_, tcp_field::kSequenceNumber, sequence_number);
  }
  void set_acknowledgment_number(uint32_t acknowledgment_number) requires(!std::is_const_v<Byte>) {
    store_be32(segment_, tcp_field::kAcknowledgmentNumber, acknowledgment_number);
  }
  void set_flags(uint8_t flags) requires(!std::is_const_v<Byte>) {
    store_u8(segment_, tcp_field::kFlags, flags);
  }
  void set_window(uint16_t window) requires(!std::is_const_v<Byte>) {
    store_be16(segment_, tcp_field::kWindow, window);
  }
  void set_checksum(uint16_t checksum) requires(!std::is_const_v<Byte>) {
    store_be16(segment_, tcp_field::kChecksum, checksum);
  }
  void fill_checksum(net::Ipv4Addr source,
                     net::Ipv4Addr destination) requires(!std::is_const_v<Byte>) {
    detail::fill_tcp_checksum(segment_, source, destination);
  }

 private:
  std::span<Byte> segment_;
};

using TcpView = BasicTcpView<std::byte>;
using TcpConstView = BasicTcpView<const std::byte>;

// The fixed header plus the MSS option; other options are dropped by parse and not emitted.
struct TcpRepr {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint32_t sequence_number = 0;
  uint32_t acknowledgment_number = 0;
  uint8_t flags = 0;  // kTcpSyn | kTcpAck ...
  uint16_t window = 0;
  uint16_t urgent_pointer = 0;
  std::optional<uint16_t> max_segment_size{};
  uint16_t payload_len = 0;

  // check(), then BadChecksum unless verify_checksum(source, destination).
  static WireResult<TcpRepr> parse(TcpConstView segment, net::Ipv4Addr source,
                                   net::Ipv4Addr destination);
  // 20, or 24 with the MSS option.
  size_t header_len() const;
  size_t buffer_len() const { return header_len() + payload_len; }
  // Writes the header (data offset 5 or 6, reserved bits zero) and the checksum.  The payload
  // must already be in buffer[header_len() .. buffer_len()): the checksum covers it.  TooLong
  // when the segment would exceed 65535 bytes.
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer, net::Ipv4Addr source,
                                              net::Ipv4Addr destination) const;

  friend bool operator==(const TcpRepr&, const TcpRepr&) = default;
};

}  // namespace vnet::wire
