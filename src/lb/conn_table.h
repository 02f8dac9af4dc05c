// The IPVS connection table of one node (net/netfilter/ipvs/ip_vs_conn.c): one entry per
// client flow a virtual service scheduled, naming the real server it goes to, plus the
// persistence templates (-p) that pin a client (or its -M network) to a server.
//
// Input: lookups from the packet path (in: client -> virtual address; out: a NAT real server's
// reply), new entries bound to a real server, state changes the packet path derives from TCP
// flags, and the virtual time.  Output: the entry, the real servers' ActiveConn/InActConn/
// PersistConn counters and OVERLOAD flag kept as ip_vs_bind_dest()/ip_vs_unbind_dest() keep
// them, and the listing /proc/net/ip_vs_conn prints.
//
// Timers follow the kernel: every packet re-arms the entry's timer with its state's timeout
// (ip_vs_conn_put()); an expiring template that still controls connections waits another 60 s;
// a connection whose real server was deleted keeps a reference to it (the kernel's dest trash).
//
// Example: create({tcp 10.0.0.1:40000 -> 192.168.73.120:80}, web1, Tunnel) gives an INACTIVE
// entry (web1's InActConn 1); set_tcp_state(Input, ACK) after the SYN makes it ESTABLISHED and
// moves it to ActiveConn.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "lb/conn_state.h"
#include "net/ipv4_addr.h"

namespace vnet::lb {

struct RealServer;

// IP_VS_CONN_F_*
enum ConnFlag : uint32_t {
  kConnFwdMask = 0x0007,
  kConnMasq = 0x0000,
  kConnLocalNode = 0x0001,
  kConnTunnel = 0x0002,
  kConnDroute = 0x0003,
  kConnBypass = 0x0004,
  kConnHashed = 0x0040,
  kConnNoOutput = 0x0080,
  kConnInactive = 0x0100,
  kConnNoCport = 0x0800,
  kConnTemplate = 0x1000,
  kConnOnePacket = 0x2000,
};

// Template states (IP_VS_CTPL_S_*).
enum class TemplateState : uint8_t { None = 0, Assured = 1 };

// The flow a connection is keyed by: the client's side (caddr:cport -> vaddr:vport).  A
// template has cport 0 and caddr masked by -M; a fwmark template has protocol 0 and the mark
// in vaddr.
struct ConnKey {
  uint8_t protocol = 6;
  net::Ipv4Addr caddr, vaddr;
  uint16_t cport = 0, vport = 0;
  auto tie() const { return std::tie(protocol, caddr, vaddr, cport, vport); }
  bool operator<(const ConnKey& o) const { return tie() < o.tie(); }
  bool operator==(const ConnKey& o) const { return tie() == o.tie(); }
};

struct Connection {
  ConnKey key;
  net::Ipv4Addr daddr;  // the real server
  uint16_t dport = 0;
  uint32_t flags = 0;  // ConnFlag
  uint32_t fwmark = 0;
  // TcpConnState for TCP, 0 ("UDP") for UDP, TemplateState for templates.
  uint8_t state = 0;
  uint64_t timeout_ns = 3'000'000'000;  // ip_vs_conn_new(): 3 s until the first state
  uint64_t expires_ns = 0;
  // When the table's timer index next looks at it (<= expires_ns; UINT64_MAX: not queued).
  uint64_t timer_at_ns = UINT64_MAX;
  std::shared_ptr<RealServer> dest;  // null for bypass entries
  Connection* control = nullptr;     // the template this connection was scheduled through
  int n_control = 0;                 // connections this template controls
  uint64_t in_pkts = 0;
  uint64_t id = 0;  // creation sequence, for deterministic timer order

  bool is_template() const { return (flags & kConnTemplate) != 0; }
  uint32_t fwd() const { return flags & kConnFwdMask; }
  TcpConnState tcp_state() const { return static_cast<TcpConnState>(state); }
};

// The per-protocol timeouts ipvsadm --set changes, in seconds.
struct ConnTimeouts {
  uint32_t tcp_established_s = 900, tcp_fin_wait_s = 120, udp_s = 300;
};

class ConnTable {
 public:
  ConnTable() = default;
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;
  ~ConnTable();

  // ip_vs_conn_in_get(): a connection (not a template) for a client's packet; nullptr if none.
  Connection* in_get(const ConnKey& key) const;
  // ip_vs_conn_out_get(): the connection a real server's reply belongs to, matched on the
  // reply's source (daddr:dport for NAT, vaddr:vport otherwise) and destination (the client).
  Connection* out_get(uint8_t protocol, net::Ipv4Addr src, uint16_t sport, net::Ipv4Addr dst,
                      uint16_t dport) const;
  // ip_vs_ct_in_get(): a persistence template.
  Connection* template_get(const ConnKey& key) const;

  // ip_vs_conn_new() + ip_vs_bind_dest(): `dest_flags` are the real server's conn_flags
  // (forwarding method, NOOUTPUT unless NAT, INACTIVE).  A ONE_PACKET entry is not hashed: no
  // lookup finds it, and release() frees it after its packet.
  Connection* create(const ConnKey& key, net::Ipv4Addr daddr, uint16_t dport, uint32_t flags,
                     std::shared_ptr<RealServer> dest, uint32_t fwmark, uint64_t now_ns);
  // ip_vs_control_add(): conn is scheduled through template ct.
  static void control_add(Connection& conn, Connection& ct);

  // set_tcp_state(): the IPVS TCP state machine for one segment, moving the entry between its
  // real server's active and inactive counters and setting its timeout.
  void set_tcp_state(Connection& c, ConnDirection dir, TcpFlagsSeen flags, bool secure_tcp);
  // udp_state_transition(): every datagram sets the UDP timeout; a reply assures the template.
  void set_udp_state(Connection& c, ConnDirection dir);
  // ip_vs_conn_put(): after a packet, re-arm the timer at now + timeout (ONE_PACKET entries
  // are freed instead).
  void put(Connection& c, uint64_t now_ns);
  // ip_vs_conn_expire_now(): the timer fires at the next run_timers().  The entry stops
  // matching lookups at once, so a rescheduled SYN gets a new entry.
  void expire_now(Connection& c, uint64_t now_ns);
  // ip_vs_check_template()'s invalidation: the template no longer matches (ports FFFF) and
  // dies on its own timer.
  void invalidate_template(Connection& ct);

  // Expires due entries (ip_vs_conn_expire).
  void run_timers(uint64_t now_ns);
  uint64_t next_deadline_ns() const;
  // ipvsadm -C / module unload: every entry goes, counters are released.
  void flush();
  // expire_nodest_conn's flush: entries whose real server is no longer available (and that
  // control nothing) go now.
  void expire_unavailable();

  ConnTimeouts& timeouts() { return timeouts_; }
  const ConnTimeouts& timeouts() const { return timeouts_; }
  // Entries, newest first (the kernel walks hash buckets; vnet lists in creation order).
  const std::list<Connection>& entries() const { return conns_; }
  size_t size() const { return conns_.size(); }

 private:
  uint64_t state_timeout_ns(const Connection& c) const;
  using OutKey = std::tuple<uint8_t, uint32_t, uint16_t, uint32_t, uint16_t>;
  static OutKey out_key(const Connection& c);
  void link(Connection& c);
  void unlink(Connection& c);
  void arm(Connection& c, uint64_t at_ns);
  void destroy(std::list<Connection>::iterator it);
  void expire(Connection& c, uint64_t now_ns);
  // Re-queues the front entries whose connection was re-armed, so the front is a real expiry.
  void settle_timers() const;

  std::list<Connection> conns_;
  // Lookup indices: the newest entry for a key (older duplicates are shadowed until they die).
  std::map<ConnKey, Connection*> in_, templates_;
  // Reply lookups: (protocol, reply source, reply source port, client, client port).
  std::map<OutKey, Connection*> out_;
  // (when to look, id): an entry is looked at no later than it expires; a later expiry (every
  // packet re-arms the timer) only moves expires_ns, and the look re-queues it.
  mutable std::set<std::pair<uint64_t, uint64_t>> timers_;
  std::map<uint64_t, std::list<Connection>::iterator> by_id_;  // every entry, by its id
  uint64_t next_id_ = 1;
  ConnTimeouts timeouts_;
};

// /proc/net/ip_vs_conn: header and one line per hashed entry (ip_vs_conn_seq_show()).
std::string proc_ip_vs_conn(const ConnTable& table, uint64_t now_ns);

}  // namespace vnet::lb
