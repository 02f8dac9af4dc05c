#include "cmd/shell.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cmd/fs.h"
#include "cmd/http.h"
#include "cmd/net_apps.h"
#include "lb/ipvsadm.h"
#include "stack/sysctl.h"

namespace vnet::cmd {

bool tokenize(const std::string& line, std::vector<Token>* out, std::string* error) {
  out->clear();
  size_t i = 0;
  const size_t n = line.size();
  while (i < n) {
    char ch = line[i];
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
      ++i;
      continue;
    }
    if (ch == '#') break;
    if (ch == ';') {
      out->push_back({Token::Kind::Semi, ";"});
      ++i;
      continue;
    }
    if (ch == '&' && i + 1 < n && line[i + 1] == '&') {
      out->push_back({Token::Kind::And, "&&"});
      i += 2;
      continue;
    }
    if (ch == '&' && !(i + 1 < n && line[i + 1] == '&')) {
      out->push_back({Token::Kind::Background, "&"});
      ++i;
      continue;
    }
    if (ch == '|' && i + 1 < n && line[i + 1] == '|') {
      out->push_back({Token::Kind::Or, "||"});
      i += 2;
      continue;
    }
    if (ch == '|') {
      out->push_back({Token::Kind::Pipe, "|"});
      ++i;
      continue;
    }
    if (ch == '2' && i + 1 < n && line[i + 1] == '>') {
      if (line.compare(i, 4, "2>&1") == 0) {
        out->push_back({Token::Kind::ErrToOut, "2>&1"});
        i += 4;
      } else if (i + 2 < n && line[i + 2] == '>') {
        out->push_back({Token::Kind::RedirectErrAppend, "2>>"});
        i += 3;
      } else {
        out->push_back({Token::Kind::RedirectErr, "2>"});
        i += 2;
      }
      continue;
    }
    if (ch == '<') {
      out->push_back({Token::Kind::RedirectIn, "<"});
      ++i;
      continue;
    }
    if (ch == '>') {
      if (i + 1 < n && line[i + 1] == '>') {
        out->push_back({Token::Kind::RedirectAppend, ">>"});
        i += 2;
      } else {
        out->push_back({Token::Kind::RedirectOut, ">"});
        ++i;
      }
      continue;
    }
    std::string word;
    while (i < n) {
      char c = line[i];
      if (c == ' ' || c == '\t' || c == ';' || c == '>' || c == '<' || c == '\n' || c == '\r') {
        break;
      }
      if (c == '&' && !(i > 0 && line[i - 1] == '>')) break;
      if (c == '|') break;
      if (c == '\'') {
        size_t end = line.find('\'', i + 1);
        if (end == std::string::npos) {
          *error = "Syntax error: Unterminated quoted string";
          return false;
        }
        word += line.substr(i + 1, end - i - 1);
        i = end + 1;
      } else if (c == '"') {
        ++i;
        bool closed = false;
        while (i < n) {
          if (line[i] == '\\' && i + 1 < n &&
              (line[i + 1] == '"' || line[i + 1] == '\\' || line[i + 1] == '$')) {
            word += line[i + 1];
            i += 2;
          } else if (line[i] == '"') {
            closed = true;
            ++i;
            break;
          } else {
            word += line[i++];
          }
        }
        if (!closed) {
          *error = "Syntax error: Unterminated quoted string";
          return false;
        }
      } else if (c == '\\' && i + 1 < n) {
        word += line[i + 1];
        i += 2;
      } else {
        word += c;
        ++i;
      }
    }
    out->push_back({Token::Kind::Word, word});
  }
  return true;
}

std::string Shell::check_writable(const std::string& path) const {
  if (auto key = stack::Sysctls::key_from_proc_path(path)) {
    if (key->rfind("net.netfilter.", 0) == 0) node_.netfilter();  // loads nf_conntrack
    if (!node_.sysctl_get(*key)) {
      return fmt::format("sh: 1: cannot create {}: Directory nonexistent\n", path);
    }
    return {};
  }
  std::string abs = abs_path(node_, path);
  if (abs == "/dev/null") return {};
  if (is_dir(node_, abs)) return fmt::format("sh: 1: cannot create {}: Is a directory\n", path);
  if (!is_dir(node_, parent_dir(abs))) {
    return fmt::format("sh: 1: cannot create {}: Directory nonexistent\n", path);
  }
  if (abs.rfind("/proc/", 0) == 0 || abs.rfind("/dev/", 0) == 0) {
    return fmt::format("sh: 1: cannot create {}: Permission denied\n", path);
  }
  return {};
}

CmdOutput Shell::write_file(const std::string& path, const std::string& data, bool append) {
  // A write into /proc/sys goes to the sysctl (an empty write changes nothing); other files
  // are the node's own.
  CmdOutput o;
  if (auto key = stack::Sysctls::key_from_proc_path(path)) {
    if (!data.empty() && node_.sysctl_set(*key, data) != 0) o.status = 1;
    return o;
  }
  if (!cmd::write_file(node_, path, data, append)) o.status = 1;
  return o;
}

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

// grep [-v] [-i] [-c] [-q] [-E] [-F] PATTERN [FILE...] over standard input.
CmdOutput builtin_grep(const Args& argv, const std::string& input) {
  CmdOutput o;
  bool invert = false, icase = false, count = false, quiet = false, extended = false, fixed = false;
  std::string pattern;
  bool have_pattern = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!have_pattern && a.size() > 1 && a[0] == '-') {
      for (char f : a.substr(1)) {
        if (f == 'v')
          invert = true;
        else if (f == 'i')
          icase = true;
        else if (f == 'c')
          count = true;
        else if (f == 'q')
          quiet = true;
        else if (f == 'E')
          extended = true;
        else if (f == 'F')
          fixed = true;
      }
      continue;
    }
    if (!have_pattern) {
      pattern = a;
      have_pattern = true;
    }
  }
  if (!have_pattern) {
    o.err = "Usage: grep [OPTION]... PATTERNS [FILE]...\n";
    o.status = 2;
    return o;
  }
  std::regex re;
  try {
    auto flags = extended ? std::regex::extended : std::regex::basic;
    if (icase) flags |= std::regex::icase;
    re = std::regex(
        fixed ? std::regex_replace(pattern, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)")
              : pattern,
        fixed ? (std::regex::extended | (icase ? std::regex::icase : std::regex::extended))
              : flags);
  } catch (const std::regex_error&) {
    o.err = "grep: Invalid regular expression\n";
    o.status = 2;
    return o;
  }
  int matched = 0;
  for (const std::string& line : split_lines(input)) {
    bool m = std::regex_search(line, re) != invert;
    if (!m) continue;
    ++matched;
    if (!count && !quiet) o.out += line + "\n";
  }
  if (count) o.out = std::to_string(matched) + "\n";
  if (quiet) o.out.clear();
  o.status = matched > 0 ? 0 : 1;
  return o;
}

// head/tail [-n N | -N]
CmdOutput builtin_head_tail(const Args& argv, const std::string& input, bool head) {
  CmdOutput o;
  size_t n = 10;
  for (size_t i = 1; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a == "-n" && i + 1 < argv.size())
      a = argv[++i];
    else if (a.size() > 1 && a[0] == '-')
      a = a.substr(1);
    if (!a.empty() && std::all_of(a.begin(), a.end(), ::isdigit)) n = std::stoul(a);
  }
  auto lines = split_lines(input);
  size_t begin = head ? 0 : (lines.size() > n ? lines.size() - n : 0);
  size_t end = head ? std::min(n, lines.size()) : lines.size();
  for (size_t i = begin; i < end; ++i) o.out += lines[i] + "\n";
  return o;
}

// diff [-q] A B: GNU diff's normal format ("3c3", "< old", "---", "> new"), hunks from a
// longest common subsequence of lines.  Exit 0 when equal, 1 when different, 2 on trouble.
CmdOutput builtin_diff(const Args& argv, const std::vector<std::optional<std::string>>& texts,
                       const std::vector<std::string>& names) {
  CmdOutput o;
  bool brief = false;
  for (size_t k = 1; k < argv.size(); ++k) {
    if (argv[k] == "-q" || argv[k] == "--brief") brief = true;
  }
  if (names.size() != 2) {
    o.err = names.size() < 2 ? fmt::format("diff: missing operand after '{}'\n",
                                           names.empty() ? "diff" : names.back())
                             : fmt::format("diff: extra operand '{}'\n", names[2]);
    o.err += "diff: Try 'diff --help' for more information.\n";
    o.status = 2;
    return o;
  }
  for (size_t k = 0; k < 2; ++k) {
    if (!texts[k]) {
      o.err += fmt::format("diff: {}: No such file or directory\n", names[k]);
      o.status = 2;
    }
  }
  if (o.status) return o;
  std::vector<std::string> a = split_lines(*texts[0]), b = split_lines(*texts[1]);
  if (a == b) return o;
  o.status = 1;
  if (brief) {
    o.out = fmt::format("Files {} and {} differ\n", names[0], names[1]);
    return o;
  }
  if (a.size() * b.size() > 4'000'000) {
    o.err = "diff: files too large for vnet's diff\n";
    o.status = 2;
    return o;
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
  size_t n = a.size(), m = b.size();
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  auto range = [](size_t from, size_t to) {  // 1-based, inclusive; to < from: empty
    return to <= from ? std::to_string(from) : fmt::format("{},{}", from, to);
  };
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ++i;
      ++j;
      continue;
    }
    size_t i0 = i, j0 = j;
    while ((i < n || j < m) && !(i < n && j < m && a[i] == b[j])) {
      if (j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1])) {
        ++i;
      } else {
        ++j;
      }
    }
    if (j == j0) {
      o.out += fmt::format("{}d{}\n", range(i0 + 1, i), j0);
    } else if (i == i0) {
      o.out += fmt::format("{}a{}\n", i0, range(j0 + 1, j));
    } else {
      o.out += fmt::format("{}c{}\n", range(i0 + 1, i), range(j0 + 1, j));
    }
    for (size_t k = i0; k < i; ++k) o.out += "< " + a[k] + "\n";
    if (i != i0 && j != j0) o.out += "---\n";
    for (size_t k = j0; k < j; ++k) o.out += "> " + b[k] + "\n";
  }
  return o;
}

}  // namespace

namespace {
// "1M" -> 1048576, "10K", "512" (coreutils' suffixes: K M G are powers of 1024, KB MB powers of
// 1000).
std::optional<size_t> parse_size(const std::string& text) {
  if (text.empty()) return std::nullopt;
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return std::nullopt;
  size_t v = std::stoull(text.substr(0, i));
  std::string suffix = text.substr(i);
  size_t mult = 1;
  if (suffix.empty()) {
    mult = 1;
  } else if (suffix == "K" || suffix == "k" || suffix == "KiB") {
    mult = 1024;
  } else if (suffix == "M" || suffix == "MiB") {
    mult = size_t{1024} * 1024;
  } else if (suffix == "G" || suffix == "GiB") {
    mult = size_t{1024} * 1024 * 1024;
  } else if (suffix == "KB" || suffix == "kB") {
    mult = 1000;
  } else if (suffix == "MB") {
    mult = size_t{1000} * 1000;
  } else {
    return std::nullopt;
  }
  if (v * mult > (size_t{1} << 30)) return std::nullopt;  // 1 GiB: the node's files live in memory
  return v * mult;
}
}  // namespace

CmdOutput Shell::run_nstat(const Args& argv) {
  // nstat -az [NAME...]: the TCP MIB counters, absolute values (-a), zeros included (-z).
  CmdOutput o;
  const stack::TcpCounters& c = node_.tcp().counters();
  size_t estab = 0;
  for (const auto& s : node_.tcp().sockets()) {
    estab += s.state == stack::TcpState::Established || s.state == stack::TcpState::CloseWait;
  }
  std::vector<std::pair<std::string, uint64_t>> all = {
      {"TcpActiveOpens", c.active_opens},
      {"TcpPassiveOpens", c.passive_opens},
      {"TcpAttemptFails", c.attempt_fails},
      {"TcpEstabResets", c.estab_resets},
      {"TcpCurrEstab", estab},
      {"TcpInSegs", c.in_segs},
      {"TcpOutSegs", c.out_segs},
      {"TcpRetransSegs", c.retrans_segs},
      {"TcpInErrs", c.in_errs},
      {"TcpOutRsts", c.out_rsts},
      {"TcpExtListenOverflows", c.listen_overflows},
      {"TcpExtListenDrops", c.listen_drops},
      {"TcpExtDelayedACKs", c.delayed_acks},
      {"TcpExtTCPTimeouts", c.timeouts},
      {"TcpExtTCPSynRetrans", c.syn_retrans},
      {"TcpExtTCPFastRetrans", c.fast_retrans},
      {"TcpExtTW", c.tw_recycled}};
  bool zeros = false;
  std::set<std::string> names;
  for (size_t k = 1; k < argv.size(); ++k) {
    if (argv[k][0] == '-') {
      zeros |= argv[k].find('z') != std::string::npos;
    } else {
      names.insert(argv[k]);
    }
  }
  o.out = "#kernel\n";
  for (const auto& [name, value] : all) {
    if (!names.empty() && !names.contains(name)) continue;
    if (value == 0 && !zeros) continue;
    o.out += fmt::format("{:<32}{:<16}{:6.1f}\n", name, value, 0.0);
  }
  return o;
}

std::string Shell::hostname() const {
  auto it = node_.files().find("/etc/hostname");
  if (it == node_.files().end() || it->second.empty()) return "localhost";
  std::string h = it->second;
  if (h.back() == '\n') h.pop_back();
  return h;
}

CmdOutput Shell::run_package_manager(const Args& argv) {
  // vnet nodes come with the packages the labs use (httpd/apache2, curl, iproute, ...)
  // already installed; anything else is not available.
  CmdOutput o;
  bool yum = argv[0] == "yum" || argv[0] == "dnf";
  std::vector<std::string> pkgs;
  bool install = false;
  for (size_t k = 1; k < argv.size(); ++k) {
    if (argv[k] == "install") {
      install = true;
    } else if (!argv[k].empty() && argv[k][0] != '-' && install) {
      pkgs.push_back(argv[k]);
    }
  }
  static const std::set<std::string> kInstalled = {
      "httpd",     "apache2",        "curl",    "iproute",      "iproute2",        "iptables",
      "ipvsadm",   "net-tools",      "iputils", "iputils-ping", "traceroute",      "nc",
      "nmap-ncat", "netcat-openbsd", "iperf3",  "python3",      "conntrack-tools", "conntrack"};
  if (!install) {
    o.err = fmt::format("{}: only `install` is modelled\n", argv[0]);
    o.status = 1;
    return o;
  }
  for (const std::string& p : pkgs) {
    if (!kInstalled.contains(p)) {
      if (yum) {
        o.out += fmt::format("No package {} available.\n", p);
      } else {
        o.err += fmt::format("E: Unable to locate package {}\n", p);
      }
      o.status = yum ? 1 : 100;
      continue;
    }
    o.out += yum ? fmt::format("Package {} already installed and latest version\n", p)
                 : fmt::format("{} is already the newest version.\n", p);
  }
  if (o.status == 0) {
    node_.trace_note(fmt::format("{} install: {} already installed (vnet nodes come with them)",
                                 argv[0], fmt::join(pkgs, " ")));
  }
  if (yum && o.status == 0) o.out += "Nothing to do\n";
  if (yum && o.status != 0) o.out += "Error: Nothing to do\n";
  return o;
}

CmdOutput Shell::run_argv(const Args& argv, const std::string& input) {
  CmdOutput o;
  if (argv.empty()) return o;
  const std::string& cmd = argv[0];
  if (cmd == "ip" || cmd == "/sbin/ip" || cmd == "/usr/sbin/ip" || cmd == "/bin/ip") {
    return run_ip(node_, argv);
  }
  if (cmd == "sysctl" || cmd == "/sbin/sysctl") return run_sysctl(node_, argv);
  if (cmd == "route" || cmd == "/sbin/route") return run_route(node_, argv);
  if (cmd == "ping" || cmd == "/bin/ping") return run_ping(node_, *driver_, argv);
  if (cmd == "traceroute") return run_traceroute(node_, *driver_, argv);
  if (cmd == "arping") return run_arping(node_, *driver_, argv);
  if (cmd == "curl" || cmd == "/usr/bin/curl") return run_curl(node_, *driver_, argv);
  if (cmd == "systemctl") {
    std::vector<std::string> words;
    for (size_t i = 1; i < argv.size(); ++i) {
      if (!argv[i].empty() && argv[i][0] != '-') words.push_back(argv[i]);
    }
    if (words.size() >= 2 && (words[1] == "ipvsadm" || words[1] == "ipvsadm.service")) {
      return run_ipvsadm_unit(words[0]);
    }
  }
  if (cmd == "systemctl" || cmd == "apachectl" || cmd == "apache2ctl" ||
      cmd == "/usr/sbin/apachectl") {
    return run_systemctl(node_, argv);
  }
  if (cmd == "service" && argv.size() >= 3) {
    return run_systemctl(node_, {"systemctl", argv[2], argv[1]});
  }
  if (cmd == "python3" || cmd == "python" || cmd == "/usr/bin/python3") {
    return run_python(node_, argv, out_sink_);
  }
  if (cmd == "yum" || cmd == "dnf" || cmd == "apt-get" || cmd == "apt") {
    return run_package_manager(argv);
  }
  if (cmd == "ss" || cmd == "/usr/sbin/ss" || cmd == "/sbin/ss") return run_ss(node_, argv);
  if (cmd == "nc" || cmd == "netcat" || cmd == "/usr/bin/nc") {
    return run_nc(node_, *driver_, argv, input, out_sink_);
  }
  if (cmd == "iperf3" || cmd == "/usr/bin/iperf3") {
    return run_iperf3(node_, *driver_, argv, out_sink_);
  }
  if (cmd == "mkdir") return run_mkdir(node_, argv);
  if (cmd == "rm") return run_rm(node_, argv);
  if (cmd == "touch") return run_touch(node_, argv);
  if (cmd == "ls") return run_ls(node_, argv);
  if (cmd == "cd") return run_cd(node_, argv);
  if (cmd == "pwd") {
    o.out = node_.cwd() + "\n";
    return o;
  }
  if (cmd == "sleep") {
    // GNU sleep: seconds with an optional s/m/h suffix; virtual time passes for every node.
    double total = 0;
    for (size_t k = 1; k < argv.size(); ++k) {
      std::string a = argv[k];
      double mult = 1;
      if (!a.empty() && (a.back() == 's' || a.back() == 'm' || a.back() == 'h')) {
        mult = a.back() == 'm' ? 60 : a.back() == 'h' ? 3600 : 1;
        a.pop_back();
      }
      char* end = nullptr;
      double v = std::strtod(a.c_str(), &end);
      if (a.empty() || *end != '\0' || v < 0) {
        o.err = fmt::format(
            "sleep: invalid time interval '{}'\nTry 'sleep --help' for more "
            "information.\n",
            argv[k]);
        o.status = 1;
        return o;
      }
      total += v * mult;
    }
    if (argv.size() < 2) {
      o.err = "sleep: missing operand\nTry 'sleep --help' for more information.\n";
      o.status = 1;
      return o;
    }
    // A year at most: virtual time is 64-bit nanoseconds.
    total = std::min(total, 365.0 * 86400);
    node_.run_timers(driver_->now_ns());
    driver_->advance_until(driver_->now_ns() + static_cast<uint64_t>(total * 1e9),
                           [] { return false; });
    return o;
  }
  if (cmd == "hostnamectl") {
    // systemd's hostnamectl: set-hostname writes /etc/hostname; the name shows in `hostname`.
    if (argv.size() >= 3 && (argv[1] == "set-hostname" || argv[1] == "hostname")) {
      node_.files()["/etc/hostname"] = argv[2] + "\n";
      node_.trace_note(fmt::format("hostnamectl: the host name is now {}", argv[2]));
      return o;
    }
    if (argv.size() == 1 || argv[1] == "status") {
      o.out = fmt::format(" Static hostname: {}\n", hostname());
      return o;
    }
    o.err = fmt::format("Unknown command verb {}.\n", argv[1]);
    o.status = 1;
    return o;
  }
  if (cmd == "hostname" && argv.size() == 1) {
    o.out = hostname() + "\n";
    return o;
  }
  if (cmd == "su" && (argv.size() == 1 || argv[1] == "-" || argv[1] == "root")) {
    // `su` alone starts a root shell; the lab's next commands run as root anyway.
    node_.trace_note("su: commands already run as root; no new shell");
    return o;
  }
  if (cmd == "setenforce") {
    // SELinux is not modelled: nothing is ever denied, so setenforce only records the mode.
    static const std::set<std::string> kModes = {"0",         "1",          "Permissive",
                                                 "Enforcing", "permissive", "enforcing"};
    if (argv.size() != 2 || !kModes.contains(argv[1])) {
      o.err = "usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]\n";
      o.status = 1;
      return o;
    }
    bool enforcing = argv[1] == "1" || argv[1] == "Enforcing" || argv[1] == "enforcing";
    node_.files()["/sys/fs/selinux/enforce"] = enforcing ? "1" : "0";
    node_.trace_note(
        fmt::format("setenforce {}: SELinux is not modelled (nothing is denied)", argv[1]));
    return o;
  }
  if (cmd == "getenforce") {
    auto it = node_.files().find("/sys/fs/selinux/enforce");
    o.out = it == node_.files().end() || it->second == "1" ? "Enforcing\n" : "Permissive\n";
    return o;
  }
  if (cmd == "true" || cmd == ":") return o;
  if (cmd == "false") {
    o.status = 1;
    return o;
  }
  if (cmd == "bridge" || cmd == "/sbin/bridge") return run_bridge(node_, argv);
  if (cmd == "vpc") return run_vpc(node_, argv, control_);
  if (cmd == "agent") return run_agent(control_, argv);
  if (cmd == "iptables" || cmd == "/sbin/iptables" || cmd == "/usr/sbin/iptables" ||
      cmd == "conntrack" || cmd == "/usr/sbin/conntrack") {
    std::string base = cmd.substr(cmd.rfind('/') + 1);
    Args args = argv;
    args[0] = base;
    nf::CmdResult r = base == "iptables"
                          ? nf::run_iptables(node_.netfilter(), args, node_.now_ns())
                          : nf::run_conntrack(node_.netfilter(), args, node_.now_ns());
    o.out = std::move(r.out);
    o.err = std::move(r.err);
    o.status = r.status;
    return o;
  }
  if (cmd == "ipvsadm" || cmd == "/sbin/ipvsadm" || cmd == "/usr/sbin/ipvsadm" ||
      cmd == "ipvsadm-save" || cmd == "ipvsadm-restore" || cmd == "/etc/init.d/ipvsadm") {
    return run_ipvsadm_command(argv, input);
  }
  if (cmd == "modprobe" || cmd == "/sbin/modprobe") {
    // Modules are built in; loading one creates its fallback device (tunl0, gre0), removing
    // it (-r) takes its devices away.
    bool remove = false;
    for (size_t k = 1; k < argv.size(); ++k) {
      if (argv[k] == "-r" || argv[k] == "--remove") remove = true;
    }
    for (size_t k = 1; k < argv.size(); ++k) {
      const std::string& m = argv[k];
      if (m.empty() || m[0] == '-') continue;
      if (remove) {
        if (node_.unload_module(m) == -EBUSY) {
          o.err += fmt::format("modprobe: FATAL: Module {} is in use.\n", m);
          o.status = 1;
        }
        continue;
      }
      if (m == "nf_conntrack" || m == "nf_nat" || m == "iptable_nat") node_.netfilter();
      if (m == "ip_vs") node_.ipvs();
      node_.load_module(m);
    }
    return o;
  }
  if (cmd == "lsmod") {
    // Only the modules loaded in this node; vnet has no module sizes to show, so Size is 0.
    // ip_vs is used by its scheduler modules.
    o.out = "Module                  Size  Used by\n";
    std::map<std::string, std::vector<std::string>> used_by;
    std::set<std::string> all = node_.loaded_modules();
    if (const lb::IpvsTable* t = node_.ipvs_if_loaded()) {
      for (const std::string& m : t->modules()) {
        all.insert(m);
        used_by["ip_vs"].push_back(m);
      }
    }
    for (const std::string& m : all) {
      const auto& users = used_by[m];
      std::string list;
      for (const std::string& u : users) list += (list.empty() ? "" : ",") + u;
      o.out +=
          fmt::format("{:<19} {:>8}  {}{}\n", m, 0, users.size(), list.empty() ? "" : " " + list);
    }
    return o;
  }
  if (cmd == "modinfo") return o;
  if (cmd == "echo") {
    // dash's echo: -n, and backslash escapes \a \b \c \f \n \r \t \v \\ \0nnn.
    size_t i = 1;
    bool newline = true;
    if (i < argv.size() && argv[i] == "-n") {
      newline = false;
      ++i;
    }
    for (size_t k = i; k < argv.size(); ++k) {
      if (k > i) o.out += ' ';
      const std::string& w = argv[k];
      for (size_t j = 0; j < w.size(); ++j) {
        if (w[j] != '\\' || j + 1 >= w.size()) {
          o.out += w[j];
          continue;
        }
        char e = w[++j];
        switch (e) {
          case 'a':
            o.out += '\a';
            break;
          case 'b':
            o.out += '\b';
            break;
          case 'c':
            return o;  // stop output, no newline
          case 'f':
            o.out += '\f';
            break;
          case 'n':
            o.out += '\n';
            break;
          case 'r':
            o.out += '\r';
            break;
          case 't':
            o.out += '\t';
            break;
          case 'v':
            o.out += '\v';
            break;
          case '\\':
            o.out += '\\';
            break;
          case '0': {
            int v = 0;
            for (int d = 0; d < 3 && j + 1 < w.size() && w[j + 1] >= '0' && w[j + 1] <= '7'; ++d) {
              v = v * 8 + (w[++j] - '0');
            }
            o.out += static_cast<char>(v);
            break;
          }
          default:
            o.out += '\\';
            o.out += e;
        }
      }
    }
    if (newline) o.out += "\n";
    return o;
  }
  if (cmd == "printf") {
    // dash's printf: backslash escapes and %s %d %i %x %c %%; the format is reused while
    // arguments remain.
    if (argv.size() < 2) {
      o.err = "printf: usage: printf format [arg ...]\n";
      o.status = 2;
      return o;
    }
    const std::string& f = argv[1];
    size_t arg = 2;
    do {
      bool consumed = false;
      for (size_t j = 0; j < f.size(); ++j) {
        char ch = f[j];
        if (ch == '\\' && j + 1 < f.size()) {
          char e = f[++j];
          o.out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '\\' ? '\\' : e;
        } else if (ch == '%' && j + 1 < f.size()) {
          char spec = f[++j];
          if (spec == '%') {
            o.out += '%';
            continue;
          }
          std::string a = arg < argv.size() ? argv[arg++] : "";
          consumed = true;
          if (spec == 'd' || spec == 'i') {
            o.out += std::to_string(std::strtoll(a.c_str(), nullptr, 10));
          } else if (spec == 'x') {
            o.out += fmt::format("{:x}", std::strtoll(a.c_str(), nullptr, 10));
          } else if (spec == 'c') {
            if (!a.empty()) o.out += a[0];
          } else {
            o.out += a;
          }
        } else {
          o.out += ch;
        }
      }
      if (!consumed) break;
    } while (arg < argv.size());
    return o;
  }
  if (cmd == "grep") {
    // Operands after the pattern are files; without them grep reads standard input.
    Args args = {argv[0]};
    std::vector<std::string> files;
    bool have_pattern = false;
    for (size_t k = 1; k < argv.size(); ++k) {
      if (!have_pattern && argv[k].size() > 1 && argv[k][0] == '-') {
        args.push_back(argv[k]);
      } else if (!have_pattern) {
        args.push_back(argv[k]);
        have_pattern = true;
      } else {
        files.push_back(argv[k]);
      }
    }
    if (files.empty()) return builtin_grep(argv, input);
    CmdOutput total;
    int best = 2;  // grep's status: 0 if any file matched, else 1, 2 on a missing file
    bool missing = false;
    for (const std::string& f : files) {
      auto content = read_file(node_, f);
      if (!content) {
        total.err += fmt::format("grep: {}: No such file or directory\n", f);
        missing = true;
        continue;
      }
      CmdOutput one = builtin_grep(args, *content);
      if (files.size() > 1) {
        // Several files: each output line starts with the file's name.
        std::string prefixed;
        for (const std::string& line : split_lines(one.out)) prefixed += f + ":" + line + "\n";
        one.out = prefixed;
      }
      total.out += one.out;
      total.err += one.err;
      if (one.status == 2) missing = true;
      best = std::min(best, one.status);
    }
    total.status = best == 0 ? 0 : missing ? 2 : 1;
    return total;
  }
  if (cmd == "paste") {
    // paste [-d LIST] FILE...: line k of every file on one line, joined by the delimiters
    // (TAB by default; LIST is used in turn).
    std::string delims = "\t";
    std::vector<std::vector<std::string>> cols;
    for (size_t k = 1; k < argv.size(); ++k) {
      if (argv[k].rfind("-d", 0) == 0) {
        delims = argv[k].size() > 2 ? argv[k].substr(2) : (k + 1 < argv.size() ? argv[++k] : "");
        if (delims.empty()) delims = std::string(1, '\0');
        continue;
      }
      auto text = argv[k] == "-" ? std::optional(input) : read_file(node_, argv[k]);
      if (!text) {
        o.err = fmt::format("paste: {}: No such file or directory\n", argv[k]);
        o.status = 1;
        return o;
      }
      cols.push_back(split_lines(*text));
    }
    size_t rows = 0;
    for (const auto& c : cols) rows = std::max(rows, c.size());
    for (size_t r = 0; r < rows; ++r) {
      for (size_t c = 0; c < cols.size(); ++c) {
        if (c > 0 && delims[(c - 1) % delims.size()] != '\0') {
          o.out += delims[(c - 1) % delims.size()];
        }
        if (r < cols[c].size()) o.out += cols[c][r];
      }
      o.out += "\n";
    }
    return o;
  }
  if (cmd == "diff") {
    std::vector<std::string> names;
    std::vector<std::optional<std::string>> texts;
    for (size_t k = 1; k < argv.size(); ++k) {
      if (argv[k].size() > 1 && argv[k][0] == '-') continue;
      names.push_back(argv[k]);
      texts.push_back(argv[k] == "-" ? std::optional(input) : read_file(node_, argv[k]));
    }
    return builtin_diff(argv, texts, names);
  }
  if (cmd == "head" && argv.size() >= 3 && argv[1].rfind("-c", 0) == 0) {
    // head -c BYTES [FILE]: /dev/zero gives zeros, /dev/urandom the node's pseudo-random bytes.
    std::string count = argv[1].size() > 2 ? argv[1].substr(2) : argv.size() > 2 ? argv[2] : "";
    size_t file_arg = argv[1].size() > 2 ? 2 : 3;
    auto bytes = parse_size(count);
    if (!bytes) {
      o.err = fmt::format("head: invalid number of bytes: '{}'\n", count);
      o.status = 1;
      return o;
    }
    std::string data = input;
    if (file_arg < argv.size()) {
      const std::string& f = argv[file_arg];
      if (f == "/dev/zero") {
        data.assign(*bytes, '\0');
      } else if (f == "/dev/urandom" || f == "/dev/random") {
        data.resize(*bytes);
        uint64_t x = 0x2545f4914f6cdd1dull ^ *bytes;
        for (char& ch : data) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          ch = static_cast<char>(x);
        }
      } else if (auto content = read_file(node_, f)) {
        data = *content;
      } else {
        o.err = fmt::format("head: cannot open '{}' for reading: No such file or directory\n", f);
        o.status = 1;
        return o;
      }
    }
    o.out = data.substr(0, std::min<size_t>(*bytes, data.size()));
    return o;
  }
  if (cmd == "truncate") {
    // truncate -s SIZE FILE...: grows with zeros or cuts.
    std::optional<size_t> size;
    std::vector<std::string> targets;
    for (size_t k = 1; k < argv.size(); ++k) {
      if (argv[k] == "-s" && k + 1 < argv.size()) {
        size = parse_size(argv[++k]);
        if (!size) {
          o.err = fmt::format("truncate: invalid number: '{}'\n", argv[k]);
          o.status = 1;
          return o;
        }
      } else {
        targets.push_back(argv[k]);
      }
    }
    if (!size || targets.empty()) {
      o.err =
          "truncate: you must specify either '--size' or '--reference'\nTry 'truncate --help' "
          "for more information.\n";
      o.status = 1;
      return o;
    }
    for (const std::string& f : targets) {
      std::string content = read_file(node_, f).value_or("");
      content.resize(*size, '\0');
      if (!cmd::write_file(node_, f, content, false)) {
        o.err +=
            fmt::format("truncate: cannot open '{}' for writing: No such file or directory\n", f);
        o.status = 1;
      }
    }
    return o;
  }
  if (cmd == "nstat") return run_nstat(argv);
  if (cmd == "head" || cmd == "tail") {
    // Operands: skip option words and the value of -n.
    Args opts = {cmd};
    Args files = {cmd};
    for (size_t k = 1; k < argv.size(); ++k) {
      if (argv[k] == "-n" && k + 1 < argv.size()) {
        opts.push_back(argv[k]);
        opts.push_back(argv[++k]);
      } else if (argv[k].size() > 1 && argv[k][0] == '-') {
        opts.push_back(argv[k]);
      } else {
        files.push_back(argv[k]);
      }
    }
    const Args& only_files = files;
    auto text = [&]() -> std::optional<std::string> {
      std::string t;
      bool any = false;
      for (size_t k = 1; k < only_files.size(); ++k) {
        any = true;
        auto content = read_file(node_, only_files[k]);
        if (!content) {
          o.err += fmt::format("{}: cannot open '{}' for reading: No such file or directory\n", cmd,
                               only_files[k]);
          o.status = 1;
          return std::nullopt;
        }
        t += *content;
      }
      return any ? t : input;
    }();
    if (!text) return o;
    return builtin_head_tail(opts, *text, cmd == "head");
  }
  if (cmd == "wc") {
    o.out = std::to_string(split_lines(input).size()) + "\n";
    return o;
  }
  if (cmd == "cat" && argv.size() == 1) {
    o.out = input;
    return o;
  }
  if (cmd == "cat") {
    for (size_t k = 1; k < argv.size(); ++k) {
      const std::string& path = argv[k];
      if (auto key = stack::Sysctls::key_from_proc_path(path)) {
        if (auto v = node_.sysctl_get(*key)) {
          o.out += *v + "\n";
          continue;
        }
      }
      if (is_dir(node_, abs_path(node_, path))) {
        o.err += fmt::format("cat: {}: Is a directory\n", path);
        o.status = 1;
      } else if (auto content = read_file(node_, path)) {
        o.out += *content;
      } else {
        o.err += fmt::format("cat: {}: No such file or directory\n", path);
        o.status = 1;
      }
    }
    return o;
  }
  o.err = fmt::format("sh: 1: {}: not found\n", cmd);
  o.status = 127;
  return o;
}

CmdOutput Shell::run(const std::string& line) {
  CmdOutput total;
  std::vector<Token> tokens;
  std::string error;
  if (!tokenize(line, &tokens, &error)) {
    total.err = "sh: 1: " + error + "\n";
    total.status = 2;
    return total;
  }
  size_t i = 0;
  int last_status = 0;
  Token::Kind pending = Token::Kind::Semi;
  while (i < tokens.size()) {
    // One pipeline: simple commands separated by '|'.
    bool run = pending == Token::Kind::Semi || pending == Token::Kind::Background ||
               (pending == Token::Kind::And && last_status == 0) ||
               (pending == Token::Kind::Or && last_status != 0);
    std::string stdin_data;
    bool first_stage = true;
    while (true) {
      Args argv;
      // Redirections apply left to right to file descriptors 1 and 2 (POSIX 2.7).
      struct Target {
        enum class Kind { Out, Err, File } kind;
        std::string path;
        bool append = false;
      };
      Target fd1{Target::Kind::Out, {}, false}, fd2{Target::Kind::Err, {}, false};
      bool redirected = false;
      std::string open_error;
      auto is_part = [](Token::Kind k) {
        return k == Token::Kind::Word || k == Token::Kind::RedirectOut ||
               k == Token::Kind::RedirectAppend || k == Token::Kind::RedirectErr ||
               k == Token::Kind::RedirectErrAppend || k == Token::Kind::ErrToOut ||
               k == Token::Kind::RedirectIn;
      };
      while (i < tokens.size() && is_part(tokens[i].kind)) {
        Token::Kind k = tokens[i].kind;
        if (k == Token::Kind::Word) {
          argv.push_back(tokens[i].text);
          ++i;
          continue;
        }
        ++i;
        redirected = true;
        if (k == Token::Kind::ErrToOut) {
          fd2 = fd1;
          continue;
        }
        if (i >= tokens.size() || tokens[i].kind != Token::Kind::Word) {
          total.err += i >= tokens.size()
                           ? "sh: 1: Syntax error: end of file unexpected\n"
                           : "sh: 1: Syntax error: \"" + tokens[i].text + "\" unexpected\n";
          total.status = 2;
          return total;
        }
        if (k == Token::Kind::RedirectIn) {
          // `< FILE`: the command's standard input, read at open time.
          const std::string& path = tokens[i++].text;
          std::optional<std::string> data = read_file(node_, abs_path(node_, path));
          if (!data && open_error.empty()) {
            open_error = fmt::format("sh: 1: cannot open {}: No such file\n", path);
          }
          stdin_data = data.value_or("");
          continue;
        }
        Target t{Target::Kind::File, tokens[i++].text,
                 k == Token::Kind::RedirectAppend || k == Token::Kind::RedirectErrAppend};
        if (open_error.empty()) open_error = check_writable(t.path);
        // `>` truncates at open time, before the command runs.
        if (open_error.empty() && !t.append) write_file(t.path, "", false);
        if (k == Token::Kind::RedirectErr || k == Token::Kind::RedirectErrAppend) {
          fd2 = t;
        } else {
          fd1 = t;
        }
      }
      bool piped = i < tokens.size() && tokens[i].kind == Token::Kind::Pipe;
      if (argv.empty() && !redirected && (piped || !first_stage)) {
        total.err += "sh: 1: Syntax error: \"|\" unexpected\n";
        total.status = 2;
        return total;
      }
      if (run && !open_error.empty()) {
        // dash does not run a command whose redirection cannot be opened.
        total.err += open_error;
        last_status = 2;
      } else if (run && !argv.empty()) {
        // What a background server writes later goes where its standard output points.
        if (fd1.kind == Target::Kind::File) {
          std::string path = abs_path(node_, fd1.path);
          stack::Node* node = &node_;
          out_sink_ = [node, path](const std::string& data) {
            if (auto key = stack::Sysctls::key_from_proc_path(path)) {
              node->sysctl_set(*key, data);
            } else {
              cmd::write_file(*node, path, data, true);
            }
          };
        } else {
          out_sink_ = nullptr;
        }
        CmdOutput o = run_argv(argv, stdin_data);
        std::string out_data, err_data;
        auto deliver = [&](const Target& t, const std::string& data) {
          switch (t.kind) {
            case Target::Kind::Out:
              out_data += data;
              break;
            case Target::Kind::Err:
              err_data += data;
              break;
            case Target::Kind::File: {
              if (data.empty()) break;
              CmdOutput w = write_file(t.path, data, true);
              if (w.status != 0) {
                // The writing command reports it: dash's builtins as "sh: 1: echo: echo: …".
                err_data += fmt::format("sh: 1: {0}: {0}: I/O error\n", argv[0]);
                o.status = 1;
              }
              break;
            }
          }
        };
        deliver(fd1, o.out);
        deliver(fd2, o.err);
        total.err += err_data;
        if (piped) {
          stdin_data = out_data;
        } else {
          total.out += out_data;
        }
        last_status = o.status;
      } else if (run) {
        last_status = 0;
      }
      first_stage = false;
      if (!piped) break;
      ++i;
    }
    if (i < tokens.size()) {
      pending = tokens[i].kind;
      if (pending == Token::Kind::Background) last_status = 0;  // `cmd &` succeeds at once
      ++i;
    }
  }
  total.status = last_status;
  return total;
}

}  // namespace vnet::cmd
