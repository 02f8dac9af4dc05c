// NodeIo: what a Node needs from whoever drives it.  The simulator implements it with links and
// an event queue; vnetd (later) with AF_PACKET sockets.  A Node never blocks, sleeps or reads a
// clock: the driver hands it frames with the current time, asks when it next needs to run
// (next_deadline_ns) and calls run_timers() then.
//
// Example: Sim delivers a frame with node.receive(ifindex, bytes, now); the node answers an ARP
// request by calling io->transmit(ifindex, reply) from inside receive().
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

#include "wire/offload.h"

namespace vnet::stack {

inline constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();

class NodeIo {
 public:
  virtual ~NodeIo() = default;
  // Sends one Ethernet frame (no FCS) out of interface ifindex.  The node has already checked
  // that the interface is up with carrier.
  virtual void transmit(int ifindex, std::span<const std::byte> frame) = 0;
  // Several frames out of one interface, in order; the frames stay valid only during the call.
  // The fast path sends its bursts this way: one call per interface per burst.
  virtual void transmit_burst(int ifindex, std::span<const std::span<const std::byte>> frames) {
    for (std::span<const std::byte> frame : frames) transmit(ifindex, frame);
  }
  // The same, with one offload header per frame: a zero header is a complete frame; a GSO type
  // and size or NEEDS_CSUM is a super-frame or partial checksum the node passed on whole, as it
  // received it (Node::receive_burst with offloads).  vnetd hands the header to the kernel; this
  // default cuts and completes such frames (wire::resolve_offloads) and transmits what that
  // makes, so an I/O without offloads still sends what the wire would carry.
  virtual void transmit_burst_offload(int ifindex,
                                      std::span<const std::span<const std::byte>> frames,
                                      std::span<const wire::VirtioNetHdr> offloads);
};

}  // namespace vnet::stack
