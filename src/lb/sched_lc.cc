// The least-connection family, each a scan of the list in order:
//   lc   (ip_vs_lc.c):  the smallest overhead (active << 8) + inactive; the first on ties.
//   wlc  (ip_vs_wlc.c): the smallest overhead / weight, compared as loh * dw > doh * lw.
//   sed  (ip_vs_sed.c): wlc with overhead active + 1 (shortest expected delay).
//   nq   (ip_vs_nq.c):  the first idle server (no active connections), else sed.
// All skip overloaded destinations and those of weight 0.
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

class LeastConnection : public Scheduler {
 public:
  std::string_view name() const override { return "lc"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    Dest* least = nullptr;
    int64_t loh = 0;
    for (Dest* d : dests) {
      if (d->overloaded || d->weight == 0) continue;
      int64_t doh = d->conn_overhead();
      if (least == nullptr || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
};

int64_t conn_overhead(const Dest& d) {
  return d.conn_overhead();
}
int64_t sed_overhead(const Dest& d) {
  return static_cast<int64_t>(d.activeconns) + 1;
}

class WeightedLeastConnection : public Scheduler {
 public:
  std::string_view name() const override { return "wlc"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    return weighted_least(dests, conn_overhead);
  }
};

class ShortestExpectedDelay : public Scheduler {
 public:
  std::string_view name() const override { return "sed"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    return weighted_least(dests, sed_overhead);
  }
};

class NeverQueue : public Scheduler {
 public:
  std::string_view name() const override { return "nq"; }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    Dest* least = nullptr;
    int64_t loh = 0;
    for (Dest* d : dests) {
      if (d->overloaded || d->weight == 0) continue;
      int64_t doh = sed_overhead(*d);
      if (d->activeconns == 0) return d;  // an idle server at once
      if (least == nullptr || loh * d->weight > doh * least->weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
};

}  // namespace

Dest* weighted_least(const DestList& dests, int64_t (*overhead)(const Dest&),
                     bool require_available) {
  size_t i = 0;
  Dest* least = nullptr;
  for (; i < dests.size(); ++i) {
    if (!dests[i]->overloaded && dests[i]->weight > 0) {
      least = dests[i];
      break;
    }
  }
  if (least == nullptr) return nullptr;
  int64_t loh = overhead(*least);
  for (++i; i < dests.size(); ++i) {
    Dest* d = dests[i];
    if (d->overloaded) continue;
    int64_t doh = overhead(*d);
    if (loh * d->weight > doh * least->weight && (!require_available || d->available)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

std::unique_ptr<Scheduler> make_lc() {
  return std::make_unique<LeastConnection>();
}
std::unique_ptr<Scheduler> make_wlc() {
  return std::make_unique<WeightedLeastConnection>();
}
std::unique_ptr<Scheduler> make_sed() {
  return std::make_unique<ShortestExpectedDelay>();
}
std::unique_ptr<Scheduler> make_nq() {
  return std::make_unique<NeverQueue>();
}

}  // namespace vnet::lb
