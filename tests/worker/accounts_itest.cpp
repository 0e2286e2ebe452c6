// Accounts reached by assuming a role from a hub account (source = another account),
// against the emulator's STS: a role that cannot be assumed opens that account's circuit
// only, with a message naming the role, and the other accounts finish their jobs.
#include <csignal>
#include <fstream>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

struct AccountsE2E : WorkerE2E {
  std::string sts_seed_path() {
    json roles = json::array();
    for (const char* id : {"222222222222", "333333333333"})
      roles.push_back({{"account_id", id}, {"name", "iamq"}, {"trusted", {"123456789012"}}, {"external_id", "ext-ok"}});
    // The broken account's role trusts someone else.
    roles.push_back({{"account_id", "444444444444"}, {"name", "iamq"}, {"trusted", {"999999999999"}}});
    const std::string path = ::testing::TempDir() + "/accounts_sts_seed.json";
    std::ofstream(path) << json{{"roles", roles}}.dump();
    return path;
  }
  json iam_seed() {
    json accounts = json::array();
    for (const char* id : {"222222222222", "333333333333", "444444444444"})
      accounts.push_back({{"id", id}, {"users", {{{"name", "alice"}}, {{"name", "bob"}}}}});
    return {{"accounts", accounts}};
  }
  std::string account_section(const std::string& name, const std::string& id, bool external = true) {
    return "[accounts." + name + "]\naccount_id = \"" + id + "\"\nrole_arn = \"arn:aws:iam::{account_id}:role/iamq\"\n" +
           (external ? "external_id = \"ext-ok\"\n" : "") + "source = \"default\"\nendpoint = \"" + emu().endpoint() +
           "\"\nrate = 500\nburst = 50\n";
  }
};

TEST_F(AccountsE2E, RoleThatCannotBeAssumedOpensOnlyItsAccountsCircuit) {
  EmulatorProcess::Options o;
  o.args = {"--sts-seed", sts_seed_path()};
  o.seed = iam_seed();
  start_emulator(std::move(o));
  WorkerConfig c;
  c.extra = account_section("prod", "222222222222") + account_section("dev", "333333333333") +
            account_section("broken", "444444444444", false);
  write_config(c);
  std::vector<json> jobs;
  for (const char* acct : {"prod", "dev", "broken"})
    for (const char* user : {"alice", "bob"})
      jobs.push_back({{"id", std::string(acct) + "-" + user}, {"type", "offboard_user"}, {"account", acct}, {"user_name", user}});
  enqueue(jobs);

  auto o2 = child_options();
  o2.merge_stderr = true;
  o2.env_overrides["AWS_ENDPOINT_URL_STS"] = emu().endpoint();
  o2.env_overrides["AWS_EC2_METADATA_DISABLED"] = "true";
  ChildProcess worker(argv({"worker"}), o2);
  auto done = [&] {
    for (const char* acct : {"prod", "dev"})
      for (const char* user : {"alice", "bob"})
        if (job_status(std::string(acct) + "-" + user) != "succeeded") return false;
    return true;
  };
  const bool finished = wait_until(done, seconds(40));
  if (!finished) {
    worker.signal(SIGTERM);
    FAIL() << worker.read_all(seconds(20));
  }
  json st;
  ASSERT_TRUE(wait_until(
      [&] {
        st = stats_json();
        for (const auto& circ : st["circuits"])
          if (circ["account"] == "broken" && circ["state"] == "open") return true;
        return false;
      },
      seconds(20)))
      << st.dump();
  worker.signal(SIGTERM);
  const std::string log = worker.read_all(seconds(20));
  EXPECT_EQ(worker.wait(seconds(5)), 0);

  for (const auto& circ : st["circuits"]) {
    if (circ["account"] != "broken") {
      EXPECT_NE(circ["state"], "open") << st.dump();
      continue;
    }
    const std::string err = circ["error"].get<std::string>();
    EXPECT_NE(err.find("AccessDenied"), std::string::npos) << err;
    EXPECT_NE(err.find("arn:aws:iam::444444444444:role/iamq"), std::string::npos) << err;
  }
  for (const char* user : {"alice", "bob"}) EXPECT_EQ(job_status(std::string("broken-") + user), "queued");
  const json state = emu().state();
  for (const auto& a : state["accounts"]) {
    const std::string id = a["id"];
    const std::size_t users = a.contains("users") ? a["users"].size() : 0;
    if (id == "222222222222" || id == "333333333333") {
      EXPECT_EQ(users, 0u) << id;
    }
    if (id == "444444444444") {
      EXPECT_EQ(users, 2u) << id;
    }
  }
  // Secrets of the hub key and of the issued sessions are never logged.
  EXPECT_EQ(log.find(kSecretKey), std::string::npos);
  EXPECT_EQ(log.find("IQoJb3JpZ2luX2VjE"), std::string::npos) << "a session token leaked into the log";
  EXPECT_NE(log.find("credentials from assume-role arn:aws:iam::222222222222:role/iamq"), std::string::npos) << log;

  // config check shows the role settings and never the secret.
  auto cc = iamq({"config", "check"});
  EXPECT_EQ(cc.status, 0) << cc.err;
  EXPECT_NE(cc.out.find("arn:aws:iam::{account_id}:role/iamq"), std::string::npos) << cc.out;
  EXPECT_EQ(cc.out.find(kSecretKey), std::string::npos) << cc.out;
}

}  // namespace
}  // namespace iamq::test
