#pragma once
// The job run's test driver (sans-io): plays the shell of worker_run.cpp against the
// in-memory IAM model. It answers calls from the model, answers writes as Redis would
// (keeping the stored checkpoint), fires timers, and makes its Nth operation fail.
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "queue/error.hpp"
#include "tests/worker/fake_iam.hpp"
#include "worker/job_run.hpp"

namespace iamq::worker::test_driver {

using namespace std::chrono_literals;
using iamq::test::err;
using iamq::test::FakeIam;
using Op = JobRun::Op;
using End = JobRun::End;
using Event = JobRun::Event;

inline const std::string kVirtual = "arn:aws:iam::123456789012:mfa/alice-phone";

inline FakeIam world() {
  FakeIam iam;
  iamq::test::FakeUser u;
  u.login_profile = true;
  u.access_keys = {{"AKIA1", "Active"}, {"AKIA2", "Active"}};
  u.mfa = {kVirtual};
  u.groups = {"staff"};
  u.inline_policies = {"p1"};
  iam.users["alice"] = u;
  iam.virtual_devices.insert(kVirtual);
  return iam;
}

inline Job offboard(const std::string& user = "alice") {
  Job j;
  j.id = "HR-1";
  j.type = JobType::offboard_user;
  j.user_name = user;
  j.meta = {{"ticket", "HR-1"}};
  return j;
}

inline PlannerOptions planner_opts() {
  PlannerOptions o;
  o.allow_list = config::default_allow_list();
  o.clock = [] { return std::chrono::system_clock::time_point(std::chrono::hours(490000)); };
  return o;
}

inline RetryPolicy retry_policy() {
  std::map<std::string, config::Backoff> t;
  t["transient"] = {100ms, 1000ms, 5};
  t["throttled"] = {100ms, 1000ms, 5};
  t["concurrent_modification"] = {100ms, 1000ms, 5};
  t["unmodifiable"] = {60s, 600s, 20};  // first wait 30 s: through the delayed set
  return RetryPolicy(t, 5s, [] { return 0.5; });
}

inline const auto kAt = std::chrono::system_clock::time_point(std::chrono::hours(490001));

/// What the Nth operation does instead of its normal answer.
enum class Fault {
  none,
  call_transient,     // the call fails with a 503 (IAM did nothing)
  call_unmodifiable,  // EntityTemporarilyUnmodifiable: the delayed set
  call_credentials,   // InvalidClientTokenId: hand back, circuit open
  call_denied,        // AccessDenied: the job fails
  write_redis,        // the write fails (Redis gone)
  write_lost,         // the claim is gone
  write_cancel,       // iamq cancel (record_step and wake only)
  write_paused,       // the account is paused (record_step and wake only)
  stop,               // the worker stops before this operation is answered
  cancel,             // a cancel is seen before it
  claim_lost,         // the lease keeper finds the claim gone before it
};
inline const Fault kFaults[] = {Fault::call_transient, Fault::call_unmodifiable, Fault::call_credentials,
                         Fault::call_denied,    Fault::write_redis,       Fault::write_lost,
                         Fault::write_cancel,   Fault::write_paused,      Fault::stop,
                         Fault::cancel,         Fault::claim_lost};

/// Plays the shell against the model.
struct Driver {
  FakeIam& iam;
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  std::string stored_checkpoint;  ///< what the job's record holds
  int fail_at = -1;               ///< the operation that fails
  Fault fault = Fault::none;
  bool mark_first = true;  ///< schedule_retry answered before the retry timer fires
  int ops = 0;
  std::vector<JobRun::Action> finals;
  std::vector<Op> trace;
  bool told_cancel = false, told_stop = false;
  std::vector<PlannedCall> sent;

  struct Pending {
    Event event;
    bool call = false;  // an answer still to be computed from the model
  };

  explicit Driver(FakeIam& i) : iam(i) {}

  std::unique_ptr<JobRun> make(const Job& job, int delivery = 1) {
    return std::make_unique<JobRun>(job, stored_checkpoint, delivery, popts, retry, "w1");
  }

  /// Feeds `e` and queues what the action's answer will be.
  void feed(JobRun& run, Event e, std::deque<Pending>& q) {
    if (e.kind == Event::Kind::cancel_seen) told_cancel = true;
    if (e.kind == Event::Kind::stop_requested) told_stop = true;
    if (e.kind == Event::Kind::written && e.ec == queue::Errc::cancel_requested) told_cancel = true;
    const Op last_write = e.written_op;
    const bool write_ok = e.kind == Event::Kind::written && !e.ec;
    JobRun::Action a = run.resume(std::move(e));
    if (write_ok && last_write == Op::write_step) stored_checkpoint = pending_checkpoint_;
    trace.push_back(a.op);
    switch (a.op) {
      case Op::none:
        return;
      case Op::acquire:
        q.push_back({Event::granted()});
        return;
      case Op::issue_call:
        EXPECT_FALSE(told_cancel) << "a call after a cancel was seen: " << run.call()->action;
        EXPECT_FALSE(told_stop) << "a call after the stop: " << run.call()->action;
        sent.push_back(*run.call());
        q.push_back({Event::answered({}, {}, kAt), true});
        return;
      case Op::write_step:
        EXPECT_FALSE(a.checkpoint.empty());
        pending_checkpoint_ = a.checkpoint;
        q.push_back({Event::written(Op::write_step)});
        return;
      case Op::wait_retry:
        if (mark_first) {
          q.push_back({Event::written(Op::wait_retry)});
          q.push_back({Event::timer_fired()});
        } else {
          q.push_back({Event::timer_fired()});
          q.push_back({Event::written(Op::wait_retry)});
        }
        return;
      case Op::wake:
      case Op::schedule_delayed:
      case Op::hand_back:
        q.push_back({Event::written(a.op)});
        return;
      case Op::finish:
        if (!a.checkpoint.empty()) finish_checkpoint_ = a.checkpoint;
        q.push_back({Event::written(Op::finish)});
        return;
      case Op::dead_letter:
      case Op::done:
        finals.push_back(a);
        return;
    }
  }

  /// Runs `run` to its end; returns the final action.
  JobRun::Action drive(JobRun& run) {
    std::deque<Pending> q;
    feed(run, Event::started(), q);
    for (int guard = 0; !q.empty() && guard < 10000; ++guard) {
      Pending p = std::move(q.front());
      q.pop_front();
      const int n = ops++;
      Fault f = n == fail_at ? fault : Fault::none;
      if (f == Fault::stop) feed(run, Event::stop_requested(), q);
      if (f == Fault::cancel) feed(run, Event::cancel_seen(), q);
      if (f == Fault::claim_lost) feed(run, Event::claim_lost(), q);
      if (p.call) p.event = answer(*run.call(), f);
      if (p.event.kind == Event::Kind::written) {
        const Op op = p.event.written_op;
        const bool may_cancel = op == Op::write_step || op == Op::wake;
        if (f == Fault::write_redis) p.event.ec = queue::make_error_code(queue::Errc::disconnected);
        if (f == Fault::write_lost) p.event.ec = queue::make_error_code(queue::Errc::lost_claim);
        if (f == Fault::write_cancel && may_cancel) p.event.ec = queue::make_error_code(queue::Errc::cancel_requested);
        if (f == Fault::write_paused && may_cancel) p.event.ec = queue::make_error_code(queue::Errc::paused);
        if (op == Op::finish && !p.event.ec && !finish_checkpoint_.empty()) stored_checkpoint = finish_checkpoint_;
      }
      feed(run, std::move(p.event), q);
    }
    EXPECT_TRUE(q.empty()) << "the run did not end";
    EXPECT_EQ(finals.size(), 1u) << "exactly one final action";
    EXPECT_TRUE(run.over());
    // Whatever comes after the end is ignored.
    for (Event e : {Event::started(), Event::granted(), Event::timer_fired(), Event::claim_lost(),
                    Event::cancel_seen(), Event::stop_requested(), Event::written(Op::write_step),
                    Event::written(Op::finish), Event::answered({}, {}, kAt)}) {
      EXPECT_EQ(run.resume(e).op, Op::none);
    }
    return finals.empty() ? JobRun::Action{} : finals.back();
  }

  Event answer(const PlannedCall& c, Fault f) {
    client::Outcome o;
    switch (f) {
      case Fault::call_transient: o = err(client::ErrorClass::transient, "ServiceUnavailable", 503); break;
      case Fault::call_unmodifiable: o = err(client::ErrorClass::unmodifiable, "EntityTemporarilyUnmodifiable", 409); break;
      case Fault::call_credentials: o = err(client::ErrorClass::credentials, "InvalidClientTokenId", 403); break;
      case Fault::call_denied: o = err(client::ErrorClass::denied, "AccessDenied", 403); break;
      default: o = iam.handle(c);
    }
    client::CallInfo info;
    info.http_status = o.ok ? 200 : o.error->http_status;
    info.duration = 3ms;
    return Event::answered(std::move(o), info, kAt);
  }

 private:
  std::string pending_checkpoint_;
  std::string finish_checkpoint_;
};

}  // namespace iamq::worker::test_driver
