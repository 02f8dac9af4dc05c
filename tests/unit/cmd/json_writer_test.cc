// Json::dump() against iproute2 6.1's json_writer, compact (`ip -j`) and pretty (`ip -j -p`).
// Each expected string is what iproute2 printed in a network namespace (the command is quoted
// above it), without the final newline, which the `ip` command adds after the dump.
#include "cmd/json_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace vnet::cmd {
namespace {

Json Array(std::initializer_list<Json> items) {
  Json a = Json::array();
  for (const Json& item : items) a.push(item);
  return a;
}

// ip -j route show table custom   (192.0.2.0/24 dev lo)
TEST(JsonWriterTest, CompactRoute) {
  Json route = Json::object();
  route.set("dst", "192.0.2.0/24");
  route.set("dev", "lo");
  route.set("scope", "link");
  route.set("flags", Json::array());
  EXPECT_EQ(Array({route}).dump(false),
            R"([{"dst":"192.0.2.0/24","dev":"lo","scope":"link","flags":[]}])");
}

// ip -j -p route get 10.2.3.4 from 192.0.2.2
TEST(JsonWriterTest, PrettyRouteGet) {
  Json get = Json::object();
  get.set("dst", "10.2.3.4");
  get.set("from", "192.0.2.2");
  get.set("gateway", "192.0.2.254");
  get.set("dev", "v0");
  get.set("flags", Json::array());
  get.set("uid", 0);
  get.set("cache", Json::array());
  EXPECT_EQ(Array({get}).dump(true),
            "[ {\n"
            "        \"dst\": \"10.2.3.4\",\n"
            "        \"from\": \"192.0.2.2\",\n"
            "        \"gateway\": \"192.0.2.254\",\n"
            "        \"dev\": \"v0\",\n"
            "        \"flags\": [ ],\n"
            "        \"uid\": 0,\n"
            "        \"cache\": [ ]\n"
            "    } ]");
}

// ip -j -p route get 192.0.2.255 from 192.0.2.9 iif v0: arrays of scalars stay on one line.
TEST(JsonWriterTest, PrettyInlineArrays) {
  Json get = Json::object();
  get.set("type", "broadcast");
  get.set("flags", Json::array());
  get.set("cache", Array({"local", "brd"}));
  get.set("iif", "v0");
  EXPECT_EQ(Array({get}).dump(true),
            "[ {\n"
            "        \"type\": \"broadcast\",\n"
            "        \"flags\": [ ],\n"
            "        \"cache\": [ \"local\",\"brd\" ],\n"
            "        \"iif\": \"v0\"\n"
            "    } ]");
  EXPECT_EQ(Array({get}).dump(false),
            R"([{"type":"broadcast","flags":[],"cache":["local","brd"],"iif":"v0"}])");
}

// ip -j[-p] route show 203.0.113.0/24 (two nexthops, the second one dead)
TEST(JsonWriterTest, NestedObjectsInArrays) {
  auto hop = [](const char* gateway, const char* dev, int weight, Json flags) {
    Json h = Json::object();
    h.set("gateway", gateway);
    h.set("dev", dev);
    h.set("weight", weight);
    h.set("flags", std::move(flags));
    return h;
  };
  Json route = Json::object();
  route.set("dst", "203.0.113.0/24");
  route.set("flags", Json::array());
  route.set("nexthops", Array({hop("192.0.2.2", "v0", 1, Json::array()),
                               hop("198.51.100.2", "w0", 3, Array({"dead", "linkdown"}))}));
  EXPECT_EQ(Array({route}).dump(false),
            R"([{"dst":"203.0.113.0/24","flags":[],"nexthops":[{"gateway":"192.0.2.2",)"
            R"("dev":"v0","weight":1,"flags":[]},{"gateway":"198.51.100.2","dev":"w0",)"
            R"("weight":3,"flags":["dead","linkdown"]}]}])");
  EXPECT_EQ(Array({route}).dump(true),
            "[ {\n"
            "        \"dst\": \"203.0.113.0/24\",\n"
            "        \"flags\": [ ],\n"
            "        \"nexthops\": [ {\n"
            "                \"gateway\": \"192.0.2.2\",\n"
            "                \"dev\": \"v0\",\n"
            "                \"weight\": 1,\n"
            "                \"flags\": [ ]\n"
            "            },{\n"
            "                \"gateway\": \"198.51.100.2\",\n"
            "                \"dev\": \"w0\",\n"
            "                \"weight\": 3,\n"
            "                \"flags\": [ \"dead\",\"linkdown\" ]\n"
            "            } ]\n"
            "    } ]");
}

// ip -d -j -p link show v0 (excerpt): an object member that is an object.
TEST(JsonWriterTest, PrettyObjectInObject) {
  Json link = Json::object();
  link.set("max_mtu", 65535);
  link.set("linkinfo", Json::object()).set("info_kind", "veth");
  EXPECT_EQ(link.dump(true),
            "{\n"
            "    \"max_mtu\": 65535,\n"
            "    \"linkinfo\": {\n"
            "        \"info_kind\": \"veth\"\n"
            "    }\n"
            "}");
}

// ip -j rule show / ip -j -p rule show: flag-like keys carry null.
TEST(JsonWriterTest, NullValues) {
  Json rule = Json::object();
  rule.set("priority", 300);
  rule.set("src", "all");
  rule.set("iif", "v9");
  rule.set("iif_detached", Json::null());
  rule.set("table", "custom");
  EXPECT_EQ(Array({rule}).dump(false),
            R"([{"priority":300,"src":"all","iif":"v9","iif_detached":null,"table":"custom"}])");
  EXPECT_EQ(Array({rule}).dump(true),
            "[ {\n"
            "        \"priority\": 300,\n"
            "        \"src\": \"all\",\n"
            "        \"iif\": \"v9\",\n"
            "        \"iif_detached\": null,\n"
            "        \"table\": \"custom\"\n"
            "    } ]");
}

// `ip -j route show` / `ip -j -p route show` with nothing to show; and 32-bit values
// (ip -j addr show: "valid_life_time":4294967295).
TEST(JsonWriterTest, EmptyArraysAndLargeNumbers) {
  EXPECT_EQ(Json::array().dump(false), "[]");
  EXPECT_EQ(Json::array().dump(true), "[ ]");
  Json addr = Json::object();
  addr.set("valid_life_time", uint32_t{4294967295u});
  EXPECT_EQ(addr.dump(false), R"({"valid_life_time":4294967295})");
}

// ip link set dev v0 alias "$(printf 'q"s\\t\tn')"; ip -j link show v0
//   -> "ifalias":"q\"s\\t\tn"
TEST(JsonWriterTest, StringEscapes) {
  Json link = Json::object();
  link.set("ifalias", "q\"s\\t\tn");
  EXPECT_EQ(link.dump(false), R"({"ifalias":"q\"s\\t\tn"})");
}

// iproute2's jsonw_puts() escapes \b and \f by name and copies other control characters raw:
//   ip link set dev v0 alias "$(printf 'b\bf\fc\001x')"; ip -j link show v0
//   -> "ifalias":"b\bf\fc<0x01>x"
// vnet writes \u0008, \u000c and \u0001.
TEST(JsonWriterTest, ControlCharactersAsIproute2EscapesThem) {
  Json link = Json::object();
  link.set("ifalias", "b\bf\fc\001x");
  EXPECT_EQ(link.dump(false), "{\"ifalias\":\"b\\bf\\fc\001x\"}");
}

}  // namespace
}  // namespace vnet::cmd
