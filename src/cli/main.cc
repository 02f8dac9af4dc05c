// The `vnet` program.
#include <CLI/CLI.hpp>

#include <cstring>
#include <fstream>
#include <iostream>

#include "cli/lab_cli.h"
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

  CLI::App* lab = app.add_subcommand("lab", "Run a lab file in the simulator");
  lab->require_subcommand(1);
  std::string lab_file, pcap_dir;
  bool stats = false;
  CLI::App* run = lab->add_subcommand("run", "Deploy the lab and run its checks");
  run->add_option("FILE", lab_file, "Lab file (containerlab-style YAML)")->required();
  run->add_option("--pcap", pcap_dir, "Write a pcap per interface into DIR");
  run->add_flag("--stats", stats, "Print interface counters and drop reasons after the checks");
  CLI::App* shell = lab->add_subcommand("shell", "Deploy the lab and open a prompt on its nodes");
  shell->add_option("FILE", lab_file, "Lab file")->required();
  CLI::App* lstats = lab->add_subcommand("stats", "Deploy, run the checks, print counters");
  lstats->add_option("FILE", lab_file, "Lab file")->required();

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
  if (run->parsed()) {
    vnet::cli::LabRunOptions o;
    o.pcap_dir = pcap_dir;
    o.stats = stats;
    return vnet::cli::lab_run(lab_file, o, std::cout, std::cerr);
  }
  if (shell->parsed()) return vnet::cli::lab_shell(lab_file, std::cin, std::cout, std::cerr);
  if (lstats->parsed()) return vnet::cli::lab_stats(lab_file, std::cout, std::cerr);
  if (lint->parsed()) return vnet::cli::lab_lint(lab_file, std::cout, std::cerr);
  if (trace->parsed()) return vnet::cli::trace(lab_file, trace_node, probe, std::cout, std::cerr);
  return 0;
}
