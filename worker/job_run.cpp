#include "worker/job_run.hpp"

#include <utility>

#include "queue/error.hpp"
#include "worker/redaction.hpp"
#include "worker/step_record.hpp"

namespace iamq::worker {

std::string error_text(const client::IamError& e) {
  return redact_text(e.message.empty() ? e.code : e.code + ": " + e.message);
}

// ---- events

JobRun::Event JobRun::Event::granted() {
  Event e;
  e.kind = Kind::granted;
  return e;
}

JobRun::Event JobRun::Event::answered(client::Outcome o, client::CallInfo i, WallClock::time_point at) {
  Event e;
  e.kind = Kind::answered;
  e.outcome = std::move(o);
  e.info = i;
  e.at = at;
  return e;
}

JobRun::Event JobRun::Event::written(Op op, std::error_code ec) {
  Event e;
  e.kind = Kind::written;
  e.written_op = op;
  e.ec = ec;
  return e;
}

JobRun::Event JobRun::Event::timer_fired() {
  Event e;
  e.kind = Kind::timer_fired;
  return e;
}

JobRun::Event JobRun::Event::claim_lost() {
  Event e;
  e.kind = Kind::claim_lost;
  return e;
}

JobRun::Event JobRun::Event::cancel_seen() {
  Event e;
  e.kind = Kind::cancel_seen;
  return e;
}

JobRun::Event JobRun::Event::stop_requested() {
  Event e;
  e.kind = Kind::stop_requested;
  return e;
}

// ---- the run

namespace {

JobRun::Action act(JobRun::Op op) {
  JobRun::Action a;
  a.op = op;
  return a;
}

}  // namespace

JobRun::Action JobRun::retry_action(Op op) const {
  Action a = act(op);
  a.retry_class = final_.retry_class;
  a.delay = final_.delay;
  a.error = final_.error;
  return a;
}

JobRun::JobRun(Job job, std::string_view checkpoint, int delivery, const PlannerOptions& planner,
               const RetryPolicy& retry, std::string worker)
    : job_(std::move(job)),
      planner_opts_(planner),
      retry_(retry),
      worker_(std::move(worker)),
      delivery_(delivery),
      dry_run_(planner.dry_run || job_.dry_run) {
  nlohmann::json cp;
  if (!checkpoint.empty()) cp = nlohmann::json::parse(checkpoint, nullptr, false);
  if (cp.is_object() && cp.contains("planner")) {
    planner_ = restore_planner(job_, cp["planner"], planner_opts_);
    // The retry budget of the call that was failing carries over (delayed set, hand-back).
    auto next = planner_->next();
    if (next && cp.value("action", std::string()) == next->action) {
      if (auto it = cp.find("call_attempts"); it != cp.end() && it->is_number_integer()) {
        call_attempts_ = it->get<int>();
      }
      if (auto it = cp.find("class_attempts"); it != cp.end() && it->is_object()) {
        for (const auto& [cls, n] : it->items()) {
          if (n.is_number_integer()) class_attempts_[cls] = n.get<int>();
        }
      }
    }
  } else {
    planner_ = make_planner(job_, planner_opts_);
  }
}

JobRun::~JobRun() = default;

JobRun::Action JobRun::resume(Event e) {
  if (state_ == State::over) return {};
  using K = Event::Kind;
  switch (e.kind) {
    case K::started:
      if (state_ != State::idle) return {};
      return decide_next();
    case K::granted:
      if (state_ != State::acquiring) return {};
      state_ = State::calling;
      ++calls_;
      return act(Op::issue_call);
    case K::answered:
      if (state_ != State::calling) return {};
      return on_answered(e);
    case K::written:
      return on_written(e);
    case K::timer_fired:
      if (state_ != State::retry_waiting) return {};
      if (cancel_) return cancel();
      if (stop_) return hand_back("shutdown");
      // Back to `running` before the call goes out; a cancel or pause seen by the wake stops
      // the job before the call, a lost claim abandons it.
      state_ = State::waking;
      return act(Op::wake);
    case K::claim_lost:
      return abandon("claim lost: the entry was reclaimed by another worker");
    case K::cancel_seen:
      cancel_ = true;
      // Nothing in flight that must be recorded first: end now.
      if (state_ == State::acquiring || state_ == State::retry_waiting) return cancel();
      return {};
    case K::stop_requested:
      stop_ = true;
      // Waiting for a token or a retry timer: back at once. A call in flight is recorded
      // first; a write in flight is answered first.
      if (state_ == State::acquiring || state_ == State::retry_waiting) return hand_back("shutdown");
      return {};
  }
  return {};
}

JobRun::Action JobRun::decide_next() {
  if (cancel_) return cancel();
  if (stop_) return hand_back("shutdown");
  auto call = planner_->next();
  if (!call) {
    JobResult result = planner_->result();
    if (result.invalid) {
      const std::string error = result.error ? error_text(*result.error) : std::string();
      state_ = State::over;
      Action a = act(Op::dead_letter);
      a.error = error;
      a.reason = error;
      return a;
    }
    const bool ok = result.status == JobResult::Status::succeeded;
    // A failed job keeps the checkpoint of the call that failed: `iamq retry` resumes there.
    std::string cp;
    if (!ok && before_outcome_.is_object()) {
      cp = nlohmann::json{{"v", 1}, {"planner", before_outcome_}}.dump();
    }
    return finish(ok ? queue::JobStatus::succeeded : queue::JobStatus::failed, result, std::move(cp));
  }
  if (dry_run_ && call->mutating) {
    // Defence in depth: a dry run never sends a mutating call, whatever the planner says.
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "DryRunViolation";
    e.message = "refusing mutating call " + call->action + " in a dry run";
    return fail(std::move(e));
  }
  if (auto why = refuse_call(job_, *call)) {
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "NotAllowed";
    e.message = *why;
    return fail(std::move(e));
  }
  call_ = std::move(*call);
  state_ = State::acquiring;
  return act(Op::acquire);
}

JobRun::Action JobRun::on_answered(const Event& e) {
  const PlannedCall& call = *call_;
  const client::Outcome& outcome = e.outcome;
  const client::IamError* err = outcome.error ? &*outcome.error : nullptr;
  StepFacts facts;
  facts.action = call.action;
  facts.params = call.params;
  facts.attempt = call_attempts_ + 1;
  facts.duration = e.info.duration;
  facts.http_status = e.info.http_status;
  facts.dry_run = dry_run_;
  facts.at = e.at;
  state_ = State::recording;
  Action a = act(Op::write_step);

  if (err && err->error_class == client::ErrorClass::credentials) {
    // The shell opens the account's circuit. The call never reached the planner: the
    // checkpoint still points at it.
    a.step = make_step_record(facts, outcome, StepDisposition::handed_back);
    then_ = Then::hand_back_circuit;
    a.checkpoint = dump_redacted_by_name(checkpoint());
    return a;
  }
  if (err && RetryPolicy::retryable(err->error_class)) {
    const std::string cls(client::to_string(err->error_class));
    const int class_attempt = class_attempts_[cls] + 1;
    const RetryDecision d = retry_.decide(err->error_class, class_attempt, job_.max_attempts);
    if (d.retry) {
      call_attempts_ = facts.attempt;
      class_attempts_[cls] = class_attempt;
      a.step = make_step_record(facts, outcome,
                                d.use_delayed_set ? StepDisposition::delayed : StepDisposition::retry, d.delay);
      retry_decision_ = d;
      then_ = d.use_delayed_set ? Then::retry_delayed : Then::retry_timer;
      a.retry_class = cls;
      a.delay = d.delay;
      a.retry_delayed = d.use_delayed_set;
      a.error = error_text(*err);
      final_ = Action{};
      final_.retry_class = cls;
      final_.delay = d.delay;
      final_.error = a.error;
      // The step comes from make_step_record (redacted there); the checkpoint is redacted by
      // names only: its values are what a resumed job sends again.
      a.checkpoint = dump_redacted_by_name(checkpoint());
      return a;
    }
    // Attempts spent: the planner fails the job with this (last) error.
  }
  a.step = make_step_record(facts, outcome, StepDisposition::done);
  // The planner's state before this outcome (a failed job resumes at the call that failed) is
  // the one after the previous outcome: taken over, not computed again for every call.
  before_outcome_ = planner_cp_.is_null() ? planner_->checkpoint() : std::move(planner_cp_);
  planner_->on_outcome(outcome);
  call_attempts_ = 0;
  class_attempts_.clear();
  then_ = Then::next;
  planner_cp_ = planner_->checkpoint();
  a.checkpoint = dump_redacted_by_name(nlohmann::json{{"v", 1}, {"planner", planner_cp_}});
  return a;
}

JobRun::Action JobRun::on_written(const Event& e) {
  const Op op = e.written_op;
  // A write answers only when it is the one outstanding (schedule_retry may be answered
  // while the wake that followed its timer is out).
  const bool expected = (op == Op::write_step && state_ == State::recording) ||
                        (op == Op::wait_retry && mark_pending_ &&
                         (state_ == State::retry_waiting || state_ == State::waking)) ||
                        (op == Op::wake && state_ == State::waking) ||
                        (op == Op::schedule_delayed && state_ == State::delaying) ||
                        (op == Op::finish && state_ == State::finishing) ||
                        (op == Op::hand_back && state_ == State::handing_back);
  if (!expected) return {};
  std::error_code ec = e.ec;
  if (op == Op::wait_retry) mark_pending_ = false;
  // Cancel and pause answers come from record_step and wake only; a finish is final.
  if (op == Op::finish && (ec == queue::Errc::cancel_requested || ec == queue::Errc::paused)) ec = {};
  if (ec) return write_failed(op, ec);
  switch (op) {
    case Op::write_step:
      return after_step();
    case Op::wait_retry:
      return {};  // the timer goes on
    case Op::wake:
      if (cancel_) return cancel();
      if (stop_) return hand_back("shutdown");
      state_ = State::acquiring;  // the same call again
      return act(Op::acquire);
    case Op::schedule_delayed:
      return end(End::delayed);
    case Op::finish:
      return end(final_.end);
    case Op::hand_back:
      return end(End::handed_back);
    default:
      return {};
  }
}

JobRun::Action JobRun::after_step() {
  if (cancel_) return cancel();
  switch (then_) {
    case Then::next:
      return decide_next();
    case Then::hand_back_circuit:
      return hand_back("circuit_open");
    case Then::retry_delayed:
      state_ = State::delaying;
      return retry_action(Op::schedule_delayed);
    case Then::retry_timer:
      if (stop_) return hand_back("shutdown");
      state_ = State::retry_waiting;
      mark_pending_ = true;
      return retry_action(Op::wait_retry);
  }
  return {};
}

JobRun::Action JobRun::write_failed(Op op, std::error_code ec) {
  if (ec == queue::Errc::cancel_requested) {
    // iamq cancel: the call just made is recorded; no further call goes out.
    cancel_ = true;
    return cancel();
  }
  if (ec == queue::Errc::paused) return hand_back("paused");
  if (ec == queue::Errc::lost_claim) return abandon("claim lost: the entry was reclaimed by another worker");
  // The entry stays pending with this consumer; without renewals it is reclaimed after the
  // visibility timeout and resumes from the last recorded checkpoint.
  static constexpr std::string_view names[] = {"none", "acquire", "call", "record_step", "schedule_retry",
                                               "wake", "schedule_delayed", "finish", "requeue",
                                               "dead_letter", "done"};
  return abandon("redis " + std::string(names[static_cast<int>(op)]) + " failed: " + ec.message() +
                 "; resumed after the visibility timeout");
}

JobRun::Action JobRun::fail(client::IamError error) {
  JobResult result;
  result.status = JobResult::Status::failed;
  result.error = std::move(error);
  return finish(queue::JobStatus::failed, result, {});
}

JobRun::Action JobRun::cancel() {
  JobResult result;
  result.outcome = "cancelled";
  return finish(queue::JobStatus::cancelled, result, {});
}

JobRun::Action JobRun::finish(queue::JobStatus status, const JobResult& result, std::string cp) {
  nlohmann::json rj = result_json(result);
  if (status == queue::JobStatus::cancelled) rj["status"] = "cancelled";
  Action a = act(Op::finish);
  a.checkpoint = std::move(cp);
  a.status = status;
  a.result = rj.dump();
  a.error = result.error ? error_text(*result.error) : std::string();
  a.outcome = result.outcome;
  state_ = State::finishing;
  final_ = Action{};
  final_.status = status;
  final_.error = a.error;
  final_.outcome = a.outcome;
  final_.end = status == queue::JobStatus::succeeded ? End::succeeded
               : status == queue::JobStatus::cancelled ? End::cancelled
                                                        : End::failed;
  return a;
}

JobRun::Action JobRun::hand_back(std::string reason) {
  state_ = State::handing_back;
  final_ = Action{};
  final_.reason = reason;
  Action a = act(Op::hand_back);
  a.reason = std::move(reason);
  return a;
}

JobRun::Action JobRun::abandon(std::string note) {
  final_ = Action{};
  final_.reason = std::move(note);
  return end(End::abandoned);
}

JobRun::Action JobRun::end(End how) {
  state_ = State::over;
  Action a = std::move(final_);
  a.op = Op::done;
  a.end = how;
  return a;
}

nlohmann::json JobRun::checkpoint() const {
  nlohmann::json cp = {{"v", 1}, {"planner", planner_->checkpoint()}};
  if (call_attempts_ > 0 && call_) {
    cp["action"] = call_->action;
    cp["call_attempts"] = call_attempts_;
    cp["class_attempts"] = class_attempts_;
  }
  return cp;
}

nlohmann::json JobRun::result_json(const JobResult& result) const {
  // One shape for every end: succeeded, failed (terminal error, attempts spent, a refused
  // dry-run call) and cancelled.
  nlohmann::json rj = to_json(result);
  rj["meta"] = job_.meta.is_null() ? nlohmann::json::object() : job_.meta;
  rj["type"] = std::string(to_string(job_.type));
  rj["account"] = job_.account;
  if (!job_.user_name.empty()) rj["user_name"] = job_.user_name;
  rj["calls"] = calls_;
  rj["attempt"] = delivery_;
  rj["dry_run"] = dry_run_;
  rj["worker"] = worker_;
  return redact(rj);  // would_call, descriptions, meta, errors: stored and printed as one
}

std::string_view to_string(JobRun::Op op) {
  switch (op) {
    case JobRun::Op::none: return "none";
    case JobRun::Op::acquire: return "acquire";
    case JobRun::Op::issue_call: return "issue_call";
    case JobRun::Op::write_step: return "write_step";
    case JobRun::Op::wait_retry: return "wait_retry";
    case JobRun::Op::wake: return "wake";
    case JobRun::Op::schedule_delayed: return "schedule_delayed";
    case JobRun::Op::finish: return "finish";
    case JobRun::Op::hand_back: return "hand_back";
    case JobRun::Op::dead_letter: return "dead_letter";
    case JobRun::Op::done: return "done";
  }
  return "none";
}

std::string_view to_string(JobRun::End end) {
  switch (end) {
    case JobRun::End::succeeded: return "succeeded";
    case JobRun::End::failed: return "failed";
    case JobRun::End::cancelled: return "cancelled";
    case JobRun::End::handed_back: return "handed_back";
    case JobRun::End::delayed: return "delayed";
    case JobRun::End::abandoned: return "abandoned";
  }
  return "abandoned";
}

std::string_view to_string(JobRun::State state) {
  switch (state) {
    case JobRun::State::idle: return "idle";
    case JobRun::State::acquiring: return "acquiring";
    case JobRun::State::calling: return "calling";
    case JobRun::State::recording: return "recording";
    case JobRun::State::retry_waiting: return "retry_waiting";
    case JobRun::State::waking: return "waking";
    case JobRun::State::delaying: return "delaying";
    case JobRun::State::finishing: return "finishing";
    case JobRun::State::handing_back: return "handing_back";
    case JobRun::State::over: return "over";
  }
  return "over";
}

}  // namespace iamq::worker
