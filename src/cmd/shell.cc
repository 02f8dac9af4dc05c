#include "cmd/shell.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <sstream>

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
      if (c == ' ' || c == '\t' || c == ';' || c == '>' || c == '\n' || c == '\r') break;
      if (c == '&' && i + 1 < n && line[i + 1] == '&') break;
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

CmdOutput Shell::write_file(const std::string& path, const std::string& data, bool append) {
  CmdOutput o;
  if (auto key = stack::Sysctls::key_from_proc_path(path)) {
    if (!node_.sysctls().get(*key)) {
      o.err = fmt::format("sh: 1: cannot create {}: Directory nonexistent\n", path);
      o.status = 2;
      return o;
    }
    int err = node_.sysctls().set(*key, data);
    if (err != 0) {
      o.err = "sh: 1: echo: echo: I/O error\n";
      o.status = 1;
    }
    return o;
  }
  if (path.rfind("/etc/", 0) == 0 || path.rfind("/tmp/", 0) == 0 || path.rfind("/var/", 0) == 0) {
    auto& f = node_.files()[path];
    f = append ? f + data : data;
    return o;
  }
  if (path == "/dev/null") return o;
  o.err = fmt::format("sh: 1: cannot create {}: Permission denied\n", path);
  o.status = 2;
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

}  // namespace

CmdOutput Shell::run_argv(const Args& argv, const std::string& input) {
  CmdOutput o;
  if (argv.empty()) return o;
  const std::string& cmd = argv[0];
  if (cmd == "ip" || cmd == "/sbin/ip" || cmd == "/usr/sbin/ip" || cmd == "/bin/ip") {
    return run_ip(node_, argv);
  }
  if (cmd == "sysctl" || cmd == "/sbin/sysctl") return run_sysctl(node_, argv);
  if (cmd == "route" || cmd == "/sbin/route") return run_route(node_, argv);
  if (cmd == "true" || cmd == ":") return o;
  if (cmd == "false") {
    o.status = 1;
    return o;
  }
  if (cmd == "modprobe" || cmd == "lsmod" || cmd == "modinfo") return o;  // accepted, no effect
  if (cmd == "echo") {
    size_t i = 1;
    bool newline = true;
    if (i < argv.size() && argv[i] == "-n") {
      newline = false;
      ++i;
    }
    for (size_t k = i; k < argv.size(); ++k) o.out += (k > i ? " " : "") + argv[k];
    if (newline) o.out += "\n";
    return o;
  }
  if (cmd == "grep") return builtin_grep(argv, input);
  if (cmd == "head") return builtin_head_tail(argv, input, true);
  if (cmd == "tail") return builtin_head_tail(argv, input, false);
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
        if (auto v = node_.sysctls().get(*key)) {
          o.out += *v + "\n";
          continue;
        }
      }
      auto it = node_.files().find(path);
      if (it == node_.files().end()) {
        o.err += fmt::format("cat: {}: No such file or directory\n", path);
        o.status = 1;
      } else {
        o.out += it->second;
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
    bool run = pending == Token::Kind::Semi || (pending == Token::Kind::And && last_status == 0) ||
               (pending == Token::Kind::Or && last_status != 0);
    std::string stdin_data;
    bool first_stage = true;
    while (true) {
      Args argv;
      std::string redirect_path, err_path;
      bool redirect_append = false, redirect = false;
      bool err_redirect = false, err_append = false, err_to_out = false;
      auto is_part = [](Token::Kind k) {
        return k == Token::Kind::Word || k == Token::Kind::RedirectOut ||
               k == Token::Kind::RedirectAppend || k == Token::Kind::RedirectErr ||
               k == Token::Kind::RedirectErrAppend || k == Token::Kind::ErrToOut;
      };
      while (i < tokens.size() && is_part(tokens[i].kind)) {
        Token::Kind k = tokens[i].kind;
        if (k == Token::Kind::Word) {
          argv.push_back(tokens[i].text);
          ++i;
          continue;
        }
        ++i;
        if (k == Token::Kind::ErrToOut) {
          err_to_out = true;
          continue;
        }
        if (i >= tokens.size() || tokens[i].kind != Token::Kind::Word) {
          total.err += "sh: 1: Syntax error: newline unexpected\n";
          total.status = 2;
          return total;
        }
        if (k == Token::Kind::RedirectErr || k == Token::Kind::RedirectErrAppend) {
          err_redirect = true;
          err_append = k == Token::Kind::RedirectErrAppend;
          err_path = tokens[i++].text;
        } else {
          redirect = true;
          redirect_append = k == Token::Kind::RedirectAppend;
          redirect_path = tokens[i++].text;
        }
      }
      bool piped = i < tokens.size() && tokens[i].kind == Token::Kind::Pipe;
      if (argv.empty() && !redirect && (piped || !first_stage)) {
        total.err += "sh: 1: Syntax error: \"|\" unexpected\n";
        total.status = 2;
        return total;
      }
      if (run && (!argv.empty() || redirect)) {
        CmdOutput o = run_argv(argv, stdin_data);
        if (err_to_out) {
          o.out += o.err;
          o.err.clear();
        }
        if (err_redirect) {
          CmdOutput w = write_file(err_path, o.err, err_append);
          o.err = w.err;
        }
        if (redirect) {
          CmdOutput w = write_file(redirect_path, o.out, redirect_append);
          o.out.clear();
          if (w.status != 0) {
            o.err += w.err;
            o.status = w.status;
          }
        }
        total.err += o.err;
        if (piped) {
          stdin_data = o.out;
        } else {
          total.out += o.out;
        }
        last_status = o.status;
      }
      first_stage = false;
      if (!piped) break;
      ++i;
    }
    if (i < tokens.size()) {
      pending = tokens[i].kind;
      ++i;
    }
  }
  total.status = last_status;
  return total;
}

}  // namespace vnet::cmd
