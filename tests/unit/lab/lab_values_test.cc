// The scalar parsers and validators of lab files: durations, loss, MTU, integers, node and
// interface names, key suggestions and message quoting.
#include "lab/lab_values.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vnet::lab {
namespace {

template <typename T>
std::string error_of(const Parsed<T>& parsed) {
  const std::string* message = std::get_if<std::string>(&parsed);
  return message ? *message : "(no error)";
}

TEST(DurationTest, ParsesUnitsAndDecimals) {
  struct Case {
    std::string text;
    uint64_t ns;
  };
  const std::vector<Case> cases = {
      {"0ns", 0},
      {"0s", 0},
      {"1ns", 1},
      {"250us", 250'000},
      {"10ms", 10'000'000},
      {"1.5ms", 1'500'000},
      {"0.25s", 250'000'000},
      {"2s", 2'000'000'000},
      {"1.000000001s", 1'000'000'001},
      {"1.0000000010s", 1'000'000'001},  // trailing zeros do not count as precision
      {"0.001us", 1},
      {"007ms", 7'000'000},
      {"3600s", 3'600'000'000'000},
      {"3600000ms", 3'600'000'000'000},
  };
  for (const Case& c : cases) {
    Parsed<uint64_t> parsed = parse_duration_ns(c.text, "delay");
    ASSERT_TRUE(std::holds_alternative<uint64_t>(parsed)) << c.text << ": " << error_of(parsed);
    EXPECT_EQ(std::get<uint64_t>(parsed), c.ns) << c.text;
  }
}

TEST(DurationTest, RejectsMalformedAndOutOfRange) {
  const std::string hint =
      "delay must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), found ";
  struct Case {
    std::string text;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"10", hint + "'10'"},
      {"", hint + "''"},
      {"ms", hint + "'ms'"},
      {"10 ms", hint + "'10 ms'"},
      {"-1ms", hint + "'-1ms'"},
      {"+1ms", hint + "'+1ms'"},
      {"1e3ms", hint + "'1e3ms'"},
      {".5ms", hint + "'.5ms'"},
      {"5.ms", hint + "'5.ms'"},
      {"1.2.3ms", hint + "'1.2.3ms'"},
      {"10MS", hint + "'10MS'"},
      {"1h", hint + "'1h'"},
      {"1min", hint + "'1min'"},
      {"3600.000000001s", "delay '3600.000000001s' is out of range (at most 3600s)"},
      {"3601s", "delay '3601s' is out of range (at most 3600s)"},
      {"99999999999999999999999s",
       "delay '99999999999999999999999s' is out of range (at most 3600s)"},
      {"18446744073709551615ns", "delay '18446744073709551615ns' is out of range (at most 3600s)"},
      {"0.5ns", "delay '0.5ns' is not a whole number of nanoseconds"},
      {"0.0001us", "delay '0.0001us' is not a whole number of nanoseconds"},
      {"1.0000000001s", "delay '1.0000000001s' is not a whole number of nanoseconds"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(error_of(parse_duration_ns(c.text, "delay")), c.error) << c.text;
  }
  EXPECT_EQ(error_of(parse_duration_ns("5", "timeout")),
            "timeout must be a duration such as \"5s\" (a number with unit ns, us, ms or s), "
            "found '5'");
}

TEST(LossTest, FractionsAndPercentages) {
  struct Case {
    std::string text;
    double loss;
  };
  const std::vector<Case> cases = {
      {"0", 0},     {"0.0", 0}, {"1", 1},    {"1.0", 1},      {"0.05", 0.05},
      {"5%", 0.05}, {"0%", 0},  {"100%", 1}, {"2.5%", 0.025},
  };
  for (const Case& c : cases) {
    Parsed<double> parsed = parse_loss(c.text);
    ASSERT_TRUE(std::holds_alternative<double>(parsed)) << c.text << ": " << error_of(parsed);
    EXPECT_DOUBLE_EQ(std::get<double>(parsed), c.loss) << c.text;
  }
  const std::string hint =
      "loss must be a fraction from 0.0 to 1.0 or a percentage such as \"5%\", found ";
  EXPECT_EQ(error_of(parse_loss("5")),
            "loss '5' is out of range: use a fraction from 0.0 to 1.0 or a percentage such as "
            "\"5%\"");
  EXPECT_EQ(error_of(parse_loss("1.01")),
            "loss '1.01' is out of range: use a fraction from 0.0 to 1.0 or a percentage such as "
            "\"5%\"");
  EXPECT_EQ(error_of(parse_loss("100.5%")), "loss '100.5%' is out of range (0%..100%)");
  for (const std::string text :
       {"-0.1", "", "%", "5 %", "five", "1e-2", "nan", "inf", "0x1", ".5", "5%%"}) {
    EXPECT_EQ(error_of(parse_loss(text)), hint + quote(text)) << text;
  }
}

TEST(MtuTest, RangeIsIpv4MinimumTo65535) {
  EXPECT_EQ(std::get<int>(parse_mtu("68")), 68);
  EXPECT_EQ(std::get<int>(parse_mtu("1500")), 1500);
  EXPECT_EQ(std::get<int>(parse_mtu("65535")), 65535);
  EXPECT_EQ(error_of(parse_mtu("67")), "mtu 67 is out of range (68..65535)");
  EXPECT_EQ(error_of(parse_mtu("0")), "mtu 0 is out of range (68..65535)");
  EXPECT_EQ(error_of(parse_mtu("65536")), "mtu 65536 is out of range (68..65535)");
  EXPECT_EQ(error_of(parse_mtu("99999999999999999999")),
            "mtu 99999999999999999999 is out of range (68..65535)");
  EXPECT_EQ(error_of(parse_mtu("1500.0")),
            "mtu must be an integer from 68 to 65535, found '1500.0'");
  EXPECT_EQ(error_of(parse_mtu("-1")), "mtu must be an integer from 68 to 65535, found '-1'");
  EXPECT_EQ(error_of(parse_mtu("0x5dc")), "mtu must be an integer from 68 to 65535, found '0x5dc'");
}

TEST(U64Test, WholeRange) {
  EXPECT_EQ(std::get<uint64_t>(parse_u64("0", "seed")), 0u);
  EXPECT_EQ(std::get<uint64_t>(parse_u64("18446744073709551615", "seed")), UINT64_MAX);
  const std::string hint = "seed must be an integer from 0 to 18446744073709551615, found ";
  EXPECT_EQ(error_of(parse_u64("18446744073709551616", "seed")), hint + "'18446744073709551616'");
  EXPECT_EQ(error_of(parse_u64("-1", "seed")), hint + "'-1'");
  EXPECT_EQ(error_of(parse_u64("1.0", "seed")), hint + "'1.0'");
  EXPECT_EQ(error_of(parse_u64("", "seed")), hint + "''");
}

TEST(U32Test, VpcIdRange) {
  EXPECT_EQ(std::get<uint32_t>(parse_u32("0", "vpc id")), 0u);
  EXPECT_EQ(std::get<uint32_t>(parse_u32("4294967295", "vpc id")), UINT32_MAX);
  const std::string hint = "vpc id must be an integer from 0 to 4294967295, found ";
  EXPECT_EQ(error_of(parse_u32("4294967296", "vpc id")), hint + "'4294967296'");
  EXPECT_EQ(error_of(parse_u32("99999999999999999999999", "vpc id")),
            hint + "'99999999999999999999999'");
  EXPECT_EQ(error_of(parse_u32("0x10", "vpc id")), hint + "'0x10'");
  EXPECT_EQ(error_of(parse_u32("", "vpc id")), hint + "''");
}

TEST(Ipv4Test, StrictDottedQuad) {
  EXPECT_EQ(std::get<uint32_t>(parse_ipv4("10.0.1.141", "ip")), 0x0a00018du);
  EXPECT_EQ(std::get<uint32_t>(parse_ipv4("0.0.0.0", "ip")), 0u);
  EXPECT_EQ(std::get<uint32_t>(parse_ipv4("255.255.255.255", "ip")), UINT32_MAX);
  const std::string hint = "ip must be an IPv4 address such as 192.0.2.10, found ";
  for (const std::string text :
       {"", "10.0.1", "10.0.1.1.1", "10.0.1.256", "010.0.1.1", "10.0.1.01", "10.0.1.", ".10.0.1",
        "10..1.1", "1e1.0.0.1", "10.0.1.1/24", " 10.0.1.1", "0x0a.0.1.1", "167772161", "10.0.1.-1",
        "10.0.1.1000"}) {
    EXPECT_EQ(error_of(parse_ipv4(text, "ip")), hint + quote(text)) << text;
  }
  EXPECT_EQ(format_ipv4(0x0a00018d), "10.0.1.141");
  EXPECT_EQ(format_ipv4(UINT32_MAX), "255.255.255.255");
}

TEST(Ipv4Test, UnicastAddresses) {
  for (const std::string text :
       {"1.0.0.0", "10.0.1.141", "126.255.255.255", "128.0.0.1", "223.255.255.255", "192.0.2.10"}) {
    EXPECT_EQ(unicast_ipv4_error(std::get<uint32_t>(parse_ipv4(text, "ip"))), std::nullopt) << text;
  }
  const std::string why =
      " is not a unicast address (0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4 are "
      "refused)";
  for (const std::string text : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "224.0.0.1", "239.255.255.255",
                                 "240.0.0.1", "255.255.255.255"}) {
    EXPECT_EQ(unicast_ipv4_error(std::get<uint32_t>(parse_ipv4(text, "ip"))), text + why) << text;
  }
}

TEST(PrefixTest, ParsesAndRefusesHostBits) {
  EXPECT_EQ(std::get<VpcPrefix>(parse_ipv4_prefix("10.0.1.0/24", "subnet")),
            (VpcPrefix{0x0a000100, 24}));
  EXPECT_EQ(std::get<VpcPrefix>(parse_ipv4_prefix("0.0.0.0/0", "subnet")), (VpcPrefix{0, 0}));
  EXPECT_EQ(std::get<VpcPrefix>(parse_ipv4_prefix("10.0.1.141/32", "subnet")),
            (VpcPrefix{0x0a00018d, 32}));
  EXPECT_EQ(error_of(parse_ipv4_prefix("10.0.1.1/24", "subnet")),
            "subnet 10.0.1.1/24 has host bits set (did you mean 10.0.1.0/24?)");
  EXPECT_EQ(error_of(parse_ipv4_prefix("10.0.1.1/0", "subnet")),
            "subnet 10.0.1.1/0 has host bits set (did you mean 0.0.0.0/0?)");
  const std::string hint = "subnet must be an IPv4 prefix such as 10.0.1.0/24, found ";
  for (const std::string text :
       {"10.0.1.0", "10.0.1.0/", "10.0.1.0/33", "10.0.1.0/024", "10.0.1.0/100", "10.0.1/24", "/24",
        "10.0.1.0/24/1", "10.0.1.0/-1", "10.0.1.0 /24"}) {
    EXPECT_EQ(error_of(parse_ipv4_prefix(text, "subnet")), hint + quote(text)) << text;
  }
  EXPECT_EQ(format_prefix({0x0a000100, 24}), "10.0.1.0/24");
}

TEST(PrefixTest, ContainsAndOverlaps) {
  const VpcPrefix net24{0x0a000100, 24};
  const VpcPrefix net16{0x0a000000, 16};
  const VpcPrefix other{0x0a000200, 24};
  const VpcPrefix all{0, 0};
  EXPECT_TRUE(prefix_contains(net24, 0x0a000100));
  EXPECT_TRUE(prefix_contains(net24, 0x0a0001ff));
  EXPECT_FALSE(prefix_contains(net24, 0x0a000200));
  EXPECT_TRUE(prefix_contains(all, 0xdeadbeef));
  EXPECT_TRUE(prefix_contains({0x0a00018d, 32}, 0x0a00018d));
  EXPECT_FALSE(prefix_contains({0x0a00018d, 32}, 0x0a00018c));
  EXPECT_TRUE(prefixes_overlap(net24, net16));
  EXPECT_TRUE(prefixes_overlap(net16, net24));
  EXPECT_TRUE(prefixes_overlap(net24, net24));
  EXPECT_FALSE(prefixes_overlap(net24, other));
  EXPECT_TRUE(prefixes_overlap(all, other));
  EXPECT_EQ(prefix_mask(0), 0u);
  EXPECT_EQ(prefix_mask(24), 0xffffff00u);
  EXPECT_EQ(prefix_mask(32), UINT32_MAX);
}

TEST(MacTest, ParsesColonSeparatedHex) {
  using Mac = std::array<uint8_t, 6>;
  EXPECT_EQ(std::get<Mac>(parse_mac("52:54:00:12:34:56", "mac")),
            (Mac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
  EXPECT_EQ(std::get<Mac>(parse_mac("52:54:00:AB:cd:Ef", "mac")),
            (Mac{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}));
  const std::string hint = "mac must be a MAC address such as 52:54:00:12:34:56, found ";
  for (const std::string text : {"", "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
                                 "5254.0012.3456", "525400123456", "52:54:00:12:34:5g",
                                 "2:54:00:12:34:56", "52:54:00:12:34:56 ", "52:54:00:12:34::6"}) {
    EXPECT_EQ(error_of(parse_mac(text, "mac")), hint + quote(text)) << text;
  }
  EXPECT_EQ(format_mac(Mac{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}), "52:54:00:ab:cd:ef");
}

TEST(MacTest, UnicastOnly) {
  using Mac = std::array<uint8_t, 6>;
  EXPECT_EQ(unicast_mac_error(Mac{0x52, 0x54, 0, 0, 0, 1}), std::nullopt);
  EXPECT_EQ(unicast_mac_error(Mac{0x02, 0, 0, 0, 0, 0}), std::nullopt);  // locally administered
  EXPECT_EQ(unicast_mac_error(Mac{}), "00:00:00:00:00:00 is all zeros, not an interface's address");
  EXPECT_EQ(unicast_mac_error(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
            "ff:ff:ff:ff:ff:ff is the broadcast address");
  EXPECT_EQ(unicast_mac_error(Mac{0x33, 0x33, 0, 0, 0, 1}),
            "33:33:00:00:00:01 is a multicast address (the low bit of its first byte is set)");
}

TEST(NodeNameTest, DockerContainerNameRule) {
  for (const std::string& name : std::vector<std::string>{"r1", "R1", "1", "core-router.lab_1",
                                                          "a--", std::string(64, 'x')}) {
    EXPECT_EQ(node_name_error(name), std::nullopt) << name;
  }
  const std::string rule =
      ": use letters, digits, '_', '.' and '-', starting with a letter or digit";
  EXPECT_EQ(node_name_error(""), "invalid node name ''" + rule);
  EXPECT_EQ(node_name_error("-r1"), "invalid node name '-r1'" + rule);
  EXPECT_EQ(node_name_error(".r1"), "invalid node name '.r1'" + rule);
  EXPECT_EQ(node_name_error("r 1"), "invalid node name 'r 1'" + rule);
  EXPECT_EQ(node_name_error("r:1"), "invalid node name 'r:1'" + rule);
  EXPECT_EQ(node_name_error("r/1"), "invalid node name 'r/1'" + rule);
  EXPECT_EQ(node_name_error("routeur-é"), "invalid node name 'routeur-é'" + rule);
  EXPECT_EQ(node_name_error(std::string(65, 'x')),
            "node name '" + std::string(65, 'x') + "' is too long (65 characters; at most 64)");
}

TEST(IfnameTest, KernelDevValidName) {
  for (const std::string name :
       {"eth0", "e", "p1", "veth-a.100", "uplink-to-core1", "eth0@x", "lo", "...", ".a"}) {
    EXPECT_EQ(ifname_error(name), std::nullopt) << name;
  }
  const std::string rule = " (Linux forbids '/', ':', whitespace, '.' and '..')";
  EXPECT_EQ(ifname_error(""), "invalid interface name ''" + rule);
  EXPECT_EQ(ifname_error("."), "invalid interface name '.'" + rule);
  EXPECT_EQ(ifname_error(".."), "invalid interface name '..'" + rule);
  EXPECT_EQ(ifname_error("eth0/1"), "invalid interface name 'eth0/1'" + rule);
  EXPECT_EQ(ifname_error("eth0:1"), "invalid interface name 'eth0:1'" + rule);
  EXPECT_EQ(ifname_error("eth 0"), "invalid interface name 'eth 0'" + rule);
  EXPECT_EQ(ifname_error("eth\t0"), "invalid interface name 'eth\\t0'" + rule);
  EXPECT_EQ(ifname_error("eth\n"), "invalid interface name 'eth\\n'" + rule);
  EXPECT_EQ(ifname_error("eth\v"), "invalid interface name 'eth\\x0b'" + rule);
  EXPECT_EQ(ifname_error(std::string("eth\0", 4)), "invalid interface name 'eth\\x00'" + rule);
  EXPECT_EQ(ifname_error("uplink-to-core01"),
            "interface name 'uplink-to-core01' is too long (16 characters; Linux allows at most "
            "15)");
}

TEST(ClosestMatchTest, SuggestsWithinTwoEdits) {
  const std::vector<std::string_view> keys = {"kind", "exec", "image", "env", "user", "cmd"};
  EXPECT_EQ(closest_match("exce", keys), "exec");   // transposition: one edit
  EXPECT_EQ(closest_match("exe", keys), "exec");    // deletion
  EXPECT_EQ(closest_match("kinds", keys), "kind");  // insertion
  EXPECT_EQ(closest_match("imgae", keys), "image");
  EXPECT_EQ(closest_match("Kind", keys), "kind");  // case counts as an edit
  EXPECT_EQ(closest_match("usr", keys), "user");
  EXPECT_EQ(closest_match("colour", keys), std::nullopt);
  EXPECT_EQ(closest_match("execute", keys), std::nullopt);  // three insertions
  EXPECT_EQ(closest_match("", std::vector<std::string_view>{}), std::nullopt);
  // A tie goes to the first candidate.
  EXPECT_EQ(closest_match("ab", std::vector<std::string_view>{"xb", "ax"}), "xb");
  // A closer candidate wins over an earlier one.
  EXPECT_EQ(closest_match("links", std::vector<std::string_view>{"kinds", "links"}), "links");
  EXPECT_EQ(closest_match(std::string(100000, 'a'), keys), std::nullopt);
}

TEST(QuotedTest, EscapesAndTruncates) {
  EXPECT_EQ(quote("eth1"), "'eth1'");
  EXPECT_EQ(quote(""), "''");
  EXPECT_EQ(quote("a\nb\tc\x01\x7f"), "'a\\nb\\tc\\x01\\x7f'");
  EXPECT_EQ(quote("é"), "'é'");  // UTF-8 passes through
  EXPECT_EQ(quote(std::string(81, 'x')), "'" + std::string(80, 'x') + "...'");
  EXPECT_EQ(quote(std::string(80, 'x')), "'" + std::string(80, 'x') + "'");
}

}  // namespace
}  // namespace vnet::lab
