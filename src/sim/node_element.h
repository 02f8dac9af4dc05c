// NodeElement: a stack::Node (one network namespace) as a simulator element.
//
// Input: frames the simulator delivers (port = ifindex), timers, carrier changes; output: the
// frames the node transmits through stack::NodeIo, handed to the simulator.  The adapter adds
// no behaviour: every call is forwarded to the Node, whose code is the same one vnetd runs.
// Ports are ifindexes and port names are device names, so captures are named like
// "h1-eth0.pcap".
//
// The lab loader configures the node through node() and must then tell the simulator what it
// cannot see: Sim::refresh_timer() after a change that may start a timer, and
// Sim::set_port_admin() after `ip link set dev X up/down`, so the far end's carrier follows.
//
// Example:
//   auto h1 = std::make_unique<NodeElement>(std::make_unique<stack::Node>());
//   int eth0 = h1->add_link_port("eth0").ifindex;
//   ElementId id = *sim.add_element("h1", std::move(h1));
//   (void)sim.connect(id, eth0, switch_id, 1, {});
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "net/ipv4_addr.h"
#include "sim/element.h"
#include "stack/node.h"
#include "stack/node_io.h"

namespace vnet::sim {

class NodeElement final : public Element, public stack::NodeIo {
 public:
  explicit NodeElement(std::unique_ptr<stack::Node> node);

  stack::Node& node() { return *node_; }
  const stack::Node& node() const { return *node_; }

  // The node-side interface for a link endpoint: an Ether device NAME (created down, without
  // addresses, as stack::Node::link_add_external() does).  ifindex is the port to connect; it is
  // 0 when status is an error.
  struct PortResult {
    stack::Status status;
    int ifindex = 0;
  };
  PortResult add_link_port(const std::string& name, std::optional<net::MacAddr> mac = std::nullopt);

  // Element
  void attach(ElementIo* io) override;
  void receive(int port, std::span<const std::byte> frame, uint64_t now_ns) override;
  uint64_t next_deadline_ns() const override;
  void run_timers(uint64_t now_ns) override;
  void set_carrier(int port, bool up) override;
  bool has_port(int port) const override;
  std::string port_name(int port) const override;

  // stack::NodeIo
  void transmit(int ifindex, std::span<const std::byte> frame) override;

 private:
  std::unique_ptr<stack::Node> node_;
  ElementIo* io_ = nullptr;
};

}  // namespace vnet::sim
