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

std::string join_vector(const std::vector<long>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += '\t';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace

std::vector<long> Sysctls::vector(const std::string& key) const {
  auto v = vectors_.find(key);
  return v == vectors_.end() ? std::vector<long>{} : v->second;
}

int Sysctls::core(const std::string& name) const {
  auto v = global_core_.find(name);
  return v == global_core_.end() ? 0 : v->second;
}

Sysctls::Sysctls() {
  global_ = {{"ip_forward", 0},
             {"ip_default_ttl", 64},
             {"ip_no_pmtu_disc", 0},
             {"fib_multipath_hash_policy", 0},
             {"fib_multipath_use_neigh", 0},
             {"icmp_echo_ignore_all", 0},
             {"icmp_echo_ignore_broadcasts", 1},
             {"ip_nonlocal_bind", 0},
             // The ARP table's garbage collection (net/core/neighbour.c, arp_tbl).
             {"neigh.default.gc_thresh1", 128},
             {"neigh.default.gc_thresh2", 512},
             {"neigh.default.gc_thresh3", 1024},
             // TCP (net/ipv4/sysctl_net_ipv4.c, tcp_sk_init()).
             {"tcp_syn_retries", 6},
             {"tcp_synack_retries", 5},
             {"tcp_retries1", 3},
             {"tcp_retries2", 15},
             {"tcp_orphan_retries", 0},
             {"tcp_fin_timeout", 60},
             {"tcp_timestamps", 1},
             {"tcp_sack", 1},
             {"tcp_window_scaling", 1},
             {"tcp_max_syn_backlog", 2048},
             {"tcp_abort_on_overflow", 0},
             {"tcp_syncookies", 1},
             {"tcp_tw_reuse", 2},
             {"tcp_max_tw_buckets", 131072},
             {"tcp_keepalive_time", 7200},
             {"tcp_keepalive_intvl", 75},
             {"tcp_keepalive_probes", 9},
             {"tcp_reordering", 3},
             {"tcp_slow_start_after_idle", 1},
             {"tcp_no_metrics_save", 0},
             {"tcp_base_mss", 1024},
             {"tcp_mtu_probing", 0},
             {"tcp_ecn", 2},
             {"tcp_fastopen", 1},
             {"tcp_rfc1337", 0}};
  vectors_ = {{"net.ipv4.ping_group_range", {1, 0}},
              {"net.ipv4.ip_local_port_range", {32768, 60999}},
              {"net.ipv4.tcp_rmem", {4096, 131072, 33554432}},
              {"net.ipv4.tcp_wmem", {4096, 16384, 4194304}}};
  words_ = {{"net.ipv4.tcp_congestion_control", "reno"},
            {"net.ipv4.tcp_available_congestion_control", "reno"},
            {"net.ipv4.tcp_allowed_congestion_control", "reno"}};
  global_core_ = {{"somaxconn", 4096}, {"rmem_max", 4194304}, {"wmem_max", 4194304}};
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
  if (auto vec = vectors_.find(key); vec != vectors_.end()) {
    // proc_dointvec on a vector: whitespace-separated integers, as many as given (at least one).
    std::vector<long> parsed;
    const char* p = value.c_str();
    while (parsed.size() < vec->second.size()) {
      char* end = nullptr;
      while (*p == ' ' || *p == '\t' || *p == '\n') ++p;
      if (*p == '\0') break;
      long v = std::strtol(p, &end, 10);
      if (end == p) return -EINVAL;
      parsed.push_back(v);
      p = end;
    }
    if (parsed.empty()) return -EINVAL;
    if (key == "net.ipv4.ip_local_port_range") {
      // ipv4_local_port_range(): both given, low <= high, within 1..65535.
      if (parsed.size() != 2 || parsed[0] > parsed[1] || parsed[0] < 1 || parsed[1] > 65535) {
        return -EINVAL;
      }
    }
    if (key == "net.ipv4.tcp_rmem" || key == "net.ipv4.tcp_wmem") {
      for (long v : parsed) {
        if (v < 1) return -EINVAL;
      }
    }
    std::copy(parsed.begin(), parsed.end(), vec->second.begin());
    return 0;
  }
  if (auto w = words_.find(key); w != words_.end()) {
    std::string word = value;
    while (!word.empty() && (word.back() == '\n' || word.back() == ' ')) word.pop_back();
    if (key != "net.ipv4.tcp_congestion_control") return -EPERM;  // read-only lists
    // Only Reno is built in; the kernel answers ENOENT for a module it cannot load.
    if (word != "reno") return -ENOENT;
    w->second = word;
    return 0;
  }
  static const std::string kCore = "net.core.";
  if (key.rfind(kCore, 0) == 0) {
    auto g = global_core_.find(key.substr(kCore.size()));
    if (g == global_core_.end()) return -ENOENT;
    int v = 0;
    if (!parse_int(value, &v)) return -EINVAL;
    g->second = v;
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
  if (auto vec = vectors_.find(key); vec != vectors_.end()) return join_vector(vec->second);
  if (auto w = words_.find(key); w != words_.end()) return w->second;
  if (key.rfind("net.core.", 0) == 0) {
    auto g = global_core_.find(key.substr(9));
    if (g == global_core_.end()) return std::nullopt;
    return std::to_string(g->second);
  }
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
  for (const auto& [key, v] : vectors_) out.emplace_back(key, join_vector(v));
  for (const auto& [key, w] : words_) out.emplace_back(key, w);
  for (const auto& [name, v] : global_core_)
    out.emplace_back("net.core." + name, std::to_string(v));
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
