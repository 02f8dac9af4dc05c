// PcapWriter: one classic libpcap capture file (what tcpdump -w writes), for one simulated port.
//
// Format (https://www.tcpdump.org/manpages/pcap-savefile.5.html), written little-endian whatever
// the host, so that the same run gives the same bytes everywhere; readers detect the byte order
// from the magic number:
//   file header, 24 bytes: magic 0xa1b2c3d4 (microsecond timestamps), version 2.4, thiszone 0,
//     sigfigs 0, snaplen 65535, network 1 (LINKTYPE_ETHERNET);
//   per frame, 16 bytes then the frame: ts_sec, ts_usec, incl_len (the frame cut to snaplen),
//     orig_len.
// Timestamps are virtual time: t_ns = 1'500'000'123'456 gives ts_sec 1500, ts_usec 123 (the
// nanoseconds below a microsecond are cut).  ts_sec is 32 bits: 136 years of virtual time.
//
// Records are buffered in memory and appended to the file (opened, written, closed) when the
// buffer passes 64 KiB and on flush(), so a simulation with thousands of captured ports does not
// hold thousands of open files.
//
// Example: PcapWriter w("/tmp/h1-eth0.pcap"); w.open(); w.write(now_ns, frame); w.flush();
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sim/sim_error.h"

namespace vnet::sim {

class PcapWriter {
 public:
  static constexpr uint32_t kMagicMicroseconds = 0xa1b2c3d4;
  static constexpr uint16_t kVersionMajor = 2;
  static constexpr uint16_t kVersionMinor = 4;
  static constexpr uint32_t kSnapLenBytes = 65535;
  static constexpr uint32_t kLinkTypeEthernet = 1;
  static constexpr size_t kFileHeaderLenBytes = 24;
  static constexpr size_t kRecordHeaderLenBytes = 16;
  static constexpr size_t kFlushThresholdBytes = size_t{64} * 1024;

  explicit PcapWriter(std::string path) : path_(std::move(path)) {}
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;
  ~PcapWriter();  // flushes; errors are lost, call flush() first to see them

  // Creates (or truncates) the file and writes the file header.
  [[nodiscard]] std::optional<SimError> open();
  // Buffers one record; appends the buffer to the file when it is large.
  void write(uint64_t time_ns, std::span<const std::byte> frame);
  // Appends buffered records to the file.  PcapWrite if this or any earlier append failed.
  [[nodiscard]] std::optional<SimError> flush();

  const std::string& path() const { return path_; }
  uint64_t records() const { return records_; }

  // The encodings, appended to `out`.
  static void append_file_header(std::vector<std::byte>* out);
  static void append_record(std::vector<std::byte>* out, uint64_t time_ns,
                            std::span<const std::byte> frame);

 private:
  std::string path_;
  std::vector<std::byte> buffer_;
  uint64_t records_ = 0;
  bool opened_ = false;
  bool failed_ = false;
};

}  // namespace vnet::sim
