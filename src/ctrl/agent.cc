#include "ctrl/agent.h"

#include <fmt/format.h>

#include <algorithm>

namespace vnet::ctrl {

namespace {

constexpr int64_t kHostWatchId = 1;
// VPC v's watch: v + 2 (ids are int64, VPC ids uint32: no collision with the host's).
constexpr int64_t kVpcWatchBase = 2;

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Agent::Agent(Store& store, Options options, Sink sink, Log log)
    : store_(store), options_(std::move(options)), sink_(std::move(sink)), log_(std::move(log)) {
  st_.node = options_.node;
  st_.store = store_.describe();
  status_ = st_;
}

Agent::~Agent() = default;

int64_t Agent::watch_id(const std::string& prefix) const {
  if (prefix == schema::host_prefix(options_.node)) return kHostWatchId;
  // "/vnet/v1/vpc/<id>/"
  std::string base = std::string(schema::kRoot) + "vpc/";
  return kVpcWatchBase + std::stoll(prefix.substr(base.size(), prefix.size() - base.size() - 1));
}

void Agent::poll(int wait_ms, uint64_t now_ms) {
  if (!stream_) {
    if (now_ms < retry_at_ms_) {
      update_status();
      return;
    }
    if (!connect(now_ms)) {
      update_status();
      return;
    }
  }
  WatchResponse r;
  int wait = wait_ms;
  bool asked_progress = false;
  while (stream_) {
    WatchStream::ReadResult got = stream_->read(&r, wait);
    wait = 0;
    if (got == WatchStream::ReadResult::Broken) {
      disconnect("the watch stream broke", now_ms);
      break;
    }
    if (got == WatchStream::ReadResult::Timeout) {
      if (!asked_progress && now_ms >= next_progress_ms_) {
        // The store's revision, for the lag; the embedded store answers before the next read.
        asked_progress = true;
        next_progress_ms_ = now_ms + static_cast<uint64_t>(options_.progress_interval_ms);
        if (!stream_->request_progress()) disconnect("the watch stream broke", now_ms);
        continue;
      }
      break;
    }
    handle(r, now_ms);
  }
  update_status();
}

bool Agent::connect(uint64_t now_ms) {
  if (!synced_) return full_sync(now_ms);
  if (!open_stream()) {
    disconnect("cannot open a watch stream", now_ms);
    return false;
  }
  ++st_.reconnects;
  log_(Level::Info, fmt::format("watch stream re-opened to {}: resuming {} watches",
                                store_.describe(), watches_.size()));
  return true;
}

bool Agent::open_stream() {
  auto s = store_.watch();
  if (!s.ok()) return false;
  stream_ = std::move(s.value());
  for (const auto& [id, w] : watches_) {
    WatchCreate c;
    c.watch_id = id;
    c.key = w.prefix;
    c.range_end = prefix_end(w.prefix);
    c.start_revision = w.next_revision;
    if (!stream_->create(c)) {
      stream_.reset();
      return false;
    }
  }
  return true;
}

bool Agent::full_sync(uint64_t now_ms) {
  std::vector<Change> changes;
  auto fail = [&](const Error& e) {
    emit(changes, now_ms);
    disconnect(fmt::format("{} ({})", e.message, code_name(e.code)), now_ms);
    return false;
  };
  // The prefix's keys at rev, into the mirror: what changed becomes events.
  auto read_prefix = [&](const std::string& prefix, int64_t rev) -> std::optional<Error> {
    auto got = store_.range(prefix, prefix_end(prefix), rev);
    if (!got.ok()) return got.error();
    if (rev == 0) rev = got.value().revision;
    std::set<std::string> present;
    for (const KeyValue& kv : got.value().kvs) {
      present.insert(kv.key);
      apply_event({Event::Type::Put, kv}, &changes);
    }
    std::vector<std::string> gone;
    for (auto it = mirror_.lower_bound(prefix);
         it != mirror_.end() && starts_with(it->first, prefix); ++it) {
      if (present.count(it->first) == 0) gone.push_back(it->first);
    }
    for (const std::string& k : gone) {
      KeyValue kv;
      kv.key = k;
      kv.mod_revision = rev;
      apply_event({Event::Type::Delete, kv}, &changes);
    }
    return std::nullopt;
  };

  stream_.reset();
  std::string host = schema::host_prefix(options_.node);
  auto head = store_.range(host, prefix_end(host));
  if (!head.ok()) return fail(head.error());
  int64_t rev = head.value().revision;
  if (auto e = read_prefix(host, rev)) return fail(*e);
  std::set<uint32_t> read;
  for (int round = 0; round < 3; ++round) {
    bool more = false;
    for (uint32_t v : needed_vpcs()) {
      if (read.count(v) != 0) continue;
      if (auto e = read_prefix(schema::vpc_prefix(v), rev)) return fail(*e);
      read.insert(v);
      more = true;
    }
    if (!more) break;
  }
  std::set<uint32_t> needed = needed_vpcs();
  // VPCs the mirror has but the host no longer needs.
  std::set<std::string> stale;
  std::string vpc_root = std::string(schema::kRoot) + "vpc/";
  for (auto it = mirror_.lower_bound(vpc_root);
       it != mirror_.end() && starts_with(it->first, vpc_root); ++it) {
    if (it->second.applied && needed.count(it->second.applied->ref.vpc) == 0) {
      stale.insert(schema::vpc_prefix(it->second.applied->ref.vpc));
    } else if (!it->second.applied) {
      // A refused key of a VPC no longer read: forget it too.
      auto ref = schema::parse_key(it->first);
      if (auto* r = std::get_if<schema::KeyRef>(&ref); r != nullptr && needed.count(r->vpc) == 0) {
        stale.insert(schema::vpc_prefix(r->vpc));
      }
    }
  }
  for (const std::string& p : stale) drop_prefix(p, rev, &changes);

  watches_.clear();
  watches_[kHostWatchId] = {host, rev + 1};
  for (uint32_t v : needed) watches_[kVpcWatchBase + v] = {schema::vpc_prefix(v), rev + 1};
  applied_revision_ = std::max(applied_revision_, rev);
  store_revision_ = std::max(store_revision_, rev);
  synced_ = true;
  ++st_.resyncs;
  st_.last_contact_ms = now_ms;
  st_.contacted = true;
  emit(changes, now_ms);
  log_(Level::Info, fmt::format("synced with {} at revision {}: {} keys, {} VPCs",
                                store_.describe(), rev, mirror_.size(), needed.size()));
  if (!open_stream()) {
    disconnect("cannot open a watch stream", now_ms);
    return false;
  }
  backoff_ms_ = 0;
  return true;
}

void Agent::handle(const WatchResponse& r, uint64_t now_ms) {
  st_.last_contact_ms = now_ms;
  st_.contacted = true;
  if (!st_.connected) {
    st_.connected = true;
    backoff_ms_ = 0;
  }
  store_revision_ = std::max(store_revision_, r.revision);
  if (r.watch_id == -1) {
    // A progress response for the stream: every watch has seen everything up to r.revision.
    // (Only for the status: resumption keeps each watch's own revision.)
    applied_revision_ = std::max(applied_revision_, r.revision);
    return;
  }
  auto it = watches_.find(r.watch_id);
  if (it == watches_.end()) return;  // a watch dropped since
  if (r.canceled) {
    if (r.compact_revision > 0) {
      ++st_.compactions;
      log_(Level::Warn,
           fmt::format("watch of {} from revision {} was compacted (compact revision {}): "
                       "resyncing",
                       it->second.prefix, it->second.next_revision, r.compact_revision));
      synced_ = false;
      stream_.reset();
      retry_at_ms_ = now_ms;
      full_sync(now_ms);
    } else {
      disconnect(fmt::format("watch of {} canceled: {}", it->second.prefix,
                             r.cancel_reason.empty() ? "no reason given" : r.cancel_reason),
                 now_ms);
    }
    return;
  }
  if (r.created) return;
  if (r.events.empty()) {
    // progress_notify: nothing of this prefix changed up to r.revision.
    it->second.next_revision = std::max(it->second.next_revision, r.revision + 1);
    return;
  }
  std::vector<Change> changes;
  bool membership = it->first == kHostWatchId;
  int64_t last = 0;
  for (const Event& e : r.events) {
    // Older than the watch's start: queued before it was re-created.
    if (e.kv.mod_revision < it->second.next_revision) continue;
    if (!starts_with(e.kv.key, it->second.prefix)) continue;
    membership = membership || e.kv.key.find("/subnet-route/") != std::string::npos;
    apply_event(e, &changes);
    last = e.kv.mod_revision;
  }
  if (last == 0) return;
  it->second.next_revision = last + 1;
  applied_revision_ = std::max(applied_revision_, last);
  if (membership) reconcile_vpcs(last, &changes);
  emit(changes, now_ms);
}

void Agent::apply_event(const Event& e, std::vector<Change>* out) {
  const std::string& key = e.kv.key;
  if (e.type == Event::Type::Put) {
    Mirrored& m = mirror_[key];
    if (m.mod_revision == e.kv.mod_revision && m.value == e.kv.value) return;
    m.value = e.kv.value;
    m.mod_revision = e.kv.mod_revision;
    auto parsed = schema::parse(key, e.kv.value);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      ++st_.refused;
      st_.last_error = "refused " + *why;
      log_(Level::Warn, fmt::format("refused {} (revision {}){}", *why, e.kv.mod_revision,
                                    m.applied ? "; its last good value stays applied" : ""));
      return;
    }
    m.applied = std::get<schema::Entry>(parsed);
    out->push_back({false, *m.applied, e.kv.mod_revision});
    return;
  }
  auto it = mirror_.find(key);
  if (it == mirror_.end()) return;
  if (it->second.applied) out->push_back({true, *it->second.applied, e.kv.mod_revision});
  mirror_.erase(it);
}

std::set<uint32_t> Agent::needed_vpcs() const {
  std::set<uint32_t> local;
  std::string host = schema::host_prefix(options_.node);
  for (auto it = mirror_.lower_bound(host); it != mirror_.end() && starts_with(it->first, host);
       ++it) {
    if (it->second.applied && it->second.applied->ref.kind == schema::Kind::Port) {
      local.insert(it->second.applied->port_vpc);
    }
  }
  std::set<uint32_t> out = local;
  for (uint32_t v : local) {
    std::string p = schema::vpc_prefix(v) + "subnet-route/";
    for (auto it = mirror_.lower_bound(p); it != mirror_.end() && starts_with(it->first, p); ++it) {
      if (it->second.applied) out.insert(it->second.applied->peer);
    }
  }
  return out;
}

bool Agent::reconcile_vpcs(int64_t rev, std::vector<Change>* out) {
  for (int round = 0; round < 3 && stream_; ++round) {
    std::set<uint32_t> needed = needed_vpcs();
    bool added = false;
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (it->first == kHostWatchId ||
          needed.count(static_cast<uint32_t>(it->first - kVpcWatchBase)) != 0) {
        ++it;
        continue;
      }
      (void)stream_->cancel(it->first);
      drop_prefix(it->second.prefix, rev, out);
      log_(Level::Info, fmt::format("no longer watching {}", it->second.prefix));
      it = watches_.erase(it);
    }
    for (uint32_t v : needed) {
      int64_t id = kVpcWatchBase + v;
      if (watches_.count(id) != 0) continue;
      std::string prefix = schema::vpc_prefix(v);
      auto got = store_.range(prefix, prefix_end(prefix), rev);
      if (!got.ok()) {
        // Read it again, with everything else, when the store is back.
        synced_ = false;
        disconnect(fmt::format("reading {} at revision {}: {}", prefix, rev, got.error().message),
                   st_.last_contact_ms);
        return false;
      }
      for (const KeyValue& kv : got.value().kvs) apply_event({Event::Type::Put, kv}, out);
      watches_[id] = {prefix, rev + 1};
      WatchCreate c;
      c.watch_id = id;
      c.key = prefix;
      c.range_end = prefix_end(prefix);
      c.start_revision = rev + 1;
      if (!stream_->create(c)) {
        disconnect("the watch stream broke", st_.last_contact_ms);
        return false;
      }
      log_(Level::Info, fmt::format("watching {} from revision {}", prefix, rev + 1));
      added = true;
    }
    if (!added) return true;
  }
  return true;
}

void Agent::drop_prefix(const std::string& prefix, int64_t rev, std::vector<Change>* out) {
  for (auto it = mirror_.lower_bound(prefix);
       it != mirror_.end() && starts_with(it->first, prefix);) {
    if (it->second.applied) out->push_back({true, *it->second.applied, rev});
    it = mirror_.erase(it);
  }
}

void Agent::disconnect(const std::string& why, uint64_t now_ms) {
  bool was = st_.connected || stream_ != nullptr;
  stream_.reset();
  st_.connected = false;
  st_.last_error = why;
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_min_ms
                                 : std::min(backoff_ms_ * 2, options_.backoff_max_ms);
  retry_at_ms_ = now_ms + static_cast<uint64_t>(backoff_ms_);
  if (was || backoff_ms_ == options_.backoff_min_ms) {
    log_(Level::Warn, fmt::format("{}: {}; keeping the last state, retrying in {} ms",
                                  store_.describe(), why, backoff_ms_));
  }
}

void Agent::emit(const std::vector<Change>& changes, uint64_t now_ms) {
  if (changes.empty()) return;
  st_.changes += changes.size();
  st_.last_change_ms = now_ms;
  st_.changed = true;
  sink_(changes);
}

void Agent::update_status() {
  st_.revision = applied_revision_;
  st_.store_revision = store_revision_;
  st_.keys = mirror_.size();
  st_.prefixes.clear();
  for (const auto& [id, w] : watches_) st_.prefixes.push_back(w.prefix);
  std::lock_guard lock(status_mu_);
  status_ = st_;
}

AgentStatus Agent::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

std::map<std::string, std::string> Agent::mirror() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, m] : mirror_) out[k] = m.value;
  return out;
}

void AgentLogRing::add(Agent::Level level, const std::string& message) {
  static constexpr const char* kNames[] = {"debug", "info", "warn", "error"};
  if (lines_.size() >= kLines) lines_.pop_front();
  lines_.push_back(std::string(kNames[static_cast<int>(level)]) + " " + message);
}

}  // namespace vnet::ctrl
