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
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

// A real server: the scheduler's view plus what ipvsadm shows.
struct RealServer : Dest {
  TunnelType tun_type = TunnelType::Ipip;
  uint16_t tun_port = 0;
  uint8_t tun_flags = kTunNoCsum;
  Stats stats;
};

struct Service {
  ServiceConfig config;
  DestList dests;  // kernel order: newest first
  std::deque<std::unique_ptr<RealServer>> owned;
  std::unique_ptr<Scheduler> scheduler;
  Stats stats;
  RealServer* find(net::Ipv4Addr addr, uint16_t port) const;
};

struct Timeouts {
  uint32_t tcp_s = 900, tcp_fin_s = 120, udp_s = 300;  // ipvsadm -L --timeout defaults
};

class IpvsTable {
 public:
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

 private:
  static int check_dest(const DestConfig& d);
  static void apply_dest(RealServer& r, const DestConfig& d);
  std::vector<std::unique_ptr<Service>> services_;
  Timeouts timeouts_;
  SchedulerConfig sched_config_;
};

}  // namespace vnet::lb
