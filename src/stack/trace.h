// Trace records: one per decision a packet meets in a node's packet path (rx, L2, ARP, the
// route lookup with its rule and table, rp_filter, TTL, neighbour, tx, drop).  A sink collects
// them when tracing is on; `vnet trace` prints them hop by hop.
//
// Example: {stage=Route, text="rule 32766 lookup main: 10.0.0.0/8 via 192.0.2.1 dev eth1"}.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stack/drop_reason.h"

namespace vnet::stack {

enum class TraceStage : uint8_t {
  Rx,
  L2,
  Arp,
  IpRcv,
  Route,
  RpFilter,
  Forward,
  LocalDeliver,
  Icmp,
  Output,
  Neighbour,
  Tx,
  Encap,
  Decap,
  Fdb,
  Netfilter,
  Drop,
  Tcp,
  Ipvs,
  Note,
  Vpc,  // vSwitch decisions: ARP proxy, route_table, subnet_route, neigh_table, port security
};

const char* trace_stage_name(TraceStage stage);

struct TraceRecord {
  uint64_t time_ns = 0;
  TraceStage stage = TraceStage::Rx;
  std::string text;
  std::optional<DropReason> drop;  // set on Drop records
};

// One record as `vnet trace` prints it: "  <seconds>  <stage>  <text>\n".
std::string format_trace_record(const TraceRecord& record);

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void record(const TraceRecord& record) = 0;
};

}  // namespace vnet::stack
