#pragma once
/// One job's run as a state machine with no I/O (sans-io, after Boost.Redis's exec_fsm):
/// `resume(event)` returns the next action; the shell (worker_run.cpp) carries the action
/// out and feeds what happened back as the next event. The run owns the job's progress: the
/// planner, the call being made, the attempts of that call per error class, the stop, cancel
/// and claim-lost flags, the dry-run refusal, the checkpoint of every step record and the
/// result JSON (one shape for succeeded, failed and cancelled). No Asio, no Redis, no clock
/// reads: the wall time of a step record comes with the event.
///
/// A run ends with exactly one final action: `done` (after its last write was answered, or
/// at once when its claim is lost or a write failed) or `dead_letter` (the planner found the
/// job invalid; the shell owns that write's answer). Every event after it answers `none`.
/// After a cancel was seen no call is issued; after a stop was requested no call is issued
/// and the job is handed back where it stands.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <nlohmann/json.hpp>

#include "client/iam_response.hpp"
#include "client/iam_client.hpp"
#include "queue/job_queue.hpp"
#include "worker/job.hpp"
#include "worker/planner.hpp"
#include "worker/retry_policy.hpp"

namespace iamq::worker {

class JobRun {
 public:
  using WallClock = std::chrono::system_clock;

  /// What the shell is asked to do.
  enum class Op {
    none,              ///< nothing now: wait for the next event
    acquire,           ///< wait for the account's limiters, then feed `granted`
    issue_call,        ///< send call() now, then feed `answered`
    write_step,        ///< record_step(step, checkpoint), then feed written(write_step)
    wait_retry,        ///< arm a timer of `delay` (feed `timer_fired`) and, at the same time,
                       ///< schedule_retry(delay, error) (feed written(wait_retry))
    wake,              ///< wake: back to running before the call goes out again
    schedule_delayed,  ///< schedule_delayed(delay, error): the job leaves its slot
    finish,            ///< finish(status, result, error, checkpoint)
    hand_back,         ///< requeue(reason)
    dead_letter,       ///< final: dead_letter(reason, error); the run is over
    done,              ///< final: the run is over (`end` says how)
  };

  /// How a run ended (Op::done).
  enum class End { succeeded, failed, cancelled, handed_back, delayed, abandoned };

  struct Action {
    Op op = Op::none;
    /// write_step: the step record (redacted by make_step_record).
    nlohmann::json step;
    /// write_step: the checkpoint (redacted by key names); finish: the checkpoint that
    /// replaces the stored one ("" keeps it).
    std::string checkpoint;
    /// write_step of a retry, wait_retry, schedule_delayed, done(delayed): the error class
    /// ("unmodifiable"…), the wait, and the error text.
    std::string retry_class;
    std::chrono::milliseconds delay{0};
    bool retry_delayed = false;  ///< write_step of a retry: through the delayed set
    /// finish, done: the status; result: the result JSON (finish).
    queue::JobStatus status = queue::JobStatus::running;
    std::string result;
    /// finish, dead_letter, done: the error text (redacted); retries: the last error.
    std::string error;
    std::string outcome;  ///< finish, done(succeeded): "done", "absent"…
    /// hand_back, done(handed_back): why; dead_letter: the reason; done(abandoned): a note.
    std::string reason;
    End end = End::succeeded;  ///< done
  };

  /// What happened.
  struct Event {
    enum class Kind {
      started,         ///< the run begins (first call, or the end at once)
      granted,         ///< the limiters let the call go (after Op::acquire)
      answered,        ///< the call's final answer (after the client's own retries)
      written,         ///< a write was answered (`written_op`, `ec`)
      timer_fired,     ///< the retry timer (Op::wait_retry) ran out
      claim_lost,      ///< the lease keeper found the claim gone: stop at once
      cancel_seen,     ///< iamq cancel was seen outside a write's answer
      stop_requested,  ///< the worker stops: hand the job back where it stands
    };
    Kind kind = Kind::started;
    client::Outcome outcome;  ///< answered
    client::CallInfo info;    ///< answered
    WallClock::time_point at{};  ///< answered: when (the step record's at_ms)
    Op written_op = Op::none;    ///< written: which write
    std::error_code ec;          ///< written: its answer (queue::Errc or a Redis error)

    static Event started() { return Event{}; }
    static Event granted();
    static Event answered(client::Outcome o, client::CallInfo i, WallClock::time_point at);
    static Event written(Op op, std::error_code ec = {});
    static Event timer_fired();
    static Event claim_lost();
    static Event cancel_seen();
    static Event stop_requested();
  };

  enum class State {
    idle,           ///< not started
    acquiring,      ///< waiting for the limiters
    calling,        ///< the call is out
    recording,      ///< its step record is being written
    retry_waiting,  ///< on the retry timer
    waking,
    delaying,
    finishing,
    handing_back,
    over,
  };

  /// `checkpoint`: the stored checkpoint text ("" or unreadable: from the start). The
  /// planner options and the retry policy must outlive the run. `worker`: the consumer
  /// name, for the result. `delivery`: the job's deliveries, this one included.
  JobRun(Job job, std::string_view checkpoint, int delivery, const PlannerOptions& planner,
         const RetryPolicy& retry, std::string worker);
  ~JobRun();
  JobRun(const JobRun&) = delete;
  JobRun& operator=(const JobRun&) = delete;

  /// The next action after `e`.
  Action resume(Event e);

  const Job& job() const { return job_; }
  State state() const { return state_; }
  bool over() const { return state_ == State::over; }
  /// The call being made or waited for (the last one once the planner is finished).
  const std::optional<PlannedCall>& call() const { return call_; }
  int calls() const { return calls_; }        ///< calls sent by this run
  int attempts() const { return call_attempts_; }  ///< failed attempts of call()
  int delivery() const { return delivery_; }
  bool dry_run() const { return dry_run_; }
  bool stop_requested() const { return stop_; }
  bool cancel_seen() const { return cancel_; }

  /// The checkpoint as the step record stores it: the planner's, and the failing call's
  /// attempts per class (they carry over into the next delivery).
  nlohmann::json checkpoint() const;
  /// The result JSON of every end: the planner's result, meta, type, account, user, calls,
  /// attempt, dry_run, worker; redacted.
  nlohmann::json result_json(const JobResult& result) const;

 private:
  enum class Then { next, hand_back_circuit, retry_timer, retry_delayed };

  Action decide_next();
  Action on_answered(const Event& e);
  Action on_written(const Event& e);
  Action after_step();
  Action fail(client::IamError error);
  Action cancel();
  Action finish(queue::JobStatus status, const JobResult& result, std::string checkpoint);
  Action hand_back(std::string reason);
  Action abandon(std::string note);
  Action write_failed(Op op, std::error_code ec);
  Action end(End how);
  Action retry_action(Op op) const;  ///< wait_retry / schedule_delayed of the retry decided

  Job job_;
  const PlannerOptions& planner_opts_;
  const RetryPolicy& retry_;
  std::string worker_;
  int delivery_ = 0;
  bool dry_run_ = false;
  std::unique_ptr<Planner> planner_;
  std::optional<PlannedCall> call_;
  int call_attempts_ = 0;  ///< failed attempts of call_ so far (all classes)
  /// Failed attempts of call_ per error class: each class's max_attempts and backoff count
  /// only its own failures, so waiting out many EntityTemporarilyUnmodifiable answers does
  /// not spend the budget of a later 503.
  std::map<std::string, int> class_attempts_;
  /// The planner's checkpoint before the outcome of the last call: where `iamq retry`
  /// resumes a job that failed on that call.
  nlohmann::json before_outcome_;
  nlohmann::json planner_cp_;  ///< the planner's checkpoint after the last outcome (null: none yet)
  int calls_ = 0;
  State state_ = State::idle;
  Then then_ = Then::next;      ///< what follows the step record being written
  RetryDecision retry_decision_;  ///< the retry being recorded / waited out
  bool mark_pending_ = false;   ///< schedule_retry not answered yet (wait_retry)
  bool stop_ = false;
  bool cancel_ = false;
  Action final_;  ///< finish / hand_back / schedule_delayed being written: what done says
};

std::string_view to_string(JobRun::Op op);
std::string_view to_string(JobRun::End end);
std::string_view to_string(JobRun::State state);

/// "Code: message" for the record's error field and log lines (IAM messages hold no secrets).
std::string error_text(const client::IamError& e);

}  // namespace iamq::worker
