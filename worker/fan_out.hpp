#pragma once
/// Fan-out jobs (issue 11): `"accounts": ["prod", "dev"]` or `"accounts": "*"` on
/// offboard_user, delete_user and deactivate_mfa. The job becomes a parent that makes no IAM
/// call itself; it has one child per account, a copy of the job with `account` set and the id
/// `<parent id>/<account>` (so a second routing of the parent creates no second child). The
/// parent's status aggregates its children's in Redis (queue/lua/common.lua): succeeded when
/// every child succeeded (an `absent` user counts as success), otherwise failed.
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue/job_queue.hpp"
#include "worker/job.hpp"

namespace iamq::worker {

/// At most this many children per parent.
inline constexpr std::size_t max_fan_out = 1000;

/// Reads the `accounts` field of `j` into `job` (nothing when absent). Refuses it on other
/// job types, together with `account`, empty or duplicate lists and bad names.
std::optional<JobError> parse_fan_out(const nlohmann::json& j, Job& job);

/// Writes `accounts` of a parent into its canonical JSON.
void fan_out_to_json(const Job& job, nlohmann::json& j);

/// The accounts a parent fans out to: its list, or every account of `configured` for "*".
/// An error names an account that is not configured, or a child id that would be too long.
std::variant<std::vector<std::string>, JobError> fan_out_accounts(
    const Job& parent, const std::set<std::string>& configured);

/// The id of the child of `parent_id` for `account`.
std::string child_id(const std::string& parent_id, const std::string& account);

/// The queue's view of each child of `parent` (canonical JSON with account and id set; no
/// `notify`: the parent reports the outcome once, for all of them).
std::vector<queue::JobSummary> fan_out_children(const Job& parent,
                                                const std::vector<std::string>& accounts);

}  // namespace iamq::worker
