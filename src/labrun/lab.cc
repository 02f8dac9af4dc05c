#include "labrun/lab.h"

#include <fmt/format.h>

#include <deque>
#include <map>

#include "cmd/control_plane.h"
#include "cmd/driver.h"
#include "cmd/metrics.h"
#include "cmd/shell.h"
#include "ctrl/agent.h"
#include "ctrl/mem_store.h"
#include "ctrl/vpc_applier.h"
#include "lab/vpc_expand.h"
#include "sim/learning_bridge.h"
#include "sim/node_element.h"

namespace vnet::labrun {

namespace {

// Probes and timers move the whole simulation: every node's events run, in time order.
class SimDriver : public cmd::Driver {
 public:
  explicit SimDriver(sim::Sim& sim) : sim_(sim) {}
  void add(sim::ElementId id) { ids_.push_back(id); }
  uint64_t now_ns() const override { return sim_.now_ns(); }
  uint64_t advance_until(uint64_t t_ns, const std::function<bool()>& stop) override {
    // Commands change nodes outside the simulator's events: re-read their deadlines.
    refresh();
    // A check's `during:` actions run between events, at their time, outside the simulator's
    // loop (they may change the topology).
    while (!actions_.empty() && actions_.begin()->first <= t_ns) {
      if (sim_.run_until(actions_.begin()->first, stop)) return sim_.now_ns();
      std::function<void()> fn = std::move(actions_.begin()->second);
      actions_.erase(actions_.begin());
      fn();
      refresh();
    }
    sim_.run_until(t_ns, stop);
    return sim_.now_ns();
  }
  // Runs fn when virtual time reaches at_ns, in order of time, then of scheduling.
  void schedule(uint64_t at_ns, std::function<void()> fn) {
    actions_.emplace(at_ns, std::move(fn));
  }
  // Forgets the actions not reached; returns how many.
  size_t clear_actions() {
    size_t n = actions_.size();
    actions_.clear();
    return n;
  }

 private:
  void refresh() {
    for (sim::ElementId id : ids_) sim_.refresh_timer(id);
  }
  sim::Sim& sim_;
  std::vector<sim::ElementId> ids_;
  std::multimap<uint64_t, std::function<void()>> actions_;
};

// Collects a node's trace records under its name.
class NodeTrace : public stack::TraceSink {
 public:
  NodeTrace(std::string name, std::vector<TraceLine>* out) : name_(std::move(name)), out_(out) {}
  void record(const stack::TraceRecord& r) override { out_->push_back({name_, r}); }

 private:
  std::string name_;
  std::vector<TraceLine>* out_;
};

}  // namespace

struct Lab::NodeRec {
  std::string name;
  lab::NodeKind kind;
  sim::ElementId id;
  sim::NodeElement* element = nullptr;  // null for bridges
  std::unique_ptr<cmd::Shell> shell;
  std::unique_ptr<NodeTrace> trace;
  std::vector<int> ports;  // ifindexes linked in the simulator
};

// The control plane of `vpcs: control: etcd` in the simulator: the embedded store (etcd's
// semantics, ctrl/mem_store.h) and, on every vpcs host, the agent and applier vnetd runs.  A
// commit lets every agent read at once (the store answers in no virtual time), so a
// transaction reaches all hosts at the same virtual instant.
struct Lab::Control {
  struct Host {
    std::unique_ptr<ctrl::Agent> agent;
    std::unique_ptr<ctrl::VpcApplier> applier;
    cmd::ControlPlane cp;
    ctrl::AgentLogRing log;
  };
  ctrl::MemStore store;  // first: destroyed last
  std::vector<std::unique_ptr<Host>> hosts;
  bool pumping = false;
  bool again = false;
};

Lab::~Lab() = default;

std::string Lab::start_control() {
  control_ = std::make_unique<Control>();
  Control& c = *control_;
  auto now_ms = [this] { return sim_->now_ns() / 1'000'000; };
  for (const lab::VpcHostSpec& h : spec_.vpcs.hosts) {
    NodeRec* rec = nullptr;
    for (auto& r : nodes_) {
      if (r->name == h.node) rec = r.get();
    }
    if (rec == nullptr || rec->element == nullptr) return h.node + " is not a vnet node";
    auto host = std::make_unique<Control::Host>();
    Control::Host* hp = host.get();
    hp->applier = std::make_unique<ctrl::VpcApplier>(rec->element->node());
    hp->agent = std::make_unique<ctrl::Agent>(
        c.store, ctrl::Agent::Options{.node = h.node},
        [this, hp](const std::vector<ctrl::Change>& changes) {
          hp->applier->apply(changes, sim_->now_ns());
        },
        [hp](ctrl::Agent::Level level, const std::string& message) {
          hp->log.add(level, message);
        });
    hp->cp.store = &c.store;
    hp->cp.agent = hp->agent.get();
    hp->cp.applier = hp->applier.get();
    hp->cp.node = h.node;
    hp->cp.now_ms = now_ms;
    hp->cp.log = [hp] { return hp->log.lines(); };
    rec->shell->set_control(&hp->cp);
    c.hosts.push_back(std::move(host));
  }
  auto pump = [this, now_ms] {
    Control& cc = *control_;
    // A commit made while agents read (none today: agents only read) runs another round.
    if (cc.pumping) {
      cc.again = true;
      return;
    }
    cc.pumping = true;
    do {
      cc.again = false;
      for (auto& h : cc.hosts) h->agent->poll(0, now_ms());
    } while (cc.again);
    cc.pumping = false;
  };
  c.store.on_commit([pump](int64_t) { pump(); });
  pump();
  return {};
}

uint64_t Lab::advance_until(uint64_t t_ns, const std::function<bool()>& stop) {
  for (const auto& rec : nodes_) {
    if (rec->element != nullptr) rec->element->node().run_timers(sim_->now_ns());
  }
  return driver_->advance_until(t_ns, stop);
}

bool Lab::has_node(const std::string& name) const {
  for (const auto& n : nodes_) {
    if (n->name == name) return true;
  }
  return false;
}

std::vector<std::string> Lab::node_names() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) out.push_back(n->name);
  return out;
}

stack::Node* Lab::node(const std::string& name) {
  for (auto& n : nodes_) {
    if (n->name == name && n->element) return &n->element->node();
  }
  return nullptr;
}

void Lab::sync_ports(NodeRec& rec) {
  // `ip link set dev X up/down` happens inside the node; the simulator's link must follow so
  // the far end's carrier does.
  stack::Node& node = rec.element->node();
  for (int port : rec.ports) {
    const stack::Device* d = node.device(port);
    bool up = d != nullptr && d->up();
    if (sim_->port_admin(rec.id, port) != up) (void)sim_->set_port_admin(rec.id, port, up);
  }
  sim_->refresh_timer(rec.id);
}

cmd::CmdOutput Lab::run(const std::string& node_name, const std::string& line) {
  for (auto& rec : nodes_) {
    if (rec->name != node_name) continue;
    if (!rec->shell) {
      cmd::CmdOutput o;
      o.err = fmt::format("vnet: {} is a bridge: it runs no commands\n", node_name);
      o.status = 1;
      return o;
    }
    cmd::CmdOutput o = rec->shell->run(line);
    sync_ports(*rec);
    return o;
  }
  cmd::CmdOutput o;
  o.err = fmt::format("vnet: no node named {}\n", node_name);
  o.status = 1;
  return o;
}

std::variant<std::unique_ptr<Lab>, std::string> Lab::deploy(const lab::LabSpec& spec,
                                                            const DeployOptions& options) {
  std::unique_ptr<Lab> lab(new Lab());
  lab->spec_ = spec;
  lab->sim_ = std::make_unique<sim::Sim>(spec.seed);
  sim::Sim& sim = *lab->sim_;
  // One driver for the whole lab: any node's probe runs every node's events.
  auto driver = std::make_shared<SimDriver>(sim);
  lab->driver_ = driver;
  for (const lab::VpcNetSpec& net : spec.vpcs.networks) {
    for (const lab::VpcVmSpec& vm : net.vms) lab->vm_place_[vm.node] = {vm.host, vm.port};
  }
  // Bridges need their port count up front: one port per link endpoint on them.
  std::map<std::string, int> bridge_ports;
  for (const lab::LinkSpec& l : spec.links) {
    for (const lab::LinkEndpoint* e : {&l.a, &l.b}) {
      const lab::NodeSpec* n = spec.find_node(e->node);
      if (n && n->kind == lab::NodeKind::Bridge) ++bridge_ports[e->node];
    }
  }
  std::map<std::string, NodeRec*> by_name;
  uint64_t node_seed = spec.seed;
  for (const lab::NodeSpec& n : spec.nodes) {
    auto rec = std::make_unique<NodeRec>();
    rec->name = n.name;
    rec->kind = n.kind;
    if (n.kind == lab::NodeKind::Bridge) {
      auto bridge = std::make_unique<sim::LearningBridge>(std::max(bridge_ports[n.name], 1));
      auto id = sim.add_element(n.name, std::move(bridge));
      if (!id)
        return fmt::format("{}: node {}: {}", n.loc.file, n.name, sim::to_string(id.error()));
      rec->id = *id;
    } else {
      auto node = std::make_unique<stack::Node>();
      node->set_seed(++node_seed * 0x9e3779b97f4a7c15ull);
      node->set_mac_base(static_cast<uint16_t>(lab->nodes_.size() + 1));
      auto element = std::make_unique<sim::NodeElement>(std::move(node));
      rec->element = element.get();
      auto id = sim.add_element(n.name, std::move(element));
      if (!id)
        return fmt::format("{}: node {}: {}", n.loc.file, n.name, sim::to_string(id.error()));
      rec->id = *id;
      rec->shell = std::make_unique<cmd::Shell>(rec->element->node());
      rec->shell->set_driver(driver.get());
      driver->add(rec->id);
      rec->trace = std::make_unique<NodeTrace>(n.name, &lab->trace_);
    }
    by_name[n.name] = rec.get();
    lab->nodes_.push_back(std::move(rec));
  }
  if (!options.pcap_dir.empty()) {
    if (auto err = sim.enable_pcap(options.pcap_dir)) {
      return fmt::format("{}: cannot write captures to {}: {}",
                         spec.links.empty() ? "" : spec.links[0].loc.file, options.pcap_dir,
                         sim::to_string(*err));
    }
  }
  // Links: node endpoints become Ether devices, bridge endpoints numbered ports.
  std::map<std::string, int> next_bridge_port;
  for (const lab::LinkSpec& l : spec.links) {
    int ports[2];
    const lab::LinkEndpoint* ends[2] = {&l.a, &l.b};
    for (int k = 0; k < 2; ++k) {
      NodeRec* rec = by_name.at(ends[k]->node);
      if (rec->element) {
        auto r = rec->element->add_link_port(ends[k]->ifname);
        if (!r.status.ok()) {
          return fmt::format("{}:{}:{}: {}: cannot create {}: {}", l.loc.file, ends[k]->loc.line,
                             ends[k]->loc.column, ends[k]->node, ends[k]->ifname,
                             stack::errno_text(r.status.err));
        }
        ports[k] = r.ifindex;
        if (l.mtu) (void)rec->element->node().link_set_mtu(r.ifindex, *l.mtu);
        rec->ports.push_back(r.ifindex);
      } else {
        ports[k] = ++next_bridge_port[ends[k]->node];
        auto* bridge = static_cast<sim::LearningBridge*>(&sim.element(rec->id));
        bridge->set_port_name(ports[k], ends[k]->ifname);
      }
    }
    sim::LinkProps props;
    props.mtu = static_cast<uint32_t>(l.mtu.value_or(1500));
    props.delay_ns = l.delay_ns;
    props.loss = l.loss;
    props.rate_bps = l.rate_bps;
    props.queue_limit = l.queue;
    auto link =
        sim.connect(by_name.at(l.a.node)->id, ports[0], by_name.at(l.b.node)->id, ports[1], props);
    if (!link) {
      return fmt::format("{}:{}:{}: link {} -- {}: {}", l.loc.file, l.loc.line, l.loc.column,
                         l.a.to_string(), l.b.to_string(), sim::to_string(link.error()));
    }
  }
  // The ports a migrating VM will be plugged into, on each host it will visit, made now (with
  // the MTU of its link) as the --real lab makes them, so a migration only moves the cable.
  for (const auto& [vm, places] : lab::migration_places(spec)) {
    // The MTU of the VM's link to its host.
    std::optional<int> mtu;
    for (const lab::LinkSpec& l : spec.links) {
      for (const lab::LinkEndpoint* e : {&l.a, &l.b}) {
        if (e->node == places[0].host && e->ifname == places[0].port) mtu = l.mtu;
      }
    }
    for (size_t i = 1; i < places.size(); ++i) {
      NodeRec* rec = by_name.at(places[i].host);
      if (rec->element->node().device_by_name(places[i].port) != nullptr) continue;
      auto r = rec->element->add_link_port(places[i].port);
      if (!r.status.ok()) {
        return fmt::format("{}: {}: cannot create {} for {} to migrate to: {}", spec.vpcs.loc.file,
                           places[i].host, places[i].port, vm, stack::errno_text(r.status.err));
      }
      if (mtu) (void)rec->element->node().link_set_mtu(r.ifindex, *mtu);
      rec->ports.push_back(r.ifindex);
    }
  }
  // Deploy state: lo and every link endpoint up, no addresses (containerlab's veths are up).
  for (auto& rec : lab->nodes_) {
    if (!rec->element) continue;
    stack::Node& node = rec->element->node();
    (void)node.link_set_up(stack::Node::kLoopbackIfindex, true);
    for (int port : rec->ports) (void)node.link_set_up(port, true);
    lab->sync_ports(*rec);
  }
  if (spec.vpcs.control == lab::VpcControl::Etcd) {
    if (std::string err = lab->start_control(); !err.empty()) {
      return fmt::format("{}:{}:{}: control: {}", spec.vpcs.loc.file, spec.vpcs.control_loc.line,
                         spec.vpcs.control_loc.column, err);
    }
  }
  // exec lines, node by node, in file order; the first failure stops the deploy.
  for (const lab::NodeSpec& n : spec.nodes) {
    for (const lab::ExecLine& line : n.exec) {
      cmd::CmdOutput o = lab->run(n.name, line.command);
      if (o.status != 0) {
        std::string err = o.err.empty() ? fmt::format("exit status {}\n", o.status) : o.err;
        while (!err.empty() && err.back() == '\n') err.pop_back();
        return fmt::format("{}:{}:{}: node {}: exec `{}` failed: {}", line.loc.file, line.loc.line,
                           line.loc.column, n.name, line.command, err);
      }
    }
  }
  return lab;
}

CheckResult Lab::run_check(const lab::CheckSpec& check) {
  if (check.during.empty()) return evaluate_check(check, run(check.node, check.run));
  auto* driver = static_cast<SimDriver*>(driver_.get());
  uint64_t start = sim_->now_ns();
  auto seconds = [&] { return static_cast<double>(sim_->now_ns() - start) / 1e9; };
  DuringLog log;
  for (const lab::DuringAction& a : check.during) {
    driver->schedule(start + a.at_ns, [this, &a, &log, &seconds] {
      log.run_action(
          a, seconds(), [this](const std::string& n, const std::string& l) { return run(n, l); },
          [this](const lab::DuringAction& m) { return migrate(m); });
    });
  }
  cmd::CmdOutput out = run(check.node, check.run);
  size_t missed = driver->clear_actions();
  return log.verdict(check, std::move(out), missed, seconds());
}

void DuringLog::run_action(
    const lab::DuringAction& a, double at_s,
    const std::function<cmd::CmdOutput(const std::string&, const std::string&)>& run,
    const std::function<std::string(const lab::DuringAction&)>& migrate) {
  std::string what = a.run.empty() ? fmt::format("migrate {} to {}", a.migrate, a.to)
                                   : fmt::format("{}: {}", a.node, a.run);
  cmd::CmdOutput o;
  std::string err;
  if (a.run.empty()) {
    err = migrate(a);
  } else {
    o = run(a.node, a.run);
    if (o.status != 0) {
      err = fmt::format("exit status {}{}", o.status, o.err.empty() ? "" : ": " + o.err);
    }
  }
  while (!err.empty() && err.back() == '\n') err.pop_back();
  notes_ += fmt::format("--- during +{:.3f}s {} ---\n{}{}", at_s, what, o.out, o.err);
  if (!err.empty()) {
    failures_.push_back(fmt::format("during (line {}) {} failed: {}", a.loc.line, what, err));
  }
}

CheckResult DuringLog::verdict(const lab::CheckSpec& check, cmd::CmdOutput out, size_t missed,
                               double ended_s) const {
  out.out += notes_;
  CheckResult r = evaluate_check(check, std::move(out));
  std::vector<std::string> failures = failures_;
  if (missed != 0) {
    failures.push_back(fmt::format(
        "{} of the `during` actions never ran: the command ended at +{:.3f}s", missed, ended_s));
  }
  for (const std::string& f : failures) {
    r.passed = false;
    r.why += (r.why.empty() ? "" : "; ") + f;
  }
  return r;
}

std::string Lab::migrate(const lab::DuringAction& a) {
  auto [vm, net] = spec_.vpcs.find_vm(a.migrate);
  if (vm == nullptr) return fmt::format("{} is not a VM of `vpcs`", a.migrate);
  auto& place = vm_place_[a.migrate];
  if (place.host == a.to) return fmt::format("{} is on {} already", a.migrate, a.to);
  NodeRec* from = nullptr;
  NodeRec* to = nullptr;
  for (auto& rec : nodes_) {
    if (rec->name == place.host) from = rec.get();
    if (rec->name == a.to) to = rec.get();
  }
  if (from == nullptr || to == nullptr || !from->element || !to->element) {
    return "the hosts are not vnet nodes";
  }
  std::string port = a.port.empty() ? place.port : a.port;
  const stack::Device* old_dev = from->element->node().device_by_name(place.port);
  const stack::Device* new_dev = to->element->node().device_by_name(port);
  if (old_dev == nullptr || new_dev == nullptr) {
    return fmt::format("no port {} on {} or {} on {}", place.port, from->name, port, to->name);
  }
  std::optional<sim::LinkId> link = sim_->link_at(from->id, old_dev->ifindex);
  if (!link) return fmt::format("{}:{} is not linked", from->name, place.port);
  // The VM's cable moves to the port made for it at deploy time.
  const sim::Link& l = sim_->link(*link);
  int side = l.endpoint(0) == sim::LinkEndpoint{from->id, old_dev->ifindex} ? 0 : 1;
  if (auto err = sim_->move_link_end(*link, side, to->id, new_dev->ifindex)) {
    return fmt::format("cannot move the link: {}", sim::to_string(*err));
  }
  // The tables, on every host: one transaction in the store, or each host's lines.
  std::vector<std::pair<std::string, std::string>> lines;
  if (control_) {
    lines.emplace_back(a.to, lab::migration_store_line(*net, *vm, place.host, a.to, port));
  } else {
    lines = lab::migration_lines(spec_.vpcs, *net, *vm, place.host, place.port, a.to, port);
  }
  std::string errors;
  for (const auto& [node, line] : lines) {
    cmd::CmdOutput o = run(node, line);
    if (o.status != 0) errors += fmt::format("{}: `{}`: {}", node, line, o.err);
  }
  sync_ports(*from);
  sync_ports(*to);
  place = {a.to, port};
  return errors;
}

CheckResult evaluate_check(const lab::CheckSpec& check, cmd::CmdOutput output) {
  CheckResult r;
  r.check = &check;
  r.output = std::move(output);
  bool succeeded = r.output.status == 0;
  bool want = check.expect == lab::Expect::Success;
  std::vector<std::string> problems;
  if (succeeded != want) {
    problems.push_back(
        fmt::format("exit status {}, expected {}", r.output.status, want ? "success" : "failure"));
  }
  std::string all = r.output.out + r.output.err;
  for (const std::string& needle : check.output) {
    if (all.find(needle) == std::string::npos)
      problems.push_back(fmt::format("no \"{}\" in the output", needle));
  }
  r.passed = problems.empty();
  for (size_t i = 0; i < problems.size(); ++i) r.why += (i ? "; " : "") + problems[i];
  return r;
}

void Lab::set_tracing(bool on) {
  tracing_ = on;
  for (auto& rec : nodes_) {
    if (rec->element) rec->element->node().set_trace(on ? rec->trace.get() : nullptr);
  }
}

void Lab::flush_captures() {
  (void)sim_->flush_pcaps();
}

std::string Lab::stats() const {
  std::string out;
  for (const auto& rec : nodes_) {
    if (!rec->element) continue;
    out += fmt::format("{}:\n", rec->name) + cmd::node_stats_text(rec->element->node());
  }
  return out;
}

std::string Lab::prometheus() const {
  cmd::PrometheusText out;
  for (const auto& rec : nodes_) {
    if (!rec->element) continue;
    cmd::MetricsExtra extra;
    extra.node = rec->name;
    cmd::node_metrics(rec->element->node(), extra, out);
  }
  return out.text();
}

std::string format_check(size_t index, const CheckResult& r) {
  const lab::CheckSpec& c = *r.check;
  std::string label = c.name.empty() ? c.run : c.name;
  std::string line = fmt::format("{} check {} {}: {} (expect {})", r.passed ? "PASS" : "FAIL",
                                 index + 1, c.node, label, lab::to_string(c.expect));
  if (!r.passed) line += " -- " + r.why;
  return line;
}

}  // namespace vnet::labrun
