#include "sim/link.h"

#include "wire/ethernet.h"

namespace vnet::sim {

const char* to_string(DropReason reason) {
  switch (reason) {
    case DropReason::Runt:
      return "runt";
    case DropReason::Mtu:
      return "mtu";
    case DropReason::Loss:
      return "loss";
    case DropReason::Down:
      return "down";
    case DropReason::NoLink:
      return "no_link";
    case DropReason::Queue:
      return "queue";
  }
  return "unknown";
}

std::optional<SimError> validate(const LinkProps& props) {
  if (props.mtu == 0) return SimError::BadMtu;
  // Written so that NaN fails too.
  if (!(props.loss >= 0.0 && props.loss <= 1.0)) return SimError::BadLoss;
  return std::nullopt;
}

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + (stream + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Link::Link(LinkEndpoint a, LinkEndpoint b, LinkProps props, uint64_t loss_seed)
    : endpoints_{a, b}, props_(props), loss_seed_(loss_seed) {}

int Link::side_of(LinkEndpoint endpoint) const {
  if (endpoints_[0] == endpoint) return 0;
  if (endpoints_[1] == endpoint) return 1;
  return -1;
}

std::optional<DropReason> Link::admit(int direction, std::span<const std::byte> frame,
                                      uint64_t now_ns, uint64_t* depart_ns) {
  std::optional<DropReason> reason;
  *depart_ns = now_ns;
  wire::EthernetConstView ethernet(frame);
  if (ethernet.check()) {
    reason = DropReason::Runt;
  } else if (frame.size() - ethernet.header_len_bytes() > props_.mtu) {
    reason = DropReason::Mtu;
  } else if (props_.rate_bps > 0) {
    // The queue holds the frames that have not finished leaving.
    std::deque<uint64_t>& q = departures_[direction];
    while (!q.empty() && q.front() <= now_ns) q.pop_front();
    if (q.size() >= props_.queue_limit) {
      reason = DropReason::Queue;
    } else {
      // Serialization time, rounded up to whole nanoseconds.
      // (A frame is at most 64 KiB: bytes * 8e9 fits in 64 bits.)
      uint64_t bits_ns = static_cast<uint64_t>(frame.size()) * 8 * 1'000'000'000u;
      uint64_t tx_ns = (bits_ns + props_.rate_bps - 1) / props_.rate_bps;
      uint64_t start = std::max(now_ns, busy_until_ns_[direction]);
      busy_until_ns_[direction] = start + tx_ns;
      q.push_back(start + tx_ns);
      *depart_ns = start + tx_ns;
    }
  }
  // A frame lost on the wire still took its time on the transmitter.
  if (!reason && lose()) reason = DropReason::Loss;
  if (reason) count_drop(direction, *reason);
  return reason;
}

bool Link::lose() {
  if (props_.loss <= 0.0) return false;
  if (props_.loss >= 1.0) return true;
  if (!loss_rng_) loss_rng_ = std::make_unique<std::mt19937_64>(loss_seed_);
  // 53 random bits scaled into [0, 1): every value is an exact double (see link.h).
  double draw = static_cast<double>((*loss_rng_)() >> 11) * 0x1.0p-53;
  return draw < props_.loss;
}

}  // namespace vnet::sim
