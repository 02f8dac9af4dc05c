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

TEST_F(IpvsadmShellTest, ModulesComeAndGo) {
  // modprobe ipip makes tunl0; modprobe -r takes it and every IPIP tunnel with it.
  EXPECT_EQ(run("modprobe ipip").status, 0);
  ASSERT_NE(node_.device_by_name("tunl0"), nullptr);
  EXPECT_EQ(run("ip tunnel add t1 mode ipip remote 192.0.2.2 local 192.0.2.1").status, 0);
  EXPECT_EQ(run("ip addr add 192.168.73.120/24 dev tunl0").status, 0);
  EXPECT_EQ(run("modprobe -r ipip").status, 0);
  EXPECT_EQ(node_.device_by_name("tunl0"), nullptr);
  EXPECT_EQ(node_.device_by_name("t1"), nullptr);
  EXPECT_FALSE(node_.module_loaded("ipip"));
  EXPECT_EQ(run("ip route show").out.find("192.168.73.0/24"), std::string::npos);
  // ip_vs is held by its scheduler modules while a service uses them.
  EXPECT_EQ(run("ipvsadm -A -t 10.0.0.1:80 -s rr").status, 0);
  EXPECT_NE(run("lsmod").out.find("ip_vs                      0  1 ip_vs_rr"), std::string::npos)
      << run("lsmod").out;
  CmdOutput busy = run("modprobe -r ip_vs");
  EXPECT_EQ(busy.status, 1);
  EXPECT_EQ(busy.err, "modprobe: FATAL: Module ip_vs is in use.\n");
  EXPECT_EQ(run("modprobe -r ip_vs_rr").status, 1);
  EXPECT_EQ(run("ipvsadm -C").status, 0);
  EXPECT_EQ(run("modprobe -r ip_vs_rr").status, 0);
  EXPECT_EQ(run("modprobe -r ip_vs").status, 0);
  EXPECT_EQ(node_.ipvs_if_loaded(), nullptr);
  EXPECT_EQ(run("cat /proc/net/ip_vs").status, 1);
}

TEST_F(IpvsadmShellTest, ProcFilesAndSysctls) {
  // /proc/sys/net/ipv4/vs appears with the module.
  EXPECT_NE(run("sysctl net.ipv4.vs.conn_reuse_mode").status, 0);
  EXPECT_EQ(run("ipvsadm -A -t 192.168.73.120:80 -s rr -p 300").status, 0);
  EXPECT_EQ(run("ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110 -i").status, 0);
  EXPECT_EQ(run("sysctl net.ipv4.vs.conn_reuse_mode").out, "net.ipv4.vs.conn_reuse_mode = 1\n");
  EXPECT_EQ(run("echo 1 > /proc/sys/net/ipv4/vs/expire_nodest_conn").status, 0);
  EXPECT_EQ(run("cat /proc/sys/net/ipv4/vs/expire_nodest_conn").out, "1\n");
  EXPECT_EQ(run("sysctl -w net.ipv4.vs.sync_threshold='3 10'").status, 0);
  EXPECT_EQ(run("sysctl -n net.ipv4.vs.sync_threshold").out, "3\t10\n");
  EXPECT_NE(run("sysctl -w net.ipv4.vs.sync_retries=9").status, 0);
  EXPECT_EQ(run("cat /proc/net/ip_vs").out,
            "IP Virtual Server version 1.2.1 (size=4096)\n"
            "Prot LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n"
            "TCP  C0A84978:0050 rr  persistent 75000 FFFFFFFF\n"
            "  -> C0A8496E:0050      Tunnel  1      0          0         \n");
  EXPECT_EQ(run("cat /proc/net/ip_vs_conn").out,
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n");
  EXPECT_NE(run("cat /proc/net/ip_vs_stats").out.find("   Total Incoming Outgoing"),
            std::string::npos);
}

TEST_F(IpvsadmShellTest, HostCommandsOfTheSeed) {
  EXPECT_EQ(run("hostnamectl set-hostname lvs").status, 0);
  EXPECT_EQ(run("hostname").out, "lvs\n");
  EXPECT_EQ(run("cat /etc/hostname").out, "lvs\n");
  EXPECT_EQ(run("su").status, 0);
  EXPECT_EQ(run("getenforce").out, "Enforcing\n");
  EXPECT_EQ(run("setenforce 0").status, 0);
  EXPECT_EQ(run("getenforce").out, "Permissive\n");
  CmdOutput bad = run("setenforce maybe");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err, "usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]\n");
  EXPECT_EQ(run("yum -y install ipvsadm").status, 0);
  // The director's sysctls went to /etc/conf: `sysctl -p` reads /etc/sysctl.conf, which has
  // only comments, and applies nothing.
  EXPECT_EQ(run("echo net.ipv4.ip_forward=1 >> /etc/conf").status, 0);
  CmdOutput p = run("sysctl -p");
  EXPECT_EQ(p.status, 0);
  EXPECT_EQ(p.out, "");
  EXPECT_EQ(run("sysctl -n net.ipv4.ip_forward").out, "0\n");
}

TEST_F(IpvsadmShellTest, DiffPasteAndGrepFiles) {
  run("echo a > /tmp/x; echo b >> /tmp/x; echo c >> /tmp/x");
  run("echo a > /tmp/y; echo B >> /tmp/y; echo c >> /tmp/y; echo d >> /tmp/y");
  CmdOutput d = run("diff /tmp/x /tmp/y");
  EXPECT_EQ(d.status, 1);
  EXPECT_EQ(d.out, "2c2\n< b\n---\n> B\n3a4\n> d\n");
  EXPECT_EQ(run("diff /tmp/x /tmp/x").status, 0);
  EXPECT_EQ(run("diff -q /tmp/x /tmp/y").out, "Files /tmp/x and /tmp/y differ\n");
  CmdOutput missing = run("diff /tmp/x /tmp/nope");
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err, "diff: /tmp/nope: No such file or directory\n");
  EXPECT_EQ(run("paste -d ' ' /tmp/x /tmp/y").out, "a a\nb B\nc c\n d\n");
  EXPECT_EQ(run("paste /tmp/x /tmp/x").out, "a\ta\nb\tb\nc\tc\n");
  EXPECT_EQ(run("grep -c b /tmp/x").out, "1\n");
  EXPECT_EQ(run("grep b /tmp/x /tmp/y").out, "/tmp/x:b\n");
  CmdOutput g = run("grep b /tmp/nope");
  EXPECT_EQ(g.status, 2);
  EXPECT_EQ(g.err, "grep: /tmp/nope: No such file or directory\n");
}

}  // namespace
}  // namespace vnet::cmd
