// ARP and the neighbour table (net/ipv4/arp.c, net/core/neighbour.c): answering requests for
// our addresses (arp_ignore), proxy ARP, learning from requests and replies, resolution with a
// queue of waiting packets, and the NUD state machine: INCOMPLETE (3 broadcast probes a second
// apart) -> REACHABLE (a randomised 15-45 s) -> STALE -> DELAY (5 s) -> PROBE (3 unicast
// probes) -> FAILED, where the waiting packets get ICMP host unreachable.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "stack/node.h"
#include "wire/arp.h"
#include "wire/ipv4.h"

namespace vnet::stack {

using fib::RouteType;

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
constexpr uint64_t kRetransNs = kSecond;             // retrans_time_ms 1000
constexpr uint64_t kBaseReachableNs = 30 * kSecond;  // base_reachable_time_ms 30000
constexpr uint64_t kDelayProbeNs = 5 * kSecond;      // delay_first_probe_time 5 s
constexpr int kMcastSolicit = 3;
constexpr int kUcastSolicit = 3;
constexpr size_t kUnresQueueBytes = 212992;      // unres_qlen_bytes
constexpr uint64_t kLocktimeNs = kSecond;        // locktime 1 s (100 jiffies)
constexpr uint64_t kProxyDelayNs = 800'000'000;  // proxy_delay 0.8 s

bool valid_state(NeighState s) {
  return s == NeighState::Reachable || s == NeighState::Stale || s == NeighState::Delay ||
         s == NeighState::Probe || s == NeighState::Permanent || s == NeighState::Noarp;
}

}  // namespace

const char* neigh_state_name(NeighState s) {
  switch (s) {
    case NeighState::Incomplete:
      return "INCOMPLETE";
    case NeighState::Reachable:
      return "REACHABLE";
    case NeighState::Stale:
      return "STALE";
    case NeighState::Delay:
      return "DELAY";
    case NeighState::Probe:
      return "PROBE";
    case NeighState::Failed:
      return "FAILED";
    case NeighState::Noarp:
      return "NOARP";
    case NeighState::Permanent:
      return "PERMANENT";
    default:
      return "NONE";
  }
}

Neighbour* Node::neigh_scan(int ifindex, Ipv4Addr dst) {
  for (Neighbour& n : neighbours_) {
    if (n.ifindex == ifindex && n.dst == dst && !n.proxy) return &n;
  }
  return nullptr;
}

Neighbour* Node::neigh_lookup(int ifindex, Ipv4Addr dst) {
  uint64_t h = (static_cast<uint64_t>(static_cast<uint32_t>(ifindex)) << 32 | dst.value()) *
               0x9e3779b97f4a7c15ull;
  NeighCacheEntry& e = neigh_cache_[(h >> 32) % kNeighCacheSize];
  if (e.generation == neigh_gen_ && e.ifindex == ifindex && e.dst == dst) {
    if (verify_route_cache() && neigh_scan(ifindex, dst) != e.entry) {
      std::fprintf(stderr, "neighbour cache: stale entry for %s on ifindex %d\n",
                   dst.to_string().c_str(), ifindex);
      std::abort();
    }
    return e.entry;
  }
  Neighbour* n = neigh_scan(ifindex, dst);
  // Only entries are cached: a miss is followed by neigh_create(), which bumps neigh_gen_.
  if (n != nullptr) e = NeighCacheEntry{neigh_gen_, ifindex, dst, n};
  return n;
}

size_t Node::neigh_forced_gc(size_t max_clean) {
  constexpr uint64_t kRecentNs = 5'000'000'000;  // neigh_forced_gc(): tref = jiffies - 5 * HZ
  neigh_last_flush_ns_ = now_ns_;
  if (neigh_pinned_ > 0) return 0;
  size_t shrunk = 0;
  for (auto it = neighbours_.begin(); it != neighbours_.end() && shrunk < max_clean;) {
    const Neighbour& n = *it;
    bool exempt = n.state == NeighState::Permanent || n.proxy;
    bool held = n.timer_ns != 0;  // a running timer holds a reference
    bool old = n.updated_ns + kRecentNs < now_ns_;
    if (!exempt && !held &&
        (n.state == NeighState::Failed || n.state == NeighState::Noarp || old)) {
      it = neighbours_.erase(it);
      ++shrunk;
    } else {
      ++it;
    }
  }
  if (shrunk > 0) ++neigh_gen_;
  return shrunk;
}

Neighbour* Node::neigh_create(int ifindex, Ipv4Addr dst) {
  // neigh_alloc(): entries that garbage collection may take (all but permanent ones) are
  // capped by gc_thresh3; at the cap a forced gc runs first, down towards gc_thresh2.
  size_t gc_entries = 0;
  for (const Neighbour& e : neighbours_) {
    if (e.state != NeighState::Permanent && !e.proxy) ++gc_entries;
  }
  const auto thresh3 =
      static_cast<size_t>(std::max(0, sysctls_.global("neigh.default.gc_thresh3")));
  const auto thresh2 =
      static_cast<size_t>(std::max(0, sysctls_.global("neigh.default.gc_thresh2")));
  // neigh_alloc(): a forced gc at gc_thresh3, or at gc_thresh2 once per 5 s; the entry is
  // refused only when that gc freed nothing and the table is at gc_thresh3.
  constexpr uint64_t kFlushIntervalNs = 5'000'000'000;
  if (gc_entries >= thresh3 ||
      (gc_entries >= thresh2 && now_ns_ > neigh_last_flush_ns_ + kFlushIntervalNs)) {
    size_t freed = neigh_forced_gc(gc_entries > thresh2 ? gc_entries - thresh2 : 0);
    if (freed == 0 && gc_entries >= thresh3) {
      trace(TraceStage::Neighbour, [&] {
        return std::string(fmt::format("neighbour table overflow: {} entries (gc_thresh3 {})",
                                       gc_entries, thresh3));
      });
      return nullptr;
    }
  }
  Neighbour n;
  n.dst = dst;
  n.ifindex = ifindex;
  n.state = NeighState::None;
  n.updated_ns = now_ns_;
  // neigh_rand_reach_time(): uniform in [base/2, 3*base/2).
  n.reachable_ns = kBaseReachableNs / 2 + random_u64() % kBaseReachableNs;
  neighbours_.push_back(std::move(n));
  ++neigh_gen_;
  return &neighbours_.back();
}

void Node::neigh_update(Neighbour& n, std::optional<MacAddr> lladdr, NeighState state,
                        bool override) {
  if (n.state == NeighState::Permanent || n.state == NeighState::Noarp) return;
  bool changed = lladdr && n.lladdr && *lladdr != *n.lladdr;
  if (changed && !override && valid_state(n.state)) {
    // A different address without override only makes a connected entry stale.
    if (n.state == NeighState::Reachable) n.state = NeighState::Stale;
    return;
  }
  if (lladdr) n.lladdr = lladdr;
  n.state = state;
  n.updated_ns = now_ns_;
  if (state == NeighState::Reachable) {
    n.confirmed_ns = now_ns_;
    n.timer_ns = now_ns_ + n.reachable_ns;
    n.probes = 0;
  } else {
    n.timer_ns = 0;
  }
  const Device* d = device(n.ifindex);
  trace(TraceStage::Neighbour, [&] {
    return std::string(fmt::format("neigh {} dev {} lladdr {} {}", n.dst.to_string(),
                                   d ? d->name : "?", n.lladdr ? n.lladdr->to_string() : "-",
                                   neigh_state_name(n.state)));
  });
  if (valid_state(n.state)) neigh_flush_queue(n);
}

void Node::neigh_flush_queue(Neighbour& n) {
  // The entry may move while we transmit (the vector can grow), so take the queue first.
  std::deque<std::vector<std::byte>> queue;
  queue.swap(n.queue);
  MacAddr mac = *n.lladdr;
  int ifindex = n.ifindex;
  for (auto& packet : queue) transmit_frame(ifindex, mac, 0x0800, packet);
}

void Node::neigh_output(Device& dev, Ipv4Addr nexthop, std::vector<std::byte> packet) {
  if (dev.flags & iff::kNoArp) {
    transmit_frame(dev.ifindex, MacAddr::broadcast(), 0x0800, packet);
    return;
  }
  Neighbour* n = neigh_lookup(dev.ifindex, nexthop);
  if (n == nullptr) n = neigh_create(dev.ifindex, nexthop);
  if (n == nullptr) {
    drop(DropReason::NeighCreateFail,
         "neighbour table overflow (net.ipv4.neigh.default.gc_thresh3) for " + nexthop.to_string(),
         nullptr);
    return;
  }
  switch (n->state) {
    case NeighState::Reachable:
    case NeighState::Permanent:
    case NeighState::Noarp:
    case NeighState::Delay:
    case NeighState::Probe:
      trace(TraceStage::Neighbour, [&] {
        return std::string(fmt::format("neigh {} {} lladdr {}", nexthop.to_string(),
                                       neigh_state_name(n->state), n->lladdr->to_string()));
      });
      transmit_frame(dev.ifindex, *n->lladdr, 0x0800, packet);
      return;
    case NeighState::Stale:
      // __neigh_event_send(): first use of a stale entry starts the DELAY timer.
      n->state = NeighState::Delay;
      n->updated_ns = now_ns_;
      n->timer_ns = now_ns_ + kDelayProbeNs;
      trace(TraceStage::Neighbour, [&] {
        return std::string(fmt::format("neigh {} STALE -> DELAY lladdr {}", nexthop.to_string(),
                                       n->lladdr->to_string()));
      });
      transmit_frame(dev.ifindex, *n->lladdr, 0x0800, packet);
      return;
    case NeighState::Incomplete: {
      size_t bytes = packet.size();
      for (const auto& q : n->queue) bytes += q.size();
      while (bytes > kUnresQueueBytes && !n->queue.empty()) {
        bytes -= n->queue.front().size();
        n->queue.pop_front();
        drop(DropReason::NeighQueueFull, "resolution queue full for " + nexthop.to_string());
      }
      n->queue.push_back(std::move(packet));
      trace(TraceStage::Neighbour, [&] {
        return std::string(fmt::format("neigh {} INCOMPLETE: queued ({} waiting)",
                                       nexthop.to_string(), n->queue.size()));
      });
      return;
    }
    default: {
      // NONE or FAILED: start resolving.
      n->state = NeighState::Incomplete;
      n->probes = 0;
      n->updated_ns = now_ns_;
      n->queue.push_back(std::move(packet));
      trace(TraceStage::Neighbour, [&] {
        return std::string(
            fmt::format("neigh {} dev {}: resolving", nexthop.to_string(), dev.name));
      });
      Neighbour& entry = *n;
      arp_solicit(entry, false);
      entry.timer_ns = now_ns_ + kRetransNs;
      return;
    }
  }
}

void Node::neigh_timer(Neighbour& n) {
  n.timer_ns = 0;
  switch (n.state) {
    case NeighState::Reachable:
      if (now_ns_ >= n.confirmed_ns + n.reachable_ns) n.state = NeighState::Stale;
      return;
    case NeighState::Delay:
      if (n.confirmed_ns + n.reachable_ns > now_ns_) {
        n.state = NeighState::Reachable;
        n.timer_ns = n.confirmed_ns + n.reachable_ns;
        return;
      }
      n.state = NeighState::Probe;
      n.updated_ns = now_ns_;  // neigh_timer_handler(): neigh->updated = jiffies
      n.probes = 0;
      [[fallthrough]];
    case NeighState::Probe:
    case NeighState::Incomplete: {
      int max = n.state == NeighState::Probe ? kUcastSolicit : kMcastSolicit;
      if (n.probes < max) {
        arp_solicit(n, n.state == NeighState::Probe);
        n.timer_ns = now_ns_ + kRetransNs;
        return;
      }
      // neigh_invalidate(): every waiting packet gets ICMP host unreachable.
      n.state = NeighState::Failed;
      n.lladdr.reset();
      trace(TraceStage::Neighbour,
            [&] { return fmt::format("neigh {} FAILED", n.dst.to_string()); });
      std::deque<std::vector<std::byte>> queue;
      queue.swap(n.queue);
      for (auto& packet : queue) {
        drop(DropReason::NeighFailed, "no ARP reply from " + n.dst.to_string());
        icmp_send(packet, 3, 1, 0, 0, false);
      }
      return;
    }
    default:
      return;
  }
}

void Node::arp_solicit(Neighbour& n, bool unicast) {
  Device* dev = device(n.ifindex);
  if (dev == nullptr) return;
  // arp_solicit(): the source address follows arp_announce.
  Ipv4Addr saddr;
  int announce =
      std::max(sysctls_.conf("all", "arp_announce"), sysctls_.conf(dev->name, "arp_announce"));
  if (!n.queue.empty()) {
    wire::Ipv4ConstView ip(n.queue.back());
    Ipv4Addr s = ip.source();
    bool local_on_dev = addr_type(s, fib::table::kLocal) == RouteType::Local;
    if (announce == 0 && local_on_dev) saddr = s;
    if (announce == 1 && local_on_dev) {
      for (const IfAddr& a : dev->addrs) {
        if (a.matches(n.dst) && a.matches(s)) saddr = s;
      }
    }
  }
  if (saddr.is_unspecified()) saddr = select_addr(dev->ifindex, n.dst, fib::scope::kLink);
  ++n.probes;
  send_arp(dev->ifindex, saddr, n.dst, unicast ? n.lladdr : std::nullopt);
}

int Node::send_arp(int ifindex, Ipv4Addr src, Ipv4Addr target, std::optional<MacAddr> unicast_to,
                   bool reply) {
  Device* dev = device(ifindex);
  if (dev == nullptr) return -ENODEV;
  wire::ArpRepr arp;
  arp.operation = reply ? wire::ArpOperation::Reply : wire::ArpOperation::Request;
  arp.sender_hardware_address = dev->mac;
  arp.sender_protocol_address = src;
  arp.target_hardware_address = unicast_to.value_or(MacAddr());
  arp.target_protocol_address = target;
  std::vector<std::byte> payload(arp.buffer_len());
  (void)arp.emit(payload);
  trace(TraceStage::Arp, [&] {
    return std::string(reply
                           ? fmt::format("send arp reply {} is-at {} to {} on {}", src.to_string(),
                                         dev->mac.to_string(), target.to_string(), dev->name)
                           : fmt::format("send arp request who-has {} tell {} on {}",
                                         target.to_string(), src.to_string(), dev->name));
  });
  transmit_frame(ifindex, unicast_to.value_or(MacAddr::broadcast()), 0x0806, payload);
  return 0;
}

bool Node::arp_ignore(const Device& dev, Ipv4Addr sip, Ipv4Addr tip) const {
  // arp_ignore() with inet_confirm_addr()/confirm_addr_indev().
  int mode = std::max(sysctls_.conf("all", "arp_ignore"), sysctls_.conf(dev.name, "arp_ignore"));
  int scope;
  const Device* in_dev = &dev;
  switch (mode) {
    case 0:
      return false;
    case 1:
      sip = Ipv4Addr();
      scope = fib::scope::kHost;
      break;
    case 2:
      scope = fib::scope::kHost;
      break;
    case 3:
      sip = Ipv4Addr();
      scope = fib::scope::kLink;
      in_dev = nullptr;
      break;
    case 8:
      return true;
    default:
      return false;
  }
  auto confirm = [&](const Device& d) {
    uint8_t localnet_scope = route_localnet(d.ifindex) ? fib::scope::kLink : fib::scope::kHost;
    Ipv4Addr addr;
    bool same = false;
    for (const IfAddr& ifa : d.addrs) {
      uint8_t min_scope = std::min(ifa.scope, localnet_scope);
      if (addr.is_unspecified() && ifa.local == tip && min_scope <= scope) {
        addr = ifa.local;
        if (same) break;
      }
      if (!same) {
        same = ifa.matches(tip) && (sip.is_unspecified() || ifa.matches(sip));
        if (same && !addr.is_unspecified()) break;
      }
    }
    return same && !addr.is_unspecified();
  };
  if (in_dev) return !confirm(*in_dev);
  for (const auto& [ix, d] : devices_) {
    if (confirm(d)) return false;
  }
  return true;
}

void Node::arp_rcv(Device& dev, std::span<const std::byte> bytes, PktType type) {
  if (dev.flags & iff::kNoArp || dev.is_loopback()) {
    drop(DropReason::ArpInvalid, "ARP on a NOARP device", &dev);
    return;
  }
  wire::ArpConstView view(bytes);
  auto parsed = wire::ArpRepr::parse(view);
  if (!parsed) {
    drop(DropReason::ArpInvalid, std::string("bad ARP: ") + wire::to_string(parsed.error()), &dev);
    return;
  }
  const wire::ArpRepr& arp = *parsed;
  {
    std::vector<std::byte> copy(bytes.begin(), bytes.begin() + 28);
    for (auto& [id, l] : std::map<int, ArpListener>(arp_listeners_)) l(dev.ifindex, copy, now_ns_);
  }
  if (type == PktType::OtherHost) {
    drop(DropReason::OtherHost, "ARP for another host", &dev);
    return;
  }
  Ipv4Addr sip = arp.sender_protocol_address, tip = arp.target_protocol_address;
  MacAddr sha = arp.sender_hardware_address;
  bool request = arp.operation == wire::ArpOperation::Request;
  trace(TraceStage::Arp, [&] {
    return std::string(request ? fmt::format("arp request who-has {} tell {} ({}) on {}",
                                             tip.to_string(), sip.to_string(), sha.to_string(),
                                             dev.name)
                               : fmt::format("arp reply {} is-at {} on {}", sip.to_string(),
                                             sha.to_string(), dev.name));
  });
  if (tip.is_loopback() || tip.is_multicast() || sip.is_multicast()) {
    drop(DropReason::ArpInvalid, "ARP for a loopback or multicast address", &dev);
    return;
  }
  if (sip.is_unspecified()) {
    // Duplicate address detection probe.
    if (request && addr_type(tip, fib::table::kLocal, dev.ifindex) == RouteType::Local &&
        !arp_ignore(dev, sip, tip)) {
      send_arp(dev.ifindex, tip, sip, sha, true);
    }
    return;
  }
  if (request) {
    RouteQuery q;
    q.dst = tip;
    q.src = sip;
    q.iif = dev.ifindex;
    RouteAnswer rt;
    int err = route_get(q, &rt);
    if (err != 0 && rt.drop && !rt.no_route) {
      // arp_process(): the request's input route failed (rp_filter, martian): no reply.
      drop(*rt.drop, "ARP request from " + sip.to_string() + " refused by input routing", &dev);
      return;
    }
    if (err == 0 && rt.local && rt.type == RouteType::Local) {
      if (arp_ignore(dev, sip, tip)) {
        trace(TraceStage::Arp, [&] {
          return std::string(fmt::format("arp_ignore: not answering for {}", tip.to_string()));
        });
      } else {
        // arp_process(): no entry (the table is full), no reply.
        Neighbour* n = neigh_lookup(dev.ifindex, sip);
        if (n == nullptr) n = neigh_create(dev.ifindex, sip);
        if (n == nullptr) return;
        neigh_update(*n, sha, NeighState::Stale, false);
        send_arp(dev.ifindex, tip, sip, sha, true);
      }
      return;
    }
    if (err == 0 && !rt.local && rt.type == RouteType::Unicast && forwarding(dev.ifindex) &&
        rt.oif != dev.ifindex) {
      bool proxy = sysctls_.conf("all", "proxy_arp") || sysctls_.conf(dev.name, "proxy_arp");
      bool pneigh = false;
      for (const Neighbour& n : neighbours_) {
        if (n.proxy && n.dst == tip && (n.ifindex == dev.ifindex || n.ifindex == 0)) pneigh = true;
      }
      if (proxy || pneigh) {
        trace(TraceStage::Arp, [&] {
          return std::string(
              fmt::format("proxy_arp: answering for {} (route via {})", tip.to_string(), rt.oif));
        });
        // arp_process(): no entry (the table is full), no reply.
        Neighbour* n = neigh_lookup(dev.ifindex, sip);
        if (n == nullptr) n = neigh_create(dev.ifindex, sip);
        if (n == nullptr) return;
        neigh_update(*n, sha, NeighState::Stale, false);
        if (type == PktType::Host) {
          send_arp(dev.ifindex, tip, sip, sha, true);
        } else {
          // pneigh_enqueue(): broadcast requests are answered after a random proxy delay.
          int ifindex = dev.ifindex;
          uint64_t delay = random_u64() % kProxyDelayNs;
          add_timer(now_ns_ + delay, [this, ifindex, tip, sip, sha](uint64_t) {
            send_arp(ifindex, tip, sip, sha, true);
          });
        }
        return;
      }
    }
  }
  // Learning: update an entry we have (replies and gratuitous ARP); arp_accept=0 creates none.
  Neighbour* n = neigh_lookup(dev.ifindex, sip);
  if (n == nullptr) return;
  bool is_garp = tip == sip;
  bool override = now_ns_ >= n->updated_ns + kLocktimeNs || is_garp;
  NeighState state =
      (!request && type == PktType::Host) ? NeighState::Reachable : NeighState::Stale;
  neigh_update(*n, sha, state, override);
}

}  // namespace vnet::stack
