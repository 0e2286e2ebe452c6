// The queue commands through the real `iamq` binary against a real redis-server:
// enqueue (typed, --file, stdin, --strict), status, stats, watch --once, dlq list/retry/purge.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>

#include "queue/job_queue.hpp"
#include "worker/job.hpp"
#include "worker/job_validator.hpp"
#include "queue/redis_connection.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/redis_server.hpp"

namespace iamq::test {
namespace {

class QueueCommandsTest : public ::testing::Test {
 protected:
  QueueCommandsTest() : bin_(env_or("IAMQ_BIN", "iamq")) {}

  RunResult iamq(std::vector<std::string> args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--namespace", "cli"});
    ChildProcess::Options o;
    o.env_overrides["REDIS_URL"] = redis_.url();
    o.env_remove = {"AWS_PROFILE"};
    o.stdin_data = stdin_data;
    return run(argv, o, std::chrono::seconds(30));
  }

  queue::Reply redis(std::vector<std::string> args) {
    queue::SyncRedis r(std::get<queue::RedisEndpoint>(queue::parse_redis_url(redis_.url())));
    return r.call(std::move(args));
  }

  std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < s.size()) {
      auto nl = s.find('\n', start);
      if (nl == std::string::npos) nl = s.size();
      out.push_back(s.substr(start, nl - start));
      start = nl + 1;
    }
    return out;
  }

  std::string bin_;
  RedisServer redis_;
};

TEST_F(QueueCommandsTest, EnqueueTypedPrintsIdAndIsIdempotent) {
  auto r = iamq({"enqueue", "offboard-user", "--user", "alice", "--id", "HR-1", "--meta", "ticket=T-9",
                 "--keep-user"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "HR-1\n");
  auto again = iamq({"enqueue", "offboard-user", "--user", "alice", "--id", "HR-1"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(again.out, "HR-1\n");
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, 1);
  auto job = nlohmann::json::parse(redis({"HGET", "cli:job:HR-1", "job"}).str);
  EXPECT_EQ(job["meta"]["ticket"], "T-9");
  EXPECT_EQ(job["keep_user"], true);

  auto mfa = iamq({"enqueue", "deactivate-mfa", "--user", "bob", "--serial", "arn:aws:iam::1:mfa/bob",
                   "--delete-virtual"});
  ASSERT_EQ(mfa.status, 0) << mfa.err;
  std::string id = lines(mfa.out).at(0);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(redis({"HGET", "cli:job:" + id, "type"}).str, "deactivate_mfa");

  auto bad = iamq({"enqueue", "offboard-user", "--user", "bad name"});
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.err.find(R"(user_name "bad name" does not match [\w+=,.@-]+)"), std::string::npos) << bad.err;
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, 2);
}

TEST_F(QueueCommandsTest, EnqueueFileReportsBadLinesAndStrictEnqueuesNothing) {
  std::string file = redis_.dir() + "/jobs.jsonl";
  {
    std::ofstream f(file);
    f << R"({"id":"f1","type":"offboard_user","user_name":"a"})" << "\n"
      << R"({"id":"f2","type":"offboard_user","user_name":"bad name"})" << "\n"
      << "\n"
      << R"({"type":"delete_user","user_name":"c"})" << "\n"
      << "{oops" << "\n";
  }
  auto strict = iamq({"enqueue", "--file", file, "--strict"});
  EXPECT_EQ(strict.status, 1);
  EXPECT_TRUE(strict.out.empty());
  EXPECT_NE(strict.err.find(R"(line 2: user_name "bad name" does not match [\w+=,.@-]+)"),
            std::string::npos)
      << strict.err;
  EXPECT_NE(strict.err.find("line 5: not valid JSON"), std::string::npos) << strict.err;
  EXPECT_EQ(redis({"EXISTS", "cli:jobs"}).integer, 0);  // nothing enqueued

  auto r = iamq({"enqueue", "--file", file});
  EXPECT_EQ(r.status, 1);
  auto ids = lines(r.out);
  ASSERT_EQ(ids.size(), 2u) << r.out;
  EXPECT_EQ(ids[0], "f1");
  EXPECT_EQ(ids[1].size(), 32u);
  EXPECT_NE(r.err.find("line 2: "), std::string::npos);
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, 2);

  auto in = iamq({"enqueue", "--file", "-"},
                 R"({"id":"s1","type":"offboard_user","user_name":"x"})" "\n"
                 R"({"id":"f1","type":"offboard_user","user_name":"a"})" "\n");
  EXPECT_EQ(in.status, 0) << in.err;
  EXPECT_EQ(in.out, "s1\nf1\n");
  EXPECT_NE(in.err.find("line 2: job f1 already exists"), std::string::npos) << in.err;
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, 3);
}

TEST_F(QueueCommandsTest, EnqueueFileInPipelinedBatchesKeepsOrderAndIdempotency) {
  // Far more lines than one batch (200 jobs a script call, several calls in flight), with
  // duplicates inside one batch, across batches, of jobs enqueued before, and a refused line.
  ASSERT_EQ(iamq({"enqueue", "offboard-user", "--user", "orig", "--id", "pre-1"}).status, 0);
  constexpr int n = 1000;
  std::ostringstream in;
  std::vector<std::string> expected_out;  // "" where a generated id is expected
  std::vector<std::string> created;       // ids in stream order
  created.push_back("pre-1");
  std::vector<std::string> errs;
  int line = 0;
  auto add = [&](const std::string& id, const std::string& user, bool is_new) {
    ++line;
    in << R"({"type":"offboard_user","user_name":")" << user << '"'
       << (id.empty() ? "" : R"(,"id":")" + id + '"') << "}\n";
    expected_out.push_back(id);
    if (is_new && !id.empty()) created.push_back(id);
    if (is_new && id.empty()) created.push_back("");
    if (!is_new) {
      errs.push_back("line " + std::to_string(line) + ": job " + id +
                     " already exists (status queued); not enqueued again");
    }
  };
  for (int i = 0; i < n; ++i) {
    std::string id = "b-" + std::to_string(i);
    add(id, "u" + std::to_string(i), true);
    if (i == 5) add("b-5", "same-batch", false);      // duplicate within the batch
    if (i == 300) add("b-10", "other-batch", false);  // duplicate of an earlier batch
    if (i == 500) add("pre-1", "existing", false);    // duplicate of an existing job
    if (i == 600) add("", "generated", true);         // no id: one is generated
    if (i == 700) {
      ++line;
      in << R"({"id":"refused","type":"offboard_user","user_name":"bad name"})" << "\n";
      errs.push_back("line " + std::to_string(line) + R"(: user_name "bad name" does not match)");
    }
  }
  std::string file = redis_.dir() + "/many.jsonl";
  {
    std::ofstream f(file);
    f << in.str();
  }
  auto r = iamq({"enqueue", "--file", file});
  EXPECT_EQ(r.status, 1) << r.err;  // one line refused
  auto out = lines(r.out);
  ASSERT_EQ(out.size(), expected_out.size()) << r.err;
  std::string generated;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (expected_out[i].empty()) {
      EXPECT_EQ(out[i].size(), 32u) << out[i];
      generated = out[i];
    } else {
      ASSERT_EQ(out[i], expected_out[i]) << "output line " << i + 1;
    }
  }
  for (auto& id : created) {
    if (id.empty()) id = generated;
  }
  for (const auto& e : errs) EXPECT_NE(r.err.find(e), std::string::npos) << e << "\n" << r.err;
  EXPECT_NE(r.err.find("iamq: 1 line(s) refused, " + std::to_string(expected_out.size()) +
                       " enqueued"),
            std::string::npos)
      << r.err;

  // The right set, once each, in input order; records, counts and one event per new job.
  auto entries = redis({"XRANGE", "cli:jobs", "-", "+"});
  ASSERT_EQ(entries.elements.size(), created.size());
  for (std::size_t i = 0; i < created.size(); ++i) {
    auto fields = entries.elements[i].elements.at(1).as_map();
    ASSERT_EQ(fields["id"], created[i]) << "stream entry " << i;
    EXPECT_EQ(nlohmann::json::parse(fields["job"])["id"], created[i]);
    auto entry_id = entries.elements[i].elements.at(0).str;
    EXPECT_EQ(redis({"HGET", "cli:job:" + created[i], "entry"}).str, entry_id);
    EXPECT_EQ(redis({"HGET", "cli:job:" + created[i], "status"}).str, "queued");
  }
  EXPECT_EQ(redis({"HGET", "cli:counts", "queued"}).str, std::to_string(created.size()));
  EXPECT_EQ(redis({"HGET", "cli:job:b-5", "user_name"}).str, "u5");
  EXPECT_EQ(redis({"HGET", "cli:job:b-10", "user_name"}).str, "u10");
  EXPECT_EQ(redis({"HGET", "cli:job:pre-1", "user_name"}).str, "orig");
  EXPECT_EQ(redis({"HGET", "cli:job:b-999", "source"}).str, "enqueue");
  EXPECT_EQ(redis({"EXISTS", "cli:job:refused"}).integer, 0);
  auto events = redis({"XRANGE", "cli:events", "-", "+"});
  ASSERT_EQ(events.elements.size(), created.size());
  for (std::size_t i = 0; i < created.size(); ++i) {
    auto fields = events.elements[i].elements.at(1).as_map();
    EXPECT_EQ(fields["event"], "queued");
    EXPECT_EQ(fields["status"], "queued");
    ASSERT_EQ(fields["id"], created[i]) << "event " << i;
    EXPECT_EQ(fields["entry"], entries.elements[i].elements.at(0).str);
    EXPECT_EQ(fields["consumer"], "cli");
  }

  // The same file again through stdin: only the line without an id adds a job (a new
  // generated id); every id is printed and every other job reported as existing.
  auto again = iamq({"enqueue", "--file", "-"}, in.str());
  EXPECT_EQ(again.status, 1);
  EXPECT_EQ(lines(again.out).size(), expected_out.size());
  EXPECT_NE(again.err.find("line " + std::to_string(line) + ": job b-999 already exists"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, static_cast<long long>(created.size() + 1));
  EXPECT_EQ(redis({"HGET", "cli:counts", "queued"}).str, std::to_string(created.size() + 1));
}

TEST_F(QueueCommandsTest, StatusStatsWatch) {
  ASSERT_EQ(iamq({"enqueue", "offboard-user", "--user", "alice", "--id", "st-1"}).status, 0);
  auto s = iamq({"status", "st-1"});
  ASSERT_EQ(s.status, 0) << s.err;
  EXPECT_NE(s.out.find("queued"), std::string::npos);
  EXPECT_NE(s.out.find("alice"), std::string::npos);
  auto j = iamq({"status", "st-1", "--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["status"], "queued");
  EXPECT_EQ(doc["job"]["user_name"], "alice");
  EXPECT_TRUE(doc["steps"].is_array());

  auto missing = iamq({"status", "nope"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("no job with id \"nope\""), std::string::npos) << missing.err;

  auto st = iamq({"stats", "--json"});
  ASSERT_EQ(st.status, 0) << st.err;
  auto sj = nlohmann::json::parse(st.out);
  EXPECT_EQ(sj["counts"]["queued"], 1);
  EXPECT_EQ(sj["stream_length"], 1);
  EXPECT_EQ(sj["waiting"], 1);
  auto human = iamq({"stats"});
  EXPECT_EQ(human.status, 0);
  EXPECT_NE(human.out.find("oldest waiting"), std::string::npos);

  auto w = iamq({"watch", "--once"});
  ASSERT_EQ(w.status, 0) << w.err;
  EXPECT_NE(w.out.find("queued=1"), std::string::npos) << w.out;
  EXPECT_EQ(lines(w.out).size(), 1u);  // one plain line: stdout is a pipe
  EXPECT_EQ(w.out.find("drained"), std::string::npos) << "a queued job is not drained: " << w.out;
}

// `watch --until-drained` exits 0 at the first sample where nothing is waiting or delayed.
TEST_F(QueueCommandsTest, WatchUntilDrainedExitsOnAnEmptyQueue) {
  auto w = iamq({"watch", "--until-drained", "--interval", "100ms"});
  ASSERT_EQ(w.status, 0) << w.err;
  auto ls = lines(w.out);
  ASSERT_EQ(ls.size(), 1u) << w.out;
  EXPECT_NE(ls[0].find("drained"), std::string::npos) << w.out;
}

TEST_F(QueueCommandsTest, DlqListRetryPurge) {
  // Dead-letter a job through the queue API, as a worker would.
  {
    boost::asio::io_context ioc;
    queue::RedisConnection::Options o;
    o.endpoint = std::get<queue::RedisEndpoint>(queue::parse_redis_url(redis_.url()));
    queue::RedisConnection conn(ioc, o);
    queue::JobQueue::Options qo;
    qo.ns = "cli";
    qo.consumer = "w";
    qo.validator = worker::job_validator();
    queue::JobQueue q(conn, conn, qo);
    ASSERT_EQ(iamq({"enqueue", "offboard-user", "--user", "alice", "--id", "dl-1"}).status, 0);
    bool done = false;
    // Routed into its lane and started (claimed) as a worker would, then dead-lettered.
    q.ensure_group([&](std::error_code) {
      q.read_intake("0-0", 10, [&](std::error_code ec, queue::JobQueue::IntakeRead r) {
        auto& es = r.entries;
        ASSERT_FALSE(ec);
        ASSERT_EQ(es.size(), 1u);
        q.route(es, [&](std::error_code rec, std::vector<queue::RouteResult>) {
          ASSERT_FALSE(rec);
          q.claim({{"default", 1}}, 1, [&](std::error_code cec, std::vector<queue::Claim> cs) {
            ASSERT_FALSE(cec);
            ASSERT_EQ(cs.size(), 1u);
            q.dead_letter("dl-1", cs[0].entry_id, "not_allowed", "CreateUser is not allowed",
                          [&](std::error_code ec2) {
                            EXPECT_FALSE(ec2);
                            done = true;
                          });
          });
        });
      });
    });
    ioc.run_for(std::chrono::seconds(10));
    ASSERT_TRUE(done);
  }
  auto list = iamq({"dlq", "list", "--json"});
  ASSERT_EQ(list.status, 0) << list.err;
  auto arr = nlohmann::json::parse(list.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], "dl-1");
  EXPECT_EQ(arr[0]["error"], "CreateUser is not allowed");
  EXPECT_EQ(arr[0]["job"]["user_name"], "alice");
  auto human = iamq({"dlq", "list"});
  EXPECT_NE(human.out.find("CreateUser is not allowed"), std::string::npos);

  EXPECT_EQ(iamq({"dlq", "retry", "unknown-id"}).status, 1);
  EXPECT_EQ(iamq({"dlq", "retry"}).status, 2);
  auto retry = iamq({"dlq", "retry", "dl-1"});
  ASSERT_EQ(retry.status, 0) << retry.err;
  EXPECT_EQ(redis({"HGET", "cli:job:dl-1", "status"}).str, "queued");
  EXPECT_EQ(redis({"XLEN", "cli:dead"}).integer, 0);
  EXPECT_EQ(redis({"XLEN", "cli:jobs"}).integer, 1);

  redis({"XADD", "cli:dead", "*", "id", "old", "job", "{}", "reason", "invalid", "error", "x"});
  auto keep = iamq({"dlq", "purge", "--older-than", "7d"});
  ASSERT_EQ(keep.status, 0) << keep.err;
  EXPECT_EQ(keep.out, "purged 0 dead letter(s)\n");
  auto all = iamq({"dlq", "purge"});
  EXPECT_EQ(all.out, "purged 1 dead letter(s)\n");
  EXPECT_EQ(iamq({"dlq", "purge", "--older-than", "soon"}).status, 2);
}

TEST_F(QueueCommandsTest, UnreachableRedisIsAClearError) {
  std::vector<std::string> argv = {bin_, "stats", "--redis-url",
                                   "redis://:pw@127.0.0.1:" + std::to_string(free_port()) + "/0"};
  auto r = run(argv);
  // The README: 1 is a runtime failure (Redis unreachable), 2 a usage or configuration error.
  // (Issue 14: this was 2.)
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot reach Redis"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(":pw@"), std::string::npos) << r.err;
}

TEST_F(QueueCommandsTest, EnqueueWithRedisUnreachableExits1) {
  const std::string url = "redis://127.0.0.1:" + std::to_string(free_port()) + "/0";
  auto typed = run({bin_, "--redis-url", url, "enqueue", "offboard-user", "--user", "alice"});
  EXPECT_EQ(typed.status, 1) << typed.err;
  EXPECT_NE(typed.err.find("cannot reach Redis"), std::string::npos) << typed.err;
  ChildProcess::Options o;
  o.stdin_data = "{\"type\":\"offboard_user\",\"user_name\":\"bob\"}\n";
  auto file = run({bin_, "--redis-url", url, "enqueue", "--file", "-"}, o, std::chrono::seconds(30));
  EXPECT_EQ(file.status, 1) << file.err;
  EXPECT_NE(file.err.find("cannot reach Redis"), std::string::npos) << file.err;
}

TEST_F(QueueCommandsTest, WorkerFlagsHaveTheCapsOfTheFile) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const Case cases[] = {
      {{"--concurrency", "1000000000"}, "--concurrency: must be between 1 and 10000"},
      {{"--concurrency", "0"}, "--concurrency: must be between 1 and 10000"},
      {{"--visibility-timeout", "0s"}, "--visibility-timeout: must be > 0"},
      {{"--shutdown-timeout", "999999999999d"}, "--shutdown-timeout: \"999999999999d\" is too long (at most 3650d)"},
      {{"--global-rate", "10", "--global-burst", "0.5"}, "--global-burst: must be >= 1"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {"worker"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    auto r = iamq(argv);
    EXPECT_EQ(r.status, 2) << c.flags[0] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace iamq::test
