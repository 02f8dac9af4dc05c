#include "wire/ipv4.h"

#include <gtest/gtest.h>

#include "wire/ethernet.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::Ipv4Addr kHost1 = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kHost2 = net::Ipv4Addr::from_octets(198, 51, 100, 2);

// The IPv4 part of test::kPingFrame: header, ICMP, then 10 bytes of Ethernet padding.
std::vector<std::byte> ping_packet() {
  auto frame = hex(test::kPingFrame);
  return std::vector<std::byte>(frame.begin() + 14, frame.end());
}

const Ipv4Repr kPingRepr{
    .source = kHost1,
    .destination = kHost2,
    .protocol = IpProtocol::Icmp,
    .payload_len = 16,
    .ttl = 64,
    .tos = 0,
    .identification = 0xabcd,
    .dont_fragment = true,
};

constexpr std::string_view kPingHeader =
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02";

TEST(Ipv4, ParsesAPingHeader) {
  auto packet = ping_packet();
  Ipv4ConstView view(packet);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.version(), 4);
  EXPECT_EQ(view.ihl(), 5);
  EXPECT_EQ(view.header_len_bytes(), 20u);
  EXPECT_EQ(view.tos(), 0);
  EXPECT_EQ(view.total_len(), 36);
  EXPECT_EQ(view.identification(), 0xabcd);
  EXPECT_TRUE(view.dont_fragment());
  EXPECT_FALSE(view.more_fragments());
  EXPECT_EQ(view.fragment_offset_units(), 0);
  EXPECT_FALSE(view.is_fragment());
  EXPECT_EQ(view.ttl(), 64);
  EXPECT_EQ(view.protocol(), IpProtocol::Icmp);
  EXPECT_EQ(view.checksum(), 0xa2d4);
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_EQ(view.source(), kHost1);
  EXPECT_EQ(view.destination(), kHost2);
  EXPECT_TRUE(view.options().empty());
  // The payload ends at the total length: the 10 bytes of Ethernet padding are not payload.
  EXPECT_EQ(packet.size(), 46u);
  EXPECT_EQ(view.payload_len(), 16u);
  EXPECT_EQ(test::to_vector(view.payload()),
            hex("08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68"));
  auto repr = Ipv4Repr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kPingRepr);
}

TEST(Ipv4, ParsesThroughEthernetAndA8021adTag) {
  auto frame = hex(test::kPingServiceVlanFrame);
  EthernetConstView ethernet(frame);
  ASSERT_EQ(ethernet.check(), std::nullopt);
  ASSERT_EQ(ethernet.payload_ethertype(), EtherType::Ipv4);
  auto repr = Ipv4Repr::parse(Ipv4ConstView(ethernet.payload()));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kPingRepr);
}

TEST(Ipv4, SkipsOptionsWithIhl6) {
  auto frame = hex(test::kUdpWithIpOptionsFrame);
  Ipv4ConstView view(EthernetConstView(frame).payload());
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.ihl(), 6);
  EXPECT_EQ(view.header_len_bytes(), 24u);
  EXPECT_EQ(test::to_vector(view.options()), hex("94 04 00 00"));  // Router Alert (RFC 2113)
  EXPECT_EQ(view.tos(), 0xb8);
  EXPECT_EQ(view.dscp(), 46);  // EF (RFC 3246)
  EXPECT_EQ(view.ecn(), 0);
  EXPECT_EQ(view.ttl(), 1);
  EXPECT_FALSE(view.dont_fragment());
  EXPECT_EQ(view.protocol(), IpProtocol::Udp);
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_EQ(view.payload_len(), 22u);
  EXPECT_EQ(test::to_vector(view.payload().first(4)), hex("c0 01 82 9a"));  // the UDP ports
  auto repr = Ipv4Repr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->payload_len, 22);
  EXPECT_EQ(repr->tos, 0xb8);
}

TEST(Ipv4, SkipsTheLongestOptions) {
  // IHL 15: 40 bytes of options (NOPs, then End of Option List), then a 3-byte payload.
  std::vector<std::byte> packet =
      hex("4f 00 00 3f 00 00 00 00 40 11 00 00 c0 00 02 01 c6 33 64 02");
  for (int i = 0; i < 39; ++i) packet.push_back(std::byte{0x01});
  packet.push_back(std::byte{0x00});
  for (auto b : hex("aa bb cc dd")) packet.push_back(b);  // dd is beyond the total length
  Ipv4View view(packet);
  ASSERT_EQ(view.check(), std::nullopt);
  view.fill_checksum();
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_EQ(view.header_len_bytes(), 60u);
  EXPECT_EQ(view.options().size(), 40u);
  EXPECT_EQ(test::to_vector(view.payload()), hex("aa bb cc"));
  auto repr = Ipv4Repr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->payload_len, 3);
}

TEST(Ipv4, ReadsFragmentFields) {
  // Second fragment of a 3000-byte datagram: MF set, offset 185 units = 1480 bytes.
  auto packet =
      hex("45 00 00 1c 00 2a 20 b9 40 11 00 00 c0 00 02 01 c6 33 64 02 00 00 00 00 00 00 00 00");
  Ipv4View view(packet);
  view.fill_checksum();
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_FALSE(view.dont_fragment());
  EXPECT_TRUE(view.more_fragments());
  EXPECT_EQ(view.fragment_offset_units(), 185);
  EXPECT_EQ(view.fragment_offset_bytes(), 1480u);
  EXPECT_TRUE(view.is_fragment());
  auto repr = Ipv4Repr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_TRUE(repr->more_fragments);
  EXPECT_EQ(repr->fragment_offset_bytes, 1480);
  auto buffer = test::filled(20);
  ASSERT_EQ(repr->emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, std::vector<std::byte>(packet.begin(), packet.begin() + 20));
}

TEST(Ipv4, EmitsExactBytes) {
  auto buffer = test::filled(24);
  ASSERT_EQ(kPingRepr.buffer_len(), 20u);
  ASSERT_EQ(kPingRepr.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({hex(kPingHeader), hex("a5 a5 a5 a5")}));

  // The options frame's header without its option: IHL 5, total length 42.
  Ipv4Repr udp{.source = kHost1,
               .destination = net::Ipv4Addr::from_octets(198, 51, 100, 53),
               .protocol = IpProtocol::Udp,
               .payload_len = 22,
               .ttl = 1,
               .tos = 0xb8,
               .identification = 7};
  ASSERT_EQ(udp.emit(buffer), std::nullopt);
  auto header = std::span(buffer).first(20);
  EXPECT_EQ(test::to_vector(header).at(0), std::byte{0x45});
  EXPECT_EQ(load_be16(header, 2), 42);
  EXPECT_EQ(load_be16(header, 6), 0);
  EXPECT_EQ(internet_checksum(header), 0);
}

TEST(Ipv4, RoundTripsAndDropsOptions) {
  for (auto golden : {test::kPingFrame, test::kUdpWithIpOptionsFrame, test::kTcpLinuxSynFrame,
                      test::kIcmpFragmentationNeededFrame}) {
    auto frame = hex(golden);
    Ipv4ConstView view(EthernetConstView(frame).payload());
    auto repr = Ipv4Repr::parse(view);
    ASSERT_TRUE(repr);
    auto buffer = test::filled(repr->buffer_len() + repr->payload_len);
    ASSERT_EQ(repr->emit(buffer), std::nullopt);
    auto again = Ipv4Repr::parse(Ipv4ConstView(buffer));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *repr);
    if (view.ihl() == 5) {
      EXPECT_TRUE(std::ranges::equal(std::span(buffer).first(20), view.header()));
    }
  }
}

TEST(Ipv4, RejectsEveryTruncatedLength) {
  auto packet = ping_packet();
  for (size_t len = 0; len < 20; ++len) {
    Ipv4ConstView view{std::span(packet).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(view.check_header(), WireError::Truncated) << len;
    EXPECT_EQ(Ipv4Repr::parse(view).error(), WireError::Truncated) << len;
  }
  // From 20 bytes on, the header is complete but the total length (36) is not there.
  for (size_t len = 20; len < 36; ++len) {
    Ipv4ConstView view{std::span(packet).first(len)};
    EXPECT_EQ(view.check(), WireError::BadTotalLength) << len;
    EXPECT_EQ(view.check_header(), std::nullopt) << len;
  }
  EXPECT_EQ(Ipv4ConstView{std::span(packet).first(36)}.check(), std::nullopt);
}

TEST(Ipv4, RejectsTruncatedOptions) {
  auto frame = hex(test::kUdpWithIpOptionsFrame);
  auto packet = std::span<const std::byte>(frame).subspan(14);
  for (size_t len = 20; len < 24; ++len) {
    EXPECT_EQ(Ipv4ConstView(packet.first(len)).check(), WireError::BadHeaderLength) << len;
  }
}

TEST(Ipv4, ValidatesHeaderFieldsInIpRcvOrder) {
  auto check = [](std::string_view header_hex) {
    auto packet = test::concat({hex(header_hex), hex("00 00 00 00 00 00 00 00")});
    return Ipv4ConstView(packet).check();
  };
  EXPECT_EQ(check("45 00 00 1c 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"), std::nullopt);
  EXPECT_EQ(check("65 00 00 1c 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadVersion);
  EXPECT_EQ(check("44 00 00 1c 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadHeaderLength);
  EXPECT_EQ(check("40 00 00 1c 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadHeaderLength);
  // IHL 8 = 32 bytes > the 28-byte buffer.
  EXPECT_EQ(check("48 00 00 1c 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadHeaderLength);
  // Total length 19 < IHL*4 = 20.
  EXPECT_EQ(check("45 00 00 13 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadTotalLength);
  // Total length 29 > the 28-byte buffer.
  EXPECT_EQ(check("45 00 00 1d 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"),
            WireError::BadTotalLength);
  // Total length exactly IHL*4: an empty payload is fine.
  EXPECT_EQ(check("45 00 00 14 00 00 00 00 40 01 00 00 c0 00 02 01 c6 33 64 02"), std::nullopt);
}

TEST(Ipv4, DetectsABadChecksum) {
  auto packet = ping_packet();
  Ipv4View view(packet);
  view.set_checksum(0xa2d5);
  EXPECT_EQ(view.check(), std::nullopt);
  EXPECT_FALSE(view.verify_checksum());
  EXPECT_EQ(Ipv4Repr::parse(view).error(), WireError::BadChecksum);
  view.fill_checksum();
  EXPECT_EQ(view.checksum(), 0xa2d4);
  // A change in the options is covered too.
  auto frame = hex(test::kUdpWithIpOptionsFrame);
  Ipv4View with_options{std::span(frame).subspan(14)};
  with_options.options()[3] = std::byte{1};
  EXPECT_FALSE(with_options.verify_checksum());
}

TEST(Ipv4, SetTtlAdjustsTheChecksumIncrementally) {
  auto packet = ping_packet();
  Ipv4View view(packet);
  for (int ttl = 255; ttl >= 0; --ttl) {
    view.set_ttl(static_cast<uint8_t>(ttl));
    ASSERT_EQ(view.ttl(), ttl);
    ASSERT_EQ(view.protocol(), IpProtocol::Icmp);
    ASSERT_TRUE(view.verify_checksum()) << ttl;
    uint16_t incremental = view.checksum();
    view.fill_checksum();
    ASSERT_EQ(view.checksum(), incremental) << ttl;
  }
}

TEST(Ipv4, AddressSettersThenAdjustOrFill) {
  auto packet = ping_packet();
  Ipv4View view(packet);
  auto translated = net::Ipv4Addr::from_octets(203, 0, 113, 9);
  view.set_checksum(checksum_adjust32(view.checksum(), view.source().value(), translated.value()));
  view.set_source(translated);
  EXPECT_EQ(view.source(), translated);
  EXPECT_TRUE(view.verify_checksum());
  view.set_destination(kHost1);
  EXPECT_FALSE(view.verify_checksum());
  view.fill_checksum();
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_EQ(view.destination(), kHost1);
}

TEST(Ipv4, CheckHeaderAcceptsTheDatagramQuotedInAnIcmpError) {
  auto frame = hex(test::kIcmpFragmentationNeededFrame);
  // Ethernet 14 + outer IPv4 20 + ICMP header 8.
  Ipv4ConstView quoted{std::span(frame).subspan(42)};
  ASSERT_EQ(quoted.buffer().size(), 28u);
  EXPECT_EQ(quoted.check(), WireError::BadTotalLength);  // says 36, 28 present
  ASSERT_EQ(quoted.check_header(), std::nullopt);
  EXPECT_EQ(quoted.total_len(), 36);
  EXPECT_EQ(quoted.payload_len(), 8u);
  EXPECT_EQ(quoted.source(), kHost1);
  EXPECT_EQ(quoted.destination(), kHost2);
  EXPECT_TRUE(quoted.verify_checksum());
}

TEST(Ipv4, EmitRefusesWhatTheFieldsCannotCarry) {
  auto buffer = test::filled(20);
  Ipv4Repr repr = kPingRepr;
  repr.payload_len = 65516;
  EXPECT_EQ(repr.emit(buffer), WireError::TooLong);
  repr.payload_len = 65515;
  EXPECT_EQ(repr.emit(std::span(buffer).first(19)), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(20));
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(load_be16(buffer, 2), 65535);
  repr.fragment_offset_bytes = 1481;
  EXPECT_EQ(repr.emit(buffer), WireError::BadFragmentOffset);
  repr.fragment_offset_bytes = 8191 * 8;
  EXPECT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(Ipv4ConstView(buffer).fragment_offset_units(), 8191);
  EXPECT_TRUE(Ipv4ConstView(buffer).dont_fragment());
}

}  // namespace
}  // namespace vnet::wire
