// `iamq worker` and signals: SIGTERM mid-batch hands back what is unfinished and exits 0; a
// second worker finishes the batch; a second signal exits at once; no job is lost or run twice.
#include <csignal>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class WorkerShutdown : public WorkerE2E {
 protected:
  /// `n` generated users (user-00001…), one offboard job each ("sd-user-0000N").
  std::vector<std::string> enqueue_batch(int n) {
    std::vector<json> jobs;
    std::vector<std::string> ids;
    for (int i = 1; i <= n; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "user-%05d", i);
      ids.push_back(std::string("sd-") + name);
      jobs.push_back({{"id", ids.back()}, {"type", "offboard_user"}, {"user_name", name}});
    }
    enqueue(jobs);
    return ids;
  }

  /// How many "succeeded" events each job has in <ns>:events.
  std::map<std::string, int> succeeded_events() {
    std::map<std::string, int> out;
    for (const auto& e : redis({"XRANGE", key("events"), "-", "+"}).elements) {
      auto f = e.elements.at(1).as_map();
      if (f["status"] == "succeeded") ++out[f["id"]];
    }
    return out;
  }

  /// Every job succeeded exactly once; every user is gone, deleted by one DeleteUser call (one
  /// in all, not only one that succeeded).
  void expect_batch_done_once(const std::vector<std::string>& ids) {
    auto events = succeeded_events();
    for (const auto& id : ids) {
      EXPECT_EQ(job_status(id), "succeeded") << id << ": " << job_field(id, "error");
      EXPECT_EQ(events[id], 1) << id;
    }
    auto st = stats_json();
    EXPECT_EQ(st["counts"].value("succeeded", 0), static_cast<int>(ids.size())) << st.dump();
    EXPECT_EQ(st["counts"].value("failed", 0), 0);
    EXPECT_EQ(st["counts"].value("dead", 0), 0);
    EXPECT_EQ(st["stream_length"], 0);
    EXPECT_EQ(st["pending"], 0);
    EXPECT_TRUE(emulator_users().empty());
    auto by_user = emu().stats()["mutating_calls_by_user"];
    for (int i = 1; i <= static_cast<int>(ids.size()); ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "user-%05d", i);
      EXPECT_EQ(by_user[name]["DeleteUser"].value("OK", 0), 1) << name << " " << by_user[name].dump();
      // Every DeleteUser call, whatever it answered: a second one (answered NoSuchEntity)
      // would mean a job ran its last step twice.
      int total = 0;
      for (const auto& [code, n] : by_user[name]["DeleteUser"].items()) total += n.get<int>();
      EXPECT_EQ(total, 1) << name << " " << by_user[name].dump();
    }
  }
};

TEST_F(WorkerShutdown, SigtermMidRunHandsBackAndASecondWorkerFinishesTheBatch) {
  constexpr int kJobs = 40;
  start_emulator_args({"--generate-users", std::to_string(kJobs), "--latency-ms", "60",
                           "--jitter-ms", "40"});
  WorkerConfig c;
  c.shutdown_timeout = "10s";
  write_config(c);
  auto ids = enqueue_batch(kJobs);

  auto w = start_worker({"--concurrency", "8"});
  // Mid-run: some jobs finished, others in flight.
  ASSERT_TRUE(wait_until([&] { return count("succeeded") >= 4; }, seconds(60)))
      << w->read_all(milliseconds(100));
  ASSERT_LT(count("succeeded"), kJobs);
  w->signal(SIGTERM);
  auto status = w->wait(seconds(15));  // within the shutdown timeout (10 s) and then some
  ASSERT_TRUE(status.has_value()) << "the worker did not exit after SIGTERM";
  EXPECT_EQ(*status, 0);
  const std::string log = w->read_all(milliseconds(1000));
  EXPECT_NE(log.find("SIGTERM received"), std::string::npos) << log;

  // Nothing is left running or pending: unfinished jobs are queued again.
  const long long done_first = count("succeeded");
  EXPECT_LT(done_first, kJobs) << "the batch finished before the signal: the test proves nothing";
  auto st = stats_json();
  EXPECT_EQ(st["counts"].value("running", 0), 0) << st.dump();
  EXPECT_EQ(st["pending"], 0) << st.dump();
  EXPECT_EQ(st["counts"].value("queued", 0) + st["counts"].value("retry_scheduled", 0),
            kJobs - done_first)
      << st.dump();

  auto r = iamq({"worker", "--drain", "--concurrency", "8"}, {}, seconds(120));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_batch_done_once(ids);
}

TEST_F(WorkerShutdown, SecondSignalExitsAtOnceAndLosesNothing) {
  constexpr int kJobs = 12;
  // Slow calls: every job is mid-call when the signals come.
  start_emulator_args({"--generate-users", std::to_string(kJobs), "--latency-ms", "1500"});
  WorkerConfig c;
  c.shutdown_timeout = "30s";
  c.visibility_timeout = "2s";
  write_config(c);
  auto ids = enqueue_batch(kJobs);

  auto w = start_worker({"--concurrency", "6"});
  ASSERT_TRUE(wait_until([&] { return count("running") >= 6; }, seconds(30)))
      << w->read_all(milliseconds(100));
  w->signal(SIGTERM);
  std::this_thread::sleep_for(milliseconds(200));
  ASSERT_TRUE(w->running()) << "the first signal must wait for the calls in flight";
  const auto t0 = std::chrono::steady_clock::now();
  w->signal(SIGTERM);
  auto status = w->wait(seconds(5));
  ASSERT_TRUE(status.has_value()) << "the second signal did not end the worker";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, seconds(5));
  EXPECT_EQ(*status, 128 + SIGTERM);
  const std::string log = w->read_all(milliseconds(1000));
  EXPECT_NE(log.find("second signal"), std::string::npos) << log;

  emu().set_faults(json::object());  // no more latency: the rest of the batch goes quickly
  // Jobs that were in flight stay pending; the next worker reclaims them after the visibility
  // timeout and resumes them. Every job ends succeeded exactly once.
  auto r = iamq({"worker", "--drain", "--concurrency", "6"}, {}, seconds(120));
  ASSERT_EQ(r.status, 0) << r.err;
  expect_batch_done_once(ids);
}

}  // namespace
}  // namespace iamq::test
