#pragma once
/// From a parsed job to what the queue stores (summarize) and the validators the queue runs
/// on every entry it adopts or routes (JobQueue's JobValidator): parse_job, the config's
/// webhooks, and a fan-out parent expanded into its children.
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "queue/job_queue.hpp"
#include "worker/job.hpp"

namespace iamq::worker {

/// What the queue stores about a parsed job (canonical JSON included).
queue::JobSummary summarize(const Job& job);
/// The validator JobQueue::adopt uses: parse_job, then `default_id` when the job has no id.
queue::JobValidator job_validator();
/// The same, and a job whose `notify` names none of `webhooks` is invalid (the worker's
/// validator: it has the config; a producer without one checks only the name's syntax).
queue::JobValidator job_validator(std::set<std::string> webhooks);
/// The worker's validator: also expands a fan-out parent into its children over the
/// configured `accounts` (an account it names that is not configured makes it invalid).
queue::JobValidator job_validator(std::set<std::string> webhooks, std::set<std::string> accounts);
/// The same over the accounts `accounts_now()` answers at each parent's routing (the worker's
/// accounts change when [organization] is read again).
queue::JobValidator job_validator_over(std::set<std::string> webhooks, std::function<std::set<std::string>()> accounts_now);
/// Why `job.notify` is refused by a config whose webhooks are `webhooks`, or nullopt.
std::optional<JobError> check_notify(const Job& job, const std::set<std::string>& webhooks);

}  // namespace iamq::worker
