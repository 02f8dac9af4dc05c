// libFuzzer target for the software offloads (dataplane/gso.h): the first 10 bytes are a
// virtio_net_hdr as PACKET_VNET_HDR lays it out (flags, gso_type, then hdr_len, gso_size,
// csum_start, csum_offset in little-endian), the rest is the frame.  resolve_offloads() must
// never read outside the frame (ASan) and, when it accepts a frame, every output must be a
// well-formed IPv4 frame whose checksums verify; a refusal must come with an error and leave the
// output untouched.  complete_checksum() gets the same bytes and offsets.  Run:
//   gso_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/offload.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace {

using namespace vnet;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

uint16_t load_le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}

// Every segment of an accepted GSO frame carries complete, verifying headers.
void check_segment(std::span<const std::byte> frame, uint8_t gso_type) {
  wire::EthernetConstView eth(frame);
  require(!eth.check());
  wire::Ipv4ConstView ip(eth.payload());
  require(!ip.check());
  require(ip.verify_checksum());
  if (gso_type == wire::VirtioNetHdr::kGsoTcpv4) {
    wire::TcpConstView tcp(ip.payload());
    require(!tcp.check());
    require(tcp.verify_checksum(ip.source(), ip.destination()));
  } else {
    wire::UdpConstView udp(ip.payload());
    require(!udp.check());
    require(udp.length() == ip.payload().size());
    require(udp.verify_checksum(ip.source(), ip.destination()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(wire::VirtioNetHdr)) return 0;
  wire::VirtioNetHdr hdr;
  hdr.flags = data[0];
  hdr.gso_type = data[1];
  hdr.hdr_len = load_le16(data + 2);
  hdr.gso_size = load_le16(data + 4);
  hdr.csum_start = load_le16(data + 6);
  hdr.csum_offset = load_le16(data + 8);
  // A copy of exactly the frame bytes, so ASan sees any read past its end.
  std::vector<std::byte> frame(size - 10);
  if (!frame.empty()) std::memcpy(frame.data(), data + 10, frame.size());

  std::vector<std::vector<std::byte>> out;
  std::string error;
  bool accepted = wire::resolve_offloads(frame, hdr, &out, &error);
  if (!accepted) {
    require(out.empty());
    require(!error.empty());
  } else {
    require(!out.empty());
    uint8_t gso = hdr.gso_type & static_cast<uint8_t>(~wire::VirtioNetHdr::kGsoEcn);
    if (gso == wire::VirtioNetHdr::kGsoNone) {
      require(out.size() == 1 && out[0].size() == frame.size());
    } else {
      for (const auto& segment : out) check_segment(segment, gso);
    }
  }

  std::vector<std::byte> copy = frame;
  bool completed = wire::complete_checksum(copy, hdr.csum_start, hdr.csum_offset);
  require(completed == (hdr.csum_start < frame.size() &&
                        size_t{hdr.csum_start} + hdr.csum_offset + 2 <= frame.size()));
  return 0;
}
