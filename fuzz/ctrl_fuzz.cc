// libFuzzer target for what the control plane reads from etcd, which any writer can fill: keys
// and values as the agent sees them.  Each input line is "KEY<TAB>VALUE" (a put) or "-KEY" (a
// delete) into the embedded store; after every line, host h1's agent reads what its host needs
// and hands it to the applier on a node's vSwitch, as vnetd does.  A crash, a sanitizer report
// or an escaping exception is a bug; so is a value that parses but does not survive its own
// round trip (key(ref) and value(entry) must parse back to the same entry).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <variant>

#include "ctrl/agent.h"
#include "ctrl/mem_store.h"
#include "ctrl/schema.h"
#include "ctrl/vpc_applier.h"

namespace {

void check_round_trip(const std::string& key, const std::string& value) {
  namespace schema = vnet::ctrl::schema;
  auto parsed = schema::parse(key, value);
  auto* e = std::get_if<schema::Entry>(&parsed);
  if (e == nullptr) return;
  const std::string k = schema::key(e->ref);
  const std::string v = schema::value(*e);
  auto again = schema::parse(k, v);
  auto* e2 = std::get_if<schema::Entry>(&again);
  if (e2 == nullptr || schema::key(e2->ref) != k || schema::value(*e2) != v) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 8192) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  vnet::ctrl::MemStore store;
  vnet::stack::Node node;
  (void)node.link_add_external("vm1");
  (void)node.link_add_external("vm2");
  vnet::ctrl::VpcApplier applier(node);
  vnet::ctrl::Agent agent(
      store, vnet::ctrl::Agent::Options{.node = "h1"},
      [&](const std::vector<vnet::ctrl::Change>& changes) { applier.apply(changes, 0); },
      [](vnet::ctrl::Agent::Level, const std::string&) {});
  std::istringstream in(text);
  std::string line;
  uint64_t now = 0;
  int lines = 0;
  while (std::getline(in, line) && lines++ < 64) {
    if (!line.empty() && line[0] == '-') {
      if (line.size() > 1) (void)store.del(line.substr(1));
    } else {
      size_t tab = line.find('\t');
      std::string key = line.substr(0, tab);
      std::string value = tab == std::string::npos ? "" : line.substr(tab + 1);
      check_round_trip(key, value);
      if (!key.empty()) (void)store.put(key, value);
    }
    now += 10;
    agent.poll(0, now);
  }
  return 0;
}
