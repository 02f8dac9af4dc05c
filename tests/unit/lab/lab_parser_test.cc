// parse_lab and load_lab_file on valid labs (a full example, containerlab's defaults and kinds,
// the accepted forms of each field) and on input that must fail cleanly (YAML syntax, size,
// hostile structure).  The one-mistake files under tests/lab/bad/ are in lab_bad_files_test.cc.
#include "lab/lab_parser.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>

namespace vnet::lab {
namespace {

std::string at(const SourceLoc& loc) {
  return "@" + std::to_string(loc.line) + ":" + std::to_string(loc.column);
}

// The whole spec as text, one element a line, so that a golden comparison shows every field and
// place at once.
std::string dump(const LabSpec& spec) {
  std::ostringstream out;
  out << "lab " << spec.name << " seed " << spec.seed << "\n";
  for (const NodeSpec& node : spec.nodes) {
    out << "node " << node.name << " " << to_string(node.kind) << " " << at(node.loc) << "\n";
    for (const ExecLine& line : node.exec) {
      out << "  exec " << at(line.loc) << " " << line.command << "\n";
    }
  }
  for (const LinkSpec& link : spec.links) {
    out << "link " << at(link.loc) << " " << link.a.to_string() << " " << at(link.a.loc) << " "
        << link.b.to_string() << " " << at(link.b.loc);
    if (link.mtu) out << " mtu " << *link.mtu;
    if (link.delay_ns != 0) out << " delay_ns " << link.delay_ns;
    if (link.loss != 0) out << " loss " << link.loss;
    out << "\n";
  }
  for (const CheckSpec& check : spec.checks) {
    out << "check " << at(check.loc) << " on " << check.node << " expect "
        << to_string(check.expect);
    if (!check.name.empty()) out << " name '" << check.name << "'";
    if (check.timeout_ns) out << " timeout_ns " << *check.timeout_ns;
    out << "\n  run " << check.run << "\n";
    for (const std::string& text : check.output) out << "  output '" << text << "'\n";
  }
  return out.str();
}

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

// Seed 002 as a lab: the multihomed server has one uplink per bridge, each bridge leads to its
// own router, and a client sits behind both routers.
constexpr std::string_view kMultihoming = R"(# Seed 002: multihoming with iproute2.
name: multihoming
seed: 2012
topology:
  nodes:
    server:
      kind: linux
      exec:
        - ip addr add 192.168.12.104/24 dev eth1
        - ip addr add 198.51.100.111/24 dev eth2
        - echo "200 rt2" >> /etc/iproute2/rt_tables
        - ip rule add from 198.51.100.111 table rt2
        - ip route add 198.51.100.0/24 dev eth2 table rt2
        - ip route add default via 198.51.100.254 dev eth2 table rt2
        - "ip route add default nexthop via 192.168.12.1 weight 1 nexthop via 198.51.100.254 weight 1"
    sw1: {kind: bridge}
    sw2: {kind: bridge}
    r1:
      kind: vnet
      exec: ["sysctl -w net.ipv4.ip_forward=1", "ip addr add 192.168.12.1/24 dev eth1",
             "ip addr add 203.0.113.1/30 dev eth2", "ip route add 203.0.113.9/32 via 203.0.113.2"]
    r2:
      kind: vnet
      exec:
        - sysctl -w net.ipv4.ip_forward=1
        - ip addr add 198.51.100.254/24 dev eth1
        - ip addr add 203.0.113.5/30 dev eth2
        - ip route add 203.0.113.9/32 via 203.0.113.6
    client:
      kind: linux
      image: alpine:3    # containerlab's, ignored
      exec:
        - ip addr add 203.0.113.2/30 dev eth1
        - ip addr add 203.0.113.6/30 dev eth2
        - ip addr add 203.0.113.9/32 dev lo
        - ip route add 192.168.12.0/24 via 203.0.113.1 src 203.0.113.9
        - ip route add 198.51.100.0/24 via 203.0.113.5 src 203.0.113.9
  links:
    - endpoints: ["server:eth1", "sw1:p1"]
    - endpoints: ["r1:eth1", "sw1:p2"]
    - endpoints: [server:eth2, sw2:p1]
    - endpoints: ["r2:eth1", "sw2:p2"]
    - endpoints: ["r1:eth2", "client:eth1"]
      delay: 5ms
    - endpoints:
        - r2:eth2
        - client:eth2
      mtu: 1400
      delay: 20ms
      loss: 1%
checks:
  - name: the server answers on its first uplink
    node: client
    run: ping -c 3 192.168.12.104
    output: ["3 packets transmitted, 3 received"]
  - node: client
    run: ping -c 3 198.51.100.111
    output: 3 received
    timeout: 10s
  - node: server
    run: ip route get 203.0.113.9 from 198.51.100.111
    expect: success
    output:
      - via 198.51.100.254 dev eth2 table rt2
      - uid 0
  - node: client
    run: ping -c 1 -W 1 192.0.2.99
    expect: failure
)";

TEST(ParseLabTest, FullMultihomingExample) {
  const LabSpec spec = parse_ok(kMultihoming);
  EXPECT_EQ(dump(spec), R"(lab multihoming seed 2012
node server linux @6:5
  exec @9:11 ip addr add 192.168.12.104/24 dev eth1
  exec @10:11 ip addr add 198.51.100.111/24 dev eth2
  exec @11:11 echo "200 rt2" >> /etc/iproute2/rt_tables
  exec @12:11 ip rule add from 198.51.100.111 table rt2
  exec @13:11 ip route add 198.51.100.0/24 dev eth2 table rt2
  exec @14:11 ip route add default via 198.51.100.254 dev eth2 table rt2
  exec @15:11 ip route add default nexthop via 192.168.12.1 weight 1 nexthop via 198.51.100.254 weight 1
node sw1 bridge @16:5
node sw2 bridge @17:5
node r1 vnet @18:5
  exec @20:14 sysctl -w net.ipv4.ip_forward=1
  exec @20:49 ip addr add 192.168.12.1/24 dev eth1
  exec @21:14 ip addr add 203.0.113.1/30 dev eth2
  exec @21:53 ip route add 203.0.113.9/32 via 203.0.113.2
node r2 vnet @22:5
  exec @25:11 sysctl -w net.ipv4.ip_forward=1
  exec @26:11 ip addr add 198.51.100.254/24 dev eth1
  exec @27:11 ip addr add 203.0.113.5/30 dev eth2
  exec @28:11 ip route add 203.0.113.9/32 via 203.0.113.6
node client linux @29:5
  exec @33:11 ip addr add 203.0.113.2/30 dev eth1
  exec @34:11 ip addr add 203.0.113.6/30 dev eth2
  exec @35:11 ip addr add 203.0.113.9/32 dev lo
  exec @36:11 ip route add 192.168.12.0/24 via 203.0.113.1 src 203.0.113.9
  exec @37:11 ip route add 198.51.100.0/24 via 203.0.113.5 src 203.0.113.9
link @39:7 server:eth1 @39:19 sw1:p1 @39:34
link @40:7 r1:eth1 @40:19 sw1:p2 @40:30
link @41:7 server:eth2 @41:19 sw2:p1 @41:32
link @42:7 r2:eth1 @42:19 sw2:p2 @42:30
link @43:7 r1:eth2 @43:19 client:eth1 @43:30 delay_ns 5000000
link @45:7 r2:eth2 @46:11 client:eth2 @47:11 mtu 1400 delay_ns 20000000 loss 0.01
check @52:5 on client expect success name 'the server answers on its first uplink'
  run ping -c 3 192.168.12.104
  output '3 packets transmitted, 3 received'
check @56:5 on client expect success timeout_ns 10000000000
  run ping -c 3 198.51.100.111
  output '3 received'
check @60:5 on server expect success
  run ip route get 203.0.113.9 from 198.51.100.111
  output 'via 198.51.100.254 dev eth2 table rt2'
  output 'uid 0'
check @66:5 on client expect failure
  run ping -c 1 -W 1 192.0.2.99
)");
  EXPECT_DOUBLE_EQ(spec.links[5].loss, 0.01);
  ASSERT_NE(spec.find_node("r2"), nullptr);
  EXPECT_EQ(spec.find_node("r2")->kind, NodeKind::Vnet);
  EXPECT_EQ(spec.find_node("r3"), nullptr);
  for (const NodeSpec& node : spec.nodes) EXPECT_EQ(node.loc.file, "lab.yaml");
}

TEST(ParseLabTest, MinimalLabDefaults) {
  const LabSpec spec = parse_ok("name: one\ntopology:\n  nodes:\n    h: {kind: linux}\n");
  EXPECT_EQ(dump(spec), "lab one seed 1\nnode h linux @4:5\n");
  EXPECT_TRUE(spec.links.empty());
  EXPECT_TRUE(spec.checks.empty());
}

TEST(ParseLabTest, NodesKeepFileOrder) {
  const LabSpec spec = parse_ok(R"(name: order
topology:
  nodes:
    zulu: {kind: linux}
    alpha: {kind: bridge}
    mike: {kind: vnet}
    bravo: {kind: linux}
)");
  std::string names;
  for (const NodeSpec& node : spec.nodes) names += node.name + " ";
  EXPECT_EQ(names, "zulu alpha mike bravo ");
}

// containerlab's rules: the kind is the node's, else topology.defaults'; exec lines are
// defaults', then topology.kinds.<kind>'s, then the node's own (types/topology.go GetNodeExec).
TEST(ParseLabTest, DefaultsAndKindsMergeLikeContainerlab) {
  const LabSpec spec = parse_ok(R"(name: merge
topology:
  defaults:
    kind: linux
    exec: ["ip link set lo up"]
    image: alpine
  kinds:
    vnet:
      exec: ["sysctl -w net.ipv4.ip_forward=1"]
    linux: {exec: ["sysctl -w net.ipv4.conf.all.rp_filter=0"]}
    bridge: {image: unused}
  nodes:
    host:
      exec: ["ip addr add 192.0.2.1/24 dev eth1"]
    router:
      kind: vnet
      exec: ["ip addr add 192.0.2.2/24 dev eth1"]
    bare:
)");
  EXPECT_EQ(dump(spec), R"(lab merge seed 1
node host linux @13:5
  exec @5:12 ip link set lo up
  exec @10:20 sysctl -w net.ipv4.conf.all.rp_filter=0
  exec @14:14 ip addr add 192.0.2.1/24 dev eth1
node router vnet @15:5
  exec @5:12 ip link set lo up
  exec @9:14 sysctl -w net.ipv4.ip_forward=1
  exec @17:14 ip addr add 192.0.2.2/24 dev eth1
node bare linux @18:5
  exec @5:12 ip link set lo up
  exec @10:20 sysctl -w net.ipv4.conf.all.rp_filter=0
)");
}

TEST(ParseLabTest, NodeKindOverridesDefaultKind) {
  const LabSpec spec = parse_ok(R"(name: kinds
topology:
  defaults: {kind: vnet}
  kinds: {bridge: {}}
  nodes:
    r1: {}
    sw1: {kind: bridge}
    h1: {kind: linux}
)");
  EXPECT_EQ(dump(spec),
            "lab kinds seed 1\nnode r1 vnet @6:5\nnode sw1 bridge @7:5\n"
            "node h1 linux @8:5\n");
}

TEST(ParseLabTest, ContainerlabKeysAreAcceptedAndIgnored) {
  const LabSpec spec = parse_ok(R"(name: clab
prefix: ""
mgmt:
  network: custom_mgmt
  ipv4-subnet: 172.100.100.0/24
topology:
  defaults:
    env: {HTTP_PROXY: ""}
  kinds:
    linux:
      image: ghcr.io/srl-labs/network-multitool
      binds: [/tmp:/tmp]
  nodes:
    h1:
      kind: linux
      image: alpine:3
      labels: {graph-level: 1, role: host}
      group: hosts
      startup-config: h1.cfg
      binds: [a:b]
      env: {A: "1"}
      mgmt-ipv4: 172.100.100.11
      mgmt-ipv6: 2001:db8::11
      ports: ["8080:80"]
      cmd: sleep infinity
      entrypoint: /bin/sh
      network-mode: none
      user: root
      sysctls: {net.ipv4.ip_forward: 1}
    h2: {kind: linux}
  links:
    - endpoints: ["h1:eth1", "h2:eth1"]
      labels: {color: red}
      vars: {x: [1, 2]}
)");
  EXPECT_EQ(dump(spec),
            "lab clab seed 1\nnode h1 linux @14:5\nnode h2 linux @30:5\n"
            "link @32:7 h1:eth1 @32:19 h2:eth1 @32:30\n");
}

TEST(ParseLabTest, NodeWithNoValueTakesTheDefaultKind) {
  const LabSpec spec = parse_ok(
      "name: x\ntopology:\n  defaults: {kind: vnet}\n  nodes:\n    r1:\n"
      "    r2: ~\n");
  EXPECT_EQ(dump(spec), "lab x seed 1\nnode r1 vnet @5:5\nnode r2 vnet @6:5\n");
}

TEST(ParseLabTest, EmptyOptionalSectionsAreAllowed) {
  const LabSpec spec = parse_ok(R"(name: x
topology:
  defaults:
  kinds:
  nodes:
    h: {kind: linux, exec: []}
    i: {kind: linux, exec: }
  links:
checks:
)");
  EXPECT_EQ(dump(spec), "lab x seed 1\nnode h linux @6:5\nnode i linux @7:5\n");
}

TEST(ParseLabTest, LinkPropertyForms) {
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    a: {kind: linux}
    b: {kind: linux}
  links:
    - {endpoints: ["a:e1", "b:e1"], mtu: 68, delay: 250us, loss: 0}
    - {endpoints: ["a:e2", "b:e2"], mtu: "65535", delay: "1.5s", loss: 0.25}
    - {endpoints: ["a:e3", "b:e3"], delay: 0ns, loss: "100%"}
    - {endpoints: ["a:e4", "a:e5"]}
)");
  ASSERT_EQ(spec.links.size(), 4u);
  EXPECT_EQ(spec.links[0].mtu, 68);
  EXPECT_EQ(spec.links[0].delay_ns, 250'000u);
  EXPECT_DOUBLE_EQ(spec.links[0].loss, 0);
  EXPECT_EQ(spec.links[1].mtu, 65535);
  EXPECT_EQ(spec.links[1].delay_ns, 1'500'000'000u);
  EXPECT_DOUBLE_EQ(spec.links[1].loss, 0.25);
  EXPECT_EQ(spec.links[2].mtu, std::nullopt);
  EXPECT_EQ(spec.links[2].delay_ns, 0u);
  EXPECT_DOUBLE_EQ(spec.links[2].loss, 1.0);
  // Two interfaces of one node may be linked to each other (a veth pair in one namespace).
  EXPECT_EQ(spec.links[3].a.to_string(), "a:e4");
  EXPECT_EQ(spec.links[3].b.to_string(), "a:e5");
}

TEST(ParseLabTest, BridgePortsMayBeNamedLo) {
  // 'lo' is refused only where it is the loopback: on linux and vnet nodes.
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    a: {kind: linux}
    sw: {kind: bridge}
  links:
    - endpoints: ["a:eth1", "sw:lo"]
)");
  EXPECT_EQ(spec.links.at(0).b.ifname, "lo");
}

TEST(ParseLabTest, CommandLinesAreTakenAsWritten) {
  // true, false and yes are commands, not booleans; a quoted number is text; block scalars keep
  // their text.
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    h:
      kind: linux
      exec:
        - true
        - "42"
        - yes
        - 'echo it''s'
        - |
          echo multi
checks:
  - {node: h, run: false, expect: failure}
  - {node: h, run: "echo 3", output: [3, "x: y"]}
)");
  ASSERT_EQ(spec.nodes.size(), 1u);
  std::vector<std::string> commands;
  for (const ExecLine& line : spec.nodes[0].exec) commands.push_back(line.command);
  EXPECT_EQ(commands, (std::vector<std::string>{"true", "42", "yes", "echo it's", "echo multi\n"}));
  ASSERT_EQ(spec.checks.size(), 2u);
  EXPECT_EQ(spec.checks[0].run, "false");
  EXPECT_EQ(spec.checks[0].expect, Expect::Failure);
  EXPECT_EQ(spec.checks[1].output, (std::vector<std::string>{"3", "x: y"}));
}

TEST(ParseLabTest, NumbersAreNotCommandLines) {
  const std::string head =
      "name: x\ntopology:\n  nodes:\n    h: {kind: linux}\nchecks:\n  - node: h\n";
  for (const std::string number : {"7", "-7", "+7", "0x1f", "0o17", "1.5", ".5", "1e3", "-1.5E-3",
                                   ".inf", "-.inf", ".nan", "!!int 7", "!!float 1"}) {
    std::string word = number;
    if (word.starts_with("!!")) word = word.substr(word.find(' ') + 1);
    EXPECT_EQ(parse_error(head + "    run: " + number + "\n"),
              "lab.yaml:7:10: run must be a command string, found the number " + word)
        << number;
  }
  // Words that merely start like numbers are commands.
  for (const std::string command : {"7z x a.7z", "1.5ms", "0x", "e3", "1e", "+", "."}) {
    EXPECT_EQ(parse_ok(head + "    run: \"" + command + "\"\n").checks.at(0).run, command);
    EXPECT_EQ(parse_ok(head + "    run: " + command + "\n").checks.at(0).run, command) << command;
  }
}

TEST(ParseLabTest, SeedRange) {
  const std::string rest = "\ntopology:\n  nodes:\n    h: {kind: linux}\n";
  EXPECT_EQ(parse_ok("name: x\nseed: 0" + rest).seed, 0u);
  EXPECT_EQ(parse_ok("name: x\nseed: 18446744073709551615" + rest).seed, UINT64_MAX);
  EXPECT_EQ(parse_error("name: x\nseed: 18446744073709551616" + rest),
            "lab.yaml:2:7: seed must be an integer from 0 to 18446744073709551615, found "
            "'18446744073709551616'");
  EXPECT_EQ(parse_error("name: x\nseed: [1]" + rest),
            "lab.yaml:2:7: seed must be an integer from 0 to 18446744073709551615, found a list");
}

TEST(ParseLabTest, ChecksAcceptNameAndTimeout) {
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    h: {kind: vnet}
checks:
  - {name: fast, node: h, run: "true", timeout: 250ms}
  - {name: slow, node: h, run: "true", timeout: 3600s}
)");
  ASSERT_EQ(spec.checks.size(), 2u);
  EXPECT_EQ(spec.checks[0].name, "fast");
  EXPECT_EQ(spec.checks[0].timeout_ns, 250'000'000u);
  EXPECT_EQ(spec.checks[1].timeout_ns, 3'600'000'000'000u);
}

// `during`: commands and migrations at times after the check's command starts, sorted by time
// (file order for equal times); a migration's names are checked against `vpcs`, which may come
// later in the file.
TEST(ParseLabTest, DuringActionsAreSortedByTime) {
  const LabSpec spec = parse_ok(R"(name: x
topology:
  nodes:
    host1: {kind: vnet}
    host2: {kind: vnet}
    vm1: {kind: linux}
    vm2: {kind: linux}
  links:
    - endpoints: ["vm1:eth0", "host1:vm1p"]
    - endpoints: ["vm2:eth0", "host1:vm2p"]
checks:
  - node: vm1
    run: ping -c 300 -i 0.01 10.0.1.142
    timeout: 10s
    during:
      - at: 1500ms
        migrate: vm2
        to: host2
        port: vm2p
      - {at: 1s, node: host1, run: vpc show}
      - {at: 0s, node: vm1, run: "true"}
      - {at: 1.5s, node: host2, run: vpc show}
      - {at: 1s, migrate: vm1, to: host2}
  - {node: vm1, run: "true", during: }
vpcs:
  hosts: {host1: 10.10.1.9, host2: 10.10.1.10}
  networks:
    - id: 6289
      vms: [{node: vm1, ip: 10.0.1.141}, {node: vm2, ip: 10.0.1.142}]
)");
  ASSERT_EQ(spec.checks.size(), 2u);
  std::vector<std::string> actions;
  for (const DuringAction& action : spec.checks[0].during) {
    std::string text = std::to_string(action.at_ns) + " @" + std::to_string(action.loc.line) + ":" +
                       std::to_string(action.loc.column) + " ";
    if (action.migrate.empty()) {
      text += "run on " + action.node + ": " + action.run;
    } else {
      text += "migrate " + action.migrate + " to " + action.to + " port '" + action.port + "'";
      EXPECT_EQ(action.node, "");
      EXPECT_EQ(action.run, "");
    }
    actions.push_back(text);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{
                         "0 @21:9 run on vm1: true",
                         "1000000000 @20:9 run on host1: vpc show",
                         "1000000000 @23:9 migrate vm1 to host2 port ''",
                         "1500000000 @16:9 migrate vm2 to host2 port 'vm2p'",
                         "1500000000 @22:9 run on host2: vpc show",
                     }));
  EXPECT_TRUE(spec.checks[1].during.empty());
}

TEST(ParseLabTest, ErrorsPointAtTheOffendingNode) {
  const std::string head = "name: x\ntopology:\n  nodes:\n    h:\n      kind: linux\n";
  // An explicit null is placed where it is written.
  EXPECT_EQ(parse_error(head + "      exec: [ip link, ~]\n"),
            "lab.yaml:6:23: exec line 2 of node 'h' must be a command string, found nothing");
  // An empty value is placed at its key, not at the next token yaml-cpp would give.
  EXPECT_EQ(parse_error("name:\n\n\ntopology: {nodes: {h: {kind: linux}}}\n"),
            "lab.yaml:1:1: name must be a string, found nothing");
  EXPECT_EQ(parse_error(head + "      exec:\n        - true\n        - [a]\n"),
            "lab.yaml:8:11: exec line 2 of node 'h' must be a command string, found a list");
}

TEST(ParseLabTest, FirstErrorWins) {
  // An unknown top-level key comes before a missing 'name'; a node's error before a link's.
  EXPECT_EQ(parse_error("nmae: x\ntopology: {nodes: {h: {kind: linux}}}\n"),
            "lab.yaml:1:1: unknown key 'nmae' at the top level (did you mean 'name'?)");
  EXPECT_EQ(parse_error(R"(name: x
topology:
  links:
    - endpoints: ["a:eth1", "nowhere:eth1"]
  nodes:
    a: {kind: router}
)"),
            "lab.yaml:6:15: unknown node kind 'router' (valid kinds: linux, vnet, bridge)");
}

TEST(ParseLabTest, YamlSyntaxErrorsAreCleanMessages) {
  const std::string error = parse_error("name: x\ntopology:\n  nodes: {h: {kind: linux}\n");
  EXPECT_EQ(error.find("yaml-cpp"), std::string::npos) << error;
  EXPECT_EQ(error.rfind("lab.yaml:", 0), 0u) << error;
  EXPECT_NE(error.find(": invalid YAML: "), std::string::npos) << error;
  EXPECT_EQ(parse_error("name: x\nkey: @bad\n"), "lab.yaml:2:6: invalid YAML: unknown token");
  EXPECT_EQ(parse_error("name: x\ntopology: *nowhere\n"),
            "lab.yaml:2:11: invalid YAML: the referenced anchor is not defined");
}

TEST(ParseLabTest, HostileInputFailsCleanly) {
  EXPECT_EQ(parse_error(std::string(kMaxLabFileBytes + 1, '#')),
            "lab.yaml: lab file is too large (1048577 bytes; at most 1048576)");
  // Aliases can make a node contain itself (the list below is its own first item); parsing only
  // walks the schema, so it terminates.
  EXPECT_EQ(parse_error("name: x\ntopology:\n  nodes:\n    h: {kind: linux, exec: &e [*e]}\n"),
            "lab.yaml:4:28: exec line 1 of node 'h' must be a command string, found a list");
  EXPECT_EQ(parse_ok("name: x\ntopology:\n  nodes:\n    h: {kind: linux, labels: &l {l: *l}}\n")
                .nodes.size(),
            1u);
  // Deep nesting is refused by yaml-cpp's depth guard, not by a stack overflow.
  EXPECT_EQ(parse_error("name: x\nmgmt: " + std::string(100000, '[')),
            "lab.yaml:2:1: invalid YAML: lists or mappings nested too deeply");
  EXPECT_EQ(parse_error("name: x\nmgmt: " + std::string(600, '{') + "a"),
            "lab.yaml:2:1: invalid YAML: lists or mappings nested too deeply");
  // A stray ',' at the top level makes yaml-cpp 0.7's LoadAll loop forever (jbeder/yaml-cpp#1040).
  EXPECT_EQ(parse_error(", a: b\n"), "lab.yaml:1:1: invalid YAML: unexpected ','");
  EXPECT_EQ(parse_error("# lab\n\n  ,"), "lab.yaml:3:3: invalid YAML: unexpected ','");
  EXPECT_EQ(parse_error("name: x\n---\n,\n"),
            "lab.yaml:2:1: a lab file holds one YAML document; found a second one");
  // A NUL byte is refused before yaml-cpp, which would misreport it.
  EXPECT_EQ(parse_error(std::string("name: x\nseed: 1\0\n", 16)),
            "lab.yaml:2:8: lab file contains a NUL byte (is it a text file?)");
  EXPECT_EQ(parse_error(std::string("\0", 1)),
            "lab.yaml:1:1: lab file contains a NUL byte (is it a text file?)");
  // Invalid UTF-8 is passed through as bytes (the message quotes them as they are).
  EXPECT_EQ(parse_error("name: x\ntopology:\n  nodes:\n    \xff: {kind: linux}\n"),
            "lab.yaml:4:5: invalid node name '\xff': use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit");
}

TEST(ParseLabTest, OnlyOneDocument) {
  EXPECT_EQ(parse_error("---\nname: x\ntopology: {nodes: {h: {kind: linux}}}\n...\n---\nname: y\n"),
            "lab.yaml:5:1: a lab file holds one YAML document; found a second one");
  // A single explicit document is fine.
  EXPECT_EQ(parse_ok("---\nname: x\ntopology: {nodes: {h: {kind: linux}}}\n...\n").name, "x");
}

TEST(LoadLabFileTest, UnreadableFiles) {
  const std::string missing = std::string(VNET_SOURCE_DIR) + "/tests/lab/no-such-lab.yaml";
  std::variant<LabSpec, LabError> result = load_lab_file(missing);
  ASSERT_TRUE(std::holds_alternative<LabError>(result));
  EXPECT_EQ(std::get<LabError>(result).to_string(),
            missing + ": cannot read lab file: No such file or directory");

  const std::string dir = std::string(VNET_SOURCE_DIR) + "/tests/lab";
  result = load_lab_file(dir);
  ASSERT_TRUE(std::holds_alternative<LabError>(result));
  EXPECT_EQ(std::get<LabError>(result).to_string(), dir + ": cannot read lab file: Is a directory");
}

TEST(LoadLabFileTest, ReadsAndParses) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("vnet_lab_test_" + std::to_string(::getpid()));
  {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    const std::string text(kMultihoming);
    ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), file), text.size());
    std::fclose(file);
  }
  std::variant<LabSpec, LabError> result = load_lab_file(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(std::holds_alternative<LabSpec>(result)) << std::get<LabError>(result).to_string();
  const LabSpec& spec = std::get<LabSpec>(result);
  EXPECT_EQ(spec.nodes.size(), 6u);
  EXPECT_EQ(spec.nodes[0].loc, (SourceLoc{path.string(), 6, 5}));
}

TEST(LabErrorTest, ToString) {
  EXPECT_EQ((LabError{{"lab.yaml", 3, 7}, "bad"}).to_string(), "lab.yaml:3:7: bad");
  EXPECT_EQ((LabError{{"lab.yaml", 0, 0}, "bad"}).to_string(), "lab.yaml: bad");
}

TEST(SpecTest, EnumNames) {
  EXPECT_EQ(to_string(NodeKind::Linux), "linux");
  EXPECT_EQ(to_string(NodeKind::Vnet), "vnet");
  EXPECT_EQ(to_string(NodeKind::Bridge), "bridge");
  EXPECT_EQ(to_string(Expect::Success), "success");
  EXPECT_EQ(to_string(Expect::Failure), "failure");
}

}  // namespace
}  // namespace vnet::lab
