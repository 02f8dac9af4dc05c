// One scripted test of the Store interface, run against the embedded MemStore and against a
// real etcd (Debian's 3.4) started for the test: the embedded store must answer as etcd does.
#include <gtest/gtest.h>

#include <memory>

#include "ctrl/etcd_store.h"
#include "ctrl/mem_store.h"
#include "etcd_process.h"

namespace vnet::ctrl {
namespace {

enum class Backend { Mem, Etcd };

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::Mem) {
      store_ = std::make_unique<MemStore>();
      return;
    }
    if (!test::have_etcd()) GTEST_SKIP() << "etcd-server is not installed";
    cluster_ = std::make_unique<test::EtcdCluster>(1);
    ASSERT_TRUE(cluster_->wait_ready()) << "etcd did not start";
    store_ = std::move(EtcdStore::connect(cluster_->endpoints()).value());
  }
  // Reads until n events arrived (or 3 s passed).
  std::vector<Event> events(WatchStream& w, size_t n, std::vector<WatchResponse>* all = nullptr) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      WatchResponse r;
      if (w.read(&r, 100) != WatchStream::ReadResult::Response) continue;
      if (all) all->push_back(r);
      out.insert(out.end(), r.events.begin(), r.events.end());
    }
    return out;
  }
  WatchResponse next(WatchStream& w) {
    WatchResponse r;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < deadline) {
      if (w.read(&r, 100) == WatchStream::ReadResult::Response) return r;
    }
    ADD_FAILURE() << "no watch response";
    return r;
  }
  int64_t rev() { return store_->range("/", "").value().revision; }

  std::unique_ptr<test::EtcdCluster> cluster_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, RevisionsAndVersions) {
  int64_t r0 = rev();
  EXPECT_EQ(store_->put("/t/a", "1").value(), r0 + 1);
  EXPECT_EQ(store_->put("/t/a", "2").value(), r0 + 2);
  EXPECT_EQ(store_->put("/t/b", "x").value(), r0 + 3);
  auto got = store_->range("/t/a", "");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got.value().kvs.size(), 1u);
  KeyValue a = got.value().kvs[0];
  EXPECT_EQ(a.value, "2");
  EXPECT_EQ(a.create_revision, r0 + 1);
  EXPECT_EQ(a.mod_revision, r0 + 2);
  EXPECT_EQ(a.version, 2);
  EXPECT_EQ(got.value().revision, r0 + 3);
  // Deleted and put again: a new life, version 1.
  EXPECT_EQ(store_->del("/t/a").value(), r0 + 4);
  EXPECT_EQ(store_->put("/t/a", "3").value(), r0 + 5);
  a = store_->range("/t/a", "").value().kvs.at(0);
  EXPECT_EQ(a.create_revision, r0 + 5);
  EXPECT_EQ(a.version, 1);
  // Deleting nothing writes nothing.
  EXPECT_EQ(store_->del("/t/none").value(), r0 + 5);
}

TEST_P(StoreTest, RangePrefixAndHistory) {
  int64_t r0 = rev();
  store_->put("/p/a", "1");
  store_->put("/p/b", "1");
  store_->put("/pz", "1");
  store_->put("/p/a", "2");
  auto all = store_->range("/p/", prefix_end("/p/")).value();
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[0].key, "/p/a");
  EXPECT_EQ(all.kvs[0].value, "2");
  EXPECT_EQ(all.kvs[1].key, "/p/b");
  auto old = store_->range("/p/", prefix_end("/p/"), r0 + 1).value();
  ASSERT_EQ(old.kvs.size(), 1u);
  EXPECT_EQ(old.kvs[0].value, "1");
  auto future = store_->range("/p/", prefix_end("/p/"), r0 + 100);
  EXPECT_EQ(future.code(), Code::FutureRevision);
  ASSERT_TRUE(store_->compact(r0 + 3).ok());
  EXPECT_EQ(store_->range("/p/", prefix_end("/p/"), r0 + 2).code(), Code::Compacted);
  EXPECT_EQ(store_->range("/p/", prefix_end("/p/"), r0 + 3).value().kvs.size(), 2u);
  EXPECT_EQ(store_->compact(r0 + 2).code(), Code::Compacted);
}

TEST_P(StoreTest, TxnComparesAndBranches) {
  // Create only if absent.
  TxnRequest create;
  create.compare.push_back({"/x/k", Compare::Target::Create, Compare::Result::Equal, 0, {}, {}});
  create.success.push_back({Op::Type::Put, "/x/k", "v1", {}});
  create.failure.push_back({Op::Type::Put, "/x/lost", "1", {}});
  auto r1 = store_->txn(create);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(r1.value().succeeded);
  auto r2 = store_->txn(create);
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2.value().succeeded);
  EXPECT_EQ(store_->range("/x/lost", "").value().kvs.size(), 1u);
  // Compare on the mod revision and on the value; several keys at one revision.
  int64_t mod = store_->range("/x/k", "").value().kvs.at(0).mod_revision;
  TxnRequest t;
  t.compare.push_back({"/x/k", Compare::Target::Mod, Compare::Result::Equal, mod, {}, {}});
  t.compare.push_back({"/x/k", Compare::Target::Value, Compare::Result::Equal, 0, "v1", {}});
  t.success.push_back({Op::Type::Put, "/x/k", "v2", {}});
  t.success.push_back({Op::Type::Put, "/x/j", "v2", {}});
  t.success.push_back({Op::Type::Delete, "/x/lost", {}, {}});
  auto r3 = store_->txn(t);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(r3.value().succeeded);
  auto kvs = store_->range("/x/", prefix_end("/x/")).value().kvs;
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].mod_revision, kvs[1].mod_revision);
  EXPECT_EQ(kvs[0].mod_revision, r3.value().revision);
  // The same compare now fails: nothing of it is applied.
  auto r4 = store_->txn(t);
  ASSERT_TRUE(r4.ok());
  EXPECT_FALSE(r4.value().succeeded);
  EXPECT_EQ(r4.value().revision, r3.value().revision);
  // Greater / Less / NotEqual on a missing key compare against 0; Value on it fails.
  TxnRequest missing;
  missing.compare.push_back(
      {"/x/none", Compare::Target::Version, Compare::Result::Less, 1, {}, {}});
  missing.compare.push_back(
      {"/x/k", Compare::Target::Version, Compare::Result::Greater, 1, {}, {}});
  missing.compare.push_back(
      {"/x/k", Compare::Target::Value, Compare::Result::NotEqual, 0, "v1", {}});
  EXPECT_TRUE(store_->txn(missing).value().succeeded);
  missing.compare.push_back(
      {"/x/none", Compare::Target::Value, Compare::Result::NotEqual, 0, "a", {}});
  EXPECT_FALSE(store_->txn(missing).value().succeeded);
}

TEST_P(StoreTest, TxnComparesOverARange) {
  ASSERT_TRUE(store_->put("/r/a", "1").ok());
  int64_t at = store_->put("/r/b", "2").value();
  // "Nothing in /r/ changed since `at`" holds, then fails once a key is added or changed.
  TxnRequest t;
  t.compare.push_back(
      {"/r/", Compare::Target::Mod, Compare::Result::Less, at + 1, {}, prefix_end("/r/")});
  t.success.push_back({Op::Type::Put, "/r/ok", "1", {}});
  auto r1 = store_->txn(t);
  ASSERT_TRUE(r1.ok());
  EXPECT_TRUE(r1.value().succeeded);
  auto r2 = store_->txn(t);  // /r/ok itself is newer than `at` now
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2.value().succeeded);
  // An empty range compares as one absent key: revisions 0, and a value compare fails.
  TxnRequest empty;
  empty.compare.push_back(
      {"/none/", Compare::Target::Mod, Compare::Result::Less, 1, {}, prefix_end("/none/")});
  auto r3 = store_->txn(empty);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(r3.value().succeeded);
  empty.compare.push_back(
      {"/none/", Compare::Target::Value, Compare::Result::Equal, 0, "", prefix_end("/none/")});
  auto r4 = store_->txn(empty);
  ASSERT_TRUE(r4.ok());
  EXPECT_FALSE(r4.value().succeeded);
}

TEST_P(StoreTest, TxnRefusesDuplicateKeys) {
  TxnRequest t;
  t.success.push_back({Op::Type::Put, "/d/k", "1", {}});
  t.success.push_back({Op::Type::Put, "/d/k", "2", {}});
  auto r = store_->txn(t);
  EXPECT_EQ(r.code(), Code::InvalidArgument);
  EXPECT_NE(r.error().message.find("duplicate key"), std::string::npos) << r.error().message;
  TxnRequest u;
  u.success.push_back({Op::Type::Put, "/d/k", "1", {}});
  u.success.push_back({Op::Type::Delete, "/d/", {}, prefix_end("/d/")});
  EXPECT_EQ(store_->txn(u).code(), Code::InvalidArgument);
  EXPECT_TRUE(store_->range("/d/", prefix_end("/d/")).value().kvs.empty());
}

TEST_P(StoreTest, WatchFromHistoryThenLive) {
  int64_t r0 = rev();
  store_->put("/w/a", "1");
  store_->put("/other", "1");
  store_->put("/w/b", "1");
  auto w = store_->watch();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w.value()->create({1, "/w/", prefix_end("/w/"), r0 + 1, false}));
  ASSERT_TRUE(w.value()->create({2, "/other", "", 0, false}));
  auto history = events(*w.value(), 2);
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].kv.key, "/w/a");
  EXPECT_EQ(history[0].kv.mod_revision, r0 + 1);
  EXPECT_EQ(history[1].kv.key, "/w/b");
  TxnRequest t;
  t.success.push_back({Op::Type::Put, "/w/c", "2", {}});
  t.success.push_back({Op::Type::Delete, "/w/a", {}, {}});
  int64_t rt = store_->txn(t).value().revision;
  std::vector<WatchResponse> all;
  auto live = events(*w.value(), 2, &all);
  ASSERT_EQ(live.size(), 2u);
  EXPECT_EQ(live[0].type, Event::Type::Put);
  EXPECT_EQ(live[0].kv.key, "/w/c");
  EXPECT_EQ(live[1].type, Event::Type::Delete);
  EXPECT_EQ(live[1].kv.key, "/w/a");
  EXPECT_EQ(live[1].kv.mod_revision, rt);
  for (const WatchResponse& r : all) {
    EXPECT_TRUE(r.watch_id != 2 || r.events.empty()) << "a watch of /other saw /w/";
  }
  // Canceled: no more events for it.
  ASSERT_TRUE(w.value()->cancel(1));
  store_->put("/w/d", "1");
  store_->put("/other", "2");
  auto after = events(*w.value(), 1, &all);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].kv.key, "/other");
}

TEST_P(StoreTest, WatchBelowCompactionIsCanceled) {
  int64_t r0 = rev();
  store_->put("/c/a", "1");
  store_->put("/c/a", "2");
  store_->put("/c/a", "3");
  ASSERT_TRUE(store_->compact(r0 + 3).ok());
  auto w = std::move(store_->watch().value());
  ASSERT_TRUE(w->create({7, "/c/", prefix_end("/c/"), r0 + 1, false}));
  bool canceled = false;
  int64_t compact = 0;
  for (int i = 0; i < 3 && !canceled; ++i) {
    WatchResponse r = next(*w);
    canceled = r.canceled;
    compact = r.compact_revision;
  }
  EXPECT_TRUE(canceled);
  EXPECT_EQ(compact, r0 + 3);
  // From the compaction on, the history is there.
  auto w2 = std::move(store_->watch().value());
  ASSERT_TRUE(w2->create({8, "/c/", prefix_end("/c/"), r0 + 3, false}));
  auto ev = events(*w2, 1);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kv.value, "3");
}

TEST_P(StoreTest, ProgressCarriesTheRevision) {
  auto w = std::move(store_->watch().value());
  ASSERT_TRUE(w->create({3, "/g/", prefix_end("/g/"), 0, false}));
  int64_t r = store_->put("/elsewhere", "1").value();
  ASSERT_TRUE(w->request_progress());
  bool seen = false;
  for (int i = 0; i < 4 && !seen; ++i) {
    WatchResponse resp = next(*w);
    if (resp.watch_id == -1) {
      seen = true;
      EXPECT_GE(resp.revision, r);
      EXPECT_TRUE(resp.events.empty());
    }
  }
  EXPECT_TRUE(seen);
}

TEST_P(StoreTest, EmptyKeyIsRefused) {
  EXPECT_EQ(store_->put("", "1").code(), Code::InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::Mem, Backend::Etcd),
                         [](const auto& p) {
                           return std::string(p.param == Backend::Mem ? "Embedded" : "Etcd");
                         });

TEST(EtcdEndpoints, Parse) {
  auto ok = EtcdStore::parse_endpoints("http://127.0.0.1:2379,127.0.0.2:22379/");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), (std::vector<std::string>{"127.0.0.1:2379", "127.0.0.2:22379"}));
  EXPECT_FALSE(EtcdStore::parse_endpoints("").ok());
  EXPECT_FALSE(EtcdStore::parse_endpoints("127.0.0.1").ok());
  EXPECT_FALSE(EtcdStore::parse_endpoints("127.0.0.1:x").ok());
  auto unix_socket = EtcdStore::parse_endpoints("unix:///run/vnet/lab/localhost:2379");
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_EQ(unix_socket.value(), (std::vector<std::string>{"unix:/run/vnet/lab/localhost:2379"}));
  EXPECT_FALSE(EtcdStore::parse_endpoints("unix://").ok());
  EXPECT_FALSE(EtcdStore::connect("unix:///a:1,127.0.0.1:2379").ok());
  auto tls = EtcdStore::parse_endpoints("https://127.0.0.1:2379");
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.error().message.find("only http://"), std::string::npos);
}

TEST(EtcdStoreDown, CallsFailWithUnavailable) {
  // Nothing listens on this port (loopback only).
  auto s = std::move(EtcdStore::connect("127.0.0.1:1", {.timeout_ms = 300}).value());
  auto r = s->put("/a", "1");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.code() == Code::Unavailable || r.code() == Code::DeadlineExceeded)
      << r.error().message;
  auto w = std::move(s->watch().value());
  WatchResponse resp;
  (void)w->create({1, "/a", "", 0, false});
  WatchStream::ReadResult got = WatchStream::ReadResult::Timeout;
  for (int i = 0; i < 30 && got == WatchStream::ReadResult::Timeout; ++i) got = w->read(&resp, 100);
  EXPECT_EQ(got, WatchStream::ReadResult::Broken);
}

}  // namespace
}  // namespace vnet::ctrl
