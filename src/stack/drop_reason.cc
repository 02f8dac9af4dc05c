#include "stack/drop_reason.h"

#include <fmt/format.h>

#include "stack/trace.h"

namespace vnet::stack {

const char* drop_reason_name(DropReason reason) {
  switch (reason) {
    case DropReason::DevReady:
      return "DEV_READY";
    case DropReason::OtherHost:
      return "OTHERHOST";
    case DropReason::PktTooSmall:
      return "PKT_TOO_SMALL";
    case DropReason::UnhandledProto:
      return "UNHANDLED_PROTO";
    case DropReason::ArpInvalid:
      return "ARP_INVALID";
    case DropReason::IpInhdr:
      return "IP_INHDR";
    case DropReason::IpCsum:
      return "IP_CSUM";
    case DropReason::IpInvalidSource:
      return "IP_INVALID_SOURCE";
    case DropReason::IpInvalidDest:
      return "IP_INVALID_DEST";
    case DropReason::IpRpfilter:
      return "IP_RPFILTER";
    case DropReason::IpInaddrErrors:
      return "IP_INADDRERRORS";
    case DropReason::IpInnoroutes:
      return "IP_INNOROUTES";
    case DropReason::IpOutnoroutes:
      return "IP_OUTNOROUTES";
    case DropReason::Blackhole:
      return "BLACKHOLE";
    case DropReason::Unreachable:
      return "UNREACHABLE";
    case DropReason::TtlExpired:
      return "TTL_EXPIRED";
    case DropReason::PktTooBig:
      return "PKT_TOO_BIG";
    case DropReason::FragFailed:
      return "FRAG_FAILED";
    case DropReason::FragReasmTimeout:
      return "FRAG_REASM_TIMEOUT";
    case DropReason::NeighFailed:
      return "NEIGH_FAILED";
    case DropReason::NeighQueueFull:
      return "NEIGH_QUEUEFULL";
    case DropReason::NoSocket:
      return "NO_SOCKET";
    case DropReason::IcmpCsum:
      return "ICMP_CSUM";
    case DropReason::IcmpEchoIgnored:
      return "ICMP_ECHO_IGNORED";
    case DropReason::UdpCsum:
      return "UDP_CSUM";
    case DropReason::IpNoproto:
      return "IP_NOPROTO";
    case DropReason::NotForwarded:
      return "NOT_FORWARDED";
    case DropReason::TunnelNoMatch:
      return "TUNNEL_NO_MATCH";
    case DropReason::TunnelKeyMismatch:
      return "TUNNEL_KEY_MISMATCH";
    case DropReason::TunnelCsum:
      return "TUNNEL_CSUM";
    case DropReason::TunnelSeq:
      return "TUNNEL_SEQ";
    case DropReason::TunnelInvalidHdr:
      return "TUNNEL_INVALID_HDR";
    case DropReason::TunnelNoRoute:
      return "TUNNEL_NOROUTE";
    case DropReason::TunnelDeadLoop:
      return "TUNNEL_DEADLOOP";
    case DropReason::IpvsNoDest:
      return "IPVS_NO_DEST";
    case DropReason::IpvsDestUnavailable:
      return "IPVS_DEST_UNAVAILABLE";
    case DropReason::IpvsXmit:
      return "IPVS_XMIT";
    case DropReason::IpvsDrop:
      return "IPVS_DROP";
    case DropReason::VpcPortSecurity:
      return "VPC_PORT_SECURITY";
    case DropReason::VpcFlood:
      return "VPC_FLOOD";
    case DropReason::VpcNoRoute:
      return "VPC_NO_ROUTE";
    case DropReason::VpcPeering:
      return "VPC_PEERING";
    case DropReason::VpcUnknownKey:
      return "VPC_UNKNOWN_KEY";
    case DropReason::VpcUnknownVm:
      return "VPC_UNKNOWN_VM";
    case DropReason::VpcMigrated:
      return "VPC_MIGRATED";
    case DropReason::VpcSrcDenied:
      return "VPC_SRC_DENIED";
    case DropReason::VpcEncap:
      return "VPC_ENCAP";
    case DropReason::NeighCreateFail:
      return "NEIGH_CREATEFAIL";
    case DropReason::OffloadInvalid:
      return "OFFLOAD_INVALID";
    case DropReason::VxlanInvalidHdr:
      return "VXLAN_INVALID_HDR";
    case DropReason::VxlanVniNotFound:
      return "VXLAN_VNI_NOT_FOUND";
    case DropReason::VxlanNoRemote:
      return "VXLAN_NO_REMOTE";
    case DropReason::NetfilterDrop:
      return "NETFILTER_DROP";
    case DropReason::TcpCsum:
      return "TCP_CSUM";
    case DropReason::TcpListenOverflow:
      return "TCP_LISTEN_OVERFLOW";
    case DropReason::TcpInvalidSequence:
      return "TCP_INVALID_SEQUENCE";
    case DropReason::TcpFlags:
      return "TCP_FLAGS";
    case DropReason::TcpOldData:
      return "TCP_OLD_DATA";
    case DropReason::TcpClose:
      return "TCP_CLOSE";
    case DropReason::kCount:
      break;
  }
  return "UNKNOWN";
}

const char* trace_stage_name(TraceStage stage) {
  switch (stage) {
    case TraceStage::Rx:
      return "rx";
    case TraceStage::L2:
      return "l2";
    case TraceStage::Arp:
      return "arp";
    case TraceStage::IpRcv:
      return "ip_rcv";
    case TraceStage::Route:
      return "route";
    case TraceStage::RpFilter:
      return "rp_filter";
    case TraceStage::Forward:
      return "forward";
    case TraceStage::LocalDeliver:
      return "local";
    case TraceStage::Icmp:
      return "icmp";
    case TraceStage::Output:
      return "output";
    case TraceStage::Neighbour:
      return "neigh";
    case TraceStage::Tx:
      return "tx";
    case TraceStage::Encap:
      return "encap";
    case TraceStage::Decap:
      return "decap";
    case TraceStage::Fdb:
      return "fdb";
    case TraceStage::Netfilter:
      return "netfilter";
    case TraceStage::Drop:
      return "drop";
    case TraceStage::Tcp:
      return "tcp";
    case TraceStage::Ipvs:
      return "ipvs";
    case TraceStage::Note:
      return "note";
    case TraceStage::Vpc:
      return "vpc";
  }
  return "?";
}

std::string format_trace_record(const TraceRecord& r) {
  return fmt::format("  {:>12.6f}  {:<9} {}\n", static_cast<double>(r.time_ns) / 1e9,
                     trace_stage_name(r.stage), r.text);
}

}  // namespace vnet::stack
