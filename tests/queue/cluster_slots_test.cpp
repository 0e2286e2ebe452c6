#include "queue/cluster_slots.hpp"

#include <gtest/gtest.h>

namespace iamq::queue::cluster {
namespace {

TEST(ClusterSlotsTest, Crc16KnownVectors) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // CRC16/XMODEM check value (Redis Cluster spec)
  EXPECT_EQ(crc16(""), 0);
  EXPECT_EQ(crc16("A"), 0x58E5);
}

TEST(ClusterSlotsTest, KeySlotsAsRedisComputesThem) {
  // CLUSTER KEYSLOT answers of a real redis-server.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("123456789"), 0x31C3 % 16384);
}

TEST(ClusterSlotsTest, HashTags) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // an empty tag: the whole key
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("foo{bar}{zap}"), "bar");
  EXPECT_EQ(hash_tag("no-tag"), "no-tag");
  EXPECT_EQ(hash_tag("{unclosed"), "{unclosed");
  EXPECT_EQ(key_slot("{iamq}:jobs"), key_slot("iamq"));
  EXPECT_EQ(key_slot("{iamq}:job:HR-4711:steps"), key_slot("{iamq}:lane:prod:urgent"));
}

TEST(ClusterSlotsTest, NamespaceRule) {
  EXPECT_TRUE(namespace_has_hash_tag("{iamq}"));
  EXPECT_TRUE(namespace_has_hash_tag("{iamq}prod"));
  EXPECT_TRUE(namespace_has_hash_tag("{iamq}:jobs"));
  EXPECT_FALSE(namespace_has_hash_tag("iamq"));
  EXPECT_FALSE(namespace_has_hash_tag("{}"));
  EXPECT_FALSE(namespace_has_hash_tag("{}iamq"));
  EXPECT_FALSE(namespace_has_hash_tag("iamq{x}"));  // the tag must start the namespace
  EXPECT_FALSE(namespace_has_hash_tag("{iamq"));
}

TEST(ClusterSlotsTest, ParsesMovedAndAsk) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381", "10.0.0.1");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Redirect::Kind::moved);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->node.host, "127.0.0.1");
  EXPECT_EQ(m->node.port, 6381);

  auto a = parse_redirect("ASK 16383 redis-2.internal:7000", "");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, Redirect::Kind::ask);
  EXPECT_EQ(a->slot, 16383);
  EXPECT_EQ(a->node.host, "redis-2.internal");

  auto empty_host = parse_redirect("MOVED 1 :7001", "10.0.0.1");  // the node's own host
  ASSERT_TRUE(empty_host);
  EXPECT_EQ(empty_host->node.host, "10.0.0.1");
  auto v6 = parse_redirect("MOVED 1 [::1]:7001", "");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->node.host, "::1");

  for (const char* bad : {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 1 h",
                          "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED x h:1", "ASK 1 h:port",
                          "MOVED 1 h :1", "MOVEDX 1 h:1"}) {
    EXPECT_FALSE(parse_redirect(bad, "seed")) << bad;
  }
  EXPECT_TRUE(is_tryagain("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(is_tryagain("ERR TRYAGAIN"));
}

Reply node(const std::string& host, long long port, const std::string& id) {
  return Reply::make_array({Reply::make_string(host), Reply::make_integer(port), Reply::make_string(id)});
}

Reply range(long long first, long long last, std::vector<Reply> nodes) {
  std::vector<Reply> e{Reply::make_integer(first), Reply::make_integer(last)};
  for (auto& n : nodes) e.push_back(std::move(n));
  return Reply::make_array(std::move(e));
}

TEST(ClusterSlotsTest, ParsesClusterSlots) {
  Reply r = Reply::make_array({
      range(0, 5460, {node("127.0.0.1", 30001, "a"), node("127.0.0.1", 30004, "d")}),
      range(5461, 10922, {node("", 30002, "b")}),  // empty host: the node that answered
      range(10923, 16383, {node("127.0.0.1", 30003, "c")}),
  });
  auto map = parse_cluster_slots(r, "10.1.1.1");
  ASSERT_TRUE(map.error.empty()) << map.error;
  ASSERT_EQ(map.ranges.size(), 3u);
  EXPECT_EQ(map.owner(0)->port, 30001);
  EXPECT_EQ(map.owner(5460)->port, 30001);
  EXPECT_EQ(map.owner(5461)->host, "10.1.1.1");
  EXPECT_EQ(map.owner(16383)->port, 30003);
  EXPECT_EQ(map.owner(key_slot("{iamq}:jobs"))->port, key_slot("iamq") <= 5460 ? 30001
                                                      : key_slot("iamq") <= 10922 ? 30002
                                                                                  : 30003);

  Reply partial = Reply::make_array({range(0, 100, {node("h", 1, "a")})});
  EXPECT_FALSE(parse_cluster_slots(partial, "").owner(101));

  for (const Reply& bad : {Reply::make_string("x"),
                           Reply::make_array({range(5, 4, {node("h", 1, "a")})}),
                           Reply::make_array({range(0, 16384, {node("h", 1, "a")})}),
                           Reply::make_array({range(0, 1, {node("h", 0, "a")})}),
                           Reply::make_array({range(0, 1, {})}),
                           Reply::make_array({Reply::make_integer(3)})}) {
    EXPECT_FALSE(parse_cluster_slots(bad, "").error.empty()) << to_debug_string(bad);
  }
}

TEST(ClusterSlotsTest, DecidesAfterConnecting) {
  const std::string key = "{iamq}:jobs";
  const int slot = key_slot(key);
  Reply map = Reply::make_array({range(0, slot, {node("127.0.0.1", 1, "a")}),
                                 range(slot + 1, 16383, {node("127.0.0.1", 2, "b")})});
  using C = RedisEndpoint::Cluster;
  using K = Decision::Kind;
  EXPECT_EQ(decide(C::on, key, {"127.0.0.1", 1}, map).kind, K::ready);
  auto hop = decide(C::autodetect, key, {"127.0.0.1", 2}, map);
  EXPECT_EQ(hop.kind, K::hop);
  EXPECT_EQ(hop.node.port, 1);

  Reply disabled = Reply::make_error("ERR This instance has cluster support disabled");
  EXPECT_EQ(decide(C::autodetect, "iamq:jobs", {"h", 1}, disabled).kind, K::standalone);
  auto on = decide(C::on, key, {"h", 1}, disabled);
  EXPECT_EQ(on.kind, K::error);
  EXPECT_TRUE(on.fatal);
  EXPECT_NE(on.why.find("not a cluster node"), std::string::npos) << on.why;

  // A cluster with a namespace that is no hash tag: refused, naming the field and the rule.
  auto untagged = decide(C::autodetect, "iamq:jobs", {"127.0.0.1", 1}, map);
  EXPECT_EQ(untagged.kind, K::error);
  EXPECT_TRUE(untagged.fatal);
  EXPECT_NE(untagged.why.find("namespace: \"iamq\" must be a hash tag such as {iamq}"), std::string::npos)
      << untagged.why;

  Reply incomplete = Reply::make_array({range(0, 10, {node("127.0.0.1", 1, "a")})});
  ASSERT_GT(slot, 10);
  EXPECT_EQ(decide(C::on, key, {"127.0.0.1", 1}, incomplete).kind, K::error);
}

}  // namespace
}  // namespace iamq::queue::cluster
