// Labs in real network namespaces (real_lab.h).
#include "labreal/real_lab.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "ctl/control.h"
#include "ctrl/etcd_store.h"
#include "lab/vpc_expand.h"
#include "labreal/process.h"

namespace vnet::labreal {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBridgeDevice = "vnetbr";
constexpr int kSetupTimeoutMs = 10'000;

std::string state_dir(const lab::LabSpec& spec) {
  return ctl::run_dir() + "/labs/" + spec.name;
}

bool netns_exists(const std::string& ns) {
  std::error_code ec;
  return fs::exists("/run/netns/" + ns, ec);
}

// Runs a setup command; returns an error text ("" on success).
std::string sh(const std::vector<std::string>& argv) {
  cmd::CmdOutput o = run_process(argv, kSetupTimeoutMs);
  if (o.status == 0) return {};
  std::string cmdline;
  for (const std::string& a : argv) cmdline += (cmdline.empty() ? "" : " ") + a;
  std::string err = o.err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return fmt::format("`{}` failed: {}", cmdline,
                     err.empty() ? "exit " + std::to_string(o.status) : err);
}

std::string loc_text(const lab::SourceLoc& loc) {
  return fmt::format("{}:{}:{}", loc.file, loc.line, loc.column);
}

// Processes whose command line (argv) matches.
std::vector<pid_t> find_processes(
    const std::function<bool(const std::vector<std::string>&)>& match) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    size_t start = 0;
    for (size_t i = 0; i <= cmdline.size(); ++i) {
      if (i == cmdline.size() || cmdline[i] == '\0') {
        if (i > start) args.push_back(cmdline.substr(start, i - start));
        start = i + 1;
      }
    }
    if (match(args)) pids.push_back(std::stoi(pid));
  }
  return pids;
}

// Processes whose command line is vnetd ... --name NS.
std::vector<pid_t> vnetd_pids(const std::string& ns) {
  return find_processes([&](const std::vector<std::string>& args) {
    bool is_vnetd = false, named = false;
    for (size_t i = 0; i < args.size(); ++i) {
      if (fs::path(args[i]).filename() == "vnetd") is_vnetd = true;
      if (args[i] == "--name" && i + 1 < args.size() && args[i + 1] == ns) named = true;
    }
    return is_vnetd && named;
  });
}

// `vpcs: control: etcd`: the lab's etcd runs in the root namespace with no TCP port at all:
// its client and peer URLs are unix sockets in STATE/etcd (etcd names them after the URL's
// host:port, in its working directory), and every node's vnetd reaches the client socket by
// its path, whatever its network namespace.
std::string etcd_dir(const lab::LabSpec& spec) {
  return state_dir(spec) + "/etcd";
}

std::string etcd_endpoint(const lab::LabSpec& spec) {
  return "unix://" + etcd_dir(spec) + "/localhost:2379";
}

std::vector<pid_t> etcd_pids(const lab::LabSpec& spec) {
  const std::string data = etcd_dir(spec) + "/data";
  return find_processes([&](const std::vector<std::string>& args) {
    if (args.empty() || fs::path(args[0]).filename() != "etcd") return false;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--data-dir" && args[i + 1] == data) return true;
    }
    return false;
  });
}

// A process that still runs: our own exited children are reaped (a zombie answers kill(0)),
// and zombies of others count as gone.
bool alive(pid_t pid) {
  waitpid(pid, nullptr, WNOHANG);
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

// The namespaces a lab made are marked in its state directory before they are created, so
// `down` removes only those (LAB-NODE names of two labs can coincide: lab `a` node `b-c` and
// lab `a-b` node `c`).
std::string owner_mark(const lab::LabSpec& spec, const std::string& ns) {
  return state_dir(spec) + "/namespaces/" + ns;
}

bool owned(const lab::LabSpec& spec, const std::string& ns) {
  std::error_code ec;
  return fs::exists(owner_mark(spec, ns), ec);
}

// A line with no shell syntax (one command and its words), which host_command() may answer.
std::optional<std::vector<std::string>> simple_words(const std::string& line) {
  if (line.find_first_of(";|&<>$`()\"'\\*?\n") != std::string::npos) return std::nullopt;
  std::vector<std::string> words;
  size_t pos = 0;
  while ((pos = line.find_first_not_of(" \t", pos)) != std::string::npos) {
    size_t end = line.find_first_of(" \t", pos);
    words.push_back(line.substr(pos, end == std::string::npos ? end : end - pos));
    pos = end;
  }
  return words;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
}

// CentOS 7's /etc/sysctl.conf (comments only), for a linux node's `sysctl -p`.
constexpr const char* kSysctlConf =
    "# sysctl settings are defined through files in\n"
    "# /usr/lib/sysctl.d/, /run/sysctl.d/, and /etc/sysctl.d/.\n"
    "#\n# For more information, see sysctl.conf(5) and sysctl.d(5).\n";

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  pid_t pid = 0;
  if (!(in >> pid)) return 0;
  return pid;
}

// Polls `argv` until it succeeds (and prints something, if want_output) for up to 3 s.
bool wait_for(const std::vector<std::string>& argv, bool want_output) {
  for (int i = 0; i < 60; ++i) {
    cmd::CmdOutput o = run_process(argv, kSetupTimeoutMs);
    if (o.status == 0 && (!want_output || !o.out.empty())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void terminate(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) kill(p, SIGTERM);
  for (int i = 0; i < 40; ++i) {
    bool any = false;
    for (pid_t p : pids) any |= alive(p);
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (pid_t p : pids) kill(p, SIGKILL);
}

// A link's bandwidth, on one end's egress: a token bucket whose burst is 10 ms of the rate (at
// least two full frames) and whose queue holds `queue` full-size frames.
std::string tbf(const std::string& ns, const std::string& dev, const lab::LinkSpec& l) {
  uint64_t frame = static_cast<uint64_t>(l.mtu.value_or(1500)) + 14;
  uint64_t burst = std::max<uint64_t>(2 * frame, l.rate_bps / 8 / 100);
  std::string e = sh({"ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "tbf",
                      "rate", std::to_string(l.rate_bps) + "bit", "burst", std::to_string(burst),
                      "limit", std::to_string(frame * l.queue)});
  return e.empty() ? e : "rate: " + e;
}

}  // namespace

std::string RealLab::namespace_name(const lab::LabSpec& spec, const std::string& node) {
  return spec.name + "-" + node;
}

std::string RealLab::cable_namespace(const lab::LabSpec& spec, const std::string& vm) {
  // '~' is in no node name, so no node's namespace can be called this.
  return namespace_name(spec, vm) + "~cable";
}

namespace {

// Starts the lab's one-member etcd (Debian's etcd-server) and waits until it answers.
std::string start_etcd(const lab::LabSpec& spec) {
  const std::string dir = etcd_dir(spec);
  if (dir.size() + sizeof("/localhost:2379") > sizeof(sockaddr_un::sun_path)) {
    return fmt::format("{}: the lab's etcd socket path would be too long for a unix socket",
                       loc_text(spec.vpcs.control_loc));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return dir + ": " + ec.message();
  std::string err;
  // cd first: etcd makes its sockets in its working directory.
  int pid = spawn_detached({"sh", "-c",
                            "cd \"$0\" && exec etcd --name vnet --data-dir \"$0/data\" "
                            "--listen-client-urls unix://localhost:2379 --advertise-client-urls "
                            "unix://localhost:2379 --listen-peer-urls unix://localhost:2380 "
                            "--initial-advertise-peer-urls unix://localhost:2380 --initial-cluster "
                            "vnet=unix://localhost:2380 --log-level warn",
                            dir},
                           dir + "/etcd.log", &err);
  if (pid < 0) return "etcd: " + err;
  auto store = ctrl::EtcdStore::connect(etcd_endpoint(spec), {.timeout_ms = 500});
  if (!store.ok()) return "etcd: " + store.error().message;
  for (int i = 0; i < 100; ++i) {
    if (store.value()->status().ok()) return {};
    if (!alive(pid)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::ifstream log(dir + "/etcd.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  return "etcd for the lab's control plane did not start (is etcd-server installed?):\n" + text;
}

}  // namespace

std::vector<std::string> RealLab::down(const lab::LabSpec& spec) {
  std::vector<std::string> removed;
  std::vector<std::string> namespaces;
  for (const lab::NodeSpec& n : spec.nodes) namespaces.push_back(namespace_name(spec, n.name));
  for (const auto& [vm, places] : lab::migration_places(spec)) {
    namespaces.push_back(cable_namespace(spec, vm));
  }
  // And any cable this lab made that the file no longer names (an edited `during:`).
  std::error_code list_ec;
  for (const auto& e : fs::directory_iterator("/run/netns", list_ec)) {
    std::string ns = e.path().filename().string();
    if (ns.rfind(spec.name + "-", 0) == 0 && ns.size() > 6 &&
        ns.compare(ns.size() - 6, 6, "~cable") == 0 &&
        std::find(namespaces.begin(), namespaces.end(), ns) == namespaces.end()) {
      namespaces.push_back(ns);
    }
  }
  for (const std::string& ns : namespaces) {
    if (!owned(spec, ns)) {
      if (netns_exists(ns)) {
        removed.push_back("nothing of " + ns + ": the namespace exists but lab " + spec.name +
                          " did not make it (no " + owner_mark(spec, ns) + ")");
      }
      continue;
    }
    std::vector<pid_t> daemons = vnetd_pids(ns);
    if (!daemons.empty()) {
      terminate(daemons);
      removed.push_back(fmt::format("vnetd of {} (pid {})", ns, daemons.front()));
    }
    if (netns_exists(ns)) {
      // Anything still running in the namespace would keep it (and its veths) alive.
      cmd::CmdOutput pids = run_process({"ip", "netns", "pids", ns}, kSetupTimeoutMs);
      std::vector<pid_t> inside;
      size_t pos = 0;
      while (pos < pids.out.size()) {
        size_t end = pids.out.find('\n', pos);
        if (end == std::string::npos) end = pids.out.size();
        std::string p = pids.out.substr(pos, end - pos);
        if (!p.empty() && p.find_first_not_of("0123456789") == std::string::npos) {
          inside.push_back(std::stoi(p));
        }
        pos = end + 1;
      }
      if (!inside.empty()) {
        for (pid_t p : inside) kill(p, SIGKILL);
        removed.push_back(fmt::format("{} process(es) in {}", inside.size(), ns));
      }
      run_process({"ip", "netns", "del", ns}, kSetupTimeoutMs);
      removed.push_back("namespace " + ns);
    }
    std::error_code ec;
    if (fs::remove_all("/etc/netns/" + ns, ec) > 0) removed.push_back("/etc/netns/" + ns);
    if (fs::remove(ctl::socket_path(ns), ec)) removed.push_back(ctl::socket_path(ns));
  }
  if (std::vector<pid_t> etcd = etcd_pids(spec); !etcd.empty()) {
    terminate(etcd);
    removed.push_back(fmt::format("etcd (pid {})", etcd.front()));
  }
  std::error_code ec;
  if (fs::remove_all(state_dir(spec), ec) > 0) removed.push_back(state_dir(spec));
  return removed;
}

std::variant<std::unique_ptr<RealLab>, std::string> RealLab::attach(const lab::LabSpec& spec,
                                                                    const RealOptions& options) {
  for (const lab::NodeSpec& n : spec.nodes) {
    std::string ns = namespace_name(spec, n.name);
    if (!netns_exists(ns)) {
      return fmt::format("lab {} is not up (no namespace {}); run `vnet lab up FILE --real`",
                         spec.name, ns);
    }
  }
  std::unique_ptr<RealLab> lab(new RealLab());
  lab->spec_ = spec;
  lab->options_ = options;
  return lab;
}

std::variant<std::unique_ptr<RealLab>, std::string> RealLab::up(const lab::LabSpec& spec,
                                                                const RealOptions& options) {
  if (geteuid() != 0) return std::string("--real needs root (network namespaces)");
  for (const lab::NodeSpec& n : spec.nodes) {
    std::string ns = namespace_name(spec, n.name);
    if (netns_exists(ns)) {
      return fmt::format("lab {} is already up (namespace {} exists); run `vnet lab down FILE`",
                         spec.name, ns);
    }
  }
  for (const lab::LinkSpec& l : spec.links) {
    if (l.delay_ns || l.loss) {
      return fmt::format("{}: link delay and loss need tc netem, which this kernel lacks",
                         loc_text(l.loc));
    }
  }
  std::unique_ptr<RealLab> lab(new RealLab());
  lab->spec_ = spec;
  lab->options_ = options;
  auto fail = [&](const std::string& e) -> std::variant<std::unique_ptr<RealLab>, std::string> {
    down(spec);
    return e;
  };
  std::error_code ec;
  fs::create_directories(state_dir(spec), ec);

  // Namespaces.
  for (const lab::NodeSpec& n : spec.nodes) {
    std::string ns = namespace_name(spec, n.name);
    fs::create_directories(state_dir(spec) + "/namespaces", ec);
    std::ofstream(owner_mark(spec, ns)) << n.name << "\n";
    if (auto e = sh({"ip", "netns", "add", ns}); !e.empty()) return fail(e);
    if (auto e = sh({"ip", "-n", ns, "link", "set", "lo", "up"}); !e.empty()) return fail(e);
    if (auto e = sh({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                     "net.ipv6.conf.default.disable_ipv6=1"});
        !e.empty()) {
      return fail(e);
    }
    if (n.kind == lab::NodeKind::Linux) {
      // The namespace's own /etc/iproute2, so `echo … >> /etc/iproute2/rt_tables` stays in it,
      // and its own /etc/sysctl.conf; its own /var/www/html and /tmp (rewrite_paths()).
      fs::create_directories("/etc/netns/" + ns, ec);
      fs::copy("/etc/iproute2", "/etc/netns/" + ns + "/iproute2",
               fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
      if (ec) return fail("/etc/netns/" + ns + "/iproute2: " + ec.message());
      if (fs::exists("/etc/sysctl.conf", ec)) {
        std::ofstream("/etc/netns/" + ns + "/sysctl.conf") << kSysctlConf;
      }
      std::string dir = state_dir(spec) + "/nodes/" + n.name;
      fs::create_directories(dir + "/www", ec);
      fs::create_directories(dir + "/tmp", ec);
      if (ec) return fail(dir + ": " + ec.message());
    }
    if (n.kind == lab::NodeKind::Bridge) {
      if (auto e = sh({"ip", "-n", ns, "link", "add", kBridgeDevice, "type", "bridge"});
          !e.empty()) {
        return fail(e);
      }
      if (auto e = sh({"ip", "-n", ns, "link", "set", kBridgeDevice, "up"}); !e.empty()) {
        return fail(e);
      }
    }
  }
  // Links: veth pairs created directly in their namespaces.  A VM that migrates has a cable
  // instead (below).
  const auto places = lab::migration_places(spec);
  auto cabled = [&](const lab::LinkSpec& l) {
    for (const auto& [vm, list] : places) {
      auto [v, net] = spec.vpcs.find_vm(vm);
      const lab::LinkEndpoint* ends[2] = {&l.a, &l.b};
      for (int k = 0; k < 2; ++k) {
        if (ends[k]->node == v->node && ends[k]->ifname == v->ifname &&
            ends[1 - k]->node == v->host && ends[1 - k]->ifname == v->port) {
          return true;
        }
      }
    }
    return false;
  };
  for (const lab::LinkSpec& l : spec.links) {
    if (cabled(l)) continue;
    std::string na = namespace_name(spec, l.a.node), nb = namespace_name(spec, l.b.node);
    std::vector<std::string> add = {"ip", "link", "add", "name", l.a.ifname, "netns", na};
    if (l.mtu) add.insert(add.end(), {"mtu", std::to_string(*l.mtu)});
    add.insert(add.end(), {"type", "veth", "peer", "name", l.b.ifname, "netns", nb});
    if (l.mtu) add.insert(add.end(), {"mtu", std::to_string(*l.mtu)});
    if (auto e = sh(add); !e.empty()) return fail(loc_text(l.loc) + ": " + e);
    for (const auto& [ns, ep] : {std::pair{na, l.a}, std::pair{nb, l.b}}) {
      const lab::NodeSpec* node = spec.find_node(ep.node);
      if (node && node->kind == lab::NodeKind::Bridge) {
        if (auto e = sh({"ip", "-n", ns, "link", "set", "dev", ep.ifname, "master", kBridgeDevice});
            !e.empty()) {
          return fail(e);
        }
      }
      if (auto e = sh({"ip", "-n", ns, "link", "set", "dev", ep.ifname, "up"}); !e.empty())
        return fail(e);
      if (l.rate_bps != 0) {
        if (auto e = tbf(ns, ep.ifname, l); !e.empty()) return fail(loc_text(l.loc) + ": " + e);
      }
    }
  }
  // A migrating VM's cable: a namespace with a bridge, its VM's interface on one port, and one
  // port to each host it will visit (vnet lab's migration_places()), each ending in that host's
  // vSwitch port.  Learning is off, so the bridge floods every frame to the ports that forward,
  // and only the VM's current host forwards: a migration flips two port states (migrate()).
  for (const auto& [vm_node, list] : places) {
    auto [vm, net] = spec.vpcs.find_vm(vm_node);
    const lab::LinkSpec* link = nullptr;
    for (const lab::LinkSpec& l : spec.links) {
      if (cabled(l) && (l.a.node == vm_node || l.b.node == vm_node)) link = &l;
    }
    std::string cns = cable_namespace(spec, vm_node);
    std::ofstream(owner_mark(spec, cns)) << vm_node << " (cable)\n";
    std::vector<std::string> mtu;
    if (link->mtu) mtu = {"mtu", std::to_string(*link->mtu)};
    auto veth = [&](const std::string& a, const std::string& ans, const std::string& b,
                    const std::string& bns) {
      std::vector<std::string> add = {"ip", "link", "add", "name", a, "netns", ans};
      add.insert(add.end(), mtu.begin(), mtu.end());
      add.insert(add.end(), {"type", "veth", "peer", "name", b, "netns", bns});
      add.insert(add.end(), mtu.begin(), mtu.end());
      return sh(add);
    };
    std::vector<std::string> cable_ports = {"vm"};
    for (size_t i = 0; i < list.size(); ++i) cable_ports.push_back("h" + std::to_string(i));
    for (const std::string& e :
         {sh({"ip", "netns", "add", cns}), sh({"ip", "-n", cns, "link", "set", "lo", "up"}),
          // No IPv6 here either: the bridge would send DAD/MLD/RS frames into the VM's port.
          sh({"ip", "netns", "exec", cns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
              "net.ipv6.conf.default.disable_ipv6=1"}),
          sh({"ip", "-n", cns, "link", "add", kBridgeDevice, "type", "bridge"}),
          sh({"ip", "-n", cns, "link", "set", "dev", kBridgeDevice, "up"}),
          veth(vm->ifname, namespace_name(spec, vm_node), "vm", cns),
          sh({"ip", "-n", namespace_name(spec, vm_node), "link", "set", "dev", vm->ifname,
              "up"})}) {
      if (!e.empty()) return fail(loc_text(link->loc) + ": cable: " + e);
    }
    for (size_t i = 0; i < list.size(); ++i) {
      std::string hns = namespace_name(spec, list[i].host);
      for (const std::string& e :
           {veth(cable_ports[i + 1], cns, list[i].port, hns),
            sh({"ip", "-n", hns, "link", "set", "dev", list[i].port, "up"})}) {
        if (!e.empty()) return fail(loc_text(link->loc) + ": cable: " + e);
      }
    }
    for (const std::string& p : cable_ports) {
      for (const std::string& e :
           {sh({"ip", "-n", cns, "link", "set", "dev", p, "master", kBridgeDevice}),
            sh({"ip", "-n", cns, "link", "set", "dev", p, "type", "bridge_slave", "learning",
                "off"}),
            sh({"ip", "-n", cns, "link", "set", "dev", p, "up"})}) {
        if (!e.empty()) return fail(loc_text(link->loc) + ": cable: " + e);
      }
    }
    if (link->rate_bps != 0) {
      for (const auto& [ns, dev] : {std::pair{namespace_name(spec, vm_node), vm->ifname},
                                    std::pair{cns, std::string("vm")}}) {
        if (auto e = tbf(ns, dev, *link); !e.empty()) return fail(loc_text(link->loc) + ": " + e);
      }
    }
  }
  // Wait for the links' carriers: the kernel reports IFF_RUNNING through linkwatch, up to a
  // second after both ends are up, and vnetd takes its ports' carrier from it.
  // The cables' ports too: a bridge port whose carrier comes up later is put back into
  // forwarding, undoing the state set below.
  std::vector<std::string> wait_in;
  for (const lab::NodeSpec& n : spec.nodes) wait_in.push_back(namespace_name(spec, n.name));
  for (const auto& [vm_node, list] : places) wait_in.push_back(cable_namespace(spec, vm_node));
  for (int attempt = 0; attempt < 60; ++attempt) {
    bool all_up = true;
    for (const std::string& ns : wait_in) {
      cmd::CmdOutput o = run_process({"ip", "-n", ns, "-o", "link", "show"}, kSetupTimeoutMs);
      size_t pos = 0;
      while (pos < o.out.size()) {
        size_t end = o.out.find('\n', pos);
        if (end == std::string::npos) end = o.out.size();
        std::string line = o.out.substr(pos, end - pos);
        pos = end + 1;
        bool is_link_end = line.find("link/ether") != std::string::npos &&
                           line.find(" " + std::string(kBridgeDevice) + ":") == std::string::npos;
        if (is_link_end && line.find("state UP") == std::string::npos) all_up = false;
      }
    }
    if (all_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // Each cable forwards to its VM's first host only.  (Set once the carriers are up: a port
  // whose carrier comes up is put back into forwarding.)
  for (const auto& [vm_node, list] : places) {
    for (size_t i = 1; i < list.size(); ++i) {
      if (auto e = sh({"ip", "-n", cable_namespace(spec, vm_node), "link", "set", "dev",
                       "h" + std::to_string(i), "type", "bridge_slave", "state", "0"});
          !e.empty()) {
        return fail("cable of " + vm_node + ": " + e);
      }
    }
  }
  if (spec.vpcs.control == lab::VpcControl::Etcd) {
    if (auto e = start_etcd(spec); !e.empty()) return fail(e);
  }
  // vnetd for vnet nodes.
  for (const lab::NodeSpec& n : spec.nodes) {
    if (n.kind != lab::NodeKind::Vnet) continue;
    std::string ns = namespace_name(spec, n.name);
    std::string dir = state_dir(spec);
    std::string err;
    // Only the interfaces of the node's links (never a tunnel module's fallback device or
    // anything else the kernel puts in a new namespace).
    std::string ports;
    for (const lab::LinkSpec& l : spec.links) {
      for (const lab::LinkEndpoint* ep : {&l.a, &l.b}) {
        if (ep->node == n.name) ports += (ports.empty() ? "" : ",") + ep->ifname;
      }
    }
    for (const auto& [vm_node, list] : places) {
      for (size_t i = 1; i < list.size(); ++i) {
        if (list[i].host == n.name &&
            ("," + ports + ",").find("," + list[i].port + ",") == std::string::npos) {
          ports += (ports.empty() ? "" : ",") + list[i].port;
        }
      }
    }
    std::vector<std::string> argv = {"ip",
                                     "netns",
                                     "exec",
                                     ns,
                                     options.vnetd_path,
                                     "--name",
                                     ns,
                                     "--socket",
                                     ctl::socket_path(ns),
                                     "--log-level",
                                     options.log_level,
                                     "--pidfile",
                                     dir + "/" + n.name + ".pid",
                                     "--journal",
                                     dir + "/" + n.name + ".journal",
                                     "--restart"};
    // A new lab starts from its exec lines, not from a journal an earlier run left.
    for (const char* suffix : {".journal", ".journal.prev", ".journal.tmp"}) {
      fs::remove(dir + "/" + n.name + suffix, ec);
    }
    if (!ports.empty()) argv.insert(argv.end(), {"--ports", ports});
    if (spec.vpcs.control == lab::VpcControl::Etcd) {
      argv.insert(argv.end(), {"--etcd", etcd_endpoint(spec)});
      if (spec.vpcs.find_host(n.name) != nullptr) argv.insert(argv.end(), {"--agent", n.name});
    }
    int pid = spawn_detached(argv, dir + "/" + n.name + ".log", &err);
    if (pid < 0) return fail("vnetd for " + n.name + ": " + err);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ready = ctl::call(ctl::socket_path(ns), ctl::Request{"ping", "", ""}, 1000).status == 0;
      if (!ready && !alive(pid)) break;
    }
    if (!ready) {
      std::ifstream log(dir + "/" + n.name + ".log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      return fail(fmt::format("vnetd for node {} did not start:\n{}", n.name, text));
    }
  }
  // Exec lines, node by node in file order.  A vnet node's lines are also kept in
  // STATE/NODE.exec, for restarting its vnetd with --exec-file.
  for (const lab::NodeSpec& n : spec.nodes) {
    if (n.kind == lab::NodeKind::Vnet) {
      std::ofstream replay(state_dir(spec) + "/" + n.name + ".exec");
      for (const lab::ExecLine& line : n.exec) replay << line.command << "\n";
    }
    for (const lab::ExecLine& line : n.exec) {
      cmd::CmdOutput o = lab->exec(n.name, line.command);
      if (o.status != 0) {
        std::string e = o.err;
        while (!e.empty() && e.back() == '\n') e.pop_back();
        return fail(fmt::format("{}: node {}: exec `{}` failed: {}", loc_text(line.loc), n.name,
                                line.command, e.empty() ? "exit " + std::to_string(o.status) : e));
      }
    }
  }
  return lab;
}

cmd::CmdOutput RealLab::exec(const std::string& node, const std::string& line, int timeout_ms) {
  if (timeout_ms < 0) timeout_ms = options_.default_timeout_ms;
  const lab::NodeSpec* n = spec_.find_node(node);
  cmd::CmdOutput o;
  if (n == nullptr || n->kind == lab::NodeKind::Bridge) {
    o.status = 2;
    o.err = "vnet: no node " + node + " (or it is a bridge)\n";
    return o;
  }
  std::string ns = namespace_name(spec_, node);
  if (n->kind == lab::NodeKind::Linux) {
    std::string rewritten = rewrite_paths(node, line);
    if (auto answered = host_command(node, rewritten)) return *answered;
    return run_process({"ip", "netns", "exec", ns, "sh", "-c", rewritten}, timeout_ms);
  }
  ctl::Response r = ctl::call(ctl::socket_path(ns), ctl::Request{"exec", line, ""}, timeout_ms);
  o.out = std::move(r.out);
  o.err = std::move(r.err);
  o.status = r.status;
  return o;
}

std::string RealLab::rewrite_paths(const std::string& node, const std::string& line) const {
  std::string dir = state_dir(spec_) + "/nodes/" + node;
  std::string out = line;
  replace_all(out, "/var/www/html", dir + "/www");
  replace_all(out, "/tmp/", dir + "/tmp/");
  return out;
}

std::optional<cmd::CmdOutput> RealLab::host_command(const std::string& node,
                                                    const std::string& line) {
  auto words = simple_words(line);
  if (!words || words->empty()) return std::nullopt;
  const std::vector<std::string>& w = *words;
  std::string ns = namespace_name(spec_, node);
  std::string dir = state_dir(spec_) + "/nodes/" + node;
  cmd::CmdOutput o;
  const std::string& c = w[0];
  if (c == "hostnamectl") {
    // The UTS name is the host's: only the node's /etc/hostname changes.
    if (w.size() == 3 && w[1] == "set-hostname") {
      std::ofstream("/etc/netns/" + ns + "/hostname") << w[2] << "\n";
      return o;
    }
    o.status = 1;
    o.err = "vnet --real: only `hostnamectl set-hostname NAME` is supported on a linux node\n";
    return o;
  }
  if (c == "su" && (w.size() == 1 || w[1] == "-" || w[1] == "root")) return o;  // already root
  if (c == "setenforce") {
    static const std::set<std::string> kModes = {"0",         "1",          "Permissive",
                                                 "Enforcing", "permissive", "enforcing"};
    if (w.size() != 2 || !kModes.contains(w[1])) {
      o.status = 1;
      o.err = "usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]\n";
    }
    return o;  // no SELinux in a namespace
  }
  if (c == "yum" || c == "dnf") {
    // The packages a lab uses come from the host (Debian): nothing to install.
    for (size_t k = 1; k < w.size(); ++k) {
      if (w[k] != "install" && w[k][0] != '-') {
        o.out += fmt::format("Package {} already installed and latest version\n", w[k]);
      }
    }
    o.out += "Nothing to do\n";
    return o;
  }
  if (c == "systemctl") {
    std::vector<std::string> args;
    for (size_t k = 1; k < w.size(); ++k) {
      if (w[k][0] != '-') args.push_back(w[k]);
    }
    static const std::set<std::string> kVerbs = {
        "start",  "stop",    "restart",   "reload",     "status",
        "enable", "disable", "is-active", "is-enabled", "daemon-reload"};
    if (args.empty() || !kVerbs.contains(args[0])) {
      o.status = 1;
      o.err = args.empty() ? "systemctl: a verb is needed\n"
                           : fmt::format("Unknown command verb {}.\n", args[0]);
      return o;
    }
    std::string unit = args.size() > 1 ? args[1] : "";
    if (unit.size() > 8 && unit.substr(unit.size() - 8) == ".service") {
      unit.resize(unit.size() - 8);
    }
    if (unit == "firewalld" || unit == "iptables" || unit == "NetworkManager") return o;
    if (unit != "httpd" && unit != "apache2") {
      // Never the host's systemd.
      o.status = 5;
      o.err = fmt::format(
          "vnet --real: systemctl on a linux node knows httpd and firewalld "
          "only, not {}\n",
          unit.empty() ? "(no unit)" : unit);
      return o;
    }
    std::string pidfile = dir + "/httpd.pid";
    pid_t pid = read_pid(pidfile);
    bool running = pid > 0 && alive(pid);
    const std::string& verb = args[0];
    if (verb == "stop" || verb == "restart") {
      if (running) terminate({pid});
      std::error_code ec;
      fs::remove(pidfile, ec);
      running = false;
      if (verb == "stop") return o;
    }
    if (verb == "status" || verb == "is-active") {
      o.out = running ? "active\n" : "inactive\n";
      o.status = running ? 0 : 3;
      return o;
    }
    if (verb != "start" && verb != "restart" && verb != "reload") return o;
    if (running) return o;
    std::string err;
    int p = spawn_detached({"ip", "netns", "exec", ns, "/usr/bin/python3", "-m", "http.server",
                            "80", "--bind", "0.0.0.0", "--directory", dir + "/www"},
                           dir + "/httpd.log", &err);
    if (p < 0) {
      o.status = 1;
      o.err = "httpd (python3 -m http.server): " + err + "\n";
      return o;
    }
    std::ofstream(pidfile) << p << "\n";
    if (!wait_for({"ip", "netns", "exec", ns, "ss", "-Hltn", "sport = :80"}, true)) {
      o.status = 1;
      o.err =
          "httpd (python3 -m http.server) is not listening on port 80; see " + dir + "/httpd.log\n";
    }
    return o;
  }
  if (c == "modprobe") {
    bool remove = false;
    for (size_t k = 1; k < w.size(); ++k) remove |= w[k] == "-r" || w[k] == "--remove";
    for (size_t k = 1; k < w.size(); ++k) {
      const std::string& m = w[k];
      if (m[0] == '-') continue;
      if (m == "ipip" || m == "ip_gre") {
        // No ipip/ip_gre module in this kernel: vnetd --tunnel makes tunl0/gre0.
        std::string dev = m == "ipip" ? "tunl0" : "gre0";
        std::string pidfile = dir + "/" + dev + ".pid";
        pid_t pid = read_pid(pidfile);
        bool running = pid > 0 && alive(pid);
        if (remove) {
          if (running) terminate({pid});
          std::error_code ec;
          fs::remove(pidfile, ec);
          continue;
        }
        if (running) continue;
        std::string err;
        int p = spawn_detached(
            {"ip", "netns", "exec", ns, options_.vnetd_path, "--name", ns + "-" + dev, "--tunnel",
             m == "ipip" ? "ipip" : "gre", "--pidfile", pidfile},
            dir + "/" + dev + ".log", &err);
        if (p < 0 || !wait_for({"ip", "-n", ns, "link", "show", dev}, false)) {
          o.status = 1;
          o.err += fmt::format("modprobe {}: {} did not appear ({}); see {}/{}.log\n", m, dev, err,
                               dir, dev);
        }
        continue;
      }
      std::error_code ec;
      if (!fs::exists("/sys/module/" + m, ec) && !remove) {
        o.status = 1;
        o.err += fmt::format("modprobe: FATAL: Module {} not found in this kernel\n", m);
      }
    }
    return o;
  }
  return std::nullopt;
}

labrun::CheckResult RealLab::run_check(const lab::CheckSpec& check) {
  int timeout_ms = check.timeout_ns ? static_cast<int>(*check.timeout_ns / 1'000'000)
                                    : options_.default_timeout_ms;
  if (check.during.empty()) {
    return labrun::evaluate_check(check, exec(check.node, check.run, timeout_ms));
  }
  // The check's command runs in its own thread; the actions run here at their times.
  using Clock = std::chrono::steady_clock;
  Clock::time_point start = Clock::now();
  cmd::CmdOutput out;
  std::atomic<bool> done{false};
  std::thread runner([&] {
    out = exec(check.node, check.run, timeout_ms);
    done = true;
  });
  auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  labrun::DuringLog log;
  size_t missed = 0;
  for (const lab::DuringAction& a : check.during) {
    std::this_thread::sleep_until(start + std::chrono::nanoseconds(a.at_ns));
    if (done) {
      ++missed;
      continue;
    }
    log.run_action(
        a, seconds(),
        [&](const std::string& n, const std::string& l) { return exec(n, l, timeout_ms); },
        [this](const lab::DuringAction& m) { return migrate(m); });
  }
  runner.join();
  return log.verdict(check, std::move(out), missed, seconds());
}

std::string RealLab::switch_cable(const std::string& vm, int from, int to) {
  // One `ip -batch`: the new host's port forwards, the old one's stops.
  std::string batch = state_dir(spec_) + "/" + vm + ".cable";
  std::ofstream(batch) << fmt::format(
      "link set dev h{} type bridge_slave state 3\nlink set dev h{} type bridge_slave state 0\n",
      to, from);
  return sh({"ip", "-n", cable_namespace(spec_, vm), "-batch", batch});
}

std::string RealLab::migrate(const lab::DuringAction& a) {
  auto [vm, net] = spec_.vpcs.find_vm(a.migrate);
  if (vm == nullptr) return fmt::format("{} is not a VM of `vpcs`", a.migrate);
  auto& place = vm_place_[a.migrate];
  if (place.host.empty()) place = {vm->host, vm->port};
  if (place.host == a.to) return fmt::format("{} is on {} already", a.migrate, a.to);
  std::string port = a.port.empty() ? place.port : a.port;
  const std::vector<lab::VmPlace> list = lab::migration_places(spec_)[a.migrate];
  auto index = [&](const std::string& host, const std::string& dev) {
    auto it = std::find(list.begin(), list.end(), lab::VmPlace{host, dev});
    return it == list.end() ? -1 : static_cast<int>(it - list.begin());
  };
  int from = index(place.host, place.port), to = index(a.to, port);
  if (from < 0 || to < 0) return fmt::format("{} has no cable to {}:{}", a.migrate, a.to, port);
  if (spec_.vpcs.control == lab::VpcControl::Etcd) return migrate_through_store(a, from, to);
  auto lines = lab::migration_lines(spec_.vpcs, *net, *vm, place.host, place.port, a.to, port);
  std::string errors;
  auto run = [&](size_t i) {
    cmd::CmdOutput o = exec(lines[i].first, lines[i].second, 5000);
    if (o.status != 0) {
      errors += fmt::format("{}: `{}`: {}", lines[i].first, lines[i].second, o.err);
    }
  };
  // The new host's neigh_table and port first, then the cable switches over (one `ip -batch`:
  // the new host's port forwards, the old one's stops), then every route_table, then the old
  // host forgets the VM.  The VM is cut off only between the switch and the route changes.
  for (size_t i = 0; i < 2 && i < lines.size(); ++i) run(i);
  if (auto e = switch_cable(a.migrate, from, to); !e.empty()) return errors + e;
  for (size_t i = 2; i < lines.size(); ++i) run(i);
  place = {a.to, port};
  return errors;
}

std::string RealLab::migrate_through_store(const lab::DuringAction& a, int from, int to) {
  auto [vm, net] = spec_.vpcs.find_vm(a.migrate);
  auto& place = vm_place_[a.migrate];
  std::string port = a.port.empty() ? place.port : a.port;
  // One transaction (route, old port, new port) that every host's agent applies, then the
  // cable switches over.  The VM is cut off from when the agents apply until the switch.
  const std::string line = lab::migration_store_line(*net, *vm, place.host, a.to, port);
  std::string errors;
  cmd::CmdOutput o = exec(a.to, line, 5000);
  if (o.status != 0) errors += fmt::format("{}: `{}`: {}", a.to, line, o.err);
  if (auto e = switch_cable(a.migrate, from, to); !e.empty()) return errors + e;
  place = {a.to, port};
  return errors;
}

}  // namespace vnet::labreal
