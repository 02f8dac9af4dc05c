// The IPVS control-plane state of one node (net/netfilter/ipvs/ip_vs_ctl.c): virtual services
// keyed by protocol, address and port or by firewall mark, each with its scheduler and its
// real servers, and the three timeouts `ipvsadm --set` changes.  Operations validate as the
// kernel does and return its errno (0 on success), which ipvsadm turns into its messages:
// EEXIST "Service already exists", ESRCH "No such service", ENOENT "No such destination" or
// "Scheduler or persistence engine not found", ERANGE for weights and thresholds.
//
// Example: add_service({tcp 192.168.73.120:80, "rr"}), then add_dest() twice with
// ForwardMethod::Tunnel; services() lists them for `ipvsadm -L -n`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "lb/conn_table.h"
#include "lb/dest.h"
#include "lb/scheduler.h"

namespace vnet::lb {

constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoSctp = 132;

// IP_VS_SVC_F_*
enum ServiceFlag : uint32_t {
  kSvcPersistent = 0x0001,
  kSvcHashed = 0x0002,
  kSvcOnePacket = 0x0004,
  kSvcSchedFlags = kSchedFlag1 | kSchedFlag2 | kSchedFlag3,
};

struct ServiceKey {
  uint32_t fwmark = 0;  // nonzero: a firewall-mark service (-f); the rest is then unused
  uint8_t protocol = kProtoTcp;
  net::Ipv4Addr addr;
  uint16_t port = 0;
  bool operator==(const ServiceKey&) const = default;
};

struct Stats {
  uint64_t conns = 0, inpkts = 0, outpkts = 0, inbytes = 0, outbytes = 0;
  // ip_vs_est.c's estimator, run every 2 s: the last counters it saw and the averages, scaled
  // by 2^10 (conns, packets) and 2^5 (bytes).
  uint64_t last[5] = {};
  int64_t avg[5] = {};
  void estimate();
  // ip_vs_read_estimator(): cps, inpps, outpps, inbps, outbps.
  uint64_t rate(int k) const;
};

struct ServiceConfig {
  ServiceKey key;
  std::string scheduler = "wlc";  // ipvsadm's DEF_SCHED
  uint32_t flags = 0;             // ServiceFlag, scheduler flags included
  uint32_t timeout_s = 0;         // persistence timeout (-p)
  uint32_t netmask = 0xffffffff;  // persistence granularity (-M), host order
  std::string pe_name;            // --pe (only "sip" exists in the kernel)
};

enum class TunnelType : uint8_t { Ipip = 0, Gue = 1, Gre = 2 };
enum TunnelFlag : uint8_t { kTunNoCsum = 0, kTunCsum = 1, kTunRemCsum = 2 };

struct DestConfig {
  net::Ipv4Addr addr;
  uint16_t port = 0;
  ForwardMethod method = ForwardMethod::Route;
  int weight = 1;
  uint32_t u_threshold = 0, l_threshold = 0;
  TunnelType tun_type = TunnelType::Ipip;
  uint16_t tun_port = 0;
  uint8_t tun_flags = kTunNoCsum;
};

struct Service;

// A real server: the scheduler's view plus what ipvsadm shows.  Connections hold it by
// shared_ptr, so a deleted server lives on (unavailable, in the table's trash) while they do.
struct RealServer : Dest {
  TunnelType tun_type = TunnelType::Ipip;
  uint16_t tun_port = 0;
  uint8_t tun_flags = kTunNoCsum;
  Stats stats;
  Service* svc = nullptr;      // null once deleted (in the trash)
  ServiceKey svc_key;          // the service it belonged to, for trash lookups
  uint64_t idle_since_ns = 0;  // in the trash: when its last connection went (0: not yet)
  // conn_flags: the forwarding method, NOOUTPUT unless NAT, and INACTIVE.
  uint32_t conn_flags() const;
};

struct Service {
  ServiceConfig config;
  DestList dests;  // kernel order: newest first
  std::vector<std::shared_ptr<RealServer>> owned;
  std::unique_ptr<Scheduler> scheduler;
  Stats stats;
  RealServer* find(net::Ipv4Addr addr, uint16_t port) const;
  std::shared_ptr<RealServer> share(const Dest* d) const;
};

// The net.ipv4.vs.* sysctls (Documentation/networking/ipvs-sysctl.rst), with the defaults of a
// fresh namespace.  Only the ones marked in docs/SUPPORTED.md change behaviour.
struct IpvsSysctls {
  int am_droprate = 10;
  int amemthresh = 1024;
  int backup_only = 0;
  int cache_bypass = 0;
  int conn_reuse_mode = 1;
  int conntrack = 0;
  int drop_entry = 0;
  int drop_packet = 0;
  int expire_nodest_conn = 0;
  int expire_quiescent_template = 0;
  int ignore_tunneled = 0;
  int nat_icmp_send = 0;
  int pmtu_disc = 1;
  int run_estimation = 1;
  int schedule_icmp = 0;
  int secure_tcp = 0;
  int sloppy_sctp = 0;
  int sloppy_tcp = 0;
  int snat_reroute = 1;
  int sync_persist_mode = 0;
  int sync_ports = 1;
  int sync_qlen_max = 15644;
  int sync_refresh_period = 0;
  int sync_retries = 0;
  int sync_sock_size = 0;
  int sync_threshold[2] = {3, 50};
  int sync_version = 1;
  int est_nice = 0;
  std::string est_cpulist = "0-1";
  int lblc_expiration_s = 24 * 3600;
  int lblcr_expiration_s = 24 * 3600;
};

struct Timeouts {
  uint32_t tcp_s = 900, tcp_fin_s = 120, udp_s = 300;  // ipvsadm -L --timeout defaults
};

class IpvsTable {
 public:
  IpvsTable();
  // The number of connection-table buckets /proc and `ipvsadm -L` report (size=4096).
  static constexpr int kConnTabSize = 4096;

  int add_service(const ServiceConfig& config);
  int edit_service(const ServiceConfig& config);
  int del_service(const ServiceKey& key);
  void flush();
  int add_dest(const ServiceKey& key, const DestConfig& dest);
  int edit_dest(const ServiceKey& key, const DestConfig& dest);
  int del_dest(const ServiceKey& key, net::Ipv4Addr addr, uint16_t port);
  // Zero the counters of one service (ESRCH if none) or, with no key, of all.
  int zero(const std::optional<ServiceKey>& key);
  // --set: a zero leaves that timeout unchanged.
  void set_timeouts(uint32_t tcp_s, uint32_t tcp_fin_s, uint32_t udp_s);

  Service* find(const ServiceKey& key);
  const Service* find(const ServiceKey& key) const;
  // In creation order; listings sort them.
  const std::vector<std::unique_ptr<Service>>& services() const { return services_; }
  const Timeouts& timeouts() const { return timeouts_; }
  void set_scheduler_config(SchedulerConfig c) { sched_config_ = std::move(c); }

  // The connection table and the totals /proc/net/ip_vs_stats shows.
  ConnTable& conns() { return conns_; }
  const ConnTable& conns() const { return conns_; }
  Stats& total_stats() { return total_; }
  const Stats& total_stats() const { return total_; }
  // ip_vs_service_find(): a packet's service (fwmark first, then proto/addr/port, then the
  // address's port-0 service); nullptr if none.
  Service* service_for(uint32_t fwmark, uint8_t protocol, net::Ipv4Addr addr, uint16_t port);
  // The hooks are registered while a service exists.
  bool active() const { return !services_.empty(); }

  // Expiring connections, the trash and the schedulers' caches.
  void run_timers(uint64_t now_ns);
  // Runs the rate estimator's 2-second ticks up to now (the packet path calls it before it
  // counts, and listings before they read rates), unless run_estimation is 0.
  void estimate_until(uint64_t now_ns);
  uint64_t next_deadline_ns() const;

  // net.ipv4.vs.* (keys without the prefix, e.g. "expire_nodest_conn"): 0, -ENOENT, -EINVAL.
  IpvsSysctls& sysctls() { return sysctls_; }
  const IpvsSysctls& sysctls() const { return sysctls_; }
  int sysctl_set(const std::string& name, const std::string& value);
  std::optional<std::string> sysctl_get(const std::string& name) const;
  std::vector<std::string> sysctl_names() const;
  // Scheduler modules loaded so far ("ip_vs_rr", ...): lblc_expiration appears with ip_vs_lblc.
  const std::set<std::string>& modules() const { return modules_; }
  void forget_module(const std::string& m) { modules_.erase(m); }

  // /proc/net/ip_vs and /proc/net/ip_vs_stats.
  std::string proc_ip_vs() const;
  std::string proc_ip_vs_stats() const;

 private:
  static int check_dest(const DestConfig& d);
  static void apply_dest(RealServer& r, const DestConfig& d);
  void to_trash(Service& s, std::shared_ptr<RealServer> r);
  std::vector<std::unique_ptr<Service>> services_;
  Timeouts timeouts_;
  SchedulerConfig sched_config_;
  ConnTable conns_;
  Stats total_;
  IpvsSysctls sysctls_;
  std::set<std::string> modules_;
  std::vector<std::shared_ptr<RealServer>> trash_;
  uint64_t next_estimate_ns_ = 0;  // 0: the first call starts the 2 s ticks
};

}  // namespace vnet::lb
