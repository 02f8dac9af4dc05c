#include "cmd/json_writer.h"

namespace vnet::cmd {

namespace {

void escape(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        // jsonw_puts() copies other control characters as they are.
        out += c;
    }
  }
  out += '"';
}

void indent(std::string& out, int depth) {
  out.append(static_cast<size_t>(depth) * 4, ' ');
}

}  // namespace

// iproute2's pretty json_writer layout: arrays print inline ("[ a,b ]", "[ ]"); object members
// go one per line, indented four spaces per nesting level (arrays count as a level), and the
// closing brace returns to the object's own level ("[ {\n        \"a\": 1\n    } ]").
void Json::write(std::string& out, bool pretty, int depth) const {
  switch (kind_) {
    case Kind::Null:
      out += "null";
      return;
    case Kind::Bool:
      out += int_ ? "true" : "false";
      return;
    case Kind::Int:
      out += std::to_string(int_);
      return;
    case Kind::String:
      escape(out, str_);
      return;
    case Kind::Array: {
      out += pretty ? "[ " : "[";
      bool first = true;
      for (const auto& member : members_) {
        if (!first) out += ',';
        first = false;
        member.second.write(out, pretty, depth + 1);
      }
      if (pretty && !members_.empty()) out += ' ';
      out += ']';
      return;
    }
    case Kind::Object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : members_) {
        if (!first) out += ',';
        first = false;
        if (pretty) {
          out += '\n';
          indent(out, depth + 1);
        }
        escape(out, key);
        out += pretty ? ": " : ":";
        value.write(out, pretty, depth + 1);
      }
      if (pretty && !members_.empty()) {
        out += '\n';
        indent(out, depth);
      }
      out += '}';
      return;
    }
  }
}

std::string Json::dump(bool pretty) const {
  std::string out;
  write(out, pretty, 0);
  return out;
}

}  // namespace vnet::cmd
