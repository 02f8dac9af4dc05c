#include "wire/ethernet.h"

namespace vnet::wire {

WireResult<EthernetRepr> EthernetRepr::parse(EthernetConstView frame) {
  if (auto error = frame.check()) return *error;
  EthernetRepr repr;
  repr.destination = frame.destination();
  repr.source = frame.source();
  repr.ethertype = frame.payload_ethertype();
  if (frame.has_vlan_tag()) {
    repr.vlan = VlanTag{.tpid = frame.ethertype(),
                        .pcp = frame.vlan_pcp(),
                        .dei = frame.vlan_dei(),
                        .vlan_id = frame.vlan_id()};
  }
  return repr;
}

size_t EthernetRepr::buffer_len() const {
  return EthernetView::kHeaderLen + (vlan ? EthernetView::kVlanTagLen : 0);
}

std::optional<WireError> EthernetRepr::emit(std::span<std::byte> buffer) const {
  if (vlan) {
    if (!is_vlan_tpid(vlan->tpid) || vlan->pcp > 7 || vlan->vlan_id > 0x0fff) {
      return WireError::BadVlanTag;
    }
  } else if (is_vlan_tpid(ethertype)) {
    return WireError::BadVlanTag;
  }
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  store_mac_addr(buffer, ethernet_field::kDestination, destination);
  store_mac_addr(buffer, ethernet_field::kSource, source);
  if (vlan) {
    store_be16(buffer, ethernet_field::kEtherType, static_cast<uint16_t>(vlan->tpid));
    uint16_t tag_control =
        static_cast<uint16_t>((vlan->pcp << 13) | (vlan->dei ? 1u << 12 : 0u) | vlan->vlan_id);
    store_be16(buffer, ethernet_field::kTagControl, tag_control);
    store_be16(buffer, ethernet_field::kInnerEtherType, static_cast<uint16_t>(ethertype));
  } else {
    store_be16(buffer, ethernet_field::kEtherType, static_cast<uint16_t>(ethertype));
  }
  return std::nullopt;
}

}  // namespace vnet::wire
