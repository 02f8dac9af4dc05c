// ARP for IPv4 over Ethernet (RFC 826): the view the L2 stage reads requests and replies with,
// and the Repr the neighbour code builds them from.
//
// Input: the Ethernet payload (padding may follow the 28 bytes and is ignored).  check() accepts
// only hardware type 1 (Ethernet), protocol type 0x0800 (IPv4) and address lengths 6 and 4,
// as Linux's arp_rcv() does for an Ethernet device; the operation is checked by Repr::parse.
// Example, "who-has 192.0.2.2 tell 192.0.2.1":
//   00 01 08 00 06 04 00 01  02 00 00 00 00 01 c0 00 02 01  00 00 00 00 00 00 c0 00 02 02
//   -> operation() Request, sender 02:00:00:00:00:01 / 192.0.2.1, target 192.0.2.2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4_addr.h"
#include "wire/endian.h"
#include "wire/error.h"
#include "wire/ethernet.h"

namespace vnet::wire {

// ar$op (RFC 826); other values are representable and refused by ArpRepr::parse.
enum class ArpOperation : uint16_t {
  Request = 1,
  Reply = 2,
};

inline constexpr uint16_t kArpHardwareEthernet = 1;

// Byte offsets (RFC 826 "Packet format"), for 6-byte hardware and 4-byte protocol addresses.
namespace arp_field {
inline constexpr size_t kHardwareType = 0;    // ar$hrd
inline constexpr size_t kProtocolType = 2;    // ar$pro
inline constexpr size_t kHardwareLength = 4;  // ar$hln
inline constexpr size_t kProtocolLength = 5;  // ar$pln
inline constexpr size_t kOperation = 6;       // ar$op
inline constexpr size_t kSenderHardwareAddress = 8;
inline constexpr size_t kSenderProtocolAddress = 14;
inline constexpr size_t kTargetHardwareAddress = 18;
inline constexpr size_t kTargetProtocolAddress = 24;
}  // namespace arp_field

template <WireByte Byte>
class BasicArpView {
 public:
  // The fields up to ar$op, common to every hardware/protocol pair.
  static constexpr size_t kFixedHeaderLen = 8;
  // 8 + 2 * 6 + 2 * 4 for Ethernet/IPv4.
  static constexpr size_t kHeaderLen = 28;

  explicit BasicArpView(std::span<Byte> packet) : packet_(packet) {}
  operator BasicArpView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicArpView<const std::byte>(packet_);
  }

  std::span<Byte> buffer() const { return packet_; }

  std::optional<WireError> check() const {
    if (packet_.size() < kFixedHeaderLen) return WireError::Truncated;
    if (hardware_type() != kArpHardwareEthernet) return WireError::BadHardwareType;
    if (protocol_type() != EtherType::Ipv4) return WireError::BadProtocolType;
    if (hardware_len() != 6 || protocol_len() != 4) return WireError::BadAddressLength;
    if (packet_.size() < kHeaderLen) return WireError::Truncated;
    return std::nullopt;
  }

  uint16_t hardware_type() const { return load_be16(packet_, arp_field::kHardwareType); }
  EtherType protocol_type() const {
    return EtherType{load_be16(packet_, arp_field::kProtocolType)};
  }
  uint8_t hardware_len() const { return load_u8(packet_, arp_field::kHardwareLength); }
  uint8_t protocol_len() const { return load_u8(packet_, arp_field::kProtocolLength); }
  ArpOperation operation() const { return ArpOperation{load_be16(packet_, arp_field::kOperation)}; }
  net::MacAddr sender_hardware_address() const {
    return load_mac_addr(packet_, arp_field::kSenderHardwareAddress);
  }
  net::Ipv4Addr sender_protocol_address() const {
    return load_ipv4_addr(packet_, arp_field::kSenderProtocolAddress);
  }
  net::MacAddr target_hardware_address() const {
    return load_mac_addr(packet_, arp_field::kTargetHardwareAddress);
  }
  net::Ipv4Addr target_protocol_address() const {
    return load_ipv4_addr(packet_, arp_field::kTargetProtocolAddress);
  }

  void set_operation(ArpOperation operation) requires(!std::is_const_v<Byte>) {
    store_be16(packet_, arp_field::kOperation, static_cast<uint16_t>(operation));
  }
  void set_sender_hardware_address(net::MacAddr addr) requires(!std::is_const_v<Byte>) {
    store_mac_addr(packet_, arp_field::kSenderHardwareAddress, addr);
  }
  void set_sender_protocol_address(net::Ipv4Addr addr) requires(!std::is_const_v<Byte>) {
    store_ipv4_addr(packet_, arp_field::kSenderProtocolAddress, addr);
  }
  void set_target_hardware_address(net::MacAddr addr) requires(!std::is_const_v<Byte>) {
    store_mac_addr(packet_, arp_field::kTargetHardwareAddress, addr);
  }
  void set_target_protocol_address(net::Ipv4Addr addr) requires(!std::is_const_v<Byte>) {
    store_ipv4_addr(packet_, arp_field::kTargetProtocolAddress, addr);
  }

 private:
  std::span<Byte> packet_;
};

using ArpView = BasicArpView<std::byte>;
using ArpConstView = BasicArpView<const std::byte>;

struct ArpRepr {
  ArpOperation operation = ArpOperation::Request;
  net::MacAddr sender_hardware_address{};
  net::Ipv4Addr sender_protocol_address{};
  net::MacAddr target_hardware_address{};
  net::Ipv4Addr target_protocol_address{};

  // check(), then BadOperation unless a request or a reply.
  static WireResult<ArpRepr> parse(ArpConstView packet);
  size_t buffer_len() const { return ArpView::kHeaderLen; }
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer) const;

  friend bool operator==(const ArpRepr&, const ArpRepr&) = default;
};

}  // namespace vnet::wire
