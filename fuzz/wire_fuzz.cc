// libFuzzer target for the wire layer: every view's check() and accessors, and every Repr's
// parse -> emit -> parse round trip, on the raw input and along the rx chain
// Ethernet -> (802.1Q) -> ARP | IPv4 -> ICMP (-> quoted IPv4) | UDP | TCP.
//
// A failed property calls __builtin_trap(), so libFuzzer reports it as a crash; ASan and UBSan
// catch any accessor that reads outside what check() validated.  Run:
//   wire_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/error.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"
#include "wire/vxlan.h"

namespace {

using namespace vnet::wire;
using vnet::net::Ipv4Addr;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

// Accessor results go here so that the reads are not optimised away.
volatile uint64_t sink;

void consume(uint64_t value) {
  sink = sink + value;
}

void consume(std::span<const std::byte> bytes) {
  consume(bytes.size());
  if (!bytes.empty()) consume(std::to_integer<uint64_t>(bytes.front() ^ bytes.back()));
}

void consume(Ipv4Addr addr) {
  consume(addr.value());
}

void consume(vnet::net::MacAddr addr) {
  for (int i = 0; i < 6; ++i) consume(addr[i]);
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

bool all_zero(std::span<const std::byte> bytes) {
  for (auto b : bytes) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

// RFC 1624 on arbitrary data: adjusting one word equals recomputing, unless the data becomes all
// zeros (see checksum_adjust16).
void fuzz_checksum(std::span<const std::byte> input) {
  if (input.size() < 4) return;
  std::vector<std::byte> data(input.begin() + 2, input.end() - (input.size() % 2));
  uint16_t checksum = internet_checksum(data);
  size_t word = load_u8(input, 0) % (data.size() / 2);
  uint16_t old_word = load_be16(data, word * 2);
  uint16_t new_word = static_cast<uint16_t>(load_u8(input, 1) * 0x0101);
  store_be16(data, word * 2, new_word);
  if (!all_zero(data))
    require(checksum_adjust16(checksum, old_word, new_word) == internet_checksum(data));
  consume(ones_complement_sum(input));
}

void fuzz_arp(std::span<const std::byte> packet) {
  ArpConstView view(packet);
  if (view.check()) return;
  consume(view.hardware_type());
  consume(static_cast<uint16_t>(view.protocol_type()));
  consume(view.hardware_len() + view.protocol_len());
  consume(static_cast<uint16_t>(view.operation()));
  consume(view.sender_hardware_address());
  consume(view.sender_protocol_address());
  consume(view.target_hardware_address());
  consume(view.target_protocol_address());
  auto repr = ArpRepr::parse(view);
  if (!repr) {
    require(repr.error() == WireError::BadOperation);
    return;
  }
  std::vector<std::byte> buffer(repr->buffer_len());
  require(!repr->emit(buffer));
  require(same_bytes(buffer, packet.first(ArpView::kHeaderLen)));
  auto again = ArpRepr::parse(ArpConstView(buffer));
  require(again && *again == *repr);
}

void fuzz_icmp(std::span<const std::byte> message) {
  IcmpConstView view(message);
  if (view.check()) return;
  consume(static_cast<uint8_t>(view.type()));
  consume(view.code());
  consume(view.checksum());
  consume(view.echo_identifier());
  consume(view.echo_sequence_number());
  consume(view.rest_of_header());
  consume(view.next_hop_mtu());
  consume(view.data());
  bool checksum_ok = view.verify_checksum();

  if (view.is_error()) {
    Ipv4ConstView quoted(view.original_datagram());
    if (!quoted.check_header()) {
      consume(quoted.source());
      consume(quoted.destination());
      consume(static_cast<uint8_t>(quoted.protocol()));
      consume(quoted.payload());
      require(quoted.payload().size() <= quoted.total_len() - quoted.header_len_bytes());
    }
  }

  std::vector<std::byte> copy(message.begin(), message.end());
  IcmpView writable(copy);
  writable.fill_checksum();
  require(writable.verify_checksum());

  auto repr = IcmpRepr::parse(view);
  if (!repr) {
    require(repr.error() != WireError::BadChecksum || !checksum_ok);
    return;
  }
  require(checksum_ok);
  std::vector<std::byte> buffer(repr->buffer_len());
  require(!repr->emit(buffer));
  require(IcmpConstView(buffer).verify_checksum());
  if (repr->type == IcmpType::EchoRequest || repr->type == IcmpType::EchoReply) {
    // Every echo field is represented: only the checksum's 0x0000/0xffff form may differ.
    require(same_bytes(std::span(buffer).first(2), message.first(2)));
    require(same_bytes(std::span(buffer).subspan(4), message.subspan(4)));
  }
  auto again = IcmpRepr::parse(IcmpConstView(buffer));
  require(again && *again == *repr);
}

void fuzz_ethernet(std::span<const std::byte> frame);

// VXLAN: check, accessors, the parse -> emit -> parse round trip, then the inner frame.
void fuzz_vxlan(std::span<const std::byte> packet) {
  VxlanConstView view(packet);
  if (view.check()) return;
  consume(view.flags());
  consume(view.vni());
  auto repr = VxlanRepr::parse(view);
  require(repr.has_value());
  std::vector<std::byte> buffer(VxlanRepr::buffer_len());
  require(!repr->emit(buffer).has_value());
  require(same_bytes(buffer, packet.first(VxlanRepr::buffer_len())));
  fuzz_ethernet(view.payload());
}

void fuzz_udp(std::span<const std::byte> datagram, Ipv4Addr source, Ipv4Addr destination) {
  UdpConstView view(datagram);
  if (view.check()) return;
  consume(view.source_port());
  consume(view.destination_port());
  consume(view.length());
  consume(view.checksum());
  consume(view.payload());
  require(view.payload().size() == view.length() - UdpView::kHeaderLen);
  bool checksum_ok = view.verify_checksum(source, destination);

  std::vector<std::byte> copy(datagram.begin(), datagram.end());
  UdpView writable(copy);
  writable.fill_checksum(source, destination);
  require(writable.checksum() != 0 && writable.verify_checksum(source, destination));

  auto repr = UdpRepr::parse(view, source, destination);
  require(repr.has_value() == checksum_ok);
  if (!repr) return;
  std::vector<std::byte> buffer(repr->buffer_len());
  std::memcpy(buffer.data() + UdpView::kHeaderLen, view.payload().data(), view.payload().size());
  require(!repr->emit(buffer, source, destination));
  auto again = UdpRepr::parse(UdpConstView(buffer), source, destination);
  require(again && *again == *repr);
  require(same_bytes(UdpConstView(buffer).payload(), view.payload()));
  if (view.destination_port() == vxlan::kIanaPort ||
      view.destination_port() == vxlan::kLinuxDefaultPort) {
    fuzz_vxlan(view.payload());
  }
}

void fuzz_tcp(std::span<const std::byte> segment, Ipv4Addr source, Ipv4Addr destination) {
  TcpConstView view(segment);
  if (view.check()) return;
  consume(view.source_port());
  consume(view.destination_port());
  consume(view.sequence_number());
  consume(view.acknowledgment_number());
  consume(view.header_len_bytes());
  consume(view.flags());
  consume(view.fin() + view.syn() + view.rst() + view.psh() + view.ack() + view.urg() + view.ece() +
          view.cwr());
  consume(view.window());
  consume(view.checksum());
  consume(view.urgent_pointer());
  consume(view.options());
  consume(view.payload());
  consume(view.max_segment_size().value_or(0));
  bool checksum_ok = view.verify_checksum(source, destination);

  std::vector<std::byte> copy(segment.begin(), segment.end());
  TcpView writable(copy);
  writable.fill_checksum(source, destination);
  require(writable.verify_checksum(source, destination));

  auto repr = TcpRepr::parse(view, source, destination);
  require(repr.has_value() == checksum_ok);
  if (!repr) return;
  std::vector<std::byte> buffer(repr->buffer_len());
  std::memcpy(buffer.data() + repr->header_len(), view.payload().data(), view.payload().size());
  require(!repr->emit(buffer, source, destination));
  auto again = TcpRepr::parse(TcpConstView(buffer), source, destination);
  require(again && *again == *repr);
  require(same_bytes(TcpConstView(buffer).payload(), view.payload()));
}

// GRE: check, accessors, and the parse -> emit -> parse round trip of the header.
void fuzz_gre(std::span<const std::byte> packet) {
  GreConstView view(packet);
  if (view.check()) return;
  consume(view.flags());
  consume(view.key());
  consume(view.sequence_number());
  consume(view.payload());
  auto repr = GreRepr::parse(view);
  if (!repr) return;
  std::vector<std::byte> buffer(packet.begin(), packet.end());
  // Re-emitting into the same bytes (payload in place) must parse back to the same header.
  require(!repr->emit(buffer).has_value());
  auto again = GreRepr::parse(GreConstView(buffer));
  require(again.has_value() && *again == *repr);
}

void fuzz_ipv4(std::span<const std::byte> packet) {
  Ipv4ConstView view(packet);
  auto header_error = view.check_header();
  auto error = view.check();
  require(!header_error || error == header_error);  // check() is check_header() and more
  if (header_error) return;
  consume(view.version() + view.ihl() + view.tos() + view.dscp() + view.ecn());
  consume(view.total_len());
  consume(view.identification());
  consume(view.dont_fragment() + view.more_fragments() + view.is_fragment());
  consume(view.fragment_offset_units());
  consume(view.fragment_offset_bytes());
  consume(view.ttl());
  consume(static_cast<uint8_t>(view.protocol()));
  consume(view.checksum());
  consume(view.source());
  consume(view.destination());
  consume(view.options());
  consume(view.header());
  consume(view.payload());
  bool checksum_ok = view.verify_checksum();
  if (error) {
    consume(to_string(*error)[0]);
    return;
  }
  require(view.payload().size() == view.total_len() - view.header_len_bytes());

  // TTL rewrite keeps a correct checksum correct; from the canonical checksum it equals a full
  // recomputation.
  std::vector<std::byte> copy(packet.begin(), packet.end());
  Ipv4View writable(copy);
  writable.set_ttl(static_cast<uint8_t>(view.ttl() - 1));
  require(writable.verify_checksum() == checksum_ok);
  uint16_t incremental = writable.checksum();
  writable.fill_checksum();
  require(writable.verify_checksum());
  std::vector<std::byte> canonical(packet.begin(), packet.end());
  Ipv4View(canonical).fill_checksum();
  if (checksum_ok && Ipv4ConstView(canonical).checksum() == view.checksum()) {
    require(incremental == writable.checksum());
  }

  // NAT-style address rewrite with an RFC 1624 adjustment keeps a correct checksum correct.
  writable.set_checksum(
      checksum_adjust32(writable.checksum(), view.source().value(), view.destination().value()));
  writable.set_source(view.destination());
  require(writable.verify_checksum());

  auto repr = Ipv4Repr::parse(view);
  require(repr.has_value() == checksum_ok);
  if (repr) {
    std::vector<std::byte> buffer(repr->buffer_len() + repr->payload_len);
    std::memcpy(buffer.data() + repr->buffer_len(), view.payload().data(), view.payload().size());
    require(!repr->emit(buffer));
    auto again = Ipv4Repr::parse(Ipv4ConstView(buffer));
    require(again && *again == *repr);
    // Without options and the reserved flag, every header bit is represented.
    bool reserved_flag = (load_u8(packet, ipv4_field::kFlagsFragmentOffset) & 0x80) != 0;
    if (view.ihl() == 5 && !reserved_flag) {
      // Only the checksum's 0x0000/0xffff form may differ.
      std::span<const std::byte> emitted = std::span(buffer).first(Ipv4View::kHeaderLen);
      require(same_bytes(emitted.first(10), view.header().first(10)));
      require(same_bytes(emitted.subspan(12), view.header().subspan(12)));
    }
  }

  switch (view.protocol()) {
    case IpProtocol::Icmp:
      fuzz_icmp(view.payload());
      break;
    case IpProtocol::Udp:
      fuzz_udp(view.payload(), view.source(), view.destination());
      break;
    case IpProtocol::Tcp:
      fuzz_tcp(view.payload(), view.source(), view.destination());
      break;
    case IpProtocol::Gre:
      fuzz_gre(view.payload());
      break;
    default:
      break;
  }
}

void fuzz_ethernet(std::span<const std::byte> frame) {
  EthernetConstView view(frame);
  if (view.check()) return;
  consume(view.destination());
  consume(view.source());
  consume(static_cast<uint16_t>(view.ethertype()));
  if (view.has_vlan_tag()) consume(view.vlan_pcp() + view.vlan_dei() + view.vlan_id());
  consume(static_cast<uint16_t>(view.payload_ethertype()));
  consume(view.payload());
  require(view.header_len_bytes() + view.payload().size() == frame.size());

  auto repr = EthernetRepr::parse(view);
  require(repr.has_value());
  std::vector<std::byte> buffer(repr->buffer_len());
  require(!repr->emit(buffer));
  require(same_bytes(buffer, frame.first(view.header_len_bytes())));
  auto again = EthernetRepr::parse(EthernetConstView(buffer));
  require(again && *again == *repr);

  switch (view.payload_ethertype()) {
    case EtherType::Arp:
      fuzz_arp(view.payload());
      break;
    case EtherType::Ipv4:
      fuzz_ipv4(view.payload());
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy with the exact size, so that ASan flags any read past the end of the input.
  std::vector<std::byte> input(size);
  if (size != 0) std::memcpy(input.data(), data, size);
  std::span<const std::byte> bytes(input);

  fuzz_ethernet(bytes);
  // Each parser on the raw bytes too, so that deep layers are reached without a valid frame.
  fuzz_arp(bytes);
  fuzz_ipv4(bytes);
  fuzz_icmp(bytes);
  auto source = Ipv4Addr::from_octets(192, 0, 2, 1);
  auto destination = Ipv4Addr::from_octets(198, 51, 100, 2);
  fuzz_udp(bytes, source, destination);
  fuzz_tcp(bytes, source, destination);
  fuzz_gre(bytes);
  fuzz_vxlan(bytes);
  fuzz_checksum(bytes);
  return 0;
}
