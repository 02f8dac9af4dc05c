// `vnet lab lint`: what a deployed lab's configuration will do to packet sizes, found before any
// traffic flows.
//   * the two ends of a link with different MTUs (the larger side's big frames are dropped by
//     the smaller side, as a veth drops frames over its MTU);
//   * a tunnel whose underlay path cannot carry a full-size tunnel packet plus its headers: the
//     path is walked hop by hop with each node's own route lookups to the remote endpoint, and
//     the smallest interface MTU on it is compared with tunnel MTU + encapsulation overhead;
//   * the two ends of a tunnel with different MTUs, and a tunnel whose remote is unreachable.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "labrun/lab.h"

namespace vnet::labrun {

namespace {

const char* tunnel_kind(const stack::Device& d) {
  switch (d.kind) {
    case stack::LinkKind::Ipip:
      return "IPIP";
    case stack::LinkKind::Gre:
      return "GRE";
    default:
      return "VXLAN";
  }
}

}  // namespace

std::vector<std::string> Lab::lint() {
  std::vector<std::string> warnings;
  // Interface MTUs at both ends of every link.
  for (const lab::LinkSpec& l : spec_.links) {
    stack::Node* na = node(l.a.node);
    stack::Node* nb = node(l.b.node);
    if (na == nullptr || nb == nullptr) continue;  // a bridge port
    const stack::Device* da = na->device_by_name(l.a.ifname);
    const stack::Device* db = nb->device_by_name(l.b.ifname);
    if (da && db && da->mtu != db->mtu) {
      warnings.push_back(fmt::format(
          "link {} <-> {}: MTU {} vs {}: frames of {}..{} bytes sent by the larger side are "
          "dropped by the smaller one",
          l.a.to_string(), l.b.to_string(), da->mtu, db->mtu, std::min(da->mtu, db->mtu) + 1,
          std::max(da->mtu, db->mtu)));
    }
  }
  // The node (not a bridge) whose interface owns `addr`.
  auto owner = [&](net::Ipv4Addr addr) -> std::pair<std::string, stack::Node*> {
    for (const std::string& n : node_names()) {
      stack::Node* nd = node(n);
      if (nd && nd->is_local_address(addr)) return {n, nd};
    }
    return {"", nullptr};
  };
  for (const std::string& name : node_names()) {
    stack::Node* nd = node(name);
    if (nd == nullptr) continue;
    for (const auto& [ix, d] : nd->devices()) {
      if (!d.tunnel || d.tunnel->fallback) continue;
      std::vector<net::Ipv4Addr> remotes;
      if (d.kind == stack::LinkKind::Vxlan) {
        for (const stack::FdbEntry& e : d.fdb) remotes.push_back(e.dst);
      } else if (!d.tunnel->remote.is_unspecified()) {
        remotes.push_back(d.tunnel->remote);
      }
      int overhead = stack::Node::tunnel_overhead(d);
      for (net::Ipv4Addr remote : remotes) {
        std::string where =
            fmt::format("node {}: {} {} to {}", name, tunnel_kind(d), d.name, remote.to_string());
        // Walk the underlay: each hop's own output route to the remote.
        stack::Node* hop = nd;
        std::string hop_name = name;
        int path_mtu = 65535;
        std::string narrowest;
        bool reached = false;
        for (int hops = 0; hops < 64 && hop != nullptr; ++hops) {
          if (hop->is_local_address(remote)) {
            reached = true;
            break;
          }
          stack::RouteQuery q;
          q.dst = remote;
          if (hop == nd) {
            q.src = d.tunnel->local;
            q.oif = d.tunnel->link;
          }
          stack::RouteAnswer a;
          if (hop->route_get(q, &a) != 0) {
            warnings.push_back(
                fmt::format("{}: no route to the remote at node {}", where, hop_name));
            break;
          }
          const stack::Device* out = hop->device(a.oif);
          if (out != nullptr && out->mtu < path_mtu) {
            path_mtu = out->mtu;
            narrowest = hop_name + ":" + out->name;
          }
          auto [next_name, next] = owner(a.gateway.value_or(remote));
          if (next == nullptr) {
            warnings.push_back(fmt::format("{}: next hop {} (from node {}) is not in the lab",
                                           where, a.gateway.value_or(remote).to_string(),
                                           hop_name));
            break;
          }
          hop = next;
          hop_name = next_name;
        }
        if (!reached) continue;
        if (d.mtu + overhead > path_mtu) {
          bool df = d.kind != stack::LinkKind::Vxlan && d.tunnel->pmtudisc;
          warnings.push_back(fmt::format(
              "{}: tunnel MTU {} + {} bytes of {} headers = {} > {}, the MTU of {} on the path: "
              "outer packets of {}..{} bytes {} (set the tunnel's mtu to {})",
              where, d.mtu, overhead, tunnel_kind(d), d.mtu + overhead, path_mtu, narrowest,
              path_mtu + 1, d.mtu + overhead,
              df ? "carry DF (pmtudisc) and are refused there; the tunnel learns the path MTU "
                   "from the fragmentation-needed and then refuses larger inner packets itself"
                 : "are fragmented there and reassembled by the remote endpoint",
              path_mtu - overhead));
        }
        // The matching tunnel at the far end: same kind, its remote is one of our addresses.
        stack::Node* far = hop;
        for (const auto& [fix, fd] : far->devices()) {
          if (fd.kind != d.kind || !fd.tunnel || fd.tunnel->fallback) continue;
          bool back = d.kind == stack::LinkKind::Vxlan ? fd.tunnel->vni == d.tunnel->vni
                                                       : nd->is_local_address(fd.tunnel->remote) &&
                                                             fd.tunnel->ikey == d.tunnel->okey;
          if (back && fd.mtu != d.mtu && name < hop_name) {
            warnings.push_back(fmt::format(
                "{}: MTU {} here but {} at node {} ({}): the two directions carry different "
                "packet sizes",
                where, d.mtu, fd.mtu, hop_name, fd.name));
          }
        }
      }
    }
  }
  // vSwitch hosts: a VM's MTU must leave room for the outer IPv4 header and the keyed GRE header
  // on the underlay towards every other host its route_table names.
  for (const std::string& name : node_names()) {
    stack::Node* nd = node(name);
    const vpc::VSwitch* vs = nd != nullptr ? nd->vswitch_if_loaded() : nullptr;
    if (vs == nullptr || vs->ports().empty()) continue;
    std::set<uint32_t> hosts;
    for (const auto& [k, r] : vs->routes().sorted()) {
      if (r != vs->local()) hosts.insert(r.value());
    }
    for (const auto& [ix, port] : vs->ports()) {
      // The VM's end of the port's link.
      int vm_mtu = 0;
      std::string vm_name;
      for (const lab::LinkSpec& l : spec_.links) {
        for (int side = 0; side < 2; ++side) {
          const lab::LinkEndpoint& here = side == 0 ? l.a : l.b;
          const lab::LinkEndpoint& there = side == 0 ? l.b : l.a;
          if (here.node != name || here.ifname != port.name) continue;
          stack::Node* vm = node(there.node);
          const stack::Device* d = vm != nullptr ? vm->device_by_name(there.ifname) : nullptr;
          if (d != nullptr) {
            vm_mtu = d->mtu;
            vm_name = there.to_string();
          }
        }
      }
      if (vm_mtu == 0) continue;
      for (uint32_t h : hosts) {
        stack::RouteQuery q;
        q.dst = net::Ipv4Addr(h);
        q.src = vs->local();
        stack::RouteAnswer a;
        if (nd->route_get(q, &a) != 0) {
          warnings.push_back(fmt::format("node {}: vSwitch has no underlay route to host {}", name,
                                         q.dst.to_string()));
          continue;
        }
        const stack::Device* out = nd->device(a.oif);
        int under = out != nullptr ? out->mtu : 1500;
        if (vm_mtu + vpc::VSwitch::kOverhead > under) {
          warnings.push_back(fmt::format(
              "node {}: vm {} ({}, port {}) has MTU {}: + {} bytes of outer IPv4 and keyed GRE = "
              "{} > {}, the MTU of {} towards host {}: its full-size packets with DF get "
              "fragmentation-needed (set the VM's mtu to {})",
              name, port.ip.to_string(), vm_name, port.name, vm_mtu, vpc::VSwitch::kOverhead,
              vm_mtu + vpc::VSwitch::kOverhead, under, out != nullptr ? out->name : "?",
              q.dst.to_string(), under - vpc::VSwitch::kOverhead));
        }
      }
    }
  }
  return warnings;
}

}  // namespace vnet::labrun
