// `vnet lab up|run|exec|down … --real` (labs in network namespaces) and `vnet -n NODE …`
// (commands to a running vnetd).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace vnet::cli {

struct RealCliOptions {
  bool keep = false;  // lab run: leave the lab up afterwards
  std::string log_level = "info";
};
int real_lab_up(const std::string& file, const RealCliOptions& options, std::ostream& out,
                std::ostream& err);
int real_lab_run(const std::string& file, const RealCliOptions& options, std::ostream& out,
                 std::ostream& err);
int real_lab_exec(const std::string& file, const std::string& node,
                  const std::vector<std::string>& command, std::ostream& out, std::ostream& err);
int real_lab_down(const std::string& file, std::ostream& out, std::ostream& err);
// `vnet -n NODE ARGS…`: trace on|off|show|clear and stats are vnetd operations; anything else
// is a command line for the node's shell.
int node_command(const std::string& node, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);

}  // namespace vnet::cli
