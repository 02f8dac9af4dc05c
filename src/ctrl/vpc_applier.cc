#include "ctrl/vpc_applier.h"

#include <cerrno>

namespace vnet::ctrl {

using schema::Kind;
using vpc::Status;

std::string VpcApplier::apply_one(const Change& c, uint64_t now_ns) {
  vpc::VSwitch& vs = node_.vswitch();
  const schema::Entry& e = c.entry;
  const schema::KeyRef& r = e.ref;
  // A delete of something already gone is done.
  auto gone_ok = [](const Status& s) {
    return s.ok() || s.err == -ESRCH || s.err == -ENOENT ? "" : s.message;
  };
  auto result = [](const Status& s) { return s.ok() ? std::string() : s.message; };
  switch (r.kind) {
    case Kind::VpcConfig:
      if (c.deleted) {
        vs.vpc_undeclare(r.vpc);
        return "";
      }
      return result(vs.vpc_set(r.vpc, e.subnets));
    case Kind::Route:
      if (c.deleted) return gone_ok(vs.route_del(r.vpc, r.ip, std::nullopt));
      return result(vs.route_add(r.vpc, r.ip, e.host, vpc::VSwitch::Mode::Replace, now_ns));
    case Kind::Neigh:
      if (c.deleted) return gone_ok(vs.neigh_del(r.vpc, r.ip));
      return result(vs.neigh_add(r.vpc, r.ip, *e.mac, vpc::VSwitch::Mode::Replace));
    case Kind::SubnetRoute: {
      if (c.deleted) return gone_ok(vs.subnet_route_del(r.vpc, r.prefix));
      if (auto v = vs.vpcs().find(r.vpc); v != vs.vpcs().end()) {
        for (const vpc::SubnetRoute& cur : v->second.subnet_routes) {
          if (cur.prefix != r.prefix) continue;
          if (cur.peer == e.peer) return "";
          (void)vs.subnet_route_del(r.vpc, r.prefix);
          break;
        }
      }
      return result(vs.subnet_route_add(r.vpc, r.prefix, e.peer));
    }
    case Kind::HostConfig:
      if (c.deleted) return result(vs.set_local(net::Ipv4Addr()));
      if (Status s = vs.set_local(e.local); !s.ok()) return s.message;
      if (e.grace_ms) vs.set_grace_ns(*e.grace_ms * 1'000'000);
      if (e.mac) {
        if (Status s = vs.set_mac(*e.mac); !s.ok()) return s.message;
      }
      return "";
    case Kind::Port: {
      const stack::Device* dev = node_.device_by_name(r.dev);
      if (c.deleted) {
        if (dev == nullptr) return "";
        const vpc::VmPort* p = vs.port(dev->ifindex);
        if (p != nullptr && p->vpc == e.port_vpc && p->ip == e.port_ip)
          (void)vs.port_del(dev->ifindex);
        return "";
      }
      if (dev == nullptr) return "no device " + r.dev;
      int ix = dev->ifindex;
      if (const vpc::VmPort* p = vs.port(ix)) {
        if (p->vpc == e.port_vpc && p->ip == e.port_ip && (!e.mac || p->mac == *e.mac)) return "";
        (void)vs.port_del(ix);
      }
      return result(vs.port_add(ix, r.dev, e.port_vpc, e.port_ip, e.mac));
    }
  }
  return "unknown entry";
}

void VpcApplier::apply(const std::vector<Change>& changes, uint64_t now_ns) {
  for (const Change& c : changes) {
    std::string key = schema::key(c.entry.ref);
    pending_.erase(key);
    std::string err = apply_one(c, now_ns);
    if (err.empty()) {
      ++applied_;
    } else {
      ++failures_;
      pending_[key] = {c, err};
    }
  }
  retry(now_ns);
}

void VpcApplier::retry(uint64_t now_ns) {
  // Until a pass changes nothing: one success can unblock another (neigh, then port).
  bool progress = true;
  while (progress && !pending_.empty()) {
    progress = false;
    for (auto it = pending_.begin(); it != pending_.end();) {
      std::string err = apply_one(it->second.change, now_ns);
      if (err.empty()) {
        ++applied_;
        it = pending_.erase(it);
        progress = true;
      } else {
        it->second.error = err;
        ++it;
      }
    }
  }
}

}  // namespace vnet::ctrl
