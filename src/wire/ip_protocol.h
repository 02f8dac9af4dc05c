// IpProtocol: the IPv4 Protocol field (RFC 791 section 3.1), numbers from the IANA registry.
//
// Read by the IPv4 view and by the UDP/TCP pseudo-header checksum.  Any 8-bit value is
// representable; the named ones are those the engine dispatches on.  Example:
//   IpProtocol::Udp == IpProtocol{17}
#pragma once

#include <cstdint>

namespace vnet::wire {

enum class IpProtocol : uint8_t {
  Icmp = 1,
  Ipip = 4,
  Tcp = 6,
  Udp = 17,
  Gre = 47,
};

}  // namespace vnet::wire
