// PacketPort (packet_port.h): an AF_PACKET socket with a TPACKET_V3 receive ring or recvmmsg(),
// and sendmmsg() transmit, set up as net/packet/af_packet.c expects:
//   1. socket(AF_PACKET, SOCK_RAW, 0): protocol 0 so that nothing is queued from other
//      interfaces before bind() (a protocol given here would hook ETH_P_ALL on every device).
//   2. PACKET_VNET_HDR, PACKET_IGNORE_OUTGOING, and for the ring PACKET_VERSION (TPACKET_V3):
//      all must precede PACKET_RX_RING (packet_setsockopt() answers EBUSY once a ring exists).
//   3. Ring: PACKET_RX_RING with a tpacket_req3 and mmap() of block_size * block_count bytes.
//      Mmsg: PACKET_AUXDATA (each message's tpacket_auxdata carries the removed VLAN tag) and
//      SO_RCVBUFFORCE; recvmsg() puts the virtio_net_hdr in front of each frame
//      (packet_recvmsg()), and every queued packet wakes the socket (sk_data_ready), which is
//      why this mode adds no latency.
//   4. bind() to (ETH_P_ALL, ifindex), then PACKET_ADD_MEMBERSHIP PACKET_MR_PROMISC (dropped by
//      the kernel when the socket closes).
// Ring layout (Documentation/networking/packet_mmap.rst, tpacket_rcv()): block i starts at
// i * block_size with a tpacket_block_desc; the kernel sets TP_STATUS_USER in it when it retires
// the block (full, or after retire_timeout_ms); num_pkts tpacket3_hdr frames follow from
// offset_to_first_pkt, chained by tp_next_offset.  With PACKET_VNET_HDR the virtio_net_hdr sits
// in the 10 bytes before the MAC header (tp_mac), written by virtio_net_hdr_from_skb().  A tag
// that the kernel removed (TP_STATUS_VLAN_VALID, as __netif_receive_skb_core() untags every
// frame before packet taps see it) is put back in front of the EtherType, as libpcap does, so
// the node sees what was on the wire.  We give the block back by writing TP_STATUS_KERNEL.
#include "dataplane/packet_port.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/offload.h"

namespace vnet::dataplane {

using wire::VirtioNetHdr;

// The receive ring and the kernel-facing scratch state of a port (kept out of the header so that
// it does not pull in the socket headers).
struct PacketPort::Ring {
  std::byte* base = nullptr;  // the mmap'ed blocks
  size_t map_len_bytes = 0;
  size_t block_size_bytes = 0;
  size_t block_count = 0;
  // The block receive() reads next, and how far into it a previous call stopped when its budget
  // ran out: frames already handed over and the offset of the next one.
  size_t block = 0;
  uint32_t frames_done = 0;
  size_t next_frame_offset = 0;
  // Scratch space reused across calls so the data path does not allocate per batch: offload
  // results, the frame with its tag restored, and sendmmsg()'s message and iovec arrays.
  std::vector<std::vector<std::byte>> segments;
  // The transmit side's own (a frame received and forwarded back out of this port inside the
  // receive callback may flush the queue while `segments` is being delivered).
  std::vector<std::vector<std::byte>> tx_segments;
  std::vector<std::byte> tagged;
  // RxMode::Mmsg: recvmmsg()'s buffers (kMmsgBatch of kMmsgBufferBytes), messages, iovecs and
  // control space for PACKET_AUXDATA, allocated by the first receive().
  std::vector<std::byte> rx_buffers;
  std::vector<mmsghdr> rx_messages;
  std::vector<iovec> rx_iov;
  std::vector<std::byte> rx_control;
  std::vector<mmsghdr> tx_messages;
  std::vector<iovec> tx_iov;

  ~Ring() {
    if (base != nullptr) munmap(base, map_len_bytes);
  }
};

namespace {

// RxMode::Mmsg: frames per recvmmsg(), and a buffer for the largest: a 64 KiB GSO super-frame
// with its Ethernet header, a tag and the virtio_net_hdr, rounded to pages.
constexpr size_t kMmsgBatch = 32;
constexpr size_t kMmsgBufferBytes = size_t{68} * 1024;
constexpr size_t kAuxSpace = CMSG_SPACE(sizeof(tpacket_auxdata));

std::string errno_text(int error_number) {
  return std::strerror(error_number);
}

// Fills an ifreq for `name`; false when the name does not fit IFNAMSIZ.
bool make_ifreq(const std::string& name, ifreq* request) {
  std::memset(request, 0, sizeof *request);
  if (name.empty() || name.size() >= IFNAMSIZ) return false;
  std::memcpy(request->ifr_name, name.data(), name.size());
  return true;
}

// The block descriptor's status word, read with acquire ordering so that the frames the kernel
// wrote before retiring the block are visible (the kernel publishes with smp_wmb() +
// flush_dcache_page() in prb_close_block()).
uint32_t load_block_status(std::byte* block) {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  return std::atomic_ref<uint32_t>(desc->hdr.bh1.block_status).load(std::memory_order_acquire);
}

void release_block(std::byte* block) {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  std::atomic_ref<uint32_t>(desc->hdr.bh1.block_status)
      .store(TP_STATUS_KERNEL, std::memory_order_release);
}

}  // namespace

PacketPort::~PacketPort() {
  ring_.reset();  // munmap before close, as the mapping holds the ring
  if (fd_ >= 0) close(fd_);
}

std::variant<std::unique_ptr<PacketPort>, std::string> PacketPort::open(
    const std::string& ifname, const PortOptions& options) {
  std::unique_ptr<PacketPort> port(new PacketPort());
  port->name_ = ifname;
  port->options_ = options;
  auto failure = [&](const char* call) {
    return fmt::format("{}: {}: {}", ifname, call, errno_text(errno));
  };

  ifreq request{};
  if (!make_ifreq(ifname, &request)) return fmt::format("{}: invalid interface name", ifname);
  unsigned index = if_nametoindex(ifname.c_str());
  if (index == 0) return failure("if_nametoindex");
  port->ifindex_ = static_cast<int>(index);

  port->fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (port->fd_ < 0) return failure("socket(AF_PACKET)");
  int fd = port->fd_;

  if (ioctl(fd, SIOCGIFHWADDR, &request) < 0) return failure("ioctl(SIOCGIFHWADDR)");
  const auto* hw = reinterpret_cast<const uint8_t*>(request.ifr_hwaddr.sa_data);
  port->mac_ = net::MacAddr(hw[0], hw[1], hw[2], hw[3], hw[4], hw[5]);

  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) {
    return failure("setsockopt(PACKET_VNET_HDR)");
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    return failure("setsockopt(PACKET_IGNORE_OUTGOING)");
  }
  auto ring = std::make_unique<Ring>();
  if (options.rx == RxMode::Mmsg) {
    if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) {
      return failure("setsockopt(PACKET_AUXDATA)");
    }
    // SO_RCVBUFFORCE needs CAP_NET_ADMIN; without it the plain limit (rmem_max) applies.
    int rcvbuf = options.rcvbuf_bytes;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0) {
      return failure("setsockopt(SO_RCVBUF)");
    }
    port->ring_ = std::move(ring);
    return finish_open(std::move(port));
  }
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) {
    return failure("setsockopt(PACKET_VERSION)");
  }

  // tp_frame_size only has to satisfy packet_set_ring()'s arithmetic for V3 (frames are packed
  // at variable offsets): aligned, and frames per block * blocks == tp_frame_nr.
  constexpr uint32_t kNominalFrameBytes = 2048;
  tpacket_req3 ring_request{};
  ring_request.tp_block_size = options.block_size_bytes;
  ring_request.tp_block_nr = options.block_count;
  ring_request.tp_frame_size = kNominalFrameBytes;
  ring_request.tp_frame_nr = (options.block_size_bytes / kNominalFrameBytes) * options.block_count;
  ring_request.tp_retire_blk_tov = options.retire_timeout_ms;
  ring_request.tp_sizeof_priv = 0;
  ring_request.tp_feature_req_word = 0;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &ring_request, sizeof ring_request) < 0) {
    return failure("setsockopt(PACKET_RX_RING)");
  }
  ring->block_size_bytes = options.block_size_bytes;
  ring->block_count = options.block_count;
  ring->map_len_bytes = size_t{options.block_size_bytes} * options.block_count;
  void* map =
      mmap(nullptr, ring->map_len_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
  if (map == MAP_FAILED) {
    // MAP_LOCKED fails under a small RLIMIT_MEMLOCK; the ring works unlocked too.
    map = mmap(nullptr, ring->map_len_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  if (map == MAP_FAILED) return failure("mmap(PACKET_RX_RING)");
  ring->base = static_cast<std::byte*>(map);
  port->ring_ = std::move(ring);
  return finish_open(std::move(port));
}

std::variant<std::unique_ptr<PacketPort>, std::string> PacketPort::finish_open(
    std::unique_ptr<PacketPort> port) {
  const std::string& ifname = port->name_;
  const PortOptions& options = port->options_;
  int fd = port->fd_;
  auto failure = [&](const char* call) {
    return fmt::format("{}: {}: {}", ifname, call, errno_text(errno));
  };
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = port->ifindex_;
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) < 0) {
    return failure("bind");
  }
  if (options.promiscuous) {
    packet_mreq membership{};
    membership.mr_ifindex = port->ifindex_;
    membership.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof membership) < 0) {
      return failure("setsockopt(PACKET_ADD_MEMBERSHIP)");
    }
  }
  port->tx_queue_.resize(options.tx_batch == 0 ? 1 : options.tx_batch);
  return port;
}

int PacketPort::mtu() const {
  ifreq request{};
  if (!make_ifreq(name_, &request) || ioctl(fd_, SIOCGIFMTU, &request) < 0) return -1;
  return request.ifr_mtu;
}

bool PacketPort::carrier() const {
  ifreq request{};
  if (!make_ifreq(name_, &request) || ioctl(fd_, SIOCGIFFLAGS, &request) < 0) return false;
  return (request.ifr_flags & IFF_RUNNING) != 0;
}

namespace {

// The offloads a node can take whole: TCPv4 and UDP L4 segmentation (the ECN flag allowed), and a
// partial checksum alone; what resolve_offloads() cuts and completes when it must.
bool keepable(const VirtioNetHdr& h) {
  uint8_t type = h.gso_type & static_cast<uint8_t>(~VirtioNetHdr::kGsoEcn);
  bool needs_csum = (h.flags & VirtioNetHdr::kNeedsCsum) != 0;
  if (type == VirtioNetHdr::kGsoNone) return needs_csum && h.gso_type == VirtioNetHdr::kGsoNone;
  return needs_csum && (type == VirtioNetHdr::kGsoTcpv4 || type == VirtioNetHdr::kGsoUdpL4);
}

}  // namespace

size_t PacketPort::receive(const ReceiveFn& fn, size_t budget) {
  return options_.rx == RxMode::Ring ? receive_ring(fn, budget) : receive_mmsg(fn, budget);
}

void PacketPort::deliver_frame(std::span<const std::byte> frame, VirtioNetHdr vnet, uint32_t status,
                               uint16_t vlan_tci, uint16_t vlan_tpid, const ReceiveFn& fn) {
  Ring& ring = *ring_;
  static const VirtioNetHdr kComplete{};
  auto deliver = [&](std::span<const std::byte> f, const VirtioNetHdr& hdr) {
    ++stats_.rx_frames;
    stats_.rx_bytes += f.size();
    fn(f, hdr);
  };
  // Put back a tag the kernel moved into tp_vlan_tci (802.1Q unless the TPID says 802.1ad).
  if ((status & TP_STATUS_VLAN_VALID) != 0 && frame.size() >= wire::ethernet_field::kEtherType) {
    uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) != 0
                        ? vlan_tpid
                        : static_cast<uint16_t>(wire::EtherType::Vlan);
    auto& tagged = ring.tagged;
    tagged.resize(frame.size() + wire::EthernetView::kVlanTagLen);
    std::copy_n(frame.begin(), wire::ethernet_field::kEtherType, tagged.begin());
    wire::store_be16(tagged, wire::ethernet_field::kEtherType, tpid);
    wire::store_be16(tagged, wire::ethernet_field::kTagControl, vlan_tci);
    std::copy(frame.begin() + wire::ethernet_field::kEtherType, frame.end(),
              tagged.begin() + wire::ethernet_field::kInnerEtherType);
    frame = tagged;
    // The checksum start moves with the bytes behind the tag.
    if (vnet.csum_start >= wire::ethernet_field::kEtherType) {
      vnet.csum_start = static_cast<uint16_t>(vnet.csum_start + 4);
    }
    if (vnet.hdr_len != 0) vnet.hdr_len = static_cast<uint16_t>(vnet.hdr_len + 4);
  }

  bool is_gso = vnet.gso_type != VirtioNetHdr::kGsoNone;
  bool needs_csum = (vnet.flags & VirtioNetHdr::kNeedsCsum) != 0;
  if (!is_gso && !needs_csum) {
    deliver(frame, kComplete);
    return;
  }
  if (options_.keep_offloads && keepable(vnet)) {
    ++stats_.rx_offload_whole;
    deliver(frame, vnet);
    return;
  }
  ring.segments.clear();
  if (!resolve_offloads(frame, vnet, &ring.segments, nullptr)) {
    ++stats_.rx_offload_errors;
    return;
  }
  if (is_gso) {
    ++stats_.rx_gso_frames;
    stats_.rx_gso_segments += ring.segments.size();
  } else {
    ++stats_.rx_csum_completed;
  }
  for (const auto& segment : ring.segments) deliver(segment, kComplete);
}

size_t PacketPort::receive_mmsg(const ReceiveFn& fn, size_t budget) {
  Ring& ring = *ring_;
  if (ring.rx_buffers.empty()) {
    ring.rx_buffers.resize(kMmsgBatch * kMmsgBufferBytes);
    ring.rx_messages.resize(kMmsgBatch);
    ring.rx_iov.resize(kMmsgBatch);
    ring.rx_control.resize(kMmsgBatch * kAuxSpace);
  }
  size_t consumed = 0;
  while (consumed < budget) {
    const size_t want = std::min(kMmsgBatch, budget - consumed);
    for (size_t i = 0; i < want; ++i) {
      ring.rx_iov[i] = {ring.rx_buffers.data() + i * kMmsgBufferBytes, kMmsgBufferBytes};
      msghdr& h = ring.rx_messages[i].msg_hdr;
      h = {};
      h.msg_iov = &ring.rx_iov[i];
      h.msg_iovlen = 1;
      h.msg_control = ring.rx_control.data() + i * kAuxSpace;
      h.msg_controllen = kAuxSpace;
    }
    int n =
        recvmmsg(fd_, ring.rx_messages.data(), static_cast<unsigned>(want), MSG_DONTWAIT, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      ++consumed;
      const msghdr& h = ring.rx_messages[i].msg_hdr;
      const size_t len = ring.rx_messages[i].msg_len;
      const std::byte* data = ring.rx_buffers.data() + static_cast<size_t>(i) * kMmsgBufferBytes;
      if ((h.msg_flags & MSG_TRUNC) != 0) {
        ++stats_.rx_truncated;
        continue;
      }
      if (len < sizeof(VirtioNetHdr)) {
        ++stats_.rx_offload_errors;
        continue;
      }
      // With PACKET_VNET_HDR, recvmsg() puts the virtio_net_hdr in front of the frame;
      // PACKET_AUXDATA says whether the kernel took a VLAN tag off.
      VirtioNetHdr vnet;
      std::memcpy(&vnet, data, sizeof vnet);
      tpacket_auxdata aux{};
      for (const cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
           c = CMSG_NXTHDR(const_cast<msghdr*>(&h), const_cast<cmsghdr*>(c))) {
        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
            c->cmsg_len >= CMSG_LEN(sizeof aux)) {
          std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
        }
      }
      deliver_frame(std::span(data + sizeof vnet, len - sizeof vnet), vnet, aux.tp_status,
                    aux.tp_vlan_tci, aux.tp_vlan_tpid, fn);
    }
    if (static_cast<size_t>(n) < want) break;
  }
  return consumed;
}

size_t PacketPort::receive_ring(const ReceiveFn& fn, size_t budget) {
  Ring& ring = *ring_;
  size_t consumed = 0;
  while (consumed < budget) {
    std::byte* block = ring.base + ring.block * ring.block_size_bytes;
    if ((load_block_status(block) & TP_STATUS_USER) == 0) break;
    tpacket_block_desc desc;
    std::memcpy(&desc, block, sizeof desc);
    const tpacket_hdr_v1& header = desc.hdr.bh1;
    if (ring.frames_done == 0) ring.next_frame_offset = header.offset_to_first_pkt;

    while (ring.frames_done < header.num_pkts && consumed < budget) {
      size_t offset = ring.next_frame_offset;
      if (offset + sizeof(tpacket3_hdr) > ring.block_size_bytes) {
        ring.frames_done = header.num_pkts;  // a corrupt chain: abandon the block
        break;
      }
      tpacket3_hdr frame_header;
      std::memcpy(&frame_header, block + offset, sizeof frame_header);
      ring.next_frame_offset = offset + frame_header.tp_next_offset;
      ++ring.frames_done;
      ++consumed;

      size_t mac = offset + frame_header.tp_mac;
      if (frame_header.tp_mac < sizeof(VirtioNetHdr) ||
          mac + frame_header.tp_snaplen > ring.block_size_bytes) {
        ++stats_.rx_offload_errors;
        continue;
      }
      if (frame_header.tp_snaplen < frame_header.tp_len) {
        // Larger than a block can hold: the kernel clamped it and its headers now describe bytes
        // we do not have, so it cannot be segmented or passed on.
        ++stats_.rx_truncated;
        continue;
      }
      VirtioNetHdr vnet;
      std::memcpy(&vnet, block + mac - sizeof vnet, sizeof vnet);
      deliver_frame(std::span<const std::byte>(block + mac, frame_header.tp_snaplen), vnet,
                    frame_header.tp_status, frame_header.hv1.tp_vlan_tci,
                    frame_header.hv1.tp_vlan_tpid, fn);
    }

    if (ring.frames_done >= header.num_pkts) {
      release_block(block);
      ring.block = (ring.block + 1) % ring.block_count;
      ring.frames_done = 0;
      ring.next_frame_offset = 0;
    }
  }
  return consumed;
}

void PacketPort::send(std::span<const std::byte> frame, const VirtioNetHdr& offload) {
  TxSlot& slot = tx_queue_[tx_queued_++];
  slot.frame.assign(frame.begin(), frame.end());
  slot.offload = offload;
  if (tx_queued_ == tx_queue_.size()) flush();
}

namespace {

// A sent frame in the transmit counters.
void count_tx(PortStats& stats, size_t bytes, const VirtioNetHdr& offload) {
  ++stats.tx_frames;
  stats.tx_bytes += bytes;
  if (offload.gso_type != VirtioNetHdr::kGsoNone) {
    ++stats.tx_gso_frames;
    stats.tx_gso_bytes += bytes;
  }
  if ((offload.flags & VirtioNetHdr::kNeedsCsum) != 0) ++stats.tx_csum_partial;
}

}  // namespace

bool PacketPort::send_now(std::span<const std::byte> frame, const VirtioNetHdr& offload) {
  VirtioNetHdr header = offload;
  iovec iov[2] = {{&header, sizeof header}, {const_cast<std::byte*>(frame.data()), frame.size()}};
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = 2;
  ssize_t sent;
  do {
    sent = sendmsg(fd_, &message, MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return false;
  count_tx(stats_, frame.size(), offload);
  return true;
}

void PacketPort::flush() {
  if (tx_queued_ == 0) return;
  // Each frame goes out behind its virtio_net_hdr.  A zero one asks for no checksum or
  // segmentation, so packet_snd() takes the frame as complete (and refuses one above the MTU,
  // EMSGSIZE); a GSO one lets the frame exceed the MTU (virtio_net_hdr_to_skb() makes a GSO skb
  // that the device or validate_xmit_skb() segments).
  Ring& ring = *ring_;
  ring.tx_iov.resize(2 * tx_queued_);
  ring.tx_messages.resize(tx_queued_);
  for (size_t i = 0; i < tx_queued_; ++i) {
    ring.tx_iov[2 * i] = {&tx_queue_[i].offload, sizeof(VirtioNetHdr)};
    ring.tx_iov[2 * i + 1] = {tx_queue_[i].frame.data(), tx_queue_[i].frame.size()};
    mmsghdr& message = ring.tx_messages[i];
    message = {};
    message.msg_hdr.msg_iov = &ring.tx_iov[2 * i];
    message.msg_hdr.msg_iovlen = 2;
  }
  size_t next = 0;
  while (next < tx_queued_) {
    int sent = sendmmsg(fd_, &ring.tx_messages[next], static_cast<unsigned>(tx_queued_ - next),
                        MSG_DONTWAIT);
    if (sent > 0) {
      for (size_t i = next; i < next + static_cast<size_t>(sent); ++i) {
        count_tx(stats_, tx_queue_[i].frame.size(), tx_queue_[i].offload);
      }
      next += static_cast<size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
      // The device queue is full: drop the rest of the batch rather than block the data path.
      stats_.tx_errors += tx_queued_ - next;
      break;
    }
    const TxSlot& refused = tx_queue_[next];
    const VirtioNetHdr& offload = refused.offload;
    if (sent < 0 && errno == EINVAL &&
        (offload.gso_type != VirtioNetHdr::kGsoNone || offload.flags != 0)) {
      // The kernel refused the offload header (virtio_net_hdr_to_skb()): cut and complete the
      // frame here and send what that makes.
      ++stats_.tx_offload_refused;
      ring.tx_segments.clear();
      if (!wire::resolve_offloads(refused.frame, offload, &ring.tx_segments, nullptr)) {
        ++stats_.tx_errors;
      }
      for (const auto& segment : ring.tx_segments) {
        if (!send_now(segment, VirtioNetHdr{})) ++stats_.tx_errors;
      }
      ++next;
      continue;
    }
    // This frame was refused (too long, too short, interface down): skip it only.
    ++stats_.tx_errors;
    ++next;
  }
  tx_queued_ = 0;
}

void PacketPort::update_kernel_stats() {
  tpacket_stats_v3 kernel_stats{};
  socklen_t len = sizeof kernel_stats;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &kernel_stats, &len) == 0) {
    stats_.rx_kernel_drops += kernel_stats.tp_drops;
  }
}

int PacketPort::clear_error() {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

}  // namespace vnet::dataplane
