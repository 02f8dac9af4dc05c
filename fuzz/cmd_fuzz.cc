// libFuzzer target for the command layer: every input line goes through the shell subset and
// the ip/route/sysctl parsers into one node, so parsing, validation and the FIB updates they
// cause are all exercised.  A crash, a sanitizer report or an exception escaping is a bug; any
// error the tools print is fine.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cmd/shell.h"
#include "stack/node.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  vnet::stack::Node node;
  vnet::cmd::Shell shell(node);
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t start = 0;
  int lines = 0;
  while (start <= text.size() && lines < 64) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    shell.run(text.substr(start, end - start));
    start = end + 1;
    ++lines;
  }
  // Route lookups over whatever state the commands built.
  shell.run("ip route get 192.0.2.1");
  shell.run("ip -j route show table all");
  return 0;
}
