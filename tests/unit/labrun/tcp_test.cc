// TCP between simulated nodes, driven through the Node's socket API: the handshake's options
// and windows, a bulk transfer over a link with delay and loss (retransmission, fast
// retransmit, the data arriving whole and in order), RST for a closed port, SYN retries to a
// blackholed address, FIN and TIME_WAIT, the listener's backlog, and the RTO estimator.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <variant>

#include "lab/lab_parser.h"
#include "labrun/lab.h"
#include "stack/tcp.h"

namespace vnet::labrun {
namespace {

using stack::TcpEvent;
using stack::TcpState;

std::string lab_text(const std::string& delay, const std::string& loss) {
  return R"(
name: tcp
topology:
  nodes:
    c:
      kind: linux
      exec: ["ip addr add 10.0.0.1/24 dev eth0", "ip neigh add 10.0.0.99 lladdr 02:00:00:00:00:99 dev eth0"]
    s:
      kind: linux
      exec: ["ip addr add 10.0.0.2/24 dev eth0"]
  links:
    - endpoints: ["c:eth0", "s:eth0"]
      delay: )" +
         delay + "\n      loss: " + loss + "\n";
}

class TcpTest : public ::testing::Test {
 protected:
  void deploy(const std::string& delay = "5ms", const std::string& loss = "0") {
    auto spec = lab::parse_lab(lab_text(delay, loss), "tcp.yaml");
    ASSERT_TRUE(std::holds_alternative<lab::LabSpec>(spec));
    auto deployed = Lab::deploy(std::get<lab::LabSpec>(spec), {});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Lab>>(deployed))
        << std::get<std::string>(deployed);
    lab = std::move(std::get<std::unique_ptr<Lab>>(deployed));
    c = lab->node("c");
    s = lab->node("s");
  }
  // Runs the simulation until pred() holds or limit seconds of virtual time passed.
  bool run(const std::function<bool()>& pred, double limit_s = 600) {
    uint64_t until = lab->sim().now_ns() + static_cast<uint64_t>(limit_s * 1e9);
    lab->advance_until(until, pred);
    return pred();
  }
  std::unique_ptr<Lab> lab;
  stack::Node* c = nullptr;
  stack::Node* s = nullptr;
};

TEST_F(TcpTest, HandshakeDataAndClose) {
  deploy();
  int accepted = -1;
  std::string got;
  int listener = s->tcp().listen({net::Ipv4Addr(), 80}, 128, [&](int sock, TcpEvent ev) {
    if (ev != TcpEvent::Accept) return;
    accepted = s->tcp().accept(sock, [&](int a, TcpEvent e) {
      if (e == TcpEvent::Readable) got += s->tcp().recv(a);
    });
  });
  ASSERT_GT(listener, 0);
  bool connected = false;
  int sock = c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 80}, {}, 0,
                              [&](int, TcpEvent ev) { connected |= ev == TcpEvent::Connected; });
  ASSERT_GT(sock, 0);
  EXPECT_EQ(c->tcp().state(sock), TcpState::SynSent);
  // The local port is even and in ip_local_port_range.
  uint16_t port = c->tcp().local(sock).port;
  EXPECT_EQ(port % 2, 0);
  EXPECT_GE(port, 32768);
  EXPECT_LE(port, 60999);
  ASSERT_TRUE(run([&] { return connected && accepted > 0; }));
  EXPECT_EQ(c->tcp().state(sock), TcpState::Established);
  EXPECT_EQ(s->tcp().state(accepted), TcpState::Established);
  auto info = c->tcp().sockets();
  ASSERT_FALSE(info.empty());
  EXPECT_EQ(info[0].mss, 1448u);  // 1460 less the timestamp option
  EXPECT_EQ(info[0].cwnd, 10u);

  std::string data(1 << 20, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(c->tcp().send(sock, data), static_cast<long>(data.size()));
  ASSERT_TRUE(run([&] { return got.size() == data.size(); }));
  EXPECT_EQ(got, data);

  // The client closes first: it ends in TIME-WAIT, the server in CLOSE-WAIT until it closes.
  c->tcp().close(sock);
  ASSERT_TRUE(run([&] { return s->tcp().state(accepted) == TcpState::CloseWait; }, 1));
  s->tcp().close(accepted);
  bool tw = false;
  ASSERT_TRUE(run(
      [&] {
        for (const auto& i : c->tcp().sockets()) tw |= i.state == TcpState::TimeWait;
        return tw;
      },
      1));
  // The server side is gone after its LAST-ACK; TIME-WAIT lasts 60 s.
  ASSERT_TRUE(run([&] { return !s->tcp().exists(accepted); }, 1));
  run([] { return false; }, 59);
  EXPECT_EQ(c->tcp().sockets().size(), 1u);
  run([] { return false; }, 2);
  EXPECT_TRUE(c->tcp().sockets().empty());
}

TEST_F(TcpTest, LossyLinkStillDeliversEverythingInOrder) {
  deploy("10ms", "0.02");
  std::string got;
  s->tcp().listen({net::Ipv4Addr(), 5001}, 128, [&](int sock, TcpEvent ev) {
    if (ev != TcpEvent::Accept) return;
    s->tcp().accept(sock, [&](int a, TcpEvent e) {
      if (e == TcpEvent::Readable) got += s->tcp().recv(a);
    });
  });
  int sock = c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 5001}, {}, 0, nullptr);
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 251);
  ASSERT_EQ(c->tcp().send(sock, data), static_cast<long>(data.size()));
  ASSERT_TRUE(run([&] { return got.size() == data.size(); }));
  EXPECT_EQ(got, data);
  EXPECT_GT(c->tcp().counters().retrans_segs, 0u);
  EXPECT_GT(c->tcp().counters().fast_retrans, 0u);
}

TEST_F(TcpTest, ClosedPortAnswersRst) {
  deploy();
  int err = 0;
  int sock = c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 81}, {}, 0,
                              [&](int so, TcpEvent ev) {
                                if (ev == TcpEvent::Error) err = c->tcp().error(so);
                              });
  ASSERT_TRUE(run([&] { return err != 0; }, 1));
  EXPECT_EQ(err, ECONNREFUSED);
  EXPECT_EQ(c->tcp().state(sock), TcpState::Close);
  EXPECT_EQ(s->tcp().counters().out_rsts, 1u);
}

TEST_F(TcpTest, BlackholedAddressTimesOutAfterSixSynRetries) {
  deploy();
  int err = 0;
  uint64_t start = lab->sim().now_ns();
  c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 99), 80}, {}, 0, [&](int so, TcpEvent ev) {
    if (ev == TcpEvent::Error) err = c->tcp().error(so);
  });
  ASSERT_TRUE(run([&] { return err != 0; }, 200));
  EXPECT_EQ(err, ETIMEDOUT);
  // 1 + 2 + 4 + 8 + 16 + 32 + 64 s: tcp_syn_retries = 6.
  EXPECT_EQ((lab->sim().now_ns() - start) / 1'000'000'000, 127u);
  EXPECT_EQ(c->tcp().counters().syn_retrans, 6u);
  // tcp_syn_retries = 2: 1 + 2 + 4 s.
  lab->run("c", "sysctl -w net.ipv4.tcp_syn_retries=2");
  err = 0;
  start = lab->sim().now_ns();
  c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 99), 80}, {}, 0, [&](int so, TcpEvent ev) {
    if (ev == TcpEvent::Error) err = c->tcp().error(so);
  });
  ASSERT_TRUE(run([&] { return err != 0; }, 200));
  EXPECT_EQ((lab->sim().now_ns() - start) / 1'000'000'000, 7u);
}

TEST_F(TcpTest, FullBacklogDropsSynsAndAbortOnOverflowResets) {
  deploy();
  lab->run("c", "ping -c 1 10.0.0.2");
  // A listener that never accepts: backlog 1 holds two connections (sk_acceptq_is_full is >).
  s->tcp().listen({net::Ipv4Addr(), 80}, 1, nullptr);
  std::vector<int> socks;
  for (int i = 0; i < 3; ++i) {
    socks.push_back(
        c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 80}, {}, 0, nullptr));
  }
  run([] { return false; }, 0.5);
  // The three SYNs found an empty queue; the third handshake's ACK found it full and was
  // dropped: the client is established, the server still has it in SYN-RECV.
  for (int so : socks) EXPECT_EQ(c->tcp().state(so), TcpState::Established);
  int syn_recv = 0;
  for (const auto& i : s->tcp().sockets()) syn_recv += i.state == TcpState::SynRecv;
  EXPECT_EQ(syn_recv, 1);
  EXPECT_EQ(s->tcp().counters().listen_overflows, 1u);
  // A fourth SYN meets the full queue and is dropped.
  int fourth = c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 80}, {}, 0, nullptr);
  run([] { return false; }, 0.5);
  EXPECT_EQ(c->tcp().state(fourth), TcpState::SynSent);
  EXPECT_EQ(s->tcp().counters().listen_overflows, 2u);
  EXPECT_EQ(s->drops().get(stack::DropReason::TcpListenOverflow), 2u);
  // With tcp_abort_on_overflow, the third client's next ACK (answering the retransmitted
  // SYN-ACK) is answered with RST.
  lab->run("s", "sysctl -w net.ipv4.tcp_abort_on_overflow=1");
  run([&] { return c->tcp().error(socks[2]) != 0; }, 5);
  EXPECT_EQ(c->tcp().error(socks[2]), ECONNRESET);
}

TEST_F(TcpTest, RtoFollowsTheKernelEstimator) {
  deploy("50ms", "0");
  lab->run("c", "ping -c 1 10.0.0.2");  // resolve ARP first: the SYN's RTT is then the path's
  s->tcp().listen({net::Ipv4Addr(), 80}, 8, [&](int sock, TcpEvent ev) {
    if (ev == TcpEvent::Accept) s->tcp().accept(sock, nullptr);
  });
  bool connected = false;
  int sock = c->tcp().connect({net::Ipv4Addr::from_octets(10, 0, 0, 2), 80}, {}, 0,
                              [&](int, TcpEvent ev) { connected |= ev == TcpEvent::Connected; });
  ASSERT_TRUE(run([&] { return connected; }, 2));
  // One sample of 100 ms: srtt 100 ms, rttvar max(2 * 50 ms... = 200 ms min): RTO 300 ms.
  auto info = c->tcp().sockets();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].rtt_us, 100'000u);
  EXPECT_EQ(info[0].rto_us, 300'000u);
  (void)sock;
}

}  // namespace
}  // namespace vnet::labrun

namespace vnet::labrun {
namespace {

// iperf3 over a 100 Mbit/s link with 10 ms each way: the receiver's bitrate, in Mbit/s.
double iperf_mbps(const std::string& loss, const std::string& queue, int seconds) {
  std::string text = R"(
name: mathis
topology:
  nodes:
    c: {kind: linux, exec: ["ip addr add 10.0.0.1/24 dev eth0"]}
    s: {kind: linux, exec: ["ip addr add 10.0.0.2/24 dev eth0", "iperf3 -s &"]}
  links:
    - endpoints: ["c:eth0", "s:eth0"]
      delay: 10ms
      rate: 100Mbit
      queue: )" + queue +
                     "\n      loss: " + loss + "\n";
  auto spec = lab::parse_lab(text, "mathis.yaml");
  EXPECT_TRUE(std::holds_alternative<lab::LabSpec>(spec));
  if (!std::holds_alternative<lab::LabSpec>(spec)) return 0;
  auto deployed = Lab::deploy(std::get<lab::LabSpec>(spec), {});
  EXPECT_TRUE(std::holds_alternative<std::unique_ptr<Lab>>(deployed));
  if (!std::holds_alternative<std::unique_ptr<Lab>>(deployed)) return 0;
  auto& lab = std::get<std::unique_ptr<Lab>>(deployed);
  cmd::CmdOutput o = lab->run("c", "iperf3 -c 10.0.0.2 -t " + std::to_string(seconds));
  EXPECT_EQ(o.status, 0) << o.err;
  // "[  5]   0.00-60.02  sec  71.9 MBytes  10.1 Mbits/sec                  receiver"
  size_t r = o.out.find("receiver");
  size_t unit = o.out.rfind("Mbits/sec", r);
  EXPECT_NE(r, std::string::npos) << o.out;
  if (r == std::string::npos || unit == std::string::npos) return 0;
  size_t start = o.out.rfind("  ", unit - 2);
  return std::stod(o.out.substr(start, unit - start));
}

// The Mathis model: MSS / RTT * sqrt(3/2) / sqrt(p), for Reno with random loss p.
double mathis_mbps(double p) {
  return 1448 * 8 / 0.020 * std::sqrt(1.5) / std::sqrt(p) / 1e6;
}

TEST(TcpThroughputTest, LossLimitedRenoFollowsTheMathisModel) {
  for (double p : {0.005, 0.01}) {
    double got = iperf_mbps(std::to_string(p), "1000", 60);
    double want = mathis_mbps(p);
    EXPECT_NEAR(got, want, 0.1 * want) << "loss " << p;
  }
}

TEST(TcpThroughputTest, RateLimitedLinkIsFilled) {
  // No loss, a queue of 1000 frames: the link's goodput, 100 Mbit/s * 1448 / 1514 = 95.6.
  double got = iperf_mbps("0", "1000", 5);
  EXPECT_GT(got, 0.9 * 95.6);
  EXPECT_LE(got, 95.7);
}

}  // namespace
}  // namespace vnet::labrun
