// The probes' output, byte for byte, in a small simulated lab with 1 ms links: formats follow
// iputils ping/arping 20221126 and traceroute 2.1.2 as captured from the real tools (see the
// comments); the times are exact because they are virtual.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <variant>

#include "lab/lab_parser.h"
#include "labrun/lab.h"

namespace vnet::labrun {
namespace {

constexpr const char* kLab = R"(
name: probes
topology:
  nodes:
    h1:
      kind: linux
      exec: ["ip addr add 10.0.1.10/24 dev eth0", "ip route add default via 10.0.1.1"]
    r:
      kind: linux
      exec:
        - ip addr add 10.0.1.1/24 dev eth0
        - ip addr add 10.0.2.1/24 dev eth1
        - sysctl -qw net.ipv4.ip_forward=1
        - ip route add unreachable 192.0.2.0/24
        - ip route add prohibit 198.51.100.0/24
    h2:
      kind: linux
      exec: ["ip addr add 10.0.2.20/24 dev eth0", "ip route add default via 10.0.2.1"]
  links:
    - endpoints: ["h1:eth0", "r:eth0"]
      delay: 1ms
    - endpoints: ["r:eth1", "h2:eth0"]
      delay: 1ms
)";

class ProbeOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto spec = lab::parse_lab(kLab, "probes.yaml");
    ASSERT_TRUE(std::holds_alternative<lab::LabSpec>(spec));
    auto deployed = Lab::deploy(std::get<lab::LabSpec>(spec), {});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Lab>>(deployed))
        << std::get<std::string>(deployed);
    lab = std::move(std::get<std::unique_ptr<Lab>>(deployed));
  }
  std::unique_ptr<Lab> lab;
};

TEST_F(ProbeOutputTest, PingAcrossTheRouter) {
  // The first reply waits for two ARP resolutions (2 ms each way) on top of the 4 ms path.
  cmd::CmdOutput o = lab->run("h1", "ping -c 2 -i 0.2 10.0.2.20");
  EXPECT_EQ(o.out,
            "PING 10.0.2.20 (10.0.2.20) 56(84) bytes of data.\n"
            "64 bytes from 10.0.2.20: icmp_seq=1 ttl=63 time=8.00 ms\n"
            "64 bytes from 10.0.2.20: icmp_seq=2 ttl=63 time=4.00 ms\n"
            "\n"
            "--- 10.0.2.20 ping statistics ---\n"
            "2 packets transmitted, 2 received, 0% packet loss, time 200ms\n"
            "rtt min/avg/max/mdev = 4.000/6.000/8.000/2.000 ms\n");
  EXPECT_EQ(o.status, 0);
}

TEST_F(ProbeOutputTest, PingErrorsAndStatistics) {
  // ping -c 1 -t 1 10.0.2.20 on Linux:
  //   From 10.0.1.1 icmp_seq=1 Time to live exceeded ... +1 errors ... and an empty last line.
  cmd::CmdOutput ttl = lab->run("h1", "ping -c 1 -t 1 10.0.2.20");
  EXPECT_EQ(ttl.out,
            "PING 10.0.2.20 (10.0.2.20) 56(84) bytes of data.\n"
            "From 10.0.1.1 icmp_seq=1 Time to live exceeded\n"
            "\n"
            "--- 10.0.2.20 ping statistics ---\n"
            "1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms\n"
            "\n");
  EXPECT_EQ(ttl.status, 1);
  EXPECT_NE(lab->run("h1", "ping -c 1 192.0.2.1")
                .out.find("From 10.0.1.1 icmp_seq=1 Destination Host Unreachable"),
            std::string::npos);
  EXPECT_NE(
      lab->run("h1", "ping -c 1 198.51.100.1").out.find("From 10.0.1.1 icmp_seq=1 Packet filtered"),
      std::string::npos);
}

TEST_F(ProbeOutputTest, PingWithSourceInterface) {
  cmd::CmdOutput o = lab->run("h1", "ping -c 1 -I eth0 10.0.2.20");
  EXPECT_EQ(o.out.substr(0, o.out.find('\n')),
            "PING 10.0.2.20 (10.0.2.20) from 10.0.1.10 eth0: 56(84) bytes of data.");
}

TEST_F(ProbeOutputTest, TracerouteNumeric) {
  // All probes leave together (up to 16 in flight), so every one waits for the same ARP
  // resolutions: 2 ms per hop each way plus 2 ms per resolution.
  cmd::CmdOutput o = lab->run("h1", "traceroute -n 10.0.2.20");
  EXPECT_EQ(o.out,
            "traceroute to 10.0.2.20 (10.0.2.20), 30 hops max, 60 byte packets\n"
            " 1  10.0.1.1  4.000 ms  4.000 ms  4.000 ms\n"
            " 2  10.0.2.20  8.000 ms  8.000 ms  8.000 ms\n");
  // Right after, h2's ICMP rate limit for h1 (six in a burst, one more a second) is spent on the
  // first run's extra probes, so its port-unreachables come back one a second: hops 2-6 time
  // out and the destination answers at hop 7, as a second traceroute does on Linux.
  cmd::CmdOutput again = lab->run("h1", "traceroute -n 10.0.2.20");
  EXPECT_EQ(again.out,
            "traceroute to 10.0.2.20 (10.0.2.20), 30 hops max, 60 byte packets\n"
            " 1  10.0.1.1  2.000 ms  2.000 ms  2.000 ms\n"
            " 2  * * *\n 3  * * *\n 4  * * *\n 5  * * *\n 6  * * *\n"
            " 7  * 10.0.2.20  4.000 ms  4.000 ms\n");
  EXPECT_EQ(o.status, 0);
}

TEST_F(ProbeOutputTest, TracerouteAnnotatesUnreachable) {
  // traceroute -n 192.0.2.1 on Linux with an unreachable route at the first hop:
  //   " 1  10.0.1.1  0.016 ms !H ..."
  cmd::CmdOutput o = lab->run("h1", "traceroute -n -q 1 192.0.2.1");
  EXPECT_NE(o.out.find(" 1  10.0.1.1  4.000 ms !H\n"), std::string::npos) << o.out;
}

TEST_F(ProbeOutputTest, Arping) {
  cmd::CmdOutput o = lab->run("h1", "arping -c 1 -I eth0 10.0.1.1");
  std::string mac = lab->node("r")->device_by_name("eth0")->mac.to_string();
  for (char& c : mac) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(o.out,
            "ARPING 10.0.1.1 from 10.0.1.10 eth0\n"
            "Unicast reply from 10.0.1.1 [" +
                mac +
                "]  2.000ms\n"
                "Sent 1 probes (1 broadcast(s))\n"
                "Received 1 response(s)\n");
  EXPECT_EQ(o.status, 0);
  cmd::CmdOutput none = lab->run("h1", "arping -c 1 -I eth0 10.0.1.99");
  EXPECT_EQ(none.status, 1);
  EXPECT_NE(none.out.find("Received 0 response(s)"), std::string::npos);
}

}  // namespace
}  // namespace vnet::labrun
