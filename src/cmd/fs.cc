#include "cmd/fs.h"

#include <fmt/format.h>

#include <vector>

#include "stack/sysctl.h"

namespace vnet::cmd {

std::string abs_path(const stack::Node& node, const std::string& path) {
  std::string full = !path.empty() && path[0] == '/' ? path : node.cwd() + "/" + path;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= full.size()) {
    size_t j = full.find('/', i);
    if (j == std::string::npos) j = full.size();
    std::string part = full.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (const std::string& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string parent_dir(const std::string& abs) {
  size_t slash = abs.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return abs.substr(0, slash);
}

bool is_dir(const stack::Node& node, const std::string& abs) {
  return node.dirs().contains(abs);
}

std::optional<std::string> read_file(const stack::Node& node, const std::string& path) {
  std::string abs = abs_path(node, path);
  if (auto key = stack::Sysctls::key_from_proc_path(abs)) {
    if (auto v = node.sysctl_get(*key)) return *v + "\n";
    return std::nullopt;
  }
  if (abs.rfind("/proc/net/ip_vs", 0) == 0) {
    // ip_vs's proc files exist while the module is loaded.
    const lb::IpvsTable* t = node.ipvs_if_loaded();
    if (t == nullptr) return std::nullopt;
    if (abs == "/proc/net/ip_vs") return t->proc_ip_vs();
    if (abs == "/proc/net/ip_vs_conn") return lb::proc_ip_vs_conn(t->conns(), node.now_ns());
    if (abs == "/proc/net/ip_vs_stats") return t->proc_ip_vs_stats();
  }
  auto it = node.files().find(abs);
  if (it == node.files().end()) return std::nullopt;
  return it->second;
}

bool write_file(stack::Node& node, const std::string& path, const std::string& data, bool append) {
  std::string abs = abs_path(node, path);
  if (abs == "/dev/null") return true;
  if (is_dir(node, abs) || !is_dir(node, parent_dir(abs))) return false;
  std::string& f = node.files()[abs];
  f = append ? f + data : data;
  node.mtimes()[abs] = node.now_ns();
  return true;
}

namespace {

// Splits "-pv" style flags from operands; "--" ends options.
struct Parsed {
  std::string flags;
  std::vector<std::string> operands;
  std::string bad;  // an unknown long option
};

Parsed parse(const Args& argv) {
  Parsed p;
  bool options = true;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options && a == "--") {
      options = false;
    } else if (options && a.size() > 2 && a.rfind("--", 0) == 0) {
      if (a == "--parents") {
        p.flags += 'p';
      } else if (a == "--force") {
        p.flags += 'f';
      } else if (a == "--recursive") {
        p.flags += 'r';
      } else if (p.bad.empty()) {
        p.bad = a;
      }
    } else if (options && a.size() > 1 && a[0] == '-') {
      p.flags += a.substr(1);
    } else {
      p.operands.push_back(a);
    }
  }
  return p;
}

bool has(const Parsed& p, char f) {
  return p.flags.find(f) != std::string::npos;
}

CmdOutput usage_error(const std::string& cmd, const std::string& what) {
  CmdOutput o;
  o.err = fmt::format("{0}: {1}\nTry '{0} --help' for more information.\n", cmd, what);
  o.status = 1;
  return o;
}

}  // namespace

CmdOutput run_mkdir(stack::Node& node, const Args& argv) {
  Parsed p = parse(argv);
  if (!p.bad.empty()) return usage_error("mkdir", fmt::format("unrecognized option '{}'", p.bad));
  if (p.operands.empty()) return usage_error("mkdir", "missing operand");
  CmdOutput o;
  bool parents = has(p, 'p');
  for (const std::string& d : p.operands) {
    std::string abs = abs_path(node, d);
    if (parents) {
      // Every missing component, each one only if the path is not a file.
      std::string cur;
      bool failed = false;
      for (size_t i = 1; i <= abs.size(); ++i) {
        if (i != abs.size() && abs[i] != '/') continue;
        cur = abs.substr(0, i);
        if (node.files().contains(cur)) {
          o.err += fmt::format("mkdir: cannot create directory '{}': Not a directory\n", d);
          o.status = 1;
          failed = true;
          break;
        }
        node.dirs().insert(cur);
      }
      (void)failed;
      continue;
    }
    if (is_dir(node, abs) || node.files().contains(abs)) {
      o.err += fmt::format("mkdir: cannot create directory '{}': File exists\n", d);
      o.status = 1;
    } else if (!is_dir(node, parent_dir(abs))) {
      o.err += fmt::format("mkdir: cannot create directory '{}': No such file or directory\n", d);
      o.status = 1;
    } else {
      node.dirs().insert(abs);
    }
  }
  return o;
}

CmdOutput run_rm(stack::Node& node, const Args& argv) {
  Parsed p = parse(argv);
  if (!p.bad.empty()) return usage_error("rm", fmt::format("unrecognized option '{}'", p.bad));
  bool force = has(p, 'f'), recursive = has(p, 'r') || has(p, 'R');
  if (p.operands.empty()) {
    if (force) return {};
    return usage_error("rm", "missing operand");
  }
  CmdOutput o;
  for (const std::string& f : p.operands) {
    std::string abs = abs_path(node, f);
    if (node.files().erase(abs) != 0) {
      node.mtimes().erase(abs);
      continue;
    }
    if (is_dir(node, abs)) {
      if (!recursive) {
        o.err += fmt::format("rm: cannot remove '{}': Is a directory\n", f);
        o.status = 1;
        continue;
      }
      if (abs == "/") {
        o.err +=
            "rm: it is dangerous to operate recursively on '/'\n"
            "rm: use --no-preserve-root to override this failsafe\n";
        o.status = 1;
        continue;
      }
      std::string prefix = abs + "/";
      std::erase_if(node.files(), [&](const auto& e) { return e.first.rfind(prefix, 0) == 0; });
      std::erase_if(node.mtimes(), [&](const auto& e) { return e.first.rfind(prefix, 0) == 0; });
      std::erase_if(node.dirs(),
                    [&](const std::string& d) { return d == abs || d.rfind(prefix, 0) == 0; });
      continue;
    }
    if (!force) {
      o.err += fmt::format("rm: cannot remove '{}': No such file or directory\n", f);
      o.status = 1;
    }
  }
  return o;
}

CmdOutput run_touch(stack::Node& node, const Args& argv) {
  Parsed p = parse(argv);
  if (p.operands.empty()) return usage_error("touch", "missing file operand");
  CmdOutput o;
  for (const std::string& f : p.operands) {
    std::string abs = abs_path(node, f);
    if (is_dir(node, abs)) continue;
    if (!is_dir(node, parent_dir(abs))) {
      o.err += fmt::format("touch: cannot touch '{}': No such file or directory\n", f);
      o.status = 1;
      continue;
    }
    node.files()[abs];
    node.mtimes()[abs] = node.now_ns();
  }
  return o;
}

CmdOutput run_ls(stack::Node& node, const Args& argv) {
  // Names one per line (ls writing to a pipe or file), sorted as the C locale sorts them.
  Parsed p = parse(argv);
  std::vector<std::string> targets = p.operands;
  if (targets.empty()) targets.emplace_back(".");
  CmdOutput o;
  bool all = has(p, 'a');
  for (size_t t = 0; t < targets.size(); ++t) {
    std::string abs = abs_path(node, targets[t]);
    if (node.files().contains(abs)) {
      o.out += targets[t] + "\n";
      continue;
    }
    if (!is_dir(node, abs)) {
      o.err += fmt::format("ls: cannot access '{}': No such file or directory\n", targets[t]);
      o.status = 2;
      continue;
    }
    if (targets.size() > 1) o.out += fmt::format("{}{}:\n", t > 0 ? "\n" : "", targets[t]);
    std::set<std::string> names;
    std::string prefix = abs == "/" ? "/" : abs + "/";
    auto child = [&](const std::string& path) {
      if (path.size() <= prefix.size() || path.rfind(prefix, 0) != 0) return;
      std::string rest = path.substr(prefix.size());
      if (rest.find('/') != std::string::npos) return;
      if (!all && rest[0] == '.') return;
      names.insert(rest);
    };
    for (const auto& [f, content] : node.files()) child(f);
    for (const std::string& d : node.dirs()) child(d);
    if (all) {
      o.out += ".\n..\n";
    }
    for (const std::string& n : names) o.out += n + "\n";
  }
  return o;
}

CmdOutput run_cd(stack::Node& node, const Args& argv) {
  CmdOutput o;
  std::string target = argv.size() > 1 ? argv[1] : "/root";
  std::string abs = abs_path(node, target);
  if (!is_dir(node, abs)) {
    o.err = fmt::format("sh: 1: cd: can't cd to {}\n", target);
    o.status = 2;
    return o;
  }
  node.cwd() = abs;
  return o;
}

}  // namespace vnet::cmd
