#pragma once
/// When to try Redis again after a failed or lost connection (sans-io): exponential from
/// `min` to `max`, each delay jittered into [d/2, d] so a fleet of workers does not reconnect
/// in lockstep. reset() only once a connection has proved to be Redis (the handshake's PING
/// answered): a server that accepts TCP and then talks garbage keeps backing off.
#include <chrono>
#include <cstdint>

namespace iamq::queue {

class ReconnectBackoff {
 public:
  ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max);

  /// The delay before the next attempt; `random` is any 32-bit random number (the jitter).
  std::chrono::milliseconds next(std::uint32_t random);
  /// Back to `min` (a healthy connection).
  void reset() { failures_ = 0; }
  /// Consecutive failed attempts since the last reset.
  int failures() const { return failures_; }
  /// The un-jittered delay the next call to next() draws from.
  std::chrono::milliseconds ceiling() const;

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
};

}  // namespace iamq::queue
