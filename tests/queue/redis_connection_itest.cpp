// RedisConnection against a real redis-server: pipelining, timeouts, AUTH/SELECT, fail-fast.
#include "tests/queue/queue_fixture.hpp"

namespace iamq::queue::test {
namespace {

TEST_F(QueueTest, PipelinesManyCommandsInOrder) {
  constexpr int n = 5000;
  std::vector<long long> got;
  bool done = false;
  for (int i = 0; i < n; ++i) {
    admin().command({"INCR", "counter"}, [&, i](std::error_code ec, Reply r) {
      EXPECT_FALSE(ec);
      got.push_back(r.integer);
      if (i == n - 1) done = true;
    });
  }
  EXPECT_GT(admin().outstanding(), 1u);  // all outstanding at once
  run_until(ioc_, done);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) EXPECT_EQ(got[i], i + 1);
}

TEST_F(QueueTest, ErrorRepliesAreServerErrors) {
  auto [ec, r] = wait<Reply>(ioc_, [&](auto cb) { admin().command({"NOSUCHCOMMAND"}, cb); });
  EXPECT_EQ(ec, Errc::server_error);
  EXPECT_TRUE(r.is_error());
  EXPECT_NE(r.str.find("unknown command"), std::string::npos);
}

TEST_F(QueueTest, TimedOutCommandDropsAndReconnects) {
  RedisConnection::Options o;
  o.endpoint = ep_;
  o.command_timeout = 200ms;
  o.backoff_min = 10ms;
  RedisConnection conn(ioc_, o);
  // BLPOP on an empty list never answers: the timeout must fire.
  auto start = std::chrono::steady_clock::now();
  auto [ec, r] = wait<Reply>(ioc_, [&](auto cb) { conn.command({"BLPOP", "nothing", "0"}, cb); });
  EXPECT_EQ(ec, Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto [ec2, pong] = wait<Reply>(ioc_, [&](auto cb) { conn.command({"PING"}, cb); });
  EXPECT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(pong.str, "PONG");
}

TEST_F(QueueTest, SelectsTheDatabase) {
  auto ep = ep_;
  ep.db = 5;
  RedisConnection::Options o;
  o.endpoint = ep;
  RedisConnection conn(ioc_, o);
  wait<Reply>(ioc_, [&](auto cb) { conn.command({"SET", "where", "db5"}, cb); });
  EXPECT_TRUE(cmd({"GET", "where"}).is_nil());  // admin is on db 0
  auto [ec, r] = wait<Reply>(ioc_, [&](auto cb) { admin().command({"SELECT", "5"}, cb); });
  EXPECT_FALSE(ec);
  EXPECT_EQ(cmd({"GET", "where"}).str, "db5");
}

TEST(RedisConnectionTest, FailFastWhenUnreachable) {
  boost::asio::io_context ioc;
  RedisConnection::Options o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = iamq::test::free_port();  // nothing listens there
  o.endpoint.password = "hunter2";
  o.reconnect = false;
  RedisConnection conn(ioc, o);
  auto [ec, r] = wait<Reply>(ioc, [&](auto cb) { conn.command({"PING"}, cb); });
  EXPECT_EQ(ec, Errc::not_connected);
  EXPECT_NE(conn.last_error().find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(conn.last_error().find("hunter2"), std::string::npos);
}

class AuthTest : public QueueTest {
 protected:
  AuthTest() : QueueTest(iamq::test::RedisServer::Options{false, "s3cret", "redis-server"}) {}
};

TEST_F(AuthTest, AuthenticatesWithThePassword) {
  auto [ec, r] = wait<Reply>(ioc_, [&](auto cb) { admin().command({"PING"}, cb); });
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(r.str, "PONG");

  auto wrong = ep_;
  wrong.password = "wrong";
  RedisConnection::Options o;
  o.endpoint = wrong;
  o.reconnect = false;
  RedisConnection conn(ioc_, o);
  auto [ec2, r2] = wait<Reply>(ioc_, [&](auto cb) { conn.command({"PING"}, cb); });
  EXPECT_EQ(ec2, Errc::not_connected);
  EXPECT_NE(conn.last_error().find("AUTH failed"), std::string::npos) << conn.last_error();
  EXPECT_EQ(conn.last_error().find("wrong"), std::string::npos) << conn.last_error();
}

}  // namespace
}  // namespace iamq::queue::test
