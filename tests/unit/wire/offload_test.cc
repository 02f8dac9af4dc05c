// Tests for the software offloads (wire/offload.h): frames built with the wire Reprs, offloaded
// the way the kernel hands them to AF_PACKET (checksum field holding the pseudo-header sum), then
// completed or segmented and checked field by field with the wire views.  Malformed headers must
// be refused with an error and nothing appended, and no prefix or mutation of a valid frame may
// crash (ASan builds catch out-of-bounds reads).
#include "wire/offload.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::wire {
namespace {

const net::Ipv4Addr kSource = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kDestination = net::Ipv4Addr::from_octets(198, 51, 100, 2);
const net::MacAddr kSourceMac(0x02, 0, 0, 0, 0, 0x01);
const net::MacAddr kDestinationMac(0x02, 0, 0, 0, 0, 0x02);

using Frames = std::vector<std::vector<std::byte>>;

std::byte payload_byte(size_t i) {
  return std::byte{static_cast<uint8_t>(i * 7 + 3)};
}

struct Built {
  std::vector<std::byte> frame;
  size_t l4_offset = 0;
};

// Ethernet (optionally tagged) + IPv4 + TCP/UDP with a patterned payload and full checksums.
Built build(IpProtocol protocol, size_t payload_len, const wire::TcpRepr& tcp_template = {},
            uint16_t identification = 0x1234, bool tagged = false) {
  wire::EthernetRepr eth{.destination = kDestinationMac, .source = kSourceMac};
  if (tagged) eth.vlan = wire::VlanTag{.vlan_id = 100};
  wire::TcpRepr tcp = tcp_template;
  tcp.payload_len = static_cast<uint16_t>(payload_len);
  wire::UdpRepr udp{.source_port = 4000,
                    .destination_port = 5000,
                    .payload_len = static_cast<uint16_t>(payload_len)};
  size_t l4_len = protocol == IpProtocol::Tcp ? tcp.buffer_len() : udp.buffer_len();
  wire::Ipv4Repr ip{.source = kSource,
                    .destination = kDestination,
                    .protocol = protocol,
                    .payload_len = static_cast<uint16_t>(l4_len),
                    .identification = identification,
                    .dont_fragment = true};
  Built built;
  built.l4_offset = eth.buffer_len() + ip.buffer_len();
  built.frame.assign(built.l4_offset + l4_len, std::byte{0});
  std::span<std::byte> frame(built.frame);
  size_t header_len = protocol == IpProtocol::Tcp ? tcp.header_len() : wire::UdpView::kHeaderLen;
  for (size_t i = 0; i < payload_len; ++i)
    frame[built.l4_offset + header_len + i] = payload_byte(i);
  EXPECT_EQ(eth.emit(frame), std::nullopt);
  EXPECT_EQ(ip.emit(frame.subspan(eth.buffer_len())), std::nullopt);
  auto l4 = frame.subspan(built.l4_offset);
  if (protocol == IpProtocol::Tcp) {
    EXPECT_EQ(tcp.emit(l4, kSource, kDestination), std::nullopt);
  } else {
    EXPECT_EQ(udp.emit(l4, kSource, kDestination), std::nullopt);
  }
  return built;
}

// What a CHECKSUM_PARTIAL skb carries (tcp_v4_send_check(), udp4_hwcsum()): the folded
// pseudo-header sum, not complemented, in the checksum field.
void make_partial(Built* built, IpProtocol protocol) {
  auto l4 = std::span<std::byte>(built->frame).subspan(built->l4_offset);
  size_t field =
      protocol == IpProtocol::Tcp ? wire::tcp_field::kChecksum : wire::udp_field::kChecksum;
  wire::store_be16(
      l4, field,
      wire::pseudo_header_sum(kSource, kDestination, protocol, static_cast<uint16_t>(l4.size())));
}

VirtioNetHdr partial_hdr(const Built& built, IpProtocol protocol) {
  return VirtioNetHdr{.flags = VirtioNetHdr::kNeedsCsum,
                      .csum_start = static_cast<uint16_t>(built.l4_offset),
                      .csum_offset = static_cast<uint16_t>(protocol == IpProtocol::Tcp
                                                               ? wire::tcp_field::kChecksum
                                                               : wire::udp_field::kChecksum)};
}

const wire::TcpRepr kPshAck{.source_port = 49153,
                            .destination_port = 5201,
                            .sequence_number = 0xfffff000u,  // wraps during the burst
                            .acknowledgment_number = 77,
                            .flags = wire::kTcpAck | wire::kTcpPsh,
                            .window = 502,
                            .max_segment_size = 1448};  // any option must be copied

// -- pass-through and checksum completion --

TEST(Gso, PlainFramePassesThroughUnchanged) {
  auto built = build(IpProtocol::Tcp, 100, kPshAck);
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, VirtioNetHdr{}, &out, &error)) << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], built.frame);
  // DATA_VALID (CHECKSUM_UNNECESSARY) needs nothing either.
  out.clear();
  ASSERT_TRUE(
      resolve_offloads(built.frame, VirtioNetHdr{.flags = VirtioNetHdr::kDataValid}, &out, &error));
  EXPECT_EQ(out.at(0), built.frame);
}

TEST(Gso, CompletesTcpChecksum) {
  auto built = build(IpProtocol::Tcp, 1001, kPshAck);  // odd length: RFC 1071 padding
  auto expected = built.frame;
  make_partial(&built, IpProtocol::Tcp);
  ASSERT_NE(built.frame, expected);
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, partial_hdr(built, IpProtocol::Tcp), &out, &error))
      << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected);
  EthernetConstView eth(out[0]);
  Ipv4ConstView ip(eth.payload());
  TcpConstView tcp(ip.payload());
  EXPECT_TRUE(tcp.verify_checksum(kSource, kDestination));
}

TEST(Gso, CompletesUdpChecksum) {
  auto built = build(IpProtocol::Udp, 333);
  auto expected = built.frame;
  make_partial(&built, IpProtocol::Udp);
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, partial_hdr(built, IpProtocol::Udp), &out, &error))
      << error;
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected);
  EthernetConstView eth(out[0]);
  Ipv4ConstView ip(eth.payload());
  UdpConstView udp(ip.payload());
  EXPECT_NE(udp.checksum(), 0);
  EXPECT_TRUE(udp.verify_checksum(kSource, kDestination));
}

TEST(Gso, CompleteChecksumStoresZeroAsFfff) {
  // Sum 0xffff -> complement 0, sent as 0xffff (skb_checksum_help()'s CSUM_MANGLED_0).
  std::vector<std::byte> bytes{std::byte{0xff}, std::byte{0xff}, std::byte{0}, std::byte{0}};
  ASSERT_TRUE(complete_checksum(bytes, 0, 2));
  EXPECT_EQ(wire::load_be16(bytes, 2), 0xffff);
}

TEST(Gso, CompleteChecksumRefusesOffsetsOutsideTheFrame) {
  std::vector<std::byte> bytes(40, std::byte{0x11});
  auto before = bytes;
  EXPECT_FALSE(complete_checksum(bytes, 40, 0));  // start at the end
  EXPECT_FALSE(complete_checksum(bytes, 30, 9));  // field ends at 41
  EXPECT_FALSE(complete_checksum(bytes, 0xffff, 0xffff));
  EXPECT_FALSE(complete_checksum({}, 0, 0));
  EXPECT_EQ(bytes, before);
  EXPECT_TRUE(complete_checksum(bytes, 30, 8));  // field is the last two bytes
}

// -- TCPv4 segmentation --

struct TcpCase {
  size_t payload_len;
  uint16_t gso_size;
  uint8_t flags;
  uint8_t gso_type;
  bool tagged;
};

void check_tcp_segments(const TcpCase& c) {
  SCOPED_TRACE(testing::Message() << "payload " << c.payload_len << " gso_size " << c.gso_size);
  wire::TcpRepr tcp = kPshAck;
  tcp.flags = c.flags;
  auto built = build(IpProtocol::Tcp, c.payload_len, tcp, 0xfffe, c.tagged);
  make_partial(&built, IpProtocol::Tcp);
  VirtioNetHdr hdr = partial_hdr(built, IpProtocol::Tcp);
  hdr.gso_type = c.gso_type;
  hdr.gso_size = c.gso_size;
  hdr.hdr_len = static_cast<uint16_t>(built.l4_offset + tcp.header_len());
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, hdr, &out, &error)) << error;
  size_t expected_count = std::max<size_t>(1, (c.payload_len + c.gso_size - 1) / c.gso_size);
  ASSERT_EQ(out.size(), expected_count);

  std::vector<std::byte> reassembled;
  for (size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "segment " << i);
    bool first = i == 0, last = i + 1 == out.size();
    EthernetConstView eth(out[i]);
    ASSERT_EQ(eth.check(), std::nullopt);
    EXPECT_EQ(eth.has_vlan_tag(), c.tagged);
    EXPECT_EQ(eth.destination(), kDestinationMac);
    Ipv4ConstView ip(eth.payload());
    ASSERT_EQ(ip.check(), std::nullopt);
    EXPECT_TRUE(ip.verify_checksum());
    EXPECT_EQ(ip.identification(), static_cast<uint16_t>(0xfffe + i));  // wraps to 0
    EXPECT_TRUE(ip.dont_fragment());
    EXPECT_EQ(ip.ttl(), 64);
    EXPECT_EQ(ip.total_len(), eth.payload().size());  // no padding, no slack
    TcpConstView seg(ip.payload());
    ASSERT_EQ(seg.check(), std::nullopt);
    EXPECT_TRUE(seg.verify_checksum(kSource, kDestination));
    EXPECT_EQ(seg.sequence_number(), static_cast<uint32_t>(0xfffff000u + i * c.gso_size));
    EXPECT_EQ(seg.acknowledgment_number(), 77u);
    EXPECT_EQ(seg.window(), 502);
    EXPECT_EQ(seg.max_segment_size(), 1448);
    EXPECT_EQ(seg.ack(), (c.flags & wire::kTcpAck) != 0);
    EXPECT_EQ(seg.cwr(), first && (c.flags & wire::kTcpCwr) != 0);
    EXPECT_EQ(seg.psh(), last && (c.flags & wire::kTcpPsh) != 0);
    EXPECT_EQ(seg.fin(), last && (c.flags & wire::kTcpFin) != 0);
    EXPECT_EQ(seg.ece(), (c.flags & wire::kTcpEce) != 0);
    size_t expected_len = last ? c.payload_len - i * c.gso_size : c.gso_size;
    EXPECT_EQ(seg.payload().size(), expected_len);
    reassembled.insert(reassembled.end(), seg.payload().begin(), seg.payload().end());
  }
  ASSERT_EQ(reassembled.size(), c.payload_len);
  for (size_t i = 0; i < reassembled.size(); ++i) ASSERT_EQ(reassembled[i], payload_byte(i)) << i;
}

TEST(Gso, SegmentsTcpv4SuperFrame) {
  check_tcp_segments({60000, 1448, wire::kTcpAck | wire::kTcpPsh, VirtioNetHdr::kGsoTcpv4, false});
}

TEST(Gso, SegmentsTcpv4WithFinCwrEceAndTheEcnBit) {
  check_tcp_segments({size_t{10} * 1460, 1460,
                      wire::kTcpAck | wire::kTcpPsh | wire::kTcpFin | wire::kTcpCwr | wire::kTcpEce,
                      VirtioNetHdr::kGsoTcpv4 | VirtioNetHdr::kGsoEcn, false});
}

TEST(Gso, SegmentsTcpv4BehindAVlanTag) {
  check_tcp_segments({5000, 1400, wire::kTcpAck, VirtioNetHdr::kGsoTcpv4, true});
}

TEST(Gso, TcpPayloadThatFitsOneSegmentComesOutWhole) {
  check_tcp_segments({1448, 1448, wire::kTcpAck | wire::kTcpPsh, VirtioNetHdr::kGsoTcpv4, false});
  check_tcp_segments({0, 1448, wire::kTcpAck, VirtioNetHdr::kGsoTcpv4, false});
}

TEST(Gso, LargestTcpSuperFrame) {
  // 65535 - 20 (IPv4) - 24 (TCP) bytes of payload in 1-byte segments: the segment count bound.
  check_tcp_segments({65535 - 44, 1000, wire::kTcpAck, VirtioNetHdr::kGsoTcpv4, false});
  check_tcp_segments({3000, 1, wire::kTcpAck, VirtioNetHdr::kGsoTcpv4, false});
}

TEST(Gso, TcpHdrLenIsOnlyAHint) {
  // The kernel reports skb_headlen() as hdr_len: it may include payload bytes.
  auto built = build(IpProtocol::Tcp, 4000, kPshAck);
  VirtioNetHdr hdr = partial_hdr(built, IpProtocol::Tcp);
  hdr.gso_type = VirtioNetHdr::kGsoTcpv4;
  hdr.gso_size = 1000;
  hdr.hdr_len = 1500;
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, hdr, &out, &error)) << error;
  EXPECT_EQ(out.size(), 4u);
}

// -- UDP L4 segmentation (USO) --

TEST(Gso, SegmentsUdpL4SuperFrame) {
  auto built = build(IpProtocol::Udp, 10000, {}, 7);
  make_partial(&built, IpProtocol::Udp);
  VirtioNetHdr hdr = partial_hdr(built, IpProtocol::Udp);
  hdr.gso_type = VirtioNetHdr::kGsoUdpL4;
  hdr.gso_size = 1400;
  hdr.hdr_len = static_cast<uint16_t>(built.l4_offset + 8);
  Frames out;
  std::string error;
  ASSERT_TRUE(resolve_offloads(built.frame, hdr, &out, &error)) << error;
  ASSERT_EQ(out.size(), 8u);  // 7 x 1400 + 200
  std::vector<std::byte> reassembled;
  for (size_t i = 0; i < out.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "segment " << i);
    Ipv4ConstView ip(EthernetConstView(out[i]).payload());
    ASSERT_EQ(ip.check(), std::nullopt);
    EXPECT_TRUE(ip.verify_checksum());
    EXPECT_EQ(ip.identification(), 7 + i);
    UdpConstView udp(ip.payload());
    ASSERT_EQ(udp.check(), std::nullopt);
    size_t expected_len = i + 1 == out.size() ? 200 : 1400;
    EXPECT_EQ(udp.length(), 8 + expected_len);
    EXPECT_EQ(ip.total_len(), 20 + 8 + expected_len);
    EXPECT_EQ(udp.source_port(), 4000);
    EXPECT_EQ(udp.destination_port(), 5000);
    EXPECT_NE(udp.checksum(), 0);
    EXPECT_TRUE(udp.verify_checksum(kSource, kDestination));
    reassembled.insert(reassembled.end(), udp.payload().begin(), udp.payload().end());
  }
  ASSERT_EQ(reassembled.size(), 10000u);
  for (size_t i = 0; i < reassembled.size(); ++i) ASSERT_EQ(reassembled[i], payload_byte(i)) << i;
}

// -- refusals --

struct Refusal {
  const char* name;
  std::vector<std::byte> frame;
  VirtioNetHdr hdr;
};

std::vector<Refusal> refusals() {
  auto tcp = build(IpProtocol::Tcp, 3000, kPshAck);
  auto udp = build(IpProtocol::Udp, 3000);
  VirtioNetHdr tso = partial_hdr(tcp, IpProtocol::Tcp);
  tso.gso_type = VirtioNetHdr::kGsoTcpv4;
  tso.gso_size = 1448;
  VirtioNetHdr uso = partial_hdr(udp, IpProtocol::Udp);
  uso.gso_type = VirtioNetHdr::kGsoUdpL4;
  uso.gso_size = 1400;

  std::vector<Refusal> cases;
  auto with = [](VirtioNetHdr hdr, auto change) {
    change(hdr);
    return hdr;
  };
  cases.push_back({"gso_size 0", tcp.frame, with(tso, [](auto& h) { h.gso_size = 0; })});
  cases.push_back({"hdr_len beyond frame", tcp.frame,
                   with(tso, [&](auto& h) { h.hdr_len = uint16_t(tcp.frame.size() + 1); })});
  cases.push_back({"hdr_len beyond plain frame", tcp.frame,
                   VirtioNetHdr{.hdr_len = uint16_t(tcp.frame.size() + 1)}});
  cases.push_back(
      {"csum_start beyond frame", tcp.frame,
       VirtioNetHdr{.flags = VirtioNetHdr::kNeedsCsum, .csum_start = uint16_t(tcp.frame.size())}});
  cases.push_back({"csum field beyond frame", tcp.frame,
                   VirtioNetHdr{.flags = VirtioNetHdr::kNeedsCsum,
                                .csum_start = uint16_t(tcp.frame.size() - 2),
                                .csum_offset = 1}});
  cases.push_back(
      {"GSO csum_start not at TCP", tcp.frame, with(tso, [](auto& h) { h.csum_start = 14; })});
  cases.push_back(
      {"GSO csum_offset not TCP's", tcp.frame, with(tso, [](auto& h) { h.csum_offset = 6; })});
  cases.push_back({"TCPv4 GSO on UDP", udp.frame, with(tso, [](auto&) {})});
  cases.push_back({"USO on TCP", tcp.frame, with(uso, [](auto&) {})});
  cases.push_back(
      {"UFO", udp.frame, with(uso, [](auto& h) { h.gso_type = VirtioNetHdr::kGsoUdp; })});
  cases.push_back(
      {"TCPv6", tcp.frame, with(tso, [](auto& h) { h.gso_type = VirtioNetHdr::kGsoTcpv6; })});
  cases.push_back({"unknown gso_type", tcp.frame, with(tso, [](auto& h) { h.gso_type = 9; })});
  cases.push_back({"empty frame", {}, with(tso, [](auto& h) { h.csum_start = 0; })});
  cases.push_back({"short frame", std::vector<std::byte>(tcp.frame.begin(), tcp.frame.begin() + 30),
                   with(tso, [](auto& h) { h.flags = 0; })});

  auto ipv6 = tcp.frame;
  wire::store_be16(ipv6, 12, 0x86dd);
  cases.push_back({"IPv6 EtherType", ipv6, tso});
  auto fragment = tcp.frame;
  wire::store_be16(fragment, 14 + wire::ipv4_field::kFlagsFragmentOffset, wire::kIpv4MoreFragments);
  cases.push_back({"IPv4 fragment", fragment, tso});
  auto long_total = tcp.frame;
  wire::store_be16(long_total, 14 + wire::ipv4_field::kTotalLength,
                   uint16_t(long_total.size() - 14 + 1));
  cases.push_back({"IPv4 total length beyond frame", long_total, tso});
  auto bad_offset = tcp.frame;
  bad_offset[tcp.l4_offset + wire::tcp_field::kDataOffset] = std::byte{0x40};
  cases.push_back({"TCP data offset 4", bad_offset, tso});
  auto bad_udp = udp.frame;
  wire::store_be16(bad_udp, udp.l4_offset + wire::udp_field::kLength, 7);
  cases.push_back({"UDP length 7", bad_udp, uso});
  return cases;
}

TEST(Gso, RefusesMalformedFramesWithAnError) {
  for (const auto& c : refusals()) {
    SCOPED_TRACE(c.name);
    Frames out(1, std::vector<std::byte>{std::byte{1}});  // existing content must stay as is
    std::string error;
    EXPECT_FALSE(resolve_offloads(c.frame, c.hdr, &out, &error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(out.size(), 1u);
    // A null error pointer is allowed (the data path does not want the text).
    EXPECT_FALSE(resolve_offloads(c.frame, c.hdr, &out, nullptr));
  }
}

// Every prefix and random corruptions of valid offloaded frames: no crash, and whatever comes out
// when accepted is well formed.
TEST(Gso, SurvivesTruncationAndCorruption) {
  auto tcp = build(IpProtocol::Tcp, 3000, kPshAck);
  VirtioNetHdr tso = partial_hdr(tcp, IpProtocol::Tcp);
  tso.gso_type = VirtioNetHdr::kGsoTcpv4;
  tso.gso_size = 700;
  auto udp = build(IpProtocol::Udp, 3000);
  VirtioNetHdr uso = partial_hdr(udp, IpProtocol::Udp);
  uso.gso_type = VirtioNetHdr::kGsoUdpL4;
  uso.gso_size = 700;
  std::mt19937 rng(5);
  size_t accepted = 0;
  for (const auto& [frame, hdr] : {std::pair{tcp.frame, tso}, std::pair{udp.frame, uso}}) {
    for (size_t len = 0; len <= frame.size(); ++len) {
      Frames out;
      std::string error;
      std::span<const std::byte> prefix(frame.data(), len);
      if (resolve_offloads(prefix, hdr, &out, &error)) ++accepted;
    }
    for (int round = 0; round < 2000; ++round) {
      auto mutated = frame;
      mutated.resize(std::uniform_int_distribution<size_t>(0, frame.size())(rng));
      for (int k = 0; k < 4 && !mutated.empty(); ++k) {
        size_t at =
            std::uniform_int_distribution<size_t>(0, std::min<size_t>(mutated.size(), 80) - 1)(rng);
        mutated[at] = std::byte{static_cast<uint8_t>(rng())};
      }
      VirtioNetHdr h = hdr;
      if (round % 3 == 0) h.gso_size = static_cast<uint16_t>(rng() % 2000);
      if (round % 5 == 0) h.csum_start = static_cast<uint16_t>(rng() % 100);
      Frames out;
      std::string error;
      if (!resolve_offloads(mutated, h, &out, &error)) continue;
      ++accepted;
      for (const auto& segment : out) {
        Ipv4ConstView ip(EthernetConstView(segment).payload());
        ASSERT_EQ(ip.check(), std::nullopt);
        ASSERT_TRUE(ip.verify_checksum());
      }
    }
  }
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace vnet::wire
