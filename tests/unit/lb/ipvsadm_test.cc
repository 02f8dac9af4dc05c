// ipvsadm 1.31's listings and messages, pinned.  Each expected text was written from the
// printf formats in ipvsadm-1.31/ipvsadm.c (print_title, print_service_entry, list_timeout,
// print_largenum) and the messages of fail(), generic_opt_check() and libipvs's
// ipvs_strerror(); this machine's kernel has no ip_vs module to run the real tool against.
#include <gtest/gtest.h>

#include <sstream>

#include "lb/ipvsadm.h"

namespace vnet::lb {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

class IpvsadmTest : public ::testing::Test {
 protected:
  IpvsadmResult run(const std::string& line, const std::string& input = {}) {
    return run_ipvsadm(table_, words(line), input, names_);
  }
  void ok(const std::string& line) {
    IpvsadmResult r = run(line);
    ASSERT_EQ(r.status, 0) << line << "\n" << r.err;
    ASSERT_EQ(r.err, "") << line;
  }
  void seed003() {
    ok("ipvsadm -C");
    ok("ipvsadm -A -t 192.168.73.120:80 -s rr");
    ok("ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110:80 -i");
    ok("ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.111:80 -i");
  }
  IpvsTable table_;
  IpvsadmNames names_;
};

TEST_F(IpvsadmTest, Seed003ListNumeric) {
  seed003();
  IpvsadmResult r = run("ipvsadm -L -n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "TCP  192.168.73.120:80 rr\n"
            "  -> 192.168.73.110:80            Tunnel  1      0          0         \n"
            "  -> 192.168.73.111:80            Tunnel  1      0          0         \n");
  // Without -n the port is named from /etc/services.
  EXPECT_EQ(run("ipvsadm -L").out.substr(0, 200).find("TCP  192.168.73.120:http rr\n") !=
                std::string::npos,
            true);
  // No arguments lists too, like -L.
  EXPECT_EQ(run("ipvsadm").out, run("ipvsadm -l").out);
}

TEST_F(IpvsadmTest, SaveAndRestore) {
  seed003();
  ok("ipvsadm -A -u 10.0.0.1:53 -s sh -b sh-port,sh-fallback -p 600 -M 255.255.255.0");
  ok("ipvsadm -a -u 10.0.0.1:53 -r 10.0.1.1:5353 -m -w 3");
  ok("ipvsadm -A -f 7 -s mh -b mh-port");
  ok("ipvsadm -a -f 7 -r 10.0.2.1 -i --tun-type gue --tun-port 6080 --tun-csum");
  std::string saved = run("ipvsadm -S -n").out;
  EXPECT_EQ(saved,
            "-A -t 192.168.73.120:80 -s rr\n"
            "-a -t 192.168.73.120:80 -r 192.168.73.110:80 -i -w 1 --tun-type ipip\n"
            "-a -t 192.168.73.120:80 -r 192.168.73.111:80 -i -w 1 --tun-type ipip\n"
            "-A -u 10.0.0.1:53 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port\n"
            "-a -u 10.0.0.1:53 -r 10.0.1.1:5353 -m -w 3\n"
            "-A -f 7 -s mh -b mh-port\n"
            "-a -f 7 -r 10.0.2.1:0 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n");
  ok("ipvsadm -C");
  EXPECT_EQ(run("ipvsadm -S -n").out, "");
  IpvsadmResult r = run("ipvsadm -R", saved);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(run("ipvsadm -S -n").out, saved);
  // Listing forms of the same table.
  EXPECT_EQ(run("ipvsadm -L -n -u 10.0.0.1:53").out,
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
            "UDP  10.0.0.1:53 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0\n"
            "  -> 10.0.1.1:5353                Masq    3      0          0         \n");
  EXPECT_EQ(
      run("ipvsadm -L -n -f 7 --tun-info").out,
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n"
      "FWM  7 mh (mh-port)\n"
      "  -> 10.0.2.1:0                   Tunnel  gue:6080:+c   1      0          0         \n");
}

TEST_F(IpvsadmTest, StatsRateThresholdsPersistentConnTimeout) {
  seed003();
  ok("ipvsadm -e -t 192.168.73.120:80 -r 192.168.73.110 -i -x 100 -y 50 -w 2");
  EXPECT_EQ(run("ipvsadm -L -n --stats").out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.73.120:80                   0        0        0        0        0\n"
            "  -> 192.168.73.110:80                   0        0        0        0        0\n"
            "  -> 192.168.73.111:80                   0        0        0        0        0\n");
  EXPECT_EQ(run("ipvsadm -L -n --rate").out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.73.120:80                   0        0        0        0        0\n"
            "  -> 192.168.73.110:80                   0        0        0        0        0\n"
            "  -> 192.168.73.111:80                   0        0        0        0        0\n");
  EXPECT_EQ(run("ipvsadm -L -n --thresholds").out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.73.120:80 rr\n"
            "  -> 192.168.73.110:80            100        50         0          0         \n"
            "  -> 192.168.73.111:80            0          0          0          0         \n");
  EXPECT_EQ(run("ipvsadm -L -n --persistent-conn").out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n"
            "  -> RemoteAddress:Port\n"
            "TCP  192.168.73.120:80 rr\n"
            "  -> 192.168.73.110:80            2         0           0          0         \n"
            "  -> 192.168.73.111:80            1         0           0          0         \n");
  EXPECT_EQ(run("ipvsadm -L --timeout").out, "Timeout (tcp tcpfin udp): 900 120 300\n");
  ok("ipvsadm --set 60 30 0");
  EXPECT_EQ(run("ipvsadm -L --timeout").out, "Timeout (tcp tcpfin udp): 60 30 300\n");
  EXPECT_EQ(run("ipvsadm -L -n -c").out,
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n");
}

TEST_F(IpvsadmTest, LargeNumbersAndExact) {
  seed003();
  Service* s = table_.find({0, kProtoTcp, *net::Ipv4Addr::parse("192.168.73.120"), 80});
  s->stats.conns = 123456789;         // 123456K
  s->stats.inpkts = 12345678901;      // 12345M
  s->stats.outpkts = 99999999;        // below 100 million: exact
  s->stats.inbytes = 12345678901234;  // 12345G
  s->stats.outbytes = 123456789012345678ULL;
  std::string out = run("ipvsadm -L -n --stats -t 192.168.73.120:80").out;
  EXPECT_NE(
      out.find("TCP  192.168.73.120:80             123456K   12345M 99999999   12345G  123456T\n"),
      std::string::npos)
      << out;
  out = run("ipvsadm -L -n --stats --exact -t 192.168.73.120:80").out;
  EXPECT_NE(out.find("TCP  192.168.73.120:80            123456789 12345678901 99999999 "
                     "12345678901234 123456789012345678\n"),
            std::string::npos)
      << out;
}

struct ErrorCase {
  const char* line;
  const char* err;
  int status;
};

TEST_F(IpvsadmTest, MessagesAndExitCodes) {
  seed003();
  const ErrorCase cases[] = {
      {"ipvsadm -A -t 192.168.73.120:80 -s rr", "Service already exists\n", 255},
      {"ipvsadm -A -t 192.168.73.121:80 -s xyz", "Scheduler or persistence engine not found\n",
       255},
      {"ipvsadm -E -t 192.168.73.121:80", "No such service\n", 255},
      {"ipvsadm -D -t 192.168.73.121:80", "No such service\n", 255},
      {"ipvsadm -a -t 192.168.73.121:80 -r 10.0.0.1", "Service not defined\n", 255},
      {"ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110 -i", "Destination already exists\n", 255},
      {"ipvsadm -d -t 192.168.73.120:80 -r 10.0.0.9", "No such destination\n", 255},
      {"ipvsadm -e -t 192.168.73.120:80 -r 10.0.0.9", "No such destination\n", 255},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.9 -x 5 -y 10", "Numerical result out of range\n",
       255},
      {"ipvsadm -L -n -t 192.168.73.121:80", "No such service\n", 1},
      {"ipvsadm -A -t 192.168.73.122", "Zero port specified for non-persistent service\n", 2},
      {"ipvsadm -A -t 192.168.73.122:80 -o",
       "One-Packet Scheduling is only for UDP virtual "
       "services\n",
       2},
      {"ipvsadm -A",
       "You need to supply the 'service-address' option for the 'add-service' "
       "command\n",
       2},
      {"ipvsadm -A -t 1.2.3.4:80 -r 10.0.0.1",
       "Illegal 'real-server' option with the 'add-service' command\n", 2},
      {"ipvsadm -L -c --timeout",
       "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n", 2},
      {"ipvsadm -L -c --stats", "options conflicts in the list command\n", 2},
      {"ipvsadm -A -t 1.2.3.4:80 -A", "invalid option `-A'\n", 2},
      {"ipvsadm -A -t 1.2.3.4:80 -s rr -s wrr", "multiple 'scheduler' options specified\n", 2},
      {"ipvsadm -A -t nohost:80", "illegal virtual server address[:port] specified\n", 2},
      {"ipvsadm -A -t 1.2.3.4:nosuchport", "illegal virtual server address[:port] specified\n", 2},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.1 -w 70000", "illegal weight specified\n", 2},
      {"ipvsadm -A -t 1.2.3.4:80 -p 0", "invalid timeout value `0' specified\n", 2},
      {"ipvsadm -A -f 0", "invalid fwmark value `0' specified\n", 2},
      {"ipvsadm -A -t 1.2.3.4:80 -s rr -b sh-port", "incompatible scheduler flag `sh-port'\n", 2},
      {"ipvsadm -A -t 1.2.3.4:80 -b foo", "invalid scheduler flag `foo'\n", 2},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.1 -g --tun-type gre",
       "Tunnel options conflict with forward method\n", 2},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.1 -i --tun-type gue",
       "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.1 -i --tun-type gre --tun-port 5",
       "Illegal 'tun-port' option with the 'gre' tunnel type\n", 2},
      {"ipvsadm -a -t 192.168.73.120:80 -r 10.0.0.1 -i --tun-type gre --tun-csum --tun-nocsum",
       "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type\n",
       2},
      {"ipvsadm --set 1 2", "--set option requires 3 timeout values\n", 2},
      {"ipvsadm -C extra", "unexpected argument extra\n", 2},
      {"ipvsadm -n", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
      {"ipvsadm --bogus", "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255},
      {"ipvsadm -L --bogus", "--bogus: unknown option\n", 255},
      {"ipvsadm -A -t", "-t: missing argument\n", 255},
      {"ipvsadm --start-daemon sideways", "illegal start-daemon parameter specified\n", 2},
  };
  std::string before = run("ipvsadm -S -n").out;
  for (const ErrorCase& c : cases) {
    IpvsadmResult r = run(c.line);
    EXPECT_EQ(r.err, c.err) << c.line;
    EXPECT_EQ(r.status, c.status) << c.line;
    EXPECT_EQ(r.out, "") << c.line;
  }
  // None of them changed the table.
  EXPECT_EQ(run("ipvsadm -S -n").out, before);
}

TEST_F(IpvsadmTest, HelpAndVersion) {
  IpvsadmResult v = run("ipvsadm -v");
  EXPECT_EQ(v.out, "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n");
  IpvsadmResult h = run("ipvsadm -h");
  EXPECT_EQ(h.status, 0);
  EXPECT_EQ(h.out.rfind("ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\nUsage:\n"
                        "  ipvsadm -A|E virtual-service [-s scheduler]",
                        0),
            0U);
  EXPECT_NE(h.out.find("  --mcast-ttl ttl                     Multicast TTL (default=1)\n"),
            std::string::npos);
}

TEST_F(IpvsadmTest, RestoreStopsAtTheFirstBadLineAsIpvsadmExits) {
  IpvsadmResult r = run("ipvsadm -R",
                        "-A -t 10.0.0.1:80 -s rr\n"
                        "# a comment\n"
                        "\n"
                        "-a -t 10.0.0.1:80 -r 10.0.0.2 -w 99999\n"
                        "-A -t 10.0.0.3:80\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "illegal weight specified\n");
  // fail() exits: the first line stays applied, the last never ran.
  EXPECT_EQ(run("ipvsadm -S -n").out, "-A -t 10.0.0.1:80 -s rr\n");
}

TEST_F(IpvsadmTest, RestoreGoesOnAfterARefusedLine) {
  seed003();
  std::string saved = run("ipvsadm -S -n").out;
  // Restoring onto the same rules: every line is refused, and the last one's status is the
  // exit status (what `systemctl start ipvsadm` meets after `ipvsadm save` in seed 003).
  IpvsadmResult r = run("ipvsadm -R", saved + "-A -t 10.9.9.9:80\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err,
            "Service already exists\nDestination already exists\nDestination already exists\n");
  r = run("ipvsadm -R", saved);
  EXPECT_EQ(r.status, 255);
}

TEST_F(IpvsadmTest, QuiesceAndRemoveChangeTheSchedule) {
  seed003();
  Service* s = table_.find({0, kProtoTcp, *net::Ipv4Addr::parse("192.168.73.120"), 80});
  auto next = [&] { return s->scheduler->schedule(s->dests, {})->addr.to_string(); };
  EXPECT_EQ(next(), "192.168.73.111");
  EXPECT_EQ(next(), "192.168.73.110");
  ok("ipvsadm -e -t 192.168.73.120:80 -r 192.168.73.111 -i -w 0");
  EXPECT_EQ(next(), "192.168.73.110");
  EXPECT_EQ(next(), "192.168.73.110");
  ok("ipvsadm -d -t 192.168.73.120:80 -r 192.168.73.110");
  EXPECT_EQ(s->scheduler->schedule(s->dests, {}), nullptr);
}

}  // namespace
}  // namespace vnet::lb
