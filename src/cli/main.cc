// The `vnet` program.
#include <CLI/CLI.hpp>

#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/node_runner.h"

int main(int argc, char** argv) {
  CLI::App app{"vnet: a virtual-network engine with a Linux-faithful IPv4 stack"};
  app.set_version_flag("--version", std::string("vnet 0.1.0"));
  app.require_subcommand(1);

  std::string file;
  bool jsonl = false;
  CLI::App* node = app.add_subcommand(
      "node", "Apply ip/route/sysctl command lines to one fresh node (like ip -batch -force)");
  node->add_option("-f,--file", file, "Read commands from FILE instead of stdin");
  node->add_flag("--results-jsonl", jsonl,
                 "Print one JSON record per line: line, cmd, stdout, stderr, exit");

  CLI11_PARSE(app, argc, argv);

  if (node->parsed()) {
    vnet::cli::NodeRunOptions opts;
    opts.results_jsonl = jsonl;
    if (file.empty() || file == "-")
      return vnet::cli::run_node(std::cin, std::cout, std::cerr, opts);
    std::ifstream in(file);
    if (!in) {
      std::cerr << "vnet: cannot open \"" << file << "\": " << std::strerror(errno) << "\n";
      return 1;
    }
    opts.source_name = file;
    return vnet::cli::run_node(in, std::cout, std::cerr, opts);
  }
  return 0;
}
