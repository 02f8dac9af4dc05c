// netcat-openbsd (Debian's nc) on simulated nodes: TCP clients and port scans (-z), TCP and UDP
// listeners (-l, -k) that run in the background and write what they receive where their
// standard output points, UDP datagrams (-u), -w timeouts, -v messages, -N, -q, -s, -p.
//
// A client command cannot block the simulation: without -w or -q it waits until the peer
// closes or nothing more can happen in the lab (no pending events), then exits.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "cmd/driver.h"
#include "cmd/net_apps.h"
#include "stack/tcp.h"
#include "wire/udp.h"

namespace vnet::cmd {

namespace {

using net::Ipv4Addr;
using stack::Node;
using stack::TcpEvent;

constexpr uint64_t kSec = 1'000'000'000;

const char* service_name(uint16_t port, bool udp) {
  switch (port) {
    case 22:
      return "ssh";
    case 53:
      return "domain";
    case 80:
      return udp ? "*" : "http";
    case 443:
      return "https";
    default:
      return "*";
  }
}

struct NcListener : std::enable_shared_from_this<NcListener> {
  Node* node = nullptr;
  bool keep = false;
  bool udp = false;
  std::function<void(const std::string&)> out;
  int listener = 0, conn = 0, udp_listener = 0;
  uint16_t port = 0;
  int pid = 0;
  bool verbose = false;

  void on_listener(int sock, TcpEvent ev) {
    if (ev != TcpEvent::Accept) return;
    auto self = shared_from_this();
    while (true) {
      if (conn != 0) {
        // One connection at a time: the rest wait in the accept queue.
        return;
      }
      int c = node->tcp().accept(sock, [self](int s, TcpEvent e) { self->on_conn(s, e); });
      if (c < 0) return;
      conn = c;
      if (verbose && out) {
        auto r = node->tcp().remote(c);
        out(fmt::format("Connection received on {} {}\n", r.addr.to_string(), r.port));
      }
      if (!keep) {
        // Without -k, nc stops listening once it has its connection.
        node->tcp().close(listener);
        listener = 0;
      }
    }
  }

  void on_conn(int sock, TcpEvent ev) {
    if (sock != conn) return;
    if (ev == TcpEvent::Readable) {
      std::string data = node->tcp().recv(sock);
      if (!data.empty() && out) out(data);
      if (node->tcp().peer_closed(sock)) done();
    } else if (ev == TcpEvent::Error || ev == TcpEvent::Closed) {
      done();
    }
  }

  void done() {
    if (conn) node->tcp().close(conn);
    conn = 0;
    if (!keep) {
      node->kill_process(pid);
      return;
    }
    // -k: take the next waiting connection.
    if (listener) on_listener(listener, TcpEvent::Accept);
  }
};

}  // namespace

CmdOutput run_nc(Node& node, Driver& driver, const Args& argv, const std::string& input,
                 const std::function<void(const std::string&)>& sink) {
  CmdOutput o;
  bool listen = false, keep = false, scan = false, udp = false, verbose = false;
  bool shutdown_on_eof = false;
  double wait_s = -1, quit_s = -1;
  std::string source;
  int source_port = 0;
  std::vector<std::string> operands;
  auto usage = [&](const std::string& why) {
    o.err = why +
            "usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
            "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
            "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
            "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
            "\t  [destination] [port]\n";
    o.status = 1;
    return o;
  };
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() < 2 || a[0] != '-') {
      operands.push_back(a);
      continue;
    }
    for (size_t k = 1; k < a.size(); ++k) {
      char f = a[k];
      auto value = [&]() -> std::optional<std::string> {
        if (k + 1 < a.size()) {
          std::string v = a.substr(k + 1);
          k = a.size();
          return v;
        }
        k = a.size();
        if (i + 1 >= argv.size()) return std::nullopt;
        return argv[++i];
      };
      switch (f) {
        case 'l':
          listen = true;
          break;
        case 'k':
          keep = true;
          break;
        case 'z':
          scan = true;
          break;
        case 'u':
          udp = true;
          break;
        case 'v':
          verbose = true;
          break;
        case 'n':
        case '4':
        case 'd':
          break;
        case 'N':
          shutdown_on_eof = true;
          break;
        case 'w':
        case 'q':
        case 's':
        case 'p': {
          auto v = value();
          if (!v) return usage(fmt::format("nc: option requires an argument -- '{}'\n", f));
          if (f == 's') {
            source = *v;
            break;
          }
          char* end = nullptr;
          double d = std::strtod(v->c_str(), &end);
          if (end == v->c_str() || *end != '\0' || d < 0) {
            if (f == 'p') {
              o.err = fmt::format("nc: port number invalid: {}\n", *v);
            } else {
              o.err =
                  fmt::format("nc: {} is invalid: {}\n", f == 'w' ? "timeout" : "quit timer", *v);
            }
            o.status = 1;
            return o;
          }
          d = std::min(d, 365.0 * 86400);
          if (f == 'w') wait_s = d;
          if (f == 'q') quit_s = d;
          if (f == 'p') source_port = static_cast<int>(d);
          break;
        }
        default:
          return usage(fmt::format("nc: invalid option -- '{}'\n", f));
      }
    }
  }
  node.run_timers(driver.now_ns());
  if (listen) {
    // nc -l [-p] PORT, or nc -l ADDR PORT.
    uint16_t port = static_cast<uint16_t>(source_port);
    Ipv4Addr bind;
    if (operands.size() == 1) port = static_cast<uint16_t>(std::atoi(operands[0].c_str()));
    if (operands.size() == 2) {
      bind = Ipv4Addr::parse(operands[0]).value_or(Ipv4Addr());
      port = static_cast<uint16_t>(std::atoi(operands[1].c_str()));
    }
    if (port == 0) return usage("");
    auto l = std::make_shared<NcListener>();
    l->node = &node;
    l->keep = keep;
    l->udp = udp;
    l->out = sink;
    l->port = port;
    l->verbose = verbose;
    std::weak_ptr<NcListener> weak = l;
    Node::Process p;
    p.name = "nc";
    p.cmdline = fmt::format("nc -l {}", port);
    p.state = l;
    if (udp) {
      // A UDP socket bound to the port: every datagram's payload goes to the output.
      Node* n = &node;
      l->udp_listener = node.add_listener([weak, port, bind](const Node::Delivered& d) {
        auto self = weak.lock();
        if (!self || d.protocol != 17) return false;
        wire::UdpConstView u(d.l4);
        if (u.check() || u.destination_port() != port) return false;
        if (!bind.is_unspecified() && d.dst != bind) return false;
        auto payload = u.payload();
        if (self->out) {
          self->out(std::string(reinterpret_cast<const char*>(payload.data()), payload.size()));
        }
        return true;
      });
      int id = l->udp_listener;
      p.stop = [n, id] { n->remove_listener(id); };
    } else {
      int sock = node.tcp().listen({bind, port}, 1, [weak](int s, TcpEvent e) {
        if (auto self = weak.lock()) self->on_listener(s, e);
      });
      if (sock < 0) {
        o.err = "nc: Address already in use\n";
        o.status = 1;
        return o;
      }
      l->listener = sock;
      p.listeners = {sock};
      if (verbose && sink) sink(fmt::format("Listening on {} {}\n", bind.to_string(), port));
    }
    l->pid = node.add_process(std::move(p));
    return o;
  }
  if (operands.size() < 2) return usage("");
  auto addr = Ipv4Addr::parse(operands[0]);
  if (!addr) {
    o.err = fmt::format("nc: getaddrinfo for host \"{}\" port {}: Name or service not known\n",
                        operands[0], operands[1]);
    o.status = 1;
    return o;
  }
  const std::string& host = operands[0];
  uint16_t port = static_cast<uint16_t>(std::atoi(operands[1].c_str()));
  Ipv4Addr src = source.empty() ? Ipv4Addr() : Ipv4Addr::parse(source).value_or(Ipv4Addr());
  if (udp) {
    // A UDP "connection": send standard input as one datagram; with -z only a probe.
    Node::OutPacket pkt;
    pkt.dst = *addr;
    pkt.src = src;
    pkt.protocol = 17;
    pkt.dont_fragment = false;
    pkt.udp_sport =
        static_cast<uint16_t>(source_port ? source_port : 40000 + node.now_ns() % 20000);
    pkt.udp_dport = port;
    std::string payload = scan ? std::string("X") : input;
    pkt.l4.assign(reinterpret_cast<const std::byte*>(payload.data()),
                  reinterpret_cast<const std::byte*>(payload.data()) + payload.size());
    int rc = node.send(pkt);
    if (rc < 0) {
      o.err = fmt::format("nc: connect to {} port {} (udp) failed: {}\n", host, port,
                          std::strerror(-rc));
      o.status = 1;
      return o;
    }
    if (verbose) {
      o.err = fmt::format("Connection to {} {} port [udp/{}] succeeded!\n", host, port,
                          service_name(port, true));
    }
    uint64_t until = driver.now_ns() + static_cast<uint64_t>((wait_s >= 0 ? wait_s : 0) * kSec);
    driver.advance_until(until, [] { return false; });
    return o;
  }
  bool connected = false, failed = false;
  auto handler = [&](int, TcpEvent ev) {
    if (ev == TcpEvent::Connected) connected = true;
    if (ev == TcpEvent::Error) failed = true;
  };
  int sock =
      node.tcp().connect({*addr, port}, {src, static_cast<uint16_t>(source_port)}, 0, handler);
  if (sock < 0) {
    o.err = fmt::format("nc: connect to {} port {} (tcp) failed: {}\n", host, port,
                        std::strerror(-sock));
    o.status = 1;
    return o;
  }
  uint64_t start = driver.now_ns();
  uint64_t connect_deadline =
      wait_s >= 0 ? start + static_cast<uint64_t>(wait_s * kSec) : start + 200 * kSec;
  driver.advance_until(connect_deadline, [&] { return connected || failed; });
  if (!connected) {
    int err = node.tcp().error(sock);
    if (err == 0) {
      o.err = fmt::format("nc: connect to {} port {} (tcp) timed out: Operation now in progress\n",
                          host, port);
    } else {
      o.err = fmt::format("nc: connect to {} port {} (tcp) failed: {}\n", host, port,
                          std::strerror(err));
    }
    node.tcp().close(sock);
    o.status = 1;
    return o;
  }
  if (verbose) {
    o.err = fmt::format("Connection to {} {} port [tcp/{}] succeeded!\n", host, port,
                        service_name(port, false));
  }
  if (scan) {
    node.tcp().close(sock);
    return o;
  }
  if (!input.empty()) node.tcp().send(sock, input);
  if (shutdown_on_eof) node.tcp().shutdown(sock);
  // Read until the peer closes; -q after EOF and -w idle limit the wait.
  uint64_t limit = quit_s >= 0   ? driver.now_ns() + static_cast<uint64_t>(quit_s * kSec)
                   : wait_s >= 0 ? driver.now_ns() + static_cast<uint64_t>(wait_s * kSec)
                                 : driver.now_ns() + 3600 * kSec;
  while (true) {
    o.out += node.tcp().recv(sock);
    if (node.tcp().peer_closed(sock) || node.tcp().error(sock) != 0) break;
    uint64_t before = driver.now_ns();
    bool readable = false;
    driver.advance_until(limit, [&] {
      readable = node.tcp().readable_bytes(sock) > 0 || node.tcp().peer_closed(sock) ||
                 node.tcp().error(sock) != 0;
      return readable;
    });
    if (!readable && (driver.now_ns() >= limit || driver.now_ns() == before)) break;
    if (wait_s >= 0 && quit_s < 0) limit = driver.now_ns() + static_cast<uint64_t>(wait_s * kSec);
  }
  o.out += node.tcp().recv(sock);
  node.tcp().close(sock);
  return o;
}

}  // namespace vnet::cmd
