// A lab running in the simulator: the topology of a lab file built out of Nodes, learning
// bridges and links, its exec lines applied, its checks run.
//
// Inputs: a validated lab::LabSpec.  Outputs: deploy errors that name the file, line, node and
// the tool's error; per-check results; command output for `vnet lab shell`; trace records for
// `vnet trace`.  Everything runs in one Sim, so a lab is deterministic for its seed.
//
// Example:
//   auto lab = Lab::deploy(spec, {});      // nodes, links (up), lo up, exec lines
//   auto out = (*lab)->run("client", "ping -c 3 198.51.100.10");
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cmd/command.h"
#include "lab/lab_spec.h"
#include "lab/vpc_expand.h"
#include "sim/sim.h"
#include "stack/node.h"
#include "stack/trace.h"

namespace vnet::labrun {

struct DeployOptions {
  std::string pcap_dir;  // empty: no captures
};

struct CheckResult {
  const lab::CheckSpec* check = nullptr;
  bool passed = false;
  cmd::CmdOutput output;
  std::string why;  // for a failure: what did not hold
};

// One trace line: which node, when, what.
struct TraceLine {
  std::string node;
  stack::TraceRecord record;
};

class Lab {
 public:
  ~Lab();
  // Builds and configures the lab.  On failure returns the error message.
  static std::variant<std::unique_ptr<Lab>, std::string> deploy(const lab::LabSpec& spec,
                                                                const DeployOptions& options);

  const lab::LabSpec& spec() const { return spec_; }
  bool has_node(const std::string& name) const;
  std::vector<std::string> node_names() const;
  // Runs a command line on a node (probes advance the whole simulation).
  cmd::CmdOutput run(const std::string& node, const std::string& line);
  CheckResult run_check(const lab::CheckSpec& check);

  // Tracing: every node's decisions are collected while on.
  void set_tracing(bool on);
  const std::vector<TraceLine>& trace() const { return trace_; }
  void clear_trace() { trace_.clear(); }

  // Per node and interface counters plus drop reasons (`vnet lab stats`).
  std::string stats() const;
  // Every node's counters and table sizes in Prometheus's text format (cmd/metrics.h).
  std::string prometheus() const;
  // `vnet lab lint`: MTU mismatches on links and along tunnel paths (lab_lint.cc).
  std::vector<std::string> lint();
  sim::Sim& sim() { return *sim_; }
  // Runs the whole lab's virtual time until t_ns or stop() (the driver that probes use).
  uint64_t advance_until(uint64_t t_ns, const std::function<bool()>& stop);
  stack::Node* node(const std::string& name);
  void flush_captures();

 private:
  Lab() = default;
  struct NodeRec;
  void sync_ports(NodeRec& rec);
  // A `during: migrate` action: moves the VM's link to the new host and updates every host's
  // tables; returns the errors, empty on success.
  std::string migrate(const lab::DuringAction& action);

  lab::LabSpec spec_;
  std::unique_ptr<sim::Sim> sim_;
  std::vector<std::unique_ptr<NodeRec>> nodes_;
  std::vector<TraceLine> trace_;
  bool tracing_ = false;
  std::shared_ptr<cmd::Driver> driver_;
  // Where each VM of `vpcs` is now: its host and the host's port.
  std::map<std::string, lab::VmPlace> vm_place_;
  // `vpcs: control: etcd`: the embedded store and an agent per host (destroyed before nodes_).
  struct Control;
  std::unique_ptr<Control> control_;
  std::string start_control();
};

// A check's `during:` actions as they ran, for both runners: each one's output under a header
// line, and what failed.  run_action() performs one, given how to run a command line on a node
// and how to migrate a VM.
class DuringLog {
 public:
  void run_action(const lab::DuringAction& action, double at_s,
                  const std::function<cmd::CmdOutput(const std::string&, const std::string&)>& run,
                  const std::function<std::string(const lab::DuringAction&)>& migrate);
  // The check's verdict on `out` with the actions' output appended; their failures, and the
  // `missed` actions that never ran (the command ended first), fail it.
  CheckResult verdict(const lab::CheckSpec& check, cmd::CmdOutput out, size_t missed,
                      double ended_s) const;

 private:
  std::string notes_;
  std::vector<std::string> failures_;
};

// A check's verdict from what its command did: exit status against `expect`, and every
// `output` string somewhere in stdout or stderr.
CheckResult evaluate_check(const lab::CheckSpec& check, cmd::CmdOutput output);
// Prints one check result line as `vnet lab run` does.
std::string format_check(size_t index, const CheckResult& result);

}  // namespace vnet::labrun
