// The worker against Sentinel (master + replica + 3 sentinels, all real): the master is
// SIGKILLed in the middle of a batch. Every job still succeeds on the promoted replica — none
// lost, failed or dead-lettered — no user is left at the emulator, and no mutating IAM call
// succeeded twice (repeats after the failover are absorbed as NoSuchEntity).
#include <csignal>

#include "tests/support/redis_sentinel.hpp"
#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;

class WorkerSentinelE2E : public WorkerE2E {
 protected:
  std::string redis_url() const override { return sentinel_.url(); }
  RedisSentinel sentinel_;
};

TEST_F(WorkerSentinelE2E, MasterSigkilledMidBatchLosesNothing) {
  constexpr int kUsers = 150;
  start_emulator_args({"--generate-users", std::to_string(kUsers), "--random-seed", "11"});
  WorkerConfig cfg;
  cfg.rate = 150;  // the batch takes long enough to be cut in the middle
  cfg.burst = 20;
  write_config(cfg);
  std::vector<json> jobs;
  for (int i = 1; i <= kUsers; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "user-%05d", i);
    jobs.push_back({{"id", std::string("s-") + name}, {"type", "offboard_user"}, {"user_name", name}});
  }
  enqueue(jobs);
  auto worker = start_worker({"--drain", "--concurrency", "32"});

  // A fresh connection per look: a SyncRedis does not reconnect.
  auto succeeded = [&] {
    queue::SyncRedis r(std::get<queue::RedisEndpoint>(queue::parse_redis_url(redis_url())), seconds(2));
    queue::Reply v;
    if (r.try_call({"HGET", key("counts"), "succeeded"}, v)) return -1LL;
    return v.is_nil() ? 0LL : v.as_integer().value_or(0);
  };
  ASSERT_TRUE(wait_until([&] { return succeeded() >= kUsers / 4; }, seconds(120)));
  const long long before_kill = succeeded();
  sentinel_.kill_master();
  ASSERT_LT(before_kill, kUsers) << "the batch finished before the failover";

  auto status = worker->wait(seconds(240));
  std::string log = worker->read_all(seconds(5));
  ASSERT_TRUE(status.has_value()) << "the worker did not finish after the failover\n" << log;
  EXPECT_EQ(*status, 0) << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
  EXPECT_EQ(sentinel_.reported_master_port(), sentinel_.replica().port());
  EXPECT_NE(log.find("Redis unavailable"), std::string::npos) << "the outage was not seen";

  sync_.reset();  // the promoted replica now
  for (const auto& j : jobs) {
    const std::string id = j["id"];
    EXPECT_EQ(job_status(id), "succeeded") << id << ": " << job_field(id, "error");
  }
  auto st = stats_json();
  EXPECT_EQ(st["counts"].value("succeeded", 0), kUsers);
  EXPECT_EQ(st["counts"].value("failed", 0), 0);
  EXPECT_EQ(st["counts"].value("dead", 0), 0);
  EXPECT_EQ(st["stream_length"], 0);
  EXPECT_TRUE(emulator_users().empty());

  // Mutating calls: each succeeded at most once per thing it removes; every repeat after the
  // failover was answered NoSuchEntity (absent), nothing else.
  const json calls = emulator_calls();
  for (const auto& [action, codes] : calls.items()) {
    if (action.rfind("List", 0) == 0 || action.rfind("Get", 0) == 0) continue;
    for (const auto& [code, n] : codes.items()) {
      EXPECT_TRUE(code == "OK" || code == "NoSuchEntity" || code == "DeleteConflict")
          << action << " answered " << code << " " << n << " times";
    }
  }
  ASSERT_TRUE(calls.contains("DeleteUser"));
  EXPECT_EQ(calls["DeleteUser"].value("OK", 0LL), kUsers);
}

}  // namespace
}  // namespace iamq::test
