// ss (iproute2 6.1) for the node's TCP sockets: -t -a -l -n -o -e? and `state NAME` filters,
// rendered as ss renders to a pipe (render_calc_width() with no screen width: every column as
// wide as its widest entry, the headers included; "Local Address:" and "Peer Address:" right-
// aligned, the others left-aligned, each but the first preceded by its delimiter).
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cmd/command.h"
#include "stack/tcp.h"

namespace vnet::cmd {

namespace {

using stack::TcpState;

struct Column {
  const char* header;
  const char* ldelim;
  bool right;
  bool enabled = true;
};

// A bit per state (ss's SS_* numbering matches the kernel's).
uint32_t bit(TcpState s) {
  return 1u << static_cast<unsigned>(s);
}
constexpr uint32_t kAll = 0xfffu & ~1u;

std::optional<uint32_t> state_mask(const std::string& name) {
  static const std::map<std::string, uint32_t> kStates = {
      {"established", bit(TcpState::Established)},
      {"syn-sent", bit(TcpState::SynSent)},
      {"syn-recv", bit(TcpState::SynRecv)},
      {"fin-wait-1", bit(TcpState::FinWait1)},
      {"fin-wait-2", bit(TcpState::FinWait2)},
      {"time-wait", bit(TcpState::TimeWait)},
      {"closed", bit(TcpState::Close)},
      {"close-wait", bit(TcpState::CloseWait)},
      {"last-ack", bit(TcpState::LastAck)},
      {"listening", bit(TcpState::Listen)},
      {"closing", bit(TcpState::Closing)},
      {"all", kAll},
      {"connected", kAll & ~(bit(TcpState::Listen) | bit(TcpState::Close))},
      {"synchronized",
       kAll & ~(bit(TcpState::Listen) | bit(TcpState::Close) | bit(TcpState::SynSent))},
      {"bucket", bit(TcpState::SynRecv) | bit(TcpState::TimeWait)},
      {"big", kAll & ~(bit(TcpState::SynRecv) | bit(TcpState::TimeWait))},
  };
  auto it = kStates.find(name);
  if (it == kStates.end()) return std::nullopt;
  return it->second;
}

std::string service(uint16_t port, bool numeric) {
  if (port == 0) return "*";
  if (!numeric) {
    // /etc/services names for the well-known ports labs use (ports in the ephemeral range are
    // never resolved).
    static const std::map<uint16_t, const char*> kNames = {
        {21, "ftp"},           {22, "ssh"},       {23, "telnet"}, {25, "smtp"},
        {53, "domain"},        {80, "http"},      {443, "https"}, {2379, "etcd-client"},
        {2380, "etcd-server"}, {8080, "http-alt"}};
    if (auto it = kNames.find(port); it != kNames.end()) return it->second;
  }
  return std::to_string(port);
}

std::string timer_text(uint64_t ms) {
  // print_ms_timer()
  unsigned secs = static_cast<unsigned>(ms / 1000), minutes = secs / 60, msecs = ms % 1000;
  secs %= 60;
  std::string buf;
  if (minutes) {
    msecs = 0;
    buf = fmt::format("{}min", minutes);
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    buf += fmt::format("{}{}", secs, msecs ? "." : "sec");
  }
  if (msecs) buf += fmt::format("{:03}ms", msecs);
  return buf;
}

}  // namespace

CmdOutput run_ss(stack::Node& node, const Args& argv) {
  CmdOutput o;
  bool tcp = false, udp = false, listening = false, all = false, numeric = false, timers = false;
  bool no_header = false, summary = false;
  uint32_t states = 0;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "state" || a == "exclude") {
      if (i + 1 >= argv.size()) {
        o.err = "ss: wrong state name: \n";
        o.status = 255;
        return o;
      }
      auto m = state_mask(argv[++i]);
      if (!m) {
        o.err = fmt::format("ss: wrong state name: {}\n", argv[i]);
        o.status = 255;
        return o;
      }
      states = a == "state" ? states | *m : (states ? states : kAll) & ~*m;
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
      for (char f : a.substr(1)) {
        switch (f) {
          case 't':
            tcp = true;
            break;
          case 'u':
            udp = true;
            break;
          case 'l':
            listening = true;
            break;
          case 'a':
            all = true;
            break;
          case 'n':
            numeric = true;
            break;
          case 'o':
            timers = true;
            break;
          case 'H':
            no_header = true;
            break;
          case 's':
            summary = true;
            break;
          case '4':
          case 'p':
          case 'e':
          case 'i':
          case 'm':
            break;  // accepted; vnet has no per-process or memory details to add
          default:
            o.err = fmt::format("ss: invalid option -- '{}'\n", f);
            o.status = 255;
            return o;
        }
      }
      continue;
    }
    if (a == "--tcp") {
      tcp = true;
    } else if (a == "--listening") {
      listening = true;
    } else if (a == "--all") {
      all = true;
    } else if (a == "--numeric") {
      numeric = true;
    } else if (a == "--options") {
      timers = true;
    } else if (a == "--no-header") {
      no_header = true;
    } else {
      o.err = fmt::format("ss: unrecognized option '{}'\n", a);
      o.status = 255;
      return o;
    }
  }
  auto socks = node.tcp().sockets();
  if (summary) {
    size_t estab = 0, closed = 0, orphaned = 0, timewait = 0;
    for (const auto& s : socks) {
      estab += s.state == TcpState::Established;
      timewait += s.state == TcpState::TimeWait;
      orphaned += s.orphan && s.state != TcpState::TimeWait;
    }
    o.out = fmt::format("Total: {}\nTCP:   {} (estab {}, closed {}, orphaned {}, timewait {})\n",
                        socks.size(), socks.size(), estab, closed, orphaned, timewait);
    return o;
  }
  if (!states) {
    states = listening ? bit(TcpState::Listen)
             : all     ? kAll
                       : kAll & ~(bit(TcpState::Listen) | bit(TcpState::Close) |
                              bit(TcpState::TimeWait) | bit(TcpState::SynRecv));
  }
  bool netid = !tcp || udp;  // more than one protocol: the Netid column shows
  std::vector<Column> cols = {{"Netid", "", false, netid},         {"State", " ", false, true},
                              {"Recv-Q", " ", false, true},        {"Send-Q", " ", false, true},
                              {"Local Address:", " ", true, true}, {"Port", "", false, true},
                              {"Peer Address:", " ", true, true},  {"Port", "", false, true},
                              {"Process", "", false, true},        {"", "", false, true}};
  // A single state filter hides the State column (ss does the same for `state X`).
  bool single_state = std::popcount(states) == 1 && !listening;
  if (single_state) cols[1].enabled = false;
  std::vector<std::vector<std::string>> rows;
  if (!no_header) {
    std::vector<std::string> h;
    h.reserve(cols.size());
    for (const Column& c : cols) h.emplace_back(c.header);
    rows.push_back(h);
  }
  // Listeners first, then connections, each in socket order (the kernel's hash order differs;
  // vnet's is deterministic).
  std::stable_sort(socks.begin(), socks.end(), [](const auto& a, const auto& b) {
    return (a.state == TcpState::Listen) > (b.state == TcpState::Listen);
  });
  uint64_t now = node.now_ns();
  for (const auto& s : socks) {
    if ((states & bit(s.state)) == 0) continue;
    std::string ext;
    if (timers && s.timer_ns != 0) {
      uint64_t left = s.timer_ns > now ? (s.timer_ns - now) / 1'000'000 : 0;
      ext = fmt::format(" timer:({},{},{})", s.timer_name, timer_text(left),
                        s.state == TcpState::TimeWait ? 0 : s.retransmits);
    }
    rows.push_back({"tcp", stack::tcp_state_name(s.state), fmt::format("{:<6}", s.recv_q),
                    fmt::format("{:<6}", s.send_q), s.local.addr.to_string() + ":",
                    service(s.local.port, numeric),
                    s.state == TcpState::Listen ? "0.0.0.0:" : s.remote.addr.to_string() + ":",
                    service(s.state == TcpState::Listen ? 0 : s.remote.port, numeric), "", ext});
  }
  // Widths: the longest entry, plus the delimiter for every column after the first shown.
  std::vector<size_t> width(cols.size(), 0);
  bool first = true;
  for (size_t c = 0; c < cols.size(); ++c) {
    if (!cols[c].enabled) continue;
    size_t max_len = 0;
    for (const auto& r : rows) max_len = std::max(max_len, r[c].size());
    width[c] = !first && max_len ? max_len + std::string(cols[c].ldelim).size() : max_len;
    if (width[c]) first = false;
  }
  for (const auto& r : rows) {
    std::string line;
    bool started = false;
    for (size_t c = 0; c < cols.size(); ++c) {
      if (!cols[c].enabled) continue;
      size_t printed = 0;
      if (started) {
        line += cols[c].ldelim;
        printed = std::string(cols[c].ldelim).size();
      }
      started = true;
      if (width[c] && cols[c].right && width[c] > r[c].size() + printed) {
        size_t pad = width[c] - r[c].size() - printed;
        line += std::string(pad, ' ');
        printed += pad;
      }
      line += r[c];
      printed += r[c].size();
      if (width[c] && !cols[c].right && width[c] > printed) {
        line += std::string(width[c] - printed, ' ');
      }
    }
    o.out += line + "\n";
  }
  return o;
}

}  // namespace vnet::cmd
