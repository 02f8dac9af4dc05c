// Packet side of conntrack and NAT: the tuple of an IPv4 datagram (nf_ct_get_tuple), the tuple a
// related ICMP error quotes, and the rewrite of addresses, ports and echo ids with every
// checksum that covers them (nf_nat_ipv4_manip_pkt, nf_nat_icmp_reply_translation).
//
// Input: the datagram, IPv4 header first (the node validated it with ip_rcv's checks; these
// functions check again and never read out of bounds).  Output: a ParsedPacket, or the bytes
// rewritten in place.  Example: manip(packet, {src 203.0.113.1 sport 40001 ...}, Manip::Src)
// rewrites the source address and UDP source port and adjusts the IPv4 and UDP checksums
// incrementally (RFC 1624), leaving a UDP checksum of 0 at 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "nf/conntrack.h"

namespace vnet::nf {

enum class ParseStatus : uint8_t {
  Ok,
  Fragment,  // MF set or offset != 0: not tracked in this version
  Invalid,   // not a valid IPv4 datagram, or a bad transport header/checksum
};

struct ParsedPacket {
  ParseStatus status = ParseStatus::Invalid;
  Tuple tuple;
  uint32_t length = 0;      // IPv4 total length
  uint8_t tcp_flags = 0;    // TCP only
  bool icmp_error = false;  // dest unreach, source quench, redirect, time exceeded, param problem
  uint8_t icmp_type = 0;
  std::optional<Tuple> inner;  // ICMP errors: the tuple of the quoted datagram
};

// Parses `packet`.  With `verify_checksums` (nf_conntrack_checksum at PREROUTING) a bad TCP, UDP
// or ICMP checksum makes the packet Invalid, as tcp_error()/udp_error()/icmp_error() do.
ParsedPacket parse_packet(std::span<const std::byte> packet, bool verify_checksums);

// Rewrites the source (Src) or destination (Dst) address and transport key of the datagram to
// those of `target`; ICMP query messages get target.src_key as their identifier.  `inner` marks a
// datagram quoted inside an ICMP error, which may be cut short: fields beyond the bytes present
// are left alone, and TCP checksums are only adjusted when the whole TCP header is present.
void manip_packet(std::span<std::byte> packet, const Tuple& target, Manip manip, bool inner);

// For an ICMP error: rewrites the quoted datagram with `inner_target`/`inner_manip`, recomputes
// the ICMP checksum, then rewrites the outer header with `outer_target`/`outer_manip`.
void manip_icmp_error(std::span<std::byte> packet, const Tuple& inner_target, Manip inner_manip,
                      const Tuple& outer_target, Manip outer_manip);

}  // namespace vnet::nf
