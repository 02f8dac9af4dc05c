// Offloaded frames as AF_PACKET hands them over with PACKET_VNET_HDR: a virtio_net_hdr in front
// of each frame says whether the frame still needs its transport checksum (CHECKSUM_PARTIAL:
// the sum of the pseudo header is in place, the rest must be added) and whether it is a GSO
// super-frame larger than the MTU that must be cut into MTU-sized segments.  Veth and TAP peers
// produce both whenever the sending kernel has tx-checksumming and TSO/GSO on (the default).
//
// Input: one frame and its header.  Output: complete frames, each with every checksum filled.
// Example: a 64 KiB TCPv4 frame with gso_type TCPV4 and gso_size 1448 becomes 45 frames of at
// most 14 + 20 + 32 + 1448 bytes, sequence numbers advancing by 1448, FIN/PSH only on the last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vnet::wire {

// struct virtio_net_hdr (include/uapi/linux/virtio_net.h), host byte order as PACKET_VNET_HDR
// uses it on a little-endian host.
struct VirtioNetHdr {
  static constexpr uint8_t kNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr uint8_t kDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
  static constexpr uint8_t kGsoNone = 0, kGsoTcpv4 = 1, kGsoUdp = 3, kGsoTcpv6 = 4, kGsoUdpL4 = 5,
                           kGsoEcn = 0x80;
  uint8_t flags = 0;
  uint8_t gso_type = kGsoNone;
  uint16_t hdr_len = 0;
  uint16_t gso_size = 0;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
};
static_assert(sizeof(VirtioNetHdr) == 10);

// Fills the checksum of a CHECKSUM_PARTIAL frame: the one's-complement sum from csum_start to
// the end, folded into the 16 bits at csum_start + csum_offset (which hold the pseudo-header
// sum).  False when the offsets are outside the frame.
bool complete_checksum(std::span<std::byte> frame, uint16_t csum_start, uint16_t csum_offset);

// Turns one frame and its header into complete frames appended to `out`: unchanged when it is
// neither partial nor GSO; checksum completed when NEEDS_CSUM; cut into segments for TCPv4 and
// UDP L4 (USO) GSO, each with its own IPv4 total length, identification (+1 per segment) and
// header checksum, TCP sequence number and flags (CWR only on the first, FIN/PSH only on the
// last), and full TCP/UDP checksums.  Returns false, with `error` set, for frames it cannot
// handle (IPv6, UFO, malformed headers); nothing is appended then.
bool resolve_offloads(std::span<const std::byte> frame, const VirtioNetHdr& hdr,
                      std::vector<std::vector<std::byte>>* out, std::string* error);

}  // namespace vnet::wire
