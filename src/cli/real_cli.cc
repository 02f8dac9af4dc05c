// Real-namespace labs and vnetd commands from the `vnet` program (real_cli.h).
#include "cli/real_cli.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <variant>

#include "ctl/control.h"
#include "lab/lab_parser.h"
#include "labreal/real_lab.h"

namespace vnet::cli {

namespace {

// vnetd: $VNET_VNETD, else next to this program in the build tree or install, else PATH.
std::string find_vnetd() {
  if (const char* e = std::getenv("VNET_VNETD"); e && *e) return e;
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate :
         {self.parent_path() / "vnetd", self.parent_path().parent_path() / "vnetd" / "vnetd"}) {
      if (std::filesystem::exists(candidate, ec)) return candidate.string();
    }
  }
  return "vnetd";
}

bool load_spec(const std::string& file, lab::LabSpec* spec, std::ostream& err) {
  auto parsed = lab::load_lab_file(file);
  if (auto* e = std::get_if<lab::LabError>(&parsed)) {
    err << "vnet: " << e->to_string() << "\n";
    return false;
  }
  *spec = std::get<lab::LabSpec>(parsed);
  return true;
}

labreal::RealOptions real_options(const RealCliOptions& o) {
  labreal::RealOptions r;
  r.vnetd_path = find_vnetd();
  r.log_level = o.log_level;
  return r;
}

void print_indented(const cmd::CmdOutput& o, std::ostream& out) {
  for (const std::string* text : {&o.out, &o.err}) {
    size_t start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      out << "    | " << text->substr(start, end - start) << "\n";
      start = end + 1;
    }
  }
}

}  // namespace

int real_lab_up(const std::string& file, const RealCliOptions& options, std::ostream& out,
                std::ostream& err) {
  lab::LabSpec spec;
  if (!load_spec(file, &spec, err)) return 2;
  auto lab = labreal::RealLab::up(spec, real_options(options));
  if (auto* e = std::get_if<std::string>(&lab)) {
    err << "vnet: deploy failed: " << *e << "\n";
    return 2;
  }
  out << fmt::format("lab {}: {} nodes, {} links up in network namespaces ({}-NODE)\n", spec.name,
                     spec.nodes.size(), spec.links.size(), spec.name);
  return 0;
}

int real_lab_run(const std::string& file, const RealCliOptions& options, std::ostream& out,
                 std::ostream& err) {
  lab::LabSpec spec;
  if (!load_spec(file, &spec, err)) return 2;
  auto up = labreal::RealLab::up(spec, real_options(options));
  if (auto* e = std::get_if<std::string>(&up)) {
    err << "vnet: deploy failed: " << *e << "\n";
    return 2;
  }
  auto& lab = *std::get<std::unique_ptr<labreal::RealLab>>(up);
  out << fmt::format("lab {}: {} nodes, {} links up in network namespaces\n", spec.name,
                     spec.nodes.size(), spec.links.size());
  size_t failed = 0;
  for (size_t i = 0; i < spec.checks.size(); ++i) {
    labrun::CheckResult r = lab.run_check(spec.checks[i]);
    out << labrun::format_check(i, r) << std::endl;
    if (!r.passed) {
      ++failed;
      print_indented(r.output, out);
    }
  }
  if (!options.keep) labreal::RealLab::down(spec);
  out << fmt::format("checks: {} passed, {} failed\n", spec.checks.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

int real_lab_exec(const std::string& file, const std::string& node,
                  const std::vector<std::string>& command, std::ostream& out, std::ostream& err) {
  lab::LabSpec spec;
  if (!load_spec(file, &spec, err)) return 2;
  auto attached = labreal::RealLab::attach(spec, real_options({}));
  if (auto* e = std::get_if<std::string>(&attached)) {
    err << "vnet: " << *e << "\n";
    return 2;
  }
  cmd::CmdOutput o =
      std::get<std::unique_ptr<labreal::RealLab>>(attached)->exec(node, ctl::quote_argv(command));
  out << o.out;
  err << o.err;
  return o.status;
}

int real_lab_down(const std::string& file, std::ostream& out, std::ostream& err) {
  lab::LabSpec spec;
  if (!load_spec(file, &spec, err)) return 2;
  std::vector<std::string> removed = labreal::RealLab::down(spec);
  for (const std::string& r : removed) out << "removed " << r << "\n";
  out << fmt::format("lab {}: down\n", spec.name);
  return 0;
}

int node_command(const std::string& node, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err) {
  std::string error;
  std::string socket = ctl::find_socket(node, &error);
  if (socket.empty()) {
    err << "vnet: " << error << "\n";
    return 2;
  }
  ctl::Request req;
  if (!args.empty() && args[0] == "trace") {
    req.op = "trace";
    req.arg = args.size() > 1 ? args[1] : "";
  } else if (args.size() == 1 && args[0] == "stats") {
    req.op = "stats";
  } else if (args.size() == 2 && args[0] == "stats" && args[1] == "--prometheus") {
    req.op = "metrics";
  } else {
    req.op = "exec";
    req.line = ctl::quote_argv(args);
  }
  ctl::Response r = ctl::call(socket, req);
  out << r.out;
  err << r.err;
  return r.status;
}

}  // namespace vnet::cli
