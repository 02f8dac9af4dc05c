// The node's /proc/sys/net/ipv4 tree: global keys (ip_forward) and per-device `conf` keys for
// `all`, `default` and each interface, with the kernel's propagation rules
// (net/ipv4/devinet.c):
//   * a new device copies `default`;
//   * writing `default.K` also updates every device that never had K written explicitly and
//     never had an address added (except forwarding and route_localnet);
//   * writing `ip_forward` or `all.forwarding` sets forwarding on `all`, `default` and every
//     device (inet_forward_change()), and they are one value.
// Values are stored as the integers proc_dointvec parsed.
//
// Example: s.set("net.ipv4.conf.all.rp_filter", "2") -> 0; s.get(...) -> "2".
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vnet::stack {

class Sysctls {
 public:
  Sysctls();

  // Dotted key ("net.ipv4.conf.eth0.rp_filter").  Returns 0, -ENOENT (no such key) or -EINVAL
  // (not an integer).
  int set(const std::string& key, const std::string& value);
  std::optional<std::string> get(const std::string& key) const;
  std::vector<std::pair<std::string, std::string>> all() const;

  int conf(const std::string& device, const std::string& name) const;
  int global(const std::string& name) const;
  // A vector-valued key's integers (tcp_rmem, ip_local_port_range), empty if none.
  std::vector<long> vector(const std::string& key) const;
  int core(const std::string& name) const;  // net.core.NAME

  void add_device(const std::string& device);
  void remove_device(const std::string& device);
  // ipv4_devconf_setall(): after an address is configured on a device through netlink, later
  // writes to `default` no longer change that device.
  void mark_all_set(const std::string& device);
  void rename_device(const std::string& from, const std::string& to);

  // "/proc/sys/net/ipv4/conf/all/rp_filter" -> "net.ipv4.conf.all.rp_filter"; nullopt when the
  // path is not under /proc/sys.
  static std::optional<std::string> key_from_proc_path(const std::string& path);
  static std::string proc_path_from_key(const std::string& key);

 private:
  std::map<std::string, int> global_;
  // device ("all", "default", names) -> name -> value
  std::map<std::string, std::map<std::string, int>> conf_;
  std::map<std::string, std::set<std::string>> explicitly_set_;
  // Keys whose value is several integers (printed tab-separated) or a word.
  std::map<std::string, std::vector<long>> vectors_;
  std::map<std::string, std::string> words_;
  std::map<std::string, int> global_core_;  // net.core.*
};

}  // namespace vnet::stack
