// Routing policy rules (the RPDB) with the semantics of net/core/fib_rules.c and
// net/ipv4/fib_rules.c: an ordered list by priority; each rule has selectors (from, to, iif,
// oif, fwmark/mask, tos, not) and an action (lookup a table, blackhole, unreachable, prohibit,
// goto, nop).
//
// Example: `ip rule add from 192.0.2.0/24 table 100 pref 100` becomes
//   Rule{priority=100, src=192.0.2.0/24, action=ToTable, table=100}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fib/route.h"

namespace vnet::fib {

enum class RuleAction : uint8_t {
  Unspec = 0,
  ToTable = 1,
  Goto = 2,
  Nop = 3,
  Blackhole = 6,
  Unreachable = 7,
  Prohibit = 8,
};

struct Rule {
  uint32_t priority = 0;
  bool invert = false;  // FIB_RULE_INVERT ("not")
  Prefix src;           // len 0: any; host bits are kept, as the kernel keeps them
  Prefix dst;
  std::string iifname;  // empty: any
  std::string oifname;
  int iifindex = 0;  // resolved device, -1 while the named device does not exist
  int oifindex = 0;
  uint32_t fwmark = 0;
  uint32_t fwmask = 0;
  uint8_t tos = 0;
  uint8_t protocol = 0;  // FRA_PROTOCOL
  RuleAction action = RuleAction::ToTable;
  uint32_t table = 0;
  uint32_t goto_target = 0;
  int suppress_prefixlen = -1;
  int suppress_ifgroup = -1;
};

// The flow a lookup routes (struct flowi4, the fields routing uses).
struct Flow {
  Ipv4Addr dst;
  Ipv4Addr src;
  int iif = 0;  // input device; output lookups use the loopback ifindex, as the kernel does
  int oif = 0;
  uint32_t mark = 0;
  uint8_t tos = 0;
  uint8_t scope = scope::kUniverse;
  bool ignore_linkstate = false;  // FIB_LOOKUP_IGNORE_LINKSTATE
};

bool rule_matches(const Rule& rule, const Flow& flow);

}  // namespace vnet::fib
