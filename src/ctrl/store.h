// Store: the key-value store the control plane keeps its desired state in, with etcd v3's
// semantics (api/etcdserverpb/rpc.proto), so one agent runs against a real etcd
// (ctrl/etcd_store.h, gRPC) and against the simulator's in-process store (ctrl/mem_store.h).
//
//   revision         every change to the store (a Txn that writes) takes the next revision;
//                    all its events carry it.  A new store is at revision 1.
//   KeyValue         create_revision, mod_revision and version (1 at creation, +1 per put) of
//                    a key, as etcd keeps them.
//   range            keys in [key, range_end) at a revision (0: the newest); range_end empty:
//                    the key alone.  prefix_end("a/") gives "a0" for a prefix.
//   txn              compares (all must hold), then success or failure operations, atomically.
//   compact(rev)     forgets history below rev: a range or watch below it fails (Compacted).
//   watch streams    several watches on one stream, each from a start revision (inclusive),
//                    delivering every event in revision order; canceled with compact_revision
//                    set when their start revision is compacted.
//
// Errors carry a code the agent acts on (Unavailable: retry with backoff; Compacted: resync).
//
// Example:
//   MemStore s;  s.put("/a", "1");                        -> revision 2
//   s.range("/", prefix_end("/")).value().kvs[0].version  -> 1
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vnet::ctrl {

enum class Code {
  Ok,
  Unavailable,       // no member answered (down, partitioned, no leader)
  DeadlineExceeded,  // asked, but no answer in time
  Compacted,         // "mvcc: required revision has been compacted"
  FutureRevision,    // "mvcc: required revision is a future revision"
  InvalidArgument,   // e.g. "etcdserver: duplicate key given in txn request"
  Internal,
};
const char* code_name(Code c);

struct Error {
  Code code = Code::Internal;
  std::string message;
};

// A value or an error; no exceptions cross the store's interface.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return value_.has_value(); }
  const T& value() const { return *value_; }
  T& value() { return *value_; }
  const Error& error() const { return error_; }
  Code code() const { return ok() ? Code::Ok : error_.code; }

 private:
  std::optional<T> value_;
  Error error_;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  bool operator==(const KeyValue&) const = default;
};

struct Event {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  KeyValue kv;  // for a delete: the key, and mod_revision = the deleting revision
  bool operator==(const Event&) const = default;
};

struct RangeResponse {
  int64_t revision = 0;  // the store's revision the range was read at
  std::vector<KeyValue> kvs;
};

struct Compare {
  enum class Target { Version, Create, Mod, Value };
  enum class Result { Equal, Greater, Less, NotEqual };
  std::string key;
  Target target = Target::Version;
  Result result = Result::Equal;
  int64_t number = 0;  // for Version, Create, Mod
  std::string value;   // for Value
  // Non-empty: the compare must hold for every key in [key, range_end); an empty range
  // compares as one absent key (etcd's applyCompare).
  std::string range_end;
};

struct Op {
  enum class Type { Put, Delete };
  Type type = Type::Put;
  std::string key;
  std::string value;      // Put
  std::string range_end;  // Delete: [key, range_end); empty: key alone
};

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<Op> success;
  std::vector<Op> failure;
};

struct TxnResponse {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the txn (a new one only if it wrote)
};

struct StoreStatus {
  int64_t revision = 0;
  uint64_t member_id = 0;
  uint64_t leader = 0;
  uint64_t raft_term = 0;
  std::string version;
  std::string endpoint;  // which member answered
};

struct WatchCreate {
  int64_t watch_id = 0;  // chosen by the client, unique on the stream (etcd >= 3.4)
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // inclusive; 0: from the next change
  bool progress_notify = true;
};

struct WatchResponse {
  int64_t watch_id = 0;  // -1: a progress response for the whole stream
  int64_t revision = 0;  // the header's: the store's revision when it was sent
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<Event> events;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // false: the stream is broken (open a new one).
  virtual bool create(const WatchCreate& request) = 0;
  virtual bool cancel(int64_t watch_id) = 0;
  // Asks for a progress response (watch_id -1) carrying the store's revision.
  virtual bool request_progress() = 0;
  enum class ReadResult { Response, Timeout, Broken };
  // Waits at most timeout_ms for the next response (0: only what is already there).
  virtual ReadResult read(WatchResponse* out, int timeout_ms) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<RangeResponse> range(const std::string& key, const std::string& range_end,
                                      int64_t revision = 0) = 0;
  virtual Result<TxnResponse> txn(const TxnRequest& request) = 0;
  virtual Result<int64_t> compact(int64_t revision) = 0;
  virtual Result<StoreStatus> status() = 0;
  virtual Result<std::unique_ptr<WatchStream>> watch() = 0;
  // For messages: "embedded" or the endpoints.
  virtual std::string describe() const = 0;

  // Conveniences over txn: the new revision.
  Result<int64_t> put(const std::string& key, const std::string& value);
  Result<int64_t> del(const std::string& key, const std::string& range_end = {});
};

// The range_end that makes [prefix, prefix_end(prefix)) every key starting with prefix (etcd's
// clientv3.GetPrefixRangeEnd): the last byte below 0xff plus one, the rest dropped.
std::string prefix_end(const std::string& prefix);

// Does [key, range_end) hold k?  (range_end empty: k == key; "\0": every key >= key.)
bool in_range(const std::string& k, const std::string& key, const std::string& range_end);

}  // namespace vnet::ctrl
