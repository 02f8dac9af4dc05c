// Tcp: the TCP endpoints of one Node (net/ipv4/tcp*.c as far as it shows on the wire and in
// `ss`): listeners with a SYN queue and an accept backlog, the three-way handshake with MSS,
// window scaling, SACK-permitted and timestamp options, data with the peer's window and MSS,
// delayed ACKs, retransmission with the kernel's RTT estimator (RFC 6298; 200 ms minimum, 1 s
// initial, exponential backoff), fast retransmit and NewReno recovery on three duplicate ACKs,
// Reno congestion control (initial window 10), FIN in both directions, TIME_WAIT for 60 s, RST
// for segments no socket wants, and ICMP errors (port/host unreachable, fragmentation needed).
//
// Inputs: segments delivered to the node (rcv()), the node's timers, and application calls
// (listen, connect, send, recv, shutdown, close).  Outputs: segments handed to the node's IP
// output (Node::send), and events to each socket's handler.  Applications are callback-driven:
// a handler runs when a socket becomes connected, readable, writable, or fails; it may call
// back into Tcp.
//
// Example: a listener on 10.0.0.2:80 and connect(10.0.0.2, 80) from another node give, after
//   the simulator has run one RTT, Event::Connected on the client and Event::Accept on the
//   listener, whose accept() returns the server's socket in state Established.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::stack {

class Node;

// enum tcp_state (include/net/tcp_states.h), in the kernel's numbering.
enum class TcpState : uint8_t {
  Established = 1,
  SynSent,
  SynRecv,
  FinWait1,
  FinWait2,
  TimeWait,
  Close,
  CloseWait,
  LastAck,
  Listen,
  Closing,
};
// ss's names: "ESTAB", "SYN-SENT", ... "LISTEN".
const char* tcp_state_name(TcpState state);

struct TcpEndpoint {
  net::Ipv4Addr addr;
  uint16_t port = 0;
};

enum class TcpEvent {
  Connected,  // an active open completed
  Accept,     // a listener has a connection to accept()
  Readable,   // data or the peer's FIN arrived
  Writable,   // send buffer space freed
  Error,      // the connection failed or was reset: error() says why
  Closed,     // fully closed (the socket id is still valid until release())
};

using TcpHandler = std::function<void(int sock, TcpEvent event)>;

// What `ss -tan`/`ss -i` show about one socket.
struct TcpSocketInfo {
  int id = 0;
  TcpState state = TcpState::Close;
  TcpEndpoint local, remote;
  size_t recv_q = 0;            // listeners: accept queue length
  size_t send_q = 0;            // listeners: backlog
  uint64_t timer_ns = 0;        // the pending timer (retransmit, delayed ACK, TIME_WAIT), 0 if none
  const char* timer_name = "";  // "on", "keepalive", "timewait", "persist", ""
  int retransmits = 0;          // current backoff count
  uint32_t mss = 0, cwnd = 0, ssthresh = 0;
  uint64_t rtt_us = 0, rttvar_us = 0, rto_us = 0;
  uint64_t bytes_acked = 0, bytes_received = 0, segs_out = 0, segs_in = 0, retrans_total = 0;
  bool orphan = false;  // closed by the application, still in the table
};

// MIB counters (nstat names) the tests and `vnet stats` read.
struct TcpCounters {
  uint64_t active_opens = 0, passive_opens = 0, attempt_fails = 0, estab_resets = 0;
  uint64_t in_segs = 0, out_segs = 0, retrans_segs = 0, in_errs = 0, out_rsts = 0;
  uint64_t listen_overflows = 0, listen_drops = 0, fast_retrans = 0, timeouts = 0;
  uint64_t syn_retrans = 0, delayed_acks = 0, tw_recycled = 0;
};

class Tcp {
 public:
  explicit Tcp(Node& node);
  ~Tcp();
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;

  // ---- sockets ----
  // listen(): addr 0.0.0.0 for any.  Returns the socket id or -EADDRINUSE / -EADDRNOTAVAIL.
  int listen(TcpEndpoint local, int backlog, TcpHandler handler);
  // connect(): binds an ephemeral port unless local.port is set (-EADDRINUSE if taken),
  // chooses the source by routing unless local.addr is set, sends the SYN.  Returns the socket
  // id, or -ENETUNREACH etc. when there is no route (the SYN is never sent).
  int connect(TcpEndpoint remote, TcpEndpoint local, int bind_ifindex, TcpHandler handler);
  // A connection waiting in a listener's accept queue, or -EAGAIN.
  int accept(int listener, TcpHandler handler);
  // Queues data; returns the bytes taken (limited by the send buffer), or -EPIPE / -ENOTCONN.
  long send(int sock, std::span<const std::byte> data);
  long send(int sock, std::string_view text);
  // Takes up to max bytes of in-order received data.
  std::string recv(int sock, size_t max = SIZE_MAX);
  size_t readable_bytes(int sock) const;
  // The peer sent FIN and every byte before it was read.
  bool peer_closed(int sock) const;
  // shutdown(SHUT_WR): FIN after the queued data.
  void shutdown(int sock);
  // close(): shutdown and forget the socket (the connection lives on as an orphan through
  // FIN_WAIT and TIME_WAIT).  Unread received data makes close() send RST, as Linux does.
  void close(int sock);
  // SO_LINGER 0: RST now.
  void abort(int sock);
  void set_nodelay(int sock, bool on);
  // Replaces the socket's event handler (a connection handed from one user to the next).
  void set_handler(int sock, TcpHandler handler);

  TcpState state(int sock) const;
  int error(int sock) const;  // 0 or a positive errno (ECONNREFUSED, ETIMEDOUT, ...)
  TcpEndpoint local(int sock) const;
  TcpEndpoint remote(int sock) const;
  bool exists(int sock) const;
  std::vector<TcpSocketInfo> sockets() const;
  const TcpCounters& counters() const { return counters_; }

  // ---- driven by the Node ----
  // A segment for a local address (the IP header already checked and stripped).  ifindex is
  // the input device.
  void rcv(int ifindex, net::Ipv4Addr src, net::Ipv4Addr dst, uint8_t tos,
           std::span<const std::byte> segment);
  // An ICMP error quoting a segment we sent: type/code and, for fragmentation needed, the MTU.
  void icmp_error(uint8_t type, uint8_t code, uint32_t info, std::span<const std::byte> quoted_ip);
  uint64_t next_deadline_ns() const;
  void run_timers(uint64_t now_ns);

 private:
  struct Conn;
  struct Segment;

  Conn* find(int sock);
  const Conn* find(int sock) const;
  Conn* lookup(net::Ipv4Addr saddr, uint16_t sport, net::Ipv4Addr daddr, uint16_t dport);
  Conn* lookup_listener(net::Ipv4Addr daddr, uint16_t dport);
  Conn& create(TcpState state);
  void destroy(Conn& c);
  uint16_t ephemeral_port(net::Ipv4Addr laddr, net::Ipv4Addr raddr, uint16_t rport);
  bool port_in_use(net::Ipv4Addr laddr, uint16_t lport) const;

  // Input processing (tcp_rcv_state_process and friends).
  void rcv_listen(Conn& listener, const Segment& seg);
  void rcv_syn_sent(Conn& c, const Segment& seg);
  void rcv_established(Conn& c, const Segment& seg);
  void rcv_time_wait(Conn& c, const Segment& seg);
  bool ack_update(Conn& c, const Segment& seg);
  void data_queue(Conn& c, const Segment& seg);
  void rtt_sample(Conn& c, uint64_t rtt_us);
  void enter_time_wait(Conn& c);
  void done(Conn& c, int err);
  void reset_conn(Conn& c, int err);

  // Output.
  void output(Conn& c);  // tcp_write_xmit: new data, FIN
  void send_segment(Conn& c, uint32_t seq, uint8_t flags, std::span<const std::byte> data,
                    bool retransmission);
  void send_ack(Conn& c);
  void send_syn(Conn& c, bool synack);
  void send_rst_for(net::Ipv4Addr src, net::Ipv4Addr dst, const Segment& seg);
  void retransmit_head(Conn& c);
  void schedule_ack(Conn& c, bool immediate);
  void arm_rto(Conn& c);
  void retransmit_timer(Conn& c);
  void persist_timer(Conn& c);
  uint16_t window_to_advertise(Conn& c);
  uint32_t effective_mss(const Conn& c) const;
  uint32_t flight(const Conn& c) const;
  uint32_t sacked_bytes(const Conn& c) const;
  bool sack_update(Conn& c, const Segment& seg);
  void prune_sacked(Conn& c);
  void sack_output(Conn& c);
  void set_timer(Conn& c, int which, uint64_t at_ns);
  void notify(Conn& c, TcpEvent event);
  void flush();
  uint32_t ts_now(const Conn& c) const;
  void trace_segment(bool out, const Conn* c, net::Ipv4Addr src, net::Ipv4Addr dst,
                     const Segment& seg, const char* note);

  Node& node_;
  std::map<int, std::unique_ptr<Conn>> conns_;
  // (laddr, lport, raddr, rport) -> socket for connections, (laddr, lport) for listeners.
  std::map<std::tuple<uint32_t, uint16_t, uint32_t, uint16_t>, int> established_;
  std::map<std::pair<uint32_t, uint16_t>, int> listeners_;
  std::set<std::pair<uint64_t, int>> timer_queue_;  // (deadline, socket id)
  int next_id_ = 1;
  TcpCounters counters_;
  // Segments built while handling an event, sent once it is handled (a loopback segment may
  // be delivered while we send, and re-enter rcv()).
  struct Pending {
    net::Ipv4Addr src, dst;
    uint8_t tos = 0;
    int oif = 0;
    std::vector<std::byte> segment;
  };
  std::deque<Pending> out_;
  bool flushing_ = false;
  std::deque<std::pair<int, TcpEvent>> events_;
  net::Ipv4Addr current_src_, current_dst_;  // the segment rcv() is handling
};

}  // namespace vnet::stack
