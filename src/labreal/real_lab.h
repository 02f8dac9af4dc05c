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
// `linux` nodes are kernel namespaces, not machines: commands that would reach the host
// (hostnamectl, su, setenforce, yum, systemctl, modprobe) are answered by host_command(), and
// the node's /var/www/html and /tmp/ are its own directories under the lab's state directory
// (the line is rewritten).  `systemctl start httpd` serves /var/www/html with Debian's
// python3 -m http.server on port 80; `modprobe ipip` (ip_gre) gives the namespace a tunl0
// (gre0) from `vnetd --tunnel`, since this kernel has no ipip module.
// With `vpcs: control: etcd`, the lab starts a one-member etcd on unix sockets under its state
// directory (no TCP port) and every vpcs host's vnetd runs its agent on it; `down` stops it.
// Nothing is attached to the root namespace.  `down` removes everything a lab can have made,
// found by name from the lab file (namespaces, vnetd processes, any process left in a
// namespace, /etc/netns copies, sockets, state), so it works after a crash or kill -9 and is
// idempotent.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cmd/command.h"
#include "lab/lab_spec.h"
#include "lab/vpc_expand.h"
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
  // The namespace of a migrating VM's cable (a bridge joining it to every host it visits).
  static std::string cable_namespace(const lab::LabSpec& spec, const std::string& vm);

  cmd::CmdOutput exec(const std::string& node, const std::string& line, int timeout_ms = -1);
  // A linux node's line with its private paths (/var/www/html, /tmp/) substituted.
  std::string rewrite_paths(const std::string& node, const std::string& line) const;
  labrun::CheckResult run_check(const lab::CheckSpec& check);

 private:
  RealLab() = default;
  // The host-reaching commands of a linux node's line, or nullopt for an ordinary line.
  std::optional<cmd::CmdOutput> host_command(const std::string& node, const std::string& line);
  // A `during: migrate` action: the new host's tables, the VM's cable switched over to the new
  // host's port, every host's route_table, the old host's tables; "" or the errors.
  std::string migrate(const lab::DuringAction& action);
  // `control: etcd`: the migration as one transaction in the lab's etcd; from, to: the cable's
  // ports (migration_places order).
  std::string migrate_through_store(const lab::DuringAction& action, int from, int to);
  // The VM's cable: its port `to` forwards, `from` stops; "" or the error.
  std::string switch_cable(const std::string& vm, int from, int to);
  lab::LabSpec spec_;
  std::map<std::string, lab::VmPlace> vm_place_;  // where each migrating VM is now
  RealOptions options_;
};

}  // namespace vnet::labreal
