// The vnetd control protocol: JSON lines over a Unix stream socket (control.h).
#include "ctl/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace vnet::ctl {

namespace {

using Json = nlohmann::json;

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::string encode(const Request& r) {
  Json j = {{"op", r.op}};
  if (!r.line.empty()) j["line"] = r.line;
  if (!r.arg.empty()) j["arg"] = r.arg;
  return j.dump() + "\n";
}

std::string encode(const Response& r) {
  return Json{{"out", r.out}, {"err", r.err}, {"status", r.status}}.dump(
             -1, ' ', false, Json::error_handler_t::replace) +
         "\n";
}

std::optional<Request> decode_request(const std::string& line, std::string* error) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("op") || !j["op"].is_string()) {
    *error = "malformed request (expected a JSON object with \"op\")";
    return std::nullopt;
  }
  Request r;
  r.op = j["op"].get<std::string>();
  if (j.contains("line") && j["line"].is_string()) r.line = j["line"].get<std::string>();
  if (j.contains("arg") && j["arg"].is_string()) r.arg = j["arg"].get<std::string>();
  return r;
}

std::optional<Response> decode_response(const std::string& line, std::string* error) {
  Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("status") ||
      !j["status"].is_number_integer()) {
    *error = "malformed response from vnetd";
    return std::nullopt;
  }
  Response r;
  r.status = j["status"].get<int>();
  if (j.contains("out") && j["out"].is_string()) r.out = j["out"].get<std::string>();
  if (j.contains("err") && j["err"].is_string()) r.err = j["err"].get<std::string>();
  return r;
}

std::string run_dir() {
  const char* d = std::getenv("VNET_RUN_DIR");
  return d && *d ? std::string(d) : std::string("/run/vnet");
}

std::string socket_path(const std::string& name) {
  return run_dir() + "/" + name + ".sock";
}

std::string find_socket(const std::string& name, std::string* error) {
  std::error_code ec;
  std::string exact = socket_path(name);
  if (std::filesystem::exists(exact, ec)) return exact;
  std::vector<std::string> candidates;
  for (const auto& e : std::filesystem::directory_iterator(run_dir(), ec)) {
    std::string f = e.path().filename().string();
    std::string suffix = "-" + name + ".sock";
    if (f.size() > suffix.size() &&
        f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0) {
      candidates.push_back(f.substr(0, f.size() - 5));
    }
  }
  if (candidates.size() == 1) return socket_path(candidates[0]);
  if (candidates.empty()) {
    *error = "no running vnet node \"" + name + "\" (no " + exact + ")";
  } else {
    *error = "\"" + name + "\" is ambiguous:";
    for (const std::string& c : candidates) *error += " " + c;
  }
  return {};
}

Response call(const std::string& socket_file, const Request& request, int timeout_ms) {
  Response fail;
  fail.status = 255;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    fail.err = std::string("vnet: socket: ") + std::strerror(errno) + "\n";
    return fail;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_file.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    fail.err = "vnet: socket path too long: " + socket_file + "\n";
    return fail;
  }
  std::memcpy(addr.sun_path, socket_file.c_str(), socket_file.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    fail.err = "vnet: connect " + socket_file + ": " + std::strerror(errno) + "\n";
    ::close(fd);
    return fail;
  }
  if (!write_all(fd, encode(request))) {
    fail.err = std::string("vnet: send: ") + std::strerror(errno) + "\n";
    ::close(fd);
    return fail;
  }
  std::string buf;
  char chunk[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (buf.find('\n') == std::string::npos) {
    int wait = -1;
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        fail.err = "vnet: no answer from " + socket_file + " (timed out)\n";
        ::close(fd);
        return fail;
      }
      wait = static_cast<int>(left.count());
    }
    pollfd p{fd, POLLIN, 0};
    int pr = ::poll(&p, 1, wait);
    if (pr < 0 && errno == EINTR) continue;
    if (pr == 0) continue;
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  std::string error;
  auto r = decode_response(buf.substr(0, buf.find('\n')), &error);
  if (!r) {
    fail.err = "vnet: " + (buf.empty() ? std::string("vnetd closed the connection") : error) + "\n";
    return fail;
  }
  return *r;
}

std::string quote_argv(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& a : argv) {
    if (!line.empty()) line += ' ';
    // Anything POSIX sh (or the node's shell) would split, expand or glob is quoted.
    bool plain =
        !a.empty() && a.find_first_of(" \t\r\n\v\f'\"\\;&|<>()$`*?[]{}!#~^") == std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (char c : a) {
      if (c == '\'') {
        line += "'\\''";
      } else {
        line += c;
      }
    }
    line += '\'';
  }
  return line;
}

}  // namespace vnet::ctl
