// The typed form of a lab file: what `parse_lab` (lab_parser.h) produces once the YAML has been
// parsed and validated, and what the simulator deploys.  Every element keeps the place in the file
// it came from, so that a failure at deploy time (an exec line that errors, a check that fails)
// can name the file, line and column the way a compiler does.
//
// Example: line 9 of file f, `    - endpoints: ["server:eth1", "sw1:p1"]`, becomes
//   LinkSpec{a = {"server", "eth1", {f, 9, 19}}, b = {"sw1", "p1", {f, 9, 34}}, loc = {f, 9, 7}}
// (a link is placed at its first key, an endpoint at its opening quote).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnet::lab {

// A place in a lab file.  Line and column are 1-based; both are 0 when there is no place (the file
// could not be read, or the error concerns the file as a whole).
struct SourceLoc {
  std::string file;
  int line = 0;
  int column = 0;

  bool operator==(const SourceLoc&) const = default;
};

// One end of a link: an interface on a node, written "node:ifname" in the file.  On a bridge the
// interface is a bridge port.
struct LinkEndpoint {
  std::string node;
  std::string ifname;
  SourceLoc loc;

  std::string to_string() const { return node + ":" + ifname; }
};

// A point-to-point link (a veth pair on Linux, an in-memory wire in the simulator).  Both ends
// exist and are up at deploy time.  The impairments apply to each direction separately.
struct LinkSpec {
  LinkEndpoint a;
  LinkEndpoint b;
  std::optional<int> mtu;  // bytes, 68..65535; unset: the interfaces' default (1500)
  uint64_t delay_ns = 0;   // one-way delay
  double loss = 0;         // probability that a frame is dropped, 0.0..1.0
  uint64_t rate_bps = 0;   // bandwidth, bits/s; 0: unlimited
  uint32_t queue = 1000;   // transmit queue limit in frames (with a rate)
  SourceLoc loc;
};

enum class NodeKind {
  Linux,   // a Linux host: a network namespace with --real, a vnet node in the simulator
  Vnet,    // the vnet stack, also with --real
  Bridge,  // a learning switch; its link endpoints are its ports, and it runs no commands
};
std::string_view to_string(NodeKind kind);

// A command line run on a node at deploy time, in order.  Its text is not validated here: the
// node's shell reports its errors when it runs it.
struct ExecLine {
  std::string command;
  SourceLoc loc;
};

struct NodeSpec {
  std::string name;
  NodeKind kind = NodeKind::Linux;
  // topology.defaults' lines, then topology.kinds.<kind>'s, then the node's own (containerlab's
  // order).
  std::vector<ExecLine> exec;
  SourceLoc loc;  // the node's name
};

enum class Expect { Success, Failure };
std::string_view to_string(Expect expect);

// A check: `run` on `node` must exit with the expected status (0 for Success, anything else for
// Failure) and print every string of `output` somewhere in its standard output.
struct CheckSpec {
  std::string node;
  std::string run;
  Expect expect = Expect::Success;
  std::vector<std::string> output;
  std::string name;                    // free text for reports; empty when not given
  std::optional<uint64_t> timeout_ns;  // unset: the runner's default
  SourceLoc loc;
};

struct LabSpec {
  std::string name;
  uint64_t seed = 1;              // for the simulator's random generator
  std::vector<NodeSpec> nodes;    // in file order
  std::vector<LinkSpec> links;    // in file order
  std::vector<CheckSpec> checks;  // in file order

  // nullptr when there is no node of that name.
  const NodeSpec* find_node(std::string_view node_name) const;
};

struct LabError {
  SourceLoc loc;
  std::string message;

  // "FILE:LINE:COLUMN: message", or "FILE: message" when there is no line.
  std::string to_string() const;
};

}  // namespace vnet::lab
