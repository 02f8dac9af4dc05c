#include "wire/icmp.h"

#include <gtest/gtest.h>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::Ipv4Addr kHost1 = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kHost2 = net::Ipv4Addr::from_octets(198, 51, 100, 2);
const net::Ipv4Addr kRouter = net::Ipv4Addr::from_octets(203, 0, 113, 1);

constexpr std::string_view kEchoRequest = "08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68";
// The ping's IPv4 header and its first 8 ICMP bytes, as quoted by the errors.
constexpr std::string_view kQuote =
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02 08 00 54 35 12 34 00 01";

// Ethernet -> IPv4 -> ICMP, as rx would walk a frame; the returned span is the ICMP message.
std::span<const std::byte> icmp_message(const std::vector<std::byte>& frame) {
  EthernetConstView ethernet(frame);
  if (ethernet.check() || ethernet.payload_ethertype() != EtherType::Ipv4) return {};
  Ipv4ConstView ip(ethernet.payload());
  if (ip.check() || !ip.verify_checksum() || ip.protocol() != IpProtocol::Icmp) return {};
  return ip.payload();
}

TEST(Icmp, ParsesAnEchoRequestFromAFrame) {
  auto frame = hex(test::kPingFrame);
  IcmpConstView view(icmp_message(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.type(), IcmpType::EchoRequest);
  EXPECT_EQ(view.code(), 0);
  EXPECT_EQ(view.checksum(), 0x5435);
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_EQ(view.echo_identifier(), 0x1234);
  EXPECT_EQ(view.echo_sequence_number(), 1);
  EXPECT_EQ(view.rest_of_header(), 0x12340001u);
  EXPECT_FALSE(view.is_error());
  auto data = test::bytes("abcdefgh");
  EXPECT_EQ(test::to_vector(view.data()), data);
  auto repr = IcmpRepr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, IcmpRepr::echo_request(0x1234, 1, data));
}

TEST(Icmp, ParsesFragmentationNeededWithItsMtuAndQuote) {
  auto frame = hex(test::kIcmpFragmentationNeededFrame);
  IcmpConstView view(icmp_message(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.type(), IcmpType::DestinationUnreachable);
  EXPECT_EQ(view.code(), static_cast<uint8_t>(UnreachableCode::FragmentationNeeded));
  EXPECT_TRUE(view.verify_checksum());
  EXPECT_TRUE(view.is_error());
  EXPECT_EQ(view.rest_of_header(), 1400u);  // RFC 1191: high 16 bits unused
  EXPECT_EQ(view.next_hop_mtu(), 1400);
  EXPECT_EQ(test::to_vector(view.original_datagram()), hex(kQuote));

  Ipv4ConstView quoted(view.original_datagram());
  ASSERT_EQ(quoted.check_header(), std::nullopt);
  EXPECT_EQ(quoted.source(), kHost1);
  EXPECT_EQ(quoted.destination(), kHost2);
  IcmpConstView quoted_echo(quoted.payload());
  ASSERT_EQ(quoted_echo.check(), std::nullopt);
  EXPECT_EQ(quoted_echo.echo_identifier(), 0x1234);

  auto repr = IcmpRepr::parse(view);
  ASSERT_TRUE(repr);
  auto quote = hex(kQuote);
  EXPECT_EQ(*repr,
            IcmpRepr::destination_unreachable(UnreachableCode::FragmentationNeeded, quote, 1400));
}

TEST(Icmp, ParsesTimeExceeded) {
  auto frame = hex(test::kIcmpTimeExceededFrame);
  IcmpConstView view(icmp_message(frame));
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.type(), IcmpType::TimeExceeded);
  EXPECT_EQ(view.code(), 0);
  auto repr = IcmpRepr::parse(view);
  ASSERT_TRUE(repr);
  auto quote = hex(kQuote);
  EXPECT_EQ(*repr, IcmpRepr::time_exceeded(TimeExceededCode::TtlExceeded, quote));
  EXPECT_EQ(repr->next_hop_mtu, 0);
}

TEST(Icmp, EmitsExactBytes) {
  auto data = test::bytes("abcdefgh");
  auto repr = IcmpRepr::echo_request(0x1234, 1, data);
  auto buffer = test::filled(18);
  ASSERT_EQ(repr.buffer_len(), 16u);
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({hex(kEchoRequest), hex("a5 a5")}));

  auto quote = hex(kQuote);
  auto error_buffer = test::filled(37);
  auto frag_needed =
      IcmpRepr::destination_unreachable(UnreachableCode::FragmentationNeeded, quote, 1400);
  ASSERT_EQ(frag_needed.emit(error_buffer), std::nullopt);
  EXPECT_EQ(error_buffer, test::concat({hex("03 04 89 19 00 00 05 78"), quote, hex("a5")}));

  auto time_exceeded = IcmpRepr::time_exceeded(TimeExceededCode::TtlExceeded, quote);
  ASSERT_EQ(time_exceeded.emit(error_buffer), std::nullopt);
  EXPECT_EQ(error_buffer, test::concat({hex("0b 00 86 95 00 00 00 00"), quote, hex("a5")}));
}

TEST(Icmp, EmitsInsideIpv4AndEthernetIntoTheGoldenFrame) {
  auto quote = hex(kQuote);
  auto icmp = IcmpRepr::destination_unreachable(UnreachableCode::FragmentationNeeded, quote, 1400);
  EthernetRepr ethernet{.destination = net::MacAddr(2, 0, 0, 0, 0, 1),
                        .source = net::MacAddr(2, 0, 0, 0, 0, 2)};
  Ipv4Repr ip{.source = kRouter,
              .destination = kHost1,
              .protocol = IpProtocol::Icmp,
              .payload_len = static_cast<uint16_t>(icmp.buffer_len()),
              .ttl = 255,
              .tos = 0xc0,
              .identification = 9};
  auto frame = test::filled(ethernet.buffer_len() + ip.buffer_len() + icmp.buffer_len());
  std::span<std::byte> out(frame);
  ASSERT_EQ(ethernet.emit(out), std::nullopt);
  ASSERT_EQ(ip.emit(out.subspan(ethernet.buffer_len())), std::nullopt);
  ASSERT_EQ(icmp.emit(out.subspan(ethernet.buffer_len() + ip.buffer_len())), std::nullopt);
  EXPECT_EQ(frame, hex(test::kIcmpFragmentationNeededFrame));
}

TEST(Icmp, RoundTripsEveryModelledMessage) {
  auto quote = hex(kQuote);
  auto data = test::bytes("0123456789abcdef0123456789abcdef0123456789abcdef01234567");  // 56
  std::vector<IcmpRepr> reprs = {
      IcmpRepr::echo_request(1, 2, data),
      IcmpRepr::echo_reply(0xffff, 0xfffe, data),
      IcmpRepr::echo_request(7, 0, {}),
      IcmpRepr::time_exceeded(TimeExceededCode::TtlExceeded, quote),
      IcmpRepr::time_exceeded(TimeExceededCode::FragmentReassemblyTimeExceeded, quote),
      IcmpRepr::destination_unreachable(UnreachableCode::FragmentationNeeded, quote, 1280),
  };
  for (auto code : {UnreachableCode::NetworkUnreachable, UnreachableCode::HostUnreachable,
                    UnreachableCode::ProtocolUnreachable, UnreachableCode::PortUnreachable,
                    UnreachableCode::NetworkProhibited, UnreachableCode::HostProhibited,
                    UnreachableCode::CommunicationProhibited}) {
    reprs.push_back(IcmpRepr::destination_unreachable(code, quote));
  }
  for (const auto& repr : reprs) {
    auto buffer = test::filled(repr.buffer_len());
    ASSERT_EQ(repr.emit(buffer), std::nullopt);
    IcmpConstView view(buffer);
    EXPECT_TRUE(view.verify_checksum());
    auto parsed = IcmpRepr::parse(view);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, repr);
  }
}

TEST(Icmp, OnlyFragmentationNeededCarriesAnMtu) {
  auto quote = hex(kQuote);
  auto repr = IcmpRepr::destination_unreachable(UnreachableCode::PortUnreachable, quote, 1400);
  EXPECT_EQ(repr.next_hop_mtu, 0);
  auto buffer = test::filled(repr.buffer_len());
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(IcmpConstView(buffer).rest_of_header(), 0u);
  EXPECT_EQ(IcmpConstView(buffer).code(), 3);
}

TEST(Icmp, RejectsEveryTruncatedLength) {
  auto message = hex(kEchoRequest);
  for (size_t len = 0; len < 8; ++len) {
    IcmpConstView view{std::span(message).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(IcmpRepr::parse(view).error(), WireError::Truncated) << len;
  }
  // The bare header checks; the checksum then covers only the bytes present.
  IcmpConstView header_only{std::span(message).first(8)};
  EXPECT_EQ(header_only.check(), std::nullopt);
  EXPECT_TRUE(header_only.data().empty());
  EXPECT_EQ(IcmpRepr::parse(header_only).error(), WireError::BadChecksum);
}

TEST(Icmp, TrailingBytesAreOutsideTheIpPayloadButInsideAnOverlongView) {
  // Within the IPv4 payload (padding excluded) the message verifies...
  auto frame = hex(test::kPingFrame);
  frame.back() = std::byte{0x5a};  // non-zero padding
  IcmpConstView bounded(icmp_message(frame));
  EXPECT_EQ(bounded.data().size(), 8u);
  EXPECT_TRUE(bounded.verify_checksum());
  // ...while a view over the whole Ethernet payload covers the padding, which is why the ICMP
  // view must be given exactly the IPv4 payload.
  IcmpConstView overlong{std::span(frame).subspan(34)};
  EXPECT_EQ(overlong.data().size(), 18u);
  EXPECT_FALSE(overlong.verify_checksum());
}

TEST(Icmp, ReprRefusesBadChecksumsTypesAndCodes) {
  auto message = hex(kEchoRequest);
  IcmpView view(message);
  view.set_checksum(0);
  EXPECT_EQ(IcmpRepr::parse(view).error(), WireError::BadChecksum);

  auto reparse = [&](IcmpType type, uint8_t code) {
    view.set_type(type);
    view.set_code(code);
    view.fill_checksum();
    EXPECT_TRUE(view.verify_checksum());
    auto result = IcmpRepr::parse(view);
    return result ? std::nullopt : std::optional(result.error());
  };
  EXPECT_EQ(reparse(IcmpType::Redirect, 1), WireError::UnsupportedType);
  EXPECT_EQ(reparse(IcmpType::ParameterProblem, 0), WireError::UnsupportedType);
  EXPECT_EQ(reparse(IcmpType{13}, 0), WireError::UnsupportedType);  // timestamp
  EXPECT_EQ(reparse(IcmpType::DestinationUnreachable, 15), std::nullopt);
  EXPECT_EQ(reparse(IcmpType::DestinationUnreachable, 16), WireError::BadCode);
  EXPECT_EQ(reparse(IcmpType::TimeExceeded, 1), std::nullopt);
  EXPECT_EQ(reparse(IcmpType::TimeExceeded, 2), WireError::BadCode);
  // Echo codes are not checked, and kept.
  EXPECT_EQ(reparse(IcmpType::EchoRequest, 9), std::nullopt);
  EXPECT_EQ(IcmpRepr::parse(view)->code, 9);

  auto buffer = test::filled(8);
  IcmpRepr redirect{.type = IcmpType::Redirect};
  EXPECT_EQ(redirect.emit(buffer), WireError::UnsupportedType);
  IcmpRepr bad_code{.type = IcmpType::TimeExceeded, .code = 2};
  EXPECT_EQ(bad_code.emit(buffer), WireError::BadCode);
  auto data = test::bytes("x");
  EXPECT_EQ(IcmpRepr::echo_reply(1, 1, data).emit(buffer), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(8));
}

TEST(Icmp, BuildsAnEchoReplyInPlace) {
  // icmp_echo(): the reply reuses the request's buffer and data.
  auto message = hex(kEchoRequest);
  auto request = IcmpRepr::parse(IcmpConstView(message));
  ASSERT_TRUE(request);
  auto reply =
      IcmpRepr::echo_reply(request->echo_identifier, request->echo_sequence_number, request->data);
  ASSERT_EQ(reply.emit(message), std::nullopt);
  EXPECT_EQ(message, hex("00 00 5c 35 12 34 00 01 61 62 63 64 65 66 67 68"));
  EXPECT_TRUE(IcmpConstView(message).verify_checksum());
}

TEST(Icmp, EmitMovesOverlappingData) {
  // Turning a received datagram into the quote of an error in the same buffer: the data sits at
  // offset 0 and moves 8 bytes up.
  auto buffer = test::concat({hex(kQuote), hex("00 00 00 00 00 00 00 00")});
  auto quote = std::span<const std::byte>(buffer).first(28);
  auto repr = IcmpRepr::destination_unreachable(UnreachableCode::PortUnreachable, quote);
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(test::to_vector(std::span(buffer).subspan(8)), hex(kQuote));
  EXPECT_TRUE(IcmpConstView(buffer).verify_checksum());
}

}  // namespace
}  // namespace vnet::wire
