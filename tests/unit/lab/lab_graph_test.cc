// The lab's DOT (lab/lab_graph.h): nodes by kind, links with interfaces and addresses, one
// dashed edge per tunnel (both ends merged), and a traced path drawn on it.  The CLI test in
// tests/lab/run.sh renders it with Graphviz and parses the SVG.
#include "lab/lab_graph.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

#include "lab/lab_parser.h"

namespace vnet::lab {
namespace {

constexpr const char* kLab = R"(name: g
topology:
  nodes:
    h1: {kind: linux, exec: ["ip addr add 10.1.0.2/24 dev eth0"]}
    g1:
      kind: vnet
      exec: ["ip addr add 10.1.0.1/24 dev eth0", "ip a a 192.0.2.1/24 dev eth1",
             "ip tunnel add gre1 mode gre remote 192.0.2.2 local 192.0.2.1 key 7"]
    sw: {kind: bridge}
    g2:
      kind: vnet
      exec: ["ip addr add 192.0.2.2/24 dev eth0",
             "ip tunnel add gre9 mode gre remote 192.0.2.1 local 192.0.2.2 key 7",
             "ip link add vx0 type vxlan id 42 remote 203.0.113.9 dstport 4789"]
  links:
    - endpoints: ["h1:eth0", "g1:eth0"]
      mtu: 1400
    - endpoints: ["g1:eth1", "sw:p1"]
    - endpoints: ["sw:p2", "g2:eth0"]
      delay: 5ms
)";

LabSpec spec() {
  auto parsed = parse_lab(kLab, "g.yaml");
  EXPECT_TRUE(std::holds_alternative<LabSpec>(parsed));
  return std::get<LabSpec>(parsed);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(LabGraph, NodesLinksAddressesAndTunnels) {
  std::string dot = lab_dot(spec());
  EXPECT_EQ(dot.rfind("graph \"g\" {\n", 0), 0u);
  EXPECT_NE(dot.find("\"h1\" [label=\"h1\\n(linux)\", shape=box"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"g1\" [label=\"g1\\n(vnet)\", shape=box, peripheries=2"), std::string::npos);
  EXPECT_NE(dot.find("\"sw\" [label=\"sw\\n(bridge)\", shape=ellipse"), std::string::npos);
  EXPECT_NE(dot.find("\"h1\" -- \"g1\" [taillabel=\"eth0\\n10.1.0.2/24\", headlabel=\"eth0\\n"
                     "10.1.0.1/24\", label=\"mtu 1400\"];"),
            std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"g1\" -- \"sw\" [taillabel=\"eth1\\n192.0.2.1/24\", headlabel=\"p1\"];"),
            std::string::npos);
  EXPECT_NE(dot.find("label=\"delay 5ms\""), std::string::npos);
  // The GRE tunnel's two ends make one dashed edge; the VXLAN remote outside the lab gets a
  // plain-text node of its own.
  EXPECT_NE(dot.find("\"g1\" -- \"g2\" [style=dashed, label=\"gre1 gre key 7 / gre9\""),
            std::string::npos)
      << dot;
  EXPECT_EQ(count(dot, "style=dashed"), 2u);
  EXPECT_NE(dot.find("\"g2\" -- \"203.0.113.9\" [style=dashed, label=\"vx0 vxlan vni 42\""),
            std::string::npos);
  EXPECT_EQ(count(dot, "#c00000"), 0u);  // no path: nothing red
  EXPECT_EQ(dot.back(), '\n');
}

TEST(LabGraph, APathIsDrawnAndADropMarked) {
  GraphPath path;
  path.caption = "h1# ping -c 1 10.2.0.2";
  path.tx = {{"h1", "eth0"}, {"g1", "eth0"}, {"h1", "eth0"}, {"g1", "eth1"}};
  path.encap = {{"g1", "gre1"}};
  path.drops = {{"g2", "GRE \"key\" mismatch"}, {"g2", "GRE \"key\" mismatch"}};
  std::string dot = lab_dot(spec(), &path);
  EXPECT_NE(dot.find("label=\"g: h1# ping -c 1 10.2.0.2\""), std::string::npos);
  // h1:eth0 first (1), g1:eth0 second (2); g1:eth1 third.
  EXPECT_NE(dot.find("color=\"#c00000\", penwidth=3, xlabel=\"#1,2\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("xlabel=\"#3\""), std::string::npos);
  EXPECT_NE(dot.find("\"g1\" -- \"g2\" [style=dashed, label=\"gre1 gre key 7 / gre9\", "
                     "constraint=false, color=\"#c00000\""),
            std::string::npos);
  // The drop, once, with its quotes escaped, on a red node.
  EXPECT_EQ(count(dot, "DROP GRE \\\"key\\\" mismatch"), 1u) << dot;
  EXPECT_NE(dot.find("fillcolor=\"#ffd6d6\""), std::string::npos);
  // sw:p2 -- g2 was not used.
  EXPECT_NE(dot.find("\"sw\" -- \"g2\" [taillabel=\"p2\", headlabel=\"eth0\\n192.0.2.2/24\", "
                     "label=\"delay 5ms\"];"),
            std::string::npos);
}

}  // namespace
}  // namespace vnet::lab
