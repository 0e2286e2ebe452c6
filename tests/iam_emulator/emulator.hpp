#pragma once
/// The emulator's sans-io core: one HTTP request in, one response out. SigV4 verification,
/// the rate limit, injected faults, the unmodifiable window, statistics and the
/// /_emulator/ admin endpoints live here; the Beast server (server.hpp) only carries bytes.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/iam_emulator/faults.hpp"
#include "tests/iam_emulator/iam_unimplemented.hpp"
#include "tests/iam_emulator/iam_actions.hpp"
#include "tests/iam_emulator/iam_state.hpp"
#include "tests/iam_emulator/sts_actions.hpp"

namespace iamq::emulator {

/// A received HTTP request. `target` is the raw request target ("/?Action=…" or "/").
struct Request {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  TimePoint now;  ///< when it arrived (injected in tests)
};

/// What to send back, and how.
struct Response {
  int status = 200;
  std::string content_type = "text/xml";
  std::string body;
  std::string request_id;               ///< also sent as x-amzn-RequestId
  std::chrono::microseconds delay{0};   ///< injected latency: wait this long before answering
  bool drop_connection = false;         ///< close the connection without answering
};

/// Start-up settings that are not faults.
struct Options {
  int page_size = 5;                         ///< List* page size when MaxItems is absent
  std::string region = "us-east-1";          ///< the only region accepted in credential scopes
  std::chrono::seconds max_clock_skew{300};  ///< beyond it: RequestExpired
  std::uint64_t random_seed = 1;             ///< every fault and jitter draw
  FaultConfig faults;
  /// Actions answered as an endpoint that lacks them answers (`--unimplemented`).
  UnimplementedActions unimplemented;
};

/// Counters served by /_emulator/stats.
struct Stats {
  using Counts = std::map<std::string, std::uint64_t, std::less<>>;
  std::uint64_t total_calls = 0;
  std::map<std::string, Counts, std::less<>> calls;  ///< action → code ("OK" on success) → n
  /// user name → action → code → n, for mutating calls naming a UserName.
  std::map<std::string, std::map<std::string, Counts, std::less<>>, std::less<>> mutations_by_user;
  std::size_t max_calls_per_second = 0;  ///< highest count in any sliding one-second window
  std::deque<TimePoint> last_second;     ///< arrival times within the last second
};

class Emulator {
 public:
  Emulator(State initial, Options options, StsState sts = {});

  /// Handles one request: an admin call under /_emulator/, otherwise an IAM call.
  Response handle(const Request& request);

  const State& state() const { return state_; }
  State& state() { return state_; }
  const FaultConfig& faults() const { return options_.faults; }
  void set_faults(FaultConfig faults, TimePoint now);
  /// Back to the start-up state, faults, random sequence and empty statistics.
  void reset(TimePoint now);
  const Stats& stats() const { return stats_; }
  const StsState& sts() const { return sts_; }
  nlohmann::json stats_json() const;

 private:
  Response handle_admin(const Request& request, std::string_view path);
  Response handle_iam(const Request& request);
  /// STS (Query) and Organizations (JSON) calls: sts_actions.hpp.
  Response handle_sts(const Request& request, bool organizations);
  /// Verifies SigV4 for `service`; on success sets `key` to the signing key.
  std::optional<ApiError> authenticate(const Request& request, std::string_view path,
                                       std::string_view query, const ApiKey*& key,
                                       std::string_view service = "iam");
  std::optional<ApiError> draw_fault(const ActionSpec& spec, Response& response);
  void count(std::string_view action, std::string_view code);
  std::string next_request_id();

  State initial_state_;
  StsState initial_sts_;
  StsState sts_;
  Options initial_options_;
  State state_;
  Options options_;
  Random random_;
  std::unordered_map<std::string, TokenBucket> buckets_;  ///< by account id
  std::unordered_map<std::string, TimePoint> last_change_;  ///< "<account>/user:<name>" → time
  Stats stats_;
  std::uint64_t request_counter_ = 0;
  std::uint64_t request_salt_;
};

/// The fuzzing entry point: raw method, target, headers and body through the whole core.
Response handle_raw(Emulator& emulator, std::string_view method, std::string_view target,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view body);

}  // namespace iamq::emulator
