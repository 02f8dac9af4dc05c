// Frames a VM sends into its vSwitch port, built with the wire Reprs, for the vpc tests:
// a UDP datagram to the vSwitch's MAC and an ARP request.
//
// Example: vm_udp_frame(vm_mac, VSwitch::default_mac(), 10.0.1.141, 172.16.0.47, payload)
//   -> 14 + 20 + 8 + payload.size() bytes, IPv4 and UDP checksums filled, TTL 64.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "net/ipv4_addr.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::vpc::test {

// An IPv4 packet carrying one UDP datagram with the given payload.
inline std::vector<std::byte> udp_packet(net::Ipv4Addr src, net::Ipv4Addr dst,
                                         std::span<const std::byte> payload, uint8_t ttl = 64,
                                         uint16_t identification = 1, uint8_t tos = 0,
                                         bool dont_fragment = true) {
  wire::UdpRepr udp;
  udp.source_port = 40000;
  udp.destination_port = 7;
  udp.payload_len = static_cast<uint16_t>(payload.size());
  wire::Ipv4Repr ip;
  ip.source = src;
  ip.destination = dst;
  ip.protocol = wire::IpProtocol::Udp;
  ip.payload_len = static_cast<uint16_t>(udp.buffer_len());
  ip.ttl = ttl;
  ip.tos = tos;
  ip.identification = identification;
  ip.dont_fragment = dont_fragment;
  std::vector<std::byte> out(ip.buffer_len() + udp.buffer_len());
  std::span<std::byte> l4 = std::span(out).subspan(ip.buffer_len());
  if (!payload.empty()) std::memcpy(l4.data() + 8, payload.data(), payload.size());
  (void)udp.emit(l4, src, dst);
  (void)ip.emit(out);
  return out;
}

inline std::vector<std::byte> ether_frame(net::MacAddr dst, net::MacAddr src, wire::EtherType type,
                                          std::span<const std::byte> payload) {
  wire::EthernetRepr eth;
  eth.destination = dst;
  eth.source = src;
  eth.ethertype = type;
  std::vector<std::byte> out(14 + payload.size());
  (void)eth.emit(out);
  if (!payload.empty()) std::memcpy(out.data() + 14, payload.data(), payload.size());
  return out;
}

// "who-has target tell sender", broadcast.
inline std::vector<std::byte> arp_request_frame(net::MacAddr mac, net::Ipv4Addr sender,
                                                net::Ipv4Addr target) {
  wire::ArpRepr arp;
  arp.operation = wire::ArpOperation::Request;
  arp.sender_hardware_address = mac;
  arp.sender_protocol_address = sender;
  arp.target_protocol_address = target;
  std::vector<std::byte> payload(arp.buffer_len());
  (void)arp.emit(payload);
  return ether_frame(net::MacAddr::broadcast(), mac, wire::EtherType::Arp, payload);
}

}  // namespace vnet::vpc::test
