#pragma once
/// Shared by the queue commands (enqueue, status, stats, watch, dlq): one Redis connection on a
/// private io_context, a JobQueue on it, and `await` to run one async queue call to completion.
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"
#include "cli/commands.hpp"

namespace iamq::commands {

class QueueSession {
 public:
  explicit QueueSession(const GlobalOptions& g) : cfg_(resolve_config(g)) {
    queue::RedisConnection::Options o;
    o.endpoint = config::redis_endpoint(cfg_);  // URL + TLS files + Sentinel AUTH
    o.wait_replicas = cfg_.redis_wait_replicas;
    o.wait_timeout = cfg_.redis_wait_timeout;
    o.reconnect = false;  // a CLI command fails fast when Redis is down
    o.command_timeout = std::chrono::seconds(30);
    o.connect_timeout = cfg_.connect_timeout;
    try {
      conn_ = std::make_unique<queue::RedisConnection>(ioc_, o);
    } catch (const std::runtime_error& e) {
      throw config::ConfigError(e.what());  // an unusable TLS file: names the setting
    }
    queue::JobQueue::Options qo;
    qo.ns = cfg_.ns;
    qo.consumer = "cli";
    qo.result_ttl = cfg_.result_ttl;
    qo.events_maxlen = cfg_.events_maxlen;
    queue_ = std::make_unique<queue::JobQueue>(*conn_, *conn_, qo);
  }
  ~QueueSession() { conn_->stop(); }

  const config::Config& config() const { return cfg_; }
  queue::JobQueue& queue() { return *queue_; }
  queue::RedisConnection& connection() { return *conn_; }
  boost::asio::io_context& io_context() { return ioc_; }

  /// Runs `op(callback)` and the loop until the callback was called; returns its value.
  /// Throws std::runtime_error on an error (naming `what` and, when unreachable, the URL).
  template <class T, class Op>
  T await(const std::string& what, Op&& op) {
    bool finished = false;
    std::error_code result;
    T value{};
    op([&](std::error_code ec, T v) {
      finished = true;
      result = ec;
      value = std::move(v);
    });
    run_until(finished);
    check(what, result);
    return value;
  }

  /// For operations whose callback takes only an error_code.
  template <class Op>
  void await_done(const std::string& what, Op&& op) {
    bool finished = false;
    std::error_code result;
    op([&](std::error_code ec) {
      finished = true;
      result = ec;
    });
    run_until(finished);
    check(what, result);
  }

  /// Runs a raw command; throws on error.
  queue::Reply command(std::vector<std::string> args) {
    std::string name = args.empty() ? "" : args[0];
    return await<queue::Reply>(name, [&](auto cb) {
      conn_->command(std::move(args), [cb](std::error_code ec, queue::Reply r) {
        if (ec == queue::Errc::server_error) ec = {};  // caller inspects error replies
        cb(ec, std::move(r));
      });
    });
  }

 private:
  void run_until(bool& finished) {
    ioc_.restart();
    while (!finished && ioc_.run_one() > 0) {
    }
    if (!finished) throw std::runtime_error("internal error: Redis call did not complete");
  }

  void check(const std::string& what, std::error_code ec) {
    if (!ec) return;
    if (ec == queue::Errc::not_connected || ec == queue::Errc::connect_failed) {
      throw RuntimeFailure("cannot reach Redis: " + conn_->last_error());
    }
    throw RuntimeFailure(what + ": " + ec.message());
  }

  config::Config cfg_;
  boost::asio::io_context ioc_;  // before the connection: destroyed after it
  std::unique_ptr<queue::RedisConnection> conn_;
  std::unique_ptr<queue::JobQueue> queue_;
};

/// "2024-05-01T12:00:00Z" for a time in ms since the epoch (UTC); "" for 0 or bad input.
inline std::string format_ms(const std::string& ms_text) {
  long long ms = 0;
  try {
    ms = std::stoll(ms_text);
  } catch (...) {
    return ms_text;
  }
  if (ms <= 0) return "";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// "3h 12m", "45s", "800ms" for a duration in ms.
inline std::string format_age(long long ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return std::to_string(ms) + "ms";
  long long s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m " + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h " + std::to_string(s / 60 % 60) + "m";
  return std::to_string(s / 86400) + "d " + std::to_string(s / 3600 % 24) + "h";
}

}  // namespace iamq::commands
