// iperf3 (3.12) on simulated nodes: `iperf3 -s` as a background server and `iperf3 -c HOST`
// for one TCP stream, over the node's TCP in virtual time.  The control protocol follows
// iperf3's: a 37-byte cookie on the control connection, the state bytes PARAM_EXCHANGE (9),
// CREATE_STREAMS (10), TEST_START (1), TEST_RUNNING (2), TEST_END (4), EXCHANGE_RESULTS (13),
// DISPLAY_RESULTS (14), IPERF_DONE (16), and length-prefixed JSON for the parameters and the
// results.  Output lines use iperf_locale.c's formats.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmd/driver.h"
#include "cmd/net_apps.h"
#include "stack/tcp.h"

namespace vnet::cmd {

namespace {

using net::Ipv4Addr;
using stack::Node;
using stack::TcpEvent;

constexpr uint64_t kSec = 1'000'000'000;
constexpr size_t kCookieLen = 37;
constexpr size_t kBlockLen = size_t{128} * 1024;  // iperf3's default TCP write size
enum State : uint8_t {
  kTestStart = 1,
  kTestRunning = 2,
  kTestEnd = 4,
  kParamExchange = 9,
  kCreateStreams = 10,
  kExchangeResults = 13,
  kDisplayResults = 14,
  kIperfDone = 16,
};

// unit_snprintf() with 'A' (bytes, powers of 1024) or 'a' (bits, powers of 1000).
std::string units(double value, bool bytes) {
  const char* const byte_units[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
  const char* const bit_units[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"};
  double base = bytes ? 1024.0 : 1000.0;
  int i = 0;
  while (value >= base && i < 4) {
    value /= base;
    ++i;
  }
  std::string num = value < 9.995   ? fmt::format("{:4.2f}", value)
                    : value < 99.95 ? fmt::format("{:4.1f}", value)
                                    : fmt::format("{:4.0f}", value);
  return num + " " + (bytes ? byte_units[i] : bit_units[i]);
}

std::string interval_line(int id, double start, double end, uint64_t bytes, const char* tail) {
  double secs = end - start;
  double bps = secs > 0 ? static_cast<double>(bytes) * 8 / secs : 0;
  return fmt::format("[{:3}] {:6.2f}-{:<6.2f} sec  {}  {}{}\n", id, start, end,
                     units(static_cast<double>(bytes), true), units(bps, false), tail);
}

// 4-byte big-endian length, then JSON.
std::string framed(const std::string& json) {
  std::string out(4, '\0');
  uint32_t n = static_cast<uint32_t>(json.size());
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(n >> (24 - 8 * i));
  return out + json;
}

// A number after "key": in the peer's JSON.
double json_number(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return 0;
  return std::strtod(json.c_str() + p + key.size() + 3, nullptr);
}

std::string cookie_for(uint64_t seed) {
  // make_cookie(): 36 characters from [a-z2-7], then NUL.
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string c;
  uint64_t x = seed | 1;
  for (size_t i = 0; i < kCookieLen - 1; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c += alphabet[x % 32];
  }
  c += '\0';
  return c;
}

struct IperfServer : std::enable_shared_from_this<IperfServer> {
  Node* node = nullptr;
  uint16_t port = 5201;
  bool one_off = false;
  int test_number = 1;
  std::function<void(const std::string&)> out;
  int listener = 0;
  int control = 0, data = 0;
  std::string control_in;
  std::string cookie;
  int stage = 0;  // 0 cookie, 1 params, 2 waiting data, 3 running, 4 results
  uint64_t start_ns = 0, last_ns = 0, bytes = 0, interval_bytes = 0;
  int interval_timer = 0;
  int pid = 0;

  void print(const std::string& s) {
    if (out) out(s);
  }
  void banner() {
    print(
        fmt::format("-----------------------------------------------------------\n"
                    "Server listening on {} (test #{})\n"
                    "-----------------------------------------------------------\n",
                    port, test_number));
  }

  void on_listener(int sock, TcpEvent ev) {
    if (ev != TcpEvent::Accept) return;
    auto self = shared_from_this();
    while (true) {
      int c = node->tcp().accept(sock, [self](int s, TcpEvent e) { self->on_conn(s, e); });
      if (c < 0) break;
      if (control == 0) {
        control = c;
        auto r = node->tcp().remote(c);
        print(fmt::format("Accepted connection from {}, port {}\n", r.addr.to_string(), r.port));
      } else if (data == 0 && stage == 2) {
        data = c;
      } else {
        // iperf3 serves one test at a time: "the server is busy running a test".
        node->tcp().send(c, std::string(1, static_cast<char>(-2)));  // ACCESS_DENIED
        node->tcp().close(c);
      }
    }
  }

  void on_conn(int sock, TcpEvent ev) {
    if (sock == data) {
      if (ev == TcpEvent::Readable) {
        std::string got = node->tcp().recv(sock);
        if (stage == 2) {
          // The data connection's cookie, then TEST_START and TEST_RUNNING.
          if (got.size() >= kCookieLen) got.erase(0, kCookieLen);
          stage = 3;
          start_ns = last_ns = node->now_ns();
          auto local = node->tcp().local(sock), remote = node->tcp().remote(sock);
          print(fmt::format("[{:3}] local {} port {} connected to {} port {}\n", 5,
                            local.addr.to_string(), local.port, remote.addr.to_string(),
                            remote.port));
          print("[ ID] Interval           Transfer     Bitrate\n");
          node->tcp().send(
              control, std::string{static_cast<char>(kTestStart), static_cast<char>(kTestRunning)});
          arm_interval();
        }
        bytes += got.size();
        interval_bytes += got.size();
      }
      return;
    }
    if (sock != control) return;
    if (ev == TcpEvent::Error || ev == TcpEvent::Closed) {
      reset();
      return;
    }
    if (ev != TcpEvent::Readable) return;
    control_in += node->tcp().recv(sock);
    while (true) {
      if (stage == 0) {
        if (control_in.size() < kCookieLen) return;
        cookie = control_in.substr(0, kCookieLen);
        control_in.erase(0, kCookieLen);
        stage = 1;
        node->tcp().send(control, std::string(1, static_cast<char>(kParamExchange)));
        continue;
      }
      if (stage == 1) {
        if (control_in.size() < 4) return;
        uint32_t n = 0;
        for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(control_in[i]);
        if (control_in.size() < 4 + n) return;
        control_in.erase(0, 4 + n);
        stage = 2;
        node->tcp().send(control, std::string(1, static_cast<char>(kCreateStreams)));
        continue;
      }
      if (stage == 3 || stage == 2) {
        if (control_in.empty()) return;
        if (static_cast<uint8_t>(control_in[0]) != kTestEnd) {
          control_in.erase(0, 1);
          continue;
        }
        control_in.erase(0, 1);
        end_test();
        continue;
      }
      if (stage == 4) {
        // The client's results, then ours and DISPLAY_RESULTS.
        if (control_in.size() < 4) return;
        uint32_t n = 0;
        for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(control_in[i]);
        if (control_in.size() < 4 + n) return;
        control_in.erase(0, 4 + n);
        double secs = static_cast<double>(last_ns - start_ns) / kSec;
        node->tcp().send(control,
                         framed(fmt::format("{{\"bytes\":{},\"seconds\":{:.6f}}}", bytes, secs)) +
                             std::string(1, static_cast<char>(kDisplayResults)));
        stage = 5;
        continue;
      }
      if (stage == 5) {
        if (control_in.empty()) return;
        control_in.clear();  // IPERF_DONE
        finish();
        return;
      }
      return;
    }
  }

  void arm_interval() {
    auto self = shared_from_this();
    interval_timer = node->add_timer(last_ns + kSec, [self](uint64_t now) {
      self->interval_timer = 0;
      if (self->stage != 3) return;
      self->print(interval_line(5, static_cast<double>(self->last_ns - self->start_ns) / kSec,
                                static_cast<double>(now - self->start_ns) / kSec,
                                self->interval_bytes, "                  "));
      self->interval_bytes = 0;
      self->last_ns = now;
      self->arm_interval();
    });
  }

  void end_test() {
    if (interval_timer) node->cancel_timer(interval_timer);
    interval_timer = 0;
    uint64_t now = node->now_ns();
    if (now > last_ns && interval_bytes > 0) {
      print(interval_line(5, static_cast<double>(last_ns - start_ns) / kSec,
                          static_cast<double>(now - start_ns) / kSec, interval_bytes,
                          "                  "));
    }
    last_ns = now;
    stage = 4;
    node->tcp().send(control, std::string(1, static_cast<char>(kExchangeResults)));
  }

  void finish() {
    print("- - - - - - - - - - - - - - - - - - - - - - - - -\n");
    print("[ ID] Interval           Transfer     Bitrate\n");
    print(interval_line(5, 0, static_cast<double>(last_ns - start_ns) / kSec, bytes,
                        "                  receiver"));
    reset();
    if (one_off) {
      node->kill_process(pid);
      return;
    }
    ++test_number;
    banner();
  }

  void reset() {
    if (interval_timer) node->cancel_timer(interval_timer);
    interval_timer = 0;
    if (data) node->tcp().close(data);
    if (control) node->tcp().close(control);
    data = control = 0;
    control_in.clear();
    stage = 0;
    bytes = interval_bytes = 0;
  }
};

}  // namespace

CmdOutput run_iperf3(Node& node, Driver& driver, const Args& argv,
                     const std::function<void(const std::string&)>& sink) {
  CmdOutput o;
  bool server = false, one_off = false, json = false;
  std::string host;
  uint16_t port = 5201;
  double seconds = 10, interval = 1;
  uint64_t byte_limit = 0;  // -n: the test ends after this many bytes instead of -t seconds
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argv.size()) {
        throw std::runtime_error(
            fmt::format("iperf3: option requires an argument -- '{}'", a.substr(a.rfind('-') + 1)));
      }
      return argv[++i];
    };
    try {
      if (a == "-s" || a == "--server") {
        server = true;
      } else if (a == "-1" || a == "--one-off") {
        one_off = true;
      } else if (a == "-D" || a == "--daemon") {
      } else if (a == "-c" || a == "--client") {
        host = value();
      } else if (a == "-p" || a == "--port") {
        port = static_cast<uint16_t>(std::stoi(value()));
      } else if (a == "-t" || a == "--time") {
        seconds = std::stod(value());
      } else if (a == "-n" || a == "--bytes") {
        // iperf3's unit_atoi(): K, M, G (either case) are powers of 1024.
        std::string v = value();
        uint64_t mult = 1;
        if (!v.empty() && std::strchr("kKmMgG", v.back()) != nullptr) {
          char u = static_cast<char>(std::tolower(static_cast<unsigned char>(v.back())));
          mult = u == 'k' ? 1024ull : u == 'm' ? 1024ull * 1024 : 1024ull * 1024 * 1024;
          v.pop_back();
        }
        double n = std::stod(v);
        if (!(n > 0)) throw std::invalid_argument("bytes");
        byte_limit = static_cast<uint64_t>(n * static_cast<double>(mult));
      } else if (a == "-i" || a == "--interval") {
        interval = std::stod(value());
      } else if (a == "-J" || a == "--json") {
        json = true;
      } else {
        o.err = fmt::format("iperf3: parameter error - option '{}' is not modelled by vnet\n", a);
        o.status = 1;
        return o;
      }
    } catch (const std::runtime_error& e) {
      o.err = std::string(e.what()) + "\n";
      o.status = 1;
      return o;
    } catch (...) {
      o.err = fmt::format("iperf3: parameter error - invalid value for '{}'\n", a);
      o.status = 1;
      return o;
    }
  }
  (void)json;
  (void)interval;
  if (!(seconds > 0 && seconds <= 86400)) {
    // iperf3: "test duration valid values are between 0 and 86400 seconds"; 0 (no end) cannot
    // be run in a batch simulation.
    o.err =
        "iperf3: parameter error - test duration valid values are between 1 and 86400 "
        "seconds in vnet\n";
    o.status = 1;
    return o;
  }
  if (server == !host.empty()) {
    o.err = "iperf3: parameter error - must either be a client (-c) or server (-s)\n";
    o.status = 1;
    return o;
  }
  node.run_timers(driver.now_ns());
  if (server) {
    auto s = std::make_shared<IperfServer>();
    s->node = &node;
    s->port = port;
    s->one_off = one_off;
    s->out = sink;
    std::weak_ptr<IperfServer> weak = s;
    int l = node.tcp().listen({Ipv4Addr(), port}, 5, [weak](int sock, TcpEvent ev) {
      if (auto self = weak.lock()) self->on_listener(sock, ev);
    });
    if (l < 0) {
      o.err =
          "iperf3: error - unable to start listener for connections: Address already in use\n"
          "iperf3: exiting\n";
      o.status = 1;
      return o;
    }
    s->listener = l;
    Node::Process p;
    p.name = "iperf3";
    p.cmdline = "iperf3 -s";
    p.listeners = {l};
    p.state = s;
    p.stop = [weak] {
      if (auto self = weak.lock()) self->reset();
    };
    s->pid = node.add_process(std::move(p));
    s->banner();
    return o;
  }
  // Client.
  auto addr = Ipv4Addr::parse(host);
  if (!addr) {
    o.err = fmt::format("iperf3: error - unable to resolve host '{}'\n", host);
    o.status = 1;
    return o;
  }
  std::string out = fmt::format("Connecting to host {}, port {}\n", host, port);
  int events = 0;
  bool failed = false;
  auto on_event = [&](int, TcpEvent ev) {
    ++events;
    if (ev == TcpEvent::Error) failed = true;
  };
  int control = node.tcp().connect({*addr, port}, {}, 0, on_event);
  auto fail = [&](const std::string& why) {
    o.out = out;
    o.err = fmt::format("iperf3: error - {}\n", why);
    o.status = 1;
    return o;
  };
  if (control < 0)
    return fail(fmt::format("unable to connect to server: {}", std::strerror(-control)));
  uint64_t deadline = driver.now_ns() + 140 * kSec;
  auto wait_for = [&](const std::function<bool()>& done) {
    driver.advance_until(deadline, [&] { return done() || failed; });
    return done();
  };
  if (!wait_for([&] { return node.tcp().state(control) == stack::TcpState::Established; })) {
    node.tcp().close(control);
    return fail(fmt::format(
        "unable to connect to server: {}",
        std::strerror(node.tcp().error(control) ? node.tcp().error(control) : ETIMEDOUT)));
  }
  std::string cookie = cookie_for(node.now_ns() ^ node.tcp().local(control).port);
  node.tcp().send(control, cookie);
  std::string ctl;
  auto read_state = [&](uint8_t want) {
    bool ok = wait_for([&] {
      ctl += node.tcp().recv(control);
      return !ctl.empty();
    });
    if (!ok) return false;
    uint8_t got = static_cast<uint8_t>(ctl[0]);
    ctl.erase(0, 1);
    return got == want;
  };
  if (!read_state(kParamExchange)) {
    node.tcp().close(control);
    return fail("the server is busy running a test. try again later");
  }
  node.tcp().send(control, framed(fmt::format("{{\"tcp\":true,\"omit\":0,\"time\":{},"
                                              "\"parallel\":1,\"len\":{},\"client_version\":"
                                              "\"3.12\"}}",
                                              static_cast<int>(seconds), kBlockLen)));
  if (!read_state(kCreateStreams)) {
    node.tcp().close(control);
    return fail("control protocol");
  }
  int data = node.tcp().connect({*addr, port}, {}, 0, on_event);
  if (data < 0 ||
      !wait_for([&] { return node.tcp().state(data) == stack::TcpState::Established; })) {
    node.tcp().close(control);
    return fail("unable to connect stream");
  }
  node.tcp().send(data, cookie);
  if (!read_state(kTestStart) || !read_state(kTestRunning)) {
    node.tcp().close(control);
    node.tcp().close(data);
    return fail("control protocol");
  }
  auto local = node.tcp().local(data);
  out += fmt::format("[{:3}] local {} port {} connected to {} port {}\n", 5, local.addr.to_string(),
                     local.port, host, port);
  out += "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n";
  const uint64_t start = driver.now_ns();
  // With -n the test runs until the bytes are written (within iperf3's 86400 s bound).
  const uint64_t end = start + static_cast<uint64_t>((byte_limit ? 86400 : seconds) * kSec);
  uint64_t sent = 0, interval_sent = 0, last = start;
  auto done = [&] { return byte_limit ? sent >= byte_limit : driver.now_ns() >= end; };
  uint64_t retrans_before = 0, retrans_interval_base = 0;
  auto info = [&]() {
    for (const auto& s : node.tcp().sockets()) {
      if (s.id == data) return s;
    }
    return stack::TcpSocketInfo{};
  };
  retrans_before = info().retrans_total;
  retrans_interval_base = retrans_before;
  std::string block(kBlockLen, '\0');
  for (size_t k = 0; k < block.size(); ++k) block[k] = static_cast<char>(k * 31 + 7);
  size_t offset = 0;
  auto push = [&] {
    // Write blocks while the socket takes them (the test's sending loop).
    while (node.now_ns() < end && !(byte_limit && sent >= byte_limit)) {
      std::string_view chunk = std::string_view(block).substr(offset);
      if (byte_limit) chunk = chunk.substr(0, byte_limit - sent);
      long n = node.tcp().send(data, chunk);
      if (n <= 0) break;
      sent += static_cast<uint64_t>(n);
      interval_sent += static_cast<uint64_t>(n);
      offset = (offset + static_cast<size_t>(n)) % block.size();
    }
  };
  push();
  uint64_t next_report = start + kSec;
  auto report = [&] {
    stack::TcpSocketInfo i = info();
    uint64_t now = driver.now_ns();
    out += fmt::format(
        "[{:3}] {:6.2f}-{:<6.2f} sec  {}  {}  {:3}   {}       \n", 5,
        static_cast<double>(last - start) / kSec, static_cast<double>(now - start) / kSec,
        units(static_cast<double>(interval_sent), true),
        units(static_cast<double>(interval_sent) * 8 * kSec /
                  static_cast<double>(std::max<uint64_t>(now - last, 1)),
              false),
        i.retrans_total - retrans_interval_base, units(static_cast<double>(i.cwnd) * i.mss, true));
    retrans_interval_base = i.retrans_total;
    interval_sent = 0;
    last = now;
    next_report = now + kSec;
  };

  while (!done() && !failed) {
    uint64_t until = std::min(end, next_report);
    driver.advance_until(until, [&] {
      push();
      return byte_limit && sent >= byte_limit;
    });
    node.run_timers(driver.now_ns());
    push();
    if (driver.now_ns() >= next_report || done()) report();
  }
  // -n can finish before the first report is due: its only interval.
  if (byte_limit && interval_sent > 0) report();
  if (failed) {
    node.tcp().close(control);
    node.tcp().close(data);
    return fail("control socket has closed unexpectedly");
  }
  node.tcp().send(control, std::string(1, static_cast<char>(kTestEnd)));
  if (!read_state(kExchangeResults)) {
    node.tcp().close(control);
    node.tcp().close(data);
    return fail("control protocol");
  }
  uint64_t retrans = info().retrans_total - retrans_before;
  node.tcp().send(control,
                  framed(fmt::format("{{\"bytes\":{},\"retransmits\":{}}}", sent, retrans)));
  std::string results;
  bool got = wait_for([&] {
    ctl += node.tcp().recv(control);
    if (ctl.size() < 4) return false;
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(ctl[i]);
    return ctl.size() >= 4 + n + 1;
  });
  if (!got) {
    node.tcp().close(control);
    node.tcp().close(data);
    return fail("control protocol");
  }
  uint32_t n = 0;
  for (int i = 0; i < 4; ++i) n = n << 8 | static_cast<uint8_t>(ctl[i]);
  results = ctl.substr(4, n);
  node.tcp().send(control, std::string(1, static_cast<char>(kIperfDone)));
  double server_bytes = json_number(results, "bytes");
  double server_secs = json_number(results, "seconds");
  double secs = static_cast<double>((byte_limit ? driver.now_ns() : end) - start) / kSec;
  // A zero-delay link with no rate moves the bytes in no virtual time: report 1 ns.
  secs = std::max(secs, 1e-9);
  out += "- - - - - - - - - - - - - - - - - - - - - - - - -\n";
  out += "[ ID] Interval           Transfer     Bitrate         Retr\n";
  out += fmt::format("[{:3}] {:6.2f}-{:<6.2f} sec  {}  {}  {:3}             sender\n", 5, 0.0, secs,
                     units(static_cast<double>(sent), true),
                     units(static_cast<double>(sent) * 8 / secs, false), retrans);
  out += interval_line(5, 0, server_secs, static_cast<uint64_t>(server_bytes),
                       "                  receiver");
  out += "\niperf Done.\n";
  // Let the closing handshake run, as the real client's exit does.
  node.tcp().close(data);
  node.tcp().close(control);
  o.out = out;
  return o;
}

}  // namespace vnet::cmd
