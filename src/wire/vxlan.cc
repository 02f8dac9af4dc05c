#include "wire/vxlan.h"

namespace vnet::wire {

namespace detail {

std::optional<WireError> check_vxlan(std::span<const std::byte> packet) {
  if (packet.size() < VxlanView::kHeaderLen) return WireError::Truncated;
  // The whole first word must be exactly "I flag, nothing else"; the last byte is reserved.
  if (load_be32(packet, 0) != uint32_t{vxlan::kFlagI} << 24) return WireError::BadFlags;
  if ((load_be32(packet, 4) & 0xff) != 0) return WireError::BadFlags;
  return std::nullopt;
}

}  // namespace detail

WireResult<VxlanRepr> VxlanRepr::parse(VxlanConstView packet) {
  if (auto err = packet.check()) return *err;
  return VxlanRepr{packet.vni()};
}

std::optional<WireError> VxlanRepr::emit(std::span<std::byte> packet) const {
  if (vni > vxlan::kMaxVni) return WireError::TooLong;
  if (packet.size() < buffer_len()) return WireError::Truncated;
  store_be32(packet, 0, uint32_t{vxlan::kFlagI} << 24);
  store_be32(packet, 4, vni << 8);
  return std::nullopt;
}

}  // namespace vnet::wire
