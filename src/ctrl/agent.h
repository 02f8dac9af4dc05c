// Agent: one host's follower of the desired state in the store.  It reads only what its host
// needs (schema.h): the host's own prefix, the VPCs its ports are in, and the VPCs those peer
// with; it keeps a mirror of those keys and hands every change to a sink as a typed
// schema::Entry, which the node applies (ctrl/vpc_applier.h).
//
//   start / resync   range the host prefix, then every needed VPC prefix, all at one revision R;
//                    diff against the mirror (only what changed is handed on, so a resync
//                    never flushes forwarding state); then watch each prefix from R + 1.
//   watch            one stream, one watch per prefix.  A newly needed VPC is read at the
//                    revision of the event that made it needed and watched from the next one;
//                    a VPC no longer needed is unwatched and its entries deleted.
//   broken stream    (etcd down, member killed, leader lost) every watch is re-created from
//                    the revision after the last one it delivered: nothing is missed, nothing
//                    read twice.  Retries back off from 100 ms to 2 s.  Until then the node
//                    keeps forwarding with what it has.
//   compaction       a watch whose start revision was compacted comes back canceled with
//                    compact_revision: the agent resyncs fully.
//   bad values       refused (never handed on), logged with the key and why, counted; the
//                    last good value of that key stays applied.
//
// The agent never blocks on anything but the store: poll() is called by its thread (vnetd) or
// by the simulator after each commit (the embedded store answers at once).
//
// Example:
//   Agent a(store, {.node = "host1"}, [&](const std::vector<Change>& c) { apply(c); }, log);
//   while (running) a.poll(200, now_ms());
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ctrl/schema.h"
#include "ctrl/store.h"

namespace vnet::ctrl {

struct Change {
  bool deleted = false;
  schema::Entry entry;  // for a delete: the entry that was applied
  int64_t revision = 0;
};

struct AgentStatus {
  std::string node;
  std::string store;  // "embedded" or the endpoints
  bool connected = false;
  int64_t revision = 0;        // every change up to here is applied
  int64_t store_revision = 0;  // the newest revision the store has reported
  int64_t lag() const { return store_revision > revision ? store_revision - revision : 0; }
  uint64_t last_contact_ms = 0;  // when the store last answered (the poll clock)
  uint64_t last_change_ms = 0;   // when a change was last handed on
  bool contacted = false;        // last_contact_ms is set
  bool changed = false;          // last_change_ms is set
  std::vector<std::string> prefixes;
  size_t keys = 0;
  uint64_t changes = 0;      // handed on
  uint64_t refused = 0;      // malformed keys or values
  uint64_t resyncs = 0;      // full reads (the first one included)
  uint64_t reconnects = 0;   // streams re-opened after a break
  uint64_t compactions = 0;  // resyncs forced by a compacted watch
  std::string last_error;
};

class Agent {
 public:
  struct Options {
    std::string node;
    int backoff_min_ms = 100;
    int backoff_max_ms = 2000;
    int progress_interval_ms = 1000;  // asks the store for its revision (the lag) this often
  };
  enum class Level { Debug, Info, Warn, Error };
  using Sink = std::function<void(const std::vector<Change>&)>;
  using Log = std::function<void(Level, const std::string&)>;

  Agent(Store& store, Options options, Sink sink, Log log);
  ~Agent();

  // Does what is due: (re)connect when the backoff allows, then handle the responses that
  // arrive within wait_ms.  now_ms: a monotonic clock in milliseconds.
  void poll(int wait_ms, uint64_t now_ms);
  // Thread-safe.
  AgentStatus status() const;
  // The mirror: key -> raw value, for tests.
  std::map<std::string, std::string> mirror() const;

 private:
  struct Watch {
    std::string prefix;
    int64_t next_revision = 0;  // resume from here
  };
  struct Mirrored {
    std::string value;
    int64_t mod_revision = 0;
    std::optional<schema::Entry> applied;  // the last good entry handed on
  };

  bool connect(uint64_t now_ms);
  bool full_sync(uint64_t now_ms);
  bool open_stream();
  void handle(const WatchResponse& r, uint64_t now_ms);
  // Puts or deletes one key into the mirror; appends the change to hand on, if any.
  void apply_event(const Event& e, std::vector<Change>* out);
  // VPCs the mirror says this host needs.
  std::set<uint32_t> needed_vpcs() const;
  // Adds and drops VPC watches to match needed_vpcs(); rev: the revision the need arose at.
  bool reconcile_vpcs(int64_t rev, std::vector<Change>* out);
  void drop_prefix(const std::string& prefix, int64_t rev, std::vector<Change>* out);
  void disconnect(const std::string& why, uint64_t now_ms);
  void emit(const std::vector<Change>& changes, uint64_t now_ms);
  int64_t watch_id(const std::string& prefix) const;
  void update_status();

  Store& store_;
  Options options_;
  Sink sink_;
  Log log_;
  std::unique_ptr<WatchStream> stream_;
  std::map<int64_t, Watch> watches_;  // by watch id
  std::map<std::string, Mirrored> mirror_;
  bool synced_ = false;  // the mirror holds a consistent state (else: full sync on connect)
  uint64_t retry_at_ms_ = 0;
  int backoff_ms_ = 0;
  uint64_t next_progress_ms_ = 0;
  int64_t applied_revision_ = 0;
  int64_t store_revision_ = 0;

  AgentStatus st_;  // the agent's thread's own
  mutable std::mutex status_mu_;
  AgentStatus status_;  // st_ as of the last poll, for other threads
};

// The agent's last log lines as `agent log` shows them ("LEVEL message"), oldest first, at most
// kLines of them.  Not synchronised: the owner locks it if two threads use it.
class AgentLogRing {
 public:
  static constexpr size_t kLines = 200;
  void add(Agent::Level level, const std::string& message);
  std::vector<std::string> lines() const { return {lines_.begin(), lines_.end()}; }

 private:
  std::deque<std::string> lines_;
};

}  // namespace vnet::ctrl
