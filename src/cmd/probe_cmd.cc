// The probes, with the output of the tools they stand for: iputils `ping` and `arping`
// (20221126) and `traceroute` 2.1.2.  They run in the node's virtual time through a Driver,
// so in the simulator a ping with 10 ms links reports 40.000 ms round trips, exactly.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <map>
#include <optional>

#include "cmd/command.h"
#include "cmd/driver.h"
#include "net/ipv4_addr.h"
#include "wire/arp.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::cmd {

namespace {

using net::Ipv4Addr;
using stack::Node;

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSecond = 1000 * kMs;

struct ProbeExit {
  std::string message;
  int status;
};

std::optional<double> parse_seconds(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || v < 0) return std::nullopt;
  return v;
}

std::optional<long> parse_long(const std::string& s) {
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// iputils' text for an ICMP error (ping's pr_icmph()).
std::string icmp_error_text(int type, int code, uint32_t mtu) {
  if (type == 3) {
    switch (code) {
      case 0:
        return "Destination Net Unreachable";
      case 1:
        return "Destination Host Unreachable";
      case 2:
        return "Destination Protocol Unreachable";
      case 3:
        return "Destination Port Unreachable";
      case 4:
        return fmt::format("Frag needed and DF set (mtu = {})", mtu);
      case 5:
        return "Source Route Failed";
      case 6:
        return "Destination Net Unknown";
      case 7:
        return "Destination Host Unknown";
      case 8:
        return "Source Host Isolated";
      case 9:
        return "Destination Net Prohibited";
      case 10:
        return "Destination Host Prohibited";
      case 11:
        return "Destination Net Unreachable for Type of Service";
      case 12:
        return "Destination Host Unreachable for Type of Service";
      case 13:
        return "Packet filtered";
      case 14:
        return "Precedence Violation";
      case 15:
        return "Precedence Cutoff";
      default:
        return fmt::format("Dest Unreachable, Bad Code: {}", code);
    }
  }
  if (type == 11) return code == 0 ? "Time to live exceeded" : "Frag reassembly time exceeded";
  return fmt::format("Bad ICMP type: {}", type);
}

// ping's time=… formatting: more decimals for shorter times (iputils gather_statistics()).
std::string rtt_text(uint64_t rtt_ns) {
  long t = static_cast<long>(rtt_ns / 1000);  // microseconds
  if (t >= 100000 - 50) return fmt::format("{}", (t + 500) / 1000);
  if (t >= 10000 - 5) return fmt::format("{}.{:01}", (t + 50) / 1000, ((t + 50) % 1000) / 100);
  if (t >= 1000) return fmt::format("{}.{:02}", (t + 5) / 1000, ((t + 5) % 1000) / 10);
  return fmt::format("{}.{:03}", t / 1000, t % 1000);
}

// The device or source address -I names.
struct Bind {
  int oif = 0;
  Ipv4Addr src;
  std::string label;  // as ping prints it after "from SRC "
};

Bind resolve_bind(Node& node, const std::string& arg) {
  Bind b;
  if (auto a = Ipv4Addr::parse(arg)) {
    b.src = *a;
    return b;
  }
  const stack::Device* d = node.device_by_name(arg);
  if (d == nullptr)
    throw ProbeExit{fmt::format("ping: SO_BINDTODEVICE {}: No such device\n", arg), 2};
  b.oif = d->ifindex;
  b.label = arg;
  return b;
}

// The route a probe's socket "connects" with, as the tool does before sending: routing errors
// surface here, printed as "<prefix>connect: <error>".
stack::RouteAnswer connect_route(Node& node, Driver& driver, Ipv4Addr dst,
                                 const std::optional<Bind>& bind, const char* prefix) {
  node.run_timers(driver.now_ns());
  stack::RouteQuery q;
  q.dst = dst;
  q.oif = bind ? bind->oif : 0;
  q.src = bind ? bind->src : Ipv4Addr();
  stack::RouteAnswer route;
  if (int err = node.route_get(q, &route); err != 0) {
    throw ProbeExit{fmt::format("{}connect: {}\n", prefix, stack::errno_text(err)), 2};
  }
  return route;
}

// The value of option argv[i]: glued ("-c3") when `glued` allows it, else the next word.
std::string option_value(const Args& argv, size_t& i, bool glued, const std::string& missing) {
  const std::string& a = argv[i];
  if (glued && a.size() > 2) return a.substr(2);
  if (i + 1 >= argv.size()) throw ProbeExit{missing, 2};
  return argv[++i];
}

// The embedded original datagram of an ICMP error: its IPv4 view and transport header bytes.
struct Quoted {
  wire::Ipv4ConstView ip{std::span<const std::byte>()};
  std::span<const std::byte> l4;
  bool ok = false;
};

Quoted quoted_datagram(const wire::IcmpConstView& icmp) {
  Quoted q;
  auto data = icmp.data();
  q.ip = wire::Ipv4ConstView(data);
  if (q.ip.check_header()) return q;
  size_t h = q.ip.header_len_bytes();
  if (data.size() < h + 8) return q;
  q.l4 = data.subspan(h);
  q.ok = true;
  return q;
}

// ---------------------------------------------------------------- ping

CmdOutput ping(Node& node, Driver& driver, const Args& argv) {
  CmdOutput o;
  long count = 4;  // no Ctrl-C in the simulator: a bare ping sends four, like -c 4
  double interval = 1.0, timeout = 10.0, deadline = 0;
  bool have_timeout = false, quiet = false, broadcast = false;
  long size = 56;
  int ttl = -1;
  std::string pmtu = "want";
  std::optional<Bind> bind;
  std::string target;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto value = [&] {
      return option_value(argv, i, true,
                          fmt::format("ping: option requires an argument -- '{}'\n", a.substr(1)));
    };
    if (a.rfind("-c", 0) == 0) {
      auto v = parse_long(value());
      if (!v || *v <= 0) throw ProbeExit{"ping: invalid argument: bad count\n", 1};
      count = *v;
    } else if (a.rfind("-i", 0) == 0) {
      auto v = parse_seconds(value());
      if (!v) throw ProbeExit{"ping: bad timing interval\n", 2};
      interval = *v;
    } else if (a.rfind("-W", 0) == 0) {
      auto v = parse_seconds(value());
      if (!v) throw ProbeExit{"ping: bad linger time\n", 2};
      timeout = *v;
      have_timeout = true;
    } else if (a.rfind("-w", 0) == 0) {
      auto v = parse_seconds(value());
      if (!v) throw ProbeExit{"ping: bad wait time\n", 2};
      deadline = *v;
    } else if (a.rfind("-s", 0) == 0) {
      auto v = parse_long(value());
      if (!v || *v < 0 || *v > 65507) throw ProbeExit{"ping: invalid argument: packet size\n", 1};
      size = *v;
    } else if (a.rfind("-t", 0) == 0) {
      auto v = parse_long(value());
      if (!v || *v < 0 || *v > 255) throw ProbeExit{"ping: ttl out of range\n", 2};
      ttl = static_cast<int>(*v);
    } else if (a.rfind("-M", 0) == 0) {
      pmtu = value();
      if (pmtu != "do" && pmtu != "dont" && pmtu != "want" && pmtu != "probe") {
        throw ProbeExit{"ping: wrong value for -M: do, dont, want are valid ones.\n", 2};
      }
    } else if (a.rfind("-I", 0) == 0) {
      bind = resolve_bind(node, value());
    } else if (a == "-q") {
      quiet = true;
    } else if (a == "-b") {
      broadcast = true;
    } else if (a == "-n" || a == "-4" || a == "-D" || a == "-U" || a == "-v") {
    } else if (!a.empty() && a[0] == '-') {
      throw ProbeExit{fmt::format("ping: invalid option -- '{}'\n", a.substr(1, 1)), 2};
    } else {
      target = a;
    }
  }
  if (target.empty()) throw ProbeExit{"ping: usage error: Destination address required\n", 1};
  auto dst = Ipv4Addr::parse(target);
  if (!dst) throw ProbeExit{fmt::format("ping: {}: Name or service not known\n", target), 2};
  if (deadline > 0 && count == 4) count = 1L << 30;

  stack::RouteAnswer route = connect_route(node, driver, *dst, bind, "ping: ");
  // iputils: a broadcast destination needs -b (SO_BROADCAST), and is warned about.
  if (route.broadcast || dst->is_limited_broadcast()) {
    if (!broadcast) {
      throw ProbeExit{
          "ping: Do you want to ping broadcast? Then -b. If not, check your local firewall "
          "rules\n",
          2};
    }
    o.err += "WARNING: pinging broadcast address\n";
  }
  Ipv4Addr source = bind && !bind->src.is_unspecified() ? bind->src : route.prefsrc;
  if (bind) {
    o.out += fmt::format("PING {0} ({0}) from {1} {2}: {3}({4}) bytes of data.\n", target,
                         source.to_string(), bind->label, size, size + 28);
  } else {
    o.out += fmt::format("PING {0} ({0}) {1}({2}) bytes of data.\n", target, size, size + 28);
  }

  const uint16_t ident = static_cast<uint16_t>(0x5a00 + (node.now_ns() / kMs) % 256);
  std::map<uint16_t, uint64_t> sent_at;
  long transmitted = 0, received = 0, errors = 0;
  int pipe = 0;
  std::vector<uint64_t> rtts;
  uint64_t start = driver.now_ns(), last_event = start;
  int listener = node.add_listener([&](const Node::Delivered& d) {
    if (d.protocol != 1) return false;
    wire::IcmpConstView icmp(d.l4);
    if (icmp.check()) return false;
    if (icmp.type() == wire::IcmpType::EchoReply) {
      if (icmp.echo_identifier() != ident) return false;
      auto it = sent_at.find(icmp.echo_sequence_number());
      if (it == sent_at.end()) return false;
      uint64_t rtt = d.time_ns - it->second;
      sent_at.erase(it);
      ++received;
      rtts.push_back(rtt);
      last_event = d.time_ns;
      if (!quiet) {
        o.out += fmt::format("{} bytes from {}: icmp_seq={} ttl={} time={} ms\n", d.l4.size(),
                             d.src.to_string(), icmp.echo_sequence_number(), d.ttl, rtt_text(rtt));
      }
      return true;
    }
    if (icmp.type() != wire::IcmpType::DestinationUnreachable &&
        icmp.type() != wire::IcmpType::TimeExceeded) {
      return false;
    }
    Quoted qd = quoted_datagram(icmp);
    if (!qd.ok || qd.ip.protocol() != wire::IpProtocol::Icmp) return false;
    wire::IcmpConstView inner(qd.l4.first(8));
    uint16_t id = wire::load_be16(qd.l4, 4), seq = wire::load_be16(qd.l4, 6);
    (void)inner;
    if (id != ident || !sent_at.contains(seq)) return false;
    sent_at.erase(seq);
    ++errors;
    last_event = d.time_ns;
    if (!quiet) {
      o.out += fmt::format(
          "From {} icmp_seq={} {}\n", d.src.to_string(), seq,
          icmp_error_text(static_cast<int>(icmp.type()), icmp.code(), icmp.next_hop_mtu()));
    }
    return true;
  });

  uint64_t interval_ns = static_cast<uint64_t>(interval * 1e9);
  uint64_t deadline_at = deadline > 0 ? start + static_cast<uint64_t>(deadline * 1e9) : 0;
  uint64_t next_send = start;
  std::vector<std::byte> data(static_cast<size_t>(size));
  for (size_t k = 0; k < data.size(); ++k) data[k] = static_cast<std::byte>(k & 0xff);
  bool send_failed = false;
  while (true) {
    uint64_t now = driver.now_ns();
    if (deadline_at && now >= deadline_at) break;
    if (transmitted < count && now >= next_send) {
      uint16_t seq = static_cast<uint16_t>(transmitted + 1);
      wire::IcmpRepr req = wire::IcmpRepr::echo_request(ident, seq, data);
      Node::OutPacket p;
      p.dst = *dst;
      p.src = bind ? bind->src : Ipv4Addr();
      p.oif = bind ? bind->oif : 0;
      p.ttl = ttl >= 0 ? static_cast<uint8_t>(ttl) : 64;
      p.dont_fragment = pmtu != "dont";
      p.pmtudisc_want = pmtu == "want";
      p.l4.resize(req.buffer_len());
      (void)req.emit(p.l4);
      node.run_timers(now);
      sent_at[seq] = now;
      ++transmitted;
      uint32_t path_mtu = 0;
      int e = node.send(p, nullptr, &path_mtu);
      if (e == -EMSGSIZE) {
        // The socket refuses it and queues a local error, which ping prints and counts.
        sent_at.erase(seq);
        o.err += fmt::format("ping: local error: message too long, mtu={}\n", path_mtu);
        ++errors;
      } else if (e != 0) {
        sent_at.erase(seq);
        o.err += fmt::format("ping: sendmsg: {}\n", stack::errno_text(e));
        send_failed = true;
      }
      pipe = std::max(pipe, static_cast<int>(sent_at.size()));
      next_send += interval_ns;
    }
    bool all_answered = transmitted == count && received + errors >= transmitted;
    if (all_answered) break;
    uint64_t until =
        transmitted < count
            ? next_send
            : (have_timeout ? next_send - interval_ns + static_cast<uint64_t>(timeout * 1e9)
                            : std::max(next_send - interval_ns + 10 * kSecond, now));
    if (deadline_at) until = std::min(until, deadline_at);
    if (transmitted == count && driver.now_ns() >= until) break;
    long answered_before = received + errors;
    driver.advance_until(until, [&] {
      return transmitted == count && received + errors >= transmitted &&
             received + errors > answered_before;
    });
    pipe = std::max(pipe, static_cast<int>(sent_at.size()));
  }
  node.remove_listener(listener);
  // iputils reports the time from the first to the last transmission.
  uint64_t elapsed_ms = transmitted > 0 ? (next_send - interval_ns - start) / kMs : 0;
  (void)last_event;
  o.out += fmt::format("\n--- {} ping statistics ---\n", target);
  std::string stats = fmt::format("{} packets transmitted, {} received", transmitted, received);
  if (errors) stats += fmt::format(", +{} errors", errors);
  // iputils prints the loss with printf("%g") of a float: 33.3333%, 50%, 100%.
  float loss =
      transmitted ? static_cast<float>((transmitted - received) * 100.0 / transmitted) : 0.0f;
  stats += fmt::format(", {:g}% packet loss, time {}ms\n", loss, elapsed_ms);
  o.out += stats;
  std::string tail, comma;
  if (received) {
    uint64_t mn = *std::min_element(rtts.begin(), rtts.end());
    uint64_t mx = *std::max_element(rtts.begin(), rtts.end());
    // iputils keeps microseconds: truncate each sample first.
    double sum = 0, sum2 = 0;
    for (uint64_t r : rtts) {
      uint64_t us_int = r / 1000;
      double us = static_cast<double>(us_int);
      sum += us;
      sum2 += us * us;
    }
    double avg = sum / static_cast<double>(rtts.size());
    double mdev = std::sqrt(std::max(0.0, sum2 / static_cast<double>(rtts.size()) - avg * avg));
    auto us = [](double v) {
      long l = static_cast<long>(v);
      return fmt::format("{}.{:03}", l / 1000, l % 1000);
    };
    uint64_t mn_us = mn / 1000, mx_us = mx / 1000;
    tail += fmt::format("rtt min/avg/max/mdev = {}/{}/{}/{} ms", us(static_cast<double>(mn_us)),
                        us(avg), us(static_cast<double>(mx_us)), us(mdev));
    comma = ", ";
  }
  if (pipe > 1) tail += fmt::format("{}pipe {}", comma, pipe);
  o.out += tail + "\n";
  o.status = received > 0 ? 0 : (send_failed && errors == 0 ? 2 : 1);
  return o;
}

// ---------------------------------------------------------------- traceroute

CmdOutput traceroute(Node& node, Driver& driver, const Args& argv) {
  CmdOutput o;
  bool numeric = false, icmp_mode = false;
  int max_hops = 30, first_ttl = 1, queries = 3;
  double wait = 5.0;
  uint16_t port = 33434;
  std::optional<Bind> bind;
  std::string target;
  long packet_len = 60;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto value = [&] {
      return option_value(argv, i, false, fmt::format("Option `{}' requires an argument\n", a));
    };
    if (a == "-n") {
      numeric = true;
    } else if (a == "-I" || a == "--icmp") {
      icmp_mode = true;
    } else if (a == "-U" || a == "--udp") {
      icmp_mode = false;
    } else if (a == "-m") {
      auto v = parse_long(value());
      if (!v || *v < 1 || *v > 255) throw ProbeExit{"max hops cannot be more than 255\n", 2};
      max_hops = static_cast<int>(*v);
    } else if (a == "-f") {
      auto v = parse_long(value());
      if (!v || *v < 1) throw ProbeExit{"first hop out of range\n", 2};
      first_ttl = static_cast<int>(*v);
    } else if (a == "-q") {
      auto v = parse_long(value());
      if (!v || *v < 1 || *v > 10) throw ProbeExit{"no more than 10 probes per hop\n", 2};
      queries = static_cast<int>(*v);
    } else if (a == "-w") {
      std::string v = value();
      auto w = parse_seconds(v.substr(0, v.find(',')));
      if (!w) throw ProbeExit{fmt::format("Cannot handle `-w' option with arg `{}'\n", v), 2};
      wait = *w;
    } else if (a == "-p") {
      auto v = parse_long(value());
      if (!v || *v < 1 || *v > 65535) throw ProbeExit{"bad port\n", 2};
      port = static_cast<uint16_t>(*v);
    } else if (a == "-i") {
      bind = resolve_bind(node, value());
    } else if (a == "-s") {
      bind = Bind{0, Ipv4Addr::parse(value()).value_or(Ipv4Addr()), {}};
    } else if (!a.empty() && a[0] == '-') {
      throw ProbeExit{fmt::format("Bad option `{}' (argc {})\n", a, i), 2};
    } else if (target.empty()) {
      target = a;
    } else {
      auto v = parse_long(a);
      if (!v || *v < 28 || *v > 65000) throw ProbeExit{"bad packet length\n", 2};
      packet_len = *v;
    }
  }
  if (target.empty()) throw ProbeExit{"Specify \"host\" missing argument.\n", 2};
  auto dst = Ipv4Addr::parse(target);
  if (!dst)
    throw ProbeExit{fmt::format("{}: Name or service not known\nCannot handle \"host\" cmdline arg "
                                "`{}' on position 1 (argc 1)\n",
                                target, target),
                    2};
  o.out += fmt::format("traceroute to {0} ({0}), {1} hops max, {2} byte packets", target, max_hops,
                       packet_len);
  try {
    connect_route(node, driver, *dst, bind, "");
  } catch (const ProbeExit& e) {
    // traceroute has printed its header (without a newline) when connect() fails; exit 1.
    o.err = e.message;
    o.status = 1;
    return o;
  }

  struct Probe {
    int ttl = 0;
    uint16_t key = 0;  // UDP destination port or ICMP sequence
    uint64_t sent = 0, recv = 0;
    std::optional<Ipv4Addr> from;
    std::string err;
    bool final = false;
    bool done = false;
  };
  std::vector<Probe> probes;
  const uint16_t ident = static_cast<uint16_t>(0x7100 + first_ttl);
  const uint16_t sport = static_cast<uint16_t>(40000 + (node.now_ns() / kMs) % 20000);
  auto match = [&](uint16_t key) -> Probe* {
    for (Probe& p : probes) {
      if (p.key == key && !p.done) return &p;
    }
    return nullptr;
  };
  int listener = node.add_listener([&](const Node::Delivered& d) {
    if (d.protocol != 1) return false;
    wire::IcmpConstView icmp(d.l4);
    if (icmp.check()) return false;
    Probe* p = nullptr;
    if (icmp.type() == wire::IcmpType::EchoReply) {
      if (!icmp_mode || icmp.echo_identifier() != ident) return false;
      p = match(icmp.echo_sequence_number());
      if (p) p->final = true;
    } else if (icmp.type() == wire::IcmpType::TimeExceeded ||
               icmp.type() == wire::IcmpType::DestinationUnreachable) {
      Quoted qd = quoted_datagram(icmp);
      if (!qd.ok) return false;
      if (icmp_mode && qd.ip.protocol() == wire::IpProtocol::Icmp &&
          wire::load_be16(qd.l4, 4) == ident) {
        p = match(wire::load_be16(qd.l4, 6));
      } else if (!icmp_mode && qd.ip.protocol() == wire::IpProtocol::Udp &&
                 wire::load_be16(qd.l4, 0) == sport) {
        p = match(wire::load_be16(qd.l4, 2));
      }
      if (p && icmp.type() == wire::IcmpType::DestinationUnreachable) {
        p->final = true;
        switch (icmp.code()) {
          case 0:
          case 6:
          case 8:
          case 11:
            p->err = "!N";
            break;
          case 1:
          case 7:
          case 12:
            p->err = "!H";
            break;
          case 9:
          case 10:
          case 13:
            p->err = "!X";
            break;
          case 3:
            break;
          case 2:
            p->err = "!P";
            break;
          case 4:
            p->err = fmt::format("!F-{}", icmp.next_hop_mtu());
            break;
          case 5:
            p->err = "!S";
            break;
          case 14:
            p->err = "!V";
            break;
          case 15:
            p->err = "!C";
            break;
          default:
            p->err = fmt::format("!<{}>", icmp.code());
        }
      }
    }
    if (p == nullptr) return false;
    p->from = d.src;
    p->recv = d.time_ns;
    p->done = true;
    return true;
  });

  // Probes go out up to 16 at a time (-N 16), hop after hop; a hop is printed once all its
  // probes are answered or have waited their time.
  const size_t kSimultaneous = 16;
  uint16_t next_key = icmp_mode ? 1 : port;
  int ttl_to_send = first_ttl, sent_in_hop = 0;
  size_t printed = 0;
  bool finished = false;
  uint64_t wait_ns = static_cast<uint64_t>(wait * 1e9);
  while (!finished) {
    uint64_t now = driver.now_ns();
    node.run_timers(now);
    // A probe unanswered after the wait time is resolved as "*".
    for (Probe& p : probes) {
      if (!p.done && now >= p.sent + wait_ns) p.done = true;
    }
    size_t outstanding = 0;
    for (const Probe& p : probes) outstanding += p.done ? 0 : 1;
    while (outstanding < kSimultaneous && ttl_to_send <= max_hops) {
      Probe p;
      p.ttl = ttl_to_send;
      p.key = next_key++;
      p.sent = now;
      Node::OutPacket out;
      out.dst = *dst;
      out.src = bind ? bind->src : Ipv4Addr();
      out.oif = bind ? bind->oif : 0;
      out.ttl = static_cast<uint8_t>(p.ttl);
      out.dont_fragment = false;
      size_t payload = static_cast<size_t>(std::max<long>(packet_len - 28, 0));
      if (icmp_mode) {
        std::vector<std::byte> data(payload);
        wire::IcmpRepr req = wire::IcmpRepr::echo_request(ident, p.key, data);
        out.protocol = 1;
        out.l4.resize(req.buffer_len());
        (void)req.emit(out.l4);
      } else {
        out.protocol = 17;
        out.udp_sport = sport;
        out.udp_dport = p.key;
        out.l4.assign(payload, std::byte{0x40});
      }
      probes.push_back(p);
      node.send(out);
      ++outstanding;
      if (++sent_in_hop == queries) {
        sent_in_hop = 0;
        ++ttl_to_send;
      }
    }
    // Print every complete hop, in order.
    while (printed < probes.size()) {
      int hop = probes[printed].ttl;
      size_t end = printed;
      while (end < probes.size() && probes[end].ttl == hop) ++end;
      if (end - printed < static_cast<size_t>(queries)) break;
      bool complete = true;
      for (size_t k = printed; k < end; ++k) complete &= probes[k].done;
      if (!complete) break;
      o.out += fmt::format("\n{:2} ", hop);
      bool hop_final = false;
      std::optional<Ipv4Addr> prev;
      for (size_t k = printed; k < end; ++k) {
        Probe& p = probes[k];
        if (!p.from) {
          o.out += " *";
          continue;
        }
        if (!prev || *prev != *p.from) {
          o.out += numeric ? fmt::format(" {}", p.from->to_string())
                           : fmt::format(" {0} ({0})", p.from->to_string());
        }
        prev = p.from;
        o.out += fmt::format("  {:.3f} ms", static_cast<double>(p.recv - p.sent) / 1e6);
        if (!p.err.empty()) o.out += fmt::format(" {}", p.err);
        hop_final |= p.final;
      }
      printed = end;
      if (hop_final || hop >= max_hops) {
        finished = true;
        break;
      }
    }
    if (finished || (ttl_to_send > max_hops && printed == probes.size())) break;
    // Run until something is answered or the oldest outstanding probe times out.
    uint64_t until = stack::kNoDeadline;
    for (const Probe& p : probes) {
      if (!p.done) until = std::min(until, p.sent + wait_ns);
    }
    size_t done_before = 0;
    for (const Probe& p : probes) done_before += p.done;
    driver.advance_until(until, [&] {
      size_t done = 0;
      for (const Probe& p : probes) done += p.done;
      return done != done_before;
    });
  }
  o.out += "\n";
  node.remove_listener(listener);
  return o;
}

// ---------------------------------------------------------------- arping

CmdOutput arping(Node& node, Driver& driver, const Args& argv) {
  CmdOutput o;
  long count = -1;
  double deadline = 0;
  bool quit_on_reply = false, unsolicited = false, reply_mode = false, dad = false, quiet = false;
  std::string iface, target;
  std::optional<Ipv4Addr> source;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    auto value = [&] {
      return option_value(
          argv, i, true, fmt::format("arping: option requires an argument -- '{}'\n", a.substr(1)));
    };
    if (a.rfind("-c", 0) == 0) {
      auto v = parse_long(value());
      if (!v) throw ProbeExit{"arping: invalid argument: count\n", 2};
      count = *v;
    } else if (a.rfind("-w", 0) == 0) {
      auto v = parse_seconds(value());
      if (!v) throw ProbeExit{"arping: invalid argument: deadline\n", 2};
      deadline = *v;
    } else if (a.rfind("-I", 0) == 0) {
      iface = value();
    } else if (a.rfind("-s", 0) == 0) {
      source = Ipv4Addr::parse(value());
      if (!source) throw ProbeExit{"arping: invalid source\n", 2};
    } else if (a == "-f") {
      quit_on_reply = true;
    } else if (a == "-U") {
      unsolicited = true;
    } else if (a == "-A") {
      unsolicited = true;
      reply_mode = true;
    } else if (a == "-D") {
      dad = true;
      quit_on_reply = true;
    } else if (a == "-q") {
      quiet = true;
    } else if (a == "-b" || a == "-0") {
    } else if (!a.empty() && a[0] == '-') {
      throw ProbeExit{fmt::format("arping: invalid option -- '{}'\n", a.substr(1, 1)), 2};
    } else {
      target = a;
    }
  }
  if (target.empty()) throw ProbeExit{"arping: usage error: Destination address required\n", 2};
  auto dst = Ipv4Addr::parse(target);
  if (!dst) throw ProbeExit{fmt::format("arping: {}: Name or service not known\n", target), 2};
  node.run_timers(driver.now_ns());
  const stack::Device* dev = nullptr;
  if (!iface.empty()) {
    dev = node.device_by_name(iface);
    if (dev == nullptr)
      throw ProbeExit{fmt::format("arping: Device {} not available.\n", iface), 2};
  } else {
    stack::RouteQuery q;
    q.dst = *dst;
    stack::RouteAnswer route;
    if (node.route_get(q, &route) != 0 || (dev = node.device(route.oif)) == nullptr ||
        dev->is_loopback()) {
      throw ProbeExit{"arping: Suitable device could not be determined. Please, use option -I.\n",
                      2};
    }
  }
  Ipv4Addr src;
  if (dad) {
    src = Ipv4Addr();
  } else if (source) {
    src = *source;
  } else if (unsolicited) {
    src = *dst;
  } else {
    src = node.select_addr(dev->ifindex, *dst, fib::scope::kUniverse);
    if (src.is_unspecified()) {
      throw ProbeExit{"arping: no source address in not-DAD mode\n", 2};
    }
  }
  if (count < 0) count = deadline > 0 ? (1L << 30) : 4;
  if (!quiet) o.out += fmt::format("ARPING {} from {} {}\n", target, src.to_string(), dev->name);
  long sent = 0, received = 0, broadcasts = 0;
  uint64_t sent_at = 0;
  int ifindex = dev->ifindex;
  int listener = node.add_arp_listener([&](int ix, const std::vector<std::byte>& arp, uint64_t t) {
    if (ix != ifindex || arp.size() < 28) return;
    wire::ArpConstView view(arp);
    if (view.check() || view.operation() != wire::ArpOperation::Reply) return;
    if (view.sender_protocol_address() != *dst) return;
    ++received;
    if (!quiet) {
      std::string mac = view.sender_hardware_address().to_string();
      for (char& c : mac) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      o.out += fmt::format("Unicast reply from {} [{}]  {:.3f}ms\n", dst->to_string(), mac,
                           static_cast<double>(t - sent_at) / 1e6);
    }
  });
  uint64_t start = driver.now_ns();
  uint64_t deadline_at = deadline > 0 ? start + static_cast<uint64_t>(deadline * 1e9) : 0;
  while (sent < count) {
    uint64_t now = driver.now_ns();
    if (deadline_at && now >= deadline_at) break;
    node.run_timers(now);
    sent_at = now;
    if (reply_mode) {
      node.send_arp(ifindex, src, *dst, std::nullopt, true);
    } else {
      node.send_arp(ifindex, src, *dst, std::nullopt);
    }
    ++sent;
    ++broadcasts;
    long before = received;
    uint64_t until = now + kSecond;
    if (deadline_at) until = std::min(until, deadline_at);
    driver.advance_until(until, [&] { return quit_on_reply && received > before; });
    if (quit_on_reply && received > 0) break;
  }
  node.remove_arp_listener(listener);
  if (!quiet) {
    o.out += fmt::format("Sent {} probes ({} broadcast(s))\n", sent, broadcasts);
    o.out += fmt::format("Received {} response(s)\n", received);
  }
  if (dad) {
    o.status = received > 0 ? 1 : 0;
  } else if (unsolicited) {
    o.status = 0;
  } else {
    o.status = received > 0 ? 0 : 1;
  }
  return o;
}

template <typename Fn>
CmdOutput guarded(Fn&& fn) {
  try {
    return fn();
  } catch (const ProbeExit& e) {
    CmdOutput o;
    o.err = e.message;
    o.status = e.status;
    return o;
  }
}

}  // namespace

CmdOutput run_ping(stack::Node& node, Driver& driver, const Args& argv) {
  return guarded([&] { return ping(node, driver, argv); });
}
CmdOutput run_traceroute(stack::Node& node, Driver& driver, const Args& argv) {
  return guarded([&] { return traceroute(node, driver, argv); });
}
CmdOutput run_arping(stack::Node& node, Driver& driver, const Args& argv) {
  return guarded([&] { return arping(node, driver, argv); });
}

}  // namespace vnet::cmd
