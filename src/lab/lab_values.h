// Parsers and validators for the scalar values of a lab file: durations, loss, MTU, integers,
// node and interface names, IPv4 addresses and prefixes and MAC addresses (for `vpcs:`), plus the
// "did you mean" suggestion for misspelt keys and names.
// Input is the scalar's text as written; output is the value or an error message (without a
// location: the caller adds it).  Nothing here knows about YAML.
//
// Example: parse_duration_ns("1.5ms", "delay") -> 1500000;
//          parse_loss("5%") -> 0.05; parse_loss("5") -> "loss '5' is out of range: …";
//          parse_ipv4_prefix("10.0.1.1/24", "subnet") -> "subnet 10.0.1.1/24 has host bits set …".
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "lab/lab_spec.h"

namespace vnet::lab {

// Longest accepted link delay or check timeout.  Anything longer is almost certainly a typo, and
// the bound keeps every sum of a few durations far from uint64_t overflow.
inline constexpr uint64_t kMaxDurationNs = 3600ULL * 1000 * 1000 * 1000;
inline constexpr int kMinMtu = 68;  // IPv4's minimum (RFC 791), also the kernel's ETH_MIN_MTU
inline constexpr int kMaxMtu = 65535;
inline constexpr size_t kMaxNodeNameLen = 64;
inline constexpr size_t kMaxIfnameLen = 15;  // IFNAMSIZ - 1

// A value, or why the text is not one.
template <typename T>
using Parsed = std::variant<T, std::string>;

// What each field must look like, as the start of an error message ("mtu must be …"); the parsers
// below append ", found '…'" to it, and so does the YAML layer when the value is not a scalar.
std::string duration_expectation(std::string_view what);  // what: "delay", "timeout"
std::string loss_expectation();
std::string mtu_expectation();
std::string u64_expectation(std::string_view what);

// "<decimal><unit>" with unit ns, us, ms or s, e.g. "10ms", "1.5s", "250us"; 0..kMaxDurationNs and
// a whole number of nanoseconds.  `what` names the field in messages ("delay", "timeout").
Parsed<uint64_t> parse_duration_ns(std::string_view text, std::string_view what);

// A fraction "0.05" (0..1) or a percentage "5%" (0..100%).
Parsed<double> parse_loss(std::string_view text);

// A bandwidth as tc writes it: "<decimal><unit>" with unit bit, kbit, mbit, gbit, tbit (bits
// per second, SI prefixes, any case) or bps, kbps, mbps, gbps (bytes per second); e.g.
// "100Mbit" -> 100000000.  At least 1 kbit, at most 1 Tbit.
std::string rate_expectation();
Parsed<uint64_t> parse_rate_bps(std::string_view text);

// A decimal integer from kMinMtu to kMaxMtu.
Parsed<int> parse_mtu(std::string_view text);

// A decimal integer from 0 to 2^64-1.  `what` names the field in messages.
Parsed<uint64_t> parse_u64(std::string_view text, std::string_view what);

// A decimal integer from 0 to 2^32-1 (a VPC id).  `what` names the field in messages.
std::string u32_expectation(std::string_view what);
Parsed<uint32_t> parse_u32(std::string_view text, std::string_view what);

// A strict dotted quad: four decimal numbers 0..255 without leading zeros ("010" is octal to
// inet_aton and decimal to others, so it is refused), nothing else.  Host order:
// parse_ipv4("10.0.1.141", "ip") -> 0x0a00018d.
std::string ipv4_expectation(std::string_view what);
Parsed<uint32_t> parse_ipv4(std::string_view text, std::string_view what);

// Why `addr` cannot be a host's address, or nullopt: 0.0.0.0/8 ("this network", RFC 1122
// 3.2.1.3), 127.0.0.0/8 (loopback), 224.0.0.0/4 (multicast) and 240.0.0.0/4 (reserved, with the
// broadcast address) are refused.  The message starts with the address; the caller names the
// field before it.
std::optional<std::string> unicast_ipv4_error(uint32_t addr);

// "A.B.C.D/N" with a dotted quad as above and N in 0..32 (no leading zeros); the host bits must
// be zero, as the kernel requires of a route's destination.
std::string prefix_expectation(std::string_view what);
Parsed<VpcPrefix> parse_ipv4_prefix(std::string_view text, std::string_view what);

// The prefix's netmask, host order (0 for /0).
uint32_t prefix_mask(int len);
bool prefix_contains(const VpcPrefix& prefix, uint32_t addr);
// Two prefixes overlap exactly when one contains the other.
bool prefixes_overlap(const VpcPrefix& a, const VpcPrefix& b);

// Six pairs of hex digits separated by ':' ("52:54:00:12:34:56"; either case).
std::string mac_expectation(std::string_view what);
Parsed<std::array<uint8_t, 6>> parse_mac(std::string_view text, std::string_view what);

// Why `mac` cannot be an interface's own address, or nullopt: all zeros, the broadcast address,
// or a multicast address (the I/G bit, bit 0 of the first byte; IEEE 802-2014 8.2).  The message
// starts with the address, as above.
std::optional<std::string> unicast_mac_error(const std::array<uint8_t, 6>& mac);

// The forms the `vpc` and `ip` commands read: "10.0.1.141", "10.0.1.0/24", "52:54:00:12:34:56"
// (lowercase).  Also exported by vpc_expand.h.
std::string format_ipv4(uint32_t addr);
std::string format_prefix(const VpcPrefix& prefix);
std::string format_mac(const std::array<uint8_t, 6>& mac);

// Why `name` is not a valid node name ([A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters), or
// nullopt.  The rule is Docker's container-name rule, which containerlab inherits.
// Also the rule for the lab's name (what = "lab name"), which names namespaces and files with
// --real, so it must not be able to name a path.
std::optional<std::string> node_name_error(std::string_view name,
                                           std::string_view what = "node name");

// Why `ifname` is not a valid Linux interface name, or nullopt: the kernel's dev_valid_name()
// (1..15 bytes, not "." or "..", no '/', ':' or whitespace), and no NUL byte.
std::optional<std::string> ifname_error(std::string_view ifname);

// The candidate closest to `word` by optimal string alignment distance (Levenshtein plus
// transposition of neighbours), if that distance is at most 2; the first such in `candidates` on
// a tie.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

// `text` in single quotes for messages, with control bytes escaped (\n, \t, \xNN) and anything
// past 80 bytes cut to "...", so that a message stays one readable line.
std::string quote(std::string_view text);

}  // namespace vnet::lab
