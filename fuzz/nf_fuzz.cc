// libFuzzer target for the netfilter layer (vnet_nf only): the input's lines become iptables and
// conntrack command lines run against one Netfilter, and the raw input is also fed as an IPv4
// datagram through PREROUTING/POSTROUTING and OUTPUT/INPUT, before and after the commands.
//
// Properties: no crash, no out-of-bounds read (ASan/UBSan), and a datagram that the hooks
// accept and that was a valid IPv4 datagram stays one of the same length.  Run:
//   nf_fuzz -max_total_time=60 fuzz/corpus/nf
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nf/netfilter.h"
#include "wire/ipv4.h"

namespace {

using vnet::net::Ipv4Addr;
using vnet::nf::CmdResult;
using vnet::nf::Iface;
using vnet::nf::Netfilter;
using vnet::nf::PacketCt;
using vnet::nf::Verdict;

void require(bool condition) {
  if (!condition) __builtin_trap();
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> argv;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t sp = line.find(' ', pos);
    if (sp == std::string::npos) sp = line.size();
    if (sp > pos) argv.push_back(line.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return argv;
}

void run_packet(Netfilter& nf, const uint8_t* data, size_t size, uint64_t now_ns) {
  const Iface eth0{1, "eth0"};
  const Iface eth1{2, "eth1"};
  vnet::nf::MasqueradeSource masq = [](int ifindex, Ipv4Addr) -> std::optional<Ipv4Addr> {
    if (ifindex == 2) return Ipv4Addr::from_octets(203, 0, 113, 1);
    return std::nullopt;
  };
  for (int path = 0; path < 2; ++path) {
    std::vector<std::byte> packet(size);
    for (size_t i = 0; i < size; ++i) packet[i] = std::byte{data[i]};
    const bool valid = !vnet::wire::Ipv4ConstView(packet).check().has_value();
    PacketCt ct;
    Verdict v = path == 0 ? nf.pre_routing(packet, eth0, now_ns, ct, nullptr)
                          : nf.local_out(packet, eth1, now_ns, ct, nullptr);
    if (v == Verdict::Accept) {
      vnet::nf::HookTrace trace;
      v = path == 0 ? nf.post_routing(packet, eth1, Ipv4Addr(), masq, now_ns, ct, &trace)
                    : nf.local_in(packet, eth0, now_ns, ct, &trace);
    }
    require(packet.size() == size);
    if (valid) require(!vnet::wire::Ipv4ConstView(packet).check().has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Netfilter nf;
  nf.config().max = 4;
  uint64_t now_ns = 0;
  run_packet(nf, data, size, now_ns);
  std::string text(reinterpret_cast<const char*>(data), size);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::vector<std::string> argv = words(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (argv.empty()) continue;
    CmdResult r;
    if (argv[0] == "conntrack") {
      r = vnet::nf::run_conntrack(nf, argv, now_ns);
    } else {
      argv[0] = "iptables";
      r = vnet::nf::run_iptables(nf, argv, now_ns);
    }
    require(r.status >= 0 && r.status <= 4);
    now_ns += 1'000'000'000ull;
  }
  run_packet(nf, data, size, now_ns);
  nf.count(now_ns + 700'000'000'000ull);
  return 0;
}
