// DOT for a lab (lab_graph.h).
#include "lab/lab_graph.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace vnet::lab {

namespace {

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) {
    if (w.size() >= 2 && (w.front() == '"' || w.front() == '\'') && w.back() == w.front()) {
      w = w.substr(1, w.size() - 2);
    }
    out.push_back(w);
  }
  return out;
}

// iproute2's prefix match: w is a non-empty prefix of keyword.
bool is(const std::string& w, const char* keyword) {
  std::string_view k(keyword);
  return !w.empty() && w.size() <= k.size() && k.substr(0, w.size()) == w;
}

std::string value_after(const std::vector<std::string>& w, const char* key) {
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    if (w[i] == key) return w[i + 1];
  }
  return {};
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string strip_prefix_len(const std::string& addr) {
  return addr.substr(0, addr.find('/'));
}

struct Tunnel {
  std::string node, dev, mode, key, local, remote;
};

std::string format_duration(uint64_t ns) {
  if (ns % 1'000'000 == 0) return std::to_string(ns / 1'000'000) + "ms";
  return std::to_string(ns / 1000) + "us";
}

}  // namespace

std::string lab_dot(const LabSpec& spec, const GraphPath* path) {
  // What the exec lines say: addresses per (node, interface), and tunnels.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> addrs;
  std::map<std::string, std::string> owner;  // address -> node
  std::vector<Tunnel> tunnels;
  for (const NodeSpec& n : spec.nodes) {
    for (const ExecLine& e : n.exec) {
      std::vector<std::string> w = words(e.command);
      if (w.size() < 4 || w[0] != "ip") continue;
      size_t i = 1;
      while (i < w.size() && w[i][0] == '-') ++i;
      if (i + 1 >= w.size()) continue;
      const std::string& object = w[i];
      const std::string& verb = w[i + 1];
      if (is(object, "address") && is(verb, "add")) {
        std::string dev = value_after(w, "dev");
        if (i + 2 < w.size() && !dev.empty()) {
          addrs[{n.name, dev}].push_back(w[i + 2]);
          owner[strip_prefix_len(w[i + 2])] = n.name;
        }
      } else if (is(object, "tunnel") && is(verb, "add") && i + 2 < w.size()) {
        tunnels.push_back({n.name, w[i + 2], value_after(w, "mode"), value_after(w, "key"),
                           value_after(w, "local"), value_after(w, "remote")});
      } else if (is(object, "link") && is(verb, "add") && i + 2 < w.size()) {
        std::string type = value_after(w, "type");
        if (type == "vxlan" || type == "gre" || type == "gretap" || type == "ipip") {
          std::string key = type == "vxlan" ? value_after(w, "id") : value_after(w, "key");
          std::string dev = w[i + 2] == "name" && i + 3 < w.size() ? w[i + 3] : w[i + 2];
          tunnels.push_back({n.name, dev, type,
                             key.empty() ? "" : (type == "vxlan" ? "vni " : "key ") + key,
                             value_after(w, "local"), value_after(w, "remote")});
        }
      }
    }
  }
  for (Tunnel& t : tunnels) {
    if (!t.key.empty() && t.key.rfind("vni ", 0) != 0 && t.key.rfind("key ", 0) != 0) {
      t.key = "key " + t.key;
    }
  }

  std::set<std::pair<std::string, std::string>> sent;  // (node, interface)
  std::map<std::pair<std::string, std::string>, size_t> first_use;
  std::set<std::pair<std::string, std::string>> encapped;
  std::map<std::string, std::vector<std::string>> drops;
  if (path != nullptr) {
    size_t order = 0;
    for (const auto& t : path->tx) {
      if (sent.insert(t).second) first_use[t] = ++order;
    }
    for (const auto& e : path->encap) encapped.insert(e);
    for (const auto& [node, why] : path->drops) {
      auto& list = drops[node];
      if (std::find(list.begin(), list.end(), why) == list.end() && list.size() < 3) {
        list.push_back(why);
      }
    }
  }

  std::ostringstream out;
  out << "graph " << quote(spec.name) << " {\n";
  out << "  graph [fontname=\"Helvetica\", fontsize=11, overlap=false, splines=true, label="
      << quote(path != nullptr && !path->caption.empty() ? spec.name + ": " + path->caption
                                                         : spec.name)
      << ", labelloc=t, nodesep=0.8, ranksep=1.1];\n";
  out << "  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n";
  out << "  edge [fontname=\"Helvetica\", fontsize=8, labeldistance=2.6, labelangle=55];\n";
  for (const NodeSpec& n : spec.nodes) {
    std::string kind = n.kind == NodeKind::Vnet     ? "vnet"
                       : n.kind == NodeKind::Bridge ? "bridge"
                                                    : "linux";
    std::string label = n.name + "\n(" + kind + ")";
    std::string attrs;
    if (n.kind == NodeKind::Vnet) {
      attrs = "shape=box, peripheries=2, fillcolor=\"#dde6ff\"";
    } else if (n.kind == NodeKind::Bridge) {
      attrs = "shape=ellipse, fillcolor=\"#e4f5e4\"";
    } else {
      attrs = "shape=box, fillcolor=\"#f2f2f2\"";
    }
    auto d = drops.find(n.name);
    if (d != drops.end()) {
      for (const std::string& why : d->second) label += "\nDROP " + why;
      attrs += ", color=\"#c00000\", penwidth=2, fillcolor=\"#ffd6d6\"";
    }
    out << "  " << quote(n.name) << " [label=" << quote(label) << ", " << attrs << "];\n";
  }
  auto end_label = [&](const LinkEndpoint& ep) {
    std::string s = ep.ifname;
    auto it = addrs.find({ep.node, ep.ifname});
    if (it != addrs.end()) {
      for (const std::string& a : it->second) s += "\n" + a;
    }
    return s;
  };
  for (const LinkSpec& l : spec.links) {
    std::vector<std::string> props;
    if (l.mtu) props.push_back("mtu " + std::to_string(*l.mtu));
    if (l.delay_ns != 0) props.push_back("delay " + format_duration(l.delay_ns));
    if (l.loss != 0) {
      std::ostringstream loss;
      loss << "loss " << l.loss * 100 << "%";
      props.push_back(loss.str());
    }
    if (l.rate_bps != 0) props.push_back("rate " + std::to_string(l.rate_bps / 1'000'000) + "Mbit");
    std::string label;
    for (const std::string& p : props) label += (label.empty() ? "" : ", ") + p;
    out << "  " << quote(l.a.node) << " -- " << quote(l.b.node)
        << " [taillabel=" << quote(end_label(l.a)) << ", headlabel=" << quote(end_label(l.b));
    if (!label.empty()) out << ", label=" << quote(label);
    std::pair<std::string, std::string> a{l.a.node, l.a.ifname}, b{l.b.node, l.b.ifname};
    if (sent.count(a) || sent.count(b)) {
      std::string hops;
      if (first_use.count(a)) hops += std::to_string(first_use[a]);
      if (first_use.count(b)) hops += (hops.empty() ? "" : ",") + std::to_string(first_use[b]);
      out << ", color=\"#c00000\", penwidth=3, xlabel=" << quote("#" + hops)
          << ", fontcolor=\"#c00000\"";
    }
    out << "];\n";
  }
  // Tunnels: one dashed edge per pair of ends (or per end whose remote no node owns).
  std::set<size_t> drawn;
  for (size_t i = 0; i < tunnels.size(); ++i) {
    if (drawn.count(i)) continue;
    const Tunnel& t = tunnels[i];
    if (t.remote.empty()) continue;  // no fixed remote (VXLAN learning, FDB entries): no edge
    auto peer_it = owner.find(t.remote);
    std::string peer = peer_it != owner.end() ? peer_it->second : "";
    std::string label =
        t.dev + (t.mode.empty() ? "" : " " + t.mode) + (t.key.empty() ? "" : " " + t.key);
    for (size_t j = i + 1; j < tunnels.size(); ++j) {
      const Tunnel& u = tunnels[j];
      if (!drawn.count(j) && u.node == peer && owner.count(u.remote) && owner[u.remote] == t.node) {
        drawn.insert(j);
        if (u.dev != t.dev) label += " / " + u.dev;
        break;
      }
    }
    bool used = encapped.count({t.node, t.dev}) > 0;
    out << "  " << quote(t.node) << " -- " << quote(peer.empty() ? t.remote : peer)
        << " [style=dashed, label=" << quote(label) << ", constraint=false"
        << (used ? ", color=\"#c00000\", penwidth=2.5, fontcolor=\"#c00000\""
                 : ", color=\"#5070c0\"")
        << "];\n";
    if (peer.empty() && !t.remote.empty()) {
      out << "  " << quote(t.remote)
          << " [shape=plaintext, style=\"\", label=" << quote(t.remote + "\n(outside the lab)")
          << "];\n";
    }
  }
  out << "}\n";
  return out.str();
}

}  // namespace vnet::lab
