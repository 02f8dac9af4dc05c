// vnet's curl against the real one: tests/golden/curl/ holds what curl 7.88.1 printed (stdout,
// stderr, exit status) for each command in cases.txt, run by capture.sh in two network
// namespaces against python3's http.server and Debian's Apache httpd.  Here the same commands
// run on a simulated lab with the same addresses and files, and must print the same bytes,
// after masking only what differs from run to run: dates, ETags (they hold mtimes), a heap
// pointer curl prints, and the progress meter's speed columns.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "lab/lab_parser.h"
#include "labrun/lab.h"

namespace vnet::labrun {
namespace {

const std::string kDir = std::string(VNET_SOURCE_DIR) + "/tests/golden/curl/";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string name, command;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name << ": " << c.command;
}

std::vector<Case> load_cases() {
  std::vector<Case> out;
  std::istringstream in(slurp(kDir + "cases.txt"));
  std::string line;
  while (std::getline(in, line)) {
    size_t tab = line.find('\t');
    if (line.empty() || line[0] == '#' || tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

// The meter's record is fixed-width: "%3s %5s  %3s %5s  %3s %5s  %5s  %5s %8s %8s %8s %5s".
// Dload (column 33, width 5) and Current (the last five) are rates measured in real time.
std::string mask_meter(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t e = text.find_first_of("\r\n", pos);
    std::string piece = text.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    static const std::regex record(
        R"(^[ 0-9]{3} [ 0-9.kMG]{5}  [ 0-9]{3} [ 0-9.kMG]{5}  [ 0-9]{3} [ 0-9.kMG]{5}  )"
        R"([ 0-9.kMG]{5}  [ 0-9.kMG]{5} .{8} .{8} .{8} [ 0-9.kMG]{5})");
    if (piece.size() >= 78 && std::regex_search(piece, record)) {
      piece.replace(33, 5, "<spd>");
      piece.replace(73, 5, "<spd>");
    }
    out += piece;
    if (e == std::string::npos) break;
    out += text[e];
    pos = e + 1;
  }
  return out;
}

std::string normalize(std::string text) {
  static const std::regex date(
      R"((Date|Last-Modified): [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)");
  static const std::regex etag(R"(ETag: "[0-9a-f]+-[0-9a-f]+")");
  static const std::regex pointer(R"(0x[0-9a-f]{6,16})");
  text = std::regex_replace(text, date, "$1: <date>");
  text = std::regex_replace(text, etag, "ETag: <etag>");
  text = std::regex_replace(text, pointer, "0x<ptr>");
  // Apache lists the allowed methods in hash-table order, which changes from run to run.
  static const std::regex allow(R"(Allow: [A-Z,]+)");
  text = std::regex_replace(text, allow, "Allow: <methods>");
  return mask_meter(text);
}

const char* kLab = R"(
name: curl-golden
topology:
  nodes:
    cli:
      kind: linux
      exec:
        - ip addr add 10.0.0.1/24 dev eth0
        - ip neigh add 10.0.0.99 lladdr 02:00:00:00:00:99 dev eth0
    srv:
      kind: linux
      exec:
        - ip addr add 10.0.0.2/24 dev eth0
        - mkdir -p /srv/www/sub /var/www/html/sub
        - cd /srv/www && echo "this is web1" > index.html && echo a > 1 && echo b > 2
        - cd /var/www/html && echo "this is web1" > index.html && echo a > 1 && echo b > 2
        - cd /srv/www && python3 -m http.server 8000 > /dev/null 2>&1 &
        - systemctl start httpd
  links:
    - endpoints: ["cli:eth0", "srv:eth0"]
)";

class CurlGoldenTest : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() {
    auto spec = lab::parse_lab(kLab, "curl-golden.yaml");
    ASSERT_TRUE(std::holds_alternative<lab::LabSpec>(spec));
    auto deployed = Lab::deploy(std::get<lab::LabSpec>(spec), {});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<Lab>>(deployed))
        << std::get<std::string>(deployed);
    lab_ = std::move(std::get<std::unique_ptr<Lab>>(deployed)).release();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  static Lab* lab_;
};

Lab* CurlGoldenTest::lab_ = nullptr;

TEST_P(CurlGoldenTest, PrintsWhatCurlPrints) {
  ASSERT_NE(lab_, nullptr);
  const Case& c = GetParam();
  std::string want_out = slurp(kDir + c.name + ".out");
  std::string want_err = slurp(kDir + c.name + ".err");
  int want_rc = std::stoi(slurp(kDir + c.name + ".rc"));
  cmd::CmdOutput got = lab_->run("cli", c.command);
  EXPECT_EQ(got.status, want_rc) << c.command;
  EXPECT_EQ(normalize(got.out), normalize(want_out)) << c.command;
  EXPECT_EQ(normalize(got.err), normalize(want_err)) << c.command;
}

TEST(CurlGoldenData, EveryCaseWasCaptured) {
  std::vector<Case> cases = load_cases();
  EXPECT_GE(cases.size(), 40U);
  for (const Case& c : cases) {
    EXPECT_TRUE(std::ifstream(kDir + c.name + ".rc").good()) << c.name;
  }
}

TEST(CurlGoldenMask, KeepsWhatIsNotMeasured) {
  std::string rec =
      "\r100    13  100    13    0     0   1696      0 --:--:-- --:--:-- --:--:--  1857\n";
  EXPECT_EQ(normalize(rec),
            "\r100    13  100    13    0     0  <spd>      0 --:--:-- --:--:-- --:--:-- <spd>\n");
  EXPECT_EQ(normalize("Date: Sun, 06 Dec 2026 18:25:51 GMT\r\n"), "Date: <date>\r\n");
  EXPECT_EQ(normalize("curl: (7) Failed after 0 ms\n"), "curl: (7) Failed after 0 ms\n");
}

INSTANTIATE_TEST_SUITE_P(Curl, CurlGoldenTest, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return param_info.param.name;
                         });

}  // namespace
}  // namespace vnet::labrun
