// Running a program with a time limit and capturing what it prints (the real-namespace lab
// runner's `ip netns exec NS sh -c LINE`, `ip …` setup commands), and starting a detached one
// (vnetd, which outlives `vnet lab up`).
#pragma once

#include <string>
#include <vector>

#include "cmd/command.h"

namespace vnet::labreal {

// Runs argv[0] (searched in PATH) with stdin from /dev/null; kills its process group after
// timeout_ms.  status: the exit status, 128 + signal when killed by one, 124 on a timeout (as
// timeout(1)), 127 when it cannot be started.
cmd::CmdOutput run_process(const std::vector<std::string>& argv, int timeout_ms);

// Starts argv in a new session with stdout and stderr appended to log_path; returns its pid or
// -1 (with *error).
int spawn_detached(const std::vector<std::string>& argv, const std::string& log_path,
                   std::string* error);

}  // namespace vnet::labreal
