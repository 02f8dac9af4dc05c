// Packet builders and checkers shared by the netfilter tests: datagrams are built with the wire
// Reprs (so their checksums are right) and checked with the wire views.  Addresses are RFC 5737
// documentation ranges plus 10/8 for the inside of the NAT.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "net/ipv4_addr.h"
#include "nf/netfilter.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/udp.h"

namespace vnet::nf::test {

using net::Ipv4Addr;
using Packet = std::vector<std::byte>;

inline Ipv4Addr ip(const char* text) {
  return *Ipv4Addr::parse(text);
}

inline Packet ipv4(Ipv4Addr src, Ipv4Addr dst, wire::IpProtocol proto,
                   std::span<const std::byte> l4, uint8_t ttl = 64) {
  Packet p(20 + l4.size());
  wire::Ipv4Repr r;
  r.source = src;
  r.destination = dst;
  r.protocol = proto;
  r.payload_len = static_cast<uint16_t>(l4.size());
  r.ttl = ttl;
  r.dont_fragment = true;
  EXPECT_EQ(r.emit(p), std::nullopt);
  std::copy(l4.begin(), l4.end(), p.begin() + 20);
  return p;
}

inline Packet udp(const char* src, const char* dst, uint16_t sport, uint16_t dport,
                  bool zero_checksum = false) {
  Packet l4(8 + 4, std::byte{0x61});
  wire::UdpRepr u{sport, dport, 4};
  EXPECT_EQ(u.emit(l4, ip(src), ip(dst)), std::nullopt);
  if (zero_checksum) wire::UdpView(l4).set_checksum(0);
  return ipv4(ip(src), ip(dst), wire::IpProtocol::Udp, l4);
}

inline Packet tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport, uint8_t flags) {
  Packet l4(20);
  wire::TcpRepr t;
  t.source_port = sport;
  t.destination_port = dport;
  t.sequence_number = 1000;
  t.acknowledgment_number = (flags & wire::kTcpAck) ? 2000 : 0;
  t.flags = flags;
  t.window = 64240;
  EXPECT_EQ(t.emit(l4, ip(src), ip(dst)), std::nullopt);
  return ipv4(ip(src), ip(dst), wire::IpProtocol::Tcp, l4);
}

inline Packet echo(const char* src, const char* dst, bool request, uint16_t id, uint16_t seq) {
  std::vector<std::byte> data(8, std::byte{0x42});
  auto repr = request ? wire::IcmpRepr::echo_request(id, seq, data)
                      : wire::IcmpRepr::echo_reply(id, seq, data);
  Packet l4(repr.buffer_len());
  EXPECT_EQ(repr.emit(l4), std::nullopt);
  return ipv4(ip(src), ip(dst), wire::IpProtocol::Icmp, l4);
}

// An ICMP error from `src` to `dst` quoting the first 28 bytes of `original`.
inline Packet icmp_error(const char* src, const char* dst, const Packet& original,
                         bool time_exceeded) {
  std::span<const std::byte> quoted(original.data(), std::min<size_t>(original.size(), 28));
  auto repr =
      time_exceeded
          ? wire::IcmpRepr::time_exceeded(wire::TimeExceededCode::TtlExceeded, quoted)
          : wire::IcmpRepr::destination_unreachable(wire::UnreachableCode::PortUnreachable, quoted);
  Packet l4(repr.buffer_len());
  EXPECT_EQ(repr.emit(l4), std::nullopt);
  return ipv4(ip(src), ip(dst), wire::IpProtocol::Icmp, l4);
}

struct Ports {
  Ipv4Addr src, dst;
  uint16_t sport = 0, dport = 0;
};

// Addresses and ports after checking every checksum the packet carries.
inline Ports check_packet(const Packet& p) {
  wire::Ipv4ConstView v(p);
  EXPECT_EQ(v.check(), std::nullopt);
  EXPECT_TRUE(v.verify_checksum());
  Ports out{v.source(), v.destination()};
  if (v.protocol() == wire::IpProtocol::Udp) {
    wire::UdpConstView u(v.payload());
    EXPECT_TRUE(u.verify_checksum(v.source(), v.destination()));
    out.sport = u.source_port();
    out.dport = u.destination_port();
  } else if (v.protocol() == wire::IpProtocol::Tcp) {
    wire::TcpConstView t(v.payload());
    EXPECT_TRUE(t.verify_checksum(v.source(), v.destination()));
    out.sport = t.source_port();
    out.dport = t.destination_port();
  } else if (v.protocol() == wire::IpProtocol::Icmp) {
    wire::IcmpConstView i(v.payload());
    EXPECT_TRUE(i.verify_checksum());
    out.sport = i.echo_identifier();
  }
  return out;
}

// A router: eth0 (ifindex 1, 10.0.0.1/24) inside, eth1 (ifindex 2, 203.0.113.1/24) outside.
// Command lines are split on single spaces (no quoting in these tests).
inline std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> argv;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string::npos) sp = line.size();
    if (sp > pos) argv.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return argv;
}

struct Router {
  Netfilter nf;
  Iface eth0{1, "eth0"};
  Iface eth1{2, "eth1"};
  MasqueradeSource masq = [](int ifindex, Ipv4Addr) -> std::optional<Ipv4Addr> {
    if (ifindex == 2) return ip("203.0.113.1");
    if (ifindex == 1) return ip("10.0.0.1");
    return std::nullopt;
  };

  std::string iptables(const std::string& line, uint64_t now_ns = 0) {
    CmdResult r = run_iptables(nf, split(line), now_ns);
    EXPECT_EQ(r.status, 0) << line << ": " << r.err;
    return r.out;
  }

  // Forwards `p` from `in` to `out`; false when dropped.
  bool forward(Packet& p, const Iface& in, const Iface& out, uint64_t now_ns,
               HookTrace* trace = nullptr) {
    PacketCt ct;
    if (nf.pre_routing(p, in, now_ns, ct, trace) == Verdict::Drop) return false;
    return nf.post_routing(p, out, ip("203.0.113.254"), masq, now_ns, ct, trace) == Verdict::Accept;
  }
  bool out_to_in(Packet& p, uint64_t now_ns) { return forward(p, eth1, eth0, now_ns); }
  bool in_to_out(Packet& p, uint64_t now_ns) { return forward(p, eth0, eth1, now_ns); }
};

constexpr uint64_t kSec = 1'000'000'000ull;

}  // namespace vnet::nf::test
