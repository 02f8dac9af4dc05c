#include "wire/checksum.h"

#include <gtest/gtest.h>

#include <random>

#include "wire/endian.h"
#include "wire_test_util.h"

namespace vnet::wire {
namespace {

using test::hex;

TEST(Checksum, Rfc1071NumericalExample) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 2ddf0, folded ddf2.
  auto data = hex("00 01 f2 03 f4 f5 f6 f7");
  EXPECT_EQ(ones_complement_sum(data), 0xddf2);
  EXPECT_EQ(internet_checksum(data), 0x220d);
}

TEST(Checksum, OddLengthPadsTheLastByteWithZero) {
  EXPECT_EQ(ones_complement_sum(hex("01")), 0x0100);
  EXPECT_EQ(ones_complement_sum(hex("00 01 f2")), 0xf201);
  EXPECT_EQ(ones_complement_sum({}), 0);
  EXPECT_EQ(internet_checksum({}), 0xffff);
}

TEST(Checksum, ComputesAndVerifiesAKnownIpv4Header) {
  // The classic example header 192.168.0.1 -> 192.168.0.199, whose checksum is b861.
  auto header = hex("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7");
  EXPECT_EQ(internet_checksum(header), 0xb861);
  header[10] = std::byte{0xb8};
  header[11] = std::byte{0x61};
  EXPECT_EQ(internet_checksum(header), 0);
}

TEST(Checksum, ChainedEvenPiecesEqualTheWhole) {
  auto data = hex("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7 01");
  std::span<const std::byte> all(data);
  uint16_t chained = ones_complement_sum(all.subspan(8), ones_complement_sum(all.first(8)));
  EXPECT_EQ(chained, ones_complement_sum(all));
  EXPECT_EQ(ones_complement_add(0xffff, 0x0001), 0x0001);
  EXPECT_EQ(ones_complement_add(0x8000, 0x8000), 0x0001);
}

TEST(Checksum, PseudoHeaderSumEqualsTheSumOfItsBytes) {
  auto source = net::Ipv4Addr::from_octets(192, 0, 2, 1);
  auto destination = net::Ipv4Addr::from_octets(198, 51, 100, 53);
  auto pseudo = hex("c0 00 02 01 c6 33 64 35 00 11 00 16");
  EXPECT_EQ(pseudo_header_sum(source, destination, IpProtocol::Udp, 22),
            ones_complement_sum(pseudo));
}

TEST(Checksum, Rfc1624WorkedExample) {
  // RFC 1624 section 4: the other header octets sum to CD7A, m = 5555 becomes m' = 3285.
  uint16_t checksum = static_cast<uint16_t>(~ones_complement_add(0xcd7a, 0x5555));
  ASSERT_EQ(checksum, 0xdd2f);
  // Recomputation gives ~(CD7A + 3285) = ~FFFF = 0000; equation 3 agrees (equation 2 gave FFFF).
  EXPECT_EQ(static_cast<uint16_t>(~ones_complement_add(0xcd7a, 0x3285)), 0x0000);
  EXPECT_EQ(checksum_adjust16(checksum, 0x5555, 0x3285), 0x0000);
}

TEST(Checksum, AdjustWithNoChangeKeepsTheChecksum) {
  EXPECT_EQ(checksum_adjust16(0x1234, 0xabcd, 0xabcd), 0x1234);
  EXPECT_EQ(checksum_adjust32(0x1234, 0xc0000201, 0xc0000201), 0x1234);
}

// Random data with a fixed non-zero first word (like an IPv4 header's version/IHL), so that the
// data is never all zeros: see checksum_adjust16's comment.
std::vector<std::byte> random_data(std::mt19937& random, size_t words) {
  std::vector<std::byte> data(words * 2);
  for (auto& b : data) b = std::byte(random() & 0xff);
  data[0] = std::byte{0x45};
  return data;
}

TEST(Checksum, Incremental16MatchesFullRecomputation) {
  std::mt19937 random(1624);
  for (int round = 0; round < 20000; ++round) {
    auto data = random_data(random, 1 + random() % 40);
    uint16_t checksum = internet_checksum(data);
    size_t word = random() % (data.size() / 2);
    uint16_t old_word = load_be16(data, word * 2);
    uint16_t new_word = static_cast<uint16_t>(random());
    if (round % 7 == 0) new_word = 0;
    if (round % 11 == 0) new_word = 0xffff;
    if (word == 0) new_word = static_cast<uint16_t>(0x4500 | (new_word & 0xff));
    store_be16(data, word * 2, new_word);
    ASSERT_EQ(checksum_adjust16(checksum, old_word, new_word), internet_checksum(data))
        << "round " << round;
  }
}

TEST(Checksum, Incremental32MatchesFullRecomputation) {
  std::mt19937 random(793);
  for (int round = 0; round < 20000; ++round) {
    size_t words = 3 + random() % 40;
    auto data = random_data(random, words);
    uint16_t checksum = internet_checksum(data);
    // Any even offset past the fixed first word; the field need not be 4-byte aligned.
    size_t offset = 2 + 2 * (random() % (words - 2));
    uint32_t old_value = load_be32(data, offset);
    uint32_t new_value = static_cast<uint32_t>(random());
    if (round % 5 == 0) new_value = 0;
    if (round % 13 == 0) new_value = ~old_value;
    store_be32(data, offset, new_value);
    ASSERT_EQ(checksum_adjust32(checksum, old_value, new_value), internet_checksum(data))
        << "round " << round;
  }
}

TEST(Checksum, IncrementalKeepsTheHeaderVerifying) {
  // Checksum field included: after the adjustment the whole data verifies.
  std::mt19937 random(1071);
  for (int round = 0; round < 5000; ++round) {
    auto data = random_data(random, 10);
    store_be16(data, 10, 0);
    store_be16(data, 10, internet_checksum(data));
    uint32_t old_value = load_be32(data, 12);
    uint32_t new_value = static_cast<uint32_t>(random());
    store_be32(data, 12, new_value);
    store_be16(data, 10, checksum_adjust32(load_be16(data, 10), old_value, new_value));
    ASSERT_EQ(internet_checksum(data), 0) << "round " << round;
  }
}

}  // namespace
}  // namespace vnet::wire

// The word-at-a-time sum against the plain 16-bit loop of RFC 1071 section 4.1, on random data of
// every length from 0 to 300 bytes, at every alignment, with random initial sums.
TEST(Checksum, FastSumEqualsThePlainLoop) {
  auto plain = [](std::span<const std::byte> data, uint16_t initial) {
    uint64_t sum = initial;
    size_t i = 0;
    for (; i + 1 < data.size(); i += 2) {
      sum += (static_cast<uint64_t>(data[i]) << 8) | static_cast<uint64_t>(data[i + 1]);
    }
    if (i < data.size()) sum += static_cast<uint64_t>(data[i]) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
  };
  std::mt19937 rng(7);
  std::vector<std::byte> buf(320);
  for (int round = 0; round < 20; ++round) {
    for (std::byte& b : buf) b = static_cast<std::byte>(rng());
    if (round == 0) std::fill(buf.begin(), buf.end(), std::byte{0xff});
    for (size_t offset = 0; offset < 8; ++offset) {
      for (size_t len = 0; len + offset <= 300; ++len) {
        auto span = std::span<const std::byte>(buf).subspan(offset, len);
        uint16_t initial = static_cast<uint16_t>(rng());
        ASSERT_EQ(vnet::wire::ones_complement_sum(span, initial), plain(span, initial))
            << "offset " << offset << " len " << len;
      }
    }
  }
}
