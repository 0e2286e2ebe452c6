// The job run (sans-io): no Redis, no sockets, no clock. A small driver plays the shell
// (job_run_driver.hpp): it answers calls from the in-memory IAM model (fake_iam.hpp), answers
// writes as Redis would (keeping the stored checkpoint), fires timers, and can make its Nth
// operation fail. The
// failure-injection tests loop N over every operation of a run and check that the run always
// ends in exactly one final action, never issues a call after a cancel or a stop was seen,
// and never loses the checkpoint: a job that ends handed back, delayed or abandoned finishes
// from what was stored, with nothing left of the user.
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "queue/error.hpp"
#include "tests/worker/fake_iam.hpp"
#include "tests/worker/job_run_driver.hpp"
#include "worker/job_run.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using namespace test_driver;

bool user_gone(const FakeIam& iam) { return iam.users.count("alice") == 0; }

// ---- one path each ------------------------------------------------------------------------

TEST(JobRun, OffboardsToTheEndWithOneResultShape) {
  FakeIam iam = world();
  Driver d(iam);
  auto run = d.make(offboard());
  const auto last = d.drive(*run);
  EXPECT_EQ(last.end, End::succeeded);
  EXPECT_TRUE(user_gone(iam));
  EXPECT_EQ(run->calls(), static_cast<int>(d.sent.size()));
  // Every call was recorded before the next went out.
  ASSERT_GE(d.trace.size(), 3u);
  for (std::size_t i = 0; i + 1 < d.trace.size(); ++i) {
    if (d.trace[i] == Op::issue_call) {
      EXPECT_EQ(d.trace[i + 1], Op::write_step);  // the answer is recorded first
    }
  }
  const auto result = run->result_json(JobResult{});
  for (const char* k : {"status", "meta", "type", "account", "user_name", "calls", "attempt", "dry_run", "worker"}) {
    EXPECT_TRUE(result.contains(k)) << k;
  }
  EXPECT_EQ(result["worker"], "w1");
  EXPECT_EQ(result["meta"]["ticket"], "HR-1");
}

TEST(JobRun, StepRecordsCarryTheTimeOfTheEventAndTheCheckpoint) {
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  JobRun run(offboard(), "", 1, popts, retry, "w1");
  EXPECT_EQ(run.resume(Event::started()).op, Op::acquire);
  EXPECT_EQ(run.resume(Event::granted()).op, Op::issue_call);
  EXPECT_EQ(run.call()->action, "GetUser");
  auto a = run.resume(Event::answered(iam.handle(*run.call()), {}, kAt));
  ASSERT_EQ(a.op, Op::write_step);
  EXPECT_EQ(a.step["action"], "GetUser");
  EXPECT_EQ(a.step["at_ms"], std::chrono::duration_cast<std::chrono::milliseconds>(kAt.time_since_epoch()).count());
  const auto cp = nlohmann::json::parse(a.checkpoint);
  EXPECT_EQ(cp["v"], 1);
  // The stored checkpoint resumes at the call that goes out next.
  auto resumed = restore_planner(offboard(), cp["planner"], popts);
  EXPECT_EQ(run.resume(Event::written(Op::write_step)).op, Op::acquire);
  EXPECT_EQ(resumed->next(), run.call());
}

TEST(JobRun, AWriteAnsweredForAnotherOpIsIgnored) {
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  JobRun run(offboard(), "", 1, popts, retry, "w1");
  run.resume(Event::started());
  run.resume(Event::granted());
  EXPECT_EQ(run.resume(Event::written(Op::write_step)).op, Op::none) << "no write is out";
  EXPECT_EQ(run.resume(Event::granted()).op, Op::none) << "the call is already out";
  EXPECT_EQ(run.state(), JobRun::State::calling);
}

TEST(JobRun, CredentialsErrorRecordsTheStepAndHandsBackForTheCircuit) {
  FakeIam iam = world();
  Driver d(iam);
  d.fault = Fault::call_credentials;
  d.fail_at = 1;  // started → granted (0) → the first answer (1)
  auto run = d.make(offboard());
  const auto last = d.drive(*run);
  EXPECT_EQ(last.end, End::handed_back);
  EXPECT_EQ(last.reason, "circuit_open");
  EXPECT_EQ(run->call()->action, "GetUser");
}

TEST(JobRun, ShortRetriesWaitOnATimerAndCountPerClass) {
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  JobRun run(offboard(), "", 1, popts, retry, "w1");
  run.resume(Event::started());
  run.resume(Event::granted());
  auto a = run.resume(Event::answered(err(client::ErrorClass::transient, "ServiceFailure", 500), {}, kAt));
  ASSERT_EQ(a.op, Op::write_step);
  EXPECT_EQ(a.retry_class, "transient");
  EXPECT_FALSE(a.retry_delayed);
  EXPECT_EQ(a.step["disposition"], "retry");
  EXPECT_EQ(nlohmann::json::parse(a.checkpoint)["class_attempts"]["transient"], 1);
  a = run.resume(Event::written(Op::write_step));
  ASSERT_EQ(a.op, Op::wait_retry);
  EXPECT_EQ(a.delay, 50ms);
  // The timer fires before schedule_retry is answered: the wake goes out, the mark's answer
  // still counts.
  EXPECT_EQ(run.resume(Event::timer_fired()).op, Op::wake);
  a = run.resume(Event::written(Op::wait_retry, queue::make_error_code(queue::Errc::lost_claim)));
  EXPECT_EQ(a.op, Op::done);
  EXPECT_EQ(a.end, End::abandoned);
  EXPECT_EQ(run.resume(Event::written(Op::wake)).op, Op::none);
}

TEST(JobRun, LongRetriesGoThroughTheDelayedSetAndTheAttemptsCarryOver) {
  FakeIam iam = world();
  Driver d(iam);
  d.fault = Fault::call_unmodifiable;
  d.fail_at = 1;
  auto run = d.make(offboard());
  const auto last = d.drive(*run);
  EXPECT_EQ(last.end, End::delayed);
  EXPECT_EQ(last.retry_class, "unmodifiable");
  EXPECT_EQ(last.delay, 30s);
  // The next delivery resumes at the same call with its attempts.
  auto next = d.make(offboard(), 2);
  EXPECT_EQ(next->attempts(), 1);
  next->resume(Event::started());
  EXPECT_EQ(next->call()->action, "GetUser");
}

TEST(JobRun, AFailedJobKeepsTheCheckpointOfTheCallThatFailed) {
  FakeIam iam = world();
  Driver d(iam);
  d.fault = Fault::call_denied;
  d.fail_at = 7;  // granted, answer, written per call: the answer of the third call
  auto run = d.make(offboard());
  const auto last = d.drive(*run);
  EXPECT_EQ(last.end, End::failed);
  EXPECT_NE(last.error.find("AccessDenied"), std::string::npos);
  // iamq retry resumes at the call that failed.
  const auto cp = nlohmann::json::parse(d.stored_checkpoint);
  auto resumed = restore_planner(offboard(), cp["planner"], d.popts);
  EXPECT_EQ(resumed->next()->action, run->call()->action);
}

TEST(JobRun, CancelSeenDuringACallRecordsItAndStops) {
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  JobRun run(offboard(), "", 1, popts, retry, "w1");
  run.resume(Event::started());
  run.resume(Event::granted());
  EXPECT_EQ(run.resume(Event::cancel_seen()).op, Op::none);
  EXPECT_EQ(run.resume(Event::answered(iam.handle(*run.call()), {}, kAt)).op, Op::write_step);
  const auto a = run.resume(Event::written(Op::write_step));
  ASSERT_EQ(a.op, Op::finish);
  EXPECT_EQ(a.status, queue::JobStatus::cancelled);
  const auto result = nlohmann::json::parse(a.result);
  EXPECT_EQ(result["status"], "cancelled");
  EXPECT_EQ(result["outcome"], "cancelled");
  EXPECT_EQ(run.resume(Event::written(Op::finish)).end, End::cancelled);
}

TEST(JobRun, StopWhileWaitingForATokenHandsBackAtOnce) {
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  RetryPolicy retry = retry_policy();
  JobRun run(offboard(), "", 1, popts, retry, "w1");
  EXPECT_EQ(run.resume(Event::started()).op, Op::acquire);
  const auto a = run.resume(Event::stop_requested());
  EXPECT_EQ(a.op, Op::hand_back);
  EXPECT_EQ(a.reason, "shutdown");
  EXPECT_EQ(run.resume(Event::granted()).op, Op::none) << "the token came too late";
  EXPECT_EQ(run.resume(Event::written(Op::hand_back)).end, End::handed_back);
}

TEST(JobRun, DisallowedStepsDeadLetterWithoutACall) {
  FakeIam iam;
  Driver d(iam);
  Job j;
  j.id = "x";
  j.type = JobType::iam_calls;
  j.steps = {{"CreateUser", {{"UserName", "mallory"}}}};
  auto run = d.make(j);
  const auto last = d.drive(*run);
  EXPECT_EQ(last.op, Op::dead_letter);
  EXPECT_NE(last.reason.find("CreateUser"), std::string::npos);
  EXPECT_TRUE(d.sent.empty());
}

TEST(JobRun, ADryRunNeverSendsAMutatingCallEvenFromAnOldCheckpoint) {
  // A checkpoint of a real run, at a mutating call, resumed by a dry run.
  FakeIam iam = world();
  PlannerOptions popts = planner_opts();
  auto p = make_planner(offboard(), popts);
  while (auto c = p->next()) {
    if (c->mutating) break;
    p->on_outcome(iam.handle(*c));
  }
  Job dry = offboard();
  dry.dry_run = true;
  Driver d(iam);
  d.stored_checkpoint = nlohmann::json{{"v", 1}, {"planner", p->checkpoint()}}.dump();
  auto run = d.make(dry);
  d.drive(*run);
  for (const auto& c : d.sent) EXPECT_FALSE(c.mutating) << c.action;
}

// ---- failure injection by counting --------------------------------------------------------

/// Runs the job with the Nth operation failing as `f`, then (when it ended handed back,
/// delayed or abandoned) resumes it from what was stored, as the next delivery would, until
/// it ends. Returns the ends in order.
std::vector<End> run_with_fault(FakeIam& iam, Fault f, int n, bool mark_first, std::string* trace_out) {
  std::vector<End> ends;
  Driver d(iam);
  d.fault = f;
  d.fail_at = n;
  d.mark_first = mark_first;
  for (int delivery = 1; delivery <= 4; ++delivery) {
    d.finals.clear();
    d.told_cancel = d.told_stop = false;
    auto run = d.make(offboard(), delivery);
    const auto last = d.drive(*run);
    if (last.op == Op::dead_letter) {
      ADD_FAILURE() << "dead-lettered";
      break;
    }
    ends.push_back(last.end);
    if (last.end != End::handed_back && last.end != End::delayed && last.end != End::abandoned) break;
    d.fail_at = -1;  // the next delivery runs clean
  }
  for (auto op : d.trace) *trace_out += std::string(to_string(op)) + " ";
  return ends;
}

TEST(JobRun, EveryFailureAtEveryPointEndsOnceAndLosesNothing) {
  // A clean run's operations bound N.
  FakeIam clean = world();
  Driver probe(clean);
  auto r = probe.make(offboard());
  probe.drive(*r);
  const int total = probe.ops;
  ASSERT_GT(total, 20);
  int cases = 0;
  std::map<End, int> first_ends;  // how the faulty delivery ended
  for (Fault f : kFaults) {
    for (int n = 0; n <= total; ++n) {
      for (bool mark_first : {true, false}) {
        FakeIam iam = world();
        std::string trace;
        const auto ends = run_with_fault(iam, f, n, mark_first, &trace);
        SCOPED_TRACE("fault " + std::to_string(static_cast<int>(f)) + " at " + std::to_string(n) + ": " + trace);
        ASSERT_FALSE(ends.empty());
        const End last = ends.back();
        ++cases;
        ++first_ends[ends.front()];
        switch (last) {
          case End::succeeded:
            EXPECT_TRUE(user_gone(iam)) << "succeeded with the user still there";
            break;
          case End::failed:
            EXPECT_EQ(f, Fault::call_denied);
            break;
          case End::cancelled:
            EXPECT_TRUE(f == Fault::cancel || f == Fault::write_cancel);
            break;
          default:
            ADD_FAILURE() << "a later delivery did not finish: " << to_string(last);
        }
        // Only a cancel or a denial keeps the job from the end; everything else resumes from
        // the stored checkpoint and gets there.
        if (f != Fault::cancel && f != Fault::write_cancel && f != Fault::call_denied) {
          EXPECT_EQ(last, End::succeeded);
        }
      }
    }
  }
  EXPECT_GT(cases, 500);
  // Every kind of end was met on the way.
  for (End e : {End::succeeded, End::failed, End::cancelled, End::handed_back, End::delayed, End::abandoned}) {
    EXPECT_GT(first_ends[e], 0) << to_string(e);
  }
}

TEST(JobRun, ACancelAtEveryPointStopsTheCallsAtOnce) {
  FakeIam clean = world();
  Driver probe(clean);
  auto r = probe.make(offboard());
  probe.drive(*r);
  int cancelled = 0;
  for (int n = 0; n < probe.ops; ++n) {
    FakeIam iam = world();
    Driver d(iam);
    d.fault = Fault::cancel;
    d.fail_at = n;
    auto run = d.make(offboard());
    const auto last = d.drive(*run);  // asserts no call went out after the cancel
    if (!run->cancel_seen()) continue;
    cancelled += last.end == End::cancelled ? 1 : 0;
    EXPECT_TRUE(last.end == End::cancelled || last.end == End::succeeded) << n << " " << to_string(last.end);
  }
  EXPECT_GT(cancelled, probe.ops / 2);
}

}  // namespace
}  // namespace iamq::worker
