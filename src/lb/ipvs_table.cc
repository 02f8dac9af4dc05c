#include "lb/ipvs_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace vnet::lb {

namespace {

constexpr uint64_t kSecond = 1'000'000'000;
// IP_VS_DEST_TRASH_PERIOD: a deleted server with no connections left is freed after 120 s.
constexpr uint64_t kTrashPeriodNs = 120 * kSecond;
// The tick /proc/net/ip_vs counts persistence timeouts in (Debian's CONFIG_HZ=250).
constexpr uint32_t kHz = 250;

const char* fwd_proc_name(ForwardMethod m) {
  switch (m) {
    case ForwardMethod::Local:
      return "Local";
    case ForwardMethod::Tunnel:
      return "Tunnel";
    case ForwardMethod::Route:
      return "Route";
    case ForwardMethod::Masquerade:
      break;
  }
  return "Masq";
}

const char* proto_proc_name(uint8_t p) {
  return p == kProtoUdp ? "UDP" : p == kProtoSctp ? "SCTP" : "TCP";
}

}  // namespace

void Stats::estimate() {
  // ip_vs_chain_estimation(): rates per 2 s tick, averaged with weight 1/4.
  const uint64_t now[5] = {conns, inpkts, outpkts, inbytes, outbytes};
  for (int k = 0; k < 5; ++k) {
    int64_t rate = static_cast<int64_t>((now[k] - last[k]) << (k < 3 ? 9 : 4));
    last[k] = now[k];
    avg[k] += (rate - avg[k]) >> 2;
  }
}

uint64_t Stats::rate(int k) const {
  int64_t v = k < 3 ? (avg[k] + 0x1FF) >> 10 : (avg[k] + 0xF) >> 5;
  return v > 0 ? static_cast<uint64_t>(v) : 0;
}

uint32_t RealServer::conn_flags() const {
  uint32_t f = kConnInactive;
  switch (method) {
    case ForwardMethod::Masquerade:
      f |= kConnMasq;
      break;
    case ForwardMethod::Local:
      f |= kConnLocalNode | kConnNoOutput;
      break;
    case ForwardMethod::Tunnel:
      f |= kConnTunnel | kConnNoOutput;
      break;
    case ForwardMethod::Route:
      f |= kConnDroute | kConnNoOutput;
      break;
  }
  return f;
}

std::shared_ptr<RealServer> Service::share(const Dest* d) const {
  for (const auto& p : owned) {
    if (p.get() == d) return p;
  }
  return nullptr;
}

IpvsTable::IpvsTable() = default;

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
  modules_.insert("ip_vs_" + config.scheduler);
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
    modules_.insert("ip_vs_" + config.scheduler);
  }
  s->config = config;
  s->config.flags |= kSvcHashed;
  return 0;
}

void IpvsTable::to_trash(Service& s, std::shared_ptr<RealServer> r) {
  // __ip_vs_del_dest(): unlinked, no longer available, kept while connections use it.
  r->available = false;
  r->svc = nullptr;
  r->idle_since_ns = 0;
  std::erase(s.owned, r);
  trash_.push_back(std::move(r));
}

int IpvsTable::del_service(const ServiceKey& key) {
  Service* s = find(key);
  if (s == nullptr) return ESRCH;
  for (const auto& r : std::vector<std::shared_ptr<RealServer>>(s->owned)) to_trash(*s, r);
  std::erase_if(services_, [&](const auto& p) { return p.get() == s; });
  if (sysctls_.expire_nodest_conn) conns_.expire_unavailable();
  return 0;
}

void IpvsTable::flush() {
  while (!services_.empty()) del_service(services_.front()->config.key);
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
  // ip_vs_trash_get_dest(): a server deleted from this service comes back with its counters.
  std::shared_ptr<RealServer> r;
  for (auto it = trash_.begin(); it != trash_.end(); ++it) {
    if ((*it)->addr == dest.addr && (*it)->port == dest.port && (*it)->svc_key == key) {
      r = *it;
      trash_.erase(it);
      break;
    }
  }
  if (!r) {
    r = std::make_shared<RealServer>();
    r->last_weight = dest.weight;
  }
  apply_dest(*r, dest);
  r->svc = s;
  r->svc_key = s->config.key;
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
  to_trash(*s, s->share(r));
  if (sysctls_.expire_nodest_conn) conns_.expire_unavailable();
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
  conns_.timeouts() = {timeouts_.tcp_s, timeouts_.tcp_fin_s, timeouts_.udp_s};
}

Service* IpvsTable::service_for(uint32_t fwmark, uint8_t protocol, net::Ipv4Addr addr,
                                uint16_t port) {
  if (fwmark != 0) {
    ServiceKey k;
    k.fwmark = fwmark;
    if (Service* s = find(k)) return s;
  }
  ServiceKey k{0, protocol, addr, port};
  if (Service* s = find(k)) return s;
  // An FTP service also takes its data connections (port 20 or unprivileged ports).
  if (protocol == kProtoTcp && (port == 20 || port >= 1024)) {
    k.port = 21;
    if (Service* s = find(k)) return s;
  }
  k.port = 0;
  return find(k);
}

void IpvsTable::run_timers(uint64_t now_ns) {
  estimate_until(now_ns);
  conns_.run_timers(now_ns);
  for (auto& s : services_) s->scheduler->run_timers(now_ns);
  // ip_vs_dest_trash_expire(): free servers no connection holds any more.
  std::erase_if(trash_, [&](std::shared_ptr<RealServer>& r) {
    if (r.use_count() > 1) {
      r->idle_since_ns = 0;
      return false;
    }
    if (r->idle_since_ns == 0) {
      r->idle_since_ns = std::max<uint64_t>(now_ns, 1);
      return false;
    }
    return now_ns >= r->idle_since_ns + kTrashPeriodNs;
  });
}

void IpvsTable::estimate_until(uint64_t now_ns) {
  constexpr uint64_t kTick = 2 * kSecond;
  if (next_estimate_ns_ == 0) next_estimate_ns_ = now_ns + kTick;
  if (now_ns < next_estimate_ns_) return;
  // Ticks that found no traffic only decay the averages; after 64 of them nothing is left.
  uint64_t ticks = (now_ns - next_estimate_ns_) / kTick + 1;
  next_estimate_ns_ += ticks * kTick;
  if (!sysctls_.run_estimation) return;
  for (uint64_t t = 0; t < std::min<uint64_t>(ticks, 64); ++t) {
    total_.estimate();
    for (auto& s : services_) {
      s->stats.estimate();
      for (auto& r : s->owned) r->stats.estimate();
    }
  }
}

uint64_t IpvsTable::next_deadline_ns() const {
  return conns_.next_deadline_ns();
}

namespace {

struct IntSysctl {
  const char* name;
  int IpvsSysctls::*field;
  int min, max;
};

constexpr IntSysctl kIntSysctls[] = {
    {"am_droprate", &IpvsSysctls::am_droprate, INT32_MIN, INT32_MAX},
    {"amemthresh", &IpvsSysctls::amemthresh, INT32_MIN, INT32_MAX},
    {"backup_only", &IpvsSysctls::backup_only, INT32_MIN, INT32_MAX},
    {"cache_bypass", &IpvsSysctls::cache_bypass, INT32_MIN, INT32_MAX},
    {"conn_reuse_mode", &IpvsSysctls::conn_reuse_mode, INT32_MIN, INT32_MAX},
    {"conntrack", &IpvsSysctls::conntrack, INT32_MIN, INT32_MAX},
    {"drop_entry", &IpvsSysctls::drop_entry, INT32_MIN, INT32_MAX},
    {"drop_packet", &IpvsSysctls::drop_packet, INT32_MIN, INT32_MAX},
    {"est_nice", &IpvsSysctls::est_nice, -20, 19},
    {"expire_nodest_conn", &IpvsSysctls::expire_nodest_conn, INT32_MIN, INT32_MAX},
    {"expire_quiescent_template", &IpvsSysctls::expire_quiescent_template, INT32_MIN, INT32_MAX},
    {"ignore_tunneled", &IpvsSysctls::ignore_tunneled, INT32_MIN, INT32_MAX},
    {"nat_icmp_send", &IpvsSysctls::nat_icmp_send, INT32_MIN, INT32_MAX},
    {"pmtu_disc", &IpvsSysctls::pmtu_disc, INT32_MIN, INT32_MAX},
    {"run_estimation", &IpvsSysctls::run_estimation, INT32_MIN, INT32_MAX},
    {"schedule_icmp", &IpvsSysctls::schedule_icmp, INT32_MIN, INT32_MAX},
    {"secure_tcp", &IpvsSysctls::secure_tcp, INT32_MIN, INT32_MAX},
    {"sloppy_sctp", &IpvsSysctls::sloppy_sctp, INT32_MIN, INT32_MAX},
    {"sloppy_tcp", &IpvsSysctls::sloppy_tcp, INT32_MIN, INT32_MAX},
    {"snat_reroute", &IpvsSysctls::snat_reroute, INT32_MIN, INT32_MAX},
    {"sync_persist_mode", &IpvsSysctls::sync_persist_mode, 0, 1},
    {"sync_ports", &IpvsSysctls::sync_ports, 1, INT32_MAX},
    {"sync_qlen_max", &IpvsSysctls::sync_qlen_max, 0, INT32_MAX},
    {"sync_refresh_period", &IpvsSysctls::sync_refresh_period, 0, INT32_MAX},
    {"sync_retries", &IpvsSysctls::sync_retries, 0, 3},
    {"sync_sock_size", &IpvsSysctls::sync_sock_size, 0, INT32_MAX},
    {"sync_version", &IpvsSysctls::sync_version, 0, 1},
};

const IntSysctl* find_int(const std::string& name) {
  for (const IntSysctl& s : kIntSysctls) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::optional<int> parse_int(std::string_view v) {
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || v.empty()) return std::nullopt;
  return out;
}

}  // namespace

int IpvsTable::sysctl_set(const std::string& name, const std::string& value) {
  if (const IntSysctl* s = find_int(name)) {
    auto v = parse_int(value);
    if (!v || *v < s->min || *v > s->max) return -EINVAL;
    sysctls_.*(s->field) = *v;
    return 0;
  }
  if (name == "sync_threshold") {
    // proc_do_sync_threshold(): proc_dointvec() over a copy of the pair (one value sets the
    // threshold only), then threshold < period unless the period is 0.
    int pair[2] = {sysctls_.sync_threshold[0], sysctls_.sync_threshold[1]};
    size_t pos = 0;
    for (int k = 0; k < 2; ++k) {
      pos = value.find_first_not_of(" \t\n", pos);
      if (pos == std::string::npos) {
        if (k == 0) return -EINVAL;
        break;
      }
      size_t end = value.find_first_of(" \t\n", pos);
      auto v = parse_int(value.substr(pos, end == std::string::npos ? end : end - pos));
      if (!v) return -EINVAL;
      pair[k] = *v;
      pos = end == std::string::npos ? value.size() : end;
    }
    if (pair[0] < 0 || pair[1] < 0 || (pair[1] != 0 && pair[0] >= pair[1])) return -EINVAL;
    sysctls_.sync_threshold[0] = pair[0];
    sysctls_.sync_threshold[1] = pair[1];
    return 0;
  }
  if (name == "est_cpulist") {
    std::string v = value;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    sysctls_.est_cpulist = v;
    return 0;
  }
  if ((name == "lblc_expiration" && modules_.count("ip_vs_lblc")) ||
      (name == "lblcr_expiration" && modules_.count("ip_vs_lblcr"))) {
    auto v = parse_int(value);
    if (!v) return -EINVAL;
    (name == "lblc_expiration" ? sysctls_.lblc_expiration_s : sysctls_.lblcr_expiration_s) = *v;
    sched_config_.lblc_expiration_ns = uint64_t(std::max(sysctls_.lblc_expiration_s, 0)) * kSecond;
    sched_config_.lblcr_expiration_ns =
        uint64_t(std::max(sysctls_.lblcr_expiration_s, 0)) * kSecond;
    return 0;
  }
  return -ENOENT;
}

std::optional<std::string> IpvsTable::sysctl_get(const std::string& name) const {
  if (const IntSysctl* s = find_int(name)) return std::to_string(sysctls_.*(s->field));
  if (name == "sync_threshold") {
    return fmt::format("{}\t{}", sysctls_.sync_threshold[0], sysctls_.sync_threshold[1]);
  }
  if (name == "est_cpulist") return sysctls_.est_cpulist;
  if (name == "lblc_expiration" && modules_.count("ip_vs_lblc")) {
    return std::to_string(sysctls_.lblc_expiration_s);
  }
  if (name == "lblcr_expiration" && modules_.count("ip_vs_lblcr")) {
    return std::to_string(sysctls_.lblcr_expiration_s);
  }
  return std::nullopt;
}

std::vector<std::string> IpvsTable::sysctl_names() const {
  std::vector<std::string> names;
  for (const IntSysctl& s : kIntSysctls) names.emplace_back(s.name);
  names.emplace_back("sync_threshold");
  names.emplace_back("est_cpulist");
  if (modules_.count("ip_vs_lblc")) names.emplace_back("lblc_expiration");
  if (modules_.count("ip_vs_lblcr")) names.emplace_back("lblcr_expiration");
  std::sort(names.begin(), names.end());
  return names;
}

std::string IpvsTable::proc_ip_vs() const {
  // ip_vs_info_seq_show(); services in creation order (the kernel's hash order depends on a
  // kernel pointer).
  std::string out = fmt::format(
      "IP Virtual Server version 1.2.1 (size={})\n"
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n",
      kConnTabSize);
  auto emit = [&](const Service& s) {
    const ServiceConfig& c = s.config;
    const char* ops = (c.flags & kSvcOnePacket) ? "ops " : "";
    if (c.key.fwmark == 0) {
      out += fmt::format("{}  {:08X}:{:04X} {} {} ", proto_proc_name(c.key.protocol),
                         c.key.addr.value(), c.key.port, c.scheduler, ops);
    } else {
      out += fmt::format("FWM  {:08X} {} {}", c.key.fwmark, c.scheduler, ops);
    }
    if (c.flags & kSvcPersistent) {
      out += fmt::format("persistent {} {:08X}\n", c.timeout_s * kHz, c.netmask);
    } else {
      out += "\n";
    }
    for (const Dest* d : s.dests) {
      out +=
          fmt::format("  -> {:08X}:{:04X}      {:<7} {:<6} {:<10} {:<10}\n", d->addr.value(),
                      d->port, fwd_proc_name(d->method), d->weight, d->activeconns, d->inactconns);
    }
  };
  for (const auto& s : services_) {
    if (s->config.key.fwmark == 0) emit(*s);
  }
  for (const auto& s : services_) {
    if (s->config.key.fwmark != 0) emit(*s);
  }
  return out;
}

std::string IpvsTable::proc_ip_vs_stats() const {
  const Stats& t = total_;
  return fmt::format(
      "   Total Incoming Outgoing         Incoming         Outgoing\n"
      "   Conns  Packets  Packets            Bytes            Bytes\n"
      "{:8X} {:8X} {:8X} {:16X} {:16X}\n\n"
      " Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n"
      "{:8X} {:8X} {:8X} {:16X} {:16X}\n",
      t.conns, t.inpkts, t.outpkts, t.inbytes, t.outbytes, t.rate(0), t.rate(1), t.rate(2),
      t.rate(3), t.rate(4));
}

}  // namespace vnet::lb
