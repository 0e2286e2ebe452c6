#pragma once
/// A per-account token bucket with adaptive rate (sans-io; the clock is injected).
///
/// Use: before each call `auto wait = limiter.reserve();` then wait that long (an Asio
/// timer) and make the call; afterwards report `on_throttled()` for a throttled outcome or
/// `on_success()` for any answer that was not throttling. One limiter per account, shared by
/// every job of the process.
///
/// reserve() always takes a token: the bucket may go negative, which queues reservations
/// fairly (each caller's wait = its place in line / rate). So N callers reserving at once
/// with an empty bucket get waits 1/rate, 2/rate, … N/rate.
///
/// Adaptive mode (AIMD, in the spirit of the AWS SDKs' "adaptive" retry mode):
///  - on_throttled(): rate *= cut_factor (0.7), not below floor_fraction * configured rate;
///    the bucket's positive tokens are dropped (no burst right after a throttle). Several
///    throttles arriving within `cut_cooldown` (the calls that were already in flight) count
///    as one cut.
///  - on_success(): while below the configured rate, the rate grows linearly with time since
///    the last change: + configured * elapsed / recovery_period, capped at the configured
///    rate (from one cut, 0.7 → 1.0 takes 0.3 * recovery_period of successful traffic).
///  - the bucket size scales with the rate: burst * current_rate / configured_rate (≥ 1).
#include <chrono>
#include <functional>

namespace iamq::worker {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  /// The time source; tests inject a fake clock.
  using Now = std::function<Clock::time_point()>;

  struct Options {
    double rate = 10.0;    ///< configured calls per second (> 0)
    double burst = 20.0;   ///< bucket size at the configured rate (≥ 1)
    bool adaptive = true;  ///< false: on_throttled()/on_success() do nothing
    double cut_factor = 0.7;
    double floor_fraction = 0.05;  ///< the rate never drops below rate * floor_fraction
    std::chrono::milliseconds recovery_period{10000};
    std::chrono::milliseconds cut_cooldown{1000};
  };

  /// Starts with a full bucket. `now` empty: steady_clock::now.
  explicit RateLimiter(Options opts, Now now = {});
  RateLimiter(double rate, double burst, Now now = {});

  /// Takes one token; returns how long the caller must wait before making its call
  /// (zero when a token was available).
  Clock::duration reserve();
  /// Takes a token only if one is available now; false otherwise (nothing is reserved).
  bool try_acquire();
  /// How long until a token would be available without reserving it (zero if one is).
  Clock::duration time_until_available() const;

  /// A call on this account was throttled: cut the rate (see above).
  void on_throttled();
  /// A call on this account got an answer that was not throttling: recover the rate.
  void on_success();

  double current_rate() const { return rate_; }        ///< calls/s now (metric)
  double configured_rate() const { return opts_.rate; }
  double capacity() const;                            ///< bucket size at the current rate
  double tokens() const;                              ///< tokens now (negative: queue)
  /// Changes the configured rate/burst (config reload); the current rate is clamped.
  void reconfigure(double rate, double burst);

 private:
  void refill(Clock::time_point t);

  Options opts_;
  Now now_;
  double rate_;
  double tokens_;
  Clock::time_point last_refill_;
  Clock::time_point last_change_;          ///< last cut or recovery step
  Clock::time_point last_cut_;
  bool cut_ever_ = false;
};

}  // namespace iamq::worker
