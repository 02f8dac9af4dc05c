#include "lb/conn_table.h"

#include <fmt/format.h>

#include <algorithm>

#include "lb/ipvs_table.h"

namespace vnet::lb {

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
// ip_vs_conn_expire()'s expire_later: a template that still controls connections waits 60 s.
constexpr uint64_t kExpireLaterNs = 60 * kSecond;

std::string proto_name(uint8_t p) {
  // ip_vs_proto_name()
  switch (p) {
    case 0:
      return "IP";
    case kProtoTcp:
      return "TCP";
    case kProtoUdp:
      return "UDP";
    case kProtoSctp:
      return "SCTP";
    case 1:
      return "ICMP";
    default:
      return fmt::format("IP_{}", p);
  }
}

std::string state_name(const Connection& c) {
  // ip_vs_state_name()
  if (c.is_template()) return c.state == 0 ? "NONE" : "ASSURED";
  if (c.key.protocol == kProtoTcp) return std::string(tcp_state_name(c.tcp_state()));
  if (c.key.protocol == kProtoUdp) return "UDP";
  if (c.key.protocol == kProtoSctp) return "NONE";
  return c.key.protocol == 0 ? "NONE" : "ERR!";
}

}  // namespace

ConnTable::~ConnTable() {
  // Connections hold references to real servers; nothing to release beyond the memory.
  conns_.clear();
}

Connection* ConnTable::in_get(const ConnKey& key) const {
  auto it = in_.find(key);
  if (it != in_.end()) return it->second;
  if (key.cport != 0) {
    // A NO_CPORT entry (a synced FTP data connection) matches any client port.
    ConnKey any = key;
    any.cport = 0;
    it = in_.find(any);
    if (it != in_.end() && (it->second->flags & kConnNoCport)) return it->second;
  }
  return nullptr;
}

Connection* ConnTable::out_get(uint8_t protocol, net::Ipv4Addr src, uint16_t sport,
                               net::Ipv4Addr dst, uint16_t dport) const {
  auto it = out_.find(OutKey{protocol, src.value(), sport, dst.value(), dport});
  return it == out_.end() ? nullptr : it->second;
}

Connection* ConnTable::template_get(const ConnKey& key) const {
  auto it = templates_.find(key);
  return it == templates_.end() ? nullptr : it->second;
}

ConnTable::OutKey ConnTable::out_key(const Connection& c) {
  // NAT replies come from the real server; DR/TUN replies (when they cross the director at
  // all) from the virtual address.
  bool nat = c.fwd() == kConnMasq;
  return OutKey{c.key.protocol, nat ? c.daddr.value() : c.key.vaddr.value(),
                nat ? c.dport : c.key.vport, c.key.caddr.value(), c.key.cport};
}

void ConnTable::link(Connection& c) {
  c.flags |= kConnHashed;
  if (c.is_template()) {
    templates_[c.key] = &c;
    return;
  }
  in_[c.key] = &c;
  out_[out_key(c)] = &c;
}

void ConnTable::unlink(Connection& c) {
  if (!(c.flags & kConnHashed)) return;
  c.flags &= ~kConnHashed;
  auto drop_from = [&](auto& index, const auto& key) {
    auto it = index.find(key);
    if (it != index.end() && it->second == &c) index.erase(it);
  };
  if (c.is_template()) {
    drop_from(templates_, c.key);
    return;
  }
  drop_from(in_, c.key);
  drop_from(out_, out_key(c));
}

void ConnTable::arm(Connection& c, uint64_t at_ns) {
  // mod_timer() without a tree operation per packet: a later expiry only moves expires_ns.
  c.expires_ns = at_ns;
  if (c.timer_at_ns <= at_ns) return;
  timers_.erase({c.timer_at_ns, c.id});
  c.timer_at_ns = at_ns;
  timers_.insert({c.timer_at_ns, c.id});
}

Connection* ConnTable::create(const ConnKey& key, net::Ipv4Addr daddr, uint16_t dport,
                              uint32_t flags, std::shared_ptr<RealServer> dest, uint32_t fwmark,
                              uint64_t now_ns) {
  conns_.emplace_front();
  Connection& c = conns_.front();
  c.key = key;
  c.daddr = daddr;
  c.dport = dport;
  c.fwmark = fwmark;
  c.id = next_id_++;
  by_id_[c.id] = conns_.begin();
  c.flags = flags;
  if (key.protocol != kProtoUdp) c.flags &= ~kConnOnePacket;
  if (dest) {
    // ip_vs_bind_dest()
    if (!c.is_template()) {
      if (c.flags & kConnInactive) {
        ++dest->inactconns;
      } else {
        ++dest->activeconns;
      }
    } else {
      ++dest->persistconns;
    }
    if (dest->u_threshold != 0 && dest->total_conns() >= dest->u_threshold) {
      dest->overloaded = true;
    }
    c.dest = std::move(dest);
  }
  if (!(c.flags & kConnOnePacket)) link(c);
  arm(c, now_ns + c.timeout_ns);
  return &c;
}

void ConnTable::control_add(Connection& conn, Connection& ct) {
  conn.control = &ct;
  ++ct.n_control;
}

uint64_t ConnTable::state_timeout_ns(const Connection& c) const {
  if (c.key.protocol == kProtoUdp) return uint64_t{timeouts_.udp_s} * kSecond;
  return uint64_t{tcp_state_timeout_s(c.tcp_state(), timeouts_.tcp_established_s,
                                      timeouts_.tcp_fin_wait_s)} *
         kSecond;
}

void ConnTable::set_tcp_state(Connection& c, ConnDirection dir, TcpFlagsSeen flags,
                              bool secure_tcp) {
  // set_tcp_state(): a connection that has seen no reply uses the input-only table; the first
  // reply through the director (NAT, or a DR/TUN server routing back through it) clears
  // NOOUTPUT.
  if (c.flags & kConnNoOutput) {
    if (dir == ConnDirection::Output) {
      c.flags &= ~kConnNoOutput;
    } else {
      dir = ConnDirection::InputOnly;
    }
  }
  TcpConnState old = c.tcp_state();
  TcpConnState now = next_tcp_state(old, dir, flags, secure_tcp);
  if (now != old && c.dest) {
    RealServer& d = *c.dest;
    if (!(c.flags & kConnInactive) && !tcp_state_active(now)) {
      --d.activeconns;
      ++d.inactconns;
      c.flags |= kConnInactive;
    } else if ((c.flags & kConnInactive) && tcp_state_active(now)) {
      ++d.activeconns;
      --d.inactconns;
      c.flags &= ~kConnInactive;
    }
  }
  if (now != old && now == TcpConnState::Established && c.control) {
    c.control->state = static_cast<uint8_t>(TemplateState::Assured);
  }
  c.state = static_cast<uint8_t>(now);
  c.timeout_ns = state_timeout_ns(c);
}

void ConnTable::set_udp_state(Connection& c, ConnDirection dir) {
  if (dir == ConnDirection::Output && c.control) {
    c.control->state = static_cast<uint8_t>(TemplateState::Assured);
  }
  c.timeout_ns = state_timeout_ns(c);
}

void ConnTable::put(Connection& c, uint64_t now_ns) {
  if (c.flags & kConnOnePacket) {
    expire(c, now_ns);
    return;
  }
  arm(c, now_ns + c.timeout_ns);
}

void ConnTable::expire_now(Connection& c, uint64_t now_ns) {
  unlink(c);
  if (c.expires_ns > now_ns) arm(c, now_ns);
}

void ConnTable::invalidate_template(Connection& ct) {
  // ip_vs_check_template(): rehashed with ports 0xffff, so nothing matches it any more.
  if (ct.key.vport == 0xffff) return;
  unlink(ct);
  ct.key.vport = 0xffff;
  ct.dport = 0xffff;
  ct.key.cport = 0;
  link(ct);  // still listed (with ports FFFF) until its timer fires
}

void ConnTable::destroy(std::list<Connection>::iterator it) {
  Connection& c = *it;
  unlink(c);
  timers_.erase({c.timer_at_ns, c.id});
  by_id_.erase(c.id);
  if (c.control) {
    --c.control->n_control;
    c.control = nullptr;
  }
  if (c.dest) {
    // ip_vs_unbind_dest()
    RealServer& d = *c.dest;
    if (!c.is_template()) {
      if (c.flags & kConnInactive) {
        --d.inactconns;
      } else {
        --d.activeconns;
      }
    } else {
      --d.persistconns;
    }
    if (d.l_threshold != 0) {
      if (d.total_conns() < d.l_threshold) d.overloaded = false;
    } else if (d.u_threshold != 0) {
      if (d.total_conns() * 4 < int64_t{d.u_threshold} * 3) d.overloaded = false;
    } else {
      d.overloaded = false;
    }
  }
  conns_.erase(it);
}

void ConnTable::expire(Connection& c, uint64_t now_ns) {
  if (c.n_control > 0) {
    // expire_later
    c.timeout_ns = kExpireLaterNs;
    arm(c, now_ns + kExpireLaterNs);
    return;
  }
  destroy(by_id_.at(c.id));
}

void ConnTable::settle_timers() const {
  while (!timers_.empty()) {
    Connection* c = &*by_id_.at(timers_.begin()->second);
    if (c->expires_ns <= timers_.begin()->first) return;
    timers_.erase(timers_.begin());
    c->timer_at_ns = c->expires_ns;
    timers_.insert({c->timer_at_ns, c->id});
  }
}

void ConnTable::run_timers(uint64_t now_ns) {
  settle_timers();
  while (!timers_.empty() && timers_.begin()->first <= now_ns) {
    expire(*by_id_.at(timers_.begin()->second), now_ns);
    settle_timers();
  }
}

uint64_t ConnTable::next_deadline_ns() const {
  settle_timers();
  return timers_.empty() ? UINT64_MAX : timers_.begin()->first;
}

void ConnTable::flush() {
  // ip_vs_conn_flush(): controlled connections first, so their templates can go.
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto next = std::next(it);
    if (!it->is_template()) destroy(it);
    it = next;
  }
  while (!conns_.empty()) destroy(conns_.begin());
}

void ConnTable::expire_unavailable() {
  // ip_vs_expire_nodest_conn_flush(): the connection goes, and its template with it when that
  // controls nothing else.
  std::vector<uint64_t> victims;
  for (const Connection& c : conns_) {
    if (c.dest && !c.dest->available && c.n_control == 0) victims.push_back(c.id);
  }
  for (uint64_t id : victims) {
    auto found = by_id_.find(id);
    if (found == by_id_.end()) continue;
    Connection* ct = found->second->control;
    destroy(found->second);
    if (ct && ct->n_control == 0) destroy(by_id_.at(ct->id));
  }
}

std::string proc_ip_vs_conn(const ConnTable& table, uint64_t now_ns) {
  std::string out =
      "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";
  for (const Connection& c : table.entries()) {
    if (!(c.flags & kConnHashed)) continue;
    uint64_t left_ns = c.expires_ns > now_ns ? c.expires_ns - now_ns : 0;
    out += fmt::format("{:<3} {:08X} {:04X} {:08X} {:04X} {:08X} {:04X} {:<11} {:7}\n",
                       proto_name(c.key.protocol), c.key.caddr.value(), c.key.cport,
                       c.key.vaddr.value(), c.key.vport, c.daddr.value(), c.dport, state_name(c),
                       left_ns / 1'000'000 / 1000);
  }
  return out;
}

}  // namespace vnet::lb
