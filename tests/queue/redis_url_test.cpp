// REDIS_URL parsing.
#include "queue/redis_url.hpp"

#include <gtest/gtest.h>

namespace iamq::queue {
namespace {

RedisEndpoint ok(const std::string& url) {
  auto r = parse_redis_url(url);
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << url << ": " << *e;
    return {};
  }
  return std::get<RedisEndpoint>(r);
}

std::string bad(const std::string& url) {
  auto r = parse_redis_url(url);
  if (std::holds_alternative<RedisEndpoint>(r)) {
    ADD_FAILURE() << "accepted " << url;
    return {};
  }
  return std::get<std::string>(r);
}

TEST(RedisUrlTest, HostPortDb) {
  auto e = ok("redis://cache.internal:6380/3");
  EXPECT_EQ(e.host, "cache.internal");
  EXPECT_EQ(e.port, 6380);
  EXPECT_EQ(e.db, 3);
  EXPECT_TRUE(e.user.empty());
  EXPECT_TRUE(e.password.empty());
  auto d = ok("redis://localhost");
  EXPECT_EQ(d.port, 6379);
  EXPECT_EQ(d.db, 0);
  auto v6 = ok("redis://[::1]:7000/0");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 7000);
}

TEST(RedisUrlTest, AuthForms) {
  auto acl = ok("redis://worker:s3cr%40t@h:1/0");
  EXPECT_EQ(acl.user, "worker");
  EXPECT_EQ(acl.password, "s3cr@t");
  auto pw = ok("redis://:only-pass@h:1");
  EXPECT_TRUE(pw.user.empty());
  EXPECT_EQ(pw.password, "only-pass");
  auto single = ok("redis://token@h");
  EXPECT_TRUE(single.user.empty());
  EXPECT_EQ(single.password, "token");
}

TEST(RedisUrlTest, RedactedNeverShowsThePassword) {
  auto e = ok("redis://worker:hunter2@h:1/2");
  EXPECT_EQ(e.redacted(), "redis://worker:***@h:1/2");
  EXPECT_EQ(e.redacted().find("hunter2"), std::string::npos);
}

TEST(RedisUrlTest, Refusals) {
  EXPECT_NE(bad("http://h:1").find("redis://"), std::string::npos);
  EXPECT_NE(bad("redis://h:0").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://h:70000").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://h:x").find("port"), std::string::npos);
  EXPECT_NE(bad("redis://h:1/db").find("database"), std::string::npos);
  std::string msg = bad("redis://u:pa%zzss@h");
  EXPECT_EQ(msg.find("pa%zzss"), std::string::npos);  // no password in the message
}

}  // namespace
}  // namespace iamq::queue
