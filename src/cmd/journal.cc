// The configuration journal (journal.h).
#include "cmd/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cmd/ip_common.h"
#include "cmd/shell.h"

namespace vnet::cmd {

namespace {

constexpr const char* kMagic = "vnet-journal 1";
using ip_detail::matches;

bool any_of(const std::string& word, std::initializer_list<const char*> keywords) {
  for (const char* k : keywords) {
    if (matches(word, k)) return true;
  }
  return false;
}

bool in(const std::string& word, std::initializer_list<const char*> words) {
  for (const char* w : words) {
    if (word == w) return true;
  }
  return false;
}

bool configuration_path(const std::string& path) {
  return path.rfind("/proc/sys/", 0) == 0 || path.rfind("/etc/", 0) == 0;
}

std::string basename(const std::string& cmd) {
  size_t slash = cmd.rfind('/');
  return slash == std::string::npos ? cmd : cmd.substr(slash + 1);
}

// `ip [OPTIONS] OBJECT [COMMAND ...]`: a change unless the command lists, gets or monitors.
bool ip_changes(const std::vector<std::string>& argv) {
  size_t i = 1;
  while (i < argv.size() && !argv[i].empty() && argv[i][0] == '-') {
    if (matches(argv[i], "-batch") || argv[i] == "-b") return true;
    // Options with a value.
    if (in(argv[i], {"-n", "-netns", "-f", "-family", "-l", "-loops", "-rc", "-rcvbuf"})) ++i;
    ++i;
  }
  if (i >= argv.size()) return false;
  const std::string& object = argv[i];
  if (object == "help" || matches(object, "monitor")) return false;
  if (i + 1 >= argv.size()) return false;  // OBJECT alone: show
  const std::string& command = argv[i + 1];
  return any_of(command,
                {"add", "delete", "change", "replace", "append", "prepend", "set", "flush"}) ||
         command == "del" || command == "chg";
}

bool simple_command_changes(const std::vector<std::string>& argv) {
  if (argv.empty()) return false;
  const std::string cmd = basename(argv[0]);
  auto has = [&](std::initializer_list<const char*> words) {
    for (size_t i = 1; i < argv.size(); ++i) {
      if (in(argv[i], words)) return true;
    }
    return false;
  };
  if (cmd == "ip") return ip_changes(argv);
  if (cmd == "route") return argv.size() > 1 && (argv[1] == "add" || argv[1] == "del");
  if (cmd == "iptables") {
    return has({"-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "--replace", "-N",
                "--new-chain", "-X", "--delete-chain", "-F", "--flush", "-P", "--policy", "-E",
                "--rename-chain"});
  }
  if (cmd == "iptables-restore" || cmd == "ipvsadm-restore") return true;
  if (cmd == "ipvsadm") {
    return has({"-A", "--add-service", "-E", "--edit-service", "-D", "--delete-service", "-C",
                "--clear", "-a", "--add-server", "-e", "--edit-server", "-d", "--delete-server",
                "-R", "--restore", "--set"});
  }
  if (cmd == "sysctl") {
    for (size_t i = 1; i < argv.size(); ++i) {
      if (argv[i] == "-w" || argv[i] == "-p" || argv[i] == "--system" ||
          (argv[i][0] != '-' && argv[i].find('=') != std::string::npos)) {
        return true;
      }
      if (argv[i].size() > 1 && argv[i][0] == '-' && argv[i][1] != '-' &&
          argv[i].find_first_of("wp") != std::string::npos) {
        return true;  // -qw, -wq, -qp
      }
    }
    return false;
  }
  if (cmd == "bridge") {
    return argv.size() > 2 &&
           any_of(argv[2], {"add", "delete", "append", "replace", "change", "set", "flush"});
  }
  if (cmd == "vpc") {
    if (has({"--etcd"})) return false;
    return has({"add", "del", "delete", "set", "replace", "change", "flush", "migrate"});
  }
  if (cmd == "modprobe") return !has({"-r", "--remove", "-n", "--dry-run"});
  if (cmd == "hostname") return argv.size() == 2 && argv[1][0] != '-';
  if (cmd == "hostnamectl") return has({"set-hostname", "hostname"});
  if (in(cmd, {"yum", "dnf", "apt-get", "apt"})) {
    return has({"install", "remove", "erase", "purge", "reinstall"});
  }
  if (in(cmd, {"tee", "touch", "truncate", "rm", "mkdir"})) {
    for (size_t i = 1; i < argv.size(); ++i) {
      if (configuration_path(argv[i])) return true;
    }
  }
  return false;
}

uint32_t crc_of(const std::string& text) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

bool read_file(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str();
  return true;
}

}  // namespace

bool changes_configuration(const std::string& line) {
  std::vector<Token> tokens;
  std::string error;
  if (!tokenize(line, &tokens, &error)) return false;
  std::vector<std::string> argv;
  bool changes = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    switch (t.kind) {
      case Token::Kind::Word:
        argv.push_back(t.text);
        break;
      case Token::Kind::RedirectOut:
      case Token::Kind::RedirectAppend:
        if (i + 1 < tokens.size() && configuration_path(tokens[i + 1].text)) changes = true;
        ++i;  // the target is not an argument
        break;
      case Token::Kind::RedirectErr:
      case Token::Kind::RedirectErrAppend:
      case Token::Kind::RedirectIn:
        ++i;
        break;
      case Token::Kind::ErrToOut:
        break;
      case Token::Kind::And:
      case Token::Kind::Or:
      case Token::Kind::Semi:
      case Token::Kind::Pipe:
      case Token::Kind::Background:
        changes = changes || simple_command_changes(argv);
        argv.clear();
        break;
    }
  }
  return changes || simple_command_changes(argv);
}

std::string ConfigJournal::serialize(const std::vector<std::string>& lines) {
  std::string body = std::string(kMagic) + "\n";
  for (const std::string& l : lines) body += nlohmann::json(l).dump() + "\n";
  return body + fmt::format("end {} {:08x}\n", lines.size(), crc_of(body));
}

bool ConfigJournal::parse(const std::string& text, std::vector<std::string>* lines,
                          std::string* why) {
  lines->clear();
  if (text.rfind(std::string(kMagic) + "\n", 0) != 0) {
    *why = "not a vnet journal (no \"" + std::string(kMagic) + "\" line)";
    return false;
  }
  size_t end = text.rfind("\nend ");
  if (end == std::string::npos || text.back() != '\n') {
    *why = "no end line (cut short)";
    return false;
  }
  const std::string body = text.substr(0, end + 1);
  const std::string tail = text.substr(end + 1);
  std::vector<std::string> parsed;
  std::istringstream in(body);
  std::string line;
  std::getline(in, line);  // the magic line
  while (std::getline(in, line)) {
    try {
      parsed.push_back(nlohmann::json::parse(line).get<std::string>());
    } catch (const std::exception& e) {
      *why = fmt::format("line {}: {}", parsed.size() + 2, e.what());
      return false;
    }
  }
  // The end line must be exactly what serialize() writes for these lines.
  const std::string expected = fmt::format("end {} {:08x}\n", parsed.size(), crc_of(body));
  if (tail != expected) {
    std::string count = tail.substr(4, tail.find(' ', 4) - 4);
    *why = count != std::to_string(parsed.size())
               ? fmt::format("{} lines, end line says {}", parsed.size(), count)
               : fmt::format("CRC {:08x}, end line says {} (altered or cut)", crc_of(body),
                             tail.substr(4 + count.size() + 1, 8));
    return false;
  }
  *lines = std::move(parsed);
  return true;
}

ConfigJournal::Loaded ConfigJournal::load() {
  Loaded out;
  current_damaged_ = false;
  for (const std::string& path : {path_, path_ + ".prev"}) {
    std::string text;
    if (!read_file(path, &text)) continue;
    std::string why;
    if (parse(text, &out.lines, &why)) {
      out.source = path;
      break;
    }
    if (path == path_) current_damaged_ = true;
    out.problems.push_back(path + ": " + why);
  }
  lines_ = out.lines;
  return out;
}

std::string ConfigJournal::append(const std::string& line) {
  lines_.push_back(line);
  const std::string text = serialize(lines_);
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return tmp + ": " + std::strerror(errno);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string e = tmp + ": " + std::strerror(errno);
      ::close(fd);
      return e;
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    std::string e = tmp + ": fsync: " + std::strerror(errno);
    ::close(fd);
    return e;
  }
  ::close(fd);
  // The good file becomes the fallback, then the new one takes its place.  Between the two
  // renames load() finds only FILE.prev: the state before this line.
  // A damaged FILE is dropped instead, so that FILE.prev stays the last good copy.
  if (current_damaged_) {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) return path_ + ": " + std::strerror(errno);
    current_damaged_ = false;
  } else if (::rename(path_.c_str(), (path_ + ".prev").c_str()) != 0 && errno != ENOENT) {
    return path_ + ": " + std::strerror(errno);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return path_ + ": " + std::strerror(errno);
  // The renames are durable once the directory is on disk.
  std::string dir = path_.substr(0, path_.rfind('/') == std::string::npos ? 0 : path_.rfind('/'));
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace vnet::cmd
