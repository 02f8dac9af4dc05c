// PacketPort (packet_port.h): an AF_PACKET socket with a TPACKET_V3 receive ring and sendmmsg()
// transmit, set up as net/packet/af_packet.c expects:
//   1. socket(AF_PACKET, SOCK_RAW, 0): protocol 0 so that nothing is queued from other
//      interfaces before bind() (a protocol given here would hook ETH_P_ALL on every device).
//   2. PACKET_VNET_HDR, PACKET_VERSION (TPACKET_V3), PACKET_IGNORE_OUTGOING: all must precede
//      PACKET_RX_RING (packet_setsockopt() answers EBUSY once a ring exists).
//   3. PACKET_RX_RING with a tpacket_req3 and mmap() of block_size * block_count bytes.
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

#include "dataplane/gso.h"
#include "wire/endian.h"
#include "wire/ethernet.h"

namespace vnet::dataplane {

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
  std::vector<std::byte> tagged;
  std::vector<mmsghdr> tx_messages;
  std::vector<iovec> tx_iov;
  VirtioNetHdr no_offload{};  // sent in front of every frame; never written

  ~Ring() {
    if (base != nullptr) munmap(base, map_len_bytes);
  }
};

namespace {

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
  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) {
    return failure("setsockopt(PACKET_VERSION)");
  }
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) {
    return failure("setsockopt(PACKET_IGNORE_OUTGOING)");
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
  auto ring = std::make_unique<Ring>();
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

size_t PacketPort::receive(const std::function<void(std::span<const std::byte>)>& fn,
                           size_t budget) {
  Ring& ring = *ring_;
  size_t consumed = 0;
  auto deliver = [&](std::span<const std::byte> frame) {
    ++stats_.rx_frames;
    stats_.rx_bytes += frame.size();
    fn(frame);
  };
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
      std::span<const std::byte> frame(block + mac, frame_header.tp_snaplen);

      // Put back a tag the kernel moved into tp_vlan_tci (802.1Q unless the TPID says 802.1ad).
      if ((frame_header.tp_status & TP_STATUS_VLAN_VALID) != 0 &&
          frame.size() >= wire::ethernet_field::kEtherType) {
        uint16_t tpid = (frame_header.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0
                            ? frame_header.hv1.tp_vlan_tpid
                            : static_cast<uint16_t>(wire::EtherType::Vlan);
        auto& tagged = ring.tagged;
        tagged.resize(frame.size() + wire::EthernetView::kVlanTagLen);
        std::copy_n(frame.begin(), wire::ethernet_field::kEtherType, tagged.begin());
        wire::store_be16(tagged, wire::ethernet_field::kEtherType, tpid);
        wire::store_be16(tagged, wire::ethernet_field::kTagControl, frame_header.hv1.tp_vlan_tci);
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
        deliver(frame);
        continue;
      }
      ring.segments.clear();
      if (!resolve_offloads(frame, vnet, &ring.segments, nullptr)) {
        ++stats_.rx_offload_errors;
        continue;
      }
      if (is_gso) {
        ++stats_.rx_gso_frames;
        stats_.rx_gso_segments += ring.segments.size();
      } else {
        ++stats_.rx_csum_completed;
      }
      for (const auto& segment : ring.segments) deliver(segment);
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

void PacketPort::send(std::span<const std::byte> frame) {
  auto& slot = tx_queue_[tx_queued_++];
  slot.assign(frame.begin(), frame.end());
  if (tx_queued_ == tx_queue_.size()) flush();
}

void PacketPort::flush() {
  if (tx_queued_ == 0) return;
  // Every frame goes out behind a zero virtio_net_hdr: no checksum or segmentation requested,
  // so packet_snd() takes it as a complete frame (and refuses one above the MTU, EMSGSIZE).
  Ring& ring = *ring_;
  ring.tx_iov.resize(2 * tx_queued_);
  ring.tx_messages.resize(tx_queued_);
  for (size_t i = 0; i < tx_queued_; ++i) {
    ring.tx_iov[2 * i] = {&ring.no_offload, sizeof ring.no_offload};
    ring.tx_iov[2 * i + 1] = {tx_queue_[i].data(), tx_queue_[i].size()};
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
        ++stats_.tx_frames;
        stats_.tx_bytes += tx_queue_[i].size();
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
