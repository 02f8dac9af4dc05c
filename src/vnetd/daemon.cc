// vnetd's engine (daemon.h).
#include "vnetd/daemon.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cmd/metrics.h"
#include "ctrl/agent.h"
#include "ctrl/etcd_store.h"
#include "ctrl/vpc_applier.h"

namespace vnet::vnetd {

namespace {

constexpr uint64_t kCarrierCheckNs = 200'000'000;  // how often link state is re-read
constexpr size_t kRxBudget = 512;
constexpr size_t kRxArenaBytes = size_t{512} * 1024;  // a burst's received frames, back to back
constexpr int kAgentPollMs = 100;  // the agent thread's longest wait (and its stop latency)

uint64_t steady_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::vector<std::string> namespace_interfaces() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    // Devices only (bonding_masters is a file), and not the tunnel modules' fallback devices.
    std::string n = e.path().filename().string();
    if (n == "lo" || !std::filesystem::exists(e.path() / "ifindex", ec)) continue;
    if (n == "tunl0" || n == "gre0" || n == "gretap0" || n == "erspan0" || n == "sit0" ||
        n == "ip_vti0") {
      continue;
    }
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

void Daemon::TraceRing::record(const stack::TraceRecord& r) {
  if (records_.size() >= capacity_) records_.pop_front();
  records_.push_back(r);
}

std::string Daemon::TraceRing::text() const {
  std::string s;
  for (const stack::TraceRecord& r : records_) s += stack::format_trace_record(r);
  return s;
}

Daemon::~Daemon() {
  stop_agent();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(options_.socket_path.c_str());
  }
  if (metrics_fd_ >= 0) ::close(metrics_fd_);
}

std::variant<std::unique_ptr<Daemon>, std::string> Daemon::create(const DaemonOptions& options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->options_ = options;
  if (d->options_.socket_path.empty()) d->options_.socket_path = ctl::socket_path(options.name);
  d->trace_ = std::make_unique<TraceRing>(options.trace_capacity);
  d->node_.set_io(d.get());
  d->shell_ = std::make_unique<cmd::Shell>(d->node_);
  d->shell_->set_driver(d.get());
  d->node_.link_set_up(stack::Node::kLoopbackIfindex, true);

  std::vector<std::string> names = options.ports.empty() ? namespace_interfaces() : options.ports;
  if (names.empty()) return std::string("no interfaces to own (only lo in this namespace)");
  for (const std::string& name : names) {
    std::string err = d->open_port(name);
    if (!err.empty()) return err;
  }

  // The control socket.
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(d->options_.socket_path).parent_path(),
                                      ec);
  ::unlink(d->options_.socket_path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (d->options_.socket_path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return "control socket path too long: " + d->options_.socket_path;
  }
  std::memcpy(addr.sun_path, d->options_.socket_path.c_str(), d->options_.socket_path.size() + 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    std::string e = d->options_.socket_path + ": " + std::strerror(errno);
    ::close(fd);
    return e;
  }
  ::chmod(d->options_.socket_path.c_str(), 0600);
  d->listen_fd_ = fd;

  Daemon* self = d.get();
  d->loop_.add(
      fd, [self](uint32_t) { self->accept_control(); }, /*nestable=*/false);
  if (!options.metrics_listen.empty()) {
    std::string err = d->open_metrics(options.metrics_listen);
    if (!err.empty()) return err;
  }
  d->loop_.set_on_timer([self] { self->node_.run_timers(self->loop_.now_ns()); });
  d->loop_.set_after_batch([self] { self->after_batch(); });

  if (!options.etcd.empty()) {
    std::string err = d->start_agent();
    if (!err.empty()) return err;
  }
  bool restored = false;
  if (!options.journal.empty()) {
    d->journal_ = std::make_unique<cmd::ConfigJournal>(options.journal);
    cmd::ConfigJournal::Loaded loaded = d->journal_->load();
    for (const std::string& p : loaded.problems) {
      spdlog::warn("{}: journal {} refused ({}){}", options.name, options.journal, p,
                   loaded.source.empty() ? "" : "; using " + loaded.source);
    }
    size_t failed = 0;
    for (const std::string& line : loaded.lines) {
      cmd::CmdOutput o = d->shell_->run(line);
      if (o.status != 0) {
        ++failed;
        spdlog::warn("{}: journal line `{}` failed: {}", options.name, line, o.err);
      }
    }
    if (!loaded.source.empty()) {
      restored = true;
      spdlog::info("{}: restored {} command lines from {} ({} failed)", options.name,
                   loaded.lines.size(), loaded.source, failed);
    }
  }
  // The journal already holds what the exec lines did when they first ran (and what came
  // after): replaying them too would apply them twice.
  if (restored && !options.exec.empty()) {
    spdlog::info("{}: the journal was restored; the {} exec lines are not replayed", options.name,
                 options.exec.size());
  }
  for (const std::string& line : restored ? std::vector<std::string>{} : options.exec) {
    cmd::CmdOutput o = d->run_and_journal(line);
    if (o.status != 0) {
      spdlog::warn("{}: replayed `{}` failed: {}", options.name, line, o.err);
    }
  }
  d->after_batch();
  return d;
}

cmd::CmdOutput Daemon::run_and_journal(const std::string& line) {
  cmd::CmdOutput o = shell_->run(line);
  if (journal_ && o.status == 0 && cmd::changes_configuration(line)) {
    std::string e = journal_->append(line);
    if (!e.empty()) spdlog::error("{}: journal: {}", options_.name, e);
  }
  return o;
}

std::string Daemon::open_metrics(const std::string& listen) {
  size_t colon = listen.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  int port = -1;
  if (colon != std::string::npos) {
    try {
      size_t used = 0;
      port = std::stoi(listen.substr(colon + 1), &used);
      if (used != listen.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (colon == std::string::npos || port < 0 || port > 65535 ||
      ::inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    return "--metrics " + listen + ": expected IPv4ADDRESS:PORT (e.g. 127.0.0.1:9477)";
  }
  addr.sin_port = htons(static_cast<uint16_t>(port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "--metrics " + listen + ": socket: " + std::strerror(errno);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 16) != 0) {
    std::string e = "--metrics " + listen + ": " + std::strerror(errno);
    ::close(fd);
    return e;
  }
  metrics_fd_ = fd;
  loop_.add(
      fd, [this](uint32_t) { accept_metrics(); }, /*nestable=*/false);
  spdlog::info("{}: metrics on http://{}/metrics", options_.name, listen);
  return {};
}

std::string Daemon::start_agent() {
  auto writer = ctrl::open_store(options_.etcd);
  if (!writer.ok()) return "--etcd " + options_.etcd + ": " + writer.error().message;
  writer_store_ = std::move(writer.value());
  control_.store = writer_store_.get();
  control_.node = options_.agent_node;
  control_.open = ctrl::open_store_or_null;
  control_.now_ms = steady_ms;
  control_.log = [this] {
    std::lock_guard<std::mutex> lock(agent_mu_);
    return agent_log_.lines();
  };
  shell_->set_control(&control_);
  if (options_.agent_node.empty()) return {};

  auto store = ctrl::open_store(options_.etcd);
  if (!store.ok()) return "--etcd " + options_.etcd + ": " + store.error().message;
  agent_store_ = std::move(store.value());
  agent_event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (agent_event_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  applier_ = std::make_unique<ctrl::VpcApplier>(node_);
  control_.applier = applier_.get();
  const std::string name = options_.name;
  agent_ = std::make_unique<ctrl::Agent>(
      *agent_store_, ctrl::Agent::Options{.node = options_.agent_node},
      [this](const std::vector<ctrl::Change>& changes) {
        // On the agent's thread: hand the batch to the node's.
        {
          std::lock_guard<std::mutex> lock(agent_mu_);
          agent_queue_.insert(agent_queue_.end(), changes.begin(), changes.end());
        }
        uint64_t one = 1;
        (void)!::write(agent_event_fd_, &one, sizeof(one));
      },
      [this, name](ctrl::Agent::Level level, const std::string& message) {
        switch (level) {
          case ctrl::Agent::Level::Debug:
            spdlog::debug("{}: agent: {}", name, message);
            break;
          case ctrl::Agent::Level::Info:
            spdlog::info("{}: agent: {}", name, message);
            break;
          case ctrl::Agent::Level::Warn:
            spdlog::warn("{}: agent: {}", name, message);
            break;
          case ctrl::Agent::Level::Error:
            spdlog::error("{}: agent: {}", name, message);
            break;
        }
        std::lock_guard<std::mutex> lock(agent_mu_);
        agent_log_.add(level, message);
      });
  control_.agent = agent_.get();
  loop_.add(agent_event_fd_, [this](uint32_t) {
    uint64_t n = 0;
    (void)!::read(agent_event_fd_, &n, sizeof(n));
    drain_agent_queue();
  });
  agent_thread_ = std::thread([this] {
    while (!agent_stop_.load(std::memory_order_relaxed)) agent_->poll(kAgentPollMs, steady_ms());
  });
  spdlog::info("{}: agent for host {} on etcd {}", options_.name, options_.agent_node,
               options_.etcd);
  return {};
}

void Daemon::stop_agent() {
  agent_stop_ = true;
  if (agent_thread_.joinable()) agent_thread_.join();
  if (agent_event_fd_ >= 0) {
    loop_.remove(agent_event_fd_);
    ::close(agent_event_fd_);
    agent_event_fd_ = -1;
  }
}

void Daemon::drain_agent_queue() {
  std::vector<ctrl::Change> batch;
  {
    std::lock_guard<std::mutex> lock(agent_mu_);
    batch.swap(agent_queue_);
  }
  if (!batch.empty() && applier_) applier_->apply(batch, loop_.now_ns());
}

std::string Daemon::open_port(const std::string& name) {
  auto opened = dataplane::PacketPort::open(name, options_.port_options);
  if (auto* e = std::get_if<std::string>(&opened)) return *e;
  Port p;
  p.port = std::move(std::get<std::unique_ptr<dataplane::PacketPort>>(opened));
  stack::Status s = node_.link_add_external(name, p.port->mac());
  if (!s.ok()) return name + ": " + stack::errno_text(s.err);
  const stack::Device* dev = node_.device_by_name(name);
  p.node_ifindex = dev->ifindex;
  (void)node_.link_set_mtu(p.node_ifindex, p.port->mtu());
  (void)node_.link_set_up(p.node_ifindex, true);
  node_.set_carrier(p.node_ifindex, p.port->carrier());
  spdlog::info("{}: owns {} (ifindex {}, {} , mtu {}, carrier {})", options_.name, name,
               p.port->ifindex(), p.port->mac().to_string(), p.port->mtu(),
               p.port->carrier() ? "up" : "down");
  ports_.push_back(std::move(p));
  Port* pp = &ports_.back();
  if (by_node_ifindex_.size() <= static_cast<size_t>(pp->node_ifindex)) {
    by_node_ifindex_.resize(static_cast<size_t>(pp->node_ifindex) + 1, nullptr);
  }
  by_node_ifindex_[static_cast<size_t>(pp->node_ifindex)] = pp;
  loop_.add(pp->port->fd(), [this, pp](uint32_t events) {
    if (events & EPOLLERR) {
      // The interface went down: read the socket error or epoll reports it forever.
      int e = pp->port->clear_error();
      if (e != 0) spdlog::debug("{}: {}: {}", options_.name, pp->port->name(), std::strerror(e));
    }
    on_port_readable(*pp);
  });
  return {};
}

void Daemon::on_port_readable(Port& p) {
  uint64_t now = loop_.now_ns();
  int ix = p.node_ifindex;
  // The frames are copied into a burst (the ring's and the GSO segmenter's bytes are valid only
  // during the callback) and handed to the node's fast path up to Node::kMaxBurst at a time.
  // With offloads kept, GSO super-frames arrive whole with their headers (up to 64 KiB each).
  if (rx_arena_.empty()) {
    rx_arena_.resize(kRxArenaBytes);
    rx_frames_.reserve(stack::Node::kMaxBurst);
    rx_offloads_.reserve(stack::Node::kMaxBurst);
  }
  size_t used = 0;
  auto flush = [&] {
    if (rx_offloaded_) {
      node_.receive_burst(ix, rx_frames_, now, rx_offloads_);
    } else if (!rx_frames_.empty()) {
      node_.receive_burst(ix, rx_frames_, now);
    }
    rx_frames_.clear();
    rx_offloads_.clear();
    rx_offloaded_ = false;
    used = 0;
  };
  p.port->receive(
      [&](std::span<const std::byte> frame, const wire::VirtioNetHdr& offload) {
        bool offloaded = offload.gso_type != wire::VirtioNetHdr::kGsoNone || offload.flags != 0;
        if (frame.size() > rx_arena_.size()) {
          flush();
          node_.receive_burst(ix, std::span(&frame, 1), now, std::span(&offload, 1));
          return;
        }
        if (rx_frames_.size() == stack::Node::kMaxBurst || used + frame.size() > rx_arena_.size()) {
          flush();
        }
        std::memcpy(rx_arena_.data() + used, frame.data(), frame.size());
        rx_frames_.emplace_back(rx_arena_.data() + used, frame.size());
        rx_offloads_.push_back(offload);
        rx_offloaded_ = rx_offloaded_ || offloaded;
        used += frame.size();
      },
      kRxBudget);
  flush();
}

void Daemon::transmit(int ifindex, std::span<const std::byte> frame) {
  if (ifindex < 0 || static_cast<size_t>(ifindex) >= by_node_ifindex_.size()) return;
  Port* p = by_node_ifindex_[static_cast<size_t>(ifindex)];
  if (p != nullptr) p->port->send(frame);
}

void Daemon::transmit_burst_offload(int ifindex, std::span<const std::span<const std::byte>> frames,
                                    std::span<const wire::VirtioNetHdr> offloads) {
  if (ifindex < 0 || static_cast<size_t>(ifindex) >= by_node_ifindex_.size()) return;
  Port* p = by_node_ifindex_[static_cast<size_t>(ifindex)];
  if (p == nullptr) return;
  for (size_t i = 0; i < frames.size(); ++i) {
    p->port->send(frames[i], i < offloads.size() ? offloads[i] : wire::VirtioNetHdr{});
  }
}

void Daemon::after_batch() {
  for (Port& p : ports_) p.port->flush();
  uint64_t now = loop_.now_ns();
  if (now - last_carrier_check_ns_ >= kCarrierCheckNs) {
    last_carrier_check_ns_ = now;
    check_carrier();
  }
  uint64_t next = node_.next_deadline_ns();
  // Wake for the carrier check too, so a link state change is seen within 200 ms.
  loop_.set_deadline(std::min(next, last_carrier_check_ns_ + kCarrierCheckNs));
}

void Daemon::check_carrier() {
  for (Port& p : ports_) {
    bool up = p.port->carrier();
    const stack::Device* d = node_.device(p.node_ifindex);
    if (d && d->carrier != up) {
      spdlog::info("{}: {} carrier {}", options_.name, p.port->name(), up ? "up" : "down");
      node_.set_carrier(p.node_ifindex, up);
    }
  }
}

uint64_t Daemon::advance_until(uint64_t t_ns, const std::function<bool()>& stop) {
  loop_.set_nested(true);
  after_batch();
  while (!stop() && !loop_.stopped()) {
    uint64_t now = loop_.now_ns();
    if (now >= t_ns) break;
    int wait_ms = static_cast<int>(std::min<uint64_t>((t_ns - now + 999'999) / 1'000'000, 1000));
    loop_.run_once(wait_ms);
  }
  loop_.set_nested(false);
  return loop_.now_ns();
}

namespace {

// A client connection of the control or metrics socket, served inline: the data path waits
// while it is served, so each client gets a fixed time in total to send its request and take
// the answer.
class Client {
 public:
  Client(int fd, const EventLoop& loop, int budget_ms)
      : fd_(fd), loop_(loop), deadline_ns_(loop.now_ns() + uint64_t(budget_ms) * 1'000'000) {}
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Reads until `complete(bytes so far)` or the time or 1 MiB runs out; true when complete.
  bool read(std::string* buf, const std::function<bool(const std::string&)>& complete) {
    char chunk[4096];
    while (buf->size() < (1u << 20)) {
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buf->append(chunk, static_cast<size_t>(n));
        if (complete(*buf)) return true;
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait(POLLIN)) return false;
      } else {
        return false;
      }
    }
    return false;
  }
  // Writes all of `out`; false when the client did not take it in time.
  bool write(const std::string& out) {
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        if (!wait(POLLOUT)) return false;
      } else {
        return false;
      }
    }
    return true;
  }

 private:
  bool wait(short events) {
    uint64_t now = loop_.now_ns();
    if (now >= deadline_ns_) return false;
    pollfd p{fd_, events, 0};
    int ms = static_cast<int>((deadline_ns_ - now) / 1'000'000) + 1;
    return ::poll(&p, 1, ms) > 0;
  }
  int fd_;
  const EventLoop& loop_;
  uint64_t deadline_ns_;
};

constexpr int kControlIoMs = 2000;

}  // namespace

void Daemon::accept_control() {
  // One request per connection, a JSON line each way.
  while (true) {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    Client client(c, loop_, kControlIoMs);
    std::string buf;
    if (!client.read(&buf,
                     [](const std::string& b) { return b.find('\n') != std::string::npos; })) {
      spdlog::warn("{}: control client sent no complete request in {} ms", options_.name,
                   kControlIoMs);
      continue;
    }
    ctl::Response r;
    std::string error;
    auto req = ctl::decode_request(buf.substr(0, buf.find('\n')), &error);
    if (!req) {
      r.status = 255;
      r.err = "vnetd: " + error + "\n";
    } else {
      spdlog::debug("{}: {} {}", options_.name, req->op, req->line);
      r = handle(*req);
    }
    if (!client.write(ctl::encode(r))) {
      spdlog::warn("{}: control client did not take its answer in {} ms", options_.name,
                   kControlIoMs);
    }
  }
}

void Daemon::accept_metrics() {
  // HTTP/1.x, one request per connection: GET /metrics answers the exposition text.  The data
  // path waits while a scraper is served, so each gets 200 ms in all and a wakeup serves at
  // most 4 (a scrape is one small request and an answer of a few tens of KiB).
  constexpr int kMetricsIoMs = 200;
  for (int served = 0; served < 4; ++served) {
    int c = ::accept4(metrics_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    Client client(c, loop_, kMetricsIoMs);
    std::string buf;
    bool complete = client.read(&buf, [](const std::string& b) {
      return b.find("\r\n\r\n") != std::string::npos || b.find("\n\n") != std::string::npos;
    });
    if (!complete) continue;
    std::string line = buf.substr(0, buf.find_first_of("\r\n"));
    std::string status = "200 OK", type = "text/plain; version=0.0.4; charset=utf-8", body;
    if (line.rfind("GET ", 0) != 0 && line.rfind("HEAD ", 0) != 0) {
      status = "405 Method Not Allowed";
      type = "text/plain";
      body = "only GET\n";
    } else {
      size_t path_start = line.find(' ') + 1;
      std::string path = line.substr(path_start, line.find(' ', path_start) - path_start);
      if (path == "/metrics" || path.rfind("/metrics?", 0) == 0) {
        for (Port& p : ports_) p.port->update_kernel_stats();
        body = metrics_text();
      } else {
        status = "404 Not Found";
        type = "text/plain";
        body = "metrics are at /metrics\n";
      }
    }
    bool head = line.rfind("HEAD ", 0) == 0;
    std::string out = fmt::format(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        status, type, body.size());
    if (!head) out += body;
    (void)client.write(out);
  }
}

std::string Daemon::metrics_text() const {
  cmd::PrometheusText out;
  cmd::MetricsExtra extra;
  extra.node = options_.name;
  extra.tracing = tracing_;
  extra.trace_records = trace_->size();
  extra.agent = agent_.get();
  cmd::node_metrics(node_, extra, out);
  for (const Port& p : ports_) {
    const dataplane::PortStats& st = p.port->stats();
    const cmd::PrometheusText::Labels l{{"node", options_.name}, {"interface", p.port->name()}};
    auto counter = [&](const char* name, const char* help, uint64_t v) {
      out.add(name, "counter", help, l, static_cast<double>(v));
    };
    counter("vnet_port_rx_frames_total", "Frames received through AF_PACKET (after cutting).",
            st.rx_frames);
    counter("vnet_port_rx_bytes_total", "Bytes received through AF_PACKET.", st.rx_bytes);
    counter("vnet_port_rx_gso_frames_total", "GSO super-frames cut on receive.", st.rx_gso_frames);
    counter("vnet_port_rx_offload_whole_total", "Offloaded frames handed to the node whole.",
            st.rx_offload_whole);
    counter("vnet_port_rx_offload_errors_total", "Offloaded frames that could not be resolved.",
            st.rx_offload_errors);
    counter("vnet_port_rx_truncated_total", "Frames larger than a ring block or buffer.",
            st.rx_truncated);
    counter("vnet_port_rx_kernel_drops_total",
            "Frames the kernel dropped because the socket's queue was full (PACKET_STATISTICS).",
            st.rx_kernel_drops);
    counter("vnet_port_tx_frames_total", "Frames sent through AF_PACKET.", st.tx_frames);
    counter("vnet_port_tx_bytes_total", "Bytes sent through AF_PACKET.", st.tx_bytes);
    counter("vnet_port_tx_errors_total", "Frames the kernel refused or could not queue.",
            st.tx_errors);
    counter("vnet_port_tx_gso_frames_total", "Super-frames sent with a GSO header.",
            st.tx_gso_frames);
    counter("vnet_port_tx_offload_refused_total",
            "Offload headers the kernel refused (the frame was cut in software).",
            st.tx_offload_refused);
  }
  return out.text();
}

std::string Daemon::stats_text() const {
  std::string s = cmd::node_stats_text(node_);
  for (const Port& p : ports_) {
    const dataplane::PortStats& st = p.port->stats();
    s += fmt::format(
        "  af_packet {}: rx {} frames {} bytes ({} gso -> {} segments, {} checksums completed, "
        "{} offloads kept whole, {} offload errors, {} truncated, {} ring drops)   tx {} frames "
        "{} bytes {} errors ({} gso frames {} bytes, {} partial checksums, {} offloads "
        "refused)\n",
        p.port->name(), st.rx_frames, st.rx_bytes, st.rx_gso_frames, st.rx_gso_segments,
        st.rx_csum_completed, st.rx_offload_whole, st.rx_offload_errors, st.rx_truncated,
        st.rx_kernel_drops, st.tx_frames, st.tx_bytes, st.tx_errors, st.tx_gso_frames,
        st.tx_gso_bytes, st.tx_csum_partial, st.tx_offload_refused);
  }
  const stack::Node::OffloadStats& os = node_.offload_stats();
  s += fmt::format("  offloads: {} forwarded whole, {} cut into {} segments\n", os.whole, os.cut,
                   os.segments);
  return s;
}

ctl::Response Daemon::handle(const ctl::Request& req) {
  ctl::Response r;
  if (req.op == "exec") {
    cmd::CmdOutput o = run_and_journal(req.line);
    after_batch();
    r.out = std::move(o.out);
    r.err = std::move(o.err);
    r.status = o.status;
  } else if (req.op == "trace") {
    if (req.arg == "on") {
      node_.set_trace(trace_.get());
      tracing_ = true;
    } else if (req.arg == "off") {
      node_.set_trace(nullptr);
      tracing_ = false;
    } else if (req.arg == "show") {
      r.out = trace_->text();
    } else if (req.arg == "clear") {
      trace_->clear();
    } else {
      r.status = 1;
      r.err = "usage: vnet -n NODE trace on|off|show|clear\n";
    }
  } else if (req.op == "metrics") {
    for (Port& p : ports_) p.port->update_kernel_stats();
    r.out = metrics_text();
  } else if (req.op == "stats") {
    for (Port& p : ports_) p.port->update_kernel_stats();
    r.out = options_.name + ":\n" + stats_text();
  } else if (req.op == "ping") {
    r.out = "pong\n";
  } else if (req.op == "stop") {
    loop_.stop();
  } else {
    r.status = 255;
    r.err = "vnetd: unknown op \"" + req.op + "\"\n";
  }
  return r;
}

int Daemon::run() {
  spdlog::info("{}: serving on {} with {} port(s)", options_.name, options_.socket_path,
               ports_.size());
  while (loop_.run_once(-1)) {
  }
  if (loop_.signal() != 0) {
    spdlog::info("{}: signal {} ({}), stopping", options_.name, loop_.signal(),
                 strsignal(loop_.signal()));
  } else {
    spdlog::info("{}: stop requested", options_.name);
  }
  return 0;
}

}  // namespace vnet::vnetd
