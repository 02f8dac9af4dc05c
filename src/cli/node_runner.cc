#include "cli/node_runner.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <istream>
#include <ostream>

#include "cmd/control_plane.h"
#include "cmd/shell.h"
#include "ctrl/etcd_store.h"
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

int vpc_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  cmd::Args argv = args;
  bool given = false;
  for (size_t i = 1; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
    if (argv[i] == "--etcd" || argv[i] == "-etcd") given = true;
  }
  const char* env = std::getenv("VNET_ETCD");
  if (!given) {
    if (env == nullptr || *env == '\0') {
      err << "vnet vpc: the desired state is in etcd: give --etcd ENDPOINTS or set VNET_ETCD "
             "(a node's own vSwitch: vnet -n NODE vpc ...)\n";
      return 2;
    }
    argv.insert(argv.begin() + 1, "--etcd");
  }
  cmd::ControlPlane cp;
  cp.open = ctrl::open_store_or_null;
  std::unique_ptr<ctrl::Store> store;
  if (env != nullptr && *env != '\0') {
    std::string error;
    store = cp.open(env, &error);
    if (!store) {
      err << "vnet vpc: VNET_ETCD=" << env << ": " << error << "\n";
      return 2;
    }
    cp.store = store.get();
  }
  stack::Node scratch;
  cmd::CmdOutput o = cmd::run_vpc(scratch, argv, &cp);
  out << o.out;
  err << o.err;
  return o.status;
}

}  // namespace vnet::cli
