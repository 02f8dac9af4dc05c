#include "sim/learning_bridge.h"

#include <algorithm>

#include "wire/ethernet.h"

namespace vnet::sim {
namespace {

// is_link_local_ether_addr(): 01:80:c2:00:00:0X.
bool is_link_local(net::MacAddr mac) {
  return mac[0] == 0x01 && mac[1] == 0x80 && mac[2] == 0xc2 && mac[3] == 0 && mac[4] == 0 &&
         (mac[5] & 0xf0) == 0;
}

}  // namespace

const char* LearningBridge::to_string(Drop reason) {
  switch (reason) {
    case Drop::Runt:
      return "runt";
    case Drop::PortDown:
      return "port_down";
    case Drop::InvalidSource:
      return "invalid_source";
    case Drop::LinkLocal:
      return "link_local";
    case Drop::SamePort:
      return "same_port";
  }
  return "unknown";
}

LearningBridge::LearningBridge(int port_count, uint64_t ageing_ns)
    : port_count_(std::max(port_count, 0)),
      ageing_ns_(ageing_ns),
      carrier_(static_cast<size_t>(port_count_) + 1, false) {}

void LearningBridge::receive(int port, std::span<const std::byte> frame, uint64_t now_ns) {
  ++counters_.rx_frames;
  wire::EthernetConstView ethernet(frame);
  if (ethernet.check()) return count_drop(Drop::Runt);
  if (!carrier(port)) return count_drop(Drop::PortDown);
  const net::MacAddr source = ethernet.source();
  if (source.is_multicast() || source.is_zero()) return count_drop(Drop::InvalidSource);

  // br_fdb_update(): learn or refresh, moving the entry if the station changed ports.
  auto [entry, inserted] = fdb_.try_emplace(source, FdbEntry{port, now_ns});
  if (!inserted) entry->second = FdbEntry{port, now_ns};
  sweep_ns_ = std::min(sweep_ns_, expiry_ns(entry->second));

  const net::MacAddr destination = ethernet.destination();
  if (is_link_local(destination) && destination[5] != 0x00) return count_drop(Drop::LinkLocal);
  if (destination.is_multicast()) return flood(port, frame);
  std::optional<int> out = lookup(destination, now_ns);
  if (!out) return flood(port, frame);
  if (*out == port) return count_drop(Drop::SamePort);
  if (!carrier(*out)) return count_drop(Drop::PortDown);
  ++counters_.forwarded_frames;
  send(*out, frame);
}

std::optional<int> LearningBridge::lookup(net::MacAddr mac, uint64_t now_ns) const {
  auto it = fdb_.find(mac);
  if (it == fdb_.end() || expired(it->second, now_ns)) return std::nullopt;
  return it->second.port;
}

void LearningBridge::send(int port, std::span<const std::byte> frame) {
  ++counters_.tx_frames;
  io_->transmit(port, frame);
}

// br_flood(): every forwarding port but the one the frame came in on, in port order.
void LearningBridge::flood(int ingress_port, std::span<const std::byte> frame) {
  ++counters_.flooded_frames;
  for (int port = 1; port <= port_count_; ++port) {
    if (port != ingress_port && carrier_[port]) send(port, frame);
  }
}

uint64_t LearningBridge::next_deadline_ns() const {
  return fdb_.empty() ? kNoDeadline : sweep_ns_;
}

// br_fdb_cleanup(): remove expired entries, then wake at the earliest remaining expiry.
void LearningBridge::run_timers(uint64_t now_ns) {
  sweep_ns_ = kNoDeadline;
  for (auto it = fdb_.begin(); it != fdb_.end();) {
    if (expired(it->second, now_ns)) {
      it = fdb_.erase(it);
    } else {
      sweep_ns_ = std::min(sweep_ns_, expiry_ns(it->second));
      ++it;
    }
  }
}

void LearningBridge::set_carrier(int port, bool up) {
  if (!has_port(port) || carrier_[port] == up) return;
  carrier_[port] = up;
  if (up) return;
  std::erase_if(fdb_, [port](const auto& item) { return item.second.port == port; });
}

}  // namespace vnet::sim
