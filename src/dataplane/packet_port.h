// PacketPort: one Linux interface owned by vnetd through AF_PACKET.
//
// Receive: a TPACKET_V3 ring (mmap'ed blocks the kernel retires when full or after a timeout),
// PACKET_VNET_HDR so offloaded frames arrive with their virtio_net_hdr and are completed or
// segmented (gso.h) before the node sees them, promiscuous mode, and our own transmissions
// ignored (PACKET_IGNORE_OUTGOING).  Transmit: frames are queued and sent in batches with
// sendmmsg(), each behind a zero virtio_net_hdr (complete frames, no offload asked).
//
// Example:
//   auto port = PacketPort::open("eth0", {});          // in the node's network namespace
//   epoll on port->fd() (EPOLLIN);
//   port->receive([&](std::span<const std::byte> f) { node.receive(ix, f, now); }, 256);
//   port->send(frame); ... port->flush();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::dataplane {

struct PortOptions {
  uint32_t block_size_bytes = 1u << 18;  // a power of two, a multiple of the page size, > 64 KiB
  uint32_t block_count = 64;
  uint32_t retire_timeout_ms = 1;  // a partly filled block is handed over after this long
  bool promiscuous = true;
  size_t tx_batch = 64;  // send when this many frames are queued (flush() sends the rest)
};

struct PortStats {
  uint64_t rx_frames = 0, rx_bytes = 0;  // frames handed to the callback (after segmenting)
  uint64_t rx_gso_frames = 0;            // GSO super-frames received
  uint64_t rx_gso_segments = 0;          // segments made from them
  uint64_t rx_csum_completed = 0;        // CHECKSUM_PARTIAL frames completed
  uint64_t rx_offload_errors = 0;        // offloaded frames that could not be resolved
  uint64_t rx_truncated = 0;             // frames larger than a ring block (tp_snaplen < tp_len)
  uint64_t rx_kernel_drops = 0;          // PACKET_STATISTICS tp_drops (ring full)
  uint64_t tx_frames = 0, tx_bytes = 0, tx_errors = 0;
};

class PacketPort {
 public:
  ~PacketPort();
  PacketPort(const PacketPort&) = delete;
  PacketPort& operator=(const PacketPort&) = delete;

  // Opens the interface in the calling thread's network namespace; an error message otherwise
  // (naming the interface and the failing call with strerror).
  static std::variant<std::unique_ptr<PacketPort>, std::string> open(const std::string& ifname,
                                                                     const PortOptions& options);

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  net::MacAddr mac() const { return mac_; }
  int mtu() const;       // SIOCGIFMTU
  bool carrier() const;  // IFF_RUNNING (SIOCGIFFLAGS)

  // Hands every frame of the retired blocks (at most `budget` kernel frames) to `fn`, offloads
  // resolved; returns the number of kernel frames consumed.  Never blocks.
  size_t receive(const std::function<void(std::span<const std::byte>)>& fn, size_t budget);
  // Queues one complete Ethernet frame; sends the batch when it is full.
  void send(std::span<const std::byte> frame);
  // Sends everything queued.
  void flush();

  const PortStats& stats() const { return stats_; }
  // Reads and clears a pending socket error (SO_ERROR), which the kernel sets when the
  // interface goes down (ENETDOWN) and which epoll keeps reporting as EPOLLERR until read.
  // Returns the error (0: none).
  int clear_error();
  // Reads PACKET_STATISTICS into stats().rx_kernel_drops (the call resets the kernel's counts).
  void update_kernel_stats();

 private:
  PacketPort() = default;
  struct Ring;
  int fd_ = -1;
  std::string name_;
  int ifindex_ = 0;
  net::MacAddr mac_;
  PortOptions options_;
  std::unique_ptr<Ring> ring_;
  std::vector<std::vector<std::byte>> tx_queue_;  // tx_batch slots, reused (no per-frame malloc)
  size_t tx_queued_ = 0;                          // slots in use
  PortStats stats_;
};

}  // namespace vnet::dataplane
