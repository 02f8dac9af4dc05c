#include "wire/vxlan.h"

#include <gtest/gtest.h>

#include <vector>

#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

// VNI 42 (the issue's `ip link add … type vxlan id 42`), then the first bytes of an inner
// Ethernet frame.  Layout from RFC 7348 section 5: flags 0x08, 24 reserved bits, VNI, 8 reserved.
constexpr std::string_view kVni42 = "08 00 00 00 00 00 2a 00";
constexpr std::string_view kMaxVni = "08 00 00 00 ff ff ff 00";

TEST(Vxlan, ParsesTheHeaderAndFindsTheInnerFrame) {
  auto bytes = hex(std::string(kVni42) + " ff ff ff ff ff ff 02 00");
  VxlanConstView v(bytes);
  ASSERT_EQ(v.check(), std::nullopt);
  EXPECT_EQ(v.flags(), vxlan::kFlagI);
  EXPECT_EQ(v.vni(), 42u);
  EXPECT_EQ(v.header_len_bytes(), 8u);
  EXPECT_EQ(v.payload().size(), 8u);
  EXPECT_EQ(v.payload()[0], std::byte{0xff});
  auto r = VxlanRepr::parse(v);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->vni, 42u);
}

TEST(Vxlan, EmitsExactBytesIntoAFilledBuffer) {
  std::vector<std::byte> buf(8, std::byte{0xa5});
  ASSERT_EQ(VxlanRepr{42}.emit(buf), std::nullopt);
  EXPECT_EQ(buf, hex(kVni42));
  ASSERT_EQ(VxlanRepr{vxlan::kMaxVni}.emit(buf), std::nullopt);
  EXPECT_EQ(buf, hex(kMaxVni));
  EXPECT_EQ(VxlanConstView(std::span<const std::byte>(buf)).vni(), 0xffffffu);
}

TEST(Vxlan, RefusesAVniWiderThan24Bits) {
  std::vector<std::byte> buf(8, std::byte{0xa5});
  EXPECT_EQ(VxlanRepr{0x1000000}.emit(buf), WireError::TooLong);
  EXPECT_EQ(buf, std::vector<std::byte>(8, std::byte{0xa5}));  // nothing written
}

TEST(Vxlan, RejectsTruncatedInput) {
  auto full = hex(kVni42);
  for (size_t len = 0; len < 8; ++len) {
    VxlanConstView v(std::span<const std::byte>(full).first(len));
    EXPECT_EQ(v.check(), WireError::Truncated) << len;
  }
  std::vector<std::byte> small(7);
  EXPECT_EQ(VxlanRepr{1}.emit(small), WireError::Truncated);
}

// Linux's vxlan_rcv() drops these on a device without extensions; so does vnet.
TEST(Vxlan, RejectsWhatLinuxDrops) {
  for (std::string_view bad : {
           "00 00 00 00 00 00 2a 00",  // I flag clear
           "0c 00 00 00 00 00 2a 00",  // another flag bit (GPE's P bit)
           "88 00 00 00 00 00 2a 00",  // GBP's G bit
           "08 00 00 01 00 00 2a 00",  // first reserved field not zero
           "08 00 00 00 00 00 2a 01",  // last reserved byte not zero
       }) {
    auto bytes = hex(bad);
    EXPECT_EQ(VxlanConstView(bytes).check(), WireError::BadFlags) << bad;
    EXPECT_EQ(VxlanRepr::parse(VxlanConstView(bytes)).error(), WireError::BadFlags) << bad;
  }
}

TEST(Vxlan, RoundTripsVnis) {
  for (uint32_t vni : {0u, 1u, 42u, 4096u, 6289u, 0x123456u, vxlan::kMaxVni}) {
    std::vector<std::byte> buf(VxlanRepr::buffer_len());
    ASSERT_EQ(VxlanRepr{vni}.emit(buf), std::nullopt);
    auto back = VxlanRepr::parse(VxlanConstView(std::span<const std::byte>(buf)));
    ASSERT_TRUE(back) << vni;
    EXPECT_EQ(back->vni, vni);
  }
}

}  // namespace
}  // namespace vnet::wire
