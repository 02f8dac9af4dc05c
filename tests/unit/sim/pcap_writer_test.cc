#include "sim/pcap_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../wire/wire_test_util.h"
#include "test_elements.h"

namespace vnet::sim {
namespace {

using test::Bytes;
using wire::test::hex;

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out;
  for (char c : chars) out.push_back(std::byte(static_cast<unsigned char>(c)));
  return out;
}

std::filesystem::path temp_dir() {
  std::string name = "vnet_pcap_writer_test_";
  name += std::to_string(::getpid());
  return std::filesystem::temp_directory_path() / name;
}

std::filesystem::path temp_path(const std::string& name) {
  std::filesystem::create_directories(temp_dir());
  return temp_dir() / name;
}

// Removes the test's files when the test ends.
class PcapWriterFiles : public ::testing::Test {
 protected:
  ~PcapWriterFiles() override { std::filesystem::remove_all(temp_dir()); }
};

TEST(PcapWriter, FileHeaderBytes) {
  Bytes header;
  PcapWriter::append_file_header(&header);
  // magic a1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen 65535, LINKTYPE_ETHERNET, all
  // little-endian.
  EXPECT_EQ(header, hex("d4 c3 b2 a1  02 00  04 00  00 00 00 00  00 00 00 00"
                        "ff ff 00 00  01 00 00 00"));
}

TEST(PcapWriter, RecordBytes) {
  Bytes record;
  Bytes frame = hex("ff ff ff ff ff ff 02 00 00 00 00 01 88 b5 de ad");
  // 1 s + 2345678 ns: ts_sec 1, ts_usec 2345 (the 678 ns are cut).
  PcapWriter::append_record(&record, 1'002'345'678, frame);
  EXPECT_EQ(record, hex("01 00 00 00  29 09 00 00  10 00 00 00  10 00 00 00"
                        "ff ff ff ff ff ff 02 00 00 00 00 01 88 b5 de ad"));
}

TEST(PcapWriter, CutsFramesToSnapLen) {
  Bytes record;
  Bytes frame(70000, std::byte{0x5a});
  PcapWriter::append_record(&record, 0, frame);
  ASSERT_EQ(record.size(), 16u + 65535u);
  EXPECT_EQ(Bytes(record.begin() + 8, record.begin() + 16), hex("ff ff 00 00  70 11 01 00"));
}

// Writes three frames, re-reads the file, checks the header and every record byte for byte.
TEST_F(PcapWriterFiles, WritesAFileThatReadsBack) {
  auto path = temp_path("three.pcap");
  Bytes first = test::data_frame(test::mac(2), test::mac(1), 1, 46);
  Bytes second = test::arp_request(1, 2);
  Bytes third = test::data_frame(net::MacAddr::broadcast(), test::mac(3), 0xdeadbeef, 100);
  {
    PcapWriter writer(path.string());
    ASSERT_EQ(writer.open(), std::nullopt);
    writer.write(0, first);
    writer.write(1'500, second);                 // 1.5 us -> ts_usec 1
    writer.write(4'000'000'000'000'999, third);  // 4e6 s: ts_sec 4000000, ts_usec 0
    EXPECT_EQ(writer.flush(), std::nullopt);
    EXPECT_EQ(writer.records(), 3u);
  }
  Bytes file = read_file(path);
  ASSERT_EQ(file.size(), 24u + 3 * 16 + 60 + 60 + 114);
  Bytes expected;
  PcapWriter::append_file_header(&expected);
  auto record = [&expected](std::string_view header, const Bytes& frame) {
    Bytes h = hex(header);
    expected.insert(expected.end(), h.begin(), h.end());
    expected.insert(expected.end(), frame.begin(), frame.end());
  };
  record("00 00 00 00  00 00 00 00  3c 00 00 00  3c 00 00 00", first);
  record("00 00 00 00  01 00 00 00  3c 00 00 00  3c 00 00 00", second);
  record("00 09 3d 00  00 00 00 00  72 00 00 00  72 00 00 00", third);
  EXPECT_EQ(file, expected);
}

TEST_F(PcapWriterFiles, DestructorFlushes) {
  auto path = temp_path("destructor.pcap");
  {
    PcapWriter writer(path.string());
    ASSERT_EQ(writer.open(), std::nullopt);
    writer.write(0, test::arp_request(1, 2));
    EXPECT_EQ(read_file(path).size(), 24u);  // still buffered
  }
  EXPECT_EQ(read_file(path).size(), 24u + 16 + 60);
}

TEST_F(PcapWriterFiles, AppendsWhenTheBufferIsLarge) {
  auto path = temp_path("large.pcap");
  PcapWriter writer(path.string());
  ASSERT_EQ(writer.open(), std::nullopt);
  Bytes frame = test::data_frame(test::mac(2), test::mac(1), 0, 1000);  // 1030 bytes a record
  for (int i = 0; i < 64; ++i) writer.write(0, frame);
  EXPECT_EQ(read_file(path).size(), 24u + 64 * 1030);  // 65920 bytes passed the threshold
  EXPECT_EQ(writer.flush(), std::nullopt);
}

TEST(PcapWriter, ReportsFilesItCannotCreate) {
  PcapWriter writer("/nonexistent-vnet-directory/x.pcap");
  EXPECT_EQ(writer.open(), SimError::PcapOpen);
  writer.write(0, test::arp_request(1, 2));
  EXPECT_EQ(writer.flush(), SimError::PcapWrite);
}

}  // namespace
}  // namespace vnet::sim
