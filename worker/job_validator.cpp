#include "worker/job_validator.hpp"

#include <utility>
#include <variant>

#include "worker/fan_out.hpp"
#include "worker/redaction.hpp"

namespace iamq::worker {

queue::JobSummary summarize(const Job& job) {
  queue::JobSummary s;
  s.id = job.id;
  s.type = std::string(to_string(job.type));
  s.account = job.account;
  s.user_name = job.user_name;
  s.max_attempts = job.max_attempts;
  s.priority = job.priority;
  s.not_before_ms = job.not_before_ms;
  s.canonical_json = to_json(job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (is_fan_out(job)) {
    s.parent = true;
    s.account = "*";
    if (!job.fan_out_all) {
      s.account.clear();
      for (const auto& a : job.fan_out) s.account += (s.account.empty() ? "" : ",") + a;
    }
  }
  return s;
}

std::optional<JobError> check_notify(const Job& job, const std::set<std::string>& webhooks) {
  if (job.notify.empty() || webhooks.count(job.notify)) return std::nullopt;
  return JobError{"notify", "notify \"" + job.notify + "\" names no webhook in the config ([webhooks." +
                                job.notify + "])"};
}

queue::JobValidator job_validator() {
  return [](std::string_view text,
            std::string_view default_id) -> std::variant<queue::JobSummary, std::string> {
    auto parsed = parse_job(text);
    if (auto* e = std::get_if<JobError>(&parsed)) return redact_text(e->message);  // stored and printed
    auto& job = std::get<Job>(parsed);
    if (job.id.empty()) job.id = std::string(default_id);
    return summarize(job);
  };
}

queue::JobValidator job_validator(std::set<std::string> webhooks) {
  return [webhooks = std::move(webhooks)](std::string_view text, std::string_view default_id)
             -> std::variant<queue::JobSummary, std::string> {
    auto parsed = parse_job(text);
    if (auto* e = std::get_if<JobError>(&parsed)) return redact_text(e->message);
    auto& job = std::get<Job>(parsed);
    if (auto e = check_notify(job, webhooks)) return e->message;
    if (job.id.empty()) job.id = std::string(default_id);
    return summarize(job);
  };
}

queue::JobValidator job_validator(std::set<std::string> webhooks, std::set<std::string> accounts) {
  return job_validator_over(std::move(webhooks), [accounts = std::move(accounts)] { return accounts; });
}

queue::JobValidator job_validator_over(std::set<std::string> webhooks, std::function<std::set<std::string>()> accounts_now) {
  return [inner = job_validator(std::move(webhooks)), accounts_now = std::move(accounts_now)](
             std::string_view text, std::string_view default_id) -> std::variant<queue::JobSummary, std::string> {
    auto checked = inner(text, default_id);
    auto* s = std::get_if<queue::JobSummary>(&checked);
    if (!s || !s->parent) return checked;
    auto parsed = parse_job(s->canonical_json);  // canonical: parses, with the id filled in
    if (auto* e = std::get_if<JobError>(&parsed)) return e->message;
    auto& job = std::get<Job>(parsed);
    job.id = s->id;
    auto targets = fan_out_accounts(job, accounts_now());
    if (auto* e = std::get_if<JobError>(&targets)) return e->message;
    s->children = fan_out_children(job, std::get<std::vector<std::string>>(targets));
    return checked;
  };
}

}  // namespace iamq::worker
