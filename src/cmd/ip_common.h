// Shared pieces of the `ip` command's object handlers (ip_cmd.cc, ip_tunnel_cmd.cc): the
// client-side exit, argument reading with iproute2's NEXT_ARG()/matches() rules, and the
// kernel-error report.  Internal to the cmd layer.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>

#include "cmd/command.h"
#include "cmd/names.h"
#include "cmd/usage.h"
#include "net/ipv4_addr.h"
#include "stack/node.h"

namespace vnet::cmd::ip_detail {

using net::Ipv4Addr;
using net::Prefix;
using stack::Device;
using stack::Node;

// A client-side failure: iproute2 prints `message` to stderr and exits with `status`.
struct IpExit {
  std::string message;
  int status;
};

inline bool matches(const std::string& arg, const char* keyword) {
  // iproute2 matches(): arg is a non-empty prefix of keyword.
  std::string_view k(keyword);
  return !arg.empty() && arg.size() <= k.size() && k.substr(0, arg.size()) == arg;
}

[[noreturn]] inline void invarg(const std::string& msg, const std::string& arg) {
  throw IpExit{fmt::format("Error: argument \"{}\" is wrong: {}\n", arg, msg), 255};
}
[[noreturn]] inline void duparg2(const std::string& key, const std::string& arg) {
  throw IpExit{
      fmt::format("Error: either \"{}\" is duplicate, or \"{}\" is a garbage.\n", key, arg), 255};
}
[[noreturn]] inline void duparg(const std::string& key, const std::string& arg) {
  throw IpExit{fmt::format("Error: duplicate \"{}\": \"{}\" is the second value.\n", key, arg),
               255};
}
[[noreturn]] inline void no_device(const std::string& name) {
  throw IpExit{fmt::format("Cannot find device \"{}\"\n", name), 1};
}

struct Ctx {
  Node& node;
  bool json = false;
  bool pretty = false;
  int details = 0;
  int stats = 0;
  bool oneline = false;
  CmdOutput o;
};

// Kernel errors: "Error: <extack>." when the kernel gave a message, else RTNETLINK's strerror.
inline int report(Ctx& c, const stack::Status& s) {
  if (s.ok()) return 0;
  if (!s.message.empty()) {
    c.o.err += "Error: " + s.message + ".\n";
  } else {
    c.o.err += std::string("RTNETLINK answers: ") + stack::errno_text(s.err) + "\n";
  }
  return 2;
}

class ArgReader {
 public:
  ArgReader(const Args& a, size_t start) : a_(a), i_(start) {}
  bool done() const { return i_ >= a_.size(); }
  const std::string& peek() const { return a_[i_]; }
  std::string next() { return a_[i_++]; }
  // NEXT_ARG(): the keyword's value, or "Command line is not complete".
  std::string value() {
    if (i_ >= a_.size()) throw IpExit{"Command line is not complete. Try option \"help\"\n", 255};
    return a_[i_++];
  }
  size_t remaining() const { return a_.size() - i_; }

 private:
  const Args& a_;
  size_t i_;
};

inline const Device& need_device(Ctx& c, const std::string& name) {
  const Device* d = c.node.device_by_name(name);
  if (d == nullptr) no_device(name);
  return *d;
}

// iproute2 names the family it expected: "any valid" before anything fixed it, "inet" after.
inline Ipv4Addr need_addr(const std::string& arg, const char* what = "any valid") {
  auto a = Ipv4Addr::parse_iproute2(arg);
  if (!a)
    throw IpExit{fmt::format("Error: {} address is expected rather than \"{}\".\n", what, arg), 1};
  return *a;
}

inline Prefix need_prefix(const std::string& arg, const char* what = "any valid") {
  auto p = Prefix::parse_iproute2(arg);
  if (!p)
    throw IpExit{fmt::format("Error: {} prefix is expected rather than \"{}\".\n", what, arg), 1};
  return *p;
}

inline uint32_t need_u32(const std::string& arg, const char* what) {
  auto v = net::parse_c_number(arg);
  if (!v || *v > 0xffffffffu) invarg(fmt::format("\"{}\" value is invalid\n", what), arg);
  return static_cast<uint32_t>(*v);
}

inline uint32_t need_table(Ctx& c, const std::string& arg) {
  auto t = table_from_name(c.node, arg);
  if (!t) invarg("\"table\" value is invalid\n", arg);
  return *t;
}

// printf("%#x"): "0" for zero, "0x…" otherwise.
inline std::string c_hex(uint32_t v) {
  return v ? fmt::format("{:#x}", v) : "0";
}

// `ip tunnel` (ip_tunnel_cmd.cc).
int do_tunnel(Ctx& c, const Args& a, size_t i);
// `ip link add NAME type ipip|gre|vxlan OPTIONS`: reads the type's options from r.
int link_add_tunnel(Ctx& c, const std::string& name, const std::string& type, ArgReader& r,
                    std::optional<int> mtu, bool up);
// The `link/ipip 1.2.3.4 peer 5.6.7.8` line and -j's fields for IPIP/GRE devices.
bool is_ip_tunnel_link(const Device& d);

}  // namespace vnet::cmd::ip_detail
