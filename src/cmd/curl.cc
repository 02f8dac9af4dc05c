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
  std::vector<std::string> outputs;  // -o, the Nth for the Nth URL argument
  bool globoff = false;              // -g
  std::string write_out;             // -w
  double max_time = 0, connect_timeout = 0;
  std::vector<std::string> headers;
  std::string method;
  std::optional<std::string> data;
  std::string interface;
  int local_port = 0, local_port_range = 1;
  std::vector<std::string> urls;
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
  // curl keeps timeouts in milliseconds in a long; vnet bounds them at a year of virtual time.
  return std::min(d, 365.0 * 86400);
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
            o.outputs.push_back(arg());
            break;
          case 'g':
            o.globoff = true;
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
      o.outputs.push_back(value(i, a));
    } else if (a == "--globoff") {
      o.globoff = true;
    } else if (a == "--url") {
      o.urls.push_back(value(i, a));
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
    } else {
      o.urls.push_back(a);
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

std::string time_text(uint64_t seconds) {
  // time2str(): whole seconds, "--:--:--" for none, H:MM:SS up to 99 hours.
  if (seconds == 0) return "--:--:--";
  if (seconds < uint64_t{100} * 3600) {
    return fmt::format("{:2}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
  }
  if (seconds / 86400 < 1000)
    return fmt::format("{:3}d {:02}h", seconds / 86400, seconds / 3600 % 24);
  return fmt::format("{:7}d", seconds / 86400);
}

// lib/progress.c's meter: a header, a record when the transfer starts, one at most every
// second while it runs (when curl wakes from its 1 s poll), and a final one ending the line.
class Meter {
 public:
  Meter(std::string& err, bool on, uint64_t start_ns) : err_(err), on_(on), start_(start_ns) {}
  bool on() const { return on_; }
  void begin() {
    if (!on_) return;
    err_ +=
        "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
        "                                 Dload  Upload   Total   Spent    Left  Speed\n";
    show(start_, 0, 0);
  }
  // When the next periodic record is due (UINT64_MAX when the meter is off).
  uint64_t next_due() const { return on_ ? last_show_ + kSecond : UINT64_MAX; }
  void show(uint64_t now, uint64_t total, uint64_t got) {
    if (!on_) return;
    last_show_ = now;
    samples_.emplace_back(now, got);
    if (samples_.size() > 6) samples_.erase(samples_.begin());
    uint64_t spent_ns = now - start_;
    // trspeed(): bytes per second over microseconds, at least one.
    uint64_t speed = got * 1'000'000 / std::max<uint64_t>(1, spent_ns / 1000);
    // The current speed spans the last five samples in milliseconds; in the first second it
    // is the average.
    const auto& [t0, b0] = samples_.front();
    uint64_t current =
        samples_.size() > 1 ? (got - b0) * 1000 / std::max<uint64_t>(1, (now - t0) / kMs) : speed;
    uint64_t spent_s = spent_ns / kSecond;
    uint64_t estimate = total > 0 && speed > 0 ? total / speed : 0;
    int pct = total > 0 ? static_cast<int>(std::min<uint64_t>(100, got * 100 / total)) : 0;
    err_ += fmt::format("\r{:3} {}  {:3} {}  {:3} {}  {}  {} {} {} {} {}", pct, size_text(total),
                        pct, size_text(got), 0, size_text(0), size_text(speed), size_text(0),
                        time_text(estimate), time_text(spent_s),
                        time_text(estimate > spent_s ? estimate - spent_s : 0), size_text(current));
  }
  void finish(uint64_t now, uint64_t total, uint64_t got) {
    if (!on_) return;
    show(now, total, got);
    err_ += "\n";
  }

 private:
  static constexpr uint64_t kSecond = 1'000'000'000;
  std::string& err_;
  bool on_;
  uint64_t start_;
  uint64_t last_show_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> samples_;
};

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

// URL globbing (curl's tool_urlglob.c): {a,b,c} sets and [1-10], [001-100], [a-z] ranges
// with an optional :step, expanded left to right with the rightmost varying fastest.  Errors
// name the 1-based position curl reports.
struct GlobError {
  std::string message;
  size_t pos;
};

struct Glob {
  std::vector<std::vector<std::string>> parts;  // each part: its alternatives
  std::vector<int> glob_index;                  // for #N: which parts are globs
};

Glob glob_parse(const std::string& url) {
  Glob g;
  size_t i = 0, pos = 1;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) g.parts.push_back({literal});
    literal.clear();
  };
  while (i < url.size()) {
    char c = url[i];
    if (c == '[') {
      // An IPv6 literal or an empty pair of brackets is not a glob.
      size_t close = url.find(']', i);
      if (close != std::string::npos) {
        std::string in = url.substr(i + 1, close - i - 1);
        bool ipv6 = in.find('-') == std::string::npos &&
                    (in.empty() ||
                     (std::count(in.begin(), in.end(), ':') >= 2 &&
                      in.find_first_not_of("0123456789abcdefABCDEF:.%") == std::string::npos));
        if (ipv6) {
          literal += url.substr(i, close - i + 1);
          pos += close - i + 1;
          i = close + 1;
          continue;
        }
      }
      flush();
      ++i;
      ++pos;
      std::vector<std::string> alts;
      auto bad = [&](size_t p) { return GlobError{"bad range", p}; };
      if (i < url.size() && std::isalpha(static_cast<unsigned char>(url[i]))) {
        // [a-z] or [a-z:N]
        if (i + 2 >= url.size() || url[i + 1] != '-' ||
            !std::isalpha(static_cast<unsigned char>(url[i + 2]))) {
          throw bad(pos);
        }
        unsigned char lo = static_cast<unsigned char>(url[i]);
        unsigned char hi = static_cast<unsigned char>(url[i + 2]);
        size_t j = i + 3;
        unsigned long step = 1;
        if (j < url.size() && url[j] == ':') {
          size_t k = j + 1;
          while (k < url.size() && std::isdigit(static_cast<unsigned char>(url[k]))) ++k;
          step = k > j + 1 ? std::strtoul(url.substr(j + 1, k - j - 1).c_str(), nullptr, 10) : 0;
          j = k;
        }
        if (j >= url.size() || url[j] != ']') throw bad(pos);
        pos += j + 1 - i;
        i = j + 1;
        bool lower = std::islower(lo) != 0;
        if (step == 0 || hi < lo || lower != (std::islower(hi) != 0)) {
          throw bad(pos);
        }
        for (int ch = lo; ch <= hi; ch += static_cast<int>(step)) {
          alts.emplace_back(1, static_cast<char>(ch));
        }
      } else {
        // [N-M] or [N-M:S]; leading zeros set the width.
        auto number = [&](size_t& j, uint64_t& v) {
          size_t k = j;
          while (k < url.size() && std::isdigit(static_cast<unsigned char>(url[k]))) ++k;
          if (k == j || k - j > 18) return false;
          v = std::strtoull(url.substr(j, k - j).c_str(), nullptr, 10);
          j = k;
          return true;
        };
        size_t j = i;
        uint64_t lo = 0, hi = 0, step = 1;
        size_t width = 0;
        if (!number(j, lo)) throw bad(pos + (j - i));
        if (url[i] == '0') width = j - i;
        if (j >= url.size() || url[j] != '-') throw bad(pos + (j - i));
        ++j;
        if (!number(j, hi)) throw bad(pos + (j - i));
        if (j < url.size() && url[j] == ':') {
          ++j;
          if (!number(j, step)) throw bad(pos + (j - i));
        }
        if (j >= url.size() || url[j] != ']') throw bad(pos + (j - i));
        pos += j + 1 - i;
        i = j + 1;
        if (step == 0 || hi < lo || (hi - lo) / step > 100000) throw bad(pos);
        for (uint64_t v = lo; v <= hi; v += step) {
          std::string t = std::to_string(v);
          if (t.size() < width) t.insert(0, width - t.size(), '0');
          alts.push_back(t);
        }
      }
      g.glob_index.push_back(static_cast<int>(g.parts.size()));
      g.parts.push_back(std::move(alts));
      continue;
    }
    if (c == '{') {
      flush();
      size_t open = pos;
      ++i;
      ++pos;
      std::vector<std::string> alts;
      std::string cur;
      bool done = false;
      while (!done) {
        if (i >= url.size()) throw GlobError{"unmatched brace", open};
        char d = url[i];
        if (d == '{' || d == '[') throw GlobError{"nested brace", pos};
        if (d == ']') throw GlobError{"unexpected close bracket", pos};
        if (d == '}' && alts.empty() && cur.empty()) {
          throw GlobError{"empty string within braces", pos};
        }
        if (d == '}' || d == ',') {
          alts.push_back(cur);
          cur.clear();
          done = d == '}';
        } else if (d == '\\' && i + 1 < url.size()) {
          cur += url[++i];
          ++pos;
        } else {
          cur += d;
        }
        ++i;
        ++pos;
      }
      g.glob_index.push_back(static_cast<int>(g.parts.size()));
      g.parts.push_back(std::move(alts));
      continue;
    }
    if (c == '}' || c == ']') throw GlobError{"unmatched close brace/bracket", pos};
    if (c == '\\' && i + 1 < url.size() &&
        (url[i + 1] == '{' || url[i + 1] == '[' || url[i + 1] == '}' || url[i + 1] == ']')) {
      ++i;
      ++pos;
    }
    literal += url[i];
    ++i;
    ++pos;
  }
  flush();
  return g;
}

struct Expansion {
  std::string url;
  std::vector<std::string> globs;  // the text each glob took, for #N in -o
};

std::vector<Expansion> glob_expand(const Glob& g) {
  std::vector<Expansion> out = {{}};
  for (size_t p = 0; p < g.parts.size(); ++p) {
    bool is_glob = std::find(g.glob_index.begin(), g.glob_index.end(), static_cast<int>(p)) !=
                   g.glob_index.end();
    std::vector<Expansion> next;
    for (const Expansion& e : out) {
      for (const std::string& alt : g.parts[p]) {
        Expansion n = e;
        n.url += alt;
        if (is_glob) n.globs.push_back(alt);
        next.push_back(std::move(n));
      }
    }
    out = std::move(next);
    if (out.size() > 100000) throw GlobError{"range overflow", 0};
  }
  return out;
}

// "#1" in an -o name is the text the first glob took for this URL.
std::string output_name(const std::string& name, const std::vector<std::string>& globs) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '#' && i + 1 < name.size() &&
        std::isdigit(static_cast<unsigned char>(name[i + 1]))) {
      size_t j = i + 1;
      while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
      size_t n = std::strtoul(name.substr(i + 1, j - i - 1).c_str(), nullptr, 10);
      if (n >= 1 && n <= globs.size()) {
        out += globs[n - 1];
        i = j - 1;
        continue;
      }
    }
    out += name[i];
  }
  return out;
}

// One connection, kept for the next URL when the server keeps it alive (HTTP/1.1 keep-alive
// to the same host and port), as curl's connection cache does within one command.
struct Connection {
  int sock = 0;
  int id = -1;
  std::string host;
  uint16_t port = 0;
};

class Session {
 public:
  Session(Node& node, Driver& driver, const Options& opt, CmdOutput& out)
      : node_(node), driver_(driver), opt_(opt), out_(out) {}
  ~Session() {
    if (conn_.sock > 0) node_.tcp().close(conn_.sock);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One transfer: its exit code (0 on success).
  int transfer(const std::string& url_text, const std::optional<std::string>& output);

 private:
  uint64_t now() const { return driver_.now_ns(); }

  Node& node_;
  Driver& driver_;
  const Options& opt_;
  CmdOutput& out_;
  Connection conn_;
  int next_id_ = 0;
  std::vector<std::string> dns_cache_;
};

// curl without -m waits as long as the server keeps the connection open; vnet stops waiting
// after an hour of virtual time, as if -m 3600 had been given.
constexpr double kImplicitMaxTime = 3600;

int Session::transfer(const std::string& url_text, const std::optional<std::string>& output) {
  node_.run_timers(now());
  const uint64_t start = now();
  Result res;
  res.url = url_text;
  std::string& err = out_.err;
  Meter meter(err, !opt_.silent, start);
  bool meter_started = false;
  int conn_id = -1;
  uint64_t total = 0, got = 0;
  auto elapsed_ms = [&] { return (now() - start) / kMs; };
  auto fail = [](int code, const std::string& message) { throw CurlExit{code, message}; };
  // Waits for pred() or until; the meter shows a record each second meanwhile.  A wake-up
  // within a millisecond of the deadline is the deadline's (curl checks its timeout first).
  auto wait = [&](uint64_t until, const std::function<bool()>& pred) {
    while (!pred() && now() < until) {
      uint64_t due = meter_started ? meter.next_due() : UINT64_MAX;
      uint64_t stop = due != UINT64_MAX && due + kMs < until ? due : until;
      driver_.advance_until(stop, pred);
      if (pred()) return;
      if (now() < stop) return;  // nothing left to happen, ever
      if (stop == due) meter.show(now(), total, got);
    }
  };
  // curl's timeouts expire when its poll() returns, a millisecond after the limit here.
  auto limit = [&](double seconds) {
    return start + static_cast<uint64_t>(seconds * 1e9) + (seconds > 0 ? kMs : 0);
  };
  int sock = 0;
  try {
    Url url = parse_url(url_text);
    bool reuse = false;
    if (conn_.sock > 0) {
      bool same = conn_.host == url.host && conn_.port == url.port;
      bool alive = node_.tcp().state(conn_.sock) == TcpState::Established &&
                   !node_.tcp().peer_closed(conn_.sock) && node_.tcp().error(conn_.sock) == 0;
      if (same && opt_.verbose) {
        err += "* Found bundle for host: 0x55d0c4a1e2b0 [serially]\n";
        if (alive) err += "* Can not multiplex, even if we wanted to\n";
      }
      if (same && !alive && opt_.verbose) {
        err += fmt::format("* Connection {} seems to be dead\n* Closing connection {}\n", conn_.id,
                           conn_.id);
      }
      if (same && alive) {
        reuse = true;
        sock = conn_.sock;
        conn_id = conn_.id;
        if (opt_.verbose) {
          err +=
              fmt::format("* Re-using existing connection #{} with host {}\n", conn_id, url.host);
        }
      } else {
        node_.tcp().close(conn_.sock);
      }
      conn_ = {};
    }
    auto addr = resolve(node_, url.host);
    if (!reuse) {
      conn_id = next_id_++;
      if (addr && opt_.verbose &&
          std::find(dns_cache_.begin(), dns_cache_.end(), url.host) != dns_cache_.end()) {
        err += fmt::format("* Hostname {} was found in DNS cache\n", url.host);
      }
    }
    meter.begin();
    meter_started = meter.on();
    if (!addr) fail(6, fmt::format("Could not resolve host: {}", url.host));
    if (std::find(dns_cache_.begin(), dns_cache_.end(), url.host) == dns_cache_.end()) {
      dns_cache_.push_back(url.host);
    }
    res.remote_ip = addr->to_string();
    res.remote_port = url.port;
    uint64_t deadline = limit(opt_.max_time > 0 ? opt_.max_time : kImplicitMaxTime);
    bool connected = reuse, failed = false, readable = false;
    auto handler = [&](int, TcpEvent ev) {
      if (ev == TcpEvent::Connected) connected = true;
      if (ev == TcpEvent::Error || ev == TcpEvent::Closed) failed = true;
      if (ev == TcpEvent::Readable) readable = true;
    };
    if (reuse) {
      node_.tcp().set_handler(sock, handler);
    } else {
      // --interface: a device name or a local address.
      stack::TcpEndpoint local;
      int oif = 0;
      if (!opt_.interface.empty()) {
        if (auto a = Ipv4Addr::parse(opt_.interface)) {
          if (!node_.is_local_address(*a)) {
            fail(45, fmt::format("Couldn't bind to '{}'", opt_.interface));
          }
          local.addr = *a;
        } else if (const stack::Device* d = node_.device_by_name(opt_.interface)) {
          oif = d->ifindex;
        } else {
          fail(45, fmt::format("Couldn't bind to '{}'", opt_.interface));
        }
      }
      // curl's default connect timeout is 300 s.
      uint64_t connect_deadline =
          std::min(deadline, limit(opt_.connect_timeout > 0 ? opt_.connect_timeout : 300));
      if (opt_.verbose) err += fmt::format("*   Trying {}:{}...\n", res.remote_ip, url.port);
      int rc = -EADDRINUSE;
      for (int k = 0; k < opt_.local_port_range && rc == -EADDRINUSE; ++k) {
        local.port = static_cast<uint16_t>(opt_.local_port ? opt_.local_port + k : 0);
        rc = node_.tcp().connect({*addr, url.port}, local, oif, handler);
      }
      if (rc == -EADDRINUSE && opt_.local_port) {
        fail(45, "bind failed with errno 98: Address already in use");
      }
      if (rc < 0) {
        if (opt_.verbose) {
          err += fmt::format("* connect to {} port {} failed: {}\n", res.remote_ip, url.port,
                             std::strerror(-rc));
        }
        fail(7, fmt::format("Failed to connect to {} port {} after {} ms: Couldn't connect to "
                            "server",
                            url.host, url.port, elapsed_ms()));
      }
      sock = rc;
      wait(connect_deadline, [&] { return connected || failed; });
      if (!connected) {
        int e = node_.tcp().error(sock);
        if (failed && e != 0) {
          if (opt_.verbose) {
            err += fmt::format("* connect to {} port {} failed: {}\n", res.remote_ip, url.port,
                               std::strerror(e));
          }
          // A connect() that times out (tcp_syn_retries) is curl's (28) with this message.
          fail(e == ETIMEDOUT ? 28 : 7,
               fmt::format("Failed to connect to {} port {} after {} ms: Couldn't connect to "
                           "server",
                           url.host, url.port, elapsed_ms()));
        }
        if (now() >= deadline) {
          fail(28, fmt::format("Connection timed out after {} milliseconds", elapsed_ms()));
        }
        fail(28, fmt::format("Failed to connect to {} port {} after {} ms: Timeout was reached",
                             url.host, url.port, elapsed_ms()));
      }
      res.num_connects = 1;
      res.time_connect = static_cast<double>(now() - start) / 1e9;
      if (opt_.verbose) {
        err += fmt::format("* Connected to {} ({}) port {} (#{})\n", url.host, res.remote_ip,
                           url.port, conn_id);
      }
      node_.tcp().set_nodelay(sock, true);
    }
    res.local_ip = node_.tcp().local(sock).addr.to_string();
    res.local_port = node_.tcp().local(sock).port;
    // The request (lib/http.c order: request line, Host, User-Agent, Accept, then -H headers).
    std::string method = !opt_.method.empty() ? opt_.method
                         : opt_.head          ? "HEAD"
                         : opt_.data          ? "POST"
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
    if (opt_.data) {
      hdrs.emplace_back("Content-Length", std::to_string(opt_.data->size()));
      hdrs.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    for (const std::string& h : opt_.headers) {
      size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string name = h.substr(0, colon), value = h.substr(colon + 1);
      while (!value.empty() && value[0] == ' ') value.erase(0, 1);
      set_header(name, value, value.empty());
    }
    std::string request = fmt::format("{} {} HTTP/1.1\r\n", method, url.path);
    for (const auto& [n, v] : hdrs) request += fmt::format("{}: {}\r\n", n, v);
    request += "\r\n";
    if (opt_.verbose) {
      size_t pos = 0;
      while (pos < request.size()) {
        size_t e = request.find("\r\n", pos);
        err += "> " + request.substr(pos, e - pos) + "\r\n";
        pos = e + 2;
      }
    }
    if (opt_.data) request += *opt_.data;
    res.size_request = request.size();
    if (node_.tcp().send(sock, request) < 0) fail(55, "Send failure: Broken pipe");
    // Receive until the response is complete, the peer closes or resets, or -m expires.
    std::string in;
    Response resp;
    bool head_request = method == "HEAD";
    bool got_any = false, head_shown = false;
    while (true) {
      std::string chunk = node_.tcp().recv(sock);
      if (!chunk.empty()) got_any = true;
      in += chunk;
      bool closed = node_.tcp().peer_closed(sock) || node_.tcp().state(sock) == TcpState::Close;
      size_t body_before = resp.body.size();
      bool done = parse_response(in, resp, head_request, closed);
      if (resp.head_done && !head_shown) {
        head_shown = true;
        total = resp.content_length.value_or(0);
        if (opt_.verbose) {
          if (resp.raw_head.rfind("HTTP/1.0", 0) == 0) {
            err += "* HTTP 1.0, assume close after body\n";
          }
          size_t pos = 0;
          while (pos < resp.raw_head.size()) {
            size_t e = resp.raw_head.find('\n', pos);
            if (e == std::string::npos) e = resp.raw_head.size();
            err += "< " + resp.raw_head.substr(pos, e - pos + 1);
            pos = e + 1;
          }
        }
      }
      if (opt_.verbose && resp.body.size() > body_before) {
        err += fmt::format("{{ [{} bytes data]\n", resp.body.size() - body_before);
      }
      got = resp.body.size();
      if (done) break;
      if (int e = node_.tcp().error(sock); e != 0) {
        fail(56, fmt::format("Recv failure: {}",
                             e == ECONNRESET ? "Connection reset by peer" : std::strerror(e)));
      }
      if (closed) {
        if (!got_any) fail(52, "Empty reply from server");
        if (resp.content_length) {
          fail(18, fmt::format("transfer closed with {} bytes remaining to read",
                               *resp.content_length - resp.body.size()));
        }
        fail(18, "transfer closed with outstanding read data remaining");
      }
      if (now() >= deadline) {
        if (resp.content_length) {
          fail(28, fmt::format("Operation timed out after {} milliseconds with {} out of {} bytes "
                               "received",
                               elapsed_ms(), got, *resp.content_length));
        }
        fail(28, fmt::format("Operation timed out after {} milliseconds with {} bytes received",
                             elapsed_ms(), got));
      }
      readable = false;
      wait(deadline, [&] { return readable || failed; });
      if (!readable && !failed && now() < deadline) {
        // The network went idle with the connection open: wait out the deadline.
        driver_.advance_until(deadline, [] { return false; });
      }
    }
    res.http_code = resp.code;
    res.size_header = resp.raw_head.size();
    res.size_download = resp.body.size();
    res.time_total = static_cast<double>(now() - start) / 1e9;
    res.time_starttransfer = res.time_total;
    if (auto ct = resp.headers.find("content-type"); ct != resp.headers.end()) {
      res.content_type = ct->second;
    }
    auto header_is = [&](const char* name, const char* value) {
      auto it = resp.headers.find(name);
      return it != resp.headers.end() && strcasecmp(it->second.c_str(), value) == 0;
    };
    bool keep = !header_is("connection", "close");
    if (resp.raw_head.rfind("HTTP/1.0", 0) == 0 && !header_is("connection", "keep-alive")) {
      keep = false;
    }
    if (node_.tcp().peer_closed(sock) || !resp.content_length) keep = resp.chunked && keep;
    if (opt_.fail && resp.code >= 400) {
      fail(22, fmt::format("The requested URL returned error: {}", resp.code));
    }
    std::string body = (opt_.include || opt_.head ? resp.raw_head : "") + resp.body;
    if (output) {
      if (!write_file(node_, *output, body, false)) {
        fail(23, "Failure writing output to destination");
      }
    } else {
      out_.out += body;
    }
    meter.finish(now(), total, got);
    if (keep) {
      if (opt_.verbose) {
        err += fmt::format("* Connection #{} to host {} left intact\n", conn_id, url.host);
      }
      node_.tcp().set_handler(sock, {});
      conn_ = {sock, conn_id, url.host, url.port};
    } else {
      if (opt_.verbose) err += fmt::format("* Closing connection {}\n", conn_id);
      node_.tcp().close(sock);
    }
    out_.out += write_out(opt_.write_out, res);
    return 0;
  } catch (const CurlExit& e) {
    if (sock > 0) node_.tcp().close(sock);
    res.exitcode = e.code;
    res.errormsg = e.message;
    if (opt_.verbose) err += fmt::format("* {}\n", e.message);
    if (meter_started) meter.finish(now(), total, got);
    if (opt_.verbose && conn_id >= 0) err += fmt::format("* Closing connection {}\n", conn_id);
    if (!opt_.silent || opt_.show_error) err += fmt::format("curl: ({}) {}\n", e.code, e.message);
    out_.out += write_out(opt_.write_out, res);
    return e.code;
  }
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
  if (opt.urls.empty()) {
    out.err = "curl: try 'curl --help' or 'curl --manual' for more information\n";
    out.status = 2;
    return out;
  }
  // Each URL in turn, globs expanded; the exit code is the last transfer's.
  Session session(node, driver, opt, out);
  for (size_t u = 0; u < opt.urls.size(); ++u) {
    const std::string& text = opt.urls[u];
    std::vector<Expansion> list;
    if (opt.globoff) {
      list.push_back({text, {}});
    } else {
      try {
        list = glob_expand(glob_parse(text));
      } catch (const GlobError& e) {
        if (!opt.silent || opt.show_error) {
          out.err += e.pos == 0 ? fmt::format("curl: (3) {}\n", e.message)
                                : fmt::format("curl: (3) {} in URL position {}:\n{}\n{}^\n",
                                              e.message, e.pos, text, std::string(e.pos - 1, ' '));
        }
        out.status = 3;
        return out;
      }
    }
    for (const Expansion& e : list) {
      std::optional<std::string> output;
      if (u < opt.outputs.size()) output = output_name(opt.outputs[u], e.globs);
      out.status = session.transfer(e.url, output);
    }
  }
  return out;
}

}  // namespace vnet::cmd
