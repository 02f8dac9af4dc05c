// The configuration journal (cmd/journal.h): which lines change configuration, the file's round
// trip, that every cut or altered file is refused, and the fallback to FILE.prev.
#include "cmd/journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vnet::cmd {
namespace {

TEST(Journal, ChangesConfigurationKnowsTheSeedsCommands) {
  for (const char* line : {
           "ip addr add 10.0.0.1/24 dev eth0",
           "ip a a 10.0.0.1/24 dev eth0",
           "ip link set eth0 up",
           "ip -4 route replace default via 192.0.2.1",
           "ip route del 10.0.0.0/8",
           "ip rule add from 10.1.0.0/16 table isp1",
           "ip neigh flush dev eth0",
           "ip tunnel add ipip0 mode ipip remote 1.2.3.4 local 5.6.7.8",
           "ip -batch /tmp/x",
           "route add -net 10.0.0.0/8 gw 192.0.2.1",
           "iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE",
           "iptables -F",
           "ipvsadm -A -t 10.0.0.100:80 -s rr",
           "ipvsadm -a -t 10.0.0.100:80 -r 10.0.0.11 -i",
           "sysctl -w net.ipv4.ip_forward=1",
           "sysctl -qw net.ipv4.conf.all.rp_filter=0",
           "sysctl net.ipv4.ip_forward=1",
           "echo 1 > /proc/sys/net/ipv4/ip_forward",
           "echo \"100 isp1\" >> /etc/iproute2/rt_tables",
           "echo 2 | tee /proc/sys/net/ipv4/conf/all/arp_announce",
           "modprobe ipip",
           "bridge fdb add 02:00:00:00:00:01 dev vx0 dst 192.0.2.2",
           "vpc route add 10.0.0.5 vpc 7 host 192.0.2.9",
           "hostname web1",
           "ip link show && ip addr add 10.0.0.1/24 dev eth0",
       }) {
    EXPECT_TRUE(changes_configuration(line)) << line;
  }
  for (const char* line : {
           "ip route",
           "ip r",
           "ip -j addr show",
           "ip route get 10.0.0.1",
           "ip -s link",
           "ip neigh show dev eth0",
           "ip monitor",
           "route -n",
           "iptables -t nat -L -n -v",
           "iptables -S",
           "ipvsadm -L -n",
           "ipvsadm -Ln --stats",
           "sysctl net.ipv4.ip_forward",
           "sysctl -a",
           "cat /proc/sys/net/ipv4/ip_forward",
           "echo hello > /tmp/x",
           "ping -c 1 10.0.0.1",
           "traceroute -n 10.0.0.1",
           "curl http://10.0.0.1/",
           "conntrack -L",
           "conntrack -F",
           "vpc --etcd route add 10.0.0.5 vpc 7 host 192.0.2.9",
           "vpc show",
           "bridge fdb show",
           "hostname",
           "modprobe -r ipip",
           "echo 'unbalanced",
       }) {
    EXPECT_FALSE(changes_configuration(line)) << line;
  }
}

TEST(Journal, RoundTripAndEveryDamageIsRefused) {
  const std::vector<std::string> lines = {"ip addr add 10.0.0.1/24 dev eth0",
                                          "echo \"100 isp1\" >> /etc/iproute2/rt_tables",
                                          "a\\b\nc\td \xe4\xb8\xad", ""};
  std::string text = ConfigJournal::serialize(lines);
  std::vector<std::string> back;
  std::string why;
  ASSERT_TRUE(ConfigJournal::parse(text, &back, &why)) << why;
  EXPECT_EQ(back, lines);
  // Every prefix (a write killed halfway) and every single-byte change is refused.
  for (size_t cut = 0; cut < text.size(); ++cut) {
    EXPECT_FALSE(ConfigJournal::parse(text.substr(0, cut), &back, &why)) << cut;
    EXPECT_TRUE(back.empty());
  }
  for (size_t i = 0; i < text.size(); ++i) {
    std::string altered = text;
    altered[i] = static_cast<char>(altered[i] ^ 0x20);
    EXPECT_FALSE(ConfigJournal::parse(altered, &back, &why)) << i;
  }
  EXPECT_FALSE(ConfigJournal::parse("", &back, &why));
  EXPECT_EQ(why, "not a vnet journal (no \"vnet-journal 1\" line)");
}

class JournalFiles : public testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("vnet-journal-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "node.journal").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(JournalFiles, AppendsSurviveARestartAndATornFileFallsBack) {
  {
    ConfigJournal j(path_);
    ConfigJournal::Loaded first = j.load();
    EXPECT_TRUE(first.lines.empty());
    EXPECT_EQ(first.source, "");
    EXPECT_EQ(j.append("ip link set eth0 up"), "");
    EXPECT_EQ(j.append("ip addr add 10.0.0.1/24 dev eth0"), "");
    EXPECT_EQ(j.append("ip route add default via 10.0.0.254"), "");
  }
  ConfigJournal again(path_);
  ConfigJournal::Loaded loaded = again.load();
  EXPECT_EQ(loaded.source, path_);
  EXPECT_EQ(loaded.lines.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  // Cut the current file short, as a non-atomic writer killed halfway would leave it: the
  // previous one (two lines) is used, and the refusal is reported.
  std::filesystem::resize_file(path_, std::filesystem::file_size(path_) - 10);
  ConfigJournal torn(path_);
  loaded = torn.load();
  EXPECT_EQ(loaded.source, path_ + ".prev");
  ASSERT_EQ(loaded.lines.size(), 2u);
  EXPECT_EQ(loaded.lines[1], "ip addr add 10.0.0.1/24 dev eth0");
  ASSERT_EQ(loaded.problems.size(), 1u);
  EXPECT_NE(loaded.problems[0].find(path_ + ": "), std::string::npos);
  // Appending from there writes a good file again, and keeps the good previous one (not the
  // damaged file) as FILE.prev.
  EXPECT_EQ(torn.append("ip route add default via 10.0.0.253"), "");
  EXPECT_EQ(ConfigJournal(path_).load().lines.size(), 3u);
  std::filesystem::remove(path_);
  EXPECT_EQ(ConfigJournal(path_).load().lines.size(), 2u);
  EXPECT_EQ(torn.append("ip route add default via 10.0.0.252"), "");
  // Both damaged: nothing is restored, both are named.
  std::ofstream(path_) << "garbage";
  std::ofstream(path_ + ".prev") << "vnet-journal 1\n";
  loaded = ConfigJournal(path_).load();
  EXPECT_TRUE(loaded.lines.empty());
  EXPECT_EQ(loaded.problems.size(), 2u);
}

}  // namespace
}  // namespace vnet::cmd
