#include "wire/ipv4.h"

namespace vnet::wire {

namespace detail {

std::optional<WireError> check_ipv4_header(std::span<const std::byte> packet) {
  Ipv4ConstView view(packet);
  if (packet.size() < Ipv4View::kHeaderLen) return WireError::Truncated;
  if (view.version() != 4) return WireError::BadVersion;
  if (view.ihl() < 5 || view.header_len_bytes() > packet.size()) {
    return WireError::BadHeaderLength;
  }
  if (view.total_len() < view.header_len_bytes()) return WireError::BadTotalLength;
  return std::nullopt;
}

std::optional<WireError> check_ipv4(std::span<const std::byte> packet) {
  if (auto error = check_ipv4_header(packet)) return error;
  if (Ipv4ConstView(packet).total_len() > packet.size()) return WireError::BadTotalLength;
  return std::nullopt;
}

void set_ipv4_ttl(std::span<std::byte> packet, uint8_t ttl) {
  // TTL is the high byte of the 16-bit word at offset 8, Protocol the low byte.
  uint16_t old_word = load_be16(packet, ipv4_field::kTimeToLive);
  uint16_t new_word = static_cast<uint16_t>((ttl << 8) | (old_word & 0x00ff));
  store_be16(packet, ipv4_field::kTimeToLive, new_word);
  uint16_t checksum = load_be16(packet, ipv4_field::kHeaderChecksum);
  store_be16(packet, ipv4_field::kHeaderChecksum, checksum_adjust16(checksum, old_word, new_word));
}

void fill_ipv4_checksum(std::span<std::byte> packet) {
  Ipv4View view(packet);
  view.set_checksum(0);
  view.set_checksum(internet_checksum(view.header()));
}

}  // namespace detail

WireResult<Ipv4Repr> Ipv4Repr::parse(Ipv4ConstView packet) {
  if (auto error = packet.check()) return *error;
  if (!packet.verify_checksum()) return WireError::BadChecksum;
  return Ipv4Repr{
      .source = packet.source(),
      .destination = packet.destination(),
      .protocol = packet.protocol(),
      .payload_len = static_cast<uint16_t>(packet.payload_len()),
      .ttl = packet.ttl(),
      .tos = packet.tos(),
      .identification = packet.identification(),
      .dont_fragment = packet.dont_fragment(),
      .more_fragments = packet.more_fragments(),
      .fragment_offset_bytes = static_cast<uint16_t>(packet.fragment_offset_bytes()),
  };
}

std::optional<WireError> Ipv4Repr::emit(std::span<std::byte> buffer) const {
  if (payload_len > 0xffff - Ipv4View::kHeaderLen) return WireError::TooLong;
  if (fragment_offset_bytes % 8 != 0 || fragment_offset_bytes / 8 > kIpv4FragmentOffsetMask) {
    return WireError::BadFragmentOffset;
  }
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  store_u8(buffer, ipv4_field::kVersionIhl, 0x45);
  store_u8(buffer, ipv4_field::kTypeOfService, tos);
  store_be16(buffer, ipv4_field::kTotalLength,
             static_cast<uint16_t>(Ipv4View::kHeaderLen + payload_len));
  store_be16(buffer, ipv4_field::kIdentification, identification);
  uint16_t flags_fragment_offset =
      static_cast<uint16_t>((dont_fragment ? kIpv4DontFragment : 0) |
                            (more_fragments ? kIpv4MoreFragments : 0) | fragment_offset_bytes / 8);
  store_be16(buffer, ipv4_field::kFlagsFragmentOffset, flags_fragment_offset);
  store_u8(buffer, ipv4_field::kTimeToLive, ttl);
  store_u8(buffer, ipv4_field::kProtocol, static_cast<uint8_t>(protocol));
  store_ipv4_addr(buffer, ipv4_field::kSourceAddress, source);
  store_ipv4_addr(buffer, ipv4_field::kDestinationAddress, destination);
  Ipv4View(buffer.first(buffer_len())).fill_checksum();
  return std::nullopt;
}

}  // namespace vnet::wire
