// Driver: how a command that needs time (ping, traceroute, arping) makes the network run.  The
// simulator implements it by processing its event queue; `vnet node`, which has one node and
// no links, by running that node's timers.
//
// Example: ping sends a request, then calls advance_until(now + 1 s, [&] { return got_reply; }).
#pragma once

#include <cstdint>
#include <functional>

#include "stack/node.h"

namespace vnet::cmd {

class Driver {
 public:
  virtual ~Driver() = default;
  virtual uint64_t now_ns() const = 0;
  // Runs every event up to t_ns, or until stop() returns true after an event; returns the
  // virtual time reached.
  virtual uint64_t advance_until(uint64_t t_ns, const std::function<bool()>& stop) = 0;
};

// The driver of a lone node: only its own timers move time.
class SingleNodeDriver : public Driver {
 public:
  explicit SingleNodeDriver(stack::Node& node) : node_(node) {}
  uint64_t now_ns() const override { return now_; }
  uint64_t advance_until(uint64_t t_ns, const std::function<bool()>& stop) override {
    while (!stop()) {
      uint64_t next = node_.next_deadline_ns();
      if (next > t_ns) break;
      now_ = std::max(now_, next);
      node_.run_timers(now_);
    }
    if (!stop()) now_ = std::max(now_, t_ns);
    return now_;
  }

 private:
  stack::Node& node_;
  uint64_t now_ = 0;
};

}  // namespace vnet::cmd
