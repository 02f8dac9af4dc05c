// UDP datagrams (RFC 768): the view that local delivery, NAT and load balancing read ports from,
// and the Repr that simulated endpoints and tunnel encapsulation (VXLAN) build datagrams with.
//
// Input: the IPv4 payload.  check() makes udp_rcv()'s length checks: at least 8 bytes, and
// 8 <= length field <= buffer; the payload is bytes 8 .. length, so bytes after the length are
// not payload.  The checksum covers the IPv4 pseudo-header, header and payload; a zero checksum
// means "not computed" over IPv4 (RFC 768) and verifies.  Example, a DNS query header:
//   c0 01 00 35 00 1d <cksum> <21 bytes payload>
//   -> source_port() 49153, destination_port() 53, length() 29, payload() 21 bytes.
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

// Byte offsets (RFC 768).
namespace udp_field {
inline constexpr size_t kSourcePort = 0;
inline constexpr size_t kDestinationPort = 2;
inline constexpr size_t kLength = 4;
inline constexpr size_t kChecksum = 6;
}  // namespace udp_field

namespace detail {
std::optional<WireError> check_udp(std::span<const std::byte> datagram);
bool verify_udp_checksum(std::span<const std::byte> datagram, net::Ipv4Addr source,
                         net::Ipv4Addr destination);
void fill_udp_checksum(std::span<std::byte> datagram, net::Ipv4Addr source,
                       net::Ipv4Addr destination);
}  // namespace detail

template <WireByte Byte>
class BasicUdpView {
 public:
  static constexpr size_t kHeaderLen = 8;

  explicit BasicUdpView(std::span<Byte> datagram) : datagram_(datagram) {}
  operator BasicUdpView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicUdpView<const std::byte>(datagram_);
  }

  std::span<Byte> buffer() const { return datagram_; }

  // Truncated below 8 bytes, BadLength for a length field below 8 or beyond the buffer.
  std::optional<WireError> check() const { return detail::check_udp(datagram_); }

  uint16_t source_port() const { return load_be16(datagram_, udp_field::kSourcePort); }
  uint16_t destination_port() const { return load_be16(datagram_, udp_field::kDestinationPort); }
  // Header plus payload, in bytes.
  uint16_t length() const { return load_be16(datagram_, udp_field::kLength); }
  uint16_t checksum() const { return load_be16(datagram_, udp_field::kChecksum); }
  // Bytes 8 .. length().
  std::span<Byte> payload() const { return datagram_.subspan(kHeaderLen, length() - kHeaderLen); }

  // True for a zero ("none") checksum, else the pseudo-header sum over length() bytes.
  bool verify_checksum(net::Ipv4Addr source, net::Ipv4Addr destination) const {
    return detail::verify_udp_checksum(datagram_, source, destination);
  }

  void set_source_port(uint16_t port) requires(!std::is_const_v<Byte>) {
    store_be16(datagram_, udp_field::kSourcePort, port);
  }
  void set_destination_port(uint16_t port) requires(!std::is_const_v<Byte>) {
    store_be16(datagram_, udp_field::kDestinationPort, port);
  }
  void set_checksum(uint16_t checksum) requires(!std::is_const_v<Byte>) {
    store_be16(datagram_, udp_field::kChecksum, checksum);
  }
  // Computes the checksum over length() bytes; a computed 0 is sent as 0xffff (RFC 768).
  void fill_checksum(net::Ipv4Addr source,
                     net::Ipv4Addr destination) requires(!std::is_const_v<Byte>) {
    detail::fill_udp_checksum(datagram_, source, destination);
  }

 private:
  std::span<Byte> datagram_;
};

using UdpView = BasicUdpView<std::byte>;
using UdpConstView = BasicUdpView<const std::byte>;

struct UdpRepr {
  uint16_t source_port = 0;
  uint16_t destination_port = 0;
  uint16_t payload_len = 0;

  // check(), then BadChecksum unless verify_checksum(source, destination).
  static WireResult<UdpRepr> parse(UdpConstView datagram, net::Ipv4Addr source,
                                   net::Ipv4Addr destination);
  // Header plus payload.
  size_t buffer_len() const { return UdpView::kHeaderLen + payload_len; }
  // Writes the 8-byte header and the checksum.  The payload must already be in
  // buffer[8 .. 8 + payload_len): the checksum covers it.  TooLong when the length would exceed
  // 65535 bytes.
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer, net::Ipv4Addr source,
                                              net::Ipv4Addr destination) const;

  friend bool operator==(const UdpRepr&, const UdpRepr&) = default;
};

}  // namespace vnet::wire
