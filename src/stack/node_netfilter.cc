// The node's netfilter instance (loaded on first use) and the sysctl view that includes its
// net.netfilter.* keys.
#include <algorithm>
#include <cerrno>
#include <string_view>

#include "stack/node.h"

namespace vnet::stack {

namespace {

bool is_netfilter_key(const std::string& key) {
  return key.rfind("net.netfilter.", 0) == 0;
}

constexpr std::string_view kIpvsPrefix = "net.ipv4.vs.";

bool is_ipvs_key(const std::string& key) {
  return key.rfind(kIpvsPrefix, 0) == 0;
}

}  // namespace

lb::IpvsTable& Node::ipvs() {
  if (!ipvs_) {
    ipvs_ = std::make_unique<lb::IpvsTable>();
    modules_.insert("ip_vs");
  }
  return *ipvs_;
}

nf::Netfilter& Node::netfilter() {
  if (!nf_) {
    nf_ = std::make_unique<nf::Netfilter>();
    modules_.insert("nf_conntrack");
    modules_.insert("nf_nat");
  }
  return *nf_;
}

int Node::sysctl_set(const std::string& key, const std::string& value) {
  ConfigChange change(*this);
  if (is_netfilter_key(key)) return netfilter().sysctl_set(key, value);
  if (is_ipvs_key(key)) {
    // /proc/sys/net/ipv4/vs exists once ip_vs is loaded.
    return ipvs_ ? ipvs_->sysctl_set(key.substr(kIpvsPrefix.size()), value) : -ENOENT;
  }
  return sysctls_.set(key, value);
}

std::optional<std::string> Node::sysctl_get(const std::string& key) const {
  if (is_netfilter_key(key)) return nf_ ? nf_->sysctl_get(key) : std::nullopt;
  if (is_ipvs_key(key)) {
    return ipvs_ ? ipvs_->sysctl_get(key.substr(kIpvsPrefix.size())) : std::nullopt;
  }
  return sysctls_.get(key);
}

std::vector<std::pair<std::string, std::string>> Node::sysctl_all() const {
  std::vector<std::pair<std::string, std::string>> all = sysctls_.all();
  if (nf_) {
    for (const std::string& k : nf_->sysctl_keys()) {
      if (auto v = nf_->sysctl_get(k)) all.emplace_back(k, *v);
    }
  }
  if (ipvs_) {
    for (const std::string& name : ipvs_->sysctl_names()) {
      if (auto v = ipvs_->sysctl_get(name)) all.emplace_back(std::string(kIpvsPrefix) + name, *v);
    }
  }
  if (nf_ || ipvs_) std::sort(all.begin(), all.end());
  return all;
}

}  // namespace vnet::stack
