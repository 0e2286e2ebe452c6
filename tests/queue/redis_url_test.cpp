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

namespace iamq::queue {
namespace {

TEST(RedisUrlTest, TlsAndSentinelForms) {
  auto t = ok("rediss://:pw@cache.example.com:6380/2");
  EXPECT_TRUE(t.tls.enabled);
  EXPECT_EQ(t.port, 6380);
  EXPECT_EQ(t.redacted(), "rediss://:***@cache.example.com:6380/2");
  auto s = ok("redis-sentinel://u:pw@10.0.0.1:26379,10.0.0.2,[::1]:26380/3#mymaster");
  EXPECT_EQ(s.kind, RedisEndpoint::Kind::sentinel);
  ASSERT_EQ(s.nodes.size(), 3u);
  EXPECT_EQ(s.nodes[1].port, 26379);  // Sentinel's default port
  EXPECT_EQ(s.nodes[2].host, "::1");
  EXPECT_EQ(s.master_name, "mymaster");
  EXPECT_EQ(s.db, 3);
  EXPECT_EQ(s.user, "u");
  EXPECT_EQ(s.password, "pw");
  EXPECT_EQ(s.redacted(), "redis-sentinel://u:***@10.0.0.1:26379,10.0.0.2:26379,[::1]:26380/3#mymaster");
}

TEST(RedisUrlTest, SentinelAndClusterRefusals) {
  EXPECT_NE(bad("redis-sentinel://h:1/0").find("master's name"), std::string::npos);
  EXPECT_NE(bad("redis-sentinel://h:1/0#").find("master's name"), std::string::npos);
  EXPECT_NE(bad("redis://a:1,b:2/3").find("Cluster has only database 0"), std::string::npos);
  EXPECT_NE(bad("unix:///tmp/redis.sock").find("unix"), std::string::npos);
}

TEST(RedisUrlTest, ClusterSeeds) {
  RedisSettings st;
  st.cluster_key = "{iamq}:jobs";
  auto r = parse_redis_url("rediss://:pw@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002", st);
  ASSERT_TRUE(std::holds_alternative<RedisEndpoint>(r)) << std::get<std::string>(r);
  const auto& e = std::get<RedisEndpoint>(r);
  EXPECT_EQ(e.nodes.size(), 3u);
  EXPECT_EQ(e.nodes[2].port, 7002);
  EXPECT_EQ(e.cluster, RedisEndpoint::Cluster::autodetect);
  EXPECT_EQ(e.cluster_key, "{iamq}:jobs");
  EXPECT_TRUE(e.tls.enabled);
  EXPECT_EQ(e.redacted(), "rediss://:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002/0");
  st.cluster = 0;
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_redis_url("redis://a:1,b:2", st)));
  st.cluster = 1;
  auto one = parse_redis_url("redis://a:1", st);
  ASSERT_TRUE(std::holds_alternative<RedisEndpoint>(one));
  EXPECT_EQ(std::get<RedisEndpoint>(one).cluster, RedisEndpoint::Cluster::on);
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_redis_url("redis://a:1/3", st)));
}

TEST(RedisUrlTest, SettingsApplyOnlyWhereTheyMeanSomething) {
  RedisSettings st;
  st.tls.ca_file = "/ca.pem";
  st.tls.server_name = "redis.internal";
  st.sentinel_password = "spw";
  auto r = parse_redis_url("rediss://h:1/0", st);
  ASSERT_TRUE(std::holds_alternative<RedisEndpoint>(r));
  const auto& e = std::get<RedisEndpoint>(r);
  EXPECT_TRUE(e.tls.enabled);
  EXPECT_EQ(e.tls.ca_file, "/ca.pem");
  EXPECT_EQ(e.tls.server_name, "redis.internal");
  EXPECT_EQ(e.sentinel_password, "spw");
  auto plain = parse_redis_url("redis://h:1/0", st);
  ASSERT_TRUE(std::holds_alternative<std::string>(plain));
  EXPECT_NE(std::get<std::string>(plain).find("redis_tls_"), std::string::npos);
}

}  // namespace
}  // namespace iamq::queue
