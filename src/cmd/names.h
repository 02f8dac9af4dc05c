// Names iproute2 uses for numbers: route types, scopes, protocols, and routing tables (from the
// node's own /etc/iproute2/rt_tables), in both directions (lib/rt_names.c).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "fib/route.h"
#include "stack/node.h"

namespace vnet::cmd {

std::string route_type_name(fib::RouteType type);
std::optional<fib::RouteType> route_type_from_name(const std::string& name);
std::string scope_name(uint8_t scope);
std::optional<uint8_t> scope_from_name(const std::string& name);
std::string protocol_name(const stack::Node& node, uint8_t protocol);
std::optional<uint8_t> protocol_from_name(const stack::Node& node, const std::string& name);

// Table names come from the node's rt_tables file, re-read on every use so `echo … >>` edits
// take effect at once, as they do for each new `ip` process.
std::string table_name(const stack::Node& node, uint32_t id);
std::optional<uint32_t> table_from_name(const stack::Node& node, const std::string& name);

// "0x10" style dsfield names (rtnl_dsfield_n2a / a2n).
std::string dsfield_name(const stack::Node& node, uint8_t tos);
std::optional<uint8_t> dsfield_from_name(const stack::Node& node, const std::string& name);

}  // namespace vnet::cmd
