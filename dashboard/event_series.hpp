#pragma once
/// Per-second tallies of the events stream over the last hour (sans-io): jobs finished,
/// IAM calls (one `step` event each), retries by error class, and IAM calls per account
/// over the last minute. The dashboard feeds it every event it reads from <ns>:events and
/// draws the chart from points().
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace iamq::dashboard {

/// Retry classes shown on the chart (client::ErrorClass names; "other" for anything else).
inline constexpr std::array<std::string_view, 5> kRetryClasses = {
    "throttled", "transient", "concurrent_modification", "unmodifiable", "other"};

/// The retry class of an event's `error` text ("Throttling: Rate exceeded" -> "throttled").
std::string retry_class_of(std::string_view error_text);

class EventSeries {
 public:
  static constexpr int kSeconds = 3600;  ///< the window the chart shows
  static constexpr int kRateWindow = 10;  ///< seconds averaged for an account's current rate

  /// Counts one event. `fields` are the entry's fields (event, id, status, at, error …);
  /// `account` is the job's account when known ("" otherwise). Events older than the
  /// window, or with no `at`, are ignored.
  void add(const std::map<std::string, std::string>& fields, std::string_view account);

  /// {"t": [unix seconds…], "jobs": […], "calls": […], "retries": {"throttled": […], …}}
  /// for the kSeconds seconds that end at `now_ms` (oldest first; missing seconds are 0).
  nlohmann::json points(std::int64_t now_ms) const;
  /// The same over the last `seconds` seconds, summed into buckets of `bucket` seconds
  /// (the page's table for readers without JavaScript).
  nlohmann::json buckets(std::int64_t now_ms, int seconds, int bucket) const;
  /// IAM calls per second of each account, averaged over the kRateWindow seconds before now.
  std::map<std::string, double> account_rates(std::int64_t now_ms) const;

 private:
  struct Second {
    std::int64_t at = -1;  ///< unix second this slot holds; -1: empty
    int jobs = 0;
    int calls = 0;
    std::array<int, kRetryClasses.size()> retries{};
  };
  Second& slot(std::int64_t second);
  const Second* find(std::int64_t second) const;

  std::vector<Second> seconds_ = std::vector<Second>(kSeconds);
  /// account -> ring of (second, calls) for the rate window
  std::map<std::string, std::array<std::pair<std::int64_t, int>, 64>> account_calls_;
};

}  // namespace iamq::dashboard
