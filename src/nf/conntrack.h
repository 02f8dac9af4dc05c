// The connection tracking table (net/netfilter/nf_conntrack_core.c): tuples, entries and the
// per-protocol state that decides timeouts and the ASSURED bit.
//
// Input: tuples extracted from packets by nat_packet.h.  State: entries keyed by both of their
// tuples (original and reply), in creation order for listing.  An entry is allocated when the
// first packet of a flow is seen (counted against nf_conntrack_max right away, as
// __nf_conntrack_alloc() does), travels with that packet unconfirmed, and is inserted into the
// table ("confirmed") at POSTROUTING/INPUT.  Example: a UDP datagram 10.0.0.2:40001 ->
// 10.0.1.2:53 gives the original tuple {10.0.0.2, 10.0.1.2, udp, 40001, 53} and, before NAT, the
// reply tuple {10.0.1.2, 10.0.0.2, udp, 53, 40001}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "net/ipv4_addr.h"

namespace vnet::nf {

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;

// struct nf_conntrack_tuple for IPv4.  For TCP/UDP the keys are the ports; for ICMP `src_key` is
// the echo identifier and `dst_key` holds type << 8 | code (the kernel's dst.u.icmp); for other
// protocols both are 0.
struct Tuple {
  net::Ipv4Addr src{};
  net::Ipv4Addr dst{};
  uint16_t src_key = 0;
  uint16_t dst_key = 0;
  uint8_t protocol = 0;

  uint8_t icmp_type() const { return static_cast<uint8_t>(dst_key >> 8); }
  uint8_t icmp_code() const { return static_cast<uint8_t>(dst_key & 0xff); }
  friend bool operator==(const Tuple&, const Tuple&) = default;
};

struct TupleHash {
  size_t operator()(const Tuple& t) const;
};

// nf_ct_invert_tuple(): swaps addresses and keys; ICMP swaps request and reply types
// (8 <-> 0, 13 <-> 14, 15 <-> 16, 17 <-> 18) and keeps the identifier.  nullopt for an ICMP type
// that has no reply (the kernel refuses to track it).
std::optional<Tuple> invert(const Tuple& t);

enum class Dir : uint8_t { Original = 0, Reply = 1 };
// Which end a NAT binding rewrites (enum nf_nat_manip_type).
enum class Manip : uint8_t { Src, Dst };
inline Dir opposite(Dir d) {
  return d == Dir::Original ? Dir::Reply : Dir::Original;
}

// enum tcp_conntrack, in the kernel's order (the transition table indexes by it).
enum class TcpState : uint8_t {
  None,
  SynSent,
  SynRecv,
  Established,
  FinWait,
  CloseWait,
  LastAck,
  TimeWait,
  Close,
  SynSent2,
};
const char* to_string(TcpState state);

// ct->status bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
namespace ct_status {
inline constexpr uint32_t kSeenReply = 1u << 1;
inline constexpr uint32_t kAssured = 1u << 2;
inline constexpr uint32_t kConfirmed = 1u << 3;
inline constexpr uint32_t kSrcNat = 1u << 4;
inline constexpr uint32_t kDstNat = 1u << 5;
inline constexpr uint32_t kNatMask = kSrcNat | kDstNat;
inline constexpr uint32_t kSrcNatDone = 1u << 7;
inline constexpr uint32_t kDstNatDone = 1u << 8;
inline constexpr uint32_t kDying = 1u << 9;
}  // namespace ct_status

// struct nf_conn, reduced to what vnet tracks.
// Allocated with std::make_shared (ConntrackTable::allocate); a lookup hands out
// shared_from_this().
struct Conn : std::enable_shared_from_this<Conn> {
  Tuple tuple[2];  // indexed by Dir
  uint32_t status = 0;
  uint64_t deadline_ns = 0;  // expired when now >= deadline (nf_ct_is_expired)
  uint64_t created_ns = 0;
  uint64_t udp_stream_ns = 0;  // ct->proto.udp.stream_ts: creation + 2 s
  uint64_t id = 0;             // creation order; the listing order
  TcpState tcp_state = TcpState::None;
  bool tcp_close_init = false;   // IP_CT_TCP_FLAG_CLOSE_INIT seen (a FIN started the close)
  bool tcp_last_rst = false;     // the last packet was a RST
  int masq_ifindex = 0;          // nf_conn_nat.masq_index: flushed when the device goes down
  std::shared_ptr<size_t> live;  // the table's allocation count, decremented on destruction

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (live) --*live;
  }

  const Tuple& original() const { return tuple[0]; }
  const Tuple& reply() const { return tuple[1]; }
  bool has(uint32_t bit) const { return (status & bit) != 0; }
  bool confirmed() const { return has(ct_status::kConfirmed); }
};

// `conntrack -S` fields (struct ip_conntrack_stat), for cpu=0.
struct ConntrackStats {
  uint64_t found = 0;
  uint64_t invalid = 0;
  uint64_t insert = 0;
  uint64_t insert_failed = 0;
  uint64_t drop = 0;
  uint64_t early_drop = 0;
  uint64_t error = 0;
  uint64_t search_restart = 0;
  uint64_t clash_resolve = 0;
  uint64_t chaintoolong = 0;
};

// The tuple -> entry index of ConntrackTable: open addressing with linear probing, at most half
// full, with backward-shift deletion.  Each tuple is in it at most once.
class TupleIndex {
 public:
  Conn* find(const Tuple& tuple) const;
  // `tuple` must not be in the index.
  void insert(const Tuple& tuple, Conn* conn);
  // Removes `tuple` if it maps to `conn`.
  void erase(const Tuple& tuple, const Conn* conn);
  size_t size() const { return size_; }

 private:
  struct Slot {
    Tuple tuple;
    Conn* conn = nullptr;  // nullptr: empty
  };
  size_t home(const Tuple& tuple) const { return TupleHash{}(tuple) & (slots_.size() - 1); }
  void place(const Tuple& tuple, Conn* conn);

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

class ConntrackTable {
 public:
  ConntrackTable();

  // The entry holding `tuple` in either direction, after removing it if it expired.
  std::shared_ptr<Conn> find(const Tuple& tuple, uint64_t now_ns, Dir* dir);
  // nf_conntrack_tuple_taken(): a live confirmed entry other than `ignore` holds `tuple`.
  bool taken(const Tuple& tuple, const Conn* ignore, uint64_t now_ns);
  // A new unconfirmed entry, counted from now on (nf_conntrack_max applies to this count).
  std::shared_ptr<Conn> allocate(const Tuple& original, uint64_t now_ns);
  // __nf_conntrack_confirm(): false when either tuple is already in the table.
  bool insert(const std::shared_ptr<Conn>& conn);
  // Removes a confirmed entry (nf_ct_delete) and marks it dying.
  void remove(Conn& conn);
  // Deletes the oldest confirmed entry that is not ASSURED (early_drop()); false when none.
  bool early_drop(uint64_t now_ns);
  void expire(uint64_t now_ns);
  void clear();

  // Allocated entries: confirmed ones plus unconfirmed ones still attached to packets.
  size_t allocated() const { return *live_; }
  size_t confirmed_count() const { return entries_.size(); }
  // Confirmed entries in listing order.
  void for_each(const std::function<void(Conn&)>& fn) const;

 private:
  void unlink(Conn& conn);

  TupleIndex by_tuple_;
  std::map<uint64_t, std::shared_ptr<Conn>> entries_;
  std::shared_ptr<size_t> live_;
  uint64_t next_id_ = 1;
};

}  // namespace vnet::nf
