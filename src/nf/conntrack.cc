#include "nf/conntrack.h"

#include <algorithm>
#include <vector>

namespace vnet::nf {

size_t TupleHash::operator()(const Tuple& t) const {
  // Boost-style combination; the table is in-process only, no need for the kernel's jhash.
  uint64_t h = (uint64_t{t.src.value()} << 32) | t.dst.value();
  h ^= (uint64_t{t.src_key} << 24) ^ (uint64_t{t.dst_key} << 8) ^ t.protocol;
  h *= 0x9e3779b97f4a7c15ull;
  return static_cast<size_t>(h ^ (h >> 29));
}

std::optional<Tuple> invert(const Tuple& t) {
  Tuple r;
  r.src = t.dst;
  r.dst = t.src;
  r.protocol = t.protocol;
  if (t.protocol == kProtoIcmp) {
    // icmp_invert_tuple(): the request/reply pairs of the kernel's invmap.
    uint8_t type = t.icmp_type();
    uint8_t inverse;
    switch (type) {
      case 8:
        inverse = 0;
        break;
      case 0:
        inverse = 8;
        break;
      case 13:
        inverse = 14;
        break;
      case 14:
        inverse = 13;
        break;
      case 15:
        inverse = 16;
        break;
      case 16:
        inverse = 15;
        break;
      case 17:
        inverse = 18;
        break;
      case 18:
        inverse = 17;
        break;
      default:
        return std::nullopt;
    }
    r.src_key = t.src_key;
    r.dst_key = static_cast<uint16_t>(inverse << 8 | t.icmp_code());
    return r;
  }
  r.src_key = t.dst_key;
  r.dst_key = t.src_key;
  return r;
}

const char* to_string(TcpState state) {
  switch (state) {
    case TcpState::None:
      return "NONE";
    case TcpState::SynSent:
      return "SYN_SENT";
    case TcpState::SynRecv:
      return "SYN_RECV";
    case TcpState::Established:
      return "ESTABLISHED";
    case TcpState::FinWait:
      return "FIN_WAIT";
    case TcpState::CloseWait:
      return "CLOSE_WAIT";
    case TcpState::LastAck:
      return "LAST_ACK";
    case TcpState::TimeWait:
      return "TIME_WAIT";
    case TcpState::Close:
      return "CLOSE";
    case TcpState::SynSent2:
      return "SYN_SENT2";
  }
  return "UNKNOWN";
}

Conn* TupleIndex::find(const Tuple& tuple) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = home(tuple);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.conn == nullptr) return nullptr;
    if (s.tuple == tuple) return s.conn;
  }
}

void TupleIndex::place(const Tuple& tuple, Conn* conn) {
  const size_t mask = slots_.size() - 1;
  size_t i = home(tuple);
  while (slots_[i].conn != nullptr) i = (i + 1) & mask;
  slots_[i] = Slot{tuple, conn};
}

void TupleIndex::insert(const Tuple& tuple, Conn* conn) {
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old(std::max<size_t>(16, slots_.size() * 2));
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.conn != nullptr) place(s.tuple, s.conn);
    }
  }
  place(tuple, conn);
  ++size_;
}

void TupleIndex::erase(const Tuple& tuple, const Conn* conn) {
  if (slots_.empty()) return;
  const size_t mask = slots_.size() - 1;
  size_t i = home(tuple);
  for (;; i = (i + 1) & mask) {
    if (slots_[i].conn == nullptr) return;
    if (slots_[i].tuple == tuple) break;
  }
  if (slots_[i].conn != conn) return;
  // Backward-shift deletion: pull later members of the probe run into the hole.
  for (size_t j = (i + 1) & mask; slots_[j].conn != nullptr; j = (j + 1) & mask) {
    const size_t k = home(slots_[j].tuple);
    const bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
    if (movable) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
  --size_;
}

ConntrackTable::ConntrackTable() : live_(std::make_shared<size_t>(0)) {}

std::shared_ptr<Conn> ConntrackTable::find(const Tuple& tuple, uint64_t now_ns, Dir* dir) {
  Conn* conn = by_tuple_.find(tuple);
  if (conn == nullptr) return nullptr;
  if (now_ns >= conn->deadline_ns) {
    remove(*conn);
    return nullptr;
  }
  if (dir) *dir = conn->tuple[0] == tuple ? Dir::Original : Dir::Reply;
  return conn->shared_from_this();
}

bool ConntrackTable::taken(const Tuple& tuple, const Conn* ignore, uint64_t now_ns) {
  Conn* conn = by_tuple_.find(tuple);
  if (conn == nullptr || conn == ignore) return false;
  if (now_ns >= conn->deadline_ns) {
    remove(*conn);
    return false;
  }
  return true;
}

std::shared_ptr<Conn> ConntrackTable::allocate(const Tuple& original, uint64_t now_ns) {
  auto conn = std::make_shared<Conn>();
  conn->tuple[0] = original;
  conn->tuple[1] = invert(original).value_or(original);
  conn->created_ns = now_ns;
  conn->udp_stream_ns = now_ns + 2'000'000'000ull;
  conn->id = next_id_++;
  conn->live = live_;
  ++*live_;
  return conn;
}

bool ConntrackTable::insert(const std::shared_ptr<Conn>& conn) {
  if (by_tuple_.find(conn->tuple[0]) != nullptr || by_tuple_.find(conn->tuple[1]) != nullptr) {
    return false;
  }
  by_tuple_.insert(conn->tuple[0], conn.get());
  // An untrackable ICMP type keeps its own tuple as the reply (allocate()): one slot then.
  if (!(conn->tuple[1] == conn->tuple[0])) by_tuple_.insert(conn->tuple[1], conn.get());
  entries_.emplace(conn->id, conn);
  conn->status |= ct_status::kConfirmed;
  return true;
}

void ConntrackTable::unlink(Conn& conn) {
  for (const auto& t : conn.tuple) by_tuple_.erase(t, &conn);
}

void ConntrackTable::remove(Conn& conn) {
  conn.status |= ct_status::kDying;
  if (!conn.confirmed()) return;
  unlink(conn);
  entries_.erase(conn.id);  // may destroy `conn`
}

bool ConntrackTable::early_drop(uint64_t now_ns) {
  expire(now_ns);
  for (auto& [id, conn] : entries_) {
    if (!conn->has(ct_status::kAssured)) {
      remove(*conn);
      return true;
    }
  }
  return false;
}

void ConntrackTable::expire(uint64_t now_ns) {
  std::vector<Conn*> dead;
  for (auto& [id, conn] : entries_) {
    if (now_ns >= conn->deadline_ns) dead.push_back(conn.get());
  }
  for (Conn* conn : dead) remove(*conn);
}

void ConntrackTable::clear() {
  std::vector<Conn*> all;
  for (auto& [id, conn] : entries_) all.push_back(conn.get());
  for (Conn* conn : all) remove(*conn);
}

void ConntrackTable::for_each(const std::function<void(Conn&)>& fn) const {
  for (const auto& [id, conn] : entries_) fn(*conn);
}

}  // namespace vnet::nf
