#include "wire/gre.h"

#include <gtest/gtest.h>

#include <vector>

#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

// Keyed GRE for VPC 6289 (seed 004's vpcid) carrying IPv4.
constexpr std::string_view kKeyed = "20 00 08 00 00 00 18 91";
// C, K and S with key 6289 and sequence 7, then 8 payload bytes 00..07; the checksum (0x2357)
// covers header and payload (computed independently with Python's struct module).
constexpr std::string_view kFull =
    "b0 00 08 00 23 57 00 00 00 00 18 91 00 00 00 07 00 01 02 03 04 05 06 07";

TEST(Gre, ParsesAKeyedHeader) {
  auto bytes = hex(kKeyed);
  GreConstView v(bytes);
  ASSERT_EQ(v.check(), std::nullopt);
  EXPECT_TRUE(v.key_present());
  EXPECT_FALSE(v.checksum_present());
  EXPECT_FALSE(v.sequence_present());
  EXPECT_EQ(v.key(), 6289u);
  EXPECT_EQ(v.protocol_type(), 0x0800);
  EXPECT_EQ(v.header_len_bytes(), 8u);
  EXPECT_TRUE(v.payload().empty());
}

TEST(Gre, ParsesChecksumKeyAndSequence) {
  auto bytes = hex(kFull);
  GreConstView v(bytes);
  ASSERT_EQ(v.check(), std::nullopt);
  EXPECT_TRUE(v.verify_checksum());
  EXPECT_EQ(v.checksum(), 0x2357);
  EXPECT_EQ(v.key(), 6289u);
  EXPECT_EQ(v.sequence_number(), 7u);
  EXPECT_EQ(v.header_len_bytes(), 16u);
  EXPECT_EQ(v.payload().size(), 8u);
  auto r = GreRepr::parse(v);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (GreRepr{0x0800, true, 6289u, 7u}));
}

TEST(Gre, EmitsExactBytesIntoAFilledBuffer) {
  GreRepr keyed{0x0800, false, 6289u, std::nullopt};
  std::vector<std::byte> buf(8, std::byte{0xa5});
  ASSERT_EQ(keyed.emit(buf), std::nullopt);
  EXPECT_EQ(buf, hex(kKeyed));

  // With a checksum the payload must already follow the header.
  GreRepr full{0x0800, true, 6289u, 7u};
  std::vector<std::byte> packet(24, std::byte{0xa5});
  for (size_t i = 0; i < 8; ++i) packet[16 + i] = static_cast<std::byte>(i);
  ASSERT_EQ(full.emit(packet), std::nullopt);
  EXPECT_EQ(packet, hex(kFull));
}

TEST(Gre, RoundTripsEveryFlagCombination) {
  for (int mask = 0; mask < 8; ++mask) {
    GreRepr r;
    r.checksum = mask & 1;
    if (mask & 2) r.key = 0xdeadbeef;
    if (mask & 4) r.sequence_number = 42;
    std::vector<std::byte> packet(r.buffer_len() + 5, std::byte{0x11});
    ASSERT_EQ(r.emit(packet), std::nullopt);
    auto back = GreRepr::parse(GreConstView(packet));
    ASSERT_TRUE(back) << mask;
    EXPECT_EQ(*back, r) << mask;
  }
}

TEST(Gre, RejectsTruncatedInput) {
  auto full = hex(kFull);
  for (size_t len = 0; len < 16; ++len) {
    GreConstView v(std::span<const std::byte>(full).first(len));
    EXPECT_EQ(v.check(), WireError::Truncated) << len;
  }
  std::vector<std::byte> small(4);
  EXPECT_EQ((GreRepr{0x0800, false, 1u, std::nullopt}.emit(small)), WireError::Truncated);
}

TEST(Gre, RejectsVersionsAndRoutingLinuxDrops) {
  auto v1 = hex("00 01 88 0b");  // version 1 (PPTP)
  EXPECT_EQ(GreConstView(v1).check(), WireError::BadVersion);
  auto routing = hex("40 00 08 00 00 00 00 00");
  EXPECT_EQ(GreConstView(routing).check(), WireError::BadVersion);
}

TEST(Gre, DetectsACorruptedChecksum) {
  auto bytes = hex(kFull);
  bytes[20] ^= std::byte{0xff};
  EXPECT_FALSE(GreConstView(bytes).verify_checksum());
  EXPECT_EQ(GreRepr::parse(GreConstView(bytes)).error(), WireError::BadChecksum);
}

}  // namespace
}  // namespace vnet::wire
