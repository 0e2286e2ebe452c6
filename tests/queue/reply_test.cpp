// Reply decoding (sans-io): hiredis reply trees built by hand and decoded.
#include "queue/reply.hpp"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <cstring>

namespace iamq::queue {
namespace {

redisReply make(int type) {
  redisReply r{};
  r.type = type;
  return r;
}

TEST(ReplyTest, DecodesScalars) {
  EXPECT_TRUE(decode_reply(nullptr).is_nil());
  auto nil = make(REDIS_REPLY_NIL);
  EXPECT_TRUE(decode_reply(&nil).is_nil());

  char text[] = "hello\0world";
  auto s = make(REDIS_REPLY_STRING);
  s.str = text;
  s.len = 11;  // binary-safe: the embedded NUL is kept
  Reply rs = decode_reply(&s);
  EXPECT_EQ(rs.type, Reply::Type::string);
  EXPECT_EQ(rs.str, std::string("hello\0world", 11));

  char ok[] = "OK";
  auto st = make(REDIS_REPLY_STATUS);
  st.str = ok;
  st.len = 2;
  EXPECT_EQ(decode_reply(&st).type, Reply::Type::status);
  EXPECT_EQ(decode_reply(&st).as_string(), "OK");

  char errtext[] = "NOSCRIPT No matching script";
  auto e = make(REDIS_REPLY_ERROR);
  e.str = errtext;
  e.len = sizeof errtext - 1;
  Reply re = decode_reply(&e);
  EXPECT_TRUE(re.is_error());
  EXPECT_EQ(re.str, "NOSCRIPT No matching script");
  EXPECT_FALSE(re.as_string().has_value());

  auto i = make(REDIS_REPLY_INTEGER);
  i.integer = -42;
  EXPECT_EQ(decode_reply(&i).as_integer(), -42);
}

TEST(ReplyTest, DecodesNestedArrays) {
  char k1[] = "status", v1[] = "queued", k2[] = "attempts", v2[] = "3";
  redisReply leaves[4] = {make(REDIS_REPLY_STRING), make(REDIS_REPLY_STRING),
                          make(REDIS_REPLY_STRING), make(REDIS_REPLY_STRING)};
  char* texts[4] = {k1, v1, k2, v2};
  redisReply* ptrs[4];
  for (int n = 0; n < 4; ++n) {
    leaves[n].str = texts[n];
    leaves[n].len = std::strlen(texts[n]);
    ptrs[n] = &leaves[n];
  }
  auto inner = make(REDIS_REPLY_ARRAY);
  inner.elements = 4;
  inner.element = ptrs;
  auto nil = make(REDIS_REPLY_NIL);
  redisReply* outer_elems[2] = {&inner, &nil};
  auto outer = make(REDIS_REPLY_ARRAY);
  outer.elements = 2;
  outer.element = outer_elems;

  Reply r = decode_reply(&outer);
  ASSERT_TRUE(r.is_array());
  ASSERT_EQ(r.elements.size(), 2u);
  EXPECT_TRUE(r.elements[1].is_nil());
  auto m = r.elements[0].as_map();
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["status"], "queued");
  EXPECT_EQ(m["attempts"], "3");
  EXPECT_EQ(r.elements[0].elements[3].as_integer(), 3);  // numeric strings convert
}

TEST(ReplyTest, ConversionsRefuseWrongShapes) {
  EXPECT_FALSE(Reply::make_string("12x").as_integer().has_value());
  EXPECT_FALSE(Reply::make_string("").as_integer().has_value());
  EXPECT_FALSE(Reply::make_array({}).as_string().has_value());
  EXPECT_TRUE(Reply::make_integer(5).as_map().empty());
  // odd element count: the last key has no value and is dropped
  auto odd = Reply::make_array({Reply::make_string("a"), Reply::make_string("1"), Reply::make_string("b")});
  EXPECT_EQ(odd.as_map().size(), 1u);
  EXPECT_EQ(to_debug_string(odd), "[\"a\", \"1\", \"b\"]");
}

}  // namespace
}  // namespace iamq::queue
