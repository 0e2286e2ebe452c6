#pragma once
/// Planners (sans-io): turn a Job into the ordered IAM calls that carry it out, one call at
/// a time, as a resumable state machine. No I/O here: the engine makes the calls.
///
/// Protocol between the engine and a planner:
///
///   auto p = make_planner(job, opts);           // or restore_planner(job, checkpoint, opts)
///   while (auto call = p->next()) {             // the call to make now
///     Outcome o = <make call->action with call->params, retrying retryable classes
///                  (throttled, transient, unmodifiable, concurrent_modification)
///                  with RetryPolicy until it succeeds or the attempts are spent>;
///     if (o is a `credentials` error) { <open the account's circuit, hand the job back,
///                                        do NOT feed it to the planner>; break; }
///     p->on_outcome(o);                         // the FINAL outcome of that call
///     store(p->checkpoint());                   // resume point (the next call)
///   }
///   JobResult r = p->result();                  // once next() returned nullopt
///
/// `next()` does not advance past the call it returns: calling it again without an
/// outcome returns the same call, and a checkpoint taken while a call is in flight resumes
/// by making that call again. Every call the planners make is idempotent (NoSuchEntity on a
/// delete/deactivate means `absent`, i.e. already done), so a resumed job may repeat the
/// call that was in flight, and resumption re-lists what it needs.
///
/// Error classes fed to on_outcome():
///  - absent (NoSuchEntity): that thing is already gone; the job goes on. On the first call
///    that names the user (GetUser for offboarding, the first call of deactivate_mfa) it
///    ends the job `succeeded` with outcome `absent`.
///  - conflict (DeleteConflict) while offboarding: something appeared meanwhile; the
///    planner lists everything again and repeats, at most `delete_conflict_rounds` times,
///    then fails. In deactivate_mfa / iam_calls it fails the job.
///  - denied, terminal, and a retryable class whose retries are spent: the job fails with
///    that error.
///  - unsupported (the endpoint does not implement the action; see UnsupportedDetector): on a
///    read-only List* call the job records it in result().unsupported and goes on as if the
///    list were empty (DeleteUser stays the judge: what was really left makes it answer
///    DeleteConflict, and the failure names what could not be listed). On any other call the
///    job fails with it: a mutating call is never skipped.
///  - credentials: must be handled by the engine (circuit breaker) and never fed here; if
///    it is fed anyway the job fails with it.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/iam_response.hpp"
#include "client/query_encoder.hpp"
#include "worker/job.hpp"

namespace iamq::worker {

/// What a planner needs besides the job.
struct PlannerOptions {
  /// Actions `iam_calls` jobs may run (config allow_list; entries may end in `*`).
  std::vector<std::string> allow_list;
  /// The worker's --dry-run / config dry_run; OR-ed with the job's own `dry_run`.
  bool dry_run = false;
  /// Offboarding: how many times to list again and repeat after DeleteConflict.
  int delete_conflict_rounds = 5;
  /// Wall clock for the legal hold's time and the times in its result (tests inject one);
  /// empty: std::chrono::system_clock::now.
  std::function<std::chrono::system_clock::time_point()> clock;
};

/// The inline user policy a legal hold puts on the user: it denies everything to sessions
/// issued before the hold (AWS's documented way to revoke a user's temporary credentials).
inline constexpr std::string_view kLegalHoldPolicyName = "iamq-legal-hold";
/// Its document: Deny * on * when aws:TokenIssueTime is before `hold_time` (ISO 8601 UTC).
std::string legal_hold_policy_document(std::string_view hold_time);
/// "2026-12-01T23:40:05Z".
std::string iso8601_utc(std::chrono::system_clock::time_point t);

/// One IAM call the engine should make.
struct PlannedCall {
  std::string action;      ///< e.g. "DeactivateMFADevice"
  client::Params params;   ///< e.g. {{"UserName","alice"},{"SerialNumber","arn:…"}}
  bool mutating = false;   ///< false for Get*/List* (the only calls made in a dry run)
  std::string description; ///< short, human-readable, no secrets: "deactivate MFA arn:… of alice"

  bool operator==(const PlannedCall&) const = default;
};
nlohmann::json to_json(const PlannedCall& c);
PlannedCall planned_call_from_json(const nlohmann::json& j);  ///< throws nlohmann::json::exception

/// How a job ended, as far as its planner is concerned.
struct JobResult {
  enum class Status { succeeded, failed };
  Status status = Status::succeeded;
  /// succeeded: "done", "absent" (the user did not exist / nothing was there), "disabled"
  /// (offboard_user with keep_user), "dry_run". Empty when failed.
  std::string outcome;
  /// failed: the error that ended the job (class, code, message, request id).
  std::optional<client::IamError> error;
  /// failed before any call because the job may not run (iam_calls action not on the
  /// allow-list, UpdateAccessKey to Active…): the engine dead-letters it. error->message
  /// names the step index and the action.
  bool invalid = false;
  /// Dry runs: the mutating calls that would have been made, in order.
  std::vector<PlannedCall> would_call;
  /// Offboarding: DeleteConflict rounds used.
  int conflict_rounds = 0;
  /// Read-only List* calls the endpoint does not implement, each once, in the order met.
  struct Unsupported {
    std::string action;  ///< "ListServiceSpecificCredentials"
    std::string what;    ///< "service-specific credentials" (iam_calls: "steps[3]")
    std::string code;    ///< what the endpoint answered: NotImplemented, NonXmlResponse…
    int http_status = 0;
    bool operator==(const Unsupported&) const = default;
  };
  std::vector<Unsupported> unsupported;
  /// Legal hold (keep_user): what this job disabled, in order, and when; what it found
  /// already inactive; and the hold's time (sessions issued before it are denied).
  struct Disabled {
    std::string what;    ///< "access key", "SSH public key", "MFA device", "login profile"…
    std::string id;      ///< the key id, serial, policy name ("" for the login profile)
    std::string action;  ///< the call that did it: UpdateSSHPublicKey…
    std::string at;      ///< when it answered, ISO 8601 UTC ("" in already_inactive)
    bool operator==(const Disabled&) const = default;
  };
  std::vector<Disabled> disabled;
  std::vector<Disabled> already_inactive;
  std::string hold_time;
};
std::string_view to_string(JobResult::Status s);  ///< "succeeded" | "failed"
/// {"status","outcome","error":{"class","code","message","http_status","request_id"},
///  "invalid","would_call":[{"action","params":{…},"description"}],"conflict_rounds",
///  "unsupported":[{"action","what","code","http_status"}],
///  "legal_hold":{"hold_time","disabled":[{"what","id","action","at"}],"already_inactive":[…]}}
nlohmann::json to_json(const JobResult& r);

/// A job's state machine. Not thread-safe; one per running job.
class Planner {
 public:
  virtual ~Planner() = default;
  /// The call to make now, or nullopt when the job is finished (then read result()).
  /// Idempotent until on_outcome() is called.
  virtual std::optional<PlannedCall> next() = 0;
  /// The final outcome of the call last returned by next() (after the engine's retries).
  virtual void on_outcome(const client::Outcome& outcome) = 0;
  /// True once next() would return nullopt.
  virtual bool finished() const = 0;
  /// The job's result; meaningful once finished().
  virtual JobResult result() const = 0;
  /// Everything needed to resume at the current call (JSON, stored with the job).
  virtual nlohmann::json checkpoint() const = 0;
};

/// A planner for `job` from its first call. Never throws for a parsed Job: an iam_calls job
/// with a disallowed step yields a planner that is finished at once with an `invalid`
/// failed result.
std::unique_ptr<Planner> make_planner(const Job& job, const PlannerOptions& opts);

/// A planner resumed from `checkpoint` (from Planner::checkpoint() of the same job). An
/// empty/null checkpoint means "from the start". A checkpoint that does not fit the job
/// (other type, unreadable) also starts over (safe: every call is idempotent).
/// The allow-list is re-checked against `opts` on restore.
std::unique_ptr<Planner> restore_planner(const Job& job, const nlohmann::json& checkpoint,
                                         const PlannerOptions& opts);

/// For iam_calls: why the job may not run (e.g. `steps[2]: action "CreateUser" is not on
/// the allow-list`), or nullopt when every step is allowed. Other job types: nullopt.
std::optional<std::string> check_allowed(const Job& job, const PlannerOptions& opts);

/// Why the engine must not send `call` for `job`, or nullopt. Defence in depth for the one
/// granting call a planner makes: PutUserPolicy only from an offboard_user keep_user job
/// (the legal hold), only with the hold's policy name; never from iam_calls.
std::optional<std::string> refuse_call(const Job& job, const PlannedCall& call);

/// Read-only actions: Get* and List* (the only calls a dry run makes).
bool is_read_only_action(std::string_view action);

/// A virtual MFA device's serial number is its ARN: `arn:<partition>:iam::<account>:mfa/<name>`.
bool is_virtual_mfa_serial(std::string_view serial);

}  // namespace iamq::worker
