// redis-sentinel:// against a real master + replica + 3 sentinels: discovery, ROLE, WAIT for
// the replica, and a SIGKILL of the master under load — the same RedisConnection objects go
// on against the promoted replica, and no acknowledged replicated write is lost.
#include <boost/asio/post.hpp>

#include <boost/asio/post.hpp>

#include "tests/queue/queue_fixture.hpp"
#include "tests/support/redis_sentinel.hpp"

namespace iamq::queue::test {
namespace {

using iamq::test::RedisSentinel;

RedisConnection::Options sentinel_options(const RedisSentinel& s) {
  RedisConnection::Options o;
  o.endpoint = std::get<RedisEndpoint>(parse_redis_url(s.url()));
  o.wait_replicas = 1;
  o.wait_timeout = 2s;
  o.command_timeout = 3s;
  o.connect_timeout = 2s;
  o.backoff_min = 50ms;
  o.backoff_max = 1s;
  return o;
}

TEST(RedisSentinelTest, DiscoversTheMasterAndWaitsForTheReplica) {
  RedisSentinel s;
  boost::asio::io_context ioc;
  RedisConnection conn(ioc, sentinel_options(s));
  auto [ec, r] = wait<Reply>(ioc, [&](auto cb) { conn.command_replicated({"SET", "k", "v1"}, cb); });
  ASSERT_FALSE(ec) << ec.message() << " " << conn.last_error();
  EXPECT_EQ(r.str, "OK");
  EXPECT_EQ(conn.replicas(), 1) << to_debug_string(queue::SyncRedis(endpoint_of(s.master())).call({"ROLE"}));
  // Acknowledged only once the replica has it: read it there right away.
  queue::SyncRedis replica(endpoint_of(s.replica()));
  EXPECT_EQ(replica.call({"GET", "k"}).str, "v1");
  auto [ec2, role] = wait<Reply>(ioc, [&](auto cb) { conn.command({"ROLE"}, cb); });
  EXPECT_EQ(role.elements.at(0).str, "master");
}

TEST(RedisSentinelTest, UnknownMasterNameNamesEverySentinelsAnswer) {
  RedisSentinel s;
  boost::asio::io_context ioc;
  auto o = sentinel_options(s);
  o.endpoint.master_name = "nosuchmaster";
  o.reconnect = false;
  RedisConnection conn(ioc, o);
  auto [ec, r] = wait<Reply>(ioc, [&](auto cb) { conn.command({"PING"}, cb); });
  EXPECT_EQ(ec, Errc::not_connected);
  EXPECT_NE(conn.last_error().find("no sentinel knows master \"nosuchmaster\""), std::string::npos)
      << conn.last_error();
  for (int p : s.sentinel_ports()) {
    EXPECT_NE(conn.last_error().find(std::to_string(p)), std::string::npos) << conn.last_error();
  }
}

TEST(RedisSentinelTest, SurvivesSigkillOfTheMasterLosingNoAcknowledgedWrite) {
  RedisSentinel s;
  boost::asio::io_context ioc;
  RedisConnection conn(ioc, sentinel_options(s));
  const int old_port = s.master().port();
  const int new_port = s.replica().port();
  // A steady stream of replicated writes: each INCR that completes without error counts.
  long long acked = 0;
  long long highest = 0;
  int failures = 0;
  bool killed = false;
  bool done = false;
  std::function<void()> next;
  next = [&] {
    conn.command_replicated({"INCR", "counter"}, [&](std::error_code ec, Reply r) {
      if (!ec) {
        ++acked;
        highest = std::max(highest, r.integer);
      } else {
        ++failures;
      }
      if (!killed && acked == 200) {
        killed = true;
        s.kill_master();
      }
      if (killed && !ec && s.reported_master_port() == new_port && acked > 400) {
        done = true;
        return;
      }
      boost::asio::post(ioc, next);
    });
  };
  next();
  run_until(ioc, done, 60s);
  ASSERT_TRUE(done) << conn.last_error();
  EXPECT_GT(failures, 0);  // the outage was seen…
  // …and nothing acknowledged was lost: the promoted replica holds every acknowledged INCR.
  queue::SyncRedis promoted(endpoint_of(s.replica()));
  EXPECT_GE(promoted.call({"GET", "counter"}).as_integer().value_or(-1), acked)
      << "highest acknowledged value " << highest << "; promoted replica on " << new_port
      << " role " << to_debug_string(promoted.call({"ROLE"}));
  auto [ec, role] = wait<Reply>(ioc, [&](auto cb) { conn.command({"ROLE"}, cb); });
  EXPECT_EQ(role.elements.at(0).str, "master");
  EXPECT_NE(old_port, new_port);
}

TEST(RedisSentinelTest, SentinelPasswordAndMasterPassword) {
  RedisSentinel::Options so;
  so.sentinel_password = "sentinel-secret";
  so.requirepass = "master-secret";
  RedisSentinel s(so);
  boost::asio::io_context ioc;
  RedisSettings st;
  st.sentinel_password = "sentinel-secret";
  RedisConnection::Options o = sentinel_options(s);
  o.endpoint = std::get<RedisEndpoint>(parse_redis_url(s.url(), st));
  EXPECT_EQ(o.endpoint.password, "master-secret");
  RedisConnection conn(ioc, o);
  auto [ec, r] = wait<Reply>(ioc, [&](auto cb) { conn.command({"PING"}, cb); });
  EXPECT_FALSE(ec) << conn.last_error();
  // Without the sentinels' password discovery fails, and says so without the password.
  o.endpoint.sentinel_password.clear();
  o.reconnect = false;
  RedisConnection bad(ioc, o);
  auto [ec2, r2] = wait<Reply>(ioc, [&](auto cb) { bad.command({"PING"}, cb); });
  EXPECT_EQ(ec2, Errc::not_connected);
  EXPECT_NE(bad.last_error().find("NOAUTH"), std::string::npos) << bad.last_error();
  EXPECT_EQ(bad.last_error().find("secret"), std::string::npos) << bad.last_error();
}

}  // namespace
}  // namespace iamq::queue::test
