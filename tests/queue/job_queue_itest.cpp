// JobQueue against a real redis-server: round trip, idempotency, plain XADD, invalid jobs,
// delayed jobs, reclaim after SIGKILL, fencing, hand-back, dead letters, Redis restart.
// (Issue 10: jobs are routed from the intake into lanes and started by claim(); the tests
// take jobs with take() = route + claim where they used read() + adopt() + mark_running().)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/queue/queue_fixture.hpp"

namespace iamq::queue::test {
namespace {

TEST_F(QueueTest, EnqueueConsumeAckRoundTrip) {
  Consumer c(ioc_, ep_, "c1");
  auto res = enqueue(c, {job("j1", "alice"), job("j2", "bob")});
  ASSERT_EQ(res.size(), 2u);
  EXPECT_TRUE(res[0].created);
  EXPECT_TRUE(res[1].created);
  EXPECT_EQ(record("j1")["status"], "queued");

  auto entries = take(c, 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, "j1");
  for (const auto& e : entries) {
    const auto& a = e;
    EXPECT_EQ(a.status, "queued");
    EXPECT_EQ(a.attempts, 1);
    EXPECT_TRUE(a.checkpoint.empty());
    EXPECT_NE(a.job_json.find("\"user_name\""), std::string::npos);
    EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
      c.queue->record_step(a.id, e.entry_id, R"({"action":"DeleteUser","result":"ok"})",
                           R"({"next":1})", cb);
    }));
    EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
      c.queue->finish(a.id, e.entry_id, JobStatus::succeeded, R"({"outcome":"deleted"})", "", cb);
    }));
  }
  auto r = record("j1");
  EXPECT_EQ(r["status"], "succeeded");
  EXPECT_EQ(r["attempts"], "1");
  EXPECT_EQ(r["result"], R"({"outcome":"deleted"})");
  EXPECT_EQ(r["checkpoint"], R"({"next":1})");
  EXPECT_EQ(integer({"LLEN", "t:job:j1:steps"}), 1);
  EXPECT_GT(integer({"TTL", "t:job:j1"}), 3000);  // retention set
  EXPECT_GT(integer({"TTL", "t:job:j1:steps"}), 3000);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);  // acked and deleted
  EXPECT_EQ(cmd({"XPENDING", "t:jobs", "workers"}).elements[0].as_integer(), 0);
  auto [ec, drained] = wait<bool>(ioc_, [&](auto cb) { c.queue->drained(cb); });
  EXPECT_FALSE(ec);
  EXPECT_TRUE(drained);

  // Every move left an event.
  auto events = cmd({"XRANGE", "t:events", "-", "+"});
  std::vector<std::string> kinds;
  for (const auto& e : events.elements) {
    auto f = e.elements[1].as_map();
    if (f["id"] == "j1") kinds.push_back(f["event"]);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"queued", "routed", "running", "step", "succeeded"}));

  auto [sec, stats] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  ASSERT_FALSE(sec);
  EXPECT_EQ(stats.counts["succeeded"], 2);
  EXPECT_EQ(stats.counts["queued"], 0);
  EXPECT_EQ(stats.counts["running"], 0);
  ASSERT_EQ(stats.consumers.size(), 1u);
  EXPECT_EQ(stats.consumers[0].name, "c1");
}

TEST_F(QueueTest, DuplicateIdsGiveOneJob) {
  Consumer c(ioc_, ep_, "c1");
  auto res = enqueue(c, {job("dup"), job("dup", "other"), job("solo")});
  EXPECT_TRUE(res[0].created);
  EXPECT_FALSE(res[1].created);
  EXPECT_EQ(res[1].status, "queued");
  EXPECT_TRUE(res[2].created);
  auto again = enqueue(c, {job("dup")});
  EXPECT_FALSE(again[0].created);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 2);
  EXPECT_EQ(record("dup")["user_name"], "alice");  // the first one stays
}

TEST_F(QueueTest, BatchedEnqueueKeepsPerJobResultsCountsAndEvents) {
  Consumer c(ioc_, ep_, "c1");
  ASSERT_TRUE(enqueue(c, {job("x1", "xavier")})[0].created);
  // Batches of 3: duplicates inside a batch, across batches, and of an existing job.
  JobQueue::Options qo;
  qo.ns = "t";
  qo.consumer = "producer";
  qo.enqueue_batch = 3;
  JobQueue q(*c.conn, *c.conn, qo);
  auto [ec, res] = wait<std::vector<EnqueueResult>>(ioc_, [&](auto cb) {
    q.enqueue({job("j1"), job("x1", "other"), job("j1", "again"), job("j2"), job("j3"),
               job("j2", "again"), job("j4")},
              cb);
  });
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(res.size(), 7u);
  std::vector<std::string> ids = {"j1", "x1", "j1", "j2", "j3", "j2", "j4"};
  std::vector<bool> created = {true, false, false, true, true, false, true};
  std::string last_entry;
  for (std::size_t i = 0; i < res.size(); ++i) {
    EXPECT_EQ(res[i].id, ids[i]);
    EXPECT_EQ(res[i].created, created[i]) << ids[i];
    if (created[i]) {
      EXPECT_EQ(cmd({"HGET", "t:job:" + ids[i], "entry"}).str, res[i].entry_id);
      EXPECT_GT(res[i].entry_id.size(), 2u);
      EXPECT_NE(res[i].entry_id, last_entry);
      last_entry = res[i].entry_id;
    } else {
      EXPECT_EQ(res[i].status, "queued");
      EXPECT_TRUE(res[i].entry_id.empty());
    }
  }
  EXPECT_EQ(cmd({"HGET", "t:job:x1", "user_name"}).str, "xavier");
  EXPECT_EQ(cmd({"HGET", "t:job:j1", "user_name"}).str, "alice");
  EXPECT_EQ(cmd({"HGET", "t:job:j2", "attempts"}).str, "0");
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 5);
  EXPECT_EQ(cmd({"HGET", "t:counts", "queued"}).as_integer(), 5);
  // One 'queued' event per created job, in order, naming the stream entry and the producer.
  auto events = cmd({"XRANGE", "t:events", "-", "+"});
  ASSERT_EQ(events.elements.size(), 5u);
  std::vector<std::string> want = {"x1", "j1", "j2", "j3", "j4"};
  for (std::size_t i = 1; i < want.size(); ++i) {
    auto f = events.elements[i].elements.at(1).as_map();
    EXPECT_EQ(f["event"], "queued");
    EXPECT_EQ(f["id"], want[i]);
    EXPECT_EQ(f["status"], "queued");
    EXPECT_EQ(f["consumer"], "producer");
    EXPECT_EQ(f["entry"], cmd({"HGET", "t:job:" + want[i], "entry"}).str);
    EXPECT_FALSE(f["at"].empty());
  }
}

TEST_F(QueueTest, BatchedEnqueueCapsTheEventsStream) {
  Consumer c(ioc_, ep_, "c1");
  JobQueue::Options qo;
  qo.ns = "t";
  qo.consumer = "producer";
  qo.events_maxlen = 10;
  JobQueue q(*c.conn, *c.conn, qo);
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 2000; ++i) jobs.push_back(job("cap-" + std::to_string(i)));
  auto [ec, res] =
      wait<std::vector<EnqueueResult>>(ioc_, [&](auto cb) { q.enqueue(std::move(jobs), cb); });
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 2000);
  EXPECT_EQ(cmd({"HGET", "t:counts", "queued"}).as_integer(), 2000);
  // MAXLEN ~ trims whole stream nodes (100 entries by default), so a few more than 10 stay.
  auto kept = integer({"XLEN", "t:events"});
  EXPECT_GE(kept, 10);
  EXPECT_LE(kept, 10 + 100 + 200);
}

TEST_F(QueueTest, RacingClientsCreateEachIdOnce) {
  // Two clients on their own threads and loops enqueue the same 300 ids at the same time.
  constexpr int n = 300;
  std::atomic<int> created{0};
  std::atomic<int> go{0};
  auto client = [&](int seed) {
    boost::asio::io_context ioc;
    Consumer c(ioc, ep_, "producer" + std::to_string(seed));
    std::vector<JobSummary> jobs;
    for (int i = 0; i < n; ++i)
      jobs.push_back(job("race-" + std::to_string(i), "u" + std::to_string(seed)));
    if (seed == 1) std::reverse(jobs.begin(), jobs.end());
    ++go;
    while (go.load() < 2) std::this_thread::yield();  // start together
    bool done = false;
    c.queue->enqueue(jobs, [&](std::error_code ec, std::vector<EnqueueResult> r) {
      EXPECT_FALSE(ec) << ec.message();
      for (const auto& x : r) created += x.created ? 1 : 0;
      done = true;
    });
    run_until(ioc, done);
  };
  std::thread a(client, 0);
  std::thread b(client, 1);
  a.join();
  b.join();
  EXPECT_EQ(created.load(), n);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), n);
  EXPECT_EQ(cmd({"HGET", "t:counts", "queued"}).as_integer(), n);
}

TEST_F(QueueTest, PlainXaddIsValidatedAndIdempotentAtRouting) {
  Consumer c(ioc_, ep_, "c1");
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->ensure_group(cb); }));
  cmd({"XADD", "t:jobs", "*", "job",
       R"({"id":"HR-7","type":"deactivate_mfa","user_name":"dave"})"});
  cmd({"XADD", "t:jobs", "*", "job",
       R"({"id":"HR-7","type":"deactivate_mfa","user_name":"dave"})"});
  cmd({"XADD", "t:jobs", "*", "job", R"({"type":"offboard_user","user_name":"erin"})"});
  cmd({"XADD", "t:jobs", "*", "job",
       R"({"id":"HR-8","type":"offboard_user","user_name":"bad name"})"});
  cmd({"XADD", "t:jobs", "*", "job", "not json"});
  auto entries = intake(c);
  ASSERT_EQ(entries.size(), 5u);
  auto rs = route(c, entries);
  ASSERT_EQ(rs.size(), 5u);
  using O = RouteResult::Outcome;

  EXPECT_EQ(rs[0].outcome, O::routed);
  EXPECT_EQ(rs[0].id, "HR-7");
  EXPECT_EQ(record("HR-7")["source"], "xadd");
  EXPECT_EQ(record("HR-7")["status"], "queued");
  EXPECT_EQ(record("HR-7")["where"], "lane");

  EXPECT_EQ(rs[1].outcome, O::duplicate);

  EXPECT_EQ(rs[2].outcome, O::routed);
  EXPECT_EQ(rs[2].id, "x-" + entries[2].entry_id);

  EXPECT_EQ(rs[3].outcome, O::dead);
  EXPECT_EQ(rs[3].error, R"(user_name "bad name" does not match [\w+=,.@-]+)");
  EXPECT_EQ(record("HR-8")["status"], "dead");
  EXPECT_EQ(record("HR-8")["error"], rs[3].error);

  EXPECT_EQ(rs[4].outcome, O::dead);

  auto dead = cmd({"XRANGE", "t:dead", "-", "+"});
  ASSERT_EQ(dead.elements.size(), 2u);
  auto d0 = dead.elements[0].elements[1].as_map();
  EXPECT_EQ(d0["id"], "HR-8");
  EXPECT_EQ(d0["reason"], "invalid");
  EXPECT_EQ(d0["error"], rs[3].error);
  // Every intake entry is gone; the two valid jobs wait in their lane, nothing is in flight.
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
  EXPECT_EQ(integer({"LLEN", "t:lane:default:normal"}), 2);
  EXPECT_EQ(cmd({"XPENDING", "t:jobs", "workers"}).elements[0].as_integer(), 0);
  // Routing the same entries again (a second worker read them too) changes nothing.
  for (const auto& r : route(c, entries)) EXPECT_EQ(r.outcome, O::gone);
  EXPECT_EQ(integer({"LLEN", "t:lane:default:normal"}), 2);

  auto started = claim(c, 10);
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started[0].id, "HR-7");
  EXPECT_NE(started[1].job_json.find("\"id\":\"x-" + entries[2].entry_id + "\""), std::string::npos);
  EXPECT_EQ(cmd({"XPENDING", "t:jobs", "workers"}).elements[0].as_integer(), 2);

  // An enqueue of the same id afterwards is refused too.
  auto res = enqueue(c, {job("HR-7")});
  EXPECT_FALSE(res[0].created);
}

TEST_F(QueueTest, DelayedJobsComeBackOnceAcrossTwoConsumers) {
  Consumer a(ioc_, ep_, "a");
  Consumer b(ioc_, ep_, "b");
  enqueue(a, {job("later")});
  auto e = take(a, 1).at(0);
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) {
    a.queue->schedule_delayed("later", e.entry_id, 400ms, "EntityTemporarilyUnmodifiable", cb);
  }));
  EXPECT_EQ(record("later")["status"], "retry_scheduled");
  EXPECT_EQ(record("later")["last_error"], "EntityTemporarilyUnmodifiable");
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
  EXPECT_EQ(integer({"ZCARD", "t:delayed"}), 1);
  auto [ec0, early] = wait<std::size_t>(ioc_, [&](auto cb) { a.queue->promote_due(10, cb); });
  EXPECT_FALSE(ec0);
  EXPECT_EQ(early, 0u);  // not due yet

  let_time_pass(ioc_, 450ms);
  // Both consumers promote at once, many times, on their own connections.
  std::size_t moved = 0;
  int replies = 0;
  for (int i = 0; i < 10; ++i) {
    for (Consumer* c : {&a, &b}) {
      c->queue->promote_due(10, [&](std::error_code ec, std::size_t n) {
        EXPECT_FALSE(ec);
        moved += n;
        ++replies;
      });
    }
  }
  bool all = false;
  ioc_.restart();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (replies < 20 && std::chrono::steady_clock::now() < deadline) ioc_.run_one_until(deadline);
  all = replies == 20;
  ASSERT_TRUE(all);
  EXPECT_EQ(moved, 1u);
  EXPECT_EQ(integer({"LLEN", "t:lane:default:normal"}), 1);
  EXPECT_EQ(integer({"ZCARD", "t:delayed"}), 0);

  auto back = claim(b, 10);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].status, "retry_scheduled");
  EXPECT_EQ(back[0].attempts, 2);
  EXPECT_EQ(back[0].resumes, 1);  // a resume, not a reclaim
  EXPECT_EQ(back[0].reclaims, 0);
}

TEST_F(QueueTest, InProcessRetryKeepsEntryInFlight) {
  Consumer c(ioc_, ep_, "c");
  enqueue(c, {job("r1")});
  auto e = take(c, 1).at(0);
  ASSERT_FALSE(wait_done(
      ioc_, [&](auto cb) { c.queue->schedule_retry("r1", e.entry_id, 2s, "Throttling", cb); }));
  auto r = record("r1");
  EXPECT_EQ(r["status"], "retry_scheduled");
  EXPECT_EQ(r["last_error"], "Throttling");
  EXPECT_FALSE(r["next_attempt_at"].empty());
  EXPECT_EQ(cmd({"XPENDING", "t:jobs", "workers"}).elements[0].as_integer(), 1);
  // The wait is over: back to running before the call goes out.
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->wake("r1", e.entry_id, cb); }));
  EXPECT_EQ(record("r1")["status"], "running");
  EXPECT_EQ(cmd({"HGET", "t:counts", "retry_scheduled"}).as_integer(), 0);
  EXPECT_EQ(cmd({"HGET", "t:counts", "running"}).as_integer(), 1);
}

TEST_F(QueueTest, FencingRefusesAStaleOwner) {
  Consumer a(ioc_, ep_, "a");
  Consumer b(ioc_, ep_, "b");
  enqueue(a, {job("f1")});
  auto e = take(a, 1).at(0);
  // b takes the job back into its lane (min idle 0: as after a's visibility timeout) and
  // starts it.
  auto back = lease(b, {}, 0ms);
  EXPECT_EQ(back.reclaimed, 1u);
  EXPECT_EQ(record("f1")["reclaims"], "1");
  auto taken = claim(b, 10);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].id, "f1");
  EXPECT_EQ(taken[0].reclaims, 1);
  EXPECT_EQ(wait_done(ioc_,
                      [&](auto cb) {
                        a.queue->finish("f1", e.entry_id, JobStatus::succeeded, "{}", "", cb);
                      }),
            Errc::lost_claim);
  EXPECT_EQ(lease(a, {e.entry_id}, 60s).lost, std::vector<std::string>{e.entry_id});
  EXPECT_TRUE(lease(b, {taken[0].entry_id}, 60s).lost.empty());
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    b.queue->finish("f1", taken[0].entry_id, JobStatus::failed, "{}", "AccessDenied", cb);
  }));
  EXPECT_EQ(record("f1")["status"], "failed");
  EXPECT_EQ(record("f1")["error"], "AccessDenied");
}

TEST_F(QueueTest, StepsRecordedInOneTurnShareAScriptCallYetAnswerEachJob) {
  Consumer a(ioc_, ep_, "a");
  Consumer b(ioc_, ep_, "b");
  // 300 jobs: more than one script call's worth (128 steps each) in one turn of the loop.
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 300; ++i) jobs.push_back(job("s" + std::to_string(i)));
  enqueue(a, jobs);
  auto entries = take(a, 300);
  ASSERT_EQ(entries.size(), 300u);
  // s1 is taken over by b (a's claim is stale); s2's record is gone (purged meanwhile).
  ASSERT_FALSE(cmd({"XCLAIM", "t:jobs", "workers", "b", "0", entries[1].entry_id}).is_error());
  ASSERT_EQ(cmd({"DEL", "t:job:s2"}).as_integer(), 1);
  // Script calls so far (commandstats), after one step has loaded the script.
  auto evalsha_calls = [&] {
    const std::string info = cmd({"INFO", "commandstats"}).as_string().value_or("");
    const std::string key = "cmdstat_evalsha:calls=";
    auto at = info.find(key);
    return at == std::string::npos ? -1LL : std::stoll(info.substr(at + key.size()));
  };
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) {
    a.queue->record_step("s3", entries[3].entry_id, R"({"action":"GetUser","n":0})", "", cb);
  }));
  const long long scripts_before = evalsha_calls();

  std::map<std::string, std::error_code> answers;
  bool all = false;
  for (const auto& e : entries) {
    a.queue->record_step(e.id, e.entry_id, R"({"action":"GetUser","n":1})", R"({"at":1})",
                         [&, id = e.id](std::error_code ec) {
                           answers[id] = ec;
                           all = answers.size() == entries.size();
                         });
  }
  ASSERT_TRUE(run_until(ioc_, all, 10s));
  // A second step for s0 in a later turn lands after the first one.
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    a.queue->record_step("s0", entries[0].entry_id, R"({"action":"DeleteUser","n":2})", "", cb);
  }));

  EXPECT_EQ(answers.at("s0"), std::error_code());
  EXPECT_EQ(answers.at("s1"), Errc::lost_claim);
  EXPECT_EQ(answers.at("s2"), Errc::not_found);
  for (int i = 3; i < 300; ++i) EXPECT_FALSE(answers.at("s" + std::to_string(i))) << i;
  // 300 steps in 3 script calls (128 + 128 + 44), plus the later single one.
  EXPECT_EQ(evalsha_calls() - scripts_before, 4);
  // Each job's own log and checkpoint; nothing for the lost or missing ones.
  EXPECT_EQ(integer({"LLEN", "t:job:s0:steps"}), 2);
  EXPECT_EQ(cmd({"LINDEX", "t:job:s0:steps", "1"}).as_string(), R"({"action":"DeleteUser","n":2})");
  EXPECT_EQ(record("s0")["checkpoint"], R"({"at":1})");  // '' kept the previous checkpoint
  EXPECT_EQ(record("s0")["steps"], "2");
  EXPECT_EQ(integer({"LLEN", "t:job:s1:steps"}), 0);
  EXPECT_EQ(integer({"EXISTS", "t:job:s2:steps"}), 0);
  EXPECT_EQ(integer({"LLEN", "t:job:s299:steps"}), 1);
  EXPECT_EQ(record("s299")["checkpoint"], R"({"at":1})");
}

TEST_F(QueueTest, KilledConsumerIsReclaimedAfterVisibilityTimeout) {
  {
    Consumer p(ioc_, ep_, "producer");
    enqueue(p, {job("victim")});
    ASSERT_FALSE(wait_done(ioc_, [&](auto cb) { p.queue->ensure_group(cb); }));
  }
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The doomed worker: takes the job, records one step with a checkpoint, then hangs.
    ::close(ready[0]);
    boost::asio::io_context ioc;
    Consumer c(ioc, ep_, "doomed");
    bool ok = false;
    c.queue->read_intake("0-0", 10, [&](std::error_code ec, JobQueue::IntakeRead r) {
      auto& es = r.entries;
      if (ec || es.size() != 1) ::_exit(3);
      c.queue->route(es, [&](std::error_code, std::vector<RouteResult>) {
        c.queue->claim({{"default", 1}}, 1, [&](std::error_code, std::vector<Claim> cs) {
          if (cs.size() != 1) ::_exit(5);
          auto e = cs[0];
          c.queue->record_step("victim", e.entry_id, R"({"action":"DeleteLoginProfile"})",
                               R"({"step":1})", [&](std::error_code ec2) {
                                 ok = !ec2;
                                 ioc.stop();  // tell the parent at once: the claim is fresh
                               });
        });
      });
    });
    ioc.run_for(5s);
    if (!ok) ::_exit(4);
    ssize_t w = ::write(ready[1], "r", 1);
    (void)w;
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1) << "the child did not take the job";
  ::close(ready[0]);
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);

  Consumer rescuer(ioc_, ep_, "rescuer");
  const auto visibility = 1500ms;  // generous: a loaded CI machine must not reclaim early
  EXPECT_EQ(lease(rescuer, {}, visibility).reclaimed, 0u) << "reclaimed before the visibility timeout";
  let_time_pass(ioc_, visibility + 50ms);
  EXPECT_EQ(lease(rescuer, {}, visibility).reclaimed, 1u);
  EXPECT_EQ(record("victim")["status"], "queued");  // back at the front of its lane
  auto got = claim(rescuer, 10);
  ASSERT_EQ(got.size(), 1u);
  const auto& a = got[0];
  EXPECT_EQ(a.status, "queued");
  EXPECT_EQ(a.attempts, 2);
  EXPECT_EQ(a.reclaims, 1);
  EXPECT_EQ(a.checkpoint, R"({"step":1})");  // resumes from the last recorded step
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    rescuer.queue->record_step("victim", got[0].entry_id, R"({"action":"DeleteUser"})", "", cb);
  }));
  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
    rescuer.queue->finish("victim", got[0].entry_id, JobStatus::succeeded, "{}", "", cb);
  }));
  EXPECT_EQ(record("victim")["status"], "succeeded");
  EXPECT_EQ(integer({"LLEN", "t:job:victim:steps"}), 2);  // nothing recorded twice
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
  EXPECT_EQ(cmd({"HGET", "t:counts", "succeeded"}).as_integer(), 1);
  EXPECT_EQ(cmd({"HGET", "t:counts", "running"}).as_integer(), 0);
}

TEST_F(QueueTest, RequeueHandsBackWithCheckpoint) {
  Consumer a(ioc_, ep_, "a");
  Consumer b(ioc_, ep_, "b");
  enqueue(a, {job("h1")});
  auto e = take(a, 1).at(0);
  wait_done(ioc_,
            [&](auto cb) { a.queue->record_step("h1", e.entry_id, "{}", R"({"at":3})", cb); });
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) { a.queue->requeue("h1", e.entry_id, cb); }));
  EXPECT_EQ(record("h1")["status"], "queued");
  auto got = claim(b, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].entry_id, e.entry_id);
  const auto& r = got[0];
  EXPECT_EQ(r.checkpoint, R"({"at":3})");
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(r.handbacks, 1);
  EXPECT_EQ(r.reclaims, 0);
  EXPECT_EQ(cmd({"XPENDING", "t:jobs", "workers"}).elements[0].as_integer(), 1);  // only b's
}

TEST_F(QueueTest, DeadLetterRetryAndPurge) {
  Consumer c(ioc_, ep_, "c");
  enqueue(c, {job("d1"), job("d2")});
  for (const auto& e : take(c, 10)) {
    ASSERT_FALSE(wait_done(ioc_, [&](auto cb) {
      c.queue->dead_letter(e.id, e.entry_id, "not_allowed", "action CreateUser is not allowed", cb);
    }));
  }
  EXPECT_EQ(record("d1")["status"], "dead");
  using Entries = std::vector<std::map<std::string, std::string>>;
  auto [ec, list] = wait<Entries>(ioc_, [&](auto cb) { c.queue->dlq_list(10, cb); });
  ASSERT_FALSE(ec);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], "d2");  // newest first
  EXPECT_EQ(list[0]["reason"], "not_allowed");
  EXPECT_FALSE(list[0]["job"].empty());

  EXPECT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->dlq_retry("d1", cb); }));
  EXPECT_EQ(wait_done(ioc_, [&](auto cb) { c.queue->dlq_retry("nope", cb); }), Errc::not_found);
  auto r = record("d1");
  EXPECT_EQ(r["status"], "queued");
  EXPECT_EQ(r["attempts"], "0");
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 1);
  auto back = take(c, 10);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].id, "d1");

  auto [pec, purged] =
      wait<std::size_t>(ioc_, [&](auto cb) { c.queue->dlq_purge(std::chrono::hours(1), cb); });
  EXPECT_FALSE(pec);
  EXPECT_EQ(purged, 0u);  // too young
  auto [pec2, purged2] =
      wait<std::size_t>(ioc_, [&](auto cb) { c.queue->dlq_purge(std::nullopt, cb); });
  EXPECT_FALSE(pec2);
  EXPECT_EQ(purged2, 1u);
  EXPECT_EQ(integer({"XLEN", "t:dead"}), 0);
  EXPECT_EQ(integer({"EXISTS", "t:job:d2"}), 0);
}

TEST_F(QueueTest, StatsAndCircuits) {
  Consumer c(ioc_, ep_, "c");
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 2000; ++i) jobs.push_back(job("s" + std::to_string(i)));
  auto res = enqueue(c, jobs);
  ASSERT_EQ(res.size(), 2000u);
  route(c, intake(c));
  claim(c, 5);
  ASSERT_FALSE(wait_done(
      ioc_, [&](auto cb) { c.queue->set_circuit("prod", "open", "InvalidClientTokenId", cb); }));
  auto [ec, s] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  ASSERT_FALSE(ec);
  EXPECT_EQ(s.counts["queued"], 1995);
  EXPECT_EQ(s.counts["running"], 5);
  EXPECT_EQ(s.stream_length, 5);  // the claims; the rest is routed
  EXPECT_EQ(s.pending, 5);
  EXPECT_EQ(s.waiting, 0);
  EXPECT_EQ(s.in_lanes, 1995);
  EXPECT_EQ(s.lanes["default:normal"], 1995);
  EXPECT_GE(s.oldest_waiting_age_ms, 0);
  ASSERT_EQ(s.circuits.size(), 1u);
  EXPECT_EQ(s.circuits[0].account, "prod");
  EXPECT_EQ(s.circuits[0].error, "InvalidClientTokenId");
  ASSERT_FALSE(wait_done(ioc_, [&](auto cb) { c.queue->set_circuit("prod", "closed", "", cb); }));
  auto [ec2, s2] = wait<QueueStats>(ioc_, [&](auto cb) { c.queue->stats(cb); });
  EXPECT_TRUE(s2.circuits.empty());
}

TEST_F(QueueTest, ScriptsReloadAfterScriptFlush) {
  Consumer c(ioc_, ep_, "c");
  enqueue(c, {job("n1")});
  cmd({"SCRIPT", "FLUSH"});  // EVALSHA now answers NOSCRIPT: the EVAL fallback must kick in
  auto res = enqueue(c, {job("n2")});
  ASSERT_EQ(res.size(), 1u);
  EXPECT_TRUE(res[0].created);
}

class AofQueueTest : public QueueTest {
 protected:
  AofQueueTest() : QueueTest(with_aof()) {}
  static iamq::test::RedisServer::Options with_aof() {
    iamq::test::RedisServer::Options o;
    o.aof = true;
    return o;
  }
};

TEST_F(AofQueueTest, RedisRestartMidRunReconnectsAndCarriesOn) {
  Consumer c(ioc_, ep_, "c");
  std::vector<JobSummary> jobs;
  for (int i = 0; i < 30; ++i) jobs.push_back(job("a" + std::to_string(i)));
  enqueue(c, jobs);
  auto first = take(c, 10);
  ASSERT_EQ(first.size(), 10u);

  bool down = false;
  bool up_again = false;
  c.conn->on_state_change([&](bool up) {
    if (!up) down = true;
    if (up && down) up_again = true;
  });
  server_.stop();  // SIGTERM: AOF is fsynced on every write anyway
  run_until(ioc_, down, 5s);
  // A command issued during the outage waits for the connection (within its timeout).
  bool renewed = false;
  std::error_code renew_ec;
  std::vector<std::string> ids;
  for (const auto& e : first) ids.push_back(e.entry_id);
  c.queue->lease(ids, 60s, 10, [&](std::error_code ec, LeaseResult r) {
    renew_ec = ec;
    EXPECT_TRUE(r.lost.empty());
    renewed = true;
  });
  server_.start();
  run_until(ioc_, up_again, 10s);
  run_until(ioc_, renewed, 10s);
  EXPECT_FALSE(renew_ec) << renew_ec.message();

  // Carry on: finish the in-flight ones (still ours after the restart) and the rest.
  for (const auto& e : first) {
    EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
      c.queue->finish(e.id, e.entry_id, JobStatus::succeeded, "{}", "", cb);
    }));
  }
  std::size_t rest = 0;
  for (;;) {
    auto more = claim(c, 8);
    if (more.empty()) break;
    for (const auto& e : more) {
      EXPECT_FALSE(wait_done(ioc_, [&](auto cb) {
        c.queue->finish(e.id, e.entry_id, JobStatus::succeeded, "{}", "", cb);
      }));
      ++rest;
    }
  }
  EXPECT_EQ(rest, 20u);
  EXPECT_EQ(cmd({"HGET", "t:counts", "succeeded"}).as_integer(), 30);
  EXPECT_EQ(integer({"XLEN", "t:jobs"}), 0);
}

}  // namespace
}  // namespace iamq::queue::test
