// The v1 key schema: keys and values round-trip, and every malformed key or value is refused
// with the key and the field named.
#include <gtest/gtest.h>

#include "ctrl/schema.h"

namespace vnet::ctrl::schema {
namespace {

std::string refusal(const std::string& key, const std::string& value) {
  auto r = parse(key, value);
  auto* why = std::get_if<std::string>(&r);
  return why ? *why : "accepted";
}

TEST(Schema, EveryKindRoundTrips) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/vnet/v1/vpc/6289/config", R"({"subnets":["172.16.0.0/16","10.0.0.0/8"]})"},
      {"/vnet/v1/vpc/6289/route/172.16.0.47", R"({"host":"10.10.1.10"})"},
      {"/vnet/v1/vpc/6289/neigh/172.16.0.47", R"({"mac":"52:54:00:12:34:56"})"},
      {"/vnet/v1/vpc/6289/subnet-route/172.17.0.0/16", R"({"peer":7})"},
      {"/vnet/v1/host/host1/config",
       R"({"grace_ms":500,"local":"10.10.1.9","mac":"ee:ff:ff:ff:ff:fe"})"},
      {"/vnet/v1/host/host1/port/vm1",
       R"({"ip":"172.16.0.47","mac":"52:54:00:12:34:56","vpc":6289})"},
      {"/vnet/v1/vpc/0/route/192.0.2.1", R"({"host":"198.51.100.1"})"},
      {"/vnet/v1/vpc/4294967295/config", R"({"subnets":[]})"},
  };
  for (const auto& [k, v] : cases) {
    auto r = parse(k, v);
    ASSERT_TRUE(std::holds_alternative<Entry>(r)) << k << " " << std::get<std::string>(r);
    const Entry& e = std::get<Entry>(r);
    EXPECT_EQ(key(e.ref), k);
    EXPECT_EQ(value(e), v) << k;
  }
  auto e = std::get<Entry>(parse("/vnet/v1/host/host1/port/vm1", R"({"vpc":1,"ip":"172.16.0.1"})"));
  EXPECT_EQ(e.ref.node, "host1");
  EXPECT_EQ(e.ref.dev, "vm1");
  EXPECT_FALSE(e.mac.has_value());
}

TEST(Schema, MalformedKeysAreNamed) {
  EXPECT_EQ(refusal("/other/x", "{}"), "/other/x: not under /vnet/v1/");
  EXPECT_EQ(refusal("/vnet/v1/vpc/abc/config", "{}"),
            "/vnet/v1/vpc/abc/config: \"abc\" is not a VPC id");
  EXPECT_EQ(refusal("/vnet/v1/vpc/4294967296/config", "{}"),
            "/vnet/v1/vpc/4294967296/config: \"4294967296\" is not a VPC id");
  EXPECT_EQ(refusal("/vnet/v1/vpc/07/config", "{}"),
            "/vnet/v1/vpc/07/config: \"07\" is not a VPC id");
  EXPECT_EQ(refusal("/vnet/v1/vpc/7/route/172.16.0.047", "{}"),
            "/vnet/v1/vpc/7/route/172.16.0.047: \"172.16.0.047\" is not a VM address");
  EXPECT_EQ(refusal("/vnet/v1/vpc/7/subnet-route/172.16.0.1/16", "{}"),
            "/vnet/v1/vpc/7/subnet-route/172.16.0.1/16: \"172.16.0.1/16\" is not a prefix");
  // Found by fuzz/ctrl_fuzz.cc: a length that is not a number threw out of std::stoi.
  for (const char* len : {"(6", "-1", "+8", "1x", "33"}) {
    std::string k = std::string("/vnet/v1/vpc/7/subnet-route/10.0.0.0/") + len;
    EXPECT_EQ(refusal(k, R"({"peer":8})"), k + ": \"10.0.0.0/" + len + "\" is not a prefix");
  }
  EXPECT_EQ(refusal("/vnet/v1/vpc/7/fib/1", "{}"), "/vnet/v1/vpc/7/fib/1: not a VPC table key");
  EXPECT_EQ(refusal("/vnet/v1/host/a b/config", "{}"),
            "/vnet/v1/host/a b/config: \"a b\" is not a node name");
  EXPECT_EQ(
      refusal("/vnet/v1/host/h/port/a-very-long-device-name", "{}"),
      "/vnet/v1/host/h/port/a-very-long-device-name: \"a-very-long-device-name\" is not a device "
      "name");
  EXPECT_EQ(refusal("/vnet/v1/lb/x", "{}"), "/vnet/v1/lb/x: not a v1 key");
}

TEST(Schema, MalformedValuesAreNamed) {
  const std::string route = "/vnet/v1/vpc/7/route/172.16.0.5";
  EXPECT_EQ(refusal(route, ""), route + ": not JSON");
  EXPECT_EQ(refusal(route, "[1]"), route + ": not a JSON object");
  EXPECT_EQ(refusal(route, "{}"), route + ": host: missing");
  EXPECT_EQ(refusal(route, R"({"host":1})"), route + ": host: not a string");
  EXPECT_EQ(refusal(route, R"({"host":"x"})"), route + ": host: \"x\" is not an IPv4 address");
  EXPECT_EQ(refusal(route, R"({"host":"10.0.0.1","via":1})"), route + ": unknown field \"via\"");
  const std::string neigh = "/vnet/v1/vpc/7/neigh/172.16.0.5";
  EXPECT_EQ(refusal(neigh, R"({"mac":"01:00:5e:00:00:01"})"),
            neigh + ": mac: \"01:00:5e:00:00:01\" is not a unicast MAC");
  const std::string sr = "/vnet/v1/vpc/7/subnet-route/10.0.0.0/8";
  EXPECT_EQ(refusal(sr, R"({"peer":-1})"), sr + ": peer: not an unsigned integer");
  EXPECT_EQ(refusal(sr, R"({"peer":4294967296})"), sr + ": peer: 4294967296 is out of range");
  EXPECT_EQ(refusal(sr, R"({"peer":"7"})"), sr + ": peer: not an unsigned integer");
  const std::string cfg = "/vnet/v1/vpc/7/config";
  EXPECT_EQ(refusal(cfg, R"({"subnets":"10.0.0.0/8"})"), cfg + ": subnets: not an array");
  EXPECT_EQ(refusal(cfg, R"({"subnets":["10.0.0.1/8"]})"),
            cfg + ": subnets: \"10.0.0.1/8\" is not a prefix A.B.C.D/LEN without host bits");
  const std::string host = "/vnet/v1/host/h1/config";
  EXPECT_EQ(refusal(host, R"({"local":"10.0.0.1","grace_ms":3600001})"),
            host + ": grace_ms: 3600001 is out of range");
  const std::string port = "/vnet/v1/host/h1/port/vm1";
  EXPECT_EQ(refusal(port, R"({"vpc":1})"), port + ": ip: missing");
  // Deep nesting and huge input: refused, no crash.
  EXPECT_EQ(refusal(route, std::string(100000, '[')), route + ": not JSON");
}

TEST(Schema, NodeNames) {
  EXPECT_TRUE(valid_name("host1"));
  EXPECT_TRUE(valid_name("lab-vm~cable"));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name(".."));
  EXPECT_FALSE(valid_name("a/b"));
  EXPECT_FALSE(valid_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace vnet::ctrl::schema
