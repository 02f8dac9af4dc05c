// Daemon: the engine of one `kind: vnet` node on real interfaces.  It runs inside the node's
// network namespace, owns the given interfaces through AF_PACKET (dataplane::PacketPort), and
// drives the same stack::Node the simulator runs, in real time:
//   frames in  -> node.receive(ifindex, frame, now) -> node transmits -> port send queues,
//   flushed after every batch of events; node timers -> a timerfd at node.next_deadline_ns().
// With --etcd and --agent, a thread runs the host's control-plane agent (ctrl/agent.h) on etcd;
// its changes reach the node through a queue and an eventfd in the event loop, and are applied
// on the node's thread (ctrl/vpc_applier.h) between packets.  `agent status` and `agent log`
// show it; when etcd is away the node forwards with what it has.
// Commands arrive on a Unix control socket (ctl/control.h): exec (the node's shell: ip,
// iptables, ping, …, printing exactly what the simulator prints), trace on|off|show|clear,
// stats, stop.  SIGTERM and SIGINT stop it cleanly (the socket file is removed).
//
// Example: vnetd --name lab-r1 --socket /run/vnet/lab-r1.sock --ports eth0,eth1
#pragma once

#include <deque>
#include <list>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <atomic>
#include <mutex>
#include <thread>

#include "cmd/control_plane.h"
#include "cmd/driver.h"
#include "cmd/journal.h"
#include "cmd/shell.h"
#include "ctl/control.h"
#include "ctrl/agent.h"
#include "ctrl/vpc_applier.h"
#include "dataplane/packet_port.h"
#include "stack/node.h"
#include "vnetd/event_loop.h"

namespace vnet::vnetd {

struct DaemonOptions {
  std::string name;                // the node (its namespace's name)
  std::string socket_path;         // control socket; empty: ctl::socket_path(name)
  std::vector<std::string> ports;  // interfaces to own; empty: every interface but lo
  dataplane::PortOptions port_options;
  size_t trace_capacity = 200000;  // records kept for `trace show`
  std::vector<std::string> exec;   // command lines run before serving (a restart's replay)
  // The control plane: etcd's endpoints ("127.0.0.1:2379,…" or "unix:///DIR/NAME:PORT"); with
  // agent_node, an agent thread follows that host's desired state (ctrl/agent.h) and the node's
  // `vpc --etcd` writes there.
  std::string etcd;
  std::string agent_node;
  // Prometheus metrics over HTTP at ADDR:PORT (GET /metrics); empty: only on the control socket.
  std::string metrics_listen;
  // The configuration journal (cmd/journal.h): replayed at start, then every command line that
  // changes configuration and succeeds is added.  Empty: none.
  std::string journal;
};

class Daemon : public stack::NodeIo, public cmd::Driver {
 public:
  ~Daemon() override;
  static std::variant<std::unique_ptr<Daemon>, std::string> create(const DaemonOptions& options);

  // Serves until SIGTERM/SIGINT or a stop request; returns the exit status.
  int run();
  ctl::Response handle(const ctl::Request& request);

  // stack::NodeIo
  void transmit(int ifindex, std::span<const std::byte> frame) override;
  void transmit_burst_offload(int ifindex, std::span<const std::span<const std::byte>> frames,
                              std::span<const wire::VirtioNetHdr> offloads) override;
  // cmd::Driver: probes wait in real time while packets keep flowing.
  uint64_t now_ns() const override { return loop_.now_ns(); }
  uint64_t advance_until(uint64_t t_ns, const std::function<bool()>& stop) override;

  stack::Node& node() { return node_; }

 private:
  Daemon() = default;
  struct Port {
    std::unique_ptr<dataplane::PacketPort> port;
    int node_ifindex = 0;
  };
  class TraceRing : public stack::TraceSink {
   public:
    explicit TraceRing(size_t capacity) : capacity_(capacity) {}
    void record(const stack::TraceRecord& r) override;
    std::string text() const;
    void clear() { records_.clear(); }
    size_t size() const { return records_.size(); }

   private:
    size_t capacity_;
    std::deque<stack::TraceRecord> records_;
  };

  // Owns an interface through AF_PACKET (its node device is created); "" or why not.
  std::string open_port(const std::string& name);
  void on_port_readable(Port& p);
  std::vector<std::byte> rx_arena_;                    // the burst being received
  std::vector<std::span<const std::byte>> rx_frames_;  // its frames, in rx_arena_
  std::vector<wire::VirtioNetHdr> rx_offloads_;        // and their offload headers
  bool rx_offloaded_ = false;                          // some of those are not zero
  void after_batch();
  void check_carrier();
  void accept_control();
  std::string open_metrics(const std::string& listen);  // "" or why not
  void accept_metrics();
  std::string metrics_text() const;
  int metrics_fd_ = -1;
  // Runs a command line of the node's shell; one that changed configuration goes into the
  // journal.
  cmd::CmdOutput run_and_journal(const std::string& line);
  std::unique_ptr<cmd::ConfigJournal> journal_;
  std::string stats_text() const;
  // Connects the store and starts the agent thread; "" or why not.
  std::string start_agent();
  void stop_agent();
  void drain_agent_queue();

  DaemonOptions options_;
  EventLoop loop_;
  stack::Node node_;
  std::unique_ptr<cmd::Shell> shell_;
  std::list<Port> ports_;               // stable addresses: the event loop's callbacks hold them
  std::vector<Port*> by_node_ifindex_;  // node ifindex -> port
  int listen_fd_ = -1;
  std::unique_ptr<TraceRing> trace_;
  bool tracing_ = false;
  uint64_t last_carrier_check_ns_ = 0;

  // The control plane (only with --etcd).
  cmd::ControlPlane control_;
  std::unique_ptr<ctrl::Store> writer_store_;  // `vpc --etcd` on the node's thread
  std::unique_ptr<ctrl::Store> agent_store_;   // the agent thread's
  std::unique_ptr<ctrl::Agent> agent_;
  std::unique_ptr<ctrl::VpcApplier> applier_;
  std::thread agent_thread_;
  std::atomic<bool> agent_stop_{false};
  int agent_event_fd_ = -1;
  std::mutex agent_mu_;                    // guards agent_queue_ and agent_log_
  std::vector<ctrl::Change> agent_queue_;  // handed on by the agent, not yet applied
  ctrl::AgentLogRing agent_log_;           // the agent's last log lines
};

}  // namespace vnet::vnetd
