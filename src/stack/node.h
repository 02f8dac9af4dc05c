// Node: one Linux-faithful IPv4 network stack (what a network namespace holds): interfaces,
// addresses, neighbours, sysctls, routing tables and rules, and route resolution for `ip route
// get` (ip_route_output_key / ip_route_input_slow in net/ipv4/route.c).
//
// Inputs: typed configuration requests from cmd/ (already parsed), and flows to resolve.
// Outputs: a Status (0 or a negative errno plus the kernel's extack message, if any) and, for
// resolutions, a RouteAnswer that cmd/ prints as iproute2 does.  A Node makes no system calls
// and reads no clock.
//
// Example: Node n; n.link_set_up(1, true) gives lo 127.0.0.1/8 and its local routes, as
// bringing lo up in a fresh namespace does.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fib/fib.h"
#include "lb/ipvs_table.h"
#include "net/ipv4_addr.h"
#include "nf/netfilter.h"
#include "stack/drop_reason.h"
#include "stack/node_io.h"
#include "stack/sysctl.h"
#include "stack/tcp.h"
#include "stack/trace.h"
#include "vpc/vswitch.h"

namespace vnet::stack {

using net::Ipv4Addr;
using net::MacAddr;
using net::Prefix;

// Result of a control operation: err is 0 or a negative errno; message is the kernel's extack
// text (iproute2 prints "Error: <message>." when present, else "RTNETLINK answers: <strerror>").
struct Status {
  int err = 0;
  std::string message;
  bool ok() const { return err == 0; }
  static Status error(int e, std::string msg = {}) { return Status{e, std::move(msg)}; }
};

// Ether: an Ethernet port whose far end is outside the node (a lab link, a real interface);
// its carrier is set by the driver.
enum class LinkKind { Loopback, Veth, Dummy, Ether, Bridge, Ipip, Gre, Vxlan, Other };

// IFA_F_* flags.
namespace ifa_flags {
inline constexpr uint32_t kSecondary = 0x01;
inline constexpr uint32_t kNoPrefixRoute = 0x200;
inline constexpr uint32_t kPermanent = 0x80;
}  // namespace ifa_flags

struct IfAddr {
  Ipv4Addr local;
  Ipv4Addr address;  // the peer for point-to-point addresses, else == local
  int prefixlen = 32;
  Ipv4Addr broadcast;
  uint8_t scope = fib::scope::kUniverse;
  uint32_t flags = ifa_flags::kPermanent;
  std::string label;
  uint32_t metric = 0;  // ifa_rt_priority
  bool has_peer() const { return address != local; }
  uint32_t mask() const { return net::prefix_mask(prefixlen); }
  // inet_ifa_match()
  bool matches(Ipv4Addr a) const { return ((a.value() ^ address.value()) & mask()) == 0; }
};

// IFF_* flags as `ip link` prints them.
namespace iff {
inline constexpr uint32_t kUp = 0x1;
inline constexpr uint32_t kBroadcast = 0x2;
inline constexpr uint32_t kLoopback = 0x8;
inline constexpr uint32_t kPointToPoint = 0x10;
inline constexpr uint32_t kNoArp = 0x80;
inline constexpr uint32_t kRunning = 0x40;
inline constexpr uint32_t kMulticast = 0x1000;
inline constexpr uint32_t kLowerUp = 0x10000;
}  // namespace iff

// IPIP/GRE parameters (struct ip_tunnel_parm as `ip tunnel` sets them) and VXLAN configuration
// (`ip link add type vxlan`).  Keys are host-order values.
struct TunnelParams {
  Ipv4Addr local, remote;  // 0.0.0.0: any
  int link = 0;            // underlay ifindex (`dev D`), 0: none
  uint8_t ttl = 0;         // 0: inherit from the inner packet (VXLAN: 0 is "auto", 64)
  uint8_t tos = 0;         // bit 0: inherit the inner TOS
  bool pmtudisc = true;    // outer DF set
  std::optional<uint32_t> ikey, okey;
  bool icsum = false, ocsum = false, iseq = false, oseq = false;
  bool fallback = false;  // tunl0 / gre0
  // VXLAN
  uint32_t vni = 0;
  uint16_t dstport = 8472;
  uint16_t port_min = 0, port_max = 0;  // `srcport MIN MAX`; 0 0: the ephemeral range
  bool learning = true;
  bool udpcsum = true;
  uint32_t ageing_s = 300;
  // Runtime state.
  uint32_t i_seqno = 0;  // next sequence number expected (0: accept any)
  uint32_t o_seqno = 0;  // next sequence number sent (the kernel starts at 0)
};

// One VXLAN forwarding entry: inner MAC -> remote VTEP (all-zeros MAC: the default remotes).
struct FdbEntry {
  MacAddr mac;
  Ipv4Addr dst;
  uint16_t port = 0;  // 0: the device's dstport
  uint32_t vni = 0;   // 0: the device's VNI
  int via = 0;        // underlay ifindex for the default remote of `remote R dev D`
  bool permanent = true;
  uint64_t updated_ns = 0;
};

// Error counters that `ip -s link` and `ip -s tunnel` show (rtnl_link_stats64 names).
struct DeviceErrors {
  uint64_t rx_errors = 0, rx_crc_errors = 0, rx_frame_errors = 0, rx_fifo_errors = 0;
  uint64_t tx_errors = 0, tx_carrier_errors = 0, tx_fifo_errors = 0, collisions = 0;
  uint64_t multicast = 0;
};

struct Device {
  int ifindex = 0;
  std::string name;
  LinkKind kind = LinkKind::Other;
  uint32_t flags = 0;    // administrative IFF_* flags (kUp, kBroadcast, ...)
  bool carrier = false;  // physical/peer state
  int mtu = 1500;
  int txqlen = 1000;
  MacAddr mac;
  MacAddr broadcast_mac = MacAddr::broadcast();
  int peer_ifindex = 0;  // veth peer
  bool ever_up = false;  // a qdisc is attached at the first up and stays
  // Interface statistics (`ip -s link`).
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0, rx_multicast = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
  DeviceErrors errors;
  std::vector<IfAddr> addrs;           // kernel order: primaries by scope, then secondaries
  std::optional<TunnelParams> tunnel;  // Ipip, Gre, Vxlan
  std::vector<FdbEntry> fdb;           // Vxlan

  bool is_ip_tunnel() const { return kind == LinkKind::Ipip || kind == LinkKind::Gre; }

  bool up() const { return (flags & iff::kUp) != 0; }
  bool carrier_ok() const { return up() && carrier; }
  bool is_loopback() const { return kind == LinkKind::Loopback; }
};

enum class NeighState : uint16_t {
  Incomplete = 0x01,
  Reachable = 0x02,
  Stale = 0x04,
  Delay = 0x08,
  Probe = 0x10,
  Failed = 0x20,
  Noarp = 0x40,
  Permanent = 0x80,
  None = 0x00,
};
// iproute2's name for a state: "REACHABLE", "STALE", ... ("NONE" for anything else).
const char* neigh_state_name(NeighState s);

struct Neighbour {
  Ipv4Addr dst;
  int ifindex = 0;
  std::optional<MacAddr> lladdr;
  NeighState state = NeighState::Permanent;
  bool router = false;
  bool proxy = false;
  // Dynamic state (net/core/neighbour.c): when it was last updated/confirmed, the next timer,
  // probes sent, and IP packets waiting for resolution.
  uint64_t updated_ns = 0;
  uint64_t confirmed_ns = 0;
  uint64_t timer_ns = 0;  // 0: no timer
  int probes = 0;
  uint64_t reachable_ns = 0;  // this entry's randomised reachable time
  std::deque<std::vector<std::byte>> queue;
};

// What `ip route get` resolves to (an rtable plus the flow it was resolved for).
struct RouteAnswer {
  fib::RouteType type = fib::RouteType::Unicast;
  Ipv4Addr dst;
  Ipv4Addr src;      // flow source as given ("from")
  Ipv4Addr prefsrc;  // chosen source (output routes)
  std::optional<Ipv4Addr> gateway;
  int oif = 0;  // device of the result (lo for local deliveries)
  int iif = 0;  // input device for input-route queries
  uint32_t table = 0;
  uint8_t tos = 0;  // the matched route's tos
  uint32_t mark = 0;
  bool input = false;
  bool local = false;      // RTCF_LOCAL
  bool broadcast = false;  // RTCF_BROADCAST
  bool multicast = false;  // RTCF_MULTICAST
  bool redirect = false;   // RTCF_DOREDIRECT
  int error = 0;           // dst.error for unreachable input routes
  bool no_route = false;   // input: the kernel built an unreachable route (ip_error() applies)
  std::optional<DropReason> drop;  // why a failed resolution drops the packet
  uint32_t mtu = 0;
  uint64_t pmtu_expires_ns = 0;  // a learned path MTU (a cached exception) applies until then
  // fibmatch: the FIB entry itself.
  const fib::Route* fib_route = nullptr;
  // Decision log for `vnet trace`-style explanations.
  std::vector<std::string> trace;
};

struct RouteQuery {
  Ipv4Addr dst;
  Ipv4Addr src;
  int iif = 0;
  int oif = 0;
  uint32_t mark = 0;
  uint8_t tos = 0;
  bool fibmatch = false;
  bool trace = false;  // collect RouteAnswer::trace (costly; only when tracing)
};

struct IpvsFlow;  // node_ipvs.cc

class Node {
 public:
  Node();
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // ---- devices ----
  const Device* device(int ifindex) const;
  Device* device(int ifindex);
  const Device* device_by_name(std::string_view name) const;
  const std::map<int, Device>& devices() const { return devices_; }
  // `ip link add NAME type veth peer name PEER` and friends.  MACs come from a deterministic
  // per-node sequence.
  Status link_add(const std::string& name, LinkKind kind, const std::string& peer_name = {});
  // `unregister_fallback`: also tunl0/gre0, as unloading their module does.
  Status link_del(int ifindex, bool unregister_fallback = false);
  Status link_set_up(int ifindex, bool up);
  Status link_set_mtu(int ifindex, int mtu);
  Status link_set_mac(int ifindex, MacAddr mac);
  Status link_set_name(int ifindex, const std::string& name);
  // The loopback device's ifindex (always 1).
  static constexpr int kLoopbackIfindex = 1;

  // ---- tunnels (node_tunnel.cc) ----
  // `ip tunnel add` (ioctl) and `ip link add type ipip|gre|vxlan` (netlink).  Loads the module
  // first, as the kernel's autoload does, so tunl0/gre0 appear beside the first tunnel.
  Status tunnel_add(const std::string& name, LinkKind kind, TunnelParams params);
  // SIOCCHGTUNNEL / changelink: new endpoints, keys, ttl...; the MTU follows a new underlay.
  Status tunnel_change(int ifindex, TunnelParams params);
  // modprobe: "ipip" creates tunl0 and "ip_gre" gre0 (fallback devices that take packets no
  // other tunnel claims); other names are remembered and have no effect.
  void load_module(const std::string& module);
  // modprobe -r: ipip and ip_gre take their devices (tunl0, gre0 and every tunnel) with them;
  // ip_vs forgets its services and connections.  -EBUSY while another module uses it (a
  // scheduler module holds ip_vs, as lsmod's "Used by" shows).
  int unload_module(const std::string& module);
  bool module_loaded(const std::string& module) const { return modules_.count(module) != 0; }
  const std::set<std::string>& loaded_modules() const { return modules_; }
  // The MTU ip_tunnel_bind_dev() / vxlan_config_apply() derive from the underlay.
  int tunnel_bind_mtu(const Device& dev) const;
  // Bytes the encapsulation adds in front of the inner packet (IPIP 20, GRE 24..36, VXLAN 50).
  static int tunnel_overhead(const Device& dev);
  // The flow hash behind a VXLAN device's outer UDP source port, for an inner IPv4 packet whose
  // header passed its checks: FNV-1a over the protocol, the addresses and, for an unfragmented
  // TCP or UDP packet, the ports.
  static uint32_t vxlan_flow_hash_ipv4(std::span<const std::byte> ip);
  // `bridge fdb add|append|replace|del` on a VXLAN device.
  enum class FdbOp { Add, Append, Replace };
  Status fdb_add(int ifindex, const FdbEntry& entry, FdbOp op);
  Status fdb_del(int ifindex, MacAddr mac, std::optional<Ipv4Addr> dst);

  // ---- addresses ----
  Status addr_add(int ifindex, IfAddr addr, bool replace = false);
  // Deletes the first address matching; prefixlen < 0 means any (wildcard deletion).
  Status addr_del(int ifindex, Ipv4Addr local, int prefixlen, std::optional<Ipv4Addr> peer,
                  const std::string& label);
  // inet_addr_type_table(): RTN_LOCAL if addr is local in the given table, etc.
  fib::RouteType addr_type(Ipv4Addr addr, uint32_t table_id, int ifindex = 0) const;
  // inet_select_addr()
  Ipv4Addr select_addr(int ifindex, Ipv4Addr dst, uint8_t scope) const;
  bool is_local_address(Ipv4Addr addr) const;

  // ---- routes ----
  struct RouteRequest {
    fib::Route route;
    unsigned nlm_flags = 0;
    bool has_prefsrc = false;
    int oif = 0;  // RTA_OIF for single-path requests
    std::optional<Ipv4Addr> gateway;
    bool onlink = false;
    struct Hop {
      int ifindex = 0;
      std::optional<Ipv4Addr> gateway;
      int weight = 1;
      bool onlink = false;
    };
    std::vector<Hop> multipath;  // non-empty: RTA_MULTIPATH
  };
  Status route_add(const RouteRequest& request);
  Status route_del(uint32_t table_id, const fib::DeleteSpec& spec);
  // Changes go through route_add/route_del/rule_add/rule_del (they bump the generation).
  const fib::Fib& fib() const { return fib_; }

  // ---- rules ----
  Status rule_add(fib::Rule rule, bool user_priority);
  Status rule_del(const fib::RuleDeleteSpec& spec);

  // ---- neighbours ----
  Status neigh_add(const Neighbour& n, bool replace, bool create, bool excl);
  Status neigh_del(int ifindex, Ipv4Addr dst);
  const std::list<Neighbour>& neighbours() const { return neighbours_; }

  // ---- sysctls ----
  // Writes go through sysctl_set(), which also bumps the configuration generation.
  const Sysctls& sysctls() const { return sysctls_; }
  // Effective per-device values (IN_DEV_* macros).
  int rp_filter(int ifindex) const;        // max(all, dev)
  bool forwarding(int ifindex) const;      // dev's value (all copies into every device)
  bool accept_local(int ifindex) const;    // all || dev
  bool send_redirects(int ifindex) const;  // all || dev
  bool shared_media(int ifindex) const;
  bool route_localnet(int ifindex) const;
  bool src_valid_mark(int ifindex) const;  // all || dev

  // ---- path MTU (route exceptions learned from ICMP fragmentation-needed) ----
  // __ip_rt_update_pmtu(): lowers the path MTU towards dst for ip_rt_mtu_expires (600 s); at
  // least ip_rt_min_pmtu (552).  `ip route flush cache` forgets them.
  void update_pmtu(Ipv4Addr dst, uint32_t mtu);
  void flush_route_cache() { pmtu_.clear(); }

  // ---- resolution ----
  // `ip route get`: returns 0 and fills *answer, or a negative errno.
  //
  // Answers to queries without tracing come from a route cache when they can: 256 entries in
  // sets of two, found by a hash of the whole query, each valid for one configuration generation.
  // Every change to devices (links, carrier, MTU, names), addresses, routes, rules, tunnels,
  // modules and sysctls bumps the generation (a ConfigChange in each mutator, at its start and
  // its end), so a cached answer is always the one a fresh resolution would give; learned path
  // MTUs are applied after the cache.  With VNET_ROUTE_CACHE_VERIFY=1 in the environment every
  // hit is resolved again and compared, and a difference aborts with both answers (the test
  // suites run that way).
  int route_get(const RouteQuery& query, RouteAnswer* answer) const;
  struct RouteCacheStats {
    uint64_t hits = 0;
    uint64_t misses = 0;
  };
  const RouteCacheStats& route_cache_stats() const { return route_cache_stats_; }
  static constexpr size_t kRouteCacheSize = 256;
  // Off: every query is resolved afresh (benchmarks measure the cache against this).
  void set_route_cache(bool on) { route_cache_on_ = on; }
  uint64_t config_generation() const { return config_gen_; }

  // ---- packet I/O (driven by the simulator or vnetd; see node_io.h) ----
  void set_io(NodeIo* io) { io_ = io; }
  // A frame arrived on ifindex at now_ns.
  void receive(int ifindex, std::span<const std::byte> frame, uint64_t now_ns);
  // Frames that arrived together on ifindex at now_ns: the same as receive() for each in turn,
  // in order, but plainly forwarded packets go through the fast path's stages a burst at a time
  // (node_fastpath.cc).  The frames need to stay valid only during the call.
  void receive_burst(int ifindex, std::span<const std::span<const std::byte>> frames,
                     uint64_t now_ns);
  static constexpr size_t kMaxBurst = 256;
  // The same with one offload header per frame (`offloads` as long as `frames`), as vnetd reads
  // them with PACKET_VNET_HDR.  A TCPv4 or UDP L4 GSO super-frame, or a frame with a partial
  // checksum, is forwarded whole where the kernel forwards such an skb whole: a plain IPv4
  // forward out of an Ethernet device whose every segment fits the route's MTU (as
  // skb_gso_validate_network_len() checks), without netfilter, IPVS or tracing.  It then goes
  // out with its header (NodeIo::transmit_burst_offload) and counts as one packet, as an skb
  // does.  Anything else is cut and completed first (wire::resolve_offloads) and its segments
  // are received in its place; a header its bytes contradict is an OFFLOAD_INVALID drop.
  void receive_burst(int ifindex, std::span<const std::span<const std::byte>> frames,
                     uint64_t now_ns, std::span<const wire::VirtioNetHdr> offloads);
  // Off: every frame takes the per-packet path (the differential tests compare the two).
  void set_fast_path(bool on) { fast_path_on_ = on; }
  struct FastPathStats {
    uint64_t bursts = 0;    // runs of frames that went through the stages together
    uint64_t fast = 0;      // packets forwarded by the fast path from end to end
    uint64_t fallback = 0;  // packets the fast path handed to the per-packet path
  };
  const FastPathStats& fast_path_stats() const { return fast_stats_; }
  // Bytes of fragments waiting for reassembly (bounded by ipfrag_high_thresh, 4 MiB).
  size_t reassembly_bytes() const { return reassembly_bytes_; }
  struct OffloadStats {
    uint64_t whole = 0;     // offloaded frames forwarded whole, with their header
    uint64_t cut = 0;       // offloaded frames cut or completed before the stack took them
    uint64_t segments = 0;  // frames that cutting made
  };
  const OffloadStats& offload_stats() const { return offload_stats_; }
  // The earliest time run_timers() must be called, or kNoDeadline.
  uint64_t next_deadline_ns() const;
  void run_timers(uint64_t now_ns);
  // An Ether device whose far end lives elsewhere (created up=false, no addresses).
  Status link_add_external(const std::string& name, std::optional<MacAddr> mac = std::nullopt);
  // The far end of an Ether device came up or went down.
  void set_carrier(int ifindex, bool carrier);

  // ---- applications (probes) on the node ----
  // A locally delivered ICMP or UDP packet, as a listener sees it.
  struct Delivered {
    uint64_t time_ns = 0;
    int ifindex = 0;
    Ipv4Addr src, dst;
    uint8_t ttl = 0, tos = 0;
    uint8_t protocol = 0;
    std::span<const std::byte> l4;  // the transport header and payload
  };
  // Returns true when it consumed the packet (a UDP socket that exists); ICMP echo requests are
  // answered by the node whatever listeners return.
  using Listener = std::function<bool(const Delivered&)>;
  int add_listener(Listener listener);
  void remove_listener(int id);
  // A callback at virtual time at_ns (ordered by time, then by id).
  int add_timer(uint64_t at_ns, std::function<void(uint64_t)> fn);
  void cancel_timer(int id);
  // An ARP packet seen on an interface, for arping.
  using ArpListener = std::function<void(int ifindex, const std::vector<std::byte>& arp, uint64_t)>;
  int add_arp_listener(ArpListener listener);
  void remove_arp_listener(int id);

  // Locally generated packets (ip_local_out).  Returns 0 or a negative errno from routing.
  struct OutPacket {
    Ipv4Addr dst;
    Ipv4Addr src;  // 0: chosen by routing
    int oif = 0;   // bind to device (-I)
    uint8_t ttl = 64;
    uint8_t tos = 0;
    bool dont_fragment = true;
    // IP_PMTUDISC_WANT (ping's default): DF only when the datagram fits the route's MTU; larger
    // ones are fragmented locally (__ip_make_skb()).
    bool pmtudisc_want = false;
    uint8_t protocol = 1;
    std::vector<std::byte> l4;  // ICMP: complete with checksum; UDP: checksum filled by the node
    uint16_t udp_sport = 0, udp_dport = 0;  // UDP: l4 holds the payload only
  };
  // With DF, a datagram larger than the path MTU is refused with -EMSGSIZE and *path_mtu set
  // (ip_append_data()'s ip_local_error(), which ping reports as "local error").
  int send(const OutPacket& packet, Ipv4Addr* chosen_src = nullptr, uint32_t* path_mtu = nullptr);
  // Sends an ARP request (arping): from src to target on ifindex; broadcast unless unicast_to.
  int send_arp(int ifindex, Ipv4Addr src, Ipv4Addr target, std::optional<MacAddr> unicast_to,
               bool reply = false);
  uint64_t now_ns() const { return now_ns_; }
  // Seeds the node's random generator (neighbour reachable times, proxy ARP delays).
  void set_seed(uint64_t seed) { rng_state_ = seed; }
  // The two bytes after 02: in the MACs this node gives its devices; nodes of one lab need
  // different bases so their MACs are unique.
  void set_mac_base(uint16_t base) { mac_base_ = base; }

  // ---- tracing and drop statistics ----
  void set_trace(TraceSink* sink) { trace_ = sink; }
  // A note from a command (hostnamectl, setenforce, su ...) in the node's trace.
  void trace_note(const std::string& text) {
    trace(TraceStage::Note, [&] { return text; });
  }
  const DropCounters& drops() const { return drops_; }

  // ---- netfilter (NAT and conntrack; nf/netfilter.h) ----
  // Loaded on first use (an iptables or conntrack command, a net.netfilter sysctl, modprobe
  // nf_conntrack), as the kernel loads nf_conntrack and nf_nat; until then no hook runs.
  nf::Netfilter& netfilter();
  nf::Netfilter* netfilter_if_loaded() { return nf_.get(); }
  const nf::Netfilter* netfilter_if_loaded() const { return nf_.get(); }
  // IPVS state (ip_vs): made by the first ipvsadm, as the module loads on first use.
  lb::IpvsTable& ipvs();
  const lb::IpvsTable* ipvs_if_loaded() const { return ipvs_.get(); }
  // The VPC vSwitch (vpc/vswitch.h; packet path in node_vpc.cc): made by the first `vpc`
  // command.  Its VM ports' frames go to it, not to the host's stack.
  vpc::VSwitch& vswitch();
  const vpc::VSwitch* vswitch_if_loaded() const { return vswitch_.get(); }
  // Sysctls including the net.netfilter.* keys: 0, -ENOENT or -EINVAL.
  int sysctl_set(const std::string& key, const std::string& value);
  std::optional<std::string> sysctl_get(const std::string& key) const;
  std::vector<std::pair<std::string, std::string>> sysctl_all() const;

  // ---- TCP (tcp.h) ----
  Tcp& tcp() { return *tcp_; }
  const Tcp& tcp() const { return *tcp_; }

  // ---- files (/etc/iproute2/rt_tables and anything a command writes) ----
  std::map<std::string, std::string>& files() { return files_; }
  const std::map<std::string, std::string>& files() const { return files_; }
  // Directories (absolute, normalised, "/" included), each file's modification time (virtual
  // ns), and the shell's working directory.
  std::set<std::string>& dirs() { return dirs_; }
  const std::set<std::string>& dirs() const { return dirs_; }
  std::map<std::string, uint64_t>& mtimes() { return mtimes_; }
  std::string& cwd() { return cwd_; }
  const std::string& cwd() const { return cwd_; }

  // ---- background processes (servers started by commands: httpd, http.server, nc -l) ----
  struct Process {
    int pid = 0;
    std::string name;             // "httpd", "python3", "nc", "iperf3"
    std::string cmdline;          // as typed
    std::vector<int> listeners;   // TCP listener sockets it owns
    std::shared_ptr<void> state;  // the application's own state
    std::function<void()> stop;   // closes its sockets
  };
  // Returns the new pid.
  int add_process(Process p);
  // Stops and forgets a process; false if there is none.
  bool kill_process(int pid);
  std::map<int, Process>& processes() { return processes_; }

 private:
  int route_output(const RouteQuery& q, RouteAnswer* a) const;
  int route_input(const RouteQuery& q, RouteAnswer* a) const;
  int validate_source(Ipv4Addr src, Ipv4Addr dst, uint8_t tos, int oif, int iif, uint32_t mark,
                      bool* on_link) const;
  Ipv4Addr result_prefsrc(const fib::LookupResult& res) const;
  int select_multipath(const fib::Route& route, Ipv4Addr src, Ipv4Addr dst) const;
  std::string describe_lookup(const fib::LookupResult& res, int err) const;

  // Kernel events: routes follow addresses and link state.
  void fib_add_ifaddr(const Device& dev, const IfAddr& ifa);
  void fib_del_ifaddr(const Device& dev, const IfAddr& ifa, const IfAddr* iprim);
  void fib_magic(bool add, fib::RouteType type, Ipv4Addr dst, int len, const Device& dev,
                 const IfAddr& prim, uint32_t priority);
  // The netdev event fib_sync_down_dev() reacts to.
  enum class NetdevEvent { Down, Change, Unregister };
  void fib_sync_down_dev(int ifindex, NetdevEvent event, bool force);
  // fib_disable_ip(): kill routes through the device and flush its neighbours.
  void fib_disable_ip(int ifindex, NetdevEvent event, bool force);
  void fib_sync_up(int ifindex, uint32_t nh_flags);
  void fib_sync_down_addr(Ipv4Addr local);
  void fib_flush();
  void fib_rebalance(fib::Route& route);
  void carrier_changed(Device& dev);
  void update_carrier(Device& dev);
  Status check_nexthop(fib::NextHop& nh, uint32_t table_id, uint8_t route_scope) const;
  bool valid_prefsrc(const fib::Route& route, Ipv4Addr prefsrc) const;
  void resolve_rule_devices();
  // Every device's addresses, counted by address: is_local_address() in one lookup.
  void note_local(Ipv4Addr addr, int delta);
  std::unordered_map<uint32_t, int> local_addrs_;

  std::map<int, Device> devices_;
  // devices_ by ifindex (the map's nodes do not move), rebuilt whenever a device comes or goes;
  // empty when an ifindex is kMaxIndexedIfindex or more, and device() then searches the map.
  static constexpr int kMaxIndexedIfindex = 1 << 16;
  std::vector<Device*> device_index_;
  void reindex_devices();
  int next_ifindex_ = 2;
  uint32_t mac_counter_ = 0;
  uint16_t mac_base_ = 0x766e;  // "vn"
  // A list: entries stay where they are while sending (ARP over a VXLAN device creates the
  // underlay's neighbour entry in the middle of resolving the overlay's).
  std::list<Neighbour> neighbours_;
  fib::Fib fib_;
  Sysctls sysctls_;
  std::map<std::string, std::string> files_;
  std::set<std::string> dirs_;
  std::map<std::string, uint64_t> mtimes_;
  std::string cwd_ = "/root";
  std::map<int, Process> processes_;
  int next_pid_ = 100;
  bool custom_local_routes_ = false;  // fib_has_custom_local_routes
  std::set<std::string> modules_;     // modprobe'd (or autoloaded) modules
  int xmit_depth_ = 0;                // nested tunnel transmits (dev_xmit_recursion)
  int rcv_depth_ = 0;                 // nested tunnel decapsulations
  std::unique_ptr<nf::Netfilter> nf_;
  std::unique_ptr<lb::IpvsTable> ipvs_;
  std::unique_ptr<vpc::VSwitch> vswitch_;
  std::unique_ptr<Tcp> tcp_;
  friend class Tcp;
  struct Pmtu {
    uint32_t mtu;
    uint64_t expires_ns;
  };
  std::map<uint32_t, Pmtu> pmtu_;  // destination -> learned path MTU

  // ---- the route cache (node_lookup.cc) ----
  struct RouteCacheEntry {
    uint64_t generation = 0;  // 0: empty
    RouteQuery query;
    int err = 0;
    RouteAnswer answer;
  };
  mutable std::vector<RouteCacheEntry> route_cache_;  // allocated by the first cached lookup
  mutable std::vector<uint8_t> route_cache_mru_;      // per set of two: the way used last
  mutable RouteCacheStats route_cache_stats_;
  bool route_cache_on_ = true;
  uint64_t config_gen_ = 1;
  // Bumps the generation when a mutator starts and again when it ends, so that nothing a
  // lookup caches half-way through a change (a gateway check inside route_add) survives it.
  class ConfigChange {
   public:
    explicit ConfigChange(Node& node) : node_(node) { ++node_.config_gen_; }
    ~ConfigChange() { ++node_.config_gen_; }
    ConfigChange(const ConfigChange&) = delete;
    ConfigChange& operator=(const ConfigChange&) = delete;

   private:
    Node& node_;
  };
  int route_resolve(const RouteQuery& q, RouteAnswer* a) const;
  // The per-device sysctl views above, read from the maps once per configuration generation
  // (the sysctl keys are strings; the lookups were most of an uncached route's cost).
  struct DevConf {
    uint64_t generation = 0;  // 0: not filled
    int rp_filter = 0;
    bool forwarding = false, accept_local = false, send_redirects = false;
    bool shared_media = false, route_localnet = false, src_valid_mark = false;
  };
  const DevConf& devconf(int ifindex) const;
  void fill_devconf(int ifindex, DevConf& c) const;
  mutable std::vector<DevConf> devconf_;  // by ifindex, below 65536
  mutable DevConf devconf_other_;         // an ifindex beyond that, or none
  NodeIo* io_ = nullptr;

  // ---- packet path (node_packet.cc, node_arp.cc) ----
  enum class PktType { Host, Broadcast, Multicast, OtherHost, Loopback };
  void process_pending();
  void netif_receive(int ifindex, std::vector<std::byte> frame);
  void arp_rcv(Device& dev, std::span<const std::byte> arp, PktType type);
  void ip_rcv(Device& dev, std::span<const std::byte> packet, PktType type);
  // ip_rcv() from its route lookup on: local delivery, the ICMP errors of a failed lookup, or
  // forwarding.
  void ip_rcv_routed(Device& dev, std::vector<std::byte> packet, PktType type, int err,
                     const RouteAnswer& route, nf::PacketCt& ct);
  // ---- the fast path (node_fastpath.cc) ----
  struct FastPacket {
    std::span<const std::byte> frame;
    std::span<const std::byte> ip;  // the IPv4 packet, without the Ethernet padding
    RouteQuery query;
    RouteAnswer route;
    int err = 0;
    nf::PacketCt ct;    // with netfilter: the conntrack entry PREROUTING attached
    bool done = false;  // with netfilter: PREROUTING dropped it
  };
  bool fast_path_ready() const;
  void fast_receive(int ifindex, std::span<const std::span<const std::byte>> frames);
  bool fast_parse(const Device& in, std::span<const std::byte> frame, FastPacket& p) const;
  void fast_forward(Device& in, FastPacket& p);
  // A frame the fast path does not take: the per-packet path from netif_receive() on.
  void fast_fallback_frame(int ifindex, std::span<const std::byte> frame);
  // A routed packet the fast path does not forward itself: the per-packet path after routing.
  void fast_fallback_routed(Device& in, FastPacket& p);
  // IPIP or GRE to an Ethernet underlay; false (nothing changed) when it cannot.
  bool fast_tunnel(Device& in, FastPacket& p, Device& tun);
  // With netfilter: PREROUTING on a copy of the packet, which p.ip then points to, and the
  // route query rebuilt from it (DNAT); a drop is counted as ip_rcv() counts it.
  void fast_pre_routing(Device& in, FastPacket& p);
  // A VXLAN device with one remote for the inner destination MAC, to an Ethernet underlay; false
  // when it cannot (nothing changed but the FDB's ageing, which the per-packet path repeats).
  bool fast_vxlan(Device& in, FastPacket& p, Device& vx);
  struct TunnelDst;
  // The outer route for q from tun's dst cache (ip_tunnel's and vxlan's dst_cache), kept per
  // tunnel device for one configuration generation and one (destination, TOS, output device);
  // nullptr for an ifindex out of the cache's range.
  const TunnelDst* fast_outer_route(const Device& tun, const RouteQuery& q);
  // The Ethernet underlay an outer route leaves by, when ip_local_out() sends on it without a
  // detour (not back into tun, not local, broadcast or multicast, a carrier, ARP); else nullptr.
  Device* fast_underlay(const Device& tun, const TunnelDst& outer);
  // Reserves an outgoing frame on out (Ethernet header to dst, `headroom` bytes for an outer
  // header, then ip, padded to 60 bytes) and counts it; returns its first byte.
  std::byte* fast_frame(Device& out, MacAddr dst, size_t headroom, std::span<const std::byte> ip);
  std::byte* fast_tx_reserve(int ifindex, size_t len);
  void fast_tx_flush();
  void fast_init();  // the burst's scratch space, allocated by the first burst
  // One offloaded frame: forwarded whole, or cut and its segments received.
  void receive_offloaded(int ifindex, std::span<const std::byte> frame,
                         const wire::VirtioNetHdr& offload, uint64_t now_ns);
  // The whole-frame forward of receive_offloaded(); false (nothing changed) when the frame
  // must be cut instead.
  bool fast_forward_offloaded(int ifindex, std::span<const std::byte> frame,
                              const wire::VirtioNetHdr& offload);
  OffloadStats offload_stats_;
  std::vector<std::vector<std::byte>> offload_segments_;  // reused by receive_offloaded()
  std::vector<wire::VirtioNetHdr> fast_tx_offloads_;      // per fast_tx_frames_ entry
  bool fast_tx_offloaded_ = false;                        // some of them are not zero
  void drain_pending();
  bool fast_path_on_ = true;
  struct TunnelDst {
    uint64_t generation = 0;  // 0: empty
    Ipv4Addr dst;
    uint8_t tos = 0;
    int oif = 0;
    int err = 0;
    int default_ttl = 64;  // net.ipv4.ip_default_ttl, for a VXLAN device with `ttl 0`
    RouteAnswer route;
  };
  std::vector<TunnelDst> fast_tunnel_dst_;  // by the tunnel's ifindex
  FastPathStats fast_stats_;
  std::vector<FastPacket> fast_packets_;   // kMaxBurst, allocated by the first burst
  std::vector<std::byte> fast_tx_arena_;   // the burst's outgoing frames, back to back
  std::vector<std::byte> fast_nf_packet_;  // with netfilter: the packet the hooks rewrite
  std::vector<std::span<const std::byte>> fast_tx_frames_;
  size_t fast_tx_used_ = 0;
  int fast_tx_ifindex_ = 0;
  void ip_forward(Device& in, std::vector<std::byte> packet, const RouteAnswer& route,
                  nf::PacketCt& ct);
  void ip_local_deliver(Device& in, std::vector<std::byte> packet, nf::PacketCt& ct);
  // Collects a fragment; true when `packet` now holds the whole datagram (or was not a
  // fragment), false when the fragment was queued or dropped.
  bool ip_defrag(Device& in, std::vector<std::byte>& packet, bool local_deliver);
  void icmp_rcv(Device& in, std::span<const std::byte> packet, const Delivered& d);
  void icmp_send(std::span<const std::byte> offending, uint8_t type, uint8_t code, uint32_t info,
                 int in_ifindex, bool to_local_dst);
  bool icmp_rate_allow(Ipv4Addr dst);
  // Output: route resolved; fragments if needed, resolves the neighbour, transmits.
  // `untracked`: a packet IPVS forwards (ip_vs_notrack()), which POSTROUTING does not see.
  // MASQUERADE's source address: inet_select_addr(out, nexthop, universe), or nullopt.
  std::optional<Ipv4Addr> masquerade_addr(int oif, Ipv4Addr next) const;
  void ip_output(std::vector<std::byte> packet, const RouteAnswer& route, nf::PacketCt& ct,
                 bool untracked = false);
  // ip_local_out(): the OUTPUT hook (rerouting when NAT changed the destination), then
  // ip_output().  Returns 0 or the routing error after a DNAT.
  int ip_local_out(std::vector<std::byte> packet, RouteAnswer route);
  // Runs a netfilter hook's trace lines and verdict; false when the packet was dropped.
  bool nf_verdict(nf::Verdict v, const nf::HookTrace& lines, const char* hook, Device* dev);
  // The MTU of a resolved route: its device's, lowered by a learned path MTU.
  uint32_t route_mtu(const RouteAnswer& route) const;
  void ip_finish_output(std::vector<std::byte> packet, int ifindex, Ipv4Addr nexthop,
                        bool broadcast, bool multicast);
  void neigh_output(Device& dev, Ipv4Addr nexthop, std::vector<std::byte> packet);
  // The entry for (ifindex, dst), found through a small cache of entry pointers that is
  // valid while no entry is added or removed (neigh_gen_); VNET_ROUTE_CACHE_VERIFY checks it.
  Neighbour* neigh_lookup(int ifindex, Ipv4Addr dst);
  Neighbour* neigh_scan(int ifindex, Ipv4Addr dst);
  struct NeighCacheEntry {
    uint64_t generation = 0;
    int ifindex = 0;
    Ipv4Addr dst;
    Neighbour* entry = nullptr;
  };
  static constexpr size_t kNeighCacheSize = 64;
  std::array<NeighCacheEntry, kNeighCacheSize> neigh_cache_{};
  uint64_t neigh_gen_ = 1;  // bumped whenever neighbours_ gains or loses an entry
  // neigh_create(): a new entry, or nullptr when the table is full ("neighbor table
  // overflow!": gc_thresh3 entries other than permanent ones, even after a forced gc).
  Neighbour* neigh_create(int ifindex, Ipv4Addr dst);
  // neigh_forced_gc(): removes up to `max_clean` entries that are FAILED, NOARP, or not updated
  // for 5 s, and not held by a timer (no resolution or reachability timer running); returns
  // how many.
  size_t neigh_forced_gc(size_t max_clean);
  int neigh_pinned_ = 0;              // > 0: entries are referenced, neigh_forced_gc() removes none
  uint64_t neigh_last_flush_ns_ = 0;  // the last forced gc (tbl->last_flush)
  void neigh_update(Neighbour& n, std::optional<MacAddr> lladdr, NeighState state, bool override);
  void neigh_timer(Neighbour& n);
  void neigh_flush_queue(Neighbour& n);
  void arp_solicit(Neighbour& n, bool unicast);
  bool arp_ignore(const Device& dev, Ipv4Addr sip, Ipv4Addr tip) const;
  void transmit_frame(int ifindex, MacAddr dst, uint16_t ethertype,
                      std::span<const std::byte> payload,
                      std::optional<MacAddr> src = std::nullopt);
  void tx(Device& dev, std::vector<std::byte> frame);
  // Tunnels (node_tunnel.cc).
  void ip_tunnel_xmit(Device& dev, std::vector<std::byte> inner, Ipv4Addr nexthop);
  void vxlan_xmit(Device& dev, std::vector<std::byte> frame);
  // vxlan_xmit()'s FDB ageing: drops the entries older than the device's ageing time.
  void vxlan_fdb_expire(Device& dev);
  // udp_flow_src_port(): the outer UDP source port for an inner frame's flow hash.
  static uint16_t vxlan_src_port(const TunnelParams& p, uint32_t hash);
  // Routes and sends an outer packet built by a tunnel (iptunnel_xmit -> ip_local_out).
  void tunnel_output(Device& dev, std::vector<std::byte> outer, const RouteAnswer& route);
  void ip_tunnel_rcv(Device& in, std::vector<std::byte> packet);
  bool vxlan_rcv(Device& in, std::span<const std::byte> packet);
  Device* ip_tunnel_lookup(LinkKind kind, int link, Ipv4Addr remote, Ipv4Addr local,
                           std::optional<uint32_t> key, std::string* how);
  void fdb_learn(Device& dev, MacAddr mac, Ipv4Addr remote);
  void update_tunnel_flags(Device& dev);
  // IPVS (node_ipvs.cc).  Accept: go on as if IPVS were not there; Stolen: IPVS sent or
  // dropped the packet; Untracked: go on, but netfilter no longer sees it.
  enum class IpvsVerdict { Accept, Stolen, Untracked };
  IpvsVerdict ipvs_in(Device& in, std::vector<std::byte>& packet);
  IpvsVerdict ipvs_in_icmp(Device& in, std::vector<std::byte>& packet);
  // `route` is the forwarding route, replaced when snat_reroute routes a NAT reply again.
  IpvsVerdict ipvs_out(std::vector<std::byte>& packet, RouteAnswer* route);
  IpvsVerdict ipvs_out_icmp(std::vector<std::byte>& packet);
  lb::Connection* ipvs_schedule(lb::Service& svc, const IpvsFlow& flow, bool* leave);
  void ipvs_set_state(lb::Connection& c, lb::ConnDirection dir, const IpvsFlow& flow);
  void ipvs_count_in(lb::Connection& c, size_t len);
  void ipvs_count_out(lb::Connection& c, size_t len);
  IpvsVerdict ipvs_xmit(lb::Connection& c, Device& in, std::vector<std::byte>& packet);
  IpvsVerdict ipvs_tunnel_xmit(lb::Connection& c, Device& in, std::vector<std::byte>& packet);
  IpvsVerdict ipvs_dr_xmit(lb::Connection& c, Device& in, std::vector<std::byte>& packet);
  IpvsVerdict ipvs_nat_xmit(lb::Connection& c, Device& in, std::vector<std::byte>& packet);
  bool ipvs_route(Ipv4Addr daddr, RouteAnswer* route);
  // ensure_mtu_is_adequate(): a DF packet larger than mtu is answered with
  // fragmentation-needed from the VIP and dropped (false).
  bool ipvs_mtu_ok(std::vector<std::byte>& packet, uint32_t mtu, Device& in);
  bool ipvs_decrease_ttl(std::vector<std::byte>& packet, int in_ifindex);
  // The vSwitch (node_vpc.cc).  vpc_port_rcv: a frame from a VM port.  vpc_gre_rcv: a locally
  // delivered GRE packet; false when it is not the vSwitch's (no key, another address), so
  // the ordinary GRE path takes it.
  void vpc_port_rcv(Device& dev, std::span<const std::byte> frame);
  void vpc_arp(Device& dev, vpc::VmPort& port, std::span<const std::byte> arp);
  bool vpc_gre_rcv(Device& in, std::span<const std::byte> packet);
  // Switches an IPv4 packet of vpc from a local VM port (from != nullptr) or from the underlay.
  void vpc_forward(uint32_t vpc, std::vector<std::byte> packet, vpc::VmPort* from);
  bool vpc_deliver(uint32_t vpc, vpc::VmPort& to, std::vector<std::byte>& packet);
  void vpc_encap(uint32_t key, Ipv4Addr host, std::vector<std::byte> inner, vpc::VmPort* from);
  void vpc_frag_needed_to_vm(vpc::VmPort& vm, std::span<const std::byte> offending, uint32_t mtu);
  void vpc_drop(vpc::VmPort* port, DropReason reason, const std::string& why);
  void drop(DropReason reason, const std::string& why, Device* dev = nullptr);
  // Records a trace line; the text is only built when tracing is on (the hot path pays one
  // branch).
  template <typename MakeText>
  void trace(TraceStage stage, MakeText&& make_text) {
    if (trace_ != nullptr) trace_->record(TraceRecord{now_ns_, stage, make_text(), std::nullopt});
  }
  uint64_t random_u64();

  uint64_t now_ns_ = 0;
  // masquerade_addr() as POSTROUTING takes it: built once, not per packet (a Node never moves).
  const nf::MasqueradeSource masquerade_source_ = [this](int oif, Ipv4Addr next) {
    return masquerade_addr(oif, next);
  };
  uint64_t rng_state_ = 0x9e3779b97f4a7c15ull;
  std::deque<std::pair<int, std::vector<std::byte>>> pending_rx_;
  bool processing_ = false;
  uint16_t ip_ident_ = 1;
  DropCounters drops_;
  TraceSink* trace_ = nullptr;
  std::map<int, Listener> listeners_;
  std::map<int, ArpListener> arp_listeners_;
  struct Timer {
    uint64_t at_ns;
    std::function<void(uint64_t)> fn;
  };
  std::map<int, Timer> timers_;
  int next_handle_ = 1;
  // Reassembly (ip_defrag): key (src, dst, id, protocol).
  struct Reassembly {
    std::map<uint16_t, std::vector<std::byte>> fragments;  // offset -> payload
    std::vector<std::byte> first_header;
    uint32_t total_len = 0;  // known once the last fragment arrived
    uint64_t expires_ns = 0;
    int ifindex = 0;
    bool local_deliver = true;  // IP_DEFRAG_LOCAL_DELIVER, else conntrack's defrag
  };
  std::map<std::tuple<uint32_t, uint32_t, uint16_t, uint8_t>, Reassembly> reassembly_;
  size_t reassembly_bytes_ = 0;  // payload bytes held by reassembly_
  // ICMP rate limit (inet_peer_xrlim_allow): per destination tokens in ns and last refill.
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> icmp_tokens_;
};

// strerror() texts as iproute2 prints them after "RTNETLINK answers: ".
const char* errno_text(int err);
// VNET_ROUTE_CACHE_VERIFY=1: every route and neighbour cache hit is checked against a fresh
// lookup, and a difference aborts.
bool verify_route_cache();
// Two route answers agree in every field but the trace (which cached queries never collect).
bool same_answer(const RouteAnswer& x, const RouteAnswer& y);

}  // namespace vnet::stack
