// The agent against the embedded store: what it reads (only its host's prefixes), the changes it
// hands on, resuming after a broken stream, resyncing after a compaction, refusing bad values,
// and a randomised run of writes, outages and compactions that must end with the agent's view
// equal to the store's.
#include <gtest/gtest.h>

#include <random>

#include "ctrl/agent.h"
#include "ctrl/mem_store.h"

namespace vnet::ctrl {
namespace {

using schema::Kind;

std::string fmt_route(int vpc, int ip) {
  return "/vnet/v1/vpc/" + std::to_string(vpc) + "/route/172.16.0." + std::to_string(ip + 1);
}

class AgentTest : public ::testing::Test {
 protected:
  AgentTest() { make_agent(); }
  void make_agent() {
    agent_ = std::make_unique<Agent>(
        store_, Agent::Options{.node = "host1"},
        [this](const std::vector<Change>& cs) {
          for (const Change& c : cs) {
            std::string k = schema::key(c.entry.ref);
            if (c.deleted) {
              applied_.erase(k);
            } else {
              applied_[k] = schema::value(c.entry);
            }
            ++changes_;
          }
        },
        [this](Agent::Level l, const std::string& m) {
          if (l >= Agent::Level::Warn) warnings_.push_back(m);
        });
  }
  void poll() {
    now_ms_ += 10;
    agent_->poll(0, now_ms_);
  }
  // Polls past any backoff.
  void settle() {
    for (int i = 0; i < 400; ++i) {
      now_ms_ += 10;
      agent_->poll(0, now_ms_);
    }
  }
  void put(const std::string& k, const std::string& v) { ASSERT_TRUE(store_.put(k, v).ok()); }

  MemStore store_;
  std::unique_ptr<Agent> agent_;
  std::map<std::string, std::string> applied_;
  std::vector<std::string> warnings_;
  size_t changes_ = 0;
  uint64_t now_ms_ = 0;
};

TEST_F(AgentTest, ReadsOnlyWhatItsHostNeeds) {
  put("/vnet/v1/host/host1/config", R"({"local":"10.10.1.9"})");
  put("/vnet/v1/host/host1/port/vm1",
      R"({"vpc":6289,"ip":"172.16.0.47","mac":"52:54:00:00:00:01"})");
  put("/vnet/v1/host/host2/port/vm2", R"({"vpc":7,"ip":"172.16.0.48"})");
  put("/vnet/v1/vpc/6289/route/172.16.0.47", R"({"host":"10.10.1.9"})");
  put("/vnet/v1/vpc/6289/route/172.16.0.50", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/vpc/7/route/172.16.0.48", R"({"host":"10.10.1.10"})");
  poll();
  AgentStatus s = agent_->status();
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.revision, store_.revision());
  EXPECT_EQ(s.lag(), 0);
  EXPECT_EQ(s.prefixes, (std::vector<std::string>{"/vnet/v1/host/host1/", "/vnet/v1/vpc/6289/"}));
  EXPECT_EQ(applied_.size(), 4u);
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.16.0.48"), 0u);
  EXPECT_EQ(applied_.count("/vnet/v1/host/host2/port/vm2"), 0u);
  // Incremental: a change to a watched prefix, and none for others.
  size_t before = changes_;
  put("/vnet/v1/vpc/6289/route/172.16.0.50", R"({"host":"10.10.1.11"})");
  put("/vnet/v1/vpc/7/route/172.16.0.49", R"({"host":"10.10.1.11"})");
  poll();
  EXPECT_EQ(changes_, before + 1);
  EXPECT_EQ(applied_["/vnet/v1/vpc/6289/route/172.16.0.50"], R"({"host":"10.10.1.11"})");
  ASSERT_TRUE(store_.del("/vnet/v1/vpc/6289/route/172.16.0.50").ok());
  poll();
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/6289/route/172.16.0.50"), 0u);
}

TEST_F(AgentTest, FollowsItsPortsAndPeersIntoVpcs) {
  put("/vnet/v1/vpc/7/route/172.17.0.2", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/vpc/8/route/172.18.0.2", R"({"host":"10.10.1.10"})");
  poll();
  EXPECT_TRUE(applied_.empty());
  // A port in VPC 7: VPC 7 is read at that revision and watched.
  put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.17.0.1","mac":"52:54:00:00:00:01"})");
  poll();
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.2"), 1u);
  put("/vnet/v1/vpc/7/route/172.17.0.3", R"({"host":"10.10.1.10"})");
  poll();
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.3"), 1u);
  // VPC 7 peers with 8: 8's tables come too (not transitively further).
  put("/vnet/v1/vpc/7/subnet-route/172.18.0.0/16", R"({"peer":8})");
  put("/vnet/v1/vpc/8/subnet-route/172.19.0.0/16", R"({"peer":9})");
  put("/vnet/v1/vpc/9/route/172.19.0.2", R"({"host":"10.10.1.10"})");
  poll();
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/8/route/172.18.0.2"), 1u);
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/9/route/172.19.0.2"), 0u);
  // The port goes: every VPC goes, with deletes for what was applied.
  ASSERT_TRUE(store_.del("/vnet/v1/host/host1/port/vm1").ok());
  poll();
  EXPECT_TRUE(applied_.empty());
  EXPECT_EQ(agent_->status().prefixes, (std::vector<std::string>{"/vnet/v1/host/host1/"}));
}

TEST_F(AgentTest, ResumesABrokenWatchWithoutMissingAnything) {
  put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.17.0.1","mac":"52:54:00:00:00:01"})");
  poll();
  int64_t resyncs = static_cast<int64_t>(agent_->status().resyncs);
  store_.set_available(false);
  poll();
  EXPECT_FALSE(agent_->status().connected);
  store_.set_available(true);
  // Written while the agent is away (it is backing off).
  put("/vnet/v1/vpc/7/route/172.17.0.5", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/vpc/7/route/172.17.0.6", R"({"host":"10.10.1.10"})");
  ASSERT_TRUE(store_.del("/vnet/v1/vpc/7/route/172.17.0.5").ok());
  settle();
  AgentStatus s = agent_->status();
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.reconnects, 1u);
  EXPECT_EQ(static_cast<int64_t>(s.resyncs), resyncs) << "a resume, not a full read";
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.6"), 1u);
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.5"), 0u);
  EXPECT_EQ(s.revision, store_.revision());
}

TEST_F(AgentTest, ResyncsAfterCompaction) {
  put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.17.0.1","mac":"52:54:00:00:00:01"})");
  put("/vnet/v1/vpc/7/route/172.17.0.5", R"({"host":"10.10.1.10"})");
  poll();
  store_.set_available(false);
  poll();
  store_.set_available(true);
  ASSERT_TRUE(store_.del("/vnet/v1/vpc/7/route/172.17.0.5").ok());
  put("/vnet/v1/vpc/7/route/172.17.0.6", R"({"host":"10.10.1.10"})");
  ASSERT_TRUE(store_.compact(store_.revision()).ok());
  size_t before = changes_;
  settle();
  AgentStatus s = agent_->status();
  EXPECT_EQ(s.compactions, 1u);
  EXPECT_EQ(s.resyncs, 2u);
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.5"), 0u);
  EXPECT_EQ(applied_.count("/vnet/v1/vpc/7/route/172.17.0.6"), 1u);
  // Only the difference was handed on: one delete, one put.
  EXPECT_EQ(changes_, before + 2);
}

TEST_F(AgentTest, RefusesMalformedValuesAndKeepsTheLastGoodOne) {
  put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.17.0.1","mac":"52:54:00:00:00:01"})");
  put("/vnet/v1/vpc/7/route/172.17.0.5", R"({"host":"10.10.1.10"})");
  poll();
  for (const char* bad : {"not json", R"({"host":"10.10.1.300"})", R"({"host":5})",
                          R"({"host":"10.10.1.1","extra":1})", "[]", R"({})"}) {
    put("/vnet/v1/vpc/7/route/172.17.0.5", bad);
  }
  put("/vnet/v1/vpc/7/route/172.17.0.x", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/vpc/7/bogus", "1");
  poll();
  AgentStatus s = agent_->status();
  EXPECT_EQ(s.refused, 8u);
  EXPECT_EQ(applied_["/vnet/v1/vpc/7/route/172.17.0.5"], R"({"host":"10.10.1.10"})");
  ASSERT_GE(warnings_.size(), 8u);
  EXPECT_NE(warnings_[1].find("/vnet/v1/vpc/7/route/172.17.0.5: host: \"10.10.1.300\" is not an "
                              "IPv4 address"),
            std::string::npos)
      << warnings_[1];
  // Fixed: applied.
  put("/vnet/v1/vpc/7/route/172.17.0.5", R"({"host":"10.10.1.11"})");
  poll();
  EXPECT_EQ(applied_["/vnet/v1/vpc/7/route/172.17.0.5"], R"({"host":"10.10.1.11"})");
  // A bad port does not make its VPC needed.
  put("/vnet/v1/host/host1/port/vm2", R"({"vpc":"8","ip":"172.18.0.1"})");
  poll();
  EXPECT_EQ(agent_->status().prefixes.size(), 2u);
}

// Random writes to a few hosts and VPCs, random outages and compactions, an agent restarted
// from nothing now and then (kill -9): at the end, what the agent handed on equals what the
// store holds for its host.
TEST_F(AgentTest, RandomisedConvergence) {
  std::mt19937 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int step = 0; step < 3000; ++step) {
    int what = pick(100);
    if (what < 35) {
      (void)store_.put(fmt_route(pick(4), pick(6)),
                       "{\"host\":\"10.10.1." + std::to_string(pick(3) + 1) + "\"}");
    } else if (what < 45) {
      (void)store_.del(fmt_route(pick(4), pick(6)));
    } else if (what < 60) {
      int host = pick(2) + 1;
      (void)store_.put(
          "/vnet/v1/host/host" + std::to_string(host) + "/port/p" + std::to_string(pick(3)),
          "{\"vpc\":" + std::to_string(pick(4)) + ",\"ip\":\"172.16.0." +
              std::to_string(pick(6) + 1) + "\"}");
    } else if (what < 68) {
      (void)store_.del("/vnet/v1/host/host1/port/p" + std::to_string(pick(3)));
    } else if (what < 74) {
      int v = pick(4), peer = pick(4);
      (void)store_.put("/vnet/v1/vpc/" + std::to_string(v) + "/subnet-route/10." +
                           std::to_string(peer) + ".0.0/16",
                       "{\"peer\":" + std::to_string(peer) + "}");
    } else if (what < 77) {
      std::string p = "/vnet/v1/vpc/" + std::to_string(pick(4)) + "/subnet-route/";
      (void)store_.del(p, prefix_end(p));
    } else if (what < 79) {
      (void)store_.put(fmt_route(pick(4), pick(6)), "garbage");
    } else if (what < 82) {
      store_.set_available(false);
    } else if (what < 86) {
      store_.set_available(true);
    } else if (what < 87) {
      store_.set_available(true);
      (void)store_.compact(store_.revision() - pick(5));
    } else if (what < 88) {
      applied_.clear();
      make_agent();
    }
    if (pick(3) == 0) poll();
  }
  store_.set_available(true);
  settle();
  // Expected: host1's keys, and the keys of its ports' VPCs and their peers, valid ones only.
  auto host = store_.range("/vnet/v1/host/host1/", prefix_end("/vnet/v1/host/host1/")).value();
  std::map<std::string, std::string> expect;
  std::set<uint32_t> vpcs, all;
  for (const KeyValue& kv : host.kvs) {
    auto e = schema::parse(kv.key, kv.value);
    if (auto* entry = std::get_if<schema::Entry>(&e)) {
      expect[kv.key] = schema::value(*entry);
      if (entry->ref.kind == Kind::Port) vpcs.insert(entry->port_vpc);
    }
  }
  all = vpcs;
  for (uint32_t v : vpcs) {
    auto p = schema::vpc_prefix(v) + "subnet-route/";
    auto got = store_.range(p, prefix_end(p));
    for (const KeyValue& kv : got.value().kvs) {
      auto e = schema::parse(kv.key, kv.value);
      if (auto* entry = std::get_if<schema::Entry>(&e)) all.insert(entry->peer);
    }
  }
  for (uint32_t v : all) {
    auto p = schema::vpc_prefix(v);
    auto got = store_.range(p, prefix_end(p));
    for (const KeyValue& kv : got.value().kvs) {
      auto e = schema::parse(kv.key, kv.value);
      if (auto* entry = std::get_if<schema::Entry>(&e)) expect[kv.key] = schema::value(*entry);
    }
  }
  // Keys whose newest value is garbage keep their last good value: drop them from both sides.
  for (auto it = applied_.begin(); it != applied_.end();) {
    auto got = store_.range(it->first, "").value();
    bool garbage = !got.kvs.empty() && got.kvs[0].value == "garbage";
    it = garbage ? applied_.erase(it) : std::next(it);
  }
  EXPECT_EQ(applied_, expect);
  EXPECT_EQ(agent_->status().revision, store_.revision());
}

}  // namespace
}  // namespace vnet::ctrl
