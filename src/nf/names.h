// Service and protocol names from the netbase files iptables consults (/etc/services,
// /etc/protocols), so that `iptables -L` without -n prints `dpt:http-alt` and `gre`, and -p/--dport
// accept names.  Example: service_name(53, false) == "domain"; protocol_file_number("gre") == 47.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vnet::nf {

std::optional<std::string_view> service_name(uint16_t port, bool tcp);
std::optional<uint16_t> service_port(std::string_view name, bool tcp);
std::optional<std::string_view> protocol_file_name(uint8_t number);
std::optional<uint8_t> protocol_file_number(std::string_view name);

}  // namespace vnet::nf
