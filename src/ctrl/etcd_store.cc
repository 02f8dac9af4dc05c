#include "ctrl/etcd_store.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "etcd_rpc.grpc.pb.h"

namespace vnet::ctrl {

namespace pb = etcdserverpb;

struct EtcdStore::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Watch::Stub> watch;
  std::unique_ptr<pb::Maintenance::Stub> maintenance;
  Options options;
};

namespace {

Error to_error(const grpc::Status& s) {
  const std::string& m = s.error_message();
  Code code = Code::Internal;
  if (m.find("required revision has been compacted") != std::string::npos) {
    code = Code::Compacted;
  } else if (m.find("required revision is a future revision") != std::string::npos) {
    code = Code::FutureRevision;
  } else if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
             m.find("leader changed") != std::string::npos ||
             m.find("no leader") != std::string::npos ||
             m.find("request timed out") != std::string::npos) {
    code = Code::Unavailable;
  } else if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    code = Code::DeadlineExceeded;
  } else if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    code = Code::InvalidArgument;
  }
  return {code, m.empty() ? "gRPC status " + std::to_string(s.error_code()) : m};
}

KeyValue from_pb(const pb::KeyValue& kv) {
  KeyValue out;
  out.key = kv.key();
  out.value = kv.value();
  out.create_revision = kv.create_revision();
  out.mod_revision = kv.mod_revision();
  out.version = kv.version();
  return out;
}

void set_deadline(grpc::ClientContext& ctx, int timeout_ms) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
}

void fill_op(const Op& op, pb::RequestOp* out) {
  if (op.type == Op::Type::Put) {
    pb::PutRequest* p = out->mutable_request_put();
    p->set_key(op.key);
    p->set_value(op.value);
  } else {
    pb::DeleteRangeRequest* d = out->mutable_request_delete_range();
    d->set_key(op.key);
    d->set_range_end(op.range_end);
  }
}

class EtcdWatchStream : public WatchStream {
 public:
  explicit EtcdWatchStream(pb::Watch::Stub& stub) {
    ctx_.AddMetadata("hasleader", "true");
    stream_ = stub.Watch(&ctx_);
    reader_ = std::thread([this] { read_loop(); });
  }
  ~EtcdWatchStream() override {
    ctx_.TryCancel();
    reader_.join();
  }

  bool create(const WatchCreate& request) override {
    pb::WatchRequest r;
    pb::WatchCreateRequest* c = r.mutable_create_request();
    c->set_key(request.key);
    c->set_range_end(request.range_end);
    c->set_start_revision(request.start_revision);
    c->set_progress_notify(request.progress_notify);
    c->set_watch_id(request.watch_id);
    return write(r);
  }
  bool cancel(int64_t watch_id) override {
    pb::WatchRequest r;
    r.mutable_cancel_request()->set_watch_id(watch_id);
    return write(r);
  }
  bool request_progress() override {
    pb::WatchRequest r;
    r.mutable_progress_request();
    return write(r);
  }

  ReadResult read(WatchResponse* out, int timeout_ms) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      *out = std::move(queue_.front());
      queue_.pop_front();
      return ReadResult::Response;
    }
    return done_ ? ReadResult::Broken : ReadResult::Timeout;
  }

 private:
  bool write(const pb::WatchRequest& r) {
    std::lock_guard lock(write_mu_);
    {
      std::lock_guard l(mu_);
      if (done_) return false;
    }
    return stream_->Write(r);
  }

  void read_loop() {
    pb::WatchResponse r;
    while (stream_->Read(&r)) {
      WatchResponse w;
      w.watch_id = r.watch_id();
      w.revision = r.header().revision();
      w.created = r.created();
      w.canceled = r.canceled();
      w.compact_revision = r.compact_revision();
      w.cancel_reason = r.cancel_reason();
      w.events.reserve(static_cast<size_t>(r.events_size()));
      for (const pb::Event& e : r.events()) {
        w.events.push_back({e.type() == pb::Event::DELETE ? Event::Type::Delete : Event::Type::Put,
                            from_pb(e.kv())});
      }
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(w));
      cv_.notify_all();
    }
    {
      std::lock_guard w(write_mu_);
      status_ = stream_->Finish();
    }
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  std::thread reader_;
  std::mutex write_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchResponse> queue_;
  bool done_ = false;
  grpc::Status status_;
};

}  // namespace

Result<std::vector<std::string>> EtcdStore::parse_endpoints(const std::string& endpoints) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= endpoints.size()) {
    size_t comma = endpoints.find(',', start);
    std::string e =
        endpoints.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? endpoints.size() + 1 : comma + 1;
    if (e.empty()) continue;
    if (e.rfind("unix:", 0) == 0) {
      // etcd's own form is unix://NAME:PORT (a socket file named NAME:PORT in etcd's working
      // directory); an absolute path is unix:///DIR/NAME:PORT.
      std::string path = e.substr(5);
      if (path.rfind("//", 0) == 0) path = path.substr(2);
      if (path.empty()) return Error{Code::InvalidArgument, "endpoint " + e + ": no socket path"};
      out.push_back("unix:" + path);
      continue;
    }
    if (e.rfind("https://", 0) == 0) {
      return Error{Code::InvalidArgument, "endpoint " + e + ": only http:// is supported"};
    }
    if (e.rfind("http://", 0) == 0) e = e.substr(7);
    while (!e.empty() && e.back() == '/') e.pop_back();
    size_t colon = e.rfind(':');
    bool port_ok = colon != std::string::npos && colon + 1 < e.size() && colon > 0;
    for (size_t i = colon == std::string::npos ? 0 : colon + 1; port_ok && i < e.size(); ++i) {
      port_ok = e[i] >= '0' && e[i] <= '9';
    }
    if (!port_ok || e.find('/') != std::string::npos) {
      return Error{Code::InvalidArgument,
                   "endpoint '" + e + "': expected HOST:PORT or http://HOST:PORT"};
    }
    out.push_back(e);
  }
  if (out.empty()) return Error{Code::InvalidArgument, "no etcd endpoints given"};
  return out;
}

Result<std::unique_ptr<EtcdStore>> EtcdStore::connect(const std::string& endpoints) {
  return connect(endpoints, Options{});
}

Result<std::unique_ptr<EtcdStore>> EtcdStore::connect(const std::string& endpoints,
                                                      Options options) {
  auto parsed = parse_endpoints(endpoints);
  if (!parsed.ok()) return parsed.error();
  // "ipv4:a:1,b:2" gives one channel over every member (gRPC's static resolver); a name that
  // is not an address goes through DNS, with the first endpoint only.
  std::string target;
  bool numeric = true;
  const std::vector<std::string>& list = parsed.value();
  bool unix_socket = list.front().rfind("unix:", 0) == 0;
  for (const std::string& e : list) {
    if ((e.rfind("unix:", 0) == 0) != unix_socket || (unix_socket && list.size() > 1)) {
      return Error{Code::InvalidArgument, "endpoints: a unix socket must be the only endpoint"};
    }
  }
  for (const std::string& e : list) {
    std::string host = e.substr(0, e.rfind(':'));
    numeric = numeric && host.find_first_not_of("0123456789.") == std::string::npos;
    target += (target.empty() ? "" : ",") + e;
  }
  if (unix_socket) {
    target = list.front();
  } else {
    target = numeric ? "ipv4:" + target : "dns:///" + list.front();
  }
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("pick_first");
  // Reconnect soon after a member comes back (gRPC's default backoff grows to 120 s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  std::unique_ptr<EtcdStore> s(new EtcdStore());
  s->endpoints_ = endpoints;
  s->impl_ = std::make_unique<Impl>();
  s->impl_->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  s->impl_->kv = pb::KV::NewStub(s->impl_->channel);
  s->impl_->watch = pb::Watch::NewStub(s->impl_->channel);
  s->impl_->maintenance = pb::Maintenance::NewStub(s->impl_->channel);
  s->impl_->options = options;
  return s;
}

EtcdStore::~EtcdStore() = default;

Result<RangeResponse> EtcdStore::range(const std::string& key, const std::string& range_end,
                                       int64_t revision) {
  pb::RangeRequest req;
  req.set_key(key);
  req.set_range_end(range_end);
  req.set_revision(revision);
  pb::RangeResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, impl_->options.timeout_ms);
  grpc::Status st = impl_->kv->Range(&ctx, req, &resp);
  if (!st.ok()) return to_error(st);
  RangeResponse out;
  out.revision = resp.header().revision();
  out.kvs.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const pb::KeyValue& kv : resp.kvs()) out.kvs.push_back(from_pb(kv));
  return out;
}

Result<TxnResponse> EtcdStore::txn(const TxnRequest& request) {
  pb::TxnRequest req;
  for (const Compare& c : request.compare) {
    pb::Compare* pc = req.add_compare();
    pc->set_key(c.key);
    if (!c.range_end.empty()) pc->set_range_end(c.range_end);
    pc->set_result(static_cast<pb::Compare::CompareResult>(static_cast<int>(c.result)));
    pc->set_target(static_cast<pb::Compare::CompareTarget>(static_cast<int>(c.target)));
    switch (c.target) {
      case Compare::Target::Version:
        pc->set_version(c.number);
        break;
      case Compare::Target::Create:
        pc->set_create_revision(c.number);
        break;
      case Compare::Target::Mod:
        pc->set_mod_revision(c.number);
        break;
      case Compare::Target::Value:
        pc->set_value(c.value);
        break;
    }
  }
  for (const Op& op : request.success) fill_op(op, req.add_success());
  for (const Op& op : request.failure) fill_op(op, req.add_failure());
  pb::TxnResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, impl_->options.timeout_ms);
  grpc::Status st = impl_->kv->Txn(&ctx, req, &resp);
  if (!st.ok()) return to_error(st);
  return TxnResponse{resp.succeeded(), resp.header().revision()};
}

Result<int64_t> EtcdStore::compact(int64_t revision) {
  pb::CompactionRequest req;
  req.set_revision(revision);
  pb::CompactionResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, impl_->options.timeout_ms);
  grpc::Status st = impl_->kv->Compact(&ctx, req, &resp);
  if (!st.ok()) return to_error(st);
  return resp.header().revision();
}

Result<StoreStatus> EtcdStore::status() {
  pb::StatusRequest req;
  pb::StatusResponse resp;
  grpc::ClientContext ctx;
  set_deadline(ctx, impl_->options.timeout_ms);
  grpc::Status st = impl_->maintenance->Status(&ctx, req, &resp);
  if (!st.ok()) return to_error(st);
  StoreStatus s;
  s.revision = resp.header().revision();
  s.member_id = resp.header().member_id();
  s.leader = resp.leader();
  s.raft_term = resp.raftterm();
  s.version = resp.version();
  s.endpoint = ctx.peer();
  return s;
}

Result<std::unique_ptr<WatchStream>> EtcdStore::watch() {
  return std::unique_ptr<WatchStream>(std::make_unique<EtcdWatchStream>(*impl_->watch));
}

Result<std::unique_ptr<Store>> open_store(const std::string& endpoints) {
  auto s = EtcdStore::connect(endpoints);
  if (!s.ok()) return s.error();
  return std::unique_ptr<Store>(std::move(s.value()));
}

std::unique_ptr<Store> open_store_or_null(const std::string& endpoints, std::string* error) {
  auto s = open_store(endpoints);
  if (!s.ok()) {
    *error = s.error().message;
    return nullptr;
  }
  return std::move(s.value());
}

}  // namespace vnet::ctrl
