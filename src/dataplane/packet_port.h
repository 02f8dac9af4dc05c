// PacketPort: one Linux interface owned by vnetd through AF_PACKET.
//
// Receive, one of two ways (PortOptions::rx): a TPACKET_V3 ring (mmap'ed blocks the kernel
// retires when full or after a timeout: batches without a system call, but a lone packet waits
// for the timeout), or recvmmsg() of up to 32 frames into 64 KiB buffers (a wakeup per packet
// at low load, so no added latency; one system call per batch under load).  Either way
// PACKET_VNET_HDR so offloaded frames arrive with their virtio_net_hdr and are completed or
// segmented (wire/offload.h) before the node sees them, or with keep_offloads handed over whole
// with their header; promiscuous mode, and our own transmissions ignored
// (PACKET_IGNORE_OUTGOING).  Transmit: frames are queued and sent in batches with sendmmsg(),
// each behind its virtio_net_hdr: zero for a complete frame, or a GSO type and size and a partial
// checksum for a super-frame the kernel (or the peer) segments.
//
// Example:
//   auto port = PacketPort::open("eth0", {});          // in the node's network namespace
//   epoll on port->fd() (EPOLLIN);
//   port->receive([&](std::span<const std::byte> f, const wire::VirtioNetHdr&) {
//     node.receive(ix, f, now); }, 256);
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
#include "wire/offload.h"

namespace vnet::dataplane {

enum class RxMode : uint8_t {
  Ring,  // TPACKET_V3
  Mmsg,  // recvmmsg()
};

struct PortOptions {
  RxMode rx = RxMode::Mmsg;
  // Ring: block_size_bytes, block_count, retire_timeout_ms.
  uint32_t block_size_bytes = 1u << 18;  // a power of two, a multiple of the page size, > 64 KiB
  uint32_t block_count = 64;
  uint32_t retire_timeout_ms = 1;  // a partly filled block is handed over after this long
  int rcvbuf_bytes = 16 << 20;     // Mmsg: SO_RCVBUFFORCE (the ring's 64 blocks hold 16 MiB)
  bool promiscuous = true;
  size_t tx_batch = 64;  // send when this many frames are queued (flush() sends the rest)
  // Hand GSO super-frames and CHECKSUM_PARTIAL frames to receive()'s callback whole, with their
  // header, instead of segmenting and completing them (the TCPv4 and UDP L4 ones that
  // resolve_offloads() could handle; anything else is still resolved or counted as an error).
  bool keep_offloads = false;
};

struct PortStats {
  uint64_t rx_frames = 0, rx_bytes = 0;  // frames handed to the callback (after segmenting)
  uint64_t rx_gso_frames = 0;            // GSO super-frames received
  uint64_t rx_gso_segments = 0;          // segments made from them
  uint64_t rx_csum_completed = 0;        // CHECKSUM_PARTIAL frames completed
  uint64_t rx_offload_errors = 0;        // offloaded frames that could not be resolved
  uint64_t rx_truncated = 0;             // frames larger than a ring block or buffer
  uint64_t rx_kernel_drops = 0;          // PACKET_STATISTICS tp_drops (ring or buffer full)
  uint64_t rx_offload_whole = 0;         // offloaded frames handed over whole (keep_offloads)
  uint64_t tx_frames = 0, tx_bytes = 0, tx_errors = 0;
  uint64_t tx_gso_frames = 0, tx_gso_bytes = 0;  // super-frames sent with a GSO header
  uint64_t tx_csum_partial = 0;     // frames sent with NEEDS_CSUM (the kernel fills the checksum)
  uint64_t tx_offload_refused = 0;  // offload headers the kernel refused (EINVAL): cut in software
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

  // Hands every frame received so far (Ring: of the retired blocks; at most `budget` kernel
  // frames) to `fn`, offloads
  // resolved unless keep_offloads (the header is then the frame's own; else zero); returns the
  // number of kernel frames consumed.  Never blocks.
  using ReceiveFn = std::function<void(std::span<const std::byte>, const wire::VirtioNetHdr&)>;
  size_t receive(const ReceiveFn& fn, size_t budget);
  // Queues one Ethernet frame, complete or with the offload its header asks for (csum_start
  // counted from the Ethernet header); sends the batch when it is full.  A header the kernel
  // refuses is counted (tx_offload_refused) and the frame is cut in software and sent instead.
  void send(std::span<const std::byte> frame, const wire::VirtioNetHdr& offload = {});
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
  // open()'s last steps: bind() to the interface, promiscuous mode, the transmit queue.
  static std::variant<std::unique_ptr<PacketPort>, std::string> finish_open(
      std::unique_ptr<PacketPort> port);
  struct Ring;
  size_t receive_ring(const ReceiveFn& fn, size_t budget);
  size_t receive_mmsg(const ReceiveFn& fn, size_t budget);
  // One frame as the kernel handed it over: its tag put back (`status` TP_STATUS_VLAN_VALID),
  // its offloads resolved or kept, then to `fn`.
  void deliver_frame(std::span<const std::byte> frame, wire::VirtioNetHdr vnet, uint32_t status,
                     uint16_t vlan_tci, uint16_t vlan_tpid, const ReceiveFn& fn);
  int fd_ = -1;
  std::string name_;
  int ifindex_ = 0;
  net::MacAddr mac_;
  PortOptions options_;
  std::unique_ptr<Ring> ring_;
  struct TxSlot {
    std::vector<std::byte> frame;
    wire::VirtioNetHdr offload;
  };
  // Sends one frame now with sendmsg() (offload refused: its segments); false on failure.
  bool send_now(std::span<const std::byte> frame, const wire::VirtioNetHdr& offload);
  std::vector<TxSlot> tx_queue_;  // tx_batch slots, reused (no per-frame malloc)
  size_t tx_queued_ = 0;          // slots in use
  PortStats stats_;
};

}  // namespace vnet::dataplane
