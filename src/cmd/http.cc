#include "cmd/http.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "cmd/driver.h"
#include "cmd/fs.h"

namespace vnet::cmd {

namespace {

using stack::Node;
using stack::TcpEvent;

constexpr uint64_t kMs = 1'000'000;
constexpr int64_t kEpoch = 1767225600;  // 2026-01-01T00:00:00Z
constexpr const char* kApacheServer = "Apache/2.4.71 (Debian)";
constexpr const char* kPythonServer = "SimpleHTTP/0.6 Python/3.11.2";
constexpr uint64_t kApacheKeepAliveNs = 5'000 * kMs;  // KeepAliveTimeout 5
constexpr int kApacheMaxKeepAlive = 100;              // MaxKeepAliveRequests

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil).
void civil_from_days(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = static_cast<unsigned>(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

struct Tm {
  int year;
  unsigned month, day, hour, min, sec, wday;
};

Tm gmtime_of(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  int64_t rem = t - days * 86400;
  Tm tm{};
  civil_from_days(days, &tm.year, &tm.month, &tm.day);
  tm.hour = static_cast<unsigned>(rem / 3600);
  tm.min = static_cast<unsigned>(rem % 3600 / 60);
  tm.sec = static_cast<unsigned>(rem % 60);
  tm.wday = static_cast<unsigned>((days % 7 + 11) % 7);  // 1970-01-01 was a Thursday
  return tm;
}

const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else if (c == '\'')
      out += "&#x27;";
    else
      out += c;
  }
  return out;
}

// mime.types as Apache and Python map the common extensions.
std::string content_type(const std::string& path, HttpFlavor flavor) {
  size_t dot = path.rfind('.');
  size_t slash = path.rfind('/');
  std::string ext = dot == std::string::npos || (slash != std::string::npos && dot < slash)
                        ? ""
                        : lower(path.substr(dot + 1));
  if (ext == "html" || ext == "htm") return "text/html";
  if (ext == "txt") return "text/plain";
  if (ext == "css") return "text/css";
  if (ext == "js")
    return flavor == HttpFlavor::Python ? "text/javascript" : "application/javascript";
  if (ext == "json") return "application/json";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "gz") return "application/gzip";
  if (ext == "tar") return "application/x-tar";
  if (ext == "iso" || ext == "bin" || ext == "img") {
    return flavor == HttpFlavor::Python ? "application/octet-stream"
                                        : "application/x-iso9660-image";
  }
  return flavor == HttpFlavor::Python ? "application/octet-stream" : "";
}

// ---------------------------------------------------------------- server

struct Request {
  std::string method, target, version;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Parses one request from the front of buf; returns the bytes it used, 0 if incomplete, or
// SIZE_MAX for a malformed one.
size_t parse_request(const std::string& buf, Request* r) {
  size_t end = buf.find("\r\n\r\n");
  size_t sep = 4;
  if (end == std::string::npos) {
    end = buf.find("\n\n");
    sep = 2;
  }
  if (end == std::string::npos) return buf.size() > 65536 ? SIZE_MAX : 0;
  std::string head = buf.substr(0, end);
  size_t line_end = head.find('\n');
  std::string line = head.substr(0, line_end);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  size_t a = line.find(' ');
  size_t b = a == std::string::npos ? std::string::npos : line.find(' ', a + 1);
  if (a == std::string::npos) return SIZE_MAX;
  r->method = line.substr(0, a);
  r->target = line.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1);
  r->version = b == std::string::npos ? "HTTP/0.9" : line.substr(b + 1);
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 1;
  while (pos < head.size()) {
    size_t e = head.find('\n', pos);
    if (e == std::string::npos) e = head.size();
    std::string h = head.substr(pos, e - pos);
    if (!h.empty() && h.back() == '\r') h.pop_back();
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string v = h.substr(colon + 1);
      while (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.erase(0, 1);
      r->headers[lower(h.substr(0, colon))] = v;
    }
    pos = e + 1;
  }
  size_t used = end + sep;
  if (auto cl = r->headers.find("content-length"); cl != r->headers.end()) {
    size_t n = 0;
    try {
      n = std::stoul(cl->second);
    } catch (...) {
      return SIZE_MAX;
    }
    if (buf.size() < used + n) return 0;
    r->body = buf.substr(used, n);
    used += n;
  }
  return used;
}

struct HttpServer : std::enable_shared_from_this<HttpServer> {
  Node* node = nullptr;
  HttpServerConfig config;
  int listener = 0;
  struct Conn {
    std::string in;
    int served = 0;
    int keepalive_timer = 0;
    bool closing = false;
  };
  std::map<int, Conn> conns;

  std::string host_port() const { return fmt::format("{}", config.port); }

  std::string apache_page(int code, const std::string& title, const std::string& text,
                          const std::string& host) const {
    return fmt::format(
        "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
        "\"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n<title>{} {}</title>\n"
        "</head><body>\n<h1>{}</h1>\n<p>{}</p>\n<hr>\n<address>{} Server at {} Port {}</address>\n"
        "</body></html>\n",
        code, title, title, text, kApacheServer, host, config.port);
  }

  void on_event(int sock, TcpEvent ev) {
    if (ev == TcpEvent::Accept) {
      while (true) {
        auto self = shared_from_this();
        int c = node->tcp().accept(sock, [self](int s, TcpEvent e) { self->on_event(s, e); });
        if (c < 0) break;
        // Apache sets TCP_NODELAY; Python's http.server does not (Nagle holds its body until
        // the headers, sent by a separate write, are acknowledged).
        node->tcp().set_nodelay(c, config.flavor == HttpFlavor::Apache);
        conns[c];
        if (config.flavor == HttpFlavor::Apache) arm_keepalive(c);
      }
      return;
    }
    auto it = conns.find(sock);
    if (it == conns.end()) return;
    if (ev == TcpEvent::Error || ev == TcpEvent::Closed) {
      finish(sock);
      return;
    }
    if (ev == TcpEvent::Writable) {
      writable(sock);
      return;
    }
    if (ev != TcpEvent::Readable) return;
    it->second.in += node->tcp().recv(sock);
    serve(sock);
    auto again = conns.find(sock);
    if (again != conns.end() && node->tcp().peer_closed(sock) && !again->second.closing) {
      // The client closed its side: close ours (Apache's lingering close).
      close_conn(sock);
    }
  }

  void arm_keepalive(int sock) {
    auto it = conns.find(sock);
    if (it == conns.end()) return;
    if (it->second.keepalive_timer) node->cancel_timer(it->second.keepalive_timer);
    auto self = shared_from_this();
    it->second.keepalive_timer =
        node->add_timer(node->now_ns() + kApacheKeepAliveNs, [self, sock](uint64_t) {
          auto c = self->conns.find(sock);
          if (c == self->conns.end()) return;
          c->second.keepalive_timer = 0;
          self->close_conn(sock);
        });
  }

  void close_conn(int sock) {
    auto it = conns.find(sock);
    if (it == conns.end()) return;
    if (it->second.keepalive_timer) node->cancel_timer(it->second.keepalive_timer);
    conns.erase(it);
    node->tcp().close(sock);
  }

  void finish(int sock) {
    auto it = conns.find(sock);
    if (it == conns.end()) return;
    if (it->second.keepalive_timer) node->cancel_timer(it->second.keepalive_timer);
    conns.erase(it);
    node->tcp().close(sock);
  }

  void serve(int sock) {
    while (true) {
      auto it = conns.find(sock);
      if (it == conns.end() || it->second.closing) return;
      Request r;
      size_t used = parse_request(it->second.in, &r);
      if (used == 0) return;
      if (used == SIZE_MAX) {
        respond_error(sock, 400, r, true);
        return;
      }
      it->second.in.erase(0, used);
      ++it->second.served;
      bool keep = handle(sock, r);
      if (!keep) {
        auto c = conns.find(sock);
        if (c != conns.end()) {
          c->second.closing = true;
          if (c->second.keepalive_timer) node->cancel_timer(c->second.keepalive_timer);
          c->second.keepalive_timer = 0;
        }
        // Close once everything queued is in the socket's buffer.
        if (!pending.contains(sock)) {
          node->tcp().close(sock);
          conns.erase(sock);
        }
        return;
      }
      if (config.flavor == HttpFlavor::Apache) arm_keepalive(sock);
    }
  }

  std::string host_of(const Request& r, int sock) const {
    auto h = r.headers.find("host");
    std::string host = h != r.headers.end() ? h->second : "";
    size_t colon = host.rfind(':');
    if (colon != std::string::npos) host = host.substr(0, colon);
    if (host.empty()) host = node->tcp().local(sock).addr.to_string();
    return host;
  }

  // ap_set_keepalive(): the requests this connection may still carry, counting this one
  // (served counts it too), so the first response says max=100.
  static int keepalive_left(int served) { return kApacheMaxKeepAlive - (served - 1); }
  // The Keep-Alive and Connection headers of an Apache response: Keep-Alive only for a client
  // that asked with "Connection: keep-alive", "Connection: close" when the connection ends.
  static std::string keepalive_headers(const Request& r, bool keep, int served) {
    if (!keep) return "Connection: close\r\n";
    auto c = r.headers.find("connection");
    if (c == r.headers.end() || lower(c->second).find("keep-alive") == std::string::npos) {
      return "";
    }
    return fmt::format("Keep-Alive: timeout=5, max={}\r\nConnection: Keep-Alive\r\n",
                       keepalive_left(served));
  }

  bool wants_keepalive(const Request& r, int served) const {
    if (config.flavor == HttpFlavor::Python) return false;
    auto c = r.headers.find("connection");
    std::string conn = c != r.headers.end() ? lower(c->second) : "";
    if (conn.find("close") != std::string::npos) return false;
    if (keepalive_left(served) <= 0) return false;
    if (r.version == "HTTP/1.1") return true;
    return conn.find("keep-alive") != std::string::npos;
  }

  void send_all(int sock, const std::string& data) {
    // The send buffer takes what it can; the rest goes as space frees (Writable).
    long n = node->tcp().send(sock, data);
    if (n >= 0 && static_cast<size_t>(n) < data.size()) {
      pending[sock] += data.substr(static_cast<size_t>(n));
    }
  }
  std::map<int, std::string> pending;

  void respond_error(int sock, int code, const Request& r, bool close) {
    std::string title = code == 400   ? "Bad Request"
                        : code == 403 ? "Forbidden"
                        : code == 404 ? "Not Found"
                        : code == 405 ? "Method Not Allowed"
                                      : "Error";
    std::string body, head;
    int64_t now = virtual_unix_time(node->now_ns());
    if (config.flavor == HttpFlavor::Apache) {
      std::string text = code == 404   ? "The requested URL was not found on this server."
                         : code == 403 ? "You don't have permission to access this resource."
                         : code == 405 ? fmt::format(
                                             "The requested method {} is not allowed for "
                                             "this URL.",
                                             r.method)
                                       : "Your browser sent a request that this server could not "
                                         "understand.<br />\n";
      body = apache_page(code, title, text, host_of(r, sock));
      head = fmt::format("HTTP/1.1 {} {}\r\nDate: {}\r\nServer: {}\r\n", code, title,
                         http_date(now), kApacheServer);
      if (code == 405) head += "Allow: HEAD,GET,POST,OPTIONS\r\n";
      // A HEAD request's error response has no body and no Content-Length.
      if (r.method != "HEAD") head += fmt::format("Content-Length: {}\r\n", body.size());
      head += keepalive_headers(r, !close, conns[sock].served);
      head += "Content-Type: text/html; charset=iso-8859-1\r\n\r\n";
    } else {
      std::string explain = code == 404   ? "Nothing matches the given URI"
                            : code == 400 ? "Bad request syntax or unsupported method"
                            : code == 501 ? "Server does not support this operation"
                                          : "";
      std::string message = code == 404   ? "File not found"
                            : code == 501 ? fmt::format("Unsupported method ('{}')", r.method)
                                          : title;
      body = fmt::format(
          "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n"
          "        <title>Error response</title>\n    </head>\n    <body>\n"
          "        <h1>Error response</h1>\n        <p>Error code: {}</p>\n"
          "        <p>Message: {}.</p>\n        <p>Error code explanation: {} - {}.</p>\n"
          "    </body>\n</html>\n",
          code, message, code, explain);
      head = fmt::format(
          "HTTP/1.0 {} {}\r\nServer: {}\r\nDate: {}\r\nConnection: close\r\n"
          "Content-Type: text/html;charset=utf-8\r\nContent-Length: {}\r\n\r\n",
          code, message, kPythonServer, http_date(now), body.size());
      log_request(sock, r, code);
    }
    send_all(sock, head + (r.method == "HEAD" ? "" : body));
  }

  void log_request(int sock, const Request& r, int code) {
    if (!config.log) return;
    // BaseHTTPRequestHandler.log_message(): 'ADDR - - [06/Dec/2026 13:00:00] "GET / HTTP/1.1" 200
    // -'
    Tm tm = gmtime_of(virtual_unix_time(node->now_ns()));
    config.log(fmt::format("{} - - [{:02}/{}/{} {:02}:{:02}:{:02}] \"{} {} {}\" {} -\n",
                           node->tcp().remote(sock).addr.to_string(), tm.day, kMonths[tm.month - 1],
                           tm.year, tm.hour, tm.min, tm.sec, r.method, r.target, r.version, code));
  }

  // Returns whether the connection stays open.
  bool handle(int sock, const Request& r) {
    std::string path = r.target;
    size_t q = path.find_first_of("?#");
    if (q != std::string::npos) path = path.substr(0, q);
    if (path.rfind("http://", 0) == 0) {
      size_t slash = path.find('/', 7);
      path = slash == std::string::npos ? "/" : path.substr(slash);
    }
    path = percent_decode(path);
    if (path.empty() || path[0] != '/') {
      respond_error(sock, 400, r, true);
      return false;
    }
    bool keep = wants_keepalive(r, conns[sock].served);
    bool get = r.method == "GET" || r.method == "HEAD" ||
               (config.flavor == HttpFlavor::Apache && r.method == "POST");
    if (!get) {
      if (config.flavor == HttpFlavor::Python) {
        respond_error(sock, 501, r, true);
        return false;
      }
      respond_error(sock, 405, r, !keep);
      return keep;
    }
    std::string fs_path = abs_path(*node, config.root + "/" + path);
    std::string root = abs_path(*node, config.root);
    if (fs_path != root && fs_path.rfind(root + "/", 0) != 0) fs_path = root;
    bool trailing = path.back() == '/';
    if (is_dir(*node, fs_path)) {
      if (!trailing) {
        redirect(sock, r, path + "/", keep);
        return keep && config.flavor == HttpFlavor::Apache;
      }
      std::string index = fs_path == "/" ? "/index.html" : fs_path + "/index.html";
      if (node->files().contains(index)) {
        fs_path = index;
      } else if (config.flavor == HttpFlavor::Python) {
        listing(sock, r, path, fs_path);
        return false;
      } else {
        respond_error(sock, 403, r, !keep);
        return keep;
      }
    } else if (trailing || !node->files().contains(fs_path)) {
      respond_error(sock, 404, r, !keep);
      return keep;
    }
    const std::string& content = node->files().at(fs_path);
    uint64_t mtime_ns = node->mtimes().contains(fs_path) ? node->mtimes().at(fs_path) : 0;
    int64_t mtime = virtual_unix_time(mtime_ns);
    int64_t now = virtual_unix_time(node->now_ns());
    std::string type = content_type(fs_path, config.flavor);
    std::string head;
    if (config.flavor == HttpFlavor::Apache) {
      // FileETag MTime Size: "<size hex>-<mtime in microseconds, hex>".
      uint64_t mtime_us = static_cast<uint64_t>(mtime) * 1'000'000 + (mtime_ns / 1000) % 1'000'000;
      head = fmt::format(
          "HTTP/1.1 200 OK\r\nDate: {}\r\nServer: {}\r\nLast-Modified: {}\r\n"
          "ETag: \"{:x}-{:x}\"\r\nAccept-Ranges: bytes\r\nContent-Length: {}\r\n",
          http_date(now), kApacheServer, http_date(mtime), content.size(), mtime_us,
          content.size());
      head += keepalive_headers(r, keep, conns[sock].served);
      if (!type.empty()) head += fmt::format("Content-Type: {}\r\n", type);
      head += "\r\n";
    } else {
      head = fmt::format(
          "HTTP/1.0 200 OK\r\nServer: {}\r\nDate: {}\r\nContent-type: {}\r\nContent-Length: {}\r\n"
          "Last-Modified: {}\r\n\r\n",
          kPythonServer, http_date(now), type, content.size(), http_date(mtime));
      log_request(sock, r, 200);
      // end_headers() flushes the headers, then copyfile() writes the body.
      send_all(sock, head);
      if (r.method != "HEAD") send_all(sock, content);
      return keep;
    }
    send_all(sock, r.method == "HEAD" ? head : head + content);
    return keep;
  }

  void redirect(int sock, const Request& r, const std::string& location, bool keep) {
    int64_t now = virtual_unix_time(node->now_ns());
    std::string head;
    std::string body;
    if (config.flavor == HttpFlavor::Apache) {
      auto h = r.headers.find("host");
      std::string host = h != r.headers.end() ? h->second : host_of(r, sock);
      std::string url = fmt::format("http://{}{}", host, location);
      body = fmt::format(
          "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
          "\"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n"
          "<title>301 Moved Permanently</title>\n</head><body>\n<h1>Moved Permanently</h1>\n"
          "<p>The document has moved <a href=\"{}\">here</a>.</p>\n<hr>\n"
          "<address>{} Server at {} Port {}</address>\n</body></html>\n",
          url, kApacheServer, host_of(r, sock), config.port);
      head = fmt::format(
          "HTTP/1.1 301 Moved Permanently\r\nDate: {}\r\nServer: {}\r\nLocation: {}\r\n"
          "Content-Length: {}\r\n",
          http_date(now), kApacheServer, url, body.size());
      head += keepalive_headers(r, keep, conns[sock].served);
      head += "Content-Type: text/html; charset=iso-8859-1\r\n\r\n";
    } else {
      head = fmt::format(
          "HTTP/1.0 301 Moved Permanently\r\nServer: {}\r\nDate: {}\r\nLocation: {}\r\n"
          "Content-Length: 0\r\n\r\n",
          kPythonServer, http_date(now), location);
      log_request(sock, r, 301);
    }
    send_all(sock, r.method == "HEAD" ? head : head + body);
  }

  void listing(int sock, const Request& r, const std::string& url_path, const std::string& dir) {
    // SimpleHTTPRequestHandler.list_directory()
    std::vector<std::string> names;
    std::string prefix = dir == "/" ? "/" : dir + "/";
    auto child = [&](const std::string& p, bool is_directory) {
      if (p.size() <= prefix.size() || p.rfind(prefix, 0) != 0) return;
      std::string rest = p.substr(prefix.size());
      if (rest.find('/') != std::string::npos) return;
      names.push_back(is_directory ? rest + "/" : rest);
    };
    for (const auto& [f, c] : node->files()) child(f, false);
    for (const std::string& d : node->dirs()) child(d, true);
    std::sort(names.begin(), names.end(),
              [](const std::string& a, const std::string& b) { return lower(a) < lower(b); });
    std::string title = fmt::format("Directory listing for {}", html_escape(url_path));
    std::string body = fmt::format(
        "<!DOCTYPE HTML>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>{0}</title>\n</head>\n<body>\n<h1>{0}</h1>\n<hr>\n<ul>\n",
        title);
    for (const std::string& n : names) {
      body += fmt::format("<li><a href=\"{0}\">{1}</a></li>\n", n, html_escape(n));
    }
    body += "</ul>\n<hr>\n</body>\n</html>\n";
    std::string head = fmt::format(
        "HTTP/1.0 200 OK\r\nServer: {}\r\nDate: {}\r\nContent-type: text/html; charset=utf-8\r\n"
        "Content-Length: {}\r\n\r\n",
        kPythonServer, http_date(virtual_unix_time(node->now_ns())), body.size());
    log_request(sock, r, 200);
    send_all(sock, r.method == "HEAD" ? head : head + body);
  }

  void writable(int sock) {
    auto p = pending.find(sock);
    if (p == pending.end()) return;
    long n = node->tcp().send(sock, p->second);
    if (n > 0) p->second.erase(0, static_cast<size_t>(n));
    if (p->second.empty()) {
      pending.erase(p);
      auto c = conns.find(sock);
      if (c != conns.end() && c->second.closing) {
        conns.erase(c);
        node->tcp().close(sock);
      }
    }
  }
};

}  // namespace

int64_t virtual_unix_time(uint64_t now_ns) {
  return kEpoch + static_cast<int64_t>(now_ns / 1'000'000'000);
}

std::string http_date(int64_t t) {
  Tm tm = gmtime_of(t);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", kDays[tm.wday], tm.day,
                     kMonths[tm.month - 1], tm.year, tm.hour, tm.min, tm.sec);
}

int start_http_server(Node& node, const HttpServerConfig& config) {
  auto server = std::make_shared<HttpServer>();
  server->node = &node;
  server->config = config;
  std::weak_ptr<HttpServer> weak = server;
  int l = node.tcp().listen({config.bind, config.port}, 511, [weak](int s, TcpEvent e) {
    if (auto self = weak.lock()) self->on_event(s, e);
  });
  if (l < 0) return l;
  server->listener = l;
  Node::Process p;
  p.name = config.flavor == HttpFlavor::Apache ? "httpd" : "python3";
  p.cmdline = config.cmdline;
  p.listeners = {l};
  p.state = server;
  Node* n = &node;
  p.stop = [weak, n] {
    if (auto self = weak.lock()) {
      std::vector<int> socks;
      for (const auto& [s, c] : self->conns) socks.push_back(s);
      for (int s : socks) self->close_conn(s);
    }
    (void)n;
  };
  return node.add_process(std::move(p));
}

}  // namespace vnet::cmd

namespace vnet::cmd {

namespace {

int find_process(stack::Node& node, const std::string& name) {
  for (const auto& [pid, p] : node.processes()) {
    if (p.name == name) return pid;
  }
  return 0;
}

std::string unit_name(std::string unit) {
  if (unit.find('.') == std::string::npos) unit += ".service";
  return unit;
}

}  // namespace

CmdOutput run_systemctl(stack::Node& node, const Args& argv) {
  CmdOutput o;
  bool apachectl =
      argv[0] == "apachectl" || argv[0] == "apache2ctl" || argv[0] == "/usr/sbin/apachectl";
  std::string verb, unit;
  if (apachectl) {
    verb = argv.size() > 1 ? argv[1] : "";
    unit = "httpd.service";
    if (verb == "graceful") verb = "reload";
    if (verb == "-k" && argv.size() > 2) verb = argv[2];
  } else {
    std::vector<std::string> words;
    for (size_t i = 1; i < argv.size(); ++i) {
      if (argv[i].empty() || argv[i][0] != '-') words.push_back(argv[i]);
    }
    if (words.empty()) {
      o.err = "Too few arguments.\n";
      o.status = 1;
      return o;
    }
    verb = words[0];
    static const char* const kVerbs[] = {"start",
                                         "stop",
                                         "restart",
                                         "reload",
                                         "enable",
                                         "disable",
                                         "status",
                                         "is-active",
                                         "is-enabled",
                                         "try-restart",
                                         "reload-or-restart",
                                         "mask",
                                         "unmask",
                                         "daemon-reload",
                                         "list-units",
                                         "show",
                                         "cat",
                                         "kill",
                                         "reset-failed"};
    if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
      o.err = fmt::format("Unknown command verb {}.\n", verb);
      o.status = 1;
      return o;
    }
    if (words.size() < 2) {
      o.err = fmt::format("Too few arguments.\n");
      o.status = 1;
      return o;
    }
    unit = unit_name(words[1]);
  }
  // Units a vnet node knows: httpd (apache2 on Debian) and the firewall, which is never
  // running (vnet nodes filter only with iptables).
  bool httpd = unit == "httpd.service" || unit == "apache2.service";
  bool firewall = unit == "firewalld.service" || unit == "iptables.service" ||
                  unit == "ufw.service" || unit == "NetworkManager.service";
  if (!httpd && !firewall) {
    if (verb == "status" || verb == "is-active") {
      if (verb == "status")
        o.err = fmt::format("Unit {} could not be found.\n", unit);
      else
        o.out = "inactive\n";
      o.status = verb == "status" ? 4 : 3;
      return o;
    }
    o.err = fmt::format("Failed to {} {}: Unit {} not found.\n", verb, unit, unit);
    o.status = 5;
    return o;
  }
  int pid = httpd ? find_process(node, "httpd") : 0;
  if (verb == "start" || verb == "restart" || verb == "reload" || verb == "enable" ||
      verb == "stop" || verb == "disable") {
    if (!httpd) {
      // The firewall stays off: vnet nodes filter only with iptables.
      node.trace_note(fmt::format("systemctl {} {}: no firewall runs on a vnet node", verb, unit));
      return o;
    }
    if (verb == "enable" || verb == "disable") return o;
    if ((verb == "stop" || verb == "restart") && pid != 0) {
      node.kill_process(pid);
      pid = 0;
    }
    if (verb == "stop") return o;
    if (pid != 0) return o;  // already running (reload keeps it)
    HttpServerConfig cfg;
    cfg.flavor = HttpFlavor::Apache;
    cfg.cmdline = "/usr/sbin/httpd -DFOREGROUND";
    int rc = start_http_server(node, cfg);
    if (rc < 0) {
      // Apache logs "(98)Address already in use: AH00072: make_sock: could not bind to address
      // 0.0.0.0:80" and systemd reports the failed start.
      o.err = fmt::format(
          "Job for {0} failed because the control process exited with error code.\n"
          "See \"systemctl status {0}\" and \"journalctl -xeu {0}\" for details.\n",
          unit);
      o.status = 1;
    }
    return o;
  }
  if (verb == "is-active") {
    o.out = pid != 0 ? "active\n" : "inactive\n";
    o.status = pid != 0 ? 0 : 3;
    return o;
  }
  if (verb == "status") {
    o.out = fmt::format("* {} - {}\n     Active: {}\n", unit,
                        httpd ? "The Apache HTTP Server" : "firewall",
                        pid != 0 ? "active (running)" : "inactive (dead)");
    if (pid != 0) o.out += fmt::format("   Main PID: {} (httpd)\n", pid);
    o.status = pid != 0 ? 0 : 3;
    return o;
  }
  o.err = fmt::format("Unknown command verb {}.\n", verb);
  o.status = 1;
  return o;
}

CmdOutput run_python(stack::Node& node, const Args& argv,
                     const std::function<void(const std::string&)>& sink) {
  CmdOutput o;
  // Only the module the seeds use: python3 -m http.server [-b ADDR] [-d DIR] [PORT].
  if (argv.size() < 3 || argv[1] != "-m" || argv[2] != "http.server") {
    o.err = fmt::format("sh: 1: {}: not found\n", argv[0]);
    o.status = 127;
    return o;
  }
  HttpServerConfig cfg;
  cfg.flavor = HttpFlavor::Python;
  cfg.root = node.cwd();
  cfg.port = 8000;
  std::string usage =
      "usage: server.py [-h] [--cgi] [-b ADDRESS] [-d DIRECTORY] [-p VERSION] [port]\n";
  for (size_t i = 3; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if ((a == "-b" || a == "--bind" || a == "-d" || a == "--directory") && i + 1 < argv.size()) {
      const std::string& v = argv[++i];
      if (a == "-b" || a == "--bind") {
        auto addr = net::Ipv4Addr::parse(v);
        if (!addr) {
          o.err = fmt::format("socket.gaierror: [Errno -2] Name or service not known\n");
          o.status = 1;
          return o;
        }
        cfg.bind = *addr;
      } else {
        cfg.root = abs_path(node, v);
      }
    } else if (!a.empty() && std::all_of(a.begin(), a.end(), ::isdigit) && a.size() <= 5) {
      cfg.port = static_cast<uint16_t>(std::stoi(a));
    } else {
      o.err = usage + fmt::format("server.py: error: argument port: invalid int value: '{}'\n", a);
      o.status = 2;
      return o;
    }
  }
  cfg.cmdline = "python3 -m http.server";
  cfg.log = sink;
  int rc = start_http_server(node, cfg);
  if (rc < 0) {
    o.err = fmt::format(
        "OSError: [Errno {}] {}\n", -rc,
        rc == -EADDRINUSE ? "Address already in use" : "Cannot assign requested address");
    o.status = 1;
    return o;
  }
  // Its banner goes to standard output, which background servers send to their redirection.
  std::string banner = fmt::format("Serving HTTP on {} port {} (http://{}:{}/) ...\n",
                                   cfg.bind.to_string(), cfg.port, cfg.bind.to_string(), cfg.port);
  if (sink) sink(banner);
  return o;
}

}  // namespace vnet::cmd
