// Job parsing and validation (worker/job.cpp): every rule, the messages, the canonical form.
#include "worker/job.hpp"
#include "worker/job_validator.hpp"

#include <gtest/gtest.h>

#include <string>

namespace iamq::worker {
namespace {

Job ok(const std::string& text) {
  auto r = parse_job(text);
  if (auto* e = std::get_if<JobError>(&r)) {
    ADD_FAILURE() << "refused: " << e->message << "\n  for " << text;
    return {};
  }
  return std::get<Job>(r);
}

JobError refused(const std::string& text) {
  auto r = parse_job(text);
  if (std::holds_alternative<Job>(r)) {
    ADD_FAILURE() << "accepted: " << text;
    return {};
  }
  return std::get<JobError>(r);
}

TEST(JobTest, OffboardUserMinimal) {
  Job j = ok(R"({"type":"offboard_user","user_name":"alice"})");
  EXPECT_EQ(j.type, JobType::offboard_user);
  EXPECT_EQ(j.user_name, "alice");
  EXPECT_EQ(j.account, "default");
  EXPECT_TRUE(j.id.empty());
  EXPECT_EQ(j.max_attempts, 0);
  EXPECT_FALSE(j.dry_run);
  EXPECT_FALSE(j.keep_user);
}

TEST(JobTest, AllFieldsOfEachType) {
  Job a = ok(R"({"id":"HR-123","type":"offboard_user","account":"prod-1","user_name":"a.b+c=d,e@f-g_h",
                 "keep_user":true,"max_attempts":7,"dry_run":true,"meta":{"ticket":"T-1","n":2}})");
  EXPECT_EQ(a.id, "HR-123");
  EXPECT_EQ(a.account, "prod-1");
  EXPECT_EQ(a.user_name, "a.b+c=d,e@f-g_h");
  EXPECT_TRUE(a.keep_user);
  EXPECT_EQ(a.max_attempts, 7);
  EXPECT_TRUE(a.dry_run);
  EXPECT_EQ(a.meta["ticket"], "T-1");

  Job m = ok(R"({"type":"deactivate_mfa","user_name":"bob",
                 "serial_number":"arn:aws:iam::123456789012:mfa/bob","delete_virtual":true})");
  EXPECT_EQ(m.serial_number, "arn:aws:iam::123456789012:mfa/bob");
  EXPECT_TRUE(m.delete_virtual);

  Job d = ok(R"({"type":"delete_user","user_name":"carol"})");
  EXPECT_EQ(d.type, JobType::delete_user);

  Job c = ok(R"({"type":"iam_calls","steps":[
      {"action":"DetachUserPolicy","params":{"UserName":"x","PolicyArn":"arn:aws:iam::aws:policy/A"}},
      {"action":"RemoveClientIDFromOpenIDConnectProvider","params":{"ClientIDList":["a","b"]}},
      {"action":"ListUsers"}]})");
  ASSERT_EQ(c.steps.size(), 3u);
  EXPECT_EQ(c.steps[0].action, "DetachUserPolicy");
  ASSERT_EQ(c.steps[1].params.size(), 2u);
  EXPECT_EQ(c.steps[1].params[0].first, "ClientIDList.member.1");
  EXPECT_EQ(c.steps[1].params[1].second, "b");
  EXPECT_TRUE(c.steps[2].params.empty());
}

TEST(JobTest, UserNameRuleAsIam) {
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":"bad name"})").message,
            R"(user_name "bad name" does not match [\w+=,.@-]+)");
  auto e = refused(R"({"type":"offboard_user","user_name":""})");
  EXPECT_EQ(e.field, "user_name");
  EXPECT_EQ(e.message, "user_name must be 1-128 characters long (got 0)");
  ok(R"({"type":"offboard_user","user_name":")" + std::string(128, 'u') + "\"}");
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":")" + std::string(129, 'u') + "\"}").message,
            "user_name must be 1-128 characters long (got 129)");
  for (const char* bad : {"a/b", "a:b", "a b", "a*b", "ü"}) {
    auto err = refused(std::string(R"({"type":"offboard_user","user_name":")") + bad + "\"}");
    EXPECT_EQ(err.field, "user_name") << bad;
    EXPECT_NE(err.message.find("does not match [\\w+=,.@-]+"), std::string::npos) << err.message;
  }
  EXPECT_EQ(refused(R"({"type":"offboard_user"})").message, "user_name is required for offboard_user");
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":5})").message, "user_name must be a string");
}

TEST(JobTest, SerialNumberRuleAsIam) {
  ok(R"({"type":"deactivate_mfa","user_name":"u","serial_number":"GAHT12345"})");  // 9: hardware
  EXPECT_EQ(refused(R"({"type":"deactivate_mfa","user_name":"u","serial_number":"12345678"})").message,
            "serial_number must be 9-256 characters long (got 8)");
  ok(R"({"type":"deactivate_mfa","user_name":"u","serial_number":")" + std::string(256, 's') + "\"}");
  refused(R"({"type":"deactivate_mfa","user_name":"u","serial_number":")" + std::string(257, 's') + "\"}");
  EXPECT_EQ(refused(R"({"type":"deactivate_mfa","user_name":"u","serial_number":"arn:aws:iam::1:mfa/a b"})").message,
            R"(serial_number "arn:aws:iam::1:mfa/a b" does not match [\w+=/:,.@-]+)");
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":"u","serial_number":"GAHT12345"})").message,
            "serial_number is only for deactivate_mfa");
}

TEST(JobTest, IdAndAccountRules) {
  ok(R"({"id":"a.b:c-d_9","type":"offboard_user","user_name":"u"})");
  ok(R"({"id":"HR-1/prod","type":"offboard_user","user_name":"u"})");  // a fan-out child's id
  EXPECT_EQ(refused(R"({"id":"a b","type":"offboard_user","user_name":"u"})").message,
            R"(id "a b" does not match [A-Za-z0-9_.:/-]+)");
  EXPECT_EQ(refused(R"({"id":"","type":"offboard_user","user_name":"u"})").field, "id");
  refused(R"({"id":")" + std::string(129, 'i') + R"(","type":"offboard_user","user_name":"u"})");
  EXPECT_EQ(refused(R"({"id":7,"type":"offboard_user","user_name":"u"})").message, "id must be a string");
  EXPECT_EQ(refused(R"({"account":"a/b","type":"offboard_user","user_name":"u"})").message,
            R"(account "a/b" does not match [A-Za-z0-9_.-]+)");
  refused(R"({"account":")" + std::string(65, 'a') + R"(","type":"offboard_user","user_name":"u"})");
}

TEST(JobTest, TypeRule) {
  EXPECT_EQ(refused(R"({"user_name":"u"})").message,
            "type is required (offboard_user, deactivate_mfa, delete_user, iam_calls, deactivate_root_mfa)");
  EXPECT_EQ(refused(R"({"type":"nuke","user_name":"u"})").message,
            R"(type "nuke" is not one of offboard_user, deactivate_mfa, delete_user, iam_calls, deactivate_root_mfa)");
}

TEST(JobTest, MaxAttemptsRange) {
  EXPECT_EQ(ok(R"({"type":"delete_user","user_name":"u","max_attempts":1})").max_attempts, 1);
  EXPECT_EQ(ok(R"({"type":"delete_user","user_name":"u","max_attempts":100})").max_attempts, 100);
  EXPECT_EQ(ok(R"({"type":"delete_user","user_name":"u","max_attempts":7.0})").max_attempts, 7);
  // Numbers beyond any integer type (parsed as doubles) and beyond long long (unsigned) are
  // refused with the rule, not converted (found by fuzz_job: the cast was undefined behaviour).
  for (const char* bad : {"0", "101", "-1", "2.5", "\"3\"", "true", "22222222222222222222222222222222222222222222226",
                          "1e300", "-1e300", "18446744073709551615", "9223372036854775808", "100.5"}) {
    EXPECT_EQ(refused(std::string(R"({"type":"delete_user","user_name":"u","max_attempts":)") + bad + "}").message,
              "max_attempts must be an integer 1-100")
        << bad;
  }
}

TEST(JobTest, BooleansAndOptionApplicability) {
  EXPECT_EQ(refused(R"({"type":"delete_user","user_name":"u","dry_run":"yes"})").message,
            "dry_run must be true or false");
  EXPECT_EQ(refused(R"({"type":"deactivate_mfa","user_name":"u","keep_user":true})").message,
            "keep_user is only for offboard_user");
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":"u","delete_virtual":true})").message,
            "delete_virtual is only for deactivate_mfa");
  EXPECT_EQ(refused(R"({"type":"offboard_user","user_name":"u","keep_user":1})").message,
            "keep_user must be true or false");
}

TEST(JobTest, MetaMustBeSmallObject) {
  EXPECT_EQ(refused(R"({"type":"delete_user","user_name":"u","meta":[1]})").message, "meta must be an object");
  std::string big = R"({"type":"delete_user","user_name":"u","meta":{"x":")" + std::string(9000, 'm') + "\"}}";
  EXPECT_EQ(refused(big).field, "meta");
}

TEST(JobTest, UnknownFieldsRefused) {
  auto e = refused(R"({"type":"delete_user","user_name":"u","username":"v"})");
  EXPECT_EQ(e.field, "username");
  EXPECT_EQ(e.message, R"(unknown field "username")");
}

TEST(JobTest, StepsRules) {
  EXPECT_EQ(refused(R"({"type":"iam_calls"})").message, "steps is required for iam_calls");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[]})").message, "steps must be an array of 1-1000 steps");
  std::string many = R"({"type":"iam_calls","steps":[)";
  for (int i = 0; i < 1001; ++i) many += std::string(i ? "," : "") + R"({"action":"ListUsers"})";
  many += "]}";
  EXPECT_EQ(refused(many).message, "steps must be an array of 1-1000 steps");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"deleteUser"}]})").message,
            R"(steps[0].action "deleteUser" does not match [A-Z][A-Za-z0-9]{1,127})");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"D"}]})").field, "steps");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"params":{}}]})").message,
            "steps[0].action is required (a string)");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"ListUsers","x":1}]})").message,
            R"(steps[0]: unknown field "x")");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"ListUsers","params":{"A":1}}]})").message,
            "steps[0].params.A must be a string or an array of strings");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"ListUsers","params":{"A":[1]}}]})").message,
            "steps[0].params.A must hold only strings");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"ListUsers","params":{"Action":"x"}}]})").field,
            "steps");
  EXPECT_EQ(refused(R"({"type":"iam_calls","steps":[{"action":"ListUsers","params":{"a b":"x"}}]})").field,
            "steps");
  EXPECT_EQ(refused(R"({"type":"iam_calls","user_name":"u","steps":[{"action":"ListUsers"}]})").field,
            "user_name");
  EXPECT_EQ(refused(R"({"type":"delete_user","user_name":"u","steps":[{"action":"ListUsers"}]})").message,
            "steps is only for iam_calls");
}

TEST(JobTest, NotJsonOrNotObjectOrTooBig) {
  EXPECT_EQ(refused("{").field, "");
  EXPECT_NE(refused("{").message.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(refused("[1]").message, "a job must be a JSON object");
  EXPECT_EQ(refused("").field, "");
  std::string huge = R"({"type":"delete_user","user_name":"u","meta":{"x":")" + std::string(70000, 'm') + "\"}}";
  EXPECT_NE(refused(huge).message.find("the limit is 65536"), std::string::npos);
  std::string deep(5000, '[');
  EXPECT_NE(refused(deep).message.find("nested deeper"), std::string::npos);
  EXPECT_NE(refused(std::string("{\"type\":\"x\xff\"}")).message.find("not valid JSON"), std::string::npos);
}

TEST(JobTest, CanonicalJsonRoundTrips) {
  const char* texts[] = {
      R"({"id":"j1","type":"offboard_user","user_name":"u","keep_user":true,"meta":{"k":"v"},"dry_run":true,"max_attempts":3})",
      R"({"type":"deactivate_mfa","user_name":"u","serial_number":"GAHT12345","delete_virtual":true})",
      R"({"type":"iam_calls","account":"a","steps":[{"action":"RemoveUserFromGroup","params":{"UserName":"u","GroupName":"g","L":["1","2"]}}]})",
  };
  for (const char* t : texts) {
    Job a = ok(t);
    std::string canon = to_json(a).dump();
    Job b = ok(canon);
    EXPECT_EQ(to_json(b).dump(), canon);
    EXPECT_EQ(b.user_name, a.user_name);
    EXPECT_EQ(b.steps.size(), a.steps.size());
  }
}

TEST(JobTest, ValidatorUsesDefaultIdAndSummarizes) {
  auto v = job_validator();
  auto r = v(R"({"type":"offboard_user","user_name":"u","account":"acc"})", "x-1-0");
  ASSERT_TRUE(std::holds_alternative<queue::JobSummary>(r));
  auto s = std::get<queue::JobSummary>(r);
  EXPECT_EQ(s.id, "x-1-0");
  EXPECT_EQ(s.type, "offboard_user");
  EXPECT_EQ(s.account, "acc");
  EXPECT_EQ(s.user_name, "u");
  EXPECT_NE(s.canonical_json.find("\"id\":\"x-1-0\""), std::string::npos);
  auto bad = v(R"({"type":"offboard_user","user_name":"bad name"})", "x");
  ASSERT_TRUE(std::holds_alternative<std::string>(bad));
  EXPECT_EQ(std::get<std::string>(bad), R"(user_name "bad name" does not match [\w+=,.@-]+)");
}

TEST(JobTest, GeneratedIdsAreValidAndDistinct) {
  std::string a = generate_job_id();
  std::string b = generate_job_id();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  ok(R"({"id":")" + a + R"(","type":"delete_user","user_name":"u"})");
}

// Why 4 of issue 14: the last of two equal keys used to win silently.
TEST(JobTest, DuplicateKeysAreRefusedNamingTheKey) {
  JobError e = refused(R"({"type":"offboard_user","user_name":"u","dry_run":true,"dry_run":false})");
  EXPECT_EQ(e.field, "dry_run");
  EXPECT_NE(e.message.find("duplicate key \"dry_run\""), std::string::npos) << e.message;
  e = refused(R"({"type":"deactivate_mfa","type":"offboard_user","user_name":"u"})");
  EXPECT_EQ(e.field, "type");
  // Nested objects too (meta, steps' params), and the same key in two objects is fine.
  e = refused(R"({"type":"offboard_user","user_name":"u","meta":{"a":1,"a":2}})");
  EXPECT_EQ(e.field, "a");
  e = refused(R"({"type":"iam_calls","steps":[{"action":"DeleteUser","params":{"UserName":"a","UserName":"b"}}]})");
  EXPECT_EQ(e.field, "UserName");
  ok(R"({"type":"iam_calls","steps":[{"action":"DeleteUser","params":{"UserName":"a"}},{"action":"DeleteUser","params":{"UserName":"b"}}]})");
  ok(R"({"type":"offboard_user","user_name":"u","meta":{"user_name":"x","type":"y"}})");
}

TEST(JobTest, NothingMayFollowTheDocument) {
  const std::string valid = R"({"type":"offboard_user","user_name":"u"})";
  JobError e = refused(valid + std::string("\0garbage", 8));
  EXPECT_NE(e.message.find("NUL byte at byte " + std::to_string(valid.size())), std::string::npos) << e.message;
  refused(valid + std::string("\0", 1));
  refused(valid + " x");
  refused(valid + valid);
  ok(valid + " \n");
}

}  // namespace
}  // namespace iamq::worker
