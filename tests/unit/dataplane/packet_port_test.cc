// PacketPort against the real kernel (root only; skipped otherwise).  Each test moves its thread
// into a fresh network namespace of its own (unshare(CLONE_NEWNET), never bind-mounted, so the
// kernel destroys it, veths included, as soon as the test's sockets close or the process dies),
// creates a veth pair vpA/vpB there, opens the port on vpA and talks to it from vpB:
//   * raw AF_PACKET frames from vpB arrive, a foreign destination MAC included (promiscuous);
//   * frames sent by the port arrive on vpB;
//   * a UDP datagram from the kernel (vpB 192.0.2.1 -> fake peer 192.0.2.2 behind vpA, reached
//     through a permanent neighbour entry) arrives CHECKSUM_PARTIAL and is completed;
//   * a kernel TCP connection to the fake peer, answered by hand (SYN-ACK, ACKs) through the
//     port, sends TSO super-frames that arrive segmented with valid checksums and contiguous
//     sequence numbers.
// The root namespace is never touched: every command runs after the namespace switch has been
// verified (the namespace inode differs from the original one).
#include "dataplane/packet_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/offload.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::dataplane {
using wire::VirtioNetHdr;
namespace {

using Bytes = std::vector<std::byte>;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kTestEtherType = 0x88b5;  // IEEE 802 local experimental
const net::Ipv4Addr kKernelAddr = net::Ipv4Addr::from_octets(192, 0, 2, 1);
const net::Ipv4Addr kPeerAddr = net::Ipv4Addr::from_octets(192, 0, 2, 2);
const net::MacAddr kPeerMac(0x02, 0x00, 0x00, 0x00, 0x00, 0x02);
const net::MacAddr kForeignMac(0x02, 0x00, 0x00, 0x00, 0x00, 0x99);

ino_t netns_inode() {
  struct stat st {};
  // thread-self: unshare() and setns() act on the calling thread.
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

bool run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

class PacketPortTest : public testing::TestWithParam<RxMode> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, AF_PACKET)";
    if (!run("command -v ip")) GTEST_SKIP() << "iproute2 'ip' not found";
    original_ns_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_ns_, 0) << std::strerror(errno);
    ino_t original_inode = netns_inode();
    if (unshare(CLONE_NEWNET) != 0)
      GTEST_SKIP() << "unshare(CLONE_NEWNET): " << std::strerror(errno);
    entered_ = true;
    // Refuse to run any command unless we really are somewhere new.
    ASSERT_NE(netns_inode(), original_inode);
    ASSERT_NE(netns_inode(), 0u);
    // No IPv6 chatter (DAD, router solicitations) on the test link.
    std::ofstream("/proc/sys/net/ipv6/conf/default/disable_ipv6") << "1";
    ASSERT_TRUE(run("ip link set lo up"));
    ASSERT_TRUE(run("ip link add vpA type veth peer name vpB"));
    ASSERT_TRUE(run("ip link set vpA up && ip link set vpB up"));
    ASSERT_TRUE(run("ip addr add 192.0.2.1/24 dev vpB"));
    ASSERT_TRUE(run("ip neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 nud permanent dev vpB"));
    b_index_ = static_cast<int>(if_nametoindex("vpB"));
    ASSERT_GT(b_index_, 0);

    PortOptions options;
    options.rx = GetParam();
    auto opened = PacketPort::open("vpA", options);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<PacketPort>>(opened))
        << std::get<std::string>(opened);
    port_ = std::move(std::get<std::unique_ptr<PacketPort>>(opened));

    raw_ = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(raw_, 0);
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = b_index_;
    ASSERT_EQ(bind(raw_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    b_mac_ = mac_of("vpB");
  }

  void TearDown() override {
    port_.reset();
    if (raw_ >= 0) close(raw_);
    if (entered_) {
      // Back to the original namespace; ours has no users left and goes away with its veths.
      EXPECT_EQ(setns(original_ns_, CLONE_NEWNET), 0) << std::strerror(errno);
    }
    if (original_ns_ >= 0) close(original_ns_);
  }

  static net::MacAddr mac_of(const char* name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFHWADDR, &request);
    close(fd);
    if (rc != 0) return {};
    const auto* hw = reinterpret_cast<const uint8_t*>(request.ifr_hwaddr.sa_data);
    return net::MacAddr(hw[0], hw[1], hw[2], hw[3], hw[4], hw[5]);
  }

  // Polls the port and hands copies of received frames to `handle` until it returns true or
  // `timeout` passes; true when `handle` said done.
  bool receive_until(const std::function<bool(const Bytes&)>& handle,
                     std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    auto deadline = Clock::now() + timeout;
    bool done = false;
    while (!done && Clock::now() < deadline) {
      pollfd pfd{port_->fd(), POLLIN, 0};
      poll(&pfd, 1, 20);
      port_->receive(
          [&](std::span<const std::byte> frame, const wire::VirtioNetHdr&) {
            if (!done) done = handle(Bytes(frame.begin(), frame.end()));
          },
          256);
    }
    return done;
  }

  void raw_send(const Bytes& frame) {
    ASSERT_EQ(send(raw_, frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()))
        << std::strerror(errno);
  }

  std::optional<Bytes> raw_receive(const std::function<bool(const Bytes&)>& match) {
    auto deadline = Clock::now() + std::chrono::seconds(3);
    Bytes buffer(70000);
    while (Clock::now() < deadline) {
      pollfd pfd{raw_, POLLIN, 0};
      poll(&pfd, 1, 20);
      ssize_t n = recv(raw_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) continue;
      Bytes frame(buffer.begin(), buffer.begin() + n);
      if (match(frame)) return frame;
    }
    return std::nullopt;
  }

  int original_ns_ = -1;
  bool entered_ = false;
  int b_index_ = 0;
  int raw_ = -1;
  net::MacAddr b_mac_;
  std::unique_ptr<PacketPort> port_;
};

Bytes test_frame(net::MacAddr destination, net::MacAddr source, uint8_t marker, size_t len = 100) {
  Bytes frame(len, std::byte{marker});
  wire::EthernetView eth(frame);
  eth.set_destination(destination);
  eth.set_source(source);
  wire::store_be16(frame, wire::ethernet_field::kEtherType, kTestEtherType);
  return frame;
}

bool is_test_frame(const Bytes& frame, uint8_t marker) {
  return frame.size() >= 15 && wire::load_be16(frame, 12) == kTestEtherType &&
         frame[14] == std::byte{marker};
}

// An IPv4 packet of `protocol` inside `frame`, or nothing.
std::optional<wire::Ipv4ConstView> ipv4_of(const Bytes& frame, wire::IpProtocol protocol) {
  wire::EthernetConstView eth(frame);
  if (eth.check() || eth.payload_ethertype() != wire::EtherType::Ipv4) return std::nullopt;
  wire::Ipv4ConstView ip(eth.payload());
  if (ip.check() || ip.protocol() != protocol) return std::nullopt;
  return ip;
}

TEST_P(PacketPortTest, OpensWithTheInterfaceState) {
  EXPECT_EQ(port_->name(), "vpA");
  EXPECT_EQ(port_->ifindex(), static_cast<int>(if_nametoindex("vpA")));
  EXPECT_EQ(port_->mac(), mac_of("vpA"));
  EXPECT_EQ(port_->mtu(), 1500);
  EXPECT_TRUE(port_->carrier());
  ASSERT_TRUE(run("ip link set vpB down"));
  // A veth whose peer is down has no carrier.  The kernel's linkwatch applies carrier changes
  // asynchronously (up to a second later on a busy machine), so wait for it.
  auto deadline = Clock::now() + std::chrono::seconds(3);
  while (port_->carrier() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(port_->carrier());
  ASSERT_TRUE(run("ip link set vpB up && ip link set vpA mtu 9000"));
  EXPECT_EQ(port_->mtu(), 9000);
  // Promiscuous through PACKET_MR_PROMISC: counted in the device's promiscuity.
  EXPECT_TRUE(run("ip -d link show vpA | grep -q 'promiscuity 1'"));
}

TEST_P(PacketPortTest, OpenReportsTheFailingCall) {
  auto missing = PacketPort::open("vpNone", {});
  ASSERT_TRUE(std::holds_alternative<std::string>(missing));
  EXPECT_EQ(std::get<std::string>(missing), "vpNone: if_nametoindex: No such device");
  if (GetParam() != RxMode::Ring) return;
  PortOptions bad;
  bad.rx = RxMode::Ring;
  bad.block_size_bytes = 1000;  // not a multiple of the page size
  auto refused = PacketPort::open("vpA", bad);
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_EQ(std::get<std::string>(refused), "vpA: setsockopt(PACKET_RX_RING): Invalid argument");
}

TEST_P(PacketPortTest, ReceivesFramesIncludingForeignDestinations) {
  raw_send(test_frame(port_->mac(), b_mac_, 1));
  raw_send(test_frame(kForeignMac, b_mac_, 2, 1514));
  raw_send(test_frame(net::MacAddr::broadcast(), b_mac_, 3, 60));
  std::vector<Bytes> seen;
  EXPECT_TRUE(receive_until([&](const Bytes& frame) {
    for (uint8_t marker : {1, 2, 3}) {
      if (is_test_frame(frame, marker)) seen.push_back(frame);
    }
    return seen.size() == 3;
  }));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], test_frame(port_->mac(), b_mac_, 1));
  EXPECT_EQ(seen[1], test_frame(kForeignMac, b_mac_, 2, 1514));
  EXPECT_EQ(seen[2].size(), 60u);
  EXPECT_GE(port_->stats().rx_frames, 3u);
  EXPECT_EQ(port_->stats().rx_offload_errors, 0u);
  EXPECT_EQ(port_->stats().rx_truncated, 0u);
}

TEST_P(PacketPortTest, ReceivesAcrossManyBlocksWithASmallBudget) {
  // More frames than one receive() budget, spread over several blocks: the cursor must resume
  // inside a block without losing or repeating frames.
  constexpr int kFrames = 300;
  for (int i = 0; i < kFrames; ++i) {
    Bytes frame = test_frame(port_->mac(), b_mac_, 7, 1000);
    wire::store_be16(frame, 16, static_cast<uint16_t>(i));
    raw_send(frame);
  }
  std::vector<int> order;
  auto deadline = Clock::now() + std::chrono::seconds(3);
  while (order.size() < kFrames && Clock::now() < deadline) {
    pollfd pfd{port_->fd(), POLLIN, 0};
    poll(&pfd, 1, 20);
    size_t consumed = port_->receive(
        [&](std::span<const std::byte> frame, const wire::VirtioNetHdr&) {
          Bytes copy(frame.begin(), frame.end());
          if (is_test_frame(copy, 7)) order.push_back(wire::load_be16(copy, 16));
        },
        7);
    EXPECT_LE(consumed, 7u);
  }
  ASSERT_EQ(order.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) EXPECT_EQ(order[i], i);
}

TEST_P(PacketPortTest, SendsFrames) {
  PortStats before = port_->stats();
  for (uint8_t marker = 10; marker < 13; ++marker)
    port_->send(test_frame(b_mac_, port_->mac(), marker));
  port_->send(test_frame(kForeignMac, port_->mac(), 13, 1514));
  port_->flush();
  EXPECT_EQ(port_->stats().tx_frames - before.tx_frames, 4u);
  EXPECT_EQ(port_->stats().tx_errors, 0u);
  for (uint8_t marker = 10; marker < 14; ++marker) {
    auto got = raw_receive([&](const Bytes& f) { return is_test_frame(f, marker); });
    ASSERT_TRUE(got.has_value()) << int{marker};
    EXPECT_EQ(got->size(), marker == 13 ? 1514u : 100u);
  }
  // A frame above the MTU is refused by packet_snd() (EMSGSIZE) and counted; the rest still go.
  port_->send(test_frame(b_mac_, port_->mac(), 20, 3000));
  port_->send(test_frame(b_mac_, port_->mac(), 21));
  port_->flush();
  EXPECT_EQ(port_->stats().tx_errors, 1u);
  EXPECT_TRUE(raw_receive([&](const Bytes& f) { return is_test_frame(f, 21); }).has_value());
  // A full batch goes out without flush().
  PortOptions defaults;
  for (size_t i = 0; i < defaults.tx_batch; ++i) port_->send(test_frame(b_mac_, port_->mac(), 30));
  EXPECT_EQ(port_->stats().tx_frames - before.tx_frames, 5u + defaults.tx_batch);
}

TEST_P(PacketPortTest, CompletesTheChecksumOfKernelUdp) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  to.sin_addr.s_addr = htonl(kPeerAddr.value());
  std::string payload(333, 'u');
  ASSERT_EQ(
      sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
      static_cast<ssize_t>(payload.size()));
  close(fd);
  bool checked = false;
  EXPECT_TRUE(receive_until([&](const Bytes& frame) {
    auto ip = ipv4_of(frame, wire::IpProtocol::Udp);
    if (!ip || ip->destination() != kPeerAddr) return false;
    EXPECT_TRUE(ip->verify_checksum());
    wire::UdpConstView udp(ip->payload());
    EXPECT_EQ(udp.check(), std::nullopt);
    EXPECT_EQ(udp.destination_port(), 9999);
    EXPECT_EQ(udp.length(), 8 + payload.size());
    EXPECT_NE(udp.checksum(), 0);
    EXPECT_TRUE(udp.verify_checksum(kKernelAddr, kPeerAddr));
    checked = true;
    return true;
  }));
  EXPECT_TRUE(checked);
  // veth has tx-checksumming on, so the kernel left the sum to us (CHECKSUM_PARTIAL).
  EXPECT_GE(port_->stats().rx_csum_completed, 1u);
  EXPECT_EQ(port_->stats().rx_offload_errors, 0u);
}

TEST_P(PacketPortTest, RestoresVlanTagsTheKernelRemoved) {
  // The receive path untags every frame before packet taps see it (skb_vlan_untag() in
  // __netif_receive_skb_core()); the port puts the tag back, and the checksum start of a
  // CHECKSUM_PARTIAL frame moves with it.  The frame is sent from vpB by a packet socket with
  // PACKET_VNET_HDR asking for checksum offload, so it crosses the veth CHECKSUM_PARTIAL (this
  // needs no 8021q module, which a VLAN device would).
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int one = 1;
  ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one), 0);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = b_index_;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);

  const auto source = net::Ipv4Addr::from_octets(198, 51, 100, 1);
  const auto destination = net::Ipv4Addr::from_octets(198, 51, 100, 2);
  wire::EthernetRepr eth{
      .destination = port_->mac(), .source = b_mac_, .vlan = wire::VlanTag{.pcp = 5, .vlan_id = 7}};
  wire::UdpRepr udp{.source_port = 7000, .destination_port = 7777, .payload_len = 101};
  wire::Ipv4Repr ip{.source = source,
                    .destination = destination,
                    .protocol = wire::IpProtocol::Udp,
                    .payload_len = static_cast<uint16_t>(udp.buffer_len())};
  size_t l4 = eth.buffer_len() + ip.buffer_len();
  Bytes frame(l4 + udp.buffer_len(), std::byte{0x5a});
  std::span<std::byte> bytes(frame);
  ASSERT_EQ(eth.emit(bytes), std::nullopt);
  ASSERT_EQ(ip.emit(bytes.subspan(eth.buffer_len())), std::nullopt);
  ASSERT_EQ(udp.emit(bytes.subspan(l4), source, destination), std::nullopt);
  Bytes expected = frame;
  wire::store_be16(bytes, l4 + wire::udp_field::kChecksum,
                   wire::pseudo_header_sum(source, destination, wire::IpProtocol::Udp,
                                           static_cast<uint16_t>(udp.buffer_len())));
  VirtioNetHdr hdr{.flags = VirtioNetHdr::kNeedsCsum,
                   .csum_start = static_cast<uint16_t>(l4),
                   .csum_offset = wire::udp_field::kChecksum};
  Bytes message(sizeof hdr + frame.size());
  std::memcpy(message.data(), &hdr, sizeof hdr);
  std::memcpy(message.data() + sizeof hdr, frame.data(), frame.size());
  ASSERT_EQ(send(fd, message.data(), message.size(), 0), static_cast<ssize_t>(message.size()))
      << std::strerror(errno);
  close(fd);

  PortStats before = port_->stats();
  EXPECT_TRUE(receive_until([&](const Bytes& got) {
    auto ip_view = ipv4_of(got, wire::IpProtocol::Udp);
    if (!ip_view || ip_view->destination() != destination) return false;
    EXPECT_EQ(got, expected);  // tag (PCP 5, VID 7) back in place, checksum completed
    return true;
  }));
  EXPECT_EQ(port_->stats().rx_csum_completed - before.rx_csum_completed, 1u);
  EXPECT_EQ(port_->stats().rx_offload_errors, 0u);
}

// A TCP peer answered by hand: SYN-ACK for the kernel's SYN, then cumulative ACKs.
Bytes peer_segment(net::MacAddr kernel_mac, uint16_t kernel_port, uint32_t seq, uint32_t ack,
                   uint8_t flags, std::optional<uint16_t> mss) {
  wire::EthernetRepr eth{.destination = kernel_mac, .source = kPeerMac};
  wire::TcpRepr tcp{.source_port = 5001,
                    .destination_port = kernel_port,
                    .sequence_number = seq,
                    .acknowledgment_number = ack,
                    .flags = flags,
                    .window = 65535,
                    .max_segment_size = mss};
  wire::Ipv4Repr ip{.source = kPeerAddr,
                    .destination = kKernelAddr,
                    .protocol = wire::IpProtocol::Tcp,
                    .payload_len = static_cast<uint16_t>(tcp.buffer_len()),
                    .dont_fragment = true};
  Bytes frame(eth.buffer_len() + ip.buffer_len() + tcp.buffer_len());
  std::span<std::byte> bytes(frame);
  EXPECT_EQ(eth.emit(bytes), std::nullopt);
  EXPECT_EQ(ip.emit(bytes.subspan(eth.buffer_len())), std::nullopt);
  EXPECT_EQ(tcp.emit(bytes.subspan(eth.buffer_len() + ip.buffer_len()), kPeerAddr, kKernelAddr),
            std::nullopt);
  return frame;
}

TEST_P(PacketPortTest, SegmentsKernelTsoFrames) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5001);
  to.sin_addr.s_addr = htonl(kPeerAddr.value());
  ASSERT_NE(connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ASSERT_EQ(errno, EINPROGRESS);

  uint16_t kernel_port = 0;
  uint32_t kernel_isn = 0;
  ASSERT_TRUE(receive_until([&](const Bytes& frame) {
    auto ip = ipv4_of(frame, wire::IpProtocol::Tcp);
    if (!ip) return false;
    wire::TcpConstView tcp(ip->payload());
    if (tcp.check() || !tcp.syn()) return false;
    kernel_port = tcp.source_port();
    kernel_isn = tcp.sequence_number();
    return true;
  })) << "no SYN from the kernel";
  constexpr uint32_t kPeerIsn = 1000;
  constexpr uint16_t kMss = 1460;
  port_->send(peer_segment(b_mac_, kernel_port, kPeerIsn, kernel_isn + 1,
                           wire::kTcpSyn | wire::kTcpAck, kMss));
  port_->flush();
  pollfd pfd{fd, POLLOUT, 0};
  ASSERT_EQ(poll(&pfd, 1, 3000), 1) << "handshake did not complete";

  constexpr size_t kBytes = 200000;
  std::string data(kBytes, 'x');
  for (size_t i = 0; i < kBytes; ++i) data[i] = static_cast<char>('a' + i % 26);
  size_t written = 0;
  uint32_t next = kernel_isn + 1;  // next in-order byte expected
  size_t max_payload = 0, segments = 0;
  bool all_valid = true;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (next - (kernel_isn + 1) < kBytes && Clock::now() < deadline) {
    if (written < kBytes) {
      ssize_t n = ::send(fd, data.data() + written, kBytes - written, MSG_DONTWAIT);
      if (n > 0) written += static_cast<size_t>(n);
    }
    uint32_t before = next;
    receive_until(
        [&](const Bytes& frame) {
          auto ip = ipv4_of(frame, wire::IpProtocol::Tcp);
          if (!ip || ip->source() != kKernelAddr) return false;
          wire::TcpConstView tcp(ip->payload());
          if (tcp.check() || tcp.payload().empty()) return false;
          ++segments;
          all_valid = all_valid && ip->verify_checksum() &&
                      tcp.verify_checksum(kKernelAddr, kPeerAddr) && frame.size() <= 14u + 1500u;
          max_payload = std::max(max_payload, tcp.payload().size());
          if (tcp.sequence_number() == next) {
            size_t offset = next - (kernel_isn + 1);
            auto p = tcp.payload();
            for (size_t i = 0; i < p.size() && offset + i < kBytes; ++i) {
              all_valid = all_valid && p[i] == std::byte{static_cast<uint8_t>(data[offset + i])};
            }
            next += static_cast<uint32_t>(p.size());
          }
          return false;  // drain what is there
        },
        std::chrono::milliseconds(30));
    if (next != before) {
      port_->send(peer_segment(b_mac_, kernel_port, kPeerIsn + 1, next, wire::kTcpAck, {}));
      port_->flush();
    }
  }
  close(fd);
  EXPECT_EQ(next - (kernel_isn + 1), kBytes);
  EXPECT_TRUE(all_valid);
  EXPECT_LE(max_payload, kMss);
  EXPECT_GT(segments, kBytes / kMss - 1);
  EXPECT_GT(port_->stats().rx_gso_frames, 0u) << "the kernel sent no TSO super-frame";
  EXPECT_GT(port_->stats().rx_gso_segments, port_->stats().rx_gso_frames);
  EXPECT_EQ(port_->stats().rx_offload_errors, 0u);
  std::printf("kernel TCP: %zu segments, %llu GSO frames -> %llu segments\n", segments,
              static_cast<unsigned long long>(port_->stats().rx_gso_frames),
              static_cast<unsigned long long>(port_->stats().rx_gso_segments));
}

// What the port sends with a GSO header, the kernel segments: with vpA's offloads off
// (tx-checksumming, TSO, GSO), validate_xmit_skb() cuts each super-frame and fills its
// checksums before the veth, so vpB sees the segments.  They must be, byte for byte and in
// order, what resolve_offloads() makes of the same frame and header: counts and lengths, IPv4
// IDs, lengths and checksums, TCP sequence numbers and flags (CWR first only, FIN and PSH last
// only), UDP lengths and checksums.  The corpus has TCPv4 payloads around multiples of the
// segment size and at or under one segment (which the kernel sends as one frame), TCP and IPv4
// options, the ECN flag with CWR set, and UDP L4 (USO).  No header may be refused; a header
// the kernel refuses (hdr_len beyond the frame) is counted and cut in software instead.
struct OffloadCase {
  Bytes frame;
  VirtioNetHdr hdr;
  std::string what;
};

// `shape`: a given segment size and payload instead of random ones.
OffloadCase offload_case(std::mt19937& rng, int index,
                         std::optional<std::pair<uint16_t, size_t>> shape = std::nullopt) {
  auto pick = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  const auto src = net::Ipv4Addr::from_octets(198, 51, 100, 1);
  const auto dst = net::Ipv4Addr::from_octets(198, 51, 100, 2);
  const bool tcp = index % 4 != 3;
  static const uint16_t kSizes[] = {1448, 1400, 536, 1000};
  uint16_t mss = kSizes[pick(4)];
  size_t payload;
  switch (index % 6) {
    case 0:
      payload = pick(mss) + 1;  // one segment or less
      break;
    default:
      payload = (2 + pick(tcp ? 40 : 30)) * mss + (pick(3) - 1);
  }
  if (shape) std::tie(mss, payload) = *shape;
  const bool ip_options = pick(5) == 0;
  const bool ecn = tcp && pick(5) == 0;
  wire::TcpRepr t{
      .source_port = static_cast<uint16_t>(40000 + index),
      .destination_port = 5201,
      .sequence_number = static_cast<uint32_t>(rng()),
      .acknowledgment_number = 77,
      .flags = static_cast<uint8_t>(wire::kTcpAck | (pick(2) ? wire::kTcpPsh : 0) |
                                    (pick(6) == 0 ? wire::kTcpFin : 0) | (ecn ? wire::kTcpCwr : 0)),
      .window = 502,
      .payload_len = static_cast<uint16_t>(payload)};
  if (pick(3) == 0) t.max_segment_size = 1460;
  wire::UdpRepr u{static_cast<uint16_t>(40000 + index), 5001, static_cast<uint16_t>(payload)};
  const size_t l4_len = tcp ? t.buffer_len() : u.buffer_len();
  const size_t ihl = ip_options ? 24 : 20;
  Bytes frame(14 + ihl + l4_len);
  std::span<std::byte> bytes(frame);
  const size_t l4 = 14 + ihl;
  for (size_t i = l4 + (tcp ? t.header_len() : 8); i < frame.size(); ++i) {
    frame[i] = std::byte{static_cast<uint8_t>(i * 31 + index)};
  }
  EXPECT_EQ((wire::EthernetRepr{kForeignMac, kPeerMac, wire::EtherType::Ipv4}.emit(bytes)),
            std::nullopt);
  wire::Ipv4Repr ip{.source = src,
                    .destination = dst,
                    .protocol = tcp ? wire::IpProtocol::Tcp : wire::IpProtocol::Udp,
                    .payload_len = static_cast<uint16_t>(l4_len),
                    .identification = static_cast<uint16_t>(rng()),
                    .dont_fragment = pick(4) != 0};
  ip.tos = ecn ? 0x02 : 0;
  // IPv4 options: emit at 20 bytes, then move the transport part back by one NOP word.
  Bytes ip_bytes(20 + l4_len);
  EXPECT_EQ(ip.emit(ip_bytes), std::nullopt);
  std::copy(ip_bytes.begin(), ip_bytes.begin() + 20, frame.begin() + 14);
  if (ip_options) {
    std::fill(frame.begin() + 34, frame.begin() + 38, std::byte{1});
    frame[14] = std::byte{0x46};
    wire::store_be16(bytes, 16, static_cast<uint16_t>(ihl + l4_len));
    wire::Ipv4View(bytes.subspan(14)).fill_checksum();
  }
  std::span<std::byte> l4_bytes = bytes.subspan(l4);
  EXPECT_EQ(tcp ? t.emit(l4_bytes, src, dst) : u.emit(l4_bytes, src, dst), std::nullopt);
  // CHECKSUM_PARTIAL: the pseudo-header sum in the checksum field.
  const size_t field = tcp ? wire::tcp_field::kChecksum : wire::udp_field::kChecksum;
  wire::store_be16(l4_bytes, field,
                   wire::pseudo_header_sum(src, dst, ip.protocol, static_cast<uint16_t>(l4_len)));
  VirtioNetHdr hdr{.flags = VirtioNetHdr::kNeedsCsum,
                   .gso_type = tcp ? VirtioNetHdr::kGsoTcpv4 : VirtioNetHdr::kGsoUdpL4,
                   .hdr_len = static_cast<uint16_t>(l4 + (tcp ? t.header_len() : 8)),
                   .gso_size = mss,
                   .csum_start = static_cast<uint16_t>(l4),
                   .csum_offset = static_cast<uint16_t>(field)};
  if (ecn) hdr.gso_type |= VirtioNetHdr::kGsoEcn;
  std::string what = std::string(tcp ? "tcp" : "udp") + " payload " + std::to_string(payload) +
                     " mss " + std::to_string(mss) + (ip_options ? " ip-options" : "") +
                     (ecn ? " ecn" : "") + (t.max_segment_size ? " tcp-options" : "");
  return {std::move(frame), hdr, what};
}

TEST_P(PacketPortTest, KernelSegmentsWhatThePortSendsAsSoftwareDoes) {
  if (!run("command -v ethtool")) GTEST_SKIP() << "ethtool not found";
  ASSERT_TRUE(run("ethtool -K vpA tx off tso off gso off"));
  std::mt19937 rng(4242);
  const auto dst = net::Ipv4Addr::from_octets(198, 51, 100, 2);
  size_t frames_checked = 0, segments_checked = 0;
  auto check = [&](const OffloadCase& c) {
    std::vector<Bytes> expected;
    std::string error;
    ASSERT_TRUE(wire::resolve_offloads(c.frame, c.hdr, &expected, &error)) << c.what << error;
    port_->send(c.frame, c.hdr);
    port_->flush();
    for (size_t k = 0; k < expected.size(); ++k) {
      auto got = raw_receive([&](const Bytes& f) {
        auto ip = ipv4_of(f, static_cast<wire::IpProtocol>(std::to_integer<uint8_t>(c.frame[23])));
        return ip && ip->destination() == dst &&
               wire::load_be16(f, 14 + ip->header_len_bytes()) ==
                   wire::load_be16(c.frame, 14 + ip->header_len_bytes());
      });
      ASSERT_TRUE(got.has_value()) << c.what << ": segment " << k << " of " << expected.size();
      ASSERT_EQ(*got, expected[k]) << c.what << ": segment " << k << " of " << expected.size();
      ++segments_checked;
    }
    ++frames_checked;
  };
  for (int i = 0; i < 60; ++i) {
    check(offload_case(rng, i));
    if (HasFatalFailure()) return;
  }
  EXPECT_EQ(frames_checked, 60u);
  EXPECT_GT(segments_checked, 600u);
  EXPECT_EQ(port_->stats().tx_offload_refused, 0u);
  EXPECT_EQ(port_->stats().tx_errors, 0u);
  EXPECT_EQ(port_->stats().tx_gso_frames, 60u);

  // A header the kernel refuses (USO of more than UDP_MAX_SEGMENTS segments: EINVAL in
  // virtio_net_hdr_to_skb()) is counted and the frame cut here instead.
  OffloadCase bad = offload_case(rng, 3, std::pair<uint16_t, size_t>{200, 200 * 150 + 7});
  check(bad);
  EXPECT_EQ(port_->stats().tx_offload_refused, 1u);
  EXPECT_EQ(port_->stats().tx_errors, 0u);
}

// With vpA's offloads at their defaults, veth passes the super-frame on whole: a capture with
// PACKET_VNET_HDR on vpB gets the same bytes and the GSO type, size and checksum offsets the
// port wrote.
TEST_P(PacketPortTest, SuperFramesCrossTheVethWhole) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int one = 1;
  ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one), 0);
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = b_index_;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::mt19937 rng(77);
  for (int i = 1; i < 12; ++i) {
    if (i % 6 == 0) continue;  // one segment or less: the kernel drops the GSO fields
    OffloadCase c = offload_case(rng, i);
    port_->send(c.frame, c.hdr);
    port_->flush();
    Bytes buffer(70000);
    bool seen = false;
    auto deadline = Clock::now() + std::chrono::seconds(3);
    while (!seen && Clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      poll(&pfd, 1, 20);
      ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n < static_cast<ssize_t>(sizeof(VirtioNetHdr) + c.frame.size())) continue;
      Bytes frame(buffer.begin() + sizeof(VirtioNetHdr), buffer.begin() + n);
      if (frame != c.frame) continue;
      VirtioNetHdr got;
      std::memcpy(&got, buffer.data(), sizeof got);
      EXPECT_EQ(got.gso_type, c.hdr.gso_type) << c.what;
      EXPECT_EQ(got.gso_size, c.hdr.gso_size) << c.what;
      EXPECT_EQ(got.csum_start, c.hdr.csum_start) << c.what;
      EXPECT_EQ(got.csum_offset, c.hdr.csum_offset) << c.what;
      EXPECT_EQ(got.flags & VirtioNetHdr::kNeedsCsum, VirtioNetHdr::kNeedsCsum) << c.what;
      seen = true;
    }
    EXPECT_TRUE(seen) << c.what;
  }
  close(fd);
  EXPECT_EQ(port_->stats().tx_offload_refused, 0u);
  EXPECT_EQ(port_->stats().tx_errors, 0u);
}

TEST_P(PacketPortTest, KernelDropsAreReadable) {
  port_->update_kernel_stats();
  EXPECT_EQ(port_->stats().rx_kernel_drops, 0u);
}

INSTANTIATE_TEST_SUITE_P(Rx, PacketPortTest, testing::Values(RxMode::Ring, RxMode::Mmsg),
                         [](const testing::TestParamInfo<RxMode>& param) {
                           return param.param == RxMode::Ring ? "Ring" : "Mmsg";
                         });

}  // namespace
}  // namespace vnet::dataplane
