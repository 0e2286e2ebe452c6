// RedisConnection against a real redis-server: pipelining, timeouts, AUTH/SELECT, fail-fast.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <sstream>

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
  AuthTest() : QueueTest(with_password("s3cret")) {}
  static iamq::test::RedisServer::Options with_password(const std::string& pw) {
    iamq::test::RedisServer::Options o;
    o.requirepass = pw;
    return o;
  }
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

namespace iamq::queue::test {
namespace {

/// A TCP server that is not Redis: it answers whatever it is sent with an HTTP error and
/// hangs up (what a misconfigured REDIS_URL pointing at a web server gives). Counts accepts.
class NotRedisServer {
 public:
  explicit NotRedisServer(boost::asio::io_context& ioc)
      : acceptor_(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  int accepted = 0;

 private:
  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec,
                                  boost::asio::ip::tcp::socket s) {
      if (ec) return;
      ++accepted;
      auto sock = std::make_shared<boost::asio::ip::tcp::socket>(std::move(s));
      auto buf = std::make_shared<std::array<char, 512>>();
      sock->async_read_some(boost::asio::buffer(*buf), [sock, buf](const boost::system::error_code&,
                                                                   std::size_t) {
        static const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
        boost::asio::async_write(*sock, boost::asio::buffer(answer),
                                 [sock](const boost::system::error_code&, std::size_t) {
                                   boost::system::error_code ignored;
                                   sock->close(ignored);
                                 });
      });
      accept();
    });
  }
  boost::asio::ip::tcp::acceptor acceptor_;
};

/// Captures spdlog's output for the life of the object.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)), old_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  int count(const std::string& needle) const {
    std::string s = out_.str();
    int n = 0;
    for (auto at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
    return n;
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> old_;
};

// Issue 14: against a non-Redis server the worker logged "Redis connection lost" ~8 times a
// second forever, because a TCP connect counted as "Redis is back" (backoff and the
// logged-once flag were reset before anything proved the peer was Redis).
TEST(RedisConnectionTest, NonRedisServerBacksOffAndIsLoggedOncePerOutage) {
  boost::asio::io_context ioc;
  NotRedisServer server(ioc);
  LogCapture logs;
  RedisConnection::Options o;
  o.endpoint.host = "127.0.0.1";
  o.endpoint.port = server.port();
  o.reconnect = true;
  o.backoff_min = 20ms;
  o.backoff_max = 10s;
  RedisConnection conn(ioc, o);
  int ups = 0;
  conn.on_state_change([&](bool up) { ups += up ? 1 : 0; });
  // Commands issued meanwhile fail or wait; none succeeds.
  int failed = 0;
  conn.command({"PING"}, 1s, [&](std::error_code ec, Reply) { failed += ec ? 1 : 0; });
  conn.start();
  // Run until the server has seen 5 attempts (with the fix: 20+40+80+160 ms of backoff at
  // most between them; before it the attempts came every 10-20 ms).
  auto deadline = std::chrono::steady_clock::now() + 20s;
  ioc.restart();
  while (server.accepted < 5 && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_until(deadline);
  }
  ASSERT_GE(server.accepted, 5);
  EXPECT_EQ(ups, 0) << "a server that is not Redis must never count as connected";
  EXPECT_FALSE(conn.connected());
  EXPECT_EQ(logs.count("Redis unavailable"), 1) << logs.text();
  EXPECT_EQ(logs.count("connected to"), 0) << logs.text();
  EXPECT_NE(conn.last_error().find("not RESP"), std::string::npos) << conn.last_error();
  conn.stop();
  ioc.restart();
  ioc.poll();
  EXPECT_EQ(failed, 1);
}

TEST(RedisConnectionTest, ReplyLargerThanTheLimitDropsTheConnection) {
  iamq::test::RedisServer server;
  boost::asio::io_context ioc;
  RedisConnection::Options o;
  o.endpoint = endpoint_of(server);
  o.max_reply_bytes = 4096;
  o.reconnect = false;
  RedisConnection conn(ioc, o);
  auto [ec, r] = wait<Reply>(ioc, [&](auto cb) { conn.command({"SET", "big", std::string(10000, 'x')}, cb); });
  EXPECT_FALSE(ec) << ec.message();
  auto [ec2, r2] = wait<Reply>(ioc, [&](auto cb) { conn.command({"GET", "big"}, cb); });
  EXPECT_EQ(ec2, Errc::disconnected);
  EXPECT_NE(conn.last_error().find("reply too large"), std::string::npos) << conn.last_error();
  // Small replies still work on a fresh connection.
  conn.start();
  auto [ec3, r3] = wait<Reply>(ioc, [&](auto cb) { conn.command({"STRLEN", "big"}, cb); });
  EXPECT_FALSE(ec3) << ec3.message();
  EXPECT_EQ(r3.integer, 10000);
}

}  // namespace
}  // namespace iamq::queue::test
