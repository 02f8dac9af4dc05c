// The control plane's key schema, version 1 (docs/CONTROL_PLANE.md): where the VPC tables of
// seed 004 live in the store, and what their values say.  Values are small JSON objects,
// parsed strictly: a missing or mistyped field, an unknown field, an address or MAC that does
// not parse, is an error naming the key and the field, and the entry is never applied.
//
//   /vnet/v1/vpc/<id>/config                {"subnets": ["172.16.0.0/16", ...]}
//   /vnet/v1/vpc/<id>/route/<vm ip>         {"host": "10.10.1.10"}           route_table
//   /vnet/v1/vpc/<id>/neigh/<vm ip>         {"mac": "52:54:00:12:34:56"}      neigh_table
//   /vnet/v1/vpc/<id>/subnet-route/<a/len>  {"peer": 7}                      subnet_route
//   /vnet/v1/host/<node>/config             {"local": "10.10.1.9", "grace_ms": 2000, "mac": ...}
//   /vnet/v1/host/<node>/port/<dev>         {"vpc": 6289, "ip": "172.16.0.47", "mac": ...}
//   /vnet/v1/lb/...                          reserved for the load balancer's services
//
// A host's agent watches /vnet/v1/host/<node>/ and /vnet/v1/vpc/<id>/ for every VPC its ports
// are in and every VPC those peer with; nothing else.
//
// Example:
//   parse("/vnet/v1/vpc/6289/route/172.16.0.47", R"({"host":"10.10.1.10"})")
//     -> Entry{kind Route, vpc 6289, ip 172.16.0.47, host 10.10.1.10}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::ctrl::schema {

inline constexpr const char* kRoot = "/vnet/v1/";

enum class Kind { VpcConfig, Route, Neigh, SubnetRoute, HostConfig, Port };
const char* kind_name(Kind k);

// What a key names (the value not yet read).
struct KeyRef {
  Kind kind = Kind::Route;
  uint32_t vpc = 0;    // VpcConfig, Route, Neigh, SubnetRoute
  net::Ipv4Addr ip;    // Route, Neigh
  net::Prefix prefix;  // SubnetRoute
  std::string node;    // HostConfig, Port
  std::string dev;     // Port
  bool operator==(const KeyRef&) const = default;
};

// A key with its parsed value.
struct Entry {
  KeyRef ref;
  std::vector<net::Prefix> subnets;  // VpcConfig
  net::Ipv4Addr host;                // Route
  std::optional<net::MacAddr> mac;   // Neigh (always), HostConfig and Port (optional)
  uint32_t peer = 0;                 // SubnetRoute
  net::Ipv4Addr local;               // HostConfig
  std::optional<uint64_t> grace_ms;  // HostConfig
  uint32_t port_vpc = 0;             // Port
  net::Ipv4Addr port_ip;             // Port
};

// The key's meaning, or why it is not a v1 key.
std::variant<KeyRef, std::string> parse_key(const std::string& key);
// The key and value together, or why not ("<key>: <field>: <problem>").
std::variant<Entry, std::string> parse(const std::string& key, const std::string& value);

// Keys and values as the writers store them (compact JSON, fields in a fixed order).
std::string key(const KeyRef& ref);
std::string value(const Entry& e);
std::string vpc_prefix(uint32_t vpc);              // "/vnet/v1/vpc/<id>/"
std::string host_prefix(const std::string& node);  // "/vnet/v1/host/<node>/"

// A node or device name usable in a key: 1-64 of [A-Za-z0-9_.-@~], not "." or "..".
bool valid_name(const std::string& name);

}  // namespace vnet::ctrl::schema
