// Element: anything the simulator drives (a stack::Node through NodeElement, a LearningBridge,
// a test probe).  ElementIo: what the simulator gives an element so it can send frames.
//
// An element has ports numbered from 1 (for a Node they are ifindexes) and reacts to three
// things: a frame arriving on a port, its own timer coming due, and the far end of a link coming
// up or going down.  It never reads a clock: the time is an argument.  It answers by calling
// ElementIo::transmit(), from inside those calls or from outside (a test that makes an element
// send), and by reporting its next deadline.  The simulator asks for the deadline after every
// call it makes into the element, and calls run_timers() at exactly that time.
//
// Example: an element that echoes a frame 1 ms later records the frame in receive(), returns
// now + 1'000'000 from next_deadline_ns(), and in run_timers() calls io->transmit(port, frame).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>

namespace vnet::sim {

// The same value as stack::kNoDeadline (node_element.cc checks it), repeated here so that the
// simulator core does not depend on the stack layer.
inline constexpr uint64_t kNoDeadline = std::numeric_limits<uint64_t>::max();

class ElementIo {
 public:
  virtual ~ElementIo() = default;
  // Sends one Ethernet frame (destination MAC first, no FCS) out of `port`.  The frame is copied
  // before the call returns.
  virtual void transmit(int port, std::span<const std::byte> frame) = 0;
  // The simulator's current virtual time.
  virtual uint64_t now_ns() const = 0;
};

class Element {
 public:
  virtual ~Element() = default;
  // Called once, when the element is added to a simulator; io outlives the element's use of it.
  virtual void attach(ElementIo* io) = 0;
  // A frame arrived on `port` at now_ns.  The span is valid only during the call.
  virtual void receive(int port, std::span<const std::byte> frame, uint64_t now_ns) = 0;
  // The earliest time run_timers() must be called, or kNoDeadline.
  virtual uint64_t next_deadline_ns() const { return kNoDeadline; }
  virtual void run_timers(uint64_t /*now_ns*/) {}
  // The far end of the link on `port` came up (true) or went down (false): the carrier state.
  // Ports start without carrier; connecting a link raises it when the far port is up.
  virtual void set_carrier(int /*port*/, bool /*up*/) {}
  // Whether `port` exists, checked when a link is connected or a frame injected.
  virtual bool has_port(int port) const { return port >= 1; }
  // The port's name in capture file names and traces.
  virtual std::string port_name(int port) const { return std::to_string(port); }
};

}  // namespace vnet::sim
