// RealLab: a lab file built out of this machine's network namespaces (`vnet lab up/run/exec/down
// FILE --real`).
//
//   * every node is a namespace named LAB-NODE; `linux` nodes are the real kernel (their exec
//     lines and checks run with `ip netns exec LAB-NODE sh -c LINE`, and their /etc/iproute2 is
//     the namespace's own copy under /etc/netns/LAB-NODE, which `ip netns exec` mounts over
//     /etc/iproute2), `vnet` nodes run vnetd, which owns their interfaces (commands go to its
//     control socket), `bridge` nodes hold a Linux bridge;
//   * every link is a veth pair with its two ends in the two namespaces;
//   * IPv6 is off in every namespace (vnet is IPv4-only).
// Nothing is attached to the root namespace.  `down` removes everything a lab can have made,
// found by name from the lab file (namespaces, vnetd processes, any process left in a
// namespace, /etc/netns copies, sockets, state), so it works after a crash or kill -9 and is
// idempotent.
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "cmd/command.h"
#include "lab/lab_spec.h"
#include "labrun/lab.h"

namespace vnet::labreal {

struct RealOptions {
  std::string vnetd_path;  // the vnetd executable
  std::string log_level = "info";
  int default_timeout_ms = 60'000;  // exec lines and checks without their own timeout
};

class RealLab {
 public:
  // Builds the lab and runs its exec lines.  On failure everything made so far is removed and
  // the error names the file, line and node when an exec line failed.
  static std::variant<std::unique_ptr<RealLab>, std::string> up(const lab::LabSpec& spec,
                                                                const RealOptions& options);
  // A lab that is up (its namespaces exist); error otherwise.
  static std::variant<std::unique_ptr<RealLab>, std::string> attach(const lab::LabSpec& spec,
                                                                    const RealOptions& options);
  // Removes everything; returns what it removed, one line per item.
  static std::vector<std::string> down(const lab::LabSpec& spec);

  static std::string namespace_name(const lab::LabSpec& spec, const std::string& node);

  cmd::CmdOutput exec(const std::string& node, const std::string& line, int timeout_ms = -1);
  labrun::CheckResult run_check(const lab::CheckSpec& check);

 private:
  RealLab() = default;
  lab::LabSpec spec_;
  RealOptions options_;
};

}  // namespace vnet::labreal
