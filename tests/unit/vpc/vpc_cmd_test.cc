// The `vpc` command (cmd/vpc_cmd.cc) on a stack::Node: golden text and JSON for every show,
// usage mistakes (exit 255 and iproute2-style wording), refused changes (exit 2, "Error: ...."),
// and that no failed command changes anything.  The goldens were written from the format
// strings in vpc_cmd.cc and the tables' documented order (route_table and neigh_table by
// (vpc, ip); subnet_routes longest prefix first, then by address; ports by ifindex), not copied
// from the command's output.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cmd/command.h"
#include "cmd/shell.h"
#include "stack/node.h"
#include "vm_frames.h"

namespace vnet::cmd {
namespace {

using net::Ipv4Addr;
using net::MacAddr;
using stack::DropReason;
using vpc::VSwitch;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}
MacAddr mac(const char* s) {
  return *MacAddr::parse(s);
}

struct Discard : stack::NodeIo {
  void transmit(int /*ifindex*/, std::span<const std::byte> /*frame*/) override { ++frames; }
  int frames = 0;
};

class VpcCmd : public ::testing::Test {
 protected:
  void SetUp() override {
    node_.set_io(&io_);
    // ifindex 2, 3, 4 (lo is 1).
    for (const auto& [name, m] :
         {std::pair{"vm1p", "02:00:00:00:01:01"}, std::pair{"vm2p", "02:00:00:00:01:02"},
          std::pair{"eth0", "02:00:00:00:00:09"}}) {
      ASSERT_TRUE(node_.link_add_external(name, mac(m)).ok());
      int ix = node_.device_by_name(name)->ifindex;
      ASSERT_TRUE(node_.link_set_up(ix, true).ok());
      node_.set_carrier(ix, true);
    }
    ASSERT_TRUE(node_.link_set_up(stack::Node::kLoopbackIfindex, true).ok());
    Shell shell(node_);
    ASSERT_EQ(shell.run("ip addr add 10.10.1.9/24 dev eth0").status, 0);
  }

  // Runs "vpc " + line (words split on spaces) through run_vpc.
  CmdOutput vpc(const std::string& line) {
    Args argv = {"vpc"};
    std::istringstream words(line);
    for (std::string w; words >> w;) argv.push_back(w);
    return run_vpc(node_, argv);
  }
  void ok(const std::string& line) {
    CmdOutput o = vpc(line);
    ASSERT_EQ(o.status, 0) << "vpc " << line << "\n" << o.err;
    ASSERT_EQ(o.err, "");
    ASSERT_EQ(o.out, "");
  }
  void expect_out(const std::string& line, const std::string& out) {
    SCOPED_TRACE("vpc " + line);
    CmdOutput o = vpc(line);
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.err, "");
    EXPECT_EQ(o.out, out);
  }
  // Everything the command can show, to compare before and after a failed command.
  std::string snapshot() {
    std::string s;
    for (const char* line : {"-s show", "-j -s show", "route show", "-j route show", "neigh show",
                             "subnet-route show", "-j -s port show", "local"}) {
      s += vpc(line).out;
    }
    return s;
  }
  // The seed's two VPCs on host 10.10.1.9: vm1 (10.0.1.141, port vm1p) here, 10.0.1.142 on
  // 10.10.1.10; VPC 6774 with 172.16.0.47 on 10.10.1.10 and 172.16.0.48 here (port vm2p, lladdr
  // given, no neigh_table entry); peered both ways.
  void configure() {
    ok("local 10.10.1.9");
    ok("set grace 500ms");
    ok("add 6289 subnet 10.0.1.0/24");
    ok("add 6774 subnet 172.16.0.0/24 subnet 10.0.2.0/24");
    ok("route add 10.0.1.141 host 10.10.1.9 vpc 6289");
    ok("route add 10.0.1.142 host 10.10.1.10 vpc 6289");
    ok("route add 172.16.0.48 host 10.10.1.9 vpc 6774");
    ok("route add 172.16.0.47 host 10.10.1.10 vpc 6774");
    ok("neigh add 10.0.1.141 lladdr 52:54:00:00:00:01 vpc 6289");
    ok("port add vm1p vm 10.0.1.141 vpc 6289");
    ok("port add vm2p vm 172.16.0.48 vpc 6774 lladdr 52:54:00:00:00:02");
    ok("subnet-route add 172.16.0.0/24 peer 6774 vpc 6289");
    ok("subnet-route add 10.0.2.0/24 peer 6774 vpc 6289");
    ok("subnet-route add 10.0.1.0/24 peer 6289 vpc 6774");
  }
  void send(const char* port, const std::vector<std::byte>& frame) {
    node_.receive(node_.device_by_name(port)->ifindex, frame, node_.now_ns());
  }

  stack::Node node_;
  Discard io_;
};

TEST_F(VpcCmd, EmptyShow) {
  expect_out("show", "vswitch local none mac ee:ff:ff:ff:ff:ff grace 2s\n");
  expect_out("-j show", R"({"local":null,"mac":"ee:ff:ff:ff:ff:ff","grace_ms":2000,"vpcs":[]})"
                        "\n");
  expect_out("route show", "");
  expect_out("-j route show", "[]\n");
  expect_out("-j neigh show", "[]\n");
  expect_out("-j subnet-route show", "[]\n");
  expect_out("-j port show", "[]\n");
  expect_out("local", "none\n");
  expect_out("-j local", "{\"local\":null}\n");
  expect_out("-s show",
             "vswitch local none mac ee:ff:ff:ff:ff:ff grace 2s\n"
             "  arp_proxied 0 arp_consumed 0 local_switched 0 encapsulated 0 decapsulated 0 "
             "stale_forwarded 0\n"
             "  routes 0 neighs 0 table_bytes 768\n"
             "  drops none\n");
}

TEST_F(VpcCmd, ShowText) {
  configure();
  expect_out("show",
             "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
             "vpc 6289 subnets 10.0.1.0/24\n"
             "  route 10.0.1.141 host 10.10.1.9\n"
             "  route 10.0.1.142 host 10.10.1.10\n"
             "  neigh 10.0.1.141 lladdr 52:54:00:00:00:01\n"
             "  subnet-route 10.0.2.0/24 peer 6774\n"
             "  subnet-route 172.16.0.0/24 peer 6774\n"
             "  port vm1p vm 10.0.1.141 lladdr 52:54:00:00:00:01\n"
             "vpc 6774 subnets 172.16.0.0/24 10.0.2.0/24\n"
             "  route 172.16.0.47 host 10.10.1.10\n"
             "  route 172.16.0.48 host 10.10.1.9\n"
             "  subnet-route 10.0.1.0/24 peer 6289\n"
             "  port vm2p vm 172.16.0.48 lladdr 52:54:00:00:00:02\n");
  expect_out("show vpc 6774",
             "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
             "vpc 6774 subnets 172.16.0.0/24 10.0.2.0/24\n"
             "  route 172.16.0.47 host 10.10.1.10\n"
             "  route 172.16.0.48 host 10.10.1.9\n"
             "  subnet-route 10.0.1.0/24 peer 6289\n"
             "  port vm2p vm 172.16.0.48 lladdr 52:54:00:00:00:02\n");
  expect_out("show vpc 1", "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n");
  const std::string routes =
      "10.0.1.141 host 10.10.1.9 vpc 6289\n"
      "10.0.1.142 host 10.10.1.10 vpc 6289\n"
      "172.16.0.47 host 10.10.1.10 vpc 6774\n"
      "172.16.0.48 host 10.10.1.9 vpc 6774\n";
  expect_out("route show", routes);
  expect_out("route", routes);
  expect_out("route list", routes);
  expect_out("route show vpc 6774",
             "172.16.0.47 host 10.10.1.10 vpc 6774\n"
             "172.16.0.48 host 10.10.1.9 vpc 6774\n");
  expect_out("neigh show", "10.0.1.141 lladdr 52:54:00:00:00:01 vpc 6289\n");
  expect_out("neighbour show vpc 6774", "");
  expect_out("subnet-route show",
             "10.0.2.0/24 peer 6774 vpc 6289\n"
             "172.16.0.0/24 peer 6774 vpc 6289\n"
             "10.0.1.0/24 peer 6289 vpc 6774\n");
  expect_out("subnet-route show vpc 6774", "10.0.1.0/24 peer 6289 vpc 6774\n");
  expect_out("port show",
             "vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:00:00:01\n"
             "vm2p vm 172.16.0.48 vpc 6774 lladdr 52:54:00:00:00:02\n");
  expect_out("-s port show vpc 6289",
             "vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:00:00:01 rx 0 tx 0 dropped 0\n");
  expect_out("local", "10.10.1.9\n");
}

TEST_F(VpcCmd, ShowJson) {
  configure();
  expect_out("-j show",
             R"({"local":"10.10.1.9","mac":"ee:ff:ff:ff:ff:ff","grace_ms":500,"vpcs":[)"
             R"({"vpc":6289,"subnets":["10.0.1.0/24"],)"
             R"("route_table":[{"dst":"10.0.1.141","host":"10.10.1.9"},)"
             R"({"dst":"10.0.1.142","host":"10.10.1.10"}],)"
             R"("neigh_table":[{"dst":"10.0.1.141","lladdr":"52:54:00:00:00:01"}],)"
             R"("subnet_route":[{"dst":"10.0.2.0/24","peer":6774},)"
             R"({"dst":"172.16.0.0/24","peer":6774}],)"
             R"("ports":[{"dev":"vm1p","vm":"10.0.1.141","lladdr":"52:54:00:00:00:01"}]},)"
             R"({"vpc":6774,"subnets":["172.16.0.0/24","10.0.2.0/24"],)"
             R"("route_table":[{"dst":"172.16.0.47","host":"10.10.1.10"},)"
             R"({"dst":"172.16.0.48","host":"10.10.1.9"}],)"
             R"("neigh_table":[],)"
             R"("subnet_route":[{"dst":"10.0.1.0/24","peer":6289}],)"
             R"("ports":[{"dev":"vm2p","vm":"172.16.0.48","lladdr":"52:54:00:00:00:02"}]}]})"
             "\n");
  expect_out("-j route show", R"([{"dst":"10.0.1.141","host":"10.10.1.9","vpc":6289},)"
                              R"({"dst":"10.0.1.142","host":"10.10.1.10","vpc":6289},)"
                              R"({"dst":"172.16.0.47","host":"10.10.1.10","vpc":6774},)"
                              R"({"dst":"172.16.0.48","host":"10.10.1.9","vpc":6774}])"
                              "\n");
  expect_out("-j neigh show", R"([{"dst":"10.0.1.141","lladdr":"52:54:00:00:00:01","vpc":6289}])"
                              "\n");
  expect_out("-j subnet-route show", R"([{"dst":"10.0.2.0/24","peer":6774,"vpc":6289},)"
                                     R"({"dst":"172.16.0.0/24","peer":6774,"vpc":6289},)"
                                     R"({"dst":"10.0.1.0/24","peer":6289,"vpc":6774}])"
                                     "\n");
  expect_out("-j port show",
             R"([{"dev":"vm1p","vm":"10.0.1.141","vpc":6289,"lladdr":"52:54:00:00:00:01"},)"
             R"({"dev":"vm2p","vm":"172.16.0.48","vpc":6774,"lladdr":"52:54:00:00:00:02"}])"
             "\n");
  expect_out("-j -s port show vpc 6774",
             R"([{"dev":"vm2p","vm":"172.16.0.48","vpc":6774,"lladdr":"52:54:00:00:00:02",)"
             R"("stats":{"rx_packets":0,"tx_packets":0,"dropped":0}}])"
             "\n");
  expect_out("-j local", R"({"local":"10.10.1.9"})"
                         "\n");
  // Pretty: iproute2's layout, four spaces per level, arrays inline.
  expect_out("-j -p neigh show",
             "[ {\n"
             "        \"dst\": \"10.0.1.141\",\n"
             "        \"lladdr\": \"52:54:00:00:00:01\",\n"
             "        \"vpc\": 6289\n"
             "    } ]\n");
}

TEST_F(VpcCmd, StatsShow) {
  configure();
  const MacAddr vm1 = mac("52:54:00:00:00:01");
  const MacAddr vsw = VSwitch::default_mac();
  std::vector<std::byte> payload(16, std::byte{0x5a});
  // vm1 asks for its gateway: answered by proxy.
  send("vm1p", vpc::test::arp_request_frame(vm1, ip("10.0.1.141"), ip("10.0.1.1")));
  // A frame with another source MAC: port security.
  send("vm1p",
       vpc::test::ether_frame(vsw, mac("52:54:00:00:00:66"), wire::EtherType::Ipv4,
                              vpc::test::udp_packet(ip("10.0.1.141"), ip("10.0.1.142"), payload)));
  // Gratuitous ARP: kept, not answered.
  send("vm1p", vpc::test::arp_request_frame(vm1, ip("10.0.1.141"), ip("10.0.1.141")));
  // To 172.16.0.48 in the peer VPC, whose port is here but which has no neigh_table entry.
  send("vm1p",
       vpc::test::ether_frame(vsw, vm1, wire::EtherType::Ipv4,
                              vpc::test::udp_packet(ip("10.0.1.141"), ip("172.16.0.48"), payload)));
  // To 10.0.1.142 on host 10.10.1.10: encapsulated (and waiting for the underlay's ARP).
  send("vm1p",
       vpc::test::ether_frame(vsw, vm1, wire::EtherType::Ipv4,
                              vpc::test::udp_packet(ip("10.0.1.141"), ip("10.0.1.142"), payload)));
  EXPECT_EQ(node_.drops().get(DropReason::VpcPortSecurity), 1u);
  EXPECT_EQ(node_.drops().get(DropReason::VpcUnknownVm), 1u);
  // Every slot is 16 B (key 8 + host 4, MAC 6 or ifindex 4, padded); 16 slots in each of three
  // maps.
  expect_out("-s show",
             "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
             "  arp_proxied 1 arp_consumed 1 local_switched 0 encapsulated 1 decapsulated 0 "
             "stale_forwarded 0\n"
             "  routes 4 neighs 1 table_bytes 768\n"
             "  drops VPC_PORT_SECURITY 1 VPC_UNKNOWN_VM 1\n"
             "vpc 6289 subnets 10.0.1.0/24\n"
             "  route 10.0.1.141 host 10.10.1.9\n"
             "  route 10.0.1.142 host 10.10.1.10\n"
             "  neigh 10.0.1.141 lladdr 52:54:00:00:00:01\n"
             "  subnet-route 10.0.2.0/24 peer 6774\n"
             "  subnet-route 172.16.0.0/24 peer 6774\n"
             "  port vm1p vm 10.0.1.141 lladdr 52:54:00:00:00:01 rx 5 tx 1 dropped 1\n"
             "vpc 6774 subnets 172.16.0.0/24 10.0.2.0/24\n"
             "  route 172.16.0.47 host 10.10.1.10\n"
             "  route 172.16.0.48 host 10.10.1.9\n"
             "  subnet-route 10.0.1.0/24 peer 6289\n"
             "  port vm2p vm 172.16.0.48 lladdr 52:54:00:00:00:02 rx 0 tx 0 dropped 1\n");
  expect_out("-j -s show vpc 6774",
             R"({"local":"10.10.1.9","mac":"ee:ff:ff:ff:ff:ff","grace_ms":500,)"
             R"("stats":{"arp_proxied":1,"arp_consumed":1,"local_switched":0,"encapsulated":1,)"
             R"("decapsulated":0,"stale_forwarded":0,"routes":4,"neighs":1,"table_bytes":768,)"
             R"("drops":{"VPC_PORT_SECURITY":1,"VPC_UNKNOWN_VM":1}},)"
             R"("vpcs":[{"vpc":6774,"subnets":["172.16.0.0/24","10.0.2.0/24"],)"
             R"("route_table":[{"dst":"172.16.0.47","host":"10.10.1.10"},)"
             R"({"dst":"172.16.0.48","host":"10.10.1.9"}],)"
             R"("neigh_table":[],)"
             R"("subnet_route":[{"dst":"10.0.1.0/24","peer":6289}],)"
             R"("ports":[{"dev":"vm2p","vm":"172.16.0.48","lladdr":"52:54:00:00:00:02",)"
             R"("stats":{"rx_packets":0,"tx_packets":0,"dropped":1}}]}]})"
             "\n");
}

TEST_F(VpcCmd, MigrationGraceShown) {
  configure();
  node_.run_timers(10 * kSec);
  ok("route change 10.0.1.141 host 10.10.1.11 vpc 6289");
  expect_out("route show vpc 6289",
             "10.0.1.141 host 10.10.1.11 vpc 6289 moved grace 0.500s\n"
             "10.0.1.142 host 10.10.1.10 vpc 6289\n");
  node_.run_timers(10 * kSec + 200 * kMs);
  expect_out("route show vpc 6289",
             "10.0.1.141 host 10.10.1.11 vpc 6289 moved grace 0.300s\n"
             "10.0.1.142 host 10.10.1.10 vpc 6289\n");
  expect_out("-j route show vpc 6289",
             R"([{"dst":"10.0.1.141","host":"10.10.1.11","vpc":6289,"moved":true,)"
             R"("grace_left_ms":300},{"dst":"10.0.1.142","host":"10.10.1.10","vpc":6289}])"
             "\n");
  node_.run_timers(11 * kSec);
  expect_out("route show vpc 6289",
             "10.0.1.141 host 10.10.1.11 vpc 6289 moved\n"
             "10.0.1.142 host 10.10.1.10 vpc 6289\n");
  expect_out("-j route show vpc 6289",
             R"([{"dst":"10.0.1.141","host":"10.10.1.11","vpc":6289,"moved":true,)"
             R"("grace_left_ms":0},{"dst":"10.0.1.142","host":"10.10.1.10","vpc":6289}])"
             "\n");
  ok("route replace 10.0.1.141 host 10.10.1.9 vpc 6289");
  expect_out("route show vpc 6289",
             "10.0.1.141 host 10.10.1.9 vpc 6289\n"
             "10.0.1.142 host 10.10.1.10 vpc 6289\n");
}

TEST_F(VpcCmd, GraceAndMacSettings) {
  ok("set grace 250us");
  expect_out("show", "vswitch local none mac ee:ff:ff:ff:ff:ff grace 250us\n");
  expect_out("-j show", R"({"local":null,"mac":"ee:ff:ff:ff:ff:ff","grace_ms":0,"vpcs":[]})"
                        "\n");
  ok("set grace 1500ns");
  expect_out("show", "vswitch local none mac ee:ff:ff:ff:ff:ff grace 1500ns\n");
  ok("set grace 3");
  expect_out("show", "vswitch local none mac ee:ff:ff:ff:ff:ff grace 3s\n");
  ok("set grace 3600s mac 02:00:00:00:00:fe");
  expect_out("show", "vswitch local none mac 02:00:00:00:00:fe grace 3600s\n");
  ok("set grace 1500ms");
  expect_out("show", "vswitch local none mac 02:00:00:00:00:fe grace 1500ms\n");
}

TEST_F(VpcCmd, DelAndRemoval) {
  configure();
  ok("route del 10.0.1.142 host 10.10.1.10 vpc 6289");
  ok("route delete 172.16.0.47 vpc 6774");
  ok("neigh del 10.0.1.141 vpc 6289");
  ok("subnet-route del 10.0.2.0/24 vpc 6289");
  ok("port del vm2p");
  expect_out("show",
             "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
             "vpc 6289 subnets 10.0.1.0/24\n"
             "  route 10.0.1.141 host 10.10.1.9\n"
             "  subnet-route 172.16.0.0/24 peer 6774\n"
             "  port vm1p vm 10.0.1.141 lladdr 52:54:00:00:00:01\n"
             "vpc 6774 subnets 172.16.0.0/24 10.0.2.0/24\n"
             "  route 172.16.0.48 host 10.10.1.9\n"
             "  subnet-route 10.0.1.0/24 peer 6289\n");
  // Deleting 6289 takes 6774's subnet_route to it along.
  ok("del 6289");
  expect_out("show",
             "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
             "vpc 6774 subnets 172.16.0.0/24 10.0.2.0/24\n"
             "  route 172.16.0.48 host 10.10.1.9\n");
  expect_out("port show", "");
  // vm1p is an ordinary device again: it can be a port of another VPC.
  ok("port add vm1p vm 10.0.2.7 vpc 6774 lladdr 52:54:00:00:00:07");
  expect_out("port show", "vm1p vm 10.0.2.7 vpc 6774 lladdr 52:54:00:00:00:07\n");
}

struct Failure {
  std::string line;
  std::string err;
  int status;
};

TEST_F(VpcCmd, UsageErrorsChangeNothing) {
  configure();
  const std::string before = snapshot();
  const std::string more = "Command line is not complete: ";
  const std::vector<Failure> failures = {
      {"", more + "an object expected. Try \"vpc help\".\n", 255},
      {"-x show", "Option \"-x\" is unknown, try \"vpc help\".\n", 255},
      {"frob", "Object \"frob\" is unknown, try \"vpc help\".\n", 255},
      {"route frob 10.0.1.1", "Command \"frob\" is unknown, try \"vpc help\".\n", 255},
      {"subnet-route change 10.0.0.0/8 peer 1 vpc 2",
       "Command \"change\" is unknown, try \"vpc help\".\n", 255},
      {"port frob vm1p", "Command \"frob\" is unknown, try \"vpc help\".\n", 255},
      {"route add", more + "an address expected. Try \"vpc help\".\n", 255},
      {"route add 10.0.1.5 vpc 6289", more + "\"host\" is required. Try \"vpc help\".\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9", more + "\"vpc\" is required. Try \"vpc help\".\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9 vpc", more + "a value expected. Try \"vpc help\".\n",
       255},
      {"route add 10.0.1.256 host 10.10.1.9 vpc 6289",
       "Error: address \"10.0.1.256\" is invalid: an IPv4 address expected.\n", 255},
      {"route add 10.0.1.5 host 10.10.1 vpc 6289",
       "Error: host \"10.10.1\" is invalid: an IPv4 address expected.\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9 vpc 6289 vpc 1",
       "Error: duplicate \"vpc\": only one is allowed.\n", 255},
      {"route add 10.0.1.5 via 10.10.1.9 vpc 6289",
       "Error: argument \"via\" is wrong: unknown keyword\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9 vpc 4294967296",
       "Error: vpc id \"4294967296\" is invalid: 0..4294967295 expected.\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9 vpc -1",
       "Error: vpc id \"-1\" is invalid: 0..4294967295 expected.\n", 255},
      {"route add 10.0.1.5 host 10.10.1.9 vpc 12x",
       "Error: vpc id \"12x\" is invalid: 0..4294967295 expected.\n", 255},
      {"neigh add 10.0.1.5 lladdr 52:54:00:00:00:zz vpc 6289",
       "Error: lladdr \"52:54:00:00:00:zz\" is invalid.\n", 255},
      {"neigh add 10.0.1.5 vpc 6289", more + "\"lladdr\" is required. Try \"vpc help\".\n", 255},
      {"neigh del 10.0.1.141", more + "\"vpc\" is required. Try \"vpc help\".\n", 255},
      {"add", more + "a vpc id expected. Try \"vpc help\".\n", 255},
      {"add x1", "Error: vpc id \"x1\" is invalid: 0..4294967295 expected.\n", 255},
      {"add 5 subnet 10.0.0.0", "Error: prefix \"10.0.0.0\" is invalid: A.B.C.D/LEN expected.\n",
       255},
      {"add 5 subnet 10.0.0.0/33",
       "Error: prefix \"10.0.0.0/33\" is invalid: A.B.C.D/LEN "
       "expected.\n",
       255},
      {"add 5 net 10.0.0.0/8", "Error: argument \"net\" is wrong: subnet expected\n", 255},
      {"add 5 subnet", more + "a prefix expected. Try \"vpc help\".\n", 255},
      {"del 6289 now", "Error: \"now\" is garbage.\n", 255},
      {"local 10.10.1.9 extra", "Error: either \"local\" is duplicate, or \"extra\" is garbage.\n",
       255},
      {"local 10.10.1", "Error: address \"10.10.1\" is invalid: an IPv4 address expected.\n", 255},
      {"set", more + "grace or mac expected. Try \"vpc help\".\n", 255},
      {"set grace 2h",
       "Error: grace \"2h\" is invalid: a duration such as 2s, 500ms, 250us expected.\n", 255},
      {"set grace 3601s",
       "Error: grace \"3601s\" is invalid: a duration such as 2s, 500ms, 250us expected.\n", 255},
      {"set grace ms",
       "Error: grace \"ms\" is invalid: a duration such as 2s, 500ms, 250us expected.\n", 255},
      {"set grace 1s mac zz", "Error: lladdr \"zz\" is invalid.\n", 255},
      {"set color red", "Error: argument \"color\" is wrong: unknown keyword\n", 255},
      {"subnet-route add 10.0.9.0/24 peer 6774", more + "\"vpc\" is required. Try \"vpc help\".\n",
       255},
      {"subnet-route add 10.0.9.0/24 vpc 6289", more + "\"peer\" is required. Try \"vpc help\".\n",
       255},
      {"subnet-route add 10.0.9.0 peer 6774 vpc 6289",
       "Error: prefix \"10.0.9.0\" is invalid: A.B.C.D/LEN expected.\n", 255},
      {"port add nosuch vm 10.0.1.5 vpc 6289", "Cannot find device \"nosuch\"\n", 255},
      {"port add vm2p vpc 6289", more + "\"vm\" is required. Try \"vpc help\".\n", 255},
      {"port del vm1p now", "Error: \"now\" is garbage.\n", 255},
      {"route show vpc x", "Error: vpc id \"x\" is invalid: 0..4294967295 expected.\n", 255},
      {"show host 10.10.1.9", "Error: argument \"host\" is wrong: unknown keyword\n", 255},
  };
  for (const Failure& f : failures) {
    SCOPED_TRACE("vpc " + f.line);
    CmdOutput o = vpc(f.line);
    EXPECT_EQ(o.status, f.status);
    EXPECT_EQ(o.err, f.err);
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(snapshot(), before);
  }
}

TEST_F(VpcCmd, RefusedChangesChangeNothing) {
  configure();
  Shell shell(node_);
  ASSERT_EQ(shell.run("ip link add vm3p type veth peer name vm3q").status, 0);
  const std::string before = snapshot();
  const std::vector<Failure> failures = {
      {"add 6289", "Error: vpc 6289 exists.\n", 2},
      {"add 5 subnet 10.0.0.0/16 subnet 10.0.1.0/24",
       "Error: subnets 10.0.0.0/16 and 10.0.1.0/24 overlap.\n", 2},
      {"add 5 subnet 10.0.1.1/24", "Error: subnet 10.0.1.1/24 has host bits set.\n", 2},
      {"del 5", "Error: no vpc 5.\n", 2},
      {"route add 10.0.1.141 host 10.10.1.10 vpc 6289",
       "Error: route_table has 10.0.1.141 in vpc 6289.\n", 2},
      {"route change 10.0.1.143 host 10.10.1.10 vpc 6289",
       "Error: route_table has no 10.0.1.143 in vpc 6289.\n", 2},
      {"route add 224.0.0.1 host 10.10.1.10 vpc 6289", "Error: 224.0.0.1 is not a VM address.\n",
       2},
      {"route add 10.0.1.143 host 0.0.0.0 vpc 6289", "Error: 0.0.0.0 is not a host address.\n", 2},
      {"route del 10.0.1.141 host 10.10.1.10 vpc 6289",
       "Error: route_table has no 10.0.1.141 host 10.10.1.10 in vpc 6289.\n", 2},
      {"route del 10.0.1.141 vpc 6774", "Error: route_table has no 10.0.1.141 in vpc 6774.\n", 2},
      {"neigh add 10.0.1.141 lladdr 52:54:00:00:00:09 vpc 6289",
       "Error: neigh_table has 10.0.1.141 in vpc 6289.\n", 2},
      {"neigh change 10.0.1.142 lladdr 52:54:00:00:00:09 vpc 6289",
       "Error: neigh_table has no 10.0.1.142 in vpc 6289.\n", 2},
      {"neigh replace 10.0.1.142 lladdr 01:00:5e:00:00:01 vpc 6289",
       "Error: 01:00:5e:00:00:01 is not a unicast MAC.\n", 2},
      {"neigh del 172.16.0.48 vpc 6774", "Error: neigh_table has no 172.16.0.48 in vpc 6774.\n", 2},
      {"subnet-route add 10.0.0.0/8 peer 6774 vpc 6289",
       "Error: 10.0.0.0/8 overlaps subnet 10.0.1.0/24 of vpc 6289: peered subnets must not "
       "overlap.\n",
       2},
      {"subnet-route add 172.16.0.0/24 peer 7 vpc 6289",
       "Error: vpc 6289 has a subnet_route for 172.16.0.0/24 (to peer vpc 6774).\n", 2},
      {"subnet-route add 192.168.0.0/16 peer 6289 vpc 6289",
       "Error: vpc 6289 cannot peer with itself.\n", 2},
      {"subnet-route add 192.168.0.1/16 peer 6774 vpc 6289",
       "Error: subnet 192.168.0.1/16 has host bits set.\n", 2},
      {"subnet-route del 192.168.0.0/16 vpc 6289",
       "Error: vpc 6289 has no subnet_route for 192.168.0.0/16.\n", 2},
      {"port add vm2p vm 10.0.1.142 vpc 6289 lladdr 52:54:00:00:00:03",
       "Error: vm2p is a port of vm 172.16.0.48 already.\n", 2},
      {"port add vm3p vm 10.0.1.141 vpc 6289",
       "Error: vm 10.0.1.141 of vpc 6289 has port vm1p already.\n", 2},
      {"port add vm3p vm 10.0.1.142 vpc 6289",
       "Error: no lladdr given and neigh_table has no 10.0.1.142 in vpc 6289.\n", 2},
      {"port add vm3p vm 10.0.1.142 vpc 6289 lladdr 00:00:00:00:00:00",
       "Error: 00:00:00:00:00:00 is not a unicast MAC.\n", 2},
      {"port add lo vm 10.0.1.142 vpc 6289 lladdr 52:54:00:00:00:03",
       "Error: lo cannot be a VM port: an Ethernet device (veth, TAP) is.\n", 2},
      {"port add eth0 vm 10.0.1.142 vpc 6289 lladdr 52:54:00:00:00:03",
       "Error: eth0 has IPv4 addresses: a VM port belongs to the vSwitch, not to the host's "
       "stack.\n",
       2},
      {"port del vm3p", "Error: vm3p is not a vSwitch port.\n", 2},
      {"local 224.0.0.1", "Error: 224.0.0.1 cannot be the vSwitch's address.\n", 2},
      {"set mac 01:00:00:00:00:01", "Error: 01:00:00:00:00:01 is not a unicast MAC.\n", 2},
      // The grace is not applied when the MAC is refused: the command is applied whole.
      {"set grace 9s mac 01:00:00:00:00:01", "Error: 01:00:00:00:00:01 is not a unicast MAC.\n", 2},
  };
  for (const Failure& f : failures) {
    SCOPED_TRACE("vpc " + f.line);
    CmdOutput o = vpc(f.line);
    EXPECT_EQ(o.status, f.status);
    EXPECT_EQ(o.err, f.err);
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(snapshot(), before);
  }
}

TEST_F(VpcCmd, Help) {
  CmdOutput help = vpc("help");
  EXPECT_EQ(help.status, 0);
  EXPECT_EQ(help.out.rfind("Usage: vpc [ -j ] [ -p ] [ -s ] OBJECT COMMAND\n", 0), 0u);
  EXPECT_NE(help.out.find("       vpc subnet-route add PREFIX peer ID vpc ID\n"),
            std::string::npos);
  EXPECT_EQ(vpc("-h").out, help.out);
  EXPECT_EQ(vpc("-j -h").out, help.out);
  // Through the shell as well.
  Shell shell(node_);
  EXPECT_EQ(shell.run("vpc help").out, help.out);
  EXPECT_EQ(shell.run("vpc add 6289 subnet 10.0.1.0/24 && vpc show").out,
            "vswitch local none mac ee:ff:ff:ff:ff:ff grace 2s\nvpc 6289 subnets 10.0.1.0/24\n");
}

// What `show` prints can be typed back: each subnet-route line, turned into a `del`, deletes it.
TEST_F(VpcCmd, SubnetRouteShowReadsBack) {
  configure();
  ok("subnet-route add 172.16.1.5/32 peer 6774 vpc 6289");
  std::string shown = vpc("subnet-route show vpc 6289").out;
  std::istringstream lines(shown);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream w(line);
    std::string prefix, peer_kw, peer, vpc_kw, id;
    w >> prefix >> peer_kw >> peer >> vpc_kw >> id;
    SCOPED_TRACE(line);
    EXPECT_EQ(vpc("subnet-route del " + prefix + " vpc " + id).status, 0);
  }
  EXPECT_EQ(vpc("subnet-route show vpc 6289").out, "");
}

// `subnet-route del PREFIX peer ID vpc ID` accepts `peer`; like `route del ADDR host H`, a
// given peer that does not match must not delete.
TEST_F(VpcCmd, SubnetRouteDelChecksPeer) {
  configure();
  CmdOutput o = vpc("subnet-route del 172.16.0.0/24 peer 1 vpc 6289");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(vpc("subnet-route show vpc 6289").out,
            "10.0.2.0/24 peer 6774 vpc 6289\n172.16.0.0/24 peer 6774 vpc 6289\n");
  ok("subnet-route del 172.16.0.0/24 peer 6774 vpc 6289");
}

TEST_F(VpcCmd, DelOfReservedKeyChangesNothing) {
  configure();
  ok("route add 10.0.1.5 host 10.10.1.9 vpc 4294967295");
  const std::string before = snapshot();
  CmdOutput o = vpc("neigh del 255.255.255.255 vpc 4294967295");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: neigh_table has no 255.255.255.255 in vpc 4294967295.\n");
  o = vpc("route del 255.255.255.255 vpc 4294967295");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: route_table has no 255.255.255.255 in vpc 4294967295.\n");
  EXPECT_EQ(snapshot(), before);
}

// A port follows its device: a rename shows the new name, a deleted device is no port.
TEST_F(VpcCmd, PortFollowsItsDevice) {
  configure();
  Shell shell(node_);
  ASSERT_EQ(shell.run("ip link add vm3p type veth peer name vm3q").status, 0);
  ok("port add vm3p vm 10.0.1.7 vpc 6289 lladdr 52:54:00:00:00:07");
  ASSERT_EQ(shell.run("ip link del vm3p").status, 0);
  expect_out("port show vpc 6289", "vm1p vm 10.0.1.141 vpc 6289 lladdr 52:54:00:00:00:01\n");
  // Deleting vm3p took its peer vm3q along; 10.0.1.7 may have another port now.
  EXPECT_EQ(node_.device_by_name("vm3q"), nullptr);
  ASSERT_TRUE(node_.link_add_external("vm4p").ok());
  ok("port add vm4p vm 10.0.1.7 vpc 6289 lladdr 52:54:00:00:00:07");
}

TEST_F(VpcCmd, PortShowsRenamedDevice) {
  configure();
  Shell shell(node_);
  // Linux renames only a device that is down.
  ASSERT_EQ(shell.run("ip link set vm1p down").status, 0);
  ASSERT_EQ(shell.run("ip link set vm1p name eth9").status, 0);
  expect_out("port show vpc 6289", "eth9 vm 10.0.1.141 vpc 6289 lladdr 52:54:00:00:00:01\n");
}

}  // namespace
}  // namespace vnet::cmd
