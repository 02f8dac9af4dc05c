// Devices and addresses, and the routes the kernel derives from them
// (net/ipv4/devinet.c, fib_add_ifaddr()/fib_del_ifaddr()/fib_netdev_event() in fib_frontend.c).
#include <algorithm>
#include <cerrno>
#include <cstring>

#include "stack/node.h"

namespace vnet::stack {

using fib::RouteType;
namespace scope = fib::scope;

const char* errno_text(int err) {
  switch (-err) {
    case EEXIST:
      return "File exists";
    case ESRCH:
      return "No such process";
    case ENOENT:
      return "No such file or directory";
    case EINVAL:
      return "Invalid argument";
    case ENETUNREACH:
      return "Network is unreachable";
    case EHOSTUNREACH:
      return "No route to host";
    case EACCES:
      return "Permission denied";
    case ENODEV:
      return "No such device";
    case ENETDOWN:
      return "Network is down";
    case EADDRNOTAVAIL:
      return "Cannot assign requested address";
    case EPERM:
      return "Operation not permitted";
    case ENOBUFS:
      return "No buffer space available";
    case EOPNOTSUPP:
      return "Operation not supported";
    case ERANGE:
      return "Numerical result out of range";
    case EBUSY:
      return "Device or resource busy";
    case EAGAIN:
      return "Resource temporarily unavailable";
    case EXDEV:
      return "Invalid cross-device link";
    case ENOSPC:
      return "No space left on device";
    case ENOTSUP + 1000:
      return "";
    default:
      return strerror(-err);
  }
}

Node::~Node() = default;

int Node::add_process(Process p) {
  p.pid = next_pid_++;
  int pid = p.pid;
  processes_.emplace(pid, std::move(p));
  return pid;
}

bool Node::kill_process(int pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return false;
  Process p = std::move(it->second);
  processes_.erase(it);
  if (p.stop) p.stop();
  for (int sock : p.listeners) tcp_->close(sock);
  return true;
}

Node::Node() : tcp_(std::make_unique<Tcp>(*this)) {
  // The directories a fresh (CentOS-like) host has that commands in labs write into, and the
  // default /etc/hosts.
  for (const char* d : {"/",
                        "/dev",
                        "/etc",
                        "/etc/httpd",
                        "/etc/httpd/conf",
                        "/etc/iproute2",
                        "/etc/sysconfig",
                        "/etc/sysconfig/network-scripts",
                        "/etc/sysctl.d",
                        "/home",
                        "/proc",
                        "/proc/sys",
                        "/root",
                        "/tmp",
                        "/usr",
                        "/usr/bin",
                        "/var",
                        "/var/log",
                        "/var/log/httpd",
                        "/var/tmp",
                        "/var/www",
                        "/var/www/html"}) {
    dirs_.insert(d);
  }
  files_["/etc/hosts"] =
      "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n"
      "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n";
  // CentOS 7's /etc/sysctl.conf: comments only, so `sysctl -p` applies nothing until a line
  // is added.
  files_["/etc/sysctl.conf"] =
      "# sysctl settings are defined through files in\n"
      "# /usr/lib/sysctl.d/, /run/sysctl.d/, and /etc/sysctl.d/.\n#\n"
      "# Vendors settings live in /usr/lib/sysctl.d/.\n"
      "# To override a whole file, create a new file with the same name in\n"
      "# /etc/sysctl.d/ and put new settings there. To override\n"
      "# only specific settings, add a file with a lexically later\n"
      "# name in /etc/sysctl.d/ and put new settings there.\n#\n"
      "# For more information, see sysctl.conf(5) and sysctl.d(5).\n";
  Device lo;
  lo.ifindex = kLoopbackIfindex;
  lo.name = "lo";
  lo.kind = LinkKind::Loopback;
  lo.flags = iff::kLoopback;
  lo.carrier = true;
  lo.mtu = 65536;
  lo.mac = MacAddr();
  lo.broadcast_mac = MacAddr();
  devices_.emplace(lo.ifindex, lo);
  reindex_devices();
  sysctls_.add_device("lo");
  files_["/etc/iproute2/rt_tables"] =
      "#\n# reserved values\n#\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n#\n# local\n#\n"
      "#1\tinr.ruhep\n";
  // Debian 12's iproute2 name files, so protocols and dsfields print by name as they do there.
  files_["/etc/iproute2/rt_protos"] =
      "#\n# Reserved protocols.\n#\n0\tunspec\n1\tredirect\n2\tkernel\n3\tboot\n4\tstatic\n"
      "8\tgated\n9\tra\n10\tmrt\n11\tzebra\n12\tbird\n13\tdnrouted\n14\txorp\n15\tntk\n"
      "16\tdhcp\n18\tkeepalived\n42\tbabel\n99\topenr\n186\tbgp\n187\tisis\n188\tospf\n"
      "189\trip\n192\teigrp\n";
  files_["/etc/iproute2/rt_dsfield"] =
      "# Differentiated field values\n# These include the DSCP and unused bits\n0x0\tdefault\n"
      "# Newer RFC2597 values\n0x28\tAF11\n0x30\tAF12\n0x38\tAF13\n0x48\tAF21\n0x50\tAF22\n"
      "0x58\tAF23\n0x68\tAF31\n0x70\tAF32\n0x78\tAF33\n0x88\tAF41\n0x90\tAF42\n0x98\tAF43\n"
      "# Older values RFC2474\n0x20\tCS1\n0x40\tCS2\n0x60\tCS3\n0x80\tCS4\n0xA0\tCS5\n"
      "0xC0\tCS6\n0xE0\tCS7\n# RFC 2598\n0xB8\tEF\n";
}

void Node::reindex_devices() {
  device_index_.clear();
  int max = devices_.empty() ? 0 : devices_.rbegin()->first;
  if (max >= kMaxIndexedIfindex) return;  // device() falls back to the map
  device_index_.assign(static_cast<size_t>(max) + 1, nullptr);
  for (auto& [ifindex, dev] : devices_) {
    if (ifindex >= 0) device_index_[static_cast<size_t>(ifindex)] = &dev;
  }
}

const Device* Node::device(int ifindex) const {
  if (!device_index_.empty()) {
    return ifindex >= 0 && static_cast<size_t>(ifindex) < device_index_.size()
               ? device_index_[static_cast<size_t>(ifindex)]
               : nullptr;
  }
  auto it = devices_.find(ifindex);
  return it == devices_.end() ? nullptr : &it->second;
}

Device* Node::device(int ifindex) {
  if (!device_index_.empty()) {
    return ifindex >= 0 && static_cast<size_t>(ifindex) < device_index_.size()
               ? device_index_[static_cast<size_t>(ifindex)]
               : nullptr;
  }
  auto it = devices_.find(ifindex);
  return it == devices_.end() ? nullptr : &it->second;
}

const Device* Node::device_by_name(std::string_view name) const {
  for (const auto& [i, d] : devices_) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

void Node::resolve_rule_devices() {
  fib_.resolve_rule_devices([this](const std::string& name) {
    const Device* d = device_by_name(name);
    return d ? d->ifindex : -1;
  });
}

Status Node::link_add(const std::string& name, LinkKind kind, const std::string& peer_name) {
  ConfigChange change(*this);
  if (device_by_name(name) || (!peer_name.empty() && device_by_name(peer_name))) {
    return Status::error(-EEXIST);
  }
  auto make = [&](const std::string& n) {
    Device d;
    d.name = n;
    d.kind = kind;
    d.flags = iff::kBroadcast | iff::kMulticast;
    // Locally administered, unicast, deterministic: 02:<node's MAC base>:<node-local counter>.
    ++mac_counter_;
    d.mac = MacAddr(0x02, static_cast<uint8_t>(mac_base_ >> 8), static_cast<uint8_t>(mac_base_),
                    static_cast<uint8_t>(mac_counter_ >> 16),
                    static_cast<uint8_t>(mac_counter_ >> 8), static_cast<uint8_t>(mac_counter_));
    if (kind == LinkKind::Dummy) {
      d.flags = iff::kBroadcast | iff::kNoArp;
      d.carrier = true;
    }
    return d;
  };
  if (kind == LinkKind::Veth) {
    // veth_newlink() registers the peer first, so the peer gets the lower ifindex.
    std::string peer = peer_name.empty() ? "veth" + std::to_string(next_ifindex_) : peer_name;
    Device p = make(peer);
    p.ifindex = next_ifindex_++;
    Device d = make(name);
    d.ifindex = next_ifindex_++;
    p.peer_ifindex = d.ifindex;
    d.peer_ifindex = p.ifindex;
    devices_.emplace(p.ifindex, p);
    devices_.emplace(d.ifindex, d);
    reindex_devices();
    sysctls_.add_device(peer);
    sysctls_.add_device(name);
  } else {
    Device d = make(name);
    d.ifindex = next_ifindex_++;
    devices_.emplace(d.ifindex, d);
    reindex_devices();
    sysctls_.add_device(name);
  }
  resolve_rule_devices();
  return {};
}

Status Node::link_del(int ifindex, bool unregister_fallback) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (d->is_loopback()) return Status::error(-EOPNOTSUPP);
  // ip_tunnel_dellink() leaves the fallback device (tunl0, gre0) in place and reports success.
  if (d->tunnel && d->tunnel->fallback && !unregister_fallback) return {};
  std::vector<int> victims = {ifindex};
  if (d->peer_ifindex) victims.push_back(d->peer_ifindex);
  for (int v : victims) {
    Device* dev = device(v);
    if (dev == nullptr) continue;
    if (dev->up()) link_set_up(v, false);
    // Addresses go away (with their local routes); then every route through the device.
    while (!dev->addrs.empty()) {
      IfAddr ifa = dev->addrs.front();
      addr_del(v, ifa.local, ifa.prefixlen,
               ifa.has_peer() ? std::optional(ifa.address) : std::nullopt, {});
      dev = device(v);
    }
    fib_disable_ip(v, NetdevEvent::Unregister, true);
    if (vswitch_) vswitch_->forget_port(v);
    sysctls_.remove_device(dev->name);
    devices_.erase(v);
    reindex_devices();
  }
  resolve_rule_devices();
  return {};
}

void Node::update_carrier(Device& dev) {
  ConfigChange change(*this);
  bool carrier = dev.carrier;
  if (dev.kind == LinkKind::Veth) {
    const Device* peer = device(dev.peer_ifindex);
    carrier = dev.up() && peer && peer->up();
  } else if (dev.kind == LinkKind::Loopback || dev.kind == LinkKind::Dummy || dev.tunnel) {
    carrier = true;
  }
  if (carrier != dev.carrier) {
    dev.carrier = carrier;
    if (dev.up()) carrier_changed(dev);
  }
}

void Node::carrier_changed(Device& dev) {
  ConfigChange change(*this);
  // NETDEV_CHANGE
  if (dev.carrier) {
    fib_sync_up(dev.ifindex, fib::nh_flags::kLinkdown);
  } else {
    fib_sync_down_dev(dev.ifindex, NetdevEvent::Change, false);
    // neigh_carrier_down(): dynamic entries go, permanent ones stay.
    std::erase_if(neighbours_, [&](const Neighbour& n) {
      return n.ifindex == dev.ifindex && n.state != NeighState::Permanent;
    });
    ++neigh_gen_;
  }
}

Status Node::link_set_up(int ifindex, bool up) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (d->up() == up) return {};
  if (up) {
    d->flags |= iff::kUp;
    d->ever_up = true;
    // NETDEV_UP: addresses get their routes back; dead nexthops on this device revive.
    if (d->is_loopback() && d->addrs.empty()) {
      // inetdev_event(NETDEV_UP) gives loopback 127.0.0.1/8.
      IfAddr lo_addr;
      lo_addr.local = lo_addr.address = Ipv4Addr::from_octets(127, 0, 0, 1);
      lo_addr.prefixlen = 8;
      lo_addr.scope = scope::kHost;
      lo_addr.label = d->name;
      d->addrs.push_back(lo_addr);
      note_local(lo_addr.local, 1);
      sysctls_.mark_all_set(d->name);  // ipv4_devconf_setall(), as for a netlink address
    }
    update_carrier(*d);
    d = device(ifindex);
    for (const IfAddr& ifa : std::vector<IfAddr>(d->addrs)) fib_add_ifaddr(*d, ifa);
    fib_sync_up(ifindex, fib::nh_flags::kDead);
    if (d->peer_ifindex) {
      if (Device* peer = device(d->peer_ifindex)) update_carrier(*peer);
    }
  } else {
    // NETDEV_DOWN: routes through the device die (local routes of its addresses survive), and
    // connections masqueraded out of it are forgotten (masq_device_event()).
    d->flags &= ~iff::kUp;
    if (nf_) nf_->device_down(ifindex);
    fib_disable_ip(ifindex, NetdevEvent::Down, false);
    if (d->kind == LinkKind::Veth) d->carrier = false;
    if (d->peer_ifindex) {
      if (Device* peer = device(d->peer_ifindex)) update_carrier(*peer);
    }
  }
  return {};
}

Status Node::link_set_mtu(int ifindex, int mtu) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  int min = d->is_loopback() ? 68 : 68;
  int max = d->is_loopback() ? 65536 : (d->kind == LinkKind::Veth ? 65535 : 65535);
  if (mtu < min) return Status::error(-EINVAL, "mtu less than device minimum");
  if (mtu > max) return Status::error(-EINVAL, "mtu greater than device maximum");
  d->mtu = mtu;
  return {};
}

Status Node::link_set_mac(int ifindex, MacAddr mac) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (mac.is_multicast() || mac.is_zero()) return Status::error(-EADDRNOTAVAIL);
  d->mac = mac;
  return {};
}

Status Node::link_set_name(int ifindex, const std::string& name) {
  ConfigChange change(*this);
  Device* d = device(ifindex);
  if (d == nullptr) return Status::error(-ENODEV);
  if (d->name == name) return {};
  if (device_by_name(name)) return Status::error(-EEXIST);
  if (d->up()) return Status::error(-EBUSY);
  sysctls_.rename_device(d->name, name);
  for (IfAddr& a : d->addrs) {
    if (a.label == d->name) a.label = name;
  }
  d->name = name;
  if (vswitch_) vswitch_->rename_port(ifindex, name);
  resolve_rule_devices();
  return {};
}

// ---- addresses ----

Status Node::addr_add(int ifindex, IfAddr ifa, bool replace) {
  ConfigChange change(*this);
  Device* dev = device(ifindex);
  if (dev == nullptr) return Status::error(-ENODEV);
  sysctls_.mark_all_set(dev->name);
  if (ifa.label.empty()) ifa.label = dev->name;
  // inet_insert_ifa(): duplicates, secondaries, and the primary insertion point.
  size_t last_primary = 0;
  ifa.flags &= ~ifa_flags::kSecondary;
  for (size_t i = 0; i < dev->addrs.size(); ++i) {
    IfAddr& a = dev->addrs[i];
    if (!(a.flags & ifa_flags::kSecondary) && ifa.scope <= a.scope) last_primary = i + 1;
    if (a.mask() == ifa.mask() && ifa.matches(a.address)) {
      if (a.local == ifa.local) {
        if (!replace) return Status::error(-EEXIST, "ipv4: Address already assigned");
        // NLM_F_REPLACE of an existing address: update in place (find_matching_ifa()).
        a.broadcast = ifa.broadcast;
        a.scope = ifa.scope;
        a.metric = ifa.metric;
        a.label = ifa.label;
        return {};
      }
      if (a.scope != ifa.scope) return Status::error(-EINVAL, "ipv4: Invalid scope value");
      ifa.flags |= ifa_flags::kSecondary;
    }
  }
  size_t pos = (ifa.flags & ifa_flags::kSecondary) ? dev->addrs.size() : last_primary;
  dev->addrs.insert(dev->addrs.begin() + static_cast<ptrdiff_t>(pos), ifa);
  note_local(ifa.local, 1);
  // fib_inetaddr_event(NETDEV_UP): the address's routes (only the local one on a down
  // device), and dead multipath nexthops on the device come back.
  fib_add_ifaddr(*dev, ifa);
  fib_sync_up(ifindex, fib::nh_flags::kDead);
  return {};
}

Status Node::addr_del(int ifindex, Ipv4Addr local, int prefixlen, std::optional<Ipv4Addr> peer,
                      const std::string& label) {
  ConfigChange change(*this);
  Device* dev = device(ifindex);
  if (dev == nullptr) return Status::error(-ENODEV);
  for (size_t i = 0; i < dev->addrs.size(); ++i) {
    const IfAddr& a = dev->addrs[i];
    if (a.local != local) continue;
    if (!label.empty() && a.label != label) continue;
    if (prefixlen >= 0) {
      Ipv4Addr address = peer.value_or(local);
      if (a.prefixlen != prefixlen || !a.matches(address)) continue;
    }
    IfAddr victim = a;
    bool primary = !(victim.flags & ifa_flags::kSecondary);
    dev->addrs.erase(dev->addrs.begin() + static_cast<ptrdiff_t>(i));
    note_local(victim.local, -1);
    // __inet_del_ifa(): without promote_secondaries, a primary takes its secondaries along.
    std::vector<IfAddr> secondaries;
    if (primary) {
      bool promote = sysctls_.conf(dev->name, "promote_secondaries") ||
                     sysctls_.conf("all", "promote_secondaries");
      for (auto it = dev->addrs.begin(); it != dev->addrs.end();) {
        if ((it->flags & ifa_flags::kSecondary) && it->mask() == victim.mask() &&
            victim.matches(it->address)) {
          if (promote) {
            it->flags &= ~ifa_flags::kSecondary;
            IfAddr promoted = *it;
            it = dev->addrs.erase(it);
            // The promoted address becomes primary (placed like a new primary).
            size_t lp = 0;
            for (size_t k = 0; k < dev->addrs.size(); ++k) {
              if (!(dev->addrs[k].flags & ifa_flags::kSecondary) &&
                  promoted.scope <= dev->addrs[k].scope)
                lp = k + 1;
            }
            dev->addrs.insert(dev->addrs.begin() + static_cast<ptrdiff_t>(lp), promoted);
            fib_del_ifaddr(*dev, victim, nullptr);
            fib_add_ifaddr(*dev, promoted);
            fib_flush();
            return {};
          }
          secondaries.push_back(*it);
          note_local(it->local, -1);
          it = dev->addrs.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const IfAddr& s : secondaries) fib_del_ifaddr(*dev, s, &victim);
    fib_del_ifaddr(*dev, victim, nullptr);
    fib_flush();
    // fib_inetaddr_event(NETDEV_DOWN): with its last address gone, IP is disabled on the
    // device: every route through it goes, and its neighbour entries.
    if (dev->addrs.empty()) fib_disable_ip(ifindex, NetdevEvent::Down, true);
    return {};
  }
  return Status::error(-EADDRNOTAVAIL, "ipv4: Address not found");
}

void Node::fib_magic(bool add, RouteType type, Ipv4Addr dst, int len, const Device& dev,
                     const IfAddr& prim, uint32_t priority) {
  fib::Route r;
  r.type = type;
  r.dst = Prefix(dst, len);
  r.protocol = fib::protocol::kKernel;
  r.priority = priority;
  r.prefsrc = prim.local;
  r.scope = type == RouteType::Local ? scope::kHost : scope::kLink;
  uint32_t table_id = type == RouteType::Unicast ? fib::table::kMain : fib::table::kLocal;
  if (add) {
    RouteRequest req;
    req.route = r;
    req.route.table = table_id;
    req.nlm_flags = fib::nlm::kCreate | fib::nlm::kAppend;
    req.oif = dev.ifindex;
    req.has_prefsrc = true;
    route_add(req);
  } else {
    fib::DeleteSpec spec;
    spec.dst = r.dst;
    spec.type = type;
    spec.scope = r.scope;
    spec.protocol = fib::protocol::kKernel;
    spec.prefsrc = prim.local;
    spec.ifindex = dev.ifindex;
    if (fib::Table* t = fib_.find_table(table_id)) t->remove(spec);
  }
}

void Node::fib_add_ifaddr(const Device& dev, const IfAddr& ifa) {
  const IfAddr* prim = &ifa;
  Ipv4Addr prefix(ifa.address.value() & ifa.mask());
  if (ifa.flags & ifa_flags::kSecondary) {
    prim = nullptr;
    for (const IfAddr& a : dev.addrs) {
      if (!(a.flags & ifa_flags::kSecondary) && a.mask() == ifa.mask() && a.matches(prefix)) {
        prim = &a;
        break;
      }
    }
    if (prim == nullptr) return;
  }
  IfAddr p = *prim;
  fib_magic(true, RouteType::Local, ifa.local, 32, dev, p, 0);
  if (!dev.up()) return;
  if (!ifa.broadcast.is_unspecified() && !ifa.broadcast.is_limited_broadcast()) {
    fib_magic(true, RouteType::Broadcast, ifa.broadcast, 32, dev, p, 0);
  }
  if (!prefix.is_zeronet() && !(ifa.flags & ifa_flags::kSecondary) &&
      (prefix != ifa.local || ifa.prefixlen < 32)) {
    if (!(ifa.flags & ifa_flags::kNoPrefixRoute)) {
      fib_magic(true, dev.is_loopback() ? RouteType::Local : RouteType::Unicast, prefix,
                ifa.prefixlen, dev, p, ifa.metric);
    }
    if (ifa.prefixlen < 31) {
      fib_magic(true, RouteType::Broadcast, Ipv4Addr(prefix.value() | ~ifa.mask()), 32, dev, p, 0);
    }
  }
}

void Node::fib_del_ifaddr(const Device& dev, const IfAddr& ifa, const IfAddr* iprim) {
  constexpr unsigned kLocalOk = 1, kBrdOk = 2, kBrd0Ok = 4, kBrd1Ok = 8;
  IfAddr prim = ifa;
  Ipv4Addr brd(ifa.address.value() | ~ifa.mask());
  Ipv4Addr any(ifa.address.value() & ifa.mask());
  unsigned ok = 0;
  bool subnet = false;
  if (ifa.flags & ifa_flags::kSecondary) {
    if (iprim) {
      prim = *iprim;
    } else {
      const IfAddr* found = nullptr;
      for (const IfAddr& a : dev.addrs) {
        if (!(a.flags & ifa_flags::kSecondary) && a.mask() == ifa.mask() && a.matches(any)) {
          found = &a;
          break;
        }
      }
      if (!found) return;
      prim = *found;
    }
  } else if (!any.is_zeronet() && (any != ifa.local || ifa.prefixlen < 32)) {
    if (!(ifa.flags & ifa_flags::kNoPrefixRoute)) {
      fib_magic(false, dev.is_loopback() ? RouteType::Local : RouteType::Unicast, any,
                ifa.prefixlen, dev, prim, 0);
    }
    subnet = true;
  }
  // Scan the remaining addresses so shared local/broadcast routes survive.
  const IfAddr* prim1 = nullptr;
  bool same_prefsrc = false;
  for (const IfAddr& ifa1 : dev.addrs) {
    if (iprim && ifa1.mask() == iprim->mask() && iprim->matches(ifa1.address)) continue;
    if (ifa1.flags & ifa_flags::kSecondary) {
      if (ifa1.mask() == prim.mask() && prim.matches(ifa1.address)) {
        prim1 = &prim;
      } else {
        if (!same_prefsrc) continue;
        if (!prim1 || ifa1.mask() != prim1->mask() || !prim1->matches(ifa1.address)) {
          prim1 = nullptr;
          for (const IfAddr& a : dev.addrs) {
            if (!(a.flags & ifa_flags::kSecondary) && a.mask() == ifa1.mask() &&
                a.matches(ifa1.address)) {
              prim1 = &a;
              break;
            }
          }
        }
        if (!prim1 || prim1->local != prim.local) continue;
      }
    } else {
      if (prim.local != ifa1.local) continue;
      prim1 = &ifa1;
      if (!(prim.local == ifa1.local && prim.prefixlen == ifa1.prefixlen &&
            prim.address == ifa1.address))
        same_prefsrc = true;
    }
    if (ifa.local == ifa1.local) ok |= kLocalOk;
    if (ifa.broadcast == ifa1.broadcast) ok |= kBrdOk;
    if (brd == ifa1.broadcast) ok |= kBrd1Ok;
    if (any == ifa1.broadcast) ok |= kBrd0Ok;
    if (prim1 == &ifa1 && ifa1.prefixlen < 31) {
      Ipv4Addr brd1(ifa1.address.value() | ~ifa1.mask());
      Ipv4Addr any1(ifa1.address.value() & ifa1.mask());
      if (!any1.is_zeronet()) {
        if (ifa.broadcast == brd1 || ifa.broadcast == any1) ok |= kBrdOk;
        if (brd == brd1 || brd == any1) ok |= kBrd1Ok;
        if (any == brd1 || any == any1) ok |= kBrd0Ok;
      }
    }
  }
  if (!(ok & kBrdOk)) fib_magic(false, RouteType::Broadcast, ifa.broadcast, 32, dev, prim, 0);
  if (subnet && ifa.prefixlen < 31) {
    if (!(ok & kBrd1Ok)) fib_magic(false, RouteType::Broadcast, brd, 32, dev, prim, 0);
    if (!(ok & kBrd0Ok)) fib_magic(false, RouteType::Broadcast, any, 32, dev, prim, 0);
  }
  if (!(ok & kLocalOk)) {
    fib_magic(false, RouteType::Local, ifa.local, 32, dev, prim, 0);
    // The address is really gone: routes using it as prefsrc die (fib_sync_down_addr()).
    if (addr_type(ifa.local, fib::table::kLocal) != RouteType::Local) fib_sync_down_addr(ifa.local);
  }
}

bool Node::is_local_address(Ipv4Addr addr) const {
  return local_addrs_.count(addr.value()) != 0;
}

void Node::note_local(Ipv4Addr addr, int delta) {
  auto it = local_addrs_.try_emplace(addr.value(), 0).first;
  it->second += delta;
  if (it->second <= 0) local_addrs_.erase(it);
}

fib::RouteType Node::addr_type(Ipv4Addr addr, uint32_t table_id, int ifindex) const {
  // __inet_dev_addr_type(): zeronet/broadcast/multicast first; no table -> broadcast; a failed
  // lookup -> unicast; else the type of the route found (when its device matches, if given).
  if (addr.is_zeronet() || addr.is_limited_broadcast()) return RouteType::Broadcast;
  if (addr.is_multicast()) return RouteType::Multicast;
  if (fib_.find_table(table_id) == nullptr &&
      !(fib_.merged() && table_id == fib::table::kLocal && fib_.find_table(fib::table::kMain))) {
    return RouteType::Broadcast;
  }
  fib::Flow flow;
  flow.dst = addr;
  fib::LookupResult res;
  if (fib_.table_lookup(table_id, flow, &res) != 0) return RouteType::Unicast;
  if (ifindex != 0 && (!res.nexthop() || res.nexthop()->ifindex != ifindex)) {
    return RouteType::Unicast;
  }
  return res.type;
}

Ipv4Addr Node::select_addr(int ifindex, Ipv4Addr dst, uint8_t sc) const {
  // inet_select_addr()
  const Device* dev = device(ifindex);
  if (dev) {
    uint8_t localnet_scope = route_localnet(ifindex) ? scope::kLink : scope::kHost;
    Ipv4Addr addr;
    for (const IfAddr& a : dev->addrs) {
      if (a.flags & ifa_flags::kSecondary) continue;
      if (std::min(a.scope, localnet_scope) > sc) continue;
      if (dst.is_unspecified() || a.matches(dst)) return a.local;
      if (addr.is_unspecified()) addr = a.local;
    }
    if (!addr.is_unspecified()) return addr;
  }
  // Any primary address of suitable scope on any device, loopback first.
  for (const auto& [i, d] : devices_) {
    for (const IfAddr& a : d.addrs) {
      if (a.flags & ifa_flags::kSecondary) continue;
      if (a.scope != scope::kLink && a.scope <= sc) return a.local;
    }
  }
  return Ipv4Addr();
}

// ---- sysctl views ----

void Node::fill_devconf(int ifindex, DevConf& c) const {
  const Device* d = device(ifindex);
  auto either = [&](const char* name) {
    return sysctls_.conf("all", name) != 0 || (d && sysctls_.conf(d->name, name) != 0);
  };
  c.generation = config_gen_;
  c.rp_filter =
      std::max(sysctls_.conf("all", "rp_filter"), d ? sysctls_.conf(d->name, "rp_filter") : 0);
  c.forwarding = d && sysctls_.conf(d->name, "forwarding") != 0;
  c.accept_local = either("accept_local");
  c.send_redirects = either("send_redirects");
  c.shared_media = either("shared_media");
  c.route_localnet = either("route_localnet");
  c.src_valid_mark = either("src_valid_mark");
}

const Node::DevConf& Node::devconf(int ifindex) const {
  DevConf* c = &devconf_other_;
  if (ifindex >= 0 && ifindex < 65536) {
    if (static_cast<size_t>(ifindex) >= devconf_.size()) devconf_.resize(ifindex + 1);
    c = &devconf_[static_cast<size_t>(ifindex)];
    if (c->generation == config_gen_) return *c;
  }
  fill_devconf(ifindex, *c);
  return *c;
}

int Node::rp_filter(int ifindex) const {
  return devconf(ifindex).rp_filter;
}
bool Node::forwarding(int ifindex) const {
  return devconf(ifindex).forwarding;
}
bool Node::accept_local(int ifindex) const {
  return devconf(ifindex).accept_local;
}
bool Node::send_redirects(int ifindex) const {
  return devconf(ifindex).send_redirects;
}
bool Node::shared_media(int ifindex) const {
  return devconf(ifindex).shared_media;
}
bool Node::route_localnet(int ifindex) const {
  return devconf(ifindex).route_localnet;
}
bool Node::src_valid_mark(int ifindex) const {
  return devconf(ifindex).src_valid_mark;
}

}  // namespace vnet::stack
