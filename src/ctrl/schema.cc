#include "ctrl/schema.h"

#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

namespace vnet::ctrl::schema {

namespace {

using json = nlohmann::json;
using net::Ipv4Addr;
using net::MacAddr;
using net::Prefix;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

std::optional<uint32_t> parse_vpc_id(const std::string& s) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// Dotted quad, exactly as Ipv4Addr::to_string prints it (one key per address).
std::optional<Ipv4Addr> parse_canonical_ip(const std::string& s) {
  auto a = Ipv4Addr::parse(s);
  if (!a || a->to_string() != s) return std::nullopt;
  return a;
}

std::string prefix_text(const Prefix& p) {
  return fmt::format("{}/{}", p.addr().to_string(), p.len());
}

std::optional<Prefix> parse_canonical_prefix(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto a = parse_canonical_ip(s.substr(0, slash));
  std::string len = s.substr(slash + 1);
  if (!a || len.empty() || len.size() > 2 || (len.size() > 1 && len[0] == '0')) return std::nullopt;
  if (len.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  int n = std::stoi(len);
  if (n > 32) return std::nullopt;
  Prefix p(*a, n);
  if (p.has_host_bits()) return std::nullopt;
  return p;
}

struct Bad {
  std::string message;
};

// The value's JSON object, with only the allowed fields.
json object(const std::string& value, std::initializer_list<const char*> allowed) {
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded()) throw Bad{"not JSON"};
  if (!j.is_object()) throw Bad{"not a JSON object"};
  std::set<std::string> ok(allowed.begin(), allowed.end());
  for (const auto& [k, v] : j.items()) {
    if (ok.count(k) == 0) throw Bad{fmt::format("unknown field \"{}\"", k)};
  }
  return j;
}

Ipv4Addr ip_field(const json& j, const char* name, bool required = true) {
  if (!j.contains(name)) {
    if (required) throw Bad{fmt::format("{}: missing", name)};
    return Ipv4Addr();
  }
  if (!j[name].is_string()) throw Bad{fmt::format("{}: not a string", name)};
  auto a = Ipv4Addr::parse(j[name].get<std::string>());
  if (!a)
    throw Bad{fmt::format("{}: \"{}\" is not an IPv4 address", name, j[name].get<std::string>())};
  return *a;
}

std::optional<MacAddr> mac_field(const json& j, const char* name, bool required) {
  if (!j.contains(name)) {
    if (required) throw Bad{fmt::format("{}: missing", name)};
    return std::nullopt;
  }
  if (!j[name].is_string()) throw Bad{fmt::format("{}: not a string", name)};
  auto m = MacAddr::parse(j[name].get<std::string>());
  if (!m || m->is_zero() || m->is_multicast()) {
    throw Bad{fmt::format("{}: \"{}\" is not a unicast MAC", name, j[name].get<std::string>())};
  }
  return m;
}

uint64_t uint_field(const json& j, const char* name, uint64_t max) {
  if (!j.contains(name)) throw Bad{fmt::format("{}: missing", name)};
  if (!j[name].is_number_unsigned()) throw Bad{fmt::format("{}: not an unsigned integer", name)};
  auto v = j[name].get<uint64_t>();
  if (v > max) throw Bad{fmt::format("{}: {} is out of range", name, v)};
  return v;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::VpcConfig:
      return "vpc";
    case Kind::Route:
      return "route";
    case Kind::Neigh:
      return "neigh";
    case Kind::SubnetRoute:
      return "subnet-route";
    case Kind::HostConfig:
      return "host";
    case Kind::Port:
      return "port";
  }
  return "?";
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '@' || c == '~';
    if (!ok) return false;
  }
  return true;
}

std::variant<KeyRef, std::string> parse_key(const std::string& key) {
  const std::string root = kRoot;
  if (key.rfind(root, 0) != 0) return fmt::format("not under {}", root);
  std::vector<std::string> p = split(key.substr(root.size()));
  KeyRef r;
  if (p.size() >= 3 && p[0] == "vpc") {
    auto id = parse_vpc_id(p[1]);
    if (!id) return fmt::format("\"{}\" is not a VPC id", p[1]);
    r.vpc = *id;
    if (p.size() == 3 && p[2] == "config") {
      r.kind = Kind::VpcConfig;
      return r;
    }
    if (p.size() == 4 && (p[2] == "route" || p[2] == "neigh")) {
      auto ip = parse_canonical_ip(p[3]);
      if (!ip) return fmt::format("\"{}\" is not a VM address", p[3]);
      r.kind = p[2] == "route" ? Kind::Route : Kind::Neigh;
      r.ip = *ip;
      return r;
    }
    if (p.size() == 5 && p[2] == "subnet-route") {
      auto prefix = parse_canonical_prefix(p[3] + "/" + p[4]);
      if (!prefix) return fmt::format("\"{}/{}\" is not a prefix", p[3], p[4]);
      r.kind = Kind::SubnetRoute;
      r.prefix = *prefix;
      return r;
    }
    return std::string("not a VPC table key");
  }
  if (p.size() >= 3 && p[0] == "host") {
    if (!valid_name(p[1])) return fmt::format("\"{}\" is not a node name", p[1]);
    r.node = p[1];
    if (p.size() == 3 && p[2] == "config") {
      r.kind = Kind::HostConfig;
      return r;
    }
    if (p.size() == 4 && p[2] == "port") {
      if (!valid_name(p[3]) || p[3].size() > 15)
        return fmt::format("\"{}\" is not a device name", p[3]);
      r.kind = Kind::Port;
      r.dev = p[3];
      return r;
    }
    return std::string("not a host key");
  }
  return std::string("not a v1 key");
}

std::variant<Entry, std::string> parse(const std::string& key, const std::string& value) {
  auto ref = parse_key(key);
  if (auto* why = std::get_if<std::string>(&ref)) return key + ": " + *why;
  Entry e;
  e.ref = std::get<KeyRef>(ref);
  try {
    switch (e.ref.kind) {
      case Kind::VpcConfig: {
        json j = object(value, {"subnets"});
        if (j.contains("subnets")) {
          if (!j["subnets"].is_array()) throw Bad{"subnets: not an array"};
          for (const json& s : j["subnets"]) {
            if (!s.is_string()) throw Bad{"subnets: not a list of strings"};
            auto p = parse_canonical_prefix(s.get<std::string>());
            if (!p)
              throw Bad{fmt::format("subnets: \"{}\" is not a prefix A.B.C.D/LEN without host bits",
                                    s.get<std::string>())};
            e.subnets.push_back(*p);
          }
        }
        break;
      }
      case Kind::Route: {
        json j = object(value, {"host"});
        e.host = ip_field(j, "host");
        break;
      }
      case Kind::Neigh: {
        json j = object(value, {"mac"});
        e.mac = mac_field(j, "mac", true);
        break;
      }
      case Kind::SubnetRoute: {
        json j = object(value, {"peer"});
        e.peer = static_cast<uint32_t>(uint_field(j, "peer", UINT32_MAX));
        break;
      }
      case Kind::HostConfig: {
        json j = object(value, {"local", "grace_ms", "mac"});
        e.local = ip_field(j, "local");
        if (j.contains("grace_ms")) e.grace_ms = uint_field(j, "grace_ms", 3'600'000);
        e.mac = mac_field(j, "mac", false);
        break;
      }
      case Kind::Port: {
        json j = object(value, {"vpc", "ip", "mac"});
        e.port_vpc = static_cast<uint32_t>(uint_field(j, "vpc", UINT32_MAX));
        e.port_ip = ip_field(j, "ip");
        e.mac = mac_field(j, "mac", false);
        break;
      }
    }
  } catch (const Bad& b) {
    return fmt::format("{}: {}", key, b.message);
  }
  return e;
}

std::string vpc_prefix(uint32_t vpc) {
  return fmt::format("{}vpc/{}/", kRoot, vpc);
}
std::string host_prefix(const std::string& node) {
  return fmt::format("{}host/{}/", kRoot, node);
}

std::string key(const KeyRef& r) {
  switch (r.kind) {
    case Kind::VpcConfig:
      return vpc_prefix(r.vpc) + "config";
    case Kind::Route:
      return vpc_prefix(r.vpc) + "route/" + r.ip.to_string();
    case Kind::Neigh:
      return vpc_prefix(r.vpc) + "neigh/" + r.ip.to_string();
    case Kind::SubnetRoute:
      return vpc_prefix(r.vpc) + "subnet-route/" + prefix_text(r.prefix);
    case Kind::HostConfig:
      return host_prefix(r.node) + "config";
    case Kind::Port:
      return host_prefix(r.node) + "port/" + r.dev;
  }
  return {};
}

std::string value(const Entry& e) {
  json j = json::object();
  switch (e.ref.kind) {
    case Kind::VpcConfig: {
      j["subnets"] = json::array();
      for (const Prefix& p : e.subnets) j["subnets"].push_back(prefix_text(p));
      break;
    }
    case Kind::Route:
      j["host"] = e.host.to_string();
      break;
    case Kind::Neigh:
      j["mac"] = e.mac ? e.mac->to_string() : "";
      break;
    case Kind::SubnetRoute:
      j["peer"] = e.peer;
      break;
    case Kind::HostConfig:
      j["local"] = e.local.to_string();
      if (e.grace_ms) j["grace_ms"] = *e.grace_ms;
      if (e.mac) j["mac"] = e.mac->to_string();
      break;
    case Kind::Port:
      j["vpc"] = e.port_vpc;
      j["ip"] = e.port_ip.to_string();
      if (e.mac) j["mac"] = e.mac->to_string();
      break;
  }
  return j.dump();
}

}  // namespace vnet::ctrl::schema
