// Accounts from AWS Organizations ([organization], issue 11): the emulator's organization has
// 11 accounts over 3 ListAccounts pages (the management account, 9 members, one SUSPENDED);
// the real worker lists it at start, reaches each member through the role `iamq` assumed with
// the management account's key, and runs a fan-out "*" over them. An account that joins the
// organization later is used without a restart; one that leaves gets no new job.
// `iamq accounts --check` shows every account and names a role that cannot be assumed.
#include <csignal>
#include <fstream>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr int kMembers = 10;     // member accounts, one of them suspended
constexpr int kSuspended = 4;    // index of the suspended one
std::string member_id(int i) { return "30000000000" + std::to_string(i); }

struct OrganizationE2E : WorkerE2E {
  json organization(int members, int suspended, const std::string& extra_id = {}) {
    json accounts = json::array({{{"id", kAccountId}, {"name", "management"}, {"status", "ACTIVE"}}});
    for (int i = 0; i < members; ++i)
      accounts.push_back({{"id", member_id(i)}, {"name", "member " + std::to_string(i)},
                          {"status", i == suspended ? "SUSPENDED" : "ACTIVE"}});
    if (!extra_id.empty()) accounts.push_back({{"id", extra_id}, {"name", "late"}, {"status", "ACTIVE"}});
    return {{"management_account", kAccountId}, {"accounts", accounts}};
  }
  std::string sts_seed_path(bool broken_role) {
    json roles = json::array();
    for (int i = 0; i < kMembers; ++i) {
      // With broken_role, member 7's role trusts someone else.
      const char* trusted = broken_role && i == 7 ? "999999999999" : kAccountId;
      roles.push_back({{"account_id", member_id(i)}, {"name", "iamq"}, {"trusted", {trusted}}});
    }
    roles.push_back({{"account_id", "388888888888"}, {"name", "iamq"}, {"trusted", {kAccountId}}});
    const std::string path = ::testing::TempDir() + "/organization_sts_seed.json";
    std::ofstream(path) << json{{"roles", roles}, {"organization", organization(kMembers, kSuspended)}}.dump();
    return path;
  }
  json iam_seed() {
    json accounts = json::array();
    for (int i = 0; i < kMembers; ++i)
      accounts.push_back({{"id", member_id(i)}, {"users", {{{"name", "alice"}}, {{"name", "bob"}}}}});
    accounts.push_back({{"id", "388888888888"}, {"users", {{{"name", "alice"}}}}});
    return {{"accounts", accounts}};
  }
  void start(bool broken_role) {
    EmulatorProcess::Options o;
    // --page-size 5: ListAccounts answers 5 accounts a page, so 11 accounts take 3 pages.
    o.args = {"--sts-seed", sts_seed_path(broken_role), "--page-size", "5"};
    o.seed = iam_seed();
    start_emulator(std::move(o));
    WorkerConfig c;
    // Appended to [accounts.default]: the management account's id, then the section.
    c.extra = std::string("account_id = \"") + kAccountId + "\"\n[organization]\naccount = \"default\"\n"
              "role_name = \"iamq\"\nrefresh = \"10s\"\nrate = 500\nburst = 50\n";
    write_config(c);
  }
  ChildProcess::Options env() {
    auto o = child_options();
    o.env_overrides["AWS_ENDPOINT_URL_STS"] = emu().endpoint();
    o.env_overrides["AWS_ENDPOINT_URL_ORGANIZATIONS"] = emu().endpoint();
    o.env_overrides["AWS_EC2_METADATA_DISABLED"] = "true";
    return o;
  }
  bool has_alice(const std::string& id) {
    const json state = emu().state();  // kept: a range-for over a temporary's member dangles
    for (const auto& a : state["accounts"]) {
      if (a["id"] != id) continue;
      for (const auto& u : a.value("users", json::array()))
        if (u["name"] == "alice") return true;
    }
    return false;
  }
};

TEST_F(OrganizationE2E, FanOutOverTheDiscoveredAccountsAndRefreshWithoutRestart) {
  start(false);
  auto enq = iamq({"enqueue", "offboard-user", "--user", "alice", "--accounts", "*", "--id", "ORG-1"});
  ASSERT_EQ(enq.status, 0) << enq.err;

  auto o = env();
  o.merge_stderr = true;
  ChildProcess worker(argv({"worker"}), o);
  if (!wait_until([&] { return job_status("ORG-1") == "succeeded"; }, seconds(60))) {
    worker.signal(SIGTERM);
    FAIL() << job_status("ORG-1") << "\n" << worker.read_all(seconds(20));
  }
  // default (the management account, configured: its discovered twin is not made) + 9 members.
  const json st = status_json("ORG-1");
  EXPECT_EQ(st["children"].size(), 10u) << st.dump();
  EXPECT_TRUE(st["children"].contains("ORG-1/default")) << st.dump();
  EXPECT_FALSE(st["children"].contains("ORG-1/org-123456789012")) << st.dump();
  for (int i = 0; i < kMembers; ++i) {
    const std::string child = "ORG-1/org-" + member_id(i);
    if (i == kSuspended) {
      EXPECT_FALSE(st["children"].contains(child)) << "the suspended account got a job";
      EXPECT_TRUE(has_alice(member_id(i)));
    } else {
      EXPECT_EQ(job_status(child), "succeeded") << child;
      EXPECT_FALSE(has_alice(member_id(i))) << member_id(i);
    }
  }

  // The organization changes: 388888888888 joins, member 0 leaves. Within `refresh` (10s) the
  // running worker uses the new one and routes nothing new to the one that left.
  json org = organization(kMembers, kSuspended, "388888888888");
  org["accounts"].erase(1);  // member 0
  auto r = emu().request("POST", "/_emulator/sts", json{{"organization", org}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  // A job for the new account is dead-lettered ("not configured") until a listing has
  // found it; then it runs. Asked again each second.
  int tries = 0;
  const bool joined = wait_until(
      [&] {
        const std::string id = "JOIN-" + std::to_string(++tries);
        enqueue({{{"id", id}, {"type", "offboard_user"}, {"user_name", "nobody"}, {"account", "org-388888888888"}}});
        wait_until([&] { const auto s = job_status(id); return s == "succeeded" || s == "dead"; }, seconds(10));
        if (job_status(id) == "succeeded") return true;
        std::this_thread::sleep_for(seconds(1));
        return false;
      },
      seconds(40));
  ASSERT_TRUE(joined) << "tries " << tries;
  EXPECT_GT(tries, 1) << "the new account was known before the organization changed";
  enqueue({{{"id", "ORG-2"}, {"type", "offboard_user"}, {"user_name", "alice"}, {"accounts", "*"}},
           {{"id", "GONE-1"}, {"type", "offboard_user"}, {"user_name", "bob"}, {"account", "org-" + member_id(0)}}});
  ASSERT_TRUE(wait_until([&] { return job_status("ORG-2") == "succeeded"; }, seconds(60))) << job_status("ORG-2");
  const json st2 = status_json("ORG-2");
  EXPECT_EQ(st2["children"].size(), 10u) << st2.dump();
  EXPECT_TRUE(st2["children"].contains("ORG-2/org-388888888888")) << st2.dump();
  EXPECT_FALSE(st2["children"].contains("ORG-2/org-" + member_id(0))) << st2.dump();
  EXPECT_FALSE(has_alice("388888888888"));
  ASSERT_TRUE(wait_until([&] { return job_status("GONE-1") == "dead"; }, seconds(10))) << job_status("GONE-1");
  EXPECT_NE(job_field("GONE-1", "error").find("is not configured"), std::string::npos) << job_field("GONE-1", "error");

  worker.signal(SIGTERM);
  const std::string log = worker.read_all(seconds(20));
  EXPECT_EQ(worker.wait(seconds(5)), 0) << log;
  EXPECT_EQ(log.find(kSecretKey), std::string::npos);
  EXPECT_EQ(log.find("IQoJb3JpZ2luX2VjE"), std::string::npos) << "a session token leaked into the log";
  EXPECT_NE(log.find("organization: 11 account(s) listed, 9 used from it; 9 joined"), std::string::npos) << log;
  EXPECT_NE(log.find("account org-" + member_id(0) + " is no longer listed"), std::string::npos) << log;
  // Every listing took 3 pages (5 + 5 + 1 or 2 accounts).
  const json stats = emu().stats();
  EXPECT_GE(stats["calls"]["organizations:ListAccounts"].value("OK", 0), 6) << stats.dump();
}

TEST_F(OrganizationE2E, AccountsCheckNamesTheRoleThatCannotBeAssumed) {
  start(true);
  auto o = env();
  auto list = run(argv({"accounts", "--json"}), o);
  ASSERT_EQ(list.status, 0) << list.out << list.err;
  const json j = json::parse(list.out);
  EXPECT_EQ(j["organization"]["listed"], 11) << j.dump();
  EXPECT_EQ(j["organization"]["used"], 9) << j.dump();
  ASSERT_EQ(j["accounts"].size(), 10u) << j.dump();
  for (const auto& a : j["accounts"]) {
    if (a["name"] == "default") {
      EXPECT_EQ(a["origin"], "config");
      EXPECT_EQ(a["credentials"], "accounts.default static keys") << a.dump();
      continue;
    }
    EXPECT_EQ(a["origin"], "organization") << a.dump();
    EXPECT_EQ(a["partition"], "aws");
    EXPECT_EQ(a["iam_endpoint"], emu().endpoint() + "/") << a.dump();
    EXPECT_EQ(a["credentials"], "assume-role arn:aws:iam::" + a["account_id"].get<std::string>() +
                                    ":role/iamq with source default")
        << a.dump();
  }

  auto check = run(argv({"accounts", "--check"}), o);
  EXPECT_EQ(check.status, 1) << check.out << check.err;
  const std::string out = check.out + check.err;
  EXPECT_NE(out.find("FAILED AccessDenied"), std::string::npos) << out;
  EXPECT_NE(out.find("arn:aws:iam::" + member_id(7) + ":role/iamq"), std::string::npos) << out;
  EXPECT_NE(out.find("ok arn:aws:sts::" + member_id(0) + ":assumed-role/iamq/iamq"), std::string::npos) << out;
  EXPECT_NE(out.find("9 of 10 accounts ok"), std::string::npos) << out;
  EXPECT_EQ(out.find(kSecretKey), std::string::npos) << out;
  EXPECT_EQ(out.find("IQoJb3JpZ2luX2VjE"), std::string::npos) << out;

  auto cj = run(argv({"accounts", "--check", "--json"}), o);
  EXPECT_EQ(cj.status, 1) << cj.err;
  const json c = json::parse(cj.out);
  int ok = 0;
  for (const auto& a : c["accounts"]) {
    if (a["check"]["ok"] == true) {
      ++ok;
      continue;
    }
    EXPECT_EQ(a["name"], "org-" + member_id(7)) << a.dump();
    EXPECT_EQ(a["check"]["code"], "AccessDenied") << a.dump();
  }
  EXPECT_EQ(ok, 9) << c.dump();

  // The organization cannot be listed (Organizations at a closed port): exit 1, said so.
  auto bad = env();
  bad.env_overrides["AWS_ENDPOINT_URL_ORGANIZATIONS"] = "http://127.0.0.1:1";
  auto down = run(argv({"accounts"}), bad);
  EXPECT_EQ(down.status, 1) << down.out << down.err;
  EXPECT_NE(down.err.find("organization: listing the accounts with account default failed"), std::string::npos)
      << down.err;
}

// `iamq call --account org-<id>`: the organization is listed as the worker lists it, and the
// call goes to that member with the role assumed there (failed before: "no account named").
TEST_F(OrganizationE2E, CallReachesADiscoveredAccount) {
  start(false);
  auto o = env();
  auto got = run(argv({"call", "GetUser", "UserName=alice", "--json", "--account", "org-" + member_id(2)}), o);
  ASSERT_EQ(got.status, 0) << got.out << got.err;
  EXPECT_NE(got.out.find("\"alice\""), std::string::npos) << got.out;
  EXPECT_NE(got.out.find("arn:aws:iam::" + member_id(2) + ":user/alice"), std::string::npos) << got.out;

  // The suspended member is not used, so it cannot be called; the error says what was listed.
  auto suspended = run(argv({"call", "GetUser", "UserName=alice", "--account", "org-" + member_id(kSuspended)}), o);
  EXPECT_EQ(suspended.status, 2) << suspended.out << suspended.err;
  EXPECT_NE(suspended.err.find("the organization lists 11 account(s), 9 used"), std::string::npos) << suspended.err;

  auto bad = env();
  bad.env_overrides["AWS_ENDPOINT_URL_ORGANIZATIONS"] = "http://127.0.0.1:1";
  auto down = run(argv({"call", "GetUser", "UserName=alice", "--account", "org-" + member_id(2)}), bad);
  EXPECT_EQ(down.status, 2) << down.out << down.err;
  EXPECT_NE(down.err.find("listing the organization with account default failed"), std::string::npos) << down.err;
  EXPECT_EQ((got.out + got.err + down.err).find(kSecretKey), std::string::npos);
}

}  // namespace
}  // namespace iamq::test
