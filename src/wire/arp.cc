#include "wire/arp.h"

namespace vnet::wire {

WireResult<ArpRepr> ArpRepr::parse(ArpConstView packet) {
  if (auto error = packet.check()) return *error;
  if (packet.operation() != ArpOperation::Request && packet.operation() != ArpOperation::Reply) {
    return WireError::BadOperation;
  }
  return ArpRepr{
      .operation = packet.operation(),
      .sender_hardware_address = packet.sender_hardware_address(),
      .sender_protocol_address = packet.sender_protocol_address(),
      .target_hardware_address = packet.target_hardware_address(),
      .target_protocol_address = packet.target_protocol_address(),
  };
}

std::optional<WireError> ArpRepr::emit(std::span<std::byte> buffer) const {
  if (operation != ArpOperation::Request && operation != ArpOperation::Reply) {
    return WireError::BadOperation;
  }
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  store_be16(buffer, arp_field::kHardwareType, kArpHardwareEthernet);
  store_be16(buffer, arp_field::kProtocolType, static_cast<uint16_t>(EtherType::Ipv4));
  store_u8(buffer, arp_field::kHardwareLength, 6);
  store_u8(buffer, arp_field::kProtocolLength, 4);
  ArpView view(buffer);
  view.set_operation(operation);
  view.set_sender_hardware_address(sender_hardware_address);
  view.set_sender_protocol_address(sender_protocol_address);
  view.set_target_hardware_address(target_hardware_address);
  view.set_target_protocol_address(target_protocol_address);
  return std::nullopt;
}

}  // namespace vnet::wire
