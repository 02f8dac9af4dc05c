// Seed 003's IPVS lines in a node's shell: ipvsadm itself, the init script's save into
// /etc/sysconfig/ipvsadm, ipvsadm.service restoring it, names from /etc/hosts, systemd's
// refusal of the seed's `systemctl stopfirewalld`, and the module the first ipvsadm loads.
#include <gtest/gtest.h>

#include "cmd/fs.h"
#include "cmd/shell.h"

namespace vnet::cmd {
namespace {

class IpvsadmShellTest : public ::testing::Test {
 protected:
  CmdOutput run(const std::string& line) { return shell_.run(line); }
  stack::Node node_;
  Shell shell_{node_};
};

TEST_F(IpvsadmShellTest, SeedLinesSaveAndRestore) {
  EXPECT_FALSE(node_.module_loaded("ip_vs"));
  EXPECT_EQ(run("ipvsadm -C").status, 0);
  EXPECT_TRUE(node_.module_loaded("ip_vs"));
  EXPECT_EQ(run("ipvsadm -A -t 192.168.73.120:80 -s rr").status, 0);
  EXPECT_EQ(run("ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110:80 -i").status, 0);
  EXPECT_EQ(run("ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.111:80 -i").status, 0);
  CmdOutput save = run("/etc/init.d/ipvsadm save");
  EXPECT_EQ(save.out, "Saving IPVS table to /etc/sysconfig/ipvsadm: [  OK  ]\n");
  std::string rules =
      "-A -t 192.168.73.120:80 -s rr\n"
      "-a -t 192.168.73.120:80 -r 192.168.73.110:80 -i -w 1 --tun-type ipip\n"
      "-a -t 192.168.73.120:80 -r 192.168.73.111:80 -i -w 1 --tun-type ipip\n";
  EXPECT_EQ(read_file(node_, "/etc/sysconfig/ipvsadm").value_or(""), rules);
  // The rules are already in the table: ipvsadm-restore refuses each line, so the unit fails
  // as it would on the seed's host.
  CmdOutput start = run("systemctl start ipvsadm");
  EXPECT_EQ(start.status, 1);
  EXPECT_NE(start.err.find("Job for ipvsadm.service failed"), std::string::npos);
  // After a clear it restores them.
  EXPECT_EQ(run("ipvsadm -C").status, 0);
  EXPECT_EQ(run("systemctl start ipvsadm").status, 0);
  EXPECT_EQ(run("ipvsadm-save -n").out, rules);
  EXPECT_EQ(run("ipvsadm -S -n | grep -c tun-type").out, "2\n");
  EXPECT_EQ(run("ipvsadm-restore < /etc/sysconfig/ipvsadm").status, 255);
}

TEST_F(IpvsadmShellTest, NamesFromEtcHostsAndSystemctlTypos) {
  run("echo '192.168.73.110 web1' >> /etc/hosts");
  EXPECT_EQ(run("ipvsadm -A -t 192.168.73.120:http -s wrr").status, 0);
  EXPECT_EQ(run("ipvsadm -a -t 192.168.73.120:80 -r web1 -g -w 3").status, 0);
  CmdOutput l = run("ipvsadm -L");
  EXPECT_NE(l.out.find("  -> web1:http                    Route   3      0          0"),
            std::string::npos)
      << l.out;
  CmdOutput typo = run("systemctl stopfirewalld");
  EXPECT_EQ(typo.err, "Unknown command verb stopfirewalld.\n");
  EXPECT_EQ(typo.status, 1);
  EXPECT_EQ(run("systemctl stop firewalld").status, 0);
}

}  // namespace
}  // namespace vnet::cmd
