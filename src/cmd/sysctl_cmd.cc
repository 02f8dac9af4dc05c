// procps `sysctl`: read (`sysctl KEY`), write (`sysctl -w KEY=VALUE`, or a bare KEY=VALUE),
// `-p [FILE]` (default /etc/sysctl.conf), `-a`, and the -q, -n, -e flags; messages as procps
// prints them.
#include <fmt/format.h>

#include <cerrno>
#include <sstream>

#include "cmd/command.h"
#include "stack/sysctl.h"

namespace vnet::cmd {

namespace {

std::string normalize_key(std::string key) {
  for (char& c : key) {
    if (c == '/') c = '.';
  }
  return key;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

struct Flags {
  bool quiet = false;
  bool values_only = false;
  bool ignore_unknown = false;
};

void write_one(stack::Node& node, const std::string& key, const std::string& value, const Flags& f,
               CmdOutput& o) {
  int err = node.sysctls().set(key, value);
  if (err == -ENOENT) {
    if (!f.ignore_unknown) {
      o.err += fmt::format("sysctl: cannot stat {}: No such file or directory\n",
                           stack::Sysctls::proc_path_from_key(key));
      o.status = 1;
    }
    return;
  }
  if (err != 0) {
    o.err += fmt::format("sysctl: setting key \"{}\": Invalid argument\n", key);
    o.status = 1;
    return;
  }
  if (!f.quiet) o.out += f.values_only ? value + "\n" : fmt::format("{} = {}\n", key, value);
}

void read_one(stack::Node& node, const std::string& key, const Flags& f, CmdOutput& o) {
  auto v = node.sysctls().get(key);
  if (!v) {
    if (!f.ignore_unknown) {
      o.err += fmt::format("sysctl: cannot stat {}: No such file or directory\n",
                           stack::Sysctls::proc_path_from_key(key));
      o.status = 255;
    }
    return;
  }
  o.out += f.values_only ? *v + "\n" : fmt::format("{} = {}\n", key, *v);
}

}  // namespace

CmdOutput run_sysctl(stack::Node& node, const Args& argv) {
  CmdOutput o;
  Flags f;
  bool write = false, load = false, all = false;
  std::vector<std::string> args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-w" || a == "--write")
      write = true;
    else if (a == "-q" || a == "--quiet")
      f.quiet = true;
    else if (a == "-n" || a == "--values")
      f.values_only = true;
    else if (a == "-e" || a == "--ignore")
      f.ignore_unknown = true;
    else if (a == "-p" || a == "--load")
      load = true;
    else if (a == "-a" || a == "-A" || a == "-X" || a == "--all")
      all = true;
    else if (a.rfind("-p", 0) == 0 && a.size() > 2) {
      load = true;
      args.push_back(a.substr(2));
    } else
      args.push_back(a);
  }
  if (all) {
    for (const auto& [k, v] : node.sysctls().all()) {
      o.out += f.values_only ? v + "\n" : fmt::format("{} = {}\n", k, v);
    }
    return o;
  }
  if (load) {
    std::vector<std::string> files =
        args.empty() ? std::vector<std::string>{"/etc/sysctl.conf"} : args;
    for (const std::string& path : files) {
      auto it = node.files().find(path);
      if (it == node.files().end()) {
        o.err += fmt::format("sysctl: cannot open \"{}\": No such file or directory\n", path);
        o.status = 255;
        continue;
      }
      std::istringstream in(it->second);
      std::string line;
      int lineno = 0;
      while (std::getline(in, line)) {
        ++lineno;
        std::string t = trim(line);
        if (t.empty() || t[0] == '#' || t[0] == ';') continue;
        bool ignore = false;
        if (t[0] == '-') {
          ignore = true;
          t = trim(t.substr(1));
        }
        size_t eq = t.find('=');
        if (eq == std::string::npos) {
          o.err += fmt::format("sysctl: {}({}): invalid syntax, continuing...\n", path, lineno);
          continue;
        }
        std::string key = normalize_key(trim(t.substr(0, eq)));
        std::string value = trim(t.substr(eq + 1));
        Flags lf = f;
        lf.ignore_unknown = f.ignore_unknown || ignore;
        write_one(node, key, value, lf, o);
      }
    }
    return o;
  }
  if (args.empty()) {
    o.err += "sysctl: no variables specified\nTry `sysctl --help' for more information.\n";
    o.status = 255;
    return o;
  }
  for (const std::string& a : args) {
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      std::string key = normalize_key(a.substr(0, eq));
      if (key.empty()) {
        o.err += fmt::format("sysctl: malformed setting \"{}\"\n", a);
        o.status = 255;
        continue;
      }
      write_one(node, key, a.substr(eq + 1), f, o);
    } else if (write) {
      o.err += fmt::format("sysctl: \"{}\" must be of the form name=value\n", a);
      o.status = 255;
    } else {
      read_one(node, normalize_key(a), f, o);
    }
  }
  return o;
}

}  // namespace vnet::cmd
