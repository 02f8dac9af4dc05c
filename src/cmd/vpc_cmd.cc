// `vpc`: the vSwitch's configuration and tables (vpc/vswitch.h), in iproute2's style: an
// object, a verb, then keyword arguments in any order; `-j` for JSON, `-p` to pretty-print it,
// `-s` for counters.  Usage mistakes exit 255 with iproute2's wording, refused changes exit 2
// with "Error: <why>.", and nothing changes on any error.
//
//   vpc local ADDR                     the underlay address: outer source, where GRE arrives
//   vpc set grace DURATION | mac MAC   migration grace time; the proxy-ARP MAC
//   vpc add ID [subnet PREFIX]...      vpc del ID
//   vpc route {add|change|replace} IP host HOST vpc ID      vpc route del IP [host HOST] vpc ID
//   vpc neigh {add|change|replace} IP lladdr MAC vpc ID     vpc neigh del IP vpc ID
//   vpc subnet-route add PREFIX peer ID vpc ID              vpc subnet-route del PREFIX vpc ID
//   vpc port add DEV vm IP vpc ID [lladdr MAC]              vpc port del DEV
//   vpc [-j] [-s] show [vpc ID];  vpc [-j] {route|neigh|subnet-route|port} show [vpc ID]
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <optional>

#include "cmd/command.h"
#include "cmd/control_plane.h"
#include "cmd/json_writer.h"
#include "ctrl/schema.h"
#include "ctrl/store.h"

namespace vnet::cmd {

namespace {

using net::Ipv4Addr;
using net::MacAddr;
using net::Prefix;

constexpr const char* kUsage =
    "Usage: vpc [ -j ] [ -p ] [ -s ] OBJECT COMMAND\n"
    "       vpc local ADDR\n"
    "       vpc set { grace DURATION | mac LLADDR }\n"
    "       vpc add ID [ subnet PREFIX ]...\n"
    "       vpc del ID\n"
    "       vpc show [ vpc ID ]\n"
    "       vpc route { add | change | replace } ADDR host HOSTADDR vpc ID\n"
    "       vpc route del ADDR [ host HOSTADDR ] vpc ID\n"
    "       vpc neigh { add | change | replace } ADDR lladdr LLADDR vpc ID\n"
    "       vpc neigh del ADDR vpc ID\n"
    "       vpc subnet-route add PREFIX peer ID vpc ID\n"
    "       vpc subnet-route del PREFIX vpc ID\n"
    "       vpc port add DEV vm ADDR vpc ID [ lladdr LLADDR ]\n"
    "       vpc port del DEV\n"
    "       vpc { route | neigh | subnet-route | port } show [ vpc ID ]\n";

// A usage mistake: the message and exit status 255, as iproute2's invarg()/incomplete_command().
struct Usage {
  std::string message;
};

std::string duration_text(uint64_t ns) {
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

class VpcCommand {
 public:
  VpcCommand(stack::Node& node, const Args& argv) : node_(node), argv_(argv) {}

  CmdOutput run() {
    CmdOutput o;
    try {
      size_t i = 1;
      for (; i < argv_.size() && argv_[i].size() > 1 && argv_[i][0] == '-'; ++i) {
        const std::string& f = argv_[i];
        if (f == "-j" || f == "-json") {
          json_ = true;
        } else if (f == "-p" || f == "-pretty") {
          pretty_ = true;
        } else if (f == "-s" || f == "-stats") {
          stats_ = true;
        } else if (f == "-h" || f == "-help" || f == "--help") {
          o.out = kUsage;
          return o;
        } else {
          throw Usage{fmt::format("Option \"{}\" is unknown, try \"vpc help\".", f)};
        }
      }
      pos_ = i;
      o = dispatch();
    } catch (const Usage& u) {
      o.out.clear();
      o.err = u.message + "\n";
      o.status = 255;
    }
    return o;
  }

 private:
  bool more() const { return pos_ < argv_.size(); }
  const std::string& next(const char* what) {
    if (!more()) {
      throw Usage{
          fmt::format("Command line is not complete: {} expected. Try \"vpc help\".", what)};
    }
    return argv_[pos_++];
  }

  static Ipv4Addr addr(const std::string& text, const char* what) {
    auto a = Ipv4Addr::parse(text);
    if (!a)
      throw Usage{
          fmt::format("Error: {} \"{}\" is invalid: an IPv4 address expected.", what, text)};
    return *a;
  }
  static Prefix prefix(const std::string& text) {
    // The length is required (a bare address would be a /32, rarely what a subnet means).
    auto p = Prefix::parse_iproute2(text);
    if (!p || text.find('/') == std::string::npos) {
      throw Usage{fmt::format("Error: prefix \"{}\" is invalid: A.B.C.D/LEN expected.", text)};
    }
    return *p;
  }
  // A prefix as the commands read it back: always with its length.
  static std::string cidr(const Prefix& p) {
    return fmt::format("{}/{}", p.addr().to_string(), p.len());
  }
  static MacAddr mac(const std::string& text) {
    auto m = MacAddr::parse(text);
    if (!m) throw Usage{fmt::format("Error: lladdr \"{}\" is invalid.", text)};
    return *m;
  }
  static uint32_t vpc_id(const std::string& text) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size() || text.empty() || v > UINT32_MAX) {
      throw Usage{fmt::format("Error: vpc id \"{}\" is invalid: 0..4294967295 expected.", text)};
    }
    return static_cast<uint32_t>(v);
  }
  static uint64_t duration(const std::string& text) {
    size_t n = 0;
    while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) != 0)) ++n;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + n, v);
    std::string unit = text.substr(n);
    uint64_t mult = unit == "s" || unit.empty() ? 1'000'000'000
                    : unit == "ms"              ? 1'000'000
                    : unit == "us"              ? 1'000
                    : unit == "ns"              ? 1
                                                : 0;
    if (n == 0 || ec != std::errc() || mult == 0 || v > 3600ULL * 1'000'000'000 / mult) {
      throw Usage{fmt::format(
          "Error: grace \"{}\" is invalid: a duration such as 2s, 500ms, 250us expected.", text)};
    }
    (void)p;
    return v * mult;
  }
  const stack::Device& dev(const std::string& name) {
    const stack::Device* d = node_.device_by_name(name);
    if (d == nullptr) throw Usage{fmt::format("Cannot find device \"{}\"", name)};
    return *d;
  }

  // Keyword arguments after the positional ones: each keyword once.
  std::map<std::string, std::string> keywords(std::initializer_list<const char*> allowed) {
    std::map<std::string, std::string> kv;
    while (more()) {
      std::string k = argv_[pos_++];
      bool ok = false;
      for (const char* a : allowed) ok |= k == a;
      if (!ok) throw Usage{fmt::format("Error: argument \"{}\" is wrong: unknown keyword", k)};
      if (kv.count(k) != 0)
        throw Usage{fmt::format("Error: duplicate \"{}\": only one is allowed.", k)};
      kv[k] = next("a value");
    }
    return kv;
  }
  static const std::string& need(const std::map<std::string, std::string>& kv, const char* k) {
    auto it = kv.find(k);
    if (it == kv.end()) {
      throw Usage{
          fmt::format("Command line is not complete: \"{}\" is required. Try \"vpc help\".", k)};
    }
    return it->second;
  }

  static CmdOutput result(const vpc::Status& s) {
    CmdOutput o;
    if (!s.ok()) {
      o.err = "Error: " + s.message + ".\n";
      o.status = 2;
    }
    return o;
  }

  CmdOutput dispatch() {
    const std::string& object = next("an object");
    vpc::VSwitch& vs = node_.vswitch();
    if (object == "help") {
      CmdOutput o;
      o.out = kUsage;
      return o;
    }
    if (object == "local") {
      if (!more()) return show_local();
      Ipv4Addr a = addr(next("an address"), "address");
      if (more())
        throw Usage{fmt::format("Error: either \"local\" is duplicate, or \"{}\" is garbage.",
                                argv_[pos_])};
      return result(vs.set_local(a));
    }
    if (object == "set") {
      auto kv = keywords({"grace", "mac"});
      if (kv.empty())
        throw Usage{"Command line is not complete: grace or mac expected. Try \"vpc help\"."};
      std::optional<uint64_t> g;
      std::optional<MacAddr> m;
      if (kv.count("grace")) g = duration(kv["grace"]);
      if (kv.count("mac")) m = mac(kv["mac"]);
      if (m) {
        CmdOutput o = result(vs.set_mac(*m));
        if (o.status != 0) return o;
      }
      if (g) vs.set_grace_ns(*g);
      return {};
    }
    if (object == "add") {
      uint32_t id = vpc_id(next("a vpc id"));
      std::vector<Prefix> subnets;
      while (more()) {
        const std::string& k = next("subnet");
        if (k != "subnet")
          throw Usage{fmt::format("Error: argument \"{}\" is wrong: subnet expected", k)};
        subnets.push_back(prefix(next("a prefix")));
      }
      return result(vs.vpc_add(id, subnets));
    }
    if (object == "del" || object == "delete") {
      uint32_t id = vpc_id(next("a vpc id"));
      if (more()) throw Usage{fmt::format("Error: \"{}\" is garbage.", argv_[pos_])};
      return result(vs.vpc_del(id));
    }
    if (object == "show" || object == "list") return show_all();
    if (object == "route") return route();
    if (object == "neigh" || object == "neighbor" || object == "neighbour") return neigh();
    if (object == "subnet-route") return subnet_route();
    if (object == "port") return port();
    throw Usage{fmt::format("Object \"{}\" is unknown, try \"vpc help\".", object)};
  }

  static vpc::VSwitch::Mode mode(const std::string& verb) {
    if (verb == "add") return vpc::VSwitch::Mode::Add;
    if (verb == "change") return vpc::VSwitch::Mode::Change;
    return vpc::VSwitch::Mode::Replace;
  }
  std::optional<uint32_t> show_filter() {
    auto kv = keywords({"vpc"});
    if (kv.count("vpc")) return vpc_id(kv["vpc"]);
    return std::nullopt;
  }
  static bool is_verb(const std::string& v, std::initializer_list<const char*> verbs) {
    for (const char* x : verbs) {
      if (v == x) return true;
    }
    return false;
  }

  CmdOutput route() {
    vpc::VSwitch& vs = node_.vswitch();
    std::string verb = more() ? next("a command") : "show";
    if (verb == "show" || verb == "list") return show_routes(show_filter());
    if (!is_verb(verb, {"add", "change", "replace", "del", "delete"})) {
      throw Usage{fmt::format("Command \"{}\" is unknown, try \"vpc help\".", verb)};
    }
    Ipv4Addr ip = addr(next("an address"), "address");
    auto kv = keywords({"host", "vpc"});
    uint32_t id = vpc_id(need(kv, "vpc"));
    if (verb == "del" || verb == "delete") {
      std::optional<Ipv4Addr> host;
      if (kv.count("host")) host = addr(kv["host"], "host");
      return result(vs.route_del(id, ip, host));
    }
    Ipv4Addr host = addr(need(kv, "host"), "host");
    return result(vs.route_add(id, ip, host, mode(verb), node_.now_ns()));
  }

  CmdOutput neigh() {
    vpc::VSwitch& vs = node_.vswitch();
    std::string verb = more() ? next("a command") : "show";
    if (verb == "show" || verb == "list") return show_neighs(show_filter());
    if (!is_verb(verb, {"add", "change", "replace", "del", "delete"})) {
      throw Usage{fmt::format("Command \"{}\" is unknown, try \"vpc help\".", verb)};
    }
    Ipv4Addr ip = addr(next("an address"), "address");
    if (verb == "del" || verb == "delete") {
      auto kv = keywords({"vpc"});
      return result(vs.neigh_del(vpc_id(need(kv, "vpc")), ip));
    }
    auto kv = keywords({"lladdr", "vpc"});
    uint32_t id = vpc_id(need(kv, "vpc"));
    return result(vs.neigh_add(id, ip, mac(need(kv, "lladdr")), mode(verb)));
  }

  CmdOutput subnet_route() {
    vpc::VSwitch& vs = node_.vswitch();
    std::string verb = more() ? next("a command") : "show";
    if (verb == "show" || verb == "list") return show_subnet_routes(show_filter());
    if (!is_verb(verb, {"add", "del", "delete"})) {
      throw Usage{fmt::format("Command \"{}\" is unknown, try \"vpc help\".", verb)};
    }
    Prefix p = prefix(next("a prefix"));
    if (verb == "add") {
      auto kv = keywords({"peer", "vpc"});
      uint32_t id = vpc_id(need(kv, "vpc"));
      return result(vs.subnet_route_add(id, p, vpc_id(need(kv, "peer"))));
    }
    auto kv = keywords({"peer", "vpc"});
    uint32_t id = vpc_id(need(kv, "vpc"));
    if (kv.count("peer")) {
      // Like `route del ... host H`: only the entry to that peer.
      const vpc::SubnetRoute* sr = nullptr;
      if (auto it = vs.vpcs().find(id); it != vs.vpcs().end()) {
        for (const vpc::SubnetRoute& r : it->second.subnet_routes) {
          if (r.prefix == p) sr = &r;
        }
      }
      uint32_t peer = vpc_id(kv["peer"]);
      if (sr == nullptr || sr->peer != peer) {
        return result(
            {-ESRCH, fmt::format("vpc {} has no subnet_route for {} peer {}", id, cidr(p), peer)});
      }
    }
    return result(vs.subnet_route_del(id, p));
  }

  CmdOutput port() {
    vpc::VSwitch& vs = node_.vswitch();
    std::string verb = more() ? next("a command") : "show";
    if (verb == "show" || verb == "list") return show_ports(show_filter());
    if (!is_verb(verb, {"add", "del", "delete"})) {
      throw Usage{fmt::format("Command \"{}\" is unknown, try \"vpc help\".", verb)};
    }
    const stack::Device& d = dev(next("a device"));
    if (verb != "add") {
      if (more()) throw Usage{fmt::format("Error: \"{}\" is garbage.", argv_[pos_])};
      vpc::Status s = vs.port_del(d.ifindex);
      if (!s.ok()) s.message = d.name + " is " + s.message;
      return result(s);
    }
    auto kv = keywords({"vm", "vpc", "lladdr"});
    Ipv4Addr ip = addr(need(kv, "vm"), "vm");
    uint32_t id = vpc_id(need(kv, "vpc"));
    std::optional<MacAddr> m;
    if (kv.count("lladdr")) m = mac(kv["lladdr"]);
    if (d.is_loopback() || d.tunnel || d.kind == stack::LinkKind::Bridge) {
      return result({-EINVAL, d.name + " cannot be a VM port: an Ethernet device (veth, TAP) is"});
    }
    if (!d.addrs.empty()) {
      return result({-EBUSY, fmt::format("{} has IPv4 addresses: a VM port belongs to the vSwitch, "
                                         "not to the host's stack",
                                         d.name)});
    }
    return result(vs.port_add(d.ifindex, d.name, id, ip, m));
  }

  // ---- printing ----
  CmdOutput emit(const std::string& text, const Json& json) const {
    CmdOutput o;
    o.out = json_ ? json.dump(pretty_) + "\n" : text;
    return o;
  }
  static bool match(std::optional<uint32_t> filter, uint32_t vpc) {
    return !filter || *filter == vpc;
  }

  std::string route_line(uint32_t vpc, uint32_t ip, Ipv4Addr host, bool with_vpc) const {
    std::string s = fmt::format("{} host {}", Ipv4Addr(ip).to_string(), host.to_string());
    if (with_vpc) s += fmt::format(" vpc {}", vpc);
    std::optional<uint64_t> moved = node_.vswitch_if_loaded()->moved_until(vpc, Ipv4Addr(ip));
    if (moved && *moved > node_.now_ns()) {
      s += fmt::format(" moved grace {:.3f}s", static_cast<double>(*moved - node_.now_ns()) / 1e9);
    } else if (moved) {
      s += " moved";
    }
    return s + "\n";
  }
  Json route_json(uint32_t vpc, uint32_t ip, Ipv4Addr host, bool with_vpc) const {
    Json j = Json::object();
    j.set("dst", Ipv4Addr(ip).to_string());
    j.set("host", host.to_string());
    if (with_vpc) j.set("vpc", vpc);
    if (std::optional<uint64_t> moved = node_.vswitch_if_loaded()->moved_until(vpc, Ipv4Addr(ip))) {
      j.set("moved", Json::boolean(true));
      uint64_t left = *moved > node_.now_ns() ? *moved - node_.now_ns() : 0;
      j.set("grace_left_ms", left / 1'000'000);
    }
    return j;
  }

  CmdOutput show_routes(std::optional<uint32_t> filter) const {
    std::string text;
    Json arr = Json::array();
    for (const auto& [k, r] : node_.vswitch_if_loaded()->routes().sorted()) {
      if (!match(filter, k.vpc)) continue;
      text += route_line(k.vpc, k.ip, r, true);
      arr.push(route_json(k.vpc, k.ip, r, true));
    }
    return emit(text, arr);
  }
  CmdOutput show_neighs(std::optional<uint32_t> filter) const {
    std::string text;
    Json arr = Json::array();
    for (const auto& [k, m] : node_.vswitch_if_loaded()->neighs().sorted()) {
      if (!match(filter, k.vpc)) continue;
      text +=
          fmt::format("{} lladdr {} vpc {}\n", Ipv4Addr(k.ip).to_string(), m.to_string(), k.vpc);
      Json j = Json::object();
      j.set("dst", Ipv4Addr(k.ip).to_string());
      j.set("lladdr", m.to_string());
      j.set("vpc", k.vpc);
      arr.push(std::move(j));
    }
    return emit(text, arr);
  }
  CmdOutput show_subnet_routes(std::optional<uint32_t> filter) const {
    std::string text;
    Json arr = Json::array();
    for (const auto& [id, v] : node_.vswitch_if_loaded()->vpcs()) {
      if (!match(filter, id)) continue;
      for (const vpc::SubnetRoute& sr : v.subnet_routes) {
        text += fmt::format("{} peer {} vpc {}\n", cidr(sr.prefix), sr.peer, id);
        Json j = Json::object();
        j.set("dst", cidr(sr.prefix));
        j.set("peer", sr.peer);
        j.set("vpc", id);
        arr.push(std::move(j));
      }
    }
    return emit(text, arr);
  }
  std::string port_line(const vpc::VmPort& p, bool with_vpc) const {
    std::string s = fmt::format("{} vm {}", p.name, p.ip.to_string());
    if (with_vpc) s += fmt::format(" vpc {}", p.vpc);
    s += " lladdr " + p.mac.to_string();
    if (stats_) s += fmt::format(" rx {} tx {} dropped {}", p.rx_packets, p.tx_packets, p.dropped);
    return s + "\n";
  }
  Json port_json(const vpc::VmPort& p, bool with_vpc) const {
    Json j = Json::object();
    j.set("dev", p.name);
    j.set("vm", p.ip.to_string());
    if (with_vpc) j.set("vpc", p.vpc);
    j.set("lladdr", p.mac.to_string());
    if (stats_) {
      Json s = Json::object();
      s.set("rx_packets", p.rx_packets);
      s.set("tx_packets", p.tx_packets);
      s.set("dropped", p.dropped);
      j.set("stats", std::move(s));
    }
    return j;
  }
  CmdOutput show_ports(std::optional<uint32_t> filter) const {
    std::string text;
    Json arr = Json::array();
    for (const auto& [ix, p] : node_.vswitch_if_loaded()->ports()) {
      if (!match(filter, p.vpc)) continue;
      text += port_line(p, true);
      arr.push(port_json(p, true));
    }
    return emit(text, arr);
  }
  CmdOutput show_local() const {
    const vpc::VSwitch& vs = *node_.vswitch_if_loaded();
    Json j = Json::object();
    bool none = vs.local().is_unspecified();
    j.set("local", none ? Json::null() : Json(vs.local().to_string()));
    return emit((none ? std::string("none") : vs.local().to_string()) + "\n", j);
  }

  CmdOutput show_all() {
    std::optional<uint32_t> filter = show_filter();
    const vpc::VSwitch& vs = *node_.vswitch_if_loaded();
    std::string text = fmt::format("vswitch local {} mac {} grace {}\n",
                                   vs.local().is_unspecified() ? "none" : vs.local().to_string(),
                                   vs.mac().to_string(), duration_text(vs.grace_ns()));
    Json top = Json::object();
    top.set("local", vs.local().is_unspecified() ? Json::null() : Json(vs.local().to_string()));
    top.set("mac", vs.mac().to_string());
    top.set("grace_ms", vs.grace_ns() / 1'000'000);
    if (stats_) {
      const vpc::VSwitchStats& s = vs.stats();
      text += fmt::format(
          "  arp_proxied {} arp_consumed {} local_switched {} encapsulated {} decapsulated {} "
          "stale_forwarded {}\n  routes {} neighs {} table_bytes {}\n",
          s.arp_proxied, s.arp_consumed, s.local_switched, s.encapsulated, s.decapsulated,
          s.stale_forwarded, vs.routes().size(), vs.neighs().size(), vs.table_bytes());
      Json js = Json::object();
      js.set("arp_proxied", s.arp_proxied);
      js.set("arp_consumed", s.arp_consumed);
      js.set("local_switched", s.local_switched);
      js.set("encapsulated", s.encapsulated);
      js.set("decapsulated", s.decapsulated);
      js.set("stale_forwarded", s.stale_forwarded);
      js.set("routes", static_cast<uint64_t>(vs.routes().size()));
      js.set("neighs", static_cast<uint64_t>(vs.neighs().size()));
      js.set("table_bytes", static_cast<uint64_t>(vs.table_bytes()));
      // The node's vSwitch drops, by reason (every one is also in `vnet lab stats`).
      std::string drops;
      Json jd = Json::object();
      for (size_t r = 0; r < static_cast<size_t>(stack::DropReason::kCount); ++r) {
        auto reason = static_cast<stack::DropReason>(r);
        std::string name = stack::drop_reason_name(reason);
        uint64_t n = node_.drops().get(reason);
        if (n == 0 || name.rfind("VPC_", 0) != 0) continue;
        drops += fmt::format(" {} {}", name, n);
        jd.set(name, n);
      }
      text += "  drops" + (drops.empty() ? std::string(" none") : drops) + "\n";
      js.set("drops", std::move(jd));
      top.set("stats", std::move(js));
    }
    // Group the tables by VPC.
    std::map<uint32_t, std::vector<std::pair<uint32_t, Ipv4Addr>>> routes;
    for (const auto& [k, r] : vs.routes().sorted()) routes[k.vpc].emplace_back(k.ip, r);
    std::map<uint32_t, std::vector<std::pair<uint32_t, MacAddr>>> neighs;
    for (const auto& [k, m] : vs.neighs().sorted()) neighs[k.vpc].emplace_back(k.ip, m);
    Json arr = Json::array();
    for (const auto& [id, v] : vs.vpcs()) {
      if (!match(filter, id)) continue;
      std::string subnets;
      Json js = Json::array();
      for (const Prefix& p : v.subnets) {
        subnets += " " + cidr(p);
        js.push(cidr(p));
      }
      text += fmt::format("vpc {}{}{}\n", id, subnets.empty() ? "" : " subnets", subnets);
      Json jv = Json::object();
      jv.set("vpc", id);
      jv.set("subnets", std::move(js));
      Json jr = Json::array();
      for (const auto& [ip, r] : routes[id]) {
        text += "  route " + route_line(id, ip, r, false);
        jr.push(route_json(id, ip, r, false));
      }
      jv.set("route_table", std::move(jr));
      Json jn = Json::array();
      for (const auto& [ip, m] : neighs[id]) {
        text += fmt::format("  neigh {} lladdr {}\n", Ipv4Addr(ip).to_string(), m.to_string());
        Json j = Json::object();
        j.set("dst", Ipv4Addr(ip).to_string());
        j.set("lladdr", m.to_string());
        jn.push(std::move(j));
      }
      jv.set("neigh_table", std::move(jn));
      Json js2 = Json::array();
      for (const vpc::SubnetRoute& sr : v.subnet_routes) {
        text += fmt::format("  subnet-route {} peer {}\n", cidr(sr.prefix), sr.peer);
        Json j = Json::object();
        j.set("dst", cidr(sr.prefix));
        j.set("peer", sr.peer);
        js2.push(std::move(j));
      }
      jv.set("subnet_route", std::move(js2));
      Json jp = Json::array();
      for (const auto& [ix, p] : vs.ports()) {
        if (p.vpc != id) continue;
        text += "  port " + port_line(p, false);
        jp.push(port_json(p, false));
      }
      jv.set("ports", std::move(jp));
      arr.push(std::move(jv));
    }
    top.set("vpcs", std::move(arr));
    return emit(text, top);
  }

  stack::Node& node_;
  const Args& argv_;
  size_t pos_ = 1;
  bool json_ = false, pretty_ = false, stats_ = false;
};

}  // namespace

CmdOutput run_vpc(stack::Node& node, const Args& argv, const ControlPlane* control) {
  // --etcd [ENDPOINTS] and --node NAME, among the options before the object.
  Args rest = {argv.empty() ? std::string("vpc") : argv[0]};
  bool store_mode = false;
  std::optional<std::string> endpoints, host;
  size_t i = 1;
  for (; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
    const std::string& f = argv[i];
    if (f == "--etcd" || f == "-etcd") {
      store_mode = true;
      // Endpoints always have a port; no object or option does.
      if (i + 1 < argv.size() && argv[i + 1].find(':') != std::string::npos) endpoints = argv[++i];
    } else if (f == "--node" || f == "-node") {
      if (i + 1 >= argv.size()) {
        return {"", "Command line is not complete: a node name expected. Try \"vpc help\".\n", 255};
      }
      host = argv[++i];
    } else {
      rest.push_back(f);
    }
  }
  if (!store_mode) {
    if (host) return {"", "Error: --node names a host in the store: it needs --etcd.\n", 255};
    return VpcCommand(node, argv).run();
  }
  rest.insert(rest.end(), argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end());
  std::string name = host ? *host : control != nullptr ? control->node : "";
  if (!name.empty() && !ctrl::schema::valid_name(name)) {
    return {"", fmt::format("Error: node \"{}\" is invalid.\n", name), 255};
  }
  if (endpoints) {
    if (control == nullptr || !control->open) {
      return {"",
              "Error: this node cannot connect to other stores; use --etcd without endpoints.\n",
              1};
    }
    std::string error;
    std::unique_ptr<ctrl::Store> s = control->open(*endpoints, &error);
    if (!s) return {"", "Error: " + error + ".\n", 1};
    return run_vpc_store(*s, name, rest);
  }
  if (control == nullptr || control->store == nullptr) {
    return {"", "Error: no store: this node runs no agent (give --etcd ENDPOINTS).\n", 1};
  }
  return run_vpc_store(*control->store, name, rest);
}

}  // namespace vnet::cmd
