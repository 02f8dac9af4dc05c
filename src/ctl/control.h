// The control protocol between `vnet` (and the real-namespace lab runner) and a vnetd: one
// request per connection on a Unix stream socket, one JSON object per line each way.
//
//   request:  {"op": "exec", "line": "ip route add 10.0.0.0/8 via 192.0.2.1"}
//             {"op": "trace", "arg": "on" | "off" | "show"}
//             {"op": "stats"}   {"op": "metrics"}   {"op": "ping"}   {"op": "stop"}
//   response: {"out": "...", "err": "...", "status": 0}
//
// Sockets live in /run/vnet/NAME.sock, NAME being the node's network namespace
// (`LAB-NODE` in a lab).  Example: vnet -n seed000-ipip-test1 ip route
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace vnet::ctl {

struct Request {
  std::string op;    // exec, trace, stats, metrics (Prometheus text), ping, stop
  std::string line;  // exec: the command line
  std::string arg;   // trace: on, off, show
};

struct Response {
  std::string out;
  std::string err;
  int status = 0;
};

std::string encode(const Request& r);
std::string encode(const Response& r);
// nullopt (with *error) on malformed JSON or missing fields.
std::optional<Request> decode_request(const std::string& line, std::string* error);
std::optional<Response> decode_response(const std::string& line, std::string* error);

// The directory of the control sockets (VNET_RUN_DIR overrides /run/vnet, for tests).
std::string run_dir();
std::string socket_path(const std::string& name);
// Finds a node's socket: NAME itself, or the only LAB-NAME among the running nodes; empty with
// *error otherwise (no such node, or ambiguous with the candidates listed).
std::string find_socket(const std::string& name, std::string* error);

// Sends one request and waits for the response (timeout_ms < 0: no limit).  On a connection or
// protocol failure returns a Response with status 255 and the reason in err.
Response call(const std::string& socket, const Request& request, int timeout_ms = -1);

// Quotes argv into one shell line that the node's shell splits back into the same words.
std::string quote_argv(const std::vector<std::string>& argv);

}  // namespace vnet::ctl
