// Command-line tools a node understands, each producing exactly what the real tool prints:
// `ip` (iproute2 6.1), `sysctl` (procps), net-tools `route`, and a small POSIX-shell subset
// (see shell.h) that runs them.  Every tool takes argv and a node and returns a CmdOutput.
//
// Example: run_ip(node, {"ip", "route", "get", "192.0.2.1"}) ->
//   {out = "192.0.2.1 dev eth0 src 192.0.2.10 uid 0 \n    cache \n", err = "", status = 0}.
#pragma once

#include <string>
#include <vector>

#include "stack/node.h"

namespace vnet::cmd {

struct CmdOutput {
  std::string out;
  std::string err;
  int status = 0;
  void append(const CmdOutput& o) {
    out += o.out;
    err += o.err;
    status = o.status;
  }
};

using Args = std::vector<std::string>;

CmdOutput run_ip(stack::Node& node, const Args& argv);
CmdOutput run_sysctl(stack::Node& node, const Args& argv);
CmdOutput run_route(stack::Node& node, const Args& argv);
// `vpc`: the vSwitch's tables and ports (vpc_cmd.cc).
// With --etcd, on the store's desired state instead (control_plane.h).
struct ControlPlane;
CmdOutput run_vpc(stack::Node& node, const Args& argv, const ControlPlane* control = nullptr);
// `bridge fdb` for VXLAN devices.
CmdOutput run_bridge(stack::Node& node, const Args& argv);

// Per-interface counters and drop reasons, indented two spaces (`vnet lab stats`,
// `vnet -n NODE stats`).
std::string node_stats_text(const stack::Node& node);

// ss -tan / -ltn / -tano / state FILTER for the node's TCP sockets (ss_cmd.cc).
CmdOutput run_ss(stack::Node& node, const Args& argv);

class Driver;
// Probes run in virtual time: the driver makes the network around the node run.
CmdOutput run_ping(stack::Node& node, Driver& driver, const Args& argv);
CmdOutput run_traceroute(stack::Node& node, Driver& driver, const Args& argv);
CmdOutput run_arping(stack::Node& node, Driver& driver, const Args& argv);

}  // namespace vnet::cmd
