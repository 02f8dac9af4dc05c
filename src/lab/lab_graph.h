// A lab's topology as a Graphviz DOT graph, for `vnet lab graph FILE` (and, with a traced
// packet's path drawn on it, `vnet trace FILE NODE --svg OUT -- PROBE`):
//   - nodes by kind: linux hosts as boxes, vnet nodes as double-bordered boxes, bridges as
//     ellipses, each labelled with its name and kind;
//   - one edge per link, labelled at each end with the interface and the addresses the node's
//     exec lines give it (`ip addr add A/P dev IF`), and with the MTU, delay, loss or rate;
//   - tunnels (`ip tunnel add … remote R local L`, `ip link add … type vxlan|gre|gretap|ipip …
//     remote R`) as dashed edges to the node that owns R, labelled with the device, mode and key
//     or VNI; both ends of one tunnel make one edge.
// With a path: the links a probe's packets were sent on are drawn thick and red with the order
// of their first use, the tunnels they were encapsulated into likewise, and a node where a
// packet was dropped is filled red and labelled with the drop reasons.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lab/lab_spec.h"

namespace vnet::lab {

struct GraphPath {
  std::string caption;                                     // e.g. "hostA# ping -c 1 10.0.0.1"
  std::vector<std::pair<std::string, std::string>> tx;     // (node, interface), in order
  std::vector<std::pair<std::string, std::string>> encap;  // (node, tunnel device), in order
  std::vector<std::pair<std::string, std::string>> drops;  // (node, "REASON (why)")
};

std::string lab_dot(const LabSpec& spec, const GraphPath* path = nullptr);

}  // namespace vnet::lab
