// Locality-based schedulers, for caches: a table keyed by the packet's destination address.
//   lblc  (ip_vs_lblc.c):  the address keeps its server while that server is available, has
//          weight and is not overloaded (more active connections than its weight while some
//          server is under half its weight); otherwise wlc picks a new one.
//   lblcr (ip_vs_lblcr.c): the address keeps a set of servers and uses its least loaded one;
//          when that is overloaded, wlc adds another.  A set of several servers drops its
//          most loaded one when unchanged for lblcr_expiration.
// Entries unused for lblc_expiration / lblcr_expiration (sysctls, 24 h by default) go; the
// kernel finds them in a sweep every 30 minutes, vnet when the address is next looked up.
#include <algorithm>
#include <map>

#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

// __ip_vs_lblc_schedule() and __ip_vs_lblcr_schedule(): wlc over the whole list.
int64_t conn_overhead(const Dest& d) {
  return d.conn_overhead();
}
Dest* least_loaded(const DestList& dests) {
  return weighted_least(dests, conn_overhead);
}

// is_overloaded(): busier than its weight while another server is under half of its own.
bool locality_overloaded(const Dest* dest, const DestList& dests) {
  if (dest->activeconns <= dest->weight) return false;
  return std::any_of(dests.begin(), dests.end(),
                     [](const Dest* d) { return d->activeconns * 2 < d->weight; });
}

class LocalityBased : public Scheduler {
 public:
  explicit LocalityBased(uint64_t expiration_ns) : expiration_ns_(expiration_ns) {}
  std::string_view name() const override { return "lblc"; }
  void del_dest(const DestList&, Dest& removed, size_t) override {
    // The kernel keeps the entry, whose server is no longer available: it is rescheduled on
    // its next use.  Forgetting it now has the same effect.
    std::erase_if(table_, [&](const auto& e) { return e.second.dest == &removed; });
  }
  Dest* schedule(const DestList& dests, const SchedPacket& p) override {
    auto it = table_.find(p.daddr.value());
    if (it != table_.end() && p.now_ns - it->second.lastuse_ns > expiration_ns_) {
      table_.erase(it);
      it = table_.end();
    }
    if (it != table_.end()) {
      it->second.lastuse_ns = p.now_ns;
      Dest* d = it->second.dest;
      if (d->available && d->weight > 0 && !locality_overloaded(d, dests)) return d;
    }
    Dest* d = least_loaded(dests);
    if (d == nullptr) return nullptr;
    table_[p.daddr.value()] = {d, p.now_ns};
    return d;
  }

 private:
  struct Entry {
    Dest* dest;
    uint64_t lastuse_ns;
  };
  uint64_t expiration_ns_;
  std::map<uint32_t, Entry> table_;
};

class LocalityBasedReplicated : public Scheduler {
 public:
  explicit LocalityBasedReplicated(uint64_t expiration_ns) : expiration_ns_(expiration_ns) {}
  std::string_view name() const override { return "lblcr"; }
  void del_dest(const DestList&, Dest& removed, size_t) override {
    for (auto& [addr, e] : table_) std::erase(e.set, &removed);
    std::erase_if(table_, [](const auto& e) { return e.second.set.empty(); });
  }
  Dest* schedule(const DestList& dests, const SchedPacket& p) override {
    auto it = table_.find(p.daddr.value());
    if (it != table_.end() && p.now_ns - it->second.lastuse_ns > expiration_ns_) {
      table_.erase(it);
      it = table_.end();
    }
    if (it != table_.end()) {
      Entry& e = it->second;
      e.lastuse_ns = p.now_ns;
      Dest* d = set_min(e.set);
      if (e.set.size() > 1 && p.now_ns > e.lastmod_ns + expiration_ns_) {
        if (Dest* m = set_max(e.set)) std::erase(e.set, m);
      }
      if (d != nullptr && !locality_overloaded(d, dests)) return d;
      d = least_loaded(dests);
      if (d == nullptr) return nullptr;
      insert(e, d, p.now_ns);
      return d;
    }
    Dest* d = least_loaded(dests);
    if (d == nullptr) return nullptr;
    Entry e{{}, p.now_ns, p.now_ns};
    insert(e, d, p.now_ns);
    table_[p.daddr.value()] = std::move(e);
    return d;
  }

 private:
  struct Entry {
    std::vector<Dest*> set;  // newest first, as ip_vs_dest_set_insert() adds at the head
    uint64_t lastuse_ns;
    uint64_t lastmod_ns;
  };
  static void insert(Entry& e, Dest* d, uint64_t now_ns) {
    if (std::find(e.set.begin(), e.set.end(), d) != e.set.end()) return;
    e.set.insert(e.set.begin(), d);
    e.lastmod_ns = now_ns;
  }
  // ip_vs_dest_set_min()
  static Dest* set_min(const std::vector<Dest*>& set) {
    return weighted_least(set, conn_overhead, true);
  }
  // ip_vs_dest_set_max()
  static Dest* set_max(const std::vector<Dest*>& set) {
    size_t i = 0;
    Dest* most = nullptr;
    for (; i < set.size(); ++i) {
      if (set[i]->weight > 0) {
        most = set[i];
        break;
      }
    }
    if (most == nullptr) return nullptr;
    int64_t moh = most->conn_overhead();
    for (++i; i < set.size(); ++i) {
      Dest* d = set[i];
      int64_t doh = d->conn_overhead();
      if (moh * d->weight < doh * most->weight && d->weight > 0) {
        most = d;
        moh = doh;
      }
    }
    return most;
  }

  uint64_t expiration_ns_;
  std::map<uint32_t, Entry> table_;
};

}  // namespace

std::unique_ptr<Scheduler> make_lblc(uint64_t expiration_ns) {
  return std::make_unique<LocalityBased>(expiration_ns);
}
std::unique_ptr<Scheduler> make_lblcr(uint64_t expiration_ns) {
  return std::make_unique<LocalityBasedReplicated>(expiration_ns);
}

}  // namespace vnet::lb
