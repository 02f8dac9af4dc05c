// Network tools on simulated nodes that need virtual time and the node's TCP: iperf3 (client
// and background server, iperf.cc) and netcat (nc.cc).  Background servers write their output
// through `sink` (where the command's standard output was redirected), as they would to a log.
//
// Example: `iperf3 -s &` on s, then `iperf3 -c 10.0.0.2 -t 5` on c prints iperf3's per-second
//   lines and the sender/receiver summary for the simulated link.
#pragma once

#include <functional>
#include <string>

#include "cmd/command.h"
#include "stack/node.h"

namespace vnet::cmd {

class Driver;

CmdOutput run_iperf3(stack::Node& node, Driver& driver, const Args& argv,
                     const std::function<void(const std::string&)>& sink);
CmdOutput run_nc(stack::Node& node, Driver& driver, const Args& argv, const std::string& input,
                 const std::function<void(const std::string&)>& sink);

}  // namespace vnet::cmd
