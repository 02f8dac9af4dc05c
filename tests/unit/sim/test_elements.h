// Small elements and frame builders for the simulator tests.
//
//   Probe      records every frame and carrier change; sends when the test tells it to.
//   Echo       sends every frame back out of its arrival port 1 ms later (a timer per frame).
//   Alarm      asks for the deadlines it is given, records when run_timers() is called.
//   Forwarder  port 1 -> port 2 and port 2 -> port 1, immediately (the benchmark's element).
//
// Frames use the IEEE local experimental EtherType 0x88b5 (tshark shows them as data) with a
// 4-byte sequence number first in the payload, or are ARP requests from the RFC 5737 range.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "net/ipv4_addr.h"
#include "sim/element.h"
#include "wire/arp.h"
#include "wire/ethernet.h"

namespace vnet::sim::test {

using Bytes = std::vector<std::byte>;

inline net::MacAddr mac(uint8_t last) {
  return net::MacAddr(0x02, 0, 0, 0, 0, last);
}

// Destination, source, EtherType 0x88b5, then `payload_bytes` bytes: the big-endian `sequence`
// followed by 0xa5 filler (at least 4 bytes of payload).
inline Bytes data_frame(net::MacAddr destination, net::MacAddr source, uint32_t sequence,
                        size_t payload_bytes = 46) {
  Bytes frame(14 + std::max<size_t>(payload_bytes, 4), std::byte{0xa5});
  wire::EthernetView view(frame);
  view.set_destination(destination);
  view.set_source(source);
  frame[12] = std::byte{0x88};
  frame[13] = std::byte{0xb5};
  for (int i = 0; i < 4; ++i) frame[14 + i] = std::byte((sequence >> (24 - 8 * i)) & 0xff);
  return frame;
}

inline uint32_t sequence_of(std::span<const std::byte> frame) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = value << 8 | std::to_integer<uint32_t>(frame[14 + i]);
  return value;
}

// A broadcast ARP request "who has 192.0.2.<target>? tell 192.0.2.<sender>" padded to 60 bytes.
inline Bytes arp_request(uint8_t sender, uint8_t target) {
  Bytes frame(60, std::byte{0});
  wire::EthernetRepr ethernet{net::MacAddr::broadcast(), mac(sender), wire::EtherType::Arp};
  wire::ArpRepr arp;
  arp.operation = wire::ArpOperation::Request;
  arp.sender_hardware_address = mac(sender);
  arp.sender_protocol_address = net::Ipv4Addr::from_octets(192, 0, 2, sender);
  arp.target_protocol_address = net::Ipv4Addr::from_octets(192, 0, 2, target);
  (void)ethernet.emit(frame);
  (void)arp.emit(std::span<std::byte>(frame).subspan(14));
  return frame;
}

struct Received {
  int port = 0;
  uint64_t time_ns = 0;
  Bytes frame;
};

class Probe : public Element {
 public:
  void attach(ElementIo* io) override { io_ = io; }
  void receive(int port, std::span<const std::byte> frame, uint64_t now_ns) override {
    received.push_back({port, now_ns, Bytes(frame.begin(), frame.end())});
  }
  void set_carrier(int port, bool up) override {
    carrier_changes.push_back(std::to_string(port) + (up ? " up" : " down"));
  }
  void send(int port, std::span<const std::byte> frame) { io_->transmit(port, frame); }

  std::vector<Received> received;
  std::vector<std::string> carrier_changes;

 private:
  ElementIo* io_ = nullptr;
};

class Echo : public Element {
 public:
  static constexpr uint64_t kDelayNs = 1'000'000;

  void attach(ElementIo* io) override { io_ = io; }
  void receive(int port, std::span<const std::byte> frame, uint64_t now_ns) override {
    pending_.push_back({port, now_ns + kDelayNs, Bytes(frame.begin(), frame.end())});
  }
  uint64_t next_deadline_ns() const override {
    return pending_.empty() ? kNoDeadline : pending_.front().time_ns;
  }
  void run_timers(uint64_t now_ns) override {
    while (!pending_.empty() && pending_.front().time_ns <= now_ns) {
      io_->transmit(pending_.front().port, pending_.front().frame);
      pending_.pop_front();
    }
  }

 private:
  ElementIo* io_ = nullptr;
  std::deque<Received> pending_;  // time_ns = when to send
};

class Alarm : public Element {
 public:
  explicit Alarm(std::set<uint64_t> deadlines = {}) : deadlines_(std::move(deadlines)) {}
  void attach(ElementIo* /*io*/) override {}
  void receive(int /*port*/, std::span<const std::byte> /*frame*/, uint64_t /*now_ns*/) override {}
  uint64_t next_deadline_ns() const override {
    return deadlines_.empty() ? kNoDeadline : *deadlines_.begin();
  }
  void run_timers(uint64_t now_ns) override {
    calls.push_back(now_ns);
    while (!deadlines_.empty() && *deadlines_.begin() <= now_ns)
      deadlines_.erase(deadlines_.begin());
  }
  void set(std::set<uint64_t> deadlines) { deadlines_ = std::move(deadlines); }

  std::vector<uint64_t> calls;

 private:
  std::set<uint64_t> deadlines_;
};

class Forwarder : public Element {
 public:
  void attach(ElementIo* io) override { io_ = io; }
  void receive(int port, std::span<const std::byte> frame, uint64_t /*now_ns*/) override {
    io_->transmit(port == 1 ? 2 : 1, frame);
  }
  bool has_port(int port) const override { return port == 1 || port == 2; }

 private:
  ElementIo* io_ = nullptr;
};

}  // namespace vnet::sim::test
