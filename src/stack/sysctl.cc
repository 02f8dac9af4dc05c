#include "stack/sysctl.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace vnet::stack {

namespace {

// Kernel defaults for a fresh network namespace (net.core.devconf_inherit_init_net = 0).
const std::map<std::string, int>& conf_defaults() {
  static const std::map<std::string, int> d = {
      {"accept_local", 0},
      {"accept_redirects", 1},
      {"accept_source_route", 0},
      {"arp_accept", 0},
      {"arp_announce", 0},
      {"arp_filter", 0},
      {"arp_ignore", 0},
      {"arp_notify", 0},
      {"bc_forwarding", 0},
      {"forwarding", 0},
      {"ignore_routes_with_linkdown", 0},
      {"log_martians", 0},
      {"mc_forwarding", 0},
      {"medium_id", 0},
      {"promote_secondaries", 0},
      {"proxy_arp", 0},
      {"proxy_arp_pvlan", 0},
      {"route_localnet", 0},
      {"rp_filter", 0},
      {"secure_redirects", 1},
      {"send_redirects", 1},
      {"shared_media", 1},
      {"src_valid_mark", 0},
      {"igmpv2_unsolicited_report_interval", 10000},
      {"igmpv3_unsolicited_report_interval", 1000},
      {"tag", 0},
      {"disable_policy", 0},
      {"disable_xfrm", 0},
      {"drop_gratuitous_arp", 0},
      {"drop_unicast_in_l2_multicast", 0},
      {"arp_evict_nocarrier", 1},
      {"bootp_relay", 0},
      {"force_igmp_version", 0},
  };
  return d;
}

bool parse_int(const std::string& text, int* out) {
  // __do_proc_dointvec(): leading whitespace, an optional '-' (no '+'), decimal digits, then
  // whitespace; a single-value entry stops after the first value and ignores the rest.
  size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  size_t start = i;
  long long v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    v = v * 10 + (text[i] - '0');
    if (v > 0x7fffffffLL + 1) return false;
    ++i;
  }
  if (i == start) return false;
  if (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') return false;
  v = negative ? -v : v;
  if (v > 0x7fffffffLL || v < -0x80000000LL) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

Sysctls::Sysctls() {
  global_ = {{"ip_forward", 0},
             {"ip_default_ttl", 64},
             {"ip_no_pmtu_disc", 0},
             {"fib_multipath_hash_policy", 0},
             {"fib_multipath_use_neigh", 0},
             {"icmp_echo_ignore_all", 0},
             {"icmp_echo_ignore_broadcasts", 1},
             {"ip_nonlocal_bind", 0}};
  conf_["all"] = conf_defaults();
  conf_["default"] = conf_defaults();
  // ipv4_devconf_dflt (but not ipv4_devconf) enables accept_source_route.
  conf_["default"]["accept_source_route"] = 1;
}

void Sysctls::add_device(const std::string& device) {
  conf_[device] = conf_["default"];
  explicitly_set_.erase(device);
}

void Sysctls::mark_all_set(const std::string& device) {
  auto d = conf_.find(device);
  if (d == conf_.end()) return;
  for (const auto& [name, v] : d->second) explicitly_set_[device].insert(name);
}

void Sysctls::remove_device(const std::string& device) {
  conf_.erase(device);
  explicitly_set_.erase(device);
}

void Sysctls::rename_device(const std::string& from, const std::string& to) {
  auto node = conf_.extract(from);
  if (node.empty()) return;
  node.key() = to;
  conf_.insert(std::move(node));
  auto ex = explicitly_set_.extract(from);
  if (!ex.empty()) {
    ex.key() = to;
    explicitly_set_.insert(std::move(ex));
  }
}

int Sysctls::conf(const std::string& device, const std::string& name) const {
  auto d = conf_.find(device);
  if (d == conf_.end()) return 0;
  auto v = d->second.find(name);
  return v == d->second.end() ? 0 : v->second;
}

int Sysctls::global(const std::string& name) const {
  auto v = global_.find(name);
  return v == global_.end() ? 0 : v->second;
}

int Sysctls::set(const std::string& key, const std::string& value) {
  if (value.empty()) return get(key) ? 0 : -ENOENT;  // a zero-length write changes nothing
  if (key == "net.ipv4.ping_group_range") {
    int lo = 0, hi = 0;
    if (std::sscanf(value.c_str(), "%d %d", &lo, &hi) != 2) return -EINVAL;
    ping_group_range_ = std::to_string(lo) + "\t" + std::to_string(hi);
    return 0;
  }
  static const std::string kGlobal = "net.ipv4.";
  static const std::string kConf = "net.ipv4.conf.";
  int v = 0;
  if (key.rfind(kConf, 0) == 0) {
    std::string rest = key.substr(kConf.size());
    size_t dot = rest.rfind('.');
    if (dot == std::string::npos) return -ENOENT;
    std::string device = rest.substr(0, dot), name = rest.substr(dot + 1);
    auto d = conf_.find(device);
    if (d == conf_.end() || !d->second.contains(name)) return -ENOENT;
    if (!parse_int(value, &v)) return -EINVAL;
    if (name == "forwarding" && device == "all") return set("net.ipv4.ip_forward", value);
    d->second[name] = v;
    // forwarding and route_localnet have their own handlers, which do not copy default.
    if (device == "default" && name != "forwarding" && name != "route_localnet") {
      for (auto& [dev, values] : conf_) {
        if (dev == "all" || dev == "default") continue;
        if (!explicitly_set_[dev].contains(name)) values[name] = v;
      }
    } else if (device != "all") {
      explicitly_set_[device].insert(name);
    }
    return 0;
  }
  if (key.rfind(kGlobal, 0) == 0) {
    std::string name = key.substr(kGlobal.size());
    auto g = global_.find(name);
    if (g == global_.end()) return -ENOENT;
    if (!parse_int(value, &v)) return -EINVAL;
    bool changed = g->second != v;
    g->second = v;
    // devinet_sysctl_forward() propagates only an actual change.
    if (name == "ip_forward" && changed) {
      // inet_forward_change(): every device, all and default follow.
      for (auto& [dev, values] : conf_) values["forwarding"] = v;
      conf_["all"]["accept_redirects"] = v ? 0 : 1;
    }
    return 0;
  }
  return -ENOENT;
}

std::optional<std::string> Sysctls::get(const std::string& key) const {
  if (key == "net.ipv4.ping_group_range") return ping_group_range_;
  static const std::string kGlobal = "net.ipv4.";
  static const std::string kConf = "net.ipv4.conf.";
  if (key.rfind(kConf, 0) == 0) {
    std::string rest = key.substr(kConf.size());
    size_t dot = rest.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    auto d = conf_.find(rest.substr(0, dot));
    if (d == conf_.end()) return std::nullopt;
    auto v = d->second.find(rest.substr(dot + 1));
    if (v == d->second.end()) return std::nullopt;
    return std::to_string(v->second);
  }
  if (key.rfind(kGlobal, 0) == 0) {
    auto g = global_.find(key.substr(kGlobal.size()));
    if (g == global_.end()) return std::nullopt;
    return std::to_string(g->second);
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> Sysctls::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [dev, values] : conf_) {
    for (const auto& [name, v] : values) {
      out.emplace_back("net.ipv4.conf." + dev + "." + name, std::to_string(v));
    }
  }
  for (const auto& [name, v] : global_) out.emplace_back("net.ipv4." + name, std::to_string(v));
  out.emplace_back("net.ipv4.ping_group_range", ping_group_range_);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string> Sysctls::key_from_proc_path(const std::string& path) {
  static const std::string kPrefix = "/proc/sys/";
  if (path.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string key = path.substr(kPrefix.size());
  for (char& c : key) {
    if (c == '/') c = '.';
  }
  return key;
}

std::string Sysctls::proc_path_from_key(const std::string& key) {
  std::string path = "/proc/sys/" + key;
  for (size_t i = 10; i < path.size(); ++i) {
    if (path[i] == '.') path[i] = '/';
  }
  return path;
}

}  // namespace vnet::stack
