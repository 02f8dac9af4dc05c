// Choice sequences of every IPVS scheduler, each derived by hand from its kernel module
// (net/netfilter/ipvs/ip_vs_<name>.c) for a small list; the derivation is in the comments.
// Lists are in kernel order: a destination added later comes first (list_add_rcu at the
// head), which the Service fixture reproduces.
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "lb/hsiphash.h"
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

net::Ipv4Addr ip(const char* s) {
  return *net::Ipv4Addr::parse(s);
}

// A service's destination list and scheduler, changed the way ip_vs_ctl.c changes them.
class Service {
 public:
  explicit Service(const std::string& sched, uint32_t flags = 0, RandomBelow random = {}) {
    SchedulerConfig c;
    c.flags = flags;
    c.random = std::move(random);
    s_ = make_scheduler(sched, c, list_);
  }
  Dest& add(const char* addr, int weight = 1, uint16_t port = 80) {
    store_.push_back(std::make_unique<Dest>());
    Dest& d = *store_.back();
    d.addr = ip(addr);
    d.port = port;
    d.weight = weight;
    d.last_weight = weight;
    list_.insert(list_.begin(), &d);
    names_[&d] = addr;
    s_->add_dest(list_, d);
    return d;
  }
  void remove(Dest& d) {
    size_t i = static_cast<size_t>(std::find(list_.begin(), list_.end(), &d) - list_.begin());
    list_.erase(list_.begin() + static_cast<std::ptrdiff_t>(i));
    d.available = false;
    s_->del_dest(list_, d, i);
  }
  void set_weight(Dest& d, int w) {
    d.weight = w;
    if (w > 0) d.last_weight = w;
    s_->upd_dest(list_, d);
  }
  // The chosen server's address ("-" for none); a new connection counts as active.
  std::string pick(const char* src = "192.0.2.1", uint16_t sport = 40000,
                   const char* dst = "192.168.73.120", uint64_t now_ns = 0, bool count = false) {
    SchedPacket p{ip(src), ip(dst), sport, 80, 6, now_ns};
    Dest* d = s_->schedule(list_, p);
    if (d == nullptr) return "-";
    if (count) ++d->activeconns;
    return names_[d];
  }
  std::string picks(int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += (i ? " " : "") + pick();
    return out;
  }
  Scheduler& scheduler() { return *s_; }

 private:
  std::deque<std::unique_ptr<Dest>> store_;
  DestList list_;
  std::map<const Dest*, std::string> names_;
  std::unique_ptr<Scheduler> s_;
};

TEST(SchedulerTest, EveryNameIsKnownAndOthersAreNot) {
  for (const std::string& n : scheduler_names()) {
    EXPECT_NE(make_scheduler(n, {}, {}), nullptr) << n;
    EXPECT_EQ(make_scheduler(n, {}, {})->name(), n);
  }
  EXPECT_EQ(make_scheduler("xyz", {}, {}), nullptr);
}

TEST(RoundRobinTest, StartsWithTheLastServerAddedAsTheKernelDoes) {
  // Seed 003 adds .110 (web1) then .111 (web2): the list is [.111, .110] and the cursor
  // starts at the head, so the first connection goes to web2.
  Service s("rr");
  s.add("192.168.73.110");
  s.add("192.168.73.111");
  EXPECT_EQ(s.picks(4), "192.168.73.111 192.168.73.110 192.168.73.111 192.168.73.110");
}

TEST(RoundRobinTest, SkipsQuiescedAndOverloadedServers) {
  Service s("rr");
  s.add("10.0.0.1");
  Dest& b = s.add("10.0.0.2");
  s.add("10.0.0.3");  // list: .3 .2 .1
  s.set_weight(b, 0);
  EXPECT_EQ(s.picks(3), "10.0.0.3 10.0.0.1 10.0.0.3");
  s.set_weight(b, 1);
  b.overloaded = true;
  EXPECT_EQ(s.picks(2), "10.0.0.1 10.0.0.3");
  b.overloaded = false;
  EXPECT_EQ(s.pick(), "10.0.0.2");
}

TEST(RoundRobinTest, RemovingTheCursorsServerContinuesAfterIt) {
  // ip_vs_rr_del_dest(): the cursor moves to the removed server's predecessor.
  Service s("rr");
  s.add("10.0.0.1");
  Dest& b = s.add("10.0.0.2");
  s.add("10.0.0.3");  // .3 .2 .1
  EXPECT_EQ(s.picks(2), "10.0.0.3 10.0.0.2");
  s.remove(b);  // cursor back to .3
  EXPECT_EQ(s.picks(3), "10.0.0.1 10.0.0.3 10.0.0.1");
  // A server added while the cursor is on .1 goes to the head: reached after .1 wraps.
  s.add("10.0.0.4");  // .4 .3 .1, cursor still on .1
  EXPECT_EQ(s.picks(3), "10.0.0.4 10.0.0.3 10.0.0.1");
}

TEST(RoundRobinTest, NoServerNoChoice) {
  Service s("rr");
  EXPECT_EQ(s.pick(), "-");
  Dest& a = s.add("10.0.0.1");
  s.set_weight(a, 0);
  EXPECT_EQ(s.pick(), "-");
}

TEST(WeightedRoundRobinTest, ThreeOneOneGivesSixTwoTwo) {
  // A(3) B(1) C(1) added in order: list C B A.  After the adds cw = 1, mw = 3, di = 1.
  // 1-3: cw 1 takes C, B, A.  4: the end, cw 0 -> mw 3: A.  5: cw 2: A.  6: cw 1 (last
  // pass, stop at A): C.  7: B.  8: A.  9: cw 3: A.  10: cw 2: A.
  Service s("wrr");
  s.add("10.0.0.1", 3);
  s.add("10.0.0.2", 1);
  s.add("10.0.0.3", 1);
  std::string seq = s.picks(10);
  EXPECT_EQ(seq,
            "10.0.0.3 10.0.0.2 10.0.0.1 10.0.0.1 10.0.0.1 10.0.0.3 10.0.0.2 10.0.0.1 10.0.0.1 "
            "10.0.0.1");
}

TEST(WeightedRoundRobinTest, StepsByTheGcd) {
  // A(4) B(2): list B A; di 2, mw 4 - 1 = 3, cw after the adds (0/4)*4+1 = 1 then
  // (1/2)*2+1 = 1.  1: B (2 >= 1).  2: A.  3: cw -1 -> 3: A.  4: cw 1, last pass: B.
  // 5: A.  6: cw 3: A.
  Service s("wrr");
  s.add("10.0.0.1", 4);
  s.add("10.0.0.2", 2);
  EXPECT_EQ(s.picks(6), "10.0.0.2 10.0.0.1 10.0.0.1 10.0.0.2 10.0.0.1 10.0.0.1");
}

TEST(WeightedRoundRobinTest, AllQuiescedIsNoChoice) {
  Service s("wrr");
  Dest& a = s.add("10.0.0.1", 2);
  EXPECT_EQ(s.pick(), "10.0.0.1");
  s.set_weight(a, 0);
  EXPECT_EQ(s.pick(), "-");
}

TEST(LeastConnectionTest, LcWlcSedNq) {
  {
    // lc: overhead (active << 8) + inactive; the first of equals in list order.
    Service s("lc");
    Dest& a = s.add("10.0.0.1");
    Dest& b = s.add("10.0.0.2");
    s.add("10.0.0.3");  // .3 .2 .1
    a.activeconns = 1;
    b.inactconns = 3;
    EXPECT_EQ(s.pick(), "10.0.0.3");
    // With .3 busy too, .2 (overhead 3) beats .1 (256) and .3 (256).
    (void)b;
    EXPECT_EQ(s.pick("192.0.2.1", 1, "192.168.73.120", 0, true), "10.0.0.3");
    EXPECT_EQ(s.pick(), "10.0.0.2");
  }
  {
    // wlc: .1 (w1, 1 active: 256) is first in the list; .2 (w3, 2 active: 512):
    // 256 * 3 > 512 * 1, so .2.
    Service s("wlc");
    Dest& b = s.add("10.0.0.2", 3);
    Dest& a = s.add("10.0.0.1", 1);  // .1 .2
    a.activeconns = 1;
    b.activeconns = 2;
    EXPECT_EQ(s.pick(), "10.0.0.2");
    b.activeconns = 4;  // 256 * 3 > 1024 * 1 is false: .1 stays
    EXPECT_EQ(s.pick(), "10.0.0.1");
  }
  {
    // sed: overhead active + 1.  .1 (w1, 0 active: 1), .2 (w3, 1 active: 2): 1*3 > 2*1: .2.
    Service s("sed");
    Dest& b = s.add("10.0.0.2", 3);
    s.add("10.0.0.1", 1);
    b.activeconns = 1;
    EXPECT_EQ(s.pick(), "10.0.0.2");
  }
  {
    // nq: an idle server is taken at once, whatever the weights.
    Service s("nq");
    s.add("10.0.0.2", 1);
    Dest& a = s.add("10.0.0.1", 5);  // .1 .2
    a.activeconns = 2;
    EXPECT_EQ(s.pick(), "10.0.0.2");
  }
}

TEST(FailoverTest, FoTakesTheHeaviestOvfOverflows) {
  {
    Service s("fo");
    s.add("10.0.0.1", 5);
    Dest& b = s.add("10.0.0.2", 5);  // .2 .1: equal weights, the first wins
    s.add("10.0.0.3", 1);
    EXPECT_EQ(s.pick(), "10.0.0.2");
    b.overloaded = true;
    EXPECT_EQ(s.pick(), "10.0.0.1");
  }
  {
    // ovf: .1 (w2) until it holds more than 2 active connections, then .2 (w1).
    Service s("ovf");
    s.add("10.0.0.2", 1);
    s.add("10.0.0.1", 2);
    std::string seq;
    for (int i = 0; i < 5; ++i) seq += s.pick("192.0.2.1", 1, "192.168.73.120", 0, true) + " ";
    EXPECT_EQ(seq, "10.0.0.1 10.0.0.1 10.0.0.1 10.0.0.2 10.0.0.2 ");
    EXPECT_EQ(s.pick(), "-");  // both over their weights
  }
}

TEST(TwoChoicesTest, TheLessLoadedOfTwoWeightedDraws) {
  // list .2 (w1) .1 (w3); total 4 + 1 = 5.  Draws 0 and 3: r1 0 - 1 <= 0 takes .2;
  // r2 3 - 1 = 2, then 2 - 3 <= 0 takes .1.  Overheads: .2 has 1 active (256), .1 none (0):
  // w2 * oh1 = 3 * 256 > w1 * oh2 = 0, so .1.
  std::deque<uint32_t> draws = {0, 3, 0, 0};
  Service s("twos", 0, [&](uint32_t bound) {
    EXPECT_EQ(bound, 5U);
    uint32_t v = draws.front();
    draws.pop_front();
    return v;
  });
  s.add("10.0.0.1", 3);
  Dest& b = s.add("10.0.0.2", 1);
  b.activeconns = 1;
  EXPECT_EQ(s.pick(), "10.0.0.1");
  // Both draws 0: both .2, chosen though busy.
  EXPECT_EQ(s.pick(), "10.0.0.2");
}

TEST(SourceHashingTest, BucketsFollowHash32AndWeights) {
  // hash_32(addr, 8) = (addr * 0x61C88647) >> 24: 192.0.2.1 -> 50, .2 -> 148, .3 -> 246.
  // list .2 (w1) .1 (w2): buckets go .2, .1, .1, .2, .1, .1 ...: bucket % 3 == 0 is .2.
  Service s("sh");
  Dest& a = s.add("10.0.0.1", 2);
  s.add("10.0.0.2", 1);
  EXPECT_EQ(s.pick("192.0.2.1"), "10.0.0.1");  // 50 % 3 = 2
  EXPECT_EQ(s.pick("192.0.2.2"), "10.0.0.1");  // 148 % 3 = 1
  EXPECT_EQ(s.pick("192.0.2.3"), "10.0.0.2");  // 246 % 3 = 0
  // The same source always lands on the same server.
  EXPECT_EQ(s.pick("192.0.2.3", 1234), "10.0.0.2");
  // Quiesced .1 keeps one bucket per turn (count 1 >= weight 0): buckets alternate .2, .1,
  // and a source on .1's buckets gets nothing without sh-fallback.
  s.set_weight(a, 0);
  EXPECT_EQ(s.pick("192.0.2.1"), "10.0.0.2");  // 50: even
  EXPECT_EQ(s.pick("192.0.2.5"), "-");         // 185: odd, .1 has weight 0
}

TEST(SourceHashingTest, FallbackWalksOnToAnAvailableServer) {
  Service s("sh", kSchedFlag1);
  Dest& a = s.add("10.0.0.1", 1);
  s.add("10.0.0.2", 1);  // .2 .1: even buckets .2, odd .1
  a.overloaded = true;
  // 192.0.2.3 -> 246, even: .2 directly.  192.0.2.5 -> 185, odd: .1 is overloaded, the next
  // offset's bucket (186) is .2.
  EXPECT_EQ(s.pick("192.0.2.3"), "10.0.0.2");
  EXPECT_EQ(s.pick("192.0.2.5"), "10.0.0.2");
}

TEST(DestinationHashingTest, BucketsByDestinationAddress) {
  // (addr * 2654435761) & 255: 192.0.2.1 -> 177, .2 -> 98, .3 -> 19.  Two servers: bucket i
  // is list[i % 2]: odd buckets .1 (list .2 .1), even .2.
  Service s("dh");
  s.add("10.0.0.1");
  s.add("10.0.0.2");
  EXPECT_EQ(s.pick("198.51.100.1", 1, "192.0.2.1"), "10.0.0.1");
  EXPECT_EQ(s.pick("198.51.100.1", 1, "192.0.2.2"), "10.0.0.2");
  EXPECT_EQ(s.pick("198.51.100.1", 1, "192.0.2.3"), "10.0.0.1");
}

TEST(MaglevTest, HsiphashIsTheKernels) {
  // SipHash-1-3 with the kernel's mh keys, from a second, independent transcription of
  // lib/siphash.c (see the commit message for the script).
  HsiphashKey k{{2654435761ULL, 2654435761ULL}};
  EXPECT_EQ(hsiphash_u32(0, k), 492468162U);
  EXPECT_EQ(hsiphash_u32(0xC0A8496E + 80, k), 2243653438U);  // 192.168.73.110 port 80
}

TEST(MaglevTest, TableAndLookupsMatchTheKernelsAlgorithm) {
  // list .111 .110, both port 80 weight 1: offsets 145 and 1814, skips 622 and 3771; the
  // 4093 entries split 2047 / 2046.  Sources hash (hsiphash(addr) % 4093) to 2891 -> .110,
  // 746 -> .111, 998 -> .111.
  Service s("mh");
  s.add("192.168.73.110");
  s.add("192.168.73.111");
  EXPECT_EQ(s.pick("192.0.2.1"), "192.168.73.110");
  EXPECT_EQ(s.pick("192.0.2.2"), "192.168.73.111");
  EXPECT_EQ(s.pick("192.0.2.3"), "192.168.73.111");
  EXPECT_EQ(s.pick("198.51.100.7"), "192.168.73.111");
}

TEST(MaglevTest, RemovingOneOfNMovesAboutOneNth) {
  Service s("mh");
  std::vector<Dest*> ds;
  char name[10][16];
  for (int i = 0; i < 10; ++i) {
    std::snprintf(name[i], sizeof name[i], "10.0.1.%d", i + 1);
    ds.push_back(&s.add(name[i]));
  }
  std::vector<std::string> before, after;
  char src[32];
  for (int i = 0; i < 2000; ++i) {
    std::snprintf(src, sizeof src, "198.%d.%d.%d", 18 + i / 65536 % 2, i / 256 % 256, i % 256);
    before.push_back(s.pick(src));
  }
  s.remove(*ds[3]);
  int moved = 0, moved_elsewhere = 0;
  for (int i = 0; i < 2000; ++i) {
    std::snprintf(src, sizeof src, "198.%d.%d.%d", 18 + i / 65536 % 2, i / 256 % 256, i % 256);
    after.push_back(s.pick(src));
    if (after.back() != before[static_cast<size_t>(i)]) {
      ++moved;
      if (before[static_cast<size_t>(i)] != "10.0.1.4") ++moved_elsewhere;
    }
  }
  // The removed server's tenth, plus Maglev's small disruption of the others.
  EXPECT_GT(moved, 150);
  EXPECT_LT(moved, 300);
  EXPECT_LT(moved_elsewhere, 100);
}

TEST(LocalityTest, LblcKeepsAnAddressOnItsServer) {
  Service s("lblc");
  Dest& a = s.add("10.0.0.1");
  s.add("10.0.0.2");  // .2 .1: wlc picks .2 first (equal overheads, first in list)
  EXPECT_EQ(s.pick("192.0.2.1", 1, "203.0.113.5", 0, true), "10.0.0.2");
  // A second address: .2 now has an active connection, wlc picks .1.
  EXPECT_EQ(s.pick("192.0.2.1", 1, "203.0.113.6", 0, true), "10.0.0.1");
  // The first address stays on .2 while .2 is not overloaded (active 1 <= weight 1).
  EXPECT_EQ(s.pick("192.0.2.9", 1, "203.0.113.5", 1, true), "10.0.0.2");
  // Now .2 has 2 active > weight 1, but no server is under half its weight: still .2.
  EXPECT_EQ(s.pick("192.0.2.9", 1, "203.0.113.5", 2), "10.0.0.2");
  // Weight 4 on .1 makes it under half busy: .2 counts as overloaded, and the address
  // moves to .1.
  s.set_weight(a, 4);
  EXPECT_EQ(s.pick("192.0.2.9", 1, "203.0.113.5", 3), "10.0.0.1");
  // 203.0.113.6 went to .1.  Make .1 the busier (10 active): wlc would now say .2
  // (512 * 4 > 2560 is false), but the entry holds while used.
  a.activeconns = 10;
  constexpr uint64_t kHour = 3600ULL * 1'000'000'000;
  EXPECT_EQ(s.pick("192.0.2.9", 1, "203.0.113.6", kHour), "10.0.0.1");
  // Unused for longer than lblc_expiration (24 h), it is forgotten and rescheduled.
  EXPECT_EQ(s.pick("192.0.2.9", 1, "203.0.113.6", 26 * kHour), "10.0.0.2");
}

TEST(LocalityTest, LblcrGrowsTheSetWhenOverloaded) {
  Service s("lblcr");
  s.add("10.0.0.1", 4);
  Dest& b = s.add("10.0.0.2", 1);  // .2 .1
  // wlc: .2 (0) vs .1 (0): 0*4 > 0*1 false: .2.
  EXPECT_EQ(s.pick("192.0.2.1", 1, "203.0.113.5", 0, true), "10.0.0.2");
  b.activeconns = 2;  // > weight 1 while .1 is idle (0 < 4/2): overloaded
  // The set's least loaded (.2) is overloaded: wlc adds .1 to the set.
  EXPECT_EQ(s.pick("192.0.2.1", 1, "203.0.113.5", 1), "10.0.0.1");
  // The set is now {.1, .2}; its least loaded is .1.
  EXPECT_EQ(s.pick("192.0.2.1", 1, "203.0.113.5", 2), "10.0.0.1");
}

}  // namespace
}  // namespace vnet::lb
