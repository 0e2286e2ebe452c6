// Fan-out (issue 11): one offboarding over every configured account — 20 of them, reached by
// assuming a role from the hub, one of which cannot be assumed and one (the hub) where the
// user does not exist — against the emulator's STS and IAM, with the real worker.
#include <csignal>
#include <fstream>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int kGood = 18;  // member accounts whose role can be assumed

std::string member_id(int i) {
  std::string n = std::to_string(i);
  return "20000000" + std::string(4 - n.size(), '0') + n;
}
std::string member_name(int i) { return "m" + std::to_string(100 + i).substr(1); }

struct FanOutE2E : WorkerE2E {
  std::string sts_seed_path() {
    json roles = json::array();
    for (int i = 0; i < kGood; ++i)
      roles.push_back({{"account_id", member_id(i)}, {"name", "iamq"}, {"trusted", {"123456789012"}}});
    roles.push_back({{"account_id", "444444444444"}, {"name", "iamq"}, {"trusted", {"999999999999"}}});
    const std::string path = ::testing::TempDir() + "/fan_out_sts_seed.json";
    std::ofstream(path) << json{{"roles", roles}}.dump();
    return path;
  }
  json iam_seed() {
    json accounts = json::array();
    for (int i = 0; i < kGood; ++i)
      accounts.push_back({{"id", member_id(i)}, {"users", {{{"name", "alice"}}, {{"name", "bob"}}}}});
    accounts.push_back({{"id", "444444444444"}, {"users", {{{"name", "alice"}}}}});
    return {{"accounts", accounts}};
  }
  std::string member(const std::string& name, const std::string& id) {
    return "[accounts." + name + "]\naccount_id = \"" + id +
           "\"\nrole_arn = \"arn:aws:iam::{account_id}:role/iamq\"\nsource = \"default\"\nendpoint = \"" +
           emu().endpoint() + "\"\nrate = 500\nburst = 50\n";
  }
};

TEST_F(FanOutE2E, OneOffboardingOverTwentyAccountsWithOneBroken) {
  EmulatorProcess::Options o;
  o.args = {"--sts-seed", sts_seed_path()};
  o.seed = iam_seed();
  start_emulator(std::move(o));
  WorkerConfig c;
  for (int i = 0; i < kGood; ++i) c.extra += member(member_name(i), member_id(i));
  c.extra += member("broken", "444444444444");
  write_config(c);

  // "*": every configured account (18 members, broken, and default, the hub itself).
  auto enq = iamq({"enqueue", "offboard-user", "--user", "alice", "--accounts", "*", "--id", "OFF-1",
                   "--meta", "ticket=HR-1"});
  ASSERT_EQ(enq.status, 0) << enq.err;
  // A plain XADD with a list works the same; a list naming an unknown account is refused whole.
  redis({"XADD", key("jobs"), "*", "job",
         R"({"id":"OFF-2","type":"deactivate_mfa","user_name":"bob","accounts":["m00","m01"]})"});
  redis({"XADD", key("jobs"), "*", "job",
         R"({"id":"OFF-3","type":"offboard_user","user_name":"bob","accounts":["m02","nope"]})"});
  auto bad = iamq({"enqueue", "offboard-user", "--user", "bob", "--accounts", "m02", "--account", "m03"});
  EXPECT_NE(bad.status, 0) << "--accounts and --account together";

  auto o2 = child_options();
  o2.merge_stderr = true;
  o2.env_overrides["AWS_ENDPOINT_URL_STS"] = emu().endpoint();
  o2.env_overrides["AWS_EC2_METADATA_DISABLED"] = "true";
  ChildProcess worker(argv({"worker"}), o2);
  auto ended = [&](const std::string& id) {
    const auto s = job_status(id);
    return s == "succeeded" || s == "failed" || s == "dead" || s == "cancelled";
  };
  auto members_done = [&] {
    for (int i = 0; i < kGood; ++i)
      if (!ended("OFF-1/" + member_name(i))) return false;
    return ended("OFF-1/default") && ended("OFF-2");
  };
  if (!wait_until(members_done, seconds(60))) {
    worker.signal(SIGTERM);
    FAIL() << worker.read_all(seconds(20));
  }
  for (int i = 0; i < kGood; ++i) EXPECT_EQ(job_status("OFF-1/" + member_name(i)), "succeeded") << i;
  // The hub has no alice: absent after one call, which counts as success.
  EXPECT_EQ(job_status("OFF-1/default"), "succeeded");
  EXPECT_EQ(job_result("OFF-1/default")["outcome"], "absent");
  EXPECT_EQ(steps("OFF-1/default").size(), 1u);
  EXPECT_EQ(job_field("OFF-1/m00", "parent"), "OFF-1");
  // The broken account's child waits behind its open circuit, so the parent still runs.
  EXPECT_EQ(job_status("OFF-1/broken"), "queued");
  EXPECT_EQ(job_status("OFF-1"), "running");
  EXPECT_EQ(job_status("OFF-2"), "succeeded");
  EXPECT_EQ(job_status("OFF-2/m00"), "succeeded");
  EXPECT_EQ(job_status("OFF-3"), "dead");
  EXPECT_NE(job_field("OFF-3", "error").find("\"nope\", which is not configured"), std::string::npos)
      << job_field("OFF-3", "error");
  EXPECT_EQ(job_status("OFF-3/m02"), "") << "a refused parent made a child";

  auto st = iamq({"status", "OFF-1"});
  ASSERT_EQ(st.status, 0) << st.err;
  EXPECT_NE(st.out.find("children (20, 19 ended)"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("OFF-1/broken"), std::string::npos) << st.out;

  // Cancelling the parent cancels what is left; the parent ends failed, naming that child.
  auto cancel = iamq({"cancel", "OFF-1", "--reason", "role missing in broken"});
  EXPECT_EQ(cancel.status, 0) << cancel.out << cancel.err;
  EXPECT_TRUE(wait_until([&] { return job_status("OFF-1") == "failed"; }, seconds(10)))
      << job_status("OFF-1");
  EXPECT_EQ(job_status("OFF-1/broken"), "cancelled");
  const std::string err = job_field("OFF-1", "error");
  EXPECT_NE(err.find("1 of 20 children did not succeed: OFF-1/broken (cancelled)"), std::string::npos) << err;
  const json res = job_result("OFF-1");
  EXPECT_EQ(res["children"]["OFF-1/m05"], "succeeded") << res.dump();
  EXPECT_EQ(res["meta"]["ticket"], "HR-1") << res.dump();
  auto sj = status_json("OFF-1");
  EXPECT_EQ(sj["children"].size(), 20u) << sj.dump();

  worker.signal(SIGTERM);
  worker.read_all(seconds(20));
  EXPECT_EQ(worker.wait(seconds(5)), 0);

  const json state = emu().state();
  for (const auto& a : state["accounts"]) {
    const std::string id = a["id"];
    if (id.rfind("20000000", 0) != 0) continue;
    bool alice = false;
    for (const auto& u : a["users"]) alice = alice || u["name"] == "alice";
    EXPECT_FALSE(alice) << "alice is still in " << id;
  }
}

}  // namespace
}  // namespace iamq::test
