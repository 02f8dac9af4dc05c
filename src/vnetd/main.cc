// vnetd: runs one vnet node on the interfaces of the network namespace it is started in.
//   ip netns exec lab-r1 vnetd --name lab-r1 [--ports eth0,eth1] [--exec-file F] [--log-level L]
//   ip netns exec lab-web1 vnetd --name lab-web1-tunl0 --tunnel ipip   (tunnel_shim.h)
//   ... vnetd --name lab-host1 --etcd unix:///run/vnet/lab/localhost:2379 --agent host1
//   ... vnetd --name lab-r1 --metrics 127.0.0.1:9477     (Prometheus: GET /metrics)
//   ... vnetd --name lab-r1 --journal /run/vnet/labs/lab/r1.journal --restart
// Exit status: 0 after a clean stop (SIGTERM, SIGINT, `stop`), 1 when it cannot start.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "vnetd/daemon.h"
#include "vnetd/tunnel_shim.h"

namespace {

volatile sig_atomic_t worker_pid = 0;
volatile sig_atomic_t stop_signal = 0;  // a SIGTERM or SIGINT reached the supervisor

void forward_signal(int sig) {
  stop_signal = sig;
  if (worker_pid > 0) kill(worker_pid, sig);
}

// --restart: this process stays a supervisor and runs the node in a child, started again (with
// its journal) whenever it dies of a signal: kill -9, a crash.  An exit (a clean stop, or a
// start that failed) ends the supervisor with the child's status.  The child dies with the
// supervisor (PR_SET_PDEATHSIG).  More than 10 restarts within 10 s: give up (exit 1).
// Returns in the child only, with true; the supervisor exits from here.
bool supervise(const std::string& name) {
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  sigaction(SIGTERM, &forward, nullptr);
  sigaction(SIGINT, &forward, nullptr);
  std::deque<std::chrono::steady_clock::time_point> restarts;
  const pid_t supervisor = getpid();
  sigset_t stops, old;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  while (true) {
    // Stop signals wait while the child is made and recorded: one that comes in between is
    // delivered, and forwarded, once worker_pid names the child.
    sigprocmask(SIG_BLOCK, &stops, &old);
    if (stop_signal != 0) std::exit(0);
    pid_t child = fork();
    if (child < 0) {
      spdlog::error("{}: fork: {}", name, std::strerror(errno));
      std::exit(1);
    }
    if (child == 0) {
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      if (getppid() != supervisor) std::exit(1);  // the supervisor died before prctl
      return true;
    }
    worker_pid = child;
    sigprocmask(SIG_SETMASK, &old, nullptr);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    worker_pid = 0;
    if (WIFEXITED(status)) std::exit(WEXITSTATUS(status));
    // Killed by the stop we forwarded (before its handler was installed): a stop, not a crash.
    if (stop_signal != 0) std::exit(0);
    auto now = std::chrono::steady_clock::now();
    restarts.push_back(now);
    while (!restarts.empty() && now - restarts.front() > std::chrono::seconds(10)) {
      restarts.pop_front();
    }
    if (restarts.size() > 10) {
      spdlog::error("{}: the node died {} times within 10 s; not restarting", name,
                    restarts.size());
      std::exit(1);
    }
    spdlog::warn("{}: the node (pid {}) died of signal {}; restarting", name, child,
                 WTERMSIG(status));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vnetd: the vnet engine on real interfaces (AF_PACKET)"};
  app.set_version_flag("--version", std::string("vnetd ") + VNET_VERSION);
  vnet::vnetd::DaemonOptions o;
  std::string ports, exec_file, level = "info", pidfile;
  app.add_option("--name", o.name, "Node name (its network namespace)")->required();
  app.add_option("--socket", o.socket_path, "Control socket (default /run/vnet/NAME.sock)");
  app.add_option("--ports", ports, "Interfaces to own, comma-separated (default: all but lo)");
  app.add_option("--exec-file", exec_file, "Command lines to run before serving (one per line)");
  app.add_option("--log-level", level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  app.add_option("--pidfile", pidfile, "Write the process id here");
  app.add_option("--etcd", o.etcd,
                 "etcd endpoints for the control plane (host:port,... or unix:///DIR/NAME:PORT); "
                 "default $VNET_ETCD");
  app.add_option("--agent", o.agent_node,
                 "Run the control-plane agent for this host (its name in the store's keys)");
  std::string offloads = "keep";
  app.add_option("--offloads", offloads,
                 "GSO super-frames and partial checksums from the peers: keep them whole where "
                 "the node forwards plainly and let the kernel segment on transmit (keep), or cut "
                 "and complete every one on receive (cut)")
      ->check(CLI::IsMember({"keep", "cut"}));
  app.add_option("--metrics", o.metrics_listen,
                 "Serve Prometheus metrics over HTTP at ADDR:PORT (GET /metrics), e.g. "
                 "127.0.0.1:9477");
  app.add_option("--journal", o.journal,
                 "Keep the configuration applied in FILE (atomic rewrites) and restore it at "
                 "start");
  bool restart = false;
  app.add_flag("--restart", restart,
               "Supervise: run the node in a child process and start it again (restoring "
               "--journal) when it dies of a signal");
  std::string rx = "mmsg";
  app.add_option("--rx", rx,
                 "How to receive: recvmmsg() batches, woken per packet (mmsg), or a TPACKET_V3 "
                 "ring, which hands a partly filled block over only after 1 ms (ring)")
      ->check(CLI::IsMember({"mmsg", "ring"}));
  std::string tunnel;
  app.add_option("--tunnel", tunnel,
                 "Instead of a node: be the ipip (tunl0) or ip_gre (gre0) module's receive side "
                 "for a kernel namespace (a TUN device fed from a raw IP socket)")
      ->check(CLI::IsMember({"ipip", "gre"}));
  CLI11_PARSE(app, argc, argv);
  o.port_options.keep_offloads = offloads == "keep";
  o.port_options.rx = rx == "ring" ? vnet::dataplane::RxMode::Ring : vnet::dataplane::RxMode::Mmsg;

  auto logger = spdlog::stderr_color_mt("vnetd");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  if (!tunnel.empty()) {
    if (!pidfile.empty()) std::ofstream(pidfile) << getpid() << "\n";
    int rc = vnet::vnetd::run_tunnel_shim(tunnel, o.name);
    if (!pidfile.empty()) std::remove(pidfile.c_str());
    return rc;
  }
  if (o.etcd.empty()) {
    if (const char* env = std::getenv("VNET_ETCD")) o.etcd = env;
  }
  if (!o.agent_node.empty() && o.etcd.empty()) {
    std::cerr << "--agent needs --etcd ENDPOINTS (or VNET_ETCD)\n";
    return 1;
  }
  std::stringstream comma(ports);
  for (std::string p; std::getline(comma, p, ',');) {
    if (!p.empty()) o.ports.push_back(p);
  }
  if (!exec_file.empty()) {
    std::ifstream in(exec_file);
    if (!in) {
      spdlog::error("cannot read {}", exec_file);
      return 1;
    }
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) o.exec.push_back(line);
    }
  }
  if (restart) (void)supervise(o.name);
  auto created = vnet::vnetd::Daemon::create(o);
  if (auto* e = std::get_if<std::string>(&created)) {
    spdlog::error("{}: {}", o.name, *e);
    return 1;
  }
  auto& daemon = *std::get<std::unique_ptr<vnet::vnetd::Daemon>>(created);
  if (!pidfile.empty()) std::ofstream(pidfile) << getpid() << "\n";
  int rc = daemon.run();
  if (!pidfile.empty()) std::remove(pidfile.c_str());
  return rc;
}
