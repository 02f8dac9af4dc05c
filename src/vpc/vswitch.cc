// VSwitch tables (vswitch.h).
#include "vpc/vswitch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace vnet::vpc {

namespace {

Status error(int err, std::string message) {
  return Status{err, std::move(message)};
}

bool overlaps(const Prefix& a, const Prefix& b) {
  int len = std::min(a.len(), b.len());
  return ((a.addr().value() ^ b.addr().value()) & net::prefix_mask(len)) == 0;
}

// A VM's address: a unicast host address (not 0.0.0.0, a broadcast, multicast or loopback).
std::optional<std::string> bad_vm_address(Ipv4Addr ip) {
  if (ip.is_unspecified() || ip == Ipv4Addr(0xffffffff) || ip.is_multicast() ||
      (ip.value() >> 24) == 127) {
    return fmt::format("{} is not a VM address", ip.to_string());
  }
  return std::nullopt;
}

}  // namespace

Status VSwitch::set_local(Ipv4Addr addr) {
  if (addr.is_multicast() || addr == Ipv4Addr(0xffffffff)) {
    return error(-EINVAL, fmt::format("{} cannot be the vSwitch's address", addr.to_string()));
  }
  local_ = addr;
  return {};
}

Status VSwitch::set_mac(MacAddr mac) {
  if (mac.is_zero() || mac.is_multicast()) {
    return error(-EINVAL, fmt::format("{} is not a unicast MAC", mac.to_string()));
  }
  mac_ = mac;
  return {};
}

Vpc& VSwitch::vpc_ref(uint32_t id) {
  Vpc& v = vpcs_[id];
  v.id = id;
  return v;
}

Status VSwitch::vpc_add(uint32_t id, const std::vector<Prefix>& subnets) {
  auto it = vpcs_.find(id);
  if (it != vpcs_.end() && it->second.declared) {
    return error(-EEXIST, fmt::format("vpc {} exists", id));
  }
  return vpc_set(id, subnets);
}

void VSwitch::vpc_undeclare(uint32_t id) {
  auto it = vpcs_.find(id);
  if (it == vpcs_.end()) return;
  it->second.declared = false;
  it->second.subnets.clear();
}

Status VSwitch::vpc_set(uint32_t id, const std::vector<Prefix>& subnets) {
  auto it = vpcs_.find(id);
  for (size_t i = 0; i < subnets.size(); ++i) {
    if (subnets[i].has_host_bits()) {
      return error(-EINVAL, fmt::format("subnet {} has host bits set", subnets[i].to_string()));
    }
    for (size_t j = 0; j < i; ++j) {
      if (overlaps(subnets[i], subnets[j])) {
        return error(-EINVAL, fmt::format("subnets {} and {} overlap", subnets[j].to_string(),
                                          subnets[i].to_string()));
      }
    }
    if (it != vpcs_.end()) {
      for (const SubnetRoute& sr : it->second.subnet_routes) {
        if (overlaps(subnets[i], sr.prefix)) {
          return error(-EINVAL,
                       fmt::format("subnet {} overlaps subnet_route {} to peer vpc {}",
                                   subnets[i].to_string(), sr.prefix.to_string(), sr.peer));
        }
      }
    }
  }
  Vpc& v = vpc_ref(id);
  v.declared = true;
  v.subnets = subnets;
  return {};
}

Status VSwitch::vpc_del(uint32_t id) {
  if (vpcs_.erase(id) == 0) return error(-ENOENT, fmt::format("no vpc {}", id));
  routes_.erase_vpc(id);
  neighs_.erase_vpc(id);
  moved_.erase(moved_.lower_bound(VpcIp{id, 0}),
               id == UINT32_MAX ? moved_.end() : moved_.lower_bound(VpcIp{id + 1, 0}));
  port_by_vm_.erase_vpc(id);
  for (auto it = ports_.begin(); it != ports_.end();) {
    it = it->second.vpc == id ? ports_.erase(it) : std::next(it);
  }
  // Its peers' routes to it go with it.
  for (auto& [other, v] : vpcs_) {
    std::erase_if(v.subnet_routes, [id = id](const SubnetRoute& sr) { return sr.peer == id; });
  }
  reindex_ports();
  return {};
}

Status VSwitch::route_add(uint32_t vpc, Ipv4Addr ip, Ipv4Addr host, Mode mode, uint64_t now_ns) {
  if (auto bad = bad_vm_address(ip)) return error(-EINVAL, *bad);
  if (host.is_unspecified() || host.is_multicast() || host == Ipv4Addr(0xffffffff)) {
    return error(-EINVAL, fmt::format("{} is not a host address", host.to_string()));
  }
  VpcIp key{vpc, ip.value()};
  Ipv4Addr* cur = routes_.find(key);
  if (cur != nullptr && mode == Mode::Add) {
    return error(-EEXIST, fmt::format("route_table has {} in vpc {}", ip.to_string(), vpc));
  }
  if (cur == nullptr && mode == Mode::Change) {
    return error(-ENOENT, fmt::format("route_table has no {} in vpc {}", ip.to_string(), vpc));
  }
  if (!local_.is_unspecified()) {
    if (host == local_) {
      moved_.erase(key);
    } else if (cur != nullptr && *cur == local_) {
      // The VM leaves this host: stale traffic still arriving is forwarded for the grace time.
      moved_[key] = now_ns + grace_ns_;
    }
  }
  vpc_ref(vpc);
  routes_.assign(key, host);
  return {};
}

Status VSwitch::route_del(uint32_t vpc, Ipv4Addr ip, std::optional<Ipv4Addr> host) {
  const Ipv4Addr* cur = routes_.find({vpc, ip.value()});
  if (cur == nullptr || (host && *cur != *host)) {
    return error(-ESRCH, fmt::format("route_table has no {}{} in vpc {}", ip.to_string(),
                                     host ? " host " + host->to_string() : "", vpc));
  }
  routes_.erase({vpc, ip.value()});
  moved_.erase({vpc, ip.value()});
  return {};
}

Status VSwitch::neigh_add(uint32_t vpc, Ipv4Addr ip, MacAddr mac, Mode mode) {
  if (auto bad = bad_vm_address(ip)) return error(-EINVAL, *bad);
  if (mac.is_zero() || mac.is_multicast()) {
    return error(-EINVAL, fmt::format("{} is not a unicast MAC", mac.to_string()));
  }
  MacAddr* cur = neighs_.find({vpc, ip.value()});
  if (cur != nullptr && mode == Mode::Add) {
    return error(-EEXIST, fmt::format("neigh_table has {} in vpc {}", ip.to_string(), vpc));
  }
  if (cur == nullptr && mode == Mode::Change) {
    return error(-ENOENT, fmt::format("neigh_table has no {} in vpc {}", ip.to_string(), vpc));
  }
  vpc_ref(vpc);
  neighs_.assign({vpc, ip.value()}, mac);
  return {};
}

Status VSwitch::neigh_del(uint32_t vpc, Ipv4Addr ip) {
  if (!neighs_.erase({vpc, ip.value()})) {
    return error(-ESRCH, fmt::format("neigh_table has no {} in vpc {}", ip.to_string(), vpc));
  }
  return {};
}

Status VSwitch::subnet_route_add(uint32_t vpc, Prefix prefix, uint32_t peer) {
  if (prefix.has_host_bits()) {
    return error(-EINVAL, fmt::format("subnet {} has host bits set", prefix.to_string()));
  }
  if (peer == vpc) {
    return error(-EINVAL, fmt::format("vpc {} cannot peer with itself", vpc));
  }
  auto it = vpcs_.find(vpc);
  if (it != vpcs_.end()) {
    for (const Prefix& own : it->second.subnets) {
      if (overlaps(own, prefix)) {
        return error(-EINVAL,
                     fmt::format("{} overlaps subnet {} of vpc {}: peered subnets must not overlap",
                                 prefix.to_string(), own.to_string(), vpc));
      }
    }
    // A VPC built from route_table entries alone has no declared subnets: its VMs' addresses
    // count as its own.
    for (const auto& [k, host] : routes_.sorted()) {
      if (k.vpc == vpc && prefix.contains(Ipv4Addr(k.ip))) {
        return error(-EINVAL, fmt::format("{} covers vm {} of vpc {}: peered subnets must not "
                                          "overlap",
                                          prefix.to_string(), Ipv4Addr(k.ip).to_string(), vpc));
      }
    }
    for (const SubnetRoute& sr : it->second.subnet_routes) {
      if (sr.prefix == prefix) {
        return error(-EEXIST, fmt::format("vpc {} has a subnet_route for {} (to peer vpc {})", vpc,
                                          prefix.to_string(), sr.peer));
      }
    }
  }
  Vpc& v = vpc_ref(vpc);
  auto pos = std::find_if(v.subnet_routes.begin(), v.subnet_routes.end(), [&](const auto& sr) {
    return sr.prefix.len() < prefix.len() ||
           (sr.prefix.len() == prefix.len() && sr.prefix.addr() > prefix.addr());
  });
  v.subnet_routes.insert(pos, SubnetRoute{prefix, peer});
  vpc_ref(peer);
  return {};
}

Status VSwitch::subnet_route_del(uint32_t vpc, Prefix prefix) {
  auto it = vpcs_.find(vpc);
  if (it != vpcs_.end()) {
    auto& routes = it->second.subnet_routes;
    auto pos = std::find_if(routes.begin(), routes.end(),
                            [&](const SubnetRoute& sr) { return sr.prefix == prefix; });
    if (pos != routes.end()) {
      routes.erase(pos);
      return {};
    }
  }
  return error(-ESRCH, fmt::format("vpc {} has no subnet_route for {}", vpc, prefix.to_string()));
}

const SubnetRoute* VSwitch::subnet_route(uint32_t vpc, Ipv4Addr addr) const {
  auto it = vpcs_.find(vpc);
  if (it == vpcs_.end()) return nullptr;
  for (const SubnetRoute& sr : it->second.subnet_routes) {
    if (sr.prefix.contains(addr)) return &sr;
  }
  return nullptr;
}

Status VSwitch::port_add(int ifindex, const std::string& name, uint32_t vpc, Ipv4Addr ip,
                         std::optional<MacAddr> mac) {
  if (auto bad = bad_vm_address(ip)) return error(-EINVAL, *bad);
  if (ports_.count(ifindex) != 0) {
    return error(-EEXIST, fmt::format("{} is a port of vm {} already", name,
                                      ports_.at(ifindex).ip.to_string()));
  }
  if (const int* other = port_by_vm_.find({vpc, ip.value()})) {
    return error(-EEXIST, fmt::format("vm {} of vpc {} has port {} already", ip.to_string(), vpc,
                                      ports_.at(*other).name));
  }
  if (!mac) {
    const MacAddr* n = neighs_.find({vpc, ip.value()});
    if (n == nullptr) {
      return error(-EINVAL, fmt::format("no lladdr given and neigh_table has no {} in vpc {}",
                                        ip.to_string(), vpc));
    }
    mac = *n;
  }
  if (mac->is_zero() || mac->is_multicast()) {
    return error(-EINVAL, fmt::format("{} is not a unicast MAC", mac->to_string()));
  }
  if (const MacAddr* n = neighs_.find({vpc, ip.value()}); n != nullptr && *n != *mac) {
    // Delivery uses neigh_table's MAC and port security the port's: they must agree.
    return error(-EINVAL, fmt::format("lladdr {} is not neigh_table's {} for {} in vpc {}",
                                      mac->to_string(), n->to_string(), ip.to_string(), vpc));
  }
  vpc_ref(vpc);
  VmPort p;
  p.ifindex = ifindex;
  p.name = name;
  p.vpc = vpc;
  p.ip = ip;
  p.mac = *mac;
  ports_[ifindex] = p;
  port_by_vm_.insert({vpc, ip.value()}, ifindex);
  reindex_ports();
  return {};
}

Status VSwitch::port_del(int ifindex) {
  auto it = ports_.find(ifindex);
  if (it == ports_.end()) return error(-ENODEV, "not a vSwitch port");
  port_by_vm_.erase({it->second.vpc, it->second.ip.value()});
  ports_.erase(it);
  reindex_ports();
  return {};
}

void VSwitch::forget_port(int ifindex) {
  (void)port_del(ifindex);
}

void VSwitch::reindex_ports() {
  port_index_.clear();
  for (auto& [ix, p] : ports_) {
    if (port_index_.size() <= static_cast<size_t>(ix))
      port_index_.resize(static_cast<size_t>(ix) + 1, nullptr);
    port_index_[static_cast<size_t>(ix)] = &p;
  }
}

}  // namespace vnet::vpc
