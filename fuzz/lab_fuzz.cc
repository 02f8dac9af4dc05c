// libFuzzer target for lab files: arbitrary bytes go through parse_lab (YAML parsing by yaml-cpp,
// then vnet's validation).  A crash, a sanitizer report, a leak or an exception escaping is a bug;
// so is a result that breaks what parse_lab promises: an error always has a message and a place in
// the file, and an accepted lab only links existing nodes, runs no commands on bridges and uses no
// endpoint twice.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "lab/lab_parser.h"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

void check_spec(const vnet::lab::LabSpec& spec) {
  using vnet::lab::NodeKind;
  require(!spec.name.empty());
  require(!spec.nodes.empty());
  for (const vnet::lab::NodeSpec& node : spec.nodes) {
    require(node.loc.line > 0 && node.loc.column > 0);
    require(node.kind != NodeKind::Bridge || node.exec.empty());
  }
  std::set<std::string> endpoints;
  for (const vnet::lab::LinkSpec& link : spec.links) {
    for (const vnet::lab::LinkEndpoint* end : {&link.a, &link.b}) {
      require(spec.find_node(end->node) != nullptr);
      require(!end->ifname.empty() && end->ifname.size() <= 15);
      require(endpoints.insert(end->to_string()).second);
    }
    require(!link.mtu || (*link.mtu >= 68 && *link.mtu <= 65535));
    require(link.loss >= 0 && link.loss <= 1);
  }
  for (const vnet::lab::CheckSpec& check : spec.checks) {
    const vnet::lab::NodeSpec* node = spec.find_node(check.node);
    require(node != nullptr && node->kind != NodeKind::Bridge);
    require(!check.run.empty());
    require(!check.timeout_ns || *check.timeout_ns > 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::variant<vnet::lab::LabSpec, vnet::lab::LabError> result =
      vnet::lab::parse_lab(text, "fuzz.yaml");
  if (const auto* error = std::get_if<vnet::lab::LabError>(&result)) {
    require(!error->message.empty());
    require(error->loc.file == "fuzz.yaml");
    require(error->loc.line >= 0 && error->loc.column >= 0);
    require(!error->to_string().empty());
  } else {
    check_spec(std::get<vnet::lab::LabSpec>(result));
  }
  return 0;
}
