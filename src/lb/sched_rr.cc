// rr (ip_vs_rr.c): the next destination after the last one chosen, in list order, that has a
// weight above zero and is not overloaded.  The cursor is svc->sched_data, a list position;
// here the index of the last choice, -1 for the list head.
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

class RoundRobin : public Scheduler {
 public:
  std::string_view name() const override { return "rr"; }
  void add_dest(const DestList&, Dest&) override {
    // list_add_rcu() puts the new destination first: the cursor's element moves down one.
    if (last_ >= 0) ++last_;
  }
  void del_dest(const DestList&, Dest&, size_t removed_index) override {
    // ip_vs_rr_del_dest(): a cursor on the removed destination moves to its predecessor.
    int i = static_cast<int>(removed_index);
    if (last_ >= i) --last_;
  }
  Dest* schedule(const DestList& dests, const SchedPacket&) override {
    int n = static_cast<int>(dests.size());
    if (last_ >= n) last_ = n - 1;
    int start = last_;
    // Up to two passes: from the cursor to the end, then the whole list once more (only one
    // when the cursor was the head, which already saw everything).
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = pass == 0 ? start + 1 : 0; i < n; ++i) {
        Dest* d = dests[static_cast<size_t>(i)];
        if (!d->overloaded && d->weight > 0) {
          last_ = i;
          return d;
        }
      }
      if (start == -1) break;
    }
    return nullptr;
  }

 private:
  int last_ = -1;
};

}  // namespace

std::unique_ptr<Scheduler> make_rr() {
  return std::make_unique<RoundRobin>();
}

}  // namespace vnet::lb
