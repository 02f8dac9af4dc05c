// ControlPlane: what a node's commands know of the control plane around them (ctrl/), given to
// the node's Shell by whoever runs the node: the lab runner (the embedded store) or vnetd (etcd).
//
//   vpc --etcd [ENDPOINTS] [--node NAME] ...   the desired state in the store instead of this
//                                              node's vSwitch (vpc_store_cmd.cc)
//   agent status [-j]                          the node's agent: revision, lag, watches
//   agent log                                  its recent log lines (refused values, breaks)
//
// Without ENDPOINTS, `vpc --etcd` uses `store` (the node's agent's store); with them, `open`
// connects (null: only the node's own store can be used).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cmd/command.h"

namespace vnet::ctrl {
class Store;
class Agent;
class VpcApplier;
}  // namespace vnet::ctrl

namespace vnet::cmd {

struct ControlPlane {
  ctrl::Store* store = nullptr;
  std::function<std::unique_ptr<ctrl::Store>(const std::string& endpoints, std::string* error)>
      open;
  const ctrl::Agent* agent = nullptr;
  const ctrl::VpcApplier* applier = nullptr;
  std::string node;                  // this host's name in the store's keys
  std::function<uint64_t()> now_ms;  // the agent's clock (virtual time in the simulator)
  // The agent's recent log lines, oldest first ("LEVEL message"); empty function: none kept.
  std::function<std::vector<std::string>()> log;
};

// `vpc` on the store: argv without the --etcd/--node options.
CmdOutput run_vpc_store(ctrl::Store& store, const std::string& node, const Args& argv);
// `agent ...`.
CmdOutput run_agent(const ControlPlane* cp, const Args& argv);

}  // namespace vnet::cmd
