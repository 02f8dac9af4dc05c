// IPVS's per-connection TCP states, walked through the connections the seed labs make, with
// each step read off tcp_states[] in ip_vs_proto_tcp.c.
#include <gtest/gtest.h>

#include "lb/conn_state.h"

namespace vnet::lb {
namespace {

TcpFlagsSeen flags(const char* f) {
  TcpFlagsSeen t;
  for (const char* p = f; *p != 0; ++p) {
    t.syn |= *p == 'S';
    t.fin |= *p == 'F';
    t.ack |= *p == 'A';
    t.rst |= *p == 'R';
  }
  return t;
}

TEST(ConnStateTest, TunnelDirectorSeesOnlyTheClient) {
  // LVS-TUN: replies go straight to the client, so every step is INPUT-ONLY.
  auto in = ConnDirection::InputOnly;
  TcpConnState s = TcpConnState::None;
  s = next_tcp_state(s, in, flags("S"));
  EXPECT_EQ(tcp_state_name(s), "SYN_RECV");
  s = next_tcp_state(s, in, flags("A"));
  EXPECT_EQ(tcp_state_name(s), "ESTABLISHED");
  s = next_tcp_state(s, in, flags("FA"));  // fin wins over ack
  EXPECT_EQ(tcp_state_name(s), "FIN_WAIT");
  s = next_tcp_state(s, in, flags("A"));
  EXPECT_EQ(tcp_state_name(s), "FIN_WAIT");
  EXPECT_EQ(tcp_state_timeout_s(s), 120U);
  // A RST from the client closes it; CLOSE lasts 10 s.
  s = next_tcp_state(TcpConnState::Established, in, flags("RA"));
  EXPECT_EQ(tcp_state_name(s), "CLOSE");
  EXPECT_EQ(tcp_state_timeout_s(s), 10U);
}

TEST(ConnStateTest, NatDirectorSeesBothSides) {
  TcpConnState s = TcpConnState::None;
  s = next_tcp_state(s, ConnDirection::Input, flags("S"));
  EXPECT_EQ(s, TcpConnState::SynRecv);
  s = next_tcp_state(s, ConnDirection::Output, flags("SA"));
  EXPECT_EQ(s, TcpConnState::SynRecv);
  s = next_tcp_state(s, ConnDirection::Input, flags("A"));
  EXPECT_EQ(s, TcpConnState::Established);
  EXPECT_EQ(tcp_state_timeout_s(s), 900U);
  EXPECT_EQ(tcp_state_timeout_s(s, 60), 60U);  // ipvsadm --set 60 ...
  // The server closes first: its FIN takes ESTABLISHED to FIN_WAIT, the client's FIN to
  // TIME_WAIT, the last ACK keeps it.
  s = next_tcp_state(s, ConnDirection::Output, flags("FA"));
  EXPECT_EQ(s, TcpConnState::FinWait);
  s = next_tcp_state(s, ConnDirection::Input, flags("FA"));
  EXPECT_EQ(s, TcpConnState::TimeWait);
  s = next_tcp_state(s, ConnDirection::Output, flags("A"));
  EXPECT_EQ(tcp_state_name(s), "TIME_WAIT");
  // A bare segment (no flag IPVS looks at) goes to CLOSE.
  EXPECT_EQ(next_tcp_state(TcpConnState::Established, ConnDirection::Input, {}),
            TcpConnState::Close);
  // An ACK on a fresh entry (sloppy_tcp scheduled it) is taken as ESTABLISHED (sNO + ack ->
  // sES in every input row of ip_vs_proto_tcp.c's tables).
  EXPECT_EQ(next_tcp_state(TcpConnState::None, ConnDirection::Input, flags("A")),
            TcpConnState::Established);
  EXPECT_EQ(next_tcp_state(TcpConnState::None, ConnDirection::InputOnly, flags("A"), true),
            TcpConnState::Established);
}

TEST(ConnStateTest, SecureTcpHoldsASynFloodInSynAck) {
  // tcp_states_dos: an input-only SYN starts in SYNACK, and an ACK alone does not establish
  // a connection the real server never answered through the director.
  TcpConnState s = next_tcp_state(TcpConnState::None, ConnDirection::InputOnly, flags("S"), true);
  EXPECT_EQ(tcp_state_name(s), "SYNACK");
  s = next_tcp_state(s, ConnDirection::Input, flags("A"), true);
  EXPECT_EQ(tcp_state_name(s), "SYNACK");
  EXPECT_EQ(tcp_state_timeout_s(s), 120U);
}

}  // namespace
}  // namespace vnet::lb
