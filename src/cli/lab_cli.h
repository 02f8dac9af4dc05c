// `vnet lab run|shell|stats` and `vnet trace`: load a lab file, deploy it in the simulator, and
// run its checks, an interactive prompt, or one traced probe.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace vnet::cli {

struct LabRunOptions {
  std::string pcap_dir;
  bool stats = false;
};
int lab_run(const std::string& file, const LabRunOptions& options, std::ostream& out,
            std::ostream& err);
int lab_shell(const std::string& file, std::istream& in, std::ostream& out, std::ostream& err);
// `vnet lab lint FILE`: 0 clean, 1 with warnings, 2 when the lab does not deploy.
int lab_lint(const std::string& file, std::ostream& out, std::ostream& err);
int lab_stats(const std::string& file, bool prometheus, std::ostream& out, std::ostream& err);
// Deploys, then runs `probe` on `node` with every node's tracing on, and prints the decisions
// hop by hop.
// With svg_path: the lab's picture with the packets' path drawn on it (lab/lab_graph.h) too.
int trace(const std::string& file, const std::string& node, const std::vector<std::string>& probe,
          const std::string& svg_path, std::ostream& out, std::ostream& err);
// `vnet lab graph FILE -o OUT [--format svg|png|dot]`: the topology through Graphviz's dot.
int lab_graph(const std::string& file, const std::string& out_path, const std::string& format,
              std::ostream& out, std::ostream& err);

}  // namespace vnet::cli
