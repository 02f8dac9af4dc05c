// The forwarding information base of one node: its routing tables and its rule list, and
// fib_lookup() over them (include/net/ip_fib.h, net/ipv4/fib_rules.c, net/core/fib_rules.c).
//
// Inputs: validated routes and rules from the node (stack/node.h); flows to route.
// Outputs: a LookupResult (route, nexthop, table, prefix) or a negative errno, as the kernel's
// fib_lookup() returns: -ENETUNREACH when nothing matched, -EINVAL for blackhole, -EHOSTUNREACH
// for unreachable, -EACCES for prohibit.
//
// Kernel details reproduced here:
//   * Until the first `ip rule add`, the local and main tables share one trie ("merged"), and
//     fib_lookup() skips the rules: it looks in main (which then also holds local routes) and
//     then in default.  The first rule change unmerges them for good.
//   * `goto N` jumps to the first rule whose priority is exactly N; without one the goto is
//     "unresolved" and skipped.  Gotos to a lower priority are refused at add time.
//   * Tables are created on first use and never go away; `ip route show table all` lists them
//     by (id mod 256), newest first within a bucket, as the kernel's table hash does.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fib/route.h"
#include "fib/rule.h"
#include "fib/table.h"

namespace vnet::fib {

struct LookupResult {
  const Route* route = nullptr;
  int nh_index = 0;
  Prefix prefix;
  RouteType type = RouteType::Unspec;
  uint8_t scope = scope::kUniverse;
  uint32_t table = 0;          // the table the result was found in (0: none)
  const Rule* rule = nullptr;  // the rule whose action produced the result
  const NextHop* nexthop() const {
    return route && !route->nexthops.empty() ? &route->nexthops[static_cast<size_t>(nh_index)]
                                             : nullptr;
  }
};

// How a rule deletion (`ip rule del …`) selects its victim (rule_find(), fib4_rule_compare()).
struct RuleDeleteSpec {
  Rule rule;                   // fields left zero/empty match anything
  bool user_priority = false;  // priority was given
  bool has_fwmark = false;
};

class Fib {
 public:
  Fib();

  // fib_new_table(): the table, created if missing.
  Table& table(uint32_t id);
  Table* find_table(uint32_t id);
  const Table* find_table(uint32_t id) const;
  std::vector<const Table*> tables_in_dump_order() const;
  std::vector<Table*> all_tables();

  // fib_lookup().  Returns 0 and fills *result, or a negative errno.
  int lookup(const Flow& flow, LookupResult* result) const;
  // fib_table_lookup() on one table (honouring the local/main merge).  -EAGAIN: no match.
  int table_lookup(uint32_t table_id, const Flow& flow, LookupResult* result) const;

  const std::vector<Rule>& rules() const { return rules_; }
  // Priority a new rule gets when none is given (fib_default_rule_pref()).
  uint32_t default_rule_priority() const;
  // Adds a validated rule (after any with the same priority).
  void add_rule(Rule rule);
  // Returns the index of the rule a delete spec selects, or -1.
  int find_rule_for_delete(const RuleDeleteSpec& spec) const;
  void erase_rule(size_t index);
  // rule_exists(): an identical rule is present (used with NLM_F_EXCL).
  bool rule_exists(const Rule& rule) const;
  // The goto target of `rule`, or nullptr when unresolved.
  const Rule* goto_target(const Rule& rule) const;
  // Re-resolve iif/oif names after a device appears, disappears or is renamed.
  template <typename Resolve>
  void resolve_rule_devices(Resolve&& ifindex_of_name) {
    for (Rule& r : rules_) {
      if (!r.iifname.empty()) r.iifindex = ifindex_of_name(r.iifname);
      if (!r.oifname.empty()) r.oifindex = ifindex_of_name(r.oifname);
    }
  }

  bool has_custom_rules() const { return has_custom_rules_; }
  bool merged() const { return merged_; }

 private:
  int rules_lookup(const Flow& flow, LookupResult* result) const;
  int merged_lookup(const Flow& flow, LookupResult* result) const;

  struct TableSlot {
    std::unique_ptr<Table> table;
    uint64_t created = 0;
  };
  std::map<uint32_t, TableSlot> tables_;
  uint64_t table_counter_ = 0;
  std::vector<Rule> rules_;
  bool has_custom_rules_ = false;
  bool merged_ = true;
};

// Checks one alias against a flow (the body of fib_table_lookup()'s alias loop).
// Returns 1 and fills *result on a match, 0 to go on, or a negative errno from the route type.
int check_alias(const Route& route, Prefix prefix, const Flow& flow, uint32_t table_id,
                LookupResult* result);

}  // namespace vnet::fib
