// The IPVS connection table (ip_vs_conn.c): the real servers' counters as
// ip_vs_bind_dest()/ip_vs_unbind_dest() and set_tcp_state() keep them, timers re-armed by
// ip_vs_conn_put(), lookups, OVERLOAD, templates, ONE_PACKET, the dest trash, the sysctls and
// the /proc/net/ip_vs* and `ipvsadm -L -n -c` formats.  Each golden line was computed with
// printf from the kernel's (or ipvsadm 1.31's) format string, not copied from vnet's output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <string>

#include "lb/conn_table.h"
#include "lb/ipvs_table.h"
#include "lb/ipvsadm.h"

namespace vnet::lb {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
// An arbitrary virtual time far from zero, so nothing depends on "0 means unset".
constexpr uint64_t kT0 = 1000 * kSec;

net::Ipv4Addr ip(const char* s) {
  return *net::Ipv4Addr::parse(s);
}

ConnKey key(uint8_t proto, const char* caddr, uint16_t cport, const char* vaddr, uint16_t vport) {
  ConnKey k;
  k.protocol = proto;
  k.caddr = ip(caddr);
  k.cport = cport;
  k.vaddr = ip(vaddr);
  k.vport = vport;
  return k;
}

// The seed-lab flow: client 192.168.73.200:42250 -> VIP 192.168.73.120:80.
ConnKey client_key(uint16_t cport = 42250) {
  return key(kProtoTcp, "192.168.73.200", cport, "192.168.73.120", 80);
}

std::shared_ptr<RealServer> server(const char* addr, uint16_t port, ForwardMethod m) {
  auto r = std::make_shared<RealServer>();
  r->addr = ip(addr);
  r->port = port;
  r->method = m;
  return r;
}

// The n-th line (0: the header) of a listing, with its newline.
std::string line(const std::string& text, size_t n) {
  size_t begin = 0;
  for (size_t i = 0; i < n && begin != std::string::npos; ++i) {
    begin = text.find('\n', begin);
    if (begin != std::string::npos) ++begin;
  }
  if (begin == std::string::npos || begin >= text.size()) return {};
  size_t end = text.find('\n', begin);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin + 1);
}

constexpr TcpFlagsSeen kSyn{.syn = true};
constexpr TcpFlagsSeen kSynAck{.syn = true, .ack = true};
constexpr TcpFlagsSeen kAck{.ack = true};
constexpr TcpFlagsSeen kFin{.fin = true};

class ConnTableTest : public ::testing::Test {
 protected:
  // A connection of `key` to `r`, created the way ip_vs_schedule() does (dest conn_flags).
  Connection* open(const ConnKey& k, const std::shared_ptr<RealServer>& r, uint64_t now,
                   uint32_t extra_flags = 0) {
    return t_.create(k, r->addr, r->port, r->conn_flags() | extra_flags, r, 0, now);
  }
  // One segment: the state change, then ip_vs_conn_put().
  void segment(Connection* c, ConnDirection dir, TcpFlagsSeen f, uint64_t now) {
    t_.set_tcp_state(*c, dir, f, false);
    t_.put(*c, now);
  }
  ConnTable t_;
};

// 1. Counters and timers of a tunnelled (input-only) connection.

TEST_F(ConnTableTest, TunnelConnectionMovesBetweenInactiveAndActive) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  EXPECT_EQ(r->conn_flags(), uint32_t{kConnInactive | kConnNoOutput | kConnTunnel});
  Connection* c = open(client_key(), r, kT0);
  ASSERT_NE(c, nullptr);
  // ip_vs_bind_dest(): every new connection starts INACTIVE.
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->persistconns, 0);
  EXPECT_EQ(c->tcp_state(), TcpConnState::None);
  EXPECT_NE(c->flags & kConnHashed, 0U);
  EXPECT_EQ(c->fwd(), uint32_t{kConnTunnel});
  EXPECT_EQ(c->timeout_ns, 3 * kSec);  // ip_vs_conn_new()'s 3 s
  EXPECT_EQ(c->expires_ns, kT0 + 3 * kSec);
  EXPECT_EQ(c->dest.get(), r.get());
  EXPECT_EQ(r.use_count(), 2);

  // SYN (input-only: NOOUTPUT) -> SYN_RECV, an active state, 60 s.
  segment(c, ConnDirection::Input, kSyn, kT0);
  EXPECT_EQ(c->tcp_state(), TcpConnState::SynRecv);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(c->flags & kConnInactive, 0U);
  EXPECT_NE(c->flags & kConnNoOutput, 0U);  // an input packet keeps NOOUTPUT
  EXPECT_EQ(c->timeout_ns, 60 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 60 * kSec);

  // ACK -> ESTABLISHED, still active, 900 s.
  uint64_t t1 = kT0 + kSec;
  segment(c, ConnDirection::Input, kAck, t1);
  EXPECT_EQ(c->tcp_state(), TcpConnState::Established);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(c->timeout_ns, 900 * kSec);
  EXPECT_EQ(c->expires_ns, t1 + 900 * kSec);

  // FIN (input-only table: ES -> FIN_WAIT, not CLOSE_WAIT) -> inactive again, 120 s.
  uint64_t t2 = kT0 + 5 * kSec;
  segment(c, ConnDirection::Input, kFin, t2);
  EXPECT_EQ(c->tcp_state(), TcpConnState::FinWait);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_NE(c->flags & kConnInactive, 0U);
  EXPECT_EQ(c->timeout_ns, 120 * kSec);
  EXPECT_EQ(c->expires_ns, t2 + 120 * kSec);
  EXPECT_EQ(t_.next_deadline_ns(), t2 + 120 * kSec);

  // The timer fires exactly at the deadline, not a nanosecond before.
  t_.run_timers(t2 + 120 * kSec - 1);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(t_.in_get(client_key()), c);
  t_.run_timers(t2 + 120 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(t_.in_get(client_key()), nullptr);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r.use_count(), 1);  // ip_vs_unbind_dest() dropped the reference
  EXPECT_EQ(t_.next_deadline_ns(), UINT64_MAX);
}

TEST_F(ConnTableTest, EstablishedExpiresAfterItsTimeoutAndReleasesActiveConn) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  segment(c, ConnDirection::Input, kAck, kT0);
  ASSERT_EQ(c->tcp_state(), TcpConnState::Established);
  EXPECT_EQ(r->activeconns, 1);
  t_.run_timers(kT0 + 900 * kSec - 1);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(r->activeconns, 1);
  t_.run_timers(kT0 + 900 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->inactconns, 0);
}

TEST_F(ConnTableTest, TimeoutOverridesApplyToTheNextTransition) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Route);
  t_.timeouts().tcp_established_s = 30;
  t_.timeouts().tcp_fin_wait_s = 7;
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  EXPECT_EQ(c->timeout_ns, 60 * kSec);  // SYN_RECV is not overridable
  segment(c, ConnDirection::Input, kAck, kT0);
  EXPECT_EQ(c->timeout_ns, 30 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 30 * kSec);
  segment(c, ConnDirection::Input, kFin, kT0 + kSec);
  EXPECT_EQ(c->timeout_ns, 7 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 8 * kSec);
  t_.run_timers(kT0 + 8 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->inactconns, 0);
}

TEST_F(ConnTableTest, PutReArmsTheTimerAtNowPlusTimeout) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  segment(c, ConnDirection::Input, kAck, kT0);
  // Every later packet pushes the deadline out again.
  t_.put(*c, kT0 + 800 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 1700 * kSec);
  EXPECT_EQ(t_.next_deadline_ns(), kT0 + 1700 * kSec);
  t_.run_timers(kT0 + 900 * kSec);  // the old deadline does nothing
  EXPECT_EQ(t_.size(), 1U);
  t_.run_timers(kT0 + 1700 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->activeconns, 0);
}

TEST_F(ConnTableTest, UnputConnectionDiesAfterThreeSeconds) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  open(client_key(), r, kT0);
  t_.run_timers(kT0 + 3 * kSec - 1);
  EXPECT_EQ(t_.size(), 1U);
  t_.run_timers(kT0 + 3 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->inactconns, 0);
}

// 2. NAT: both directions pass the director.

TEST_F(ConnTableTest, NatConnectionUsesTheOutputTable) {
  auto r = server("10.0.0.2", 8080, ForwardMethod::Masquerade);
  EXPECT_EQ(r->conn_flags(), uint32_t{kConnInactive});  // MASQ 0, no NOOUTPUT
  Connection* c = open(key(kProtoTcp, "192.168.73.200", 42250, "192.168.73.120", 80), r, kT0);
  EXPECT_EQ(c->fwd(), uint32_t{kConnMasq});
  EXPECT_EQ(r->inactconns, 1);

  segment(c, ConnDirection::Input, kSyn, kT0);
  EXPECT_EQ(c->tcp_state(), TcpConnState::SynRecv);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(c->timeout_ns, 60 * kSec);

  segment(c, ConnDirection::Output, kSynAck, kT0);  // OUTPUT syn row: SR -> SR
  EXPECT_EQ(c->tcp_state(), TcpConnState::SynRecv);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(c->timeout_ns, 60 * kSec);

  segment(c, ConnDirection::Input, kAck, kT0);
  EXPECT_EQ(c->tcp_state(), TcpConnState::Established);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(c->timeout_ns, 900 * kSec);

  segment(c, ConnDirection::Input, kFin, kT0);  // INPUT fin row: ES -> CLOSE_WAIT
  EXPECT_EQ(c->tcp_state(), TcpConnState::CloseWait);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(c->timeout_ns, 60 * kSec);

  uint64_t t1 = kT0 + 2 * kSec;
  segment(c, ConnDirection::Output, kFin, t1);  // OUTPUT fin row: CW -> TIME_WAIT
  EXPECT_EQ(c->tcp_state(), TcpConnState::TimeWait);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(c->timeout_ns, 120 * kSec);
  EXPECT_EQ(c->expires_ns, t1 + 120 * kSec);

  t_.run_timers(t1 + 120 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->inactconns, 0);
}

TEST_F(ConnTableTest, AReplyThroughTheDirectorClearsNoOutput) {
  // A DR server routing its replies back through the director: OUTPUT clears NOOUTPUT, and
  // from then on client packets use the INPUT table (ES + FIN -> CLOSE_WAIT, not FIN_WAIT).
  auto r = server("192.168.73.111", 80, ForwardMethod::Route);
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  segment(c, ConnDirection::Output, kSynAck, kT0);
  EXPECT_EQ(c->flags & kConnNoOutput, 0U);
  segment(c, ConnDirection::Input, kAck, kT0);
  segment(c, ConnDirection::Input, kFin, kT0);
  EXPECT_EQ(c->tcp_state(), TcpConnState::CloseWait);
}

// 3. Lookups.

TEST_F(ConnTableTest, InAndOutLookups) {
  auto nat = server("10.0.0.2", 8080, ForwardMethod::Masquerade);
  auto tun = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  ConnKey nk = key(kProtoTcp, "192.168.73.200", 40000, "192.168.73.120", 80);
  ConnKey tk = key(kProtoTcp, "192.168.73.201", 40001, "192.168.73.120", 80);
  Connection* n = open(nk, nat, kT0);
  Connection* tc = open(tk, tun, kT0);

  EXPECT_EQ(t_.in_get(nk), n);
  EXPECT_EQ(t_.in_get(tk), tc);
  ConnKey other = nk;
  other.cport = 40002;
  EXPECT_EQ(t_.in_get(other), nullptr);
  other = nk;
  other.protocol = kProtoUdp;
  EXPECT_EQ(t_.in_get(other), nullptr);
  EXPECT_EQ(t_.template_get(nk), nullptr);  // connections are not templates

  // NAT replies come from the real server to the client.
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("10.0.0.2"), 8080, ip("192.168.73.200"), 40000), n);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.120"), 80, ip("192.168.73.200"), 40000), nullptr);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("10.0.0.2"), 8080, ip("192.168.73.200"), 40001), nullptr);
  EXPECT_EQ(t_.out_get(kProtoUdp, ip("10.0.0.2"), 8080, ip("192.168.73.200"), 40000), nullptr);
  // TUN/DR replies (when they cross the director) come from the VIP.
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.120"), 80, ip("192.168.73.201"), 40001), tc);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.111"), 80, ip("192.168.73.201"), 40001), nullptr);
}

TEST_F(ConnTableTest, NewerConnectionShadowsAnOlderOneWithTheSameKey) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  auto r2 = server("192.168.73.110", 80, ForwardMethod::Tunnel);
  Connection* old_c = open(client_key(), r, kT0);              // expires kT0 + 3 s
  Connection* new_c = open(client_key(), r2, kT0 + 2 * kSec);  // expires kT0 + 5 s
  EXPECT_EQ(t_.size(), 2U);
  EXPECT_EQ(t_.in_get(client_key()), new_c);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.120"), 80, ip("192.168.73.200"), 42250), new_c);
  EXPECT_EQ(t_.entries().front().id, new_c->id);  // newest first
  EXPECT_EQ(t_.entries().back().id, old_c->id);

  // The older one dying must not unhash the newer one.
  t_.run_timers(kT0 + 3 * kSec);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(r2->inactconns, 1);
  EXPECT_EQ(t_.in_get(client_key()), new_c);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.120"), 80, ip("192.168.73.200"), 42250), new_c);
}

TEST_F(ConnTableTest, ExpireNowStopsMatchingAtOnceAndRunTimersDestroys) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  segment(c, ConnDirection::Input, kAck, kT0);
  uint64_t now = kT0 + 10 * kSec;
  t_.expire_now(*c, now);
  EXPECT_EQ(t_.in_get(client_key()), nullptr);
  EXPECT_EQ(t_.out_get(kProtoTcp, ip("192.168.73.120"), 80, ip("192.168.73.200"), 42250), nullptr);
  EXPECT_EQ(t_.size(), 1U);      // still there until its timer runs
  EXPECT_EQ(r->activeconns, 1);  // and still counted
  EXPECT_EQ(c->expires_ns, now);
  EXPECT_EQ(t_.next_deadline_ns(), now);
  // A rescheduled SYN gets a new entry.
  Connection* again = open(client_key(), r, now);
  EXPECT_EQ(t_.in_get(client_key()), again);
  t_.run_timers(now);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(t_.entries().front().id, again->id);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(t_.in_get(client_key()), again);
}

// 4. OVERLOAD (bind sets it, unbind clears it).

TEST_F(ConnTableTest, UpperThresholdSetsOverloadAndThreeQuartersClearsIt) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  r->u_threshold = 2;
  Connection* a = open(client_key(40000), r, kT0);
  EXPECT_FALSE(r->overloaded);
  open(client_key(40001), r, kT0 + kSec);
  EXPECT_TRUE(r->overloaded);  // total 2 >= 2
  t_.expire_now(*a, kT0 + kSec);
  t_.run_timers(kT0 + kSec);
  EXPECT_EQ(r->total_conns(), 1);
  EXPECT_FALSE(r->overloaded);  // 1*4 < 2*3
}

TEST_F(ConnTableTest, OverloadClearsOnlyBelowThreeQuartersOfTheUpperThreshold) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  r->u_threshold = 4;
  Connection* c[4];
  for (int i = 0; i < 4; ++i) {
    c[i] = open(client_key(static_cast<uint16_t>(40000 + i)), r, kT0);
    EXPECT_EQ(r->overloaded, i == 3) << i;
  }
  auto drop = [&](Connection* x) {
    t_.expire_now(*x, kT0 + kSec);
    t_.run_timers(kT0 + kSec);
  };
  drop(c[0]);
  EXPECT_EQ(r->total_conns(), 3);
  EXPECT_TRUE(r->overloaded);  // 12 < 12 is false
  drop(c[1]);
  EXPECT_EQ(r->total_conns(), 2);
  EXPECT_FALSE(r->overloaded);  // 8 < 12
}

TEST_F(ConnTableTest, LowerThresholdDecidesWhenSet) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  r->u_threshold = 4;
  r->l_threshold = 2;
  Connection* c[4];
  for (int i = 0; i < 4; ++i) c[i] = open(client_key(static_cast<uint16_t>(40000 + i)), r, kT0);
  EXPECT_TRUE(r->overloaded);
  auto drop = [&](Connection* x) {
    t_.expire_now(*x, kT0 + kSec);
    t_.run_timers(kT0 + kSec);
  };
  drop(c[0]);
  drop(c[1]);
  EXPECT_EQ(r->total_conns(), 2);
  EXPECT_TRUE(r->overloaded);  // 2 < 2 is false (3/4 of u would have cleared it)
  drop(c[2]);
  EXPECT_EQ(r->total_conns(), 1);
  EXPECT_FALSE(r->overloaded);
}

TEST_F(ConnTableTest, TemplatesDoNotCountTowardsOverload) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  r->u_threshold = 1;
  ConnKey tk = client_key(0);
  t_.create(tk, r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0);
  EXPECT_EQ(r->persistconns, 1);
  EXPECT_EQ(r->total_conns(), 0);
  EXPECT_FALSE(r->overloaded);
  open(client_key(), r, kT0);
  EXPECT_TRUE(r->overloaded);
}

// 5. Persistence templates.

TEST_F(ConnTableTest, TemplateWaitsForTheConnectionsItControls) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  ConnKey tk = client_key(0);  // cport 0
  Connection* ct = t_.create(tk, r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0);
  ASSERT_TRUE(ct->is_template());
  EXPECT_EQ(r->persistconns, 1);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(t_.template_get(tk), ct);
  EXPECT_EQ(t_.in_get(tk), nullptr);  // templates are not connections
  ct->timeout_ns = 300 * kSec;        // -p 300
  t_.put(*ct, kT0);
  EXPECT_EQ(ct->expires_ns, kT0 + 300 * kSec);

  Connection* c = open(client_key(), r, kT0);
  ConnTable::control_add(*c, *ct);
  EXPECT_EQ(c->control, ct);
  EXPECT_EQ(ct->n_control, 1);
  segment(c, ConnDirection::Input, kSyn, kT0);
  EXPECT_EQ(ct->state, static_cast<uint8_t>(TemplateState::None));
  segment(c, ConnDirection::Input, kAck, kT0);  // ESTABLISHED assures the template
  EXPECT_EQ(ct->state, static_cast<uint8_t>(TemplateState::Assured));
  EXPECT_EQ(r->persistconns, 1);
  EXPECT_EQ(r->activeconns, 1);

  // The template's timer fires while it controls c: expire_later, 60 s.
  t_.run_timers(kT0 + 300 * kSec);
  EXPECT_EQ(t_.size(), 2U);
  EXPECT_EQ(ct->timeout_ns, 60 * kSec);
  EXPECT_EQ(ct->expires_ns, kT0 + 360 * kSec);
  t_.run_timers(kT0 + 360 * kSec);
  EXPECT_EQ(ct->expires_ns, kT0 + 420 * kSec);
  EXPECT_EQ(t_.template_get(tk), ct);

  // c goes; the template follows at its next firing.
  t_.expire_now(*c, kT0 + 400 * kSec);
  t_.run_timers(kT0 + 400 * kSec);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(ct->n_control, 0);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(r->persistconns, 1);
  t_.run_timers(kT0 + 420 * kSec - 1);
  EXPECT_EQ(t_.size(), 1U);
  t_.run_timers(kT0 + 420 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->persistconns, 0);
  EXPECT_EQ(t_.template_get(tk), nullptr);
  EXPECT_EQ(r.use_count(), 1);
}

TEST_F(ConnTableTest, InvalidatedTemplateMissesAndDiesOnItsOwnTimer) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  ConnKey tk = client_key(0);
  Connection* ct = t_.create(tk, r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0);
  ct->timeout_ns = 300 * kSec;
  t_.put(*ct, kT0);
  t_.invalidate_template(*ct);
  EXPECT_EQ(t_.template_get(tk), nullptr);
  EXPECT_EQ(ct->key.vport, 0xffff);
  EXPECT_EQ(ct->dport, 0xffff);
  EXPECT_EQ(ct->key.cport, 0);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(r->persistconns, 1);
  // A new template for the same client can be made and found.
  Connection* fresh =
      t_.create(tk, r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0 + kSec);
  EXPECT_EQ(t_.template_get(tk), fresh);
  t_.invalidate_template(*ct);  // a second time is a no-op
  EXPECT_EQ(t_.template_get(tk), fresh);
  t_.run_timers(kT0 + 300 * kSec - 1);
  EXPECT_EQ(t_.size(), 1U);  // fresh went after its 3 s; ct waits for its own timer
  EXPECT_EQ(r->persistconns, 1);
  t_.run_timers(kT0 + 300 * kSec);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->persistconns, 0);
}

// ip_vs_check_template() rehashes it with vport/dport 0xFFFF: /proc/net/ip_vs_conn (and
// ipvsadm -L -c) keep listing it until it dies.
TEST_F(ConnTableTest, InvalidatedTemplateStillListedWithPortsFFFF) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  Connection* ct =
      t_.create(client_key(0), r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0);
  ct->timeout_ns = 300 * kSec;
  t_.put(*ct, kT0);
  t_.invalidate_template(*ct);
  EXPECT_EQ(proc_ip_vs_conn(t_, kT0),
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"
            "TCP C0A849C8 0000 C0A84978 FFFF C0A8496F FFFF NONE            300\n");
}

// 6. ONE_PACKET.

TEST_F(ConnTableTest, OnePacketUdpIsNotHashedAndPutFreesIt) {
  auto r = server("10.0.0.2", 53, ForwardMethod::Route);
  ConnKey k = key(kProtoUdp, "10.0.0.1", 53000, "10.0.0.100", 53);
  Connection* c = open(k, r, kT0, kConnOnePacket);
  EXPECT_NE(c->flags & kConnOnePacket, 0U);
  EXPECT_EQ(c->flags & kConnHashed, 0U);
  EXPECT_EQ(t_.in_get(k), nullptr);
  EXPECT_EQ(t_.out_get(kProtoUdp, ip("10.0.0.100"), 53, ip("10.0.0.1"), 53000), nullptr);
  EXPECT_EQ(t_.size(), 1U);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(proc_ip_vs_conn(t_, kT0),
            "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n");
  t_.set_udp_state(*c, ConnDirection::Input);
  t_.put(*c, kT0);
  EXPECT_EQ(t_.size(), 0U);
  EXPECT_EQ(r->inactconns, 0);
  EXPECT_EQ(r.use_count(), 1);
  EXPECT_EQ(t_.next_deadline_ns(), UINT64_MAX);
}

TEST_F(ConnTableTest, OnePacketIsDroppedForTcp) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Route);
  Connection* c = open(client_key(), r, kT0, kConnOnePacket);
  EXPECT_EQ(c->flags & kConnOnePacket, 0U);
  EXPECT_NE(c->flags & kConnHashed, 0U);
  EXPECT_EQ(t_.in_get(client_key()), c);
  t_.put(*c, kT0);
  EXPECT_EQ(t_.size(), 1U);
}

// 7. UDP.

TEST_F(ConnTableTest, UdpSetsTheUdpTimeoutAndStaysInactive) {
  auto r = server("10.0.0.2", 53, ForwardMethod::Route);
  ConnKey tk = key(kProtoUdp, "10.0.0.1", 0, "10.0.0.100", 53);
  Connection* ct = t_.create(tk, r->addr, r->port, kConnTemplate | r->conn_flags(), r, 0, kT0);
  ConnKey k = key(kProtoUdp, "10.0.0.1", 53000, "10.0.0.100", 53);
  Connection* c = open(k, r, kT0);
  ConnTable::control_add(*c, *ct);
  t_.set_udp_state(*c, ConnDirection::Input);
  t_.put(*c, kT0);
  EXPECT_EQ(c->timeout_ns, 300 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 300 * kSec);
  EXPECT_EQ(c->state, 0);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(ct->state, static_cast<uint8_t>(TemplateState::None));  // input does not assure
  t_.set_udp_state(*c, ConnDirection::Output);
  t_.put(*c, kT0 + kSec);
  EXPECT_EQ(ct->state, static_cast<uint8_t>(TemplateState::Assured));
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(r->activeconns, 0);
  EXPECT_EQ(c->expires_ns, kT0 + 301 * kSec);
  // --set udp
  t_.timeouts().udp_s = 45;
  t_.set_udp_state(*c, ConnDirection::Input);
  t_.put(*c, kT0 + 2 * kSec);
  EXPECT_EQ(c->timeout_ns, 45 * kSec);
  EXPECT_EQ(c->expires_ns, kT0 + 47 * kSec);
  std::string proc = proc_ip_vs_conn(t_, kT0 + 2 * kSec);
  EXPECT_EQ(line(proc, 1), "UDP 0A000001 CF08 0A000064 0035 0A000002 0035 UDP              45\n");
  EXPECT_EQ(line(proc, 2), "UDP 0A000001 0000 0A000064 0035 0A000002 0035 ASSURED           1\n");
  EXPECT_EQ(line(proc, 3), "");
}

// 8. IpvsTable: deleting and re-adding real servers, the trash.

class IpvsTableConnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceConfig c;
    c.key = vip_;
    c.scheduler = "rr";
    ASSERT_EQ(t_.add_service(c), 0);
    ASSERT_EQ(t_.add_dest(vip_, dest("192.168.73.111")), 0);
  }
  static DestConfig dest(const char* addr) {
    DestConfig d;
    d.addr = ip(addr);
    d.port = 80;
    d.method = ForwardMethod::Tunnel;
    return d;
  }
  RealServer* rs() { return t_.find(vip_)->find(ip("192.168.73.111"), 80); }
  Connection* open(uint16_t cport, uint64_t now) {
    Service* s = t_.find(vip_);
    RealServer* r = rs();
    return t_.conns().create(client_key(cport), r->addr, r->port, r->conn_flags(), s->share(r), 0,
                             now);
  }
  IpvsTable t_;
  ServiceKey vip_{0, kProtoTcp, ip("192.168.73.120"), 80};
};

TEST_F(IpvsTableConnTest, DeletedServerGoesToTheTrashAndComesBackWithItsCounters) {
  RealServer* r = rs();
  Service* s = t_.find(vip_);
  EXPECT_EQ(r->svc, s);
  Connection* c = open(42250, kT0);
  t_.conns().set_tcp_state(*c, ConnDirection::Input, kSyn, false);
  t_.conns().put(*c, kT0);
  open(42251, kT0);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 1);
  r->stats.conns = 2;

  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  EXPECT_FALSE(r->available);
  EXPECT_EQ(r->svc, nullptr);
  EXPECT_TRUE(s->dests.empty());
  EXPECT_TRUE(s->owned.empty());
  EXPECT_EQ(s->find(ip("192.168.73.111"), 80), nullptr);
  // Its connections keep it (and still count on it).
  EXPECT_EQ(t_.conns().size(), 2U);
  EXPECT_EQ(c->dest.get(), r);
  EXPECT_EQ(c->dest.use_count(), 3);  // two connections and the trash
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 1);
  t_.run_timers(kT0 + kSec);  // nothing frees a server in use
  EXPECT_EQ(c->dest.use_count(), 3);

  // Re-adding the same addr:port restores the same object.
  DestConfig d = dest("192.168.73.111");
  d.weight = 5;
  ASSERT_EQ(t_.add_dest(vip_, d), 0);
  EXPECT_EQ(rs(), r);
  EXPECT_TRUE(r->available);
  EXPECT_EQ(r->svc, s);
  EXPECT_EQ(r->weight, 5);
  EXPECT_EQ(r->activeconns, 1);
  EXPECT_EQ(r->inactconns, 1);
  EXPECT_EQ(r->stats.conns, 2U);
  EXPECT_EQ(c->dest.use_count(), 3);  // two connections and the service, no trash
}

TEST_F(IpvsTableConnTest, ExpireNodestConnRemovesTheConnectionsAtOnce) {
  ASSERT_EQ(t_.sysctl_set("expire_nodest_conn", "1"), 0);
  RealServer* r = rs();
  open(42250, kT0);
  open(42251, kT0);
  std::weak_ptr<RealServer> weak = t_.conns().entries().front().dest;
  EXPECT_EQ(r->inactconns, 2);
  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  EXPECT_EQ(t_.conns().size(), 0U);
  EXPECT_FALSE(weak.expired());  // still in the trash
  EXPECT_EQ(weak.lock()->inactconns, 0);
}

TEST_F(IpvsTableConnTest, ExpireNodestConnTakesAnUnassuredTemplateWithIt) {
  ASSERT_EQ(t_.sysctl_set("expire_nodest_conn", "1"), 0);
  Service* s = t_.find(vip_);
  RealServer* r = rs();
  Connection* ct = t_.conns().create(client_key(0), r->addr, r->port,
                                     kConnTemplate | r->conn_flags(), s->share(r), 0, kT0);
  Connection* c = open(42250, kT0);
  ConnTable::control_add(*c, *ct);
  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  EXPECT_EQ(t_.conns().size(), 0U);
}

// ip_vs_expire_nodest_conn_flush() calls ip_vs_conn_del(cp_c) whenever cp_c->n_control is 0
// after deleting cp, assured or not.
TEST_F(IpvsTableConnTest, ExpireNodestConnTakesAnAssuredTemplateWithIt) {
  ASSERT_EQ(t_.sysctl_set("expire_nodest_conn", "1"), 0);
  Service* s = t_.find(vip_);
  RealServer* r = rs();
  Connection* ct = t_.conns().create(client_key(0), r->addr, r->port,
                                     kConnTemplate | r->conn_flags(), s->share(r), 0, kT0);
  Connection* c = open(42250, kT0);
  ConnTable::control_add(*c, *ct);
  t_.conns().set_tcp_state(*c, ConnDirection::Input, kSyn, false);
  t_.conns().set_tcp_state(*c, ConnDirection::Input, kAck, false);
  ASSERT_EQ(ct->state, static_cast<uint8_t>(TemplateState::Assured));
  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  EXPECT_EQ(t_.conns().size(), 0U);
}

TEST_F(IpvsTableConnTest, TrashFreesAServer120SecondsAfterItsLastConnection) {
  RealServer* r = rs();
  Connection* c = open(42250, kT0);
  t_.conns().set_tcp_state(*c, ConnDirection::Input, kSyn, false);
  t_.conns().set_tcp_state(*c, ConnDirection::Input, kFin, false);  // SR + FIN -> TIME_WAIT
  t_.conns().put(*c, kT0);
  EXPECT_EQ(c->expires_ns, kT0 + 120 * kSec);
  std::weak_ptr<RealServer> weak = c->dest;
  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  EXPECT_EQ(t_.conns().size(), 1U);  // expire_nodest_conn 0: the connection stays
  EXPECT_EQ(r->inactconns, 1);

  t_.run_timers(kT0 + 60 * kSec);
  EXPECT_FALSE(weak.expired());
  uint64_t gone = kT0 + 120 * kSec;
  t_.run_timers(gone);  // the connection goes, the server is idle from now
  EXPECT_EQ(t_.conns().size(), 0U);
  ASSERT_FALSE(weak.expired());
  EXPECT_EQ(weak.lock()->inactconns, 0);
  t_.run_timers(gone + 120 * kSec - 1);
  EXPECT_FALSE(weak.expired());
  t_.run_timers(gone + 120 * kSec);
  EXPECT_TRUE(weak.expired());

  // Re-adding now makes a new server.
  ASSERT_EQ(t_.add_dest(vip_, dest("192.168.73.111")), 0);
  EXPECT_EQ(rs()->inactconns, 0);
  EXPECT_TRUE(rs()->available);
}

TEST_F(IpvsTableConnTest, TrashIsPerService) {
  // A server deleted from one service does not come back in another.
  ServiceConfig other;
  other.key = {0, kProtoTcp, ip("192.168.73.121"), 80};
  other.scheduler = "rr";
  ASSERT_EQ(t_.add_service(other), 0);
  RealServer* r = rs();
  Connection* c = open(42250, kT0);
  ASSERT_EQ(t_.del_dest(vip_, ip("192.168.73.111"), 80), 0);
  ASSERT_EQ(t_.add_dest(other.key, dest("192.168.73.111")), 0);
  RealServer* r2 = t_.find(other.key)->find(ip("192.168.73.111"), 80);
  EXPECT_NE(r2, r);
  EXPECT_EQ(r2->inactconns, 0);
  EXPECT_EQ(c->dest.get(), r);
  EXPECT_FALSE(r->available);
}

// 9. sysctls.

TEST(IpvsSysctlTest, DefaultsErrorsAndSchedulerSysctls) {
  IpvsTable t;
  EXPECT_EQ(t.sysctl_get("conn_reuse_mode"), "1");
  EXPECT_EQ(t.sysctl_get("pmtu_disc"), "1");
  EXPECT_EQ(t.sysctl_get("snat_reroute"), "1");
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "3\t50");
  EXPECT_EQ(t.sysctl_get("expire_nodest_conn"), "0");
  EXPECT_EQ(t.sysctl_get("am_droprate"), "10");
  EXPECT_EQ(t.sysctl_get("amemthresh"), "1024");
  EXPECT_EQ(t.sysctl_get("sync_version"), "1");
  EXPECT_EQ(t.sysctl_get("sync_ports"), "1");

  EXPECT_EQ(t.sysctl_set("conn_reuse_mode", "2"), 0);
  EXPECT_EQ(t.sysctl_get("conn_reuse_mode"), "2");
  EXPECT_EQ(t.sysctls().conn_reuse_mode, 2);
  EXPECT_EQ(t.sysctl_set("conn_reuse_mode", "3\n"), 0);  // echo's newline
  EXPECT_EQ(t.sysctl_get("conn_reuse_mode"), "3");
  EXPECT_EQ(t.sysctl_set("conn_reuse_mode", "abc"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("conn_reuse_mode", ""), -EINVAL);
  EXPECT_EQ(t.sysctl_set("conn_reuse_mode", "1x"), -EINVAL);
  EXPECT_EQ(t.sysctl_get("conn_reuse_mode"), "3");  // unchanged by the refusals
  EXPECT_EQ(t.sysctl_set("sync_retries", "4"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("sync_retries", "3"), 0);
  EXPECT_EQ(t.sysctl_set("sync_version", "2"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("sync_ports", "0"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("est_nice", "-21"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("est_nice", "20"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("est_nice", "-20"), 0);
  EXPECT_EQ(t.sysctl_get("est_nice"), "-20");

  EXPECT_EQ(t.sysctl_set("sync_threshold", "10 5"), -EINVAL);  // threshold >= period
  EXPECT_EQ(t.sysctl_set("sync_threshold", "5 5"), -EINVAL);
  EXPECT_EQ(t.sysctl_set("sync_threshold", "-1 50"), -EINVAL);
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "3\t50");
  EXPECT_EQ(t.sysctl_set("sync_threshold", "4\t40\n"), 0);
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "4\t40");
  EXPECT_EQ(t.sysctl_set("sync_threshold", "10 0"), 0);  // period 0
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "10\t0");

  EXPECT_EQ(t.sysctl_set("no_such_sysctl", "1"), -ENOENT);
  EXPECT_EQ(t.sysctl_get("no_such_sysctl"), std::nullopt);

  // lblc_expiration exists once ip_vs_lblc is loaded.
  EXPECT_EQ(t.sysctl_get("lblc_expiration"), std::nullopt);
  EXPECT_EQ(t.sysctl_set("lblc_expiration", "60"), -ENOENT);
  ServiceConfig c;
  c.key = {0, kProtoTcp, ip("192.168.73.120"), 80};
  c.scheduler = "lblc";
  ASSERT_EQ(t.add_service(c), 0);
  EXPECT_EQ(t.sysctl_get("lblc_expiration"), "86400");
  EXPECT_EQ(t.sysctl_set("lblc_expiration", "60"), 0);
  EXPECT_EQ(t.sysctl_get("lblc_expiration"), "60");
  EXPECT_EQ(t.sysctl_set("lblc_expiration", "x"), -EINVAL);
  EXPECT_EQ(t.sysctl_get("lblcr_expiration"), std::nullopt);
  EXPECT_EQ(t.sysctl_set("lblcr_expiration", "60"), -ENOENT);
  auto names = t.sysctl_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "lblc_expiration"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "lblcr_expiration"), names.end());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(IpvsSysctlTest, SyncThresholdWithATrailingSpaceDoesNotThrow) {
  IpvsTable t;
  int rc = 0;
  EXPECT_NO_THROW(rc = t.sysctl_set("sync_threshold", "3 "));
  EXPECT_TRUE(rc == 0 || rc == -EINVAL) << rc;
}

// proc_do_sync_threshold(): proc_dointvec() into a copy of the pair, so one value sets only
// the threshold and leading blanks are skipped.
TEST(IpvsSysctlTest, SyncThresholdTakesOneValueAndLeadingSpaceLikeProcDointvec) {
  IpvsTable t;
  EXPECT_EQ(t.sysctl_set("sync_threshold", "20\n"), 0);
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "20\t50");
  EXPECT_EQ(t.sysctl_set("sync_threshold", " 3 50"), 0);
  EXPECT_EQ(t.sysctl_get("sync_threshold"), "3\t50");
}

// 10. Golden formats.

constexpr const char* kConnHeader =
    "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";

TEST_F(ConnTableTest, ProcIpVsConnLines) {
  auto r = server("192.168.73.111", 80, ForwardMethod::Tunnel);
  Connection* c = open(client_key(), r, kT0);
  segment(c, ConnDirection::Input, kSyn, kT0);
  segment(c, ConnDirection::Input, kAck, kT0);
  segment(c, ConnDirection::Input, kFin, kT0);
  EXPECT_EQ(proc_ip_vs_conn(t_, kT0),
            std::string(kConnHeader) +
                "TCP C0A849C8 A50A C0A84978 0050 C0A8496F 0050 FIN_WAIT        120\n");
  // Expires is truncated to whole seconds, and 0 once due.
  EXPECT_EQ(line(proc_ip_vs_conn(t_, kT0 + 500'000'000), 1),
            "TCP C0A849C8 A50A C0A84978 0050 C0A8496F 0050 FIN_WAIT        119\n");
  EXPECT_EQ(line(proc_ip_vs_conn(t_, kT0 + 200 * kSec), 1),
            "TCP C0A849C8 A50A C0A84978 0050 C0A8496F 0050 FIN_WAIT          0\n");
  segment(c, ConnDirection::Input, kSyn, kT0);  // FW + SYN -> SYN_RECV (60 s)
  segment(c, ConnDirection::Input, kAck, kT0);
  EXPECT_EQ(line(proc_ip_vs_conn(t_, kT0 + 2 * kSec), 1),
            "TCP C0A849C8 A50A C0A84978 0050 C0A8496F 0050 ESTABLISHED     898\n");

  // A fwmark template: protocol 0 ("IP"), the mark as vaddr, cport 0; newest first.
  ConnKey fk;
  fk.protocol = 0;
  fk.caddr = ip("192.168.73.200");
  fk.vaddr = net::Ipv4Addr(1);
  Connection* ct = t_.create(fk, r->addr, 0, kConnTemplate | r->conn_flags(), r, 1, kT0 + 2 * kSec);
  ct->state = static_cast<uint8_t>(TemplateState::Assured);
  ct->timeout_ns = 300 * kSec;
  t_.put(*ct, kT0 + 2 * kSec);
  EXPECT_EQ(proc_ip_vs_conn(t_, kT0 + 2 * kSec + 500'000'000),
            std::string(kConnHeader) +
                "IP  C0A849C8 0000 00000001 0000 C0A8496F 0000 ASSURED         299\n"
                "TCP C0A849C8 A50A C0A84978 0050 C0A8496F 0050 ESTABLISHED     897\n");
}

TEST(IpvsProcTest, ProcIpVsServicesAndDests) {
  IpvsTable t;
  const std::string header =
      "IP Virtual Server version 1.2.1 (size=4096)\n"
      "Prot LocalAddress:Port Scheduler Flags\n"
      "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n";
  EXPECT_EQ(t.proc_ip_vs(), header);

  // A fwmark service added first is still listed after the address services.
  ServiceConfig fw;
  fw.key.fwmark = 1;
  fw.scheduler = "rr";
  ASSERT_EQ(t.add_service(fw), 0);

  ServiceConfig c;
  c.key = {0, kProtoTcp, ip("192.168.73.120"), 80};
  c.scheduler = "rr";
  ASSERT_EQ(t.add_service(c), 0);
  DestConfig d;
  d.addr = ip("192.168.73.110");
  d.port = 80;
  d.method = ForwardMethod::Tunnel;
  ASSERT_EQ(t.add_dest(c.key, d), 0);

  ServiceConfig p;
  p.key = {0, kProtoTcp, ip("192.168.73.120"), 443};
  p.scheduler = "wlc";
  p.flags = kSvcPersistent;
  p.timeout_s = 300;
  ASSERT_EQ(t.add_service(p), 0);
  DestConfig m;
  m.addr = ip("192.168.73.111");
  m.port = 443;
  m.method = ForwardMethod::Masquerade;
  m.weight = 3;
  ASSERT_EQ(t.add_dest(p.key, m), 0);
  // Two active connections and one inactive on the Masq server.
  Service* ps = t.find(p.key);
  RealServer* mr = ps->find(m.addr, m.port);
  for (uint16_t i = 0; i < 3; ++i) {
    Connection* x = t.conns().create(client_key(static_cast<uint16_t>(50000 + i)), mr->addr,
                                     mr->port, mr->conn_flags(), ps->share(mr), 0, kT0);
    if (i < 2) t.conns().set_tcp_state(*x, ConnDirection::Input, kSyn, false);
  }

  EXPECT_EQ(t.proc_ip_vs(), header +
                                "TCP  C0A84978:0050 rr  \n"
                                "  -> C0A8496E:0050      Tunnel  1      0          0         \n"
                                "TCP  C0A84978:01BB wlc  persistent 75000 FFFFFFFF\n"
                                "  -> C0A8496F:01BB      Masq    3      2          1         \n"
                                "FWM  00000001 rr \n");
}

TEST(IpvsProcTest, ProcIpVsStatsLayout) {
  IpvsTable t;
  EXPECT_EQ(t.proc_ip_vs_stats(),
            "   Total Incoming Outgoing         Incoming         Outgoing\n"
            "   Conns  Packets  Packets            Bytes            Bytes\n"
            "       0        0        0                0                0\n"
            "\n"
            " Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n"
            "       0        0        0                0                0\n");
  t.total_stats().conns = 3;
  t.total_stats().inpkts = 0x1234;
  t.total_stats().outpkts = 0xabc;
  t.total_stats().inbytes = 0x12345678;
  EXPECT_EQ(t.proc_ip_vs_stats(),
            "   Total Incoming Outgoing         Incoming         Outgoing\n"
            "   Conns  Packets  Packets            Bytes            Bytes\n"
            "       3     1234      ABC         12345678                0\n"
            "\n"
            " Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n"
            "       0        0        0                0                0\n");
}

TEST(IpvsadmConnListTest, ListConnectionsNumeric) {
  IpvsTable t;
  ServiceConfig c;
  c.key = {0, kProtoTcp, ip("192.168.73.120"), 80};
  c.scheduler = "rr";
  ASSERT_EQ(t.add_service(c), 0);
  DestConfig d;
  d.addr = ip("192.168.73.111");
  d.port = 80;
  d.method = ForwardMethod::Tunnel;
  ASSERT_EQ(t.add_dest(c.key, d), 0);
  Service* s = t.find(c.key);
  RealServer* r = s->find(d.addr, d.port);
  Connection* x =
      t.conns().create(client_key(), r->addr, r->port, r->conn_flags(), s->share(r), 0, kT0);
  for (TcpFlagsSeen f : {kSyn, kAck, kFin}) {
    t.conns().set_tcp_state(*x, ConnDirection::Input, f, false);
  }
  t.conns().put(*x, kT0);

  IpvsadmNames names;
  names.now_ns = kT0;
  IpvsadmResult res = run_ipvsadm(t, {"ipvsadm", "-L", "-n", "-c"}, "", names);
  EXPECT_EQ(res.status, 0);
  EXPECT_EQ(res.err, "");
  EXPECT_EQ(res.out,
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n"
            "TCP 02:00  FIN_WAIT    192.168.73.200:42250 192.168.73.120:80  192.168.73.111:80\n");
  // 61.5 s left prints 01:01.
  names.now_ns = kT0 + 58'500'000'000;
  res = run_ipvsadm(t, {"ipvsadm", "-L", "-n", "-c"}, "", names);
  EXPECT_EQ(line(res.out, 2),
            "TCP 01:01  FIN_WAIT    192.168.73.200:42250 192.168.73.120:80  192.168.73.111:80\n");
}

}  // namespace
}  // namespace vnet::lb

namespace vnet::lb {
namespace {

// ip_vs_est.c: a steady 1 connection and 1000 bytes a second reads back as cps 1 and bps 1000
// once the 1/4-weighted average has settled; the first tick reads 0 (256 >> 10 after rounding).
TEST(IpvsEstimatorTest, SteadyRatesSettleInTheKernelsFixedPoint) {
  Stats s;
  s.conns = 2;
  s.inbytes = 2000;
  s.estimate();
  EXPECT_EQ(s.rate(0), 0u);
  EXPECT_EQ(s.rate(3), 250u);  // (2000 << 4 >> 2 + 15) >> 5
  for (int tick = 0; tick < 60; ++tick) {
    s.conns += 2;
    s.inbytes += 2000;
    s.estimate();
  }
  EXPECT_EQ(s.rate(0), 1u);
  EXPECT_EQ(s.rate(3), 1000u);
  EXPECT_EQ(s.rate(4), 0u);
  // Idle ticks decay it.
  for (int tick = 0; tick < 60; ++tick) s.estimate();
  EXPECT_EQ(s.rate(0), 0u);
  EXPECT_EQ(s.rate(3), 0u);
}

TEST(IpvsEstimatorTest, TableTicksEveryTwoSecondsAndListsRates) {
  IpvsTable t;
  ServiceConfig c;
  c.key = {0, kProtoTcp, *net::Ipv4Addr::parse("10.0.0.1"), 80};
  c.scheduler = "rr";
  ASSERT_EQ(t.add_service(c), 0);
  Service* s = t.find(c.key);
  constexpr uint64_t kS = 1'000'000'000;
  t.estimate_until(0);  // the ticks start 2 s from here
  for (uint64_t sec = 2; sec <= 120; sec += 2) {
    s->stats.conns += 20;  // 10 connections a second
    s->stats.inpkts += 200;
    t.estimate_until(sec * kS);
  }
  EXPECT_EQ(s->stats.rate(0), 10u);
  EXPECT_EQ(s->stats.rate(1), 100u);
  IpvsadmResult r = run_ipvsadm(t, {"ipvsadm", "-L", "-n", "--rate"});
  EXPECT_NE(r.out.find("TCP  10.0.0.1:80                        10      100        0        0"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace vnet::lb
