// ICMPv4 messages (RFC 792): the view that local delivery reads echo requests and quoted
// datagrams of errors with, and the Repr that ping and the forwarding path's error generation
// (RFC 1812 section 4.3.2) build messages from.
//
// Input: the ICMP message, i.e. the IPv4 payload, which the checksum covers entirely.  The view
// reads type, code and checksum, the echo identifier and sequence number, the 32-bit word after
// the checksum that errors leave unused except for the next-hop MTU of "fragmentation needed"
// (RFC 1191 section 4), and the data after the 8-byte header: echo data, or for errors the
// original datagram's header and first bytes.  Example, an echo request:
//   08 00 <cksum> 12 34 00 01 61 62 63 64
//   -> type() EchoRequest, code() 0, echo_identifier() 0x1234, echo_sequence_number() 1,
//      data() "abcd".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/error.h"

namespace vnet::wire {

// RFC 792 message types; others are representable.
enum class IcmpType : uint8_t {
  EchoReply = 0,
  DestinationUnreachable = 3,
  SourceQuench = 4,
  Redirect = 5,
  EchoRequest = 8,
  TimeExceeded = 11,
  ParameterProblem = 12,
};

// Destination Unreachable codes: RFC 792 (0-5), RFC 1122 section 3.2.2.1 (6-12), RFC 1812
// section 5.2.7.1 (13-15).  Linux sends 9/10 for iptables "icmp-net/host-prohibited" and 13 for
// "icmp-admin-prohibited" and for routes of type prohibit.
enum class UnreachableCode : uint8_t {
  NetworkUnreachable = 0,
  HostUnreachable = 1,
  ProtocolUnreachable = 2,
  PortUnreachable = 3,
  FragmentationNeeded = 4,  // carries the next-hop MTU (RFC 1191)
  SourceRouteFailed = 5,
  DestinationNetworkUnknown = 6,
  DestinationHostUnknown = 7,
  SourceHostIsolated = 8,
  NetworkProhibited = 9,
  HostProhibited = 10,
  NetworkUnreachableForTos = 11,
  HostUnreachableForTos = 12,
  CommunicationProhibited = 13,
  HostPrecedenceViolation = 14,
  PrecedenceCutoff = 15,
};

// Time Exceeded codes (RFC 792).
enum class TimeExceededCode : uint8_t {
  TtlExceeded = 0,
  FragmentReassemblyTimeExceeded = 1,
};

// Byte offsets (RFC 792).
namespace icmp_field {
inline constexpr size_t kType = 0;
inline constexpr size_t kCode = 1;
inline constexpr size_t kChecksum = 2;
inline constexpr size_t kRestOfHeader = 4;  // echo: identifier; errors: unused
inline constexpr size_t kEchoIdentifier = 4;
inline constexpr size_t kEchoSequenceNumber = 6;
inline constexpr size_t kNextHopMtu = 6;  // low 16 bits of the unused word (RFC 1191)
inline constexpr size_t kData = 8;
}  // namespace icmp_field

namespace detail {
void fill_icmp_checksum(std::span<std::byte> message);
}  // namespace detail

template <WireByte Byte>
class BasicIcmpView {
 public:
  static constexpr size_t kHeaderLen = 8;

  explicit BasicIcmpView(std::span<Byte> message) : message_(message) {}
  operator BasicIcmpView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicIcmpView<const std::byte>(message_);
  }

  std::span<Byte> buffer() const { return message_; }

  std::optional<WireError> check() const {
    if (message_.size() < kHeaderLen) return WireError::Truncated;
    return std::nullopt;
  }

  IcmpType type() const { return IcmpType{load_u8(message_, icmp_field::kType)}; }
  uint8_t code() const { return load_u8(message_, icmp_field::kCode); }
  uint16_t checksum() const { return load_be16(message_, icmp_field::kChecksum); }
  // Echo request/reply (and timestamp, information) fields.
  uint16_t echo_identifier() const { return load_be16(message_, icmp_field::kEchoIdentifier); }
  uint16_t echo_sequence_number() const {
    return load_be16(message_, icmp_field::kEchoSequenceNumber);
  }
  // The word after the checksum, whatever the type.
  uint32_t rest_of_header() const { return load_be32(message_, icmp_field::kRestOfHeader); }
  // Destination Unreachable / FragmentationNeeded: the next-hop MTU, 0 from pre-RFC 1191 routers.
  uint16_t next_hop_mtu() const { return load_be16(message_, icmp_field::kNextHopMtu); }
  // Everything after the 8-byte header.
  std::span<Byte> data() const { return message_.subspan(kHeaderLen); }
  // For error messages: the quoted original datagram, IPv4 header first (read it with
  // Ipv4ConstView::check_header(), since it is usually cut short).
  std::span<Byte> original_datagram() const { return data(); }
  bool is_error() const {
    return type() == IcmpType::DestinationUnreachable || type() == IcmpType::SourceQuench ||
           type() == IcmpType::Redirect || type() == IcmpType::TimeExceeded ||
           type() == IcmpType::ParameterProblem;
  }

  // The checksum covers the whole message (RFC 792).
  bool verify_checksum() const { return internet_checksum(message_) == 0; }

  void set_type(IcmpType type) requires(!std::is_const_v<Byte>) {
    store_u8(message_, icmp_field::kType, static_cast<uint8_t>(type));
  }
  void set_code(uint8_t code) requires(!std::is_const_v<Byte>) {
    store_u8(message_, icmp_field::kCode, code);
  }
  void set_checksum(uint16_t checksum) requires(!std::is_const_v<Byte>) {
    store_be16(message_, icmp_field::kChecksum, checksum);
  }
  void set_echo_identifier(uint16_t identifier) requires(!std::is_const_v<Byte>) {
    store_be16(message_, icmp_field::kEchoIdentifier, identifier);
  }
  void set_echo_sequence_number(uint16_t sequence_number) requires(!std::is_const_v<Byte>) {
    store_be16(message_, icmp_field::kEchoSequenceNumber, sequence_number);
  }
  void fill_checksum() requires(!std::is_const_v<Byte>) { detail::fill_icmp_checksum(message_); }

 private:
  std::span<Byte> message_;
};

using IcmpView = BasicIcmpView<std::byte>;
using IcmpConstView = BasicIcmpView<const std::byte>;

// The messages the engine sends and answers: echo request/reply, destination unreachable and
// time exceeded.  `data` borrows the echo data or the quoted original datagram; parse points it
// into the parsed buffer.  Choosing how much of the original datagram to quote (RFC 1812 section
// 4.3.2.3: as much as fits in 576 bytes) is the caller's business.
struct IcmpRepr {
  IcmpType type = IcmpType::EchoRequest;
  uint8_t code = 0;
  uint16_t echo_identifier = 0;       // echo only
  uint16_t echo_sequence_number = 0;  // echo only
  uint16_t next_hop_mtu = 0;          // FragmentationNeeded only
  std::span<const std::byte> data{};

  static IcmpRepr echo_request(uint16_t identifier, uint16_t sequence_number,
                               std::span<const std::byte> data);
  static IcmpRepr echo_reply(uint16_t identifier, uint16_t sequence_number,
                             std::span<const std::byte> data);
  static IcmpRepr destination_unreachable(UnreachableCode code,
                                          std::span<const std::byte> original_datagram,
                                          uint16_t next_hop_mtu = 0);
  static IcmpRepr time_exceeded(TimeExceededCode code,
                                std::span<const std::byte> original_datagram);

  // check(), BadChecksum, UnsupportedType for types other than the four above, BadCode for
  // codes RFC 792/1122/1812 do not define for an error type.  Echo codes are not checked (Linux's
  // icmp_echo() ignores them) and are kept.
  static WireResult<IcmpRepr> parse(IcmpConstView message);
  size_t buffer_len() const { return IcmpView::kHeaderLen + data.size(); }
  // Writes header and data (data may overlap `buffer`, e.g. an echo reply built in place) and
  // fills the checksum.
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer) const;

  // Data compares by content.
  friend bool operator==(const IcmpRepr& a, const IcmpRepr& b);
};

}  // namespace vnet::wire
