#pragma once
/// The account gate (sans-io; the clock is injected): decides how many jobs of one account
/// may start now. A job starts only when it can make progress at once, so a job never holds
/// a worker slot while it waits for its account — it waits in its lane in Redis instead:
///  - paused (iamq pause, for the account or every account): none;
///  - circuit open (credentials rejected): none, except the one probe job when it is due;
///  - no token in the account's limiter, or jobs of this account already waiting for a
///    token (the account is at its rate): none;
///  - enough of its jobs running already: none. One job makes its calls one after another, so
///    it can use at most 1 ÷ (its time per call) of the account's rate; the account needs
///    ceil(rate × time per call) + 1 jobs running to use its whole rate (wanted_running()),
///    and a job beyond that would only wait for tokens in a slot another account could use;
///  - otherwise as many as there are whole tokens (at least one), free slots and jobs wanted.
/// The shell reports how many of its jobs wait for a token (waiting_for_token), how many run
/// (set_busy), how long a job took per call (on_cycle) and what a claim brought
/// (on_claimed), which gives back a probe nobody used.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "worker/circuit_breaker.hpp"
#include "worker/rate_limiter.hpp"

namespace iamq::worker {

class AccountGate {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  /// What grant() allows.
  struct Grant {
    std::size_t jobs = 0;  ///< how many may start now
    bool probe = false;    ///< the single probe of a half-open circuit
  };

  AccountGate(std::string name, RateLimiter::Options limiter,
              std::chrono::milliseconds probe_interval, Now now = {});

  const std::string& name() const { return name_; }
  RateLimiter& limiter() { return limiter_; }
  const RateLimiter& limiter() const { return limiter_; }
  CircuitBreaker& breaker() { return breaker_; }
  const CircuitBreaker& breaker() const { return breaker_; }

  /// Paused in Redis (from the last stats snapshot; claim.lua enforces it too).
  void set_paused(bool p) { paused_ = p; }
  bool paused() const { return paused_; }

  /// Jobs of this account in the shell's line for a token.
  void set_waiting_for_token(std::size_t n) { waiting_ = n; }
  std::size_t waiting_for_token() const { return waiting_; }

  /// Jobs of this account running in the shell, not counting those in a retry wait.
  void set_busy(std::size_t n) { busy_ = n; }
  std::size_t busy() const { return busy_; }

  /// One job's time per call outside the token line: from its token to its next request for
  /// one, or to its end (the call, its step write, the planner). Kept as a moving average.
  void on_cycle(Clock::duration d);
  /// The moving average of on_cycle() (kInitialCycle before the first sample).
  Clock::duration cycle() const { return cycle_; }
  /// How many running jobs use the account's whole current rate: ceil(rate × cycle) + 1.
  std::size_t wanted_running() const;

  /// The time per call assumed before one is measured: a call over the Internet and a
  /// Redis write.
  static constexpr std::chrono::milliseconds kInitialCycle{100};

  /// How many jobs may start now, given `free_slots`. A probe grant takes the circuit's probe
  /// (half_open): report what the claim brought with on_claimed().
  Grant grant(std::size_t free_slots);
  /// A claim for `g` started `started` jobs. A probe grant that started none gives the probe
  /// back, so that the next grant() may probe again.
  void on_claimed(const Grant& g, std::size_t started);

  /// Why grant() would give nothing now ("paused", "circuit_open", "rate", "busy": enough of
  /// its jobs run to use its rate, "" when open).
  std::string closed_reason() const;

 private:
  std::string name_;
  RateLimiter limiter_;
  CircuitBreaker breaker_;
  bool paused_ = false;
  std::size_t waiting_ = 0;
  std::size_t busy_ = 0;
  Clock::duration cycle_ = kInitialCycle;
  bool cycle_measured_ = false;
};

}  // namespace iamq::worker
