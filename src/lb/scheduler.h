// IPVS schedulers (net/netfilter/ipvs/ip_vs_*.c): given a virtual service's destinations in
// kernel list order and the packet that starts a connection, choose the real server, or none.
// Each follows its kernel module's algorithm step for step, so choice sequences match the
// kernel's for the same list, weights and connection counts.
//
// Input: the destination list (DestList, newest first) and a SchedPacket.  State: what the
// module keeps in svc->sched_data (rr's cursor, wrr's current weight, the sh/dh/mh tables,
// lblc's per-destination-address cache).  The service calls add_dest/del_dest/upd_dest as
// ip_vs_ctl.c does, after changing the list.
//
// Example: rr over [web2, web1] (web1 added first) chooses web2, web1, web2, ...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lb/dest.h"

namespace vnet::lb {

// The scheduler flags of ipvsadm -b (IP_VS_SVC_F_SCHED1..3).
enum SchedFlag : uint32_t {
  kSchedFlag1 = 0x0008,  // sh-fallback, mh-fallback
  kSchedFlag2 = 0x0010,  // sh-port, mh-port
  kSchedFlag3 = 0x0020,
};

struct SchedPacket {
  net::Ipv4Addr saddr, daddr;
  uint16_t sport = 0, dport = 0;
  uint8_t protocol = 6;
  uint64_t now_ns = 0;
};

// Random numbers for twos (the kernel's get_random_u32_below); seeded for determinism.
using RandomBelow = std::function<uint32_t(uint32_t bound)>;

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual std::string_view name() const = 0;
  // dests is the list after the change.  For del_dest, removed_index is where the removed
  // destination was in the list before.
  virtual void add_dest(const DestList& dests, Dest& added) {
    (void)dests;
    (void)added;
  }
  virtual void del_dest(const DestList& dests, Dest& removed, size_t removed_index) {
    (void)dests;
    (void)removed;
    (void)removed_index;
  }
  virtual void upd_dest(const DestList& dests, Dest& updated) {
    (void)dests;
    (void)updated;
  }
  // nullptr: "no destination available" (the kernel logs it and the packet is dropped, or
  // sent to the local stack for a fwmark/any-port service).
  virtual Dest* schedule(const DestList& dests, const SchedPacket& packet) = 0;
  // Periodic work (lblc/lblcr expire cache entries).
  virtual void run_timers(uint64_t now_ns) { (void)now_ns; }
};

struct SchedulerConfig {
  uint32_t flags = 0;
  uint64_t lblc_expiration_ns = 24ULL * 3600 * 1'000'000'000;   // sysctl lblc_expiration
  uint64_t lblcr_expiration_ns = 24ULL * 3600 * 1'000'000'000;  // sysctl lblcr_expiration
  RandomBelow random;
};

// The schedulers vnet has, in the order ipvsadm's man page lists them.
const std::vector<std::string>& scheduler_names();
// nullptr for an unknown name (ipvsadm: "Scheduler not found").
std::unique_ptr<Scheduler> make_scheduler(std::string_view name, const SchedulerConfig& config,
                                          const DestList& dests);

// The scan wlc, sed, lblc and lblcr share: the first destination that is not overloaded and
// has weight, then any later one not overloaded whose overhead/weight is strictly smaller
// (compared as loh * dw > doh * lw).  require_available adds ip_vs_dest_set_min()'s check
// that a replacement is still in its service.
Dest* weighted_least(const DestList& dests, int64_t (*overhead)(const Dest&),
                     bool require_available = false);

// The constructors of each module, for make_scheduler().
std::unique_ptr<Scheduler> make_rr();
std::unique_ptr<Scheduler> make_wrr(const DestList& dests);
std::unique_ptr<Scheduler> make_lc();
std::unique_ptr<Scheduler> make_wlc();
std::unique_ptr<Scheduler> make_sed();
std::unique_ptr<Scheduler> make_nq();
std::unique_ptr<Scheduler> make_fo();
std::unique_ptr<Scheduler> make_ovf();
std::unique_ptr<Scheduler> make_twos(RandomBelow random);
std::unique_ptr<Scheduler> make_sh(uint32_t flags, const DestList& dests);
std::unique_ptr<Scheduler> make_dh(const DestList& dests);
std::unique_ptr<Scheduler> make_mh(uint32_t flags, const DestList& dests);
std::unique_ptr<Scheduler> make_lblc(uint64_t expiration_ns);
std::unique_ptr<Scheduler> make_lblcr(uint64_t expiration_ns);

}  // namespace vnet::lb
