// libFuzzer target for ipvsadm: each input line is one command line (split on blanks) run on
// one IPVS table, the last line's remainder given as -R's standard input.  A crash, a sanitizer
// report or an escaping exception is a bug; whatever ipvsadm prints is fine.  Every line also
// schedules a connection on each service, so the schedulers run over whatever was configured.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "lb/ipvsadm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  vnet::lb::IpvsTable table;
  uint32_t seed = 1;
  vnet::lb::SchedulerConfig config;
  config.random = [&seed](uint32_t bound) {
    seed = seed * 1103515245 + 12345;
    return bound == 0 ? 0 : seed % bound;
  };
  table.set_scheduler_config(config);
  std::istringstream in(text);
  std::string line;
  int lines = 0;
  while (std::getline(in, line) && lines++ < 64) {
    std::istringstream words(line);
    std::vector<std::string> argv = {"ipvsadm"};
    std::string w;
    while (words >> w) argv.push_back(w);
    vnet::lb::run_ipvsadm(table, argv, text);
    uint32_t n = 0;
    for (const auto& s : table.services()) {
      vnet::lb::SchedPacket p;
      p.saddr = vnet::net::Ipv4Addr(0xc0000201 + n++);
      p.daddr = s->config.key.addr;
      p.sport = static_cast<uint16_t>(40000 + n);
      p.now_ns = static_cast<uint64_t>(lines) * 1'000'000'000;
      if (vnet::lb::Dest* d = s->scheduler->schedule(s->dests, p)) ++d->activeconns;
    }
  }
  vnet::lb::ipvsadm_save(table, true);
  return 0;
}
