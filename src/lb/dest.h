// A real server of an IPVS virtual service, as the schedulers see it (struct ip_vs_dest):
// address, weight, thresholds, the OVERLOAD flag and the connection counters the kernel keeps.
//
// A service keeps its destinations in the kernel's list order: __ip_vs_update_dest() adds a
// new one with list_add_rcu() at the head, so the newest comes first, and that is the order
// schedulers walk (rr's first choice is the last server added).
#pragma once

#include <cstdint>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::lb {

enum class ForwardMethod : uint8_t {
  Masquerade,  // -m: NAT
  Local,       // a real server that is this node (ipvsadm prints "Local")
  Tunnel,      // -i: IPIP (or GUE/GRE with --tun-type)
  Route,       // -g: direct routing (the default)
};

struct Dest {
  net::Ipv4Addr addr;
  uint16_t port = 0;
  ForwardMethod method = ForwardMethod::Route;
  int weight = 1;
  // The last weight above zero: Maglev keeps a quiesced server's table slots (last_weight).
  int last_weight = 1;
  uint32_t u_threshold = 0;  // -x: 0 is no limit
  uint32_t l_threshold = 0;  // -y
  bool overloaded = false;   // IP_VS_DEST_F_OVERLOAD
  bool available = true;     // IP_VS_DEST_F_AVAILABLE: in a service, not in the trash
  int activeconns = 0;
  int inactconns = 0;
  int persistconns = 0;

  // ip_vs_dest_conn_overhead(): active connections weigh 256 times an inactive one.
  int64_t conn_overhead() const { return (static_cast<int64_t>(activeconns) << 8) + inactconns; }
  int64_t total_conns() const { return static_cast<int64_t>(activeconns) + inactconns; }
};

// Destinations in kernel list order (newest first).
using DestList = std::vector<Dest*>;

}  // namespace vnet::lb
