// Issue 10 end to end with the real iamq binary, redis-server and the emulator: cancel of a
// running job (stops before its next call), cancel of waiting and scheduled jobs (no call),
// pause and resume of one account while another goes on, an urgent job ahead of a bulk
// batch, and Redis refusing writes (maxmemory, noeviction) while the worker routes.
#include <csignal>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

std::string user(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user-%05d", i);
  return buf;
}

/// Reads the worker's output until a line contains `what` (or `limit` passes).
bool saw_line(ChildProcess& w, const std::string& what, std::chrono::milliseconds limit,
              std::string* log = nullptr) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    auto line = w.read_line(std::chrono::milliseconds(200));
    if (!line) continue;
    if (log) *log += *line + "\n";
    if (line->find(what) != std::string::npos) return true;
  }
  return false;
}

class Scheduling : public WorkerE2E {};

TEST_F(Scheduling, CancelStopsARunningJobBeforeItsNextCallAndKeepsItsRecord) {
  start_emulator_args({"--generate-users", "2", "--random-seed", "7", "--latency-ms", "150"});
  write_config(WorkerConfig());
  enqueue({{{"id", "slow"}, {"type", "offboard_user"}, {"user_name", user(1)}}});
  auto w = start_worker({});
  ASSERT_TRUE(wait_until([&] { return steps("slow").size() >= 2; }, seconds(20)));
  auto c = iamq({"cancel", "slow", "--reason", "wrong person"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("stops before its next call"), std::string::npos) << c.out;
  ASSERT_TRUE(wait_until([&] { return job_status("slow") == "cancelled"; }, seconds(20)));
  const auto log = steps("slow");
  const json result = job_result("slow");
  EXPECT_EQ(result["status"], "cancelled");
  EXPECT_EQ(result["calls"].get<std::size_t>(), log.size());  // the record holds every call made
  EXPECT_EQ(job_field("slow", "cancel"), "wrong person");
  EXPECT_EQ(calls_of(emulator_calls(), "DeleteUser"), 0);
  EXPECT_EQ(emulator_users().count(user(1)), 1u);  // stopped long before the end
  // It made no call after its record said cancelled: the emulator's count matches the log.
  long long total = 0;
  const json calls = emulator_calls();  // named: the loop must not outlive it
  for (const auto& [action, codes] : calls.items()) {
    for (const auto& [code, n] : codes.items()) total += n.get<long long>();
  }
  EXPECT_EQ(static_cast<std::size_t>(total), log.size());
  EXPECT_EQ(stats_json()["counts"].value("cancelled", 0), 1);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(seconds(20)), 0);
}

// A job waiting for its account's next token writes nothing, so no write's answer tells it of
// a cancel: the lease keeper's renewal does (every visibility_timeout / 3), and the job ends
// while it waits, without the call its token would have let out. Before the renewal said so,
// the job made its next call when the token came and only stopped at that call's step write.
TEST_F(Scheduling, CancelStopsAJobWaitingForItsAccountsNextToken) {
  start_emulator_args({"--generate-users", "1", "--random-seed", "7"});
  WorkerConfig cfg;
  cfg.rate = 0.1;  // one token every 10 s after the first
  cfg.burst = 1;
  cfg.visibility_timeout = "3s";  // renewal every second
  write_config(cfg);
  json steps_list = json::array();
  for (int i = 0; i < 3; ++i) steps_list.push_back({{"action", "GetUser"}, {"params", {{"UserName", user(1)}}}});
  enqueue({{{"id", "waits"}, {"type", "iam_calls"}, {"steps", steps_list}}});
  auto w = start_worker({});
  ASSERT_TRUE(wait_until([&] { return steps("waits").size() == 1; }, seconds(20)));
  ASSERT_EQ(iamq({"cancel", "waits", "--reason", "not this one"}).status, 0);
  // Well before the next token (10 s after the first call).
  ASSERT_TRUE(wait_until([&] { return job_status("waits") == "cancelled"; }, seconds(6)))
      << "still " << job_status("waits");
  EXPECT_EQ(steps("waits").size(), 1u);
  EXPECT_EQ(job_result("waits")["calls"].get<std::size_t>(), 1u);
  EXPECT_EQ(calls_of(emulator_calls(), "GetUser"), 1);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(seconds(20)), 0);
}

TEST_F(Scheduling, CancelledAndScheduledJobsMakeNoCall) {
  start_emulator_args({"--generate-users", "3", "--random-seed", "7"});
  write_config(WorkerConfig());
  auto e = iamq({"enqueue", "offboard-user", "--user", user(1), "--id", "later", "--not-before",
                 "2100-01-01T00:00:00Z"});
  ASSERT_EQ(e.status, 0) << e.err;
  enqueue({{{"id", "queued"}, {"type", "offboard_user"}, {"user_name", user(2)}},
           {{"id", "now"}, {"type", "offboard_user"}, {"user_name", user(3)},
            {"not_before", "2001-01-01T00:00:00Z"}}});
  EXPECT_EQ(iamq({"enqueue", "offboard-user", "--user", "x", "--not-before", "tomorrow"}).status, 2);
  EXPECT_EQ(iamq({"enqueue", "offboard-user", "--user", "x", "--priority", "high"}).status, 2);
  ASSERT_EQ(iamq({"cancel", "queued"}).status, 0);
  // The scheduled job waits in the delayed set while the past one runs now.
  auto w = start_worker({});
  ASSERT_TRUE(wait_until([&] { return job_status("now") == "succeeded"; }, seconds(20)));
  EXPECT_EQ(job_status("later"), "queued");
  EXPECT_EQ(job_field("later", "where"), "scheduled");
  EXPECT_EQ(redis({"ZCARD", key("delayed")}).integer, 1);
  auto c = iamq({"cancel", "later"});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_NE(c.out.find("no IAM call"), std::string::npos);
  EXPECT_EQ(iamq({"cancel", "later"}).status, 1);  // already ended
  EXPECT_EQ(iamq({"cancel", "nope"}).status, 1);
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(seconds(20)), 0);
  EXPECT_EQ(job_status("queued"), "cancelled");
  EXPECT_EQ(job_status("later"), "cancelled");
  EXPECT_EQ(emulator_users().count(user(1)), 1u);
  EXPECT_EQ(emulator_users().count(user(2)), 1u);
  EXPECT_EQ(emulator_users().count(user(3)), 0u);
  EXPECT_EQ(redis({"ZCARD", key("delayed")}).integer, 0);
}

TEST_F(Scheduling, PausingOneAccountLetsTheOtherGoOnAndResumeFinishesIt) {
  start_emulator_args({"--generate-users", "8", "--random-seed", "7"});
  WorkerConfig cfg;
  // A second named account on the same emulator account and key.
  cfg.extra = "[accounts.other]\ncredentials = \"static\"\naccess_key_id = \"" + std::string(kAccessKey) +
              "\"\nsecret_access_key = \"" + kSecretKey + "\"\nendpoint = \"" + emu().endpoint() +
              "\"\nrate = 500\nburst = 50\n";
  write_config(cfg);
  auto p = iamq({"pause", "--account", "other", "--reason", "change freeze"});
  ASSERT_EQ(p.status, 0) << p.err;
  std::vector<json> jobs;
  for (int i = 1; i <= 4; ++i) {
    jobs.push_back({{"id", "d" + std::to_string(i)}, {"type", "offboard_user"}, {"user_name", user(i)}});
    jobs.push_back({{"id", "o" + std::to_string(i)}, {"type", "offboard_user"}, {"user_name", user(i + 4)},
                    {"account", "other"}});
  }
  enqueue(jobs);
  auto w = start_worker({});
  ASSERT_TRUE(wait_until([&] {
    for (int i = 1; i <= 4; ++i) if (job_status("d" + std::to_string(i)) != "succeeded") return false;
    return true;
  }, seconds(30)));
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(job_status("o" + std::to_string(i)), "queued");
  EXPECT_EQ(redis({"LLEN", key("lane:other:normal")}).integer, 4);
  auto st = stats_json();
  EXPECT_TRUE(st["paused"].contains("other")) << st.dump();
  EXPECT_EQ(st["paused"]["other"]["reason"], "change freeze");
  auto human = iamq({"stats"});
  EXPECT_NE(human.out.find("change freeze"), std::string::npos) << human.out;
  auto watch = iamq({"watch", "--once"});
  EXPECT_NE(watch.out.find("paused=other"), std::string::npos) << watch.out;
  ASSERT_EQ(iamq({"resume", "--account", "other"}).status, 0);
  ASSERT_TRUE(wait_until([&] {
    for (int i = 1; i <= 4; ++i) if (job_status("o" + std::to_string(i)) != "succeeded") return false;
    return true;
  }, seconds(30)));
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(seconds(20)), 0);
  EXPECT_TRUE(emulator_users().empty());
}

TEST_F(Scheduling, AnUrgentJobStartsAheadOfABulkBatch) {
  start_emulator_args({"--generate-users", "41", "--random-seed", "7", "--latency-ms", "5"});
  write_config(WorkerConfig());
  std::vector<json> jobs;
  for (int i = 1; i <= 40; ++i) {
    jobs.push_back({{"id", "bulk-" + std::to_string(i)}, {"type", "offboard_user"},
                    {"user_name", user(i)}, {"priority", "bulk"}});
  }
  jobs.push_back({{"id", "urgent"}, {"type", "offboard_user"}, {"user_name", user(41)}, {"priority", "urgent"}});
  enqueue(jobs);
  auto r = iamq({"worker", "--drain", "--concurrency", "2"});
  ASSERT_EQ(r.status, 0) << r.err;
  // Started among the first three (two slots; the first claim may already hold bulk-1/2).
  const long long urgent_started = std::stoll(job_field("urgent", "started_at"));
  int bulk_before = 0;
  for (int i = 1; i <= 40; ++i) {
    if (std::stoll(job_field("bulk-" + std::to_string(i), "started_at")) < urgent_started) ++bulk_before;
  }
  EXPECT_LE(bulk_before, 2);
  EXPECT_EQ(job_field("urgent", "priority"), "urgent");
}

// Point 8, last defect: with Redis refusing writes, the worker kept reading and moved every
// waiting entry into its own pending list, one "adopt failed" line per job. Reading owns
// nothing now: routing pauses (logged once) and resumes at full speed.
TEST_F(Scheduling, RedisRefusingWritesPausesRoutingLoggedOnceAndLosesNothing) {
  start_emulator_args({"--generate-users", "300", "--random-seed", "7"});
  write_config(WorkerConfig());
  std::vector<json> jobs;
  for (int i = 1; i <= 300; ++i) {
    jobs.push_back({{"id", "oom-" + std::to_string(i)}, {"type", "offboard_user"}, {"user_name", user(i)}});
  }
  enqueue(jobs);
  redis({"XGROUP", "CREATE", key("jobs"), "workers", "0"});  // as a worker that ran before
  redis({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  redis({"CONFIG", "SET", "maxmemory", "1"});  // every write refused: OOM
  auto w = start_worker({});
  std::string log;
  ASSERT_TRUE(saw_line(*w, "routing 200 intake entries failed", seconds(20), &log)) << log;
  // A few seconds of outage: still nothing taken, nothing pending, one line.
  saw_line(*w, "never printed", std::chrono::milliseconds(2500), &log);
  EXPECT_EQ(redis({"XLEN", key("jobs")}).integer, 300);
  EXPECT_EQ(redis({"XPENDING", key("jobs"), "workers"}).elements[0].integer, 0);
  std::size_t lines = 0;
  for (std::size_t at = log.find("intake entries failed"); at != std::string::npos;
       at = log.find("intake entries failed", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  redis({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_TRUE(saw_line(*w, "routing intake entries again", seconds(20), &log)) << log;
  // Keep reading the worker's output (a full pipe would stall it).
  ASSERT_TRUE(wait_until([&] {
    while (w->read_line(std::chrono::milliseconds(20))) {
    }
    return count("succeeded") == 300;
  }, seconds(60))) << "succeeded " << count("succeeded") << " " << stats_json().dump();
  w->signal(SIGTERM);
  EXPECT_EQ(w->wait(seconds(20)), 0);
  EXPECT_TRUE(emulator_users().empty());
  EXPECT_EQ(redis({"XLEN", key("jobs")}).integer, 0);
}

}  // namespace
}  // namespace iamq::test
