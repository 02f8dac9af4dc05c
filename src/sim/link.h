// Link: a point-to-point Ethernet cable between two (element, port) endpoints, with an MTU, a
// propagation delay, a loss probability and per-direction counters.
//
// Input: a frame one endpoint transmits.  Output: either a drop reason, or the frame is carried
// and arrives at the far endpoint delay_ns later (the simulator schedules the arrival).  Checks,
// in order: both ports up (else "down"), a whole Ethernet header (else "runt"), the Ethernet
// payload, i.e. the frame after its 14-byte header or 18-byte 802.1Q header, at most the MTU
// (else "mtu", as a NIC refuses a frame longer than its MTU plus the header), then loss.
// Frames on one link keep their order: they share one delay, and the event queue is FIFO on ties.
//
// Loss draws come from a std::mt19937_64 per link, seeded from the simulator seed and the link's
// index, so that traffic on one link does not change which frames another link loses.  The
// draw is made only for 0 < loss < 1, and turned into a probability with 53 bits of the output
// ((x >> 11) * 2^-53, exactly representable), not std::uniform_real_distribution, whose
// algorithm the standard leaves to the library: the same seed loses the same frames everywhere.
//
// Example: LinkProps{.mtu = 1500, .delay_ns = 10'000, .loss = 0.01}: a 1514-byte untagged frame
// arrives 10 us after it is sent unless it is among the ~1% lost; a 1515-byte one is dropped as
// "mtu".  With rate_bps set, frames are serialized one after another and queue (see LinkProps).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "sim/ids.h"
#include "sim/sim_error.h"

namespace vnet::sim {

enum class DropReason : uint8_t {
  Runt,    // shorter than an Ethernet header
  Mtu,     // Ethernet payload longer than the link MTU
  Loss,    // lost on the link (LinkProps::loss)
  Down,    // a link endpoint port is administratively down
  NoLink,  // transmitted on a port with no link
  Queue,   // the link's transmit queue was full (tail drop)
};
inline constexpr size_t kDropReasonCount = 6;

// "runt", "mtu", "loss", "down", "no_link", "queue": counter and trace names.
const char* to_string(DropReason reason);

struct LinkProps {
  uint32_t mtu = 1500;    // largest Ethernet payload in bytes (header and 802.1Q tag excluded)
  uint64_t delay_ns = 0;  // propagation delay
  double loss = 0.0;      // probability that a frame is lost, 0..1
  // Bandwidth in bits per second (0: unlimited, no serialization delay).  A frame takes
  // frame bytes * 8 / rate to leave; frames wait in a FIFO of queue_limit frames (the one on
  // the wire included) and are tail-dropped ("queue") when it is full, as netem's rate with
  // a pfifo of that limit.
  uint64_t rate_bps = 0;
  uint32_t queue_limit = 1000;
};

// Returns why props are unacceptable, or std::nullopt.
std::optional<SimError> validate(const LinkProps& props);

struct LinkEndpoint {
  ElementId element;
  int port = 0;
  friend constexpr bool operator==(const LinkEndpoint&, const LinkEndpoint&) = default;
};

// Counters for frames sent by one endpoint towards the other.
struct LinkDirectionCounters {
  uint64_t frames = 0;  // delivered to the far endpoint
  uint64_t bytes = 0;
  std::array<uint64_t, kDropReasonCount> drops{};
  uint64_t dropped(DropReason reason) const { return drops[static_cast<size_t>(reason)]; }
};

class Link {
 public:
  // loss_seed seeds this link's generator (created on the first draw).
  Link(LinkEndpoint a, LinkEndpoint b, LinkProps props, uint64_t loss_seed);

  // side 0 is `a`, side 1 is `b`.
  const LinkEndpoint& endpoint(int side) const { return endpoints_[side]; }
  // 0 or 1 for an endpoint of this link, -1 otherwise.
  int side_of(LinkEndpoint endpoint) const;
  const LinkProps& props() const { return props_; }
  // direction d counts frames sent by endpoint(d).
  const LinkDirectionCounters& counters(int direction) const { return counters_[direction]; }

  // ---- used by Sim ----
  void set_props(const LinkProps& props) { props_ = props; }
  void set_endpoint(int side, LinkEndpoint endpoint) { endpoints_[side] = endpoint; }
  // The administrative state of each end's port, mirrored here so that a delivery does not
  // visit both elements' port tables (cold in a large topology).
  void set_admin_up(int side, bool up) { admin_up_[side] = up; }
  bool admin_up(int side) const { return admin_up_[side]; }
  bool both_admin_up() const { return admin_up_[0] && admin_up_[1]; }
  // Runt, MTU, queue and loss checks for a frame sent in `direction` at now_ns; counts the drop
  // it returns.  Otherwise *depart_ns is when its last bit leaves (now_ns without a rate).
  std::optional<DropReason> admit(int direction, std::span<const std::byte> frame, uint64_t now_ns,
                                  uint64_t* depart_ns);
  void count_drop(int direction, DropReason reason) {
    ++counters_[direction].drops[static_cast<size_t>(reason)];
  }
  void count_delivered(int direction, size_t bytes) {
    ++counters_[direction].frames;
    counters_[direction].bytes += bytes;
  }

 private:
  bool lose();

  std::array<LinkEndpoint, 2> endpoints_;
  std::array<bool, 2> admin_up_{true, true};
  LinkProps props_;
  std::array<LinkDirectionCounters, 2> counters_{};
  // Per direction: when the transmitter is free, and the departure times of queued frames.
  std::array<uint64_t, 2> busy_until_ns_{};
  std::array<std::deque<uint64_t>, 2> departures_{};
  uint64_t loss_seed_;
  // 2.5 KiB of state, only for links that ever draw (most have no loss).
  std::unique_ptr<std::mt19937_64> loss_rng_;
};

// A 64-bit mix of the simulator seed and a stream number (SplitMix64's finaliser), so that
// neighbouring link indexes get unrelated generator seeds.
uint64_t derive_seed(uint64_t seed, uint64_t stream);

}  // namespace vnet::sim
