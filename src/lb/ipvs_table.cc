#include "lb/ipvs_table.h"

#include <algorithm>
#include <cerrno>

namespace vnet::lb {

RealServer* Service::find(net::Ipv4Addr addr, uint16_t port) const {
  for (Dest* d : dests) {
    if (d->addr == addr && d->port == port) return static_cast<RealServer*>(d);
  }
  return nullptr;
}

Service* IpvsTable::find(const ServiceKey& key) {
  for (auto& s : services_) {
    const ServiceKey& k = s->config.key;
    if (key.fwmark != 0 ? k.fwmark == key.fwmark
                        : k.fwmark == 0 && k.protocol == key.protocol && k.addr == key.addr &&
                              k.port == key.port) {
      return s.get();
    }
  }
  return nullptr;
}

const Service* IpvsTable::find(const ServiceKey& key) const {
  return const_cast<IpvsTable*>(this)->find(key);
}

int IpvsTable::add_service(const ServiceConfig& config) {
  if (find(config.key) != nullptr) return EEXIST;
  auto s = std::make_unique<Service>();
  SchedulerConfig sc = sched_config_;
  sc.flags = config.flags;
  s->scheduler = make_scheduler(config.scheduler, sc, s->dests);
  if (s->scheduler == nullptr) return ENOENT;
  if (!config.pe_name.empty() && config.pe_name != "sip") return ENOENT;
  s->config = config;
  s->config.flags |= kSvcHashed;
  services_.push_back(std::move(s));
  return 0;
}

int IpvsTable::edit_service(const ServiceConfig& config) {
  Service* s = find(config.key);
  if (s == nullptr) return ESRCH;
  if (!config.pe_name.empty() && config.pe_name != "sip") return ENOENT;
  uint32_t sched_flags_before = s->config.flags & kSvcSchedFlags;
  if (config.scheduler != s->config.scheduler ||
      (config.flags & kSvcSchedFlags) != sched_flags_before) {
    // ip_vs_edit_service(): a new scheduler starts from the current list (init_service).
    SchedulerConfig sc = sched_config_;
    sc.flags = config.flags;
    auto sched = make_scheduler(config.scheduler, sc, s->dests);
    if (sched == nullptr) return ENOENT;
    s->scheduler = std::move(sched);
  }
  s->config = config;
  s->config.flags |= kSvcHashed;
  return 0;
}

int IpvsTable::del_service(const ServiceKey& key) {
  Service* s = find(key);
  if (s == nullptr) return ESRCH;
  std::erase_if(services_, [&](const auto& p) { return p.get() == s; });
  return 0;
}

void IpvsTable::flush() {
  services_.clear();
}

int IpvsTable::check_dest(const DestConfig& d) {
  // ip_vs_add_dest()/ip_vs_edit_dest(): negative weights and inverted thresholds.
  if (d.weight < 0) return ERANGE;
  if (d.l_threshold > d.u_threshold && d.u_threshold != 0) return ERANGE;
  return 0;
}

void IpvsTable::apply_dest(RealServer& r, const DestConfig& d) {
  r.addr = d.addr;
  r.port = d.port;
  r.method = d.method;
  r.weight = d.weight;
  if (d.weight > 0) r.last_weight = d.weight;
  // __ip_vs_update_dest(): a raised (or removed) upper threshold clears OVERLOAD.
  if (d.u_threshold == 0 || d.u_threshold > r.u_threshold) r.overloaded = false;
  r.u_threshold = d.u_threshold;
  r.l_threshold = d.l_threshold;
  r.tun_type = d.tun_type;
  r.tun_port = d.tun_port;
  r.tun_flags = d.tun_flags;
  r.available = true;
}

int IpvsTable::add_dest(const ServiceKey& key, const DestConfig& dest) {
  Service* s = find(key);
  if (s == nullptr) return ESRCH;
  if (int e = check_dest(dest)) return e;
  if (s->find(dest.addr, dest.port) != nullptr) return EEXIST;
  auto r = std::make_unique<RealServer>();
  r->last_weight = dest.weight;
  apply_dest(*r, dest);
  RealServer* raw = r.get();
  s->owned.push_back(std::move(r));
  s->dests.insert(s->dests.begin(), raw);  // list_add_rcu(): at the head
  s->scheduler->add_dest(s->dests, *raw);
  return 0;
}

int IpvsTable::edit_dest(const ServiceKey& key, const DestConfig& dest) {
  Service* s = find(key);
  if (s == nullptr) return ESRCH;
  if (int e = check_dest(dest)) return e;
  RealServer* r = s->find(dest.addr, dest.port);
  if (r == nullptr) return ENOENT;
  apply_dest(*r, dest);
  s->scheduler->upd_dest(s->dests, *r);
  return 0;
}

int IpvsTable::del_dest(const ServiceKey& key, net::Ipv4Addr addr, uint16_t port) {
  Service* s = find(key);
  if (s == nullptr) return ESRCH;
  RealServer* r = s->find(addr, port);
  if (r == nullptr) return ENOENT;
  auto it = std::find(s->dests.begin(), s->dests.end(), r);
  size_t index = static_cast<size_t>(it - s->dests.begin());
  s->dests.erase(it);
  r->available = false;
  s->scheduler->del_dest(s->dests, *r, index);
  // The kernel keeps an unlinked destination in its trash while connections use it; the
  // connection table (which holds them) takes over that role when it lands.
  std::erase_if(s->owned, [&](const auto& p) { return p.get() == r; });
  return 0;
}

int IpvsTable::zero(const std::optional<ServiceKey>& key) {
  auto clear = [](Service& s) {
    s.stats = {};
    for (Dest* d : s.dests) static_cast<RealServer*>(d)->stats = {};
  };
  if (key) {
    Service* s = find(*key);
    if (s == nullptr) return ESRCH;
    clear(*s);
    return 0;
  }
  for (auto& s : services_) clear(*s);
  return 0;
}

void IpvsTable::set_timeouts(uint32_t tcp_s, uint32_t tcp_fin_s, uint32_t udp_s) {
  if (tcp_s != 0) timeouts_.tcp_s = tcp_s;
  if (tcp_fin_s != 0) timeouts_.tcp_fin_s = tcp_fin_s;
  if (udp_s != 0) timeouts_.udp_s = udp_s;
}

}  // namespace vnet::lb
