// The node's netfilter instance (loaded on first use) and the sysctl view that includes its
// net.netfilter.* keys.
#include <cerrno>

#include "stack/node.h"

namespace vnet::stack {

namespace {

bool is_netfilter_key(const std::string& key) {
  return key.rfind("net.netfilter.", 0) == 0;
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
  if (is_netfilter_key(key)) return netfilter().sysctl_set(key, value);
  return sysctls_.set(key, value);
}

std::optional<std::string> Node::sysctl_get(const std::string& key) const {
  if (is_netfilter_key(key)) return nf_ ? nf_->sysctl_get(key) : std::nullopt;
  return sysctls_.get(key);
}

std::vector<std::pair<std::string, std::string>> Node::sysctl_all() const {
  std::vector<std::pair<std::string, std::string>> all = sysctls_.all();
  if (nf_) {
    for (const std::string& k : nf_->sysctl_keys()) {
      if (auto v = nf_->sysctl_get(k)) all.emplace_back(k, *v);
    }
    std::sort(all.begin(), all.end());
  }
  return all;
}

}  // namespace vnet::stack
