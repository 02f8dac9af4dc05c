// A gateway node whose two Ethernet ports are driven by the test: frames go in with receive()
// and come out through a recording NodeIo.  eth0 192.0.2.1/24 is the underlay/uplink (the
// neighbour 192.0.2.2 is permanent), eth1 198.51.100.1/24 a LAN with the host 198.51.100.2.
// Shared by the tunnel and netfilter path tests.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::stack::test {

using net::Ipv4Addr;
using net::MacAddr;

inline std::string to_hex(std::span<const std::byte> b) {
  std::string s;
  for (std::byte x : b) s += fmt::format("{:02x}", static_cast<unsigned>(x));
  return s;
}

inline Ipv4Addr A(const char* s) {
  return *Ipv4Addr::parse(s);
}

struct Recorder : NodeIo {
  struct Frame {
    int ifindex;
    std::vector<std::byte> bytes;
  };
  void transmit(int ifindex, std::span<const std::byte> frame) override {
    frames.push_back({ifindex, std::vector<std::byte>(frame.begin(), frame.end())});
  }
  std::vector<Frame> frames;
};

// gw: eth0 192.0.2.1/24 (the underlay; the remote 192.0.2.2 has a permanent neighbour entry),
// eth1 198.51.100.1/24 (a LAN with a host 198.51.100.2).
class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    node.set_io(&io);
    ASSERT_TRUE(node.link_add_external("eth0", MacAddr(2, 0, 0, 0, 0, 1)).ok());
    ASSERT_TRUE(node.link_add_external("eth1", MacAddr(2, 0, 0, 0, 1, 1)).ok());
    for (const char* n : {"eth0", "eth1"}) {
      int ix = node.device_by_name(n)->ifindex;
      node.link_set_up(ix, true);
      node.set_carrier(ix, true);
    }
    run("ip addr add 192.0.2.1/24 dev eth0");
    run("ip addr add 198.51.100.1/24 dev eth1");
    run("ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent");
    run("ip neigh add 198.51.100.2 lladdr 02:00:00:00:01:02 dev eth1 nud permanent");
    run("sysctl -qw net.ipv4.ip_forward=1");
  }
  void run(const std::string& line) {
    cmd::CmdOutput o = shell.run(line);
    ASSERT_EQ(o.status, 0) << line << "\n" << o.err;
  }
  std::string out(const std::string& line) { return shell.run(line).out; }
  int ifindex(const char* name) { return node.device_by_name(name)->ifindex; }
  const Device& dev(const char* name) { return *node.device_by_name(name); }

  // A frame from the LAN host to dst: ICMP echo id 7 seq 1 "vnet" (or `size` bytes of payload).
  std::vector<std::byte> lan_frame(Ipv4Addr dst, bool df = true, size_t size = 4, uint8_t tos = 0) {
    std::vector<std::byte> data(size);
    const char* vnet = "vnet";
    for (size_t i = 0; i < size; ++i) data[i] = static_cast<std::byte>(vnet[i % 4]);
    wire::IcmpRepr icmp = wire::IcmpRepr::echo_request(7, 1, data);
    wire::Ipv4Repr ip;
    ip.source = A("198.51.100.2");
    ip.destination = dst;
    ip.protocol = wire::IpProtocol::Icmp;
    ip.ttl = 64;
    ip.tos = tos;
    ip.identification = 0x1234;
    ip.dont_fragment = df;
    ip.payload_len = static_cast<uint16_t>(icmp.buffer_len());
    return ether(MacAddr(2, 0, 0, 0, 1, 1), MacAddr(2, 0, 0, 0, 1, 2), ip,
                 [&](auto buf) { (void)icmp.emit(buf); });
  }
  template <typename Fill>
  static std::vector<std::byte> ether(MacAddr dst, MacAddr src, const wire::Ipv4Repr& ip,
                                      Fill fill) {
    std::vector<std::byte> f(14 + 20 + ip.payload_len);
    wire::EthernetRepr eth{dst, src, wire::EtherType::Ipv4};
    (void)eth.emit(f);
    (void)ip.emit(std::span(f).subspan(14));
    fill(std::span(f).subspan(34));
    return f;
  }
  std::vector<std::byte> sent_on(const char* name) {
    std::vector<std::byte> last;
    for (const auto& f : io.frames) {
      if (f.ifindex == ifindex(name)) last = f.bytes;
    }
    return last;
  }
  // An outer IPv4 packet from the remote 192.0.2.2 to us, in a frame on eth0.
  std::vector<std::byte> from_remote(uint8_t protocol, std::span<const std::byte> payload,
                                     Ipv4Addr src = A("192.0.2.2")) {
    wire::Ipv4Repr ip;
    ip.source = src;
    ip.destination = A("192.0.2.1");
    ip.protocol = static_cast<wire::IpProtocol>(protocol);
    ip.ttl = 64;
    ip.payload_len = static_cast<uint16_t>(payload.size());
    return ether(MacAddr(2, 0, 0, 0, 0, 1), MacAddr(2, 0, 0, 0, 0, 2), ip,
                 [&](auto buf) { std::copy(payload.begin(), payload.end(), buf.begin()); });
  }
  // An echo request from 10.9.0.2 to 10.9.0.1, as the inner packet of a tunnel.
  static std::vector<std::byte> inner_echo(uint16_t seq = 1) {
    std::vector<std::byte> data = {std::byte{'h'}, std::byte{'i'}};
    wire::IcmpRepr icmp = wire::IcmpRepr::echo_request(9, seq, data);
    wire::Ipv4Repr ip;
    ip.source = A("10.9.0.2");
    ip.destination = A("10.9.0.1");
    ip.protocol = wire::IpProtocol::Icmp;
    ip.payload_len = static_cast<uint16_t>(icmp.buffer_len());
    std::vector<std::byte> p(20 + icmp.buffer_len());
    (void)ip.emit(p);
    (void)icmp.emit(std::span(p).subspan(20));
    return p;
  }
  std::vector<std::byte> gre_packet(std::optional<uint32_t> key, bool csum = false,
                                    std::optional<uint32_t> seq = std::nullopt,
                                    uint16_t seq_inner = 1) {
    std::vector<std::byte> inner = inner_echo(seq_inner);
    wire::GreRepr g;
    g.checksum = csum;
    g.key = key;
    g.sequence_number = seq;
    std::vector<std::byte> p(g.buffer_len() + inner.size());
    std::copy(inner.begin(), inner.end(), p.begin() + static_cast<long>(g.buffer_len()));
    (void)g.emit(p);
    return p;
  }
  // ICMP messages the node sent out of eth1 (to the LAN host): {type, code, mtu}.
  std::vector<std::tuple<int, int, int>> icmp_to_lan() {
    std::vector<std::tuple<int, int, int>> seen;
    for (const auto& f : io.frames) {
      if (f.ifindex != ifindex("eth1")) continue;
      wire::Ipv4ConstView ip(std::span(f.bytes).subspan(14));
      if (ip.protocol() != wire::IpProtocol::Icmp) continue;
      auto icmp = ip.payload();
      seen.emplace_back(static_cast<int>(icmp[0]), static_cast<int>(icmp[1]),
                        wire::load_be16(icmp, 6));
    }
    return seen;
  }

  Node node;
  Recorder io;
  cmd::Shell shell{node};
};

}  // namespace vnet::stack::test
