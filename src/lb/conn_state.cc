#include "lb/conn_state.h"

#include <array>

namespace vnet::lb {

namespace {

using S = TcpConnState;
[[maybe_unused]] constexpr S sNO = S::None, sES = S::Established, sSS = S::SynSent,
                             sSR = S::SynRecv, sFW = S::FinWait, sTW = S::TimeWait, sCL = S::Close,
                             sCW = S::CloseWait, sLA = S::LastAck, sLI = S::Listen, sSA = S::SynAck;

using Row = std::array<S, 11>;  // indexed by the current state

// tcp_states[]: INPUT, OUTPUT and INPUT-ONLY blocks of syn, fin, ack, rst rows.
constexpr std::array<Row, 12> kStates = {{
    // INPUT: sNO  sES  sSS  sSR  sFW  sTW  sCL  sCW  sLA  sLI  sSA
    {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},  // syn
    {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sTW},  // fin
    {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},  // ack
    {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sSR},  // rst
    // OUTPUT
    {sSS, sES, sSS, sSR, sSS, sSS, sSS, sSS, sSS, sLI, sSR},
    {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
    {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
    {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    // INPUT-ONLY
    {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSR},
    {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
    {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
    {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
}};

// tcp_states_dos[] (secure_tcp).
constexpr std::array<Row, 12> kStatesDos = {{
    {sSR, sES, sES, sSR, sSR, sSR, sSR, sSR, sSR, sSR, sSA},
    {sCL, sCW, sSS, sTW, sTW, sTW, sCL, sCW, sLA, sLI, sSA},
    {sES, sES, sSS, sSR, sFW, sTW, sCL, sCW, sCL, sLI, sSA},
    {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
    {sSS, sES, sSS, sSA, sSS, sSS, sSS, sSS, sSS, sLI, sSA},
    {sTW, sFW, sSS, sTW, sFW, sTW, sCL, sTW, sLA, sLI, sTW},
    {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sLA, sES, sES},
    {sCL, sCL, sSS, sCL, sCL, sTW, sCL, sCL, sCL, sCL, sCL},
    {sSA, sES, sES, sSR, sSA, sSA, sSA, sSA, sSA, sSA, sSA},
    {sCL, sFW, sSS, sTW, sFW, sTW, sCL, sCW, sLA, sLI, sTW},
    {sES, sES, sSS, sES, sFW, sTW, sCL, sCW, sCL, sLI, sES},
    {sCL, sCL, sCL, sSR, sCL, sCL, sCL, sCL, sLA, sLI, sCL},
}};

}  // namespace

TcpConnState next_tcp_state(TcpConnState current, ConnDirection dir, TcpFlagsSeen flags,
                            bool secure_tcp) {
  int idx = flags.rst ? 3 : flags.syn ? 0 : flags.fin ? 1 : flags.ack ? 2 : -1;
  if (idx < 0) return S::Close;
  size_t off = dir == ConnDirection::Input ? 0 : dir == ConnDirection::Output ? 4 : 8;
  const auto& table = secure_tcp ? kStatesDos : kStates;
  return table[off + static_cast<size_t>(idx)][static_cast<size_t>(current)];
}

bool tcp_state_active(TcpConnState s) {
  return s == S::Established || s == S::SynSent || s == S::SynRecv || s == S::SynAck;
}

std::string_view tcp_state_name(TcpConnState s) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "NONE",  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT", "TIME_WAIT",
      "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "SYNACK"};
  return kNames[static_cast<size_t>(s)];
}

uint32_t tcp_state_timeout_s(TcpConnState s, uint32_t established_s, uint32_t fin_wait_s) {
  switch (s) {
    case S::None:
      return 2;
    case S::Established:
      return established_s;
    case S::SynSent:
      return 2 * 60;
    case S::SynRecv:
      return 60;
    case S::FinWait:
      return fin_wait_s;
    case S::TimeWait:
      return 2 * 60;
    case S::Close:
      return 10;
    case S::CloseWait:
      return 60;
    case S::LastAck:
      return 30;
    case S::Listen:
      return 2 * 60;
    case S::SynAck:
      return 120;
  }
  return 2;
}

}  // namespace vnet::lb
