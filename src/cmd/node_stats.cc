// Counters of one node as `vnet lab stats` and `vnet -n NODE stats` print them.
#include <fmt/format.h>

#include "cmd/command.h"

namespace vnet::cmd {

std::string node_stats_text(const stack::Node& node) {
  std::string out;
  for (const auto& [ix, d] : node.devices()) {
    out += fmt::format(
        "  {:<8} rx {} packets {} bytes {} dropped   tx {} packets {} bytes {} dropped\n", d.name,
        d.rx_packets, d.rx_bytes, d.rx_dropped, d.tx_packets, d.tx_bytes, d.tx_dropped);
  }
  const stack::DropCounters& drops = node.drops();
  for (size_t i = 0; i < drops.count.size(); ++i) {
    if (drops.count[i] == 0) continue;
    out += fmt::format("  drop {:<20} {}\n",
                       stack::drop_reason_name(static_cast<stack::DropReason>(i)), drops.count[i]);
  }
  return out;
}

}  // namespace vnet::cmd
