#include "wire/tcp.h"

namespace vnet::wire {

namespace detail {

std::optional<WireError> check_tcp(std::span<const std::byte> segment) {
  if (segment.size() < TcpView::kHeaderLen) return WireError::Truncated;
  TcpConstView view(segment);
  if (view.data_offset() < 5 || view.header_len_bytes() > segment.size()) {
    return WireError::BadHeaderLength;
  }
  if (segment.size() > 0xffff) return WireError::TooLong;
  return std::nullopt;
}

std::optional<uint16_t> tcp_max_segment_size(std::span<const std::byte> options) {
  std::optional<uint16_t> max_segment_size;
  size_t i = 0;
  while (i < options.size()) {
    uint8_t kind = load_u8(options, i);
    if (kind == kTcpOptionEnd) break;
    if (kind == kTcpOptionNoOperation) {
      ++i;
      continue;
    }
    if (i + 1 >= options.size()) break;
    uint8_t length = load_u8(options, i + 1);
    if (length < 2 || length > options.size() - i) break;
    if (kind == kTcpOptionMaxSegmentSize && length == kTcpOptionMaxSegmentSizeLen) {
      max_segment_size = load_be16(options, i + 2);
    }
    i += length;
  }
  return max_segment_size;
}

uint16_t tcp_checksum(std::span<const std::byte> segment, net::Ipv4Addr source,
                      net::Ipv4Addr destination) {
  uint16_t pseudo = pseudo_header_sum(source, destination, IpProtocol::Tcp,
                                      static_cast<uint16_t>(segment.size()));
  return internet_checksum(segment, pseudo);
}

void fill_tcp_checksum(std::span<std::byte> segment, net::Ipv4Addr source,
                       net::Ipv4Addr destination) {
  TcpView view(segment);
  view.set_checksum(0);
  view.set_checksum(tcp_checksum(segment, source, destination));
}

}  // namespace detail

WireResult<TcpRepr> TcpRepr::parse(TcpConstView segment, net::Ipv4Addr source,
                                   net::Ipv4Addr destination) {
  if (auto error = segment.check()) return *error;
  if (!segment.verify_checksum(source, destination)) return WireError::BadChecksum;
  return TcpRepr{
      .source_port = segment.source_port(),
      .destination_port = segment.destination_port(),
      .sequence_number = segment.sequence_number(),
      .acknowledgment_number = segment.acknowledgment_number(),
      .flags = segment.flags(),
      .window = segment.window(),
      .urgent_pointer = segment.urgent_pointer(),
      .max_segment_size = segment.max_segment_size(),
      .payload_len = static_cast<uint16_t>(segment.payload().size()),
  };
}

size_t TcpRepr::header_len() const {
  return TcpView::kHeaderLen + (max_segment_size ? kTcpOptionMaxSegmentSizeLen : 0);
}

std::optional<WireError> TcpRepr::emit(std::span<std::byte> buffer, net::Ipv4Addr source,
                                       net::Ipv4Addr destination) const {
  if (buffer_len() > 0xffff) return WireError::TooLong;
  if (buffer.size() < buffer_len()) return WireError::Truncated;
  TcpView view(buffer.first(buffer_len()));
  view.set_source_port(source_port);
  view.set_destination_port(destination_port);
  view.set_sequence_number(sequence_number);
  view.set_acknowledgment_number(acknowledgment_number);
  store_u8(buffer, tcp_field::kDataOffset, static_cast<uint8_t>(header_len() / 4 << 4));
  view.set_flags(flags);
  view.set_window(window);
  store_be16(buffer, tcp_field::kUrgentPointer, urgent_pointer);
  if (max_segment_size) {
    store_u8(buffer, tcp_field::kOptions, kTcpOptionMaxSegmentSize);
    store_u8(buffer, tcp_field::kOptions + 1, kTcpOptionMaxSegmentSizeLen);
    store_be16(buffer, tcp_field::kOptions + 2, *max_segment_size);
  }
  view.fill_checksum(source, destination);
  return std::nullopt;
}

}  // namespace vnet::wire
