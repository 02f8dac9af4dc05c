#include "wire/udp.h"

#include <gtest/gtest.h>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::Ipv4Addr kHost1 = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kServer = net::Ipv4Addr::from_octets(198, 51, 100, 53);

constexpr std::string_view kDatagram =
    "c0 01 82 9a 00 16 1d f5 76 6e 65 74 20 77 69 72 65 20 74 65 73 74";

const UdpRepr kRepr{.source_port = 49153, .destination_port = 33434, .payload_len = 14};

TEST(Udp, ParsesADatagramBehindIpv4Options) {
  auto frame = hex(test::kUdpWithIpOptionsFrame);
  Ipv4ConstView ip(EthernetConstView(frame).payload());
  ASSERT_EQ(ip.check(), std::nullopt);
  ASSERT_EQ(ip.protocol(), IpProtocol::Udp);
  UdpConstView view(ip.payload());
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.source_port(), 49153);
  EXPECT_EQ(view.destination_port(), 33434);
  EXPECT_EQ(view.length(), 22);
  EXPECT_EQ(view.checksum(), 0x1df5);
  EXPECT_TRUE(view.verify_checksum(ip.source(), ip.destination()));
  EXPECT_EQ(test::to_vector(view.payload()), test::bytes("vnet wire test"));
  auto repr = UdpRepr::parse(view, ip.source(), ip.destination());
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kRepr);
}

TEST(Udp, EmitsExactBytes) {
  auto buffer = test::filled(24);
  auto payload = test::bytes("vnet wire test");
  std::ranges::copy(payload, buffer.begin() + 8);
  ASSERT_EQ(kRepr.buffer_len(), 22u);
  ASSERT_EQ(kRepr.emit(buffer, kHost1, kServer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({hex(kDatagram), hex("a5 a5")}));
}

TEST(Udp, RoundTrips) {
  for (uint16_t payload_len : {0, 1, 14, 1472}) {
    UdpRepr repr{.source_port = 53, .destination_port = 65535, .payload_len = payload_len};
    auto buffer = test::filled(repr.buffer_len());
    ASSERT_EQ(repr.emit(buffer, kHost1, kServer), std::nullopt);
    auto parsed = UdpRepr::parse(UdpConstView(buffer), kHost1, kServer);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, repr);
  }
}

TEST(Udp, RejectsEveryTruncatedLength) {
  auto datagram = hex(kDatagram);
  for (size_t len = 0; len < 8; ++len) {
    UdpConstView view{std::span(datagram).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(UdpRepr::parse(view, kHost1, kServer).error(), WireError::Truncated) << len;
  }
  // Length 22 with fewer bytes present.
  for (size_t len = 8; len < 22; ++len) {
    EXPECT_EQ(UdpConstView{std::span(datagram).first(len)}.check(), WireError::BadLength) << len;
  }
}

TEST(Udp, ValidatesTheLengthField) {
  auto datagram = hex(kDatagram);
  UdpView view(datagram);
  for (uint16_t length : {0, 1, 7}) {
    store_be16(datagram, udp_field::kLength, length);
    EXPECT_EQ(view.check(), WireError::BadLength) << length;
  }
  store_be16(datagram, udp_field::kLength, 23);
  EXPECT_EQ(view.check(), WireError::BadLength);
  store_be16(datagram, udp_field::kLength, 8);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_TRUE(view.payload().empty());
}

TEST(Udp, TrailingBytesBeyondTheLengthAreNotPayload) {
  auto datagram = test::concat({hex(kDatagram), hex("de ad be ef")});
  UdpConstView view(datagram);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.payload().size(), 14u);
  EXPECT_TRUE(view.verify_checksum(kHost1, kServer));
  EXPECT_EQ(*UdpRepr::parse(view, kHost1, kServer), kRepr);
}

TEST(Udp, ChecksumCoversThePseudoHeaderAndPayload) {
  auto datagram = hex(kDatagram);
  UdpView view(datagram);
  auto other = net::Ipv4Addr::from_octets(198, 51, 100, 54);
  EXPECT_FALSE(view.verify_checksum(kHost1, other));
  EXPECT_EQ(UdpRepr::parse(view, other, kServer).error(), WireError::BadChecksum);
  // One's-complement addition commutes: swapped addresses give the same sum.
  EXPECT_TRUE(view.verify_checksum(kServer, kHost1));
  view.payload()[0] = std::byte{'V'};
  EXPECT_EQ(UdpRepr::parse(view, kHost1, kServer).error(), WireError::BadChecksum);
  view.fill_checksum(kHost1, kServer);
  EXPECT_TRUE(view.verify_checksum(kHost1, kServer));
}

TEST(Udp, ZeroChecksumMeansNone) {
  auto datagram = hex(kDatagram);
  UdpView view(datagram);
  view.set_checksum(0);
  view.payload()[0] = std::byte{'V'};
  EXPECT_TRUE(view.verify_checksum(kHost1, kServer));
  EXPECT_TRUE(view.verify_checksum(kServer, kHost1));
  EXPECT_TRUE(UdpRepr::parse(view, kHost1, kServer));
}

TEST(Udp, AComputedZeroIsSentAsAllOnes) {
  // With a 2-byte payload of 0, the checksum is C; a payload word of C then makes the sum 0xffff,
  // i.e. a computed checksum of 0, which RFC 768 transmits as 0xffff.
  UdpRepr repr{.source_port = 1, .destination_port = 2, .payload_len = 2};
  auto buffer = test::filled(10);
  store_be16(buffer, 8, 0);
  ASSERT_EQ(repr.emit(buffer, kHost1, kServer), std::nullopt);
  uint16_t checksum = UdpConstView(buffer).checksum();
  store_be16(buffer, 8, checksum);
  ASSERT_EQ(repr.emit(buffer, kHost1, kServer), std::nullopt);
  EXPECT_EQ(UdpConstView(buffer).checksum(), 0xffff);
  EXPECT_TRUE(UdpConstView(buffer).verify_checksum(kHost1, kServer));
}

TEST(Udp, EmitRefusesShortBuffersAndOversizedPayloads) {
  auto buffer = test::filled(22);
  EXPECT_EQ(kRepr.emit(std::span(buffer).first(21), kHost1, kServer), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(22));
  UdpRepr huge{.payload_len = 65528};
  EXPECT_EQ(huge.emit(buffer, kHost1, kServer), WireError::TooLong);
}

TEST(Udp, PortSettersForNat) {
  auto datagram = hex(kDatagram);
  UdpView view(datagram);
  uint16_t checksum = checksum_adjust16(view.checksum(), view.source_port(), 40000);
  view.set_source_port(40000);
  view.set_checksum(checksum);
  view.set_destination_port(53);
  view.fill_checksum(kHost1, kServer);
  auto repr = UdpRepr::parse(view, kHost1, kServer);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->source_port, 40000);
  EXPECT_EQ(repr->destination_port, 53);
}

}  // namespace
}  // namespace vnet::wire
