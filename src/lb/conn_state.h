// The TCP state machine IPVS keeps per connection (ip_vs_proto_tcp.c): not the endpoints'
// TCP, but what the director infers from the flags it sees in each direction.  A connection
// forwarded by tunnel or direct routing sees only the client's side (IP_VS_CONN_F_NOOUTPUT:
// the "input-only" table) until a reply passes the director; NAT sees both ("output").
// secure_tcp (the sysctl) switches to the stricter tcp_states_dos table.
//
// Each state has a timeout (the kernel's tcp_timeouts[]: ESTABLISHED 15 min, FIN_WAIT 2 min,
// CLOSE 10 s ...); `ipvsadm --set` changes ESTABLISHED and FIN_WAIT.  A connection counts as
// active on its real server in ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK (tcp_state_active()).
//
// Example: client SYN (input-only) -> SYN_RECV, ACK -> ESTABLISHED, FIN -> FIN_WAIT.
#pragma once

#include <cstdint>
#include <string_view>

namespace vnet::lb {

enum class TcpConnState : uint8_t {
  None,
  Established,
  SynSent,
  SynRecv,
  FinWait,
  TimeWait,
  Close,
  CloseWait,
  LastAck,
  Listen,
  SynAck,
};

enum class ConnDirection : uint8_t {
  Input,      // client to real server
  Output,     // real server to client, through the director (NAT)
  InputOnly,  // client to real server while no reply was seen (DR, TUN)
};

struct TcpFlagsSeen {
  bool syn = false, fin = false, ack = false, rst = false;
};

// set_tcp_state()'s lookup: tcp_state_idx() picks rst, then syn, fin, ack; none of them
// (a bare segment) leaves CLOSE.
TcpConnState next_tcp_state(TcpConnState current, ConnDirection dir, TcpFlagsSeen flags,
                            bool secure_tcp = false);

// tcp_state_active_table[]: the states counted in ActiveConn.
bool tcp_state_active(TcpConnState s);

// "ESTABLISHED", "SYN_RECV" ... as /proc/net/ip_vs_conn and ipvsadm -L -c print them.
std::string_view tcp_state_name(TcpConnState s);

// tcp_timeouts[] in seconds, with ipvsadm --set's two overrides.
uint32_t tcp_state_timeout_s(TcpConnState s, uint32_t established_s = 15 * 60,
                             uint32_t fin_wait_s = 2 * 60);

}  // namespace vnet::lb
