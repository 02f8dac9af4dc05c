// `vpc --etcd …`: the `vpc` command on the desired state in the store (ctrl/schema.h) rather than
// on this node's vSwitch.  So that the store takes exactly what a vSwitch takes, with the same
// error messages, each command runs on a scratch node loaded from the store:
//
//   1. read the VPCs the command names (all of them when it names none, or deletes one) and the
//      node's own host prefix, at one revision;
//   2. apply them to a scratch vSwitch (ctrl::VpcApplier), run the ordinary `vpc` command on it;
//   3. write the difference as one transaction, guarded by the mod revision of every key it
//      writes (create revision 0 for new ones) and by "nothing in the prefixes read was added
//      or changed since" (a range compare); if another writer got there first, read again and
//      retry (three times).  So two writers whose checks depend on each other's keys (two
//      ports for one VM, overlapping subnets) cannot both pass.
//
// `vpc migrate ADDR vpc ID to NODE [dev DEV] [from NODE]` exists only here: the route, the old
// port's removal and the new port, in one transaction.
#include <fmt/format.h>

#include <map>
#include <set>

#include "cmd/control_plane.h"
#include "ctrl/store.h"
#include "ctrl/vpc_applier.h"

namespace vnet::cmd {

namespace {

using ctrl::Compare;
using ctrl::KeyValue;
using ctrl::Op;
using ctrl::prefix_end;
using ctrl::TxnRequest;
namespace schema = ctrl::schema;
using net::Ipv4Addr;

CmdOutput fail(int status, const std::string& message) {
  CmdOutput o;
  o.err = message + "\n";
  o.status = status;
  return o;
}

CmdOutput store_error(const ctrl::Store& store, const ctrl::Error& e) {
  return fail(1, fmt::format("Error: the store at {}: {} ({}).", store.describe(), e.message,
                             ctrl::code_name(e.code)));
}

std::optional<uint32_t> number(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  uint64_t v = std::stoull(s);
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// The keys this host's scratch vSwitch holds, as the store would.
std::map<std::string, std::string> export_state(const stack::Node& node, const std::string& host) {
  std::map<std::string, std::string> out;
  const vpc::VSwitch* vs = node.vswitch_if_loaded();
  if (vs == nullptr) return out;
  auto add = [&](const schema::Entry& e) { out[schema::key(e.ref)] = schema::value(e); };
  for (const auto& [id, v] : vs->vpcs()) {
    if (v.declared) {
      schema::Entry e;
      e.ref.kind = schema::Kind::VpcConfig;
      e.ref.vpc = id;
      e.subnets = v.subnets;
      add(e);
    }
    for (const vpc::SubnetRoute& sr : v.subnet_routes) {
      schema::Entry e;
      e.ref.kind = schema::Kind::SubnetRoute;
      e.ref.vpc = id;
      e.ref.prefix = sr.prefix;
      e.peer = sr.peer;
      add(e);
    }
  }
  for (const auto& [k, h] : vs->routes().sorted()) {
    schema::Entry e;
    e.ref.kind = schema::Kind::Route;
    e.ref.vpc = k.vpc;
    e.ref.ip = Ipv4Addr(k.ip);
    e.host = h;
    add(e);
  }
  for (const auto& [k, m] : vs->neighs().sorted()) {
    schema::Entry e;
    e.ref.kind = schema::Kind::Neigh;
    e.ref.vpc = k.vpc;
    e.ref.ip = Ipv4Addr(k.ip);
    e.mac = m;
    add(e);
  }
  if (!host.empty()) {
    if (!vs->local().is_unspecified()) {
      schema::Entry e;
      e.ref.kind = schema::Kind::HostConfig;
      e.ref.node = host;
      e.local = vs->local();
      if (vs->grace_ns() != vpc::VSwitch::kDefaultGraceNs) e.grace_ms = vs->grace_ns() / 1'000'000;
      if (vs->mac() != vpc::VSwitch::default_mac()) e.mac = vs->mac();
      add(e);
    }
    for (const auto& [ix, p] : vs->ports()) {
      schema::Entry e;
      e.ref.kind = schema::Kind::Port;
      e.ref.node = host;
      e.ref.dev = p.name;
      e.port_vpc = p.vpc;
      e.port_ip = p.ip;
      e.mac = p.mac;
      add(e);
    }
  }
  return out;
}

class StoreCommand {
 public:
  StoreCommand(ctrl::Store& store, std::string host, const Args& argv)
      : store_(store), host_(std::move(host)), argv_(argv) {}

  CmdOutput run() {
    size_t obj = 1;
    while (obj < argv_.size() && argv_[obj].size() > 1 && argv_[obj][0] == '-') ++obj;
    if (obj < argv_.size() && argv_[obj] == "migrate") return migrate(obj + 1);
    bool is_show = true;
    for (size_t i = obj; i < argv_.size(); ++i) {
      for (const char* verb : {"add", "del", "delete", "change", "replace", "local", "set"}) {
        if (argv_[i] == verb) is_show = false;
      }
    }
    if (obj < argv_.size() && argv_[obj] == "help") is_show = true;
    // `vpc local` without an address shows it.
    if (obj + 1 == argv_.size() && argv_[obj] == "local") is_show = true;
    // Which VPCs to read: those named; all when none is (show) or one is deleted.
    bool all = false;
    for (size_t i = obj; i < argv_.size(); ++i) {
      const std::string& w = argv_[i];
      bool names_vpc =
          (w == "vpc" || w == "peer") || (i == obj && (w == "add" || w == "del" || w == "delete"));
      if (names_vpc && i + 1 < argv_.size()) {
        if (auto id = number(argv_[i + 1])) vpcs_.insert(*id);
      }
      if (i == obj && (w == "del" || w == "delete")) all = true;
    }
    if (vpcs_.empty()) all = true;
    bool port_object = obj < argv_.size() && argv_[obj] == "port";
    bool host_object = obj < argv_.size() && (argv_[obj] == "local" || argv_[obj] == "set");
    if ((port_object || host_object) && host_.empty()) {
      return fail(255, "Error: a port or host setting in the store needs --node NAME.");
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      stack::Node scratch;
      std::map<std::string, int64_t> revs;
      if (auto e = load(scratch, all, &revs)) return *e;
      // The device a `port add DEV` names lives on that host: give the scratch node one.
      if (port_object && obj + 2 < argv_.size() && argv_[obj + 1] == "add" &&
          scratch.device_by_name(argv_[obj + 2]) == nullptr && schema::valid_name(argv_[obj + 2]) &&
          argv_[obj + 2].size() <= 15) {
        (void)scratch.link_add_external(argv_[obj + 2]);
      }
      auto before = export_state(scratch, host_);
      CmdOutput o = run_vpc(scratch, argv_);
      if (o.status != 0 || is_show) return o;
      if (host_object && scratch.vswitch().local().is_unspecified() &&
          !(argv_[obj] == "local" && obj + 1 < argv_.size())) {
        return fail(2, fmt::format("Error: node {}'s local address must be set first (vpc --etcd "
                                   "--node {} local ADDR).",
                                   host_, host_));
      }
      auto after = export_state(scratch, host_);
      TxnRequest t;
      for (const auto& [k, v] : after) {
        auto b = before.find(k);
        if (b != before.end() && b->second == v) continue;
        t.success.push_back({Op::Type::Put, k, v, {}});
        guard(t, k, revs);
      }
      // A VPC left with nothing goes as one range (etcd caps a txn at 128 operations).
      std::set<uint32_t> emptied;
      for (uint32_t v : loaded_vpcs_) {
        std::string p = schema::vpc_prefix(v);
        auto it = after.lower_bound(p);
        bool any_after = it != after.end() && it->first.compare(0, p.size(), p) == 0;
        auto jt = before.lower_bound(p);
        bool any_before = jt != before.end() && jt->first.compare(0, p.size(), p) == 0;
        if (!any_after && any_before) {
          emptied.insert(v);
          t.success.push_back({Op::Type::Delete, p, {}, prefix_end(p)});
        }
      }
      for (const auto& [k, v] : before) {
        if (after.count(k) != 0) continue;
        auto ref = schema::parse_key(k);
        guard(t, k, revs);
        if (auto* r = std::get_if<schema::KeyRef>(&ref);
            r != nullptr && r->kind != schema::Kind::HostConfig && r->kind != schema::Kind::Port &&
            emptied.count(r->vpc) != 0) {
          continue;  // the range delete above takes it
        }
        t.success.push_back({Op::Type::Delete, k, {}, {}});
      }
      // Serializable against other writers: nothing in what the command read (and so what
      // the scratch vSwitch's checks saw) may have been added or changed since.  A key's
      // deletion is caught by the guard of the keys this txn writes, not otherwise.
      for (const std::string& p : read_prefixes_) {
        t.compare.push_back({p,
                             Compare::Target::Mod,
                             Compare::Result::Less,
                             read_revision_ + 1,
                             {},
                             prefix_end(p)});
      }
      if (t.success.empty()) return o;
      auto r = store_.txn(t);
      if (!r.ok()) return store_error(store_, r.error());
      if (r.value().succeeded) return o;
    }
    return fail(1, "Error: the store's state kept changing while this command ran; try again.");
  }

 private:
  static void guard(TxnRequest& t, const std::string& k,
                    const std::map<std::string, int64_t>& revs) {
    auto it = revs.find(k);
    t.compare.push_back({k,
                         it == revs.end() ? Compare::Target::Create : Compare::Target::Mod,
                         Compare::Result::Equal,
                         it == revs.end() ? 0 : it->second,
                         {},
                         {}});
  }

  // Reads the prefixes into the scratch node; revs: every key read -> its mod revision.
  std::optional<CmdOutput> load(stack::Node& scratch, bool all,
                                std::map<std::string, int64_t>* revs) {
    std::vector<KeyValue> kvs;
    int64_t at = 0;
    read_prefixes_.clear();
    auto read = [&](const std::string& p) -> std::optional<CmdOutput> {
      auto got = store_.range(p, prefix_end(p), at);
      if (!got.ok()) return store_error(store_, got.error());
      if (at == 0) at = got.value().revision;
      read_prefixes_.push_back(p);
      read_revision_ = at;
      kvs.insert(kvs.end(), got.value().kvs.begin(), got.value().kvs.end());
      return std::nullopt;
    };
    if (all) {
      if (auto e = read(std::string(schema::kRoot) + "vpc/")) return e;
    } else {
      for (uint32_t v : vpcs_) {
        if (auto e = read(schema::vpc_prefix(v))) return e;
      }
    }
    if (!host_.empty()) {
      if (auto e = read(schema::host_prefix(host_))) return e;
    }
    std::vector<ctrl::Change> changes;
    for (const KeyValue& kv : kvs) {
      (*revs)[kv.key] = kv.mod_revision;
      auto parsed = schema::parse(kv.key, kv.value);
      auto* e = std::get_if<schema::Entry>(&parsed);
      if (e == nullptr) continue;  // the agents refuse it too; a write replaces it
      if (e->ref.kind == schema::Kind::Port) (void)scratch.link_add_external(e->ref.dev);
      if (e->ref.kind != schema::Kind::Port && e->ref.kind != schema::Kind::HostConfig) {
        loaded_vpcs_.insert(e->ref.vpc);
      }
      changes.push_back({false, *e, kv.mod_revision});
    }
    ctrl::VpcApplier applier(scratch);
    applier.apply(changes, 0);
    return std::nullopt;
  }

  CmdOutput migrate(size_t pos) {
    auto usage = [](const std::string& m) { return fail(255, m); };
    if (pos >= argv_.size()) {
      return usage("Command line is not complete: an address expected. Try \"vpc help\".");
    }
    auto ip = Ipv4Addr::parse(argv_[pos]);
    if (!ip) {
      return usage(
          fmt::format("Error: address \"{}\" is invalid: an IPv4 address expected.", argv_[pos]));
    }
    std::map<std::string, std::string> kv;
    for (size_t i = pos + 1; i < argv_.size(); i += 2) {
      const std::string& k = argv_[i];
      if (k != "vpc" && k != "to" && k != "dev" && k != "from") {
        return usage(fmt::format("Error: argument \"{}\" is wrong: unknown keyword", k));
      }
      if (i + 1 >= argv_.size()) {
        return usage("Command line is not complete: a value expected. Try \"vpc help\".");
      }
      if (kv.count(k) != 0) {
        return usage(fmt::format("Error: duplicate \"{}\": only one is allowed.", k));
      }
      kv[k] = argv_[i + 1];
    }
    for (const char* k : {"vpc", "to"}) {
      if (kv.count(k) == 0) {
        return usage(
            fmt::format("Command line is not complete: \"{}\" is required. Try \"vpc help\".", k));
      }
    }
    auto vpc = number(kv["vpc"]);
    if (!vpc) {
      return usage(
          fmt::format("Error: vpc id \"{}\" is invalid: 0..4294967295 expected.", kv["vpc"]));
    }
    for (const char* k : {"to", "from"}) {
      if (kv.count(k) != 0 && !schema::valid_name(kv[k])) {
        return usage(fmt::format("Error: node \"{}\" is invalid.", kv[k]));
      }
    }
    const std::string to = kv["to"];
    for (int attempt = 0; attempt < 3; ++attempt) {
      schema::KeyRef rref{schema::Kind::Route, *vpc, *ip, {}, {}, {}};
      std::string route_key = schema::key(rref);
      auto route = store_.range(route_key, "");
      if (!route.ok()) return store_error(store_, route.error());
      int64_t at = route.value().revision;
      if (route.value().kvs.empty()) {
        return fail(2,
                    fmt::format("Error: route_table has no {} in vpc {}.", ip->to_string(), *vpc));
      }
      // The VM's port now: on the node given, or wherever it is.
      std::string where =
          kv.count("from") ? schema::host_prefix(kv["from"]) : std::string(schema::kRoot) + "host/";
      auto ports = store_.range(where, prefix_end(where), at);
      if (!ports.ok()) return store_error(store_, ports.error());
      std::optional<schema::Entry> old;
      int64_t old_rev = 0;
      std::optional<net::Ipv4Addr> to_local;
      for (const KeyValue& p : ports.value().kvs) {
        auto parsed = schema::parse(p.key, p.value);
        auto* e = std::get_if<schema::Entry>(&parsed);
        if (e == nullptr) continue;
        if (e->ref.kind == schema::Kind::Port && e->port_vpc == *vpc && e->port_ip == *ip) {
          old = *e;
          old_rev = p.mod_revision;
        }
      }
      if (!old) {
        return fail(2, fmt::format("Error: vm {} of vpc {} has no port{}.", ip->to_string(), *vpc,
                                   kv.count("from") ? " on " + kv["from"] : ""));
      }
      if (old->ref.node == to) {
        return fail(
            2, fmt::format("Error: vm {} of vpc {} is on {} already.", ip->to_string(), *vpc, to));
      }
      schema::KeyRef cref;
      cref.kind = schema::Kind::HostConfig;
      cref.node = to;
      auto cfg = store_.range(schema::key(cref), "", at);
      if (!cfg.ok()) return store_error(store_, cfg.error());
      if (!cfg.value().kvs.empty()) {
        auto parsed = schema::parse(cfg.value().kvs[0].key, cfg.value().kvs[0].value);
        if (auto* e = std::get_if<schema::Entry>(&parsed)) to_local = e->local;
      }
      if (!to_local || to_local->is_unspecified()) {
        return fail(2, fmt::format("Error: node {} has no local address in the store (vpc --etcd "
                                   "--node {} local ADDR).",
                                   to, to));
      }
      schema::Entry port = *old;
      port.ref.node = to;
      if (kv.count("dev")) port.ref.dev = kv["dev"];
      if (!schema::valid_name(port.ref.dev) || port.ref.dev.size() > 15) {
        return usage(fmt::format("Error: device \"{}\" is invalid.", port.ref.dev));
      }
      schema::Entry r;
      r.ref = rref;
      r.host = *to_local;
      TxnRequest t;
      t.compare.push_back({route_key,
                           Compare::Target::Mod,
                           Compare::Result::Equal,
                           route.value().kvs[0].mod_revision,
                           {},
                           {}});
      t.compare.push_back(
          {schema::key(old->ref), Compare::Target::Mod, Compare::Result::Equal, old_rev, {}, {}});
      t.compare.push_back(
          {schema::key(port.ref), Compare::Target::Create, Compare::Result::Equal, 0, {}, {}});
      t.success.push_back({Op::Type::Put, schema::key(port.ref), schema::value(port), {}});
      t.success.push_back({Op::Type::Delete, schema::key(old->ref), {}, {}});
      t.success.push_back({Op::Type::Put, route_key, schema::value(r), {}});
      auto done = store_.txn(t);
      if (!done.ok()) return store_error(store_, done.error());
      if (done.value().succeeded) return {};
      // The txn's compare on the new port key spares a read on the way: only on a failure
      // does it matter whether that key is taken (else another writer moved something: retry).
      // (Taken by this very VM: a concurrent migration got there first, which the retry says.)
      auto taken = store_.range(schema::key(port.ref), "");
      if (!taken.ok()) return store_error(store_, taken.error());
      if (!taken.value().kvs.empty()) {
        const KeyValue& held = taken.value().kvs[0];
        auto parsed = schema::parse(held.key, held.value);
        auto* e = std::get_if<schema::Entry>(&parsed);
        if (e == nullptr || e->port_vpc != *vpc || e->port_ip != *ip) {
          return fail(2, fmt::format("Error: {} is a port on {} already.", port.ref.dev, to));
        }
      }
    }
    return fail(1, "Error: the store's state kept changing while this command ran; try again.");
  }

  ctrl::Store& store_;
  std::string host_;
  const Args& argv_;
  std::set<uint32_t> vpcs_;
  std::set<uint32_t> loaded_vpcs_;
  std::vector<std::string> read_prefixes_;  // what load() read, at read_revision_
  int64_t read_revision_ = 0;
};

}  // namespace

CmdOutput run_vpc_store(ctrl::Store& store, const std::string& node, const Args& argv) {
  return StoreCommand(store, node, argv).run();
}

}  // namespace vnet::cmd
