// Prometheus text exposition (metrics.h).
#include "cmd/metrics.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "cmd/names.h"
#include "ctrl/agent.h"
#include "lb/ipvs_table.h"
#include "nf/netfilter.h"
#include "vpc/vswitch.h"

namespace vnet::cmd {

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integral counters print as integers (exact up to 2^53).
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    return fmt::format("{}", static_cast<int64_t>(v));
  }
  return fmt::format("{}", v);
}

}  // namespace

void PrometheusText::add(const std::string& family, const char* type, const char* help,
                         const Labels& labels, double value) {
  Family* f = nullptr;
  for (Family& existing : families_) {
    if (existing.name == family) f = &existing;
  }
  if (f == nullptr) {
    families_.push_back(Family{family, type, help, {}});
    f = &families_.back();
  }
  std::string sample = family;
  if (!labels.empty()) {
    sample += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) sample += ',';
      sample += labels[i].first + "=\"" + escape_label(labels[i].second) + '"';
    }
    sample += '}';
  }
  sample += ' ' + format_value(value);
  f->samples.push_back(std::move(sample));
}

std::string PrometheusText::text() const {
  std::string out;
  for (const Family& f : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const std::string& s : f.samples) out += s + '\n';
  }
  return out;
}

void node_metrics(const stack::Node& node, const MetricsExtra& extra, PrometheusText& out) {
  using Labels = PrometheusText::Labels;
  const std::string& n = extra.node;
  auto node_only = Labels{{"node", n}};
  for (const auto& [ix, d] : node.devices()) {
    Labels l{{"node", n}, {"interface", d.name}};
    out.add("vnet_interface_rx_packets_total", "counter", "Packets received on the interface.", l,
            static_cast<double>(d.rx_packets));
    out.add("vnet_interface_rx_bytes_total", "counter", "Bytes received on the interface.", l,
            static_cast<double>(d.rx_bytes));
    out.add("vnet_interface_rx_dropped_total", "counter",
            "Received packets dropped (the interface's rx_dropped).", l,
            static_cast<double>(d.rx_dropped));
    out.add("vnet_interface_tx_packets_total", "counter", "Packets sent on the interface.", l,
            static_cast<double>(d.tx_packets));
    out.add("vnet_interface_tx_bytes_total", "counter", "Bytes sent on the interface.", l,
            static_cast<double>(d.tx_bytes));
    out.add("vnet_interface_tx_dropped_total", "counter",
            "Packets dropped on transmit (the interface's tx_dropped).", l,
            static_cast<double>(d.tx_dropped));
    out.add("vnet_interface_up", "gauge", "1 when the interface is up and has carrier.", l,
            d.carrier_ok() ? 1 : 0);
  }
  const stack::DropCounters& drops = node.drops();
  for (size_t i = 0; i < drops.count.size(); ++i) {
    out.add("vnet_drops_total", "counter", "Packets dropped, by reason (vnet's drop reason names).",
            {{"node", n}, {"reason", stack::drop_reason_name(static_cast<stack::DropReason>(i))}},
            static_cast<double>(drops.count[i]));
  }
  for (const fib::Table* t : node.fib().tables_in_dump_order()) {
    size_t routes = 0;
    t->for_each([&](const fib::Route&) { ++routes; });
    out.add("vnet_routes", "gauge", "Routes in each routing table.",
            {{"node", n}, {"table", table_name(node, t->id())}}, static_cast<double>(routes));
  }
  out.add("vnet_reassembly_bytes", "gauge",
          "Bytes of fragments waiting for reassembly (at most ipfrag_high_thresh, 4 MiB).",
          node_only, static_cast<double>(node.reassembly_bytes()));
  out.add("vnet_rules", "gauge", "Policy routing rules.", node_only,
          static_cast<double>(node.fib().rules().size()));
  std::map<std::string, size_t> by_state;
  for (const stack::Neighbour& nb : node.neighbours()) ++by_state[neigh_state_name(nb.state)];
  if (by_state.empty()) by_state["REACHABLE"] = 0;
  for (const auto& [state, count] : by_state) {
    out.add("vnet_neighbours", "gauge", "Neighbour (ARP) entries, by state.",
            {{"node", n}, {"state", state}}, static_cast<double>(count));
  }
  if (const nf::Netfilter* nf = node.netfilter_if_loaded()) {
    out.add("vnet_conntrack_entries", "gauge",
            "Conntrack entries allocated (nf_conntrack_count, unconfirmed included).", node_only,
            static_cast<double>(nf->table().allocated()));
    out.add("vnet_conntrack_max", "gauge", "nf_conntrack_max (0: unlimited).", node_only,
            nf->config().max);
  }
  if (const lb::IpvsTable* ipvs = node.ipvs_if_loaded()) {
    out.add("vnet_ipvs_services", "gauge", "IPVS virtual services.", node_only,
            static_cast<double>(ipvs->services().size()));
    out.add("vnet_ipvs_connections", "gauge", "IPVS connection entries.", node_only,
            static_cast<double>(ipvs->conns().size()));
  }
  if (const vpc::VSwitch* vs = node.vswitch_if_loaded()) {
    size_t subnet_routes = 0;
    for (const auto& [id, vpc] : vs->vpcs()) subnet_routes += vpc.subnet_routes.size();
    out.add("vnet_vpc_route_table_entries", "gauge", "VPC route_table entries (VM IP to host).",
            node_only, static_cast<double>(vs->routes().size()));
    out.add("vnet_vpc_neigh_table_entries", "gauge", "VPC neigh_table entries (VM IP to MAC).",
            node_only, static_cast<double>(vs->neighs().size()));
    out.add("vnet_vpc_subnet_routes", "gauge", "VPC subnet_route entries (peering).", node_only,
            static_cast<double>(subnet_routes));
    out.add("vnet_vpc_ports", "gauge", "VM ports on this host's vSwitch.", node_only,
            static_cast<double>(vs->ports().size()));
  }
  const stack::Node::FastPathStats& fp = node.fast_path_stats();
  out.add("vnet_fast_path_packets_total", "counter",
          "Packets the fast path forwarded itself (fast) or handed to the per-packet path.",
          {{"node", n}, {"path", "fast"}}, static_cast<double>(fp.fast));
  out.add("vnet_fast_path_packets_total", "counter",
          "Packets the fast path forwarded itself (fast) or handed to the per-packet path.",
          {{"node", n}, {"path", "fallback"}}, static_cast<double>(fp.fallback));
  const stack::Node::OffloadStats& os = node.offload_stats();
  out.add("vnet_offload_frames_total", "counter",
          "GSO or partial-checksum frames forwarded whole, or cut before the stack took them.",
          {{"node", n}, {"outcome", "whole"}}, static_cast<double>(os.whole));
  out.add("vnet_offload_frames_total", "counter",
          "GSO or partial-checksum frames forwarded whole, or cut before the stack took them.",
          {{"node", n}, {"outcome", "cut"}}, static_cast<double>(os.cut));
  out.add("vnet_trace_enabled", "gauge", "1 while packets are being traced.", node_only,
          extra.tracing ? 1 : 0);
  out.add("vnet_trace_records", "gauge", "Trace records kept.", node_only,
          static_cast<double>(extra.trace_records));
  if (extra.agent != nullptr) {
    ctrl::AgentStatus s = extra.agent->status();
    out.add("vnet_agent_revision", "gauge", "The store revision applied up to.", node_only,
            static_cast<double>(s.revision));
    out.add("vnet_agent_store_revision", "gauge", "The newest revision the store reported.",
            node_only, static_cast<double>(s.store_revision));
    out.add("vnet_agent_lag", "gauge", "Revisions the agent is behind the store.", node_only,
            static_cast<double>(s.lag()));
    out.add("vnet_agent_connected", "gauge", "1 while the agent is connected to its store.",
            node_only, s.connected ? 1 : 0);
    out.add("vnet_agent_changes_total", "counter", "Changes the agent handed to the node.",
            node_only, static_cast<double>(s.changes));
    out.add("vnet_agent_resyncs_total", "counter", "Full reads of the agent's prefixes.", node_only,
            static_cast<double>(s.resyncs));
  }
}

}  // namespace vnet::cmd
