// Planners: job → IAM calls, as resumable state machines (sans-io). See planner.hpp for the
// protocol with the engine. Shared pieces live here; the per-type machines are in
// offboard_planner.cpp (offboard_user, delete_user, deactivate_mfa) and
// iam_calls_planner.cpp.
#include "worker/planner.hpp"

#include <ctime>
#include <set>
#include <utility>

#include "config/config.hpp"
#include "worker/planner_detail.hpp"

namespace iamq::worker {

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool is_read_only_action(std::string_view action) {
  return (starts_with(action, "Get") || starts_with(action, "List")) && action.size() > 4;
}

bool is_virtual_mfa_serial(std::string_view serial) {
  // arn:<partition>:iam::<account>:mfa/<path/name>
  if (!starts_with(serial, "arn:")) return false;
  const auto iam = serial.find(":iam::");
  const auto mfa = serial.find(":mfa/");
  return iam != std::string_view::npos && mfa != std::string_view::npos && iam < mfa;
}

nlohmann::json to_json(const PlannedCall& c) {
  nlohmann::json params = nlohmann::json::array();
  for (const auto& [k, v] : c.params) params.push_back({k, v});
  return {{"action", c.action}, {"params", params}, {"mutating", c.mutating}, {"description", c.description}};
}

PlannedCall planned_call_from_json(const nlohmann::json& j) {
  PlannedCall c;
  c.action = j.at("action").get<std::string>();
  for (const auto& kv : j.at("params")) {
    c.params.emplace_back(kv.at(0).get<std::string>(), kv.at(1).get<std::string>());
  }
  c.mutating = j.at("mutating").get<bool>();
  c.description = j.value("description", std::string());
  return c;
}

std::string_view to_string(JobResult::Status s) {
  return s == JobResult::Status::succeeded ? "succeeded" : "failed";
}

nlohmann::json to_json(const JobResult& r) {
  nlohmann::json j = {{"status", to_string(r.status)}, {"outcome", r.outcome}};
  if (r.error) j["error"] = detail::error_to_json(*r.error);
  if (r.invalid) j["invalid"] = true;
  if (!r.would_call.empty() || r.outcome == "dry_run") {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : r.would_call) {
      // The result is for people and integrations: params as an object, in a stable order.
      nlohmann::json params = nlohmann::json::object();
      for (const auto& [k, v] : c.params) params[k] = v;
      calls.push_back({{"action", c.action}, {"params", params}, {"description", c.description}});
    }
    j["would_call"] = calls;
  }
  if (r.conflict_rounds > 0) j["conflict_rounds"] = r.conflict_rounds;
  if (!r.unsupported.empty()) j["unsupported"] = detail::unsupported_to_json(r.unsupported);
  if (!r.hold_time.empty() || !r.disabled.empty() || !r.already_inactive.empty()) {
    j["legal_hold"] = {{"hold_time", r.hold_time},
                       {"policy_name", std::string(kLegalHoldPolicyName)},
                       {"disabled", detail::disabled_to_json(r.disabled)},
                       {"already_inactive", detail::disabled_to_json(r.already_inactive)}};
  }
  return j;
}

std::string iso8601_utc(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string legal_hold_policy_document(std::string_view hold_time) {
  const nlohmann::json doc = {
      {"Version", "2012-10-17"},
      {"Statement",
       nlohmann::json::array({{{"Sid", "IamqLegalHoldRevokeOlderSessions"},
                               {"Effect", "Deny"},
                               {"Action", "*"},
                               {"Resource", "*"},
                               {"Condition", {{"DateLessThan", {{"aws:TokenIssueTime", std::string(hold_time)}}}}}}})}};
  return doc.dump();
}

namespace detail {

namespace {
const std::pair<client::ErrorClass, std::string_view> kClasses[] = {
    {client::ErrorClass::throttled, "throttled"},
    {client::ErrorClass::transient, "transient"},
    {client::ErrorClass::unmodifiable, "unmodifiable"},
    {client::ErrorClass::concurrent_modification, "concurrent_modification"},
    {client::ErrorClass::absent, "absent"},
    {client::ErrorClass::conflict, "conflict"},
    {client::ErrorClass::credentials, "credentials"},
    {client::ErrorClass::denied, "denied"},
    {client::ErrorClass::unsupported, "unsupported"},
    {client::ErrorClass::terminal, "terminal"},
};
}  // namespace

nlohmann::json error_to_json(const client::IamError& e) {
  std::string cls = "terminal";
  for (const auto& [c, name] : kClasses)
    if (c == e.error_class) cls = name;
  return {{"class", cls},
          {"code", e.code},
          {"message", e.message},
          {"http_status", e.http_status},
          {"request_id", e.request_id}};
}

client::IamError error_from_json(const nlohmann::json& j) {
  client::IamError e;
  const std::string cls = j.value("class", std::string("terminal"));
  for (const auto& [c, name] : kClasses)
    if (name == cls) e.error_class = c;
  e.code = j.value("code", std::string());
  e.message = j.value("message", std::string());
  e.http_status = j.value("http_status", 0);
  e.request_id = j.value("request_id", std::string());
  return e;
}

nlohmann::json unsupported_to_json(const std::vector<JobResult::Unsupported>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& u : list) {
    out.push_back({{"action", u.action}, {"what", u.what}, {"code", u.code}, {"http_status", u.http_status}});
  }
  return out;
}

std::vector<JobResult::Unsupported> unsupported_from_json(const nlohmann::json& j) {
  std::vector<JobResult::Unsupported> out;
  if (!j.is_array()) return out;
  for (const auto& u : j) {
    out.push_back({u.at("action").get<std::string>(), u.value("what", std::string()),
                   u.value("code", std::string()), u.value("http_status", 0)});
  }
  return out;
}

nlohmann::json disabled_to_json(const std::vector<JobResult::Disabled>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : list) {
    nlohmann::json e = {{"what", d.what}, {"id", d.id}, {"action", d.action}};
    if (!d.at.empty()) e["at"] = d.at;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<JobResult::Disabled> disabled_from_json(const nlohmann::json& j) {
  std::vector<JobResult::Disabled> out;
  if (!j.is_array()) return out;
  for (const auto& d : j) {
    out.push_back({d.at("what").get<std::string>(), d.value("id", std::string()), d.value("action", std::string()),
                   d.value("at", std::string())});
  }
  return out;
}

nlohmann::json result_to_checkpoint(const JobResult& r) {
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& c : r.would_call) calls.push_back(to_json(c));
  nlohmann::json j = {{"status", to_string(r.status)},
                      {"outcome", r.outcome},
                      {"invalid", r.invalid},
                      {"would_call", calls},
                      {"conflict_rounds", r.conflict_rounds}};
  if (r.error) j["error"] = error_to_json(*r.error);
  if (!r.unsupported.empty()) j["unsupported"] = unsupported_to_json(r.unsupported);
  if (!r.disabled.empty()) j["disabled"] = disabled_to_json(r.disabled);
  if (!r.already_inactive.empty()) j["already_inactive"] = disabled_to_json(r.already_inactive);
  if (!r.hold_time.empty()) j["hold_time"] = r.hold_time;
  return j;
}

JobResult result_from_checkpoint(const nlohmann::json& j) {
  JobResult r;
  r.status = j.at("status").get<std::string>() == "failed" ? JobResult::Status::failed
                                                            : JobResult::Status::succeeded;
  r.outcome = j.at("outcome").get<std::string>();
  r.invalid = j.value("invalid", false);
  for (const auto& c : j.at("would_call")) r.would_call.push_back(planned_call_from_json(c));
  r.conflict_rounds = j.value("conflict_rounds", 0);
  if (j.contains("error")) r.error = error_from_json(j.at("error"));
  if (j.contains("unsupported")) r.unsupported = unsupported_from_json(j.at("unsupported"));
  if (j.contains("disabled")) r.disabled = disabled_from_json(j.at("disabled"));
  if (j.contains("already_inactive")) r.already_inactive = disabled_from_json(j.at("already_inactive"));
  r.hold_time = j.value("hold_time", std::string());
  return r;
}

client::IamError missing_outcome_error() {
  client::IamError e;
  e.error_class = client::ErrorClass::terminal;
  e.code = "EmptyOutcome";
  e.message = "the call ended with neither a result nor an error";
  return e;
}

}  // namespace detail

std::optional<std::string> check_allowed(const Job& job, const PlannerOptions& opts) {
  if (job.type != JobType::iam_calls) return std::nullopt;
  for (std::size_t i = 0; i < job.steps.size(); ++i) {
    const auto& step = job.steps[i];
    const std::string where = "steps[" + std::to_string(i) + "]: ";
    if (auto refused = config::refused_allow_list_entry(step.action)) {
      // Even an allow-list built without config validation cannot let these through.
      return where + "action \"" + step.action + "\" is never allowed: " + *refused;
    }
    if (!config::allow_list_permits(opts.allow_list, step.action)) {
      return where + "action \"" + step.action + "\" is not on the allow-list";
    }
    // Status-setting actions may only deactivate.
    if (step.action == "UpdateAccessKey" || step.action == "UpdateSigningCertificate" ||
        step.action == "UpdateSSHPublicKey" || step.action == "UpdateServiceSpecificCredential") {
      int inactive = 0;
      int status = 0;
      for (const auto& [k, v] : step.params) {
        if (k == "Status") {
          ++status;
          if (v == "Inactive") ++inactive;
        }
      }
      if (status != 1 || inactive != 1) {
        return where + "action \"" + step.action + "\" may only set Status=Inactive";
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> refuse_call(const Job& job, const PlannedCall& call) {
  // A call on a user's things without UserName acts on the caller itself: only the root MFA
  // job may send one (its AssumeRoot session is the member account's root user), and it may
  // send nothing else.
  static const std::set<std::string_view> user_scoped = {
      "ListMFADevices", "DeactivateMFADevice", "DeleteLoginProfile", "ListAccessKeys", "DeleteAccessKey",
      "ListSigningCertificates", "DeleteSigningCertificate", "UpdateAccessKey", "UpdateSigningCertificate",
      "ListSSHPublicKeys", "DeleteSSHPublicKey", "UpdateSSHPublicKey", "ListServiceSpecificCredentials",
      "DeleteServiceSpecificCredential", "UpdateServiceSpecificCredential", "GetLoginProfile",
      "ListUserPolicies", "DeleteUserPolicy", "ListAttachedUserPolicies", "DetachUserPolicy",
      "ListGroupsForUser", "DeleteUser", "PutUserPolicy", "DeleteUserPermissionsBoundary"};
  bool named = false;
  for (const auto& [k, v] : call.params) named = named || k == "UserName";
  if (job.type == JobType::deactivate_root_mfa) {
    static const std::set<std::string_view> root_calls = {"ListMFADevices", "DeactivateMFADevice",
                                                          "DeleteLoginProfile", "ListAccessKeys",
                                                          "DeleteAccessKey", "ListSigningCertificates",
                                                          "DeleteSigningCertificate"};
    if (!root_calls.count(call.action) || named)
      return "deactivate_root_mfa sends only the root user's MFA and credential calls, without UserName";
    return std::nullopt;
  }
  if (!named && user_scoped.count(call.action))
    return call.action + " without UserName would act on the caller's own identity; only deactivate_root_mfa may";
  if (call.action != "PutUserPolicy") return std::nullopt;
  std::string name;
  for (const auto& [k, v] : call.params)
    if (k == "PolicyName") name = v;
  if (job.type == JobType::offboard_user && job.keep_user && name == kLegalHoldPolicyName) return std::nullopt;
  return "PutUserPolicy is sent only by a legal hold (offboard_user with keep_user), with policy " +
         std::string(kLegalHoldPolicyName);
}

std::unique_ptr<Planner> make_planner(const Job& job, const PlannerOptions& opts) {
  return restore_planner(job, nlohmann::json(), opts);
}

std::unique_ptr<Planner> restore_planner(const Job& job, const nlohmann::json& checkpoint,
                                         const PlannerOptions& opts) {
  PlannerOptions effective = opts;
  effective.dry_run = opts.dry_run || job.dry_run;
  if (effective.delete_conflict_rounds < 0) effective.delete_conflict_rounds = 0;
  if (job.type == JobType::iam_calls) {
    if (auto why = check_allowed(job, effective)) return detail::make_refused_planner(*why);
    return detail::make_iam_calls_planner(job, effective, checkpoint);
  }
  if (job.type == JobType::deactivate_root_mfa) return detail::make_root_mfa_planner(job, effective, checkpoint);
  return detail::make_user_planner(job, effective, checkpoint);
}

}  // namespace iamq::worker
