// ElementId and LinkId: handles the simulator returns for what it owns.  They are indexes in
// creation order, so they (and anything printed from them) are the same in every run.
#pragma once

#include <compare>
#include <cstdint>

namespace vnet::sim {

struct ElementId {
  uint32_t index = 0;
  friend constexpr auto operator<=>(ElementId, ElementId) = default;
};

struct LinkId {
  uint32_t index = 0;
  friend constexpr auto operator<=>(LinkId, LinkId) = default;
};

}  // namespace vnet::sim
