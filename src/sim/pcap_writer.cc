#include "sim/pcap_writer.h"

#include <algorithm>
#include <cstdio>

namespace vnet::sim {
namespace {

void append_le16(std::vector<std::byte>* out, uint16_t value) {
  out->push_back(std::byte(value & 0xff));
  out->push_back(std::byte(value >> 8));
}

void append_le32(std::vector<std::byte>* out, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) out->push_back(std::byte((value >> shift) & 0xff));
}

bool write_file(const std::string& path, const char* mode, std::span<const std::byte> bytes) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  ok = std::fclose(file) == 0 && ok;
  return ok;
}

}  // namespace

PcapWriter::~PcapWriter() {
  if (opened_) (void)flush();
}

std::optional<SimError> PcapWriter::open() {
  std::vector<std::byte> header;
  append_file_header(&header);
  if (!write_file(path_, "wb", header)) return SimError::PcapOpen;
  opened_ = true;
  return std::nullopt;
}

void PcapWriter::write(uint64_t time_ns, std::span<const std::byte> frame) {
  append_record(&buffer_, time_ns, frame);
  ++records_;
  if (buffer_.size() >= kFlushThresholdBytes) (void)flush();
}

std::optional<SimError> PcapWriter::flush() {
  if (!buffer_.empty()) {
    if (!opened_ || !write_file(path_, "ab", buffer_)) failed_ = true;
    buffer_.clear();
  }
  if (failed_) return SimError::PcapWrite;
  return std::nullopt;
}

void PcapWriter::append_file_header(std::vector<std::byte>* out) {
  append_le32(out, kMagicMicroseconds);
  append_le16(out, kVersionMajor);
  append_le16(out, kVersionMinor);
  append_le32(out, 0);  // thiszone: timestamps are UTC
  append_le32(out, 0);  // sigfigs: always 0
  append_le32(out, kSnapLenBytes);
  append_le32(out, kLinkTypeEthernet);
}

void PcapWriter::append_record(std::vector<std::byte>* out, uint64_t time_ns,
                               std::span<const std::byte> frame) {
  auto captured = static_cast<uint32_t>(std::min<size_t>(frame.size(), kSnapLenBytes));
  append_le32(out, static_cast<uint32_t>(time_ns / 1'000'000'000));
  append_le32(out, static_cast<uint32_t>(time_ns % 1'000'000'000 / 1000));
  append_le32(out, captured);
  append_le32(out, static_cast<uint32_t>(frame.size()));
  out->insert(out->end(), frame.begin(), frame.begin() + captured);
}

}  // namespace vnet::sim
