// `bridge fdb` (iproute2 6.1 bridge/fdb.c) for VXLAN devices: the static entries that map an
// inner MAC (or the all-zeros default) to remote VTEPs, and the entries learning adds.
#include <fmt/format.h>

#include <cerrno>

#include "cmd/command.h"
#include "cmd/json_writer.h"
#include "net/ipv4_addr.h"

namespace vnet::cmd {

namespace {

struct BridgeExit {
  std::string message;
  int status;
};

std::string fdb_usage() {
  return "Usage: bridge fdb { add | append | del | replace } ADDR dev DEV\n"
         "              [ self ] [ master ] [ use ] [ router ] [ extern_learn ]\n"
         "              [ sticky ] [ local | static | dynamic ] [ vlan VID ]\n"
         "              { [ dst IPADDR ] [ port PORT] [ vni VNI ] | [ nhid NHID ] }\n"
         "\t       [ via DEV ] [ src_vni VNI ]\n"
         "       bridge fdb [ show [ br BRDEV ] [ brport DEV ] [ vlan VID ]\n"
         "              [ state STATE ] [ dynamic ] ]\n"
         "       bridge fdb get [ to ] LLADDR [ br BRDEV ] { brport | dev } DEV\n"
         "              [ vlan VID ] [ vni VNI ] [ self ] [ master ] [ dynamic ]\n"
         "       bridge fdb flush dev DEV [ brport DEV ] [ vlan VID ] [ src_vni VNI ]\n"
         "              [ nhid NHID ] [ vni VNI ] [ port PORT ] [ dst IPADDR ] [ self ]\n"
         "              [ master ] [ [no]permanent | [no]static | [no]dynamic ]\n"
         "              [ [no]added_by_user ] [ [no]extern_learn ] [ [no]sticky ]\n"
         "              [ [no]offloaded ]\n";
}

std::string need_value(const Args& a, size_t* i) {
  if (*i + 1 >= a.size()) {
    throw BridgeExit{"Command line is not complete. Try option \"help\"\n", 255};
  }
  return a[++*i];
}

int fdb_modify(stack::Node& node, const Args& a, size_t i, stack::Node::FdbOp op, bool del,
               CmdOutput& o) {
  std::optional<net::MacAddr> mac;
  std::string dev;
  stack::FdbEntry e;
  bool has_dst = false;
  std::string via;
  for (; i < a.size(); ++i) {
    const std::string& k = a[i];
    if (k == "dev") {
      dev = need_value(a, &i);
    } else if (k == "dst") {
      std::string v = need_value(a, &i);
      auto d = net::Ipv4Addr::parse(v);
      if (!d) throw BridgeExit{fmt::format("Invalid address \"{}\"\n", v), 255};
      e.dst = *d;
      has_dst = true;
    } else if (k == "port" || k == "dst_port") {
      std::string v = need_value(a, &i);
      auto p = net::parse_c_number(v);
      if (!p || *p > 65535) throw BridgeExit{fmt::format("Invalid port \"{}\"\n", v), 255};
      e.port = static_cast<uint16_t>(*p);
    } else if (k == "vni") {
      std::string v = need_value(a, &i);
      auto p = net::parse_c_number(v);
      if (!p || *p >= (1u << 24)) throw BridgeExit{fmt::format("Invalid vni \"{}\"\n", v), 255};
      e.vni = static_cast<uint32_t>(*p);
    } else if (k == "via") {
      via = need_value(a, &i);
    } else if (k == "self" || k == "permanent" || k == "static" || k == "local") {
    } else if (k == "master" || k == "router" || k == "use" || k == "extern_learn" ||
               k == "sticky" || k == "dynamic" || k == "vlan" || k == "src_vni" || k == "nhid") {
      throw BridgeExit{fmt::format("vnet: bridge fdb option \"{}\" is not supported\n", k), 1};
    } else if (!mac) {
      mac = net::MacAddr::parse(k);
      if (!mac) throw BridgeExit{fmt::format("Invalid mac address {}\n", k), 255};
    } else {
      throw BridgeExit{
          fmt::format("Error: either \"{}\" is duplicate, or \"{}\" is a garbage.\n", "addr", k),
          255};
    }
  }
  if (!mac || dev.empty()) {
    throw BridgeExit{"Device and address are required arguments.\n", 255};
  }
  const stack::Device* d = node.device_by_name(dev);
  if (d == nullptr) throw BridgeExit{fmt::format("Cannot find device \"{}\"\n", dev), 255};
  if (!via.empty()) {
    const stack::Device* v = node.device_by_name(via);
    if (v == nullptr) throw BridgeExit{fmt::format("Cannot find device \"{}\"\n", via), 255};
    e.via = v->ifindex;
  }
  e.mac = *mac;
  stack::Status s;
  if (del) {
    s = node.fdb_del(d->ifindex, *mac, has_dst ? std::optional(e.dst) : std::nullopt);
  } else {
    if (!has_dst && d->kind == stack::LinkKind::Vxlan) {
      s = stack::Status::error(-EINVAL, "");
    } else {
      s = node.fdb_add(d->ifindex, e, op);
    }
  }
  if (!s.ok()) {
    o.err += std::string("RTNETLINK answers: ") + stack::errno_text(s.err) + "\n";
    return 255;
  }
  return 0;
}

int fdb_show(stack::Node& node, const Args& a, size_t i, bool json, bool stats, CmdOutput& o) {
  std::string dev;
  for (; i < a.size(); ++i) {
    const std::string& k = a[i];
    if (k == "dev" || k == "brport") {
      dev = need_value(a, &i);
    } else if (k == "br") {
      need_value(a, &i);
    } else {
      throw BridgeExit{fmt::format("\"{}\" is unknown, try \"bridge fdb help\".\n", k), 255};
    }
  }
  if (!dev.empty() && node.device_by_name(dev) == nullptr) {
    throw BridgeExit{fmt::format("Cannot find device \"{}\"\n", dev), 255};
  }
  Json arr = Json::array();
  uint64_t now_s = node.now_ns() / 1'000'000'000;
  for (const auto& [ix, d] : node.devices()) {
    if (d.kind != stack::LinkKind::Vxlan || !d.tunnel) continue;
    if (!dev.empty() && d.name != dev) continue;
    const stack::TunnelParams& p = *d.tunnel;
    for (const stack::FdbEntry& e : d.fdb) {
      const stack::Device* via = e.via ? node.device(e.via) : nullptr;
      uint64_t age = now_s - e.updated_ns / 1'000'000'000;
      if (json) {
        Json j = Json::object();
        j.set("mac", e.mac.to_string());
        if (dev.empty()) j.set("ifname", d.name);
        j.set("dst", e.dst.to_string());
        if (e.port && e.port != p.dstport) j.set("port", e.port);
        if (e.vni && e.vni != p.vni) j.set("vni", e.vni);
        if (via) j.set("viaif", via->name);
        if (stats) {
          j.set("used", age);
          j.set("updated", age);
        }
        Json flags = Json::array();
        flags.push("self");
        j.set("flags", flags);
        j.set("state", e.permanent ? "permanent" : "");
        arr.push(j);
        continue;
      }
      std::string s = e.mac.to_string();
      if (dev.empty()) s += " dev " + d.name;
      s += " dst " + e.dst.to_string();
      if (e.port && e.port != p.dstport) s += fmt::format(" port {}", e.port);
      if (e.vni && e.vni != p.vni) s += fmt::format(" vni {}", e.vni);
      if (via) s += " via " + via->name;
      if (stats) s += fmt::format(" used {}/{}", age, age);
      // A learned (reachable) entry's empty state still gets its trailing space: "self \n".
      s += e.permanent ? " self permanent" : " self ";
      o.out += s + "\n";
    }
  }
  if (json) o.out += arr.dump(false) + "\n";
  return 0;
}

}  // namespace

CmdOutput run_bridge(stack::Node& node, const Args& argv) {
  CmdOutput o;
  size_t i = 1;
  bool json = false, stats = false;
  try {
    for (; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
      const std::string& opt = argv[i];
      if (opt == "-j" || opt == "-json") {
        json = true;
      } else if (opt == "-s" || opt == "-stats" || opt == "-statistics") {
        stats = true;
      } else {
        throw BridgeExit{fmt::format("Option \"{}\" is unknown, try \"bridge help\".\n", opt), 255};
      }
    }
    if (i >= argv.size() || argv[i] != "fdb") {
      std::string obj = i < argv.size() ? argv[i] : "";
      throw BridgeExit{obj.empty()
                           ? "Usage: bridge [ OPTIONS ] OBJECT { COMMAND | help }\n"
                           : fmt::format("vnet: bridge {} is not supported (only fdb)\n", obj),
                       obj.empty() ? 255 : 1};
    }
    ++i;
    std::string sub = i < argv.size() ? argv[i++] : "show";
    using Op = stack::Node::FdbOp;
    if (sub == "add") {
      o.status = fdb_modify(node, argv, i, Op::Add, false, o);
    } else if (sub == "append") {
      o.status = fdb_modify(node, argv, i, Op::Append, false, o);
    } else if (sub == "replace") {
      o.status = fdb_modify(node, argv, i, Op::Replace, false, o);
    } else if (sub == "del" || sub == "delete") {
      o.status = fdb_modify(node, argv, i, Op::Add, true, o);
    } else if (sub == "show" || sub == "list" || sub == "lst") {
      o.status = fdb_show(node, argv, i, json, stats, o);
    } else if (sub == "help") {
      throw BridgeExit{fdb_usage(), 255};
    } else {
      throw BridgeExit{fmt::format("Command \"{}\" is unknown, try \"bridge fdb help\".\n", sub),
                       255};
    }
  } catch (const BridgeExit& e) {
    o.err += e.message;
    o.status = e.status;
  }
  return o;
}

}  // namespace vnet::cmd
