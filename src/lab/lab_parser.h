// Lab files: parsing and validation.  Input is the text of a lab file (YAML); output is a LabSpec
// (lab_spec.h) or the first error, with the file, line and column of the offending YAML node.
// Nothing is deployed here and command lines are not interpreted: the node that runs them reports
// their errors.  The format is described in full in docs/LAB_FORMAT.md; in short it is the
// subset of containerlab's topology file that describes hosts, bridges and links, plus vnet's
// link impairments, a seed and checks:
//
//   name: multihoming
//   seed: 7                                   # optional, default 1
//   topology:
//     defaults: {kind: linux}                 # optional: defaults < kinds.<kind> < node
//     kinds: {linux: {exec: ["ip link set lo up"]}}
//     nodes:
//       server: {exec: ["ip addr add 192.0.2.10/24 dev eth1"]}
//       sw1:    {kind: bridge}
//     links:
//       - endpoints: ["server:eth1", "sw1:p1"]
//         mtu: 9000                           # optional: 68..65535
//         delay: 10ms                         # optional: ns, us, ms, s; up to 3600s
//         loss: 5%                            # optional: 0.0..1.0 or 0%..100%
//   checks:
//     - node: server
//       run: ping -c 3 192.0.2.1
//       expect: success                       # success (default) | failure, by exit status
//       output: ["3 received"]                # substrings of the output, or a single string
//       timeout: 5s
//       during:                               # optional: actions while the command runs
//         - {at: 1s, node: r1, run: ip -s link}
//   vpcs:                                     # optional: VPCs over vnet vSwitch hosts
//     hosts: {r1: 10.10.1.9}
//     networks: [{id: 6289, subnets: [10.0.1.0/24], vms: [{node: server, ip: 10.0.1.141}]}]
//
// Example: parse_lab("name: x\n", "x.yaml") -> LabError{{"x.yaml", 1, 1},
//          "missing required key 'topology' (with 'nodes')"}.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "lab/lab_spec.h"

namespace vnet::lab {

// Larger inputs are refused before YAML parsing: a lab file is a page or two, and the bound keeps
// the parser's time and memory small on hostile input.
inline constexpr size_t kMaxLabFileBytes = size_t{1024} * 1024;

// Parses and validates `yaml_text`; `file_name` is used only in SourceLocs.  Returns the first
// error found (in the order: YAML syntax, top level, topology.defaults, topology.kinds, nodes,
// links, checks, vpcs, then the VMs and hosts that checks' `during` migrations name; within each,
// file order); never a partial LabSpec, never an exception.  A valid `vpcs:` section is expanded
// into exec lines on its VMs and hosts (vpc_expand.h).
std::variant<LabSpec, LabError> parse_lab(std::string_view yaml_text, const std::string& file_name);

// Reads the file at `path` and parses it; an unreadable file is an error at `path` (no line).
std::variant<LabSpec, LabError> load_lab_file(const std::string& path);

}  // namespace vnet::lab
