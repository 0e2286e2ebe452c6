// Issue 10 on the queue side, against a real redis-server: routing into lanes, priorities and
// the bulk share, round-robin across accounts, not_before, pause, cancel, retry, delivery
// counts (the false dead letter), the lease keeper never taking back a live claim, and the
// dead-letter retry defects (invalid letters by id, bounded scans).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/queue/queue_fixture.hpp"
#include "worker/rfc3339.hpp"
#include "worker/job_validator.hpp"

namespace iamq::queue::test {
namespace {

JobSummary job_with(const std::string& id, const nlohmann::json& extra) {
  nlohmann::json j = {{"type", "offboard_user"}, {"user_name", "u-" + id}, {"id", id}};
  for (const auto& [k, v] : extra.items()) j[k] = v;
  return std::get<JobSummary>(worker::job_validator()(j.dump(), id));
}

std::vector<std::string> ids_of(const std::vector<Claim>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.id);
  return out;
}

TEST_F(QueueTest, UrgentBeforeNormalBeforeBulkWithABulkShare) {
  Consumer c(ioc_, ep_, "c");
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 5; ++i) jobs.push_back(job_with("b" + std::to_string(i), {{"priority", "bulk"}}));
  for (int i = 0; i < 20; ++i) jobs.push_back(job("n" + std::to_string(i)));
  jobs.push_back(job_with("u0", {{"priority", "urgent"}}));
  enqueue(c, jobs);
  route(c, intake(c));
  EXPECT_EQ(integer({"LLEN", "t:lane:default:bulk"}), 5);
  EXPECT_EQ(integer({"LLEN", "t:lane:default:urgent"}), 1);
  std::vector<std::string> order;
  for (int i = 0; i < 26; ++i) {
    auto one = claim(c, 1);
    ASSERT_EQ(one.size(), 1u) << i;
    order.push_back(one[0].id);
    EXPECT_EQ(one[0].priority, order.back()[0] == 'b' ? "bulk" : order.back()[0] == 'u' ? "urgent" : "normal");
  }
  // The urgent job first although it was enqueued last; FIFO within normal; every 10th start
  // of the account takes bulk first (starts 10 and 20); the rest of bulk after normal.
  EXPECT_EQ(order[0], "u0");
  EXPECT_EQ(order[1], "n0");
  EXPECT_EQ(order[9], "b0");
  EXPECT_EQ(order[10], "n8");
  EXPECT_EQ(order[19], "b1");
  EXPECT_EQ(order[22], "n19");
  EXPECT_EQ(order[23], "b2");
  EXPECT_EQ(order[25], "b4");
  EXPECT_TRUE(claim(c, 1).empty());
}

TEST_F(QueueTest, AccountsAreServedRoundRobinAndABacklogDoesNotDelayAnother) {
  Consumer c(ioc_, ep_, "c");
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 50; ++i) jobs.push_back(job_with("a" + std::to_string(i), {{"account", "A"}}));
  for (int i = 0; i < 2; ++i) jobs.push_back(job_with("b" + std::to_string(i), {{"account", "B"}}));
  enqueue(c, jobs);
  route(c, intake(c));
  auto [ec, got] = wait<std::vector<Claim>>(
      ioc_, [&](auto cb) { c.queue->claim({{"A", 10}, {"B", 10}}, 5, cb); });
  ASSERT_FALSE(ec);
  EXPECT_EQ(ids_of(got), (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2"}));
  // A grant caps the account: A may start 1, B nothing (its gate is closed).
  auto [ec2, capped] = wait<std::vector<Claim>>(
      ioc_, [&](auto cb) { c.queue->claim({{"A", 1}, {"B", 0}}, 10, cb); });
  ASSERT_FALSE(ec2);
  EXPECT_EQ(ids_of(capped), (std::vector<std::string>{"a3"}));
}

// A worker asks only for accounts that may have work (issue 10's scale-in-accounts figure):
// every move into a lane adds the account to <ns>:ready, a claim that finds an account's lanes
// empty names it and takes it out, and a worker's start rebuilds the set from the lanes.
TEST_F(QueueTest, ReadyAccountsFollowTheLanesAndAClaimNamesTheEmptyOnes) {
  Consumer c(ioc_, ep_, "c");
  auto ready = [&](bool rebuild) {
    auto [ec, names] = wait<std::vector<std::string>>(ioc_, [&](auto cb) { c.queue->ready_accounts(rebuild, cb); });
    EXPECT_FALSE(ec);
    std::sort(names.begin(), names.end());
    return names;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ready(false), V{});
  enqueue(c, {job_with("a0", {{"account", "A"}}), job_with("b0", {{"account", "B"}}),
              job_with("b1", {{"account", "B"}, {"priority", "bulk"}})});
  auto routed = route(c, intake(c));
  ASSERT_EQ(routed.size(), 3u);
  EXPECT_EQ(routed[0].account, "A") << "the route result names the lane's account";
  EXPECT_EQ(ready(false), (V{"A", "B"}));
  auto start = [&](std::vector<LaneGrant> grants, std::size_t max) {
    auto [ec, r] = wait<ClaimResult>(ioc_, [&](auto cb) { c.queue->start_jobs(grants, max, cb); });
    EXPECT_FALSE(ec);
    return r;
  };
  auto r = start({{"A", 5}, {"B", 5}, {"C", 5}}, 10);
  EXPECT_EQ(ids_of(r.started), (V{"a0", "b0", "b1"}));
  EXPECT_EQ(r.started[0].account, "A");
  EXPECT_EQ(r.started[2].account, "B");
  EXPECT_EQ(r.empty, (V{"C", "A", "B"})) << "C had nothing; A and B ran out on the second pass";
  EXPECT_EQ(ready(false), V{});
  // A lane written without <ns>:ready (an older worker): the rebuild finds it.
  enqueue(c, {job_with("a1", {{"account", "A"}})});
  route(c, intake(c));
  EXPECT_EQ(ready(false), V{"A"});
  cmd({"DEL", "t:ready"});
  EXPECT_EQ(ready(false), V{});
  EXPECT_EQ(ready(true), V{"A"});
  // An account not reached (the claim's total was used up) is not named empty.
  r = start({{"A", 1}, {"D", 1}}, 1);
  EXPECT_EQ(ids_of(r.started), V{"a1"});
  EXPECT_EQ(r.empty, V{});
}

TEST_F(QueueTest, NotBeforeWaitsInTheDelayedSetAndAPastOneRunsNow) {
  Consumer c(ioc_, ep_, "c");
  const long long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  auto later = job_with("later", {{"not_before", worker::format_rfc3339_utc(now_ms + 600)}});
  auto past = job_with("past", {{"not_before", worker::format_rfc3339_utc(now_ms - 60000)}});
  enqueue(c, {later, past});
  auto rs = route(c, intake(c));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].outcome, RouteResult::Outcome::scheduled);
  EXPECT_EQ(rs[1].outcome, RouteResult::Outcome::routed);
  EXPECT_EQ(record("later")["where"], "scheduled");
  EXPECT_EQ(integer({"ZCARD", "t:delayed"}), 1);
  EXPECT_EQ(ids_of(claim(c, 10)), std::vector<std::string>{"past"});
  auto [e0, early] = wait<std::size_t>(ioc_, [&](auto cb) { c.queue->promote_due(10, cb); });
  EXPECT_EQ(early, 0u);
  let_time_pass(ioc_, 700ms);
  auto [e1, moved] = wait<std::size_t>(ioc_, [&](auto cb) { c.queue->promote_due(10, cb); });
  EXPECT_EQ(moved, 1u);
  auto got = claim(c, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, "later");
  EXPECT_EQ(got[0].resumes, 0);  // a schedule is not a resume
}

TEST_F(QueueTest, PauseKeepsJobsInTheirLanesAndStopsRunningOnesAtTheirNextStep) {
  Consumer c(ioc_, ep_, "c");
  enqueue(c, {job_with("a1", {{"account", "A"}}), job_with("a2", {{"account", "A"}}),
              job_with("b1", {{"account", "B"}}), job_with("b2", {{"account", "B"}})});
  route(c, intake(c));
  auto running = wait<std::vector<Claim>>(ioc_, [&](auto cb) { c.queue->claim({{"A", 1}}, 1, cb); }).second;
  ASSERT_EQ(running.size(), 1u);
  auto [pe, changed] = wait<bool>(ioc_, [&](auto cb) { c.queue->pause("A", "incident 42", cb); });
  ASSERT_FALSE(pe);
  EXPECT_TRUE(changed);
  EXPECT_FALSE(wait<bool>(ioc_, [&](auto cb) { c.queue->pause("A", "again", cb); }).second);
  auto got = wait<std::vector<Claim>>(ioc_, [&](auto cb) { c.queue->claim({{"A", 5}, {"B", 1}}, 5, cb); }).second;
  EXPECT_EQ(ids_of(got), std::vector<std::string>{"b1"});  // A is paused
  // The running job of A records its step, then learns of the pause.
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) {
              c.queue->record_step("a1", running[0].entry_id, R"({"action":"GetUser"})", R"({"at":1})", cb);
            }),
            Errc::paused);
  EXPECT_EQ(integer({"LLEN", "t:job:a1:steps"}), 1);
  auto [se, s] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  ASSERT_EQ(s.paused.count("A"), 1u);
  EXPECT_NE(s.paused["A"].find("incident 42"), std::string::npos);
  // Every account.
  wait<bool>(ioc_, [&](auto cb) { c.queue->pause("", "", cb); });
  EXPECT_TRUE(wait<std::vector<Claim>>(ioc_, [&](auto cb) { c.queue->claim({{"B", 5}}, 5, cb); }).second.empty());
  wait<bool>(ioc_, [&](auto cb) { c.queue->resume("", cb); });
  wait<bool>(ioc_, [&](auto cb) { c.queue->resume("A", cb); });
  got = wait<std::vector<Claim>>(ioc_, [&](auto cb) { c.queue->claim({{"A", 5}, {"B", 5}}, 5, cb); }).second;
  EXPECT_EQ(ids_of(got), (std::vector<std::string>{"a2", "b2"}));
  auto events = cmd({"XRANGE", "t:events", "-", "+"});
  int paused = 0, resumed = 0;
  for (const auto& e : events.elements) {
    auto f = e.elements[1].as_map();
    paused += f["event"] == "paused";
    resumed += f["event"] == "resumed";
  }
  EXPECT_EQ(paused, 2);
  EXPECT_EQ(resumed, 2);
}

TEST_F(QueueTest, CancelEndsWaitingJobsAtOnceAndAsksRunningOnesToStop) {
  Consumer c(ioc_, ep_, "c");
  auto sched = job_with("sched", {{"not_before", "2100-01-01T00:00:00Z"}});
  enqueue(c, {job("inlane"), sched, job("run")});
  auto cancel = [&](const std::string& id) {
    bool done = false;
    std::tuple<std::error_code, CancelOutcome, std::string> out;
    c.queue->cancel(id, "left the company", [&](std::error_code ec, CancelOutcome o, std::string st) {
      out = {ec, o, st};
      done = true;
    });
    run_until(ioc_, done);
    return out;
  };
  // Not routed yet: cancelled in the intake; the router drops the entry.
  auto entries = intake(c);
  EXPECT_EQ(std::get<1>(cancel("inlane")), CancelOutcome::cancelled);
  auto rs = route(c, entries);
  EXPECT_EQ(rs[0].outcome, RouteResult::Outcome::finished);
  EXPECT_EQ(rs[1].outcome, RouteResult::Outcome::scheduled);
  EXPECT_EQ(std::get<1>(cancel("sched")), CancelOutcome::cancelled);
  EXPECT_EQ(integer({"ZCARD", "t:delayed"}), 0);
  auto running = claim(c, 10);
  ASSERT_EQ(ids_of(running), std::vector<std::string>{"run"});
  EXPECT_TRUE(lease(c, {running[0].entry_id}, 60s).cancel.empty());
  EXPECT_EQ(std::get<1>(cancel("run")), CancelOutcome::requested);
  EXPECT_EQ(record("run")["status"], "running");
  // The lease keeper's renewal names it too: a job waiting for a token or a retry timer
  // makes no write that would tell its worker.
  EXPECT_EQ(lease(c, {running[0].entry_id}, 60s).cancel, std::vector<std::string>{running[0].entry_id});
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) {
              c.queue->record_step("run", running[0].entry_id, R"({"action":"GetUser"})", "", cb);
            }),
            Errc::cancel_requested);
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) { c.queue->wake("run", running[0].entry_id, cb); }),
            Errc::cancel_requested);
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    c.queue->finish("run", running[0].entry_id, JobStatus::cancelled, R"({"status":"cancelled","calls":1})", "", cb);
  }));
  for (const char* id : {"inlane", "sched", "run"}) {
    EXPECT_EQ(record(id)["status"], "cancelled") << id;
    EXPECT_EQ(record(id)["cancel"], "left the company") << id;
  }
  auto r = nlohmann::json::parse(record("sched")["result"]);
  EXPECT_EQ(r["status"], "cancelled");
  EXPECT_EQ(r["calls"], 0);
  EXPECT_EQ(integer({"LLEN", "t:job:run:steps"}), 1);  // the record keeps the call made
  EXPECT_EQ(std::get<1>(cancel("run")), CancelOutcome::final);
  EXPECT_EQ(std::get<0>(cancel("nope")), Errc::not_found);
  auto [se, s] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  EXPECT_EQ(s.counts["cancelled"], 3);
  EXPECT_EQ(s.counts["queued"], 0);
  EXPECT_EQ(s.counts["running"], 0);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
}

TEST_F(QueueTest, RetryResumesAFailedJobAtItsCheckpointWithFreshBudgets) {
  Consumer c(ioc_, ep_, "c");
  enqueue(c, {job("f1"), job("d1")});
  auto got = take(c, 10);
  ASSERT_EQ(got.size(), 2u);
  auto retry = [&](const std::string& id) {
    return wait<std::string>(ioc_, [&](auto cb) { c.queue->retry(id, cb); });
  };
  EXPECT_EQ(retry("f1").first, Errc::refused);  // running
  EXPECT_EQ(retry("f1").second, "running");
  const std::string cp = R"({"v":1,"planner":{"phase":"delete_user"},"action":"DeleteUser","call_attempts":9,"class_attempts":{"transient":9}})";
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->record_step("f1", got[0].entry_id, "{}", cp, cb); }));
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    c.queue->finish("f1", got[0].entry_id, JobStatus::failed, "{}", "ServiceFailure", cb);
  }));
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->dead_letter("d1", got[1].entry_id, "r", "e", cb); }));
  EXPECT_FALSE(retry("f1").first);
  EXPECT_FALSE(retry("d1").first);
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 0);
  EXPECT_EQ(integer({"TTL", "t:job:f1"}), -1);  // no longer expiring
  auto again = claim(c, 10);
  ASSERT_EQ(ids_of(again), (std::vector<std::string>{"f1", "d1"}));
  auto cpj = nlohmann::json::parse(again[0].checkpoint);
  EXPECT_EQ(cpj["planner"]["phase"], "delete_user");  // where it stopped
  EXPECT_FALSE(cpj.contains("call_attempts"));          // fresh budgets
  EXPECT_FALSE(cpj.contains("class_attempts"));
  EXPECT_EQ(again[0].attempts, 2);
  auto [se, s] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  EXPECT_EQ(s.counts["failed"], 0);
  EXPECT_EQ(s.counts["running"], 2);
  EXPECT_EQ(retry("nope").first, Errc::not_found);
}

// Point 7: a job that went through the delayed set 11 times and whose worker was then
// SIGKILLed once was dead-lettered as "abandoned by 12 workers" (every delivery was counted
// against max_attempts). Reclaims are counted apart now, and only they are bounded.
TEST_F(QueueTest, ElevenBackoffsAndOneCrashAreNotADeadLetter) {
  Consumer w(ioc_, ep_, "w");
  Consumer rescuer(ioc_, ep_, "rescuer");
  enqueue(w, {job("patient")});
  auto c = take(w, 1).at(0);
  for (int i = 0; i < 11; ++i) {
    ASSERT_FALSE(wait_done(ioc_, [&](auto cb) {
      w.queue->schedule_delayed("patient", c.entry_id, 0ms, "EntityTemporarilyUnmodifiable", cb);
    }));
    let_time_pass(ioc_, 5ms);
    ASSERT_EQ(wait<std::size_t>(ioc_, [&](auto cb) { w.queue->promote_due(10, cb); }).second, 1u);
    c = claim(w, 1).at(0);
  }
  EXPECT_EQ(c.attempts, 12);
  EXPECT_EQ(c.resumes, 11);
  // w dies: the rescuer takes the claim back (min idle 0 here; the visibility timeout in life).
  auto back = lease(rescuer, {}, 0ms);
  EXPECT_EQ(back.reclaimed, 1u);
  EXPECT_EQ(back.dead, 0u);
  auto r = claim(rescuer, 1);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reclaims, 1);
  EXPECT_EQ(record("patient")["status"], "running");
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 0);
  // Past max_reclaims (5 by default) it is a dead letter, with a reason that says so.
  for (int i = 0; i < 4; ++i) {  // reclaims 2 to 5
    EXPECT_EQ(lease(w, {}, 0ms).reclaimed, 1u) << i;
    ASSERT_EQ(claim(w, 1).size(), 1u);
  }
  auto last = lease(w, {}, 0ms);
  EXPECT_EQ(last.dead, 1u);
  EXPECT_EQ(record("patient")["status"], "dead");
  EXPECT_EQ(record("patient")["reason"],
            "abandoned by 6 workers that stopped renewing (crashed or killed); not retried");
}

// Point 8, first defect: a worker could take back its own entry (reclaim of a parked job it
// still held) and start the job a second time. The lease keeper renews its live claims in
// the same script before taking anything back.
TEST_F(QueueTest, TheLeaseKeeperNeverTakesBackALiveClaimOfItsOwn) {
  Consumer w(ioc_, ep_, "w");
  enqueue(w, {job("mine"), job("leaked")});
  auto cs = take(w, 2);
  ASSERT_EQ(cs.size(), 2u);
  let_time_pass(ioc_, 30ms);
  auto r = lease(w, {cs[0].entry_id}, 20ms);  // "mine" is live; "leaked" is not run any more
  EXPECT_TRUE(r.lost.empty());
  EXPECT_EQ(r.reclaimed, 1u);
  EXPECT_EQ(record("mine")["status"], "running");
  EXPECT_EQ(record("mine")["entry"], cs[0].entry_id);
  EXPECT_EQ(record("leaked")["status"], "queued");
  EXPECT_EQ(ids_of(claim(w, 5)), std::vector<std::string>{"leaked"});
}

// Point 8, dead-letter retry by id: a letter dead-lettered as invalid was retried through
// the record's pointer although the --all path refuses such letters.
TEST_F(QueueTest, DlqRetryByIdRefusesInvalidLetters) {
  Consumer c(ioc_, ep_, "c");
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->ensure_group(cb); }));
  cmd({"XADD", "t:jobs", "*", "job", R"({"id":"HR-9","type":"offboard_user","user_name":"bad name"})"});
  route(c, intake(c));
  ASSERT_EQ(record("HR-9")["status"], "dead");
  ASSERT_FALSE(record("HR-9")["dead_entry"].empty());  // the pointer path is taken
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) { c.queue->dlq_retry("HR-9", cb); }), Errc::refused);
  EXPECT_EQ(record("HR-9")["status"], "dead");
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 1);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
}

// Point 8, dead-letter retry by id without a record: the scan ran over the whole DLQ inside
// one script (Redis blocked for all of it); now each script call scans one batch of 500.
TEST_F(QueueTest, DlqRetryByIdScansInBoundedBatches) {
  Consumer c(ioc_, ep_, "c");
  for (int i = 0; i < 1600; ++i) {
    cmd({"XADD", "t:dead", "*", "id", "x" + std::to_string(i), "job",
         R"({"type":"offboard_user","user_name":"a"})", "reason", "not_allowed", "error", "e"});
  }
  auto evalsha_calls = [&] {
    const std::string info = cmd({"INFO", "commandstats"}).as_string().value_or("");
    auto at = info.find("cmdstat_evalsha:calls=");
    return at == std::string::npos ? 0LL : std::stoll(info.substr(at + 22));
  };
  // Load the script once (a miss), then count.
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) { c.queue->dlq_retry("absent", cb); }), Errc::not_found);
  const long long before = evalsha_calls();
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->dlq_retry("x1599", cb); }));
  EXPECT_EQ(evalsha_calls() - before, 4);  // 500 + 500 + 500 + 100
  EXPECT_EQ(record("x1599")["status"], "queued");
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 1599);
}

}  // namespace
}  // namespace iamq::queue::test
