// The `vpcs:` section of lab files: parsing into VpcSpec (hosts, networks, VMs with their links,
// generated MACs, peerings) and its expansion into exec lines on the VMs and hosts; the lines of
// a live migration.  The one-mistake files (tests/lab/bad/vpc_*.yaml) are in
// lab_bad_files_test.cc.
#include "lab/vpc_expand.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lab/lab_parser.h"

namespace vnet::lab {
namespace {

LabSpec parse_ok(std::string_view text) {
  std::variant<LabSpec, LabError> result = parse_lab(text, "lab.yaml");
  if (auto* error = std::get_if<LabError>(&result)) {
    ADD_FAILURE() << error->to_string();
    return {};
  }
  return std::get<LabSpec>(std::move(result));
}

std::string parse_error(std::string_view text) {
  std::variant<LabSpec, LabError> result = parse_lab(text, "lab.yaml");
  if (auto* error = std::get_if<LabError>(&result)) return error->to_string();
  return "(no error)";
}

// Every node's exec lines, "node @LINE:COLUMN command" one a line.
std::string dump_exec(const LabSpec& spec) {
  std::ostringstream out;
  for (const NodeSpec& node : spec.nodes) {
    for (const ExecLine& line : node.exec) {
      out << node.name << " @" << line.loc.line << ":" << line.loc.column << " " << line.command
          << "\n";
    }
  }
  return out.str();
}

// Two VPCs peered, three hosts, four VMs: vm1 and vm4 on host1 and host2 with given MACs, vm2
// and vm3 with generated ones; vm3 also has a link to the bridge, vm4 links to two hosts and
// names its interface.
constexpr std::string_view kTwoVpcs = R"(name: vpcs
topology:
  nodes:
    host1: {kind: vnet, exec: ["ip addr add 10.10.1.9/24 dev eth0"]}
    host2: {kind: vnet}
    host3: {kind: vnet}
    vm1: {kind: linux, exec: ["ip addr add 10.0.1.141/24 dev eth0"]}
    vm2: {kind: linux}
    vm3: {kind: vnet}
    vm4: {kind: linux}
    sw: {kind: bridge}
  links:
    - endpoints: ["host1:eth0", "sw:p1"]
    - endpoints: ["host2:eth0", "sw:p2"]
    - endpoints: ["host3:eth0", "sw:p3"]
    - endpoints: ["vm1:eth0", "host1:vm1p"]
    - endpoints: ["host2:vm2p", "vm2:eth0"]
    - endpoints: ["vm3:eth0", "sw:p4"]
    - endpoints: ["vm3:eth1", "host3:vm3p"]
    - endpoints: ["vm4:eth0", "host1:vm4p"]
    - endpoints: ["vm4:eth1", "host2:vm4p"]
vpcs:
  grace: 500ms
  hosts:
    host1: 10.10.1.9
    host2: 10.10.1.10
    host3: 10.10.1.11
  networks:
    - id: 6289
      subnets: [10.0.1.0/24, 10.0.2.0/24]
      vms:
        - node: vm1
          ip: 10.0.1.141
          host: host1
          mac: "52:54:00:12:34:56"
        - {node: vm2, ip: 10.0.2.7}
    - id: 6774
      subnets: [172.16.0.0/16]
      vms:
        - {node: vm3, ip: 172.16.0.47}
        - {node: vm4, ip: 172.16.0.48, interface: eth1, mac: "52:54:00:AB:CD:EF"}
  peerings:
    - [6289, 6774]
)";

TEST(VpcsTest, ParsesTheSpec) {
  const LabSpec spec = parse_ok(kTwoVpcs);
  const VpcSpec& vpcs = spec.vpcs;
  EXPECT_EQ(vpcs.loc, (SourceLoc{"lab.yaml", 22, 1}));
  EXPECT_EQ(vpcs.grace_ns, 500'000'000u);
  ASSERT_EQ(vpcs.hosts.size(), 3u);
  EXPECT_EQ(vpcs.hosts[1].node, "host2");
  EXPECT_EQ(vpcs.hosts[1].addr, 0x0a0a010au);
  EXPECT_EQ(vpcs.hosts[1].loc, (SourceLoc{"lab.yaml", 26, 5}));
  ASSERT_EQ(vpcs.networks.size(), 2u);
  const VpcNetSpec& net = vpcs.networks[0];
  EXPECT_EQ(net.id, 6289u);
  EXPECT_EQ(net.subnets, (std::vector<VpcPrefix>{{0x0a000100, 24}, {0x0a000200, 24}}));
  EXPECT_EQ(net.loc, (SourceLoc{"lab.yaml", 29, 7}));
  ASSERT_EQ(net.vms.size(), 2u);
  EXPECT_EQ(net.vms[1].node, "vm2");
  EXPECT_EQ(net.vms[1].ip, 0x0a000207u);
  EXPECT_EQ(net.vms[1].loc, (SourceLoc{"lab.yaml", 36, 11}));
  ASSERT_EQ(vpcs.peerings.size(), 1u);
  EXPECT_EQ(vpcs.peerings[0].a, 6289u);
  EXPECT_EQ(vpcs.peerings[0].b, 6774u);
  EXPECT_EQ(vpcs.peerings[0].loc, (SourceLoc{"lab.yaml", 43, 7}));

  EXPECT_EQ(vpcs.find_host("host3"), &vpcs.hosts[2]);
  EXPECT_EQ(vpcs.find_host("vm1"), nullptr);
  auto [vm, vm_net] = vpcs.find_vm("vm4");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm, &vpcs.networks[1].vms[1]);
  EXPECT_EQ(vm_net, &vpcs.networks[1]);
  EXPECT_EQ(vpcs.find_vm("host1"), (std::pair<const VpcVmSpec*, const VpcNetSpec*>{}));
}

TEST(VpcsTest, LinksGiveEachVmItsInterfaceHostAndPort) {
  const LabSpec spec = parse_ok(kTwoVpcs);
  std::vector<std::string> found;
  for (const VpcNetSpec& net : spec.vpcs.networks) {
    for (const VpcVmSpec& vm : net.vms) {
      found.push_back(vm.node + " " + vm.ifname + " -- " + vm.host + ":" + vm.port + " " +
                      format_mac(vm.mac));
    }
  }
  EXPECT_EQ(found, (std::vector<std::string>{
                       "vm1 eth0 -- host1:vm1p 52:54:00:12:34:56",
                       "vm2 eth0 -- host2:vm2p 52:54:00:00:00:02",  // the link written backwards
                       "vm3 eth1 -- host3:vm3p 52:54:00:00:00:03",  // eth0 goes to a bridge
                       "vm4 eth1 -- host2:vm4p 52:54:00:ab:cd:ef",  // `interface` chooses
                   }));
}

TEST(VpcsTest, ExpandsIntoExecLines) {
  const LabSpec spec = parse_ok(kTwoVpcs);
  EXPECT_EQ(dump_exec(spec), R"(host1 @4:32 ip addr add 10.10.1.9/24 dev eth0
host1 @25:5 vpc local 10.10.1.9
host1 @23:3 vpc set grace 500ms
host1 @29:7 vpc add 6289 subnet 10.0.1.0/24 subnet 10.0.2.0/24
host1 @37:7 vpc add 6774 subnet 172.16.0.0/16
host1 @32:11 vpc route add 10.0.1.141 host 10.10.1.9 vpc 6289
host1 @36:11 vpc route add 10.0.2.7 host 10.10.1.10 vpc 6289
host1 @40:11 vpc route add 172.16.0.47 host 10.10.1.11 vpc 6774
host1 @41:11 vpc route add 172.16.0.48 host 10.10.1.10 vpc 6774
host1 @32:11 vpc neigh add 10.0.1.141 lladdr 52:54:00:12:34:56 vpc 6289
host1 @32:11 vpc port add vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:12:34:56
host1 @43:7 vpc subnet-route add 172.16.0.0/16 peer 6774 vpc 6289
host1 @43:7 vpc subnet-route add 10.0.1.0/24 peer 6289 vpc 6774
host1 @43:7 vpc subnet-route add 10.0.2.0/24 peer 6289 vpc 6774
host2 @26:5 vpc local 10.10.1.10
host2 @23:3 vpc set grace 500ms
host2 @29:7 vpc add 6289 subnet 10.0.1.0/24 subnet 10.0.2.0/24
host2 @37:7 vpc add 6774 subnet 172.16.0.0/16
host2 @32:11 vpc route add 10.0.1.141 host 10.10.1.9 vpc 6289
host2 @36:11 vpc route add 10.0.2.7 host 10.10.1.10 vpc 6289
host2 @40:11 vpc route add 172.16.0.47 host 10.10.1.11 vpc 6774
host2 @41:11 vpc route add 172.16.0.48 host 10.10.1.10 vpc 6774
host2 @36:11 vpc neigh add 10.0.2.7 lladdr 52:54:00:00:00:02 vpc 6289
host2 @36:11 vpc port add vm2p vm 10.0.2.7 vpc 6289 lladdr 52:54:00:00:00:02
host2 @41:11 vpc neigh add 172.16.0.48 lladdr 52:54:00:ab:cd:ef vpc 6774
host2 @41:11 vpc port add vm4p vm 172.16.0.48 vpc 6774 lladdr 52:54:00:ab:cd:ef
host2 @43:7 vpc subnet-route add 172.16.0.0/16 peer 6774 vpc 6289
host2 @43:7 vpc subnet-route add 10.0.1.0/24 peer 6289 vpc 6774
host2 @43:7 vpc subnet-route add 10.0.2.0/24 peer 6289 vpc 6774
host3 @27:5 vpc local 10.10.1.11
host3 @23:3 vpc set grace 500ms
host3 @29:7 vpc add 6289 subnet 10.0.1.0/24 subnet 10.0.2.0/24
host3 @37:7 vpc add 6774 subnet 172.16.0.0/16
host3 @32:11 vpc route add 10.0.1.141 host 10.10.1.9 vpc 6289
host3 @36:11 vpc route add 10.0.2.7 host 10.10.1.10 vpc 6289
host3 @40:11 vpc route add 172.16.0.47 host 10.10.1.11 vpc 6774
host3 @41:11 vpc route add 172.16.0.48 host 10.10.1.10 vpc 6774
host3 @40:11 vpc neigh add 172.16.0.47 lladdr 52:54:00:00:00:03 vpc 6774
host3 @40:11 vpc port add vm3p vm 172.16.0.47 vpc 6774 lladdr 52:54:00:00:00:03
host3 @43:7 vpc subnet-route add 172.16.0.0/16 peer 6774 vpc 6289
host3 @43:7 vpc subnet-route add 10.0.1.0/24 peer 6289 vpc 6774
host3 @43:7 vpc subnet-route add 10.0.2.0/24 peer 6289 vpc 6774
vm1 @32:11 ip link set dev eth0 address 52:54:00:12:34:56
vm1 @7:31 ip addr add 10.0.1.141/24 dev eth0
vm2 @36:11 ip link set dev eth0 address 52:54:00:00:00:02
vm3 @40:11 ip link set dev eth1 address 52:54:00:00:00:03
vm4 @41:11 ip link set dev eth1 address 52:54:00:ab:cd:ef
)");
  EXPECT_EQ(vpc_exec_line_count(spec.vpcs), 3u * (1 + 1 + 2 + 4 + 3) + 3 * 4);
}

// With `control: etcd` the state goes to the store once, all written by the first host.
TEST(VpcsTest, ControlEtcdWritesTheStoreOnceFromTheFirstHost) {
  std::string text(kTwoVpcs);
  text.replace(text.find("vpcs:\n"), 6, "vpcs:\n  control: etcd\n");
  const LabSpec spec = parse_ok(text);
  EXPECT_EQ(spec.vpcs.control, VpcControl::Etcd);
  EXPECT_EQ(dump_exec(spec), R"(host1 @4:32 ip addr add 10.10.1.9/24 dev eth0
host1 @26:5 vpc --etcd --node host1 local 10.10.1.9
host1 @24:3 vpc --etcd --node host1 set grace 500ms
host1 @27:5 vpc --etcd --node host2 local 10.10.1.10
host1 @24:3 vpc --etcd --node host2 set grace 500ms
host1 @28:5 vpc --etcd --node host3 local 10.10.1.11
host1 @24:3 vpc --etcd --node host3 set grace 500ms
host1 @30:7 vpc --etcd add 6289 subnet 10.0.1.0/24 subnet 10.0.2.0/24
host1 @38:7 vpc --etcd add 6774 subnet 172.16.0.0/16
host1 @33:11 vpc --etcd route add 10.0.1.141 host 10.10.1.9 vpc 6289
host1 @37:11 vpc --etcd route add 10.0.2.7 host 10.10.1.10 vpc 6289
host1 @41:11 vpc --etcd route add 172.16.0.47 host 10.10.1.11 vpc 6774
host1 @42:11 vpc --etcd route add 172.16.0.48 host 10.10.1.10 vpc 6774
host1 @33:11 vpc --etcd neigh add 10.0.1.141 lladdr 52:54:00:12:34:56 vpc 6289
host1 @33:11 vpc --etcd --node host1 port add vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:12:34:56
host1 @37:11 vpc --etcd neigh add 10.0.2.7 lladdr 52:54:00:00:00:02 vpc 6289
host1 @37:11 vpc --etcd --node host2 port add vm2p vm 10.0.2.7 vpc 6289 lladdr 52:54:00:00:00:02
host1 @41:11 vpc --etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:03 vpc 6774
host1 @41:11 vpc --etcd --node host3 port add vm3p vm 172.16.0.47 vpc 6774 lladdr 52:54:00:00:00:03
host1 @42:11 vpc --etcd neigh add 172.16.0.48 lladdr 52:54:00:ab:cd:ef vpc 6774
host1 @42:11 vpc --etcd --node host2 port add vm4p vm 172.16.0.48 vpc 6774 lladdr 52:54:00:ab:cd:ef
host1 @44:7 vpc --etcd subnet-route add 172.16.0.0/16 peer 6774 vpc 6289
host1 @44:7 vpc --etcd subnet-route add 10.0.1.0/24 peer 6289 vpc 6774
host1 @44:7 vpc --etcd subnet-route add 10.0.2.0/24 peer 6289 vpc 6774
vm1 @33:11 ip link set dev eth0 address 52:54:00:12:34:56
vm1 @7:31 ip addr add 10.0.1.141/24 dev eth0
vm2 @37:11 ip link set dev eth0 address 52:54:00:00:00:02
vm3 @41:11 ip link set dev eth1 address 52:54:00:00:00:03
vm4 @42:11 ip link set dev eth1 address 52:54:00:ab:cd:ef
)");
  EXPECT_EQ(vpc_exec_line_count(spec.vpcs), 3u * 2 + 2 + 4 * 4 + 3);
  auto [vm, net] = spec.vpcs.find_vm("vm2");
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(migration_store_line(*net, *vm, "host2", "host3", "vm2p"),
            "vpc --etcd migrate 10.0.2.7 vpc 6289 to host3 dev vm2p from host2");
}

TEST(VpcsTest, MinimalSectionAndSameIpInTwoVpcs) {
  // No grace, no subnets, no peerings; the same address in two VPCs is the point of VPCs.
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    h: {kind: vnet}
    a: {kind: linux}
    b: {kind: linux}
  links:
    - endpoints: ["a:eth0", "h:a"]
    - endpoints: ["b:eth0", "h:b"]
vpcs:
  hosts: {h: 192.0.2.1}
  networks:
    - id: 0
      vms: [{node: a, ip: 10.0.0.1}]
    - id: 4294967295
      subnets:
      vms: [{node: b, ip: 10.0.0.1}]
)");
  EXPECT_EQ(dump_exec(spec), R"(h @11:11 vpc local 192.0.2.1
h @13:7 vpc add 0
h @15:7 vpc add 4294967295
h @14:13 vpc route add 10.0.0.1 host 192.0.2.1 vpc 0
h @17:13 vpc route add 10.0.0.1 host 192.0.2.1 vpc 4294967295
h @14:13 vpc neigh add 10.0.0.1 lladdr 52:54:00:00:00:01 vpc 0
h @14:13 vpc port add a vm 10.0.0.1 vpc 0 lladdr 52:54:00:00:00:01
h @17:13 vpc neigh add 10.0.0.1 lladdr 52:54:00:00:00:02 vpc 4294967295
h @17:13 vpc port add b vm 10.0.0.1 vpc 4294967295 lladdr 52:54:00:00:00:02
a @14:13 ip link set dev eth0 address 52:54:00:00:00:01
b @17:13 ip link set dev eth0 address 52:54:00:00:00:02
)");
  EXPECT_FALSE(spec.vpcs.grace_ns);
}

TEST(VpcsTest, HostsOnlyAndNoVpcs) {
  const LabSpec spec = parse_ok(
      "name: x\ntopology:\n  nodes:\n    h: {kind: vnet}\n"
      "vpcs:\n  hosts: {h: 192.0.2.1}\n  networks:\n  peerings:\n");
  EXPECT_EQ(dump_exec(spec), "h @6:11 vpc local 192.0.2.1\n");
  EXPECT_FALSE(spec.vpcs.empty());
  const LabSpec none = parse_ok("name: x\ntopology:\n  nodes:\n    h: {kind: vnet}\n");
  EXPECT_TRUE(none.vpcs.empty());
  EXPECT_EQ(dump_exec(none), "");
}

// The generated MAC is 52:54:00:00 and the VM's 1-based place in the file, across networks,
// big-endian; given MACs take a place too.
TEST(VpcsTest, GeneratedMacsCountVmsAcrossNetworks) {
  std::string nodes;
  std::string links;
  std::string vms[2];
  for (int i = 1; i <= 300; ++i) {
    const std::string vm = "vm" + std::to_string(i);
    nodes += "    " + vm + ": {kind: linux}\n";
    links += "    - endpoints: [\"" + vm + ":eth0\", \"h:p" + std::to_string(i) + "\"]\n";
    std::string item = "        - {node: " + vm + ", ip: 10." + std::to_string(i / 256) + "." +
                       std::to_string(i % 256) + ".1}\n";
    if (i == 2) item = "        - {node: vm2, ip: 10.0.0.2, mac: \"02:00:00:00:00:01\"}\n";
    vms[i <= 100 ? 0 : 1] += item;
  }
  const LabSpec spec = parse_ok("name: x\ntopology:\n  nodes:\n    h: {kind: vnet}\n" + nodes +
                                "  links:\n" + links + "vpcs:\n  hosts: {h: 192.0.2.1}\n" +
                                "  networks:\n    - id: 1\n      vms:\n" + vms[0] +
                                "    - id: 2\n      vms:\n" + vms[1]);
  ASSERT_EQ(spec.vpcs.networks.size(), 2u);
  const auto mac_of = [&](std::string_view node) {
    return format_mac(spec.vpcs.find_vm(node).first->mac);
  };
  EXPECT_EQ(mac_of("vm1"), "52:54:00:00:00:01");
  EXPECT_EQ(mac_of("vm2"), "02:00:00:00:00:01");
  EXPECT_EQ(mac_of("vm3"), "52:54:00:00:00:03");
  EXPECT_EQ(mac_of("vm100"), "52:54:00:00:00:64");
  EXPECT_EQ(mac_of("vm101"), "52:54:00:00:00:65");  // the second network continues the count
  EXPECT_EQ(mac_of("vm256"), "52:54:00:00:01:00");
  EXPECT_EQ(mac_of("vm300"), "52:54:00:00:01:2c");
}

TEST(VpcsTest, InterfaceDerivation) {
  const std::string head = R"(name: x
topology:
  nodes:
    h1: {kind: vnet}
    h2: {kind: vnet}
    vm: {kind: linux}
  links:
    - endpoints: ["vm:a", "vm:b"]
    - endpoints: ["vm:up", "h1:vm"]
    - endpoints: ["vm:down", "h2:vm"]
vpcs:
  hosts: {h1: 192.0.2.1, h2: 192.0.2.2}
  networks:
    - id: 7
      vms:
)";
  const auto vm_of = [](const LabSpec& spec) {
    const VpcVmSpec* vm = spec.vpcs.find_vm("vm").first;
    return vm ? vm->ifname + " -- " + vm->host + ":" + vm->port : "(none)";
  };
  EXPECT_EQ(vm_of(parse_ok(head + "        - {node: vm, ip: 10.0.0.1, interface: up}\n")),
            "up -- h1:vm");
  EXPECT_EQ(vm_of(parse_ok(head + "        - {node: vm, ip: 10.0.0.1, interface: down, "
                                  "host: h2}\n")),
            "down -- h2:vm");
  // Two hosts and no interface: ambiguous, even with `host` (it only checks).
  EXPECT_EQ(parse_error(head + "        - {node: vm, ip: 10.0.0.1}\n"),
            "lab.yaml:16:18: VM 'vm' has 2 links to hosts (up to h1, down to h2): give "
            "'interface'");
  EXPECT_EQ(parse_error(head + "        - {node: vm, ip: 10.0.0.1, host: h1}\n"),
            "lab.yaml:16:18: VM 'vm' has 2 links to hosts (up to h1, down to h2): give "
            "'interface'");
  // A link from the VM to itself leads to no host.
  EXPECT_EQ(parse_error(head + "        - {node: vm, ip: 10.0.0.1, interface: b}\n"),
            "lab.yaml:16:47: interface 'b' of VM 'vm' is linked to 'vm:a', which is not on a host "
            "of vpcs.hosts");
  EXPECT_EQ(parse_error(head + "        - {node: vm, ip: 10.0.0.1, interface: up, host: h2}\n"),
            "lab.yaml:16:57: VM 'vm' is linked to host 'h1' (on up), not to 'h2'");
}

TEST(VpcsTest, ErrorsComeAfterTheChecksAndInFileOrder) {
  // A bad check is reported before a bad vpcs, even when vpcs comes first in the file.
  EXPECT_EQ(parse_error(R"(name: x
vpcs: []
topology:
  nodes:
    h: {kind: vnet}
checks:
  - {node: h, run: 42}
)"),
            "lab.yaml:7:20: run must be a command string, found the number 42");
  // Peered VPCs whose subnets nest the other way round; the message names vpc a's subnet first.
  EXPECT_EQ(parse_error(R"(name: x
topology:
  nodes:
    h: {kind: vnet}
vpcs:
  hosts: {h: 192.0.2.1}
  networks:
    - {id: 1, subnets: [10.0.1.0/24, 10.0.2.0/24, 10.1.0.0/16]}
    - {id: 2, subnets: [10.0.0.0/8]}
  peerings: [[1, 2]]
)"),
            "lab.yaml:10:14: peering 1 -- 2: subnet 10.0.1.0/24 of vpc 1 overlaps 10.0.0.0/8 of "
            "vpc 2");
}

TEST(VpcsTest, SubnetsOverlapWhicheverWayTheyNest) {
  const std::string head =
      "name: x\ntopology:\n  nodes:\n    h: {kind: vnet}\nvpcs:\n  hosts: {h: 192.0.2.1}\n"
      "  networks:\n    - id: 1\n      subnets: ";
  EXPECT_EQ(parse_ok(head + "[10.0.1.0/24, 10.0.2.0/24, 10.0.0.0/24, 0.0.0.0/8]\n")
                .vpcs.networks[0]
                .subnets.size(),
            4u);
  EXPECT_EQ(parse_error(head + "[10.0.1.0/24, 10.0.3.0/24, 10.0.0.0/22]\n"),
            "lab.yaml:9:43: subnet 10.0.0.0/22 overlaps 10.0.1.0/24, another subnet of vpc 1");
  EXPECT_EQ(parse_error(head + "[10.0.0.0/22, 10.0.3.128/25]\n"),
            "lab.yaml:9:30: subnet 10.0.3.128/25 overlaps 10.0.0.0/22, another subnet of vpc 1");
  EXPECT_EQ(parse_error(head + "[10.0.1.0/24, 10.0.1.0/24]\n"),
            "lab.yaml:9:30: subnet 10.0.1.0/24 overlaps 10.0.1.0/24, another subnet of vpc 1");
  EXPECT_EQ(parse_error(head + "[10.0.1.0/24, 0.0.0.0/0]\n"),
            "lab.yaml:9:30: subnet 0.0.0.0/0 overlaps 10.0.1.0/24, another subnet of vpc 1");
}

TEST(VpcsTest, GraceIsWrittenInTheLargestWholeUnit) {
  EXPECT_EQ(format_grace(500'000'000), "500ms");
  EXPECT_EQ(format_grace(2'000'000'000), "2000ms");
  EXPECT_EQ(format_grace(1'500), "1500ns");
  EXPECT_EQ(format_grace(250'000), "250us");
  EXPECT_EQ(format_grace(1'000'001), "1000001ns");
  EXPECT_EQ(format_grace(1'001'000), "1001us");
}

TEST(VpcsTest, MigrationLines) {
  const LabSpec spec = parse_ok(kTwoVpcs);
  const auto [vm, net] = spec.vpcs.find_vm("vm2");
  ASSERT_NE(vm, nullptr);
  std::vector<std::string> lines;
  for (const auto& [node, line] :
       migration_lines(spec.vpcs, *net, *vm, "host2", "vm2p", "host3", "vm2new")) {
    lines.push_back(node + ": " + line);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "host3: vpc neigh add 10.0.2.7 lladdr 52:54:00:00:00:02 vpc 6289",
                       "host3: vpc port add vm2new vm 10.0.2.7 vpc 6289 lladdr 52:54:00:00:00:02",
                       "host2: vpc route change 10.0.2.7 host 10.10.1.11 vpc 6289",
                       "host2: vpc port del vm2p",
                       "host1: vpc route change 10.0.2.7 host 10.10.1.11 vpc 6289",
                       "host3: vpc route change 10.0.2.7 host 10.10.1.11 vpc 6289",
                       "host2: vpc neigh del 10.0.2.7 vpc 6289",
                   }));
  EXPECT_TRUE(migration_lines(spec.vpcs, *net, *vm, "host2", "vm2p", "vm1", "x").empty());
}

}  // namespace
}  // namespace vnet::lab
