#pragma once
/// A job as enqueued (JSON) and as the worker runs it. Parsing validates as IAM does.
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue/job_queue.hpp"

namespace iamq::worker {

enum class JobType { offboard_user, deactivate_mfa, delete_user, iam_calls, deactivate_root_mfa };
std::string_view to_string(JobType t);
std::optional<JobType> job_type_from_string(std::string_view s);

/// One call of an `iam_calls` job. A JSON array value becomes list members Name.member.N.
struct IamStep {
  std::string action;
  std::vector<std::pair<std::string, std::string>> params;
};

struct Job {
  std::string id;  ///< assigned at enqueue when the JSON has none
  JobType type = JobType::offboard_user;
  std::string account = "default";
  std::string user_name;      ///< offboard_user, deactivate_mfa, delete_user
  std::string serial_number;  ///< deactivate_mfa: empty = every device of the user
  bool keep_user = false;       ///< offboard_user: disable instead of delete
  bool delete_virtual = false;  ///< deactivate_mfa: delete virtual devices afterwards
  std::vector<IamStep> steps;   ///< iam_calls
  /// deactivate_root_mfa: the member account whose root user is acted on (12 digits), through
  /// sts:AssumeRoot from `account` (the management account).
  std::string root_account_id;
  bool delete_root_credentials = false;  ///< deactivate_root_mfa: also login profile, keys, certificates
  int max_attempts = 0;         ///< 0: the worker's default
  bool dry_run = false;
  std::string priority = "normal";  ///< urgent | normal | bulk
  long long not_before_ms = 0;      ///< 0: none; else no call before this time (ms, UTC)
  nlohmann::json meta;  ///< opaque, echoed into the result
  std::string notify;   ///< a [webhooks.NAME] to tell about the outcome; "" for none
  /// Fan-out (worker/fan_out.hpp): the accounts of the children, or every configured one.
  std::vector<std::string> fan_out;
  bool fan_out_all = false;
};

/// The job is a fan-out parent (`accounts`): it makes no call, its children do.
inline bool is_fan_out(const Job& j) { return j.fan_out_all || !j.fan_out.empty(); }

/// Why a job was refused: the field and a message that names field and rule, e.g.
/// `user_name "bad name" does not match [\w+=,.@-]+`.
struct JobError {
  std::string field;
  std::string message;
};

/// Checks an account name (1-64 of [A-Za-z0-9_.-]); the error names the field `account`.
std::optional<JobError> check_account_name(std::string_view name);

/// Parses and validates one job from JSON text. Never throws.
std::variant<Job, JobError> parse_job(std::string_view json_text);
/// The canonical JSON form of a job (what is stored in Redis).
nlohmann::json to_json(const Job& job);

/// Largest accepted job JSON text (bytes).
inline constexpr std::size_t max_job_size = 64 * 1024;

/// A fresh job id (32 random hex digits) for jobs enqueued without one.
std::string generate_job_id();
}  // namespace iamq::worker
