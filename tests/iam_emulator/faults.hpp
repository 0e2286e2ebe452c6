#pragma once
/// Fault injection (sans-io): the fault configuration and its JSON form, the seeded random
/// source every draw comes from, and the account token bucket.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/iam_emulator/iam_state.hpp"

namespace iamq::emulator {

/// Probabilities (0…1) of each injected failure for one action. Unset fields fall back to
/// the "*" entry. `unmodifiable` and `concurrent_modification` are drawn only for mutating
/// actions (IAM never answers them to reads).
struct ActionFaults {
  std::optional<double> unmodifiable;             ///< EntityTemporarilyUnmodifiable 409
  std::optional<double> concurrent_modification;  ///< ConcurrentModification 409
  std::optional<double> service_failure;          ///< ServiceFailure 500
  std::optional<double> html_503;                 ///< an HTML 503 page, not XML
  std::optional<double> drop_connection;          ///< connection closed without a response
};

/// Everything that can go wrong on purpose.
struct FaultConfig {
  double latency_ms = 0;  ///< added to every IAM call
  double jitter_ms = 0;   ///< plus uniform [0, jitter_ms)
  double unmodifiable_window_s = 0;  ///< >0: mutating an entity changed < T s ago → 409
  double rate_limit = 0;             ///< account calls/s (token bucket); 0 = unlimited
  double rate_burst = 0;             ///< bucket size; 0 = max(1, rate_limit)
  std::map<std::string, ActionFaults, std::less<>> actions;  ///< action name or "*"

  /// The probability of each kind for `action` (the action's entry, else "*", else 0).
  double unmodifiable_p(std::string_view action) const;
  double concurrent_p(std::string_view action) const;
  double service_failure_p(std::string_view action) const;
  double html_503_p(std::string_view action) const;
  double drop_p(std::string_view action) const;
  bool any_probability() const { return !actions.empty(); }
};

/// Parses the JSON form (see README / to_json); throws SeedError naming the bad field.
FaultConfig faults_from_json(const nlohmann::json& j);
nlohmann::json to_json(const FaultConfig& f);

/// Uniform draws from one seeded generator, independent of the standard library's
/// distribution implementations, so a seed replays the same everywhere.
class Random {
 public:
  explicit Random(std::uint64_t seed) : rng_(seed) {}
  double unit() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }  ///< [0, 1)
  bool chance(double p) { return p > 0 && (p >= 1 || unit() < p); }
  std::uint64_t next() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

/// A token bucket: `rate` tokens per second, at most `burst`, starting full. Time is passed in.
class TokenBucket {
 public:
  void configure(double rate, double burst, TimePoint now);
  /// Takes a token if one is available.
  bool take(TimePoint now);
  bool enabled() const { return rate_ > 0; }

 private:
  double rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;
  TimePoint last_{};
};

}  // namespace iamq::emulator
