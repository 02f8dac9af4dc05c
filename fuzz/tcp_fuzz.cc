// libFuzzer target for TCP and the HTTP server behind it: a node runs httpd on port 80 and a
// listener on 5000 that never accepts; the input is a script of segments from one remote peer,
// each built with a valid checksum so the fuzzer reaches the state machine rather than the
// checksum test.  A segment's sequence and acknowledgment numbers are offsets from what the
// node last sent and expects (read back from its transmitted frames), so handshakes complete,
// data flows into Apache's request parser, and FIN/RST/SACK/window paths are reached.  Time
// advances between segments and the node's timers run (retransmissions, TIME_WAIT, keep-alive).
//
// Script: per segment 12 bytes of header fields, then up to 255 payload bytes:
//   [flags] [port selector] [seq delta: 2] [ack delta: 2] [window: 2] [option mode] [len]
//   [time step] [ts echo mode] payload...
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace {

using vnet::net::Ipv4Addr;

struct Sink : vnet::stack::NodeIo {
  void transmit(int, std::span<const std::byte> frame) override {
    // Remember the node's last TCP segment to the peer: its seq and ack drive the script.
    if (frame.size() < 14 + 20 + 20) return;
    if (frame[12] != std::byte{0x08} || frame[13] != std::byte{0x00}) return;
    auto ip = frame.subspan(14);
    if (static_cast<uint8_t>(ip[9]) != 6) return;
    size_t ihl = (static_cast<uint8_t>(ip[0]) & 0x0f) * 4u;
    if (ip.size() < ihl + 20) return;
    auto tcp = ip.subspan(ihl);
    last_seq = vnet::wire::load_be32(tcp, 4);
    last_ack = vnet::wire::load_be32(tcp, 8);
    last_sport = vnet::wire::load_be16(tcp, 0);
    last_dport = vnet::wire::load_be16(tcp, 2);
    ++segments;
  }
  uint32_t last_seq = 0, last_ack = 0;
  uint16_t last_sport = 0, last_dport = 0;
  size_t segments = 0;
};

struct Host {
  Host() {
    node.set_io(&sink);
    vnet::cmd::Shell sh(node);
    for (const char* line : {
             "ip link set lo up",
             "ip link add eth0 type veth peer name eth0p",
             "ip link set eth0 up",
             "ip link set eth0p up",
             "ip addr add 192.0.2.1/24 dev eth0",
             "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev eth0",
             "echo hello > /var/www/html/index.html",
             "systemctl start httpd",
         }) {
      sh.run(line);
    }
    node.tcp().listen({Ipv4Addr(), 5000}, 1, nullptr);
    mac = node.device_by_name("eth0")->mac;
    ifindex = node.device_by_name("eth0")->ifindex;
  }
  Sink sink;
  vnet::stack::Node node;
  vnet::net::MacAddr mac;
  int ifindex = 0;
  uint64_t now = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Host* h = new Host();  // connections carry over between inputs, as on a real host
  const Ipv4Addr peer = Ipv4Addr::from_octets(192, 0, 2, 2);
  const Ipv4Addr self = Ipv4Addr::from_octets(192, 0, 2, 1);
  size_t pos = 0;
  int segments = 0;
  while (pos + 12 <= size && segments < 64) {
    const uint8_t* f = data + pos;
    pos += 12;
    size_t len = std::min<size_t>(f[9], size - pos);
    const uint16_t ports[] = {80, 5000, 81, 80};
    uint16_t dport = ports[f[1] & 3];
    uint16_t sport = static_cast<uint16_t>(40000 + (f[1] >> 2));
    uint32_t seq_base = h->sink.last_dport == sport ? h->sink.last_ack : 1000;
    uint32_t ack_base = h->sink.last_dport == sport ? h->sink.last_seq + 1 : 0;
    uint32_t seq =
        seq_base +
        static_cast<int16_t>(vnet::wire::load_be16(
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(f + 2), 2), 0));
    uint32_t ack =
        ack_base +
        static_cast<int16_t>(vnet::wire::load_be16(
            std::span<const std::byte>(reinterpret_cast<const std::byte*>(f + 4), 2), 0));
    uint16_t window = static_cast<uint16_t>(f[6] << 8 | f[7]);
    // Options: none, MSS+SACK-permitted+TS+WS (a SYN's), TS, a SACK block, or raw bytes.
    std::vector<std::byte> opts;
    auto put = [&](std::initializer_list<int> bytes) {
      for (int b : bytes) opts.push_back(static_cast<std::byte>(b));
    };
    switch (f[8] % 5) {
      case 1:
        put({2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, f[11] & 15});
        break;
      case 2:
        put({1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, f[11]});
        break;
      case 3: {
        uint32_t b = ack + 1448u * (f[11] & 7), e = b + 1448;
        put({1, 1, 5, 10});
        for (uint32_t v : {b, e}) {
          for (int k = 3; k >= 0; --k) opts.push_back(static_cast<std::byte>(v >> (8 * k)));
        }
        break;
      }
      case 4:
        for (int k = 0; k < (f[11] & 7) * 4 && pos + k < size; ++k) {
          opts.push_back(static_cast<std::byte>(data[pos + k]));
        }
        break;
      default:
        break;
    }
    while (opts.size() % 4) opts.push_back(std::byte{1});
    std::vector<std::byte> seg(20 + opts.size() + len);
    vnet::wire::TcpView t(seg);
    t.set_source_port(sport);
    t.set_destination_port(dport);
    t.set_sequence_number(seq);
    t.set_acknowledgment_number(ack);
    seg[12] = static_cast<std::byte>(((20 + opts.size()) / 4) << 4);
    t.set_flags(f[0]);
    t.set_window(window);
    // Not memcpy: an empty vector's data() may be null, which memcpy must not get.
    std::copy(opts.begin(), opts.end(), seg.begin() + 20);
    if (len) std::memcpy(seg.data() + 20 + opts.size(), data + pos, len);
    t.fill_checksum(peer, self);
    pos += len;
    vnet::wire::Ipv4Repr ip;
    ip.source = peer;
    ip.destination = self;
    ip.protocol = vnet::wire::IpProtocol::Tcp;
    ip.payload_len = static_cast<uint16_t>(seg.size());
    ip.ttl = 64;
    std::vector<std::byte> frame(14 + 20 + seg.size());
    for (int i = 0; i < 6; ++i) frame[i] = static_cast<std::byte>(h->mac[i]);
    for (int i = 6; i < 12; ++i) frame[i] = std::byte{0x02};
    frame[11] = std::byte{0x02};
    frame[12] = std::byte{0x08};
    frame[13] = std::byte{0x00};
    if (ip.emit(std::span<std::byte>(frame).subspan(14, 20 + seg.size()))) return 0;
    std::memcpy(frame.data() + 34, seg.data(), seg.size());
    h->now += (f[10] % 16) * 50'000'000ull;
    h->node.receive(h->ifindex, frame, h->now);
    if (h->node.next_deadline_ns() <= h->now) h->node.run_timers(h->now);
    ++segments;
  }
  // Let the timers catch up now and then (TIME_WAIT, retransmissions, keep-alive).
  h->now += 1'000'000'000;
  if (h->node.next_deadline_ns() <= h->now) h->node.run_timers(h->now);
  return 0;
}
