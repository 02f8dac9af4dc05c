// LearningBridge: an IEEE 802.1D transparent bridge without spanning tree (`kind: bridge` in a
// lab), with the forwarding decisions of Linux's bridge (net/bridge/br_input.c, br_forward.c,
// br_fdb.c) at default settings.
//
// Input: frames on ports 1..N.  Outputs: the frame on one port or flooded to several, or a
// counted drop.  State: the forwarding database (source MAC -> port, last-seen time) and each
// port's carrier.  Per frame, in br_handle_frame() order:
//   1. shorter than an Ethernet header: drop "runt"; ingress port without carrier (a disabled
//      port): drop "port_down";
//   2. multicast or all-zero source MAC: drop "invalid_source" (!is_valid_ether_addr());
//   3. learn source MAC -> ingress port, refreshing the time (a station that moves follows);
//   4. destination 01:80:c2:00:00:01..0f (IEEE link-local: pause, LACP, LLDP, 802.1X): not
//      forwarded, counted "link_local" (group_fwd_mask is 0); 01:80:c2:00:00:00 (STP BPDUs) is
//      flooded, as Linux does when STP is off so that loops stay detectable;
//   5. multicast/broadcast or unknown unicast destination: flood to every other port that has
//      carrier; a known destination: send on its port, unless that is the ingress port (drop
//      "same_port", no hairpin) or has no carrier (drop "port_down").
// Entries age out ageing_ns (default 300 s, br->ageing_time) after the station was last heard:
// an entry is valid while now < last_seen + ageing (has_expired()).  A timer removes expired
// entries; lookups ignore them in between.  A port losing carrier forgets its entries
// (br_fdb_delete_by_port() from br_stp_disable_port()).
//
// Not modelled: spanning tree (802.1D STP/RSTP; loops in a topology of bridges loop forever),
// VLAN filtering, static entries, a local (host) port, IGMP snooping.
//
// Example: 3 ports; A (port 1) sends to B: B unknown, flooded to 2 and 3; B (port 2) answers A:
// A known on 1, sent on port 1 only; both are now learned.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/ipv4_addr.h"
#include "sim/element.h"

namespace vnet::sim {

class LearningBridge final : public Element {
 public:
  static constexpr uint64_t kDefaultAgeingNs = 300'000'000'000;  // 300 s

  enum class Drop : uint8_t { Runt, PortDown, InvalidSource, LinkLocal, SamePort };
  static constexpr size_t kDropCount = 5;
  // "runt", "port_down", "invalid_source", "link_local", "same_port".
  static const char* to_string(Drop reason);

  struct Counters {
    uint64_t rx_frames = 0;
    uint64_t forwarded_frames = 0;  // sent on the one learned port
    uint64_t flooded_frames = 0;    // frames flooded (each counted once)
    uint64_t tx_frames = 0;         // copies sent, forwarded and flooded
    std::array<uint64_t, kDropCount> drops{};
    uint64_t dropped(Drop reason) const { return drops[static_cast<size_t>(reason)]; }
  };

  struct FdbEntry {
    int port = 0;
    uint64_t last_seen_ns = 0;
  };

  explicit LearningBridge(int port_count, uint64_t ageing_ns = kDefaultAgeingNs);

  void attach(ElementIo* io) override { io_ = io; }
  void receive(int port, std::span<const std::byte> frame, uint64_t now_ns) override;
  uint64_t next_deadline_ns() const override;
  void run_timers(uint64_t now_ns) override;
  void set_carrier(int port, bool up) override;
  bool has_port(int port) const override { return port >= 1 && port <= port_count_; }
  // Ports are numbered; a lab names them after its link endpoints ("sw1:p1" -> "p1").
  std::string port_name(int port) const override {
    auto it = port_names_.find(port);
    return it == port_names_.end() ? std::to_string(port) : it->second;
  }
  void set_port_name(int port, std::string name) { port_names_[port] = std::move(name); }

  int port_count() const { return port_count_; }
  bool carrier(int port) const { return has_port(port) && carrier_[port]; }
  // The port `mac` was learned on, if the entry has not expired at now_ns.
  std::optional<int> lookup(net::MacAddr mac, uint64_t now_ns) const;
  // Every entry still held, expired-but-not-yet-removed ones included, in MAC order.
  const std::map<net::MacAddr, FdbEntry>& fdb() const { return fdb_; }
  const Counters& counters() const { return counters_; }

 private:
  void count_drop(Drop reason) { ++counters_.drops[static_cast<size_t>(reason)]; }
  void send(int port, std::span<const std::byte> frame);
  void flood(int ingress_port, std::span<const std::byte> frame);
  // last_seen + ageing, saturating so that a huge ageing time means "never".
  uint64_t expiry_ns(const FdbEntry& entry) const {
    return ageing_ns_ > kNoDeadline - entry.last_seen_ns ? kNoDeadline
                                                         : entry.last_seen_ns + ageing_ns_;
  }
  bool expired(const FdbEntry& entry, uint64_t now_ns) const { return expiry_ns(entry) <= now_ns; }

  ElementIo* io_ = nullptr;
  int port_count_;
  uint64_t ageing_ns_;
  std::vector<bool> carrier_;  // indexed by port; ports start without carrier
  std::map<net::MacAddr, FdbEntry> fdb_;
  // When the next entry can expire (a lower bound, so the sweep is never late); kNoDeadline
  // when the table is empty.
  uint64_t sweep_ns_ = kNoDeadline;
  Counters counters_;
  std::map<int, std::string> port_names_;
};

}  // namespace vnet::sim
