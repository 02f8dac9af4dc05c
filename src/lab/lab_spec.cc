#include "lab/lab_spec.h"

namespace vnet::lab {

std::string_view to_string(NodeKind kind) {
  switch (kind) {
    case NodeKind::Linux:
      return "linux";
    case NodeKind::Vnet:
      return "vnet";
    case NodeKind::Bridge:
      return "bridge";
  }
  return "?";
}

std::string_view to_string(Expect expect) {
  return expect == Expect::Success ? "success" : "failure";
}

const NodeSpec* LabSpec::find_node(std::string_view node_name) const {
  for (const NodeSpec& node : nodes) {
    if (node.name == node_name) return &node;
  }
  return nullptr;
}

const VpcHostSpec* VpcSpec::find_host(std::string_view node) const {
  for (const VpcHostSpec& host : hosts) {
    if (host.node == node) return &host;
  }
  return nullptr;
}

std::pair<const VpcVmSpec*, const VpcNetSpec*> VpcSpec::find_vm(std::string_view node) const {
  for (const VpcNetSpec& net : networks) {
    for (const VpcVmSpec& vm : net.vms) {
      if (vm.node == node) return {&vm, &net};
    }
  }
  return {nullptr, nullptr};
}

std::string LabError::to_string() const {
  if (loc.line <= 0) return loc.file + ": " + message;
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " +
         message;
}

}  // namespace vnet::lab
