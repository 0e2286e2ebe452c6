#pragma once
/// A per-account circuit breaker for credential failures (sans-io; the clock is injected).
///
///   closed ──credentials error──▶ open ──probe_interval elapsed, allow()──▶ half_open
///     ▲                            ▲                                         │
///     └──────── on_success() ──────┼──────────── on_success() ◀──────────────┤
///                                  └──────── credentials error ◀─────────────┘
///
/// While open, the engine takes no job of that account from the queue (they stay queued,
/// untouched). After `probe_interval`, allow() lets exactly one job through as the probe
/// (state half_open); its first IAM answer decides: any answer that is not a credentials
/// error closes the circuit (on_success), a credentials error opens it again with the
/// interval restarted. If the probe job ends without an IAM answer (shutdown, invalid job),
/// call release_probe() so the next allow() may probe again.
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "client/iam_response.hpp"

namespace iamq::worker {

class CircuitBreaker {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;
  enum class State { closed, open, half_open };

  /// `now` empty: steady_clock::now.
  explicit CircuitBreaker(std::chrono::milliseconds probe_interval, Now now = {});

  /// May a job of this account start now? closed: yes. open: no, unless probe_interval has
  /// passed since it opened — then yes, once (becomes half_open). half_open: no (the probe
  /// is in flight).
  bool allow();
  /// An IAM answer that is not a credentials error: close.
  void on_success();
  /// A credentials-class error (InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken…):
  /// open (again), remember the error and the time.
  void on_credentials_error(const client::IamError& error);
  /// The probe ended without an IAM answer: half_open → open with the probe due at once.
  void release_probe();

  /// The state now. An open circuit whose interval has passed still reads `open` until
  /// allow() is called.
  State state() const { return state_; }
  /// The error that opened the circuit (kept until it closes).
  const std::optional<client::IamError>& last_error() const { return last_error_; }
  /// When it (last) opened.
  std::optional<Clock::time_point> opened_at() const { return opened_at_; }
  /// How long until allow() would let a probe through: zero when closed or when due;
  /// the remaining time when open; probe_interval while half_open.
  Clock::duration retry_in() const;
  /// How many times it opened (metric).
  long open_count() const { return open_count_; }

 private:
  std::chrono::milliseconds interval_;
  Now now_;
  State state_ = State::closed;
  std::optional<client::IamError> last_error_;
  std::optional<Clock::time_point> opened_at_;
  Clock::time_point probe_due_{};
  long open_count_ = 0;
};

/// "closed" | "open" | "half_open"
std::string_view to_string(CircuitBreaker::State s);

}  // namespace iamq::worker
