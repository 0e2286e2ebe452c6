#include "worker/step_record.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "worker/redaction.hpp"

namespace iamq::worker {

namespace {

std::int64_t unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool is_secret_param(std::string_view name) { return is_secret_name(name); }

nlohmann::json redact_params(const client::Params& params) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : params) out[k] = is_secret_name(k) ? std::string(kRedacted) : redact_text(v);
  return out;
}

std::string_view to_string(StepDisposition d) {
  switch (d) {
    case StepDisposition::done: return "done";
    case StepDisposition::retry: return "retry";
    case StepDisposition::delayed: return "delayed";
    case StepDisposition::handed_back: return "handed_back";
  }
  return "done";
}

nlohmann::json error_json(const client::IamError& e) {
  return {{"class", std::string(client::to_string(e.error_class))},
          {"code", redact_text(e.code)},
          {"message", redact_text(e.message)},
          {"http_status", e.http_status},
          {"request_id", e.request_id}};
}

nlohmann::json make_step_record(const StepFacts& facts, const client::Outcome& outcome,
                                StepDisposition disposition, std::chrono::milliseconds retry_in) {
  nlohmann::json j = {{"action", redact_text(facts.action)},
                      {"params", redact_params(facts.params)},
                      {"attempt", facts.attempt},
                      {"duration_ms", facts.duration.count()},
                      {"http_status", facts.http_status},
                      {"at_ms", unix_ms(facts.at.value_or(std::chrono::system_clock::now()))},
                      {"disposition", std::string(to_string(disposition))}};
  if (facts.dry_run) j["dry_run"] = true;
  if (outcome.ok) {
    j["result"] = "ok";
    j["request_id"] = redact_text(outcome.ok->request_id);
    if (outcome.ok->http_status) j["http_status"] = outcome.ok->http_status;
  } else if (outcome.error) {
    const auto& e = *outcome.error;
    j["result"] = e.error_class == client::ErrorClass::absent        ? "absent"
                  : e.error_class == client::ErrorClass::unsupported ? "unsupported"
                                                                     : "error";
    j["code"] = redact_text(e.code);
    j["class"] = std::string(client::to_string(e.error_class));
    j["message"] = redact_text(e.message);
    j["request_id"] = redact_text(e.request_id);
    if (e.http_status) j["http_status"] = e.http_status;
  }
  if (disposition == StepDisposition::retry || disposition == StepDisposition::delayed) {
    j["retry_in_ms"] = retry_in.count();
  }
  // Every text that came from the job or the answer went through redact_params() or
  // redact_text() above; the rest (action, class, disposition) are iamq's own words, so the
  // record needs no second pass over all of it.
  return j;
}

}  // namespace iamq::worker
