// The node's /proc/sys/net/ipv4 tree: defaults of a fresh namespace, set/get and its errors,
// per-device keys, and the kernel's propagation rules (net/ipv4/devinet.c:
// devinet_conf_proc(), devinet_sysctl_forward(), inet_forward_change(), ipv4_devconf_setall()).
//
// Every expected value below was read from Linux 6.18 in a fresh network namespace with
// procps `sysctl` (the commands are quoted next to each test).
#include "stack/sysctl.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace vnet::stack {
namespace {

std::string Get(const Sysctls& s, const std::string& key) {
  return s.get(key).value_or("<missing>");
}

// `sysctl net.ipv4.conf.all net.ipv4.conf.default` in a fresh namespace, verbatim.
constexpr const char* kKernelConfDefaults = R"(net.ipv4.conf.all.accept_local = 0
net.ipv4.conf.all.accept_redirects = 1
net.ipv4.conf.all.accept_source_route = 0
net.ipv4.conf.all.arp_accept = 0
net.ipv4.conf.all.arp_announce = 0
net.ipv4.conf.all.arp_evict_nocarrier = 1
net.ipv4.conf.all.arp_filter = 0
net.ipv4.conf.all.arp_ignore = 0
net.ipv4.conf.all.arp_notify = 0
net.ipv4.conf.all.bc_forwarding = 0
net.ipv4.conf.all.bootp_relay = 0
net.ipv4.conf.all.disable_policy = 0
net.ipv4.conf.all.disable_xfrm = 0
net.ipv4.conf.all.drop_gratuitous_arp = 0
net.ipv4.conf.all.drop_unicast_in_l2_multicast = 0
net.ipv4.conf.all.force_igmp_version = 0
net.ipv4.conf.all.forwarding = 0
net.ipv4.conf.all.igmpv2_unsolicited_report_interval = 10000
net.ipv4.conf.all.igmpv3_unsolicited_report_interval = 1000
net.ipv4.conf.all.ignore_routes_with_linkdown = 0
net.ipv4.conf.all.log_martians = 0
net.ipv4.conf.all.mc_forwarding = 0
net.ipv4.conf.all.medium_id = 0
net.ipv4.conf.all.promote_secondaries = 0
net.ipv4.conf.all.proxy_arp = 0
net.ipv4.conf.all.proxy_arp_pvlan = 0
net.ipv4.conf.all.route_localnet = 0
net.ipv4.conf.all.rp_filter = 0
net.ipv4.conf.all.secure_redirects = 1
net.ipv4.conf.all.send_redirects = 1
net.ipv4.conf.all.shared_media = 1
net.ipv4.conf.all.src_valid_mark = 0
net.ipv4.conf.all.tag = 0
net.ipv4.conf.default.accept_local = 0
net.ipv4.conf.default.accept_redirects = 1
net.ipv4.conf.default.accept_source_route = 1
net.ipv4.conf.default.arp_accept = 0
net.ipv4.conf.default.arp_announce = 0
net.ipv4.conf.default.arp_evict_nocarrier = 1
net.ipv4.conf.default.arp_filter = 0
net.ipv4.conf.default.arp_ignore = 0
net.ipv4.conf.default.arp_notify = 0
net.ipv4.conf.default.bc_forwarding = 0
net.ipv4.conf.default.bootp_relay = 0
net.ipv4.conf.default.disable_policy = 0
net.ipv4.conf.default.disable_xfrm = 0
net.ipv4.conf.default.drop_gratuitous_arp = 0
net.ipv4.conf.default.drop_unicast_in_l2_multicast = 0
net.ipv4.conf.default.force_igmp_version = 0
net.ipv4.conf.default.forwarding = 0
net.ipv4.conf.default.igmpv2_unsolicited_report_interval = 10000
net.ipv4.conf.default.igmpv3_unsolicited_report_interval = 1000
net.ipv4.conf.default.ignore_routes_with_linkdown = 0
net.ipv4.conf.default.log_martians = 0
net.ipv4.conf.default.mc_forwarding = 0
net.ipv4.conf.default.medium_id = 0
net.ipv4.conf.default.promote_secondaries = 0
net.ipv4.conf.default.proxy_arp = 0
net.ipv4.conf.default.proxy_arp_pvlan = 0
net.ipv4.conf.default.route_localnet = 0
net.ipv4.conf.default.rp_filter = 0
net.ipv4.conf.default.secure_redirects = 1
net.ipv4.conf.default.send_redirects = 1
net.ipv4.conf.default.shared_media = 1
net.ipv4.conf.default.src_valid_mark = 0
net.ipv4.conf.default.tag = 0
net.ipv4.ip_forward = 0
net.ipv4.ip_default_ttl = 64
net.ipv4.icmp_echo_ignore_broadcasts = 1
net.ipv4.fib_multipath_hash_policy = 0
net.ipv4.ip_nonlocal_bind = 0
net.ipv4.icmp_echo_ignore_all = 0
net.ipv4.ip_no_pmtu_disc = 0
net.ipv4.fib_multipath_use_neigh = 0
net.ipv4.ping_group_range = 1	0
)";

// Keys whose kernel value vnet does not reproduce yet; DISABLED_KernelDefaultsNotYetModelled
// checks them.
const std::set<std::string> kNotYetModelled = {
    "net.ipv4.conf.default.accept_source_route",
    "net.ipv4.conf.all.igmpv2_unsolicited_report_interval",
    "net.ipv4.conf.all.igmpv3_unsolicited_report_interval",
    "net.ipv4.conf.default.igmpv2_unsolicited_report_interval",
    "net.ipv4.conf.default.igmpv3_unsolicited_report_interval",
    "net.ipv4.ping_group_range",
};

std::vector<std::pair<std::string, std::string>> KernelDefaults() {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(kKernelConfDefaults);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find(" = ");
    out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
  }
  return out;
}

TEST(SysctlsTest, FreshNamespaceDefaultsMatchKernel) {
  Sysctls s;
  for (const auto& [key, value] : KernelDefaults()) {
    if (kNotYetModelled.contains(key)) continue;
    EXPECT_EQ(Get(s, key), value) << key;
  }
}

// Kernel: `sysctl net.ipv4.conf.default.accept_source_route net.ipv4.conf.lo.accept_source_route`
// prints 1 for both (ipv4_devconf_dflt sets IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE; `all` has 0), and
// a new veth copies 1.  The igmpv{2,3}_unsolicited_report_interval keys exist (10000 and 1000)
// and ping_group_range reads "1\t0".  vnet: 0, no such keys, and "1".
TEST(SysctlsTest, KernelDefaultsNotYetModelled) {
  Sysctls s;
  for (const auto& [key, value] : KernelDefaults()) {
    if (kNotYetModelled.contains(key)) {
      EXPECT_EQ(Get(s, key), value) << key;
    }
  }
  s.add_device("v0");
  EXPECT_EQ(Get(s, "net.ipv4.conf.v0.accept_source_route"), "1");
}

// What proc_dointvec() makes of a write, from `printf VALUE >
// /proc/sys/net/ipv4/conf/all/rp_filter; cat /proc/sys/net/ipv4/conf/all/rp_filter`: leading
// blanks, a minus sign and trailing newlines are accepted; anything else, or a value outside int,
// is EINVAL ("I/O error" in sh).
TEST(SysctlsTest, SetThenGet) {
  Sysctls s;
  const std::vector<std::pair<std::string, std::string>> accepted = {
      {"2", "2"},
      {" 1\n", "1"},
      {"2\n\n", "2"},
      {"\t4", "4"},
      {"5\t", "5"},
      {"-1", "-1"},
      {"-2147483648", "-2147483648"}};
  for (const auto& [written, read] : accepted) {
    EXPECT_EQ(s.set("net.ipv4.conf.all.rp_filter", written), 0) << written;
    EXPECT_EQ(Get(s, "net.ipv4.conf.all.rp_filter"), read) << written;
  }
  EXPECT_EQ(s.set("net.ipv4.ip_default_ttl", "32"), 0);
  EXPECT_EQ(s.global("ip_default_ttl"), 32);
}

TEST(SysctlsTest, UnknownKeysAndBadValues) {
  Sysctls s;
  // `sysctl -w net.ipv4.conf.nope.rp_filter=1` -> "cannot stat ...: No such file or directory"
  // (before the value is looked at).
  EXPECT_EQ(s.set("net.ipv4.conf.nope.rp_filter", "1"), -ENOENT);
  EXPECT_EQ(s.set("net.ipv4.conf.nope.rp_filter", "abc"), -ENOENT);
  EXPECT_EQ(s.set("net.ipv4.conf.all.nope", "1"), -ENOENT);
  EXPECT_EQ(s.set("net.ipv4.nope", "1"), -ENOENT);
  EXPECT_EQ(s.set("net.core.nope", "1"), -ENOENT);
  EXPECT_EQ(s.set("net.core.somaxconn", "1"), 0);  // with TCP, net.core.somaxconn exists
  ASSERT_EQ(s.set("net.ipv4.conf.all.rp_filter", "2"), 0);
  for (const char* bad : {"abc", "1x", "3x", "\n", "2147483648", "4294967296"}) {
    EXPECT_EQ(s.set("net.ipv4.conf.all.rp_filter", bad), -EINVAL) << bad;
  }
  EXPECT_EQ(Get(s, "net.ipv4.conf.all.rp_filter"), "2");
  EXPECT_FALSE(s.get("net.ipv4.conf.nope.rp_filter").has_value());
  EXPECT_FALSE(s.get("net.ipv4.nope").has_value());
}

// Kernel (proc_get_long() takes no '+'; __do_proc_dointvec() stops after one value and ignores
// the rest; a zero-length write changes nothing):
//   printf '+3' > /proc/sys/net/ipv4/conf/all/rp_filter   -> "sh: 1: printf: printf: I/O error"
//   echo "1 2" > /proc/sys/net/ipv4/conf/all/rp_filter    -> success, reads back 1
//   true > /proc/sys/net/ipv4/conf/all/rp_filter          -> success, value unchanged
// vnet accepts "+3" (reads 3) and refuses "1 2\n" and "" with -EINVAL.
TEST(SysctlsTest, ProcDointvecEdgeCases) {
  Sysctls s;
  ASSERT_EQ(s.set("net.ipv4.conf.all.rp_filter", "2"), 0);
  EXPECT_EQ(s.set("net.ipv4.conf.all.rp_filter", "+3"), -EINVAL);
  EXPECT_EQ(s.set("net.ipv4.conf.all.rp_filter", ""), 0);
  EXPECT_EQ(Get(s, "net.ipv4.conf.all.rp_filter"), "2");
  EXPECT_EQ(s.set("net.ipv4.conf.all.rp_filter", "1 2\n"), 0);
  EXPECT_EQ(Get(s, "net.ipv4.conf.all.rp_filter"), "1");
}

TEST(SysctlsTest, DeviceKeysFollowTheDevice) {
  Sysctls s;
  EXPECT_FALSE(s.get("net.ipv4.conf.v0.rp_filter").has_value());
  s.add_device("v0");
  EXPECT_EQ(Get(s, "net.ipv4.conf.v0.rp_filter"), "0");
  EXPECT_EQ(s.set("net.ipv4.conf.v0.rp_filter", "2"), 0);
  // `ip link set v0 name v9` keeps the values under the new name.
  s.rename_device("v0", "v9");
  EXPECT_FALSE(s.get("net.ipv4.conf.v0.rp_filter").has_value());
  EXPECT_EQ(Get(s, "net.ipv4.conf.v9.rp_filter"), "2");
  // `ip link del`: `sysctl net.ipv4.conf.v0.rp_filter` -> "cannot stat".
  s.remove_device("v9");
  EXPECT_FALSE(s.get("net.ipv4.conf.v9.rp_filter").has_value());
  EXPECT_EQ(s.set("net.ipv4.conf.v9.rp_filter", "1"), -ENOENT);
}

// ip link add v0 type veth peer name v1
// sysctl -w net.ipv4.conf.default.rp_filter=2    -> v0, v1, lo: 2
// ip link set lo up                              (lo gets 127.0.0.1: ipv4_devconf_setall)
// sysctl -w net.ipv4.conf.default.rp_filter=1    -> v0, v1: 1; lo: 2
// sysctl -w net.ipv4.conf.v1.accept_local=0      (explicit write of the current value)
// ip addr add 192.0.2.1/24 dev v0                (ipv4_devconf_setall)
// sysctl -w net.ipv4.conf.default.accept_local=1 -> v0: 0, v1: 0, lo: 0 (all marked or written)
// ip link add v2 type veth peer name v3          -> v2.accept_local = 1, v2.rp_filter = 1
TEST(SysctlsTest, DefaultPropagatesToDevicesNeitherWrittenNorMarked) {
  Sysctls s;
  s.add_device("lo");
  s.add_device("v1");
  s.add_device("v0");
  ASSERT_EQ(s.set("net.ipv4.conf.default.rp_filter", "2"), 0);
  EXPECT_EQ(s.conf("v0", "rp_filter"), 2);
  EXPECT_EQ(s.conf("v1", "rp_filter"), 2);
  EXPECT_EQ(s.conf("lo", "rp_filter"), 2);
  EXPECT_EQ(s.conf("all", "rp_filter"), 0);

  s.mark_all_set("lo");
  ASSERT_EQ(s.set("net.ipv4.conf.default.rp_filter", "1"), 0);
  EXPECT_EQ(s.conf("v0", "rp_filter"), 1);
  EXPECT_EQ(s.conf("v1", "rp_filter"), 1);
  EXPECT_EQ(s.conf("lo", "rp_filter"), 2);

  ASSERT_EQ(s.set("net.ipv4.conf.v1.accept_local", "0"), 0);
  s.mark_all_set("v0");
  ASSERT_EQ(s.set("net.ipv4.conf.default.accept_local", "1"), 0);
  EXPECT_EQ(s.conf("v0", "accept_local"), 0);
  EXPECT_EQ(s.conf("v1", "accept_local"), 0);
  EXPECT_EQ(s.conf("lo", "accept_local"), 0);

  s.add_device("v2");
  EXPECT_EQ(s.conf("v2", "accept_local"), 1);
  EXPECT_EQ(s.conf("v2", "rp_filter"), 1);
}

// sysctl -w net.ipv4.conf.default.forwarding=1 net.ipv4.conf.default.route_localnet=1
//   -> v1.forwarding = 0, v1.route_localnet = 0 (their handlers do not copy `default`)
// ip link add v2 type veth peer name v3 -> v2.forwarding = 1, v2.route_localnet = 1
TEST(SysctlsTest, ForwardingAndRouteLocalnetDoNotPropagateFromDefault) {
  Sysctls s;
  s.add_device("v1");
  ASSERT_EQ(s.set("net.ipv4.conf.default.forwarding", "1"), 0);
  ASSERT_EQ(s.set("net.ipv4.conf.default.route_localnet", "1"), 0);
  EXPECT_EQ(s.conf("v1", "forwarding"), 0);
  EXPECT_EQ(s.conf("v1", "route_localnet"), 0);
  EXPECT_EQ(s.global("ip_forward"), 0);
  s.add_device("v2");
  EXPECT_EQ(s.conf("v2", "forwarding"), 1);
  EXPECT_EQ(s.conf("v2", "route_localnet"), 1);
}

// sysctl -w net.ipv4.ip_forward=1 -> lo.forwarding = 1, v9.forwarding = 1,
//   all.accept_redirects = 0, default.accept_redirects = 1, v9.accept_redirects = 1
// sysctl -w net.ipv4.ip_forward=0 -> all.accept_redirects = 1, all.forwarding = 0
// sysctl -w net.ipv4.conf.all.forwarding=1 -> net.ipv4.ip_forward = 1
TEST(SysctlsTest, IpForwardIsAllForwardingAndReachesEveryDevice) {
  Sysctls s;
  s.add_device("lo");
  s.add_device("v9");
  ASSERT_EQ(s.set("net.ipv4.ip_forward", "1"), 0);
  for (const char* dev : {"all", "default", "lo", "v9"}) {
    EXPECT_EQ(s.conf(dev, "forwarding"), 1) << dev;
  }
  EXPECT_EQ(s.conf("all", "accept_redirects"), 0);
  EXPECT_EQ(s.conf("default", "accept_redirects"), 1);
  EXPECT_EQ(s.conf("v9", "accept_redirects"), 1);

  ASSERT_EQ(s.set("net.ipv4.ip_forward", "0"), 0);
  EXPECT_EQ(s.conf("all", "forwarding"), 0);
  EXPECT_EQ(s.conf("all", "accept_redirects"), 1);

  ASSERT_EQ(s.set("net.ipv4.conf.all.forwarding", "1"), 0);
  EXPECT_EQ(Get(s, "net.ipv4.ip_forward"), "1");
  EXPECT_EQ(s.conf("v9", "forwarding"), 1);
}

// ip link add v0 type veth peer name v1
// sysctl -w net.ipv4.conf.default.forwarding=1 net.ipv4.conf.v0.forwarding=0
// sysctl -w net.ipv4.ip_forward=0   (unchanged) -> default.forwarding stays 1
// sysctl -w net.ipv4.conf.all.forwarding=1      -> v0.forwarding = 1
// sysctl -w net.ipv4.conf.v0.forwarding=0
// sysctl -w net.ipv4.ip_forward=1   (unchanged) -> v0.forwarding stays 0
TEST(SysctlsTest, ForwardingPropagatesOnlyOnChange) {
  Sysctls s;
  s.add_device("v0");
  ASSERT_EQ(s.set("net.ipv4.conf.default.forwarding", "1"), 0);
  ASSERT_EQ(s.set("net.ipv4.conf.v0.forwarding", "0"), 0);
  ASSERT_EQ(s.set("net.ipv4.ip_forward", "0"), 0);
  EXPECT_EQ(s.conf("default", "forwarding"), 1);
  EXPECT_EQ(s.conf("all", "forwarding"), 0);

  ASSERT_EQ(s.set("net.ipv4.conf.all.forwarding", "1"), 0);
  EXPECT_EQ(s.conf("v0", "forwarding"), 1);
  ASSERT_EQ(s.set("net.ipv4.conf.v0.forwarding", "0"), 0);
  ASSERT_EQ(s.set("net.ipv4.ip_forward", "1"), 0);
  EXPECT_EQ(s.conf("v0", "forwarding"), 0);
}

TEST(SysctlsTest, ProcPathsAndKeys) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward"},
      {"/proc/sys/net/ipv4/conf/all/rp_filter", "net.ipv4.conf.all.rp_filter"},
      {"/proc/sys/net/ipv4/conf/v0/accept_local", "net.ipv4.conf.v0.accept_local"},
  };
  for (const auto& [path, key] : cases) {
    EXPECT_EQ(Sysctls::key_from_proc_path(path).value_or("<none>"), key);
    EXPECT_EQ(Sysctls::proc_path_from_key(key), path);
  }
  EXPECT_FALSE(Sysctls::key_from_proc_path("/etc/iproute2/rt_tables").has_value());
  EXPECT_FALSE(Sysctls::key_from_proc_path("/proc/net/route").has_value());
}

}  // namespace
}  // namespace vnet::stack
