// VpcApplier: applies the agent's changes (ctrl/agent.h) to a node's vSwitch, on the node's
// own thread, with the same vpc::VSwitch calls the `vpc` command makes:
//
//   vpc config      put: vpc_set (declare / change subnets)    delete: vpc_undeclare
//   route           put: route_add Replace (a move away starts the grace time)  delete: route_del
//   neigh           put: neigh_add Replace                      delete: neigh_del
//   subnet-route    put: subnet_route_add (replacing)           delete: subnet_route_del
//   host config     put: set_local, grace, mac                  delete: local 0.0.0.0
//   port            put: port_add on the device of that name    delete: port_del
//
// The store orders events per prefix, not across them: a port can arrive before the neigh entry
// its MAC must match, or before its device exists.  A change the vSwitch refuses is kept
// (per key, the newest only) and tried again after every later batch, and `agent status` lists
// it with the vSwitch's reason.  Nothing is lost and nothing is applied out of date.
//
// Example: VpcApplier a(node); a.apply(changes, now_ns);  a.pending().size() -> 0
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ctrl/agent.h"
#include "stack/node.h"

namespace vnet::ctrl {

class VpcApplier {
 public:
  explicit VpcApplier(stack::Node& node) : node_(node) {}

  void apply(const std::vector<Change>& changes, uint64_t now_ns);
  // Tries the waiting changes again (after a device appeared, say).
  void retry(uint64_t now_ns);

  struct Pending {
    Change change;
    std::string error;
  };
  // By key.
  const std::map<std::string, Pending>& pending() const { return pending_; }
  uint64_t applied() const { return applied_; }
  uint64_t failures() const { return failures_; }

 private:
  // "" or the vSwitch's reason.
  std::string apply_one(const Change& c, uint64_t now_ns);

  stack::Node& node_;
  std::map<std::string, Pending> pending_;
  uint64_t applied_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace vnet::ctrl
