// `iptables -t nat`: transcripts captured from iptables 1.8.9 (nf_tables) replayed byte for byte
// (golden/iptables_session*.txt), plus vnet's own behaviour where it differs on purpose.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nf_test_util.h"

namespace vnet::nf::test {
namespace {

struct Step {
  int line = 0;
  std::string command;
  std::string out;
  std::string err;
  int status = 0;
  bool compare_out = true;
};

std::vector<Step> load(const std::string& name) {
  std::ifstream in(std::string(VNET_SOURCE_DIR) + "/tests/unit/nf/golden/" + name);
  EXPECT_TRUE(in) << name;
  std::vector<Step> steps;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("$ ", 0) == 0) {
      steps.push_back({n, line.substr(2), "", "", 0});
    } else if (line[0] == '>') {
      steps.back().out += line.substr(1) + "\n";
    } else if (line[0] == '!') {
      steps.back().err += line.substr(1) + "\n";
    } else if (line[0] == '~') {
      steps.back().compare_out = false;
    } else if (line[0] == '?') {
      steps.back().status = std::stoi(line.substr(2));
    }
  }
  return steps;
}

void replay(const std::string& name) {
  Netfilter nf;
  for (const Step& step : load(name)) {
    CmdResult r = run_iptables(nf, split(step.command), 0);
    if (step.compare_out) {
      EXPECT_EQ(r.out, step.out) << name << ":" << step.line << ": " << step.command;
    }
    EXPECT_EQ(r.err, step.err) << name << ":" << step.line << ": " << step.command;
    EXPECT_EQ(r.status, step.status) << name << ":" << step.line << ": " << step.command;
  }
}

TEST(Iptables, CapturedSession1) {
  replay("iptables_session1.txt");
}

TEST(Iptables, CapturedSession2) {
  replay("iptables_session2.txt");
}

TEST(Iptables, CountersWithSuffixes) {
  // Captured with `-c` counters on iptables 1.8.9.
  Netfilter nf;
  for (const char* cmd :
       {"iptables -t nat -A POSTROUTING -o vrs -j MASQUERADE -c 4 202",
        "iptables -t nat -A POSTROUTING ! -o veth1 -j ACCEPT -c 123456 99999999",
        "iptables -t nat -A POSTROUTING ! -o veth1 -j ACCEPT -c 99999 100000",
        "iptables -t nat -A POSTROUTING -j ACCEPT -c 12345678901 123456789012345"}) {
    ASSERT_EQ(run_iptables(nf, split(cmd), 0).status, 0) << cmd;
  }
  EXPECT_EQ(
      run_iptables(nf, split("iptables -t nat -L POSTROUTING -n -v"), 0).out,
      "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)\n"
      " pkts bytes target     prot opt in     out     source               destination         \n"
      "    4   202 MASQUERADE  0    --  *      vrs     0.0.0.0/0            0.0.0.0/0           \n"
      " 123K  100M ACCEPT     0    --  *      !veth1  0.0.0.0/0            0.0.0.0/0           \n"
      "99999  100K ACCEPT     0    --  *      !veth1  0.0.0.0/0            0.0.0.0/0           \n"
      "  12G  123T ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n");
  EXPECT_EQ(run_iptables(nf, split("iptables -t nat -L POSTROUTING -n -v -x"), 0).out,
            "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)\n"
            "    pkts      bytes target     prot opt in     out     source               "
            "destination         \n"
            "       4      202 MASQUERADE  0    --  *      vrs     0.0.0.0/0            0.0.0.0/0  "
            "         \n"
            "  123456 99999999 ACCEPT     0    --  *      !veth1  0.0.0.0/0            0.0.0.0/0   "
            "        \n"
            "   99999   100000 ACCEPT     0    --  *      !veth1  0.0.0.0/0            0.0.0.0/0   "
            "        \n"
            "12345678901 123456789012345 ACCEPT     0    --  *      *       0.0.0.0/0            "
            "0.0.0.0/0           \n");
}

TEST(Iptables, TrafficCountsFirstPacketsOnly) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  Packet p1 = echo("10.0.0.2", "198.51.100.7", true, 1, 1);  // 36 bytes
  Packet p2 = echo("10.0.0.2", "198.51.100.7", true, 1, 2);
  Packet p3 = udp("10.0.0.2", "198.51.100.7", 1, 2);  // 32 bytes
  ASSERT_TRUE(r.in_to_out(p1, 0));
  ASSERT_TRUE(r.in_to_out(p2, 0));
  ASSERT_TRUE(r.in_to_out(p3, 0));
  EXPECT_EQ(
      r.iptables("iptables -t nat -L POSTROUTING -n -v"),
      "Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)\n"
      " pkts bytes target     prot opt in     out     source               destination         \n"
      "    2    68 MASQUERADE  0    --  *      eth1    0.0.0.0/0            0.0.0.0/0           "
      "\n");
}

TEST(Iptables, OnlyTheNatTable) {
  Netfilter nf;
  CmdResult r = run_iptables(nf, split("iptables -L"), 0);
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.err,
            "iptables v1.8.9 (nf_tables): vnet supports only the nat table (use -t nat); table "
            "`filter' is not implemented\n");
}

TEST(Iptables, FailedCommandsChangeNothing) {
  Netfilter nf;
  auto save = [&] { return run_iptables(nf, split("iptables -t nat -v -S"), 0).out; };
  run_iptables(nf, split("iptables -t nat -N MY"), 0);
  run_iptables(nf, split("iptables -t nat -A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE"), 0);
  const std::string before = save();
  for (const char* cmd : {
           "iptables -t nat -A POSTROUTING -s 1.1.1.1,300.1.1.1 -j ACCEPT",
           "iptables -t nat -A PREROUTING -s 1.1.1.1,2.2.2.2 -j MASQUERADE",
           "iptables -t nat -A PREROUTING -j MY -j MY",
           "iptables -t nat -A MY -j SNAT --to-source 1.2.3.4",  // fine in MY...
           "iptables -t nat -A PREROUTING -j MY",                // ...so jumping to it fails
           "iptables -t nat -A MY -j MY",
           "iptables -t nat -D POSTROUTING -s 10.0.0.0/8,1.1.1.1 -j MASQUERADE",
           "iptables -t nat -X MY",
           "iptables -t nat -I POSTROUTING 5 -j ACCEPT",
           "iptables -t nat -P POSTROUTING DROP",
       }) {
    run_iptables(nf, split(cmd), 0);
  }
  run_iptables(nf, split("iptables -t nat -D MY 1"), 0);
  EXPECT_EQ(save(), before);
  CmdResult loop = run_iptables(nf, split("iptables -t nat -A MY -j MY"), 0);
  EXPECT_EQ(loop.status, 4);
}

TEST(Iptables, NeverCrashesOnOddInput) {
  Netfilter nf;
  for (const char* cmd :
       {"iptables", "iptables -", "iptables --", "iptables -t", "iptables -t nat -",
        "iptables -t nat -A POSTROUTING -p", "iptables -t nat -LnvZ",
        "iptables -t nat -A POSTROUTING -p tcp --sport", "iptables -t nat -c 1",
        "iptables -t nat -A POSTROUTING -j SNAT --to-source :",
        "iptables -t nat -A POSTROUTING -p tcp -j SNAT --to-source 1.1.1.1:-", "iptables -t nat -E",
        "iptables -t nat -E a", "iptables -t nat -P", "iptables -t nat -S POSTROUTING 0",
        "iptables -t nat -h", "iptables ! -A"}) {
    CmdResult r = run_iptables(nf, split(cmd), 0);
    (void)r;
  }
}

}  // namespace
}  // namespace vnet::nf::test
