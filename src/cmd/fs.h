// The node's in-memory file system as commands see it: paths resolved against the working
// directory, directories that must exist before a file is created in them, modification times
// in virtual time, and the coreutils builtins mkdir, rm, touch, ls, pwd and cd with their GNU
// error texts.  /proc/sys/... reads and writes go to the node's sysctls.
//
// Example: fs_mkdir(node, {"mkdir", "-p", "/srv/www"}) then `echo hi > /srv/www/a` creates the
// file; `rm /srv` answers "rm: cannot remove '/srv': Is a directory" with status 1.
#pragma once

#include <optional>
#include <string>

#include "cmd/command.h"
#include "stack/node.h"

namespace vnet::cmd {

// "a/../b" under cwd "/root" -> "/root/b"; "/" stays "/".
std::string abs_path(const stack::Node& node, const std::string& path);
std::string parent_dir(const std::string& abs);
bool is_dir(const stack::Node& node, const std::string& abs);
// A regular file's contents (or a sysctl's value under /proc/sys), nullopt if there is none.
std::optional<std::string> read_file(const stack::Node& node, const std::string& path);
// Writes (or appends to) a regular file, recording its modification time; false if its
// directory does not exist or it is a directory.
bool write_file(stack::Node& node, const std::string& path, const std::string& data, bool append);

// Builtins (argv[0] is the command name).
CmdOutput run_mkdir(stack::Node& node, const Args& argv);
CmdOutput run_rm(stack::Node& node, const Args& argv);
CmdOutput run_touch(stack::Node& node, const Args& argv);
CmdOutput run_ls(stack::Node& node, const Args& argv);
CmdOutput run_cd(stack::Node& node, const Args& argv);

}  // namespace vnet::cmd
