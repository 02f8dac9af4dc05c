// Helpers shared by the wire tests: hex literals, 0xa5-filled buffers, readable WireError output,
// and the golden frames.
//
// Every golden frame below was built byte by byte and then dissected by tshark 4.0 with checksum
// validation on: each IPv4, ICMP, UDP and TCP checksum in them is "[correct]".  Addresses are from
// the RFC 5737 documentation ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>
#include <vector>

#include "wire/error.h"

namespace vnet::wire {

inline void PrintTo(WireError error, std::ostream* out) {
  *out << to_string(error);
}

namespace test {

// "45 00 00 24 ..." -> bytes; whitespace is ignored.
inline std::vector<std::byte> hex(std::string_view text) {
  std::vector<std::byte> out;
  int high = -1;
  for (char c : text) {
    int nibble;
    if (c >= '0' && c <= '9') {
      nibble = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      nibble = c - 'a' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(std::byte(high << 4 | nibble));
      high = -1;
    }
  }
  return out;
}

inline std::vector<std::byte> bytes(std::string_view text) {
  std::vector<std::byte> out;
  for (char c : text) out.push_back(std::byte(c));
  return out;
}

inline std::vector<std::byte> concat(std::initializer_list<std::span<const std::byte>> parts) {
  std::vector<std::byte> out;
  for (auto part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// The emit tests write into buffers pre-filled with 0xa5, so a byte the emitter forgot to write
// shows up as a5 instead of a lucky zero.
inline constexpr std::byte kFill{0xa5};
inline std::vector<std::byte> filled(size_t size) {
  return std::vector<std::byte>(size, kFill);
}

inline std::vector<std::byte> to_vector(std::span<const std::byte> span) {
  return std::vector<std::byte>(span.begin(), span.end());
}

// ping -s 8 from 192.0.2.1 (02:00:00:00:00:01) to 198.51.100.2 (02:00:00:00:00:02): an echo
// request, id 0x1234, seq 1, data "abcdefgh", DF, TTL 64, ident 0xabcd, padded to 60 bytes.
inline constexpr std::string_view kPingFrame =
    "02 00 00 00 00 02  02 00 00 00 00 01  08 00"
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02"
    "08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68"
    "00 00 00 00 00 00 00 00 00 00";

// The same IPv4 packet behind an 802.1ad service tag: PCP 5, DEI 1, VLAN 4094; not padded.
inline constexpr std::string_view kPingServiceVlanFrame =
    "02 00 00 00 00 02  02 00 00 00 00 01  88 a8 bf fe  08 00"
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02"
    "08 00 54 35 12 34 00 01 61 62 63 64 65 66 67 68";

// Broadcast "who-has 192.0.2.2 tell 192.0.2.1" on 802.1Q VLAN 100, PCP 1, padded to 60 bytes.
inline constexpr std::string_view kArpRequestVlanFrame =
    "ff ff ff ff ff ff  02 00 00 00 00 01  81 00 20 64  08 06"
    "00 01 08 00 06 04 00 01  02 00 00 00 00 01 c0 00 02 01  00 00 00 00 00 00 c0 00 02 02"
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00";

// "192.0.2.2 is-at 02:00:00:00:00:02", untagged, padded to 60 bytes.
inline constexpr std::string_view kArpReplyFrame =
    "02 00 00 00 00 01  02 00 00 00 00 02  08 06"
    "00 01 08 00 06 04 00 02  02 00 00 00 00 02 c0 00 02 02  02 00 00 00 00 01 c0 00 02 01"
    "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00";

// UDP 192.0.2.1:49153 -> 198.51.100.53:33434, payload "vnet wire test", in an IPv4 header with
// IHL 6 (Router Alert option, RFC 2113), TOS 0xb8 (DSCP EF), TTL 1, no DF, ident 7.
inline constexpr std::string_view kUdpWithIpOptionsFrame =
    "02 00 00 00 00 02  02 00 00 00 00 01  08 00"
    "46 b8 00 2e 00 07 00 00 01 11 37 92 c0 00 02 01 c6 33 64 35  94 04 00 00"
    "c0 01 82 9a 00 16 1d f5"
    "76 6e 65 74 20 77 69 72 65 20 74 65 73 74";

// SYN 192.0.2.1:49153 -> 198.51.100.2:80, seq 1000, window 64240, MSS 1460 (data offset 6).
inline constexpr std::string_view kTcpSynFrame =
    "02 00 00 00 00 02  02 00 00 00 00 01  08 00"
    "45 00 00 2c 00 01 40 00 40 06 4e 94 c0 00 02 01 c6 33 64 02"
    "c0 01 00 50 00 00 03 e8 00 00 00 00 60 02 fa f0 ec c4 00 00  02 04 05 b4";

// A Linux-style SYN with 20 option bytes (MSS, SACK permitted, timestamps, NOP, window scale):
// data offset 10.  Port 49154 -> 443, seq 0x01020304.
inline constexpr std::string_view kTcpLinuxSynFrame =
    "02 00 00 00 00 02  02 00 00 00 00 01  08 00"
    "45 00 00 3c 00 02 40 00 40 06 4e 83 c0 00 02 01 c6 33 64 02"
    "c0 02 01 bb 01 02 03 04 00 00 00 00 a0 02 fa f0 9b 13 00 00"
    "02 04 05 b4  04 02  08 0a 00 00 00 01 00 00 00 00  01  03 03 07";

// PSH|ACK 198.51.100.2:80 -> 192.0.2.1:49153, seq 5000, ack 1001, window 502, 17 payload bytes.
inline constexpr std::string_view kTcpPshAckFrame =
    "02 00 00 00 00 01  02 00 00 00 00 02  08 00"
    "45 00 00 39 00 03 40 00 40 06 4e 85 c6 33 64 02 c0 00 02 01"
    "00 50 c0 01 00 00 13 88 00 00 03 e9 50 18 01 f6 2a 06 00 00"
    "48 54 54 50 2f 31 2e 31 20 32 30 30 20 4f 4b 0d 0a";

// From router 203.0.113.1 to 192.0.2.1: fragmentation needed, next-hop MTU 1400, quoting the
// ping's IPv4 header and first 8 ICMP bytes.  TOS 0xc0, TTL 255, ident 9.
inline constexpr std::string_view kIcmpFragmentationNeededFrame =
    "02 00 00 00 00 01  02 00 00 00 00 02  08 00"
    "45 c0 00 38 00 09 00 00 ff 01 bc f8 cb 00 71 01 c0 00 02 01"
    "03 04 89 19 00 00 05 78"
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02  08 00 54 35 12 34 00 01";

// The same quote in a time exceeded (TTL exceeded in transit), ident 10.
inline constexpr std::string_view kIcmpTimeExceededFrame =
    "02 00 00 00 00 01  02 00 00 00 00 02  08 00"
    "45 c0 00 38 00 0a 00 00 ff 01 bc f7 cb 00 71 01 c0 00 02 01"
    "0b 00 86 95 00 00 00 00"
    "45 00 00 24 ab cd 40 00 40 01 a2 d4 c0 00 02 01 c6 33 64 02  08 00 54 35 12 34 00 01";

}  // namespace test
}  // namespace vnet::wire
