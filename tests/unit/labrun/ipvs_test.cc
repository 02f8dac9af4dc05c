// IPVS in a simulated director's packet path, driven through TCP sockets on the client and the
// real servers: quiescing and removing real servers (expire_nodest_conn), port reuse
// (conn_reuse_mode), sloppy_tcp, persistence with -M and quiesced templates, a service with no
// real server, TTL expiry at the director, NAT's address and port translation, the tunnel
// encapsulations (IPIP, GRE, GUE) as they appear on the wire, the tunnel's ICMP
// fragmentation-needed, pmtu_disc=0, and ICMP errors about tunnel packets relayed to the
// client.  Kernel behaviour: net/netfilter/ipvs/ip_vs_core.c, ip_vs_xmit.c, ip_vs_proto_tcp.c.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "lab/lab_parser.h"
#include "labrun/lab.h"
#include "lb/conn_table.h"
#include "lb/ipvs_table.h"
#include "stack/tcp.h"

namespace vnet::labrun {
namespace {

using net::Ipv4Addr;
using stack::DropReason;
using stack::TcpEvent;
using stack::TcpState;

Ipv4Addr ip(const char* text) {
  return *Ipv4Addr::parse(text);
}

// LVS-DR (examples/lvs-dr.yaml without httpd): the tests listen on the real servers themselves.
constexpr const char* kDrLab = R"(
name: ipvs-dr
topology:
  nodes:
    sw: {kind: bridge}
    lvs:
      kind: vnet
      exec:
        - ip addr add 192.168.80.100/24 dev eth0
        - ip addr add 192.168.80.120/32 dev eth0
        - ipvsadm -A -t 192.168.80.120:80 -s rr
        - ipvsadm -a -t 192.168.80.120:80 -r 192.168.80.110 -g
        - ipvsadm -a -t 192.168.80.120:80 -r 192.168.80.111 -g
    rs1:
      kind: linux
      exec:
        - ip addr add 192.168.80.110/24 dev eth0
        - sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
        - ip addr add 192.168.80.120/32 dev lo
    rs2:
      kind: linux
      exec:
        - ip addr add 192.168.80.111/24 dev eth0
        - sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
        - ip addr add 192.168.80.120/32 dev lo
    client:
      kind: linux
      exec:
        - ip addr add 192.168.80.200/24 dev eth0
  links:
    - endpoints: ["lvs:eth0", "sw:p1"]
    - endpoints: ["rs1:eth0", "sw:p2"]
    - endpoints: ["rs2:eth0", "sw:p3"]
    - endpoints: ["client:eth0", "sw:p4"]
)";

// LVS-NAT (examples/lvs-nat.yaml): the VIP's port 80 goes to the servers' 8080.
constexpr const char* kNatLab = R"(
name: ipvs-nat
topology:
  nodes:
    sw: {kind: bridge}
    client:
      kind: linux
      exec:
        - ip addr add 203.0.113.100/24 dev eth0
    lvs:
      kind: vnet
      exec:
        - ip addr add 203.0.113.1/24 dev eth0
        - ip addr add 203.0.113.10/24 dev eth0
        - ip addr add 10.0.0.1/24 dev eth1
        - sysctl -w net.ipv4.ip_forward=1
        - ipvsadm -A -t 203.0.113.10:80 -s rr
        - ipvsadm -a -t 203.0.113.10:80 -r 10.0.0.11:8080 -m
        - ipvsadm -a -t 203.0.113.10:80 -r 10.0.0.12:8080 -m
    rs1:
      kind: linux
      exec:
        - ip addr add 10.0.0.11/24 dev eth0
        - ip route add default via 10.0.0.1
    rs2:
      kind: linux
      exec:
        - ip addr add 10.0.0.12/24 dev eth0
        - ip route add default via 10.0.0.1
  links:
    - endpoints: ["client:eth0", "lvs:eth0"]
    - endpoints: ["lvs:eth1", "sw:p1"]
    - endpoints: ["rs1:eth0", "sw:p2"]
    - endpoints: ["rs2:eth0", "sw:p3"]
)";

// LVS-TUN (examples/seed003-lvs-tun.yaml, with the VIP on the director's eth0): the real
// servers hold the VIP on tunl0 and decapsulate IPIP there.  The services are added by the
// tests.
constexpr const char* kTunLab = R"(
name: ipvs-tun
topology:
  nodes:
    sw: {kind: bridge}
    lvs:
      kind: vnet
      exec:
        - ip addr add 192.168.73.100/24 dev eth0
        - ip addr add 192.168.73.120/32 dev eth0
    rs1:
      kind: linux
      exec:
        - ip addr add 192.168.73.110/24 dev eth0
        - modprobe ipip
        - ip addr add 192.168.73.120/32 dev tunl0
        - ip link set up tunl0
        - sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    rs2:
      kind: linux
      exec:
        - ip addr add 192.168.73.111/24 dev eth0
        - modprobe ipip
        - ip addr add 192.168.73.120/32 dev tunl0
        - ip link set up tunl0
        - sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
    client:
      kind: linux
      exec:
        - ip addr add 192.168.73.200/24 dev eth0
  links:
    - endpoints: ["lvs:eth0", "sw:p1"]
    - endpoints: ["rs1:eth0", "sw:p2"]
    - endpoints: ["rs2:eth0", "sw:p3"]
    - endpoints: ["client:eth0", "sw:p4"]
)";

// A listener on a real server: what each accepted connection received, in accept order.
struct Server {
  stack::Node* node = nullptr;
  std::vector<int> accepted;
  std::map<int, std::string> got;
  std::string echo_prefix;  // nonempty: every chunk is answered with prefix + chunk
  std::string all() const {
    std::string out;
    for (int s : accepted) out += got.at(s);
    return out;
  }
};

// A client connection.
struct Client {
  int sock = 0;
  bool connected = false;
  int err = 0;
  std::string got;
};

class IpvsTest : public ::testing::Test {
 protected:
  void deploy(const std::string& text, const DeployOptions& options = {}) {
    auto spec = lab::parse_lab(text, "ipvs.yaml");
    ASSERT_TRUE(std::holds_alternative<lab::LabSpec>(spec));
    auto deployed = Lab::deploy(std::get<lab::LabSpec>(spec), options);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Lab>>(deployed))
        << std::get<std::string>(deployed);
    lab = std::move(std::get<std::unique_ptr<Lab>>(deployed));
    lvs = lab->node("lvs");
    client = lab->node("client");
  }
  // Runs the simulation until pred() holds or limit_s seconds of virtual time passed.
  bool run(const std::function<bool()>& pred, double limit_s) {
    uint64_t until = lab->sim().now_ns() + static_cast<uint64_t>(limit_s * 1e9);
    lab->advance_until(until, pred);
    // Brings every node's clock to the simulator's: a socket call made next (outside the
    // simulator's events) then stamps its segments and timers with the current time.
    lab->advance_until(lab->sim().now_ns(), [] { return true; });
    return pred();
  }
  void idle(double seconds) {
    run([] { return false; }, seconds);
  }
  cmd::CmdOutput sh(const std::string& node, const std::string& line) {
    cmd::CmdOutput o = lab->run(node, line);
    EXPECT_EQ(o.status, 0) << node << ": " << line << "\n" << o.out << o.err;
    return o;
  }
  Server& listen(const std::string& name, uint16_t port) {
    auto srv = std::make_unique<Server>();
    Server* s = srv.get();
    s->node = lab->node(name);
    servers[name] = std::move(srv);
    int l = s->node->tcp().listen({Ipv4Addr(), port}, 128, [s](int sock, TcpEvent ev) {
      if (ev != TcpEvent::Accept) return;
      for (;;) {
        int a = s->node->tcp().accept(sock, [s](int so, TcpEvent e) {
          if (e != TcpEvent::Readable) return;
          std::string chunk = s->node->tcp().recv(so);
          s->got[so] += chunk;
          if (!s->echo_prefix.empty() && !chunk.empty()) {
            (void)s->node->tcp().send(so, s->echo_prefix + chunk);
          }
        });
        if (a < 0) break;
        s->accepted.push_back(a);
        s->got[a];
      }
    });
    EXPECT_GT(l, 0);
    return *s;
  }
  Client& connect(Ipv4Addr vip, uint16_t vport, stack::TcpEndpoint local = {}) {
    clients.push_back(std::make_unique<Client>());
    Client* c = clients.back().get();
    c->sock = client->tcp().connect({vip, vport}, local, 0, [this, c](int so, TcpEvent ev) {
      if (ev == TcpEvent::Connected) c->connected = true;
      if (ev == TcpEvent::Error) c->err = client->tcp().error(so);
      if (ev == TcpEvent::Readable) c->got += client->tcp().recv(so);
    });
    EXPECT_GT(c->sock, 0);
    return *c;
  }
  // The director's connection entry (not a template) for a client port; nullptr if none is
  // hashed.
  const lb::Connection* entry(uint16_t cport) const {
    for (const lb::Connection& c : lvs->ipvs_if_loaded()->conns().entries()) {
      if (!c.is_template() && c.key.cport == cport && (c.flags & lb::kConnHashed)) return &c;
    }
    return nullptr;
  }
  uint64_t drops(stack::Node* n, DropReason r) const { return n->drops().get(r); }

  // The sockets' handlers point at these: the lab (declared last) goes first.
  std::map<std::string, std::unique_ptr<Server>> servers;
  std::vector<std::unique_ptr<Client>> clients;
  std::unique_ptr<Lab> lab;
  stack::Node* lvs = nullptr;
  stack::Node* client = nullptr;
};

constexpr Ipv4Addr kDrVip = Ipv4Addr::from_octets(192, 168, 80, 120);
constexpr Ipv4Addr kNatVip = Ipv4Addr::from_octets(203, 0, 113, 10);
constexpr Ipv4Addr kTunVip = Ipv4Addr::from_octets(192, 168, 73, 120);

// ---- 1. quiescing (weight 0) ----

TEST_F(IpvsTest, QuiescedServerKeepsItsConnectionsAndGetsNoNewOnes) {
  deploy(kDrLab);
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "first"), 5);
  // rr starts with the real server added last (the head of the list): rs2.
  ASSERT_TRUE(run([&] { return rs2.all() == "first"; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 0u);
  uint16_t port_a = client->tcp().local(a.sock).port;
  const lb::Connection* ea = entry(port_a);
  ASSERT_NE(ea, nullptr);
  EXPECT_EQ(ea->daddr, ip("192.168.80.111"));
  EXPECT_EQ(ea->tcp_state(), lb::TcpConnState::Established);

  sh("lvs", "ipvsadm -e -t 192.168.80.120:80 -r 192.168.80.111 -g -w 0");
  cmd::CmdOutput l = sh("lvs", "ipvsadm -L -n");
  EXPECT_NE(l.out.find("  -> 192.168.80.111:80            Route   0      1          0"),
            std::string::npos)
      << l.out;

  // The established connection still goes to rs2.
  ASSERT_EQ(client->tcp().send(a.sock, "second"), 6);
  ASSERT_TRUE(run([&] { return rs2.all() == "firstsecond"; }, 2));
  ASSERT_EQ(rs2.accepted.size(), 1u);
  EXPECT_EQ(rs1.accepted.size(), 0u);
  EXPECT_EQ(entry(port_a)->daddr, ip("192.168.80.111"));

  // New connections all go to rs1 (rr alone would have alternated).
  Client& b = connect(kDrVip, 80);
  Client& c = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return b.connected && c.connected; }, 2));
  ASSERT_EQ(client->tcp().send(b.sock, "b"), 1);
  ASSERT_EQ(client->tcp().send(c.sock, "c"), 1);
  ASSERT_TRUE(run([&] { return rs1.all().size() == 2; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 2u);
  EXPECT_EQ(rs2.accepted.size(), 1u);
  EXPECT_EQ(rs2.all(), "firstsecond");
  EXPECT_EQ(entry(client->tcp().local(b.sock).port)->daddr, ip("192.168.80.110"));
  EXPECT_EQ(entry(client->tcp().local(c.sock).port)->daddr, ip("192.168.80.110"));
  l = sh("lvs", "ipvsadm -L -n");
  EXPECT_NE(l.out.find("  -> 192.168.80.110:80            Route   1      2          0"),
            std::string::npos)
      << l.out;
  EXPECT_NE(l.out.find("  -> 192.168.80.111:80            Route   0      1          0"),
            std::string::npos)
      << l.out;
}

// ---- 2. removed real server, expire_nodest_conn ----

TEST_F(IpvsTest, RemovedServerDropsItsConnectionsUntilExpireNodestConnReschedules) {
  deploy(kDrLab);
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "one"), 3);
  ASSERT_TRUE(run([&] { return rs2.all() == "one"; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;

  sh("lvs", "ipvsadm -d -t 192.168.80.120:80 -r 192.168.80.111");
  cmd::CmdOutput l = sh("lvs", "ipvsadm -L -n");
  EXPECT_EQ(l.out.find("192.168.80.111"), std::string::npos) << l.out;
  // The entry stays (its real server is in the trash).
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->daddr, ip("192.168.80.111"));

  // expire_nodest_conn=0: the segment is dropped silently, before the first retransmission.
  EXPECT_EQ(drops(lvs, DropReason::IpvsDestUnavailable), 0u);
  ASSERT_EQ(client->tcp().send(a.sock, "two"), 3);
  idle(0.1);
  EXPECT_EQ(drops(lvs, DropReason::IpvsDestUnavailable), 1u);
  EXPECT_EQ(rs2.all(), "one");
  // The retransmissions meet the same fate.
  idle(2);
  EXPECT_GE(drops(lvs, DropReason::IpvsDestUnavailable), 3u);
  EXPECT_EQ(rs2.all(), "one");
  EXPECT_EQ(rs1.accepted.size(), 0u);
  EXPECT_EQ(client->tcp().state(a.sock), TcpState::Established);

  // The client gives up (its RST is dropped too) and reconnects from the same port.
  uint64_t before = drops(lvs, DropReason::IpvsDestUnavailable);
  client->tcp().abort(a.sock);
  idle(0.1);
  EXPECT_EQ(drops(lvs, DropReason::IpvsDestUnavailable), before + 1);
  ASSERT_NE(entry(port), nullptr);

  sh("lvs", "sysctl -w net.ipv4.vs.expire_nodest_conn=1");
  EXPECT_EQ(sh("lvs", "cat /proc/sys/net/ipv4/vs/expire_nodest_conn").out, "1\n");
  EXPECT_EQ(lvs->sysctl_get("net.ipv4.vs.expire_nodest_conn"), "1");
  // The SYN hits the old entry: it expires and the SYN is scheduled to rs1.
  Client& b = connect(kDrVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return b.connected; }, 2));
  ASSERT_EQ(client->tcp().send(b.sock, "three"), 5);
  ASSERT_TRUE(run([&] { return rs1.all() == "three"; }, 2));
  ASSERT_EQ(rs1.accepted.size(), 1u);
  EXPECT_EQ(rs1.node->tcp().remote(rs1.accepted[0]).port, port);
  EXPECT_EQ(rs1.node->tcp().remote(rs1.accepted[0]).addr, ip("192.168.80.200"));
  EXPECT_EQ(rs2.accepted.size(), 1u);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->daddr, ip("192.168.80.110"));
  EXPECT_EQ(drops(lvs, DropReason::IpvsDestUnavailable), before + 1);
}

// ---- 3. conn_reuse_mode ----

TEST_F(IpvsTest, SynReusingATimeWaitEntryIsRescheduledUnlessConnReuseModeIsZero) {
  deploy(kNatLab);
  Server& rs1 = listen("rs1", 8080);
  Server& rs2 = listen("rs2", 8080);
  Client& a = connect(kNatVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "a"), 1);
  ASSERT_TRUE(run([&] { return rs2.all() == "a"; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;
  // The server closes first: the client's socket is gone after its LAST_ACK, its port free;
  // the director saw FIN out, ACK in, FIN in, ACK out: TIME_WAIT.
  rs2.node->tcp().close(rs2.accepted[0]);
  ASSERT_TRUE(run([&] { return client->tcp().peer_closed(a.sock); }, 2));
  client->tcp().close(a.sock);
  idle(1);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::TimeWait);
  EXPECT_EQ(entry(port)->daddr, ip("10.0.0.12"));
  cmd::CmdOutput c = sh("lvs", "ipvsadm -L -n -c");
  EXPECT_NE(c.out.find("TIME_WAIT   203.0.113.100:" + std::to_string(port)), std::string::npos)
      << c.out;

  // conn_reuse_mode=1 (the default): the same client port's SYN is a new connection, and rr
  // gives it rs1.
  EXPECT_EQ(sh("lvs", "sysctl net.ipv4.vs.conn_reuse_mode").out,
            "net.ipv4.vs.conn_reuse_mode = 1\n");
  uint64_t old_id = entry(port)->id;
  Client& b = connect(kNatVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return b.connected; }, 2));
  ASSERT_EQ(client->tcp().send(b.sock, "b"), 1);
  ASSERT_TRUE(run([&] { return rs1.all() == "b"; }, 2));
  EXPECT_EQ(rs2.accepted.size(), 1u);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_NE(entry(port)->id, old_id);
  EXPECT_EQ(entry(port)->daddr, ip("10.0.0.11"));
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::Established);

  // conn_reuse_mode=0: the SYN takes over the TIME_WAIT entry, and so the same real server
  // (rr would have picked rs2).
  rs1.node->tcp().close(rs1.accepted[0]);
  ASSERT_TRUE(run([&] { return client->tcp().peer_closed(b.sock); }, 2));
  client->tcp().close(b.sock);
  idle(1);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::TimeWait);
  sh("lvs", "sysctl -w net.ipv4.vs.conn_reuse_mode=0");
  old_id = entry(port)->id;
  Client& d = connect(kNatVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return d.connected; }, 2));
  ASSERT_EQ(client->tcp().send(d.sock, "d"), 1);
  ASSERT_TRUE(run([&] { return rs1.all() == "bd"; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 2u);
  EXPECT_EQ(rs2.accepted.size(), 1u);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->id, old_id);
  EXPECT_EQ(entry(port)->daddr, ip("10.0.0.11"));
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::Established);
}

// ---- 4. sloppy_tcp ----

// One real server (rs2) and entries that expire 2 s after their last packet: a connection that
// carried "one" and then stayed idle long enough for the director to forget it.
class IpvsSloppyTest : public IpvsTest {
 protected:
  void SetUp() override {
    deploy(kDrLab);
    sh("lvs", "ipvsadm -d -t 192.168.80.120:80 -r 192.168.80.110");
    sh("lvs", "ipvsadm --set 2 0 0");
    rs2 = &listen("rs2", 80);
    a = &connect(kDrVip, 80);
    ASSERT_TRUE(run([&] { return a->connected; }, 2));
    ASSERT_EQ(client->tcp().send(a->sock, "one"), 3);
    ASSERT_TRUE(run([&] { return rs2->all() == "one"; }, 2));
    port = client->tcp().local(a->sock).port;
    ASSERT_NE(entry(port), nullptr);
    EXPECT_EQ(entry(port)->timeout_ns, 2'000'000'000u);
    idle(3);
    ASSERT_EQ(entry(port), nullptr);
    EXPECT_TRUE(lvs->ipvs_if_loaded()->conns().entries().empty());
    EXPECT_EQ(client->tcp().state(a->sock), TcpState::Established);
  }
  Server* rs2 = nullptr;
  Client* a = nullptr;
  uint16_t port = 0;
};

TEST_F(IpvsSloppyTest, AckWithoutEntryGoesToTheDirectorsStackByDefault) {
  // sloppy_tcp=0: a segment without SYN is not scheduled; the director's own stack has no
  // socket for VIP:80 and answers RST (from the VIP).
  EXPECT_EQ(lvs->tcp().counters().out_rsts, 0u);
  lab->set_tracing(true);
  ASSERT_EQ(client->tcp().send(a->sock, "two"), 3);
  ASSERT_TRUE(run([&] { return a->err != 0; }, 2));
  EXPECT_EQ(a->err, ECONNRESET);
  EXPECT_EQ(lvs->tcp().counters().out_rsts, 1u);
  EXPECT_EQ(drops(lvs, DropReason::NoSocket), 1u);
  EXPECT_EQ(rs2->all(), "one");
  EXPECT_EQ(entry(port), nullptr);
  EXPECT_EQ(lvs->ipvs_if_loaded()->total_stats().conns, 1u);
  std::string rst = "recv 192.168.80.120:80 > 192.168.80.200:" + std::to_string(port) + " [R]";
  bool client_saw_rst = false;
  for (const TraceLine& t : lab->trace()) {
    if (t.node == "client" && t.record.stage == stack::TraceStage::Tcp &&
        t.record.text.rfind(rst, 0) == 0) {
      client_saw_rst = true;
    }
  }
  EXPECT_TRUE(client_saw_rst);
}

TEST_F(IpvsSloppyTest, SloppyTcpSchedulesAnAckWithoutEntry) {
  sh("lvs", "sysctl -w net.ipv4.vs.sloppy_tcp=1");
  // The ACK creates an entry and reaches the real server, whose socket takes the data.
  ASSERT_EQ(client->tcp().send(a->sock, "two"), 3);
  ASSERT_TRUE(run([&] { return rs2->all() == "onetwo"; }, 2));
  EXPECT_EQ(a->err, 0);
  EXPECT_EQ(lvs->tcp().counters().out_rsts, 0u);
  EXPECT_EQ(lvs->ipvs_if_loaded()->total_stats().conns, 2u);
  const lb::Connection* e = entry(port);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->daddr, ip("192.168.80.111"));
  // Input-only table, ACK from NONE: ESTABLISHED, active, with the --set timeout.
  EXPECT_EQ(e->tcp_state(), lb::TcpConnState::Established);
  EXPECT_EQ(e->timeout_ns, 2'000'000'000u);
  cmd::CmdOutput l = sh("lvs", "ipvsadm -L -n");
  EXPECT_NE(l.out.find("  -> 192.168.80.111:80            Route   1      1          0"),
            std::string::npos)
      << l.out;
}

// ---- more port reuse: FIN_WAIT of a DR entry, a quiesced server's entry ----

TEST_F(IpvsTest, ConnReuseModeTwoReschedulesAFinWaitDrEntry) {
  deploy(kDrLab);
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "a"), 1);
  ASSERT_TRUE(run([&] { return rs2.all() == "a"; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;
  // The server closes first; the director only sees the client's side: its FIN moves the
  // input-only entry from ESTABLISHED to FIN_WAIT, still NOOUTPUT.
  rs2.node->tcp().close(rs2.accepted[0]);
  ASSERT_TRUE(run([&] { return client->tcp().peer_closed(a.sock); }, 2));
  client->tcp().close(a.sock);
  idle(1);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::FinWait);
  EXPECT_TRUE(entry(port)->flags & lb::kConnNoOutput);
  uint64_t old_id = entry(port)->id;

  // conn_reuse_mode=1: FIN_WAIT is not reused, the SYN follows the entry to rs2.
  Client& b = connect(kDrVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return b.connected; }, 2));
  ASSERT_EQ(client->tcp().send(b.sock, "b"), 1);
  ASSERT_TRUE(run([&] { return rs2.all() == "ab"; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 0u);
  EXPECT_EQ(entry(port)->id, old_id);
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::Established);

  // conn_reuse_mode=3: the same sequence is rescheduled, and rr gives rs1.
  rs2.node->tcp().close(rs2.accepted[1]);
  ASSERT_TRUE(run([&] { return client->tcp().peer_closed(b.sock); }, 2));
  client->tcp().close(b.sock);
  idle(1);
  ASSERT_EQ(entry(port)->tcp_state(), lb::TcpConnState::FinWait);
  sh("lvs", "sysctl -w net.ipv4.vs.conn_reuse_mode=3");
  Client& c = connect(kDrVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return c.connected; }, 2));
  ASSERT_EQ(client->tcp().send(c.sock, "c"), 1);
  ASSERT_TRUE(run([&] { return rs1.all() == "c"; }, 2));
  EXPECT_EQ(rs2.accepted.size(), 2u);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_NE(entry(port)->id, old_id);
  EXPECT_EQ(entry(port)->daddr, ip("192.168.80.110"));
}

TEST_F(IpvsTest, ExpireNodestConnReschedulesASynOnAQuiescedServersEntry) {
  deploy(kDrLab);
  // conn_reuse_mode=0, so that only expire_nodest_conn can reschedule.
  sh("lvs", "sysctl -w net.ipv4.vs.conn_reuse_mode=0");
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;
  sh("lvs", "ipvsadm -e -t 192.168.80.120:80 -r 192.168.80.111 -g -w 0");
  // The client resets (the RST reaches rs2, the entry is CLOSE) and reconnects from the port.
  client->tcp().abort(a.sock);
  idle(0.1);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_EQ(entry(port)->tcp_state(), lb::TcpConnState::Close);
  // expire_nodest_conn=0: the SYN takes the entry, to the quiesced rs2.
  Client& b = connect(kDrVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return b.connected; }, 2));
  ASSERT_TRUE(run([&] { return rs2.accepted.size() == 2; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 0u);
  client->tcp().abort(b.sock);
  idle(0.1);
  // expire_nodest_conn=1: a SYN on a weight-0 server's entry is scheduled again: rs1.
  sh("lvs", "sysctl -w net.ipv4.vs.expire_nodest_conn=1");
  uint64_t old_id = entry(port)->id;
  Client& c = connect(kDrVip, 80, {Ipv4Addr(), port});
  ASSERT_TRUE(run([&] { return c.connected; }, 2));
  ASSERT_TRUE(run([&] { return rs1.accepted.size() == 1; }, 2));
  EXPECT_EQ(rs2.accepted.size(), 2u);
  ASSERT_NE(entry(port), nullptr);
  EXPECT_NE(entry(port)->id, old_id);
  EXPECT_EQ(entry(port)->daddr, ip("192.168.80.110"));
}

// ---- 5. persistence with a netmask ----

TEST_F(IpvsTest, PersistenceNetmaskPinsAClientNetworkToOneServer) {
  deploy(kDrLab);
  sh("lvs", "ipvsadm -E -t 192.168.80.120:80 -s rr -p 300 -M 255.255.255.0");
  sh("client", "ip addr add 192.168.80.201/24 dev eth0");
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  cmd::CmdOutput l = sh("lvs", "ipvsadm -L -n");
  EXPECT_NE(l.out.find("TCP  192.168.80.120:80 rr persistent 300 mask 255.255.255.0"),
            std::string::npos)
      << l.out;
  Client& a = connect(kDrVip, 80);
  Client& b = connect(kDrVip, 80, {ip("192.168.80.201"), 0});
  Client& c = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected && b.connected && c.connected; }, 2));
  for (Client* x : {&a, &b, &c}) ASSERT_EQ(client->tcp().send(x->sock, "x"), 1);
  ASSERT_TRUE(run([&] { return rs2.all() == "xxx"; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 0u);
  ASSERT_EQ(rs2.accepted.size(), 3u);
  std::vector<Ipv4Addr> sources;
  for (int s : rs2.accepted) sources.push_back(rs2.node->tcp().remote(s).addr);
  EXPECT_EQ(std::count(sources.begin(), sources.end(), ip("192.168.80.201")), 1);
  EXPECT_EQ(std::count(sources.begin(), sources.end(), ip("192.168.80.200")), 2);

  // One template, for the /24, controlling the three connections.
  int templates = 0;
  for (const lb::Connection& e : lvs->ipvs_if_loaded()->conns().entries()) {
    if (!e.is_template()) continue;
    ++templates;
    EXPECT_EQ(e.key.caddr, ip("192.168.80.0"));
    EXPECT_EQ(e.key.cport, 0);
    EXPECT_EQ(e.key.vaddr, kDrVip);
    EXPECT_EQ(e.key.vport, 80);
    EXPECT_EQ(e.daddr, ip("192.168.80.111"));
    EXPECT_EQ(e.n_control, 3);
    EXPECT_EQ(e.state, static_cast<uint8_t>(lb::TemplateState::Assured));
  }
  EXPECT_EQ(templates, 1);
  cmd::CmdOutput cl = sh("lvs", "ipvsadm -L -n -c");
  EXPECT_NE(cl.out.find("ASSURED     192.168.80.0:0     192.168.80.120:80  192.168.80.111:80"),
            std::string::npos)
      << cl.out;
  cmd::CmdOutput p = sh("lvs", "cat /proc/net/ip_vs_conn");
  EXPECT_NE(p.out.find("TCP C0A85000 0000 C0A85078 0050 C0A8506F 0050 ASSURED"), std::string::npos)
      << p.out;
}

TEST_F(IpvsTest, DeletingAServerWithExpireNodestConnFlushesItsEntries) {
  deploy(kDrLab);
  sh("lvs", "sysctl -w net.ipv4.vs.expire_nodest_conn=1");
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "one"), 3);
  ASSERT_TRUE(run([&] { return rs2.all() == "one"; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;
  ASSERT_NE(entry(port), nullptr);
  sh("lvs", "ipvsadm -d -t 192.168.80.120:80 -r 192.168.80.111");
  idle(0.1);
  EXPECT_EQ(entry(port), nullptr);
  EXPECT_EQ(sh("lvs", "ipvsadm -L -n -c").out,
            "IPVS connection entries\n"
            "pro expire state       source             virtual            destination\n");
  // The next segment is no SYN and finds no entry: the director's stack resets it.
  ASSERT_EQ(client->tcp().send(a.sock, "two"), 3);
  ASSERT_TRUE(run([&] { return a.err != 0; }, 2));
  EXPECT_EQ(a.err, ECONNRESET);
  EXPECT_EQ(drops(lvs, DropReason::IpvsDestUnavailable), 0u);
  EXPECT_EQ(lvs->tcp().counters().out_rsts, 1u);
  EXPECT_EQ(rs2.all(), "one");
}

TEST_F(IpvsTest, TtlExceededAtTheDirectorComesFromTheVip) {
  deploy(kDrLab);
  Server& rs2 = listen("rs2", 80);
  sh("client", "sysctl -w net.ipv4.ip_default_ttl=1");
  lab->set_tracing(true);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.err != 0; }, 2));
  EXPECT_EQ(a.err, EHOSTUNREACH);
  EXPECT_EQ(drops(lvs, DropReason::TtlExpired), 1u);
  EXPECT_EQ(rs2.accepted.size(), 0u);
  std::vector<std::string> icmp;
  for (const TraceLine& t : lab->trace()) {
    if (t.node == "client" && t.record.stage == stack::TraceStage::Icmp) {
      icmp.push_back(t.record.text);
    }
  }
  ASSERT_EQ(icmp.size(), 1u);
  EXPECT_EQ(icmp[0], "icmp type 11 code 0 from 192.168.80.120");
}

TEST_F(IpvsTest, PersistenceSurvivesQuiescingUnlessExpireQuiescentTemplate) {
  deploy(kDrLab);
  sh("lvs", "ipvsadm -E -t 192.168.80.120:80 -s rr -p 300");
  Server& rs1 = listen("rs1", 80);
  Server& rs2 = listen("rs2", 80);
  Client& a = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_TRUE(run([&] { return rs2.accepted.size() == 1; }, 2));
  sh("lvs", "ipvsadm -e -t 192.168.80.120:80 -r 192.168.80.111 -g -w 0");
  // The template still sends the client to the quiesced rs2.
  Client& b = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return b.connected; }, 2));
  ASSERT_TRUE(run([&] { return rs2.accepted.size() == 2; }, 2));
  EXPECT_EQ(rs1.accepted.size(), 0u);
  // expire_quiescent_template: the template is invalidated (its ports become FFFF) and the
  // next connection is scheduled again, to rs1, under a new template.
  sh("lvs", "sysctl -w net.ipv4.vs.expire_quiescent_template=1");
  Client& c = connect(kDrVip, 80);
  ASSERT_TRUE(run([&] { return c.connected; }, 2));
  ASSERT_TRUE(run([&] { return rs1.accepted.size() == 1; }, 2));
  EXPECT_EQ(rs2.accepted.size(), 2u);
  EXPECT_EQ(entry(client->tcp().local(c.sock).port)->daddr, ip("192.168.80.110"));
  cmd::CmdOutput p = sh("lvs", "cat /proc/net/ip_vs_conn");
  EXPECT_NE(p.out.find("TCP C0A850C8 0000 C0A85078 FFFF C0A8506F FFFF ASSURED"), std::string::npos)
      << p.out;
  EXPECT_NE(p.out.find("TCP C0A850C8 0000 C0A85078 0050 C0A8506E 0050 "), std::string::npos)
      << p.out;
}

// ---- 6. no destination ----

TEST_F(IpvsTest, ServiceWithoutRealServersAnswersPortUnreachable) {
  deploy(kDrLab);
  sh("lvs", "ipvsadm -A -t 192.168.80.120:8080");
  lab->set_tracing(true);
  Client& a = connect(kDrVip, 8080);
  ASSERT_TRUE(run([&] { return a.err != 0; }, 2));
  EXPECT_EQ(a.err, ECONNREFUSED);
  EXPECT_FALSE(a.connected);
  EXPECT_EQ(client->tcp().state(a.sock), TcpState::Close);
  EXPECT_EQ(client->tcp().counters().syn_retrans, 0u);
  EXPECT_EQ(drops(lvs, DropReason::IpvsNoDest), 1u);
  // Not a TCP RST: the director's stack never saw the SYN.
  EXPECT_EQ(lvs->tcp().counters().out_rsts, 0u);
  EXPECT_EQ(lvs->tcp().counters().in_segs, 0u);
  EXPECT_TRUE(lvs->ipvs_if_loaded()->conns().entries().empty());
  bool ipvs_said = false;
  for (const TraceLine& t : lab->trace()) {
    if (t.node == "lvs" && t.record.stage == stack::TraceStage::Ipvs &&
        t.record.text.find("no destination available") != std::string::npos) {
      ipvs_said = true;
    }
  }
  EXPECT_TRUE(ipvs_said);
  // The port unreachable comes from the VIP.
  bool from_vip = false;
  for (const TraceLine& t : lab->trace()) {
    if (t.node == "client" && t.record.stage == stack::TraceStage::IpRcv &&
        t.record.text.find("192.168.80.120 -> 192.168.80.200 proto 1 ") != std::string::npos) {
      from_vip = true;
    }
    if (t.node == "client" && t.record.stage == stack::TraceStage::Icmp) {
      EXPECT_EQ(t.record.text, "icmp type 3 code 3 from 192.168.80.120");
    }
  }
  EXPECT_TRUE(from_vip);
}

// ---- 7. NAT ----

TEST_F(IpvsTest, NatTranslatesAddressAndPortBothWays) {
  deploy(kNatLab);
  Server& rs1 = listen("rs1", 8080);
  Server& rs2 = listen("rs2", 8080);
  rs1.echo_prefix = rs2.echo_prefix = "re:";
  lab->set_tracing(true);
  Client& a = connect(kNatVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "hello"), 5);
  ASSERT_TRUE(run([&] { return a.got == "re:hello"; }, 2));
  uint16_t port = client->tcp().local(a.sock).port;
  // The server saw the client's own address and port, on its 8080.
  ASSERT_EQ(rs2.accepted.size(), 1u);
  EXPECT_EQ(rs1.accepted.size(), 0u);
  int s = rs2.accepted[0];
  EXPECT_EQ(rs2.node->tcp().remote(s).addr, ip("203.0.113.100"));
  EXPECT_EQ(rs2.node->tcp().remote(s).port, port);
  EXPECT_EQ(rs2.node->tcp().local(s).addr, ip("10.0.0.12"));
  EXPECT_EQ(rs2.node->tcp().local(s).port, 8080);
  // The client's segments all came from VIP:80.
  std::string from_vip = "recv 203.0.113.10:80 > 203.0.113.100:" + std::to_string(port);
  int client_recv = 0, from_vip_count = 0;
  for (const TraceLine& t : lab->trace()) {
    if (t.node != "client" || t.record.stage != stack::TraceStage::Tcp) continue;
    if (t.record.text.rfind("recv ", 0) != 0) continue;
    ++client_recv;
    from_vip_count += t.record.text.rfind(from_vip, 0) == 0;
  }
  EXPECT_GE(client_recv, 2);
  EXPECT_EQ(client_recv, from_vip_count);

  const lb::Connection* e = entry(port);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->daddr, ip("10.0.0.12"));
  EXPECT_EQ(e->dport, 8080);
  EXPECT_EQ(e->fwd(), lb::kConnMasq);

  // ipvsadm --stats: both directions counted.
  cmd::CmdOutput st = sh("lvs", "ipvsadm -L -n --stats");
  std::istringstream in(st.out);
  std::string line;
  bool found = false;
  const lb::Stats& svc = lvs->ipvs_if_loaded()->services().at(0)->stats;
  while (std::getline(in, line)) {
    if (line.rfind("TCP  203.0.113.10:80", 0) != 0) continue;
    found = true;
    std::istringstream f(line);
    std::string proto, vs;
    uint64_t conns = 0, inpkts = 0, outpkts = 0;
    f >> proto >> vs >> conns >> inpkts >> outpkts;
    EXPECT_EQ(conns, 1u);
    EXPECT_GT(inpkts, 0u);
    EXPECT_GT(outpkts, 0u);
    EXPECT_EQ(inpkts, svc.inpkts);
    EXPECT_EQ(outpkts, svc.outpkts);
  }
  EXPECT_TRUE(found) << st.out;
  // The server's SYN-ACK, ACK and data came back: at least three packets out.
  EXPECT_GE(svc.outpkts, 3u);
}

// ---- 8. tunnel encapsulations ----

// Frames of a pcap file (classic format, little-endian, Ethernet).
std::vector<std::vector<uint8_t>> read_pcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::vector<uint8_t>> frames;
  auto le32 = [&](size_t o) {
    return uint32_t{b[o]} | uint32_t{b[o + 1]} << 8 | uint32_t{b[o + 2]} << 16 |
           uint32_t{b[o + 3]} << 24;
  };
  if (b.size() < 24 || le32(0) != 0xa1b2c3d4) return frames;
  size_t o = 24;
  while (o + 16 <= b.size()) {
    uint32_t len = le32(o + 8);
    o += 16;
    if (o + len > b.size()) break;
    frames.emplace_back(b.begin() + static_cast<long>(o), b.begin() + static_cast<long>(o + len));
    o += len;
  }
  return frames;
}

uint16_t be16(const std::vector<uint8_t>& b, size_t o) {
  return static_cast<uint16_t>(b[o] << 8 | b[o + 1]);
}

// The one's complement sum of b[o, o + n) plus `initial`, folded: 0xffff when a checksum in it
// is right.
uint16_t ones_sum(const std::vector<uint8_t>& b, size_t o, size_t n, uint32_t initial = 0) {
  uint32_t s = initial;
  for (size_t i = 0; i + 1 < n; i += 2) s += be16(b, o + i);
  if (n % 2) s += uint32_t{b[o + n - 1]} << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

Ipv4Addr addr_at(const std::vector<uint8_t>& b, size_t o) {
  return Ipv4Addr::from_octets(b[o], b[o + 1], b[o + 2], b[o + 3]);
}

// The first IPv4 packet (from the Ethernet payload on) with this source, destination and
// protocol whose encapsulated TCP segment goes to vport; `inner` is where the inner IP header
// starts.
struct Encapsulated {
  std::vector<uint8_t> pkt;
  size_t inner = 0;
};

std::optional<Encapsulated> find_encapsulated(const std::vector<std::vector<uint8_t>>& frames,
                                              Ipv4Addr src, Ipv4Addr dst, uint8_t proto,
                                              size_t tun_hlen, uint16_t vport) {
  for (const auto& f : frames) {
    if (f.size() < 14 + 20 || be16(f, 12) != 0x0800) continue;
    std::vector<uint8_t> p(f.begin() + 14, f.end());
    if (p[9] != proto || addr_at(p, 12) != src || addr_at(p, 16) != dst) continue;
    size_t inner = 20 + tun_hlen;
    if (p.size() < inner + 24 || p[inner + 9] != 6) continue;
    if (be16(p, inner + 20 + 2) != vport) continue;
    return Encapsulated{p, inner};
  }
  return std::nullopt;
}

class IpvsTunnelTest : public IpvsTest {
 protected:
  void SetUp() override {
    dir = std::filesystem::path(::testing::TempDir()) /
          ("ipvs_pcap_" +
           std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

TEST_F(IpvsTunnelTest, EncapsulationFormatsOnTheWire) {
  DeployOptions opts;
  opts.pcap_dir = dir.string();
  deploy(kTunLab, opts);
  // One service per encapsulation, all to rs1.
  sh("lvs", "ipvsadm -A -t 192.168.73.120:80 -s rr");
  sh("lvs", "ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110:80 -i");
  sh("lvs", "ipvsadm -A -t 192.168.73.120:81 -s rr");
  sh("lvs", "ipvsadm -a -t 192.168.73.120:81 -r 192.168.73.110:81 -i --tun-type gre --tun-nocsum");
  sh("lvs", "ipvsadm -A -t 192.168.73.120:82 -s rr");
  sh("lvs", "ipvsadm -a -t 192.168.73.120:82 -r 192.168.73.110:82 -i --tun-type gre --tun-csum");
  sh("lvs", "ipvsadm -A -t 192.168.73.120:83 -s rr");
  sh("lvs",
     "ipvsadm -a -t 192.168.73.120:83 -r 192.168.73.110:83 -i --tun-type gue --tun-port 6080");
  sh("lvs", "ipvsadm -A -t 192.168.73.120:84 -s rr");
  sh("lvs",
     "ipvsadm -a -t 192.168.73.120:84 -r 192.168.73.110:84 -i --tun-type gue --tun-port 6080 "
     "--tun-csum");
  cmd::CmdOutput ti = sh("lvs", "ipvsadm -L -n --tun-info");
  EXPECT_NE(ti.out.find("gre:+c"), std::string::npos) << ti.out;
  EXPECT_NE(ti.out.find("gue:6080:-c"), std::string::npos) << ti.out;
  Server& rs1 = listen("rs1", 80);
  lab->set_tracing(true);
  Client& a = connect(kTunVip, 80);
  for (uint16_t p : {81, 82, 83, 84}) connect(kTunVip, p);
  // IPIP is decapsulated on rs1's tunl0: the connection completes.
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  ASSERT_EQ(client->tcp().send(a.sock, "ipip"), 4);
  ASSERT_TRUE(run([&] { return rs1.all() == "ipip"; }, 2));
  idle(0.2);
  lab->flush_captures();
  auto frames = read_pcap((dir / "lvs-eth0.pcap").string());
  ASSERT_FALSE(frames.empty());
  const Ipv4Addr dip = ip("192.168.73.100"), rip = ip("192.168.73.110");

  // Checks the outer IPv4 header and the inner packet common to all encapsulations.
  auto check_outer = [&](const Encapsulated& e, uint8_t proto) {
    const auto& p = e.pkt;
    EXPECT_EQ(p[0], 0x45);
    EXPECT_EQ(p[1], 0);               // tos copied (0)
    EXPECT_EQ(be16(p, 2), p.size());  // total length
    EXPECT_EQ(be16(p, 4), 0);         // id 0 with DF
    EXPECT_EQ(be16(p, 6), 0x4000);    // DF copied from the client's segment
    EXPECT_EQ(p[8], 63);              // the inner TTL after its decrement
    EXPECT_EQ(p[9], proto);
    EXPECT_EQ(ones_sum(p, 0, 20), 0xffff);  // header checksum
    EXPECT_EQ(addr_at(p, 12), dip);         // the director's address by routing
    EXPECT_EQ(addr_at(p, 16), rip);
    size_t i = e.inner;
    EXPECT_EQ(p[i], 0x45);
    EXPECT_EQ(p[i + 8], 63);  // the client's 64, less the director's hop
    EXPECT_EQ(be16(p, i + 6) & 0x4000, 0x4000);
    EXPECT_EQ(ones_sum(p, i, 20), 0xffff);
    EXPECT_EQ(addr_at(p, i + 12), ip("192.168.73.200"));
    EXPECT_EQ(addr_at(p, i + 16), kTunVip);
    EXPECT_EQ(be16(p, i + 2), p.size() - i);
  };

  // IPIP: protocol 4, the inner packet right after the outer header.
  auto ipip = find_encapsulated(frames, dip, rip, 4, 0, 80);
  ASSERT_TRUE(ipip);
  check_outer(*ipip, 4);

  // GRE without checksum: 4 bytes, flags 0, protocol 0x0800.
  auto gre = find_encapsulated(frames, dip, rip, 47, 4, 81);
  ASSERT_TRUE(gre);
  check_outer(*gre, 47);
  EXPECT_EQ(be16(gre->pkt, 20), 0x0000);
  EXPECT_EQ(be16(gre->pkt, 22), 0x0800);

  // GRE with checksum: 8 bytes, the C bit, the checksum over GRE header and payload.
  auto grec = find_encapsulated(frames, dip, rip, 47, 8, 82);
  ASSERT_TRUE(grec);
  check_outer(*grec, 47);
  EXPECT_EQ(be16(grec->pkt, 20), 0x8000);
  EXPECT_EQ(be16(grec->pkt, 22), 0x0800);
  EXPECT_NE(be16(grec->pkt, 24), 0);
  EXPECT_EQ(be16(grec->pkt, 26), 0);  // reserved
  EXPECT_EQ(ones_sum(grec->pkt, 20, grec->pkt.size() - 20), 0xffff);

  // GUE: UDP to 6080 from a port in ip_local_port_range, no UDP checksum, then the 4-byte GUE
  // header: version 0, hlen 0, proto_ctype 4 (IPIP), flags 0.
  auto gue = find_encapsulated(frames, dip, rip, 17, 12, 83);
  ASSERT_TRUE(gue);
  check_outer(*gue, 17);
  const auto& g = gue->pkt;
  EXPECT_GE(be16(g, 20), 32768);
  EXPECT_LE(be16(g, 20), 60999);
  EXPECT_EQ(be16(g, 22), 6080);
  EXPECT_EQ(be16(g, 24), g.size() - 20);
  EXPECT_EQ(be16(g, 26), 0);
  EXPECT_EQ(g[28], 0);
  EXPECT_EQ(g[29], 4);
  EXPECT_EQ(be16(g, 30), 0);

  // GUE with --tun-csum: the same, with a UDP checksum that verifies.
  auto guec = find_encapsulated(frames, dip, rip, 17, 12, 84);
  ASSERT_TRUE(guec);
  check_outer(*guec, 17);
  const auto& gc = guec->pkt;
  EXPECT_EQ(be16(gc, 22), 6080);
  EXPECT_EQ(gc[29], 4);
  EXPECT_NE(be16(gc, 26), 0);
  uint32_t pseudo = be16(gc, 12) + be16(gc, 14) + be16(gc, 16) + be16(gc, 18) + 17u +
                    static_cast<uint32_t>(gc.size() - 20);
  EXPECT_EQ(ones_sum(gc, 20, gc.size() - 20, pseudo), 0xffff);

  // The director's trace names each encapsulation.
  std::vector<std::string> encap;
  for (const TraceLine& t : lab->trace()) {
    if (t.node == "lvs" && t.record.stage == stack::TraceStage::Encap) {
      encap.push_back(t.record.text);
    }
  }
  auto traced = [&](const std::string& s) {
    return std::any_of(encap.begin(), encap.end(),
                       [&](const std::string& e) { return e.rfind(s, 0) == 0; });
  };
  EXPECT_TRUE(traced("IPVS ipip: outer 192.168.73.100 -> 192.168.73.110 ttl 63 tos 0x00 DF"));
  EXPECT_TRUE(traced("IPVS gre: outer 192.168.73.100 -> 192.168.73.110 ttl 63"));
  EXPECT_TRUE(traced("IPVS gre csum: outer 192.168.73.100 -> 192.168.73.110 ttl 63"));
  EXPECT_TRUE(traced("IPVS gue sport "));
}

// ---- 9. the tunnel's fragmentation-needed ----

TEST_F(IpvsTunnelTest, OversizedDfPacketGetsFragNeededWithTheTunnelMtu) {
  DeployOptions opts;
  opts.pcap_dir = dir.string();
  deploy(kTunLab, opts);
  sh("lvs", "ipvsadm -A -t 192.168.73.120:80 -s rr");
  sh("lvs", "ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110:80 -i");
  Server& rs1 = listen("rs1", 80);
  Client& a = connect(kTunVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  // Full-size segments: 1448 bytes of data, 1500-byte packets with DF.
  std::string data(20000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  ASSERT_EQ(client->tcp().send(a.sock, data), static_cast<long>(data.size()));
  ASSERT_TRUE(run([&] { return rs1.all().size() == data.size(); }, 10));
  EXPECT_EQ(rs1.all(), data);
  EXPECT_GE(drops(lvs, DropReason::PktTooBig), 1u);
  cmd::CmdOutput r = sh("client", "ip route get 192.168.73.120");
  EXPECT_NE(r.out.find("mtu 1480"), std::string::npos) << r.out;

  lab->flush_captures();
  auto frames = read_pcap((dir / "client-eth0.pcap").string());
  int icmps = 0;
  for (const auto& f : frames) {
    if (f.size() < 14 + 20 + 8 + 28 || be16(f, 12) != 0x0800) continue;
    std::vector<uint8_t> p(f.begin() + 14, f.end());
    if (p[9] != 1) continue;
    ++icmps;
    EXPECT_EQ(addr_at(p, 12), kTunVip);  // from the VIP
    EXPECT_EQ(addr_at(p, 16), ip("192.168.73.200"));
    EXPECT_EQ(p[20], 3);
    EXPECT_EQ(p[21], 4);
    EXPECT_EQ(be16(p, 26), 1480);
    EXPECT_EQ(ones_sum(p, 20, p.size() - 20), 0xffff);
    // It quotes the client's 1500-byte segment.
    EXPECT_EQ(be16(p, 28 + 2), 1500);
    EXPECT_EQ(addr_at(p, 28 + 12), ip("192.168.73.200"));
    EXPECT_EQ(addr_at(p, 28 + 16), kTunVip);
  }
  EXPECT_GE(icmps, 1);
}

// ---- pmtu_disc=0 ----

TEST_F(IpvsTunnelTest, PmtuDiscOffFragmentsTheOuterPacket) {
  DeployOptions opts;
  opts.pcap_dir = dir.string();
  deploy(kTunLab, opts);
  sh("lvs", "ipvsadm -A -t 192.168.73.120:80 -s rr");
  sh("lvs", "ipvsadm -a -t 192.168.73.120:80 -r 192.168.73.110:80 -i");
  sh("lvs", "sysctl -w net.ipv4.vs.pmtu_disc=0");
  Server& rs1 = listen("rs1", 80);
  Client& a = connect(kTunVip, 80);
  ASSERT_TRUE(run([&] { return a.connected; }, 2));
  std::string data(20000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('A' + i % 19);
  ASSERT_EQ(client->tcp().send(a.sock, data), static_cast<long>(data.size()));
  ASSERT_TRUE(run([&] { return rs1.all().size() == data.size(); }, 10));
  EXPECT_EQ(rs1.all(), data);
  // No fragmentation-needed: the 1520-byte outer packets go without DF, in two fragments.
  EXPECT_EQ(drops(lvs, DropReason::PktTooBig), 0u);
  cmd::CmdOutput r = sh("client", "ip route get 192.168.73.120");
  EXPECT_EQ(r.out.find("mtu"), std::string::npos) << r.out;
  lab->flush_captures();
  auto frames = read_pcap((dir / "lvs-eth0.pcap").string());
  int first_fragments = 0, last_fragments = 0;
  for (const auto& f : frames) {
    if (f.size() < 14 + 20 || be16(f, 12) != 0x0800) continue;
    std::vector<uint8_t> p(f.begin() + 14, f.end());
    if (p[9] != 4 || addr_at(p, 12) != ip("192.168.73.100")) continue;
    uint16_t frag = be16(p, 6);
    EXPECT_EQ(frag & 0x4000, 0);  // no DF
    if (frag == 0x2000) {
      ++first_fragments;
      EXPECT_EQ(be16(p, 2), 1500);
    } else if ((frag & 0x1fff) != 0 && (frag & 0x2000) == 0) {
      ++last_fragments;
      EXPECT_EQ((frag & 0x1fff) * 8, 1480);
      EXPECT_EQ(be16(p, 2), 20 + 1520 - 20 - 1480);
    }
  }
  EXPECT_GE(first_fragments, 13);
  EXPECT_EQ(first_fragments, last_fragments);
}

// ---- ICMP errors about the director's tunnel packets ----

// The real server sits behind a router whose link to it has MTU 1400: the router answers the
// director's 1500-byte tunnel packets with fragmentation-needed (mtu 1400), which the director
// relays to the client (ip_vs_in_icmp()'s tunnel case) with the resulting mtu less 20.  The
// real server answers the client through the router, not through the director.
std::string relay_lab(const std::string& rs_tunnel) {
  return R"(
name: ipvs-relay
topology:
  nodes:
    sw: {kind: bridge}
    client:
      kind: linux
      exec: ["ip addr add 10.1.0.2/24 dev eth0"]
    lvs:
      kind: vnet
      exec:
        - ip addr add 10.1.0.1/24 dev eth0
        - ip addr add 10.1.0.10/32 dev eth0
        - ip route add 10.3.0.0/24 via 10.1.0.3
    r:
      kind: linux
      exec:
        - ip addr add 10.1.0.3/24 dev eth0
        - ip addr add 10.3.0.1/24 dev eth1
        - sysctl -w net.ipv4.ip_forward=1
    rs:
      kind: linux
      exec:
        - ip addr add 10.3.0.2/24 dev eth0
        - ip route add default via 10.3.0.1
)" + rs_tunnel +
         R"(
  links:
    - endpoints: ["client:eth0", "sw:p1"]
    - endpoints: ["lvs:eth0", "sw:p2"]
    - endpoints: ["r:eth0", "sw:p3"]
    - endpoints: ["r:eth1", "rs:eth0"]
      mtu: 1400
)";
}

class IpvsRelayTest : public IpvsTunnelTest {
 protected:
  // Sends 30000 bytes to the VIP through a tunnel of the given kind; returns the mtus of the
  // fragmentation-needed messages the client received, in order.
  std::vector<uint16_t> transfer(const std::string& rs_tunnel, const std::string& ipvsadm_dest) {
    DeployOptions opts;
    opts.pcap_dir = dir.string();
    deploy(relay_lab(rs_tunnel), opts);
    if (HasFatalFailure()) return {};
    sh("lvs", "ipvsadm -A -t 10.1.0.10:80 -s rr");
    sh("lvs", "ipvsadm -a -t 10.1.0.10:80 -r 10.3.0.2:80 -i " + ipvsadm_dest);
    Server& rs = listen("rs", 80);
    lab->set_tracing(true);
    Client& a = connect(ip("10.1.0.10"), 80);
    EXPECT_TRUE(run([&] { return a.connected; }, 2));
    std::string data(30000, '\0');
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 17);
    EXPECT_EQ(client->tcp().send(a.sock, data), static_cast<long>(data.size()));
    EXPECT_TRUE(run([&] { return rs.all().size() == data.size(); }, 30));
    EXPECT_EQ(rs.all(), data);
    lab->flush_captures();
    std::vector<uint16_t> mtus;
    for (const auto& f : read_pcap((dir / "client-eth0.pcap").string())) {
      if (f.size() < 14 + 20 + 8 + 28 || be16(f, 12) != 0x0800) continue;
      std::vector<uint8_t> p(f.begin() + 14, f.end());
      if (p[9] != 1 || addr_at(p, 16) != ip("10.1.0.2") || p[20] != 3 || p[21] != 4) continue;
      EXPECT_EQ(addr_at(p, 12), ip("10.1.0.10"));
      // It quotes the client's own segment to the VIP.
      EXPECT_EQ(addr_at(p, 28 + 12), ip("10.1.0.2"));
      EXPECT_EQ(addr_at(p, 28 + 16), ip("10.1.0.10"));
      mtus.push_back(be16(p, 26));
    }
    return mtus;
  }
};

TEST_F(IpvsRelayTest, IpipTunnelErrorIsRelayedToTheClient) {
  auto mtus = transfer(R"(        - modprobe ipip
        - ip addr add 10.1.0.10/32 dev tunl0
        - ip link set up tunl0
)",
                       "");
  // rs's MSS (its link's 1400 - 40) keeps the client's packets at 1400 bytes: the director's
  // tunnel takes them (1420), the router does not and answers mtu 1400, which the director
  // relays less 20.
  ASSERT_GE(mtus.size(), 1u);
  EXPECT_EQ(std::count(mtus.begin(), mtus.end(), 1380), static_cast<long>(mtus.size()));
  // The router's errors were relayed (and consumed), not left to the director's own check of
  // the client's next retransmission (which would also say 1380 for IPIP).
  long relayed = 0;
  for (const TraceLine& t : lab->trace()) {
    relayed += t.node == "lvs" && t.record.stage == stack::TraceStage::Ipvs &&
               t.record.text.find("relayed to client 10.1.0.2") != std::string::npos;
  }
  EXPECT_EQ(relayed, static_cast<long>(mtus.size()));
  EXPECT_EQ(drops(lvs, DropReason::IpvsDrop), mtus.size());
  EXPECT_EQ(drops(lvs, DropReason::PktTooBig), 0u);
  cmd::CmdOutput r = sh("client", "ip route get 10.1.0.10");
  EXPECT_NE(r.out.find("mtu 1380"), std::string::npos) << r.out;
  r = sh("lvs", "ip route get 10.3.0.2");
  EXPECT_NE(r.out.find("mtu 1400"), std::string::npos) << r.out;
}

TEST_F(IpvsRelayTest, GreTunnelErrorIsRelayedToTheClient) {
  auto mtus = transfer(R"(        - modprobe ip_gre
        - ip addr add 10.1.0.10/32 dev gre0
        - ip link set up gre0
)",
                       "--tun-type gre");
  // The router's 1400, relayed less 20 (the kernel subtracts only the IP header, even for
  // GRE) at once; then the director's own tunnel mtu (1400 - 24) for the client's 1380-byte
  // packets.
  ASSERT_GE(mtus.size(), 2u);
  EXPECT_EQ(mtus.front(), 1380);
  EXPECT_EQ(mtus.back(), 1376);
  EXPECT_GE(drops(lvs, DropReason::IpvsDrop), 1u);
  cmd::CmdOutput r = sh("client", "ip route get 10.1.0.10");
  EXPECT_NE(r.out.find("mtu 1376"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace vnet::labrun
