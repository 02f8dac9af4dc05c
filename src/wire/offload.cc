// Checksum completion and software segmentation of offloaded frames (gso.h), reproducing what the
// Linux transmit path does for a device without the offload:
//   * complete_checksum() is skb_checksum_help(): sum from csum_start to the end of the frame
//     (the checksum field already holds the pseudo-header sum), fold, store the complement, and
//     store 0xffff instead of 0 (CSUM_MANGLED_0: a UDP checksum of 0 would mean "none").
//   * TCPv4 segmentation is inet_gso_segment() + tcp_gso_segment(): every segment carries a copy
//     of the headers (IPv4 options and TCP options included), the IPv4 identification advances by
//     one per segment (no SKB_GSO_TCP_FIXEDID from a virtio_net_hdr), the sequence number by
//     gso_size, CWR stays on the first segment only, FIN and PSH on the last only.
//   * UDP L4 segmentation (USO) is __udp_gso_segment(): each segment is a complete datagram with
//     its own UDP length and checksum; the IPv4 identification also advances per segment.
// Input validation follows virtio_net_hdr_to_skb()/__packet_snd_vnet_parse(): hdr_len may not
// exceed the frame, csum_start/csum_offset must lie inside it (and, for GSO, point at the
// transport checksum), and gso_size 0 is refused.  hdr_len is otherwise only a hint: the kernel
// fills it with skb_headlen() on receive, which need not equal the header length, so the
// headers are parsed from the frame itself.  One 802.1Q/802.1ad tag in front of IPv4 is accepted.
//
// Example: resolve_offloads(frame with 14+20+32+60000 bytes, {NEEDS_CSUM, TCPV4, gso_size 1448})
// appends 42 frames: 41 of 14+20+32+1448 bytes and one with the last 632 payload bytes.
#include "wire/offload.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/error.h"
#include "wire/ethernet.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::wire {

namespace {

// Where the headers of a GSO super-frame are, once validated.
struct GsoLayout {
  size_t ip_offset = 0;         // after the Ethernet header (and tag)
  size_t l4_offset = 0;         // after the IPv4 header and options
  size_t headers_len = 0;       // Ethernet + IPv4 + TCP/UDP header, copied into every segment
  size_t payload_len = 0;       // transport payload, up to the IPv4 total length
  uint16_t identification = 0;  // of the super-frame; segment i gets identification + i
  net::Ipv4Addr source{}, destination{};
};

bool fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return false;
}

std::nullopt_t refuse(std::string* error, std::string message) {
  fail(error, std::move(message));
  return std::nullopt;
}

std::string wire_reason(const char* what, wire::WireError reason) {
  return std::string(what) + ": " + wire::to_string(reason);
}

// Validates the Ethernet, IPv4 and transport headers of a GSO frame for `protocol`.
std::optional<GsoLayout> parse_gso_frame(std::span<const std::byte> frame, const VirtioNetHdr& hdr,
                                         wire::IpProtocol protocol, std::string* error) {
  const char* name = protocol == wire::IpProtocol::Tcp ? "TCPv4 GSO" : "UDP L4 GSO";
  wire::EthernetConstView eth(frame);
  if (auto reason = eth.check()) return refuse(error, wire_reason(name, *reason));
  if (eth.payload_ethertype() != wire::EtherType::Ipv4) {
    return refuse(error, std::string(name) + ": not an IPv4 frame (IPv6 GSO is not supported)");
  }
  GsoLayout layout;
  layout.ip_offset = eth.header_len_bytes();
  wire::Ipv4ConstView ip(eth.payload());
  if (auto reason = ip.check()) return refuse(error, wire_reason(name, *reason));
  if (ip.is_fragment()) {
    return refuse(error, std::string(name) + ": the IPv4 packet is a fragment");
  }
  if (ip.protocol() != protocol) {
    return refuse(error, std::string(name) + ": IPv4 protocol " +
                             std::to_string(static_cast<unsigned>(ip.protocol())) +
                             " does not match the gso_type");
  }
  layout.l4_offset = layout.ip_offset + ip.header_len_bytes();
  layout.identification = ip.identification();
  layout.source = ip.source();
  layout.destination = ip.destination();

  size_t l4_header_len = 0;
  uint16_t checksum_offset = 0;
  if (protocol == wire::IpProtocol::Tcp) {
    wire::TcpConstView tcp(ip.payload());
    if (auto reason = tcp.check()) return refuse(error, wire_reason(name, *reason));
    l4_header_len = tcp.header_len_bytes();
    checksum_offset = wire::tcp_field::kChecksum;
  } else {
    // The UDP length of a USO super-frame covers the whole payload (udp_send_skb()); check()
    // makes udp_rcv()'s 8 <= length <= buffer test.
    wire::UdpConstView udp(ip.payload());
    if (auto reason = udp.check()) return refuse(error, wire_reason(name, *reason));
    l4_header_len = wire::UdpView::kHeaderLen;
    checksum_offset = wire::udp_field::kChecksum;
  }
  if ((hdr.flags & VirtioNetHdr::kNeedsCsum) != 0 &&
      (hdr.csum_start != layout.l4_offset || hdr.csum_offset != checksum_offset)) {
    return refuse(error, std::string(name) + ": csum_start " + std::to_string(hdr.csum_start) +
                             " / csum_offset " + std::to_string(hdr.csum_offset) +
                             " do not point at the transport checksum");
  }
  layout.headers_len = layout.l4_offset + l4_header_len;
  layout.payload_len = ip.payload_len() - l4_header_len;
  return layout;
}

// Fills segment i of `count`: IPv4 total length, identification and header checksum, then the
// transport fields and checksum.  `segment` is the headers followed by this segment's payload.
void finish_tcp_segment(std::span<std::byte> segment, const GsoLayout& layout, size_t index,
                        size_t count, uint32_t first_sequence, uint16_t gso_size) {
  auto ip_bytes = segment.subspan(layout.ip_offset);
  wire::store_be16(ip_bytes, wire::ipv4_field::kTotalLength,
                   static_cast<uint16_t>(segment.size() - layout.ip_offset));
  wire::store_be16(ip_bytes, wire::ipv4_field::kIdentification,
                   static_cast<uint16_t>(layout.identification + index));
  wire::Ipv4View(ip_bytes).fill_checksum();

  wire::TcpView tcp(segment.subspan(layout.l4_offset));
  // Sequence numbers wrap modulo 2^32 (RFC 9293 section 3.4).
  tcp.set_sequence_number(first_sequence + static_cast<uint32_t>(index * gso_size));
  uint8_t flags = tcp.flags();
  if (index > 0) flags &= static_cast<uint8_t>(~wire::kTcpCwr);
  if (index + 1 < count) flags &= static_cast<uint8_t>(~(wire::kTcpFin | wire::kTcpPsh));
  tcp.set_flags(flags);
  tcp.fill_checksum(layout.source, layout.destination);
}

void finish_udp_segment(std::span<std::byte> segment, const GsoLayout& layout, size_t index) {
  auto ip_bytes = segment.subspan(layout.ip_offset);
  wire::store_be16(ip_bytes, wire::ipv4_field::kTotalLength,
                   static_cast<uint16_t>(segment.size() - layout.ip_offset));
  wire::store_be16(ip_bytes, wire::ipv4_field::kIdentification,
                   static_cast<uint16_t>(layout.identification + index));
  wire::Ipv4View(ip_bytes).fill_checksum();

  auto udp_bytes = segment.subspan(layout.l4_offset);
  wire::store_be16(udp_bytes, wire::udp_field::kLength, static_cast<uint16_t>(udp_bytes.size()));
  wire::UdpView(udp_bytes).fill_checksum(layout.source, layout.destination);
}

bool segment(std::span<const std::byte> frame, const VirtioNetHdr& hdr, wire::IpProtocol protocol,
             std::vector<std::vector<std::byte>>* out, std::string* error) {
  if (hdr.gso_size == 0) return fail(error, "GSO frame with gso_size 0");
  auto layout = parse_gso_frame(frame, hdr, protocol, error);
  if (!layout) return false;

  // A payload that fits one segment still goes out as one frame with full checksums, as
  // tcp_gso_segment() leaves it whole and skb_checksum_help() completes it.
  size_t count = std::max<size_t>(1, (layout->payload_len + hdr.gso_size - 1) / hdr.gso_size);
  uint32_t first_sequence = 0;
  if (protocol == wire::IpProtocol::Tcp) {
    first_sequence =
        wire::load_be32(frame.subspan(layout->l4_offset), wire::tcp_field::kSequenceNumber);
  }
  auto headers = frame.first(layout->headers_len);
  auto payload = frame.subspan(layout->headers_len, layout->payload_len);
  out->reserve(out->size() + count);
  for (size_t i = 0; i < count; ++i) {
    size_t begin = i * hdr.gso_size;
    size_t len = std::min<size_t>(hdr.gso_size, payload.size() - begin);
    auto& segment_bytes = out->emplace_back(headers.size() + len);
    std::copy(headers.begin(), headers.end(), segment_bytes.begin());
    auto piece = payload.subspan(begin, len);
    std::copy(piece.begin(), piece.end(), segment_bytes.begin() + headers.size());
    if (protocol == wire::IpProtocol::Tcp) {
      finish_tcp_segment(segment_bytes, *layout, i, count, first_sequence, hdr.gso_size);
    } else {
      finish_udp_segment(segment_bytes, *layout, i);
    }
  }
  return true;
}

}  // namespace

bool complete_checksum(std::span<std::byte> frame, uint16_t csum_start, uint16_t csum_offset) {
  size_t field = size_t{csum_start} + csum_offset;
  if (csum_start >= frame.size() || field + 2 > frame.size()) return false;
  uint16_t checksum = wire::internet_checksum(frame.subspan(csum_start));
  wire::store_be16(frame, field, checksum == 0 ? 0xffff : checksum);
  return true;
}

bool resolve_offloads(std::span<const std::byte> frame, const VirtioNetHdr& hdr,
                      std::vector<std::vector<std::byte>>* out, std::string* error) {
  if (hdr.hdr_len > frame.size()) {
    return fail(error, "hdr_len " + std::to_string(hdr.hdr_len) + " beyond the " +
                           std::to_string(frame.size()) + "-byte frame");
  }
  switch (hdr.gso_type & static_cast<uint8_t>(~VirtioNetHdr::kGsoEcn)) {
    case VirtioNetHdr::kGsoNone:
      break;
    case VirtioNetHdr::kGsoTcpv4:
      return segment(frame, hdr, wire::IpProtocol::Tcp, out, error);
    case VirtioNetHdr::kGsoUdpL4:
      return segment(frame, hdr, wire::IpProtocol::Udp, out, error);
    case VirtioNetHdr::kGsoUdp:
      return fail(error, "UFO (gso_type 3) is not supported");
    case VirtioNetHdr::kGsoTcpv6:
      return fail(error, "TCPv6 GSO is not supported");
    default:
      return fail(error, "unknown gso_type " + std::to_string(hdr.gso_type));
  }
  if ((hdr.flags & VirtioNetHdr::kNeedsCsum) == 0) {
    out->emplace_back(frame.begin(), frame.end());
    return true;
  }
  std::vector<std::byte> completed(frame.begin(), frame.end());
  if (!complete_checksum(completed, hdr.csum_start, hdr.csum_offset)) {
    return fail(error, "csum_start " + std::to_string(hdr.csum_start) + " / csum_offset " +
                           std::to_string(hdr.csum_offset) + " outside the " +
                           std::to_string(frame.size()) + "-byte frame");
  }
  out->push_back(std::move(completed));
  return true;
}

}  // namespace vnet::wire
