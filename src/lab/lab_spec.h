// The typed form of a lab file: what `parse_lab` (lab_parser.h) produces once the YAML has been
// parsed and validated, and what the simulator deploys.  Every element keeps the place in the file
// it came from, so that a failure at deploy time (an exec line that errors, a check that fails)
// can name the file, line and column the way a compiler does.
//
// Example: line 9 of file f, `    - endpoints: ["server:eth1", "sw1:p1"]`, becomes
//   LinkSpec{a = {"server", "eth1", {f, 9, 19}}, b = {"sw1", "p1", {f, 9, 34}}, loc = {f, 9, 7}}
// (a link is placed at its first key, an endpoint at its opening quote).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// Something done while a check's command runs (`during:`), at a time after the command started:
// either a command line on a node, or the migration of a VM of `vpcs` to another host.
struct DuringAction {
  uint64_t at_ns = 0;   // after the check's command starts
  std::string node;     // `run`: the node that runs it
  std::string run;      // a command line; empty for a migration
  std::string migrate;  // a VM node of `vpcs`
  std::string to;       // its new host (a node of `vpcs.hosts`)
  std::string port;     // the new host's interface for it; empty: the one it had on the old host
  SourceLoc loc;
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
  std::vector<DuringAction> during;    // in time order (the file's order for equal times)
  SourceLoc loc;
};

// The declarative VPC section (`vpcs:`): vSwitch hosts, VPCs with their subnets and VMs, and
// peerings.  The parser expands it into exec lines (`vpc ...` commands on every host, the MAC on
// every VM), so the simulator and --real deploy it the same way; vpc_expand.h.
// Addresses are host-order values.
struct VpcHostSpec {
  std::string node;   // a `vnet` node
  uint32_t addr = 0;  // its underlay address: outer source, where its GRE arrives
  SourceLoc loc;
};

struct VpcVmSpec {
  std::string node;    // the VM (a linux or vnet node)
  std::string ifname;  // its interface on the link to its host
  std::string host;    // the host node at the other end of that link
  std::string port;    // the host's interface on that link (the vSwitch port)
  uint32_t ip = 0;
  std::array<uint8_t, 6> mac{};  // given, or 52:54:00:00:XX:YY by the VM's order in the file
  SourceLoc loc;
};

struct VpcPrefix {
  uint32_t network = 0;  // host bits zero
  int len = 0;
  bool operator==(const VpcPrefix&) const = default;
};

struct VpcNetSpec {
  uint32_t id = 0;  // the VPC id, also the GRE key
  std::vector<VpcPrefix> subnets;
  std::vector<VpcVmSpec> vms;
  SourceLoc loc;
};

struct VpcPeeringSpec {
  uint32_t a = 0, b = 0;
  SourceLoc loc;
};

// How a lab deploys its `vpcs:`: exec lines on every host (the default), or desired state in
// the control plane's store with an agent on every host (`control: etcd`: the embedded store in
// the simulator, a real etcd with --real; docs/CONTROL_PLANE.md).
enum class VpcControl { Exec, Etcd };

struct VpcSpec {
  VpcControl control = VpcControl::Exec;
  SourceLoc control_loc;
  std::vector<VpcHostSpec> hosts;
  std::vector<VpcNetSpec> networks;
  std::vector<VpcPeeringSpec> peerings;
  std::optional<uint64_t> grace_ns;  // `vpc set grace` on every host; unset: the vSwitch's default
  SourceLoc grace_loc;               // the `grace` key, for the line it generates
  SourceLoc loc;                     // the `vpcs` key
  bool empty() const { return hosts.empty() && networks.empty(); }
  const VpcHostSpec* find_host(std::string_view node) const;
  // The VM and its network, or nullptrs.
  std::pair<const VpcVmSpec*, const VpcNetSpec*> find_vm(std::string_view node) const;
};

struct LabSpec {
  std::string name;
  uint64_t seed = 1;              // for the simulator's random generator
  std::vector<NodeSpec> nodes;    // in file order
  std::vector<LinkSpec> links;    // in file order
  std::vector<CheckSpec> checks;  // in file order
  VpcSpec vpcs;                   // empty when the file has no `vpcs:`

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
