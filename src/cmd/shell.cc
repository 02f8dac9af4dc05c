#include "cmd/shell.h"

#include <fmt/format.h>

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

CmdOutput Shell::run_argv(const Args& argv) {
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
    Args argv;
    std::string redirect_path;
    bool redirect_append = false, redirect = false;
    while (i < tokens.size() &&
           (tokens[i].kind == Token::Kind::Word || tokens[i].kind == Token::Kind::RedirectOut ||
            tokens[i].kind == Token::Kind::RedirectAppend)) {
      if (tokens[i].kind == Token::Kind::Word) {
        argv.push_back(tokens[i].text);
        ++i;
        continue;
      }
      redirect = true;
      redirect_append = tokens[i].kind == Token::Kind::RedirectAppend;
      ++i;
      if (i >= tokens.size() || tokens[i].kind != Token::Kind::Word) {
        total.err += "sh: 1: Syntax error: newline unexpected\n";
        total.status = 2;
        return total;
      }
      redirect_path = tokens[i++].text;
    }
    bool run = pending == Token::Kind::Semi || (pending == Token::Kind::And && last_status == 0) ||
               (pending == Token::Kind::Or && last_status != 0);
    if (run && (!argv.empty() || redirect)) {
      CmdOutput o = run_argv(argv);
      if (redirect) {
        CmdOutput w = write_file(redirect_path, o.out, redirect_append);
        o.out.clear();
        if (w.status != 0) {
          o.err += w.err;
          o.status = w.status;
        }
      }
      total.out += o.out;
      total.err += o.err;
      last_status = o.status;
    }
    if (i < tokens.size()) {
      if (tokens[i].kind == Token::Kind::Pipe) {
        total.err += "sh: 1: vnet: pipelines are not supported\n";
        total.status = 2;
        return total;
      }
      pending = tokens[i].kind;
      ++i;
    }
  }
  total.status = last_status;
  return total;
}

}  // namespace vnet::cmd
