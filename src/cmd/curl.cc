// curl 7.88.1 on a simulated node: one HTTP/1.1 transfer over the node's TCP, in virtual time.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "cmd/driver.h"
#include "cmd/fs.h"
#include "cmd/http.h"

namespace vnet::cmd {

namespace {

using net::Ipv4Addr;
using stack::Node;
using stack::TcpEvent;
using stack::TcpState;

constexpr uint64_t kMs = 1'000'000;
constexpr const char* kUserAgent = "curl/7.88.1";

struct CurlExit {
  int code;
  std::string message;  // after "curl: (N) "
};

struct Options {
  bool silent = false, show_error = false, verbose = false, head = false, include = false;
  bool fail = false, location = false;
  std::optional<std::string> output;  // -o
  std::string write_out;              // -w
  double max_time = 0, connect_timeout = 0;
  std::vector<std::string> headers;
  std::string method;
  std::optional<std::string> data;
  std::string interface;
  int local_port = 0, local_port_range = 1;
  std::string url;
};

// "%{http_code}" and friends, with \n \t \r escapes (curl's tool_writeout.c).
struct Result {
  int http_code = 0;
  uint64_t size_download = 0, size_header = 0, size_request = 0;
  double time_connect = 0, time_total = 0, time_starttransfer = 0, time_namelookup = 0;
  std::string remote_ip, local_ip, content_type, url, errormsg;
  int remote_port = 0, local_port = 0, exitcode = 0, num_connects = 0;
};

std::string write_out(const std::string& fmt_text, const Result& r) {
  std::string out;
  for (size_t i = 0; i < fmt_text.size(); ++i) {
    char c = fmt_text[i];
    if (c == '%' && i + 1 < fmt_text.size() && fmt_text[i + 1] == '%') {
      out += '%';
      ++i;
    } else if (c == '%' && i + 1 < fmt_text.size() && fmt_text[i + 1] == '{') {
      size_t end = fmt_text.find('}', i);
      if (end == std::string::npos) {
        out += fmt_text.substr(i);
        break;
      }
      std::string var = fmt_text.substr(i + 2, end - i - 2);
      if (var == "http_code" || var == "response_code")
        out += fmt::format("{:03}", r.http_code);
      else if (var == "size_download")
        out += std::to_string(r.size_download);
      else if (var == "size_header")
        out += std::to_string(r.size_header);
      else if (var == "size_request")
        out += std::to_string(r.size_request);
      else if (var == "time_total")
        out += fmt::format("{:.6f}", r.time_total);
      else if (var == "time_connect")
        out += fmt::format("{:.6f}", r.time_connect);
      else if (var == "time_namelookup")
        out += fmt::format("{:.6f}", r.time_namelookup);
      else if (var == "time_starttransfer")
        out += fmt::format("{:.6f}", r.time_starttransfer);
      else if (var == "speed_download")
        out += std::to_string(
            r.time_total > 0 ? static_cast<uint64_t>(r.size_download / r.time_total) : 0);
      else if (var == "remote_ip")
        out += r.remote_ip;
      else if (var == "remote_port")
        out += r.remote_port ? std::to_string(r.remote_port) : "";
      else if (var == "local_ip")
        out += r.local_ip;
      else if (var == "local_port")
        out += r.local_port ? std::to_string(r.local_port) : "";
      else if (var == "content_type")
        out += r.content_type;
      else if (var == "url_effective" || var == "url")
        out += r.url;
      else if (var == "num_connects")
        out += std::to_string(r.num_connects);
      else if (var == "exitcode")
        out += std::to_string(r.exitcode);
      else if (var == "errormsg")
        out += r.errormsg;
      else
        out += "";  // unknown variables print nothing (and a warning in real curl)
      i = end;
    } else if (c == '\\' && i + 1 < fmt_text.size()) {
      char e = fmt_text[++i];
      out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
    } else {
      out += c;
    }
  }
  return out;
}

double parse_seconds_arg(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || d < 0 || !std::isfinite(d)) {
    throw CurlExit{2, fmt::format("option {}: expected a proper numerical parameter", opt)};
  }
  return d;
}

Options parse_options(const Args& argv) {
  Options o;
  auto value = [&](size_t& i, const std::string& opt) -> std::string {
    if (i + 1 >= argv.size()) throw CurlExit{2, fmt::format("option {}: requires parameter", opt)};
    return argv[++i];
  };
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
      // Short options, possibly bundled (-sS, -sSo FILE).
      for (size_t k = 1; k < a.size(); ++k) {
        char f = a[k];
        std::string opt = std::string("-") + f;
        auto arg = [&]() -> std::string {
          if (k + 1 < a.size()) {
            std::string v = a.substr(k + 1);
            k = a.size();
            return v;
          }
          k = a.size();
          return value(i, opt);
        };
        switch (f) {
          case 's':
            o.silent = true;
            break;
          case 'S':
            o.show_error = true;
            break;
          case 'v':
            o.verbose = true;
            break;
          case 'I':
            o.head = true;
            break;
          case 'i':
            o.include = true;
            break;
          case 'f':
            o.fail = true;
            break;
          case 'L':
            o.location = true;
            break;
          case 'o':
            o.output = arg();
            break;
          case 'w':
            o.write_out = arg();
            break;
          case 'm':
            o.max_time = parse_seconds_arg("-m", arg());
            break;
          case 'H':
            o.headers.push_back(arg());
            break;
          case 'X':
            o.method = arg();
            break;
          case 'd':
            o.data = arg();
            break;
          default:
            throw CurlExit{2, fmt::format("option {}: is unknown", opt)};
        }
      }
      continue;
    }
    if (a == "--silent") {
      o.silent = true;
    } else if (a == "--show-error") {
      o.show_error = true;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--head") {
      o.head = true;
    } else if (a == "--include") {
      o.include = true;
    } else if (a == "--fail") {
      o.fail = true;
    } else if (a == "--location") {
      o.location = true;
    } else if (a == "--output") {
      o.output = value(i, a);
    } else if (a == "--write-out") {
      o.write_out = value(i, a);
    } else if (a == "--max-time") {
      o.max_time = parse_seconds_arg(a, value(i, a));
    } else if (a == "--connect-timeout") {
      o.connect_timeout = parse_seconds_arg(a, value(i, a));
    } else if (a == "--header") {
      o.headers.push_back(value(i, a));
    } else if (a == "--request") {
      o.method = value(i, a);
    } else if (a == "--data" || a == "--data-raw" || a == "--data-binary") {
      o.data = value(i, a);
    } else if (a == "--interface") {
      o.interface = value(i, a);
    } else if (a == "--local-port") {
      std::string v = value(i, a);
      size_t dash = v.find('-');
      try {
        o.local_port = std::stoi(v.substr(0, dash));
        o.local_port_range =
            dash == std::string::npos ? 1 : std::stoi(v.substr(dash + 1)) - o.local_port + 1;
      } catch (...) {
        throw CurlExit{2, "option --local-port: expected a proper numerical parameter"};
      }
      if (o.local_port < 1 || o.local_port > 65535 || o.local_port_range < 1) {
        throw CurlExit{2, "option --local-port: expected a proper numerical parameter"};
      }
    } else if (a.rfind("--", 0) == 0 && a.size() > 2) {
      throw CurlExit{2, fmt::format("option {}: is unknown", a)};
    } else if (o.url.empty()) {
      o.url = a;
    }
  }
  return o;
}

struct Url {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  std::string host_header;  // "host" or "host:port"
};

Url parse_url(const std::string& text) {
  std::string rest = text;
  size_t scheme = rest.find("://");
  if (scheme != std::string::npos) {
    std::string s = rest.substr(0, scheme);
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (s != "http") {
      throw CurlExit{1, fmt::format("Protocol \"{}\" not supported or disabled in libcurl", s)};
    }
    rest = rest.substr(scheme + 3);
  }
  Url u;
  size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    u.path = rest.substr(slash);
    if (u.path[0] != '/') u.path = "/" + u.path;
    size_t hash = u.path.find('#');
    if (hash != std::string::npos) u.path = u.path.substr(0, hash);
  }
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  if (colon != std::string::npos) {
    std::string p = authority.substr(colon + 1);
    if (!p.empty()) {
      if (!std::all_of(p.begin(), p.end(), ::isdigit) || p.size() > 5 || std::stoi(p) > 65535) {
        throw CurlExit{3, "URL using bad/illegal format or missing URL"};
      }
      u.port = static_cast<uint16_t>(std::stoi(p));
    }
  }
  if (u.host.empty()) throw CurlExit{3, "URL using bad/illegal format or missing URL"};
  u.host_header =
      colon != std::string::npos && u.port != 80 ? fmt::format("{}:{}", u.host, u.port) : u.host;
  return u;
}

// /etc/hosts, then an IPv4 literal.
std::optional<Ipv4Addr> resolve(const Node& node, const std::string& host) {
  if (auto a = Ipv4Addr::parse(host)) return a;
  if (auto hosts = read_file(node, "/etc/hosts")) {
    size_t pos = 0;
    while (pos < hosts->size()) {
      size_t e = hosts->find('\n', pos);
      if (e == std::string::npos) e = hosts->size();
      std::string line = hosts->substr(pos, e - pos);
      pos = e + 1;
      size_t hash = line.find('#');
      if (hash != std::string::npos) line = line.substr(0, hash);
      std::vector<std::string> words;
      size_t i = 0;
      while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) words.push_back(line.substr(i, j - i));
        i = j;
      }
      if (words.size() < 2) continue;
      auto addr = Ipv4Addr::parse(words[0]);
      if (!addr) continue;
      for (size_t k = 1; k < words.size(); ++k) {
        if (words[k] == host) return addr;
      }
    }
  }
  return std::nullopt;
}

// The progress meter curl writes to stderr when its output is not a terminal (lib/progress.c).
std::string size_text(uint64_t bytes) {
  // max5data(): bytes up to 99999, then k, M with one decimal below 100.
  constexpr uint64_t k = 1024;
  if (bytes < 100000) return fmt::format("{:5}", bytes);
  if (bytes < 10000 * k) return fmt::format("{:4}k", bytes / k);
  if (bytes < 100 * k * k)
    return fmt::format("{:2}.{}M", bytes / (k * k), (bytes % (k * k)) * 10 / (k * k));
  if (bytes < 10000 * k * k) return fmt::format("{:4}M", bytes / (k * k));
  return fmt::format("{:4}G", bytes / (k * k * k));
}

std::string time_text(double seconds) {
  // time2str(): HH:MM:SS up to 99 hours.
  if (seconds <= 0) return "--:--:--";
  auto s = static_cast<uint64_t>(seconds);
  return fmt::format("{:2}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
}

std::string progress_line(uint64_t total, uint64_t got, double elapsed) {
  int pct = total > 0 ? static_cast<int>(got * 100 / total) : 0;
  uint64_t speed = elapsed > 0 ? static_cast<uint64_t>(static_cast<double>(got) / elapsed) : 0;
  std::string total_time =
      total > 0 && speed > 0 ? time_text(static_cast<double>(total) / speed) : "--:--:--";
  std::string left = total > 0 && speed > 0 && got < total
                         ? time_text(static_cast<double>(total - got) / speed)
                         : "--:--:--";
  if (total > 0 && got >= total && elapsed >= 1) left = " 0:00:00";
  return fmt::format("\r{:3} {} {:3} {}    0     0  {}      0 {} {} {} {}", pct, size_text(total),
                     pct, size_text(got), size_text(speed), total_time,
                     elapsed >= 1 ? time_text(elapsed) : "--:--:--", left, size_text(speed));
}

const char* kProgressHeader =
    "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
    "                                 Dload  Upload   Total   Spent    Left  Speed\n";

struct Response {
  std::string raw_head;  // status line and headers as received
  int code = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  bool head_done = false;
  bool chunked = false;
  std::optional<uint64_t> content_length;
  bool complete = false;
};

// Decodes as much of the received bytes as possible; true when the response is complete.
bool parse_response(std::string& in, Response& r, bool head_request, bool peer_closed) {
  if (!r.head_done) {
    size_t end = in.find("\r\n\r\n");
    size_t sep = 4;
    if (end == std::string::npos) {
      end = in.find("\n\n");
      sep = 2;
    }
    if (end == std::string::npos) return false;
    r.raw_head = in.substr(0, end + sep);
    in.erase(0, end + sep);
    r.head_done = true;
    size_t sp = r.raw_head.find(' ');
    if (sp != std::string::npos) r.code = std::atoi(r.raw_head.c_str() + sp + 1);
    size_t pos = r.raw_head.find('\n') + 1;
    while (pos < r.raw_head.size()) {
      size_t e = r.raw_head.find('\n', pos);
      if (e == std::string::npos) break;
      std::string h = r.raw_head.substr(pos, e - pos);
      if (!h.empty() && h.back() == '\r') h.pop_back();
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string v = h.substr(colon + 1);
        while (!v.empty() && v[0] == ' ') v.erase(0, 1);
        r.headers[name] = v;
      }
      pos = e + 1;
    }
    if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
      r.content_length = std::strtoull(cl->second.c_str(), nullptr, 10);
    }
    if (auto te = r.headers.find("transfer-encoding"); te != r.headers.end()) {
      r.chunked = te->second.find("chunked") != std::string::npos;
    }
    if (head_request || r.code == 204 || r.code == 304 || (r.code >= 100 && r.code < 200)) {
      r.complete = true;
      return true;
    }
  }
  if (r.chunked) {
    while (true) {
      size_t e = in.find("\r\n");
      if (e == std::string::npos) return false;
      uint64_t n = std::strtoull(in.substr(0, e).c_str(), nullptr, 16);
      if (n == 0) {
        if (in.find("\r\n\r\n", e) == std::string::npos && in.size() < e + 4) return false;
        r.complete = true;
        return true;
      }
      if (in.size() < e + 2 + n + 2) return false;
      r.body += in.substr(e + 2, n);
      in.erase(0, e + 2 + n + 2);
    }
  }
  if (r.content_length) {
    uint64_t need = *r.content_length - r.body.size();
    size_t take = static_cast<size_t>(std::min<uint64_t>(need, in.size()));
    r.body += in.substr(0, take);
    in.erase(0, take);
    r.complete = r.body.size() == *r.content_length;
    return r.complete;
  }
  r.body += in;
  in.clear();
  r.complete = peer_closed;
  return r.complete;
}

}  // namespace

CmdOutput run_curl(Node& node, Driver& driver, const Args& argv) {
  CmdOutput out;
  Options opt;
  try {
    opt = parse_options(argv);
  } catch (const CurlExit& e) {
    out.err = fmt::format(
        "curl: {}\ncurl: try 'curl --help' or 'curl --manual' for more "
        "information\n",
        e.message);
    out.status = e.code;
    return out;
  }
  if (opt.url.empty()) {
    out.err =
        "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more "
        "information\n";
    out.status = 2;
    return out;
  }
  node.run_timers(driver.now_ns());
  const uint64_t start = driver.now_ns();
  Result res;
  res.url = opt.url;
  std::string verbose;
  bool progress = !opt.silent && !opt.verbose;
  bool progress_started = false;
  int sock = 0;
  auto elapsed_ms = [&] { return (driver.now_ns() - start) / kMs; };
  auto fail = [&](int code, const std::string& message) {
    res.exitcode = code;
    res.errormsg = message;
    if (progress && progress_started) verbose += "\n";
    throw CurlExit{code, message};
  };
  try {
    Url url = parse_url(opt.url);
    if (progress) {
      verbose += kProgressHeader;
      verbose += progress_line(0, 0, 0);
      progress_started = true;
    }
    auto addr = resolve(node, url.host);
    if (!addr) fail(6, fmt::format("Could not resolve host: {}", url.host));
    res.remote_ip = addr->to_string();
    res.remote_port = url.port;
    // --interface: a device name or a local address.
    stack::TcpEndpoint local;
    int oif = 0;
    if (!opt.interface.empty()) {
      if (auto a = Ipv4Addr::parse(opt.interface)) {
        if (!node.is_local_address(*a)) {
          fail(45, fmt::format("Couldn't bind to '{}'", opt.interface));
        }
        local.addr = *a;
      } else if (const stack::Device* d = node.device_by_name(opt.interface)) {
        oif = d->ifindex;
      } else {
        fail(45, fmt::format("Couldn't bind to '{}'", opt.interface));
      }
    }
    double connect_limit = opt.connect_timeout > 0 ? opt.connect_timeout : 300;
    uint64_t connect_deadline = start + static_cast<uint64_t>(connect_limit * 1e9);
    uint64_t deadline =
        opt.max_time > 0 ? start + static_cast<uint64_t>(opt.max_time * 1e9) : UINT64_MAX;
    if (opt.verbose) verbose += fmt::format("*   Trying {}:{}...\n", res.remote_ip, url.port);
    bool connected = false, failed = false, readable = false;
    auto handler = [&](int, TcpEvent ev) {
      if (ev == TcpEvent::Connected) connected = true;
      if (ev == TcpEvent::Error || ev == TcpEvent::Closed) failed = true;
      if (ev == TcpEvent::Readable) readable = true;
    };
    int rc = -EADDRINUSE;
    for (int k = 0; k < opt.local_port_range && rc == -EADDRINUSE; ++k) {
      local.port = static_cast<uint16_t>(opt.local_port ? opt.local_port + k : 0);
      rc = node.tcp().connect({*addr, url.port}, local, oif, handler);
    }
    if (rc == -EADDRINUSE && opt.local_port) {
      fail(45, fmt::format("bind failed with errno 98: Address already in use"));
    }
    if (rc < 0) {
      if (opt.verbose) {
        verbose += fmt::format("* connect to {} port {} failed: {}\n", res.remote_ip, url.port,
                               std::strerror(-rc));
      }
      fail(7, fmt::format("Failed to connect to {} port {} after {} ms: Couldn't connect to server",
                          url.host, url.port, elapsed_ms()));
    }
    sock = rc;
    res.local_ip = node.tcp().local(sock).addr.to_string();
    res.local_port = node.tcp().local(sock).port;
    driver.advance_until(std::min(connect_deadline, deadline), [&] { return connected || failed; });
    if (!connected) {
      int err = node.tcp().error(sock);
      if (failed && err != 0) {
        if (opt.verbose) {
          verbose += fmt::format("* connect to {} port {} failed: {}\n", res.remote_ip, url.port,
                                 std::strerror(err));
        }
        fail(
            err == ETIMEDOUT ? 28 : 7,
            fmt::format(
                "Failed to connect to {} port {} after {} ms: {}", url.host, url.port, elapsed_ms(),
                err == ETIMEDOUT ? "Couldn't connect to server" : "Couldn't connect to server"));
      }
      if (driver.now_ns() >= deadline) {
        fail(28, fmt::format("Connection timed out after {} milliseconds", elapsed_ms()));
      }
      fail(28, fmt::format("Failed to connect to {} port {} after {} ms: Timeout was reached",
                           url.host, url.port, elapsed_ms()));
    }
    res.num_connects = 1;
    res.time_connect = static_cast<double>(driver.now_ns() - start) / 1e9;
    if (opt.verbose) {
      verbose +=
          fmt::format("* Connected to {} ({}) port {} (#0)\n", url.host, res.remote_ip, url.port);
    }
    node.tcp().set_nodelay(sock, true);
    // The request (lib/http.c order: request line, Host, User-Agent, Accept, then -H headers).
    std::string method = !opt.method.empty() ? opt.method
                         : opt.head          ? "HEAD"
                         : opt.data          ? "POST"
                                             : "GET";
    std::vector<std::pair<std::string, std::string>> hdrs = {
        {"Host", url.host_header}, {"User-Agent", kUserAgent}, {"Accept", "*/*"}};
    auto set_header = [&](const std::string& name, const std::string& value, bool remove) {
      for (auto it = hdrs.begin(); it != hdrs.end(); ++it) {
        if (strcasecmp(it->first.c_str(), name.c_str()) == 0) {
          if (remove) {
            hdrs.erase(it);
          } else {
            it->second = value;
          }
          return;
        }
      }
      if (!remove) hdrs.emplace_back(name, value);
    };
    if (opt.data) {
      hdrs.emplace_back("Content-Length", std::to_string(opt.data->size()));
      hdrs.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    for (const std::string& h : opt.headers) {
      size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon), value = h.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      set_header(name, value, value.empty());
    }
    std::string request = fmt::format("{} {} HTTP/1.1\r\n", method, url.path);
    for (const auto& [n, v] : hdrs) request += fmt::format("{}: {}\r\n", n, v);
    request += "\r\n";
    if (opt.verbose) {
      size_t pos = 0;
      while (pos < request.size()) {
        size_t e = request.find("\r\n", pos);
        verbose += "> " + request.substr(pos, e - pos) + "\r\n";
        pos = e + 2;
      }
    }
    if (opt.data) request += *opt.data;
    res.size_request = request.size();
    long sent = node.tcp().send(sock, request);
    if (sent < 0) fail(55, "Send failure: Broken pipe");
    // Receive until the response is complete, the peer closes or resets, or -m expires.
    std::string in;
    Response resp;
    bool head_request = method == "HEAD";
    bool got_any = false;
    while (true) {
      in += node.tcp().recv(sock);
      if (!in.empty()) got_any = true;
      bool closed = node.tcp().peer_closed(sock) || node.tcp().state(sock) == TcpState::Close;
      if (parse_response(in, resp, head_request, closed)) break;
      if (node.tcp().error(sock) != 0) {
        int err = node.tcp().error(sock);
        if (!got_any) {
          fail(56, fmt::format("Recv failure: {}", err == ECONNRESET ? "Connection reset by peer"
                                                                     : std::strerror(err)));
        }
        fail(56, fmt::format("Recv failure: {}", std::strerror(err)));
      }
      if (closed) {
        if (!got_any) fail(52, "Empty reply from server");
        if (resp.content_length) {
          fail(18, fmt::format("transfer closed with {} bytes remaining to read",
                               *resp.content_length - resp.body.size()));
        }
        fail(18, "transfer closed with outstanding read data remaining");
      }
      if (driver.now_ns() >= deadline) {
        uint64_t got = resp.body.size();
        if (resp.content_length) {
          fail(28, fmt::format("Operation timed out after {} milliseconds with {} out of {} bytes "
                               "received",
                               elapsed_ms(), got, *resp.content_length));
        }
        fail(28, fmt::format("Operation timed out after {} milliseconds with {} bytes received",
                             elapsed_ms(), got));
      }
      readable = false;
      driver.advance_until(deadline, [&] { return readable || failed; });
      if (!readable && !failed && driver.now_ns() < deadline) {
        // Nothing more can happen (the network went idle): wait out the deadline.
        if (deadline == UINT64_MAX) fail(28, "Operation timed out");
        driver.advance_until(deadline, [] { return false; });
      }
    }
    res.http_code = resp.code;
    res.size_header = resp.raw_head.size();
    res.size_download = resp.body.size();
    res.time_total = static_cast<double>(driver.now_ns() - start) / 1e9;
    res.time_starttransfer = res.time_total;
    if (auto ct = resp.headers.find("content-type"); ct != resp.headers.end()) {
      res.content_type = ct->second;
    }
    if (opt.verbose) {
      size_t pos = 0;
      while (pos < resp.raw_head.size()) {
        size_t e = resp.raw_head.find('\n', pos);
        if (e == std::string::npos) e = resp.raw_head.size();
        verbose += "< " + resp.raw_head.substr(pos, e - pos + 1);
        pos = e + 1;
      }
    }
    bool keep = resp.headers.count("connection") == 0 ||
                strcasecmp(resp.headers["connection"].c_str(), "close") != 0;
    if (resp.raw_head.rfind("HTTP/1.0", 0) == 0 &&
        (resp.headers.count("connection") == 0 ||
         strcasecmp(resp.headers["connection"].c_str(), "keep-alive") != 0)) {
      keep = false;
    }
    if (node.tcp().peer_closed(sock)) keep = false;
    if (opt.fail && resp.code >= 400) {
      node.tcp().close(sock);
      sock = 0;
      fail(22, fmt::format("The requested URL returned error: {}", resp.code));
    }
    std::string body = (opt.include || opt.head ? resp.raw_head : "") + resp.body;
    if (opt.output) {
      if (!write_file(node, *opt.output, body, false)) {
        fail(23, "Failure writing output to destination");
      }
    } else {
      out.out += body;
    }
    if (progress) {
      uint64_t total = resp.content_length.value_or(resp.body.size());
      verbose += progress_line(total, resp.body.size(), res.time_total) + "\n";
    }
    if (opt.verbose) {
      verbose += keep ? fmt::format("* Connection #0 to host {} left intact\n", url.host)
                      : fmt::format("* Closing connection 0\n");
    }
    node.tcp().close(sock);
    sock = 0;
    out.out += write_out(opt.write_out, res);
    out.err = verbose;
    return out;
  } catch (const CurlExit& e) {
    if (sock > 0) node.tcp().close(sock);
    res.exitcode = e.code;
    res.errormsg = e.message;
    if (opt.verbose) verbose += fmt::format("* Closing connection 0\n");
    out.err = verbose;
    if (!opt.silent || opt.show_error) out.err += fmt::format("curl: ({}) {}\n", e.code, e.message);
    out.out += write_out(opt.write_out, res);
    out.status = e.code;
    return out;
  }
}

}  // namespace vnet::cmd
