// The writers, `vpc --etcd …` (cmd/vpc_store_cmd.cc), driven as a node's shell drives them: each
// command lands as the schema's keys and values in one guarded txn (one revision), the vSwitch's
// refusals and the usage errors write nothing, `show` prints the store, `vpc del` and `migrate`
// are one revision each, and a writer that loses a race to another reads again and retries
// without losing the other's update.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <sstream>

#include "cmd/command.h"
#include "cmd/control_plane.h"
#include "cmd/shell.h"
#include "ctrl/mem_store.h"
#include "ctrl/schema.h"

namespace vnet::cmd {
namespace {

using ctrl::Event;
using ctrl::MemStore;

constexpr const char* kRoot = "/vnet/v1/";

Args words(const std::string& line) {
  Args out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A Store in front of another that lets a second writer get in just before each txn: `before_txn`
// runs with the txn's number (1, 2, …) and may write to the store behind.
class RacingStore : public ctrl::Store {
 public:
  explicit RacingStore(ctrl::Store& inner) : inner_(inner) {}
  ctrl::Result<ctrl::RangeResponse> range(const std::string& key, const std::string& range_end,
                                          int64_t revision) override {
    return inner_.range(key, range_end, revision);
  }
  ctrl::Result<ctrl::TxnResponse> txn(const ctrl::TxnRequest& request) override {
    ++txns;
    if (before_txn) before_txn(txns);
    return inner_.txn(request);
  }
  ctrl::Result<int64_t> compact(int64_t revision) override { return inner_.compact(revision); }
  ctrl::Result<ctrl::StoreStatus> status() override { return inner_.status(); }
  ctrl::Result<std::unique_ptr<ctrl::WatchStream>> watch() override { return inner_.watch(); }
  std::string describe() const override { return "racing"; }

  std::function<void(int)> before_txn;
  int txns = 0;

 private:
  ctrl::Store& inner_;
};

class WriterTest : public ::testing::Test {
 protected:
  WriterTest() {
    cp_.store = &store_;
    cp_.node = "host1";
  }

  // `vpc ARGS…` on the node (not its vSwitch: the line says --etcd) with the control plane.
  CmdOutput vpc(const std::string& line, const ControlPlane* cp = nullptr) {
    Args argv = words("vpc " + line);
    return run_vpc(node_, argv, cp != nullptr ? cp : &cp_);
  }
  // A write that must succeed as one txn: status 0, nothing printed, the revision +1.
  void write(const std::string& line, const ControlPlane* cp = nullptr) {
    SCOPED_TRACE(line);
    int64_t r = store_.revision();
    CmdOutput o = vpc(line, cp);
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(o.err, "");
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(store_.revision(), r + 1);
  }
  // A line that must write nothing; its output.
  CmdOutput nothing(const std::string& line, const ControlPlane* cp = nullptr) {
    SCOPED_TRACE(line);
    auto before = dump();
    int64_t r = store_.revision();
    CmdOutput o = vpc(line, cp);
    EXPECT_EQ(store_.revision(), r);
    EXPECT_EQ(dump(), before);
    return o;
  }
  // Every key under the root: key -> value.
  std::map<std::string, std::string> dump(const std::string& prefix = kRoot, int64_t at = 0) {
    std::map<std::string, std::string> out;
    auto got = store_.range(prefix, ctrl::prefix_end(prefix), at);
    EXPECT_TRUE(got.ok());
    if (!got.ok()) return out;
    for (const ctrl::KeyValue& kv : got.value().kvs) out[kv.key] = kv.value;
    return out;
  }
  std::optional<ctrl::KeyValue> get(const std::string& key) {
    auto got = store_.range(key, "");
    EXPECT_TRUE(got.ok());
    if (!got.ok() || got.value().kvs.empty()) return std::nullopt;
    return got.value().kvs[0];
  }
  std::string value(const std::string& key) {
    auto kv = get(key);
    return kv ? kv->value : "<absent>";
  }
  void put(const std::string& k, const std::string& v) { ASSERT_TRUE(store_.put(k, v).ok()); }
  // The events of every revision from `from` on, as a watch sees them.
  std::vector<Event> events_since(int64_t from) {
    std::vector<Event> out;
    auto w = store_.watch();
    EXPECT_TRUE(w.ok());
    if (!w.ok()) return out;
    ctrl::WatchCreate c;
    c.watch_id = 1;
    c.key = kRoot;
    c.range_end = ctrl::prefix_end(kRoot);
    c.start_revision = from;
    EXPECT_TRUE(w.value()->create(c));
    ctrl::WatchResponse r;
    while (w.value()->read(&r, 0) == ctrl::WatchStream::ReadResult::Response) {
      out.insert(out.end(), r.events.begin(), r.events.end());
    }
    return out;
  }

  MemStore store_;
  ControlPlane cp_;
  stack::Node node_;  // the node whose shell runs the commands: its own vSwitch stays untouched
};

// ---- each command as keys and values ----

TEST_F(WriterTest, LocalLandsAsTheHostConfig) {
  write("--etcd --node host2 local 10.10.1.10");
  EXPECT_EQ(dump(), (std::map<std::string, std::string>{
                        {"/vnet/v1/host/host2/config", R"({"local":"10.10.1.10"})"}}));
  // Changing it replaces the value (version 2), at the next revision.
  write("--etcd --node host2 local 10.10.1.11");
  auto kv = get("/vnet/v1/host/host2/config");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->value, R"({"local":"10.10.1.11"})");
  EXPECT_EQ(kv->version, 2);
  EXPECT_EQ(kv->mod_revision, store_.revision());
  // The node's own vSwitch never saw any of it.
  EXPECT_EQ(node_.vswitch_if_loaded(), nullptr);
}

TEST_F(WriterTest, SetGraceAndMacMergeIntoTheHostConfig) {
  write("--etcd --node host2 local 10.10.1.10");
  write("--etcd --node host2 set grace 500ms");
  EXPECT_EQ(value("/vnet/v1/host/host2/config"), R"({"grace_ms":500,"local":"10.10.1.10"})");
  write("--etcd --node host2 set mac 02:00:00:00:00:01");
  EXPECT_EQ(value("/vnet/v1/host/host2/config"),
            R"({"grace_ms":500,"local":"10.10.1.10","mac":"02:00:00:00:00:01"})");
  // Back to the default grace: the field goes (the vSwitch's default is not stored).
  write("--etcd --node host2 set grace 2s");
  EXPECT_EQ(value("/vnet/v1/host/host2/config"),
            R"({"local":"10.10.1.10","mac":"02:00:00:00:00:01"})");
  // A host setting before the host has a local address is refused, and writes nothing.
  CmdOutput o = nothing("--etcd --node host3 set grace 1s");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err,
            "Error: node host3's local address must be set first (vpc --etcd --node host3 local "
            "ADDR).\n");
}

TEST_F(WriterTest, AddVpcWithSubnets) {
  write("--etcd add 7 subnet 172.16.0.0/16 subnet 172.17.0.0/16");
  write("--etcd add 8");
  EXPECT_EQ(dump(),
            (std::map<std::string, std::string>{
                {"/vnet/v1/vpc/7/config", R"({"subnets":["172.16.0.0/16","172.17.0.0/16"]})"},
                {"/vnet/v1/vpc/8/config", R"({"subnets":[]})"}}));
}

TEST_F(WriterTest, RouteNeighAndSubnetRouteAdd) {
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  write("--etcd subnet-route add 172.18.0.0/16 peer 8 vpc 7");
  EXPECT_EQ(dump(), (std::map<std::string, std::string>{
                        {"/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:01"})"},
                        {"/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.9"})"},
                        {"/vnet/v1/vpc/7/subnet-route/172.18.0.0/16", R"({"peer":8})"}}));
  // change / replace rewrite the one key; del removes it.
  write("--etcd route change 172.16.0.47 host 10.10.1.10 vpc 7");
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.10"})");
  write("--etcd neigh replace 172.16.0.47 lladdr 52:54:00:00:00:02 vpc 7");
  EXPECT_EQ(value("/vnet/v1/vpc/7/neigh/172.16.0.47"), R"({"mac":"52:54:00:00:00:02"})");
  write("--etcd subnet-route del 172.18.0.0/16 vpc 7");
  EXPECT_EQ(dump().count("/vnet/v1/vpc/7/subnet-route/172.18.0.0/16"), 0u);
  EXPECT_EQ(dump().size(), 2u);
}

TEST_F(WriterTest, PortAddWithNode) {
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  // No lladdr: neigh_table's MAC, stored with the port.
  write("--etcd --node host2 port add vm1 vm 172.16.0.47 vpc 7");
  write("--etcd --node host2 port add vm2 vm 172.16.0.48 vpc 7 lladdr 52:54:00:00:00:02");
  EXPECT_EQ(dump(ctrl::schema::host_prefix("host2")),
            (std::map<std::string, std::string>{
                {"/vnet/v1/host/host2/port/vm1",
                 R"({"ip":"172.16.0.47","mac":"52:54:00:00:00:01","vpc":7})"},
                {"/vnet/v1/host/host2/port/vm2",
                 R"({"ip":"172.16.0.48","mac":"52:54:00:00:00:02","vpc":7})"}}));
  // port del takes the one key away.
  write("--etcd --node host2 port del vm1");
  EXPECT_EQ(get("/vnet/v1/host/host2/port/vm1"), std::nullopt);
  EXPECT_TRUE(get("/vnet/v1/host/host2/port/vm2"));
  EXPECT_EQ(node_.vswitch_if_loaded(), nullptr);
}

TEST_F(WriterTest, TheNodeDefaultsToTheShellsOwnThroughShell) {
  Shell sh(node_);
  sh.set_control(&cp_);
  CmdOutput o = sh.run(
      "vpc --etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7 && "
      "vpc --etcd port add vm1 vm 172.16.0.47 vpc 7 && vpc --etcd --node host1 local 10.10.1.9");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(value("/vnet/v1/host/host1/port/vm1"),
            R"({"ip":"172.16.0.47","mac":"52:54:00:00:00:01","vpc":7})");
  EXPECT_EQ(value("/vnet/v1/host/host1/config"), R"({"local":"10.10.1.9"})");
  o = sh.run("vpc --etcd port show");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "vm1 vm 172.16.0.47 vpc 7 lladdr 52:54:00:00:00:01\n");
  // The shell's node has no device vm1 and no vSwitch: the command ran on a scratch node.
  EXPECT_EQ(node_.device_by_name("vm1"), nullptr);
  EXPECT_EQ(node_.vswitch_if_loaded(), nullptr);
  // Without a control plane there is no store.
  Shell bare(node_);
  o = bare.run("vpc --etcd route show");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "Error: no store: this node runs no agent (give --etcd ENDPOINTS).\n");
}

TEST_F(WriterTest, PortOrHostSettingWithoutNodeIsRefused) {
  ControlPlane hostside;  // a writer outside any node: no name of its own
  hostside.store = &store_;
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  for (const char* line :
       {"--etcd port add vm1 vm 172.16.0.47 vpc 7", "--etcd port del vm1", "--etcd local 10.10.1.9",
        "--etcd set grace 1s", "--etcd set mac 02:00:00:00:00:01"}) {
    CmdOutput o = nothing(line, &hostside);
    EXPECT_EQ(o.status, 255) << line;
    EXPECT_EQ(o.err, "Error: a port or host setting in the store needs --node NAME.\n") << line;
  }
  // --node fixes it.
  write("--etcd --node host2 port add vm1 vm 172.16.0.47 vpc 7", &hostside);
  // Other option mistakes: --node without --etcd, a name no key can hold, --node with no name.
  CmdOutput o = nothing("--node host2 port add vm1 vm 172.16.0.48 vpc 7");
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.err, "Error: --node names a host in the store: it needs --etcd.\n");
  o = nothing("--etcd --node a/b local 10.10.1.9");
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.err, "Error: node \"a/b\" is invalid.\n");
  o = nothing("--etcd --node");
  EXPECT_EQ(o.status, 255);
  EXPECT_EQ(o.err, "Command line is not complete: a node name expected. Try \"vpc help\".\n");
}

// What `vpc` (without --etcd) says on a node holding the same state.
CmdOutput on_a_vswitch(const std::vector<std::string>& setup, const std::string& line) {
  stack::Node n;
  EXPECT_TRUE(n.link_add_external("vm1").ok());
  EXPECT_TRUE(n.link_add_external("vm2").ok());
  for (const std::string& s : setup) {
    CmdOutput o = run_vpc(n, words("vpc " + s));
    EXPECT_EQ(o.status, 0) << s << ": " << o.err;
  }
  return run_vpc(n, words("vpc " + line));
}

TEST_F(WriterTest, VSwitchRefusalsGiveItsErrorAndWriteNothing) {
  const std::vector<std::string> setup = {
      "add 7 subnet 172.16.0.0/16",
      "route add 172.16.0.47 host 10.10.1.9 vpc 7",
      "neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7",
      "port add vm1 vm 172.16.0.47 vpc 7",
  };
  for (const std::string& s : setup) write("--etcd " + s);
  struct Case {
    std::string line;
    int status;
    std::string err;
  };
  const std::vector<Case> cases = {
      {"route add 172.16.0.47 host 10.10.1.10 vpc 7", 2,
       "Error: route_table has 172.16.0.47 in vpc 7.\n"},
      {"route add 172.16.0.300 host 10.10.1.10 vpc 7", 255,
       "Error: address \"172.16.0.300\" is invalid: an IPv4 address expected.\n"},
      {"route add 172.16.0.48 host 224.0.0.1 vpc 7", 2,
       "Error: 224.0.0.1 is not a host address.\n"},
      {"route change 172.16.0.49 host 10.10.1.10 vpc 7", 2,
       "Error: route_table has no 172.16.0.49 in vpc 7.\n"},
      {"route del 172.16.0.47 host 10.10.1.99 vpc 7", 2,
       "Error: route_table has no 172.16.0.47 host 10.10.1.99 in vpc 7.\n"},
      {"neigh add 172.16.0.47 lladdr 52:54:00:00:00:09 vpc 7", 2,
       "Error: neigh_table has 172.16.0.47 in vpc 7.\n"},
      {"neigh add 172.16.0.48 lladdr 01:00:5e:00:00:01 vpc 7", 2,
       "Error: 01:00:5e:00:00:01 is not a unicast MAC.\n"},
      {"add 7", 2, "Error: vpc 7 exists.\n"},
      {"del 9", 2, "Error: no vpc 9.\n"},
      {"add 8 subnet 10.0.0.0/8 subnet 10.1.0.0/16", 2,
       "Error: subnets 10.0.0.0/8 and 10.1.0.0/16 overlap.\n"},
      {"--node host1 port add vm2 vm 172.16.0.47 vpc 7 lladdr 52:54:00:00:00:01", 2,
       "Error: vm 172.16.0.47 of vpc 7 has port vm1 already.\n"},
      {"--node host1 port add vm1 vm 172.16.0.50 vpc 7 lladdr 52:54:00:00:00:05", 2,
       "Error: vm1 is a port of vm 172.16.0.47 already.\n"},
      {"--node host1 port add vm2 vm 172.16.0.51 vpc 7", 2,
       "Error: no lladdr given and neigh_table has no 172.16.0.51 in vpc 7.\n"},
      {"--node host1 port del vm2", 255, "Cannot find device \"vm2\"\n"},
      {"--node host1 local 255.255.255.255", 2,
       "Error: 255.255.255.255 cannot be the vSwitch's address.\n"},
      {"route frob", 255, "Command \"frob\" is unknown, try \"vpc help\".\n"},
  };
  for (const Case& c : cases) {
    CmdOutput o = nothing("--etcd " + c.line);
    EXPECT_EQ(o.status, c.status) << c.line;
    EXPECT_EQ(o.err, c.err) << c.line;
    EXPECT_EQ(o.out, "") << c.line;
    // The same refusal as the vSwitch's own (the store-only `--node` left out).
    std::string plain = c.line.rfind("--node host1 ", 0) == 0 ? c.line.substr(13) : c.line;
    if (plain.find("del vm2") != std::string::npos) continue;  // the plain node has a vm2
    CmdOutput v = on_a_vswitch(setup, plain);
    EXPECT_EQ(v.status, c.status) << c.line;
    EXPECT_EQ(v.err, c.err) << c.line;
  }
  // A port whose MAC disagrees with neigh_table is refused too.
  write("--etcd neigh add 172.16.0.52 lladdr 52:54:00:00:00:52 vpc 7");
  CmdOutput o =
      nothing("--etcd --node host1 port add vm2 vm 172.16.0.52 vpc 7 lladdr 52:54:00:00:00:53");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err,
            "Error: lladdr 52:54:00:00:00:53 is not neigh_table's 52:54:00:00:00:52 for "
            "172.16.0.52 in vpc 7.\n");
}

TEST_F(WriterTest, EachWriteIsOneRevisionAndNoOpsWriteNothing) {
  write("--etcd --node host1 local 10.10.1.9");
  write("--etcd add 7 subnet 172.16.0.0/16");
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  write("--etcd --node host1 port add vm1 vm 172.16.0.47 vpc 7");
  // Each key was written at its own revision: one txn per command.
  int64_t r = store_.revision();
  EXPECT_EQ(get("/vnet/v1/host/host1/port/vm1")->mod_revision, r);
  EXPECT_EQ(get("/vnet/v1/vpc/7/neigh/172.16.0.47")->mod_revision, r - 1);
  EXPECT_EQ(get("/vnet/v1/vpc/7/route/172.16.0.47")->mod_revision, r - 2);
  EXPECT_EQ(get("/vnet/v1/vpc/7/config")->mod_revision, r - 3);
  EXPECT_EQ(get("/vnet/v1/host/host1/config")->mod_revision, r - 4);
  // Saying again what the store holds: success, no txn.
  for (const char* line : {
           "--etcd route replace 172.16.0.47 host 10.10.1.9 vpc 7",
           "--etcd neigh replace 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7",
           "--etcd --node host1 local 10.10.1.9",
           "--etcd --node host1 set grace 2s",
       }) {
    CmdOutput o = nothing(line);
    EXPECT_EQ(o.status, 0) << line << ": " << o.err;
    EXPECT_EQ(o.out, "") << line;
  }
  // Shows and help print, and write nothing.
  for (const char* line : {"--etcd show", "--etcd show vpc 7", "--etcd route show",
                           "--etcd -j neigh show", "--etcd subnet-route show", "--etcd port show",
                           "--etcd --node host1 local", "--etcd help", "--etcd -j show"}) {
    CmdOutput o = nothing(line);
    EXPECT_EQ(o.status, 0) << line << ": " << o.err;
  }
}

TEST_F(WriterTest, ShowPrintsWhatTheStoreHolds) {
  // Written by someone else (another writer, etcdctl): the show reads the store, not a cache.
  put("/vnet/v1/vpc/7/config", R"({"subnets":["172.16.0.0/16"]})");
  put("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.9"})");
  put("/vnet/v1/vpc/7/route/172.16.0.48", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:01"})");
  put("/vnet/v1/vpc/8/route/172.18.0.2", R"({"host":"10.10.1.10"})");
  put("/vnet/v1/host/host1/config", R"({"local":"10.10.1.9","grace_ms":500})");
  put("/vnet/v1/host/host1/port/vm1", R"({"vpc":7,"ip":"172.16.0.47"})");
  put("/vnet/v1/host/host2/port/vm2", R"({"vpc":7,"ip":"172.16.0.48","mac":"52:54:00:00:00:02"})");
  CmdOutput o = nothing("--etcd route show");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out,
            "172.16.0.47 host 10.10.1.9 vpc 7\n"
            "172.16.0.48 host 10.10.1.10 vpc 7\n"
            "172.18.0.2 host 10.10.1.10 vpc 8\n");
  o = nothing("--etcd route show vpc 8");
  EXPECT_EQ(o.out, "172.18.0.2 host 10.10.1.10 vpc 8\n");
  o = nothing("--etcd -j route show vpc 8");
  EXPECT_EQ(o.out, R"([{"dst":"172.18.0.2","host":"10.10.1.10","vpc":8}])"
                   "\n");
  o = nothing("--etcd neigh show");
  EXPECT_EQ(o.out, "172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7\n");
  // Ports are per host: this node's (its MAC from neigh_table), or --node's.
  o = nothing("--etcd port show");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "vm1 vm 172.16.0.47 vpc 7 lladdr 52:54:00:00:00:01\n");
  o = nothing("--etcd --node host2 port show");
  EXPECT_EQ(o.out, "vm2 vm 172.16.0.48 vpc 7 lladdr 52:54:00:00:00:02\n");
  o = nothing("--etcd --node host1 local");
  EXPECT_EQ(o.out, "10.10.1.9\n");
  o = nothing("--etcd show vpc 7");
  EXPECT_EQ(o.out,
            "vswitch local 10.10.1.9 mac ee:ff:ff:ff:ff:ff grace 500ms\n"
            "vpc 7 subnets 172.16.0.0/16\n"
            "  route 172.16.0.47 host 10.10.1.9\n"
            "  route 172.16.0.48 host 10.10.1.10\n"
            "  neigh 172.16.0.47 lladdr 52:54:00:00:00:01\n"
            "  port vm1 vm 172.16.0.47 lladdr 52:54:00:00:00:01\n");
  // A value no agent would take is left out of the show (and replaced by a write).
  put("/vnet/v1/vpc/8/route/172.18.0.3", R"({"host":"nowhere"})");
  o = nothing("--etcd route show vpc 8");
  EXPECT_EQ(o.out, "172.18.0.2 host 10.10.1.10 vpc 8\n");
  write("--etcd route add 172.18.0.3 host 10.10.1.11 vpc 8");
  EXPECT_EQ(value("/vnet/v1/vpc/8/route/172.18.0.3"), R"({"host":"10.10.1.11"})");
}

TEST_F(WriterTest, VpcDelRemovesTheWholePrefixInOneRevision) {
  write("--etcd add 7 subnet 172.16.0.0/16");
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  write("--etcd route add 172.16.0.48 host 10.10.1.10 vpc 7");
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  write("--etcd subnet-route add 172.18.0.0/16 peer 8 vpc 7");
  write("--etcd --node host1 port add vm1 vm 172.16.0.47 vpc 7");
  // VPC 8 peers with 7 and has a route of its own.
  write("--etcd subnet-route add 172.16.0.0/16 peer 7 vpc 8");
  write("--etcd route add 172.18.0.2 host 10.10.1.10 vpc 8");
  int64_t r = store_.revision();
  write("--etcd del 7");
  EXPECT_TRUE(dump(ctrl::schema::vpc_prefix(7)).empty());
  // The vSwitch's vpc_del takes the peers' routes to 7 and this node's ports in 7 with it.
  EXPECT_EQ(dump(), (std::map<std::string, std::string>{
                        {"/vnet/v1/vpc/8/route/172.18.0.2", R"({"host":"10.10.1.10"})"}}));
  // All of it at revision r + 1.
  std::vector<Event> ev = events_since(r + 1);
  ASSERT_EQ(ev.size(), 7u);
  for (const Event& e : ev) {
    EXPECT_EQ(e.type, Event::Type::Delete) << e.kv.key;
    EXPECT_EQ(e.kv.mod_revision, r + 1) << e.kv.key;
  }
  EXPECT_EQ(dump(kRoot, r).size(), 8u);
}

TEST_F(WriterTest, DeletingTheLastEntryOfAVpcRemovesItsPrefix) {
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  write("--etcd route add 172.18.0.2 host 10.10.1.9 vpc 8");
  write("--etcd route del 172.16.0.47 vpc 7");
  EXPECT_EQ(dump(), (std::map<std::string, std::string>{
                        {"/vnet/v1/vpc/8/route/172.18.0.2", R"({"host":"10.10.1.9"})"}}));
}

TEST_F(WriterTest, EndpointsOpenAnotherStore) {
  MemStore other;
  std::string asked;
  cp_.open = [&](const std::string& endpoints, std::string* error) -> std::unique_ptr<ctrl::Store> {
    asked = endpoints;
    if (endpoints == "unix:/nowhere:0") {
      *error = "cannot connect to unix:/nowhere:0";
      return nullptr;
    }
    return std::make_unique<RacingStore>(other);
  };
  write("--etcd --node host1 local 10.10.1.9");
  int64_t r = store_.revision();
  CmdOutput o = vpc("--etcd 127.0.0.1:2379 route add 172.16.0.47 host 10.10.1.9 vpc 7");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(asked, "127.0.0.1:2379");
  EXPECT_EQ(store_.revision(), r);
  auto got = other.range("/vnet/v1/vpc/7/route/172.16.0.47", "");
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got.value().kvs.size(), 1u);
  EXPECT_EQ(got.value().kvs[0].value, R"({"host":"10.10.1.9"})");
  o = nothing("--etcd unix:/nowhere:0 route show");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "Error: cannot connect to unix:/nowhere:0.\n");
  cp_.open = nullptr;
  o = nothing("--etcd 127.0.0.1:2379 route show");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err,
            "Error: this node cannot connect to other stores; use --etcd without endpoints.\n");
}

TEST_F(WriterTest, AnUnavailableStoreIsAnError) {
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  store_.set_available(false);
  for (const char* line : {"--etcd route add 172.16.0.48 host 10.10.1.9 vpc 7", "--etcd route show",
                           "--etcd migrate 172.16.0.47 vpc 7 to host2"}) {
    CmdOutput o = vpc(line);
    EXPECT_EQ(o.status, 1) << line;
    EXPECT_EQ(o.err, "Error: the store at embedded: embedded store unavailable (unavailable).\n")
        << line;
  }
  store_.set_available(true);
  EXPECT_EQ(dump().size(), 1u);
}

// ---- migrate ----

class WriterMigrateTest : public WriterTest {
 protected:
  WriterMigrateTest() {
    put("/vnet/v1/host/host1/config", R"({"local":"10.10.1.9"})");
    put("/vnet/v1/host/host2/config", R"({"local":"10.10.1.10"})");
    put("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.9"})");
    put("/vnet/v1/vpc/7/neigh/172.16.0.47", R"({"mac":"52:54:00:00:00:01"})");
    put("/vnet/v1/host/host1/port/vm1", kPort);
  }
  static constexpr const char* kPort = R"({"ip":"172.16.0.47","mac":"52:54:00:00:00:01","vpc":7})";
};

TEST_F(WriterMigrateTest, MovesTheRouteAndThePortInOneTxn) {
  int64_t r = store_.revision();
  write("--etcd migrate 172.16.0.47 vpc 7 to host2");
  EXPECT_EQ(store_.revision(), r + 1);
  auto route = get("/vnet/v1/vpc/7/route/172.16.0.47");
  auto port = get("/vnet/v1/host/host2/port/vm1");
  ASSERT_TRUE(route && port);
  EXPECT_EQ(route->value, R"({"host":"10.10.1.10"})");
  EXPECT_EQ(port->value, kPort);
  EXPECT_EQ(route->mod_revision, r + 1);
  EXPECT_EQ(port->mod_revision, r + 1);
  EXPECT_EQ(get("/vnet/v1/host/host1/port/vm1"), std::nullopt);
  // Three events, one revision: the old port's delete among them.
  std::vector<Event> ev = events_since(r + 1);
  ASSERT_EQ(ev.size(), 3u);
  std::map<std::string, Event::Type> by_key;
  for (const Event& e : ev) {
    EXPECT_EQ(e.kv.mod_revision, r + 1) << e.kv.key;
    by_key[e.kv.key] = e.type;
  }
  EXPECT_EQ(by_key, (std::map<std::string, Event::Type>{
                        {"/vnet/v1/host/host1/port/vm1", Event::Type::Delete},
                        {"/vnet/v1/host/host2/port/vm1", Event::Type::Put},
                        {"/vnet/v1/vpc/7/route/172.16.0.47", Event::Type::Put}}));
  // The neigh entry and the host configs are not touched.
  EXPECT_EQ(get("/vnet/v1/vpc/7/neigh/172.16.0.47")->mod_revision, r - 1);
  // And back again.
  write("--etcd migrate 172.16.0.47 vpc 7 to host1");
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.9"})");
  EXPECT_EQ(value("/vnet/v1/host/host1/port/vm1"), kPort);
  EXPECT_EQ(get("/vnet/v1/host/host2/port/vm1"), std::nullopt);
}

TEST_F(WriterMigrateTest, DevRenamesThePortAndFromNamesWhereItIs) {
  int64_t r = store_.revision();
  write("--etcd migrate 172.16.0.47 vpc 7 to host2 dev tap7 from host1");
  EXPECT_EQ(get("/vnet/v1/host/host1/port/vm1"), std::nullopt);
  EXPECT_EQ(get("/vnet/v1/host/host2/port/vm1"), std::nullopt);
  auto port = get("/vnet/v1/host/host2/port/tap7");
  ASSERT_TRUE(port);
  EXPECT_EQ(port->value, kPort);
  EXPECT_EQ(port->mod_revision, r + 1);
  EXPECT_EQ(get("/vnet/v1/vpc/7/route/172.16.0.47")->mod_revision, r + 1);
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.10"})");
}

TEST_F(WriterMigrateTest, ErrorsWriteNothing) {
  put("/vnet/v1/host/host3/port/vm9", R"({"ip":"172.16.0.9","mac":"52:54:00:00:00:09","vpc":7})");
  put("/vnet/v1/host/host2/port/vm1", R"({"ip":"172.16.0.8","mac":"52:54:00:00:00:08","vpc":7})");
  struct Case {
    std::string line;
    int status;
    std::string err;
  };
  const std::vector<Case> cases = {
      {"migrate 172.16.0.99 vpc 7 to host2", 2,
       "Error: route_table has no 172.16.0.99 in vpc 7.\n"},
      {"migrate 172.16.0.47 vpc 8 to host2", 2,
       "Error: route_table has no 172.16.0.47 in vpc 8.\n"},
      {"migrate 172.16.0.47 vpc 7 to host1", 2,
       "Error: vm 172.16.0.47 of vpc 7 is on host1 already.\n"},
      // host3 has a port but no config, host4 nothing at all.
      {"migrate 172.16.0.47 vpc 7 to host3", 2,
       "Error: node host3 has no local address in the store (vpc --etcd --node host3 local "
       "ADDR).\n"},
      {"migrate 172.16.0.47 vpc 7 to host4", 2,
       "Error: node host4 has no local address in the store (vpc --etcd --node host4 local "
       "ADDR).\n"},
      // host2 has a vm1 already (another VM's).
      {"migrate 172.16.0.47 vpc 7 to host2", 2, "Error: vm1 is a port on host2 already.\n"},
      {"migrate 172.16.0.47 vpc 7 to host1 dev vm1 from host2", 2,
       "Error: vm 172.16.0.47 of vpc 7 has no port on host2.\n"},
      {"migrate", 255, "Command line is not complete: an address expected. Try \"vpc help\".\n"},
      {"migrate 172.16.0.256 vpc 7 to host2", 255,
       "Error: address \"172.16.0.256\" is invalid: an IPv4 address expected.\n"},
      {"migrate 172.16.0.47 vpc 7", 255,
       "Command line is not complete: \"to\" is required. Try \"vpc help\".\n"},
      {"migrate 172.16.0.47 to host2", 255,
       "Command line is not complete: \"vpc\" is required. Try \"vpc help\".\n"},
      {"migrate 172.16.0.47 vpc x to host2", 255,
       "Error: vpc id \"x\" is invalid: 0..4294967295 expected.\n"},
      {"migrate 172.16.0.47 vpc 7 to a/b", 255, "Error: node \"a/b\" is invalid.\n"},
      {"migrate 172.16.0.47 vpc 7 to host2 dev a-very-long-device-name", 255,
       "Error: device \"a-very-long-device-name\" is invalid.\n"},
      {"migrate 172.16.0.47 vpc 7 to host2 to host3", 255,
       "Error: duplicate \"to\": only one is allowed.\n"},
      {"migrate 172.16.0.47 vpc 7 onto host2", 255,
       "Error: argument \"onto\" is wrong: unknown keyword\n"},
      {"migrate 172.16.0.47 vpc 7 to", 255,
       "Command line is not complete: a value expected. Try \"vpc help\".\n"},
  };
  for (const Case& c : cases) {
    CmdOutput o = nothing("--etcd " + c.line);
    EXPECT_EQ(o.status, c.status) << c.line;
    EXPECT_EQ(o.err, c.err) << c.line;
  }
  // With another dev name it goes.
  write("--etcd migrate 172.16.0.47 vpc 7 to host2 dev vm1b");
  EXPECT_EQ(value("/vnet/v1/host/host2/port/vm1b"), kPort);
}

// ---- concurrent writers ----

class WriterRaceTest : public WriterTest {
 protected:
  WriterRaceTest() : racing_(store_) {
    cp_.store = &racing_;
    other_.store = &store_;  // the other writer goes straight to the store
    other_.node = "host1";
  }
  // The other writer's command, which must succeed.
  void other(const std::string& line) {
    CmdOutput o = run_vpc(other_node_, words("vpc " + line), &other_);
    EXPECT_EQ(o.status, 0) << line << ": " << o.err;
  }
  // Runs the other writer's line just before this writer's next txn (and only that one).
  void race_once(const std::string& line) {
    racing_.txns = 0;
    racing_.before_txn = [this, line](int n) {
      if (n == 1) other(line);
    };
  }

  RacingStore racing_;
  ControlPlane other_;
  stack::Node other_node_;
};

TEST_F(WriterRaceTest, RetriesAfterAConflictAndKeepsTheOtherWritersUpdate) {
  write("--etcd --node host1 local 10.10.1.9");
  // Both change host1's config: one its local address, one its grace time.
  race_once("--etcd --node host1 local 10.10.1.20");
  int64_t r = store_.revision();
  CmdOutput o = vpc("--etcd --node host1 set grace 500ms");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(racing_.txns, 2);           // the first failed its guard, the second went
  EXPECT_EQ(store_.revision(), r + 2);  // the other writer's and this one's
  EXPECT_EQ(value("/vnet/v1/host/host1/config"), R"({"grace_ms":500,"local":"10.10.1.20"})");
}

TEST_F(WriterRaceTest, TheRetryRunsTheCommandAgainOnTheNewState) {
  // Another writer adds the same route first: the retry finds it there, as the vSwitch would.
  race_once("--etcd route add 172.16.0.47 host 10.10.1.10 vpc 7");
  CmdOutput o = vpc("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: route_table has 172.16.0.47 in vpc 7.\n");
  EXPECT_EQ(racing_.txns, 1);
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.10"})");
  // Another writer takes device vm1 on host1 for another VM first.
  write("--etcd neigh add 172.16.0.48 lladdr 52:54:00:00:00:02 vpc 7");
  race_once("--etcd --node host1 port add vm1 vm 172.16.0.49 vpc 7 lladdr 52:54:00:00:00:03");
  o = vpc("--etcd --node host1 port add vm1 vm 172.16.0.48 vpc 7");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: vm1 is a port of vm 172.16.0.49 already.\n");
  EXPECT_EQ(value("/vnet/v1/host/host1/port/vm1"),
            R"({"ip":"172.16.0.49","mac":"52:54:00:00:00:03","vpc":7})");
}

TEST_F(WriterRaceTest, GivesUpAfterThreeConflicts) {
  other("--etcd --node host1 local 10.10.1.9");
  int n = 0;
  racing_.before_txn = [&](int) {
    other("--etcd --node host1 local 10.10.1." + std::to_string(20 + n++));
  };
  int64_t r = store_.revision();
  CmdOutput o = vpc("--etcd --node host1 set grace 500ms");
  EXPECT_EQ(o.status, 1);
  EXPECT_EQ(o.err, "Error: the store's state kept changing while this command ran; try again.\n");
  EXPECT_EQ(racing_.txns, 3);
  EXPECT_EQ(store_.revision(), r + 3);  // the other writer's three, none of this one's
  EXPECT_EQ(value("/vnet/v1/host/host1/config"), R"({"local":"10.10.1.22"})");
}

TEST_F(WriterRaceTest, MigrateRetriesAfterAConcurrentMigration) {
  put("/vnet/v1/host/host1/config", R"({"local":"10.10.1.9"})");
  put("/vnet/v1/host/host2/config", R"({"local":"10.10.1.10"})");
  put("/vnet/v1/host/host3/config", R"({"local":"10.10.1.11"})");
  put("/vnet/v1/vpc/7/route/172.16.0.47", R"({"host":"10.10.1.9"})");
  const std::string port = R"({"ip":"172.16.0.47","mac":"52:54:00:00:00:01","vpc":7})";
  put("/vnet/v1/host/host1/port/vm1", port);
  // Another operator moves the VM to host3 first; this one's move to host2 then starts there.
  race_once("--etcd migrate 172.16.0.47 vpc 7 to host3");
  int64_t r = store_.revision();
  CmdOutput o = vpc("--etcd migrate 172.16.0.47 vpc 7 to host2");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(racing_.txns, 2);
  EXPECT_EQ(store_.revision(), r + 2);
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.10"})");
  EXPECT_EQ(dump("/vnet/v1/host/"), (std::map<std::string, std::string>{
                                        {"/vnet/v1/host/host1/config", R"({"local":"10.10.1.9"})"},
                                        {"/vnet/v1/host/host2/config", R"({"local":"10.10.1.10"})"},
                                        {"/vnet/v1/host/host2/port/vm1", port},
                                        {"/vnet/v1/host/host3/config", R"({"local":"10.10.1.11"})"},
                                    }));
  // Raced again, by a move to host2 itself: the retry finds it there already.
  race_once("--etcd migrate 172.16.0.47 vpc 7 to host1");
  o = vpc("--etcd migrate 172.16.0.47 vpc 7 to host1");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: vm 172.16.0.47 of vpc 7 is on host1 already.\n");
  EXPECT_EQ(value("/vnet/v1/host/host1/port/vm1"), port);
}

// A command that leaves a VPC with no key deletes its whole prefix as one range; a key another
// writer added to that VPC meanwhile must survive (in either serial order it would).
TEST_F(WriterRaceTest, EmptyingAVpcKeepsAConcurrentAdd) {
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  race_once("--etcd route add 172.16.0.48 host 10.10.1.10 vpc 7");
  CmdOutput o = vpc("--etcd route del 172.16.0.47 vpc 7");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(get("/vnet/v1/vpc/7/route/172.16.0.47"), std::nullopt);
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.48"), R"({"host":"10.10.1.10"})");
  EXPECT_EQ(racing_.txns, 2);  // a guarded first txn fails and the retry deletes .47 alone
}

// `route del ADDR host HOST` of a VPC's last route is refused when another writer changed that
// route to another host meanwhile, as the vSwitch (and a serial run) would refuse it.
TEST_F(WriterRaceTest, EmptyingAVpcIsGuardedByTheKeysItDeletes) {
  write("--etcd route add 172.16.0.47 host 10.10.1.9 vpc 7");
  race_once("--etcd route change 172.16.0.47 host 10.10.1.10 vpc 7");
  CmdOutput o = vpc("--etcd route del 172.16.0.47 host 10.10.1.9 vpc 7");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: route_table has no 172.16.0.47 host 10.10.1.9 in vpc 7.\n");
  EXPECT_EQ(value("/vnet/v1/vpc/7/route/172.16.0.47"), R"({"host":"10.10.1.10"})");
}

// No write skew: two writers each add a port for the same VM on one host under different
// devices.  Each alone is accepted; together they would leave a state no vSwitch accepts, so
// the txn is guarded by the prefixes its checks read, and the second one is refused.
TEST_F(WriterRaceTest, TwoPortsForOneVmOnOneHostAreRefused) {
  write("--etcd neigh add 172.16.0.47 lladdr 52:54:00:00:00:01 vpc 7");
  race_once("--etcd --node host1 port add vm2 vm 172.16.0.47 vpc 7");
  CmdOutput o = vpc("--etcd --node host1 port add vm1 vm 172.16.0.47 vpc 7");
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "Error: vm 172.16.0.47 of vpc 7 has port vm2 already.\n");
  EXPECT_EQ(dump("/vnet/v1/host/host1/").size(), 1u);
}

// `vpc --etcd --node H local` shows the local address, "none" for a host without one, as
// `vpc local` does.
TEST_F(WriterTest, LocalShowOfAHostWithoutOnePrintsNone) {
  CmdOutput o = nothing("--etcd --node host3 local");
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "none\n");
}

}  // namespace
}  // namespace vnet::cmd
