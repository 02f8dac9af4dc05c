#include "cmd/names.h"

#include <fmt/format.h>

#include <map>
#include <sstream>

#include "net/ipv4_addr.h"

namespace vnet::cmd {

namespace {

const std::map<int, std::string>& route_types() {
  static const std::map<int, std::string> m = {
      {0, "none"},     {1, "unicast"},   {2, "local"},     {3, "broadcast"},
      {4, "anycast"},  {5, "multicast"}, {6, "blackhole"}, {7, "unreachable"},
      {8, "prohibit"}, {9, "throw"},     {10, "nat"},      {11, "xresolve"}};
  return m;
}

std::optional<uint32_t> parse_u32(const std::string& s) {
  auto v = net::parse_c_number(s);
  if (!v || *v > 0xffffffffu) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

// rtnl_tab_initialize(): "ID NAME" lines, ID in hex with 0x or in decimal (a signed int, so ids of
// 2^31 and up are ignored), '#' comments.  Later lines win.
std::map<uint32_t, std::string> read_name_file(const stack::Node& node, const std::string& path,
                                               std::map<uint32_t, std::string> names) {
  auto it = node.files().find(path);
  if (it == node.files().end()) return names;
  std::istringstream in(it->second);
  std::string line;
  while (std::getline(in, line)) {
    size_t p = line.find_first_not_of(" \t");
    if (p == std::string::npos || line[p] == '#') continue;
    std::istringstream ls(line.substr(p));
    std::string id, name;
    if (!(ls >> id >> name)) continue;
    uint64_t v = 0;
    if (id.size() > 2 && id[0] == '0' && (id[1] == 'x' || id[1] == 'X')) {
      auto n = net::parse_c_number(id);
      if (!n || *n > 0xffffffffu) continue;
      v = *n;
    } else {
      if (id.empty() || id.size() > 10 || id.find_first_not_of("0123456789") != std::string::npos)
        continue;
      v = std::stoull(id);
      if (v > 0x7fffffffu) continue;
    }
    names[static_cast<uint32_t>(v)] = name;
  }
  return names;
}

std::map<uint32_t, std::string> protocols(const stack::Node& node) {
  return read_name_file(
      node, "/etc/iproute2/rt_protos",
      {{0, "unspec"}, {1, "redirect"}, {2, "kernel"}, {3, "boot"}, {4, "static"}});
}

std::map<uint32_t, std::string> read_rt_tables(const stack::Node& node) {
  return read_name_file(node, "/etc/iproute2/rt_tables",
                        {{255, "local"}, {254, "main"}, {253, "default"}, {0, "unspec"}});
}

}  // namespace

std::string route_type_name(fib::RouteType type) {
  auto it = route_types().find(static_cast<int>(type));
  return it == route_types().end() ? std::to_string(static_cast<int>(type)) : it->second;
}

std::optional<fib::RouteType> route_type_from_name(const std::string& name) {
  for (const auto& [v, n] : route_types()) {
    if (n == name && v != 0) return static_cast<fib::RouteType>(v);
  }
  return std::nullopt;
}

std::string scope_name(uint8_t scope) {
  switch (scope) {
    case 0:
      return "global";
    case 200:
      return "site";
    case 253:
      return "link";
    case 254:
      return "host";
    case 255:
      return "nowhere";
    default:
      return std::to_string(scope);
  }
}

std::optional<uint8_t> scope_from_name(const std::string& name) {
  if (name == "global" || name == "universe") return 0;
  if (name == "site") return 200;
  if (name == "link") return 253;
  if (name == "host") return 254;
  if (name == "nowhere") return 255;
  auto v = parse_u32(name);
  if (!v || *v > 255) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

std::string protocol_name(const stack::Node& node, uint8_t protocol) {
  auto m = protocols(node);
  auto it = m.find(protocol);
  return it == m.end() ? std::to_string(protocol) : it->second;
}

std::optional<uint8_t> protocol_from_name(const stack::Node& node, const std::string& name) {
  for (const auto& [v, n] : protocols(node)) {
    if (n == name && v <= 255) return static_cast<uint8_t>(v);
  }
  auto v = parse_u32(name);
  if (!v || *v > 255) return std::nullopt;
  return static_cast<uint8_t>(*v);
}

std::string table_name(const stack::Node& node, uint32_t id) {
  auto m = read_rt_tables(node);
  auto it = m.find(id);
  return it == m.end() ? std::to_string(id) : it->second;
}

std::optional<uint32_t> table_from_name(const stack::Node& node, const std::string& name) {
  auto m = read_rt_tables(node);
  for (const auto& [id, n] : m) {
    if (n == name) return id;
  }
  return parse_u32(name);
}

std::string dsfield_name(const stack::Node& node, uint8_t tos) {
  auto m = read_name_file(node, "/etc/iproute2/rt_dsfield", {});
  auto it = m.find(tos);
  return it == m.end() ? fmt::format("0x{:02x}", tos) : it->second;
}

std::optional<uint8_t> dsfield_from_name(const stack::Node& node, const std::string& name) {
  // rtnl_dsfield_a2n(): a name from rt_dsfield, else a hex number (strtoul base 16) below 256.
  for (const auto& [v, n] : read_name_file(node, "/etc/iproute2/rt_dsfield", {})) {
    if (n == name && v <= 255) return static_cast<uint8_t>(v);
  }
  if (name.empty()) return std::nullopt;
  size_t i = 0;
  if (name.size() > 2 && name[0] == '0' && (name[1] == 'x' || name[1] == 'X')) i = 2;
  uint32_t v = 0;
  if (i == name.size()) return std::nullopt;
  for (; i < name.size(); ++i) {
    char c = name[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
    if (v > 255) return std::nullopt;
  }
  return static_cast<uint8_t>(v);
}

}  // namespace vnet::cmd
