// Software TCP segmentation (wire::resolve_offloads) of one 64 KiB TSO super-frame, against a
// plain memcpy of the same bytes as the peer: the memcpy is the least any receive path that
// copies the frame out of the ring must pay, so the ratio says what segmenting and
// checksumming cost on top.
//
// Data (built once, not timed): Ethernet + IPv4 (20) + TCP (24, MSS option) + 65491 payload bytes
// = 65549 bytes, the largest TCPv4 frame a 16-bit total length allows, with the pseudo-header sum
// in the checksum field and a virtio_net_hdr {NEEDS_CSUM, TCPV4, gso_size 1448}: 46 segments.
//
// Benchmarks (bytes_per_second counts the super-frame's bytes):
//   gso/tcpv4_64k   resolve_offloads() into a vector cleared every iteration (segment buffers
//                   are allocated and freed each time, as PacketPort::receive does).
//   gso/checksum_64k  ones_complement_sum() over the frame once: the checksum share of the work
//                   (segmentation sums every payload byte once, plus 46 headers).
//   gso/memcpy_64k  memcpy of the frame into a preallocated buffer (the peer).
// At the end the program prints memcpy bytes/s / segmentation bytes/s.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "wire/checksum.h"
#include "wire/endian.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/offload.h"
#include "wire/tcp.h"

namespace {

using vnet::wire::VirtioNetHdr;
namespace wire = vnet::wire;
namespace net = vnet::net;

constexpr uint16_t kGsoSize = 1448;

struct SuperFrame {
  std::vector<std::byte> bytes;
  VirtioNetHdr hdr;
};

const SuperFrame& super_frame() {
  static const SuperFrame frame = [] {
    const auto source = net::Ipv4Addr::from_octets(192, 0, 2, 1);
    const auto destination = net::Ipv4Addr::from_octets(198, 51, 100, 2);
    wire::EthernetRepr eth{.destination = net::MacAddr(2, 0, 0, 0, 0, 2),
                           .source = net::MacAddr(2, 0, 0, 0, 0, 1)};
    wire::TcpRepr tcp{.source_port = 49153,
                      .destination_port = 5201,
                      .sequence_number = 1,
                      .acknowledgment_number = 1,
                      .flags = wire::kTcpAck | wire::kTcpPsh,
                      .window = 502,
                      .max_segment_size = 1460};
    tcp.payload_len = static_cast<uint16_t>(0xffff - 20 - tcp.header_len());
    wire::Ipv4Repr ip{.source = source,
                      .destination = destination,
                      .protocol = wire::IpProtocol::Tcp,
                      .payload_len = static_cast<uint16_t>(tcp.buffer_len()),
                      .dont_fragment = true};
    SuperFrame built;
    size_t l4 = eth.buffer_len() + ip.buffer_len();
    built.bytes.resize(l4 + tcp.buffer_len());
    std::span<std::byte> bytes(built.bytes);
    for (size_t i = l4 + tcp.header_len(); i < bytes.size(); ++i) {
      bytes[i] = std::byte{static_cast<uint8_t>(i)};
    }
    if (eth.emit(bytes) || ip.emit(bytes.subspan(eth.buffer_len())) ||
        tcp.emit(bytes.subspan(l4), source, destination)) {
      std::abort();
    }
    wire::store_be16(bytes, l4 + wire::tcp_field::kChecksum,
                     wire::pseudo_header_sum(source, destination, wire::IpProtocol::Tcp,
                                             static_cast<uint16_t>(tcp.buffer_len())));
    built.hdr = VirtioNetHdr{.flags = VirtioNetHdr::kNeedsCsum,
                             .gso_type = VirtioNetHdr::kGsoTcpv4,
                             .hdr_len = static_cast<uint16_t>(l4 + tcp.header_len()),
                             .gso_size = kGsoSize,
                             .csum_start = static_cast<uint16_t>(l4),
                             .csum_offset = wire::tcp_field::kChecksum};
    return built;
  }();
  return frame;
}

void set_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * super_frame().bytes.size()));
}

void segment_benchmark(benchmark::State& state) {
  const SuperFrame& frame = super_frame();
  std::vector<std::vector<std::byte>> out;
  std::string error;
  size_t segments = 0;
  for (auto _ : state) {
    out.clear();
    if (!vnet::wire::resolve_offloads(frame.bytes, frame.hdr, &out, &error)) {
      state.SkipWithError(error.c_str());
      break;
    }
    segments = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  set_bytes(state);
  state.counters["segments"] = static_cast<double>(segments);
}

void checksum_benchmark(benchmark::State& state) {
  const SuperFrame& frame = super_frame();
  for (auto _ : state) {
    uint16_t sum = wire::ones_complement_sum(frame.bytes);
    benchmark::DoNotOptimize(sum);
  }
  set_bytes(state);
}

void memcpy_benchmark(benchmark::State& state) {
  const SuperFrame& frame = super_frame();
  std::vector<std::byte> copy(frame.bytes.size());
  for (auto _ : state) {
    std::memcpy(copy.data(), frame.bytes.data(), frame.bytes.size());
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  set_bytes(state);
}

BENCHMARK(segment_benchmark)->Name("gso/tcpv4_64k")->Unit(benchmark::kMicrosecond);
BENCHMARK(checksum_benchmark)->Name("gso/checksum_64k")->Unit(benchmark::kMicrosecond);
BENCHMARK(memcpy_benchmark)->Name("gso/memcpy_64k")->Unit(benchmark::kMicrosecond);

// Console output as usual, plus the memcpy/segmentation ratio at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      auto it = run.counters.find("bytes_per_second");
      if (run.run_type == Run::RT_Iteration && it != run.counters.end()) {
        bytes_per_second_[run.run_name.function_name] = it->second.value;
      }
    }
  }

  void print_ratio() {
    auto gso = bytes_per_second_.find("gso/tcpv4_64k");
    auto copy = bytes_per_second_.find("gso/memcpy_64k");
    if (gso == bytes_per_second_.end() || copy == bytes_per_second_.end()) return;
    std::printf("gso/tcpv4_64k: %.3g GB/s, memcpy %.3g GB/s, memcpy/segmentation %.1fx\n",
                gso->second / 1e9, copy->second / 1e9, copy->second / gso->second);
  }

 private:
  std::map<std::string, double> bytes_per_second_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  super_frame();
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_ratio();
  benchmark::Shutdown();
  return 0;
}
