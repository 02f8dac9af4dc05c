// `agent status [-j]`: the node's control-plane agent (ctrl/agent.h) and what its applier waits
// on; `agent log`: its recent log lines.  Exit status 1 when the node runs no agent.
#include <fmt/format.h>

#include "cmd/control_plane.h"
#include "cmd/json_writer.h"
#include "ctrl/agent.h"
#include "ctrl/vpc_applier.h"

namespace vnet::cmd {

namespace {

std::string ago(bool ever, uint64_t now_ms, uint64_t then_ms) {
  if (!ever) return "never";
  uint64_t d = now_ms > then_ms ? now_ms - then_ms : 0;
  return fmt::format("{:.1f}s ago", static_cast<double>(d) / 1000.0);
}

}  // namespace

CmdOutput run_agent(const ControlPlane* cp, const Args& argv) {
  CmdOutput o;
  bool json = false, pretty = false;
  size_t i = 1;
  for (; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
    if (argv[i] == "-j" || argv[i] == "-json") {
      json = true;
    } else if (argv[i] == "-p" || argv[i] == "-pretty") {
      pretty = true;
    } else {
      return {"", fmt::format("Option \"{}\" is unknown, try \"agent help\".\n", argv[i]), 255};
    }
  }
  std::string verb = i < argv.size() ? argv[i] : "status";
  if (verb == "help") return {"Usage: agent [ -j ] [ -p ] status\n       agent log\n", "", 0};
  if (verb != "status" && verb != "show" && verb != "log") {
    return {"", fmt::format("Command \"{}\" is unknown, try \"agent help\".\n", verb), 255};
  }
  if (i + 1 < argv.size())
    return {"", fmt::format("Error: \"{}\" is garbage.\n", argv[i + 1]), 255};
  if (cp == nullptr || cp->agent == nullptr) return {"", "agent: this node runs no agent\n", 1};
  if (verb == "log") {
    if (cp->log) {
      for (const std::string& line : cp->log()) o.out += line + "\n";
    }
    return o;
  }
  ctrl::AgentStatus s = cp->agent->status();
  uint64_t now = cp->now_ms ? cp->now_ms() : 0;
  size_t pending = cp->applier ? cp->applier->pending().size() : 0;
  if (json) {
    Json j = Json::object();
    j.set("node", s.node);
    j.set("store", s.store);
    j.set("connected", Json::boolean(s.connected));
    j.set("revision", s.revision);
    j.set("store_revision", s.store_revision);
    j.set("lag", s.lag());
    j.set("last_contact_ms_ago",
          !s.contacted ? -1 : static_cast<int64_t>(now - std::min(now, s.last_contact_ms)));
    j.set("last_change_ms_ago",
          !s.changed ? -1 : static_cast<int64_t>(now - std::min(now, s.last_change_ms)));
    Json prefixes = Json::array();
    for (const std::string& p : s.prefixes) prefixes.push(Json(p));
    j.set("watching", prefixes);
    j.set("keys", static_cast<uint64_t>(s.keys));
    j.set("changes", s.changes);
    j.set("refused", s.refused);
    j.set("resyncs", s.resyncs);
    j.set("reconnects", s.reconnects);
    j.set("compactions", s.compactions);
    Json waiting = Json::array();
    if (cp->applier) {
      for (const auto& [k, p] : cp->applier->pending()) {
        Json w = Json::object();
        w.set("key", k);
        w.set("error", p.error);
        waiting.push(w);
      }
    }
    j.set("pending", waiting);
    if (!s.last_error.empty()) j.set("last_error", s.last_error);
    o.out = j.dump(pretty) + "\n";
    return o;
  }
  o.out = fmt::format("agent {}: {} {}\n", s.node,
                      s.connected ? "connected to" : "disconnected from", s.store);
  o.out += fmt::format("  revision {} store {} lag {}\n", s.revision, s.store_revision, s.lag());
  o.out +=
      fmt::format("  last contact {}, last change {}\n", ago(s.contacted, now, s.last_contact_ms),
                  ago(s.changed, now, s.last_change_ms));
  std::string watching;
  for (const std::string& p : s.prefixes) watching += " " + p;
  o.out += fmt::format("  watching{}\n", watching.empty() ? " nothing" : watching);
  o.out += fmt::format(
      "  keys {} changes {} refused {} pending {} resyncs {} reconnects {} compactions {}\n",
      s.keys, s.changes, s.refused, pending, s.resyncs, s.reconnects, s.compactions);
  if (cp->applier) {
    for (const auto& [k, p] : cp->applier->pending())
      o.out += fmt::format("  waiting {}: {}\n", k, p.error);
  }
  if (!s.last_error.empty()) o.out += fmt::format("  last error: {}\n", s.last_error);
  return o;
}

}  // namespace vnet::cmd
