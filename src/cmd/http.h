// HTTP on simulated nodes: the two servers the seeds start and curl.
//
// Servers run in the background of the node (a Node::Process owning TCP listeners) and serve
// files of the node's file system:
//   * `systemctl start httpd` / `apachectl start`: Apache httpd 2.4's default handler for
//     /var/www/html on port 80 (HTTP/1.1, keep-alive for 5 s, 404/403/301 pages as Apache
//     writes them, ETag from size and mtime);
//   * `python3 -m http.server [PORT] [--bind ADDR] [--directory DIR]`: Python 3.11's
//     SimpleHTTPRequestHandler for the working directory (HTTP/1.0, closes after each response,
//     its log lines on standard error).
// curl 7.88's options, messages and exit codes are in run_curl(); times are virtual.
//
// Example: on web1 `echo "this is web1" >> /var/www/html/index.html; systemctl start httpd`,
//   then on the client `curl 192.168.73.110` prints "this is web1".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cmd/command.h"
#include "stack/node.h"

namespace vnet::cmd {

class Driver;

enum class HttpFlavor { Apache, Python };

struct HttpServerConfig {
  HttpFlavor flavor = HttpFlavor::Apache;
  std::string root = "/var/www/html";
  net::Ipv4Addr bind;  // 0.0.0.0: every address
  uint16_t port = 80;
  std::string cmdline;
  std::function<void(const std::string&)> log;  // Python's request log (stderr), may be empty
};

// Starts a server process; returns its pid, or a negative errno from listen().
int start_http_server(stack::Node& node, const HttpServerConfig& config);

// The virtual wall clock: 2026-01-01 00:00:00 UTC plus the node's virtual time.
int64_t virtual_unix_time(uint64_t now_ns);
// "Thu, 01 Jan 2026 00:00:00 GMT"
std::string http_date(int64_t unix_seconds);

CmdOutput run_curl(stack::Node& node, Driver& driver, const Args& argv);
// systemctl start|stop|restart|status|is-active UNIT; apachectl start|stop|restart|graceful.
CmdOutput run_systemctl(stack::Node& node, const Args& argv);
// python3 -m http.server ...; sink receives the server's log lines (its standard error).
CmdOutput run_python(stack::Node& node, const Args& argv,
                     const std::function<void(const std::string&)>& sink);

}  // namespace vnet::cmd
