#pragma once
/// The step log entry the worker records for every IAM call (sans-io): action, parameters
/// with secrets redacted, HTTP status, error code and class, request id, attempt, duration.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "client/iam_response.hpp"
#include "client/query_encoder.hpp"

namespace iamq::worker {

/// True for parameter names that carry a secret and must never be stored or logged; the
/// same rule as is_secret_name() (worker/redaction.hpp).
bool is_secret_param(std::string_view name);

/// The parameters as a JSON object, secret values replaced by "<redacted>". List members
/// (`Name.member.N`) stay as separate keys, in order.
nlohmann::json redact_params(const client::Params& params);

/// What the worker did with a call's outcome.
enum class StepDisposition {
  done,       ///< success (or a final error fed to the planner)
  retry,      ///< retryable error: the call is made again after a timer
  delayed,    ///< retryable error: the job went to the delayed set
  handed_back,///< credentials error: the account's circuit opened, the job went back
};
std::string_view to_string(StepDisposition d);

/// Facts about one call, independent of the client's types so that it is easy to test.
struct StepFacts {
  std::string action;
  client::Params params;
  int attempt = 1;                     ///< 1 for the first try of this call
  std::chrono::milliseconds duration{0};
  int http_status = 0;
  bool dry_run = false;
  /// When it was answered (the record's at_ms); unset: now.
  std::optional<std::chrono::system_clock::time_point> at;
};

/// Passed through redact() (worker/redaction.hpp) before it is returned.
/// {"action","params","attempt","duration_ms","http_status","request_id","at_ms",
///  "result":"ok"|"absent"|"unsupported"|"error", "code","class","message" (errors),
///  "disposition", "retry_in_ms" (retry/delayed)}.
nlohmann::json make_step_record(const StepFacts& facts, const client::Outcome& outcome,
                                StepDisposition disposition,
                                std::chrono::milliseconds retry_in = std::chrono::milliseconds(0));

/// The IamError as JSON for results: {"class","code","message","http_status","request_id"}.
nlohmann::json error_json(const client::IamError& e);

}  // namespace iamq::worker
