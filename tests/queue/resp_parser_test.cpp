// RespParser (sans-io): bytes in, replies out — whole, split at every byte, garbage, bounds.
#include "queue/resp_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "queue/error.hpp"

namespace iamq::queue {
namespace {

using namespace std::string_literals;

std::vector<Reply> drain(RespParser& p) {
  std::vector<Reply> out;
  while (auto r = p.next()) out.push_back(std::move(*r));
  return out;
}

const std::string kStream =
    "+OK\r\n"
    "-ERR unknown command 'FOO'\r\n"
    ":-42\r\n"
    "$5\r\nhe\0lo\r\n"  // binary-safe: the NUL stays
    "$-1\r\n"
    "*-1\r\n"
    "*0\r\n"
    "*3\r\n$3\r\nkey\r\n*2\r\n:1\r\n$0\r\n\r\n+PONG\r\n"s;

void expect_stream(const std::vector<Reply>& r) {
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[0].type, Reply::Type::status);
  EXPECT_EQ(r[0].str, "OK");
  EXPECT_TRUE(r[1].is_error());
  EXPECT_EQ(r[1].str, "ERR unknown command 'FOO'");
  EXPECT_EQ(r[2].type, Reply::Type::integer);
  EXPECT_EQ(r[2].integer, -42);
  EXPECT_EQ(r[3].type, Reply::Type::string);
  EXPECT_EQ(r[3].str, std::string("he\0lo", 5));
  EXPECT_TRUE(r[4].is_nil());
  EXPECT_TRUE(r[5].is_nil());
  EXPECT_TRUE(r[6].is_array());
  EXPECT_TRUE(r[6].elements.empty());
  ASSERT_TRUE(r[7].is_array());
  ASSERT_EQ(r[7].elements.size(), 3u);
  EXPECT_EQ(r[7].elements[0].str, "key");
  ASSERT_EQ(r[7].elements[1].elements.size(), 2u);
  EXPECT_EQ(r[7].elements[1].elements[0].integer, 1);
  EXPECT_EQ(r[7].elements[1].elements[1].str, "");
  EXPECT_EQ(r[7].elements[2].str, "PONG");
}

TEST(RespParserTest, ParsesEveryReplyType) {
  RespParser p;
  std::string s(kStream.data(), kStream.size());
  ASSERT_FALSE(p.feed(s));
  expect_stream(drain(p));
  EXPECT_FALSE(p.error());
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(RespParserTest, SplitAtEveryByteGivesTheSameReplies) {
  for (std::size_t cut = 0; cut <= kStream.size(); ++cut) {
    RespParser p;
    std::vector<Reply> got;
    ASSERT_FALSE(p.feed(std::string_view(kStream).substr(0, cut)));
    for (auto& r : drain(p)) got.push_back(std::move(r));
    ASSERT_FALSE(p.feed(std::string_view(kStream).substr(cut)));
    for (auto& r : drain(p)) got.push_back(std::move(r));
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_stream(got);
  }
  // And one byte at a time.
  RespParser p;
  std::vector<Reply> got;
  for (char c : kStream) {
    ASSERT_FALSE(p.feed(std::string_view(&c, 1)));
    for (auto& r : drain(p)) got.push_back(std::move(r));
  }
  expect_stream(got);
}

TEST(RespParserTest, IncompleteReplyWaitsForMoreBytes) {
  RespParser p;
  ASSERT_FALSE(p.feed("$10\r\nhello"));
  EXPECT_FALSE(p.next());
  EXPECT_FALSE(p.error());
  ASSERT_FALSE(p.feed("world\r\n"));
  auto r = p.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str, "helloworld");
}

TEST(RespParserTest, GarbageIsAProtocolErrorAndStaysOne) {
  RespParser p;
  ASSERT_FALSE(p.feed("+OK\r\nHTTP/1.1 400 Bad Request\r\n\r\n"));
  auto first = p.next();
  ASSERT_TRUE(first);  // what came before the garbage is still delivered
  EXPECT_EQ(first->str, "OK");
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Errc::protocol_error);
  EXPECT_NE(p.error_message().find("reply type byte"), std::string::npos) << p.error_message();
  EXPECT_EQ(p.feed("+OK\r\n"), Errc::protocol_error);
  EXPECT_FALSE(p.next());
}

TEST(RespParserTest, NestingDeeperThanHiredisAllowsIsRefused) {
  RespParser p;
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  ASSERT_FALSE(p.feed(deep));
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Errc::protocol_error);
}

TEST(RespParserTest, HugeDeclaredBulkLengthIsRefusedBeforeAllocating) {
  RespParser::Limits lim;
  lim.max_reply_bytes = 1024;
  RespParser p(lim);
  // The server claims 1 GB and keeps sending: refused once the buffered part passes the limit.
  ASSERT_FALSE(p.feed("$1000000000\r\n"));
  EXPECT_FALSE(p.next());
  EXPECT_FALSE(p.error());
  std::string chunk(600, 'x');
  p.feed(chunk);
  EXPECT_FALSE(p.next());
  p.feed(chunk);
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Errc::reply_too_large);
  EXPECT_NE(p.error_message().find("1024"), std::string::npos);
}

TEST(RespParserTest, ForgedLengthNearLongLongMaxIsRefused) {
  // hiredis 0.14 adds len+2 without an overflow check; the builder refuses the length
  // before any byte is copied.
  RespParser p;
  ASSERT_FALSE(p.feed("$9223372036854775807\r\nabc\r\n"));
  EXPECT_FALSE(p.next());
  // Either still waiting (no allocation) or refused; never a reply.
  ASSERT_FALSE(p.feed("$9223372036854775806\r\n"));
  EXPECT_FALSE(p.next());
}

TEST(RespParserTest, HugeArrayCountIsRefusedWithoutAllocating) {
  RespParser::Limits lim;
  lim.max_reply_bytes = 1 << 20;
  RespParser p(lim);
  ASSERT_FALSE(p.feed("*2147483647\r\n"));
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Errc::reply_too_large);
}

TEST(RespParserTest, ManySmallElementsCountAgainstTheLimit) {
  RespParser::Limits lim;
  lim.max_reply_bytes = 64 * 1024;
  RespParser p(lim);
  // 1,000 elements fit; nested arrays of 1,000 each add up past the limit.
  std::string s = "*100\r\n";
  for (int i = 0; i < 100; ++i) s += "*1000\r\n";
  ASSERT_FALSE(p.feed(s));
  EXPECT_FALSE(p.next());
  EXPECT_EQ(p.error(), Errc::reply_too_large);
}

TEST(RespParserTest, BudgetResetsBetweenReplies) {
  RespParser::Limits lim;
  lim.max_reply_bytes = 4096;
  RespParser p(lim);
  std::string one = "$1000\r\n" + std::string(1000, 'a') + "\r\n";
  for (int i = 0; i < 50; ++i) {
    ASSERT_FALSE(p.feed(one));
    auto r = p.next();
    ASSERT_TRUE(r) << i << ": " << p.error_message();
    EXPECT_EQ(r->str.size(), 1000u);
  }
}

TEST(RespParserTest, FormatsCommandsThatParseBack) {
  std::vector<std::string> args = {"SET", "k", std::string("v\r\n\0x", 5), ""};
  std::string wire = format_command(args);
  EXPECT_EQ(wire.substr(0, 4), "*4\r\n");
  RespParser p;
  ASSERT_FALSE(p.feed(wire));
  auto r = p.next();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->elements.size(), 4u);
  for (std::size_t i = 0; i < args.size(); ++i) EXPECT_EQ(r->elements[i].str, args[i]);
  std::string two;
  append_command(two, {"PING"});
  append_command(two, {"ECHO", "x"});
  EXPECT_EQ(two, "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n");
}

}  // namespace
}  // namespace iamq::queue
