// Weight-ordered failover schedulers:
//   fo  (ip_vs_fo.c):  the available destination with the highest weight; the first on ties.
//   ovf (ip_vs_ovf.c): the highest-weight destination whose active connections do not exceed
//                      its weight, so traffic overflows to the next once one is full.
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

class WeightedFailover : public Scheduler {
 public:
  std::string_view name() const override { return "fo"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    Dest* best = nullptr;
    int hw = 0;
    for (Dest* d : dests) {
      if (!d->overloaded && d->weight > hw) {
        best = d;
        hw = d->weight;
      }
    }
    return best;
  }
};

class WeightedOverflow : public Scheduler {
 public:
  std::string_view name() const override { return "ovf"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    Dest* best = nullptr;
    int hw = 0;
    for (Dest* d : dests) {
      int w = d->weight;
      if (d->overloaded || d->activeconns > w || w == 0) continue;
      if (best == nullptr || w > hw) {
        best = d;
        hw = w;
      }
    }
    return best;
  }
};

}  // namespace

std::unique_ptr<Scheduler> make_fo() {
  return std::make_unique<WeightedFailover>();
}
std::unique_ptr<Scheduler> make_ovf() {
  return std::make_unique<WeightedOverflow>();
}

}  // namespace vnet::lb
