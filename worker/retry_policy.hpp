#pragma once
/// Retry decisions (sans-io): per error class, exponential backoff with full jitter and a
/// cap, a maximum number of attempts, and whether the wait is short enough for an
/// in-process timer or long enough to send the job to the delayed set.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "client/iam_response.hpp"
#include "config/config.hpp"

namespace iamq::worker {

/// What to do after a failed attempt.
struct RetryDecision {
  bool retry = false;                    ///< false: give up (attempts spent, or not retryable)
  std::chrono::milliseconds delay{0};    ///< wait before the next attempt (retry only)
  bool use_delayed_set = false;          ///< delay >= threshold: park the job, free the slot
  std::string reason;                    ///< give up: "attempts spent (8 of 8)", "not retryable"
};

/// Backoff per error class:
///   delay = uniform(0, min(cap, base * 2^(attempt-1)))        (AWS "full jitter")
/// where `attempt` is the number of attempts already made for this call (1 after the
/// first failure). Give up when attempt >= max_attempts (the class's, or the job's own
/// max_attempts when that is > 0).
///
/// Retryable classes: throttled, transient, concurrent_modification, unmodifiable (keys of
/// config::Config::backoff with the same names). Every other class (absent, conflict,
/// credentials, denied, terminal) is never retried here: absent/conflict are planner
/// business, credentials opens the circuit, denied/terminal fail the job.
class RetryPolicy {
 public:
  /// Uniform random number in [0, 1). Inject a fixed one in tests.
  using Random = std::function<double()>;

  /// `table` keyed by class name; missing classes use config::defaults()'s entry.
  /// `random` empty: a std::mt19937_64 seeded from std::random_device.
  RetryPolicy(std::map<std::string, config::Backoff> table,
              std::chrono::milliseconds delay_threshold, Random random = {});
  /// From cfg.backoff and cfg.delay_threshold.
  explicit RetryPolicy(const config::Config& cfg, Random random = {});

  /// The decision after `attempt` failed attempts ended in `cls`.
  /// `job_max_attempts` > 0 replaces the class's max_attempts (a job may ask to be more or
  /// less patient); 0 keeps the class's. Pass the job's own `max_attempts` (0 when the job
  /// did not set one), not config max_attempts (that bounds deliveries of a job, the
  /// engine's business).
  RetryDecision decide(client::ErrorClass cls, int attempt, int job_max_attempts = 0) const;

  /// The upper bound of the jitter window for `attempt` (min(cap, base*2^(attempt-1))),
  /// or nullopt for a class that is not retried. Overflow-safe.
  std::optional<std::chrono::milliseconds> window(client::ErrorClass cls, int attempt) const;

  /// The backoff entry for a retryable class, nullopt otherwise.
  std::optional<config::Backoff> backoff(client::ErrorClass cls) const;

  std::chrono::milliseconds delay_threshold() const { return threshold_; }

  /// True for throttled, transient, concurrent_modification, unmodifiable.
  static bool retryable(client::ErrorClass cls);
  /// The config key for a retryable class ("throttled", …); empty for the others.
  static std::string backoff_key(client::ErrorClass cls);

 private:
  std::map<std::string, config::Backoff> table_;
  std::chrono::milliseconds threshold_;
  Random random_;
};

}  // namespace iamq::worker
