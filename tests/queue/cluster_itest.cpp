// Redis Cluster, all real: 3 masters started by tests/support/redis_cluster (and 1 replica each
// for the failover). The connection finds the namespace's slot from the seeds and follows
// MOVED; the namespace rule is enforced; a batch runs through the real `iamq` worker while the
// namespace's slot is migrated to another master in the middle of it (IMPORTING/MIGRATING,
// MIGRATE … KEYS, SETSLOT … NODE), and while the slot's master is SIGKILLed (its replica is
// promoted): every job succeeds, none is lost, no user is left, no mutating call repeated
// beyond the idempotent NoSuchEntity repeats.
#include <csignal>
#include <cstdio>

#include "queue/cluster_slots.hpp"
#include "tests/support/redis_cluster.hpp"
#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using json = nlohmann::json;
using std::chrono::seconds;
using namespace std::chrono_literals;

queue::RedisEndpoint cluster_endpoint(const std::string& url, const std::string& ns) {
  queue::RedisSettings st;
  st.cluster_key = ns + ":jobs";
  return std::get<queue::RedisEndpoint>(queue::parse_redis_url(url, st));
}

TEST(RedisClusterTest, FindsTheSlotsMasterFromAnySeedAndFollowsMoved) {
  RedisCluster c;
  const int slot = queue::cluster::key_slot("{iamq}:jobs");
  EXPECT_NE(c.cli(c.servers()[0]->port(), "CLUSTER KEYSLOT '{iamq}:jobs'").find(std::to_string(slot)),
            std::string::npos);
  const int owner = c.master_of(slot);
  ASSERT_NE(owner, 0);
  // Seeded with one master that is not the owner: the connection moves to the owner.
  const int other = c.other_master(owner);
  queue::SyncRedis r(cluster_endpoint("redis://127.0.0.1:" + std::to_string(other), "{iamq}"), 5s);
  EXPECT_EQ(r.call({"SET", "{iamq}:probe", "v"}).str, "OK");
  EXPECT_EQ(c.cli(owner, "GET '{iamq}:probe'"), "v\n");
  // A key of another slot: the connection stays on the namespace's slot, the MOVED is the answer.
  std::string far = "{other}:x";
  for (int i = 0; i < 100 && c.master_of(queue::cluster::key_slot(far)) == owner; ++i) {
    far = "{other" + std::to_string(i) + "}:x";
  }
  queue::Reply out;
  EXPECT_EQ(r.try_call({"SET", far, "w"}, out), queue::Errc::server_error);
  EXPECT_EQ(out.str.rfind("MOVED ", 0), 0u) << out.str;
  // The slot moves to another master: the next command is answered MOVED, followed, and the
  // reply is the command's own; writes go to the new owner.
  EXPECT_GT(c.migrate_slot(slot, other), 0);
  EXPECT_EQ(r.call({"GET", "{iamq}:probe"}).str, "v");
  EXPECT_EQ(r.call({"SET", "{iamq}:after", "w"}).str, "OK");
  EXPECT_EQ(c.cli(other, "GET '{iamq}:after'"), "w\n");
}

TEST(RedisClusterTest, ANamespaceWithoutAHashTagIsRefused) {
  RedisCluster c;
  queue::SyncRedis r(cluster_endpoint(c.url(), "iamq"), 5s);
  queue::Reply out;
  EXPECT_TRUE(r.try_call({"PING"}, out));
  EXPECT_NE(r.connection().last_error().find("namespace: \"iamq\" must be a hash tag such as {iamq}"),
            std::string::npos)
      << r.connection().last_error();
}

class WorkerClusterE2E : public WorkerE2E {
 protected:
  explicit WorkerClusterE2E(bool replicas = false)
      : cluster_(RedisCluster::Options{replicas}) {
    ns_ = "{iamq}";
  }
  std::string redis_url() const override { return cluster_.url(); }

  /// A fresh connection per look (a SyncRedis does not reconnect after a failure).
  long long succeeded() {
    queue::SyncRedis r(cluster_endpoint(redis_url(), ns_), seconds(2));
    queue::Reply v;
    if (r.try_call({"HGET", key("counts"), "succeeded"}, v)) return -1LL;
    return v.is_nil() ? 0LL : v.as_integer().value_or(0);
  }

  std::vector<json> batch(int users, const std::string& prefix) {
    start_emulator_args({"--generate-users", std::to_string(users), "--random-seed", "13"});
    WorkerConfig cfg;
    cfg.rate = 150;  // long enough to be cut in the middle
    cfg.burst = 20;
    write_config(cfg);
    std::vector<json> jobs;
    for (int i = 1; i <= users; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "user-%05d", i);
      jobs.push_back({{"id", prefix + name}, {"type", "offboard_user"}, {"user_name", name}});
    }
    return jobs;
  }

  /// Every job succeeded, nothing left anywhere, no mutating call repeated beyond NoSuchEntity.
  void expect_clean_end(const std::vector<json>& jobs, int users) {
    sync_ = std::make_unique<queue::SyncRedis>(cluster_endpoint(redis_url(), ns_));
    for (const auto& j : jobs) {
      const std::string id = j["id"];
      EXPECT_EQ(job_status(id), "succeeded") << id << ": " << job_field(id, "error");
    }
    auto st = stats_json();  // iamq stats through the cluster
    EXPECT_EQ(st["counts"].value("succeeded", 0), static_cast<int>(jobs.size())) << st.dump();
    EXPECT_EQ(st["counts"].value("failed", 0), 0);
    EXPECT_EQ(st["counts"].value("dead", 0), 0);
    EXPECT_EQ(st["stream_length"], 0);
    EXPECT_TRUE(emulator_users().empty());
    const json calls = emulator_calls();
    for (const auto& [action, codes] : calls.items()) {
      if (action.rfind("List", 0) == 0 || action.rfind("Get", 0) == 0) continue;
      for (const auto& [code, n] : codes.items()) {
        EXPECT_TRUE(code == "OK" || code == "NoSuchEntity" || code == "DeleteConflict")
            << action << " answered " << code << " " << n << " times";
      }
    }
    ASSERT_TRUE(calls.contains("DeleteUser"));
    EXPECT_EQ(calls["DeleteUser"].value("OK", 0LL), users);
  }

  RedisCluster cluster_;
};

TEST_F(WorkerClusterE2E, SlotMigratedMidBatchLosesNothing) {
  constexpr int kUsers = 150;
  auto jobs = batch(kUsers, "c-");
  // The last job the way producers send it: redis-cli -c XADD '{iamq}:jobs' '*' job …
  json last = jobs.back();
  jobs.pop_back();
  enqueue(jobs);
  auto x = run({"/bin/sh", "-c",
                "redis-cli -c -p " + std::to_string(cluster_.servers()[0]->port()) +
                    " XADD '{iamq}:jobs' '*' job '" + last.dump() + "'"},
               {}, seconds(10));
  ASSERT_EQ(x.status, 0) << x.out << x.err;
  jobs.push_back(last);

  const int slot = queue::cluster::key_slot("{iamq}:jobs");
  const int from = cluster_.master_of(slot);
  const int to = cluster_.other_master(from);
  auto worker = start_worker({"--drain", "--concurrency", "32"});
  ASSERT_TRUE(wait_until([&] { return succeeded() >= kUsers / 4; }, seconds(120)));
  const int moved = cluster_.migrate_slot(slot, to);
  EXPECT_GT(moved, 10);  // the queue's keys went along
  ASSERT_LT(succeeded(), kUsers) << "the batch finished before the migration";
  EXPECT_EQ(cluster_.master_of(slot), to);
  // A CLI command meanwhile follows the move too.
  auto st = iamq({"stats", "--json"});
  EXPECT_EQ(st.status, 0) << st.err;

  auto status = worker->wait(seconds(240));
  std::string log = worker->read_all(seconds(5));
  ASSERT_TRUE(status.has_value()) << "the worker did not finish after the migration\n" << log;
  EXPECT_EQ(*status, 0) << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
  EXPECT_NE(log.find("MOVED: slot " + std::to_string(slot)), std::string::npos) << log.substr(0, 4000);
  EXPECT_EQ(cluster_.cli(from, "CLUSTER COUNTKEYSINSLOT " + std::to_string(slot)), "0\n");
  expect_clean_end(jobs, kUsers);
  auto s = status_json(jobs.front()["id"]);
  EXPECT_EQ(s.value("status", std::string()), "succeeded") << s.dump();
}

class WorkerClusterFailoverE2E : public WorkerClusterE2E {
 protected:
  WorkerClusterFailoverE2E() : WorkerClusterE2E(/*replicas=*/true) {}
};

TEST_F(WorkerClusterFailoverE2E, MasterSigkilledMidBatchLosesNothing) {
  constexpr int kUsers = 150;
  auto jobs = batch(kUsers, "f-");
  enqueue(jobs);
  const int slot = queue::cluster::key_slot("{iamq}:jobs");
  const int from = cluster_.master_of(slot);
  auto worker = start_worker({"--drain", "--concurrency", "32"});
  ASSERT_TRUE(wait_until([&] { return succeeded() >= kUsers / 4; }, seconds(120)));
  cluster_.kill(from);
  ASSERT_LT(succeeded(), kUsers) << "the batch finished before the failover";

  auto status = worker->wait(seconds(240));
  std::string log = worker->read_all(seconds(5));
  ASSERT_TRUE(status.has_value()) << "the worker did not finish after the failover\n" << log;
  EXPECT_EQ(*status, 0) << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
  EXPECT_NE(log.find("Redis unavailable"), std::string::npos) << "the outage was not seen";
  const int now = cluster_.master_of(slot);
  EXPECT_NE(now, 0);
  EXPECT_NE(now, from);  // a replica was promoted
  expect_clean_end(jobs, kUsers);
}

}  // namespace
}  // namespace iamq::test
