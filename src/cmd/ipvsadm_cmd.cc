// ipvsadm on a node's shell: `ipvsadm`, `ipvsadm-save`, `ipvsadm-restore`, the init script
// (/etc/init.d/ipvsadm, ipvsadm.sh of ipvsadm-1.31) and the ipvsadm.service unit, which keep
// the rules in /etc/sysconfig/ipvsadm.  Names in listings come from the node's /etc/hosts.
#include <fmt/format.h>

#include <sstream>

#include "cmd/fs.h"
#include "cmd/shell.h"
#include "lb/ipvsadm.h"

namespace vnet::cmd {

namespace {

constexpr const char* kRulesFile = "/etc/sysconfig/ipvsadm";

// /etc/hosts as (address, names) lines.
std::vector<std::pair<net::Ipv4Addr, std::vector<std::string>>> hosts(const stack::Node& node) {
  std::vector<std::pair<net::Ipv4Addr, std::vector<std::string>>> out;
  auto text = read_file(node, "/etc/hosts");
  if (!text) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    std::string addr;
    if (!(words >> addr)) continue;
    auto a = net::Ipv4Addr::parse(addr);
    if (!a) continue;
    std::vector<std::string> names;
    std::string n;
    while (words >> n) names.push_back(n);
    if (!names.empty()) out.emplace_back(*a, names);
  }
  return out;
}

lb::IpvsadmNames names_of(stack::Node& node) {
  lb::IpvsadmNames n;
  n.host_of = [&node](net::Ipv4Addr a) -> std::optional<std::string> {
    for (const auto& [addr, names] : hosts(node)) {
      if (addr == a) return names.front();
    }
    return std::nullopt;
  };
  n.addr_of = [&node](const std::string& name) -> std::optional<net::Ipv4Addr> {
    for (const auto& [addr, names] : hosts(node)) {
      for (const std::string& x : names) {
        if (x == name) return addr;
      }
    }
    return std::nullopt;
  };
  n.is_local = [&node](net::Ipv4Addr a) { return node.is_local_address(a); };
  n.now_ns = node.now_ns();
  return n;
}

CmdOutput from(const lb::IpvsadmResult& r) {
  CmdOutput o;
  o.out = r.out;
  o.err = r.err;
  o.status = r.status;
  return o;
}

}  // namespace

CmdOutput Shell::run_ipvsadm_command(const Args& argv, const std::string& input) {
  lb::IpvsTable& table = node_.ipvs();
  lb::IpvsadmNames names = names_of(node_);
  std::string base = argv[0].substr(argv[0].rfind('/') + 1);
  auto ipvsadm = [&](std::vector<std::string> args, const std::string& in = {}) {
    args.insert(args.begin(), "ipvsadm");
    return lb::run_ipvsadm(table, args, in, names);
  };
  if (base == "ipvsadm-save") {
    std::vector<std::string> args = {"-S"};
    for (size_t i = 1; i < argv.size(); ++i) args.push_back(argv[i]);
    return from(ipvsadm(args));
  }
  if (base == "ipvsadm-restore") return from(ipvsadm({"-R"}, input));
  if (argv[0] == "/etc/init.d/ipvsadm") {
    // ipvsadm.sh with RHEL's init functions, as on the seed's CentOS hosts.
    std::string verb = argv.size() > 1 ? argv[1] : "";
    CmdOutput o;
    auto clear = [&] {
      lb::IpvsadmResult r = ipvsadm({"-C"});
      o.out += fmt::format("Clearing the current IPVS table: {}\n",
                           r.status == 0 ? "[  OK  ]" : "[FAILED]");
    };
    if (verb == "start" || verb == "restart" || verb == "reload" || verb == "reload-force") {
      clear();
      o.out += "Applying IPVS configuration: ";
      auto rules = read_file(node_, kRulesFile);
      lb::IpvsadmResult r = rules ? ipvsadm({"-R"}, *rules) : lb::IpvsadmResult{};
      bool ok = rules && r.status == 0;
      if (!rules)
        o.err +=
            fmt::format("/etc/init.d/ipvsadm: line 1: {}: No such file or directory\n", kRulesFile);
      o.err += r.err;
      o.out += ok ? "[  OK  ]\n" : "[FAILED]\n";
      return o;
    }
    if (verb == "stop" || verb == "panic") {
      clear();
      return o;
    }
    if (verb == "status") return from(ipvsadm({"-L", "-n"}));
    if (verb == "save") {
      o.out = fmt::format("Saving IPVS table to {}: ", kRulesFile);
      lb::IpvsadmResult r = ipvsadm({"-S", "-n"});
      CmdOutput w = write_file(kRulesFile, r.out, false);
      bool ok = r.status == 0 && w.status == 0;
      o.out += ok ? "[  OK  ]\n" : "[FAILED]\n";
      return o;
    }
    o.out = "Usage: ipvsadm\n\t  {start|stop|restart|status|panic|save|reload|reload-force}\n";
    o.status = 1;
    return o;
  }
  Args args(argv.begin() + 1, argv.end());
  return from(ipvsadm(args, input));
}

CmdOutput Shell::run_ipvsadm_unit(const std::string& verb) {
  // ipvsadm.service: ExecStart restores /etc/sysconfig/ipvsadm, ExecStop saves it and clears.
  CmdOutput o;
  if (verb == "start" || verb == "restart" || verb == "reload") {
    auto rules = read_file(node_, kRulesFile);
    if (verb == "restart") run_ipvsadm_command({"ipvsadm", "-C"}, {});
    lb::IpvsadmResult r;
    if (rules) r = lb::run_ipvsadm(node_.ipvs(), {"ipvsadm", "-R"}, *rules, names_of(node_));
    if (!rules || r.status != 0) {
      o.err =
          "Job for ipvsadm.service failed because the control process exited with error code.\n"
          "See \"systemctl status ipvsadm.service\" and \"journalctl -xeu ipvsadm.service\" for "
          "details.\n";
      o.status = 1;
    }
    return o;
  }
  if (verb == "stop") {
    CmdOutput s = run_ipvsadm_command({"ipvsadm-save", "-n"}, {});
    write_file(kRulesFile, s.out, false);
    run_ipvsadm_command({"ipvsadm", "-C"}, {});
    return o;
  }
  if (verb == "enable" || verb == "disable") return o;
  if (verb == "is-active" || verb == "status") {
    bool active = node_.ipvs_if_loaded() != nullptr;
    o.out = verb == "is-active" ? (active ? "active\n" : "inactive\n")
                                : fmt::format(
                                      "* ipvsadm.service - Initialise the Linux Virtual "
                                      "Server\n     Active: {}\n",
                                      active ? "active (exited)" : "inactive (dead)");
    o.status = active ? 0 : 3;
    return o;
  }
  o.err = fmt::format("Unknown command verb {}.\n", verb);
  o.status = 1;
  return o;
}

}  // namespace vnet::cmd
