// libFuzzer target for the whole node: a configured router receives arbitrary frames on its
// interfaces (and runs its timers), and must never crash, hang or corrupt memory whatever the
// bytes.  The router is also an IPVS director (virtual services on 198.51.100.10 with tunnel
// (IPIP, GUE, GRE), direct-routing, NAT, persistent and one-packet UDP real servers) and does
// MASQUERADE, so fuzzed packets reach scheduling, the connection table, every transmitter and
// the NAT reply path.  The input's first byte picks the interface; the rest is one frame.  A few
// fixed frames prefixes (Ethernet to our MAC, broadcast) are mixed in by the second byte so the
// fuzzer reaches ARP and IPv4 quickly.  It is also a VPC host: two VM ports (vm1, vm2) of a
// vSwitch with overlapping VPCs, a peering and a migrated VM, and keyed GRE to 192.0.2.1 reaches
// its decapsulation.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "cmd/shell.h"
#include "stack/node.h"

namespace {

struct Sink : vnet::stack::NodeIo {
  void transmit(int, std::span<const std::byte> frame) override { bytes += frame.size(); }
  size_t bytes = 0;
};

struct Router {
  Router() {
    node.set_io(&sink);
    vnet::cmd::Shell sh(node);
    for (const char* line : {
             "ip link set lo up",
             "ip link add eth0 type veth peer name eth0p",
             "ip link add eth1 type veth peer name eth1p",
             "ip link set eth0 up",
             "ip link set eth0p up",
             "ip link set eth1 up",
             "ip link set eth1p up",
             "ip addr add 192.0.2.1/24 dev eth0",
             "ip addr add 198.51.100.1/24 dev eth1",
             "sysctl -qw net.ipv4.ip_forward=1",
             "ip route add 203.0.113.0/24 via 198.51.100.2",
             "ip route add unreachable 10.0.0.0/8",
             "ip rule add from 192.0.2.128/25 table 100",
             "ip route add default via 192.0.2.254 table 100",
             "sysctl -qw net.ipv4.conf.all.rp_filter=1",
             "iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE",
             "ip addr add 198.51.100.10/32 dev eth1",
             "ipvsadm -A -t 198.51.100.10:80 -s rr",
             "ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.10 -i",
             "ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.11 -g -x 4",
             "ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.12:8080 -m",
             "ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.13 -i --tun-type gue --tun-port 6080 "
             "--tun-csum",
             "ipvsadm -a -t 198.51.100.10:80 -r 192.0.2.14 -i --tun-type gre --tun-csum",
             "ipvsadm -A -t 198.51.100.10:443 -s mh -p 60 -M 255.255.255.0",
             "ipvsadm -a -t 198.51.100.10:443 -r 192.0.2.10 -i",
             "ipvsadm -a -t 198.51.100.10:443 -r 192.0.2.12 -m -w 0",
             "ipvsadm -A -t 198.51.100.10:0 -s wlc -p 30",
             "ipvsadm -a -t 198.51.100.10:0 -r 192.0.2.11 -g",
             "ipvsadm -A -u 198.51.100.10:53 -s sh -o",
             "ipvsadm -a -u 198.51.100.10:53 -r 192.0.2.12 -m",
             "ipvsadm -a -u 198.51.100.10:53 -r 192.0.2.10 -i",
             "sysctl -qw net.ipv4.vs.expire_nodest_conn=1 net.ipv4.vs.nat_icmp_send=1",
             // A vSwitch: two VM ports in two VPCs sharing an address, a peering, routes to a
             // remote host, a moved VM.
             "ip link add vm1 type veth peer name vm1p",
             "ip link add vm2 type veth peer name vm2p",
             "ip link set vm1 up",
             "ip link set vm1p up",
             "ip link set vm2 up",
             "ip link set vm2p up",
             "vpc local 192.0.2.1",
             "vpc add 100 subnet 10.0.1.0/24",
             "vpc add 200 subnet 10.0.1.0/24",
             "vpc add 300 subnet 172.16.0.0/16",
             "vpc route add 10.0.1.10 host 192.0.2.1 vpc 100",
             "vpc route add 10.0.1.20 host 192.0.2.7 vpc 100",
             "vpc route add 10.0.1.10 host 192.0.2.1 vpc 200",
             "vpc route add 172.16.0.47 host 192.0.2.8 vpc 300",
             "vpc route add 10.0.1.30 host 192.0.2.1 vpc 100",
             "vpc route change 10.0.1.30 host 192.0.2.9 vpc 100",
             "vpc neigh add 10.0.1.10 lladdr 52:54:00:00:00:01 vpc 100",
             "vpc neigh add 10.0.1.10 lladdr 52:54:00:00:00:02 vpc 200",
             "vpc port add vm1 vm 10.0.1.10 vpc 100",
             "vpc port add vm2 vm 10.0.1.10 vpc 200",
             "vpc subnet-route add 172.16.0.0/16 peer 300 vpc 100",
             "vpc subnet-route add 10.0.1.0/24 peer 100 vpc 300",
         }) {
      sh.run(line);
    }
  }
  Sink sink;
  vnet::stack::Node node;
  uint64_t now = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Router* r = new Router();  // state carries over between inputs, like a real router
  if (size < 2 || size > 9000) return 0;
  const auto& devices = r->node.devices();
  int ifindex = 1 + static_cast<int>(data[0] % devices.size());
  std::vector<std::byte> frame;
  const vnet::stack::Device* dev = r->node.device(ifindex);
  uint8_t mode = data[1] % 4;
  if (dev != nullptr && mode != 0) {
    // Prefix a plausible Ethernet header: to our MAC or broadcast, EtherType IPv4 or ARP; on a
    // VM port from the VM's MAC to the vSwitch's, so frames get past port security.
    vnet::net::MacAddr dst = mode == 1 ? dev->mac : vnet::net::MacAddr::broadcast();
    vnet::net::MacAddr src(2, 2, 2, 2, 2, 2);
    if (const vnet::vpc::VmPort* port = r->node.vswitch_if_loaded()->port(ifindex)) {
      if (mode == 1) dst = r->node.vswitch_if_loaded()->mac();
      src = port->mac;
    }
    for (int i = 0; i < 6; ++i) frame.push_back(static_cast<std::byte>(dst[i]));
    for (int i = 0; i < 6; ++i) frame.push_back(static_cast<std::byte>(src[i]));
    frame.push_back(std::byte{0x08});
    frame.push_back(mode == 3 ? std::byte{0x06} : std::byte{0x00});
  }
  for (size_t i = 2; i < size; ++i) frame.push_back(static_cast<std::byte>(data[i]));
  r->now += 1'000'000;
  r->node.receive(ifindex, frame, r->now);
  if (r->node.next_deadline_ns() <= r->now + 5'000'000'000ull)
    r->node.run_timers(r->now + 5'000'000'000ull);
  return 0;
}
