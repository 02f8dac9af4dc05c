#include "nf/nat_packet.h"

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::nf {

namespace {

using wire::load_be16;
using wire::store_be16;

bool is_icmp_error_type(uint8_t type) {
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

bool is_icmp_query_type(uint8_t type) {
  return type == 0 || type == 8 || type == 13 || type == 14 || type == 15 || type == 16 ||
         type == 17 || type == 18;
}

// The tuple of the datagram an ICMP error quotes: the header and at least the 8 bytes that
// carry ports or the echo id (RFC 792).
std::optional<Tuple> quoted_tuple(std::span<const std::byte> quoted) {
  wire::Ipv4ConstView ip(quoted);
  if (ip.check_header() || ip.is_fragment()) return std::nullopt;
  auto l4 = ip.payload();
  Tuple t;
  t.src = ip.source();
  t.dst = ip.destination();
  t.protocol = static_cast<uint8_t>(ip.protocol());
  if (t.protocol == kProtoTcp || t.protocol == kProtoUdp) {
    if (l4.size() < 8) return std::nullopt;
    t.src_key = load_be16(l4, 0);
    t.dst_key = load_be16(l4, 2);
  } else if (t.protocol == kProtoIcmp) {
    if (l4.size() < 8) return std::nullopt;
    uint8_t type = wire::load_u8(l4, 0);
    if (!is_icmp_query_type(type)) return std::nullopt;  // never an error about an error
    t.src_key = load_be16(l4, 4);
    t.dst_key = static_cast<uint16_t>(type << 8 | wire::load_u8(l4, 1));
  }
  return t;
}

}  // namespace

ParsedPacket parse_packet(std::span<const std::byte> packet, bool verify_checksums) {
  ParsedPacket out;
  wire::Ipv4ConstView ip(packet);
  if (ip.check()) return out;
  out.length = ip.total_len();
  if (ip.is_fragment()) {
    out.status = ParseStatus::Fragment;
    return out;
  }
  Tuple& t = out.tuple;
  t.src = ip.source();
  t.dst = ip.destination();
  t.protocol = static_cast<uint8_t>(ip.protocol());
  auto l4 = ip.payload();
  switch (t.protocol) {
    case kProtoTcp: {
      wire::TcpConstView tcp(l4);
      if (tcp.check()) return out;
      if (verify_checksums && !tcp.verify_checksum(t.src, t.dst)) return out;
      t.src_key = tcp.source_port();
      t.dst_key = tcp.destination_port();
      out.tcp_flags = tcp.flags();
      break;
    }
    case kProtoUdp: {
      wire::UdpConstView udp(l4);
      if (udp.check()) return out;
      if (verify_checksums && !udp.verify_checksum(t.src, t.dst)) return out;
      t.src_key = udp.source_port();
      t.dst_key = udp.destination_port();
      break;
    }
    case kProtoIcmp: {
      wire::IcmpConstView icmp(l4);
      if (icmp.check()) return out;
      // icmp_error(): types above NR_ICMP_TYPES (18) are invalid.
      uint8_t type = static_cast<uint8_t>(icmp.type());
      if (type > 18) return out;
      if (verify_checksums && !icmp.verify_checksum()) return out;
      out.icmp_type = type;
      if (is_icmp_error_type(type)) {
        out.icmp_error = true;
        out.inner = quoted_tuple(icmp.data());
        if (!out.inner) return out;
      }
      t.src_key = icmp.echo_identifier();
      t.dst_key = static_cast<uint16_t>(type << 8 | icmp.code());
      break;
    }
    default:
      break;
  }
  out.status = ParseStatus::Ok;
  return out;
}

void manip_packet(std::span<std::byte> packet, const Tuple& target, Manip manip, bool inner) {
  wire::Ipv4View ip(packet);
  if (inner ? ip.check_header().has_value() : ip.check().has_value()) return;
  const bool src = manip == Manip::Src;
  const net::Ipv4Addr old_addr = src ? ip.source() : ip.destination();
  const net::Ipv4Addr new_addr = src ? target.src : target.dst;
  const uint8_t protocol = static_cast<uint8_t>(ip.protocol());
  auto l4 = ip.payload();
  // Transport first: its checksum adjustment needs the old address (pseudo-header).
  const size_t port_offset = src ? 0 : 2;
  const uint16_t new_port = src ? target.src_key : target.dst_key;
  if (protocol == kProtoTcp && l4.size() >= 4) {
    uint16_t old_port = load_be16(l4, port_offset);
    store_be16(l4, port_offset, new_port);
    // Inside an ICMP error only the first 8 bytes are guaranteed; the checksum at offset 16 is
    // adjusted only when the whole header was quoted (tcp_manip_pkt()).
    if (l4.size() >= wire::TcpView::kHeaderLen) {
      uint16_t check = load_be16(l4, wire::tcp_field::kChecksum);
      check = wire::checksum_adjust32(check, old_addr.value(), new_addr.value());
      check = wire::checksum_adjust16(check, old_port, new_port);
      store_be16(l4, wire::tcp_field::kChecksum, check);
    }
  } else if (protocol == kProtoUdp && l4.size() >= 4) {
    uint16_t old_port = load_be16(l4, port_offset);
    store_be16(l4, port_offset, new_port);
    if (l4.size() >= wire::UdpView::kHeaderLen) {
      uint16_t check = load_be16(l4, wire::udp_field::kChecksum);
      if (check != 0) {  // 0: no checksum (RFC 768), stays 0
        check = wire::checksum_adjust32(check, old_addr.value(), new_addr.value());
        check = wire::checksum_adjust16(check, old_port, new_port);
        store_be16(l4, wire::udp_field::kChecksum, check == 0 ? 0xffff : check);
      }
    }
  } else if (protocol == kProtoIcmp && l4.size() >= wire::IcmpView::kHeaderLen) {
    // icmp_manip_pkt(): only query messages carry an identifier.
    if (is_icmp_query_type(wire::load_u8(l4, 0))) {
      uint16_t old_id = load_be16(l4, wire::icmp_field::kEchoIdentifier);
      store_be16(l4, wire::icmp_field::kEchoIdentifier, target.src_key);
      uint16_t check = load_be16(l4, wire::icmp_field::kChecksum);
      store_be16(l4, wire::icmp_field::kChecksum,
                 wire::checksum_adjust16(check, old_id, target.src_key));
    }
  }
  if (src) {
    ip.set_source(new_addr);
  } else {
    ip.set_destination(new_addr);
  }
  ip.set_checksum(wire::checksum_adjust32(ip.checksum(), old_addr.value(), new_addr.value()));
}

void manip_icmp_error(std::span<std::byte> packet, const Tuple& inner_target, Manip inner_manip,
                      const Tuple& outer_target, Manip outer_manip) {
  wire::Ipv4View ip(packet);
  if (ip.check()) return;
  wire::IcmpView icmp(ip.payload());
  if (icmp.check()) return;
  manip_packet(icmp.data(), inner_target, inner_manip, true);
  icmp.fill_checksum();
  manip_packet(packet, outer_target, outer_manip, false);
}

}  // namespace vnet::nf
