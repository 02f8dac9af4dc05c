#include "wire/arp.h"

#include <gtest/gtest.h>

#include "wire/ethernet.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::MacAddr kHost1(0x02, 0, 0, 0, 0, 0x01);
const net::MacAddr kHost2(0x02, 0, 0, 0, 0, 0x02);
const net::Ipv4Addr kAddress1 = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kAddress2 = net::Ipv4Addr::from_octets(192, 0, 2, 2);

const ArpRepr kRequest{
    .operation = ArpOperation::Request,
    .sender_hardware_address = kHost1,
    .sender_protocol_address = kAddress1,
    .target_hardware_address = net::MacAddr(),
    .target_protocol_address = kAddress2,
};

const ArpRepr kReply{
    .operation = ArpOperation::Reply,
    .sender_hardware_address = kHost2,
    .sender_protocol_address = kAddress2,
    .target_hardware_address = kHost1,
    .target_protocol_address = kAddress1,
};

constexpr std::string_view kRequestBytes =
    "00 01 08 00 06 04 00 01 02 00 00 00 00 01 c0 00 02 01 00 00 00 00 00 00 c0 00 02 02";

TEST(Arp, ParsesARequestBehindAVlanTag) {
  auto frame = hex(test::kArpRequestVlanFrame);
  EthernetConstView ethernet(frame);
  ASSERT_EQ(ethernet.check(), std::nullopt);
  ASSERT_EQ(ethernet.payload_ethertype(), EtherType::Arp);
  ArpConstView arp(ethernet.payload());
  ASSERT_EQ(arp.check(), std::nullopt);
  EXPECT_EQ(arp.hardware_type(), 1);
  EXPECT_EQ(arp.protocol_type(), EtherType::Ipv4);
  EXPECT_EQ(arp.hardware_len(), 6);
  EXPECT_EQ(arp.protocol_len(), 4);
  EXPECT_EQ(arp.operation(), ArpOperation::Request);
  EXPECT_EQ(arp.sender_hardware_address(), kHost1);
  EXPECT_EQ(arp.sender_protocol_address(), kAddress1);
  EXPECT_TRUE(arp.target_hardware_address().is_zero());
  EXPECT_EQ(arp.target_protocol_address(), kAddress2);
  auto repr = ArpRepr::parse(arp);
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kRequest);
}

TEST(Arp, ParsesAReply) {
  auto frame = hex(test::kArpReplyFrame);
  EthernetConstView ethernet(frame);
  ASSERT_EQ(ethernet.check(), std::nullopt);
  auto repr = ArpRepr::parse(ArpConstView(ethernet.payload()));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, kReply);
}

TEST(Arp, EmitsExactBytes) {
  auto buffer = test::filled(30);
  ASSERT_EQ(kRequest.buffer_len(), 28u);
  ASSERT_EQ(kRequest.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({hex(kRequestBytes), hex("a5 a5")}));

  auto frame = hex(test::kArpReplyFrame);
  ASSERT_EQ(kReply.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, test::concat({std::span(frame).subspan(14, 28), hex("a5 a5")}));
}

TEST(Arp, RoundTrips) {
  for (const ArpRepr& repr : {kRequest, kReply}) {
    auto buffer = test::filled(repr.buffer_len());
    ASSERT_EQ(repr.emit(buffer), std::nullopt);
    auto parsed = ArpRepr::parse(ArpConstView(buffer));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, repr);
  }
}

TEST(Arp, RejectsEveryTruncatedLength) {
  auto packet = hex(kRequestBytes);
  for (size_t len = 0; len < 28; ++len) {
    ArpConstView view{std::span(packet).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(ArpRepr::parse(view).error(), WireError::Truncated) << len;
  }
}

TEST(Arp, IgnoresEthernetPadding) {
  auto frame = hex(test::kArpReplyFrame);
  ArpConstView arp{std::span(frame).subspan(14)};
  ASSERT_EQ(arp.buffer().size(), 46u);
  ASSERT_EQ(arp.check(), std::nullopt);
  EXPECT_EQ(*ArpRepr::parse(arp), kReply);
}

TEST(Arp, RejectsOtherHardwareProtocolsAndLengths) {
  auto check = [](std::string_view header) {
    auto request = hex(kRequestBytes);
    auto packet = test::concat({hex(header), std::span(request).subspan(8)});
    return ArpConstView(packet).check();
  };
  EXPECT_EQ(check("00 01 08 00 06 04 00 01"), std::nullopt);
  EXPECT_EQ(check("00 06 08 00 06 04 00 01"), WireError::BadHardwareType);  // IEEE 802
  EXPECT_EQ(check("00 01 86 dd 06 04 00 01"), WireError::BadProtocolType);
  EXPECT_EQ(check("00 01 08 00 08 04 00 01"), WireError::BadAddressLength);
  EXPECT_EQ(check("00 01 08 00 06 10 00 01"), WireError::BadAddressLength);
  // The type checks come first, as soon as the fixed 8 bytes are there.
  EXPECT_EQ(ArpConstView(hex("00 06 08 00 06 04 00 01")).check(), WireError::BadHardwareType);
}

TEST(Arp, ReprRefusesOtherOperations) {
  auto packet = hex(kRequestBytes);
  packet[7] = std::byte{3};  // RARP request (RFC 903)
  ArpConstView view(packet);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.operation(), ArpOperation{3});
  EXPECT_EQ(ArpRepr::parse(view).error(), WireError::BadOperation);

  ArpRepr repr = kRequest;
  repr.operation = ArpOperation{0};
  auto buffer = test::filled(28);
  EXPECT_EQ(repr.emit(buffer), WireError::BadOperation);
  EXPECT_EQ(kRequest.emit(std::span(buffer).first(27)), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(28));
}

TEST(Arp, SettersTurnARequestIntoAReply) {
  auto packet = hex(kRequestBytes);
  ArpView view(packet);
  view.set_operation(ArpOperation::Reply);
  view.set_target_hardware_address(view.sender_hardware_address());
  view.set_target_protocol_address(view.sender_protocol_address());
  view.set_sender_hardware_address(kHost2);
  view.set_sender_protocol_address(kAddress2);
  EXPECT_EQ(*ArpRepr::parse(view), kReply);
}

}  // namespace
}  // namespace vnet::wire
