// The isolation property of the VPC vSwitch (seed 004), over random layouts: 2-5 host Nodes on
// one simulated L2 underlay, 2-6 VPCs whose subnets come from a small pool (so different VPCs
// overlap a lot), 1-6 VMs per VPC on random hosts, and peerings between non-overlapping VPCs,
// configured on both sides or (20%) on one side only.  Every host is configured through the
// `vpc` command as the declarative lab does it (lab/vpc_expand.h), and each command's status is
// checked against the layout's own expectation.
//
// Probes: a VM sends a UDP datagram (random TTL and TOS) into its port, to the vSwitch's MAC.
// The model, computed from the layout alone, says where it must arrive:
//   a VM of the sender's VPC with that address; else the sender's VPC's longest subnet_route
//   covering the destination names peer Y, Y's longest subnet_route covering the source must
//   name the sender's VPC, and then Y's VM with that address; else nowhere.
// 3% of the probes are 1473-1500 bytes: over the underlay's 1500 once encapsulated.  Without DF
// the outer packet is fragmented and reassembled on the far host, and arrives unchanged; with DF
// the sender's vSwitch answers fragmentation-needed (MTU 1472) on the sender's port instead,
// unless the destination is on the same host (no encapsulation).
// Every frame sent on any VM port is recorded: a frame where the model allows none is a leak; no
// frame at the allowed VM is a loss; the right VM getting other bytes or MACs is a corruption.
// Spoofed probes (another source IP or MAC) must go nowhere and count VPC_PORT_SECURITY; ARP
// requests must be answered by proxy on the asking port only; nothing may drop uncounted.
//
// Half the layouts migrate one or two VMs after 50 probes (the lab's migration lines), some
// leaving one host's route stale: its traffic goes to the old host, which forwards it within
// the grace time (2 s, or 60 us in half of them) and drops it afterwards.  A quarter give the
// vSwitches another MAC (`vpc set mac`), which VMs must then send to and receive from.
// The last tests check the underlay side on one host: GRE keys and inner sources.
//
// VNET_VPC_PROBES sets the number of probes (default 20000; a new layout every 200), and
// VNET_VPC_SEED the first layout's seed.  scripts/vpc-isolation.sh runs a million.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cmd/command.h"
#include "cmd/shell.h"
#include "stack/node.h"
#include "vm_frames.h"
#include "wire/arp.h"
#include "wire/ethernet.h"
#include "wire/gre.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

namespace vnet::stack {
namespace {

using vpc::SubnetRoute;
using vpc::VSwitch;

constexpr size_t kProbesPerLayout = 200;
constexpr size_t kPayloadBytes = 24;  // probe id (8) and 16 random bytes
constexpr size_t kNowhere = SIZE_MAX;

Ipv4Addr ip(const char* s) {
  return *Ipv4Addr::parse(s);
}
Prefix pfx(const char* s) {
  return *Prefix::parse_iproute2(s);
}

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// Subnets the VPCs draw from: seed 004's and the documentation ranges, nested and overlapping
// each other, and the hosts' own underlay network (a VM's address has nothing to do with its
// host's).
const std::vector<Prefix>& subnet_pool() {
  static const std::vector<Prefix> pool = {
      pfx("10.0.1.0/24"),     pfx("10.0.1.0/26"),   pfx("10.0.1.128/25"),   pfx("10.0.0.0/16"),
      pfx("172.16.0.0/24"),   pfx("172.16.0.0/28"), pfx("172.16.0.32/27"),  pfx("192.168.12.0/24"),
      pfx("192.168.12.0/29"), pfx("10.10.1.0/24"),  pfx("198.51.100.0/24"), pfx("203.0.113.0/28"),
  };
  return pool;
}

bool overlaps(const Prefix& a, const Prefix& b) {
  return a.contains(b.addr()) || b.contains(a.addr());
}

// A random address inside p; mostly among its first hosts, so that VMs of different VPCs often
// share addresses.
Ipv4Addr address_in(const Prefix& p, std::mt19937_64& rng) {
  uint64_t size = uint64_t{1} << (32 - p.len());
  uint64_t offset =
      rng() % 4 != 0 ? 1 + rng() % std::min<uint64_t>(size - 2, 14) : 1 + rng() % (size - 2);
  return Ipv4Addr(p.addr().value() + static_cast<uint32_t>(offset));
}

struct Vm {
  size_t vpc = 0;  // index into Layout::vpcs
  Ipv4Addr ip;
  MacAddr mac;
  size_t host = 0;
  std::string port;  // the port device on its host
  int ifindex = 0;
  bool port_lladdr = false;  // `vpc port add ... lladdr MAC`, else the MAC comes from neigh_table
};

struct Vpc {
  uint32_t id = 0;
  std::vector<Prefix> subnets;
  std::vector<SubnetRoute> subnet_routes;  // as the model expects them accepted
};

struct SubnetRouteCommand {
  size_t vpc = 0;  // where it is added
  Prefix prefix;
  size_t peer = 0;
  std::optional<uint32_t> refused_for;  // the peer of the identical prefix added before
};

// A live migration, run as lab/vpc_expand.h's migration_lines() do, after `at_probe` probes.
// A stale host skips its `vpc route change`: it still sends the VM's traffic to the old host,
// which forwards it to the new one for the grace time and drops it afterwards.
struct Migration {
  size_t vm = 0;
  size_t from = 0, to = 0;
  std::optional<size_t> stale;
  uint64_t at_ns = 0;  // when the routes changed
};

struct Layout {
  uint64_t seed = 0;
  size_t hosts = 0;
  std::vector<Vpc> vpcs;
  std::vector<Vm> vms;
  std::vector<SubnetRouteCommand> subnet_route_commands;
  std::map<std::pair<size_t, uint32_t>, size_t> vm_at;  // (vpc, ip) -> vm
  size_t peerings = 0, one_sided = 0;
  uint64_t grace_ns = VSwitch::kDefaultGraceNs;
  MacAddr vswitch_mac = VSwitch::default_mac();  // a quarter of the layouts set another
  size_t migrate_at_probe = 50;
  std::vector<Migration> migrations;

  Ipv4Addr host_addr(size_t h) const { return Ipv4Addr(ip("10.10.1.9").value() + h); }
  MacAddr host_mac(size_t h) const {
    return MacAddr(0x02, 0x00, 0x0a, 0x0a, 0x01, static_cast<uint8_t>(9 + h));
  }
  std::optional<size_t> vm(size_t vpc, Ipv4Addr a) const {
    auto it = vm_at.find({vpc, a.value()});
    if (it == vm_at.end()) return std::nullopt;
    return it->second;
  }
  size_t vpc_index(uint32_t id) const {
    for (size_t i = 0; i < vpcs.size(); ++i) {
      if (vpcs[i].id == id) return i;
    }
    return SIZE_MAX;
  }
  // The longest accepted subnet_route of vpc covering a.
  const SubnetRoute* longest(size_t vpc, Ipv4Addr a) const {
    const SubnetRoute* best = nullptr;
    for (const SubnetRoute& sr : vpcs[vpc].subnet_routes) {
      if (sr.prefix.contains(a) && (best == nullptr || sr.prefix.len() > best->prefix.len())) {
        best = &sr;
      }
    }
    return best;
  }
  // Where a packet from VM `from` to dst must arrive, by the rules in the file comment.
  std::optional<size_t> allowed(size_t from, Ipv4Addr dst) const {
    const Vm& s = vms[from];
    if (auto w = vm(s.vpc, dst)) return w;
    const SubnetRoute* there = longest(s.vpc, dst);
    if (there == nullptr) return std::nullopt;
    size_t peer = vpc_index(there->peer);
    const SubnetRoute* back = longest(peer, s.ip);
    if (back == nullptr || back->peer != vpcs[s.vpc].id) return std::nullopt;
    return vm(peer, dst);
  }
  // allowed(), and then the path there at time now_ns: through a stale host's old route, the
  // old host forwards only within the grace time.
  std::optional<size_t> delivered(size_t from, Ipv4Addr dst, uint64_t now_ns) const {
    std::optional<size_t> w = allowed(from, dst);
    if (!w) return w;
    for (const Migration& m : migrations) {
      if (m.vm == *w && m.at_ns != 0 && m.stale == vms[from].host && vms[*w].host != m.stale &&
          now_ns >= m.at_ns + grace_ns) {
        return std::nullopt;
      }
    }
    return w;
  }
  std::string describe() const {
    std::ostringstream o;
    o << "layout seed " << seed << ": " << hosts << " hosts\n";
    for (size_t v = 0; v < vpcs.size(); ++v) {
      o << "  vpc " << vpcs[v].id << " subnets";
      for (const Prefix& p : vpcs[v].subnets) o << " " << p.to_string();
      for (const SubnetRoute& sr : vpcs[v].subnet_routes) {
        o << " | " << sr.prefix.to_string() << " peer " << sr.peer;
      }
      o << "\n";
    }
    for (size_t i = 0; i < vms.size(); ++i) {
      o << "  vm" << i << " vpc " << vpcs[vms[i].vpc].id << " " << vms[i].ip.to_string()
        << " on host " << vms[i].host << "\n";
    }
    for (const Migration& m : migrations) {
      o << "  migration of vm" << m.vm << " from host " << m.from << " to " << m.to << " at "
        << m.at_ns << " ns";
      if (m.stale) o << ", host " << *m.stale << " stale";
      o << " (grace " << grace_ns << " ns)\n";
    }
    return o.str();
  }
};

Layout random_layout(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Layout l;
  l.seed = seed;
  l.hosts = 2 + rng() % 4;
  // VPC ids: 0 (the shared network), the seed's, the largest, and random ones.
  std::vector<uint32_t> ids = {0, 1, 6289, 6774, UINT32_MAX, static_cast<uint32_t>(rng() >> 33)};
  std::shuffle(ids.begin(), ids.end(), rng);
  size_t n_vpcs = 2 + rng() % 5;
  const auto& pool = subnet_pool();
  for (size_t v = 0; v < n_vpcs; ++v) {
    Vpc vpc;
    vpc.id = ids[v];
    size_t n_subnets = 1 + rng() % 2;
    for (int tries = 0; vpc.subnets.size() < n_subnets && tries < 20; ++tries) {
      const Prefix& p = pool[rng() % pool.size()];
      bool clash = false;
      for (const Prefix& q : vpc.subnets) clash |= overlaps(p, q);
      if (!clash) vpc.subnets.push_back(p);
    }
    l.vpcs.push_back(vpc);
  }
  uint32_t mac_serial = 0;
  for (size_t v = 0; v < l.vpcs.size(); ++v) {
    size_t n_vms = 1 + rng() % 6;
    for (int tries = 0; tries < 50 && n_vms > 0; ++tries) {
      const Prefix& p = l.vpcs[v].subnets[rng() % l.vpcs[v].subnets.size()];
      Ipv4Addr a = address_in(p, rng);
      if (l.vm(v, a)) continue;  // unique within the VPC
      Vm vm;
      vm.vpc = v;
      vm.ip = a;
      ++mac_serial;
      vm.mac = MacAddr(0x52, 0x54, 0x00, static_cast<uint8_t>(mac_serial >> 8),
                       static_cast<uint8_t>(mac_serial), static_cast<uint8_t>(v));
      vm.host = rng() % l.hosts;
      vm.port = "vm" + std::to_string(l.vms.size()) + "p";
      vm.port_lladdr = rng() % 2 == 0;
      l.vm_at[{v, a.value()}] = l.vms.size();
      l.vms.push_back(vm);
      --n_vms;
    }
  }
  // Peerings between VPCs whose subnets do not overlap, in random order.
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t a = 0; a < l.vpcs.size(); ++a) {
    for (size_t b = a + 1; b < l.vpcs.size(); ++b) {
      bool clash = false;
      for (const Prefix& p : l.vpcs[a].subnets) {
        for (const Prefix& q : l.vpcs[b].subnets) clash |= overlaps(p, q);
      }
      if (!clash && rng() % 3 != 0) pairs.emplace_back(a, b);
    }
  }
  std::shuffle(pairs.begin(), pairs.end(), rng);
  // `vpc subnet-route add P peer B vpc A` for each subnet P of B; an identical prefix from a
  // second peer is refused, and the model keeps the first.
  auto add_side = [&](size_t a, size_t b) {
    for (const Prefix& p : l.vpcs[b].subnets) {
      SubnetRouteCommand c{a, p, b, std::nullopt};
      for (const SubnetRoute& sr : l.vpcs[a].subnet_routes) {
        if (sr.prefix == p) c.refused_for = sr.peer;
      }
      if (!c.refused_for) l.vpcs[a].subnet_routes.push_back({p, l.vpcs[b].id});
      l.subnet_route_commands.push_back(c);
    }
  };
  for (auto [a, b] : pairs) {
    if (rng() % 2 == 0) std::swap(a, b);
    ++l.peerings;
    if (rng() % 5 == 0) {
      ++l.one_sided;
      add_side(a, b);
    } else {
      add_side(a, b);
      add_side(b, a);
    }
  }
  if (rng() % 4 == 0) l.vswitch_mac = MacAddr(0x02, 0xee, 0, 0, 0, static_cast<uint8_t>(seed));
  // Half the layouts migrate one or two VMs; half of those with a 60 us grace, which runs out
  // about 60 probes after the migration.
  if (rng() % 2 == 0) {
    if (rng() % 2 == 0) l.grace_ns = 60'000;
    size_t n = 1 + rng() % 2;
    for (size_t i = 0; i < n && i < l.vms.size(); ++i) {
      Migration m;
      m.vm = rng() % l.vms.size();
      bool again = false;
      for (const Migration& o : l.migrations) again |= o.vm == m.vm;
      if (again) continue;
      m.from = l.vms[m.vm].host;
      m.to = (m.from + 1 + rng() % (l.hosts - 1)) % l.hosts;
      if (rng() % 2 == 0) {
        size_t stale = rng() % l.hosts;
        if (stale != m.from) m.stale = stale;
      }
      l.migrations.push_back(m);
    }
  }
  return l;
}

// The hosts of a layout on one L2 segment.  Underlay frames wait in one FIFO that pump()
// drains (a Node queues what arrives while it is processing, so nothing here recurses); frames
// sent on any other device are recorded.
class Fabric {
 public:
  struct Sent {
    size_t host;
    int ifindex;
    std::vector<std::byte> frame;
  };

  explicit Fabric(Layout& layout) : layout_(layout) {
    for (size_t h = 0; h < layout.hosts; ++h) {
      hosts_.push_back(std::make_unique<Node>());
      ios_.push_back(std::make_unique<HostIo>(this, h));
      Node& n = *hosts_.back();
      n.set_io(ios_.back().get());
      n.set_seed(layout.seed * 31 + h);
      n.set_mac_base(static_cast<uint16_t>(0x1000 + h));
      EXPECT_TRUE(n.link_add_external("eth0", layout.host_mac(h)).ok());
      underlay_.push_back(up(n, "eth0"));
      cmd::Shell shell(n);
      cmd::CmdOutput o = shell.run("ip link set lo up && ip addr add " +
                                   layout.host_addr(h).to_string() + "/24 dev eth0");
      EXPECT_EQ(o.status, 0) << o.err;
    }
    for (Vm& vm : layout.vms) {
      Node& n = *hosts_[vm.host];
      EXPECT_TRUE(n.link_add_external(vm.port).ok());
      vm.ifindex = up(n, vm.port);
    }
  }

  Node& host(size_t h) { return *hosts_[h]; }
  size_t hosts() const { return hosts_.size(); }
  int underlay(size_t h) const { return underlay_[h]; }

  // Runs `vpc ...` on host h; false (with a failure) unless it gave the status and error the
  // layout expects.
  bool vpc(size_t h, const std::string& line, int status = 0, const std::string& err = {}) {
    cmd::Args argv = {"vpc"};
    std::istringstream words(line);
    for (std::string w; words >> w;) argv.push_back(w);
    cmd::CmdOutput o = cmd::run_vpc(*hosts_[h], argv);
    if (o.status == status && o.err == err) return true;
    ADD_FAILURE() << "host " << h << ": vpc " << line << "\n  status " << o.status << ", expected "
                  << status << "\n  err: " << o.err << "  expected: " << err << "\n"
                  << layout_.describe();
    return false;
  }

  // As vpc_expand.h deploys `vpcs:`: on every host its address, every VPC, every VM's route;
  // the VM's own host its neighbour and port; then the peerings' subnet_routes.
  bool configure() {
    bool ok = true;
    for (size_t h = 0; h < hosts_.size(); ++h) {
      ok &= vpc(h, "local " + layout_.host_addr(h).to_string());
      if (layout_.vswitch_mac != VSwitch::default_mac()) {
        ok &= vpc(h, "set mac " + layout_.vswitch_mac.to_string());
      }
      if (layout_.grace_ns != VSwitch::kDefaultGraceNs) {
        ok &= vpc(h, "set grace " + std::to_string(layout_.grace_ns / 1000) + "us");
      }
      for (const Vpc& v : layout_.vpcs) {
        std::string line = "add " + std::to_string(v.id);
        for (const Prefix& p : v.subnets) line += " subnet " + p.to_string();
        ok &= vpc(h, line);
      }
      for (const Vm& vm : layout_.vms) {
        ok &= vpc(h, "route add " + vm.ip.to_string() + " host " +
                         layout_.host_addr(vm.host).to_string() + " vpc " +
                         std::to_string(layout_.vpcs[vm.vpc].id));
      }
      for (const Vm& vm : layout_.vms) {
        if (vm.host != h) continue;
        std::string id = std::to_string(layout_.vpcs[vm.vpc].id);
        ok &= vpc(
            h, "neigh add " + vm.ip.to_string() + " lladdr " + vm.mac.to_string() + " vpc " + id);
        ok &= vpc(h, "port add " + vm.port + " vm " + vm.ip.to_string() + " vpc " + id +
                         (vm.port_lladdr ? " lladdr " + vm.mac.to_string() : ""));
      }
      for (const SubnetRouteCommand& c : layout_.subnet_route_commands) {
        uint32_t vpc_id = layout_.vpcs[c.vpc].id;
        std::string line = "subnet-route add " + c.prefix.to_string() + " peer " +
                           std::to_string(layout_.vpcs[c.peer].id) + " vpc " +
                           std::to_string(vpc_id);
        if (c.refused_for) {
          ok &= vpc(h, line, 2,
                    "Error: vpc " + std::to_string(vpc_id) + " has a subnet_route for " +
                        c.prefix.to_string() + " (to peer vpc " + std::to_string(*c.refused_for) +
                        ").\n");
        } else {
          ok &= vpc(h, line);
        }
      }
    }
    return ok;
  }

  // Moves a VM to its new host (lab/vpc_expand.h's migration_lines): on the new host a new port
  // device, its neighbour and port; on every host but a stale one the route; on the old host the
  // port and neighbour go.  Every host's clock is brought to now first, as the grace starts
  // from the old host's now.
  bool migrate(Migration& m) {
    now_ns_ += 1000;
    for (auto& n : hosts_) n->run_timers(now_ns_);
    Vm& vm = layout_.vms[m.vm];
    const std::string id = std::to_string(layout_.vpcs[vm.vpc].id);
    const std::string old_port = vm.port;
    Node& to = *hosts_[m.to];
    vm.port = "vm" + std::to_string(m.vm) + "m";
    EXPECT_TRUE(to.link_add_external(vm.port).ok());
    vm.ifindex = up(to, vm.port);
    bool ok = vpc(
        m.to, "neigh add " + vm.ip.to_string() + " lladdr " + vm.mac.to_string() + " vpc " + id);
    ok &= vpc(m.to, "port add " + vm.port + " vm " + vm.ip.to_string() + " vpc " + id + " lladdr " +
                        vm.mac.to_string());
    for (size_t h = 0; h < hosts_.size(); ++h) {
      if (m.stale == h) continue;
      ok &= vpc(h, "route change " + vm.ip.to_string() + " host " +
                       layout_.host_addr(m.to).to_string() + " vpc " + id);
    }
    ok &= vpc(m.from, "port del " + old_port);
    ok &= vpc(m.from, "neigh del " + vm.ip.to_string() + " vpc " + id);
    vm.host = m.to;
    m.at_ns = now_ns_;
    return ok;
  }
  uint64_t now_ns() const { return now_ns_; }

  // A frame from a VM into its port; returns what every device other than the underlay sent.
  std::vector<Sent> inject(const Vm& vm, const std::vector<std::byte>& frame) {
    sent_.clear();
    now_ns_ += 1000;
    hosts_[vm.host]->receive(vm.ifindex, frame, now_ns_);
    pump();
    return std::move(sent_);
  }

  uint64_t drops_total() const {
    uint64_t t = 0;
    for (const auto& n : hosts_) t += n->drops().total();
    return t;
  }

 private:
  struct HostIo : NodeIo {
    HostIo(Fabric* f, size_t h) : fabric(f), host(h) {}
    void transmit(int ifindex, std::span<const std::byte> frame) override {
      std::vector<std::byte> bytes(frame.begin(), frame.end());
      if (ifindex == fabric->underlay_[host]) {
        fabric->wire_.push_back({host, ifindex, std::move(bytes)});
      } else {
        fabric->sent_.push_back({host, ifindex, std::move(bytes)});
      }
    }
    Fabric* fabric;
    size_t host;
  };

  static int up(Node& n, const std::string& name) {
    int ix = n.device_by_name(name)->ifindex;
    EXPECT_TRUE(n.link_set_up(ix, true).ok());
    n.set_carrier(ix, true);
    return ix;
  }

  // The segment: broadcast and multicast to every other host, unicast by destination MAC.
  void pump() {
    while (!wire_.empty()) {
      Sent s = std::move(wire_.front());
      wire_.pop_front();
      wire::EthernetConstView eth(s.frame);
      if (eth.check()) continue;
      MacAddr dst = eth.destination();
      for (size_t h = 0; h < hosts_.size(); ++h) {
        if (h == s.host) continue;
        if (dst.is_multicast() || dst == layout_.host_mac(h)) {
          hosts_[h]->receive(underlay_[h], s.frame, now_ns_);
        }
      }
    }
  }

  Layout& layout_;
  std::vector<std::unique_ptr<Node>> hosts_;
  std::vector<std::unique_ptr<HostIo>> ios_;
  std::vector<int> underlay_;
  std::deque<Sent> wire_;
  std::vector<Sent> sent_;
  uint64_t now_ns_ = 0;
};

struct Totals {
  uint64_t probes = 0, layouts = 0;
  uint64_t delivered_same_vpc = 0, delivered_peer = 0, denied = 0;
  uint64_t spoofed = 0, arp = 0, refused_subnet_routes = 0;
  uint64_t leaks = 0, losses = 0, corrupted = 0, silent_drops = 0, spoof_uncounted = 0;
  uint64_t config_errors = 0;
  uint64_t migrations = 0, stale_forwarded = 0, after_grace_denied = 0;
  uint64_t big_reassembled = 0, big_frag_needed = 0;
  std::vector<std::string> examples;  // the first few failures, with their layouts
  void note(const std::string& what, const Layout& l) {
    if (examples.size() < 8) examples.push_back(what + "\n" + l.describe());
  }
};

std::string vm_text(const Layout& l, size_t i) {
  const Vm& vm = l.vms[i];
  return "vm" + std::to_string(i) + " (vpc " + std::to_string(l.vpcs[vm.vpc].id) + " " +
         vm.ip.to_string() + " host " + std::to_string(vm.host) + ")";
}

// A destination: mostly VM addresses of any VPC, then addresses in the pool, then anything
// (underlay addresses, broadcast, multicast, loopback, random).
Ipv4Addr draw_destination(const Layout& l, std::mt19937_64& rng) {
  unsigned r = static_cast<unsigned>(rng() % 100);
  if (r < 70) return l.vms[rng() % l.vms.size()].ip;
  if (r < 85) return address_in(subnet_pool()[rng() % subnet_pool().size()], rng);
  if (r < 95) return Ipv4Addr(static_cast<uint32_t>(rng()));
  switch (rng() % 5) {
    case 0:
      return l.host_addr(rng() % l.hosts);
    case 1:
      return Ipv4Addr(0xffffffff);
    case 2:
      return ip("224.0.0.251");
    case 3:
      return ip("127.0.0.1");
    default:
      return Ipv4Addr(0);
  }
}

void run_layout(uint64_t seed, size_t probes, uint64_t first_probe_id, Totals& t) {
  Layout l = random_layout(seed);
  Fabric fabric(l);
  ++t.layouts;
  if (!fabric.configure()) {
    ++t.config_errors;
    return;
  }
  for (const SubnetRouteCommand& c : l.subnet_route_commands) {
    t.refused_subnet_routes += c.refused_for ? 1 : 0;
  }
  std::mt19937_64 rng(seed ^ 0x5eed5eed5eed5eedULL);
  const MacAddr vswitch_mac = l.vswitch_mac;
  for (size_t p = 0; p < probes; ++p) {
    if (p == l.migrate_at_probe) {
      for (Migration& m : l.migrations) {
        ++t.migrations;
        if (!fabric.migrate(m)) {
          ++t.config_errors;
          return;
        }
      }
    }
    const uint64_t id = first_probe_id + p;
    ++t.probes;
    size_t from = rng() % l.vms.size();
    // After the migrations, a quarter of the probes aim at a migrated VM from its stale host.
    std::optional<Ipv4Addr> aimed;
    if (p > l.migrate_at_probe && !l.migrations.empty() && rng() % 4 == 0) {
      const Migration& m = l.migrations[rng() % l.migrations.size()];
      std::vector<size_t> senders;
      for (size_t i = 0; i < l.vms.size(); ++i) {
        if (m.stale == l.vms[i].host && i != m.vm) senders.push_back(i);
      }
      if (!senders.empty()) {
        from = senders[rng() % senders.size()];
        aimed = l.vms[m.vm].ip;
      }
    }
    const Vm& s = l.vms[from];
    unsigned kind = static_cast<unsigned>(rng() % 100);

    if (kind < 2) {
      // ARP: answered by proxy on the asking port, and nowhere else.
      ++t.arp;
      Ipv4Addr target = draw_destination(l, rng);
      if (target == s.ip || target.is_unspecified()) target = ip("203.0.113.1");
      if (target == s.ip) continue;
      auto sent = fabric.inject(s, vpc::test::arp_request_frame(s.mac, s.ip, target));
      // Only unicast targets are answered (arp_process() ignores multicast and loopback).
      const bool answerable =
          !target.is_limited_broadcast() && !target.is_multicast() && (target.value() >> 24) != 127;
      bool answered = !answerable;
      for (const Fabric::Sent& f : sent) {
        auto arp =
            wire::ArpRepr::parse(wire::ArpConstView(wire::EthernetConstView(f.frame).payload()));
        wire::EthernetConstView eth(f.frame);
        bool right = f.host == s.host && f.ifindex == s.ifindex && !answered && arp &&
                     eth.destination() == s.mac && eth.source() == vswitch_mac &&
                     arp->operation == wire::ArpOperation::Reply &&
                     arp->sender_hardware_address == vswitch_mac &&
                     arp->sender_protocol_address == target &&
                     arp->target_hardware_address == s.mac && arp->target_protocol_address == s.ip;
        if (right) {
          answered = true;
        } else {
          ++t.leaks;
          t.note("ARP from " + vm_text(l, from) + " for " + target.to_string() +
                     ": unexpected frame on host " + std::to_string(f.host) + " ifindex " +
                     std::to_string(f.ifindex),
                 l);
        }
      }
      if (!answered) {
        ++t.losses;
        t.note("ARP from " + vm_text(l, from) + " for " + target.to_string() + ": no reply", l);
      }
      continue;
    }

    const bool big = kind >= 7 && kind < 10;
    const bool df = !big || rng() % 2 == 0;
    std::vector<std::byte> payload(big ? 1473 - 28 + rng() % 28 : kPayloadBytes);
    for (size_t i = 0; i < 8; ++i) payload[i] = static_cast<std::byte>(id >> (56 - 8 * i));
    for (size_t i = 8; i < payload.size(); ++i) payload[i] = static_cast<std::byte>(rng());
    const auto ttl = static_cast<uint8_t>(1 + rng() % 255);
    const auto tos = static_cast<uint8_t>(rng());

    if (kind < 7) {
      // Spoofed: another source address or another source MAC.  Destinations are VM addresses,
      // so that only port security can stop it.
      ++t.spoofed;
      Ipv4Addr src = s.ip;
      MacAddr smac = s.mac;
      if (rng() % 2 == 0) {
        while (src == s.ip) {
          src = rng() % 2 ? l.vms[rng() % l.vms.size()].ip : draw_destination(l, rng);
        }
      } else {
        smac = l.vms[rng() % l.vms.size()].mac;
        if (smac == s.mac) smac = MacAddr(0x02, 0x66, 0x66, 0x66, 0x66, 0x66);
      }
      Ipv4Addr dst = l.vms[rng() % l.vms.size()].ip;
      std::vector<std::byte> packet =
          vpc::test::udp_packet(src, dst, payload, ttl, static_cast<uint16_t>(id), tos);
      uint64_t before = fabric.host(s.host).drops().get(DropReason::VpcPortSecurity);
      auto sent = fabric.inject(
          s, vpc::test::ether_frame(vswitch_mac, smac, wire::EtherType::Ipv4, packet));
      for (const Fabric::Sent& f : sent) {
        ++t.leaks;
        t.note("spoofed probe " + std::to_string(id) + " from " + vm_text(l, from) + " as " +
                   src.to_string() + "/" + smac.to_string() + " to " + dst.to_string() +
                   " delivered on host " + std::to_string(f.host) + " ifindex " +
                   std::to_string(f.ifindex),
               l);
      }
      if (fabric.host(s.host).drops().get(DropReason::VpcPortSecurity) != before + 1) {
        ++t.spoof_uncounted;
        t.note("spoofed probe " + std::to_string(id) + ": VPC_PORT_SECURITY not counted once", l);
      }
      continue;
    }

    Ipv4Addr dst = aimed.value_or(draw_destination(l, rng));
    while (dst == s.ip) dst = draw_destination(l, rng);  // not to itself
    // The model's answer as an index, kNowhere for none.
    const size_t allowed = l.allowed(from, dst).value_or(kNowhere);
    size_t want = l.delivered(from, dst, fabric.now_ns() + 1000).value_or(kNowhere);
    if (want != allowed) ++t.after_grace_denied;
    bool via_stale = false;
    for (const Migration& m : l.migrations) {
      if (want != kNowhere && m.vm == want && m.at_ns != 0 && m.stale == s.host &&
          l.vms[want].host != s.host) {
        via_stale = true;
      }
    }
    // Too big to encapsulate with DF: refused at the sender, whatever the path after it.
    const bool frag_needed = big && df && allowed != kNowhere && l.vms[allowed].host != s.host;
    if (frag_needed) want = kNowhere;
    // A stale forward is a hop: one less TTL, and nothing with TTL 1 goes on.
    if (via_stale && want != kNowhere) {
      if (ttl <= 1) {
        want = kNowhere;
      } else {
        ++t.stale_forwarded;
      }
    }
    std::vector<std::byte> packet =
        vpc::test::udp_packet(s.ip, dst, payload, ttl, static_cast<uint16_t>(id), tos, df);
    std::vector<std::byte> expected = packet;
    if (via_stale && ttl > 1) wire::Ipv4View(expected).set_ttl(static_cast<uint8_t>(ttl - 1));
    uint64_t drops_before = fabric.drops_total();
    auto sent =
        fabric.inject(s, vpc::test::ether_frame(vswitch_mac, s.mac, wire::EtherType::Ipv4, packet));
    std::string what = "probe " + std::to_string(id) + " " + vm_text(l, from) + " -> " +
                       dst.to_string() +
                       " (model: " + (want != kNowhere ? vm_text(l, want) : "nowhere") + ")";
    size_t at_target = 0;
    size_t icmp_seen = 0;
    for (const Fabric::Sent& f : sent) {
      if (frag_needed && f.host == s.host && f.ifindex == s.ifindex && icmp_seen == 0) {
        // Fragmentation needed, from the destination to the sender, quoting the packet.
        ++icmp_seen;
        wire::EthernetConstView eth(f.frame);
        wire::Ipv4ConstView outer(eth.payload());
        bool good = !eth.check() && eth.destination() == s.mac && eth.source() == vswitch_mac &&
                    eth.ethertype() == wire::EtherType::Ipv4 && !outer.check() &&
                    outer.source() == dst && outer.destination() == s.ip;
        if (good) {
          wire::IcmpConstView icmp(outer.payload());
          good = !icmp.check() && icmp.type() == wire::IcmpType::DestinationUnreachable &&
                 icmp.code() == 4 && icmp.next_hop_mtu() == 1500 - VSwitch::kOverhead &&
                 icmp.data().size() >= 28 &&
                 std::equal(packet.begin(), packet.begin() + 28, icmp.data().begin());
        }
        if (!good) {
          ++t.corrupted;
          t.note(what + ": a wrong fragmentation-needed", l);
        }
        continue;
      }
      if (want != kNowhere && f.host == l.vms[want].host && f.ifindex == l.vms[want].ifindex) {
        ++at_target;
        wire::EthernetConstView eth(f.frame);
        bool intact = !eth.check() && eth.destination() == l.vms[want].mac &&
                      eth.source() == vswitch_mac && eth.ethertype() == wire::EtherType::Ipv4 &&
                      f.frame.size() == 14 + expected.size() &&
                      std::equal(expected.begin(), expected.end(), f.frame.begin() + 14);
        if (!intact || at_target > 1) {
          ++t.corrupted;
          t.note(what + ": delivered changed or twice", l);
        }
        continue;
      }
      ++t.leaks;
      t.note(what + ": delivered on host " + std::to_string(f.host) + " ifindex " +
                 std::to_string(f.ifindex),
             l);
    }
    if (frag_needed) {
      if (icmp_seen == 0) {
        ++t.losses;
        t.note(what + ": no fragmentation-needed", l);
      }
      ++t.big_frag_needed;
    } else if (want != kNowhere) {
      if (big && at_target > 0 && l.vms[want].host != s.host) ++t.big_reassembled;
      if (at_target == 0) {
        ++t.losses;
        t.note(what + ": lost", l);
      } else if (l.vms[want].vpc == s.vpc) {
        ++t.delivered_same_vpc;
      } else {
        ++t.delivered_peer;
      }
    } else {
      ++t.denied;
      if (fabric.drops_total() == drops_before) {
        ++t.silent_drops;
        t.note(what + ": not delivered, and no drop counted", l);
      }
    }
  }
}

TEST(VpcIsolation, RandomLayouts) {
  const uint64_t probes = env_u64("VNET_VPC_PROBES", 20000);
  const uint64_t seed = env_u64("VNET_VPC_SEED", 4);
  Totals t;
  auto start = std::chrono::steady_clock::now();
  for (uint64_t done = 0, layout = 0; done < probes; ++layout) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kProbesPerLayout, probes - done));
    run_layout(seed + layout, n, done + 1, t);
    done += n;
    if (t.config_errors > 0) break;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "vpc isolation: probes " << t.probes << " layouts " << t.layouts << " leaks "
            << t.leaks << " losses " << t.losses << " corrupted " << t.corrupted << " silent "
            << t.silent_drops << " spoof-uncounted " << t.spoof_uncounted << "\n"
            << "  delivered same-vpc " << t.delivered_same_vpc << " via-peering "
            << t.delivered_peer << " denied " << t.denied << " spoofed " << t.spoofed << " arp "
            << t.arp << " refused-subnet-routes " << t.refused_subnet_routes << "\n"
            << "  migrations " << t.migrations << " via-stale-route " << t.stale_forwarded
            << " denied-after-grace " << t.after_grace_denied << " big-reassembled "
            << t.big_reassembled << " big-frag-needed " << t.big_frag_needed << " (" << seconds
            << " s)\n";
  for (const std::string& e : t.examples) std::cout << e;
  EXPECT_EQ(t.config_errors, 0u);
  EXPECT_EQ(t.leaks, 0u);
  EXPECT_EQ(t.losses, 0u);
  EXPECT_EQ(t.corrupted, 0u);
  EXPECT_EQ(t.silent_drops, 0u);
  EXPECT_EQ(t.spoof_uncounted, 0u);
  // The layouts exercise what they are meant to.
  if (probes >= 10000) {
    EXPECT_GT(t.delivered_same_vpc, probes / 10);
    EXPECT_GT(t.delivered_peer, probes / 100);
    EXPECT_GT(t.denied, probes / 10);
    EXPECT_GT(t.spoofed, probes / 50);
    EXPECT_GT(t.refused_subnet_routes, 0u);
    EXPECT_GT(t.stale_forwarded, 0u);
    EXPECT_GT(t.after_grace_denied, 0u);
    EXPECT_GT(t.big_reassembled, 0u);
    EXPECT_GT(t.big_frag_needed, 0u);
  }
}

// The model itself, on a hand-made layout: the rules it encodes, one by one.
TEST(VpcIsolation, ModelRules) {
  Layout l;
  l.hosts = 2;
  l.vpcs = {{1, {pfx("10.0.1.0/24")}, {}},
            {2, {pfx("172.16.0.0/24")}, {}},
            {3, {pfx("172.16.0.0/28")}, {}},
            {4, {pfx("10.0.1.0/24")}, {}}};
  auto add_vm = [&](size_t vpc, const char* a) {
    Vm vm;
    vm.vpc = vpc;
    vm.ip = ip(a);
    l.vm_at[{vpc, vm.ip.value()}] = l.vms.size();
    l.vms.push_back(vm);
  };
  add_vm(0, "10.0.1.5");     // 0
  add_vm(0, "10.0.1.6");     // 1
  add_vm(1, "172.16.0.5");   // 2
  add_vm(2, "172.16.0.5");   // 3
  add_vm(3, "10.0.1.6");     // 4
  add_vm(1, "172.16.0.20");  // 5
  // 1 <-> 2 both sides; 1 -> 3 longer but one-sided; 4 -> 2 one-sided.
  l.vpcs[0].subnet_routes = {{pfx("172.16.0.0/24"), 2}, {pfx("172.16.0.0/28"), 3}};
  l.vpcs[1].subnet_routes = {{pfx("10.0.1.0/24"), 1}};
  l.vpcs[3].subnet_routes = {{pfx("172.16.0.0/24"), 2}};
  EXPECT_EQ(l.allowed(0, ip("10.0.1.6")), std::optional<size_t>(1));  // same VPC
  EXPECT_EQ(l.allowed(4, ip("10.0.1.5")), std::nullopt);              // VPC 4 has no 10.0.1.5
  // The /28 to VPC 3 wins, and VPC 3 has no way back: nothing, not VPC 2's 172.16.0.5.
  EXPECT_EQ(l.allowed(0, ip("172.16.0.5")), std::nullopt);
  EXPECT_EQ(l.allowed(0, ip("172.16.0.20")), std::optional<size_t>(5));  // the /24 to VPC 2
  EXPECT_EQ(l.allowed(5, ip("10.0.1.6")), std::optional<size_t>(1));     // VPC 2 back to VPC 1
  // From 172.16.0.5 the way back is VPC 1's longer /28, which names VPC 3, not VPC 2.
  EXPECT_EQ(l.allowed(2, ip("10.0.1.6")), std::nullopt);
  EXPECT_EQ(l.allowed(3, ip("10.0.1.6")), std::nullopt);  // VPC 3 has no route
  // VPC 4 -> 2 is one-sided: VPC 2's route for 10.0.1.0/24 names VPC 1, not 4.
  EXPECT_EQ(l.allowed(4, ip("172.16.0.20")), std::nullopt);
}

// ---- the underlay side of the property: what a vSwitch accepts from GRE ----

// One host (10.10.1.9, eth0) with vm1 (10.0.1.5, port vm1p) of VPC `id`, which also has
// 10.0.1.6 on host 10.10.1.10; GRE packets are handed to eth0 as if from 10.10.1.10.
class UnderlayHost : public NodeIo {
 public:
  explicit UnderlayHost(uint32_t id) {
    node_.set_io(this);
    EXPECT_TRUE(node_.link_add_external("eth0", kHostMac).ok());
    EXPECT_TRUE(node_.link_add_external("vm1p").ok());
    for (const char* dev : {"eth0", "vm1p"}) {
      int ix = node_.device_by_name(dev)->ifindex;
      EXPECT_TRUE(node_.link_set_up(ix, true).ok());
      node_.set_carrier(ix, true);
    }
    cmd::Shell shell(node_);
    EXPECT_EQ(shell.run("ip link set lo up && ip addr add 10.10.1.9/24 dev eth0").status, 0);
    const std::string vpc = " vpc " + std::to_string(id);
    for (const std::string& line : {std::string("vpc local 10.10.1.9"),
                                    "vpc add " + std::to_string(id) + " subnet 10.0.1.0/24",
                                    "vpc route add 10.0.1.5 host 10.10.1.9" + vpc,
                                    "vpc route add 10.0.1.6 host 10.10.1.10" + vpc,
                                    "vpc neigh add 10.0.1.5 lladdr 52:54:00:00:00:05" + vpc,
                                    "vpc port add vm1p vm 10.0.1.5" + vpc}) {
      cmd::CmdOutput o = shell.run(line);
      EXPECT_EQ(o.status, 0) << line << ": " << o.err;
    }
  }
  void transmit(int ifindex, std::span<const std::byte> frame) override {
    if (ifindex == node_.device_by_name("vm1p")->ifindex) {
      to_vm_.emplace_back(frame.begin(), frame.end());
    }
  }
  // GRE key `key` from 10.10.1.10 carrying UDP inner_src -> 10.0.1.5; returns the frames vm1
  // got.
  std::vector<std::vector<std::byte>> gre(uint32_t key, Ipv4Addr inner_src) {
    std::vector<std::byte> payload(kPayloadBytes, std::byte{0x77});
    std::vector<std::byte> inner = vpc::test::udp_packet(inner_src, ip("10.0.1.5"), payload);
    wire::GreRepr g;
    g.key = key;
    wire::Ipv4Repr outer;
    outer.source = ip("10.10.1.10");
    outer.destination = ip("10.10.1.9");
    outer.protocol = wire::IpProtocol::Gre;
    outer.payload_len = static_cast<uint16_t>(g.buffer_len() + inner.size());
    outer.identification = 99;
    std::vector<std::byte> packet(outer.buffer_len() + g.buffer_len() + inner.size());
    EXPECT_FALSE(outer.emit(packet).has_value());
    EXPECT_FALSE(g.emit(std::span(packet).subspan(outer.buffer_len())).has_value());
    std::copy(inner.begin(), inner.end(), packet.begin() + 20 + g.buffer_len());
    to_vm_.clear();
    now_ns_ += 1000;
    node_.receive(node_.device_by_name("eth0")->ifindex,
                  vpc::test::ether_frame(kHostMac, MacAddr(0x02, 0, 0x0a, 0x0a, 0x01, 0x0a),
                                         wire::EtherType::Ipv4, packet),
                  now_ns_);
    return std::move(to_vm_);
  }
  Node& node() { return node_; }

 private:
  static constexpr MacAddr kHostMac = MacAddr(0x02, 0x00, 0x0a, 0x0a, 0x01, 0x09);
  Node node_;
  std::vector<std::vector<std::byte>> to_vm_;
  uint64_t now_ns_ = 0;
};

TEST(VpcUnderlay, KeyAndSourceChecks) {
  for (uint32_t id : {0u, 7u, 6289u, UINT32_MAX}) {
    SCOPED_TRACE(testing::Message() << "vpc " << id);
    UnderlayHost h(id);
    // A source the VPC knows: delivered, with vm1's MAC.
    auto got = h.gre(id, ip("10.0.1.6"));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(wire::EthernetConstView(got[0]).destination(), MacAddr(0x52, 0x54, 0, 0, 0, 5));
    // Another key: no such VPC here; the same address in a VPC that is not vm1's.
    EXPECT_TRUE(h.gre(id + 1, ip("10.0.1.6")).empty());
    EXPECT_EQ(h.node().drops().get(DropReason::VpcUnknownKey), 1u);
    // A source the VPC does not know.
    EXPECT_TRUE(h.gre(id, ip("10.0.9.9")).empty());
    EXPECT_EQ(h.node().drops().get(DropReason::VpcSrcDenied), 1u);
    if (id != UINT32_MAX) {
      // The broadcast source (VpcUnderlay.BroadcastSourceInLastVpc has the last VPC).
      EXPECT_TRUE(h.gre(id, Ipv4Addr(0xffffffff)).empty());
      EXPECT_EQ(h.node().drops().get(DropReason::VpcSrcDenied), 2u);
    }
  }
}

TEST(VpcUnderlay, BroadcastSourceInLastVpc) {
  UnderlayHost h(UINT32_MAX);
  EXPECT_TRUE(h.gre(UINT32_MAX, Ipv4Addr(0xffffffff)).empty());
  EXPECT_EQ(h.node().drops().get(DropReason::VpcSrcDenied), 1u);
}

}  // namespace
}  // namespace vnet::stack
