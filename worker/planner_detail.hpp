#pragma once
/// Internals shared by the planners (not part of the planner contract; see planner.hpp).
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "worker/planner.hpp"

namespace iamq::worker::detail {

nlohmann::json error_to_json(const client::IamError& e);
client::IamError error_from_json(const nlohmann::json& j);
/// The full JobResult (with would_call params as pairs) for checkpoints.
nlohmann::json result_to_checkpoint(const JobResult& r);
JobResult result_from_checkpoint(const nlohmann::json& j);  ///< throws nlohmann::json::exception
nlohmann::json unsupported_to_json(const std::vector<JobResult::Unsupported>& list);
std::vector<JobResult::Unsupported> unsupported_from_json(const nlohmann::json& j);  ///< throws
nlohmann::json disabled_to_json(const std::vector<JobResult::Disabled>& list);
std::vector<JobResult::Disabled> disabled_from_json(const nlohmann::json& j);  ///< throws
/// An Outcome with neither `ok` nor `error` (a bug in the caller): fails the job.
client::IamError missing_outcome_error();

/// The common driver: next() skips states without a call and, in a dry run, records
/// mutating calls instead of returning them (treating them as succeeded).
class MachineBase : public Planner {
 public:
  explicit MachineBase(bool dry_run) : dry_run_(dry_run) {}

  std::optional<PlannedCall> next() override {
    // Bounded: every skip()/simulated success moves the state forward.
    while (!finished_) {
      auto call = current();
      if (!call) {
        skip();
        continue;
      }
      if (dry_run_ && call->mutating) {
        result_.would_call.push_back(std::move(*call));
        on_success(nullptr);
        continue;
      }
      return call;
    }
    return std::nullopt;
  }

  void on_outcome(const client::Outcome& outcome) override {
    if (finished_) return;
    if (outcome.ok) {
      on_success(&*outcome.ok);
    } else if (!outcome.error) {
      fail(missing_outcome_error());
    } else if (outcome.error->error_class == client::ErrorClass::absent) {
      on_absent();
    } else if (outcome.error->error_class == client::ErrorClass::conflict) {
      on_conflict(*outcome.error);
    } else if (outcome.error->error_class == client::ErrorClass::unsupported && current_is_list()) {
      on_unsupported(*outcome.error);
    } else {
      // denied, terminal, credentials (should have been handled by the engine), and
      // retryable classes whose retries are spent.
      fail(*outcome.error);
    }
  }

  bool finished() const override { return finished_; }
  JobResult result() const override { return result_; }

 protected:
  /// The call for the current state, or nullopt when the state has none (then skip()).
  virtual std::optional<PlannedCall> current() const = 0;
  /// Leave a state that has no call.
  virtual void skip() = 0;
  /// The current call succeeded; `r` is null for a dry run's simulated mutating call.
  virtual void on_success(const client::IamResult* r) = 0;
  /// The current call answered NoSuchEntity.
  virtual void on_absent() = 0;
  /// The current call answered DeleteConflict.
  virtual void on_conflict(const client::IamError& e) { fail(e); }
  /// The current call, a read-only List*, is not implemented by the endpoint. Default: fail.
  virtual void on_unsupported(const client::IamError& e) { fail(e); }

  /// Records an unsupported List* once per action in the result.
  void note_unsupported(const std::string& action, std::string what, const client::IamError& e) {
    for (const auto& u : result_.unsupported)
      if (u.action == action) return;
    result_.unsupported.push_back(JobResult::Unsupported{action, std::move(what), e.code, e.http_status});
  }

  void fail(const client::IamError& e) {
    result_.status = JobResult::Status::failed;
    result_.outcome.clear();
    result_.error = e;
    finished_ = true;
  }
  void finish(std::string outcome) {
    result_.status = JobResult::Status::succeeded;
    result_.outcome = std::move(outcome);
    finished_ = true;
  }
  /// Common checkpoint fields; subclasses add theirs.
  nlohmann::json base_checkpoint(std::string_view type) const {
    nlohmann::json j = {{"v", 1}, {"type", type}, {"finished", finished_}};
    j["result"] = result_to_checkpoint(result_);
    return j;
  }
  void restore_base(const nlohmann::json& j) {
    finished_ = j.at("finished").get<bool>();
    result_ = result_from_checkpoint(j.at("result"));
  }

  /// The call now due is a read-only List* (the only kind a planner may go past unanswered).
  bool current_is_list() const {
    auto call = current();
    return call && !call->mutating && call->action.size() > 4 && call->action.compare(0, 4, "List") == 0;
  }

  bool dry_run_;
  bool finished_ = false;
  JobResult result_;
};

/// offboard_user, delete_user, deactivate_mfa.
std::unique_ptr<Planner> make_user_planner(const Job& job, const PlannerOptions& opts,
                                           const nlohmann::json& checkpoint);
/// iam_calls whose steps passed check_allowed().
std::unique_ptr<Planner> make_iam_calls_planner(const Job& job, const PlannerOptions& opts,
                                                const nlohmann::json& checkpoint);
/// deactivate_root_mfa: the root user's MFA (and credentials) through the AssumeRoot session.
std::unique_ptr<Planner> make_root_mfa_planner(const Job& job, const PlannerOptions& opts,
                                               const nlohmann::json& checkpoint);
/// A finished planner: failed, invalid, with `reason` (iam_calls refused by the allow-list).
std::unique_ptr<Planner> make_refused_planner(const std::string& reason);

}  // namespace iamq::worker::detail
