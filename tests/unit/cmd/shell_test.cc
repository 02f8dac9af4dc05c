// The shell subset: tokenizer, redirections into the node's /proc/sys and /etc files,
// pipelines through the builtins, && / || / ;, and dash's error texts.
//
// Expected output is what `ip netns exec NS sh -c LINE` printed (Debian 12: sh is dash; Linux
// 6.18, iproute2 6.1), with NS a fresh network namespace whose /etc/iproute2 is a private copy.
#include "cmd/shell.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace vnet::cmd {
namespace {

using Kind = Token::Kind;

struct TokenCase {
  std::string line;
  std::vector<std::pair<Kind, std::string>> tokens;
};

TEST(TokenizeTest, WordsQuotesAndOperators) {
  const std::vector<TokenCase> cases = {
      {"ip route show", {{Kind::Word, "ip"}, {Kind::Word, "route"}, {Kind::Word, "show"}}},
      // dash: echo "a b"  'c  d' e\ f # comment   -> "a b c  d e f"
      {"echo \"a b\"  'c  d' e\\ f # comment",
       {{Kind::Word, "echo"}, {Kind::Word, "a b"}, {Kind::Word, "c  d"}, {Kind::Word, "e f"}}},
      // dash: echo "x\"y" 'it''s' a#b   -> x"y its a#b ('#' starts a comment only at a word)
      {"echo \"x\\\"y\" 'it''s' a#b",
       {{Kind::Word, "echo"}, {Kind::Word, "x\"y"}, {Kind::Word, "its"}, {Kind::Word, "a#b"}}},
      {"a&&b||c;d|e",
       {{Kind::Word, "a"},
        {Kind::And, "&&"},
        {Kind::Word, "b"},
        {Kind::Or, "||"},
        {Kind::Word, "c"},
        {Kind::Semi, ";"},
        {Kind::Word, "d"},
        {Kind::Pipe, "|"},
        {Kind::Word, "e"}}},
      {"echo 1 >/proc/x 2>>log",
       {{Kind::Word, "echo"},
        {Kind::Word, "1"},
        {Kind::RedirectOut, ">"},
        {Kind::Word, "/proc/x"},
        {Kind::RedirectErrAppend, "2>>"},
        {Kind::Word, "log"}}},
      {"ip r >> f 2> g 2>&1",
       {{Kind::Word, "ip"},
        {Kind::Word, "r"},
        {Kind::RedirectAppend, ">>"},
        {Kind::Word, "f"},
        {Kind::RedirectErr, "2>"},
        {Kind::Word, "g"},
        {Kind::ErrToOut, "2>&1"}}},
      {"echo '2>x' \"a|b;c\"", {{Kind::Word, "echo"}, {Kind::Word, "2>x"}, {Kind::Word, "a|b;c"}}},
      {"  # only a comment", {}},
  };
  for (const TokenCase& c : cases) {
    SCOPED_TRACE(c.line);
    std::vector<Token> tokens;
    std::string error;
    ASSERT_TRUE(tokenize(c.line, &tokens, &error)) << error;
    std::vector<std::pair<Kind, std::string>> got;
    for (const Token& t : tokens) got.emplace_back(t.kind, t.text);
    EXPECT_EQ(got, c.tokens);
  }
}

TEST(TokenizeTest, UnterminatedQuotes) {
  for (const char* line : {"echo 'abc", "echo \"abc", "echo \"abc\\\""}) {
    std::vector<Token> tokens;
    std::string error;
    EXPECT_FALSE(tokenize(line, &tokens, &error)) << line;
    EXPECT_EQ(error, "Syntax error: Unterminated quoted string") << line;
  }
}

// One line through the shell and what dash (and the tools it ran) printed.
struct Line {
  std::string line;
  std::string out;
  std::string err;
  int status = 0;
};

void RunLines(const std::vector<Line>& lines) {
  stack::Node node;
  Shell shell(node);
  for (const Line& l : lines) {
    SCOPED_TRACE(l.line);
    CmdOutput o = shell.run(l.line);
    EXPECT_EQ(o.out, l.out);
    EXPECT_EQ(o.err, l.err);
    EXPECT_EQ(o.status, l.status);
  }
}

TEST(ShellTest, EchoIntoProcSys) {
  RunLines({
      {"echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter", "", "", 0},
      {"cat /proc/sys/net/ipv4/conf/all/rp_filter", "1\n", "", 0},
      {"echo 2 >> /proc/sys/net/ipv4/conf/all/rp_filter", "", "", 0},
      {"echo abc > /proc/sys/net/ipv4/conf/all/rp_filter", "", "sh: 1: echo: echo: I/O error\n", 1},
      {"echo > /proc/sys/net/ipv4/conf/all/rp_filter", "", "sh: 1: echo: echo: I/O error\n", 1},
      {"cat /proc/sys/net/ipv4/conf/all/rp_filter", "2\n", "", 0},
      {"echo 1 > /proc/sys/net/ipv4/conf/nope/rp_filter", "",
       "sh: 1: cannot create /proc/sys/net/ipv4/conf/nope/rp_filter: Directory nonexistent\n", 2},
      {"echo 1 > /proc/sys/net/ipv4/nope", "",
       "sh: 1: cannot create /proc/sys/net/ipv4/nope: Directory nonexistent\n", 2},
      {"echo 1 > /proc/sys/net/ipv4/ip_forward && sysctl net.ipv4.conf.all.forwarding",
       "net.ipv4.conf.all.forwarding = 1\n", "", 0},
  });
}

TEST(ShellTest, NamedTableFromRtTables) {
  RunLines({
      {"echo \"200 blue\" >> /etc/iproute2/rt_tables", "", "", 0},
      {"cat /etc/iproute2/rt_tables | tail -1", "200 blue\n", "", 0},
      {"ip link set lo up", "", "", 0},
      {"ip route add 192.0.2.0/24 dev lo table blue && ip route show table blue",
       "192.0.2.0/24 dev lo scope link \n", "", 0},
      {"ip route add 192.0.2.0/24 dev lo table red || echo failed", "failed\n",
       "Error: argument \"red\" is wrong: \"table\" value is invalid\n\n", 0},
      {"ip route show table all | grep -i BLUE", "192.0.2.0/24 dev lo table blue scope link \n", "",
       0},
      {"ip route show table all | grep -E 'blue|main' | wc -l", "1\n", "", 0},
  });
}

TEST(ShellTest, Pipelines) {
  RunLines({
      {"ip route show table all | grep -c local", "0\n", "", 1},
      {"ip link set lo up", "", "", 0},
      {"ip route show table local | wc -l", "3\n", "", 0},
      {"ip route show table local | tail -n 2",
       "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n"
       "broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1 \n",
       "", 0},
      {"ip route show table local | head -2 | tail -1",
       "local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 \n", "", 0},
      {"ip route show table local | grep -v broadcast | grep -c local", "2\n", "", 0},
      {"echo hi | grep h | wc -l", "1\n", "", 0},
      {"ip route get 127.0.0.1 2>&1 | head -1", "local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \n", "",
       0},
      {"ip route get 1.2.3.4 2>&1 | head -1", "RTNETLINK answers: Network is unreachable\n", "", 0},
      {"ip route get 1.2.3.4 2>/dev/null", "", "", 2},
      {"ip route get 1.2.3.4 > /dev/null 2>&1; echo after", "after\n", "", 0},
  });
}

TEST(ShellTest, ListsAndStatus) {
  RunLines({
      {"echo a && false && echo b || echo c", "a\nc\n", "", 0},
      {"false || echo x && echo y", "x\ny\n", "", 0},
      {"true && false; echo z", "z\n", "", 0},
      {"false && echo never", "", "", 1},
      {"echo a; echo b | grep -v a", "a\nb\n", "", 0},
      {"echo -n abc", "abc", "", 0},
      {"echo ;", "\n", "", 0},
      {"echo \"a b\"  'c  d' e\\ f # comment", "a b c  d e f\n", "", 0},
  });
}

TEST(ShellTest, Errors) {
  RunLines({
      {"foo bar", "", "sh: 1: foo: not found\n", 127},
      {"echo 'unterminated", "", "sh: 1: Syntax error: Unterminated quoted string\n", 2},
      {"| echo", "", "sh: 1: Syntax error: \"|\" unexpected\n", 2},
  });
}

// dash's echo interprets backslash escapes (sh -c "echo 'a\tb'" prints a TAB):
//   echo "a\\b" 'x\y' c\\d   -> "a\bx x\y c\d" with \b a backspace.
// vnet's echo prints the backslashes as they are.
TEST(ShellTest, EchoInterpretsBackslashEscapes) {
  RunLines({
      {"echo 'a\\tb'", "a\tb\n", "", 0},
      {"echo \"a\\\\b\" 'x\\y' c\\\\d", "a\b x\\y c\\d\n", "", 0},
  });
}

// Redirections apply left to right: `2>&1 > /dev/null` sends stderr to the old stdout.
//   ip route get 1.2.3.4 2>&1 > /dev/null  -> stdout "RTNETLINK answers: Network is unreachable"
// vnet merges stderr into the redirected stdout and prints nothing.
TEST(ShellTest, RedirectionsApplyLeftToRight) {
  RunLines({
      {"ip route get 1.2.3.4 2>&1 > /dev/null", "RTNETLINK answers: Network is unreachable\n", "",
       2},
  });
}

// A command that writes nothing leaves a /proc/sys file unchanged (the truncating open writes
// no bytes):   true > /proc/sys/net/ipv4/conf/all/rp_filter   -> no output, status 0.
// vnet writes "" into the sysctl and reports "sh: 1: echo: echo: I/O error".
TEST(ShellTest, EmptyWriteToProcSysIsANoOp) {
  RunLines({
      {"echo 2 > /proc/sys/net/ipv4/conf/all/rp_filter", "", "", 0},
      {"true > /proc/sys/net/ipv4/conf/all/rp_filter", "", "", 0},
      {"cat /proc/sys/net/ipv4/conf/all/rp_filter", "2\n", "", 0},
  });
}

// `sh -c` reaches the end of its string, not a newline:
//   echo done >   -> "sh: 1: Syntax error: end of file unexpected" (vnet: "newline unexpected").
// tail reads its file operands:
//   tail -1 /etc/iproute2/rt_tables (after echo "200 blue" >> ...) -> "200 blue"
//   (vnet's tail reads only standard input and prints nothing).
TEST(ShellTest, DashEndOfFileAndTailFileOperand) {
  RunLines({
      {"echo done >", "", "sh: 1: Syntax error: end of file unexpected\n", 2},
      {"echo \"200 blue\" >> /etc/iproute2/rt_tables", "", "", 0},
      {"tail -1 /etc/iproute2/rt_tables", "200 blue\n", "", 0},
  });
}

}  // namespace
}  // namespace vnet::cmd
