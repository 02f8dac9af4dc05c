// The small POSIX-shell subset a node's command lines are written in (seed documents use it):
// words with '…' and "…" quoting and backslash escapes, `#` comments, `;`, `&&` and `||`,
// pipelines `|`, redirections `< FILE`, `> FILE`, `>> FILE`, `2> FILE`, `2>&1`, and the builtins
// echo, cat, grep, head, tail, wc, true, false, modprobe, lsmod.  Files are the node's own:
// /proc/sys/… maps to its sysctls, /etc/… to its files. Error texts follow dash, which `sh -c` runs
// on Debian ("sh: 1: …").
//
// Example: Shell(node).run("echo 1 > /proc/sys/net/ipv4/ip_forward && sysctl net.ipv4.ip_forward")
//   -> {out = "net.ipv4.ip_forward = 1\n", status = 0}.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cmd/command.h"
#include "cmd/control_plane.h"
#include "cmd/driver.h"
#include "stack/node.h"

namespace vnet::cmd {

// Splits a line into words and operators; returns false (with a message) on unbalanced quotes.
struct Token {
  enum class Kind {
    Word,
    And,
    Or,
    Semi,
    RedirectOut,
    RedirectAppend,
    RedirectErr,
    RedirectErrAppend,
    ErrToOut,
    RedirectIn,
    Pipe,
    Background
  } kind;
  std::string text;
};
bool tokenize(const std::string& line, std::vector<Token>* out, std::string* error);

class Shell {
 public:
  explicit Shell(stack::Node& node) : node_(node), own_driver_(node), driver_(&own_driver_) {}
  // Probes (ping, traceroute, arping) advance virtual time through this driver; by default the
  // node runs alone.
  void set_driver(Driver* driver) { driver_ = driver ? driver : &own_driver_; }
  // The control plane around the node (`vpc --etcd`, `agent`); null: none.
  void set_control(const ControlPlane* control) { control_ = control; }
  CmdOutput run(const std::string& line);
  // Runs one simple command (argv, no operators); `input` is its standard input.
  CmdOutput run_argv(const Args& argv, const std::string& input = {});

 private:
  CmdOutput write_file(const std::string& path, const std::string& data, bool append);
  CmdOutput run_package_manager(const Args& argv);
  // /etc/hostname, or "localhost".
  std::string hostname() const;
  CmdOutput run_nstat(const Args& argv);
  // ipvsadm, ipvsadm-save/-restore, /etc/init.d/ipvsadm (ipvsadm_cmd.cc).
  CmdOutput run_ipvsadm_command(const Args& argv, const std::string& input);
  // systemctl VERB ipvsadm.
  CmdOutput run_ipvsadm_unit(const std::string& verb);
  // dash's error for a redirection it cannot open, or empty.
  std::string check_writable(const std::string& path) const;
  stack::Node& node_;
  // Where the command being run sends later output (a background server's log): the file its
  // standard output is redirected to, or nowhere.
  std::function<void(const std::string&)> out_sink_;
  SingleNodeDriver own_driver_;
  Driver* driver_;
  const ControlPlane* control_ = nullptr;
};

}  // namespace vnet::cmd
