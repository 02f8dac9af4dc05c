#include "wire/udp.h"

namespace vnet::wire {

namespace detail {

std::optional<WireError> check_udp(std::span<const std::byte> datagram) {
  if (datagram.size() < UdpView::kHeaderLen) return WireError::Truncated;
  uint16_t length = UdpConstView(datagram).length();
  if (length < UdpView::kHeaderLen || length > datagram.size()) return WireError::BadLength;
  return std::nullopt;
}

bool verify_udp_checksum(std::span<const std::byte> datagram, net::Ipv4Addr source,
                         net::Ipv4Addr destination) {
  UdpConstView view(datagram);
  if (view.checksum() == 0) return true;
  uint16_t pseudo = pseudo_header_sum(source, destination, IpProtocol::Udp, view.length());
  return internet_checksum(datagram.first(view.length()), pseudo) == 0;
}

void fill_udp_checksum(std::span<std::byte> datagram, net::Ipv4Addr source,
                       net::Ipv4Addr destination) {
  UdpView view(datagram);
  view.set_checksum(0);
  uint16_t pseudo = pseudo_header_sum(source, destination, IpProtocol::Udp, view.length());
  uint16_t checksum = internet_checksum(datagram.first(view.length()), pseudo);
  view.set_checksum(checksum == 0 ? 0xffff : checksum);
}

}  // namespace detail

WireResult<UdpRepr> UdpRepr::parse(UdpConstView datagram, net::Ipv4Addr source,
                                   net::Ipv4Addr destination) {
  if (auto error = datagram.check()) return *error;
  if (!datagram.verify_checksum(source, destination)) return WireError::BadChecksum;
  return UdpRepr{
      .source_port = datagram.source_port(),
      .destination_port = datagram.destination_port(),
      .payload_len = static_cast<uint16_t>(datagram.length() - UdpView::kHeaderLen),
  };
}

std::optional<WireError> UdpRepr::emit(std::span<std::byte> buffer, net::Ipv4Addr source,
                                       net::Ipv4Addr destination) const {
  if (payload_len > 0xffff - UdpView::kHeaderLen) return WireError::TooLong;
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  UdpView view(buffer.first(buffer_len()));
  view.set_source_port(source_port);
  view.set_destination_port(destination_port);
  store_be16(buffer, udp_field::kLength, static_cast<uint16_t>(buffer_len()));
  view.fill_checksum(source, destination);
  return std::nullopt;
}

}  // namespace vnet::wire
