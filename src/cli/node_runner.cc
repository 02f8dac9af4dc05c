#include "cli/node_runner.h"

#include <nlohmann/json.hpp>

#include <istream>
#include <ostream>

#include "cmd/shell.h"
#include "stack/node.h"

namespace vnet::cli {

int run_node(std::istream& in, std::ostream& out, std::ostream& err, const NodeRunOptions& opts) {
  stack::Node node;
  cmd::Shell shell(node);
  std::string line;
  int lineno = 0;
  bool any_failed = false;
  while (std::getline(in, line)) {
    ++lineno;
    int first_line = lineno;
    // A trailing backslash continues the command on the next line.
    while (!line.empty() && line.back() == '\\') {
      line.pop_back();
      std::string more;
      if (!std::getline(in, more)) break;
      ++lineno;
      line += more;
    }
    cmd::CmdOutput o = shell.run(line);
    if (opts.results_jsonl) {
      nlohmann::json rec = {{"line", first_line},
                            {"cmd", line},
                            {"stdout", o.out},
                            {"stderr", o.err},
                            {"exit", o.status}};
      out << rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      out << o.out;
      out.flush();
      err << o.err;
      if (o.status != 0) err << "Command failed " << opts.source_name << ":" << first_line << "\n";
      err.flush();
    }
    if (o.status != 0) any_failed = true;
  }
  return any_failed ? 1 : 0;
}

}  // namespace vnet::cli
