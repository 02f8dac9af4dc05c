// Shared helpers for the fib tests: prefixes and addresses from text, failing the test on typos.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "net/ipv4_addr.h"

namespace vnet::fib::test {

inline net::Prefix P(std::string_view text) {
  auto p = net::Prefix::parse_iproute2(text);
  EXPECT_TRUE(p.has_value()) << text;
  return p.value_or(net::Prefix());
}

inline net::Ipv4Addr A(std::string_view text) {
  auto a = net::Ipv4Addr::parse(text);
  EXPECT_TRUE(a.has_value()) << text;
  return a.value_or(net::Ipv4Addr());
}

}  // namespace vnet::fib::test
