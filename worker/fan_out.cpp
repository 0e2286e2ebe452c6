#include "worker/fan_out.hpp"
#include "worker/job_validator.hpp"

namespace iamq::worker {

using nlohmann::json;

namespace {

JobError err(std::string message) { return JobError{"accounts", std::move(message)}; }

}  // namespace

std::optional<JobError> parse_fan_out(const json& j, Job& job) {
  auto it = j.find("accounts");
  if (it == j.end()) return std::nullopt;
  if (job.type == JobType::iam_calls || job.type == JobType::deactivate_root_mfa) {
    return err("accounts is only for offboard_user, delete_user and deactivate_mfa");
  }
  if (j.contains("account")) return err("accounts and account cannot be combined");
  if (it->is_string()) {
    if (it->get<std::string>() != "*") {
      return err("accounts must be \"*\" (every configured account) or a list of account names");
    }
    job.fan_out_all = true;
    return std::nullopt;
  }
  if (!it->is_array() || it->empty() || it->size() > max_fan_out) {
    return err("accounts must be \"*\" or a list of 1-" + std::to_string(max_fan_out) +
               " account names");
  }
  std::set<std::string> seen;
  for (const auto& a : *it) {
    if (!a.is_string()) return err("accounts must hold account names (strings)");
    const auto name = a.get<std::string>();
    if (auto e = check_account_name(name)) return err("accounts: " + e->message);
    if (!seen.insert(name).second) return err("accounts names \"" + name + "\" twice");
    job.fan_out.push_back(name);
  }
  return std::nullopt;
}

void fan_out_to_json(const Job& job, json& j) {
  if (job.fan_out_all) {
    j["accounts"] = "*";
  } else if (!job.fan_out.empty()) {
    j["accounts"] = job.fan_out;
  }
  if (is_fan_out(job)) j.erase("account");
}

std::string child_id(const std::string& parent_id, const std::string& account) {
  return parent_id + "/" + account;
}

std::variant<std::vector<std::string>, JobError> fan_out_accounts(
    const Job& parent, const std::set<std::string>& configured) {
  std::vector<std::string> out;
  if (parent.fan_out_all) {
    out.assign(configured.begin(), configured.end());
    if (out.empty()) return err("accounts \"*\": no account is configured");
  } else {
    for (const auto& a : parent.fan_out) {
      if (!configured.count(a)) return err("accounts names \"" + a + "\", which is not configured");
      out.push_back(a);
    }
  }
  if (out.size() > max_fan_out) {
    return err("accounts \"*\" means " + std::to_string(out.size()) + " accounts; at most " +
               std::to_string(max_fan_out) + " children per job");
  }
  for (const auto& a : out) {
    const auto id = child_id(parent.id, a);
    if (id.size() > 128) {
      return err("the child id " + id.substr(0, 40) + "… would be " + std::to_string(id.size()) +
                 " characters; ids are at most 128 (use a shorter job id)");
    }
  }
  return out;
}

std::vector<queue::JobSummary> fan_out_children(const Job& parent,
                                                const std::vector<std::string>& accounts) {
  std::vector<queue::JobSummary> out;
  out.reserve(accounts.size());
  for (const auto& a : accounts) {
    Job child = parent;
    child.fan_out.clear();
    child.fan_out_all = false;
    child.notify.clear();
    child.account = a;
    child.id = child_id(parent.id, a);
    out.push_back(summarize(child));
  }
  return out;
}

}  // namespace iamq::worker
