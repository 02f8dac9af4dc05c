#include "wire/tcp.h"

#include <gtest/gtest.h>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::Ipv4Addr kClient = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kServer = net::Ipv4Addr::from_octets(198, 51, 100, 2);

constexpr std::string_view kSyn =
    "c0 01 00 50 00 00 03 e8 00 00 00 00 60 02 fa f0 ec c4 00 00 02 04 05 b4";
constexpr std::string_view kPshAck =
    "00 50 c0 01 00 00 13 88 00 00 03 e9 50 18 01 f6 2a 06 00 00"
    "48 54 54 50 2f 31 2e 31 20 32 30 30 20 4f 4b 0d 0a";

const TcpRepr kSynRepr{.source_port = 49153,
                       .destination_port = 80,
                       .sequence_number = 1000,
                       .flags = kTcpSyn,
                       .window = 64240,
                       .max_segment_size = 1460};

const TcpRepr kPshAckRepr{.source_port = 80,
                          .destination_port = 49153,
                          .sequence_number = 5000,
                          .acknowledgment_number = 1001,
                          .flags = kTcpPsh | kTcpAck,
                          .window = 502,
                          .payload_len = 17};

// Ethernet -> IPv4 -> TCP segment.
std::span<const std::byte> segment_of(const std::vector<std::byte>& frame) {
  Ipv4ConstView ip(EthernetConstView(frame).payload());
  if (ip.check() || ip.protocol() != IpProtocol::Tcp) return {};
  return ip.payload();
}

TEST(Tcp, ParsesASynWithMss) {
  auto frame = hex(test::kTcpSynFrame);
  TcpConstView view(segment_of(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.source_port(), 49153);
  EXPECT_EQ(view.destination_port(), 80);
  EXPECT_EQ(view.sequence_number(), 1000u);
  EXPECT_EQ(view.acknowledgment_number(), 0u);
  EXPECT_EQ(view.data_offset(), 6);
  EXPECT_EQ(view.header_len_bytes(), 24u);
  EXPECT_EQ(view.flags(), kTcpSyn);
  EXPECT_TRUE(view.syn());
  EXPECT_FALSE(view.ack() || view.fin() || view.rst() || view.psh() || view.urg() || view.ece() ||
               view.cwr());
  EXPECT_EQ(view.window(), 64240);
  EXPECT_EQ(view.checksum(), 0xecc4);
  EXPECT_EQ(view.urgent_pointer(), 0);
  EXPECT_EQ(test::to_vector(view.options()), hex("02 04 05 b4"));
  EXPECT_EQ(view.max_segment_size(), 1460);
  EXPECT_TRUE(view.payload().empty());
  EXPECT_TRUE(view.verify_checksum(kClient, kServer));
  auto repr = TcpRepr::parse(view, kClient, kServer);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kSynRepr);
}

TEST(Tcp, SkipsLinuxSynOptions) {
  auto frame = hex(test::kTcpLinuxSynFrame);
  TcpConstView view(segment_of(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.data_offset(), 10);
  EXPECT_EQ(view.options().size(), 20u);
  EXPECT_EQ(view.max_segment_size(), 1460);
  EXPECT_TRUE(view.payload().empty());
  EXPECT_EQ(view.sequence_number(), 0x01020304u);
  auto repr = TcpRepr::parse(view, kClient, kServer);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->destination_port, 443);
  EXPECT_EQ(repr->max_segment_size, 1460);
  EXPECT_EQ(repr->header_len(), 24u);  // only MSS survives
}

TEST(Tcp, ParsesAPshAckWithPayload) {
  auto frame = hex(test::kTcpPshAckFrame);
  TcpConstView view(segment_of(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_TRUE(view.psh());
  EXPECT_TRUE(view.ack());
  EXPECT_FALSE(view.syn());
  EXPECT_EQ(view.acknowledgment_number(), 1001u);
  EXPECT_EQ(view.max_segment_size(), std::nullopt);
  EXPECT_EQ(test::to_vector(view.payload()), test::bytes("HTTP/1.1 200 OK\r\n"));
  auto repr = TcpRepr::parse(view, kServer, kClient);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kPshAckRepr);
}

TEST(Tcp, EmitsExactBytes) {
  auto buffer = test::filled(26);
  ASSERT_EQ(kSynRepr.buffer_len(), 24u);
  ASSERT_EQ(kSynRepr.emit(buffer, kClient, kServer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({hex(kSyn), hex("a5 a5")}));

  auto segment = test::filled(38);
  auto payload = test::bytes("HTTP/1.1 200 OK\r\n");
  std::ranges::copy(payload, segment.begin() + 20);
  ASSERT_EQ(kPshAckRepr.emit(segment, kServer, kClient), std::nullopt);
  EXPECT_EQ(segment, test::concat({hex(kPshAck), hex("a5")}));
}

TEST(Tcp, RoundTrips) {
  std::vector<TcpRepr> reprs = {kSynRepr, kPshAckRepr};
  TcpRepr all_flags = kPshAckRepr;
  all_flags.flags = 0xff;
  all_flags.urgent_pointer = 3;
  all_flags.max_segment_size = 0;
  reprs.push_back(all_flags);
  for (const auto& repr : reprs) {
    auto buffer = test::filled(repr.buffer_len());
    ASSERT_EQ(repr.emit(buffer, kClient, kServer), std::nullopt);
    auto parsed = TcpRepr::parse(TcpConstView(buffer), kClient, kServer);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, repr);
  }
}

TEST(Tcp, ReadsEveryFlag) {
  auto segment = hex(kSyn);
  TcpView view(segment);
  const std::pair<uint8_t, bool (TcpView::*)() const> flags[] = {
      {kTcpFin, &TcpView::fin}, {kTcpSyn, &TcpView::syn}, {kTcpRst, &TcpView::rst},
      {kTcpPsh, &TcpView::psh}, {kTcpAck, &TcpView::ack}, {kTcpUrg, &TcpView::urg},
      {kTcpEce, &TcpView::ece}, {kTcpCwr, &TcpView::cwr},
  };
  for (auto [bit, accessor] : flags) {
    view.set_flags(bit);
    for (auto [other_bit, other_accessor] : flags) {
      EXPECT_EQ((view.*other_accessor)(), bit == other_bit) << int{bit} << " " << int{other_bit};
    }
  }
}

TEST(Tcp, RejectsEveryTruncatedLength) {
  auto segment = hex(kSyn);
  for (size_t len = 0; len < 20; ++len) {
    TcpConstView view{std::span(segment).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(TcpRepr::parse(view, kClient, kServer).error(), WireError::Truncated) << len;
  }
  // Data offset 6 needs 24 bytes.
  for (size_t len = 20; len < 24; ++len) {
    EXPECT_EQ(TcpConstView{std::span(segment).first(len)}.check(), WireError::BadHeaderLength);
  }
}

TEST(Tcp, ValidatesTheDataOffset) {
  auto segment = hex(kSyn);
  TcpConstView view(segment);
  for (uint8_t words = 0; words < 16; ++words) {
    segment[tcp_field::kDataOffset] = std::byte(words << 4);
    auto expected = words < 5 || words > 6 ? std::optional(WireError::BadHeaderLength)
                                           : std::optional<WireError>();
    EXPECT_EQ(view.check(), expected) << int{words};
  }
}

TEST(Tcp, OverlongBufferIsPayloadSoTheViewMustBeTheIpPayload) {
  // TCP has no length field: bytes after the segment would be payload.  Through IPv4 they are
  // cut at the total length.
  auto frame = test::concat({hex(test::kTcpSynFrame), hex("00 00 00 00")});
  TcpConstView bounded(segment_of(frame));
  EXPECT_TRUE(bounded.payload().empty());
  EXPECT_TRUE(bounded.verify_checksum(kClient, kServer));
  TcpConstView overlong{std::span(frame).subspan(34)};
  EXPECT_EQ(overlong.payload().size(), 4u);
  EXPECT_FALSE(overlong.verify_checksum(kClient, kServer));  // the pseudo-header length differs
}

TEST(Tcp, ChecksumCoversThePseudoHeader) {
  auto segment = hex(kSyn);
  auto other = net::Ipv4Addr::from_octets(198, 51, 100, 3);
  EXPECT_EQ(TcpRepr::parse(TcpConstView(segment), kClient, other).error(), WireError::BadChecksum);
  // One's-complement addition commutes: swapped addresses give the same sum.
  EXPECT_TRUE(TcpConstView(segment).verify_checksum(kServer, kClient));
  TcpView view(segment);
  view.set_sequence_number(1001);
  EXPECT_FALSE(view.verify_checksum(kClient, kServer));
  view.fill_checksum(kClient, kServer);
  EXPECT_TRUE(view.verify_checksum(kClient, kServer));
}

TEST(Tcp, ParsesOptionsLikeLinux) {
  auto mss = [](std::string_view options) {
    auto segment = test::concat(
        {hex("00 01 00 02 00 00 00 00 00 00 00 00 00 02 00 00 00 00 00 00"), hex(options)});
    segment[tcp_field::kDataOffset] = std::byte((5 + (segment.size() - 20) / 4) << 4);
    TcpConstView view(segment);
    EXPECT_EQ(view.check(), std::nullopt);
    return view.max_segment_size();
  };
  EXPECT_EQ(mss(""), std::nullopt);
  EXPECT_EQ(mss("01 01 01 01 02 04 05 dc"), 1500);
  EXPECT_EQ(mss("00 00 00 00 02 04 05 dc"), std::nullopt);  // after End of Option List
  EXPECT_EQ(mss("02 03 05 01"), std::nullopt);              // wrong MSS length: ignored
  EXPECT_EQ(mss("08 0a 00 00 00 01 00 00 00 00 02 04 05 dc"), std::nullopt);  // runs past the end
  EXPECT_EQ(mss("08 00 02 04 05 dc 00 00"), std::nullopt);  // length 0 ends the list
  EXPECT_EQ(mss("03 03 07 01 02 04 05 dc"), 1500);          // window scale, then MSS
  EXPECT_EQ(mss("01 01 01 02"), std::nullopt);              // kind without a length byte
}

TEST(Tcp, EmitRefusesShortBuffersAndOversizedSegments) {
  auto buffer = test::filled(24);
  EXPECT_EQ(kSynRepr.emit(std::span(buffer).first(23), kClient, kServer), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(24));
  TcpRepr huge{.max_segment_size = 536, .payload_len = 65512};
  EXPECT_EQ(huge.emit(buffer, kClient, kServer), WireError::TooLong);
}

}  // namespace
}  // namespace vnet::wire
