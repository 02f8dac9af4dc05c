// wrr (ip_vs_wrr.c): weighted round-robin by stepping a current weight cw down from the
// largest weight in steps of the weights' gcd; each pass over the list takes every
// destination whose weight is at least cw.  Weights 3:1:1 (added A, B, C; list C, B, A) give
// C B A A A C B A A A: 6/2/2 over ten connections.
#include <numeric>

#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

class WeightedRoundRobin : public Scheduler {
 public:
  explicit WeightedRoundRobin(const DestList& dests) {
    // ip_vs_wrr_init_svc()
    di_ = gcd_weight(dests);
    mw_ = max_weight(dests) - (di_ - 1);
    cw_ = mw_;
  }
  std::string_view name() const override { return "wrr"; }
  void add_dest(const DestList& dests, Dest&) override { changed(dests); }
  void del_dest(const DestList& dests, Dest&, size_t) override { changed(dests); }
  void upd_dest(const DestList& dests, Dest&) override { changed(dests); }

  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    int n = static_cast<int>(dests.size());
    if (mw_ == 0) return nullptr;
    if (cl_ >= n) cl_ = -1;
    int d = cl_;
    const int last = d;
    int stop = -2;  // none
    bool last_pass = false, restarted = false;
    while (true) {
      for (int i = d + 1; i < n; ++i) {
        Dest* x = dests[static_cast<size_t>(i)];
        if (!x->overloaded && x->weight >= cw_) {
          cl_ = i;
          return x;
        }
        if (i == stop) {
          cl_ = i;
          return nullptr;
        }
      }
      d = -1;  // the loop ended on the list head
      cw_ -= di_;
      if (cw_ <= 0) {
        cw_ = mw_;
        // Stop after a last pass (cw reached 1) or when the first and only pass started at
        // the head: every destination was checked for weight >= 1.
        if (last_pass || last == -1) {
          cl_ = -1;
          return nullptr;
        }
        restarted = true;
      }
      last_pass = cw_ <= di_;
      // The first weight >= 1 pass only saw destinations after 'last': finish at 'last'.
      if (last_pass && restarted && last != -1) stop = last;
    }
  }

 private:
  static int gcd_weight(const DestList& dests) {
    int g = 0;
    for (const Dest* d : dests) {
      if (d->weight > 0) g = g > 0 ? std::gcd(d->weight, g) : d->weight;
    }
    return g != 0 ? g : 1;
  }
  static int max_weight(const DestList& dests) {
    int w = 0;
    for (const Dest* d : dests) w = std::max(w, d->weight);
    return w;
  }
  // ip_vs_wrr_dest_changed()
  void changed(const DestList& dests) {
    cl_ = -1;
    di_ = gcd_weight(dests);
    mw_ = max_weight(dests) - (di_ - 1);
    if (cw_ > mw_ || di_ == 0) {
      cw_ = 0;
    } else if (di_ > 1) {
      cw_ = (cw_ / di_) * di_ + 1;
    }
  }

  int cl_ = -1;  // the last destination chosen, -1 for the list head
  int cw_ = 0;   // current weight
  int mw_ = 0;   // maximum weight, less gcd - 1
  int di_ = 1;   // the step: gcd of the weights
};

}  // namespace

std::unique_ptr<Scheduler> make_wrr(const DestList& dests) {
  return std::make_unique<WeightedRoundRobin>(dests);
}

}  // namespace vnet::lb
