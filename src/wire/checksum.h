// The Internet checksum (RFC 1071), the IPv4 pseudo-header sum (RFC 768, RFC 793 section 3.1) and
// incremental updates (RFC 1624), for the IPv4, ICMP, UDP and TCP views and for NAT and TTL
// rewrites that must not re-read the whole packet.
//
// Sums are 16-bit one's-complement sums, already folded (end-around carry) and not complemented;
// a checksum field holds the complement of the sum.  Example (the RFC 1071 section 3 data):
//   ones_complement_sum({0x00,0x01,0xf2,0x03,0xf4,0xf5,0xf6,0xf7}) == 0xddf2
//   internet_checksum(same bytes) == 0x220d
// A received header verifies when internet_checksum() over it, checksum field included, is 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "net/ipv4_addr.h"
#include "wire/ip_protocol.h"

namespace vnet::wire {

// One's-complement sum of `data` as big-endian 16-bit words, added to `initial_sum`.  An odd
// final byte is padded with a zero byte (RFC 1071 section 4.1), so chain calls only over
// even-length pieces, except for the last one.
uint16_t ones_complement_sum(std::span<const std::byte> data, uint16_t initial_sum = 0);

// a +' b with end-around carry.
uint16_t ones_complement_add(uint16_t a, uint16_t b);

// ~ones_complement_sum(data, initial_sum): the value to store in a checksum field that was zero
// while summing, or 0 when verifying a header whose checksum field is correct.
uint16_t internet_checksum(std::span<const std::byte> data, uint16_t initial_sum = 0);

// Sum of the 12-byte IPv4 pseudo-header {source, destination, zero, protocol, length} that UDP
// (RFC 768) and TCP (RFC 793 section 3.1) include in their checksums.  `upper_layer_length` is
// the UDP length field, or the TCP header plus data length.
uint16_t pseudo_header_sum(net::Ipv4Addr source, net::Ipv4Addr destination, IpProtocol protocol,
                           uint16_t upper_layer_length);

// RFC 1624 section 3, equation 3: HC' = ~(~HC + ~m + m'), the checksum after one 16-bit word of
// the summed data changes from `old_word` (m) to `new_word` (m').  The word must sit at an even
// offset of the summed data (all IPv4/UDP/TCP fields that NAT and routing rewrite do).
// Equation 3, unlike equation 2, never yields the 0xffff form, so the result equals a full
// recomputation whenever the data is not all zeros (the only case where recomputation gives
// 0xffff); IPv4 headers are never all zeros.  A UDP checksum of 0 means "none" (RFC 768): the
// caller must leave it 0 instead of adjusting it.
uint16_t checksum_adjust16(uint16_t checksum, uint16_t old_word, uint16_t new_word);

// The same for a 32-bit field (an IPv4 address), as two adjacent 16-bit words.
uint16_t checksum_adjust32(uint16_t checksum, uint32_t old_value, uint32_t new_value);

}  // namespace vnet::wire
