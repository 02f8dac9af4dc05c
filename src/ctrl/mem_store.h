// MemStore: an in-process Store with etcd v3's semantics, for the simulator (labs need no etcd
// server) and as the oracle of the store tests.  It keeps every key's versions (MVCC) so that a
// range at an older revision and a watch from one are answered as etcd answers them, until
// compact() forgets them.
//
// Watches are delivered when the writing txn commits: each stream queues one response per
// revision per matching watch, and read() takes them without waiting.  on_commit() tells the
// owner (the lab runner) that a revision was written, so it can let the agents read.
//
// Faults for tests: set_available(false) makes every call fail with Unavailable and breaks
// every open stream, as an etcd outage does to a client; set_available(true) ends it.
//
// Example:
//   MemStore s; auto w = s.watch().value(); w->create({.watch_id = 1, .key = "/a"});
//   s.put("/a", "x");  w->read(&r, 0) -> created; w->read(&r, 0) -> r.events[0].kv.value == "x"
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "ctrl/store.h"

namespace vnet::ctrl {

class MemStore : public Store {
 public:
  MemStore();
  ~MemStore() override;

  Result<RangeResponse> range(const std::string& key, const std::string& range_end,
                              int64_t revision = 0) override;
  Result<TxnResponse> txn(const TxnRequest& request) override;
  Result<int64_t> compact(int64_t revision) override;
  Result<StoreStatus> status() override;
  Result<std::unique_ptr<WatchStream>> watch() override;
  std::string describe() const override { return "embedded"; }

  void set_available(bool available);
  // Called (outside the store's lock) after every txn that wrote, with its revision.
  void on_commit(std::function<void(int64_t)> fn);
  int64_t revision() const;
  int64_t compact_revision() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace vnet::ctrl
