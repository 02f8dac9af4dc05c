#include "nf/netfilter.h"

#include <algorithm>
#include <cerrno>
#include <climits>

#include <fmt/format.h>

#include "nf/nat_packet.h"
#include "wire/endian.h"

namespace vnet::nf {

namespace {

// tcp_conntracks[dir][index][old_state] (nf_conntrack_proto_tcp.c), written from its documented
// transitions.  Index: SYN, SYN+ACK, FIN, ACK, RST, none of these.
enum TcpIndex { kSyn, kSynAck, kFin, kAck, kRst, kNone };
enum : uint8_t { sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2, sIV, sIG };

constexpr uint8_t kTcpTable[2][6][10] = {
    {
        // original: sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
        /*syn*/ {sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2},
        /*synack*/ {sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR},
        /*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
        /*ack*/ {sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV},
        /*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
        /*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
    },
    {
        // reply:   sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
        /*syn*/ {sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2},
        /*synack*/ {sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR},
        /*fin*/ {sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV},
        /*ack*/ {sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG},
        /*rst*/ {sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL},
        /*none*/ {sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV},
    },
};

TcpIndex tcp_index(uint8_t flags) {
  if (flags & 0x04) return kRst;
  if (flags & 0x02) return (flags & 0x10) ? kSynAck : kSyn;
  if (flags & 0x01) return kFin;
  if (flags & 0x10) return kAck;
  return kNone;
}

// tcp_valid_flags[]: the flag combinations tcp_error() accepts (PSH, ECE, CWR ignored).
bool tcp_flags_valid(uint8_t flags) {
  constexpr uint8_t kFin = 0x01, kSynF = 0x02, kRstF = 0x04, kAckF = 0x10, kUrg = 0x20;
  uint8_t f = flags & (kFin | kSynF | kRstF | kAckF | kUrg);
  switch (f) {
    case kSynF:
    case kSynF | kUrg:
    case kSynF | kAckF:
    case kRstF:
    case kRstF | kAckF:
    case kFin | kAckF:
    case kFin | kAckF | kUrg:
    case kAckF:
    case kAckF | kUrg:
      return true;
    default:
      return false;
  }
}

uint32_t tcp_timeout_s(const Config& c, TcpState state) {
  switch (state) {
    case TcpState::SynSent:
    case TcpState::SynSent2:
      return c.tcp_timeout_syn_sent_s;
    case TcpState::SynRecv:
      return c.tcp_timeout_syn_recv_s;
    case TcpState::Established:
      return c.tcp_timeout_established_s;
    case TcpState::FinWait:
      return c.tcp_timeout_fin_wait_s;
    case TcpState::CloseWait:
      return c.tcp_timeout_close_wait_s;
    case TcpState::LastAck:
      return c.tcp_timeout_last_ack_s;
    case TcpState::TimeWait:
      return c.tcp_timeout_time_wait_s;
    case TcpState::Close:
      return c.tcp_timeout_close_s;
    case TcpState::None:
      break;
  }
  return c.tcp_timeout_close_s;
}

enum class L4Result { Accept, Invalid, Repeat };

// Whether the first packet of a flow may create an entry (tcp_new(), icmp valid_new[]).
bool can_create(const ParsedPacket& p, const Config& config) {
  if (p.tuple.protocol == kProtoTcp) {
    uint8_t s = kTcpTable[0][tcp_index(p.tcp_flags)][sNO];
    if (s == sIV || s == sIG) return false;
    if (s == sES && config.tcp_loose == 0) return false;
    return true;
  }
  if (p.tuple.protocol == kProtoIcmp) {
    uint8_t type = p.icmp_type;
    return type == 8 || type == 13 || type == 15 || type == 17;
  }
  return true;
}

std::string tuple_text(const Tuple& t) {
  if (t.protocol == kProtoTcp || t.protocol == kProtoUdp) {
    return fmt::format("{} src={} dst={} sport={} dport={}",
                       t.protocol == kProtoTcp ? "tcp" : "udp", t.src.to_string(),
                       t.dst.to_string(), t.src_key, t.dst_key);
  }
  if (t.protocol == kProtoIcmp) {
    return fmt::format("icmp src={} dst={} type={} code={} id={}", t.src.to_string(),
                       t.dst.to_string(), t.icmp_type(), t.icmp_code(), t.src_key);
  }
  return fmt::format("proto {} src={} dst={}", t.protocol, t.src.to_string(), t.dst.to_string());
}

const char* info_text(CtInfo info) {
  switch (info) {
    case CtInfo::Untracked:
      return "untracked";
    case CtInfo::Invalid:
      return "invalid";
    case CtInfo::New:
      return "new";
    case CtInfo::Established:
      return "established";
    case CtInfo::EstablishedReply:
      return "established reply";
    case CtInfo::Related:
      return "related";
    case CtInfo::RelatedReply:
      return "related reply";
  }
  return "";
}

// The manipulated end's address (and key) within the range (nf_nat_inet_in_range and
// nf_nat_l4proto_in_range).
bool addr_in_range(const Tuple& t, const NatRange& r, Manip m) {
  if (!r.has_addr) return true;
  net::Ipv4Addr a = m == Manip::Src ? t.src : t.dst;
  return a >= r.min_addr && a <= r.max_addr;
}

bool key_in_range(const Tuple& t, const NatRange& r, Manip m) {
  uint16_t key;
  if (t.protocol == kProtoIcmp) {
    key = t.src_key;
  } else if (t.protocol == kProtoTcp || t.protocol == kProtoUdp) {
    key = m == Manip::Src ? t.src_key : t.dst_key;
  } else {
    return true;
  }
  return key >= r.min_port && key <= r.max_port;
}

uint32_t hash_addrs(net::Ipv4Addr a, net::Ipv4Addr b) {
  uint64_t h = (uint64_t{a.value()} << 32 | b.value()) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(h >> 32);
}

}  // namespace

Netfilter::Netfilter() = default;

uint16_t Netfilter::random16() {
  if (!rng_seeded_) {
    rng_state_ = config_.port_seed;
    rng_seeded_ = true;
  }
  // splitmix64: deterministic for a seed, so runs are reproducible.
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return static_cast<uint16_t>((z ^ (z >> 31)) >> 16);
}

bool Netfilter::used(const Tuple& tuple, const Conn& conn, uint64_t now_ns) {
  auto reply = invert(tuple);
  if (!reply) return false;
  return table_.taken(*reply, &conn, now_ns);
}

Tuple Netfilter::unique_tuple(const Conn& conn, const Tuple& original, const NatRange& range,
                              Manip m, uint64_t now_ns) {
  const bool random_all = range.random || range.random_fully;
  // 1. Keep the tuple when it already fits the range and is free (port preservation).
  if (m == Manip::Src && !random_all && addr_in_range(original, range, m) &&
      (!range.has_ports || key_in_range(original, range, m)) && !used(original, conn, now_ns)) {
    return original;
  }
  // 2. find_best_ips_proto(): one address of the range, by a hash of the flow's addresses so
  // that a client keeps its address.
  Tuple t = original;
  if (range.has_addr) {
    net::Ipv4Addr chosen = range.min_addr;
    if (range.max_addr > range.min_addr) {
      uint64_t dist = uint64_t{range.max_addr.value()} - range.min_addr.value() + 1;
      uint32_t j = hash_addrs(original.src, range.persistent ? net::Ipv4Addr() : original.dst);
      chosen = net::Ipv4Addr(range.min_addr.value() + static_cast<uint32_t>((j * dist) >> 32));
    }
    (m == Manip::Src ? t.src : t.dst) = chosen;
  }
  if (!random_all) {
    if (range.has_ports) {
      if (key_in_range(t, range, m) &&
          (range.min_port == range.max_port || !used(t, conn, now_ns))) {
        return t;
      }
    } else if (!used(t, conn, now_ns)) {
      return t;
    }
  }
  // 3. nf_nat_l4proto_unique_tuple().
  if (t.protocol == kProtoIcmp) {
    uint32_t min = range.has_ports ? range.min_port : 0;
    uint32_t size = range.has_ports ? uint32_t{range.max_port} - range.min_port + 1 : 65536;
    uint32_t id = random16();
    for (uint32_t i = 0;; ++id) {
      t.src_key = static_cast<uint16_t>(min + id % size);
      if (++i == size || !used(t, conn, now_ns)) return t;
    }
  }
  if (t.protocol != kProtoTcp && t.protocol != kProtoUdp) return t;
  uint16_t& key = m == Manip::Src ? t.src_key : t.dst_key;
  uint32_t min;
  uint32_t size;
  if (range.has_ports) {
    min = range.min_port;
    size = uint32_t{range.max_port} - range.min_port + 1;
  } else {
    if (m == Manip::Dst) return t;  // a destination port is never changed without a range
    // Loose convention: ports below 512 (credential passing) and 600-1023 keep their class.
    if (key < 1024) {
      if (key < 512) {
        min = 1;
        size = 511;
      } else {
        min = 600;
        size = 1023 - 600 + 1;
      }
    } else {
      min = 1024;
      size = 65535 - 1024 + 1;
    }
  }
  uint32_t off = (random_all || m != Manip::Dst) ? random16() : 0;
  uint32_t attempts = std::min<uint32_t>(size, 128);
  for (;;) {
    for (uint32_t i = 0; i < attempts; ++i, ++off) {
      key = static_cast<uint16_t>(min + off % size);
      if (!used(t, conn, now_ns)) return t;
    }
    if (attempts >= size || attempts < 16) break;
    attempts /= 2;
    off = random16();
  }
  // vnet addition: the kernel gives up here and lets confirmation fail; scanning the whole range
  // keeps mappings collision-free while any port is free.
  for (uint32_t i = 0; i < size; ++i) {
    key = static_cast<uint16_t>(min + i);
    if (!used(t, conn, now_ns)) return t;
  }
  return t;
}

void Netfilter::setup_nat(Conn& conn, const NatRange& range, Manip m, uint64_t now_ns) {
  // nf_nat_setup_info(): the current tuple is the inverse of the reply tuple (it includes an
  // earlier manipulation of the other end).
  Tuple current = invert(conn.tuple[1]).value_or(conn.tuple[0]);
  Tuple chosen = unique_tuple(conn, current, range, m, now_ns);
  if (!(chosen == current)) {
    if (auto reply = invert(chosen)) {
      conn.tuple[1] = *reply;
      conn.status |= m == Manip::Src ? ct_status::kSrcNat : ct_status::kDstNat;
    }
  }
  conn.status |= m == Manip::Src ? ct_status::kSrcNatDone : ct_status::kDstNatDone;
}

Verdict Netfilter::conntrack_in(std::span<std::byte> packet, Hook hook, uint64_t now_ns,
                                PacketCt& ct, HookTrace* trace) {
  if (ct.looked_up_) return Verdict::Accept;  // already attached (looped back), as skb->_nfct
  ct.looked_up_ = true;
  ParsedPacket p = parse_packet(packet, config_.checksum != 0 && hook == Hook::PreRouting);
  if (p.status == ParseStatus::Fragment) {
    ct.info_ = CtInfo::Untracked;
    if (trace) trace->lines.emplace_back("conntrack: fragment, not tracked");
    return Verdict::Accept;
  }
  if (p.status == ParseStatus::Invalid) {
    ++stats_.invalid;
    ct.info_ = CtInfo::Invalid;
    if (trace) trace->lines.emplace_back("conntrack: invalid packet");
    return Verdict::Accept;
  }
  if (p.icmp_error) {
    // nf_conntrack_inet_error(): the quoted datagram travelled the other way, so look up its
    // inverse; the entry's tuple in that direction must be addressed to the error's receiver.
    auto inverse = invert(*p.inner);
    Dir dir = Dir::Original;
    std::shared_ptr<Conn> conn = inverse ? table_.find(*inverse, now_ns, &dir) : nullptr;
    if (!conn || conn->tuple[static_cast<int>(dir)].dst != p.tuple.dst) {
      ct.info_ = CtInfo::Invalid;
      if (trace) trace->lines.emplace_back("conntrack: icmp error not related to a tracked flow");
      return Verdict::Accept;
    }
    ct.conn_ = std::move(conn);
    ct.info_ = dir == Dir::Reply ? CtInfo::RelatedReply : CtInfo::Related;
    if (trace) {
      trace->lines.push_back(
          fmt::format("conntrack: {} to {}", info_text(ct.info_), tuple_text(ct.conn_->tuple[0])));
    }
    return Verdict::Accept;
  }
  for (int round = 0; round < 2; ++round) {
    Dir dir = Dir::Original;
    std::shared_ptr<Conn> conn = table_.find(p.tuple, now_ns, &dir);
    if (!conn) {
      if (!can_create(p, config_) || !invert(p.tuple)) {
        ++stats_.invalid;
        ct.info_ = CtInfo::Invalid;
        if (trace) trace->lines.emplace_back("conntrack: invalid, cannot start a connection");
        return Verdict::Accept;
      }
      // __nf_conntrack_alloc(): the count includes this entry from allocation on.
      if (config_.max != 0 && table_.allocated() + 1 > config_.max) {
        if (!table_.early_drop(now_ns)) {
          ++stats_.drop;
          if (trace) trace->lines.emplace_back("nf_conntrack: table full, dropping packet");
          return Verdict::Drop;
        }
        ++stats_.early_drop;
        if (trace)
          trace->lines.emplace_back("conntrack: table full, early drop of an unassured entry");
      }
      conn = table_.allocate(p.tuple, now_ns);
      dir = Dir::Original;
      if (trace) trace->lines.push_back("conntrack: new " + tuple_text(p.tuple));
    }
    Conn& c = *conn;
    L4Result result = L4Result::Accept;
    switch (p.tuple.protocol) {
      case kProtoIcmp:
        c.deadline_ns = now_ns + timeout_ns(config_.icmp_timeout_s);
        break;
      case kProtoUdp:
        // nf_conntrack_udp_packet(): a flow that saw a reply and lives beyond 2 s is a stream.
        if (c.has(ct_status::kSeenReply)) {
          uint32_t extra = config_.udp_timeout_s;
          bool stream = false;
          if (now_ns > c.udp_stream_ns) {
            extra = config_.udp_timeout_stream_s;
            stream = !c.has(ct_status::kAssured);
          }
          c.deadline_ns = now_ns + timeout_ns(extra);
          if (stream) c.status |= ct_status::kAssured;
        } else {
          c.deadline_ns = now_ns + timeout_ns(config_.udp_timeout_s);
        }
        break;
      case kProtoTcp: {
        if (!tcp_flags_valid(p.tcp_flags)) {
          result = L4Result::Invalid;
          break;
        }
        TcpIndex index = tcp_index(p.tcp_flags);
        uint8_t old_state = static_cast<uint8_t>(c.tcp_state);
        uint8_t new_state = kTcpTable[static_cast<int>(dir)][index][old_state];
        if (new_state == sSS && old_state >= sTW) {
          // Reopening a closed connection: delete this entry and look up again.
          if (c.tcp_close_init || c.tcp_last_rst) {
            table_.remove(c);
            result = L4Result::Repeat;
            break;
          }
          new_state = sIG;
        }
        if (new_state == sIV) {
          result = L4Result::Invalid;
          break;
        }
        if (new_state == sIG) break;  // accepted, state and timeout unchanged
        c.tcp_state = static_cast<TcpState>(new_state);
        if (old_state != new_state && new_state == sFW) c.tcp_close_init = true;
        c.tcp_last_rst = index == kRst;
        if (!c.has(ct_status::kSeenReply)) {
          // "If only reply is a RST, we can consider ourselves not to have an established
          // connection": the entry is deleted at once.
          if (index == kRst) {
            table_.remove(c);
            break;
          }
        } else if (!c.has(ct_status::kAssured) && (old_state == sSR || old_state == sES) &&
                   new_state == sES) {
          c.status |= ct_status::kAssured;
        }
        uint32_t timeout =
            index == kRst ? config_.tcp_timeout_close_s : tcp_timeout_s(config_, c.tcp_state);
        c.deadline_ns = now_ns + timeout_ns(timeout);
        break;
      }
      default:
        c.deadline_ns = now_ns + timeout_ns(config_.generic_timeout_s);
        break;
    }
    if (result == L4Result::Repeat && round == 0) continue;
    if (result != L4Result::Accept) {
      ++stats_.invalid;
      ct.info_ = CtInfo::Invalid;
      if (trace) trace->lines.push_back("conntrack: invalid " + tuple_text(p.tuple));
      return Verdict::Accept;
    }
    if (dir == Dir::Reply) {
      ct.info_ = CtInfo::EstablishedReply;
      c.status |= ct_status::kSeenReply;
    } else {
      ct.info_ = c.has(ct_status::kSeenReply) ? CtInfo::Established : CtInfo::New;
    }
    if (trace && c.confirmed()) {
      trace->lines.push_back(
          fmt::format("conntrack: {} {}", info_text(ct.info_), tuple_text(c.tuple[0])));
    }
    ct.conn_ = std::move(conn);
    return Verdict::Accept;
  }
  return Verdict::Accept;
}

Verdict Netfilter::nat_hook(std::span<std::byte> packet, Hook hook, const Iface* in,
                            const Iface* out, net::Ipv4Addr nexthop, const MasqueradeSource* masq,
                            uint64_t now_ns, PacketCt& ct, HookTrace* trace) {
  if (!ct.conn_) return Verdict::Accept;
  Conn& c = *ct.conn_;
  const Manip m = (hook == Hook::PreRouting || hook == Hook::LocalOut) ? Manip::Dst : Manip::Src;
  const bool reply = ct.info_ == CtInfo::EstablishedReply || ct.info_ == CtInfo::RelatedReply;
  const int dir = reply ? 1 : 0;
  uint32_t statusbit = m == Manip::Src ? ct_status::kSrcNat : ct_status::kDstNat;
  if (reply) statusbit ^= ct_status::kNatMask;

  if (ct.info_ == CtInfo::Related || ct.info_ == CtInfo::RelatedReply) {
    // nf_nat_icmp_reply_translation().
    if (!(c.status & statusbit)) return Verdict::Accept;
    ParsedPacket p = parse_packet(packet, false);
    if (p.icmp_type == 5) {
      // A redirect about a NATed flow cannot be translated meaningfully.
      return Verdict::Drop;
    }
    const Tuple& other = c.tuple[1 - dir];
    Tuple outer = invert(other).value_or(other);
    manip_icmp_error(packet, other, m == Manip::Src ? Manip::Dst : Manip::Src, outer, m);
    if (trace) {
      trace->lines.push_back(fmt::format("nat {}: icmp error translated (embedded header and {})",
                                         to_string(hook),
                                         m == Manip::Src ? "source" : "destination"));
    }
    return Verdict::Accept;
  }

  if (ct.info_ == CtInfo::New) {
    const uint32_t done = m == Manip::Src ? ct_status::kSrcNatDone : ct_status::kDstNatDone;
    if (!(c.status & done)) {
      ParsedPacket p = parse_packet(packet, false);
      PacketInfo info;
      info.src = p.tuple.src;
      info.dst = p.tuple.dst;
      info.protocol = p.tuple.protocol;
      info.has_ports = p.tuple.protocol == kProtoTcp || p.tuple.protocol == kProtoUdp;
      info.sport = p.tuple.src_key;
      info.dport = p.tuple.dst_key;
      info.in_iface = in ? std::string_view(in->name) : std::string_view();
      info.out_iface = out ? std::string_view(out->name) : std::string_view();
      info.length = p.length;
      NatDecision d = nat_.evaluate(hook, info, trace);
      if (d.kind == TargetKind::Masquerade) {
        // nf_nat_masquerade_ipv4().
        if (!c.tuple[0].src.is_unspecified()) {
          std::optional<net::Ipv4Addr> source;
          if (masq && *masq && out) source = (*masq)(out->ifindex, nexthop);
          if (!source) {
            if (trace) {
              trace->lines.push_back(
                  fmt::format("MASQUERADE: {} ate my IP address, drop", out ? out->name : ""));
            }
            return Verdict::Drop;
          }
          c.masq_ifindex = out->ifindex;
          NatRange range = d.range;
          range.has_addr = true;
          range.min_addr = range.max_addr = *source;
          setup_nat(c, range, Manip::Src, now_ns);
        }
      } else if (d.kind == TargetKind::Snat || d.kind == TargetKind::Dnat) {
        setup_nat(c, d.range, m, now_ns);
      }
      if (!(c.status & done)) {
        // nf_nat_alloc_null_binding(): later rules never apply to this connection.
        NatRange range;
        range.has_addr = true;
        range.min_addr = range.max_addr = m == Manip::Src ? c.tuple[1].dst : c.tuple[1].src;
        setup_nat(c, range, m, now_ns);
        if (trace) trace->lines.push_back(fmt::format("nat {}: null binding", to_string(hook)));
      }
      if (trace && (c.status & (m == Manip::Src ? ct_status::kSrcNat : ct_status::kDstNat))) {
        trace->lines.push_back(fmt::format("nat {}: binding, reply tuple {}", to_string(hook),
                                           tuple_text(c.tuple[1])));
      }
    }
  } else if (hook == Hook::PostRouting && !reply && c.masq_ifindex != 0 && out &&
             out->ifindex != c.masq_ifindex) {
    // nf_nat_oif_changed(): a masqueraded flow rerouted out of another device is killed.
    table_.remove(c);
    if (trace) trace->lines.emplace_back("nat POSTROUTING: masqueraded flow changed device, drop");
    return Verdict::Drop;
  }

  if (c.status & statusbit) {
    const Tuple& other = c.tuple[1 - dir];
    // The address the manipulation changes: source at offset 12, destination at 16.
    size_t at = m == Manip::Src ? 12 : 16;
    net::Ipv4Addr before(wire::load_be32(packet, at));
    if (auto target = invert(other)) manip_packet(packet, *target, m, false);
    if (trace) {
      trace->lines.push_back(fmt::format(
          "nat {}: {} {} -> {}", to_string(hook), m == Manip::Src ? "source" : "destination",
          before.to_string(), net::Ipv4Addr(wire::load_be32(packet, at)).to_string()));
    }
  }
  return Verdict::Accept;
}

Verdict Netfilter::confirm(PacketCt& ct, uint64_t now_ns, HookTrace* trace) {
  (void)now_ns;
  if (!ct.conn_) return Verdict::Accept;
  Conn& c = *ct.conn_;
  if (c.confirmed() || c.has(ct_status::kDying)) return Verdict::Accept;
  if (!table_.insert(ct.conn_)) {
    ++stats_.insert_failed;
    if (trace) trace->lines.emplace_back("conntrack: insert failed (tuple clash), drop");
    return Verdict::Drop;
  }
  if (trace) trace->lines.push_back("conntrack: confirmed " + tuple_text(c.tuple[0]));
  return Verdict::Accept;
}

Verdict Netfilter::pre_routing(std::span<std::byte> packet, const Iface& in, uint64_t now_ns,
                               PacketCt& ct, HookTrace* trace) {
  if (conntrack_in(packet, Hook::PreRouting, now_ns, ct, trace) == Verdict::Drop) {
    return Verdict::Drop;
  }
  return nat_hook(packet, Hook::PreRouting, &in, nullptr, {}, nullptr, now_ns, ct, trace);
}

Verdict Netfilter::local_out(std::span<std::byte> packet, const Iface& out, uint64_t now_ns,
                             PacketCt& ct, HookTrace* trace) {
  if (conntrack_in(packet, Hook::LocalOut, now_ns, ct, trace) == Verdict::Drop) {
    return Verdict::Drop;
  }
  return nat_hook(packet, Hook::LocalOut, nullptr, &out, {}, nullptr, now_ns, ct, trace);
}

Verdict Netfilter::post_routing(std::span<std::byte> packet, const Iface& out,
                                net::Ipv4Addr nexthop, const MasqueradeSource& masq,
                                uint64_t now_ns, PacketCt& ct, HookTrace* trace) {
  if (nat_hook(packet, Hook::PostRouting, nullptr, &out, nexthop, &masq, now_ns, ct, trace) ==
      Verdict::Drop) {
    return Verdict::Drop;
  }
  return confirm(ct, now_ns, trace);
}

Verdict Netfilter::local_in(std::span<std::byte> packet, const Iface& in, uint64_t now_ns,
                            PacketCt& ct, HookTrace* trace) {
  if (nat_hook(packet, Hook::LocalIn, &in, nullptr, {}, nullptr, now_ns, ct, trace) ==
      Verdict::Drop) {
    return Verdict::Drop;
  }
  return confirm(ct, now_ns, trace);
}

void Netfilter::device_down(int ifindex) {
  std::vector<Conn*> doomed;
  table_.for_each([&](Conn& c) {
    if (c.masq_ifindex == ifindex) doomed.push_back(&c);
  });
  for (Conn* c : doomed) table_.remove(*c);
}

void Netfilter::expire(uint64_t now_ns) {
  table_.expire(now_ns);
}

size_t Netfilter::count(uint64_t now_ns) {
  table_.expire(now_ns);
  return table_.allocated();
}

// ---- sysctls ----

namespace {

struct SysctlKey {
  const char* name;
  uint32_t Config::*field;  // nullptr: nf_conntrack_count
  int64_t min;
  int64_t max;
  bool writable;
};

constexpr int64_t kIntMax = INT_MAX;

const SysctlKey kSysctls[] = {
    {"nf_conntrack_acct", &Config::acct, 0, 1, true},
    {"nf_conntrack_buckets", &Config::buckets, 0, kIntMax, false},
    {"nf_conntrack_checksum", &Config::checksum, 0, 1, true},
    {"nf_conntrack_count", nullptr, 0, 0, false},
    {"nf_conntrack_events", &Config::events, 0, 2, true},
    {"nf_conntrack_expect_max", &Config::expect_max, 1, kIntMax, true},
    {"nf_conntrack_generic_timeout", &Config::generic_timeout_s, 0, kIntMax, true},
    {"nf_conntrack_gre_timeout", &Config::gre_timeout_s, 0, kIntMax, true},
    {"nf_conntrack_gre_timeout_stream", &Config::gre_timeout_stream_s, 0, kIntMax, true},
    {"nf_conntrack_icmp_timeout", &Config::icmp_timeout_s, 0, kIntMax, true},
    {"nf_conntrack_log_invalid", &Config::log_invalid, 0, 255, true},
    {"nf_conntrack_max", &Config::max, 0, kIntMax, true},
    {"nf_conntrack_tcp_be_liberal", &Config::tcp_be_liberal, 0, 1, true},
    {"nf_conntrack_tcp_ignore_invalid_rst", &Config::tcp_ignore_invalid_rst, 0, 1, true},
    {"nf_conntrack_tcp_loose", &Config::tcp_loose, 0, 1, true},
    {"nf_conntrack_tcp_max_retrans", &Config::tcp_max_retrans, 0, 255, true},
    {"nf_conntrack_tcp_timeout_close", &Config::tcp_timeout_close_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_close_wait", &Config::tcp_timeout_close_wait_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_established", &Config::tcp_timeout_established_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_fin_wait", &Config::tcp_timeout_fin_wait_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_last_ack", &Config::tcp_timeout_last_ack_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_max_retrans", &Config::tcp_timeout_max_retrans_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_syn_recv", &Config::tcp_timeout_syn_recv_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_syn_sent", &Config::tcp_timeout_syn_sent_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_time_wait", &Config::tcp_timeout_time_wait_s, 0, kIntMax, true},
    {"nf_conntrack_tcp_timeout_unacknowledged", &Config::tcp_timeout_unacknowledged_s, 0, kIntMax,
     true},
    {"nf_conntrack_timestamp", &Config::timestamp, 0, 1, true},
    {"nf_conntrack_udp_timeout", &Config::udp_timeout_s, 0, kIntMax, true},
    {"nf_conntrack_udp_timeout_stream", &Config::udp_timeout_stream_s, 0, kIntMax, true},
};

constexpr std::string_view kSysctlPrefix = "net.netfilter.";

const SysctlKey* find_sysctl(const std::string& key) {
  std::string_view k = key;
  if (k.substr(0, kSysctlPrefix.size()) != kSysctlPrefix) return nullptr;
  k.remove_prefix(kSysctlPrefix.size());
  for (const auto& s : kSysctls) {
    if (k == s.name) return &s;
  }
  return nullptr;
}

// proc_dointvec(): optional blanks, optional '-', decimal digits, optional trailing blanks.
std::optional<int64_t> parse_proc_int(std::string_view text) {
  size_t i = 0;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (i < text.size() && blank(text[i])) ++i;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  size_t start = i;
  int64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    value = value * 10 + (text[i] - '0');
    if (value > (int64_t{1} << 40)) return std::nullopt;
    ++i;
  }
  if (i == start) return std::nullopt;
  while (i < text.size() && blank(text[i])) ++i;
  if (i != text.size()) return std::nullopt;
  return negative ? -value : value;
}

}  // namespace

std::vector<std::string> Netfilter::sysctl_keys() const {
  std::vector<std::string> keys;
  for (const auto& s : kSysctls) keys.push_back(std::string(kSysctlPrefix) + s.name);
  return keys;
}

std::optional<std::string> Netfilter::sysctl_get(const std::string& key) const {
  const SysctlKey* s = find_sysctl(key);
  if (!s) return std::nullopt;
  if (!s->field) return std::to_string(table_.allocated());
  return std::to_string(config_.*(s->field));
}

int Netfilter::sysctl_set(const std::string& key, const std::string& value) {
  const SysctlKey* s = find_sysctl(key);
  if (!s) return -ENOENT;
  if (!s->writable || !s->field) return -EINVAL;
  auto v = parse_proc_int(value);
  // Negative timeouts, which the kernel stores, are refused here (see docs/NF.md).
  if (!v || *v < s->min || *v > s->max) return -EINVAL;
  config_.*(s->field) = static_cast<uint32_t>(*v);
  return 0;
}

}  // namespace vnet::nf
