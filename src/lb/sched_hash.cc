// The hashing schedulers, each a table of buckets rebuilt whenever the list changes:
//   sh (ip_vs_sh.c): 256 buckets keyed by hash_32(source port (sh-port) + source address);
//      bucket i goes to the destinations in list order, each taking `weight` buckets in turn.
//      sh-fallback walks the table from the bucket when its server is unavailable.
//   dh (ip_vs_dh.c): 256 buckets keyed by (destination address * 2654435761) & 255, one
//      bucket per destination in turn.
//   mh (ip_vs_mh.c): Maglev (NSDI '16, 3.4): a 4093-entry table (CONFIG_IP_VS_MH_TAB_INDEX
//      12, the kernel's default) filled from each destination's permutation of offsets and
//      skips, hsiphash with the kernel's fixed keys, weights scaled by gcd and shifted.
#include <numeric>

#include "lb/hsiphash.h"
#include "lb/scheduler.h"

namespace vnet::lb {
namespace {

bool unavailable(const Dest* d) {
  return d->weight <= 0 || d->overloaded;
}

// hash_32(val, bits): the golden-ratio multiplicative hash of include/linux/hash.h.
uint32_t hash_32(uint32_t val, int bits) {
  return (val * 0x61C88647u) >> (32 - bits);
}

class SourceHashing : public Scheduler {
 public:
  static constexpr int kBits = 8;  // CONFIG_IP_VS_SH_TAB_BITS
  static constexpr int kSize = 1 << kBits;
  SourceHashing(uint32_t flags, const DestList& dests) : flags_(flags) { reassign(dests); }
  std::string_view name() const override { return "sh"; }
  void add_dest(const DestList& dests, Dest&) override { reassign(dests); }
  void del_dest(const DestList& dests, Dest&, size_t) override { reassign(dests); }
  void upd_dest(const DestList& dests, Dest&) override { reassign(dests); }
  Dest* schedule(const DestList&, const SchedPacket& p) override {
    uint16_t port = (flags_ & kSchedFlag2) != 0 && has_ports(p.protocol) ? p.sport : 0;
    uint32_t ihash = key(p.saddr, port, 0);
    Dest* d = buckets_[ihash];
    if ((flags_ & kSchedFlag1) == 0) return d == nullptr || unavailable(d) ? nullptr : d;
    // ip_vs_sh_get_fallback()
    if (d == nullptr) return nullptr;
    if (!unavailable(d)) return d;
    for (uint32_t offset = 0; offset < kSize; ++offset) {
      uint32_t roffset = (offset + ihash) % kSize;
      Dest* e = buckets_[key(p.saddr, port, roffset)];
      if (e != nullptr && !unavailable(e)) return e;
    }
    return nullptr;
  }

 private:
  static bool has_ports(uint8_t protocol) {
    return protocol == 6 || protocol == 17 || protocol == 132;
  }
  static uint32_t key(net::Ipv4Addr addr, uint16_t port, uint32_t offset) {
    return (offset + hash_32(port + addr.value(), kBits)) & (kSize - 1);
  }
  void reassign(const DestList& dests) {
    size_t p = 0;
    int count = 0;
    for (int i = 0; i < kSize; ++i) {
      if (dests.empty()) {
        buckets_[i] = nullptr;
        continue;
      }
      if (p >= dests.size()) p = 0;
      Dest* d = dests[p];
      buckets_[i] = d;
      if (++count >= d->weight) {
        ++p;
        count = 0;
      }
    }
  }
  uint32_t flags_;
  Dest* buckets_[kSize] = {};
};

class DestinationHashing : public Scheduler {
 public:
  static constexpr int kSize = 256;  // CONFIG_IP_VS_DH_TAB_BITS 8
  explicit DestinationHashing(const DestList& dests) { reassign(dests); }
  std::string_view name() const override { return "dh"; }
  void add_dest(const DestList& dests, Dest&) override { reassign(dests); }
  void del_dest(const DestList& dests, Dest&, size_t) override { reassign(dests); }
  void upd_dest(const DestList& dests, Dest&) override { reassign(dests); }
  Dest* schedule(const DestList&, const SchedPacket& p) override {
    uint32_t h = static_cast<uint32_t>((uint64_t{p.daddr.value()} * 2654435761ULL) & (kSize - 1));
    Dest* d = buckets_[h];
    if (d == nullptr || !d->available || d->weight <= 0 || d->overloaded) return nullptr;
    return d;
  }

 private:
  void reassign(const DestList& dests) {
    for (int i = 0; i < kSize; ++i) {
      buckets_[i] = dests.empty() ? nullptr : dests[static_cast<size_t>(i) % dests.size()];
    }
  }
  Dest* buckets_[kSize] = {};
};

class MaglevHashing : public Scheduler {
 public:
  static constexpr uint32_t kSize = 4093;  // primes[CONFIG_IP_VS_MH_TAB_INDEX - 8]
  static constexpr int kTabBits = 6;       // CONFIG_IP_VS_MH_TAB_INDEX / 2
  MaglevHashing(uint32_t flags, const DestList& dests) : flags_(flags), lookup_(kSize, nullptr) {
    reassign(dests);
  }
  std::string_view name() const override { return "mh"; }
  void add_dest(const DestList& dests, Dest&) override { reassign(dests); }
  void del_dest(const DestList& dests, Dest&, size_t) override { reassign(dests); }
  void upd_dest(const DestList& dests, Dest&) override { reassign(dests); }
  Dest* schedule(const DestList&, const SchedPacket& p) override {
    uint16_t port =
        (flags_ & kSchedFlag2) != 0 && (p.protocol == 6 || p.protocol == 17 || p.protocol == 132)
            ? p.sport
            : 0;
    uint32_t ihash = hashkey(p.saddr, port, kHash1, 0) % kSize;
    Dest* d = lookup_[ihash];
    if ((flags_ & kSchedFlag1) == 0) return d == nullptr || unavailable(d) ? nullptr : d;
    if (d == nullptr) return nullptr;
    if (!unavailable(d)) return d;
    for (uint32_t offset = 0; offset < kSize; ++offset) {
      uint32_t roffset = (offset + ihash) % kSize;
      Dest* e = lookup_[hashkey(p.saddr, port, kHash1, roffset) % kSize];
      if (e == nullptr) break;
      if (!unavailable(e)) return e;
    }
    return nullptr;
  }
  const std::vector<Dest*>& table() const { return lookup_; }

 private:
  // generate_hash_secret()
  static constexpr HsiphashKey kHash1{{2654435761ULL, 2654435761ULL}};
  static constexpr HsiphashKey kHash2{{2654446892ULL, 2654446892ULL}};
  static uint32_t hashkey(net::Ipv4Addr addr, uint16_t port, const HsiphashKey& k,
                          uint32_t offset) {
    return hsiphash_u32(offset + port + addr.value(), k);
  }
  void reassign(const DestList& dests) {
    int g = 0, maxw = 0;
    for (const Dest* d : dests) {
      int w = d->last_weight;
      if (w > 0) g = g > 0 ? std::gcd(w, g) : w;
      maxw = std::max(maxw, w);
    }
    if (g < 1) {
      std::fill(lookup_.begin(), lookup_.end(), nullptr);
      return;
    }
    // ip_vs_mh_shift_weight(): keep weight/gcd within kTabBits bits.
    int mw = maxw / g;
    int fls = mw == 0 ? 0 : 32 - std::countl_zero(static_cast<uint32_t>(mw));
    int rshift = std::max(0, fls - kTabBits);
    struct Setup {
      uint32_t offset, skip, perm;
      int turns;
    };
    std::vector<Setup> setup;
    setup.reserve(dests.size());
    for (const Dest* d : dests) {
      Setup s{};
      s.offset = hashkey(d->addr, d->port, kHash1, 0) % kSize;
      s.skip = hashkey(d->addr, d->port, kHash2, 0) % (kSize - 1) + 1;
      s.perm = s.offset;
      int lw = d->last_weight;
      int t = (lw / g) >> rshift;
      s.turns = t != 0 ? t : (lw != 0 ? 1 : 0);
      setup.push_back(s);
    }
    std::vector<bool> taken(kSize, false);
    uint32_t n = 0;
    int dt_count = 0;
    while (n < kSize) {
      for (size_t i = 0; i < dests.size();) {
        Setup& s = setup[i];
        if (s.turns < 1) {
          ++i;
          continue;
        }
        uint32_t c = s.perm;
        while (taken[c]) {
          s.perm += s.skip;
          if (s.perm >= kSize) s.perm -= kSize;
          c = s.perm;
        }
        taken[c] = true;
        lookup_[c] = dests[i];
        if (++n == kSize) return;
        if (++dt_count >= s.turns) {
          dt_count = 0;
          ++i;
        }
      }
    }
  }

  uint32_t flags_;
  std::vector<Dest*> lookup_;
};

}  // namespace

std::unique_ptr<Scheduler> make_sh(uint32_t flags, const DestList& dests) {
  return std::make_unique<SourceHashing>(flags, dests);
}
std::unique_ptr<Scheduler> make_dh(const DestList& dests) {
  return std::make_unique<DestinationHashing>(dests);
}
std::unique_ptr<Scheduler> make_mh(uint32_t flags, const DestList& dests) {
  return std::make_unique<MaglevHashing>(flags, dests);
}

}  // namespace vnet::lb
