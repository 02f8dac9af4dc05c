#include "lab/lab_values.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace vnet::lab {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

// "123", "1.5", "0.25": digits, optionally a point and more digits.  No sign, no exponent: lab
// values are written by people, and "1e3ms" is more likely a typo than a wish.
bool is_plain_decimal(std::string_view text) {
  size_t point = text.find('.');
  if (point == std::string_view::npos) return all_digits(text);
  return all_digits(text.substr(0, point)) && all_digits(text.substr(point + 1));
}

std::optional<uint64_t> to_u64(std::string_view digits) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string duration_expectation(std::string_view what) {
  return std::string(what) + " must be a duration such as \"" +
         (what == "timeout" ? "5s" : "10ms") + "\" (a number with unit ns, us, ms or s)";
}

std::string loss_expectation() {
  return "loss must be a fraction from 0.0 to 1.0 or a percentage such as \"5%\"";
}

std::string mtu_expectation() {
  return "mtu must be an integer from " + std::to_string(kMinMtu) + " to " +
         std::to_string(kMaxMtu);
}

std::string u64_expectation(std::string_view what) {
  return std::string(what) + " must be an integer from 0 to 18446744073709551615";
}

Parsed<uint64_t> parse_duration_ns(std::string_view text, std::string_view what) {
  struct Unit {
    std::string_view suffix;
    uint64_t ns;
  };
  // "s" last: it is a suffix of the others.
  static constexpr Unit kUnits[] = {
      {"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
  const Unit* unit = nullptr;
  for (const Unit& candidate : kUnits) {
    if (text.ends_with(candidate.suffix)) {
      unit = &candidate;
      break;
    }
  }
  std::string_view number = unit ? text.substr(0, text.size() - unit->suffix.size()) : text;
  if (unit == nullptr || !is_plain_decimal(number)) {
    return duration_expectation(what) + ", found " + quote(text);
  }
  const std::string out_of_range =
      std::string(what) + " " + quote(text) + " is out of range (at most 3600s)";
  size_t point = number.find('.');
  std::optional<uint64_t> whole = to_u64(number.substr(0, point));
  if (!whole || *whole > kMaxDurationNs / unit->ns) return out_of_range;
  uint64_t total_ns = *whole * unit->ns;
  if (point != std::string_view::npos) {
    std::string_view fraction = number.substr(point + 1);
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
    // fraction/10^len of a unit is a whole number of ns only if 10^len divides fraction * unit;
    // with at most 9 digits, fraction * unit <= (10^9 - 1) * 10^9 fits in 64 bits.
    const std::string not_whole =
        std::string(what) + " " + quote(text) + " is not a whole number of nanoseconds";
    if (fraction.size() > 9) return not_whole;
    uint64_t scale = 1;
    for (size_t i = 0; i < fraction.size(); ++i) scale *= 10;
    const uint64_t fraction_value = fraction.empty() ? 0 : *to_u64(fraction);
    if ((fraction_value * unit->ns) % scale != 0) return not_whole;
    total_ns += fraction_value * unit->ns / scale;
  }
  if (total_ns > kMaxDurationNs) return out_of_range;
  return total_ns;
}

Parsed<double> parse_loss(std::string_view text) {
  const bool percent = text.ends_with('%');
  std::string_view number = percent ? text.substr(0, text.size() - 1) : text;
  double value = 0;
  if (is_plain_decimal(number)) {
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size()) value = -1;
  } else {
    value = -1;
  }
  if (value < 0) {
    return loss_expectation() + ", found " + quote(text);
  }
  if (percent) {
    if (value > 100) return "loss " + quote(text) + " is out of range (0%..100%)";
    return value / 100;
  }
  if (value > 1) {
    return "loss " + quote(text) +
           " is out of range: use a fraction from 0.0 to 1.0 or a percentage such as \"5%\"";
  }
  return value;
}

std::string rate_expectation() {
  return "rate must be a bandwidth such as \"100Mbit\" (bit, kbit, mbit, gbit, or bps, kbps, "
         "mbps, gbps for bytes per second)";
}

Parsed<uint64_t> parse_rate_bps(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  std::string_view number = text.substr(0, i);
  std::string unit(text.substr(i));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double value = -1;
  if (!number.empty() && is_plain_decimal(number)) {
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc() || end != number.data() + number.size()) value = -1;
  }
  static const std::pair<const char*, double> kUnits[] = {
      {"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
      {"bps", 8}, {"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}};
  double mult = 0;
  for (const auto& [name, m] : kUnits) {
    if (unit == name) mult = m;
  }
  if (value < 0 || mult == 0) return rate_expectation() + ", found " + quote(text);
  double bps = value * mult;
  if (bps < 1e3 || bps > 1e12) {
    return "rate " + quote(text) + " is out of range (1kbit..1tbit)";
  }
  return static_cast<uint64_t>(bps);
}

Parsed<int> parse_mtu(std::string_view text) {
  const std::string range = std::to_string(kMinMtu) + ".." + std::to_string(kMaxMtu);
  if (!all_digits(text)) {
    return mtu_expectation() + ", found " + quote(text);
  }
  std::optional<uint64_t> value = to_u64(text);
  if (!value || *value < static_cast<uint64_t>(kMinMtu) ||
      *value > static_cast<uint64_t>(kMaxMtu)) {
    return "mtu " + std::string(text) + " is out of range (" + range + ")";
  }
  return static_cast<int>(*value);
}

Parsed<uint64_t> parse_u64(std::string_view text, std::string_view what) {
  std::optional<uint64_t> value = all_digits(text) ? to_u64(text) : std::nullopt;
  if (!value) {
    return u64_expectation(what) + ", found " + quote(text);
  }
  return *value;
}

std::string u32_expectation(std::string_view what) {
  return std::string(what) + " must be an integer from 0 to 4294967295";
}

Parsed<uint32_t> parse_u32(std::string_view text, std::string_view what) {
  std::optional<uint64_t> value = all_digits(text) ? to_u64(text) : std::nullopt;
  if (!value || *value > UINT32_MAX) return u32_expectation(what) + ", found " + quote(text);
  return static_cast<uint32_t>(*value);
}

std::string ipv4_expectation(std::string_view what) {
  return std::string(what) + " must be an IPv4 address such as 192.0.2.10";
}

namespace {

// A dotted quad as parse_ipv4 describes it, or nullopt.
std::optional<uint32_t> dotted_quad(std::string_view text) {
  uint32_t addr = 0;
  for (int part = 0; part < 4; ++part) {
    const size_t dot = part < 3 ? text.find('.') : text.size();
    if (dot == std::string_view::npos) return std::nullopt;
    const std::string_view number = text.substr(0, dot);
    if (!all_digits(number) || number.size() > 3 || (number.size() > 1 && number[0] == '0')) {
      return std::nullopt;
    }
    const uint64_t value = *to_u64(number);
    if (value > 255) return std::nullopt;
    addr = (addr << 8) | static_cast<uint32_t>(value);
    text.remove_prefix(part < 3 ? dot + 1 : dot);
  }
  return addr;
}

}  // namespace

Parsed<uint32_t> parse_ipv4(std::string_view text, std::string_view what) {
  std::optional<uint32_t> addr = dotted_quad(text);
  if (!addr) return ipv4_expectation(what) + ", found " + quote(text);
  return *addr;
}

std::optional<std::string> unicast_ipv4_error(uint32_t addr) {
  const uint32_t first = addr >> 24;
  if (first == 0 || first == 127 || first >= 224) {
    return format_ipv4(addr) +
           " is not a unicast address (0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4 are "
           "refused)";
  }
  return std::nullopt;
}

std::string prefix_expectation(std::string_view what) {
  return std::string(what) + " must be an IPv4 prefix such as 10.0.1.0/24";
}

Parsed<VpcPrefix> parse_ipv4_prefix(std::string_view text, std::string_view what) {
  const size_t slash = text.find('/');
  const std::string malformed = prefix_expectation(what) + ", found " + quote(text);
  if (slash == std::string_view::npos) return malformed;
  std::optional<uint32_t> addr = dotted_quad(text.substr(0, slash));
  const std::string_view len_text = text.substr(slash + 1);
  if (!addr || !all_digits(len_text) || len_text.size() > 2 ||
      (len_text.size() > 1 && len_text[0] == '0')) {
    return malformed;
  }
  const int len = static_cast<int>(*to_u64(len_text));
  if (len > 32) return malformed;
  const VpcPrefix prefix{*addr & prefix_mask(len), len};
  if (prefix.network != *addr) {
    return std::string(what) + " " + std::string(text) + " has host bits set (did you mean " +
           format_prefix(prefix) + "?)";
  }
  return prefix;
}

uint32_t prefix_mask(int len) {
  // A shift by 32 is undefined, hence /0 apart.
  return len <= 0 ? 0 : ~uint32_t{0} << (32 - len);
}

bool prefix_contains(const VpcPrefix& prefix, uint32_t addr) {
  return (addr & prefix_mask(prefix.len)) == prefix.network;
}

bool prefixes_overlap(const VpcPrefix& a, const VpcPrefix& b) {
  const uint32_t mask = prefix_mask(std::min(a.len, b.len));
  return (a.network & mask) == (b.network & mask);
}

std::string mac_expectation(std::string_view what) {
  return std::string(what) + " must be a MAC address such as 52:54:00:12:34:56";
}

Parsed<std::array<uint8_t, 6>> parse_mac(std::string_view text, std::string_view what) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::array<uint8_t, 6> mac{};
  // "xx:xx:xx:xx:xx:xx": 17 characters, a ':' after each pair but the last.
  bool valid = text.size() == 17;
  for (size_t i = 0; valid && i < mac.size(); ++i) {
    const int high = hex(text[3 * i]);
    const int low = hex(text[3 * i + 1]);
    valid = high >= 0 && low >= 0 && (i == 5 || text[3 * i + 2] == ':');
    mac[i] = static_cast<uint8_t>(high * 16 + low);
  }
  if (!valid) return mac_expectation(what) + ", found " + quote(text);
  return mac;
}

std::optional<std::string> unicast_mac_error(const std::array<uint8_t, 6>& mac) {
  auto all = [&](uint8_t byte) {
    return std::all_of(mac.begin(), mac.end(), [&](uint8_t b) { return b == byte; });
  };
  if (all(0x00)) return format_mac(mac) + " is all zeros, not an interface's address";
  if (all(0xff)) return format_mac(mac) + " is the broadcast address";
  if ((mac[0] & 1) != 0) {
    return format_mac(mac) + " is a multicast address (the low bit of its first byte is set)";
  }
  return std::nullopt;
}

std::string format_ipv4(uint32_t addr) {
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xff) + "." +
         std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff);
}

std::string format_prefix(const VpcPrefix& prefix) {
  return format_ipv4(prefix.network) + "/" + std::to_string(prefix.len);
}

std::string format_mac(const std::array<uint8_t, 6>& mac) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i > 0) out += ':';
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xf];
  }
  return out;
}

std::optional<std::string> node_name_error(std::string_view name, std::string_view what) {
  if (name.size() > kMaxNodeNameLen) {
    return std::string(what) + " " + quote(name) + " is too long (" + std::to_string(name.size()) +
           " characters; at most " + std::to_string(kMaxNodeNameLen) + ")";
  }
  auto alnum = [](char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  bool valid = !name.empty() && alnum(name[0]) &&
               std::all_of(name.begin(), name.end(),
                           [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
  if (valid) return std::nullopt;
  return "invalid " + std::string(what) + " " + quote(name) +
         ": use letters, digits, '_', '.' and '-', starting with a letter or digit";
}

std::optional<std::string> ifname_error(std::string_view ifname) {
  if (ifname.size() > kMaxIfnameLen) {
    return "interface name " + quote(ifname) + " is too long (" + std::to_string(ifname.size()) +
           " characters; Linux allows at most " + std::to_string(kMaxIfnameLen) + ")";
  }
  // dev_valid_name() in net/core/dev.c; its isspace() is the C locale's.
  auto forbidden = [](char c) {
    return c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
           c == '\r' || c == '\0';
  };
  if (ifname.empty() || ifname == "." || ifname == ".." ||
      std::any_of(ifname.begin(), ifname.end(), forbidden)) {
    return "invalid interface name " + quote(ifname) +
           " (Linux forbids '/', ':', whitespace, '.' and '..')";
  }
  return std::nullopt;
}

std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates) {
  constexpr size_t kMaxDistance = 2;
  // Beyond this length no candidate (all short keys and names) can be within kMaxDistance of
  // `word` unless it is itself long; the cut keeps the table small for hostile input.
  constexpr size_t kMaxCompared = 256;
  std::optional<std::string_view> best;
  size_t best_distance = kMaxDistance + 1;
  for (std::string_view candidate : candidates) {
    if (word.size() > kMaxCompared || candidate.size() > kMaxCompared) continue;
    const size_t diff = word.size() > candidate.size() ? word.size() - candidate.size()
                                                       : candidate.size() - word.size();
    if (diff > kMaxDistance) continue;
    // Optimal string alignment distance over a full (n+1) x (m+1) table.
    const size_t n = word.size();
    const size_t m = candidate.size();
    std::vector<size_t> d((n + 1) * (m + 1));
    auto at = [&](size_t i, size_t j) -> size_t& { return d[i * (m + 1) + j]; };
    for (size_t i = 0; i <= n; ++i) at(i, 0) = i;
    for (size_t j = 0; j <= m; ++j) at(0, j) = j;
    for (size_t i = 1; i <= n; ++i) {
      for (size_t j = 1; j <= m; ++j) {
        const size_t cost = word[i - 1] == candidate[j - 1] ? 0 : 1;
        at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
        if (i > 1 && j > 1 && word[i - 1] == candidate[j - 2] && word[i - 2] == candidate[j - 1]) {
          at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
        }
      }
    }
    if (at(n, m) < best_distance) {
      best_distance = at(n, m);
      best = candidate;
    }
  }
  return best;
}

std::string quote(std::string_view text) {
  constexpr size_t kMaxShown = 80;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

}  // namespace vnet::lab
