// The real worker against an emulator that lacks actions (`--unimplemented`), as moto and
// LocalStack do: read-only List* steps are recorded `unsupported` and the job goes on,
// DeleteUser stays the judge, and a mutating call is never skipped.
#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;

const std::string kPrefix = std::string("arn:aws:iam::") + kAccountId + ":";

json user(const std::string& name, bool with_credentials) {
  json u = {{"name", name},
            {"login_profile", json::object()},
            {"access_keys", json::array({json::object()})},
            {"mfa_devices", json::array({kPrefix + "mfa/" + name})},
            {"attached_policies", json::array({"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})},
            {"groups", json::array({"ops"})}};
  if (with_credentials) {
    u["signing_certificates"] = json::array({json::object()});
    u["ssh_public_keys"] = json::array({json::object()});
    u["service_specific_credentials"] = json::array({json::object()});
  }
  return u;
}

json seed_with(const json& users) {
  return {{"accounts", json::array({{{"id", kAccountId},
                                     {"groups", json::array({{{"name", "ops"}}})},
                                     {"users", users}}})}};
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

class Interop : public WorkerE2E {};

TEST_F(Interop, UnimplementedListStepsAreUnsupportedAndDeleteUserStaysTheJudge) {
  // The three answer styles: moto's bare 500, an HTML 500 page, LocalStack's 501.
  EmulatorProcess::Options o;
  o.seed = seed_with(json::array({user("alice", false), user("bob", true), user("carol", false)}));
  o.args = {"--unimplemented",
            "ListServiceSpecificCredentials,ListSSHPublicKeys:html,ListSigningCertificates:501"};
  start_emulator(std::move(o));
  write_config(WorkerConfig());
  enqueue({{{"id", "io-alice"}, {"type", "offboard_user"}, {"user_name", "alice"}},
           {{"id", "io-bob"}, {"type", "offboard_user"}, {"user_name", "bob"}},
           {{"id", "io-carol"}, {"type", "offboard_user"}, {"user_name", "carol"}}});
  auto r = iamq({"worker", "--drain", "--concurrency", "1"}, {}, std::chrono::seconds(120));
  ASSERT_EQ(r.status, 0) << r.err;

  // alice and carol had nothing the endpoint could not list: gone, and the result says
  // which lists the endpoint could not give.
  for (const std::string id : {"io-alice", "io-carol"}) {
    ASSERT_EQ(job_status(id), "succeeded") << id << ": " << job_field(id, "error");
    const json res = job_result(id);
    EXPECT_EQ(res["outcome"], "done") << res.dump();
    ASSERT_EQ(res["unsupported"].size(), 3u) << res.dump();
    EXPECT_EQ(res["unsupported"][0]["action"], "ListSigningCertificates");
    EXPECT_EQ(res["unsupported"][0]["http_status"], 501);
    EXPECT_EQ(res["unsupported"][1]["action"], "ListSSHPublicKeys");
    EXPECT_EQ(res["unsupported"][1]["http_status"], 500);
    EXPECT_EQ(res["unsupported"][2]["action"], "ListServiceSpecificCredentials");
    EXPECT_EQ(res["unsupported"][2]["what"], "service-specific credentials");
  }
  auto users = emulator_users();
  EXPECT_EQ(users.count("alice"), 0u);
  EXPECT_EQ(users.count("carol"), 0u);

  // bob's credentials could not be listed, so DeleteUser answered DeleteConflict: the job
  // fails and says what it could not list.
  ASSERT_EQ(job_status("io-bob"), "failed");
  const std::string error = job_field("io-bob", "error");
  EXPECT_NE(error.find("DeleteConflict"), std::string::npos) << error;
  EXPECT_NE(error.find("service-specific credentials (ListServiceSpecificCredentials)"), std::string::npos)
      << error;
  EXPECT_NE(error.find("SSH public keys (ListSSHPublicKeys)"), std::string::npos) << error;
  ASSERT_EQ(users.count("bob"), 1u);
  EXPECT_EQ(users["bob"]["service_specific_credentials"].size(), 1u);
  EXPECT_TRUE(users["bob"]["access_keys"].empty());  // what could be listed was removed

  // The step log records each such call as `unsupported`; a bare 500 only after repeats.
  int unsupported_steps = 0;
  int plain_500_retries = 0;
  for (const auto& s : steps("io-alice")) {
    if (s["result"] == "unsupported") ++unsupported_steps;
    if (s["action"] == "ListServiceSpecificCredentials" && s["disposition"] == "retry") ++plain_500_retries;
  }
  EXPECT_EQ(unsupported_steps, 3);
  EXPECT_EQ(plain_500_retries, 2);  // the first job needed three answers to judge it
  for (const auto& s : steps("io-carol")) {
    // carol came after: the judgement holds, no more retries.
    EXPECT_NE(s["disposition"], "retry") << s.dump();
  }

  // Logged once per account and action, whatever the number of jobs and rounds.
  for (const char* action : {"ListServiceSpecificCredentials", "ListSSHPublicKeys", "ListSigningCertificates"}) {
    EXPECT_EQ(occurrences(r.err, std::string("action=") + action + " the endpoint does not implement it"), 1u)
        << action << "\n" << r.err;
  }
  // Mutating calls were all made; none of the unimplemented ones was answered more often
  // than the jobs asked for it.
  auto calls = emulator_calls();
  EXPECT_EQ(calls_of(calls, "DeleteUser"), 1 + 1 + 6);  // alice, carol, bob: 1 + 5 list-again rounds
}

TEST_F(Interop, AMutatingCallTheEndpointLacksFailsTheJobAndIsNeverSkipped) {
  EmulatorProcess::Options o;
  o.seed = seed_with(json::array({user("dave", true)}));
  o.args = {"--unimplemented", "DeleteSSHPublicKey:501"};
  start_emulator(std::move(o));
  write_config(WorkerConfig());
  enqueue({{{"id", "io-dave"}, {"type", "offboard_user"}, {"user_name", "dave"}}});
  auto r = iamq({"worker", "--drain"}, {}, std::chrono::seconds(60));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(job_status("io-dave"), "failed");
  const json res = job_result("io-dave");
  EXPECT_EQ(res["error"]["class"], "unsupported") << res.dump();
  EXPECT_EQ(res["error"]["http_status"], 501);
  auto calls = emulator_calls();
  EXPECT_EQ(calls_of(calls, "DeleteSSHPublicKey"), 1);  // not retried
  EXPECT_EQ(calls_of(calls, "DeleteUser"), 0);          // and nothing after it
  EXPECT_EQ(emulator_users().count("dave"), 1u);
}

TEST_F(Interop, TheEmulatorRefusesABadUnimplementedFlag) {
  for (const std::string bad : {"ListNothing", "ListSSHPublicKeys:502", ","}) {
    auto r = run({env_or("IAMQ_EMULATOR_BIN", "iamq-emulator"), "--unimplemented", bad});
    EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--unimplemented"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace iamq::test
