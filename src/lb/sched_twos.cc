// twos (ip_vs_twos.c), "power of two choices": two destinations drawn at random in
// proportion to their weights; the one with the smaller overhead/weight wins.  The random
// draws are get_random_u32_below(total weight + 1); vnet's come from the seeded generator
// the node is given, so a run repeats exactly.
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

class TwoChoices : public Scheduler {
 public:
  explicit TwoChoices(RandomBelow random) : random_(std::move(random)) {}
  std::string_view name() const override { return "twos"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    Dest* choice1 = nullptr;
    Dest* choice2 = nullptr;
    int64_t total = 0;
    for (Dest* d : dests) {
      if (!d->overloaded && d->weight > 0) {
        total += d->weight;
        choice1 = d;
      }
    }
    if (choice1 == nullptr) return nullptr;
    // The kernel adds 1 so that the draws run from 0 to the total inclusive.
    total += 1;
    auto bound = static_cast<uint32_t>(std::min<int64_t>(total, UINT32_MAX));
    int64_t r1 = random_ ? random_(bound) : 0;
    int64_t r2 = random_ ? random_(bound) : 0;
    int64_t w1 = -1, w2 = -1, oh1 = 0, oh2 = 0;
    for (Dest* d : dests) {
      if (d->overloaded || d->weight <= 0) continue;
      r1 -= d->weight;
      r2 -= d->weight;
      if (r1 <= 0 && w1 == -1) {
        choice1 = d;
        w1 = d->weight;
        oh1 = d->conn_overhead();
      }
      if (r2 <= 0 && w2 == -1) {
        choice2 = d;
        w2 = d->weight;
        oh2 = d->conn_overhead();
      }
      if (w1 != -1 && w2 != -1) break;
    }
    if (choice2 != nullptr && w2 * oh1 > w1 * oh2) choice1 = choice2;
    return choice1;
  }

 private:
  RandomBelow random_;
};

}  // namespace

std::unique_ptr<Scheduler> make_twos(RandomBelow random) {
  return std::make_unique<TwoChoices>(std::move(random));
}

}  // namespace vnet::lb
