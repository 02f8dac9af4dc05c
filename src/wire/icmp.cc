#include "wire/icmp.h"

#include <algorithm>
#include <cstring>

namespace vnet::wire {

namespace {

std::optional<WireError> check_code(IcmpType type, uint8_t code) {
  switch (type) {
    case IcmpType::EchoRequest:
    case IcmpType::EchoReply:
      return std::nullopt;
    case IcmpType::DestinationUnreachable:
      if (code > static_cast<uint8_t>(UnreachableCode::PrecedenceCutoff)) return WireError::BadCode;
      return std::nullopt;
    case IcmpType::TimeExceeded:
      if (code > static_cast<uint8_t>(TimeExceededCode::FragmentReassemblyTimeExceeded)) {
        return WireError::BadCode;
      }
      return std::nullopt;
    default:
      return WireError::UnsupportedType;
  }
}

bool is_fragmentation_needed(IcmpType type, uint8_t code) {
  return type == IcmpType::DestinationUnreachable &&
         code == static_cast<uint8_t>(UnreachableCode::FragmentationNeeded);
}

}  // namespace

namespace detail {

void fill_icmp_checksum(std::span<std::byte> message) {
  IcmpView view(message);
  view.set_checksum(0);
  view.set_checksum(internet_checksum(message));
}

}  // namespace detail

IcmpRepr IcmpRepr::echo_request(uint16_t identifier, uint16_t sequence_number,
                                std::span<const std::byte> data) {
  return IcmpRepr{.type = IcmpType::EchoRequest,
                  .echo_identifier = identifier,
                  .echo_sequence_number = sequence_number,
                  .data = data};
}

IcmpRepr IcmpRepr::echo_reply(uint16_t identifier, uint16_t sequence_number,
                              std::span<const std::byte> data) {
  return IcmpRepr{.type = IcmpType::EchoReply,
                  .echo_identifier = identifier,
                  .echo_sequence_number = sequence_number,
                  .data = data};
}

IcmpRepr IcmpRepr::destination_unreachable(UnreachableCode code,
                                           std::span<const std::byte> original_datagram,
                                           uint16_t next_hop_mtu) {
  return IcmpRepr{
      .type = IcmpType::DestinationUnreachable,
      .code = static_cast<uint8_t>(code),
      .next_hop_mtu = code == UnreachableCode::FragmentationNeeded ? next_hop_mtu : uint16_t{0},
      .data = original_datagram};
}

IcmpRepr IcmpRepr::time_exceeded(TimeExceededCode code,
                                 std::span<const std::byte> original_datagram) {
  return IcmpRepr{.type = IcmpType::TimeExceeded,
                  .code = static_cast<uint8_t>(code),
                  .data = original_datagram};
}

WireResult<IcmpRepr> IcmpRepr::parse(IcmpConstView message) {
  if (auto error = message.check()) return *error;
  if (!message.verify_checksum()) return WireError::BadChecksum;
  if (auto error = check_code(message.type(), message.code())) return *error;
  IcmpRepr repr{.type = message.type(), .code = message.code(), .data = message.data()};
  if (repr.type == IcmpType::EchoRequest || repr.type == IcmpType::EchoReply) {
    repr.echo_identifier = message.echo_identifier();
    repr.echo_sequence_number = message.echo_sequence_number();
  } else if (is_fragmentation_needed(repr.type, repr.code)) {
    repr.next_hop_mtu = message.next_hop_mtu();
  }
  return repr;
}

std::optional<WireError> IcmpRepr::emit(std::span<std::byte> buffer) const {
  if (auto error = check_code(type, code)) return error;
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  // memmove: the data may already sit in `buffer`, shifted or not.
  if (!data.empty()) std::memmove(buffer.data() + IcmpView::kHeaderLen, data.data(), data.size());
  IcmpView view(buffer.first(buffer_len()));
  view.set_type(type);
  view.set_code(code);
  store_be32(buffer, icmp_field::kRestOfHeader, 0);
  if (type == IcmpType::EchoRequest || type == IcmpType::EchoReply) {
    view.set_echo_identifier(echo_identifier);
    view.set_echo_sequence_number(echo_sequence_number);
  } else if (is_fragmentation_needed(type, code)) {
    store_be16(buffer, icmp_field::kNextHopMtu, next_hop_mtu);
  }
  view.fill_checksum();
  return std::nullopt;
}

bool operator==(const IcmpRepr& a, const IcmpRepr& b) {
  return a.type == b.type && a.code == b.code && a.echo_identifier == b.echo_identifier &&
         a.echo_sequence_number == b.echo_sequence_number && a.next_hop_mtu == b.next_hop_mtu &&
         std::ranges::equal(a.data, b.data);
}

}  // namespace vnet::wire
