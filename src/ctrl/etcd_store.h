// EtcdStore: the Store on a real etcd cluster, through etcd's v3 gRPC API (ctrl/proto/
// etcd_rpc.proto) with Debian's libgrpc++.  Why gRPC rather than the JSON gateway:
// docs/ARCHITECTURE.md, "The control plane".
//
// Endpoints: "http://127.0.0.1:2379,http://127.0.0.1:22379" (the scheme is optional; only
// plain-text http), or one unix socket: "unix:///run/vnet/lab/localhost:2379" (etcd's
// --listen-client-urls unix://localhost:2379 makes that file in its working directory; a
// socket file reaches a client in any network namespace).  The channel picks the first member that
// answers and moves to the next when it fails, as clientv3's balancer does.  Unary calls have a
// deadline (default 2 s); gRPC's UNAVAILABLE, and etcd's "leader changed" and "request timed out",
// become Code::Unavailable, which callers retry.
//
// Watch streams carry the "hasleader" metadata (clientv3.WithRequireLeader): a member cut off
// from its cluster's leader ends the stream instead of going quiet, so the agent reconnects to
// one that has a leader.  A reader thread per stream queues the responses; read() waits on it.
//
// Example:
//   auto s = EtcdStore::connect("127.0.0.1:2379"); s.value()->put("/a", "1");
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ctrl/store.h"

namespace vnet::ctrl {

class EtcdStore : public Store {
 public:
  struct Options {
    int timeout_ms = 2000;
  };
  // Fails only on malformed endpoints; an unreachable cluster shows on the first call.
  static Result<std::unique_ptr<EtcdStore>> connect(const std::string& endpoints);
  static Result<std::unique_ptr<EtcdStore>> connect(const std::string& endpoints, Options options);
  ~EtcdStore() override;

  Result<RangeResponse> range(const std::string& key, const std::string& range_end,
                              int64_t revision = 0) override;
  Result<TxnResponse> txn(const TxnRequest& request) override;
  Result<int64_t> compact(int64_t revision) override;
  Result<StoreStatus> status() override;
  Result<std::unique_ptr<WatchStream>> watch() override;
  std::string describe() const override { return endpoints_; }

  // "127.0.0.1:2379" for each endpoint, or an error naming the bad one.
  static Result<std::vector<std::string>> parse_endpoints(const std::string& endpoints);

  struct Impl;

 private:
  EtcdStore() = default;
  std::string endpoints_;
  std::unique_ptr<Impl> impl_;
};

// The store named by a --etcd option or $VNET_ETCD: EtcdStore for endpoints.
Result<std::unique_ptr<Store>> open_store(const std::string& endpoints);
// The same, for cmd::ControlPlane::open: the store, or null with *error set.
std::unique_ptr<Store> open_store_or_null(const std::string& endpoints, std::string* error);

}  // namespace vnet::ctrl
