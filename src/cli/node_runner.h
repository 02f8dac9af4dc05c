// `vnet node`: applies command lines, one per line, to one node that starts like a fresh
// network namespace.  Output mirrors `ip -batch FILE -force`: each command's stdout and stderr
// as the real tool prints them, then "Command failed FILE:N" on stderr after a failing line.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace vnet::cli {

struct NodeRunOptions {
  std::string source_name = "-";  // "-" for stdin, else the file name
  bool results_jsonl = false;     // one JSON record per line instead of raw output
};

// Returns the process exit status: 0 when every line succeeded, 1 otherwise.
int run_node(std::istream& in, std::ostream& out, std::ostream& err, const NodeRunOptions& opts);

// `vnet vpc [--etcd [ENDPOINTS]] [--node NAME] ...` on this machine: the desired state in etcd
// (cmd/vpc_store_cmd.cc), from --etcd's endpoints or else $VNET_ETCD.  args: from "vpc" on.
int vpc_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace vnet::cli
