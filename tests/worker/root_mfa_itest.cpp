// deactivate_root_mfa end to end: the real worker, from the management account (the
// emulator's organization), takes an sts:AssumeRoot session into a member account and
// deactivates its root user's MFA devices (and, with delete_root_credentials, deletes its
// password, access keys and signing certificates) with calls that name no user; an IAM user
// of that account is left alone; a target outside the organization fails with AccessDenied
// and the management account's own jobs go on.
#include <csignal>
#include <fstream>

#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::string kMember = "222222222222";
const std::string kOther = "555555555555";

struct RootMfaE2E : WorkerE2E {
  std::string sts_seed_path() {
    json org = {{"management_account", kAccountId},
                {"accounts", json::array({{{"id", kAccountId}, {"status", "ACTIVE"}}, {{"id", kMember}, {"status", "ACTIVE"}},
                                          {{"id", "333333333333"}, {"status", "ACTIVE"}}})}};
    const std::string path = ::testing::TempDir() + "/root_mfa_sts_seed.json";
    std::ofstream(path) << json{{"organization", org}}.dump();
    return path;
  }
  static json root_user() {
    return {{"mfa_devices", json::array({"arn:aws:iam::" + kMember + ":mfa/root-account-mfa-device", "GAHT11111111"})},
            {"login_profile", true},
            {"access_keys", json::array({{{"id", "AKIAROOTKEY000000001"}}})},
            {"signing_certificates", json::array({{{"id", "ROOTCERT0000000000000000000000001"}}})}};
  }
  json iam_seed() {
    json alice = {{"name", "alice"}, {"mfa_devices", json::array({"GAHT22222222"})}};
    return {{"accounts", json::array({{{"id", kMember}, {"root", root_user()}, {"users", json::array({alice})}},
                                      {{"id", "333333333333"}, {"root", root_user()}}})}};
  }
  json account_state(const std::string& id) {
    const json state = emu().state();  // kept: a range-for over a temporary's member dangles
    for (const auto& a : state["accounts"])
      if (a["id"] == id) return a;
    return nullptr;
  }
};

TEST_F(RootMfaE2E, DeactivatesTheRootUsersMfaThroughAssumeRoot) {
  EmulatorProcess::Options o;
  o.args = {"--sts-seed", sts_seed_path()};
  o.seed = iam_seed();
  start_emulator(std::move(o));
  write_config(WorkerConfig{});

  auto e1 = iamq({"enqueue", "deactivate-root-mfa", "--account-id", kMember, "--id", "ROOT-1"});
  ASSERT_EQ(e1.status, 0) << e1.err;
  auto e2 = iamq({"enqueue", "deactivate-root-mfa", "--account-id", "333333333333", "--delete-root-credentials",
                  "--id", "ROOT-2"});
  ASSERT_EQ(e2.status, 0) << e2.err;
  auto e3 = iamq({"enqueue", "deactivate-root-mfa", "--account-id", kOther, "--id", "ROOT-3"});
  ASSERT_EQ(e3.status, 0) << e3.err;
  auto bad = iamq({"enqueue", "deactivate-root-mfa", "--account-id", "12345"});
  EXPECT_EQ(bad.status, 1) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("must be 12 digits"), std::string::npos) << bad.err;
  // The management account's own job runs beside them, whatever ROOT-3 meets.
  enqueue({{{"id", "USER-1"}, {"type", "deactivate_mfa"}, {"user_name", "nobody"}}});

  auto opts = child_options();
  opts.merge_stderr = true;
  opts.env_overrides["AWS_ENDPOINT_URL_STS"] = emu().endpoint();
  opts.env_overrides["AWS_EC2_METADATA_DISABLED"] = "true";
  ChildProcess worker(argv({"worker", "--drain"}), opts);
  const std::string log = worker.read_all(seconds(60));
  const int rc = worker.wait(seconds(5)).value_or(-1);
  ASSERT_EQ(rc, 0) << log;

  EXPECT_EQ(job_status("ROOT-1"), "succeeded") << job_field("ROOT-1", "error");
  EXPECT_EQ(job_result("ROOT-1")["outcome"], "done");
  std::vector<std::string> actions;
  for (const auto& s : steps("ROOT-1")) {
    actions.push_back(s["action"]);
    EXPECT_FALSE(s["params"].contains("UserName")) << s.dump();
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"ListMFADevices", "DeactivateMFADevice", "DeactivateMFADevice"}));
  json member = account_state(kMember);
  ASSERT_TRUE(member.is_object());
  EXPECT_TRUE(member["root"]["mfa_devices"].empty()) << member["root"].dump();
  EXPECT_EQ(member["root"]["access_keys"].size(), 1u) << "credentials left without --delete-root-credentials";
  EXPECT_FALSE(member["root"]["login_profile"].is_null());
  ASSERT_EQ(member["users"].size(), 1u);
  EXPECT_EQ(member["users"][0]["mfa_devices"].size(), 1u) << "alice's device was touched";

  EXPECT_EQ(job_status("ROOT-2"), "succeeded") << job_field("ROOT-2", "error");
  json other = account_state("333333333333");
  EXPECT_TRUE(other["root"]["mfa_devices"].empty());
  EXPECT_TRUE(other["root"]["access_keys"].empty());
  EXPECT_TRUE(other["root"]["signing_certificates"].empty());
  EXPECT_TRUE(other["root"]["login_profile"].is_null());

  // Not a member of the organization: AssumeRoot is refused, the job fails naming the
  // account, and the management account's circuit stays closed.
  EXPECT_EQ(job_status("ROOT-3"), "failed");
  const std::string err = job_field("ROOT-3", "error");
  EXPECT_NE(err.find("AccessDenied"), std::string::npos) << err;
  EXPECT_NE(err.find(kOther), std::string::npos) << err;
  EXPECT_EQ(job_status("USER-1"), "succeeded");
  const json stats = stats_json();
  for (const auto& c : stats["circuits"]) EXPECT_NE(c["state"], "open") << c.dump();

  // One AssumeRoot per root job run (no session shared between jobs).
  const json sts = json::parse(emu().request("GET", "/_emulator/sts").body);
  EXPECT_EQ(sts["calls"].value("AssumeRoot:OK", 0), 2) << sts.dump();
  EXPECT_EQ(log.find(kSecretKey), std::string::npos);
  EXPECT_EQ(log.find("IQoJb3JpZ2luX2VjE"), std::string::npos) << "a session token leaked into the log";
}

}  // namespace
}  // namespace iamq::test
