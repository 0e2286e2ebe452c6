#pragma once
// Shared by the queue integration tests: a real redis-server, connections on one io_context,
// and `wait` to run the loop (bounded) until an async call completes.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"
#include "tests/support/redis_server.hpp"
#include "worker/job.hpp"
#include "worker/job_validator.hpp"

namespace iamq::queue::test {

using namespace std::chrono_literals;

inline RedisEndpoint endpoint_of(const iamq::test::RedisServer& s) {
  return std::get<RedisEndpoint>(parse_redis_url(s.url()));
}

/// Runs `ioc` until `done` is set or `limit` passes; fails the test on timeout.
inline bool run_until(boost::asio::io_context& ioc, const bool& done,
                      std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  ioc.restart();
  while (!done && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_until(deadline);
  }
  EXPECT_TRUE(done) << "async operation did not complete within " << limit.count() << " ms";
  return done;
}

/// Calls `op(cb)` and runs the loop until cb(ec, value) was called; returns {ec, value}.
template <class T, class Op>
std::pair<std::error_code, T> wait(boost::asio::io_context& ioc, Op&& op,
                                   std::chrono::milliseconds limit = 10s) {
  bool done = false;
  std::pair<std::error_code, T> out;
  op([&](std::error_code ec, T v) {
    out = {ec, std::move(v)};
    done = true;
  });
  run_until(ioc, done, limit);
  return out;
}

template <class Op>
std::error_code wait_done(boost::asio::io_context& ioc, Op&& op,
                          std::chrono::milliseconds limit = 10s) {
  bool done = false;
  std::error_code out;
  op([&](std::error_code ec) {
    out = ec;
    done = true;
  });
  run_until(ioc, done, limit);
  return out;
}

/// Lets time pass on the loop (for due times and visibility timeouts, which are time itself).
inline void let_time_pass(boost::asio::io_context& ioc, std::chrono::milliseconds d) {
  boost::asio::steady_timer t(ioc, d);
  bool done = false;
  t.async_wait([&](const boost::system::error_code&) { done = true; });
  run_until(ioc, done, d + 5s);
}

/// A consumer: its own connections and JobQueue on the shared loop.
struct Consumer {
  Consumer(boost::asio::io_context& ioc, const RedisEndpoint& ep, const std::string& name,
           const std::string& ns = "t") {
    RedisConnection::Options o;
    o.endpoint = ep;
    o.command_timeout = 3s;
    o.connect_timeout = 2s;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    conn = std::make_unique<RedisConnection>(ioc, o);
    o.name = "redis-blocking";
    blocking = std::make_unique<RedisConnection>(ioc, o);
    JobQueue::Options qo;
    qo.ns = ns;
    qo.consumer = name;
    qo.result_ttl = std::chrono::hours(1);
    qo.validator = worker::job_validator();
    queue = std::make_unique<JobQueue>(*conn, *blocking, qo);
  }
  std::unique_ptr<RedisConnection> conn;
  std::unique_ptr<RedisConnection> blocking;
  std::unique_ptr<JobQueue> queue;
};

inline JobSummary job(const std::string& id, const std::string& user = "alice") {
  auto r = worker::job_validator()(
      R"({"type":"offboard_user","user_name":")" + user + R"(","id":")" + id + R"("})", id);
  return std::get<JobSummary>(r);
}

class QueueTest : public ::testing::Test {
 protected:
  explicit QueueTest(iamq::test::RedisServer::Options o = {})
      : server_(std::move(o)), ep_(endpoint_of(server_)) {}

  Reply cmd(std::vector<std::string> args) {
    auto [ec, r] = wait<Reply>(ioc_, [&](auto cb) { admin().command(std::move(args), cb); });
    EXPECT_TRUE(!ec || ec == Errc::server_error) << ec.message();
    return r;
  }
  RedisConnection& admin() {
    if (!admin_) {
      RedisConnection::Options o;
      o.endpoint = ep_;
      o.name = "admin";
      admin_ = std::make_unique<RedisConnection>(ioc_, o);
    }
    return *admin_;
  }
  long long integer(std::vector<std::string> args) { return cmd(std::move(args)).as_integer().value_or(-1); }

  /// The intake entries (no group: reading takes nothing).
  std::vector<StreamEntry> intake(Consumer& c) {
    EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->ensure_group(cb); }));
    std::vector<StreamEntry> out;
    bool done = false;
    c.queue->read_intake("0-0", 10000, [&](std::error_code ec, JobQueue::IntakeRead r) {
      auto& es = r.entries;
      EXPECT_FALSE(ec) << ec.message();
      for (auto& e : es) {
        if (!e.claim) out.push_back(std::move(e));
      }
      done = true;
    });
    run_until(ioc_, done);
    return out;
  }
  std::vector<RouteResult> route(Consumer& c, const std::vector<StreamEntry>& es) {
    auto [ec, r] = wait<std::vector<RouteResult>>(ioc_, [&](auto cb) { c.queue->route(es, cb); });
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }
  /// Starts up to `max` jobs of `account` from its lanes.
  std::vector<Claim> claim(Consumer& c, std::size_t max, const std::string& account = "default") {
    auto [ec, r] = wait<std::vector<Claim>>(ioc_, [&](auto cb) { c.queue->claim({{account, max}}, max, cb); });
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }
  /// What a worker does to take jobs: route everything in the intake, then claim up to `max`.
  std::vector<Claim> take(Consumer& c, std::size_t max) {
    route(c, intake(c));
    return claim(c, max);
  }
  LeaseResult lease(Consumer& c, const std::vector<std::string>& live, std::chrono::milliseconds idle) {
    auto [ec, r] = wait<LeaseResult>(ioc_, [&](auto cb) { c.queue->lease(live, idle, 100, cb); });
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }
  std::vector<EnqueueResult> enqueue(Consumer& c, std::vector<JobSummary> jobs) {
    auto [ec, r] = wait<std::vector<EnqueueResult>>(
        ioc_, [&](auto cb) { c.queue->enqueue(std::move(jobs), cb); });
    EXPECT_FALSE(ec) << ec.message();
    return r;
  }
  std::map<std::string, std::string> record(const std::string& id) {
    return cmd({"HGETALL", "t:job:" + id}).as_map();
  }

  boost::asio::io_context ioc_;
  iamq::test::RedisServer server_;
  RedisEndpoint ep_;
  std::unique_ptr<RedisConnection> admin_;
};

}  // namespace iamq::queue::test
