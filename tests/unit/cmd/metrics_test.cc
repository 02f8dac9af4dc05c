// Prometheus text exposition (cmd/metrics.h): the format's rules (HELP and TYPE once per family,
// before its samples, the family's samples together, label values escaped) and what a node's
// families say after it was configured and sent traffic.  tests/real/metrics.sh parses vnetd's
// output with the Prometheus client library's own parser.
#include "cmd/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cmd/shell.h"
#include "stack/node_io.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::cmd {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The format's structure: every family's HELP and TYPE come once, right before its samples, and
// its samples are not interleaved with another family's.  Returns sample line -> value text.
std::map<std::string, std::string> check_structure(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::set<std::string> seen;
  std::string current;
  std::vector<std::string> lines = lines_of(text);
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.rfind("# HELP ", 0) == 0) {
      std::string name = l.substr(7, l.find(' ', 7) - 7);
      EXPECT_TRUE(seen.insert(name).second) << "family twice: " << name;
      if (i + 1 >= lines.size()) {
        ADD_FAILURE() << "HELP without TYPE: " << l;
        break;
      }
      EXPECT_EQ(lines[i + 1].rfind("# TYPE " + name + " ", 0), 0u) << lines[i + 1];
      current = name;
      ++i;
      continue;
    }
    EXPECT_NE(l[0], '#') << l;
    std::string name = l.substr(0, l.find_first_of("{ "));
    EXPECT_EQ(name, current) << "sample outside its family: " << l;
    size_t space = l.rfind(' ');
    samples[l.substr(0, space)] = l.substr(space + 1);
  }
  return samples;
}

TEST(PrometheusText, GroupsFamiliesAndEscapesLabels) {
  PrometheusText t;
  t.add("a_total", "counter", "A.", {{"x", "1"}}, 3);
  t.add("b", "gauge", "B.", {}, 0.5);
  t.add("a_total", "counter", "A.", {{"x", "q\"b\\s\nn"}}, 18446744073709551615.0);
  EXPECT_EQ(t.text(),
            "# HELP a_total A.\n"
            "# TYPE a_total counter\n"
            "a_total{x=\"1\"} 3\n"
            "a_total{x=\"q\\\"b\\\\s\\nn\"} 1.8446744073709552e+19\n"
            "# HELP b B.\n"
            "# TYPE b gauge\n"
            "b 0.5\n");
}

struct NullIo : stack::NodeIo {
  void transmit(int, std::span<const std::byte>) override { ++sent; }
  int sent = 0;
};

TEST(NodeMetrics, CountersAndTableSizesOfAConfiguredNode) {
  stack::Node node;
  NullIo io;
  node.set_io(&io);
  Shell shell(node);
  ASSERT_TRUE(node.link_add_external("eth0", net::MacAddr(2, 0, 0, 0, 0, 1)).ok());
  int eth0 = node.device_by_name("eth0")->ifindex;
  node.link_set_up(eth0, true);
  node.set_carrier(eth0, true);
  for (const char* line :
       {"ip addr add 192.0.2.1/24 dev eth0",
        "ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev eth0",
        "ip route add 198.51.100.0/24 via 192.0.2.2 table 100",
        "ip rule add from 10.0.0.0/8 table 100", "sysctl -qw net.ipv4.ip_forward=1",
        "iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE"}) {
    ASSERT_EQ(shell.run(line).status, 0) << line;
  }
  // Two datagrams to nowhere (from 10/8 they are looked up in table 100, which has no route
  // for 203.0.113.9: ICMP unreachable, which itself has no route back to 10.1.1.1) and one
  // forwarded to table 100's network.
  auto datagram = [&](net::Ipv4Addr src, net::Ipv4Addr dst) {
    std::vector<std::byte> f(14 + 20 + 8 + 4);
    (void)wire::EthernetRepr{net::MacAddr(2, 0, 0, 0, 0, 1), net::MacAddr(2, 0, 0, 0, 0, 2),
                             wire::EtherType::Ipv4}
        .emit(f);
    wire::Ipv4Repr ip;
    ip.source = src;
    ip.destination = dst;
    ip.protocol = wire::IpProtocol::Udp;
    ip.ttl = 64;
    ip.payload_len = 12;
    (void)ip.emit(std::span(f).subspan(14));
    (void)wire::UdpRepr{1000, 2000, 4}.emit(std::span(f).subspan(34), src, dst);
    node.receive(eth0, f, 1'000'000);
  };
  datagram(*net::Ipv4Addr::parse("10.1.1.1"), *net::Ipv4Addr::parse("203.0.113.9"));
  datagram(*net::Ipv4Addr::parse("10.1.1.1"), *net::Ipv4Addr::parse("203.0.113.9"));
  datagram(*net::Ipv4Addr::parse("10.1.1.1"), *net::Ipv4Addr::parse("198.51.100.7"));

  PrometheusText t;
  node_metrics(node, MetricsExtra{.node = "r1", .tracing = true, .trace_records = 7}, t);
  std::map<std::string, std::string> s = check_structure(t.text());
  EXPECT_EQ(s["vnet_interface_rx_packets_total{node=\"r1\",interface=\"eth0\"}"], "3");
  EXPECT_EQ(s["vnet_interface_tx_packets_total{node=\"r1\",interface=\"eth0\"}"],
            std::to_string(io.sent));
  EXPECT_EQ(s["vnet_interface_up{node=\"r1\",interface=\"eth0\"}"], "1");
  EXPECT_EQ(s["vnet_drops_total{node=\"r1\",reason=\"UNREACHABLE\"}"], "2");
  EXPECT_EQ(s["vnet_drops_total{node=\"r1\",reason=\"IP_OUTNOROUTES\"}"], "2");
  // Every reason has its counter, zeros included.
  size_t reasons = 0;
  for (const auto& [k, v] : s) reasons += k.rfind("vnet_drops_total{", 0) == 0;
  EXPECT_EQ(reasons, static_cast<size_t>(stack::DropReason::kCount));
  EXPECT_EQ(s["vnet_routes{node=\"r1\",table=\"100\"}"], "1");
  EXPECT_EQ(s["vnet_routes{node=\"r1\",table=\"main\"}"], "1");
  EXPECT_EQ(s["vnet_rules{node=\"r1\"}"], "4");
  EXPECT_EQ(s["vnet_neighbours{node=\"r1\",state=\"PERMANENT\"}"], "1");
  EXPECT_EQ(s["vnet_conntrack_entries{node=\"r1\"}"], "1");
  EXPECT_EQ(s["vnet_conntrack_max{node=\"r1\"}"], "262144");
  EXPECT_EQ(s["vnet_trace_enabled{node=\"r1\"}"], "1");
  EXPECT_EQ(s["vnet_trace_records{node=\"r1\"}"], "7");
  EXPECT_EQ(s.count("vnet_ipvs_connections{node=\"r1\"}"), 0u);  // IPVS never loaded
  EXPECT_EQ(s.count("vnet_agent_revision{node=\"r1\"}"), 0u);    // no agent
}

}  // namespace
}  // namespace vnet::cmd
