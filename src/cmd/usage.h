// The usage texts `ip OBJECT help` prints (and iproute2 prints on some argument errors).
#pragma once

#include <string_view>

namespace vnet::cmd {

// object: "route", "rule", "address", "neigh", "link", "tunnel"; empty for others.
std::string_view ip_usage(std::string_view object);

}  // namespace vnet::cmd
