#include "fib/rule.h"

namespace vnet::fib {

bool rule_matches(const Rule& rule, const Flow& flow) {
  // fib_rule_match(): generic selectors, then fib4_rule_match(); `not` inverts the result.
  bool ret = [&] {
    if (rule.iifindex != 0 && rule.iifindex != flow.iif) return false;
    if (rule.oifindex != 0 && rule.oifindex != flow.oif) return false;
    if (((rule.fwmark ^ flow.mark) & rule.fwmask) != 0) return false;
    if (((flow.src.value() ^ rule.src.addr().value()) & rule.src.mask()) != 0) return false;
    if (((flow.dst.value() ^ rule.dst.addr().value()) & rule.dst.mask()) != 0) return false;
    if (rule.tos != 0 && !tos_matches(rule.tos, flow.tos)) return false;
    return true;
  }();
  return rule.invert ? !ret : ret;
}

}  // namespace vnet::fib
