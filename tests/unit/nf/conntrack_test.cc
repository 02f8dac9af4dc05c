// Conntrack semantics: TCP states and timeouts, UDP UNREPLIED/ASSURED, expiry and rebinding,
// the full table (drop and early drop), sysctls.
#include <gtest/gtest.h>

#include <cerrno>
#include <random>
#include <unordered_map>
#include <vector>

#include "nf_test_util.h"

namespace vnet::nf::test {
namespace {

std::string list(Netfilter& nf, uint64_t now_ns, const std::string& args = "") {
  return run_conntrack(nf, split("conntrack -L" + args), now_ns).out;
}

TEST(Conntrack, TcpStatesAndTimeouts) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE");
  auto c2s = [&](uint8_t flags, uint64_t t) {
    Packet p = tcp("10.0.0.2", "198.51.100.7", 39600, 8080, flags);
    return r.in_to_out(p, t);
  };
  auto s2c = [&](uint8_t flags, uint64_t t) {
    Packet p = tcp("198.51.100.7", "203.0.113.1", 8080, 39600, flags);
    return r.out_to_in(p, t);
  };
  const std::string tuples =
      "src=10.0.0.2 dst=198.51.100.7 sport=39600 dport=8080 src=198.51.100.7 dst=203.0.113.1 "
      "sport=8080 dport=39600";
  ASSERT_TRUE(c2s(wire::kTcpSyn, 0));
  EXPECT_EQ(list(r.nf, 0),
            "tcp      6 120 SYN_SENT src=10.0.0.2 dst=198.51.100.7 sport=39600 dport=8080 "
            "[UNREPLIED] src=198.51.100.7 dst=203.0.113.1 sport=8080 dport=39600 mark=0 use=1\n");
  ASSERT_TRUE(s2c(wire::kTcpSyn | wire::kTcpAck, kSec));
  EXPECT_EQ(list(r.nf, kSec), "tcp      6 60 SYN_RECV " + tuples + " mark=0 use=1\n");
  ASSERT_TRUE(c2s(wire::kTcpAck, 2 * kSec));
  EXPECT_EQ(list(r.nf, 4 * kSec),
            "tcp      6 431998 ESTABLISHED " + tuples + " [ASSURED] mark=0 use=1\n");
  ASSERT_TRUE(c2s(wire::kTcpFin | wire::kTcpAck, 5 * kSec));
  EXPECT_EQ(list(r.nf, 5 * kSec),
            "tcp      6 120 FIN_WAIT " + tuples + " [ASSURED] mark=0 use=1\n");
  ASSERT_TRUE(s2c(wire::kTcpAck, 5 * kSec));
  EXPECT_EQ(list(r.nf, 5 * kSec),
            "tcp      6 60 CLOSE_WAIT " + tuples + " [ASSURED] mark=0 use=1\n");
  ASSERT_TRUE(s2c(wire::kTcpFin | wire::kTcpAck, 6 * kSec));
  EXPECT_EQ(list(r.nf, 6 * kSec), "tcp      6 30 LAST_ACK " + tuples + " [ASSURED] mark=0 use=1\n");
  ASSERT_TRUE(c2s(wire::kTcpAck, 7 * kSec));
  EXPECT_EQ(list(r.nf, 7 * kSec),
            "tcp      6 120 TIME_WAIT " + tuples + " [ASSURED] mark=0 use=1\n");
  // Gone exactly at the deadline.
  EXPECT_EQ(r.nf.count(127 * kSec - 1), 1u);
  EXPECT_EQ(r.nf.count(127 * kSec), 0u);
}

TEST(Conntrack, TcpRstAsFirstReplyDeletesTheEntry) {
  Router r;
  Packet syn = tcp("10.0.0.2", "198.51.100.7", 1234, 81, wire::kTcpSyn);
  ASSERT_TRUE(r.in_to_out(syn, 0));
  EXPECT_EQ(r.nf.count(0), 1u);
  Packet rst = tcp("198.51.100.7", "10.0.0.2", 81, 1234, wire::kTcpRst | wire::kTcpAck);
  ASSERT_TRUE(r.out_to_in(rst, 0));
  EXPECT_EQ(r.nf.count(0), 0u);
}

TEST(Conntrack, TcpRstAfterEstablishedGoesToClose) {
  Router r;
  Packet p1 = tcp("10.0.0.2", "198.51.100.7", 1234, 80, wire::kTcpSyn);
  Packet p2 = tcp("198.51.100.7", "10.0.0.2", 80, 1234, wire::kTcpSyn | wire::kTcpAck);
  Packet p3 = tcp("10.0.0.2", "198.51.100.7", 1234, 80, wire::kTcpRst);
  ASSERT_TRUE(r.in_to_out(p1, 0));
  ASSERT_TRUE(r.out_to_in(p2, 0));
  ASSERT_TRUE(r.in_to_out(p3, 0));
  EXPECT_NE(list(r.nf, 0).find("tcp      6 10 CLOSE "), std::string::npos);
}

TEST(Conntrack, InvalidTcpIsCountedNotTracked) {
  Router r;
  Packet fin = tcp("10.0.0.2", "198.51.100.7", 1234, 80, wire::kTcpFin);
  PacketCt ct;
  ASSERT_EQ(r.nf.pre_routing(fin, r.eth0, 0, ct, nullptr), Verdict::Accept);
  EXPECT_EQ(ct.info(), CtInfo::Invalid);
  EXPECT_EQ(r.nf.stats().invalid, 1u);
  EXPECT_EQ(r.nf.count(0), 0u);
}

TEST(Conntrack, UdpUnrepliedExpiresAfter30s) {
  Router r;
  Packet p = udp("10.0.0.2", "198.51.100.99", 54806, 7777);
  ASSERT_TRUE(r.in_to_out(p, 0));
  EXPECT_EQ(list(r.nf, 2 * kSec),
            "udp      17 28 src=10.0.0.2 dst=198.51.100.99 sport=54806 dport=7777 [UNREPLIED] "
            "src=198.51.100.99 dst=10.0.0.2 sport=7777 dport=54806 mark=0 use=1\n");
  EXPECT_EQ(r.nf.count(30 * kSec - 1), 1u);
  EXPECT_EQ(r.nf.count(30 * kSec), 0u);
}

TEST(Conntrack, UdpOneRequestOneReplyIsNotAssured) {
  Router r;
  Packet q = udp("10.0.0.2", "198.51.100.7", 36681, 5353);
  Packet a = udp("198.51.100.7", "10.0.0.2", 5353, 36681);
  ASSERT_TRUE(r.in_to_out(q, 0));
  ASSERT_TRUE(r.out_to_in(a, kSec / 2));
  EXPECT_EQ(list(r.nf, 2 * kSec),
            "udp      17 28 src=10.0.0.2 dst=198.51.100.7 sport=36681 dport=5353 "
            "src=198.51.100.7 dst=10.0.0.2 sport=5353 dport=36681 mark=0 use=1\n");
}

TEST(Conntrack, UdpStreamAfter2sIsAssuredWith120s) {
  Router r;
  Packet q = udp("10.0.0.2", "198.51.100.7", 36681, 5353);
  Packet a = udp("198.51.100.7", "10.0.0.2", 5353, 36681);
  Packet q2 = udp("10.0.0.2", "198.51.100.7", 36681, 5353);
  ASSERT_TRUE(r.in_to_out(q, 0));
  ASSERT_TRUE(r.out_to_in(a, kSec));
  ASSERT_TRUE(r.in_to_out(q2, 2 * kSec));  // not after creation + 2 s yet
  EXPECT_EQ(list(r.nf, 2 * kSec, " -u ASSURED"), "");
  Packet q3 = udp("10.0.0.2", "198.51.100.7", 36681, 5353);
  ASSERT_TRUE(r.in_to_out(q3, 2 * kSec + 1));
  EXPECT_EQ(list(r.nf, 3 * kSec),
            "udp      17 119 src=10.0.0.2 dst=198.51.100.7 sport=36681 dport=5353 "
            "src=198.51.100.7 dst=10.0.0.2 sport=5353 dport=36681 [ASSURED] mark=0 use=1\n");
}

TEST(Conntrack, ExpiredEntryIsRecreatedWithTheCurrentBinding) {
  Router r;
  r.iptables("iptables -t nat -A POSTROUTING -j SNAT --to-source 203.0.113.5");
  Packet a = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(a, 0));
  EXPECT_EQ(check_packet(a).src, ip("203.0.113.5"));
  r.iptables("iptables -t nat -R POSTROUTING 1 -j SNAT --to-source 203.0.113.6");
  Packet b = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(b, 29 * kSec));  // still the old entry (refreshed to 59 s)
  EXPECT_EQ(check_packet(b).src, ip("203.0.113.5"));
  Packet c = udp("10.0.0.2", "198.51.100.7", 5000, 53);
  ASSERT_TRUE(r.in_to_out(c, 59 * kSec));  // expired: a new entry, the new rule
  EXPECT_EQ(check_packet(c).src, ip("203.0.113.6"));
  EXPECT_EQ(r.nf.count(59 * kSec), 1u);
}

TEST(Conntrack, FullTableDropsNewFlowsWhenAllAssured) {
  Router r;
  EXPECT_EQ(r.nf.sysctl_set("net.netfilter.nf_conntrack_max", "2"), 0);
  for (uint16_t port : {1001, 1002}) {
    Packet s = tcp("10.0.0.2", "198.51.100.7", port, 80, wire::kTcpSyn);
    Packet sa = tcp("198.51.100.7", "10.0.0.2", 80, port, wire::kTcpSyn | wire::kTcpAck);
    Packet ack = tcp("10.0.0.2", "198.51.100.7", port, 80, wire::kTcpAck);
    ASSERT_TRUE(r.in_to_out(s, 0));
    ASSERT_TRUE(r.out_to_in(sa, 0));
    ASSERT_TRUE(r.in_to_out(ack, 0));
  }
  Packet third = udp("10.0.0.2", "198.51.100.7", 3000, 53);
  HookTrace trace;
  EXPECT_FALSE(r.forward(third, r.eth0, r.eth1, kSec, &trace));
  EXPECT_EQ(trace.lines.back(), "nf_conntrack: table full, dropping packet");
  EXPECT_EQ(r.nf.stats().drop, 1u);
  EXPECT_EQ(r.nf.stats().early_drop, 0u);
  // Existing flows continue.
  Packet more = tcp("10.0.0.2", "198.51.100.7", 1001, 80, wire::kTcpAck);
  EXPECT_TRUE(r.in_to_out(more, kSec));
  auto stats = run_conntrack(r.nf, split("conntrack -S"), kSec);
  EXPECT_EQ(stats.out,
            "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=1 early_drop=0 error=0 "
            "search_restart=0 clash_resolve=0 chaintoolong=0 \n");
}

TEST(Conntrack, FullTableEarlyDropsAnUnassuredEntry) {
  Router r;
  r.nf.config().max = 2;
  Packet s = tcp("10.0.0.2", "198.51.100.7", 1001, 80, wire::kTcpSyn);
  Packet sa = tcp("198.51.100.7", "10.0.0.2", 80, 1001, wire::kTcpSyn | wire::kTcpAck);
  Packet ack = tcp("10.0.0.2", "198.51.100.7", 1001, 80, wire::kTcpAck);
  ASSERT_TRUE(r.in_to_out(s, 0));
  ASSERT_TRUE(r.out_to_in(sa, 0));
  ASSERT_TRUE(r.in_to_out(ack, 0));  // assured
  Packet u1 = udp("10.0.0.2", "198.51.100.7", 3000, 53);
  ASSERT_TRUE(r.in_to_out(u1, 0));  // not assured
  Packet u2 = udp("10.0.0.2", "198.51.100.7", 3001, 53);
  EXPECT_TRUE(r.in_to_out(u2, kSec));
  EXPECT_EQ(r.nf.stats().early_drop, 1u);
  EXPECT_EQ(r.nf.stats().drop, 0u);
  std::string l = list(r.nf, kSec);
  EXPECT_EQ(l.find("sport=3000"), std::string::npos);
  EXPECT_NE(l.find("sport=3001"), std::string::npos);
  EXPECT_NE(l.find("sport=1001"), std::string::npos);
}

TEST(Conntrack, CountIncludesUnconfirmedEntries) {
  Router r;
  Packet p = udp("10.0.0.2", "198.51.100.7", 1, 2);
  PacketCt ct;
  ASSERT_EQ(r.nf.pre_routing(p, r.eth0, 0, ct, nullptr), Verdict::Accept);
  EXPECT_EQ(r.nf.count(0), 1u);  // allocated, not yet in the table
  EXPECT_EQ(list(r.nf, 0), "");
  ct = PacketCt();  // the packet was dropped before POSTROUTING
  EXPECT_EQ(r.nf.count(0), 0u);
}

TEST(Conntrack, Sysctls) {
  Netfilter nf;
  EXPECT_EQ(nf.sysctl_get("net.netfilter.nf_conntrack_udp_timeout"), "30");
  EXPECT_EQ(nf.sysctl_get("net.netfilter.nf_conntrack_max"), "262144");
  EXPECT_EQ(nf.sysctl_get("net.netfilter.nf_conntrack_count"), "0");
  EXPECT_EQ(nf.sysctl_get("net.netfilter.nope"), std::nullopt);
  EXPECT_EQ(nf.sysctl_set("net.netfilter.nf_conntrack_count", "5"), -EINVAL);
  EXPECT_EQ(nf.sysctl_set("net.netfilter.nf_conntrack_max", "abc"), -EINVAL);
  EXPECT_EQ(nf.sysctl_set("net.netfilter.nf_conntrack_max", "-1"), -EINVAL);
  EXPECT_EQ(nf.sysctl_set("net.netfilter.nope", "1"), -ENOENT);
  EXPECT_EQ(nf.sysctl_set("net.netfilter.nf_conntrack_udp_timeout", " 45\n"), 0);
  EXPECT_EQ(nf.config().udp_timeout_s, 45u);
  auto keys = nf.sysctl_keys();
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (const auto& k : keys) EXPECT_TRUE(nf.sysctl_get(k).has_value()) << k;
}

// TupleIndex (open addressing with backward-shift deletion) against std::unordered_map, over
// random inserts and erases in a small key space, so probe runs collide, wrap and get holes.
TEST(TupleIndex, MatchesAHashMapUnderRandomInsertsAndErases) {
  std::mt19937 rng(7);
  TupleIndex index;
  std::unordered_map<Tuple, Conn*, TupleHash> oracle;
  std::vector<Conn> conns(4);
  auto random_tuple = [&] {
    Tuple t;
    t.src = net::Ipv4Addr(0x0a000000u | (rng() % 8));
    t.dst = net::Ipv4Addr(0x0a000100u | (rng() % 8));
    t.src_key = static_cast<uint16_t>(rng() % 4);
    t.dst_key = 80;
    t.protocol = 6;
    return t;
  };
  for (int step = 0; step < 20000; ++step) {
    Tuple t = random_tuple();
    Conn* c = &conns[rng() % conns.size()];
    auto it = oracle.find(t);
    if (rng() % 3 != 0) {
      if (it == oracle.end()) {
        index.insert(t, c);
        oracle.emplace(t, c);
      }
    } else {
      // Erase only removes a tuple mapped to the given entry.
      index.erase(t, c);
      if (it != oracle.end() && it->second == c) oracle.erase(it);
    }
    ASSERT_EQ(index.size(), oracle.size()) << "step " << step;
    Tuple probe = random_tuple();
    auto o = oracle.find(probe);
    ASSERT_EQ(index.find(probe), o == oracle.end() ? nullptr : o->second) << "step " << step;
  }
  for (const auto& [t, c] : oracle) EXPECT_EQ(index.find(t), c);
}

}  // namespace
}  // namespace vnet::nf::test
