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

std::string LabError::to_string() const {
  if (loc.line <= 0) return loc.file + ": " + message;
  return loc.file + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " +
         message;
}

}  // namespace vnet::lab
