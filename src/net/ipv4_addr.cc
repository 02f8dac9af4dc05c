#include "net/ipv4_addr.h"

#include <fmt/format.h>

namespace vnet::net {

namespace {

// strtoul(…, 0) on a prefix of `text`: returns the value and how many characters were used.
// Zero characters used means "no digits".  Values saturate above 2^64 like strtoul's ULONG_MAX.
struct NumberPrefix {
  uint64_t value = 0;
  size_t used = 0;
};

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 99;
}

NumberPrefix c_number_prefix(std::string_view text) {
  NumberPrefix out;
  size_t i = 0;
  int base = 10;
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') && text.size() > 2 &&
      digit_value(text[2]) < 16) {
    base = 16;
    i = 2;
  } else if (!text.empty() && text[0] == '0') {
    base = 8;
  }
  size_t start = i;
  bool overflow = false;
  for (; i < text.size(); ++i) {
    int d = digit_value(text[i]);
    if (d >= base) break;
    if (out.value > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      overflow = true;
    }
    out.value = out.value * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (overflow) out.value = UINT64_MAX;
  out.used = (i == start && base != 8) ? 0 : i;
  return out;
}

}  // namespace

std::optional<uint64_t> parse_c_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  NumberPrefix n = c_number_prefix(text);
  if (n.used == 0 || n.used != text.size()) return std::nullopt;
  return n.value;
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view text) {
  uint32_t value = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t start = i;
    uint32_t part = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 4) {
      part = part * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    if (i == start || part > 255 || i - start > 3) return std::nullopt;
    value = (value << 8) | part;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return Ipv4Addr(value);
}

std::optional<Ipv4Addr> Ipv4Addr::parse_iproute2(std::string_view text) {
  uint8_t octets[4] = {0, 0, 0, 0};
  std::string_view rest = text;
  for (int i = 0; i < 4; ++i) {
    NumberPrefix n = c_number_prefix(rest);
    if (n.used == 0 || n.value > 255) return std::nullopt;
    octets[i] = static_cast<uint8_t>(n.value);
    rest.remove_prefix(n.used);
    if (rest.empty()) break;
    if (i == 3 || rest[0] != '.') return std::nullopt;
    rest.remove_prefix(1);
  }
  return from_octets(octets[0], octets[1], octets[2], octets[3]);
}

std::string Ipv4Addr::to_string() const {
  return fmt::format("{}.{}.{}.{}", octet(0), octet(1), octet(2), octet(3));
}

std::optional<Prefix> Prefix::parse_iproute2(std::string_view text) {
  if (text == "default" || text == "all" || text == "any") return Prefix(Ipv4Addr(), 0);
  size_t slash = text.find('/');
  auto addr = Ipv4Addr::parse_iproute2(text.substr(0, slash));
  if (!addr) return std::nullopt;
  if (slash == std::string_view::npos) return Prefix(*addr, 32);
  std::string_view len_text = text.substr(slash + 1);
  // iproute2's get_netmask(): a plain number, or a dotted mask that must be contiguous.
  if (auto n = parse_c_number(len_text)) {
    if (*n > 32) return std::nullopt;
    return Prefix(*addr, static_cast<int>(*n));
  }
  auto mask = Ipv4Addr::parse_iproute2(len_text);
  if (!mask) return std::nullopt;
  uint32_t m = mask->value();
  int len = 0;
  while (len < 32 && (m & (0x80000000u >> len)) != 0) ++len;
  if (m != prefix_mask(len)) return std::nullopt;
  return Prefix(*addr, len);
}

std::string Prefix::to_string() const {
  if (len_ == 0 && addr_.is_unspecified()) return "default";
  if (len_ == 32) return addr_.to_string();
  return fmt::format("{}/{}", addr_.to_string(), len_);
}

std::optional<MacAddr> MacAddr::parse(std::string_view text) {
  uint8_t b[6];
  size_t i = 0;
  for (int part = 0; part < 6; ++part) {
    size_t start = i;
    unsigned v = 0;
    while (i < text.size() && i - start < 2 && digit_value(text[i]) < 16) {
      v = v * 16 + static_cast<unsigned>(digit_value(text[i]));
      ++i;
    }
    if (i == start) return std::nullopt;
    b[part] = static_cast<uint8_t>(v);
    if (part < 5) {
      if (i >= text.size() || (text[i] != ':' && text[i] != '-')) return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return MacAddr(b[0], b[1], b[2], b[3], b[4], b[5]);
}

std::string MacAddr::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes_[0], bytes_[1], bytes_[2],
                     bytes_[3], bytes_[4], bytes_[5]);
}

}  // namespace vnet::net
