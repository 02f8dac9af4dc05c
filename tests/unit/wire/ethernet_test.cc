#include "wire/ethernet.h"

#include <gtest/gtest.h>

#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

const net::MacAddr kHost1(0x02, 0, 0, 0, 0, 0x01);
const net::MacAddr kHost2(0x02, 0, 0, 0, 0, 0x02);

TEST(Ethernet, ParsesAnUntaggedFrame) {
  auto frame = hex(test::kPingFrame);
  EthernetConstView view(frame);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.destination(), kHost2);
  EXPECT_EQ(view.source(), kHost1);
  EXPECT_EQ(view.ethertype(), EtherType::Ipv4);
  EXPECT_FALSE(view.has_vlan_tag());
  EXPECT_EQ(view.payload_ethertype(), EtherType::Ipv4);
  EXPECT_EQ(view.header_len_bytes(), 14u);
  // Padding included: Ethernet does not know where its payload ends.
  EXPECT_EQ(view.payload().size(), 46u);
  EXPECT_EQ(view.payload()[0], std::byte{0x45});
}

TEST(Ethernet, Parses8021QTaggedFrame) {
  auto frame = hex(test::kArpRequestVlanFrame);
  EthernetConstView view(frame);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.destination(), net::MacAddr::broadcast());
  EXPECT_EQ(view.source(), kHost1);
  EXPECT_EQ(view.ethertype(), EtherType::Vlan);
  ASSERT_TRUE(view.has_vlan_tag());
  EXPECT_EQ(view.vlan_pcp(), 1);
  EXPECT_FALSE(view.vlan_dei());
  EXPECT_EQ(view.vlan_id(), 100);
  EXPECT_EQ(view.payload_ethertype(), EtherType::Arp);
  EXPECT_EQ(view.header_len_bytes(), 18u);
  EXPECT_EQ(test::to_vector(view.payload().first(4)), hex("00 01 08 00"));
  EXPECT_EQ(view.payload().size(), 42u);
}

TEST(Ethernet, Parses8021adServiceTagAsTheSingleTag) {
  auto frame = hex(test::kPingServiceVlanFrame);
  EthernetConstView view(frame);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.ethertype(), EtherType::ServiceVlan);
  ASSERT_TRUE(view.has_vlan_tag());
  EXPECT_EQ(view.vlan_pcp(), 5);
  EXPECT_TRUE(view.vlan_dei());
  EXPECT_EQ(view.vlan_id(), 4094);
  EXPECT_EQ(view.payload_ethertype(), EtherType::Ipv4);
  EXPECT_EQ(view.payload().size(), 36u);
}

TEST(Ethernet, QinQInnerTagShowsAsPayloadEtherType) {
  auto frame =
      hex("02 00 00 00 00 02 02 00 00 00 00 01 88 a8 00 0a 81 00 00 14 08 00"
          "45 00");
  auto repr = EthernetRepr::parse(EthernetConstView(frame));
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->vlan->vlan_id, 10);
  EXPECT_EQ(repr->ethertype, EtherType::Vlan);
  EXPECT_EQ(EthernetConstView(frame).payload().size(), 6u);  // the inner TCI onwards
}

TEST(Ethernet, ReprParsesTaggedAndUntagged) {
  auto untagged = hex(test::kPingFrame);
  auto repr = EthernetRepr::parse(EthernetConstView(untagged));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (EthernetRepr{.destination = kHost2, .source = kHost1}));

  auto tagged = hex(test::kArpRequestVlanFrame);
  repr = EthernetRepr::parse(EthernetConstView(tagged));
  ASSERT_TRUE(repr);
  EXPECT_EQ(*repr, (EthernetRepr{.destination = net::MacAddr::broadcast(),
                                 .source = kHost1,
                                 .ethertype = EtherType::Arp,
                                 .vlan = VlanTag{.pcp = 1, .vlan_id = 100}}));
}

TEST(Ethernet, EmitsExactUntaggedHeader) {
  EthernetRepr repr{.destination = kHost2, .source = kHost1, .ethertype = EtherType::Ipv4};
  auto buffer = test::filled(20);
  ASSERT_EQ(repr.buffer_len(), 14u);
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, hex("02 00 00 00 00 02 02 00 00 00 00 01 08 00 a5 a5 a5 a5 a5 a5"));
}

TEST(Ethernet, EmitsExactTaggedHeader) {
  EthernetRepr repr{.destination = net::MacAddr::broadcast(),
                    .source = kHost1,
                    .ethertype = EtherType::Arp,
                    .vlan = VlanTag{.pcp = 1, .vlan_id = 100}};
  auto buffer = test::filled(19);
  ASSERT_EQ(repr.buffer_len(), 18u);
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, hex("ff ff ff ff ff ff 02 00 00 00 00 01 81 00 20 64 08 06 a5"));

  repr.vlan = VlanTag{.tpid = EtherType::ServiceVlan, .pcp = 5, .dei = true, .vlan_id = 4094};
  repr.ethertype = EtherType::Ipv4;
  ASSERT_EQ(repr.emit(buffer), std::nullopt);
  EXPECT_EQ(buffer, hex("ff ff ff ff ff ff 02 00 00 00 00 01 88 a8 bf fe 08 00 a5"));
}

TEST(Ethernet, RoundTrips) {
  for (auto golden : {test::kPingFrame, test::kArpRequestVlanFrame, test::kPingServiceVlanFrame}) {
    auto frame = hex(golden);
    auto repr = EthernetRepr::parse(EthernetConstView(frame));
    ASSERT_TRUE(repr);
    auto buffer = test::filled(repr->buffer_len());
    ASSERT_EQ(repr->emit(buffer), std::nullopt);
    EXPECT_EQ(buffer, std::vector<std::byte>(frame.begin(), frame.begin() + repr->buffer_len()));
    auto again = EthernetRepr::parse(EthernetConstView(buffer));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *repr);
  }
}

TEST(Ethernet, RejectsEveryTruncatedLength) {
  auto untagged = hex(test::kPingFrame);
  for (size_t len = 0; len < 14; ++len) {
    EthernetConstView view{std::span(untagged).first(len)};
    EXPECT_EQ(view.check(), WireError::Truncated) << len;
    EXPECT_EQ(EthernetRepr::parse(view).error(), WireError::Truncated) << len;
  }
  EXPECT_EQ(EthernetConstView(std::span(untagged).first(14)).check(), std::nullopt);

  auto tagged = hex(test::kArpRequestVlanFrame);
  for (size_t len = 0; len < 18; ++len) {
    EXPECT_EQ(EthernetConstView(std::span(tagged).first(len)).check(), WireError::Truncated) << len;
  }
  EthernetConstView header_only{std::span(tagged).first(18)};
  ASSERT_EQ(header_only.check(), std::nullopt);
  EXPECT_TRUE(header_only.payload().empty());
}

TEST(Ethernet, OverlongFrameKeepsTrailingBytesInThePayload) {
  auto frame = test::concat({hex(test::kPingFrame), hex("de ad be ef")});
  EthernetConstView view(frame);
  ASSERT_EQ(view.check(), std::nullopt);
  EXPECT_EQ(view.payload().size(), 50u);
  auto repr = EthernetRepr::parse(view);
  ASSERT_TRUE(repr);
  EXPECT_EQ(repr->buffer_len(), 14u);
}

TEST(Ethernet, EmitRefusesBadTagsAndShortBuffers) {
  EthernetRepr repr{.destination = kHost2, .source = kHost1, .vlan = VlanTag{.vlan_id = 4096}};
  auto buffer = test::filled(18);
  EXPECT_EQ(repr.emit(buffer), WireError::BadVlanTag);
  repr.vlan = VlanTag{.pcp = 8};
  EXPECT_EQ(repr.emit(buffer), WireError::BadVlanTag);
  repr.vlan = VlanTag{.tpid = EtherType::Ipv4};
  EXPECT_EQ(repr.emit(buffer), WireError::BadVlanTag);
  repr.vlan.reset();
  repr.ethertype = EtherType::Vlan;
  EXPECT_EQ(repr.emit(buffer), WireError::BadVlanTag);
  EXPECT_EQ(buffer, test::filled(18));

  repr.ethertype = EtherType::Ipv4;
  EXPECT_EQ(repr.emit(std::span(buffer).first(13)), WireError::Truncated);
  repr.vlan = VlanTag{};
  EXPECT_EQ(repr.emit(std::span(buffer).first(17)), WireError::Truncated);
  EXPECT_EQ(buffer, test::filled(18));
}

TEST(Ethernet, SettersRewriteAddresses) {
  auto frame = hex(test::kPingFrame);
  EthernetView view(frame);
  view.set_destination(kHost1);
  view.set_source(kHost2);
  EthernetConstView read = view;
  EXPECT_EQ(read.destination(), kHost1);
  EXPECT_EQ(read.source(), kHost2);
  EXPECT_EQ(read.ethertype(), EtherType::Ipv4);
}

}  // namespace
}  // namespace vnet::wire
