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
