#include "fib/fib.h"

#include <algorithm>
#include <cerrno>

namespace vnet::fib {

Fib::Fib() {
  // fib_default_rules_init()
  Rule local;
  local.priority = 0;
  local.table = table::kLocal;
  Rule main;
  main.priority = 32766;
  main.table = table::kMain;
  Rule dflt;
  dflt.priority = 32767;
  dflt.table = table::kDefault;
  rules_ = {local, main, dflt};
}

Table& Fib::table(uint32_t id) {
  auto it = tables_.find(id);
  if (it != tables_.end()) return *it->second.table;
  // fib_new_table(): creating local while merged also creates main first.
  if (id == table::kLocal && merged_ && !tables_.contains(table::kMain)) table(table::kMain);
  TableSlot slot{std::make_unique<Table>(id), ++table_counter_};
  return *tables_.emplace(id, std::move(slot)).first->second.table;
}

Table* Fib::find_table(uint32_t id) {
  auto it = tables_.find(id);
  return it == tables_.end() ? nullptr : it->second.table.get();
}

const Table* Fib::find_table(uint32_t id) const {
  auto it = tables_.find(id);
  return it == tables_.end() ? nullptr : it->second.table.get();
}

std::vector<const Table*> Fib::tables_in_dump_order() const {
  std::vector<const TableSlot*> slots;
  for (const auto& [id, slot] : tables_) slots.push_back(&slot);
  std::sort(slots.begin(), slots.end(), [](const TableSlot* a, const TableSlot* b) {
    uint32_t ha = a->table->id() & 0xff, hb = b->table->id() & 0xff;
    if (ha != hb) return ha < hb;
    return a->created > b->created;
  });
  std::vector<const Table*> out;
  out.reserve(slots.size());
  for (const TableSlot* s : slots) out.push_back(s->table.get());
  return out;
}

std::vector<Table*> Fib::all_tables() {
  std::vector<Table*> out;
  for (auto& [id, slot] : tables_) out.push_back(slot.table.get());
  return out;
}

int check_alias(const Route& fa, Prefix prefix, const Flow& flow, uint32_t table_id,
                LookupResult* result) {
  if (fa.tos != 0 && !tos_matches(fa.tos, flow.tos)) return 0;
  if (fa.scope < flow.scope) return 0;
  int err = route_type_error(fa.type);
  auto fill = [&](int nh) {
    result->route = &fa;
    result->nh_index = nh;
    result->prefix = prefix;
    result->type = fa.type;
    result->scope = fa.scope;
    result->table = table_id;
  };
  if (err < 0) {
    fill(0);
    return err;
  }
  if (fa.dead()) return 0;
  for (size_t i = 0; i < fa.nexthops.size(); ++i) {
    const NextHop& nh = fa.nexthops[i];
    if (!nh.alive()) continue;
    if (flow.oif != 0 && flow.oif != nh.ifindex) continue;
    fill(static_cast<int>(i));
    return 1;
  }
  return 0;
}

int Fib::table_lookup(uint32_t table_id, const Flow& flow, LookupResult* result) const {
  if (merged_ && (table_id == table::kMain || table_id == table::kLocal)) {
    return merged_lookup(flow, result);
  }
  const Table* t = find_table(table_id);
  if (t == nullptr) return -EAGAIN;
  int ret = -EAGAIN;
  t->for_each_match(flow.dst, [&](Prefix p, const AliasList& list) {
    for (const Route& fa : list) {
      int r = check_alias(fa, p, flow, table_id, result);
      if (r != 0) {
        ret = r < 0 ? r : 0;
        return false;
      }
    }
    return true;
  });
  return ret;
}

int Fib::merged_lookup(const Flow& flow, LookupResult* result) const {
  // One trie holds both tables; for equal prefixes local (255) aliases come first.
  struct Candidate {
    Prefix prefix;
    uint32_t table;
    const AliasList* list;
  };
  std::vector<Candidate> candidates;
  for (uint32_t id : {table::kLocal, table::kMain}) {
    const Table* t = find_table(id);
    if (t == nullptr) continue;
    t->for_each_match(flow.dst, [&](Prefix p, const AliasList& list) {
      candidates.push_back({p, id, &list});
      return true;
    });
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.prefix.len() != b.prefix.len()) return a.prefix.len() > b.prefix.len();
                     return a.table > b.table;
                   });
  for (const Candidate& c : candidates) {
    for (const Route& fa : *c.list) {
      int r = check_alias(fa, c.prefix, flow, table::kMain, result);
      if (r != 0) return r < 0 ? r : 0;
    }
  }
  return -EAGAIN;
}

int Fib::lookup(const Flow& flow, LookupResult* result) const {
  *result = LookupResult{};
  int err;
  if (has_custom_rules_) {
    err = rules_lookup(flow, result);
    if (err == -ESRCH) err = -ENETUNREACH;
  } else {
    // include/net/ip_fib.h fib_lookup(): main, then default only if that table exists (its
    // answer then replaces main's error, whatever it was).
    err = find_table(table::kMain) ? table_lookup(table::kMain, flow, result) : -ENETUNREACH;
    if (err != 0 && find_table(table::kDefault)) err = table_lookup(table::kDefault, flow, result);
    if (err == -EAGAIN) err = -ENETUNREACH;
  }
  return err;
}

const Rule* Fib::goto_target(const Rule& rule) const {
  for (const Rule& r : rules_) {
    if (r.priority == rule.goto_target) return &r;
  }
  return nullptr;
}

int Fib::rules_lookup(const Flow& flow, LookupResult* result) const {
  // fib_rules_lookup(): a goto re-enters the walk at its target (which is tested too).
  size_t i = 0;
  while (i < rules_.size()) {
    const Rule& rule = rules_[i];
    if (!rule_matches(rule, flow)) {
      ++i;
      continue;
    }
    if (rule.action == RuleAction::Goto) {
      const Rule* target = goto_target(rule);
      i = target == nullptr ? i + 1 : static_cast<size_t>(target - rules_.data());
      continue;
    }
    ++i;
    if (rule.action == RuleAction::Nop) continue;
    int err;
    switch (rule.action) {
      case RuleAction::ToTable:
        err = table_lookup(rule.table, flow, result);
        break;
      case RuleAction::Unreachable:
        err = -ENETUNREACH;
        break;
      case RuleAction::Prohibit:
        err = -EACCES;
        break;
      default:
        err = -EINVAL;
        break;
    }
    // fib4_rule_suppress(): a result no more specific than suppress_prefixlength is ignored.
    if (err == 0 && rule.suppress_prefixlen >= 0 &&
        result->prefix.len() <= rule.suppress_prefixlen) {
      continue;
    }
    if (err != -EAGAIN) {
      result->rule = &rule;
      return err;
    }
  }
  return -ESRCH;
}

uint32_t Fib::default_rule_priority() const {
  // fib_default_rule_pref(): one below the second rule's priority, if that is non-zero.
  if (rules_.size() >= 2 && rules_[1].priority != 0) return rules_[1].priority - 1;
  return 0;
}

void Fib::add_rule(Rule rule) {
  auto it = rules_.begin();
  while (it != rules_.end() && it->priority <= rule.priority) ++it;
  rules_.insert(it, std::move(rule));
  has_custom_rules_ = true;
  merged_ = false;
}

void Fib::erase_rule(size_t index) {
  rules_.erase(rules_.begin() + static_cast<ptrdiff_t>(index));
  // fib4_rule_delete() also unmerges and switches lookups to the rule walk.
  has_custom_rules_ = true;
  merged_ = false;
}

int Fib::find_rule_for_delete(const RuleDeleteSpec& spec) const {
  const Rule& want = spec.rule;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const Rule& r = rules_[i];
    if (want.action != RuleAction::Unspec && r.action != want.action) continue;
    if (want.table != 0 && r.table != want.table) continue;
    if (spec.user_priority && r.priority != want.priority) continue;
    if (!want.iifname.empty() && r.iifname != want.iifname) continue;
    if (!want.oifname.empty() && r.oifname != want.oifname) continue;
    if (want.fwmark != 0 && r.fwmark != want.fwmark) continue;
    if (want.suppress_prefixlen != -1 && r.suppress_prefixlen != want.suppress_prefixlen) continue;
    if (want.fwmask != 0 && r.fwmask != want.fwmask) continue;
    if (want.protocol != 0 && r.protocol != want.protocol) continue;
    // fib4_rule_compare()
    if (want.src.len() != 0 && (r.src.len() != want.src.len() || r.src.addr() != want.src.addr()))
      continue;
    if (want.dst.len() != 0 && (r.dst.len() != want.dst.len() || r.dst.addr() != want.dst.addr()))
      continue;
    if (want.tos != 0 && r.tos != want.tos) continue;
    return static_cast<int>(i);
  }
  return -1;
}

bool Fib::rule_exists(const Rule& rule) const {
  for (const Rule& r : rules_) {
    if (r.action == rule.action && r.table == rule.table && r.priority == rule.priority &&
        r.iifname == rule.iifname && r.oifname == rule.oifname && r.fwmark == rule.fwmark &&
        r.suppress_ifgroup == rule.suppress_ifgroup &&
        r.suppress_prefixlen == rule.suppress_prefixlen && r.fwmask == rule.fwmask &&
        r.protocol == rule.protocol &&
        // fib4_rule_compare(): from, to and tos only count when the new rule sets them.
        (rule.src.len() == 0 ||
         (r.src.len() == rule.src.len() && r.src.addr() == rule.src.addr())) &&
        (rule.dst.len() == 0 ||
         (r.dst.len() == rule.dst.len() && r.dst.addr() == rule.dst.addr())) &&
        (rule.tos == 0 || r.tos == rule.tos)) {
      return true;
    }
  }
  return false;
}

}  // namespace vnet::fib
