// The expansion of a lab's `vpcs:` section (VpcSpec, lab_spec.h) into the exec lines that deploy
// it, so that the simulator and --real deploy VPCs as they deploy everything else: by running
// command lines on nodes.  Input is a validated LabSpec (parse_lab calls expand_vpcs last); output
// is that spec with lines added to its VM and host nodes, each placed at the `vpcs:` entry that
// caused it.  Also the lines a live migration runs (`during: - migrate:`), for the lab runners.
//
// Example: hosts {host1: 10.10.1.9, host2: 10.10.1.10}, network 6289 with subnet 10.0.1.0/24 and
// VM vm1 (10.0.1.141, linked eth0 -- host1:vm1p) gives
//   vm1:   ip link set dev eth0 address 52:54:00:00:00:01            (before vm1's own lines)
//   host1: vpc local 10.10.1.9                                        (after host1's own lines)
//          vpc add 6289 subnet 10.0.1.0/24
//          vpc route add 10.0.1.141 host 10.10.1.9 vpc 6289
//          vpc neigh add 10.0.1.141 lladdr 52:54:00:00:00:01 vpc 6289
//          vpc port add vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:00:00:01
//   host2: vpc local 10.10.1.10
//          vpc add 6289 subnet 10.0.1.0/24
//          vpc route add 10.0.1.141 host 10.10.1.9 vpc 6289
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lab/lab_spec.h"
#include "lab/lab_values.h"  // format_ipv4, format_prefix, format_mac

namespace vnet::lab {

// The most exec lines `vpcs:` may generate.  Routes grow as VMs × hosts, so a page of YAML could
// otherwise ask for gigabytes of lines; a real lab generates hundreds.
inline constexpr uint64_t kMaxVpcExecLines = 100'000;

// How many lines expand_vpcs adds for `vpcs` (no overflow for any input parse_lab accepts).
uint64_t vpc_exec_line_count(const VpcSpec& vpcs);

// Adds the lines to spec.nodes: on each VM, before its own lines,
//   ip link set dev IFNAME address MAC
// and on each host (in `hosts` order), after its own lines:
//   vpc local ADDR
//   vpc set grace D                                (with grace: Nms, else Nus, else Nns)
//   vpc add ID [subnet P]...                       (each network, file order)
//   vpc route add IP host HOSTADDR vpc ID          (each VM of each network, on every host)
//   vpc neigh add IP lladdr MAC vpc ID             (each VM on this host, then:)
//   vpc port add PORT vm IP vpc ID lladdr MAC
//   vpc subnet-route add P peer B vpc A            (each peering [A, B]: each subnet P of B,
//   vpc subnet-route add P peer A vpc B             then each subnet P of A)
// With `control: etcd` the same state goes to the store instead, written once, all on the
// first host (each line one transaction; the hosts' agents apply it):
//   vpc --etcd --node HOST local ADDR              (each host; then its grace, if any)
//   vpc --etcd add ID [subnet P]...
//   vpc --etcd route add IP host HOSTADDR vpc ID   (each VM once)
//   vpc --etcd neigh add IP lladdr MAC vpc ID      (each VM, then its port:)
//   vpc --etcd --node HOST port add PORT vm IP vpc ID lladdr MAC
//   vpc --etcd subnet-route add P peer B vpc A
// The spec must be valid: every node named by `vpcs` exists.
void expand_vpcs(LabSpec& spec);

// The duration as `vpc set grace` reads it: "500ms" when a whole number of milliseconds, else
// "250us" when whole microseconds, else "1500ns".
std::string format_grace(uint64_t ns);

// The lines that move `vm` of `net` from from_host (its vSwitch port from_port) to to_host (port
// to_port), as (node, line) in order: on to_host
//   vpc neigh add IP lladdr MAC vpc ID
//   vpc port add TOPORT vm IP vpc ID lladdr MAC
// on from_host (so that it forwards rather than delivers to the port the VM left)
//   vpc route change IP host TOADDR vpc ID
//   vpc port del FROMPORT
// then the same route change on every other host, in `hosts` order, and on from_host
//   vpc neigh del IP vpc ID
// Empty when to_host is not a host of `vpcs`.
std::vector<std::pair<std::string, std::string>> migration_lines(
    const VpcSpec& vpcs, const VpcNetSpec& net, const VpcVmSpec& vm, const std::string& from_host,
    const std::string& from_port, const std::string& to_host, const std::string& to_port);

// With `control: etcd`, the one transaction that migrates (run on any host):
//   vpc --etcd migrate IP vpc ID to TOHOST dev TOPORT from FROMHOST
std::string migration_store_line(const VpcNetSpec& net, const VpcVmSpec& vm,
                                 const std::string& from_host, const std::string& to_host,
                                 const std::string& to_port);

// Where each VM named by a `during: migrate` action can be: its host and port at deploy time,
// then each action's destination in check order (an action without `port` keeps the port name
// it had), without repeats.  The runners create these ports up front (with --real, a "cable"
// that reaches each of them), so a migration only switches which one carries the VM.
struct VmPlace {
  std::string host;
  std::string port;
  bool operator==(const VmPlace&) const = default;
};
std::map<std::string, std::vector<VmPlace>> migration_places(const LabSpec& spec);

}  // namespace vnet::lab
