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

// procps: a key written with '/' separators has its '.' and '/' swapped, so components keep
// their dots ("net.ipv4.conf/eth0.100/rp_filter" is interface "eth0.100").  vnet's dotted keys
// cannot name a component with a dot in it, so such a key is not found, and the message shows
// the path procps would have opened.
struct Key {
  std::string dotted;  // empty when vnet has no such key
  std::string path;    // /proc/sys/...
};

Key normalize_key(const std::string& key) {
  if (key.find('/') == std::string::npos) return {key, stack::Sysctls::proc_path_from_key(key)};
  std::string swapped = key;
  for (char& c : swapped) c = c == '/' ? '.' : (c == '.' ? '/' : c);
  Key k{"", "/proc/sys/" + swapped};
  if (swapped.find('.') == std::string::npos) {
    k.dotted = swapped;
    for (char& c : k.dotted) c = c == '/' ? '.' : c;
  }
  return k;
}

void write_one(stack::Node& node, const std::string& raw_key, const std::string& raw_value,
               const Flags& f, CmdOutput& o) {
  Key key = normalize_key(raw_key);
  std::string value = trim(raw_value);
  int err = key.dotted.empty() ? -ENOENT : node.sysctl_set(key.dotted, value);
  if (err == -ENOENT) {
    if (!f.ignore_unknown) {
      o.err += fmt::format("sysctl: cannot stat {}: No such file or directory\n", key.path);
      o.status = 1;
    }
    return;
  }
  if (err != 0) {
    o.err += fmt::format("sysctl: setting key \"{}\": Invalid argument\n", raw_key);
    o.status = 1;
    return;
  }
  if (!f.quiet) o.out += f.values_only ? value + "\n" : fmt::format("{} = {}\n", raw_key, value);
}

void read_one(stack::Node& node, const std::string& raw_key, const Flags& f, CmdOutput& o) {
  Key key = normalize_key(raw_key);
  auto v = key.dotted.empty() ? std::nullopt : node.sysctl_get(key.dotted);
  if (!v) {
    if (!f.ignore_unknown) {
      o.err += fmt::format("sysctl: cannot stat {}: No such file or directory\n", key.path);
      o.status = 1;
    }
    return;
  }
  o.out += f.values_only ? *v + "\n" : fmt::format("{} = {}\n", raw_key, *v);
}

}  // namespace

CmdOutput run_sysctl(stack::Node& node, const Args& argv) {
  CmdOutput o;
  Flags f;
  bool write = false, load = false, all = false;
  std::vector<std::string> args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--write") {
      write = true;
    } else if (a == "--quiet") {
      f.quiet = true;
    } else if (a == "--values") {
      f.values_only = true;
    } else if (a == "--ignore") {
      f.ignore_unknown = true;
    } else if (a == "--load" || a == "--system") {
      load = true;
    } else if (a == "--all") {
      all = true;
    } else if (a.size() > 1 && a[0] == '-' && a[1] != '-') {
      // Bundled short options (-qw); -p takes the rest of the word as its file.
      for (size_t k = 1; k < a.size(); ++k) {
        char c = a[k];
        if (c == 'w') {
          write = true;
        } else if (c == 'q') {
          f.quiet = true;
        } else if (c == 'n') {
          f.values_only = true;
        } else if (c == 'e') {
          f.ignore_unknown = true;
        } else if (c == 'a' || c == 'A' || c == 'X') {
          all = true;
        } else if (c == 'p') {
          load = true;
          if (k + 1 < a.size()) args.push_back(a.substr(k + 1));
          break;
        }
      }
    } else {
      args.push_back(a);
    }
  }
  if (all) {
    for (const auto& [k, v] : node.sysctl_all()) {
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
        std::string key = trim(t.substr(0, eq));
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
      std::string key = a.substr(0, eq);
      if (key.empty()) {
        o.err += fmt::format("sysctl: malformed setting \"{}\"\n", a);
        o.status = 255;
        continue;
      }
      write_one(node, key, a.substr(eq + 1), f, o);
    } else if (write) {
      o.err += "sysctl: command line(0): invalid syntax, continuing...\n";
      o.status = 1;
    } else {
      read_one(node, a, f, o);
    }
  }
  return o;
}

}  // namespace vnet::cmd
