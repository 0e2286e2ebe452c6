#pragma once
/// A rate limiter kept in Redis and shared by every worker process (on any machine):
/// GCRA ("generic cell rate algorithm") in one Lua script, one key per account,
/// `<ns>:fleet:<account>` holding the theoretical arrival time in microseconds of Redis's
/// own clock (TIME), so worker clocks never matter.
///
/// Each reserve() takes a slot and answers how long the caller must wait before its call
/// (0 while the burst lasts). Over any window of W seconds all workers together make at
/// most `burst + rate * W` calls. A slot reserved by a call that then never happens is
/// simply lost (the fleet runs slightly under its rate; never over).
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "queue/redis_connection.hpp"
#include "queue/reply.hpp"

namespace iamq::worker {

/// The GCRA reservation script. KEYS[1] = the account's key; ARGV[1] = rate (calls/s),
/// ARGV[2] = burst (calls). Returns the wait in microseconds (integer ≥ 0).
std::string_view fleet_limiter_script();

/// Decodes the script's reply: the wait, or nullopt for a reply of another shape.
std::optional<std::chrono::microseconds> parse_fleet_reply(const queue::Reply& reply);

class FleetLimiter {
 public:
  using Completion = std::function<void(std::error_code ec, std::chrono::microseconds wait)>;

  /// `redis` must outlive the limiter; `ns` is the key namespace. rate > 0; burst < 1
  /// becomes 1.
  FleetLimiter(queue::RedisConnection& redis, std::string ns, double rate, double burst);

  /// Reserves one call for `account`. The completion runs on the io_context with the wait,
  /// or with an error (Redis unreachable, timeout): the caller decides whether to retry.
  void reserve(std::string_view account, Completion done);

  /// The Redis key for an account.
  std::string key(std::string_view account) const { return ns_ + ":fleet:" + std::string(account); }
  double rate() const { return rate_; }
  double burst() const { return burst_; }

 private:
  queue::RedisConnection& redis_;
  std::string ns_;
  double rate_;
  double burst_;
};

}  // namespace iamq::worker
