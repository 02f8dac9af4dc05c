// Ethernet II frames with at most one IEEE 802.1Q VLAN tag: the view that rx reads first and the
// Repr that tx and the simulator build frames from.
//
// Input: the whole frame from the destination MAC on, without preamble or FCS.  The view reads
// the destination, source and EtherType; when the EtherType is a tag protocol identifier (TPID
// 0x8100, or 0x88a8 for an 802.1ad service tag) it reads the 4-byte tag (PCP, DEI, VLAN ID) and
// the EtherType after it, and the payload starts 4 bytes later.  Only one tag is parsed: in a
// double-tagged (Q-in-Q) frame the inner tag is reported as payload EtherType 0x8100.  Example:
//   ff ff ff ff ff ff  02 00 00 00 00 01  81 00  20 64  08 06  <ARP>
//   -> destination ff:ff:ff:ff:ff:ff, source 02:00:00:00:00:01, VLAN 100 PCP 1 DEI 0,
//      payload_ethertype() Arp, payload() from byte 18.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4_addr.h"
#include "wire/endian.h"
#include "wire/error.h"

namespace vnet::wire {

// The EtherType / TPID field (IEEE 802 numbers).  Values below 0x0600 are 802.3 lengths, which
// this layer passes up unchanged for the caller to drop.
enum class EtherType : uint16_t {
  Ipv4 = 0x0800,
  Arp = 0x0806,
  Vlan = 0x8100,         // 802.1Q customer tag (C-TAG)
  ServiceVlan = 0x88a8,  // 802.1ad service tag (S-TAG), accepted as a single outer tag
  Ipv6 = 0x86dd,
};

constexpr bool is_vlan_tpid(EtherType type) {
  return type == EtherType::Vlan || type == EtherType::ServiceVlan;
}

// Byte offsets of the Ethernet II header and the 802.1Q tag.
namespace ethernet_field {
inline constexpr size_t kDestination = 0;
inline constexpr size_t kSource = 6;
inline constexpr size_t kEtherType = 12;   // the TPID when tagged
inline constexpr size_t kTagControl = 14;  // PCP(3) DEI(1) VID(12), tagged frames only
inline constexpr size_t kInnerEtherType = 16;
}  // namespace ethernet_field

template <WireByte Byte>
class BasicEthernetView {
 public:
  static constexpr size_t kHeaderLen = 14;
  static constexpr size_t kVlanTagLen = 4;

  explicit BasicEthernetView(std::span<Byte> frame) : frame_(frame) {}
  operator BasicEthernetView<const std::byte>() const  // NOLINT(google-explicit-constructor)
      requires(!std::is_const_v<Byte>) {
    return BasicEthernetView<const std::byte>(frame_);
  }

  std::span<Byte> buffer() const { return frame_; }

  // Truncated when the frame is shorter than 14 bytes, or than 18 when it carries a tag.
  std::optional<WireError> check() const {
    if (frame_.size() < kHeaderLen) return WireError::Truncated;
    if (has_vlan_tag() && frame_.size() < kHeaderLen + kVlanTagLen) return WireError::Truncated;
    return std::nullopt;
  }

  net::MacAddr destination() const { return load_mac_addr(frame_, ethernet_field::kDestination); }
  net::MacAddr source() const { return load_mac_addr(frame_, ethernet_field::kSource); }
  // The field after the source address: the TPID of a tagged frame.
  EtherType ethertype() const { return EtherType{load_be16(frame_, ethernet_field::kEtherType)}; }
  bool has_vlan_tag() const { return is_vlan_tpid(ethertype()); }

  // Tag control information (IEEE 802.1Q section 9.6); only when has_vlan_tag().
  uint8_t vlan_pcp() const { return static_cast<uint8_t>(tag_control() >> 13); }
  bool vlan_dei() const { return (tag_control() >> 12) & 1; }
  uint16_t vlan_id() const { return tag_control() & 0x0fff; }

  // The EtherType of the payload: after the tag when tagged.
  EtherType payload_ethertype() const {
    return has_vlan_tag() ? EtherType{load_be16(frame_, ethernet_field::kInnerEtherType)}
                          : ethertype();
  }
  size_t header_len_bytes() const { return has_vlan_tag() ? kHeaderLen + kVlanTagLen : kHeaderLen; }
  // Everything after the header, Ethernet padding included: the IPv4 view bounds its own payload.
  std::span<Byte> payload() const { return frame_.subspan(header_len_bytes()); }

  void set_destination(net::MacAddr addr) requires(!std::is_const_v<Byte>) {
    store_mac_addr(frame_, ethernet_field::kDestination, addr);
  }
  void set_source(net::MacAddr addr) requires(!std::is_const_v<Byte>) {
    store_mac_addr(frame_, ethernet_field::kSource, addr);
  }

 private:
  uint16_t tag_control() const { return load_be16(frame_, ethernet_field::kTagControl); }

  std::span<Byte> frame_;
};

using EthernetView = BasicEthernetView<std::byte>;
using EthernetConstView = BasicEthernetView<const std::byte>;

// One 802.1Q/802.1ad tag.
struct VlanTag {
  EtherType tpid = EtherType::Vlan;
  uint8_t pcp = 0;       // priority code point, 0..7
  bool dei = false;      // drop eligible indicator
  uint16_t vlan_id = 0;  // 0..4095

  friend bool operator==(const VlanTag&, const VlanTag&) = default;
};

// The Ethernet header as values; `ethertype` is the payload's EtherType, after any tag.
struct EthernetRepr {
  net::MacAddr destination{};
  net::MacAddr source{};
  EtherType ethertype = EtherType::Ipv4;
  std::optional<VlanTag> vlan{};

  static WireResult<EthernetRepr> parse(EthernetConstView frame);
  // Header bytes only (14, or 18 with a tag); the payload follows.
  size_t buffer_len() const;
  // Writes the header into the start of `buffer`.  BadVlanTag for a PCP above 7, a VLAN ID above
  // 4095, a TPID that is not a tag protocol, or an untagged payload EtherType that is a TPID
  // (the frame would read back as tagged).
  [[nodiscard]] std::optional<WireError> emit(std::span<std::byte> buffer) const;

  friend bool operator==(const EthernetRepr&, const EthernetRepr&) = default;
};

}  // namespace vnet::wire
