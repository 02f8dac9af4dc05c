#include "ctrl/mem_store.h"

#include <algorithm>
#include <deque>
#include <set>

namespace vnet::ctrl {

namespace {

// One version of a key: a put, or the delete that ended it (a tombstone).
struct Version {
  KeyValue kv;
  bool deleted = false;
};

Error compacted_error() {
  return {Code::Compacted, "mvcc: required revision has been compacted"};
}
Error future_error() {
  return {Code::FutureRevision, "mvcc: required revision is a future revision"};
}
Error unavailable_error() {
  return {Code::Unavailable, "embedded store unavailable"};
}

}  // namespace

class MemWatchStream;

struct MemStore::State {
  mutable std::mutex mu;
  bool available = true;
  int64_t revision = 1;
  int64_t compacted = 0;
  std::map<std::string, std::vector<Version>> keys;
  // Every writing revision's events, oldest first, from the compaction on.
  std::deque<std::pair<int64_t, std::vector<Event>>> log;
  std::set<MemWatchStream*> streams;
  std::function<void(int64_t)> on_commit;

  // The key's version visible at rev, or null.
  const Version* at(const std::vector<Version>& versions, int64_t rev) const {
    const Version* found = nullptr;
    for (const Version& v : versions) {
      if (v.kv.mod_revision > rev) break;
      found = &v;
    }
    return found != nullptr && !found->deleted ? found : nullptr;
  }
  const Version* current(const std::string& key) const {
    auto it = keys.find(key);
    return it == keys.end() ? nullptr : at(it->second, revision);
  }
  void deliver(int64_t rev, const std::vector<Event>& events);
};

struct Watcher {
  WatchCreate request;
  int64_t next_revision = 0;
};

class MemWatchStream : public WatchStream {
 public:
  explicit MemWatchStream(std::shared_ptr<MemStore::State> state) : state_(std::move(state)) {
    state_->streams.insert(this);
  }
  ~MemWatchStream() override {
    std::lock_guard lock(state_->mu);
    state_->streams.erase(this);
  }

  bool create(const WatchCreate& request) override {
    std::lock_guard lock(state_->mu);
    if (broken_) return false;
    WatchResponse created;
    created.watch_id = request.watch_id;
    created.revision = state_->revision;
    created.created = true;
    if (watchers_.count(request.watch_id) != 0 || request.watch_id < 0) {
      created.canceled = true;
      created.cancel_reason = "mvcc: watcher ID already exists";
      queue_.push_back(created);
      return true;
    }
    queue_.push_back(created);
    if (request.start_revision != 0 && request.start_revision < state_->compacted) {
      // etcd: a watcher below the compaction is canceled with the compacted revision.
      WatchResponse canceled;
      canceled.watch_id = request.watch_id;
      canceled.revision = state_->revision;
      canceled.canceled = true;
      canceled.compact_revision = state_->compacted;
      canceled.cancel_reason = compacted_error().message;
      queue_.push_back(canceled);
      return true;
    }
    Watcher w{request, request.start_revision == 0 ? state_->revision + 1 : request.start_revision};
    // Catch up from the history.
    for (const auto& [rev, events] : state_->log) {
      if (rev < w.next_revision) continue;
      push_matching(w, rev, events);
    }
    watchers_[request.watch_id] = w;
    return true;
  }

  bool cancel(int64_t watch_id) override {
    std::lock_guard lock(state_->mu);
    if (broken_) return false;
    if (watchers_.erase(watch_id) != 0) {
      WatchResponse r;
      r.watch_id = watch_id;
      r.revision = state_->revision;
      r.canceled = true;
      queue_.push_back(r);
    }
    return true;
  }

  bool request_progress() override {
    std::lock_guard lock(state_->mu);
    if (broken_) return false;
    WatchResponse r;
    r.watch_id = -1;
    r.revision = state_->revision;
    queue_.push_back(r);
    return true;
  }

  ReadResult read(WatchResponse* out, int /*timeout_ms*/) override {
    std::lock_guard lock(state_->mu);
    if (!queue_.empty()) {
      *out = std::move(queue_.front());
      queue_.pop_front();
      return ReadResult::Response;
    }
    return broken_ ? ReadResult::Broken : ReadResult::Timeout;
  }

  // Called with the state's lock held.
  void on_events(int64_t rev, const std::vector<Event>& events) {
    for (auto& [id, w] : watchers_) {
      if (rev >= w.next_revision) push_matching(w, rev, events);
    }
  }
  void break_stream() {
    broken_ = true;
    queue_.clear();
    watchers_.clear();
  }

 private:
  void push_matching(Watcher& w, int64_t rev, const std::vector<Event>& events) {
    WatchResponse r;
    r.watch_id = w.request.watch_id;
    r.revision = rev;
    for (const Event& e : events) {
      if (in_range(e.kv.key, w.request.key, w.request.range_end)) r.events.push_back(e);
    }
    w.next_revision = rev + 1;
    if (!r.events.empty()) queue_.push_back(std::move(r));
  }

  std::shared_ptr<MemStore::State> state_;
  std::map<int64_t, Watcher> watchers_;
  std::deque<WatchResponse> queue_;
  bool broken_ = false;
};

void MemStore::State::deliver(int64_t rev, const std::vector<Event>& events) {
  for (MemWatchStream* s : streams) s->on_events(rev, events);
}

MemStore::MemStore() : state_(std::make_shared<State>()) {}

MemStore::~MemStore() {
  std::lock_guard lock(state_->mu);
  for (MemWatchStream* s : state_->streams) s->break_stream();
}

Result<RangeResponse> MemStore::range(const std::string& key, const std::string& range_end,
                                      int64_t revision) {
  std::lock_guard lock(state_->mu);
  if (!state_->available) return unavailable_error();
  if (key.empty()) return Error{Code::InvalidArgument, "etcdserver: key is not provided"};
  if (revision > state_->revision) return future_error();
  if (revision > 0 && revision < state_->compacted) return compacted_error();
  int64_t rev = revision > 0 ? revision : state_->revision;
  RangeResponse out;
  out.revision = state_->revision;
  auto it = state_->keys.lower_bound(key);
  for (; it != state_->keys.end() && in_range(it->first, key, range_end); ++it) {
    if (const Version* v = state_->at(it->second, rev)) out.kvs.push_back(v->kv);
    if (range_end.empty()) break;
  }
  return out;
}

namespace {

bool compare_holds(const Compare& c, const Version* v) {
  if (v == nullptr && c.target == Compare::Target::Value) return false;
  int cmp = 0;
  if (c.target == Compare::Target::Value) {
    cmp = v->kv.value.compare(c.value);
  } else {
    int64_t have = 0;
    if (v != nullptr) {
      have = c.target == Compare::Target::Version  ? v->kv.version
             : c.target == Compare::Target::Create ? v->kv.create_revision
                                                   : v->kv.mod_revision;
    }
    cmp = have < c.number ? -1 : have > c.number ? 1 : 0;
  }
  switch (c.result) {
    case Compare::Result::Equal:
      return cmp == 0;
    case Compare::Result::NotEqual:
      return cmp != 0;
    case Compare::Result::Greater:
      return cmp > 0;
    case Compare::Result::Less:
      return cmp < 0;
  }
  return false;
}

}  // namespace

Result<TxnResponse> MemStore::txn(const TxnRequest& request) {
  std::function<void(int64_t)> notify;
  TxnResponse out;
  {
    std::lock_guard lock(state_->mu);
    if (!state_->available) return unavailable_error();
    for (const std::vector<Op>* ops : {&request.success, &request.failure}) {
      // etcd's checkRequestPut/checkIntervals: a key may be written once per txn branch.
      std::set<std::string> puts;
      for (const Op& op : *ops) {
        if (op.key.empty()) return Error{Code::InvalidArgument, "etcdserver: key is not provided"};
        if (op.type == Op::Type::Put && !puts.insert(op.key).second) {
          return Error{Code::InvalidArgument, "etcdserver: duplicate key given in txn request"};
        }
      }
      for (const Op& op : *ops) {
        if (op.type != Op::Type::Delete) continue;
        for (const std::string& k : puts) {
          if (in_range(k, op.key, op.range_end)) {
            return Error{Code::InvalidArgument, "etcdserver: duplicate key given in txn request"};
          }
        }
      }
    }
    for (const Compare& c : request.compare) {
      if (c.key.empty()) return Error{Code::InvalidArgument, "etcdserver: key is not provided"};
    }
    auto holds = [&](const Compare& c) {
      if (c.range_end.empty()) return compare_holds(c, state_->current(c.key));
      bool any = false;
      for (auto it = state_->keys.lower_bound(c.key);
           it != state_->keys.end() && in_range(it->first, c.key, c.range_end); ++it) {
        const Version* v = state_->current(it->first);
        if (v == nullptr) continue;
        any = true;
        if (!compare_holds(c, v)) return false;
      }
      return any || compare_holds(c, nullptr);
    };
    out.succeeded = std::all_of(request.compare.begin(), request.compare.end(), holds);
    const std::vector<Op>& ops = out.succeeded ? request.success : request.failure;
    int64_t rev = state_->revision + 1;
    std::vector<Event> events;
    for (const Op& op : ops) {
      if (op.type == Op::Type::Put) {
        const Version* cur = state_->current(op.key);
        Version v;
        v.kv.key = op.key;
        v.kv.value = op.value;
        v.kv.mod_revision = rev;
        v.kv.create_revision = cur != nullptr ? cur->kv.create_revision : rev;
        v.kv.version = cur != nullptr ? cur->kv.version + 1 : 1;
        state_->keys[op.key].push_back(v);
        events.push_back({Event::Type::Put, v.kv});
      } else {
        std::vector<std::string> doomed;
        for (auto it = state_->keys.lower_bound(op.key);
             it != state_->keys.end() && in_range(it->first, op.key, op.range_end); ++it) {
          if (state_->at(it->second, state_->revision + 1) != nullptr) doomed.push_back(it->first);
          if (op.range_end.empty()) break;
        }
        for (const std::string& k : doomed) {
          Version v;
          v.kv.key = k;
          v.kv.mod_revision = rev;
          v.deleted = true;
          state_->keys[k].push_back(v);
          events.push_back({Event::Type::Delete, v.kv});
        }
      }
    }
    if (!events.empty()) {
      state_->revision = rev;
      state_->log.emplace_back(rev, events);
      state_->deliver(rev, events);
      notify = state_->on_commit;
    }
    out.revision = state_->revision;
  }
  if (notify) notify(out.revision);
  return out;
}

Result<int64_t> MemStore::compact(int64_t revision) {
  std::lock_guard lock(state_->mu);
  if (!state_->available) return unavailable_error();
  if (revision <= state_->compacted) return compacted_error();
  if (revision > state_->revision) return future_error();
  state_->compacted = revision;
  while (!state_->log.empty() && state_->log.front().first < revision) state_->log.pop_front();
  for (auto it = state_->keys.begin(); it != state_->keys.end();) {
    std::vector<Version>& vs = it->second;
    // Keep the version visible at `revision` (unless a tombstone) and everything after it.
    size_t keep_from = 0;
    for (size_t i = 0; i < vs.size() && vs[i].kv.mod_revision <= revision; ++i) keep_from = i;
    if (!vs.empty() && vs[keep_from].kv.mod_revision <= revision && vs[keep_from].deleted) {
      ++keep_from;
    }
    vs.erase(vs.begin(), vs.begin() + static_cast<std::ptrdiff_t>(keep_from));
    it = vs.empty() ? state_->keys.erase(it) : std::next(it);
  }
  return state_->revision;
}

Result<StoreStatus> MemStore::status() {
  std::lock_guard lock(state_->mu);
  if (!state_->available) return unavailable_error();
  StoreStatus s;
  s.revision = state_->revision;
  s.member_id = 1;
  s.leader = 1;
  s.raft_term = 1;
  s.version = "embedded";
  s.endpoint = "embedded";
  return s;
}

Result<std::unique_ptr<WatchStream>> MemStore::watch() {
  std::lock_guard lock(state_->mu);
  if (!state_->available) return unavailable_error();
  return std::unique_ptr<WatchStream>(std::make_unique<MemWatchStream>(state_));
}

void MemStore::set_available(bool available) {
  std::lock_guard lock(state_->mu);
  state_->available = available;
  if (!available) {
    for (MemWatchStream* s : state_->streams) s->break_stream();
  }
}

void MemStore::on_commit(std::function<void(int64_t)> fn) {
  std::lock_guard lock(state_->mu);
  state_->on_commit = std::move(fn);
}

int64_t MemStore::revision() const {
  std::lock_guard lock(state_->mu);
  return state_->revision;
}

int64_t MemStore::compact_revision() const {
  std::lock_guard lock(state_->mu);
  return state_->compacted;
}

}  // namespace vnet::ctrl
