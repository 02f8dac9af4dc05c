// Ipv4Addr, Prefix and MacAddr: the value types every layer above wire uses.
//
// Ipv4Addr keeps the address in host byte order so comparisons and masks are plain integer
// arithmetic; conversion to network order happens only in the wire layer.  Parsing follows
// iproute2's get_addr_ipv4(): one to four parts, each parsed like strtoul(…, 0) (so "10" is
// 10.0.0.0 and "0x0a.1" is 10.1.0.0), each part at most 255.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vnet::net {

class Ipv4Addr {
 public:
  constexpr Ipv4Addr() = default;
  constexpr explicit Ipv4Addr(uint32_t host_order) : value_(host_order) {}
  static constexpr Ipv4Addr from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return Ipv4Addr((uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d);
  }

  // Strict dotted quad ("192.0.2.1"), as inet_pton accepts.
  static std::optional<Ipv4Addr> parse(std::string_view text);
  // iproute2's lenient form (see file comment).
  static std::optional<Ipv4Addr> parse_iproute2(std::string_view text);

  constexpr uint32_t value() const { return value_; }
  constexpr uint8_t octet(int i) const { return static_cast<uint8_t>(value_ >> (24 - 8 * i)); }
  constexpr bool is_unspecified() const { return value_ == 0; }
  constexpr bool is_loopback() const { return (value_ >> 24) == 127; }
  constexpr bool is_multicast() const { return (value_ >> 28) == 0xe; }
  constexpr bool is_limited_broadcast() const { return value_ == 0xffffffffu; }
  // ipv4_is_lbcast/zeronet/multicast/badclass as net/ipv4 uses them to refuse sources.
  // ipv4_is_zeronet(): only 0.0.0.0 since Linux 5.3 made the rest of 0.0.0.0/8 usable.
  constexpr bool is_zeronet() const { return value_ == 0; }
  constexpr bool is_badclass() const { return (value_ >> 28) == 0xf; }
  constexpr bool is_link_local() const { return (value_ >> 16) == 0xa9fe; }

  std::string to_string() const;

  friend constexpr auto operator<=>(Ipv4Addr, Ipv4Addr) = default;  // NOLINT

 private:
  uint32_t value_ = 0;
};

// Netmask for a prefix length 0..32, in host order.
constexpr uint32_t prefix_mask(int len) {
  return len <= 0 ? 0u : (len >= 32 ? 0xffffffffu : ~((1u << (32 - len)) - 1));
}

class Prefix {
 public:
  constexpr Prefix() = default;
  constexpr Prefix(Ipv4Addr addr, int len) : addr_(addr), len_(static_cast<uint8_t>(len)) {}

  // "A.B.C.D/len", "A.B.C.D" (a /32), "default", "all", "any"; len may also be a dotted mask.
  // Host bits are kept: callers decide, as the kernel does per object, whether they are an error.
  static std::optional<Prefix> parse_iproute2(std::string_view text);

  constexpr Ipv4Addr addr() const { return addr_; }
  constexpr int len() const { return len_; }
  constexpr uint32_t mask() const { return prefix_mask(len_); }
  constexpr bool has_host_bits() const { return (addr_.value() & ~mask()) != 0; }
  constexpr Prefix network() const { return Prefix(Ipv4Addr(addr_.value() & mask()), len_); }
  constexpr bool contains(Ipv4Addr a) const { return ((a.value() ^ addr_.value()) & mask()) == 0; }
  constexpr bool is_default() const { return len_ == 0; }

  // iproute2 prints a /32 route as its bare address and a /0 as "default".
  std::string to_string() const;

  friend constexpr auto operator<=>(const Prefix&, const Prefix&) = default;  // NOLINT

 private:
  Ipv4Addr addr_;
  uint8_t len_ = 0;
};

class MacAddr {
 public:
  constexpr MacAddr() = default;
  constexpr MacAddr(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint8_t f)
      : bytes_{a, b, c, d, e, f} {}
  static std::optional<MacAddr> parse(std::string_view text);
  static constexpr MacAddr broadcast() { return MacAddr(0xff, 0xff, 0xff, 0xff, 0xff, 0xff); }

  constexpr uint8_t operator[](int i) const { return bytes_[i]; }
  constexpr bool is_zero() const {
    return (bytes_[0] | bytes_[1] | bytes_[2] | bytes_[3] | bytes_[4] | bytes_[5]) == 0;
  }
  constexpr bool is_multicast() const { return (bytes_[0] & 1) != 0; }
  std::string to_string() const;

  // clang-tidy 14 misreads a defaulted <=> as a literal 0 comparison.
  friend constexpr auto operator<=>(const MacAddr&, const MacAddr&) = default;  // NOLINT

 private:
  uint8_t bytes_[6] = {0, 0, 0, 0, 0, 0};
};

// Parses an unsigned number the way strtoul(text, &end, 0) would, requiring the whole string.
std::optional<uint64_t> parse_c_number(std::string_view text);

}  // namespace vnet::net
