#include "sim/node_element.h"

#include <utility>

namespace vnet::sim {

static_assert(kNoDeadline == stack::kNoDeadline, "sim and stack must agree on 'no deadline'");

NodeElement::NodeElement(std::unique_ptr<stack::Node> node) : node_(std::move(node)) {}

NodeElement::PortResult NodeElement::add_link_port(const std::string& name,
                                                   std::optional<net::MacAddr> mac) {
  PortResult result;
  result.status = node_->link_add_external(name, mac);
  if (!result.status.ok()) return result;
  const stack::Device* device = node_->device_by_name(name);
  result.ifindex = device != nullptr ? device->ifindex : 0;
  return result;
}

void NodeElement::attach(ElementIo* io) {
  io_ = io;
  node_->set_io(this);
}

void NodeElement::receive(int port, std::span<const std::byte> frame, uint64_t now_ns) {
  node_->receive(port, frame, now_ns);
}

uint64_t NodeElement::next_deadline_ns() const {
  return node_->next_deadline_ns();
}

void NodeElement::run_timers(uint64_t now_ns) {
  node_->run_timers(now_ns);
}

void NodeElement::set_carrier(int port, bool up) {
  node_->set_carrier(port, up);
}

bool NodeElement::has_port(int port) const {
  return node_->device(port) != nullptr;
}

std::string NodeElement::port_name(int port) const {
  const stack::Device* device = node_->device(port);
  return device != nullptr ? device->name : std::to_string(port);
}

void NodeElement::transmit(int ifindex, std::span<const std::byte> frame) {
  // A node driven outside a simulator (not attached yet) has nowhere to send.
  if (io_ != nullptr) io_->transmit(ifindex, frame);
}

}  // namespace vnet::sim
