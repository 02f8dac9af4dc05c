// Every file under tests/lab/bad/ is a lab file with one mistake.  Each is loaded through
// load_lab_file, so the error names the file, and the whole "FILE:LINE:COLUMN: message" is
// compared; the same text through parse_lab gives the same place and message.  A file without a
// row in the table, or a row without a file, fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "lab/lab_parser.h"

namespace vnet::lab {
namespace {

struct BadCase {
  std::string stem;      // tests/lab/bad/<stem>.yaml
  std::string expected;  // "LINE:COLUMN: message"
};

// The first line of each file is a comment saying what is wrong, so the lab itself starts on
// line 2.
const std::vector<BadCase>& bad_cases() {
  static const std::vector<BadCase> cases = {
      {"syntax_unquoted_colon", "5:17: invalid YAML: illegal map value"},
      {"syntax_unterminated_quote", "6:1: invalid YAML: end of sequence flow not found"},
      {"empty", "1:1: lab file is empty; expected a mapping with 'name' and 'topology'"},
      {"top_not_mapping",
       "2:1: the top level must be a mapping with 'name' and 'topology', found a list"},
      {"two_documents", "6:1: a lab file holds one YAML document; found a second one"},
      {"missing_name", "2:1: missing required key 'name' (the lab's name)"},
      {"empty_name", "2:7: name must not be empty"},
      {"name_path",
       "2:7: invalid lab name '../../etc': use letters, digits, '_', '.' and '-', starting with a "
       "letter or digit"},
      {"name_not_string", "2:7: name must be a string, found a list"},
      {"missing_topology", "2:1: missing required key 'topology' (with 'nodes')"},
      {"topology_not_mapping", "4:3: topology must be a mapping with 'nodes', found a list"},
      {"missing_nodes", "4:3: missing required key 'nodes' in 'topology'"},
      {"empty_nodes", "4:3: topology.nodes is empty; a lab needs at least one node"},
      {"empty_nodes_flow", "4:10: topology.nodes is empty; a lab needs at least one node"},
      {"nodes_list",
       "5:5: topology.nodes must be a mapping from node names to node definitions, found a list"},
      {"unknown_top_key", "3:1: unknown key 'topolgy' at the top level (did you mean 'topology'?)"},
      {"unknown_topology_key", "6:3: unknown key 'link' in 'topology' (did you mean 'links'?)"},
      {"unknown_kind", "6:13: unknown node kind 'router' (valid kinds: linux, vnet, bridge)"},
      {"kind_not_string", "5:16: kind must be linux, vnet or bridge, found a list"},
      {"missing_kind",
       "5:5: node 'server' has no kind (set kind: linux, vnet or bridge here or in "
       "topology.defaults)"},
      {"unknown_node_key", "7:7: unknown key 'exce' in node 'server' (did you mean 'exec'?)"},
      {"unknown_node_key_no_guess",
       "5:27: unknown key 'colour' in node 'server' (valid keys: kind, exec, image, labels, group, "
       "startup-config, binds, env, mgmt-ipv4, mgmt-ipv6, ports, cmd, entrypoint, network-mode, "
       "user, sysctls)"},
      {"unknown_link_key", "9:7: unknown key 'dealy' in a link (did you mean 'delay'?)"},
      {"unknown_check_key", "9:5: unknown key 'expected' in a check (did you mean 'expect'?)"},
      {"duplicate_key", "7:7: duplicate key 'kind' in node 'server' (first at line 6)"},
      {"duplicate_node", "7:5: duplicate key 'r1' in topology.nodes (first at line 5)"},
      {"merge_key",
       "7:7: YAML merge keys ('<<') are not supported; share settings with topology.defaults or "
       "topology.kinds"},
      {"syntax_bad_indent", "9:6: invalid YAML: end of sequence not found"},
      {"key_not_string", "6:3: a key at the top level must be a string, found a list"},
      {"node_name_invalid",
       "5:5: invalid node name 'core router': use letters, digits, '_', '.' and '-', starting with "
       "a letter or digit"},
      {"node_name_leading_dash",
       "5:5: invalid node name '_r1': use letters, digits, '_', '.' and '-', starting with a "
       "letter or digit"},
      {"node_name_too_long",
       "5:5: node name 'r1234567890123456789012345678901234567890123456789012345678901234' is too "
       "long (65 characters; at most 64)"},
      {"node_not_mapping",
       "5:13: node 'server' must be a mapping such as {kind: linux}, found 'linux'"},
      {"bridge_exec", "7:7: bridge 'sw1' cannot have exec lines: a bridge runs no commands"},
      {"bridge_inherits_exec",
       "6:5: bridge 'sw1' would inherit the exec lines of topology.defaults, but a bridge runs no "
       "commands"},
      {"kinds_bridge_exec",
       "6:7: topology.kinds.bridge cannot have exec lines: a bridge runs no commands"},
      {"kinds_unknown",
       "5:5: unknown node kind 'nokia_srlinux' in topology.kinds (valid kinds: linux, vnet, "
       "bridge)"},
      {"kinds_with_kind",
       "5:13: 'kind' has no effect in topology.kinds.linux: the kind is the key above"},
      {"kinds_not_mapping",
       "4:10: topology.kinds must be a mapping from kind names to node settings, found a list"},
      {"defaults_unknown_key",
       "5:5: unknown key 'knid' in topology.defaults (did you mean 'kind'?)"},
      {"exec_not_list",
       "7:13: exec of node 'server' must be a list of command lines, found 'ip link set lo up'"},
      {"exec_number",
       "9:11: exec line 2 of node 'server' must be a command string, found the number 42"},
      {"exec_mapping",
       "8:11: exec line 1 of node 'server' must be a command string, found a mapping (an unquoted "
       "': ' inside a line makes it one; quote the line)"},
      {"exec_list", "7:14: exec line 1 of node 'server' must be a command string, found a list"},
      {"exec_empty_item",
       "8:9: exec line 2 of node 'server' must be a command string, found nothing"},
      {"exec_in_defaults_number",
       "5:12: exec line 1 of topology.defaults must be a command string, found the number 1.5"},
      {"links_not_list", "7:5: topology.links must be a list of links, found a mapping"},
      {"link_not_mapping", "8:7: link must be a mapping with 'endpoints', found a list"},
      {"link_no_endpoints", "7:7: link has no 'endpoints'"},
      {"endpoints_not_list",
       "8:18: endpoints must be a list of two \"node:ifname\" strings, found 'a:eth1 b:eth1'"},
      {"endpoints_three", "9:18: a link needs exactly two endpoints, found 3"},
      {"endpoints_one", "7:18: a link needs exactly two endpoints, found 1"},
      {"endpoint_not_string", "9:11: endpoint must be a \"node:ifname\" string, found a mapping"},
      {"endpoint_no_colon", "8:19: endpoint 'server-eth1' is not node:ifname"},
      {"endpoint_empty_ifname", "8:34: endpoint 'sw1:' is not node:ifname"},
      {"endpoint_unknown_node",
       "8:19: unknown node 'sever' in endpoint 'sever:eth1' (did you mean 'server'?)"},
      {"endpoint_unknown_node_no_guess", "8:34: unknown node 'router' in endpoint 'router:eth1'"},
      {"endpoint_ifname_slash",
       "8:19: endpoint 'r1:eth1/0': invalid interface name 'eth1/0' (Linux forbids '/', ':', "
       "whitespace, '.' and '..')"},
      {"endpoint_ifname_colon",
       "8:30: endpoint 'r2:eth1:0': invalid interface name 'eth1:0' (Linux forbids '/', ':', "
       "whitespace, '.' and '..')"},
      {"endpoint_ifname_space",
       "8:19: endpoint 'r1:eth 1': invalid interface name 'eth 1' (Linux forbids '/', ':', "
       "whitespace, '.' and '..')"},
      {"endpoint_ifname_dotdot",
       "8:19: endpoint 'r1:..': invalid interface name '..' (Linux forbids '/', ':', whitespace, "
       "'.' and '..')"},
      {"endpoint_ifname_too_long",
       "8:19: endpoint 'r1:uplink-to-core01': interface name 'uplink-to-core01' is too long (16 "
       "characters; Linux allows at most 15)"},
      {"endpoint_loopback",
       "8:19: endpoint 'r1:lo': 'lo' is the node's loopback interface; give the link its own "
       "interface"},
      {"endpoint_reused", "11:29: endpoint 'server:eth1' already used at line 9"},
      {"endpoint_self", "7:30: link connects endpoint 'r1:eth1' to itself"},
      {"mtu_malformed", "9:12: mtu must be an integer from 68 to 65535, found 'jumbo'"},
      {"mtu_too_small", "9:12: mtu 67 is out of range (68..65535)"},
      {"mtu_too_large", "9:12: mtu 65536 is out of range (68..65535)"},
      {"delay_no_unit",
       "9:14: delay must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), "
       "found '10'"},
      {"delay_bad_unit",
       "9:14: delay must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), "
       "found '1min'"},
      {"delay_too_long", "9:14: delay '3600.001s' is out of range (at most 3600s)"},
      {"delay_sub_ns", "9:14: delay '0.5ns' is not a whole number of nanoseconds"},
      {"delay_not_scalar",
       "9:14: delay must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), "
       "found a list"},
      {"loss_over_one",
       "9:13: loss '5' is out of range: use a fraction from 0.0 to 1.0 or a percentage such as "
       "\"5%\""},
      {"loss_percent_over_100", "9:13: loss '150%' is out of range (0%..100%)"},
      {"loss_malformed",
       "9:13: loss must be a fraction from 0.0 to 1.0 or a percentage such as \"5%\", found "
       "'-0.1'"},
      {"seed_negative", "3:7: seed must be an integer from 0 to 18446744073709551615, found '-1'"},
      {"checks_not_list", "7:3: checks must be a list of checks, found a mapping"},
      {"check_not_mapping",
       "7:5: check must be a mapping with 'node' and 'run', found 'ping -c 1 192.0.2.1'"},
      {"check_missing_node", "7:5: check has no 'node' (the node to run it on)"},
      {"check_unknown_node", "7:11: check on unknown node 'clinet' (did you mean 'client'?)"},
      {"check_on_bridge",
       "8:11: check on bridge 'sw1': a bridge runs no commands; run the check on a linux or vnet "
       "node"},
      {"check_missing_run", "7:5: check has no 'run' (the command line to run on 'client')"},
      {"check_run_number", "8:10: run must be a command string, found the number 42"},
      {"check_run_mapping",
       "8:10: run must be a command string, found a mapping (an unquoted ': ' inside a line makes "
       "it one; quote the line)"},
      {"check_run_empty", "8:10: run is an empty command line"},
      {"check_bad_expect", "9:13: expect must be 'success' or 'failure', found 'ok'"},
      {"check_output_mapping",
       "9:13: output must be a string or a list of strings, found a mapping"},
      {"check_output_nested_list", "9:28: output item 2 must be a string, found a list"},
      {"check_timeout_no_unit",
       "9:14: timeout must be a duration such as \"5s\" (a number with unit ns, us, ms or s), "
       "found '5'"},
      {"check_timeout_zero", "9:14: timeout must be greater than 0"},
      {"check_name_not_string", "7:11: check name must be a string, found a list"},
      {"vpc_not_mapping", "13:3: vpcs must be a mapping with 'hosts' and 'networks', found a list"},
      {"vpc_unknown_key", "13:3: unknown key 'host' in vpcs (did you mean 'hosts'?)"},
      {"vpc_grace_zero", "13:10: grace must be greater than 0"},
      {"vpc_control_unknown", "13:12: control must be exec or etcd, found 'raft'"},
      {"vpc_grace_no_unit",
       "13:10: grace must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), "
       "found '500'"},
      {"vpc_no_hosts",
       "13:3: vpcs has no 'hosts' (the vnet nodes that run a vSwitch, with their underlay "
       "addresses)"},
      {"vpc_hosts_not_mapping",
       "13:10: vpcs.hosts must be a mapping from vnet node names to underlay IPv4 addresses, found "
       "a list"},
      {"vpc_hosts_empty",
       "13:3: vpcs.hosts is empty; give at least one vnet node and its underlay address"},
      {"vpc_host_unknown_node", "15:5: unknown node 'hots2' in vpcs.hosts (did you mean 'host2'?)"},
      {"vpc_host_not_vnet",
       "15:5: host 'vm1' is a linux node; a host of vpcs.hosts must be a vnet node (its vSwitch is "
       "vnet's stack)"},
      {"vpc_host_bad_addr",
       "14:12: underlay address of host 'host1' must be an IPv4 address such as 192.0.2.10, found "
       "'10.10.1.09'"},
      {"vpc_host_addr_not_unicast",
       "14:12: underlay address of host 'host1': 224.0.0.9 is not a unicast address (0.0.0.0/8, "
       "127.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4 are refused)"},
      {"vpc_host_addr_twice",
       "15:12: host 'host2' has the underlay address 10.10.1.9 of host 'host1' (line 14); each "
       "host needs its own"},
      {"vpc_host_twice", "15:5: duplicate key 'host1' in vpcs.hosts (first at line 14)"},
      {"vpc_networks_not_list", "17:5: vpcs.networks must be a list of VPCs, found a mapping"},
      {"vpc_net_not_mapping", "17:7: a VPC must be a mapping with 'id', found '6289'"},
      {"vpc_net_unknown_key", "18:7: unknown key 'subnet' in a VPC (did you mean 'subnets'?)"},
      {"vpc_net_no_id", "17:7: VPC has no 'id' (its VPC id, also its GRE key)"},
      {"vpc_id_out_of_range",
       "17:11: vpc id must be an integer from 0 to 4294967295, found '4294967296'"},
      {"vpc_id_twice", "19:11: duplicate vpc id 6289 (first at line 17)"},
      {"vpc_subnets_not_list",
       "18:16: subnets of vpc 6289 must be a list of prefixes such as [10.0.1.0/24], found "
       "'10.0.1.0/24'"},
      {"vpc_subnet_malformed",
       "18:30: subnet must be an IPv4 prefix such as 10.0.1.0/24, found '10.0.2.0/33'"},
      {"vpc_subnet_host_bits",
       "19:11: subnet 10.0.1.1/24 has host bits set (did you mean 10.0.1.0/24?)"},
      {"vpc_subnet_overlap",
       "18:43: subnet 10.0.0.0/16 overlaps 10.0.1.0/24, another subnet of vpc 6289"},
      {"vpc_vms_not_list", "18:12: vms of vpc 6289 must be a list of VMs, found a mapping"},
      {"vpc_vm_not_mapping", "18:13: a VM must be a mapping with 'node' and 'ip', found 'vm1'"},
      {"vpc_vm_unknown_key", "20:11: unknown key 'ipv4' in a VM (did you mean 'ip'?)"},
      {"vpc_vm_no_node", "19:11: VM has no 'node' (the node that is the VM)"},
      {"vpc_vm_unknown_node", "19:18: unknown node 'vm3' in vpc 6289 (did you mean 'vm1'?)"},
      {"vpc_vm_bridge", "20:18: VM 'sw1' is a bridge; a VM is a linux or vnet node"},
      {"vpc_vm_is_host",
       "19:18: VM 'host2' is a host of vpcs.hosts; a node is a host or a VM, not both"},
      {"vpc_vm_twice",
       "22:18: VM 'vm1' is already in vpc 6289 (line 19); a VM belongs to one VPC, once"},
      {"vpc_vm_no_ip", "19:11: VM 'vm1' has no 'ip' (its address in vpc 6289)"},
      {"vpc_vm_bad_ip",
       "19:27: ip of VM 'vm1' must be an IPv4 address such as 192.0.2.10, found '10.0.141'"},
      {"vpc_vm_ip_not_unicast",
       "19:27: ip of VM 'vm1': 127.0.0.1 is not a unicast address (0.0.0.0/8, 127.0.0.0/8, "
       "224.0.0.0/4 and 240.0.0.0/4 are refused)"},
      {"vpc_vm_ip_outside_subnets",
       "20:27: ip 10.0.3.141 of VM 'vm1' is outside the subnets of vpc 6289 (10.0.1.0/24, "
       "10.0.2.0/24)"},
      {"vpc_vm_ip_twice",
       "20:27: VM 'vm2' has the ip 10.0.1.141 of VM 'vm1' (line 19); addresses are unique within a "
       "VPC"},
      {"vpc_vm_host_unknown",
       "19:45: host 'hots1' of VM 'vm1' is not a host of vpcs.hosts (did you mean 'host1'?)"},
      {"vpc_vm_interface_invalid",
       "19:50: interface of VM 'vm1': invalid interface name 'eth0:1' (Linux forbids '/', ':', "
       "whitespace, '.' and '..')"},
      {"vpc_vm_no_link_on_interface", "19:50: VM 'vm1' has no link on interface 'eth1'"},
      {"vpc_vm_interface_not_to_host",
       "21:50: interface 'eth1' of VM 'vm1' is linked to 'sw1:p1', which is not on a host of "
       "vpcs.hosts"},
      {"vpc_vm_no_link", "21:18: VM 'vm3' has no link to a host of vpcs.hosts"},
      {"vpc_vm_two_hosts",
       "20:18: VM 'vm1' has 2 links to hosts (eth0 to host1, eth1 to host2): give 'interface'"},
      {"vpc_vm_wrong_host", "19:45: VM 'vm1' is linked to host 'host1' (on eth0), not to 'host2'"},
      {"vpc_vm_bad_mac",
       "19:44: mac of VM 'vm1' must be a MAC address such as 52:54:00:12:34:56, found "
       "'52-54-00-12-34-56'"},
      {"vpc_vm_mac_multicast",
       "19:44: mac of VM 'vm1': 01:00:5e:00:00:01 is a multicast address (the low bit of its first "
       "byte is set)"},
      {"vpc_vm_mac_broadcast",
       "19:44: mac of VM 'vm1': ff:ff:ff:ff:ff:ff is the broadcast address"},
      {"vpc_vm_mac_zero",
       "19:44: mac of VM 'vm1': 00:00:00:00:00:00 is all zeros, not an interface's address"},
      {"vpc_vm_mac_twice",
       "22:44: VM 'vm2' has the mac 52:54:00:12:34:56 of VM 'vm1' (line 19); each VM needs its "
       "own"},
      {"vpc_vm_generated_mac_taken",
       "20:11: VM 'vm2' would get the generated mac 52:54:00:00:00:02, already the mac of VM 'vm1' "
       "(line 19); give VM 'vm2' a mac"},
      {"vpc_peerings_not_list",
       "22:13: vpcs.peerings must be a list of pairs of vpc ids such as [6289, 6774], found a "
       "mapping"},
      {"vpc_peering_not_list",
       "24:7: a peering must be a list of two vpc ids such as [6289, 6774], found '6289 6774'"},
      {"vpc_peering_three", "25:7: a peering needs exactly two vpc ids, found 3"},
      {"vpc_peering_bad_id", "24:14: vpc id must be an integer from 0 to 4294967295, found '-1'"},
      {"vpc_peering_unknown_vpc", "24:14: peering with vpc 6775, which is not in vpcs.networks"},
      {"vpc_peering_self", "23:7: peering 6289 -- 6289 joins a VPC to itself"},
      {"vpc_peering_twice", "25:7: peering 6774 -- 6289 is already listed at line 24"},
      {"vpc_peering_overlap",
       "22:7: peering 6289 -- 6774: subnet 10.0.0.0/16 of vpc 6289 overlaps 10.0.1.0/24 of vpc "
       "6774"},
      {"vpc_too_many_lines",
       "25:1: vpcs expands to 103060 command lines (a route per VM on every host); at most 100000"},
      {"during_not_list", "15:13: during must be a list of actions, found a mapping"},
      {"during_item_not_mapping",
       "16:9: during item must be a mapping with 'at' and either 'node' and 'run' or 'migrate' and "
       "'to', found 'vpc show'"},
      {"during_unknown_key",
       "17:9: unknown key 'migrat' in a during item (did you mean 'migrate'?)"},
      {"during_mixed",
       "19:9: 'migrate' cannot be combined with 'node' in a during item: an item either runs a "
       "command ('node', 'run') or migrates a VM ('migrate', 'to', 'port')"},
      {"during_no_at",
       "16:9: during item has no 'at' (when to act, after the check's command starts)"},
      {"during_bad_at",
       "16:14: at must be a duration such as \"10ms\" (a number with unit ns, us, ms or s), found "
       "'1'"},
      {"during_at_past_timeout", "17:14: at '5s' is not before the check's timeout '5s'"},
      {"during_no_action",
       "16:9: during item has neither 'node' and 'run' (a command) nor 'migrate' and 'to' (a VM "
       "migration)"},
      {"during_no_node", "16:9: during item has no 'node' (the node to run it on)"},
      {"during_no_run", "16:9: during item has no 'run' (the command line to run on 'host1')"},
      {"during_unknown_node", "16:24: during item on unknown node 'hots1' (did you mean 'host1'?)"},
      {"during_on_bridge",
       "17:24: during item on bridge 'sw1': a bridge runs no commands; run it on a linux or vnet "
       "node"},
      {"during_run_number", "16:36: run must be a command string, found the number 42"},
      {"during_no_migrate", "16:9: during item has no 'migrate' (the VM to move)"},
      {"during_no_to",
       "16:9: migration of 'vm2' has no 'to' (the host of vpcs.hosts to move it to)"},
      {"during_bad_port",
       "16:49: port of 'vm2' on 'host1': invalid interface name 'vm2/1' (Linux forbids '/', ':', "
       "whitespace, '.' and '..')"},
      {"during_port_lo",
       "16:49: port 'lo' is the host's loopback interface; give the VM its own port"},
      {"during_migrate_without_vpcs",
       "16:18: migrate needs a 'vpcs' section (the hosts and VMs that migrations move between)"},
      {"during_migrate_not_vm",
       "16:27: cannot migrate 'vm3': it is not a VM of vpcs.networks (did you mean 'vm1'?)"},
      {"during_migrate_port_taken",
       "17:9: cannot migrate 'vm2' to 'host1': it has an interface 'eth0' already (line 12); "
       "give the VM a 'port' of its own"},
      {"during_migrate_to_not_host",
       "16:36: cannot migrate 'vm2' to 'hots1': it is not a host of vpcs.hosts (did you mean "
       "'host1'?)"},
  };
  return cases;
}

// Names the case in gtest's messages instead of dumping its bytes.
void PrintTo(const BadCase& c, std::ostream* out) {
  *out << c.stem;
}

std::string bad_dir() {
  return std::string(VNET_SOURCE_DIR) + "/tests/lab/bad";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class BadLabFileTest : public testing::TestWithParam<BadCase> {};

TEST_P(BadLabFileTest, LoadNamesFileLineColumnAndReason) {
  const BadCase& c = GetParam();
  const std::string path = bad_dir() + "/" + c.stem + ".yaml";
  std::variant<LabSpec, LabError> result = load_lab_file(path);
  ASSERT_TRUE(std::holds_alternative<LabError>(result)) << path << " parsed without error";
  EXPECT_EQ(std::get<LabError>(result).to_string(), path + ":" + c.expected);
}

TEST_P(BadLabFileTest, ParseGivesTheSameError) {
  const BadCase& c = GetParam();
  const std::string path = bad_dir() + "/" + c.stem + ".yaml";
  std::variant<LabSpec, LabError> result = parse_lab(read_file(path), "lab.yaml");
  ASSERT_TRUE(std::holds_alternative<LabError>(result));
  EXPECT_EQ(std::get<LabError>(result).to_string(), "lab.yaml:" + c.expected);
}

INSTANTIATE_TEST_SUITE_P(Files, BadLabFileTest, testing::ValuesIn(bad_cases()),
                         [](const testing::TestParamInfo<BadCase>& param_info) {
                           return param_info.param.stem;
                         });

TEST(BadLabFilesTest, EveryFileHasACaseAndEveryCaseAFile) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(bad_dir())) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path().stem().string());
  }
  std::vector<std::string> stems;
  for (const BadCase& c : bad_cases()) stems.push_back(c.stem);
  std::sort(files.begin(), files.end());
  std::sort(stems.begin(), stems.end());
  EXPECT_EQ(files, stems);
}

}  // namespace
}  // namespace vnet::lab
