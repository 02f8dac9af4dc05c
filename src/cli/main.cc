// The `vnet` program.
#include <CLI/CLI.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/lab_cli.h"
#include "cli/node_runner.h"
#include "cli/real_cli.h"

int main(int argc, char** argv) {
  // `vnet -n NODE ARGS…`: a command for a running vnetd (kept out of CLI11 so that the node's
  // own options, like `ip -j`, pass through untouched).
  if (argc >= 2 && (std::strcmp(argv[1], "-n") == 0 || std::strcmp(argv[1], "--node") == 0)) {
    if (argc < 4) {
      std::cerr << "usage: vnet -n NODE COMMAND [ARGS…] | trace on|off|show|clear | stats "
                   "[--prometheus]\n";
      return 2;
    }
    return vnet::cli::node_command(argv[2], std::vector<std::string>(argv + 3, argv + argc),
                                   std::cout, std::cerr);
  }
  // `vnet vpc --etcd ENDPOINTS ...` (or $VNET_ETCD): the control plane's desired state.
  if (argc >= 2 && std::strcmp(argv[1], "vpc") == 0) {
    return vnet::cli::vpc_command(std::vector<std::string>(argv + 1, argv + argc), std::cout,
                                  std::cerr);
  }
  CLI::App app{"vnet: a virtual-network engine with a Linux-faithful IPv4 stack"};
  app.set_version_flag("--version", std::string("vnet ") + VNET_VERSION);
  app.require_subcommand(1);

  std::string file;
  bool jsonl = false;
  CLI::App* node = app.add_subcommand(
      "node", "Apply ip/route/sysctl command lines to one fresh node (like ip -batch -force)");
  node->add_option("-f,--file", file, "Read commands from FILE instead of stdin");
  node->add_flag("--results-jsonl", jsonl,
                 "Print one JSON record per line: line, cmd, stdout, stderr, exit");

  CLI::App* lab = app.add_subcommand("lab", "Run a lab file in the simulator");
  lab->require_subcommand(1);
  std::string lab_file, pcap_dir;
  bool stats = false, real = false, keep = false;
  std::string log_level = "info";
  CLI::App* run = lab->add_subcommand("run", "Deploy the lab and run its checks");
  run->add_option("FILE", lab_file, "Lab file (containerlab-style YAML)")->required();
  run->add_option("--pcap", pcap_dir, "Write a pcap per interface into DIR");
  run->add_flag("--stats", stats, "Print interface counters and drop reasons after the checks");
  run->add_flag("--real", real, "Build the lab in network namespaces (root) instead of simulating");
  run->add_flag("--keep", keep, "With --real: leave the lab up after the checks");
  run->add_option("--log-level", log_level, "With --real: vnetd's log level");
  CLI::App* up = lab->add_subcommand("up", "Build the lab in network namespaces (needs --real)");
  up->add_option("FILE", lab_file, "Lab file")->required();
  up->add_flag("--real", real, "Network namespaces (the only mode of `up`)");
  up->add_option("--log-level", log_level, "vnetd's log level");
  CLI::App* down = lab->add_subcommand("down", "Remove everything a --real lab made (idempotent)");
  down->add_option("FILE", lab_file, "Lab file")->required();
  std::string exec_node;
  std::vector<std::string> exec_cmd;
  CLI::App* lexec = lab->add_subcommand("exec", "Run a command in a node of a --real lab");
  lexec->add_option("FILE", lab_file, "Lab file")->required();
  lexec->add_option("NODE", exec_node, "Node")->required();
  lexec->add_option("CMD", exec_cmd, "The command, after --")->required();
  CLI::App* shell = lab->add_subcommand("shell", "Deploy the lab and open a prompt on its nodes");
  shell->add_option("FILE", lab_file, "Lab file")->required();
  CLI::App* lstats = lab->add_subcommand("stats", "Deploy, run the checks, print counters");
  lstats->add_option("FILE", lab_file, "Lab file")->required();
  bool prometheus = false;
  lstats->add_flag("--prometheus", prometheus,
                   "Print every node's counters in Prometheus's text format");

  CLI::App* lint = lab->add_subcommand(
      "lint",
      "Deploy the lab (no traffic) and warn about MTU mismatches on links and tunnel paths");
  lint->add_option("FILE", lab_file, "Lab file")->required();

  std::string trace_node;
  std::vector<std::string> probe;
  CLI::App* trace = app.add_subcommand("trace", "Explain every decision a probe meets, hop by hop");
  trace->add_option("FILE", lab_file, "Lab file")->required();
  trace->add_option("NODE", trace_node, "Node the probe runs on")->required();
  trace->add_option("PROBE", probe, "The probe command, after --")->required();
  std::string svg;
  trace->add_option("--svg", svg,
                    "Also draw the lab with the packets' path on it (SVG; PNG for a .png name)");
  std::string graph_out, graph_format = "svg";
  CLI::App* graph = lab->add_subcommand("graph", "Draw the lab's topology with Graphviz");
  graph->add_option("FILE", lab_file, "Lab file")->required();
  graph->add_option("-o,--output", graph_out, "Where to write it (default: the lab's name.FORMAT)");
  graph->add_option("--format", graph_format, "svg, png, or dot (the DOT text)")
      ->check(CLI::IsMember({"svg", "png", "dot"}));

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
  vnet::cli::RealCliOptions ro;
  ro.keep = keep;
  ro.log_level = log_level;
  if (run->parsed() && real) return vnet::cli::real_lab_run(lab_file, ro, std::cout, std::cerr);
  if (up->parsed()) {
    if (!real) {
      std::cerr << "vnet: lab up builds real namespaces: add --real (the simulator has no `up`)\n";
      return 2;
    }
    return vnet::cli::real_lab_up(lab_file, ro, std::cout, std::cerr);
  }
  if (down->parsed()) return vnet::cli::real_lab_down(lab_file, std::cout, std::cerr);
  if (lexec->parsed()) {
    return vnet::cli::real_lab_exec(lab_file, exec_node, exec_cmd, std::cout, std::cerr);
  }
  if (run->parsed()) {
    vnet::cli::LabRunOptions o;
    o.pcap_dir = pcap_dir;
    o.stats = stats;
    return vnet::cli::lab_run(lab_file, o, std::cout, std::cerr);
  }
  if (shell->parsed()) return vnet::cli::lab_shell(lab_file, std::cin, std::cout, std::cerr);
  if (lstats->parsed()) return vnet::cli::lab_stats(lab_file, prometheus, std::cout, std::cerr);
  if (lint->parsed()) return vnet::cli::lab_lint(lab_file, std::cout, std::cerr);
  if (trace->parsed()) {
    return vnet::cli::trace(lab_file, trace_node, probe, svg, std::cout, std::cerr);
  }
  if (graph->parsed()) {
    if (graph_out.empty()) {
      graph_out = std::filesystem::path(lab_file).stem().string() + "." + graph_format;
    }
    return vnet::cli::lab_graph(lab_file, graph_out, graph_format, std::cout, std::cerr);
  }
  return 0;
}
