#include "lab/vpc_expand.h"

#include <algorithm>

#include <map>
#include <string_view>

namespace vnet::lab {
namespace {

// " vpc 6289", the tail of most lines.
std::string vpc_suffix(uint32_t id) {
  return " vpc " + std::to_string(id);
}

std::string neigh_add(const VpcNetSpec& net, const VpcVmSpec& vm) {
  return "vpc neigh add " + format_ipv4(vm.ip) + " lladdr " + format_mac(vm.mac) +
         vpc_suffix(net.id);
}

std::string port_add(const VpcNetSpec& net, const VpcVmSpec& vm, const std::string& port) {
  return "vpc port add " + port + " vm " + format_ipv4(vm.ip) + vpc_suffix(net.id) + " lladdr " +
         format_mac(vm.mac);
}

}  // namespace

uint64_t vpc_exec_line_count(const VpcSpec& vpcs) {
  std::map<uint32_t, uint64_t> subnets_of;
  uint64_t vms = 0;
  for (const VpcNetSpec& net : vpcs.networks) {
    subnets_of[net.id] = net.subnets.size();
    vms += net.vms.size();
  }
  uint64_t peered_subnets = 0;
  for (const VpcPeeringSpec& peering : vpcs.peerings) {
    peered_subnets += subnets_of[peering.a] + subnets_of[peering.b];
  }
  // Each host: local, grace, one add per network, one route per VM, the peerings' subnet routes;
  // each VM: its MAC, and a neigh and a port on its host.
  if (vpcs.control == VpcControl::Etcd) {
    // Written once: each host's settings, the networks, each VM's route, neigh, port and MAC.
    return vpcs.hosts.size() * (1 + (vpcs.grace_ns ? 1 : 0)) + vpcs.networks.size() + 4 * vms +
           peered_subnets;
  }
  const uint64_t per_host =
      1 + (vpcs.grace_ns ? 1 : 0) + vpcs.networks.size() + vms + peered_subnets;
  return vpcs.hosts.size() * per_host + 3 * vms;
}

std::string format_grace(uint64_t ns) {
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  if (ns % 1'000 == 0) return std::to_string(ns / 1'000) + "us";
  return std::to_string(ns) + "ns";
}

void expand_vpcs(LabSpec& spec) {
  const VpcSpec& vpcs = spec.vpcs;
  if (vpcs.empty()) return;
  std::map<std::string_view, NodeSpec*> nodes;
  for (NodeSpec& node : spec.nodes) nodes.emplace(node.name, &node);
  std::map<uint32_t, const VpcNetSpec*> networks;
  for (const VpcNetSpec& net : vpcs.networks) networks.emplace(net.id, &net);

  for (const VpcNetSpec& net : vpcs.networks) {
    for (const VpcVmSpec& vm : net.vms) {
      std::vector<ExecLine>& exec = nodes.at(vm.node)->exec;
      exec.insert(
          exec.begin(),
          ExecLine{"ip link set dev " + vm.ifname + " address " + format_mac(vm.mac), vm.loc});
    }
  }

  // The lines every host runs alike, built once: the networks, the VMs' routes, the peerings.
  std::map<std::string_view, uint32_t> host_addr;
  for (const VpcHostSpec& host : vpcs.hosts) host_addr.emplace(host.node, host.addr);
  std::vector<ExecLine> adds;
  std::vector<ExecLine> routes;
  for (const VpcNetSpec& net : vpcs.networks) {
    std::string line = "vpc add " + std::to_string(net.id);
    for (const VpcPrefix& subnet : net.subnets) line += " subnet " + format_prefix(subnet);
    adds.push_back({std::move(line), net.loc});
    for (const VpcVmSpec& vm : net.vms) {
      routes.push_back({"vpc route add " + format_ipv4(vm.ip) + " host " +
                            format_ipv4(host_addr.at(vm.host)) + vpc_suffix(net.id),
                        vm.loc});
    }
  }
  std::vector<ExecLine> subnet_routes;
  for (const VpcPeeringSpec& peering : vpcs.peerings) {
    const VpcNetSpec& a = *networks.at(peering.a);
    const VpcNetSpec& b = *networks.at(peering.b);
    for (const VpcPrefix& subnet : b.subnets) {
      subnet_routes.push_back({"vpc subnet-route add " + format_prefix(subnet) + " peer " +
                                   std::to_string(b.id) + vpc_suffix(a.id),
                               peering.loc});
    }
    for (const VpcPrefix& subnet : a.subnets) {
      subnet_routes.push_back({"vpc subnet-route add " + format_prefix(subnet) + " peer " +
                                   std::to_string(a.id) + vpc_suffix(b.id),
                               peering.loc});
    }
  }

  if (vpcs.control == VpcControl::Etcd) {
    // The desired state, written to the store once (by the first host: any node with the
    // control plane could); every host's agent applies its part.
    std::vector<ExecLine>& exec = nodes.at(vpcs.hosts.front().node)->exec;
    const std::string w = "vpc --etcd ";
    for (const VpcHostSpec& host : vpcs.hosts) {
      const std::string on = w + "--node " + host.node + " ";
      exec.push_back({on + "local " + format_ipv4(host.addr), host.loc});
      if (vpcs.grace_ns) {
        exec.push_back({on + "set grace " + format_grace(*vpcs.grace_ns), vpcs.grace_loc});
      }
    }
    for (std::vector<ExecLine>* lines : {&adds, &routes}) {
      for (const ExecLine& l : *lines) exec.push_back({w + l.command.substr(4), l.loc});
    }
    for (const VpcNetSpec& net : vpcs.networks) {
      for (const VpcVmSpec& vm : net.vms) {
        exec.push_back({w + neigh_add(net, vm).substr(4), vm.loc});
        exec.push_back(
            {w + "--node " + vm.host + " " + port_add(net, vm, vm.port).substr(4), vm.loc});
      }
    }
    for (const ExecLine& l : subnet_routes) exec.push_back({w + l.command.substr(4), l.loc});
    return;
  }
  for (const VpcHostSpec& host : vpcs.hosts) {
    std::vector<ExecLine>& exec = nodes.at(host.node)->exec;
    exec.push_back({"vpc local " + format_ipv4(host.addr), host.loc});
    if (vpcs.grace_ns) {
      exec.push_back({"vpc set grace " + format_grace(*vpcs.grace_ns), vpcs.grace_loc});
    }
    exec.insert(exec.end(), adds.begin(), adds.end());
    exec.insert(exec.end(), routes.begin(), routes.end());
    for (const VpcNetSpec& net : vpcs.networks) {
      for (const VpcVmSpec& vm : net.vms) {
        if (vm.host != host.node) continue;
        exec.push_back({neigh_add(net, vm), vm.loc});
        exec.push_back({port_add(net, vm, vm.port), vm.loc});
      }
    }
    exec.insert(exec.end(), subnet_routes.begin(), subnet_routes.end());
  }
}

std::vector<std::pair<std::string, std::string>> migration_lines(
    const VpcSpec& vpcs, const VpcNetSpec& net, const VpcVmSpec& vm, const std::string& from_host,
    const std::string& from_port, const std::string& to_host, const std::string& to_port) {
  std::vector<std::pair<std::string, std::string>> lines;
  const VpcHostSpec* to = vpcs.find_host(to_host);
  if (to == nullptr) return lines;
  // The new port first, so the VM is reachable there before any host sends its traffic there;
  // then the old host, which must stop delivering to the port the VM left and forward instead
  // (its grace time); then every other host; the old host's neigh_table entry last.
  const std::string change = "vpc route change " + format_ipv4(vm.ip) + " host " +
                             format_ipv4(to->addr) + vpc_suffix(net.id);
  lines.emplace_back(to_host, neigh_add(net, vm));
  lines.emplace_back(to_host, port_add(net, vm, to_port));
  lines.emplace_back(from_host, change);
  lines.emplace_back(from_host, "vpc port del " + from_port);
  for (const VpcHostSpec& host : vpcs.hosts) {
    if (host.node != from_host) lines.emplace_back(host.node, change);
  }
  lines.emplace_back(from_host, "vpc neigh del " + format_ipv4(vm.ip) + vpc_suffix(net.id));
  return lines;
}

std::string migration_store_line(const VpcNetSpec& net, const VpcVmSpec& vm,
                                 const std::string& from_host, const std::string& to_host,
                                 const std::string& to_port) {
  return "vpc --etcd migrate " + format_ipv4(vm.ip) + vpc_suffix(net.id) + " to " + to_host +
         " dev " + to_port + " from " + from_host;
}

std::map<std::string, std::vector<VmPlace>> migration_places(const LabSpec& spec) {
  std::map<std::string, std::vector<VmPlace>> places;
  std::map<std::string, VmPlace> now;
  for (const CheckSpec& check : spec.checks) {
    for (const DuringAction& a : check.during) {
      if (a.migrate.empty()) continue;
      auto [vm, net] = spec.vpcs.find_vm(a.migrate);
      if (vm == nullptr) continue;
      auto it = now.find(a.migrate);
      if (it == now.end()) {
        it = now.emplace(a.migrate, VmPlace{vm->host, vm->port}).first;
        places[a.migrate].push_back(it->second);
      }
      VmPlace next{a.to, a.port.empty() ? it->second.port : a.port};
      std::vector<VmPlace>& list = places[a.migrate];
      if (std::find(list.begin(), list.end(), next) == list.end()) list.push_back(next);
      it->second = next;
    }
  }
  return places;
}

}  // namespace vnet::lab
