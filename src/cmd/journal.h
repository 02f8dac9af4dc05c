// ConfigJournal: the command lines that made a vnetd node's configuration, kept on disk so that
// a restarted vnetd (after kill -9, a crash, a reboot) rebuilds the same node by itself.
//
// Which lines: changes_configuration() says whether a line changes configuration: `ip`
// objects with add/del/change/replace/append/prepend/set/flush (iproute2's abbreviations
// included) or `-batch`, `route add|del`, `iptables` rule and chain changes, `ipvsadm` table
// changes, `sysctl -w`/`KEY=VALUE`/`-p`, `bridge fdb|link` changes, `vpc` changes (not `vpc
// --etcd`: that state lives in etcd), `modprobe`, `hostname NAME`, `hostnamectl set-hostname`,
// package installs, and a write (`>`, `>>`, tee, touch, truncate, rm, mkdir) under /proc/sys or
// /etc.  Probes, listings and runtime state (conntrack entries, neighbours learned by ARP) are
// not kept.  vnetd keeps a line when it changes configuration and succeeded: a failed command
// changes nothing.
//
// On disk: "vnet-journal 1", then each line as a JSON string, then "end N CRC" (N lines, the
// zlib CRC-32 of everything before the end line).  Every append rewrites the file whole:
// FILE.tmp, fsync, the current FILE renamed to FILE.prev, FILE.tmp renamed to FILE, the
// directory fsynced.  A file
// that is cut short or altered fails its count or CRC; load() then takes FILE.prev, so a write
// killed halfway loses at most the line being added.
//
// Example:
//   ConfigJournal j("/run/vnet/labs/lab/r.journal");
//   for (auto& line : j.load().lines) shell.run(line);
//   if (changes_configuration(line) && shell.run(line).status == 0) j.append(line);
#pragma once

#include <string>
#include <vector>

namespace vnet::cmd {

bool changes_configuration(const std::string& line);

class ConfigJournal {
 public:
  explicit ConfigJournal(std::string path) : path_(std::move(path)) {}

  struct Loaded {
    std::vector<std::string> lines;
    std::string source;                 // the file read ("" when neither existed)
    std::vector<std::string> problems;  // files refused and why, e.g. "FILE: 3 lines, end says 4"
  };
  // Reads FILE, or FILE.prev when FILE is missing or damaged; the lines become the journal's.
  Loaded load();
  // Adds a line and writes the journal; "" or why the write failed (the line is kept in memory
  // and written with the next append).
  std::string append(const std::string& line);
  const std::vector<std::string>& lines() const { return lines_; }
  const std::string& path() const { return path_; }

  // The file's text for `lines` (exposed for tests that damage it).
  static std::string serialize(const std::vector<std::string>& lines);
  // Parses a journal's text; false with *why on a damaged one.
  static bool parse(const std::string& text, std::vector<std::string>* lines, std::string* why);

 private:
  std::string path_;
  std::vector<std::string> lines_;
  // load() refused FILE and took FILE.prev: the next append must not rotate the damaged FILE
  // into FILE.prev (the only good copy); it removes it instead.
  bool current_damaged_ = false;
};

}  // namespace vnet::cmd
