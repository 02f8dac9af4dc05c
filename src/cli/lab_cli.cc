#include "cli/lab_cli.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <istream>
#include <memory>
#include <ostream>
#include <variant>

#include "ctl/control.h"
#include "lab/lab_graph.h"
#include "lab/lab_parser.h"
#include "labrun/lab.h"

namespace vnet::cli {

namespace {

// Loads and deploys; prints the error and returns null on failure.
std::unique_ptr<labrun::Lab> load(const std::string& file, const labrun::DeployOptions& options,
                                  std::ostream& err) {
  auto parsed = lab::load_lab_file(file);
  if (auto* e = std::get_if<lab::LabError>(&parsed)) {
    err << "vnet: " << e->to_string() << "\n";
    return nullptr;
  }
  auto deployed = labrun::Lab::deploy(std::get<lab::LabSpec>(parsed), options);
  if (auto* e = std::get_if<std::string>(&deployed)) {
    err << "vnet: deploy failed: " << *e << "\n";
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<labrun::Lab>>(deployed));
}

}  // namespace

int lab_run(const std::string& file, const LabRunOptions& options, std::ostream& out,
            std::ostream& err) {
  labrun::DeployOptions d;
  d.pcap_dir = options.pcap_dir;
  auto lab = load(file, d, err);
  if (!lab) return 2;
  const lab::LabSpec& spec = lab->spec();
  out << fmt::format("lab {}: {} nodes, {} links deployed\n", spec.name, spec.nodes.size(),
                     spec.links.size());
  size_t failed = 0;
  for (size_t i = 0; i < spec.checks.size(); ++i) {
    labrun::CheckResult r = lab->run_check(spec.checks[i]);
    out << labrun::format_check(i, r) << "\n";
    if (!r.passed) {
      ++failed;
      // Show what the command printed, indented, so the failure explains itself.
      for (const std::string* text : {&r.output.out, &r.output.err}) {
        size_t start = 0;
        while (start < text->size()) {
          size_t end = text->find('\n', start);
          if (end == std::string::npos) end = text->size();
          out << "    | " << text->substr(start, end - start) << "\n";
          start = end + 1;
        }
      }
    }
  }
  if (options.stats) out << lab->stats();
  lab->flush_captures();
  out << fmt::format("checks: {} passed, {} failed\n", spec.checks.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

int lab_stats(const std::string& file, bool prometheus, std::ostream& out, std::ostream& err) {
  auto lab = load(file, {}, err);
  if (!lab) return 2;
  for (const lab::CheckSpec& c : lab->spec().checks) (void)lab->run_check(c);
  out << (prometheus ? lab->prometheus() : lab->stats());
  return 0;
}

int lab_lint(const std::string& file, std::ostream& out, std::ostream& err) {
  auto lab = load(file, {}, err);
  if (!lab) return 2;
  std::vector<std::string> warnings = lab->lint();
  for (const std::string& w : warnings) out << file << ": warning: " << w << "\n";
  out << fmt::format("lint: {} warning{}\n", warnings.size(), warnings.size() == 1 ? "" : "s");
  return warnings.empty() ? 0 : 1;
}

int lab_shell(const std::string& file, std::istream& in, std::ostream& out, std::ostream& err) {
  auto lab = load(file, {}, err);
  if (!lab) return 2;
  std::vector<std::string> names = lab->node_names();
  std::string current;
  for (const std::string& n : names) {
    if (lab->node(n)) {
      current = n;
      break;
    }
  }
  out << fmt::format("lab {}: nodes {}. Type \":node NAME\" to switch, \":quit\" to leave.\n",
                     lab->spec().name, fmt::join(names, ", "));
  std::string line;
  while (true) {
    out << current << "# " << std::flush;
    if (!std::getline(in, line)) break;
    if (line == ":quit" || line == "exit") break;
    if (line.rfind(":node ", 0) == 0) {
      std::string n = line.substr(6);
      if (lab->node(n)) {
        current = n;
      } else {
        err << "no such node (or it is a bridge): " << n << "\n";
      }
      continue;
    }
    if (line == ":stats") {
      out << lab->stats();
      continue;
    }
    cmd::CmdOutput o = lab->run(current, line);
    out << o.out << std::flush;
    err << o.err << std::flush;
  }
  out << "\n";
  return 0;
}

namespace {

// Writes `dot` rendered by Graphviz (`dot -TFORMAT -o PATH`), or the DOT text itself for
// format "dot"; "" or why not.
std::string render_dot(const std::string& dot, const std::string& format, const std::string& path) {
  if (format == "dot") {
    std::ofstream f(path);
    f << dot;
    return f ? "" : path + ": cannot write";
  }
  if (std::system("command -v dot > /dev/null 2>&1") != 0) {
    return "Graphviz's dot is not installed (apt-get install graphviz); --format dot writes the "
           "DOT text instead";
  }
  std::string command = ctl::quote_argv({"dot", "-T" + format, "-o", path});
  // A dot that exits early must not kill vnet with SIGPIPE.
  struct sigaction ignore {
  }, previous{};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);
  FILE* p = popen(command.c_str(), "w");
  if (p == nullptr) {
    sigaction(SIGPIPE, &previous, nullptr);
    return std::string("popen: ") + std::strerror(errno);
  }
  size_t written = std::fwrite(dot.data(), 1, dot.size(), p);
  int status = pclose(p);
  sigaction(SIGPIPE, &previous, nullptr);
  if (status != 0 || written != dot.size()) {
    return "dot failed (" +
           (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                              : std::string("status ") + std::to_string(status)) +
           ")";
  }
  return {};
}

}  // namespace

int lab_graph(const std::string& file, const std::string& out_path, const std::string& format,
              std::ostream& out, std::ostream& err) {
  auto parsed = lab::load_lab_file(file);
  if (auto* e = std::get_if<lab::LabError>(&parsed)) {
    err << "vnet: " << e->to_string() << "\n";
    return 2;
  }
  std::string e = render_dot(lab::lab_dot(std::get<lab::LabSpec>(parsed)), format, out_path);
  if (!e.empty()) {
    err << "vnet: " << e << "\n";
    return 1;
  }
  out << "wrote " << out_path << "\n";
  return 0;
}

int trace(const std::string& file, const std::string& node, const std::vector<std::string>& probe,
          const std::string& svg_path, std::ostream& out, std::ostream& err) {
  auto lab = load(file, {}, err);
  if (!lab) return 2;
  if (!lab->node(node)) {
    err << "vnet: no node named " << node << "\n";
    return 2;
  }
  lab->set_tracing(true);
  std::string command = ctl::quote_argv(probe);
  cmd::CmdOutput o = lab->run(node, command);
  lab->set_tracing(false);
  out << fmt::format("{}# {}\n", node, command);
  out << o.out;
  err << o.err;
  out << "\ntrace:\n";
  std::string last_node;
  for (const labrun::TraceLine& t : lab->trace()) {
    if (t.node != last_node) {
      out << fmt::format("-- {} --\n", t.node);
      last_node = t.node;
    }
    out << stack::format_trace_record(t.record);
  }
  if (!svg_path.empty()) {
    lab::GraphPath path;
    path.caption = node + "# " + command;
    for (const labrun::TraceLine& t : lab->trace()) {
      const std::string& text = t.record.text;
      auto first_word_after = [&](size_t skip) {
        size_t start = std::min(text.size(), skip);
        return text.substr(start, text.find(' ', start) - start);
      };
      if (t.record.stage == stack::TraceStage::Tx && text.rfind("tx ", 0) == 0) {
        path.tx.emplace_back(t.node, first_word_after(3));
      } else if (t.record.stage == stack::TraceStage::Encap) {
        path.encap.emplace_back(t.node, first_word_after(0));
      } else if (t.record.drop) {
        path.drops.emplace_back(t.node, text);
      }
    }
    const bool png = svg_path.size() > 4 && svg_path.substr(svg_path.size() - 4) == ".png";
    std::string e = render_dot(lab::lab_dot(lab->spec(), &path), png ? "png" : "svg", svg_path);
    if (!e.empty()) {
      err << "vnet: " << e << "\n";
      return 1;
    }
    err << "vnet: wrote " << svg_path << "\n";
  }
  return o.status;
}

}  // namespace vnet::cli
