// A node's counters and table sizes in Prometheus's text exposition format (version 0.0.4), as
// vnetd serves them on `--metrics ADDR:PORT` (GET /metrics), on its control socket (`vnet -n
// NODE stats --prometheus`) and as `vnet lab stats FILE --prometheus` prints them for simulated
// nodes.  Every sample carries a `node` label.
//
//   vnet_interface_{rx,tx}_{packets,bytes,dropped}_total{interface}   counters, per device
//   vnet_interface_up{interface}                  1 when up with carrier
//   vnet_drops_total{reason}                      one counter per drop reason, zeros included
//   vnet_routes{table}, vnet_rules, vnet_neighbours{state}           table sizes
//   vnet_conntrack_entries, vnet_conntrack_max    with netfilter loaded
//   vnet_ipvs_services, vnet_ipvs_connections     with IPVS loaded
//   vnet_vpc_{route_table,neigh_table,subnet_routes,ports}           with a vSwitch
//   vnet_fast_path_packets_total{path}, vnet_offload_frames_total{outcome}
//   vnet_trace_enabled, vnet_trace_records        whoever drives the node says (MetricsExtra)
//   vnet_agent_{revision,store_revision,lag,connected,changes_total,resyncs_total}   with an agent
// plus what the driver adds (vnetd: its AF_PACKET ports' counters).
//
// Example:
//   # HELP vnet_drops_total Packets dropped, by reason (vnet's drop reason names).
//   # TYPE vnet_drops_total counter
//   vnet_drops_total{node="lab-r",reason="IP_INNOROUTES"} 3
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "stack/node.h"

namespace vnet::ctrl {
class Agent;
}

namespace vnet::cmd {

// Builds the exposition text: families in the order first added, each with its HELP and TYPE
// lines before its samples; label values escaped (backslash, double quote, newline).
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // type: "counter" or "gauge".
  void add(const std::string& family, const char* type, const char* help, const Labels& labels,
           double value);
  std::string text() const;

 private:
  struct Family {
    std::string name, type, help;
    std::vector<std::string> samples;
  };
  std::vector<Family> families_;
};

struct MetricsExtra {
  std::string node;  // the `node` label
  bool tracing = false;
  uint64_t trace_records = 0;
  const ctrl::Agent* agent = nullptr;
};

// The node's families (see above) into `out`.
void node_metrics(const stack::Node& node, const MetricsExtra& extra, PrometheusText& out);

}  // namespace vnet::cmd
