// EtcdProcess: a real etcd (Debian's etcd-server) for one test, on loopback ports of its own
// and a data directory under /tmp, killed and removed when the test ends, however it ends.
// Members of a cluster: EtcdCluster(3).  Tests skip when /usr/bin/etcd is not installed.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ctrl/etcd_store.h"

namespace vnet::ctrl::test {

inline bool have_etcd() {
  return std::filesystem::exists("/usr/bin/etcd");
}

class EtcdCluster {
 public:
  // size members; ports from a base derived from the pid, so parallel tests do not collide.
  explicit EtcdCluster(int size) {
    int base = 20000 + (getpid() % 2000) * 10;
    std::string cluster;
    for (int i = 0; i < size; ++i) {
      Member m;
      m.name = "m" + std::to_string(i);
      m.client_port = base + 2 * i;
      m.peer_port = base + 2 * i + 1;
      m.dir = "/tmp/vnet-etcd-test-" + std::to_string(getpid()) + "-" + m.name;
      cluster += (cluster.empty() ? "" : ",") + m.name +
                 "=http://127.0.0.1:" + std::to_string(m.peer_port);
      members_.push_back(m);
    }
    cluster_ = cluster;
    for (size_t i = 0; i < members_.size(); ++i) start(i);
  }
  ~EtcdCluster() {
    for (size_t i = 0; i < members_.size(); ++i) kill_member(i);
    for (const Member& m : members_) std::filesystem::remove_all(m.dir);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  std::string endpoint(size_t i) const {
    return "127.0.0.1:" + std::to_string(members_[i].client_port);
  }
  std::string endpoints() const {
    std::string out;
    for (size_t i = 0; i < members_.size(); ++i) out += (i ? "," : "") + endpoint(i);
    return out;
  }
  size_t size() const { return members_.size(); }

  void start(size_t i) {
    Member& m = members_[i];
    std::vector<std::string> args = {"/usr/bin/etcd",
                                     "--name",
                                     m.name,
                                     "--data-dir",
                                     m.dir,
                                     "--listen-client-urls",
                                     "http://127.0.0.1:" + std::to_string(m.client_port),
                                     "--advertise-client-urls",
                                     "http://127.0.0.1:" + std::to_string(m.client_port),
                                     "--listen-peer-urls",
                                     "http://127.0.0.1:" + std::to_string(m.peer_port),
                                     "--initial-advertise-peer-urls",
                                     "http://127.0.0.1:" + std::to_string(m.peer_port),
                                     "--initial-cluster",
                                     cluster_,
                                     "--initial-cluster-state",
                                     started_once_ ? "existing" : "new",
                                     "--heartbeat-interval",
                                     "50",
                                     "--election-timeout",
                                     "500",
                                     "--log-level",
                                     "error",
                                     "--logger",
                                     "zap"};
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      freopen("/dev/null", "w", stdout);
      freopen(("/tmp/vnet-etcd-test-" + std::to_string(getppid()) + "-" + m.name + ".log").c_str(),
              "w", stderr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    m.pid = pid;
    if (i + 1 == members_.size()) started_once_ = true;
  }

  // SIGKILL, as a crash.
  void kill_member(size_t i) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, SIGKILL);
    waitpid(m.pid, nullptr, 0);
    m.pid = 0;
  }
  bool running(size_t i) const { return members_[i].pid > 0; }

  // Waits until every running member answers Status with a leader.
  bool wait_ready(int timeout_ms = 15000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (size_t i = 0; i < members_.size(); ++i) {
      if (!running(i)) continue;
      while (true) {
        // A new channel each time: a refused one would wait out gRPC's reconnect backoff.
        auto s = EtcdStore::connect(endpoint(i), {.timeout_ms = 500});
        auto st = s.value()->status();
        if (st.ok() && st.value().leader != 0) break;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return true;
  }

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string dir;
    pid_t pid = 0;
  };
  std::vector<Member> members_;
  std::string cluster_;
  bool started_once_ = false;
};

}  // namespace vnet::ctrl::test
