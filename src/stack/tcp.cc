#include "stack/tcp.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/node.h"
#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

namespace vnet::stack {

namespace {

using net::Ipv4Addr;

// include/net/tcp.h
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kRtoMinUs = 200'000;                        // TCP_RTO_MIN
constexpr uint64_t kRtoMaxUs = 120'000'000;                    // TCP_RTO_MAX
constexpr uint64_t kTimeoutInitUs = 1'000'000;                 // TCP_TIMEOUT_INIT
constexpr uint64_t kTimeWaitNs = 60'000 * kMs;                 // TCP_TIMEWAIT_LEN
constexpr uint64_t kDelackMinNs = 40 * kMs;                    // TCP_DELACK_MIN
[[maybe_unused]] constexpr uint64_t kDelackMaxNs = 200 * kMs;  // TCP_DELACK_MAX (not used yet)
constexpr uint32_t kInitCwnd = 10;                             // TCP_INIT_CWND
constexpr int kMaxQuickAcks = 16;                              // TCP_MAX_QUICKACKS
constexpr size_t kMaxSackBlocks = 4;

// Sequence-space comparisons (before()/after()).
bool before(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}
bool after(uint32_t a, uint32_t b) {
  return before(b, a);
}

std::string flags_text(uint8_t f) {
  // tcpdump's letters: S F R P . (ACK) U E W.
  std::string s;
  if (f & wire::kTcpSyn) s += 'S';
  if (f & wire::kTcpFin) s += 'F';
  if (f & wire::kTcpRst) s += 'R';
  if (f & wire::kTcpPsh) s += 'P';
  if (f & wire::kTcpUrg) s += 'U';
  if (f & wire::kTcpEce) s += 'E';
  if (f & wire::kTcpCwr) s += 'W';
  if (f & wire::kTcpAck) s += '.';
  return s.empty() ? "none" : s;
}

std::string endpoint_text(Ipv4Addr a, uint16_t p) {
  return fmt::format("{}:{}", a.to_string(), p);
}

}  // namespace

const char* tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::Established:
      return "ESTAB";
    case TcpState::SynSent:
      return "SYN-SENT";
    case TcpState::SynRecv:
      return "SYN-RECV";
    case TcpState::FinWait1:
      return "FIN-WAIT-1";
    case TcpState::FinWait2:
      return "FIN-WAIT-2";
    case TcpState::TimeWait:
      return "TIME-WAIT";
    case TcpState::Close:
      return "UNCONN";
    case TcpState::CloseWait:
      return "CLOSE-WAIT";
    case TcpState::LastAck:
      return "LAST-ACK";
    case TcpState::Listen:
      return "LISTEN";
    case TcpState::Closing:
      return "CLOSING";
  }
  return "UNKNOWN";
}

// A byte FIFO: appends at the back, consumes from the front without moving the rest each time
// (a socket buffer is consumed a segment at a time while megabytes wait behind it).
class ByteQueue {
 public:
  void append(const char* p, size_t n) { buf_.append(p, n); }
  void append(const std::string& s, size_t pos, size_t n) { buf_.append(s, pos, n); }
  size_t size() const { return buf_.size() - head_; }
  bool empty() const { return size() == 0; }
  const char* data() const { return buf_.data() + head_; }
  void clear() {
    buf_.clear();
    head_ = 0;
  }
  // Only the front can be erased (pos is always 0).
  void erase(size_t /*pos*/, size_t n) {
    head_ += std::min(n, size());
    if (head_ == buf_.size()) {
      clear();
    } else if (head_ >= 65536 && head_ * 2 >= buf_.size()) {
      buf_.erase(0, head_);
      head_ = 0;
    }
  }
  std::string substr(size_t pos, size_t n) const {
    return buf_.substr(head_ + pos, std::min(n, size() - pos));
  }

 private:
  std::string buf_;
  size_t head_ = 0;
};

// A parsed incoming segment (tcp_parse_options()).
struct Tcp::Segment {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  bool sack_permitted = false;
  bool has_ts = false;
  uint32_t ts_val = 0, ts_ecr = 0;
  std::vector<std::pair<uint32_t, uint32_t>> sacks;
  std::span<const std::byte> payload;
  bool syn() const { return (flags & wire::kTcpSyn) != 0; }
  bool fin() const { return (flags & wire::kTcpFin) != 0; }
  bool rst() const { return (flags & wire::kTcpRst) != 0; }
  bool has_ack() const { return (flags & wire::kTcpAck) != 0; }
  // Sequence space the segment occupies: data plus SYN and FIN.
  uint32_t len() const {
    return static_cast<uint32_t>(payload.size()) + (syn() ? 1 : 0) + (fin() ? 1 : 0);
  }
  uint32_t end_seq() const { return seq + len(); }
};

// One socket: a listener, or one side of a connection.
struct Tcp::Conn {
  int id = 0;
  TcpState state = TcpState::Close;
  Ipv4Addr laddr, raddr;
  uint16_t lport = 0, rport = 0;
  int bound_ifindex = 0;
  TcpHandler handler;
  bool orphan = false;  // closed by the application
  bool hashed = false;  // in established_
  int error = 0;

  // Listener.
  int backlog = 0;
  std::deque<int> accept_queue;
  int syn_queue = 0;
  int parent = 0;  // for a child not yet accepted

  // Send side.
  uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0;
  uint32_t snd_wnd = 0, snd_wl1 = 0, snd_wl2 = 0, max_window = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool ws_ok = false, ts_ok = false, sack_ok = false;
  uint32_t peer_mss = 536;  // the MSS option the peer sent (536 without one)
  uint32_t advmss = 1460;   // what we announce
  uint32_t pmtu = 1500;
  ByteQueue sndbuf;  // unacknowledged and unsent data, from snd_una (SYN excluded)
  size_t sndbuf_limit = 4 << 20;
  bool fin_queued = false;  // the application shut down its side
  bool fin_sent = false;
  bool nodelay = false;
  // Segment send times for RTT samples (Karn: none for retransmitted data).
  std::deque<std::tuple<uint32_t, uint64_t, bool>> sent;  // (end_seq, time, retransmitted)
  uint64_t last_send_ns = 0;

  // Receive side.
  uint32_t irs = 0, rcv_nxt = 0, rcv_wup = 0, rcv_wnd = 0;
  uint32_t rcv_ssthresh = 0, window_clamp = 0, max_clamp = 0;
  // Receive-buffer autotuning (tcp_rcv_space_adjust()): bytes the application read since
  // rcvq_time, and the most read in one RTT.
  uint64_t rcvq_copied = 0, rcvq_space = 0, rcvq_time = 0;
  ByteQueue rcvbuf;
  std::map<uint32_t, std::string> ofo;  // out-of-order segments by sequence number
  size_t ofo_bytes = 0;
  bool fin_received = false;
  uint32_t ts_recent = 0;
  uint32_t ts_offset = 0;
  int quick = 0;         // quick ACKs left
  bool ato_set = false;  // first data seen (icsk_ack.ato)
  bool ack_pending = false;
  uint32_t unacked_bytes = 0;  // received since our last ACK

  // RTT and retransmission (tcp_rtt_estimator, in microseconds; srtt << 3, mdev << 2).
  uint64_t srtt = 0, mdev = 0, mdev_max = 0, rttvar = 0;
  uint32_t rtt_seq = 0;
  uint64_t rto_us = kTimeoutInitUs;
  int retransmits = 0;  // consecutive timeouts (icsk_retransmits)
  int backoff = 0;
  int probes = 0;  // zero-window probes

  // Congestion control: Reno (RFC 5681) with NewReno recovery (RFC 6582), in packets.
  uint32_t cwnd = kInitCwnd, ssthresh = 0x7fffffff, cwnd_cnt = 0;
  int dupacks = 0;
  bool in_recovery = false;
  // SACK scoreboard (RFC 6675): ranges above snd_una the peer holds, sorted and merged, and in
  // recovery the point up to which holes have been retransmitted.
  std::vector<std::pair<uint32_t, uint32_t>> sacked;
  uint32_t rtx_high = 0;
  uint32_t recover = 0;
  bool in_loss = false;  // after an RTO, until snd_una passes recover

  // Timers: 0 retransmit/persist/SYN-ACK, 1 delayed ACK, 2 TIME_WAIT / FIN_WAIT2.
  uint64_t timers[3] = {0, 0, 0};
  bool persist = false;
  uint64_t queued_at = 0;  // the entry in timer_queue_, 0 if none

  // ss counters.
  uint64_t bytes_acked = 0, bytes_received = 0, segs_out = 0, segs_in = 0, retrans_total = 0;
};

Tcp::Tcp(Node& node) : node_(node) {}
Tcp::~Tcp() = default;

// ---------------------------------------------------------------- table

Tcp::Conn* Tcp::find(int sock) {
  auto it = conns_.find(sock);
  return it == conns_.end() ? nullptr : it->second.get();
}
const Tcp::Conn* Tcp::find(int sock) const {
  auto it = conns_.find(sock);
  return it == conns_.end() ? nullptr : it->second.get();
}

Tcp::Conn* Tcp::lookup(Ipv4Addr saddr, uint16_t sport, Ipv4Addr daddr, uint16_t dport) {
  auto it = established_.find({daddr.value(), dport, saddr.value(), sport});
  return it == established_.end() ? nullptr : find(it->second);
}

Tcp::Conn* Tcp::lookup_listener(Ipv4Addr daddr, uint16_t dport) {
  // A listener bound to the address wins over one bound to 0.0.0.0 (compute_score()).
  auto it = listeners_.find({daddr.value(), dport});
  if (it == listeners_.end()) it = listeners_.find({0, dport});
  return it == listeners_.end() ? nullptr : find(it->second);
}

Tcp::Conn& Tcp::create(TcpState state) {
  auto c = std::make_unique<Conn>();
  c->id = next_id_++;
  c->state = state;
  Conn& ref = *c;
  conns_.emplace(ref.id, std::move(c));
  return ref;
}

void Tcp::destroy(Conn& c) {
  if (c.hashed) established_.erase({c.laddr.value(), c.lport, c.raddr.value(), c.rport});
  if (c.state == TcpState::Listen) {
    listeners_.erase({c.laddr.value(), c.lport});
    // Children nobody accepted are reset (inet_csk_listen_stop()).
    std::vector<int> children;
    for (const auto& [id, other] : conns_) {
      if (other->parent == c.id) children.push_back(id);
    }
    for (int id : children) {
      if (Conn* child = find(id)) {
        child->parent = 0;
        reset_conn(*child, ECONNRESET);
      }
    }
  }
  if (c.parent != 0) {
    if (Conn* p = find(c.parent)) {
      std::erase(p->accept_queue, c.id);
      if (c.state == TcpState::SynRecv) --p->syn_queue;
    }
  }
  if (c.queued_at != 0) timer_queue_.erase({c.queued_at, c.id});
  conns_.erase(c.id);
}

bool Tcp::port_in_use(Ipv4Addr laddr, uint16_t lport) const {
  for (const auto& [id, c] : conns_) {
    if (c->lport != lport) continue;
    if (c->state == TcpState::Close) continue;
    if (c->laddr == laddr || c->laddr.is_unspecified() || laddr.is_unspecified()) return true;
  }
  return false;
}

uint16_t Tcp::ephemeral_port(Ipv4Addr laddr, Ipv4Addr raddr, uint16_t rport) {
  // __inet_hash_connect(): start at a pseudo-random offset and step by 2, so connect() gets
  // even ports (bind() the odd ones); a port is free for this destination if no connection
  // uses the same four-tuple.
  std::vector<long> range = node_.sysctls().vector("net.ipv4.ip_local_port_range");
  long low = range.size() == 2 ? range[0] : 32768, high = range.size() == 2 ? range[1] : 60999;
  long span = high - low + 1;
  long offset = static_cast<long>(node_.random_u64() % static_cast<uint64_t>(span));
  offset &= ~1L;
  for (int pass = 0; pass < 2; ++pass) {
    for (long i = 0; i < span; i += 2) {
      long port = low + (offset + i + pass) % span;
      uint16_t p = static_cast<uint16_t>(port);
      if (established_.contains({laddr.value(), p, raddr.value(), rport})) continue;
      if (listeners_.contains({laddr.value(), p}) || listeners_.contains({0, p})) continue;
      return p;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- application calls

int Tcp::listen(TcpEndpoint local, int backlog, TcpHandler handler) {
  if (!local.addr.is_unspecified() && !node_.is_local_address(local.addr) &&
      node_.sysctls().global("ip_nonlocal_bind") == 0) {
    return -EADDRNOTAVAIL;
  }
  if (local.port == 0) return -EINVAL;
  for (const auto& [key, id] : listeners_) {
    if (key.second != local.port) continue;
    if (key.first == local.addr.value() || key.first == 0 || local.addr.is_unspecified()) {
      return -EADDRINUSE;
    }
  }
  Conn& c = create(TcpState::Listen);
  c.laddr = local.addr;
  c.lport = local.port;
  c.handler = std::move(handler);
  // __sys_listen(): the backlog is capped by net.core.somaxconn.
  c.backlog = std::min(std::max(backlog, 0), node_.sysctls().core("somaxconn"));
  listeners_[{local.addr.value(), local.port}] = c.id;
  return c.id;
}

int Tcp::connect(TcpEndpoint remote, TcpEndpoint local, int bind_ifindex, TcpHandler handler) {
  if (remote.port == 0) return -ECONNREFUSED;
  RouteQuery q;
  q.dst = remote.addr;
  q.src = local.addr;
  q.oif = bind_ifindex;
  RouteAnswer route;
  int err = node_.route_get(q, &route);
  if (err != 0) return err;
  if (route.broadcast || route.multicast) return -ENETUNREACH;
  Ipv4Addr src = local.addr.is_unspecified() ? route.prefsrc : local.addr;
  if (local.port != 0) {
    if (established_.contains({src.value(), local.port, remote.addr.value(), remote.port}) ||
        listeners_.contains({src.value(), local.port}) || listeners_.contains({0, local.port})) {
      return -EADDRINUSE;
    }
  }
  uint16_t port = local.port != 0 ? local.port : ephemeral_port(src, remote.addr, remote.port);
  if (port == 0) return -EADDRNOTAVAIL;
  Conn& c = create(TcpState::SynSent);
  c.laddr = src;
  c.lport = port;
  c.raddr = remote.addr;
  c.rport = remote.port;
  c.bound_ifindex = bind_ifindex;
  c.handler = std::move(handler);
  established_[{src.value(), port, remote.addr.value(), remote.port}] = c.id;
  c.hashed = true;
  const Device* out = node_.device(route.oif);
  uint32_t mtu = out ? static_cast<uint32_t>(out->mtu) : 1500;
  if (route.mtu != 0) mtu = std::min(mtu, route.mtu);
  c.pmtu = mtu;
  // dst_metric_advmss(): MTU - 40, at most 65535 - 40.
  c.advmss = std::min<uint32_t>(mtu - 40, 65495);
  const Sysctls& s = node_.sysctls();
  c.ts_ok = s.global("tcp_timestamps") != 0;
  c.sack_ok = s.global("tcp_sack") != 0;
  c.ws_ok = s.global("tcp_window_scaling") != 0;
  c.iss = static_cast<uint32_t>(node_.random_u64());
  c.ts_offset = static_cast<uint32_t>(node_.random_u64());
  c.snd_una = c.iss;
  c.snd_nxt = c.iss;
  c.snd_max = c.iss;
  std::vector<long> rmem = s.vector("net.ipv4.tcp_rmem");
  std::vector<long> wmem = s.vector("net.ipv4.tcp_wmem");
  if (wmem.size() == 3) c.sndbuf_limit = static_cast<size_t>(wmem[2]);
  // tcp_select_initial_window(): the receive buffer's window (half of tcp_rmem[1] at the
  // default scaling ratio), rounded down to the MSS, at most 65535; the scale from tcp_rmem[2].
  long space = rmem.size() == 3 ? rmem[1] / 2 : 65536;
  long max_space = rmem.size() == 3 ? std::max<long>(rmem[2], s.core("rmem_max")) : 6291456;
  // tcp_init_buffer_space(): the clamp starts at the full space of tcp_rmem[1] and grows with
  // receive-buffer autotuning (see recv()) up to half of tcp_rmem[2].
  c.window_clamp = static_cast<uint32_t>(space);
  c.max_clamp = static_cast<uint32_t>(max_space / 2);
  c.rcv_wnd = static_cast<uint32_t>(std::min<long>(space - space % c.advmss, 65535));
  c.rcv_ssthresh = c.rcv_wnd;
  c.rcv_wscale = 0;
  if (c.ws_ok) {
    long sp = max_space;
    while (sp > 65535 && c.rcv_wscale < 14) {
      sp >>= 1;
      ++c.rcv_wscale;
    }
  }
  ++counters_.active_opens;
  send_syn(c, false);
  c.snd_nxt = c.iss + 1;
  c.snd_max = c.snd_nxt;
  c.rto_us = kTimeoutInitUs;
  set_timer(c, 0, node_.now_ns() + c.rto_us * 1000);
  flush();
  return c.id;
}

int Tcp::accept(int listener, TcpHandler handler) {
  Conn* l = find(listener);
  if (l == nullptr || l->state != TcpState::Listen) return -EINVAL;
  if (l->accept_queue.empty()) return -EAGAIN;
  int id = l->accept_queue.front();
  l->accept_queue.pop_front();
  Conn* c = find(id);
  if (c == nullptr) return -EAGAIN;
  c->parent = 0;
  c->handler = std::move(handler);
  // Whatever happened before the application took it is reported now.
  if (!c->rcvbuf.empty() || c->fin_received) events_.emplace_back(c->id, TcpEvent::Readable);
  if (c->error != 0) events_.emplace_back(c->id, TcpEvent::Error);
  flush();
  return id;
}

long Tcp::send(int sock, std::string_view text) {
  return send(sock, std::span<const std::byte>(reinterpret_cast<const std::byte*>(text.data()),
                                               text.size()));
}

long Tcp::send(int sock, std::span<const std::byte> data) {
  Conn* c = find(sock);
  if (c == nullptr) return -EBADF;
  if (c->error != 0) return -c->error;
  if (c->fin_queued) return -EPIPE;
  switch (c->state) {
    case TcpState::Established:
    case TcpState::CloseWait:
    case TcpState::SynSent:
    case TcpState::SynRecv:
      break;
    default:
      return -EPIPE;
  }
  size_t room = c->sndbuf.size() >= c->sndbuf_limit ? 0 : c->sndbuf_limit - c->sndbuf.size();
  size_t n = std::min(room, data.size());
  if (n == 0) return -EAGAIN;
  c->sndbuf.append(reinterpret_cast<const char*>(data.data()), n);
  if (c->state == TcpState::Established || c->state == TcpState::CloseWait) output(*c);
  flush();
  return static_cast<long>(n);
}

std::string Tcp::recv(int sock, size_t max) {
  Conn* c = find(sock);
  if (c == nullptr) return {};
  size_t n = std::min(max, c->rcvbuf.size());
  std::string out = c->rcvbuf.substr(0, n);
  c->rcvbuf.erase(0, n);
  // tcp_rcv_space_adjust(): once per RTT, a reader that took more than before gets a window
  // clamp of twice that plus 16 segments (dynamic right-sizing), up to half of tcp_rmem[2].
  c->rcvq_copied += n;
  uint64_t rtt_ns = c->srtt ? (c->srtt >> 3) * 1000 : 100 * kMs;
  if (c->rcvq_time == 0) c->rcvq_time = node_.now_ns();
  if (node_.now_ns() - c->rcvq_time >= rtt_ns) {
    if (c->rcvq_copied > c->rcvq_space) {
      c->rcvq_space = c->rcvq_copied;
      uint64_t want = 2 * c->rcvq_copied + 16 * static_cast<uint64_t>(c->advmss);
      if (want > c->window_clamp) {
        c->window_clamp = static_cast<uint32_t>(std::min<uint64_t>(want, c->max_clamp));
      }
    }
    c->rcvq_copied = 0;
    c->rcvq_time = node_.now_ns();
  }
  // tcp_cleanup_rbuf(): a window update when reading opened the window a lot.
  if (n > 0 && (c->state == TcpState::Established || c->state == TcpState::FinWait1 ||
                c->state == TcpState::FinWait2)) {
    uint32_t cur = c->rcv_wup + c->rcv_wnd - c->rcv_nxt;
    uint32_t mss = effective_mss(*c);
    size_t free_space = c->window_clamp > c->rcvbuf.size() + c->ofo_bytes
                            ? c->window_clamp - c->rcvbuf.size() - c->ofo_bytes
                            : 0;
    size_t possible = std::min<size_t>(free_space, c->rcv_ssthresh);
    if (possible >= size_t{2} * cur && possible >= size_t{2} * mss) {
      send_ack(*c);
      flush();
    }
  }
  return out;
}

size_t Tcp::readable_bytes(int sock) const {
  const Conn* c = find(sock);
  return c ? c->rcvbuf.size() : 0;
}

bool Tcp::peer_closed(int sock) const {
  const Conn* c = find(sock);
  return c == nullptr || (c->fin_received && c->rcvbuf.empty());
}

void Tcp::shutdown(int sock) {
  Conn* c = find(sock);
  if (c == nullptr || c->fin_queued) return;
  switch (c->state) {
    case TcpState::Established:
      c->fin_queued = true;
      c->state = TcpState::FinWait1;
      break;
    case TcpState::CloseWait:
      c->fin_queued = true;
      c->state = TcpState::LastAck;
      break;
    case TcpState::SynRecv:
      c->fin_queued = true;
      c->state = TcpState::FinWait1;
      break;
    case TcpState::SynSent:
      done(*c, 0);
      flush();
      return;
    default:
      return;
  }
  output(*c);
  flush();
}

void Tcp::close(int sock) {
  Conn* c = find(sock);
  if (c == nullptr) return;
  c->handler = nullptr;
  c->orphan = true;
  if (c->state == TcpState::Listen || c->state == TcpState::Close ||
      c->state == TcpState::SynSent) {
    destroy(*c);
    flush();
    return;
  }
  if (!c->rcvbuf.empty()) {
    // tcp_close(): unread data means the peer must know it was lost: RST.
    abort(sock);
    return;
  }
  shutdown(sock);
  c = find(sock);
  if (c == nullptr) return;
  if (c->state == TcpState::FinWait2) {
    // tcp_fin_timeout for an orphan.
    set_timer(*c, 2,
              node_.now_ns() +
                  static_cast<uint64_t>(node_.sysctls().global("tcp_fin_timeout")) * 1000 * kMs);
  }
  flush();
}

void Tcp::abort(int sock) {
  Conn* c = find(sock);
  if (c == nullptr) return;
  switch (c->state) {
    case TcpState::Established:
    case TcpState::CloseWait:
    case TcpState::FinWait1:
    case TcpState::FinWait2:
    case TcpState::SynRecv:
    case TcpState::Closing:
    case TcpState::LastAck:
      send_segment(*c, c->snd_nxt, wire::kTcpRst | wire::kTcpAck, {}, false);
      ++counters_.out_rsts;
      ++counters_.estab_resets;
      break;
    default:
      break;
  }
  c->handler = nullptr;
  destroy(*c);
  flush();
}

void Tcp::set_nodelay(int sock, bool on) {
  if (Conn* c = find(sock)) c->nodelay = on;
}

void Tcp::set_handler(int sock, TcpHandler handler) {
  if (Conn* c = find(sock)) c->handler = std::move(handler);
}

TcpState Tcp::state(int sock) const {
  const Conn* c = find(sock);
  return c ? c->state : TcpState::Close;
}
int Tcp::error(int sock) const {
  const Conn* c = find(sock);
  return c ? c->error : 0;
}
TcpEndpoint Tcp::local(int sock) const {
  const Conn* c = find(sock);
  return c ? TcpEndpoint{c->laddr, c->lport} : TcpEndpoint{};
}
TcpEndpoint Tcp::remote(int sock) const {
  const Conn* c = find(sock);
  return c ? TcpEndpoint{c->raddr, c->rport} : TcpEndpoint{};
}
bool Tcp::exists(int sock) const {
  return find(sock) != nullptr;
}

std::vector<TcpSocketInfo> Tcp::sockets() const {
  std::vector<TcpSocketInfo> out;
  for (const auto& [id, cp] : conns_) {
    const Conn& c = *cp;
    if (c.state == TcpState::Close) continue;
    TcpSocketInfo i;
    i.id = id;
    i.state = c.state;
    i.local = {c.laddr, c.lport};
    i.remote = {c.raddr, c.rport};
    if (c.state == TcpState::Listen) {
      i.recv_q = c.accept_queue.size();
      i.send_q = static_cast<size_t>(c.backlog);
    } else {
      i.recv_q = c.rcvbuf.size();
      i.send_q = c.snd_nxt - c.snd_una +
                 (c.sndbuf.size() - std::min<size_t>(c.sndbuf.size(), c.snd_nxt - c.snd_una));
      if (c.state == TcpState::SynSent || c.state == TcpState::SynRecv) i.send_q = 0;
    }
    uint64_t t = 0;
    const char* name = "";
    if (c.timers[2] != 0) {
      t = c.timers[2];
      name = "timewait";
    } else if (c.timers[0] != 0) {
      t = c.timers[0];
      name = c.persist ? "persist" : "on";
    }
    i.timer_ns = t;
    i.timer_name = name;
    i.retransmits = c.retransmits;
    i.mss = effective_mss(c);
    i.cwnd = c.cwnd;
    i.ssthresh = c.ssthresh;
    i.rtt_us = c.srtt >> 3;
    i.rttvar_us = c.mdev >> 2;
    i.rto_us = c.rto_us;
    i.bytes_acked = c.bytes_acked;
    i.bytes_received = c.bytes_received;
    i.segs_out = c.segs_out;
    i.segs_in = c.segs_in;
    i.retrans_total = c.retrans_total;
    i.orphan = c.orphan;
    out.push_back(i);
  }
  return out;
}

// ---------------------------------------------------------------- input

void Tcp::rcv(int ifindex, Ipv4Addr src, Ipv4Addr dst, uint8_t tos,
              std::span<const std::byte> bytes) {
  (void)tos;
  ++counters_.in_segs;
  wire::TcpConstView v(bytes);
  if (v.check() || !v.verify_checksum(src, dst)) {
    ++counters_.in_errs;
    node_.drop(DropReason::TcpCsum, "bad TCP header or checksum");
    return;
  }
  Segment seg;
  seg.sport = v.source_port();
  seg.dport = v.destination_port();
  seg.seq = v.sequence_number();
  seg.ack = v.acknowledgment_number();
  seg.flags = v.flags();
  seg.window = v.window();
  seg.payload = v.payload();
  // tcp_parse_options(): a malformed option ends the list.
  auto opts = v.options();
  for (size_t i = 0; i < opts.size();) {
    uint8_t kind = static_cast<uint8_t>(opts[i]);
    if (kind == wire::kTcpOptionEnd) break;
    if (kind == wire::kTcpOptionNoOperation) {
      ++i;
      continue;
    }
    if (i + 1 >= opts.size()) break;
    uint8_t len = static_cast<uint8_t>(opts[i + 1]);
    if (len < 2 || i + len > opts.size()) break;
    auto body = opts.subspan(i + 2, len - 2);
    if (kind == 2 && len == 4 && seg.syn()) seg.mss = wire::load_be16(body, 0);
    if (kind == 3 && len == 3 && seg.syn())
      seg.wscale = std::min<uint8_t>(14, static_cast<uint8_t>(body[0]));
    if (kind == 4 && len == 2 && seg.syn()) seg.sack_permitted = true;
    if (kind == 8 && len == 10) {
      seg.has_ts = true;
      seg.ts_val = wire::load_be32(body, 0);
      seg.ts_ecr = wire::load_be32(body, 4);
    }
    if (kind == 5 && len >= 10 && (len - 2) % 8 == 0) {
      for (size_t k = 0; k + 8 <= body.size(); k += 8) {
        seg.sacks.emplace_back(wire::load_be32(body, k), wire::load_be32(body, k + 4));
      }
    }
    i += len;
  }
  (void)ifindex;
  current_src_ = src;
  current_dst_ = dst;
  Conn* c = lookup(src, seg.sport, dst, seg.dport);
  trace_segment(false, c, src, dst, seg, "");
  if (c != nullptr) ++c->segs_in;
  if (c == nullptr) {
    if (Conn* l = lookup_listener(dst, seg.dport)) {
      rcv_listen(*l, seg);
      flush();
      return;
    }
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("no socket for {} -> {}", endpoint_text(src, seg.sport),
                         endpoint_text(dst, seg.dport));
    });
    node_.drop(DropReason::NoSocket, fmt::format("no TCP socket on port {}", seg.dport));
    send_rst_for(dst, src, seg);
    flush();
    return;
  }
  switch (c->state) {
    case TcpState::SynSent:
      rcv_syn_sent(*c, seg);
      break;
    case TcpState::TimeWait:
      rcv_time_wait(*c, seg);
      break;
    default:
      rcv_established(*c, seg);
  }
  flush();
}

void Tcp::rcv_listen(Conn& l, const Segment& seg) {
  if (seg.rst()) return;
  if (seg.has_ack()) {
    // An ACK for a connection the listener does not know: RST (tcp_rcv_state_process()).
    node_.drop(DropReason::TcpFlags, "ACK to a listener with no such connection");
    send_rst_for(current_dst_, current_src_, seg);
    return;
  }
  if (!seg.syn()) {
    node_.drop(DropReason::TcpFlags, "segment without SYN to a listener");
    return;
  }
  // tcp_conn_request(): a full accept queue drops the SYN; so does a full SYN queue without
  // syncookies.
  if (static_cast<int>(l.accept_queue.size()) > l.backlog) {
    ++counters_.listen_overflows;
    ++counters_.listen_drops;
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("listener {} accept queue full ({} > backlog {}): SYN dropped",
                         endpoint_text(l.laddr, l.lport), l.accept_queue.size(), l.backlog);
    });
    node_.drop(DropReason::TcpListenOverflow, "accept queue full");
    return;
  }
  int max_syn = node_.sysctls().global("tcp_max_syn_backlog");
  if (l.syn_queue >= std::max(max_syn, l.backlog)) {
    ++counters_.listen_drops;
    node_.drop(DropReason::TcpListenOverflow, "SYN queue full");
    return;
  }
  // The addresses come from the pending delivery: rcv() looked the listener up by them.
  Conn& c = create(TcpState::SynRecv);
  c.parent = l.id;
  ++l.syn_queue;
  c.laddr = current_dst_;
  c.lport = seg.dport;
  c.raddr = current_src_;
  c.rport = seg.sport;
  established_[{c.laddr.value(), c.lport, c.raddr.value(), c.rport}] = c.id;
  c.hashed = true;
  const Sysctls& s = node_.sysctls();
  RouteQuery q;
  q.dst = c.raddr;
  q.src = c.laddr;
  RouteAnswer route;
  uint32_t mtu = 1500;
  if (node_.route_get(q, &route) == 0) {
    const Device* out = node_.device(route.oif);
    mtu = out ? static_cast<uint32_t>(out->mtu) : 1500;
    if (route.mtu != 0) mtu = std::min(mtu, route.mtu);
  }
  c.pmtu = mtu;
  c.advmss = std::min<uint32_t>(mtu - 40, 65495);
  c.irs = seg.seq;
  c.rcv_nxt = seg.seq + 1;
  c.rcv_wup = c.rcv_nxt;
  c.peer_mss = seg.mss.value_or(536);
  c.ts_ok = seg.has_ts && s.global("tcp_timestamps") != 0;
  c.sack_ok = seg.sack_permitted && s.global("tcp_sack") != 0;
  c.ws_ok = seg.wscale.has_value() && s.global("tcp_window_scaling") != 0;
  if (c.ts_ok) c.ts_recent = seg.ts_val;
  c.snd_wscale = c.ws_ok ? *seg.wscale : 0;
  c.snd_wnd = seg.window;  // a SYN's window is never scaled
  c.max_window = c.snd_wnd;
  c.iss = static_cast<uint32_t>(node_.random_u64());
  c.ts_offset = static_cast<uint32_t>(node_.random_u64());
  c.snd_una = c.iss;
  c.snd_nxt = c.iss + 1;
  c.snd_max = c.snd_nxt;
  std::vector<long> rmem = s.vector("net.ipv4.tcp_rmem");
  std::vector<long> wmem = s.vector("net.ipv4.tcp_wmem");
  if (wmem.size() == 3) c.sndbuf_limit = static_cast<size_t>(wmem[2]);
  long space = rmem.size() == 3 ? rmem[1] / 2 : 65536;
  long max_space = rmem.size() == 3 ? std::max<long>(rmem[2], s.core("rmem_max")) : 6291456;
  // tcp_init_buffer_space(): the clamp starts at the full space of tcp_rmem[1] and grows with
  // receive-buffer autotuning (see recv()) up to half of tcp_rmem[2].
  c.window_clamp = static_cast<uint32_t>(space);
  c.max_clamp = static_cast<uint32_t>(max_space / 2);
  // tcp_openreq_init_rwin(): the MSS less the timestamp option.
  uint32_t mss = c.advmss - (c.ts_ok ? 12 : 0);
  c.rcv_wnd = static_cast<uint32_t>(std::min<long>(space - space % mss, 65535));
  c.rcv_ssthresh = c.rcv_wnd;
  c.rcv_wscale = 0;
  if (c.ws_ok) {
    long sp = max_space;
    while (sp > 65535 && c.rcv_wscale < 14) {
      sp >>= 1;
      ++c.rcv_wscale;
    }
  }
  c.handler = nullptr;
  ++counters_.passive_opens;
  node_.trace(TraceStage::Tcp, [&] {
    return fmt::format("listener {}: new connection from {} (SYN-RECV)",
                       endpoint_text(l.laddr, l.lport), endpoint_text(c.raddr, c.rport));
  });
  send_syn(c, true);
  c.rto_us = kTimeoutInitUs;
  set_timer(c, 0, node_.now_ns() + c.rto_us * 1000);
}

void Tcp::rcv_syn_sent(Conn& c, const Segment& seg) {
  // tcp_rcv_synsent_state_process()
  if (seg.has_ack()) {
    if (!after(seg.ack, c.iss) || after(seg.ack, c.snd_nxt)) {
      if (!seg.rst()) send_rst_for(c.laddr, c.raddr, seg);
      node_.drop(DropReason::TcpInvalidSequence, "SYN-SENT: unacceptable ACK");
      return;
    }
  }
  if (seg.rst()) {
    if (!seg.has_ack()) {
      node_.drop(DropReason::TcpInvalidSequence, "SYN-SENT: RST without ACK");
      return;
    }
    node_.trace(TraceStage::Tcp, [&] { return std::string("connection refused (RST)"); });
    ++counters_.attempt_fails;
    done(c, ECONNREFUSED);
    return;
  }
  if (!seg.syn()) {
    node_.drop(DropReason::TcpFlags, "SYN-SENT: segment without SYN");
    return;
  }
  if (!seg.has_ack()) {
    // Simultaneous open is not modelled.
    node_.drop(DropReason::TcpFlags, "SYN-SENT: simultaneous open (not supported)");
    return;
  }
  c.irs = seg.seq;
  c.rcv_nxt = seg.seq + 1;
  c.rcv_wup = c.rcv_nxt;
  c.peer_mss = seg.mss.value_or(536);
  c.ts_ok = c.ts_ok && seg.has_ts;
  c.sack_ok = c.sack_ok && seg.sack_permitted;
  c.ws_ok = c.ws_ok && seg.wscale.has_value();
  if (!c.ws_ok) c.rcv_wscale = 0;
  c.snd_wscale = c.ws_ok ? *seg.wscale : 0;
  if (c.ts_ok) c.ts_recent = seg.ts_val;
  c.snd_una = seg.ack;
  c.snd_wnd = seg.window;
  c.snd_wl1 = seg.seq;
  c.snd_wl2 = seg.ack;
  c.max_window = c.snd_wnd;
  // The SYN's RTT (unless it was retransmitted: Karn).
  if (c.retransmits == 0 && c.last_send_ns != 0) {
    rtt_sample(c, (node_.now_ns() - c.last_send_ns) / 1000);
  } else {
    c.rto_us = std::max<uint64_t>(c.rto_us, kTimeoutInitUs);
  }
  c.retransmits = 0;
  c.backoff = 0;
  set_timer(c, 0, 0);
  // tcp_init_transfer(): after a retransmitted SYN the initial window is one segment.
  c.cwnd = c.retrans_total > 0 ? 1 : kInitCwnd;
  c.state = TcpState::Established;
  node_.trace(TraceStage::Tcp, [&] {
    return fmt::format("{} -> {} established (mss {}{}{}{})", endpoint_text(c.laddr, c.lport),
                       endpoint_text(c.raddr, c.rport), effective_mss(c),
                       c.ws_ok ? fmt::format(", wscale {}/{}", c.snd_wscale, c.rcv_wscale) : "",
                       c.ts_ok ? ", timestamps" : "", c.sack_ok ? ", sack" : "");
  });
  send_ack(c);
  notify(c, TcpEvent::Connected);
  if (!c.sndbuf.empty() || c.fin_queued) output(c);
}

void Tcp::rcv_time_wait(Conn& c, const Segment& seg) {
  // tcp_timewait_state_process()
  if (seg.rst()) {
    // RFC 1337 is off by default: a RST kills the TIME_WAIT socket.
    if (node_.sysctls().global("tcp_rfc1337") == 0) destroy(c);
    return;
  }
  if (seg.syn() && !seg.has_ack()) {
    // A new SYN with a higher sequence number (or newer timestamp) reuses the pair.
    bool newer = after(seg.seq, c.rcv_nxt) ||
                 (c.ts_ok && seg.has_ts && static_cast<int32_t>(seg.ts_val - c.ts_recent) > 0);
    if (newer) {
      ++counters_.tw_recycled;
      destroy(c);
      if (Conn* l = lookup_listener(current_dst_, seg.dport)) rcv_listen(*l, seg);
      return;
    }
    send_ack(c);
    return;
  }
  if (seg.fin() || seg.len() > 0) {
    // A retransmitted FIN: ACK it again and restart the 60 s (inet_twsk_reschedule()).
    send_ack(c);
    set_timer(c, 2, node_.now_ns() + kTimeWaitNs);
  }
}

bool Tcp::ack_update(Conn& c, const Segment& seg) {
  // tcp_ack(): returns false when the segment must be dropped.
  if (!seg.has_ack()) return true;
  if (after(seg.ack, c.snd_max)) {
    // ACK for data never sent: send an ACK and drop (RFC 9293).
    send_ack(c);
    node_.drop(DropReason::TcpInvalidSequence, "ACK for data not yet sent");
    return false;
  }
  uint32_t prior_una = c.snd_una;
  uint32_t prior_in_flight = flight(c);
  uint32_t wnd = static_cast<uint32_t>(seg.window) << c.snd_wscale;
  bool window_changed = false;
  // tcp_may_update_window()
  if (after(seg.ack, c.snd_una) || after(seg.seq, c.snd_wl1) ||
      (seg.seq == c.snd_wl1 && (after(seg.ack, c.snd_wl2) || wnd > c.snd_wnd))) {
    window_changed = wnd != c.snd_wnd;
    c.snd_wnd = wnd;
    c.snd_wl1 = seg.seq;
    c.snd_wl2 = seg.ack;
    c.max_window = std::max(c.max_window, wnd);
  }
  if (before(seg.ack, c.snd_una)) return true;  // old ACK: ignore
  bool new_sack = c.sack_ok && sack_update(c, seg);
  if (c.sack_ok && c.in_recovery && seg.ack == c.snd_una) {
    // Recovery driven by the scoreboard: each ACK lets the next holes or new data go.
    sack_output(c);
    return true;
  }
  if (seg.ack == c.snd_una) {
    // A duplicate ACK counts only when it carries nothing else (RFC 5681 section 2).
    bool dup = (c.snd_nxt != c.snd_una && seg.payload.empty() && !seg.syn() && !seg.fin() &&
                !window_changed) ||
               new_sack;
    if (!dup) {
      if (c.snd_wnd > 0 && c.persist) {
        c.persist = false;
        c.probes = 0;
        set_timer(c, 0, 0);
      }
      return true;
    }
    ++c.dupacks;
    int reordering = std::max(1, node_.sysctls().global("tcp_reordering"));
    uint32_t mss_now = effective_mss(c);
    bool enough = c.dupacks >= reordering ||
                  (c.sack_ok && sacked_bytes(c) >= static_cast<uint32_t>(reordering) * mss_now);
    if (enough && !c.in_recovery && c.sack_ok && (!c.in_loss || after(c.snd_una, c.recover))) {
      // SACK-based loss recovery (RFC 6675): halve the window, then retransmit the holes
      // the scoreboard shows while the pipe has room.
      c.ssthresh = std::max<uint32_t>(c.cwnd >> 1, 2);
      c.cwnd = c.ssthresh;
      c.recover = c.snd_max;
      c.rtx_high = c.snd_una;
      c.in_recovery = true;
      c.in_loss = false;
      ++counters_.fast_retrans;
      node_.trace(TraceStage::Tcp, [&] {
        return fmt::format("{} duplicate ACKs, {} bytes SACKed above {}: fast retransmit, cwnd {}",
                           c.dupacks, sacked_bytes(c), c.snd_una, c.cwnd);
      });
      sack_output(c);
      return true;
    }
    if (c.dupacks == reordering && !c.in_recovery && (!c.in_loss || after(c.snd_una, c.recover))) {
      // Fast retransmit, then NewReno's fast recovery (RFC 6582).
      c.ssthresh = std::max<uint32_t>(c.cwnd >> 1, 2);
      c.cwnd = c.ssthresh + static_cast<uint32_t>(reordering);
      c.recover = c.snd_max;
      c.in_recovery = true;
      c.in_loss = false;
      ++counters_.fast_retrans;
      node_.trace(TraceStage::Tcp, [&] {
        return fmt::format("{} duplicate ACKs for {}: fast retransmit, cwnd {} ssthresh {}",
                           c.dupacks, c.snd_una, c.cwnd, c.ssthresh);
      });
      retransmit_head(c);
    } else if (c.in_recovery) {
      ++c.cwnd;  // window inflation: a segment left the network
      output(c);
    }
    return true;
  }
  // New data acknowledged.
  uint32_t acked = seg.ack - c.snd_una;
  bool syn_acked = c.snd_una == c.iss;  // our SYN was outstanding (SYN-RECV)
  if (syn_acked) --acked;
  bool fin_acked = c.fin_sent && seg.ack == c.snd_max;
  uint32_t data_acked = acked - (fin_acked ? 1 : 0);
  data_acked = std::min<uint32_t>(data_acked, static_cast<uint32_t>(c.sndbuf.size()));
  c.sndbuf.erase(0, data_acked);
  c.bytes_acked += data_acked;
  c.snd_una = seg.ack;
  if (before(c.snd_nxt, c.snd_una)) c.snd_nxt = c.snd_una;
  // RTT from the oldest segment acknowledged that was never retransmitted.
  std::optional<uint64_t> sample;
  while (!c.sent.empty() && !after(std::get<0>(c.sent.front()), seg.ack)) {
    if (!std::get<2>(c.sent.front()) && !sample) {
      sample = node_.now_ns() - std::get<1>(c.sent.front());
    }
    c.sent.pop_front();
  }
  if (sample) rtt_sample(c, *sample / 1000);
  c.retransmits = 0;
  c.backoff = 0;
  uint32_t mss = effective_mss(c);
  uint32_t acked_pkts = std::max<uint32_t>(1, (acked + mss - 1) / mss);
  prune_sacked(c);
  if (c.in_recovery) {
    if (!before(seg.ack, c.recover)) {
      // Full acknowledgment: leave recovery with cwnd = ssthresh.
      c.cwnd = c.ssthresh;
      c.in_recovery = false;
      c.dupacks = 0;
    } else if (c.sack_ok) {
      if (before(c.rtx_high, c.snd_una)) c.rtx_high = c.snd_una;
      sack_output(c);
    } else {
      // Partial acknowledgment: retransmit the next hole, deflate by what was acked.
      retransmit_head(c);
      c.cwnd = c.cwnd > acked_pkts ? c.cwnd - acked_pkts + 1 : 1;
    }
  } else {
    c.dupacks = 0;
    if (c.in_loss && after(c.snd_una, c.recover)) c.in_loss = false;
    // tcp_reno_cong_avoid(), only while the window limits the sender.
    uint32_t prior_pkts = (prior_in_flight + mss - 1) / mss;
    bool cwnd_limited = c.cwnd < c.ssthresh ? c.cwnd < 2 * prior_pkts : prior_pkts + 1 >= c.cwnd;
    if (cwnd_limited) {
      uint32_t n = acked_pkts;
      if (c.cwnd < c.ssthresh) {
        uint32_t grow = std::min(n, c.ssthresh - c.cwnd);
        c.cwnd += grow;
        n -= grow;
      }
      if (n > 0) {
        // tcp_cong_avoid_ai(tp, cwnd, acked)
        if (c.cwnd_cnt >= c.cwnd) {
          c.cwnd_cnt = 0;
          ++c.cwnd;
        }
        c.cwnd_cnt += n;
        if (c.cwnd_cnt >= c.cwnd) {
          uint32_t delta = c.cwnd_cnt / c.cwnd;
          c.cwnd_cnt -= delta * c.cwnd;
          c.cwnd += delta;
        }
      }
      c.cwnd = std::min<uint32_t>(c.cwnd, 1u << 20);
    }
  }
  (void)prior_una;
  // The retransmission timer restarts while data is outstanding.
  if (c.snd_una == c.snd_max) {
    set_timer(c, 0, 0);
  } else if (!c.persist) {
    arm_rto(c);
  }
  if (syn_acked || data_acked > 0) notify(c, TcpEvent::Writable);
  // FIN acknowledged: the state machine moves on.
  if (fin_acked) {
    switch (c.state) {
      case TcpState::FinWait1:
        c.state = TcpState::FinWait2;
        if (c.orphan) {
          set_timer(
              c, 2,
              node_.now_ns() +
                  static_cast<uint64_t>(node_.sysctls().global("tcp_fin_timeout")) * 1000 * kMs);
        }
        break;
      case TcpState::Closing:
        enter_time_wait(c);
        return false;
      case TcpState::LastAck:
        done(c, 0);
        return false;
      default:
        break;
    }
  }
  return true;
}

void Tcp::rcv_established(Conn& c, const Segment& seg) {
  // tcp_rcv_state_process() / tcp_rcv_established() for every synchronised state.
  // 1. Sequence check (tcp_sequence()): the segment must overlap the receive window.
  uint32_t wnd = c.rcv_wup + c.rcv_wnd - c.rcv_nxt;
  bool acceptable;
  if (seg.len() == 0) {
    acceptable = !before(seg.seq, c.rcv_nxt) ? !after(seg.seq, c.rcv_nxt + wnd) : false;
    if (seg.seq == c.rcv_nxt) acceptable = true;
    if (!acceptable && !before(seg.seq, c.rcv_wup) && !after(seg.seq, c.rcv_nxt + wnd)) {
      acceptable = true;
    }
  } else {
    acceptable = !after(seg.seq, c.rcv_nxt + wnd) && after(seg.end_seq(), c.rcv_wup);
  }
  if (c.state == TcpState::SynRecv && seg.syn() && !seg.has_ack() && seg.seq == c.irs) {
    // The client retransmitted its SYN: retransmit the SYN-ACK.
    send_syn(c, true);
    return;
  }
  if (!acceptable) {
    if (!seg.rst()) send_ack(c);  // tcp_send_dupack()
    node_.drop(DropReason::TcpInvalidSequence, fmt::format("seq {} outside the window [{}, {})",
                                                           seg.seq, c.rcv_nxt, c.rcv_nxt + wnd));
    return;
  }
  // 2. RST (RFC 5961: only an exact match resets, others get a challenge ACK).
  if (seg.rst()) {
    if (seg.seq != c.rcv_nxt) {
      send_ack(c);
      node_.drop(DropReason::TcpInvalidSequence, "RST in window but not at rcv_nxt");
      return;
    }
    int err = ECONNRESET;
    if (c.state == TcpState::CloseWait) err = EPIPE;
    if (c.state == TcpState::SynRecv) err = ECONNREFUSED;
    node_.trace(TraceStage::Tcp, [&] { return std::string("connection reset by peer"); });
    if (c.state == TcpState::Established || c.state == TcpState::CloseWait) {
      ++counters_.estab_resets;
    }
    reset_conn(c, err);
    return;
  }
  // 3. SYN in a synchronised state: challenge ACK (RFC 5961 section 4).
  if (seg.syn()) {
    send_ack(c);
    node_.drop(DropReason::TcpFlags, "SYN on an established connection (challenge ACK)");
    return;
  }
  if (!seg.has_ack()) {
    node_.drop(DropReason::TcpFlags, "segment without ACK");
    return;
  }
  if (c.ts_ok && seg.has_ts && !after(seg.seq, c.rcv_wup) && !before(seg.end_seq(), c.rcv_wup)) {
    c.ts_recent = seg.ts_val;  // tcp_store_ts_recent()
  } else if (c.ts_ok && seg.has_ts && seg.seq == c.rcv_nxt) {
    c.ts_recent = seg.ts_val;
  }
  // 4. SYN-RECV: the handshake's last ACK.
  if (c.state == TcpState::SynRecv) {
    if (!seg.has_ack() || seg.ack != c.iss + 1) {
      send_rst_for(c.laddr, c.raddr, seg);
      node_.drop(DropReason::TcpInvalidSequence, "SYN-RECV: ACK does not acknowledge our SYN");
      return;
    }
    Conn* l = c.parent != 0 ? find(c.parent) : nullptr;
    if (l != nullptr && static_cast<int>(l->accept_queue.size()) > l->backlog) {
      // tcp_check_req() -> listen overflow: drop the ACK (the SYN-ACK is retransmitted), or
      // with tcp_abort_on_overflow answer RST.
      ++counters_.listen_overflows;
      ++counters_.listen_drops;
      if (node_.sysctls().global("tcp_abort_on_overflow") != 0) {
        send_segment(c, c.snd_nxt, wire::kTcpRst, {}, false);
        ++counters_.out_rsts;
        node_.drop(DropReason::TcpListenOverflow, "accept queue full: RST (abort_on_overflow)");
        destroy(c);
      } else {
        node_.drop(DropReason::TcpListenOverflow, "accept queue full: handshake ACK dropped");
      }
      return;
    }
    c.snd_una = seg.ack;
    c.snd_wnd = static_cast<uint32_t>(seg.window) << c.snd_wscale;
    c.snd_wl1 = seg.seq;
    c.snd_wl2 = seg.ack;
    c.max_window = c.snd_wnd;
    if (c.retransmits == 0 && c.last_send_ns != 0) {
      rtt_sample(c, (node_.now_ns() - c.last_send_ns) / 1000);
    }
    c.retransmits = 0;
    c.backoff = 0;
    set_timer(c, 0, 0);
    c.cwnd = c.retrans_total > 0 ? 1 : kInitCwnd;
    c.state = TcpState::Established;
    if (l != nullptr) {
      --l->syn_queue;
      l->accept_queue.push_back(c.id);
      node_.trace(TraceStage::Tcp, [&] {
        return fmt::format("{} <- {} established; accept queue {}", endpoint_text(c.laddr, c.lport),
                           endpoint_text(c.raddr, c.rport), l->accept_queue.size());
      });
      notify(*l, TcpEvent::Accept);
    }
    // The ACK may carry data or FIN: go on with it.
  }
  // 5. ACK processing.
  if (!ack_update(c, seg)) return;
  // 6. Data and FIN.
  switch (c.state) {
    case TcpState::Established:
    case TcpState::FinWait1:
    case TcpState::FinWait2:
      break;
    default:
      // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; ignore more data.
      if (seg.payload.size() > 0) node_.drop(DropReason::TcpClose, "data after the peer's FIN");
      if (!c.sndbuf.empty() || c.fin_queued) output(c);
      return;
  }
  if (!seg.payload.empty() || seg.fin()) data_queue(c, seg);
  Conn* still = find(c.id);
  if (still == nullptr) return;
  if (!c.sndbuf.empty() || (c.fin_queued && !c.fin_sent) || c.in_recovery) output(c);
}

void Tcp::data_queue(Conn& c, const Segment& seg) {
  uint32_t seq = seg.seq;
  std::span<const std::byte> data = seg.payload;
  bool fin = seg.fin();
  // Trim what we already have.
  if (before(seq, c.rcv_nxt)) {
    uint32_t dup = c.rcv_nxt - seq;
    if (dup >= data.size() && !(fin && seq + data.size() == c.rcv_nxt)) {
      // Entirely old: an immediate duplicate ACK (the peer retransmitted needlessly).
      node_.drop(DropReason::TcpOldData, "old data (already received)");
      c.quick = std::max(c.quick, 1);
      schedule_ack(c, true);
      return;
    }
    dup = std::min<uint32_t>(dup, static_cast<uint32_t>(data.size()));
    data = data.subspan(dup);
    seq += dup;
  }
  uint32_t window_end = c.rcv_wup + c.rcv_wnd;
  if (after(seq + static_cast<uint32_t>(data.size()), window_end)) {
    // Beyond the window: keep what fits.
    uint32_t room = after(window_end, seq) ? window_end - seq : 0;
    data = data.first(std::min<size_t>(room, data.size()));
    fin = false;
  }
  if (seq != c.rcv_nxt) {
    // Out of order: queue it and ACK at once (the duplicate ACK drives fast retransmit).
    if (!data.empty() && !c.ofo.contains(seq)) {
      c.ofo.emplace(seq, std::string(reinterpret_cast<const char*>(data.data()), data.size()));
      c.ofo_bytes += data.size();
    }
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("out of order: seq {} len {}, expected {}", seq, data.size(), c.rcv_nxt);
    });
    schedule_ack(c, true);
    return;
  }
  size_t before_len = c.rcvbuf.size();
  c.rcvbuf.append(reinterpret_cast<const char*>(data.data()), data.size());
  c.rcv_nxt += static_cast<uint32_t>(data.size());
  // Pull in queued segments that are now in order.
  bool filled_hole = false;
  while (!c.ofo.empty()) {
    auto it = c.ofo.begin();
    if (after(it->first, c.rcv_nxt)) break;
    uint32_t skip = c.rcv_nxt - it->first;
    if (skip < it->second.size()) {
      c.rcvbuf.append(it->second, skip, std::string::npos);
      c.rcv_nxt += static_cast<uint32_t>(it->second.size() - skip);
    }
    c.ofo_bytes -= it->second.size();
    c.ofo.erase(it);
    filled_hole = true;
  }
  size_t got = c.rcvbuf.size() - before_len;
  c.bytes_received += got;
  c.unacked_bytes += static_cast<uint32_t>(got);
  // tcp_event_data_recv(): quick ACKs for the first data; tcp_grow_window().
  if (!c.ato_set) {
    c.ato_set = true;
    uint32_t mss = std::max<uint32_t>(effective_mss(c), 1);
    c.quick = std::min<int>(kMaxQuickAcks, static_cast<int>(c.rcv_wnd / (2 * mss)));
  }
  // tcp_grow_window(): for segments whose size is worth their memory (the kernel compares
  // with the buffer's truesize; vnet uses the initial 536-byte receive MSS as the bar).
  if (got >= 536 && c.rcv_ssthresh < c.window_clamp) {
    c.rcv_ssthresh = std::min<uint32_t>(c.window_clamp, c.rcv_ssthresh + 2 * c.advmss);
  }
  if (fin && seq + data.size() == c.rcv_nxt && c.ofo.empty()) {
    // tcp_fin()
    c.rcv_nxt += 1;
    c.fin_received = true;
    switch (c.state) {
      case TcpState::Established:
        c.state = TcpState::CloseWait;
        break;
      case TcpState::FinWait1:
        // Our FIN not yet acknowledged: simultaneous close.
        c.state = TcpState::Closing;
        break;
      case TcpState::FinWait2:
        send_ack(c);
        enter_time_wait(c);
        notify(c, TcpEvent::Readable);
        return;
      default:
        break;
    }
    schedule_ack(c, true);
    notify(c, TcpEvent::Readable);
    return;
  }
  if (got > 0) notify(c, TcpEvent::Readable);
  schedule_ack(c, filled_hole || !c.ofo.empty());
}

void Tcp::rtt_sample(Conn& c, uint64_t m) {
  // tcp_rtt_estimator() and tcp_set_rto(), in microseconds.
  if (m == 0) m = 1;
  if (c.srtt != 0) {
    int64_t mm = static_cast<int64_t>(m) - static_cast<int64_t>(c.srtt >> 3);
    c.srtt = static_cast<uint64_t>(static_cast<int64_t>(c.srtt) + mm);
    if (mm < 0) {
      mm = -mm;
      mm -= static_cast<int64_t>(c.mdev >> 2);
      if (mm > 0) mm >>= 3;
    } else {
      mm -= static_cast<int64_t>(c.mdev >> 2);
    }
    c.mdev = static_cast<uint64_t>(static_cast<int64_t>(c.mdev) + mm);
    if (c.mdev > c.mdev_max) {
      c.mdev_max = c.mdev;
      if (c.mdev_max > c.rttvar) c.rttvar = c.mdev_max;
    }
    if (after(c.snd_una, c.rtt_seq)) {
      if (c.mdev_max < c.rttvar) c.rttvar -= (c.rttvar - c.mdev_max) >> 2;
      c.rtt_seq = c.snd_nxt;
      c.mdev_max = kRtoMinUs;
    }
  } else {
    c.srtt = m << 3;
    c.mdev = m << 1;
    c.mdev_max = std::max(c.mdev, kRtoMinUs);
    c.rttvar = c.mdev_max;
    c.rtt_seq = c.snd_nxt;
  }
  c.rto_us = std::min((c.srtt >> 3) + c.rttvar, kRtoMaxUs);
}

void Tcp::enter_time_wait(Conn& c) {
  c.state = TcpState::TimeWait;
  set_timer(c, 0, 0);
  set_timer(c, 1, 0);
  set_timer(c, 2, node_.now_ns() + kTimeWaitNs);
  c.sndbuf.clear();
  node_.trace(TraceStage::Tcp, [&] {
    return fmt::format("{} -> {} TIME-WAIT for 60 s", endpoint_text(c.laddr, c.lport),
                       endpoint_text(c.raddr, c.rport));
  });
  notify(c, TcpEvent::Closed);
}

void Tcp::done(Conn& c, int err) {
  // tcp_done(): the connection is gone; the application still holds the socket.
  if (err != 0) c.error = err;
  bool orphan = c.orphan;
  if (c.hashed) {
    established_.erase({c.laddr.value(), c.lport, c.raddr.value(), c.rport});
    c.hashed = false;
  }
  c.state = TcpState::Close;
  for (uint64_t& t : c.timers) t = 0;
  set_timer(c, 0, 0);
  if (orphan || (c.parent != 0)) {
    destroy(c);
    return;
  }
  notify(c, err != 0 ? TcpEvent::Error : TcpEvent::Closed);
}

void Tcp::reset_conn(Conn& c, int err) {
  done(c, err);
}

// ---------------------------------------------------------------- output

uint32_t Tcp::effective_mss(const Conn& c) const {
  // tcp_current_mss(): the peer's MSS and the path MTU, less our options (timestamps).
  uint32_t mss = std::min<uint32_t>(c.peer_mss, c.pmtu - 40);
  mss = std::min(mss, c.advmss);
  if (c.ts_ok) mss -= 12;
  return std::max<uint32_t>(mss, 8);
}

uint32_t Tcp::flight(const Conn& c) const {
  // RFC 6675's pipe: what is in the network, less what the peer SACKed and, in recovery, the
  // holes not retransmitted yet (deemed lost).
  uint32_t out = c.snd_nxt - c.snd_una;
  if (c.sacked.empty()) return out;
  uint32_t sacked = 0, lost = 0;
  uint32_t prev = c.snd_una;
  for (auto [b, e] : c.sacked) {
    if (!before(b, c.snd_nxt)) break;
    uint32_t end = before(e, c.snd_nxt) ? e : c.snd_nxt;
    sacked += end - b;
    if (c.in_recovery && after(b, prev)) {
      // The hole [prev, b): lost unless below rtx_high.
      uint32_t from = after(c.rtx_high, prev) ? c.rtx_high : prev;
      if (before(from, b)) lost += b - from;
    }
    prev = e;
  }
  uint32_t gone = sacked + lost;
  return out > gone ? out - gone : 0;
}

uint32_t Tcp::sacked_bytes(const Conn& c) const {
  uint32_t n = 0;
  for (auto [b, e] : c.sacked) n += e - b;
  return n;
}

bool Tcp::sack_update(Conn& c, const Segment& seg) {
  // tcp_sacktag_write_queue(): blocks within (snd_una, snd_max] join the scoreboard.
  bool changed = false;
  for (auto [b, e] : seg.sacks) {
    if (!after(e, b) || !after(e, c.snd_una) || after(e, c.snd_max)) continue;
    if (before(b, c.snd_una)) b = c.snd_una;
    size_t before_size = c.sacked.size();
    uint32_t before_bytes = sacked_bytes(c);
    c.sacked.emplace_back(b, e);
    std::sort(c.sacked.begin(), c.sacked.end(),
              [&](const auto& x, const auto& y) { return before(x.first, y.first); });
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (auto r : c.sacked) {
      if (!merged.empty() && !after(r.first, merged.back().second)) {
        if (after(r.second, merged.back().second)) merged.back().second = r.second;
      } else {
        merged.push_back(r);
      }
    }
    c.sacked.swap(merged);
    changed |= c.sacked.size() != before_size || sacked_bytes(c) != before_bytes;
  }
  return changed;
}

void Tcp::prune_sacked(Conn& c) {
  std::erase_if(c.sacked, [&](const auto& r) { return !after(r.second, c.snd_una); });
  if (!c.sacked.empty() && before(c.sacked.front().first, c.snd_una)) {
    c.sacked.front().first = c.snd_una;
  }
}

void Tcp::sack_output(Conn& c) {
  // Retransmit the holes below the highest SACK, one segment at a time while the pipe has
  // room for it, then new data (RFC 6675 section 5, NextSeg()).
  uint32_t mss = effective_mss(c);
  for (int guard = 0; guard < 1024; ++guard) {
    uint64_t pipe = flight(c);
    if (pipe + mss > static_cast<uint64_t>(c.cwnd) * mss) break;
    // The first hole at or above rtx_high.
    uint32_t from = after(c.rtx_high, c.snd_una) ? c.rtx_high : c.snd_una;
    std::optional<std::pair<uint32_t, uint32_t>> hole;
    uint32_t prev = c.snd_una;
    for (auto [b, e] : c.sacked) {
      uint32_t start = after(from, prev) ? from : prev;
      if (before(start, b)) {
        hole = std::make_pair(start, b);
        break;
      }
      prev = e;
    }
    if (!hole) break;
    uint32_t len = std::min<uint32_t>(mss, hole->second - hole->first);
    uint32_t offset = hole->first - c.snd_una;
    if (offset >= c.sndbuf.size()) break;
    len = std::min<uint32_t>(len, static_cast<uint32_t>(c.sndbuf.size() - offset));
    for (auto& s : c.sent) {
      if (after(std::get<0>(s), hole->first) && !after(std::get<0>(s), hole->first + len)) {
        std::get<2>(s) = true;
      }
    }
    send_segment(c, hole->first, wire::kTcpAck,
                 std::span<const std::byte>(
                     reinterpret_cast<const std::byte*>(c.sndbuf.data()) + offset, len),
                 true);
    c.rtx_high = hole->first + len;
    arm_rto(c);
  }
  output(c);
}

uint32_t Tcp::ts_now(const Conn& c) const {
  return static_cast<uint32_t>(node_.now_ns() / kMs) + c.ts_offset;
}

uint16_t Tcp::window_to_advertise(Conn& c) {
  // tcp_select_window(): the free space (no more than rcv_ssthresh), never shrinking the right
  // edge already announced, aligned up to the scale.
  size_t used = c.rcvbuf.size() + c.ofo_bytes;
  uint32_t free_space = c.window_clamp > used ? static_cast<uint32_t>(c.window_clamp - used) : 0;
  uint32_t win = std::min(free_space, c.rcv_ssthresh);
  uint32_t cur = c.rcv_wup + c.rcv_wnd - c.rcv_nxt;
  if (after(c.rcv_nxt, c.rcv_wup + c.rcv_wnd)) cur = 0;
  if (win < cur) win = cur;
  uint32_t unit = 1u << c.rcv_wscale;
  win = (win + unit - 1) & ~(unit - 1);
  uint32_t max_win = 65535u << c.rcv_wscale;
  win = std::min(win, max_win);
  c.rcv_wnd = win;
  c.rcv_wup = c.rcv_nxt;
  return static_cast<uint16_t>(win >> c.rcv_wscale);
}

void Tcp::send_syn(Conn& c, bool synack) {
  // tcp_syn_options() / tcp_synack_options(), written as tcp_options_write() orders them.
  std::vector<std::byte> opts;
  auto put8 = [&](uint8_t v) { opts.push_back(static_cast<std::byte>(v)); };
  auto put16 = [&](uint16_t v) {
    put8(static_cast<uint8_t>(v >> 8));
    put8(static_cast<uint8_t>(v));
  };
  auto put32 = [&](uint32_t v) {
    put16(static_cast<uint16_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  };
  put8(2);
  put8(4);
  put16(static_cast<uint16_t>(c.advmss));
  if (c.ts_ok) {
    if (c.sack_ok) {
      put8(4);
      put8(2);
    } else {
      put8(1);
      put8(1);
    }
    put8(8);
    put8(10);
    put32(ts_now(c));
    put32(synack ? c.ts_recent : 0);
  } else if (c.sack_ok) {
    put8(1);
    put8(1);
    put8(4);
    put8(2);
  }
  if (c.ws_ok) {
    put8(1);
    put8(3);
    put8(3);
    put8(c.rcv_wscale);
  }
  uint8_t flags = wire::kTcpSyn | (synack ? wire::kTcpAck : 0);
  std::vector<std::byte> seg(20 + opts.size());
  wire::TcpView v(seg);
  v.set_source_port(c.lport);
  v.set_destination_port(c.rport);
  v.set_sequence_number(c.iss);
  v.set_acknowledgment_number(synack ? c.rcv_nxt : 0);
  seg[12] = static_cast<std::byte>(((20 + opts.size()) / 4) << 4);
  v.set_flags(flags);
  v.set_window(static_cast<uint16_t>(std::min<uint32_t>(c.rcv_wnd, 65535)));
  std::memcpy(seg.data() + 20, opts.data(), opts.size());
  v.fill_checksum(c.laddr, c.raddr);
  c.last_send_ns = node_.now_ns();
  ++c.segs_out;
  ++counters_.out_segs;
  Segment s;
  s.sport = c.lport;
  s.dport = c.rport;
  s.seq = c.iss;
  s.ack = synack ? c.rcv_nxt : 0;
  s.flags = flags;
  s.window = v.window();
  s.mss = static_cast<uint16_t>(c.advmss);
  if (c.ws_ok) s.wscale = c.rcv_wscale;
  s.sack_permitted = c.sack_ok;
  s.has_ts = c.ts_ok;
  trace_segment(true, &c, c.laddr, c.raddr, s, "");
  out_.push_back(Pending{c.laddr, c.raddr, 0, c.bound_ifindex, std::move(seg)});
}

void Tcp::send_segment(Conn& c, uint32_t seq, uint8_t flags, std::span<const std::byte> data,
                       bool retransmission) {
  std::vector<std::byte> opts;
  auto put8 = [&](uint8_t v) { opts.push_back(static_cast<std::byte>(v)); };
  auto put32 = [&](uint32_t v) {
    for (int k = 3; k >= 0; --k) put8(static_cast<uint8_t>(v >> (8 * k)));
  };
  bool rst = (flags & wire::kTcpRst) != 0;
  if (c.ts_ok && !rst) {
    put8(1);
    put8(1);
    put8(8);
    put8(10);
    put32(ts_now(c));
    put32(c.ts_recent);
  }
  std::vector<std::pair<uint32_t, uint32_t>> sacks;
  if (c.sack_ok && !rst && !c.ofo.empty()) {
    // The most recent out-of-order blocks, merged where they touch (RFC 2018).
    std::vector<std::pair<uint32_t, uint32_t>> blocks;
    for (const auto& [s, d] : c.ofo) {
      uint32_t e = s + static_cast<uint32_t>(d.size());
      if (!blocks.empty() && !after(s, blocks.back().second)) {
        if (after(e, blocks.back().second)) blocks.back().second = e;
      } else {
        blocks.emplace_back(s, e);
      }
    }
    size_t max_blocks = c.ts_ok ? 3 : kMaxSackBlocks;
    for (size_t k = 0; k < blocks.size() && sacks.size() < max_blocks; ++k)
      sacks.push_back(blocks[k]);
    put8(1);
    put8(1);
    put8(5);
    put8(static_cast<uint8_t>(2 + 8 * sacks.size()));
    for (auto [s, e] : sacks) {
      put32(s);
      put32(e);
    }
  }
  std::vector<std::byte> seg(20 + opts.size() + data.size());
  wire::TcpView v(seg);
  v.set_source_port(c.lport);
  v.set_destination_port(c.rport);
  v.set_sequence_number(seq);
  bool ack = (flags & wire::kTcpAck) != 0;
  v.set_acknowledgment_number(ack ? c.rcv_nxt : 0);
  seg[12] = static_cast<std::byte>(((20 + opts.size()) / 4) << 4);
  v.set_flags(flags);
  uint16_t win = rst ? 0 : window_to_advertise(c);
  v.set_window(win);
  if (!opts.empty()) std::memcpy(seg.data() + 20, opts.data(), opts.size());
  if (!data.empty()) std::memcpy(seg.data() + 20 + opts.size(), data.data(), data.size());
  v.fill_checksum(c.laddr, c.raddr);
  if (ack) {
    // Any segment with an ACK acknowledges everything received so far.
    c.ack_pending = false;
    c.unacked_bytes = 0;
    if (c.quick > 0) --c.quick;
    set_timer(c, 1, 0);
  }
  c.last_send_ns = node_.now_ns();
  ++c.segs_out;
  ++counters_.out_segs;
  if (retransmission) {
    ++c.retrans_total;
    ++counters_.retrans_segs;
  }
  Segment s;
  s.sport = c.lport;
  s.dport = c.rport;
  s.seq = seq;
  s.ack = ack ? c.rcv_nxt : 0;
  s.flags = flags;
  s.window = win;
  s.has_ts = c.ts_ok && !rst;
  s.sacks = sacks;
  s.payload = data;
  trace_segment(true, &c, c.laddr, c.raddr, s, retransmission ? "retransmission" : "");
  out_.push_back(Pending{c.laddr, c.raddr, 0, c.bound_ifindex, std::move(seg)});
}

void Tcp::send_ack(Conn& c) {
  if (c.state == TcpState::SynSent || c.state == TcpState::Close) return;
  send_segment(c, c.snd_nxt, wire::kTcpAck, {}, false);
}

void Tcp::send_rst_for(Ipv4Addr src, Ipv4Addr dst, const Segment& seg) {
  // tcp_v4_send_reset(): never for a RST; seq from the ACK, or ACK the segment.
  if (seg.rst()) return;
  std::vector<std::byte> out(20);
  wire::TcpView v(out);
  v.set_source_port(seg.dport);
  v.set_destination_port(seg.sport);
  uint8_t flags = wire::kTcpRst;
  if (seg.has_ack()) {
    v.set_sequence_number(seg.ack);
  } else {
    v.set_sequence_number(0);
    v.set_acknowledgment_number(seg.seq + seg.len());
    flags |= wire::kTcpAck;
  }
  out[12] = static_cast<std::byte>(5 << 4);
  v.set_flags(flags);
  v.set_window(0);
  v.fill_checksum(src, dst);
  ++counters_.out_rsts;
  ++counters_.out_segs;
  Segment s;
  s.sport = seg.dport;
  s.dport = seg.sport;
  s.seq = v.sequence_number();
  s.ack = v.acknowledgment_number();
  s.flags = flags;
  trace_segment(true, nullptr, src, dst, s, "reset");
  out_.push_back(Pending{src, dst, 0, 0, std::move(out)});
}

void Tcp::output(Conn& c) {
  // tcp_write_xmit(): as much new data as the congestion and receive windows allow, in MSS-
  // sized segments (Nagle holds back a small one while data is unacknowledged), then FIN.
  if (c.state == TcpState::SynSent || c.state == TcpState::SynRecv || c.state == TcpState::Close ||
      c.state == TcpState::TimeWait || c.state == TcpState::Listen) {
    return;
  }
  uint32_t mss = effective_mss(c);
  // tcp_slow_start_after_idle: after an idle RTO the window restarts.
  if (c.snd_una == c.snd_max && c.last_send_ns != 0 &&
      node_.sysctls().global("tcp_slow_start_after_idle") != 0 &&
      node_.now_ns() - c.last_send_ns > c.rto_us * 1000 && c.cwnd > kInitCwnd) {
    c.cwnd = kInitCwnd;
  }
  bool sent_any = false;
  while (true) {
    // After a timeout the sender goes back to snd_una, skipping what the peer SACKed.
    for (auto [b, e] : c.sacked) {
      if (!before(c.snd_nxt, b) && before(c.snd_nxt, e)) c.snd_nxt = e;
    }
    uint32_t offset = c.snd_nxt - c.snd_una - ((c.snd_una == c.iss) ? 1 : 0);
    size_t unsent = c.sndbuf.size() > offset ? c.sndbuf.size() - offset : 0;
    uint64_t cwnd_bytes = static_cast<uint64_t>(c.cwnd) * mss;
    uint32_t in_flight = flight(c);
    uint64_t cwnd_room = cwnd_bytes > in_flight ? cwnd_bytes - in_flight : 0;
    uint32_t wnd_end = c.snd_una + c.snd_wnd;
    uint64_t rwnd_room = after(wnd_end, c.snd_nxt) ? wnd_end - c.snd_nxt : 0;
    if (unsent > 0) {
      size_t len = std::min<size_t>(unsent, mss);
      if (len > rwnd_room || cwnd_room < std::min<uint64_t>(len, mss)) {
        if (len > rwnd_room && in_flight == 0) {
          // Zero window: the persist timer probes it (tcp_probe_timer()).
          if (!c.persist) {
            c.persist = true;
            set_timer(c, 0, node_.now_ns() + std::max<uint64_t>(c.rto_us, kRtoMinUs) * 1000);
          }
        }
        break;
      }
      // Nagle (tcp_nagle_check()): a partial segment waits while data is in flight.
      bool last = len == unsent;
      if (len < mss && !c.nodelay && in_flight > 0 && !(last && c.fin_queued)) break;
      bool with_fin = last && c.fin_queued && !c.fin_sent;
      uint8_t flags = wire::kTcpAck | (last ? wire::kTcpPsh : 0) | (with_fin ? wire::kTcpFin : 0);
      bool retrans = before(c.snd_nxt, c.snd_max);
      auto data = std::span<const std::byte>(
          reinterpret_cast<const std::byte*>(c.sndbuf.data()) + offset, len);
      uint32_t seq = c.snd_nxt;
      send_segment(c, seq, flags, data, retrans);
      c.snd_nxt += static_cast<uint32_t>(len) + (with_fin ? 1 : 0);
      if (with_fin) c.fin_sent = true;
      if (after(c.snd_nxt, c.snd_max)) c.snd_max = c.snd_nxt;
      c.sent.emplace_back(c.snd_nxt, node_.now_ns(), retrans);
      sent_any = true;
      continue;
    }
    if (c.fin_queued && (!c.fin_sent || before(c.snd_nxt, c.snd_max))) {
      // A bare FIN (or its retransmission after go-back-N).
      bool retrans = before(c.snd_nxt, c.snd_max);
      send_segment(c, c.snd_nxt, wire::kTcpFin | wire::kTcpAck, {}, retrans);
      c.snd_nxt += 1;
      c.fin_sent = true;
      if (after(c.snd_nxt, c.snd_max)) c.snd_max = c.snd_nxt;
      c.sent.emplace_back(c.snd_nxt, node_.now_ns(), retrans);
      sent_any = true;
    }
    break;
  }
  if (sent_any && c.timers[0] == 0) arm_rto(c);
}

void Tcp::retransmit_head(Conn& c) {
  // tcp_retransmit_skb() for the first unacknowledged segment.
  uint32_t mss = effective_mss(c);
  uint32_t base = (c.snd_una == c.iss) ? 1 : 0;
  (void)base;
  size_t len = std::min<size_t>(c.sndbuf.size(), mss);
  len = std::min<size_t>(len, c.snd_max - c.snd_una);
  bool fin = c.fin_sent && len == c.sndbuf.size() && c.snd_una + len + 1 == c.snd_max;
  if (len == 0 && !fin) return;
  for (auto& s : c.sent) {
    if (!after(std::get<0>(s), c.snd_una + static_cast<uint32_t>(len) + (fin ? 1 : 0))) {
      std::get<2>(s) = true;
    }
  }
  uint8_t flags = wire::kTcpAck | (fin ? wire::kTcpFin : 0) | (len > 0 ? wire::kTcpPsh : 0);
  send_segment(c, c.snd_una, flags,
               std::span<const std::byte>(reinterpret_cast<const std::byte*>(c.sndbuf.data()), len),
               true);
  arm_rto(c);
}

void Tcp::schedule_ack(Conn& c, bool immediate) {
  // __tcp_ack_snd_check(): at once for more than one full segment unacknowledged, in quick
  // ACK mode, or when out of order; otherwise the delayed-ACK timer (40 ms).
  c.ack_pending = true;
  uint32_t mss = effective_mss(c);
  if (immediate || c.quick > 0 || c.unacked_bytes > mss) {
    send_ack(c);
    return;
  }
  if (c.timers[1] == 0) set_timer(c, 1, node_.now_ns() + kDelackMinNs);
}

void Tcp::arm_rto(Conn& c) {
  uint64_t rto = std::min<uint64_t>(c.rto_us << std::min(c.backoff, 20), kRtoMaxUs);
  set_timer(c, 0, node_.now_ns() + rto * 1000);
}

void Tcp::set_timer(Conn& c, int which, uint64_t at_ns) {
  c.timers[which] = at_ns;
  uint64_t earliest = 0;
  for (uint64_t t : c.timers) {
    if (t != 0 && (earliest == 0 || t < earliest)) earliest = t;
  }
  if (earliest == c.queued_at) return;
  if (c.queued_at != 0) timer_queue_.erase({c.queued_at, c.id});
  c.queued_at = earliest;
  if (earliest != 0) timer_queue_.insert({earliest, c.id});
}

uint64_t Tcp::next_deadline_ns() const {
  return timer_queue_.empty() ? kNoDeadline : timer_queue_.begin()->first;
}

void Tcp::run_timers(uint64_t now_ns) {
  while (!timer_queue_.empty() && timer_queue_.begin()->first <= now_ns) {
    int id = timer_queue_.begin()->second;
    Conn* c = find(id);
    if (c == nullptr) {
      timer_queue_.erase(timer_queue_.begin());
      continue;
    }
    // Which of its timers are due (in the kernel's order: TIME_WAIT, delayed ACK, retransmit).
    if (c->timers[2] != 0 && c->timers[2] <= now_ns) {
      set_timer(*c, 2, 0);
      node_.trace(TraceStage::Tcp, [&] {
        return fmt::format("{} -> {} {} timer expired", endpoint_text(c->laddr, c->lport),
                           endpoint_text(c->raddr, c->rport), tcp_state_name(c->state));
      });
      if (c->state == TcpState::TimeWait || c->state == TcpState::FinWait2) {
        done(*c, 0);
        c = find(id);
        if (c != nullptr) destroy(*c);
        flush();
        continue;
      }
    }
    if (c->timers[1] != 0 && c->timers[1] <= now_ns) {
      set_timer(*c, 1, 0);
      if (c->ack_pending) {
        ++counters_.delayed_acks;
        send_ack(*c);
      }
    }
    c = find(id);
    if (c != nullptr && c->timers[0] != 0 && c->timers[0] <= now_ns) {
      set_timer(*c, 0, 0);
      if (c->persist) {
        persist_timer(*c);
      } else {
        retransmit_timer(*c);
      }
    }
    flush();
  }
}

void Tcp::retransmit_timer(Conn& c) {
  // tcp_retransmit_timer() / tcp_write_timeout()
  int limit = node_.sysctls().global("tcp_retries2");
  if (c.state == TcpState::SynSent) limit = node_.sysctls().global("tcp_syn_retries");
  if (c.state == TcpState::SynRecv) limit = node_.sysctls().global("tcp_synack_retries");
  if (c.orphan && c.state != TcpState::SynRecv) {
    int orphan = node_.sysctls().global("tcp_orphan_retries");
    limit = orphan == 0 ? 8 : orphan;  // tcp_orphan_retries(): 0 means 8
  }
  if (c.retransmits >= limit) {
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("{} -> {} gave up after {} retransmissions: ETIMEDOUT",
                         endpoint_text(c.laddr, c.lport), endpoint_text(c.raddr, c.rport),
                         c.retransmits);
    });
    if (c.state == TcpState::SynSent) ++counters_.attempt_fails;
    done(c, ETIMEDOUT);
    return;
  }
  ++c.retransmits;
  ++c.backoff;
  ++counters_.timeouts;
  if (c.state == TcpState::SynSent || c.state == TcpState::SynRecv) {
    ++counters_.syn_retrans;
    ++c.retrans_total;
    ++counters_.retrans_segs;
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("{} retransmission {} after {} ms",
                         c.state == TcpState::SynSent ? "SYN" : "SYN-ACK", c.retransmits,
                         (c.rto_us << (c.backoff - 1)) / 1000);
    });
    send_syn(c, c.state == TcpState::SynRecv);
    arm_rto(c);
    return;
  }
  // tcp_enter_loss(): Reno's ssthresh, one segment of window, go back to snd_una.
  c.ssthresh = std::max<uint32_t>(c.cwnd >> 1, 2);
  if (c.in_recovery) c.ssthresh = std::max<uint32_t>(c.ssthresh, 2);
  c.cwnd = 1;
  c.cwnd_cnt = 0;
  c.in_recovery = false;
  c.in_loss = true;
  c.recover = c.snd_max;
  c.dupacks = 0;
  for (auto& s : c.sent) std::get<2>(s) = true;
  node_.trace(TraceStage::Tcp, [&] {
    return fmt::format("retransmission timeout {} (rto {} ms): cwnd 1, ssthresh {}", c.retransmits,
                       (c.rto_us << (c.backoff - 1)) / 1000, c.ssthresh);
  });
  c.snd_nxt = c.snd_una;
  if (c.fin_sent && c.sndbuf.empty()) c.fin_sent = true;
  // Re-send from snd_una (the FIN is re-sent by output() once the data before it is).
  if (c.sndbuf.empty() && c.fin_sent) {
    send_segment(c, c.snd_una, wire::kTcpFin | wire::kTcpAck, {}, true);
    c.snd_nxt = c.snd_una + 1;
    arm_rto(c);
    return;
  }
  uint32_t mss = effective_mss(c);
  size_t len = std::min<size_t>(c.sndbuf.size(), mss);
  bool fin = c.fin_sent && len == c.sndbuf.size();
  uint8_t flags = wire::kTcpAck | wire::kTcpPsh | (fin ? wire::kTcpFin : 0);
  send_segment(c, c.snd_una, flags,
               std::span<const std::byte>(reinterpret_cast<const std::byte*>(c.sndbuf.data()), len),
               true);
  c.snd_nxt = c.snd_una + static_cast<uint32_t>(len) + (fin ? 1 : 0);
  arm_rto(c);
}

void Tcp::persist_timer(Conn& c) {
  // tcp_probe_timer(): a zero-window probe (an old sequence number, no data) makes the peer
  // announce its window.
  if (c.snd_wnd > 0) {
    c.persist = false;
    c.probes = 0;
    output(c);
    return;
  }
  ++c.probes;
  if (c.probes > node_.sysctls().global("tcp_retries2")) {
    done(c, ETIMEDOUT);
    return;
  }
  send_segment(c, c.snd_una - 1, wire::kTcpAck, {}, false);
  uint64_t t = std::min<uint64_t>(std::max<uint64_t>(c.rto_us, kRtoMinUs) << std::min(c.probes, 20),
                                  kRtoMaxUs);
  set_timer(c, 0, node_.now_ns() + t * 1000);
}

void Tcp::notify(Conn& c, TcpEvent event) {
  events_.emplace_back(c.id, event);
}

void Tcp::flush() {
  if (flushing_) return;
  flushing_ = true;
  while (!out_.empty() || !events_.empty()) {
    while (!out_.empty()) {
      Pending p = std::move(out_.front());
      out_.pop_front();
      Node::OutPacket pkt;
      pkt.dst = p.dst;
      pkt.src = p.src;
      pkt.oif = p.oif;
      pkt.protocol = 6;
      pkt.tos = p.tos;
      pkt.ttl = static_cast<uint8_t>(node_.sysctls().global("ip_default_ttl"));
      pkt.dont_fragment = node_.sysctls().global("ip_no_pmtu_disc") == 0;
      pkt.l4 = std::move(p.segment);
      uint32_t path_mtu = 0;
      int rc = node_.send(pkt, nullptr, &path_mtu);
      if (rc == -EMSGSIZE && path_mtu != 0) {
        // The path MTU fell below our segment size: lower the MSS; the segment is resent by
        // the retransmission machinery (tcp_simple_retransmit()).
        wire::TcpConstView v(pkt.l4);
        if (Conn* c = lookup(p.dst, v.destination_port(), p.src, v.source_port())) {
          c->pmtu = path_mtu;
        }
      }
    }
    if (!events_.empty()) {
      auto [id, ev] = events_.front();
      events_.pop_front();
      Conn* c = find(id);
      if (c != nullptr && c->handler) {
        TcpHandler h = c->handler;  // the handler may close the socket
        h(id, ev);
      }
    }
  }
  flushing_ = false;
}

void Tcp::icmp_error(uint8_t type, uint8_t code, uint32_t info, std::span<const std::byte> quoted) {
  // tcp_v4_err(): the quoted header names the connection (we are its source).
  wire::Ipv4ConstView ip(quoted);
  if (ip.check_header() || quoted.size() < ip.header_len_bytes() + 8) return;
  auto l4 = quoted.subspan(ip.header_len_bytes());
  uint16_t sport = wire::load_be16(l4, 0), dport = wire::load_be16(l4, 2);
  uint32_t seq = wire::load_be32(l4, 4);
  Conn* c = lookup(ip.destination(), dport, ip.source(), sport);
  if (c == nullptr) return;
  if (type == 3 && code == 4) {
    // Fragmentation needed: a smaller MSS, and the segment again at once.
    if (info >= 68 && info < c->pmtu) {
      c->pmtu = info;
      node_.trace(TraceStage::Tcp,
                  [&] { return fmt::format("path mtu {}: mss now {}", info, effective_mss(*c)); });
      if (c->snd_una != c->snd_max) {
        c->snd_nxt = c->snd_una;
        output(*c);
      }
    }
    flush();
    return;
  }
  if (type != 3 && type != 11) return;
  if (before(seq, c->snd_una) || after(seq, c->snd_max)) return;
  // icmp_err_convert[]: net/host/protocol/port unreachable and their friends.
  int err = EHOSTUNREACH;
  if (type == 3) {
    switch (code) {
      case 0:
      case 6:
        err = ENETUNREACH;
        break;
      case 2:
        err = ENOPROTOOPT;
        break;
      case 3:
        err = ECONNREFUSED;
        break;
      case 5:
        err = EOPNOTSUPP;
        break;
      case 9:
      case 10:
      case 13:
        err = EHOSTUNREACH;  // administratively prohibited: EACCES is for ping only
        break;
      default:
        err = EHOSTUNREACH;
    }
  }
  if (c->state == TcpState::SynSent || c->state == TcpState::SynRecv) {
    node_.trace(TraceStage::Tcp, [&] {
      return fmt::format("ICMP type {} code {} for the handshake: {}", type, code,
                         std::strerror(err));
    });
    if (c->state == TcpState::SynSent) ++counters_.attempt_fails;
    done(*c, err);
    flush();
    return;
  }
  // Established: a soft error; the retransmissions go on.
}

void Tcp::trace_segment(bool out, const Conn* c, Ipv4Addr src, Ipv4Addr dst, const Segment& s,
                        const char* note) {
  node_.trace(TraceStage::Tcp, [&] {
    std::string opts;
    auto add = [&](const std::string& o) {
      if (!opts.empty()) opts += ',';
      opts += o;
    };
    if (s.mss) add(fmt::format("mss {}", *s.mss));
    if (s.sack_permitted) add("sackOK");
    if (s.has_ts) add("TS");
    if (s.wscale) add(fmt::format("wscale {}", *s.wscale));
    for (auto [a, b] : s.sacks) add(fmt::format("sack {}:{}", a, b));
    std::string text =
        fmt::format("{} {} > {} [{}] seq {}{} win {}{} len {}", out ? "send" : "recv",
                    endpoint_text(src, s.sport), endpoint_text(dst, s.dport), flags_text(s.flags),
                    s.seq, s.has_ack() ? fmt::format(" ack {}", s.ack) : "", s.window,
                    opts.empty() ? "" : " <" + opts + ">", s.payload.size());
    if (c != nullptr) text += fmt::format(" ({})", tcp_state_name(c->state));
    if (note[0] != '\0') text += fmt::format(" {}", note);
    return text;
  });
}

}  // namespace vnet::stack
