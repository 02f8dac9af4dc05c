#include "lab/lab_parser.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "lab/lab_values.h"
#include "lab/vpc_expand.h"

namespace vnet::lab {
namespace {

constexpr std::string_view kTopKeys[] = {"name", "topology", "seed", "checks",
                                         "vpcs", "prefix",   "mgmt"};
constexpr std::string_view kTopologyKeys[] = {"nodes", "links", "kinds", "defaults"};
// vnet's own node keys, then the containerlab keys that vnet accepts and ignores (a containerlab
// file keeps working; the image, bindings and management network mean nothing to a vnet node).
constexpr std::string_view kNodeKeys[] = {"kind",       "exec",           "image", "labels",
                                          "group",      "startup-config", "binds", "env",
                                          "mgmt-ipv4",  "mgmt-ipv6",      "ports", "cmd",
                                          "entrypoint", "network-mode",   "user",  "sysctls"};
// containerlab's link `labels` and `vars` are accepted and ignored.
constexpr std::string_view kLinkKeys[] = {"endpoints", "mtu",   "delay",  "loss",
                                          "rate",      "queue", "labels", "vars"};
constexpr std::string_view kCheckKeys[] = {"node", "run",     "expect", "output",
                                           "name", "timeout", "during"};
constexpr std::string_view kDuringKeys[] = {"at", "node", "run", "migrate", "to", "port"};
constexpr std::string_view kVpcsKeys[] = {"control", "grace", "hosts", "networks", "peerings"};
constexpr std::string_view kVpcNetKeys[] = {"id", "subnets", "vms"};
constexpr std::string_view kVpcVmKeys[] = {"node", "ip", "host", "interface", "mac"};
constexpr std::string_view kKindNames[] = {"linux", "vnet", "bridge"};
constexpr NodeKind kKinds[] = {NodeKind::Linux, NodeKind::Vnet, NodeKind::Bridge};
constexpr std::string_view kValidKinds = "valid kinds: linux, vnet, bridge";

// Thrown by Parser::fail, caught in parse_lab: the first error ends parsing.  It never leaves this
// file.
struct ParseFailure {
  LabError error;
};

// yaml-cpp's 0-based mark as a 1-based place; columns count bytes, as yaml-cpp's do.
SourceLoc mark_loc(const YAML::Mark& mark, const std::string& file) {
  if (mark.is_null() || mark.line < 0) return SourceLoc{file, 0, 0};
  return SourceLoc{file, mark.line + 1, mark.column + 1};
}

// Records where each document of a YAML stream starts, and nothing else.  Used instead of
// YAML::LoadAll, which in yaml-cpp 0.7 loops forever, allocating, on a stray ',' at the top level
// (jbeder/yaml-cpp#1040, fixed upstream by #1319): the parser emits a null document without
// consuming the token, again and again.  Here the caller stops after two documents and treats two
// starts at the same place as that stuck token.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {}
  void OnMapEnd() override {}
};

// One key of a YAML mapping, with where the key and its value are.
struct Entry {
  std::string key;
  SourceLoc key_loc;
  YAML::Node value;
  SourceLoc value_loc;
};

// The entries of a mapping, found by key.
struct Entries {
  std::vector<Entry> list;  // file order

  const Entry* find(std::string_view key) const {
    for (const Entry& entry : list) {
      if (entry.key == key) return &entry;
    }
    return nullptr;
  }
};

// A node definition as written under topology.defaults, topology.kinds.<kind> or
// topology.nodes.<name>, before merging.
struct NodeDef {
  std::optional<NodeKind> kind;
  std::vector<ExecLine> exec;
  SourceLoc exec_loc;  // the `exec` key
};

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

// YAML 1.2 core schema: the plain scalars that a YAML reader takes as a number rather than text.
bool looks_like_number(std::string_view text) {
  auto digits = [](std::string_view s, auto accept) {
    if (s.empty()) return false;
    for (char c : s) {
      if (!accept(c)) return false;
    }
    return true;
  };
  auto dec = [](char c) { return c >= '0' && c <= '9'; };
  auto hex = [&](char c) { return dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  auto oct = [](char c) { return c >= '0' && c <= '7'; };
  if (text.starts_with("0x")) return digits(text.substr(2), hex);
  if (text.starts_with("0o")) return digits(text.substr(2), oct);
  if (text == ".nan" || text == ".NaN" || text == ".NAN") return true;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) text.remove_prefix(1);
  if (text == ".inf" || text == ".Inf" || text == ".INF") return true;
  // [0-9]+ ( . [0-9]* )? | . [0-9]+ , then an optional exponent [eE][-+]?[0-9]+
  size_t exponent = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, exponent);
  if (exponent != std::string_view::npos) {
    std::string_view power = text.substr(exponent + 1);
    if (!power.empty() && (power[0] == '+' || power[0] == '-')) power.remove_prefix(1);
    if (!digits(power, dec)) return false;
  }
  size_t point = mantissa.find('.');
  if (point == std::string_view::npos) return digits(mantissa, dec);
  std::string_view whole = mantissa.substr(0, point);
  std::string_view fraction = mantissa.substr(point + 1);
  if (whole.empty()) return digits(fraction, dec);
  return digits(whole, dec) && (fraction.empty() || digits(fraction, dec));
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  LabSpec parse(const YAML::Node& root) {
    const SourceLoc root_loc = loc_of(root, at(1, 1));
    if (!root.IsMap()) {
      fail(root_loc,
           "the top level must be a mapping with 'name' and 'topology', found " + describe(root));
    }
    const Entries top = entries(root, "at the top level", kTopKeys);
    LabSpec spec;
    const Entry* name = top.find("name");
    if (name == nullptr) fail(root_loc, "missing required key 'name' (the lab's name)");
    spec.name = scalar(*name, "name must be a string");
    if (spec.name.empty()) fail(name->value_loc, "name must not be empty");
    if (auto e = node_name_error(spec.name, "lab name")) fail(name->value_loc, *e);
    if (const Entry* seed = top.find("seed")) {
      spec.seed =
          value_or_fail(parse_u64(scalar(*seed, u64_expectation("seed")), "seed"), seed->value_loc);
    }
    const Entry* topology = top.find("topology");
    if (topology == nullptr) fail(root_loc, "missing required key 'topology' (with 'nodes')");
    parse_topology(*topology, spec);
    if (const Entry* checks = top.find("checks")) parse_checks(*checks, spec);
    if (const Entry* vpcs = top.find("vpcs")) parse_vpcs(*vpcs, spec);
    check_migrations(spec);
    return spec;
  }

 private:
  SourceLoc at(int line, int column) const { return SourceLoc{file_, line, column}; }

  SourceLoc loc(const YAML::Mark& mark) const { return mark_loc(mark, file_); }

  // Where `node` is.  yaml-cpp places an empty value ("key:" with nothing after it) at the next
  // token, which may be lines further on, so such a node is placed at `fallback` (its key, or its
  // list) instead; an explicit "~" or "null" keeps its own place.
  SourceLoc loc_of(const YAML::Node& node, const SourceLoc& fallback) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null() || mark.line < 0) return fallback;
    if (node.IsNull()) {
      const auto pos = static_cast<size_t>(mark.pos);
      std::string_view rest = pos <= text_.size() ? text_.substr(pos) : std::string_view();
      const bool explicit_null = rest.starts_with("~") || rest.starts_with("null") ||
                                 rest.starts_with("Null") || rest.starts_with("NULL");
      if (!explicit_null) return fallback;
    }
    return loc(mark);
  }

  [[noreturn]] void fail(const SourceLoc& where, std::string message) const {
    throw ParseFailure{LabError{where, std::move(message)}};
  }

  template <typename T>
  T value_or_fail(Parsed<T> parsed, const SourceLoc& where) const {
    if (auto* message = std::get_if<std::string>(&parsed)) fail(where, std::move(*message));
    return std::get<T>(std::move(parsed));
  }

  // The entries of `map` in file order.  Keys must be strings, unique, and (unless `allowed` is
  // empty) one of `allowed`; `where` places the mapping in messages ("in node 'r1'").
  Entries entries(const YAML::Node& map, std::string_view where,
                  std::span<const std::string_view> allowed) const {
    Entries result;
    std::map<std::string, int, std::less<>> first_lines;  // key -> its line; keeps this O(n log n)
    const SourceLoc map_loc = loc_of(map, at(0, 0));
    for (const auto& item : map) {
      const SourceLoc key_loc = loc_of(item.first, map_loc);
      if (!item.first.IsScalar()) {
        fail(key_loc,
             "a key " + std::string(where) + " must be a string, found " + describe(item.first));
      }
      const std::string& key = item.first.Scalar();
      if (key == "<<") {
        fail(key_loc,
             "YAML merge keys ('<<') are not supported; share settings with topology.defaults "
             "or topology.kinds");
      }
      if (auto [first, inserted] = first_lines.emplace(key, key_loc.line); !inserted) {
        fail(key_loc, "duplicate key " + quote(key) + " " + std::string(where) +
                          " (first at line " + std::to_string(first->second) + ")");
      }
      if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string message = "unknown key " + quote(key) + " " + std::string(where);
        if (std::optional<std::string_view> guess = closest_match(key, allowed)) {
          message += " (did you mean '" + std::string(*guess) + "'?)";
        } else {
          message += " (valid keys:";
          for (size_t i = 0; i < allowed.size(); ++i) {
            message += (i == 0 ? " " : ", ") + std::string(allowed[i]);
          }
          message += ")";
        }
        fail(key_loc, std::move(message));
      }
      result.list.push_back(Entry{key, key_loc, item.second, loc_of(item.second, key_loc)});
    }
    return result;
  }

  // The text of a scalar value; anything else fails with "<expectation>, found …".
  std::string scalar(const YAML::Node& node, const SourceLoc& where,
                     std::string_view expectation) const {
    if (!node.IsScalar()) fail(where, std::string(expectation) + ", found " + describe(node));
    return node.Scalar();
  }
  std::string scalar(const Entry& entry, std::string_view expectation) const {
    return scalar(entry.value, entry.value_loc, expectation);
  }

  // A command line: a string, but not a mapping (an unquoted ": " inside the line makes one), a
  // list or something YAML reads as a number.  `what` names it: "exec line 2 of node 'r1'".
  std::string command(const YAML::Node& node, const SourceLoc& where,
                      const std::string& what) const {
    const std::string expectation = what + " must be a command string";
    if (node.IsMap()) {
      fail(where, expectation +
                      ", found a mapping (an unquoted ': ' inside a line makes it one; quote the "
                      "line)");
    }
    std::string text = scalar(node, where, expectation);
    const bool plain = node.Tag() == "?";
    const bool number_tag =
        node.Tag() == "tag:yaml.org,2002:int" || node.Tag() == "tag:yaml.org,2002:float";
    if ((plain && looks_like_number(text)) || number_tag) {
      fail(where, expectation + ", found the number " + text);
    }
    return text;
  }

  static size_t kind_index(NodeKind kind) {
    return static_cast<size_t>(std::find(std::begin(kKinds), std::end(kKinds), kind) -
                               std::begin(kKinds));
  }

  static std::optional<NodeKind> kind_named(std::string_view name) {
    for (size_t i = 0; i < std::size(kKindNames); ++i) {
      if (kKindNames[i] == name) return kKinds[i];
    }
    return std::nullopt;
  }

  // `owner` names the definition in messages: "node 'r1'", "topology.defaults",
  // "topology.kinds.linux".
  NodeDef parse_node_def(const YAML::Node& map, const SourceLoc& map_loc, const std::string& owner,
                         bool in_kinds) const {
    NodeDef def;
    if (map.IsNull()) return def;
    if (!map.IsMap()) {
      fail(map_loc, owner + " must be a mapping such as {kind: linux}, found " + describe(map));
    }
    const Entries items = entries(map, "in " + owner, kNodeKeys);
    if (const Entry* kind = items.find("kind")) {
      if (in_kinds) {
        fail(kind->key_loc, "'kind' has no effect in " + owner + ": the kind is the key above");
      }
      if (!kind->value.IsScalar()) {
        fail(kind->value_loc, "kind must be linux, vnet or bridge, found " + describe(kind->value));
      }
      def.kind = kind_named(kind->value.Scalar());
      if (!def.kind) {
        fail(kind->value_loc, "unknown node kind " + quote(kind->value.Scalar()) + " (" +
                                  std::string(kValidKinds) + ")");
      }
    }
    if (const Entry* exec = items.find("exec")) {
      def.exec_loc = exec->key_loc;
      if (exec->value.IsSequence()) {
        int index = 0;
        for (const auto& line : exec->value) {
          ++index;
          const SourceLoc line_loc = loc_of(line, exec->value_loc);
          def.exec.push_back(ExecLine{
              command(line, line_loc, "exec line " + std::to_string(index) + " of " + owner),
              line_loc});
        }
      } else if (!exec->value.IsNull()) {
        fail(exec->value_loc, "exec of " + owner + " must be a list of command lines, found " +
                                  describe(exec->value));
      }
    }
    return def;
  }

  void parse_topology(const Entry& topology, LabSpec& spec) {
    if (!topology.value.IsMap()) {
      fail(topology.value_loc,
           "topology must be a mapping with 'nodes', found " + describe(topology.value));
    }
    const Entries items = entries(topology.value, "in 'topology'", kTopologyKeys);

    NodeDef defaults;
    if (const Entry* entry = items.find("defaults")) {
      defaults = parse_node_def(entry->value, entry->value_loc, "topology.defaults", false);
    }

    std::array<NodeDef, std::size(kKinds)> kinds;
    if (const Entry* entry = items.find("kinds")) {
      if (!entry->value.IsNull() && !entry->value.IsMap()) {
        fail(entry->value_loc,
             "topology.kinds must be a mapping from kind names to node settings, found " +
                 describe(entry->value));
      }
      if (entry->value.IsMap()) {
        for (const Entry& kind : entries(entry->value, "in topology.kinds", {}).list) {
          std::optional<NodeKind> parsed = kind_named(kind.key);
          if (!parsed) {
            fail(kind.key_loc, "unknown node kind " + quote(kind.key) + " in topology.kinds (" +
                                   std::string(kValidKinds) + ")");
          }
          const std::string owner = "topology.kinds." + kind.key;
          NodeDef def = parse_node_def(kind.value, kind.value_loc, owner, true);
          if (*parsed == NodeKind::Bridge && !def.exec.empty()) {
            fail(def.exec_loc, owner + " cannot have exec lines: a bridge runs no commands");
          }
          kinds[kind_index(*parsed)] = std::move(def);
        }
      }
    }

    const Entry* nodes = items.find("nodes");
    if (nodes == nullptr) {
      fail(loc_of(topology.value, topology.key_loc), "missing required key 'nodes' in 'topology'");
    }
    parse_nodes(*nodes, defaults, kinds, spec);

    if (const Entry* links = items.find("links")) parse_links(*links, spec);
  }

  void parse_nodes(const Entry& nodes, const NodeDef& defaults,
                   const std::array<NodeDef, std::size(kKinds)>& kinds, LabSpec& spec) {
    if (!nodes.value.IsNull() && !nodes.value.IsMap()) {
      fail(nodes.value_loc,
           "topology.nodes must be a mapping from node names to node definitions, found " +
               describe(nodes.value));
    }
    if (nodes.value.IsNull() || nodes.value.size() == 0) {
      fail(nodes.value_loc, "topology.nodes is empty; a lab needs at least one node");
    }
    for (const Entry& entry : entries(nodes.value, "in topology.nodes", {}).list) {
      if (std::optional<std::string> error = node_name_error(entry.key)) {
        fail(entry.key_loc, std::move(*error));
      }
      const std::string owner = "node '" + entry.key + "'";
      const NodeDef def = parse_node_def(entry.value, entry.value_loc, owner, false);
      std::optional<NodeKind> kind = def.kind ? def.kind : defaults.kind;
      if (!kind) {
        fail(entry.key_loc, owner +
                                " has no kind (set kind: linux, vnet or bridge here or in "
                                "topology.defaults)");
      }
      const NodeDef& kind_def = kinds[kind_index(*kind)];
      if (*kind == NodeKind::Bridge) {
        if (!def.exec.empty()) {
          fail(def.exec_loc,
               "bridge '" + entry.key + "' cannot have exec lines: a bridge runs no commands");
        }
        if (!defaults.exec.empty()) {
          fail(defaults.exec_loc, "bridge '" + entry.key +
                                      "' would inherit the exec lines of topology.defaults, but "
                                      "a bridge runs no commands");
        }
      }
      NodeSpec node;
      node.name = entry.key;
      node.kind = *kind;
      node.loc = entry.key_loc;
      node_index_.emplace(node.name, spec.nodes.size());
      // containerlab's GetNodeExec(): defaults, then the kind's, then the node's own.
      for (const NodeDef* source : {&defaults, &kind_def, &def}) {
        node.exec.insert(node.exec.end(), source->exec.begin(), source->exec.end());
      }
      spec.nodes.push_back(std::move(node));
    }
  }

  // LabSpec::find_node, in O(log n): a lab of thousands of nodes and links stays fast.
  const NodeSpec* find_node(const LabSpec& spec, std::string_view name) const {
    auto it = node_index_.find(name);
    return it == node_index_.end() ? nullptr : &spec.nodes[it->second];
  }

  // " (did you mean 'x'?)" when a candidate is close to `word`, else "".
  static std::string suggestion(std::string_view word, std::span<const std::string_view> names) {
    std::optional<std::string_view> guess = closest_match(word, names);
    return guess ? " (did you mean '" + std::string(*guess) + "'?)" : "";
  }

  // " (did you mean 'server'?)" when a node of a similar name exists, else "".
  static std::string node_suggestion(std::string_view name, const LabSpec& spec) {
    std::vector<std::string_view> names;
    names.reserve(spec.nodes.size());
    for (const NodeSpec& node : spec.nodes) names.push_back(node.name);
    return suggestion(name, names);
  }

  LinkEndpoint parse_endpoint(const YAML::Node& node, const SourceLoc& where,
                              const LabSpec& spec) const {
    const std::string text = scalar(node, where, "endpoint must be a \"node:ifname\" string");
    const size_t colon = text.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
      fail(where, "endpoint " + quote(text) + " is not node:ifname");
    }
    LinkEndpoint endpoint{text.substr(0, colon), text.substr(colon + 1), where};
    const NodeSpec* owner = find_node(spec, endpoint.node);
    if (owner == nullptr) {
      fail(where, "unknown node " + quote(endpoint.node) + " in endpoint " + quote(text) +
                      node_suggestion(endpoint.node, spec));
    }
    if (std::optional<std::string> error = ifname_error(endpoint.ifname)) {
      fail(where, "endpoint " + quote(text) + ": " + *error);
    }
    if (endpoint.ifname == "lo" && owner->kind != NodeKind::Bridge) {
      fail(where, "endpoint " + quote(text) +
                      ": 'lo' is the node's loopback interface; give the link its own interface");
    }
    return endpoint;
  }

  void use_endpoint(const LinkEndpoint& endpoint) {
    auto [it, inserted] = endpoint_uses_.emplace(endpoint.to_string(), endpoint.loc);
    if (!inserted) {
      fail(endpoint.loc, "endpoint " + quote(endpoint.to_string()) + " already used at line " +
                             std::to_string(it->second.line));
    }
  }

  void parse_links(const Entry& links, LabSpec& spec) {
    if (links.value.IsNull()) return;
    if (!links.value.IsSequence()) {
      fail(links.value_loc,
           "topology.links must be a list of links, found " + describe(links.value));
    }
    for (const auto& item : links.value) {
      const SourceLoc link_loc = loc_of(item, links.value_loc);
      if (!item.IsMap()) {
        fail(link_loc, "link must be a mapping with 'endpoints', found " + describe(item));
      }
      const Entries items = entries(item, "in a link", kLinkKeys);
      const Entry* endpoints = items.find("endpoints");
      if (endpoints == nullptr) fail(link_loc, "link has no 'endpoints'");
      if (!endpoints->value.IsSequence()) {
        fail(endpoints->value_loc,
             "endpoints must be a list of two \"node:ifname\" strings, found " +
                 describe(endpoints->value));
      }
      if (endpoints->value.size() != 2) {
        fail(endpoints->value_loc, "a link needs exactly two endpoints, found " +
                                       std::to_string(endpoints->value.size()));
      }
      LinkSpec link;
      link.loc = link_loc;
      const YAML::Node a = endpoints->value[0];
      const YAML::Node b = endpoints->value[1];
      link.a = parse_endpoint(a, loc_of(a, endpoints->value_loc), spec);
      link.b = parse_endpoint(b, loc_of(b, endpoints->value_loc), spec);
      if (link.a.to_string() == link.b.to_string()) {
        fail(link.b.loc, "link connects endpoint " + quote(link.a.to_string()) + " to itself");
      }
      use_endpoint(link.a);
      use_endpoint(link.b);
      if (const Entry* mtu = items.find("mtu")) {
        link.mtu = value_or_fail(parse_mtu(scalar(*mtu, mtu_expectation())), mtu->value_loc);
      }
      if (const Entry* delay = items.find("delay")) {
        link.delay_ns =
            value_or_fail(parse_duration_ns(scalar(*delay, duration_expectation("delay")), "delay"),
                          delay->value_loc);
      }
      if (const Entry* loss = items.find("loss")) {
        link.loss = value_or_fail(parse_loss(scalar(*loss, loss_expectation())), loss->value_loc);
      }
      if (const Entry* rate = items.find("rate")) {
        link.rate_bps =
            value_or_fail(parse_rate_bps(scalar(*rate, rate_expectation())), rate->value_loc);
      }
      if (const Entry* queue = items.find("queue")) {
        uint64_t q = value_or_fail(parse_u64(scalar(*queue, u64_expectation("queue")), "queue"),
                                   queue->value_loc);
        if (q < 1 || q > 1'000'000) {
          fail(queue->value_loc, "queue " + quote(scalar(*queue, u64_expectation("queue"))) +
                                     " is out of range (1..1000000 frames)");
        }
        if (!items.find("rate")) {
          fail(queue->key_loc, "queue needs a rate: without one frames never wait");
        }
        link.queue = static_cast<uint32_t>(q);
      }
      spec.links.push_back(std::move(link));
    }
  }

  void parse_checks(const Entry& checks, LabSpec& spec) {
    if (checks.value.IsNull()) return;
    if (!checks.value.IsSequence()) {
      fail(checks.value_loc, "checks must be a list of checks, found " + describe(checks.value));
    }
    for (const auto& item : checks.value) {
      const SourceLoc check_loc = loc_of(item, checks.value_loc);
      if (!item.IsMap()) {
        fail(check_loc, "check must be a mapping with 'node' and 'run', found " + describe(item));
      }
      const Entries items = entries(item, "in a check", kCheckKeys);
      CheckSpec check;
      check.loc = check_loc;

      const Entry* node = items.find("node");
      if (node == nullptr) fail(check_loc, "check has no 'node' (the node to run it on)");
      check.node = scalar(*node, "node must be a node name");
      const NodeSpec* target = find_node(spec, check.node);
      if (target == nullptr) {
        fail(node->value_loc,
             "check on unknown node " + quote(check.node) + node_suggestion(check.node, spec));
      }
      if (target->kind == NodeKind::Bridge) {
        fail(node->value_loc, "check on bridge " + quote(check.node) +
                                  ": a bridge runs no commands; run the check on a linux or "
                                  "vnet node");
      }

      const Entry* run = items.find("run");
      if (run == nullptr) {
        fail(check_loc,
             "check has no 'run' (the command line to run on " + quote(check.node) + ")");
      }
      check.run = command(run->value, run->value_loc, "run");
      if (check.run.empty()) fail(run->value_loc, "run is an empty command line");

      if (const Entry* expect = items.find("expect")) {
        const std::string expectation = "expect must be 'success' or 'failure'";
        const std::string text = scalar(*expect, expectation);
        if (text == "success") {
          check.expect = Expect::Success;
        } else if (text == "failure") {
          check.expect = Expect::Failure;
        } else {
          fail(expect->value_loc, expectation + ", found " + quote(text));
        }
      }

      if (const Entry* output = items.find("output")) {
        const std::string expectation = "output must be a string or a list of strings";
        if (output->value.IsSequence()) {
          int index = 0;
          for (const auto& text : output->value) {
            ++index;
            check.output.push_back(
                scalar(text, loc_of(text, output->value_loc),
                       "output item " + std::to_string(index) + " must be a string"));
          }
        } else {
          check.output.push_back(scalar(*output, expectation));
        }
      }

      if (const Entry* name = items.find("name")) {
        check.name = scalar(*name, "check name must be a string");
      }

      if (const Entry* timeout = items.find("timeout")) {
        check.timeout_ns = value_or_fail(
            parse_duration_ns(scalar(*timeout, duration_expectation("timeout")), "timeout"),
            timeout->value_loc);
        if (*check.timeout_ns == 0) fail(timeout->value_loc, "timeout must be greater than 0");
      }

      if (const Entry* during = items.find("during")) {
        parse_during(*during, items.find("timeout"), check, spec);
      }
      spec.checks.push_back(std::move(check));
    }
  }

  // A `migrate` of a check's `during`, checked against `vpcs` at the end.
  struct Migration {
    std::string vm;
    SourceLoc key_loc;  // the `migrate` key
    SourceLoc vm_loc;
    std::string to;
    SourceLoc to_loc;
  };

  // Where a VM was first listed.
  struct VmPlace {
    uint32_t vpc_id = 0;
    int line = 0;
    std::string node;
  };

  // A check's `during:` list, sorted by time.  What a migration names (the VM, its new host) is
  // checked by check_migrations once the whole file is read: `vpcs:` may come after `checks:`.
  void parse_during(const Entry& during, const Entry* timeout, CheckSpec& check,
                    const LabSpec& spec) {
    if (during.value.IsNull()) return;
    if (!during.value.IsSequence()) {
      fail(during.value_loc, "during must be a list of actions, found " + describe(during.value));
    }
    for (const auto& item : during.value) {
      const SourceLoc item_loc = loc_of(item, during.value_loc);
      if (!item.IsMap()) {
        fail(item_loc,
             "during item must be a mapping with 'at' and either 'node' and 'run' or 'migrate' "
             "and 'to', found " +
                 describe(item));
      }
      const Entries items = entries(item, "in a during item", kDuringKeys);
      // An item either runs a command or migrates a VM: the first key of the other kind is the
      // mistake.
      const Entry* run_key = nullptr;
      const Entry* migrate_key = nullptr;
      for (const Entry& entry : items.list) {
        const bool is_run = entry.key == "node" || entry.key == "run";
        const bool is_migrate = entry.key == "migrate" || entry.key == "to" || entry.key == "port";
        if (!is_run && !is_migrate) continue;
        const Entry*& mine = is_run ? run_key : migrate_key;
        const Entry* other = is_run ? migrate_key : run_key;
        if (other != nullptr) {
          fail(entry.key_loc, quote(entry.key) + " cannot be combined with " + quote(other->key) +
                                  " in a during item: an item either runs a command ('node', "
                                  "'run') or migrates a VM ('migrate', 'to', 'port')");
        }
        if (mine == nullptr) mine = &entry;
      }

      DuringAction action;
      action.loc = item_loc;
      const Entry* at = items.find("at");
      if (at == nullptr) {
        fail(item_loc, "during item has no 'at' (when to act, after the check's command starts)");
      }
      const std::string at_text = scalar(*at, duration_expectation("at"));
      action.at_ns = value_or_fail(parse_duration_ns(at_text, "at"), at->value_loc);
      if (check.timeout_ns && action.at_ns >= *check.timeout_ns) {
        fail(at->value_loc, "at " + quote(at_text) + " is not before the check's timeout " +
                                quote(timeout->value.Scalar()));
      }

      if (run_key == nullptr && migrate_key == nullptr) {
        fail(item_loc,
             "during item has neither 'node' and 'run' (a command) nor 'migrate' and 'to' (a VM "
             "migration)");
      }
      if (run_key != nullptr) {
        const Entry* node = items.find("node");
        if (node == nullptr) fail(item_loc, "during item has no 'node' (the node to run it on)");
        action.node = scalar(*node, "node must be a node name");
        const NodeSpec* target = find_node(spec, action.node);
        if (target == nullptr) {
          fail(node->value_loc, "during item on unknown node " + quote(action.node) +
                                    node_suggestion(action.node, spec));
        }
        if (target->kind == NodeKind::Bridge) {
          fail(node->value_loc, "during item on bridge " + quote(action.node) +
                                    ": a bridge runs no commands; run it on a linux or vnet node");
        }
        const Entry* run = items.find("run");
        if (run == nullptr) {
          fail(item_loc,
               "during item has no 'run' (the command line to run on " + quote(action.node) + ")");
        }
        action.run = command(run->value, run->value_loc, "run");
        if (action.run.empty()) fail(run->value_loc, "run is an empty command line");
      } else {
        const Entry* migrate = items.find("migrate");
        if (migrate == nullptr) fail(item_loc, "during item has no 'migrate' (the VM to move)");
        action.migrate = scalar(*migrate, "migrate must be a VM's node name");
        const Entry* to = items.find("to");
        if (to == nullptr) {
          fail(item_loc, "migration of " + quote(action.migrate) +
                             " has no 'to' (the host of vpcs.hosts to move it to)");
        }
        action.to = scalar(*to, "to must be a host's node name");
        if (const Entry* port = items.find("port")) {
          action.port = scalar(*port, "port must be an interface name");
          if (std::optional<std::string> error = ifname_error(action.port)) {
            fail(port->value_loc,
                 "port of " + quote(action.migrate) + " on " + quote(action.to) + ": " + *error);
          }
          if (action.port == "lo") {
            fail(port->value_loc,
                 "port 'lo' is the host's loopback interface; give the VM its own port");
          }
        }
        migrations_.push_back(Migration{action.migrate, migrate->key_loc, migrate->value_loc,
                                        action.to, to->value_loc});
      }
      check.during.push_back(std::move(action));
    }
    std::stable_sort(
        check.during.begin(), check.during.end(),
        [](const DuringAction& a, const DuringAction& b) { return a.at_ns < b.at_ns; });
  }

  // What the checks' migrations name, once `vpcs` is known.
  void check_migrations(const LabSpec& spec) const {
    if (migrations_.empty()) return;
    if (!vpcs_given_) {
      fail(migrations_.front().key_loc,
           "migrate needs a 'vpcs' section (the hosts and VMs that migrations move between)");
    }
    for (const Migration& migration : migrations_) {
      if (vm_places_.find(migration.vm) == vm_places_.end()) {
        std::vector<std::string_view> vms;
        for (const VpcNetSpec& net : spec.vpcs.networks) {
          for (const VpcVmSpec& vm : net.vms) vms.push_back(vm.node);
        }
        fail(migration.vm_loc, "cannot migrate " + quote(migration.vm) +
                                   ": it is not a VM of vpcs.networks" +
                                   suggestion(migration.vm, vms));
      }
      if (host_index_.find(migration.to) == host_index_.end()) {
        fail(migration.to_loc, "cannot migrate " + quote(migration.vm) + " to " +
                                   quote(migration.to) + ": it is not a host of vpcs.hosts" +
                                   host_suggestion(migration.to, spec));
      }
    }
    // Each port a VM migrates to must be free on its host: not an interface of one of the
    // host's links, and not a port another VM migrates to (the runners make these ports).
    std::map<std::string, lab::VmPlace> now;
    std::map<std::pair<std::string, std::string>, std::string> taken;  // (host, port) -> VM
    for (const auto& [vm, places] : migration_places(spec)) {
      for (const lab::VmPlace& p : places) taken.emplace(std::pair{p.host, p.port}, vm);
    }
    for (const CheckSpec& check : spec.checks) {
      for (const DuringAction& a : check.during) {
        if (a.migrate.empty()) continue;
        auto [vm, net] = spec.vpcs.find_vm(a.migrate);
        auto it = now.try_emplace(a.migrate, lab::VmPlace{vm->host, vm->port}).first;
        lab::VmPlace next{a.to, a.port.empty() ? it->second.port : a.port};
        bool own = next == lab::VmPlace{vm->host, vm->port};
        for (const LinkSpec& l : spec.links) {
          for (const LinkEndpoint* e : {&l.a, &l.b}) {
            if (!own && e->node == next.host && e->ifname == next.port) {
              fail(a.loc, "cannot migrate " + quote(a.migrate) + " to " + quote(next.host) +
                              ": it has an interface " + quote(next.port) + " already (line " +
                              std::to_string(e->loc.line) + "); give the VM a 'port' of its own");
            }
          }
        }
        auto owner = taken.find(std::pair{next.host, next.port});
        if (owner != taken.end() && owner->second != a.migrate) {
          fail(a.loc, "cannot migrate " + quote(a.migrate) + " to " + quote(next.host) + ": port " +
                          quote(next.port) + " is " + quote(owner->second) +
                          "'s; give the VM a 'port' of its own");
        }
        it->second = next;
      }
    }
  }

  static std::string host_suggestion(std::string_view word, const LabSpec& spec) {
    std::vector<std::string_view> names;
    for (const VpcHostSpec& host : spec.vpcs.hosts) names.push_back(host.node);
    return suggestion(word, names);
  }

  bool is_host(std::string_view node) const { return host_index_.find(node) != host_index_.end(); }

  // A subnet of `set` (disjoint prefixes keyed by network) that overlaps `prefix`, or nullptr.
  // Prefixes are nested or disjoint, so an overlapping member either contains `prefix` (then it
  // is the last member starting before it: any member between would lie inside it too) or lies
  // inside `prefix` (then the first member starting at or after it does too).
  static const VpcPrefix* find_overlap(const std::map<uint32_t, VpcPrefix>& set,
                                       const VpcPrefix& prefix) {
    auto next = set.lower_bound(prefix.network);
    if (next != set.end() && prefixes_overlap(next->second, prefix)) return &next->second;
    if (next != set.begin() && prefixes_overlap(std::prev(next)->second, prefix)) {
      return &std::prev(next)->second;
    }
    return nullptr;
  }

  void parse_vpcs(const Entry& entry, LabSpec& spec) {
    VpcSpec& vpcs = spec.vpcs;
    vpcs_given_ = true;
    vpcs.loc = entry.key_loc;
    if (!entry.value.IsMap()) {
      fail(entry.value_loc,
           "vpcs must be a mapping with 'hosts' and 'networks', found " + describe(entry.value));
    }
    const Entries items = entries(entry.value, "in vpcs", kVpcsKeys);
    if (const Entry* grace = items.find("grace")) {
      vpcs.grace_loc = grace->key_loc;
      vpcs.grace_ns =
          value_or_fail(parse_duration_ns(scalar(*grace, duration_expectation("grace")), "grace"),
                        grace->value_loc);
      if (*vpcs.grace_ns == 0) fail(grace->value_loc, "grace must be greater than 0");
    }
    if (const Entry* control = items.find("control")) {
      vpcs.control_loc = control->key_loc;
      std::string c = scalar(*control, "control must be exec or etcd");
      if (c == "etcd") {
        vpcs.control = VpcControl::Etcd;
      } else if (c != "exec") {
        fail(control->value_loc, "control must be exec or etcd, found '" + c + "'");
      }
    }
    const Entry* hosts = items.find("hosts");
    if (hosts == nullptr) {
      fail(entry.value_loc,
           "vpcs has no 'hosts' (the vnet nodes that run a vSwitch, with their underlay "
           "addresses)");
    }
    parse_vpc_hosts(*hosts, spec);
    for (size_t i = 0; i < spec.links.size(); ++i) {
      links_by_node_[spec.links[i].a.node].push_back(i);
      if (spec.links[i].b.node != spec.links[i].a.node) {
        links_by_node_[spec.links[i].b.node].push_back(i);
      }
    }
    if (const Entry* networks = items.find("networks")) parse_vpc_networks(*networks, spec);
    if (const Entry* peerings = items.find("peerings")) parse_vpc_peerings(*peerings, spec);
    const uint64_t lines = vpc_exec_line_count(vpcs);
    if (lines > kMaxVpcExecLines) {
      fail(entry.key_loc, "vpcs expands to " + std::to_string(lines) +
                              " command lines (a route per VM on every host); at most " +
                              std::to_string(kMaxVpcExecLines));
    }
  }

  void parse_vpc_hosts(const Entry& hosts, LabSpec& spec) {
    if (!hosts.value.IsNull() && !hosts.value.IsMap()) {
      fail(hosts.value_loc,
           "vpcs.hosts must be a mapping from vnet node names to underlay IPv4 addresses, found " +
               describe(hosts.value));
    }
    if (hosts.value.IsNull() || hosts.value.size() == 0) {
      fail(hosts.value_loc,
           "vpcs.hosts is empty; give at least one vnet node and its underlay address");
    }
    std::map<uint32_t, const Entry*> by_addr;
    const Entries list = entries(hosts.value, "in vpcs.hosts", {});
    for (const Entry& entry : list.list) {
      const NodeSpec* node = find_node(spec, entry.key);
      if (node == nullptr) {
        fail(entry.key_loc, "unknown node " + quote(entry.key) + " in vpcs.hosts" +
                                node_suggestion(entry.key, spec));
      }
      if (node->kind != NodeKind::Vnet) {
        fail(entry.key_loc, "host " + quote(entry.key) + " is a " +
                                std::string(to_string(node->kind)) +
                                " node; a host of vpcs.hosts must be a vnet node (its vSwitch is "
                                "vnet's stack)");
      }
      const std::string what = "underlay address of host " + quote(entry.key);
      VpcHostSpec host;
      host.node = entry.key;
      host.loc = entry.key_loc;
      host.addr =
          value_or_fail(parse_ipv4(scalar(entry, ipv4_expectation(what)), what), entry.value_loc);
      if (std::optional<std::string> error = unicast_ipv4_error(host.addr)) {
        fail(entry.value_loc, what + ": " + *error);
      }
      if (auto [it, inserted] = by_addr.emplace(host.addr, &entry); !inserted) {
        fail(entry.value_loc, "host " + quote(entry.key) + " has the underlay address " +
                                  format_ipv4(host.addr) + " of host " + quote(it->second->key) +
                                  " (line " + std::to_string(it->second->key_loc.line) +
                                  "); each host needs its own");
      }
      host_index_.emplace(host.node, spec.vpcs.hosts.size());
      spec.vpcs.hosts.push_back(std::move(host));
    }
  }

  void parse_vpc_networks(const Entry& networks, LabSpec& spec) {
    if (networks.value.IsNull()) return;
    if (!networks.value.IsSequence()) {
      fail(networks.value_loc,
           "vpcs.networks must be a list of VPCs, found " + describe(networks.value));
    }
    for (const auto& item : networks.value) {
      const SourceLoc net_loc = loc_of(item, networks.value_loc);
      if (!item.IsMap()) {
        fail(net_loc, "a VPC must be a mapping with 'id', found " + describe(item));
      }
      const Entries items = entries(item, "in a VPC", kVpcNetKeys);
      VpcNetSpec net;
      net.loc = net_loc;
      const Entry* id = items.find("id");
      if (id == nullptr) fail(net_loc, "VPC has no 'id' (its VPC id, also its GRE key)");
      net.id =
          value_or_fail(parse_u32(scalar(*id, u32_expectation("vpc id")), "vpc id"), id->value_loc);
      const std::string owner = "vpc " + std::to_string(net.id);
      if (auto [it, inserted] = vpc_index_.emplace(net.id, spec.vpcs.networks.size()); !inserted) {
        fail(id->value_loc, "duplicate vpc id " + std::to_string(net.id) + " (first at line " +
                                std::to_string(spec.vpcs.networks[it->second].loc.line) + ")");
      }

      std::map<uint32_t, VpcPrefix> subnet_set;  // network -> prefix; disjoint
      if (const Entry* subnets = items.find("subnets"); subnets && !subnets->value.IsNull()) {
        if (!subnets->value.IsSequence()) {
          fail(subnets->value_loc, "subnets of " + owner +
                                       " must be a list of prefixes such as [10.0.1.0/24], "
                                       "found " +
                                       describe(subnets->value));
        }
        for (const auto& text : subnets->value) {
          const SourceLoc subnet_loc = loc_of(text, subnets->value_loc);
          const VpcPrefix prefix = value_or_fail(
              parse_ipv4_prefix(scalar(text, subnet_loc, prefix_expectation("subnet")), "subnet"),
              subnet_loc);
          if (const VpcPrefix* other = find_overlap(subnet_set, prefix)) {
            fail(subnet_loc, "subnet " + format_prefix(prefix) + " overlaps " +
                                 format_prefix(*other) + ", another subnet of " + owner);
          }
          subnet_set.emplace(prefix.network, prefix);
          net.subnets.push_back(prefix);
        }
      }

      if (const Entry* vms = items.find("vms"); vms && !vms->value.IsNull()) {
        if (!vms->value.IsSequence()) {
          fail(vms->value_loc,
               "vms of " + owner + " must be a list of VMs, found " + describe(vms->value));
        }
        std::map<uint32_t, const VpcVmSpec*> by_ip;  // into net.vms, reserved below
        net.vms.reserve(vms->value.size());
        for (const auto& vm_item : vms->value) {
          VpcVmSpec vm =
              parse_vpc_vm(vm_item, loc_of(vm_item, vms->value_loc), net, subnet_set, by_ip, spec);
          net.vms.push_back(std::move(vm));
          by_ip.emplace(net.vms.back().ip, &net.vms.back());
        }
      }
      subnet_sets_.push_back(std::move(subnet_set));
      spec.vpcs.networks.push_back(std::move(net));
    }
  }

  VpcVmSpec parse_vpc_vm(const YAML::Node& item, const SourceLoc& vm_loc, const VpcNetSpec& net,
                         const std::map<uint32_t, VpcPrefix>& subnet_set,
                         const std::map<uint32_t, const VpcVmSpec*>& by_ip, const LabSpec& spec) {
    const std::string owner = "vpc " + std::to_string(net.id);
    if (!item.IsMap()) {
      fail(vm_loc, "a VM must be a mapping with 'node' and 'ip', found " + describe(item));
    }
    const Entries items = entries(item, "in a VM", kVpcVmKeys);
    VpcVmSpec vm;
    vm.loc = vm_loc;

    const Entry* node = items.find("node");
    if (node == nullptr) fail(vm_loc, "VM has no 'node' (the node that is the VM)");
    vm.node = scalar(*node, "node must be a node name");
    const std::string name = "VM " + quote(vm.node);
    const NodeSpec* target = find_node(spec, vm.node);
    if (target == nullptr) {
      fail(node->value_loc,
           "unknown node " + quote(vm.node) + " in " + owner + node_suggestion(vm.node, spec));
    }
    if (target->kind == NodeKind::Bridge) {
      fail(node->value_loc, name + " is a bridge; a VM is a linux or vnet node");
    }
    if (is_host(vm.node)) {
      fail(node->value_loc, name + " is a host of vpcs.hosts; a node is a host or a VM, not both");
    }
    if (auto [it, inserted] = vm_places_.emplace(vm.node, VmPlace{net.id, vm_loc.line, vm.node});
        !inserted) {
      fail(node->value_loc, name + " is already in vpc " + std::to_string(it->second.vpc_id) +
                                " (line " + std::to_string(it->second.line) +
                                "); a VM belongs to one VPC, once");
    }

    const Entry* ip = items.find("ip");
    if (ip == nullptr) fail(vm_loc, name + " has no 'ip' (its address in " + owner + ")");
    const std::string ip_what = "ip of " + name;
    vm.ip =
        value_or_fail(parse_ipv4(scalar(*ip, ipv4_expectation(ip_what)), ip_what), ip->value_loc);
    if (std::optional<std::string> error = unicast_ipv4_error(vm.ip)) {
      fail(ip->value_loc, ip_what + ": " + *error);
    }
    if (!subnet_set.empty()) {
      auto after = subnet_set.upper_bound(vm.ip);
      if (after == subnet_set.begin() || !prefix_contains(std::prev(after)->second, vm.ip)) {
        std::string list;
        for (size_t i = 0; i < net.subnets.size() && i < 4; ++i) {
          list += (i == 0 ? "" : ", ") + format_prefix(net.subnets[i]);
        }
        if (net.subnets.size() > 4) list += ", ...";
        fail(ip->value_loc, "ip " + format_ipv4(vm.ip) + " of " + name +
                                " is outside the subnets of " + owner + " (" + list + ")");
      }
    }
    if (auto it = by_ip.find(vm.ip); it != by_ip.end()) {
      fail(ip->value_loc, name + " has the ip " + format_ipv4(vm.ip) + " of VM " +
                              quote(it->second->node) + " (line " +
                              std::to_string(it->second->loc.line) +
                              "); addresses are unique "
                              "within a VPC");
    }

    const Entry* host = items.find("host");
    if (host != nullptr) {
      const std::string wanted = scalar(*host, "host must be a host's node name");
      if (!is_host(wanted)) {
        fail(host->value_loc, "host " + quote(wanted) + " of " + name +
                                  " is not a host of vpcs.hosts" + host_suggestion(wanted, spec));
      }
    }
    link_vm(vm, items, node->value_loc, spec);

    ++vm_count_;
    const Entry* mac = items.find("mac");
    if (mac != nullptr) {
      const std::string what = "mac of " + name;
      vm.mac = value_or_fail(parse_mac(scalar(*mac, mac_expectation(what)), what), mac->value_loc);
      if (std::optional<std::string> error = unicast_mac_error(vm.mac)) {
        fail(mac->value_loc, what + ": " + *error);
      }
    } else {
      // 52:54:00 is the prefix QEMU and libvirt give their VMs; the VM's place in the file makes
      // the rest.  A 1 MiB file cannot hold 65536 VMs with their nodes and links.
      if (vm_count_ > 0xffff)
        fail(vm_loc, "too many VMs to number their MACs; give " + name + " a mac");
      vm.mac = {0x52,
                0x54,
                0x00,
                0x00,
                static_cast<uint8_t>(vm_count_ >> 8),
                static_cast<uint8_t>(vm_count_ & 0xff)};
    }
    if (auto [it, inserted] = mac_owners_.emplace(vm.mac, VmPlace{net.id, vm_loc.line, vm.node});
        !inserted) {
      const std::string other =
          "VM " + quote(it->second.node) + " (line " + std::to_string(it->second.line) + ")";
      if (mac != nullptr) {
        fail(mac->value_loc, name + " has the mac " + format_mac(vm.mac) + " of " + other +
                                 "; each VM needs its own");
      }
      fail(vm_loc, name + " would get the generated mac " + format_mac(vm.mac) +
                       ", already the mac of " + other + "; give " + name + " a mac");
    }
    return vm;
  }

  // Finds the link between `vm` and its host, and fills in its ifname, host and port.
  void link_vm(VpcVmSpec& vm, const Entries& items, const SourceLoc& node_loc,
               const LabSpec& spec) const {
    const std::string name = "VM " + quote(vm.node);
    const Entry* interface = items.find("interface");
    std::string wanted;
    if (interface != nullptr) {
      wanted = scalar(*interface, "interface must be an interface name");
      if (std::optional<std::string> error = ifname_error(wanted)) {
        fail(interface->value_loc, "interface of " + name + ": " + *error);
      }
    }
    // (the VM's end, the far end) of each link of the VM.
    std::vector<std::pair<const LinkEndpoint*, const LinkEndpoint*>> to_hosts;
    const LinkEndpoint* on_interface = nullptr;  // the far end of the link on `wanted`
    const LinkEndpoint* vm_end_on_interface = nullptr;
    if (auto it = links_by_node_.find(vm.node); it != links_by_node_.end()) {
      for (size_t index : it->second) {
        const LinkSpec& link = spec.links[index];
        for (const auto& [mine, far] : {std::pair{&link.a, &link.b}, std::pair{&link.b, &link.a}}) {
          if (mine->node != vm.node) continue;
          if (interface != nullptr && mine->ifname == wanted) {
            on_interface = far;
            vm_end_on_interface = mine;
          }
          if (is_host(far->node)) to_hosts.emplace_back(mine, far);
        }
      }
    }
    const LinkEndpoint* mine = nullptr;
    const LinkEndpoint* far = nullptr;
    if (interface != nullptr) {
      if (on_interface == nullptr) {
        fail(interface->value_loc, name + " has no link on interface " + quote(wanted));
      }
      if (!is_host(on_interface->node)) {
        fail(interface->value_loc, "interface " + quote(wanted) + " of " + name + " is linked to " +
                                       quote(on_interface->to_string()) +
                                       ", which is not on a host of vpcs.hosts");
      }
      mine = vm_end_on_interface;
      far = on_interface;
    } else {
      if (to_hosts.empty()) fail(node_loc, name + " has no link to a host of vpcs.hosts");
      if (to_hosts.size() > 1) {
        std::string list;
        for (size_t i = 0; i < to_hosts.size() && i < 4; ++i) {
          list +=
              (i == 0 ? "" : ", ") + to_hosts[i].first->ifname + " to " + to_hosts[i].second->node;
        }
        if (to_hosts.size() > 4) list += ", ...";
        fail(node_loc, name + " has " + std::to_string(to_hosts.size()) + " links to hosts (" +
                           list + "): give 'interface'");
      }
      mine = to_hosts.front().first;
      far = to_hosts.front().second;
    }
    if (const Entry* host = items.find("host");
        host != nullptr && host->value.Scalar() != far->node) {
      fail(host->value_loc, name + " is linked to host " + quote(far->node) + " (on " +
                                mine->ifname + "), not to " + quote(host->value.Scalar()));
    }
    vm.ifname = mine->ifname;
    vm.host = far->node;
    vm.port = far->ifname;
  }

  void parse_vpc_peerings(const Entry& peerings, LabSpec& spec) const {
    if (peerings.value.IsNull()) return;
    if (!peerings.value.IsSequence()) {
      fail(peerings.value_loc,
           "vpcs.peerings must be a list of pairs of vpc ids such as [6289, 6774], found " +
               describe(peerings.value));
    }
    std::map<std::pair<uint32_t, uint32_t>, int> lines;  // (smaller id, larger id) -> line
    for (const auto& item : peerings.value) {
      const SourceLoc peering_loc = loc_of(item, peerings.value_loc);
      if (!item.IsSequence()) {
        fail(peering_loc, "a peering must be a list of two vpc ids such as [6289, 6774], found " +
                              describe(item));
      }
      if (item.size() != 2) {
        fail(peering_loc,
             "a peering needs exactly two vpc ids, found " + std::to_string(item.size()));
      }
      std::array<uint32_t, 2> ids{};
      std::array<size_t, 2> index{};
      for (size_t i = 0; i < 2; ++i) {
        const YAML::Node id = item[i];
        const SourceLoc id_loc = loc_of(id, peering_loc);
        ids[i] = value_or_fail(parse_u32(scalar(id, id_loc, u32_expectation("vpc id")), "vpc id"),
                               id_loc);
        auto it = vpc_index_.find(ids[i]);
        if (it == vpc_index_.end()) {
          fail(id_loc,
               "peering with vpc " + std::to_string(ids[i]) + ", which is not in vpcs.networks");
        }
        index[i] = it->second;
      }
      const std::string pair = std::to_string(ids[0]) + " -- " + std::to_string(ids[1]);
      if (ids[0] == ids[1]) {
        fail(peering_loc, "peering " + pair + " joins a VPC to itself");
      }
      if (auto [it, inserted] = lines.emplace(std::minmax(ids[0], ids[1]), peering_loc.line);
          !inserted) {
        fail(peering_loc,
             "peering " + pair + " is already listed at line " + std::to_string(it->second));
      }
      // Walk the smaller VPC's subnets, look each up among the larger's.
      const bool a_smaller = spec.vpcs.networks[index[0]].subnets.size() <=
                             spec.vpcs.networks[index[1]].subnets.size();
      const size_t walk = a_smaller ? 0 : 1;
      for (const VpcPrefix& subnet : spec.vpcs.networks[index[walk]].subnets) {
        if (const VpcPrefix* other = find_overlap(subnet_sets_[index[1 - walk]], subnet)) {
          const VpcPrefix& of_a = a_smaller ? subnet : *other;
          const VpcPrefix& of_b = a_smaller ? *other : subnet;
          fail(peering_loc, "peering " + pair + ": subnet " + format_prefix(of_a) + " of vpc " +
                                std::to_string(ids[0]) + " overlaps " + format_prefix(of_b) +
                                " of vpc " + std::to_string(ids[1]));
        }
      }
      spec.vpcs.peerings.push_back(VpcPeeringSpec{ids[0], ids[1], peering_loc});
    }
  }

  std::string_view text_;
  const std::string& file_;
  std::map<std::string, size_t, std::less<>> node_index_;  // name -> index in LabSpec::nodes
  std::map<std::string, SourceLoc> endpoint_uses_;         // "node:ifname" -> its first use
  // vpcs
  bool vpcs_given_ = false;
  std::map<std::string, size_t, std::less<>> host_index_;  // name -> index in VpcSpec::hosts
  std::map<std::string, std::vector<size_t>, std::less<>> links_by_node_;  // -> LabSpec::links
  std::map<uint32_t, size_t> vpc_index_;                    // id -> index in VpcSpec::networks
  std::vector<std::map<uint32_t, VpcPrefix>> subnet_sets_;  // per network: network -> subnet
  std::map<std::string, VmPlace, std::less<>> vm_places_;   // VM node -> its VPC
  std::map<std::array<uint8_t, 6>, VmPlace> mac_owners_;    // MAC -> its VM
  uint32_t vm_count_ = 0;                                   // VMs so far, across networks
  std::vector<Migration> migrations_;                       // all checks', in file order
};

}  // namespace

std::variant<LabSpec, LabError> parse_lab(std::string_view yaml_text,
                                          const std::string& file_name) {
  if (yaml_text.size() > kMaxLabFileBytes) {
    return LabError{SourceLoc{file_name, 0, 0},
                    "lab file is too large (" + std::to_string(yaml_text.size()) +
                        " bytes; at most " + std::to_string(kMaxLabFileBytes) + ")"};
  }
  // yaml-cpp reads a NUL as the end of a line and then reports nonsense ("unknown escape
  // character"); a lab file has no reason to hold one.
  if (const size_t nul = yaml_text.find('\0'); nul != std::string_view::npos) {
    const std::string_view before = yaml_text.substr(0, nul);
    const size_t line_start = before.rfind('\n') + 1;  // npos + 1 == 0 on the first line
    return LabError{
        SourceLoc{file_name, static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1,
                  static_cast<int>(nul - line_start) + 1},
        "lab file contains a NUL byte (is it a text file?)"};
  }
  try {
    const std::string text(yaml_text);
    {
      std::istringstream stream(text);
      YAML::Parser events(stream);
      DocumentStarts documents;
      while (documents.starts.size() < 2 && events.HandleNextDocument(documents)) {
      }
      if (documents.starts.size() == 2) {
        const YAML::Mark& first = documents.starts[0];
        const YAML::Mark& second = documents.starts[1];
        if (first.pos == second.pos) {
          const auto pos = static_cast<size_t>(first.pos);
          return LabError{mark_loc(first, file_name),
                          "invalid YAML: unexpected " +
                              (pos < text.size() ? quote(text.substr(pos, 1)) : "token")};
        }
        return LabError{mark_loc(second, file_name),
                        "a lab file holds one YAML document; found a second one"};
      }
    }
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) {
      return LabError{SourceLoc{file_name, 1, 1},
                      "lab file is empty; expected a mapping with 'name' and 'topology'"};
    }
    LabSpec spec = Parser(yaml_text, file_name).parse(root);
    expand_vpcs(spec);
    return spec;
  } catch (const ParseFailure& failure) {
    return failure.error;
  } catch (const YAML::DeepRecursion& e) {
    // Its msg is yaml-cpp's "bad file", which says nothing useful.
    return LabError{mark_loc(e.mark, file_name),
                    "invalid YAML: lists or mappings nested too deeply"};
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's bare message; e.what() repeats the position in its own words.
    return LabError{mark_loc(e.mark, file_name), "invalid YAML: " + e.msg};
  } catch (const std::exception& e) {
    return LabError{SourceLoc{file_name, 0, 0}, std::string("cannot parse lab file: ") + e.what()};
  }
}

std::variant<LabSpec, LabError> load_lab_file(const std::string& path) {
  auto unreadable = [&](int error) {
    return LabError{
        SourceLoc{path, 0, 0},
        "cannot read lab file: " + std::error_code(error, std::generic_category()).message()};
  };
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return unreadable(errno);
  std::string text;
  std::array<char, 8192> buffer;
  size_t n = 0;
  // Reading stops past the limit: one byte over is enough for parse_lab to refuse the file.
  while (text.size() <= kMaxLabFileBytes &&
         (n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    text.append(buffer.data(), n);
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) return unreadable(error);
  return parse_lab(text, path);
}

}  // namespace vnet::lab
