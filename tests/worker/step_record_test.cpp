// worker/step_record.hpp: the step log entry of every IAM call (it had no tests before
// issue 14): fields, results, dispositions, and secrets redacted wherever they appear.
#include "worker/step_record.hpp"

#include <gtest/gtest.h>

namespace iamq::worker {
namespace {

client::Outcome ok_outcome() {
  client::Outcome o;
  o.ok = client::IamResult{};
  o.ok->request_id = "req-ok";
  return o;
}

client::Outcome error_outcome(client::ErrorClass cls, std::string code, int status, std::string message = "m") {
  client::Outcome o;
  o.error = client::IamError{cls, status, std::move(code), std::move(message), "req-err"};
  return o;
}

StepFacts facts(std::string action = "DeleteAccessKey") {
  StepFacts f;
  f.action = std::move(action);
  f.params = {{"UserName", "alice"}, {"AccessKeyId", "AKIAEXAMPLE"}};
  f.attempt = 2;
  f.duration = std::chrono::milliseconds(17);
  f.http_status = 200;
  return f;
}

TEST(StepRecord, ASuccess) {
  const auto j = make_step_record(facts(), ok_outcome(), StepDisposition::done);
  EXPECT_EQ(j["action"], "DeleteAccessKey");
  EXPECT_EQ(j["params"], (nlohmann::json{{"UserName", "alice"}, {"AccessKeyId", "AKIAEXAMPLE"}}));
  EXPECT_EQ(j["attempt"], 2);
  EXPECT_EQ(j["duration_ms"], 17);
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["result"], "ok");
  EXPECT_EQ(j["request_id"], "req-ok");
  EXPECT_EQ(j["disposition"], "done");
  EXPECT_GT(j["at_ms"].get<long long>(), 1600000000000LL);
  EXPECT_FALSE(j.contains("retry_in_ms"));
  EXPECT_FALSE(j.contains("dry_run"));
  EXPECT_FALSE(j.contains("code"));
}

TEST(StepRecord, ResultsByClass) {
  EXPECT_EQ(make_step_record(facts(), error_outcome(client::ErrorClass::absent, "NoSuchEntity", 404),
                             StepDisposition::done)["result"],
            "absent");
  const auto u = make_step_record(facts("ListServiceSpecificCredentials"),
                                  error_outcome(client::ErrorClass::unsupported, "NonXmlResponse", 500),
                                  StepDisposition::done);
  EXPECT_EQ(u["result"], "unsupported");
  EXPECT_EQ(u["class"], "unsupported");
  EXPECT_EQ(u["http_status"], 500);
  const auto e = make_step_record(facts(), error_outcome(client::ErrorClass::denied, "AccessDenied", 403, "no"),
                                  StepDisposition::done);
  EXPECT_EQ(e["result"], "error");
  EXPECT_EQ(e["code"], "AccessDenied");
  EXPECT_EQ(e["class"], "denied");
  EXPECT_EQ(e["message"], "no");
  EXPECT_EQ(e["request_id"], "req-err");
}

TEST(StepRecord, RetriesCarryTheirWait) {
  for (auto d : {StepDisposition::retry, StepDisposition::delayed}) {
    const auto j = make_step_record(facts(), error_outcome(client::ErrorClass::transient, "ServiceFailure", 500), d,
                                    std::chrono::milliseconds(1234));
    EXPECT_EQ(j["retry_in_ms"], 1234);
    EXPECT_EQ(j["disposition"], std::string(to_string(d)));
  }
  const auto h = make_step_record(facts(), error_outcome(client::ErrorClass::credentials, "ExpiredToken", 403),
                                  StepDisposition::handed_back, std::chrono::milliseconds(5));
  EXPECT_EQ(h["disposition"], "handed_back");
  EXPECT_FALSE(h.contains("retry_in_ms"));
  StepFacts dry = facts();
  dry.dry_run = true;
  EXPECT_EQ(make_step_record(dry, ok_outcome(), StepDisposition::done)["dry_run"], true);
}

TEST(StepRecord, SecretsAreRedactedInParamsAndMessages) {
  StepFacts f = facts("ChangePassword");
  f.params = {{"UserName", "alice"}, {"OldPassword", "old-pw"}, {"NewPassword", "hunter2"},
              {"Tags.member.1.SessionToken", "FQoG"}};
  const auto j = make_step_record(
      f, error_outcome(client::ErrorClass::terminal, "ValidationError", 400, "bad NewPassword=hunter2 given"),
      StepDisposition::done);
  EXPECT_EQ(j["params"]["UserName"], "alice");
  EXPECT_EQ(j["params"]["OldPassword"], "<redacted>");
  EXPECT_EQ(j["params"]["NewPassword"], "<redacted>");
  EXPECT_EQ(j["params"]["Tags.member.1.SessionToken"], "<redacted>");
  EXPECT_EQ(j["message"], "bad NewPassword=<redacted> given");
  const std::string all = j.dump();
  for (const char* s : {"old-pw", "hunter2", "FQoG"}) EXPECT_EQ(all.find(s), std::string::npos) << s;
  EXPECT_EQ(redact_params(f.params).dump().find("hunter2"), std::string::npos);
  EXPECT_TRUE(is_secret_param("SecretAccessKey"));
  EXPECT_FALSE(is_secret_param("ServiceSpecificCredentialId"));
}

TEST(StepRecord, ErrorJson) {
  const auto j = error_json(client::IamError{client::ErrorClass::throttled, 400, "Throttling", "Rate exceeded", "r"});
  EXPECT_EQ(j, (nlohmann::json{{"class", "throttled"}, {"code", "Throttling"}, {"message", "Rate exceeded"},
                               {"http_status", 400}, {"request_id", "r"}}));
}

}  // namespace
}  // namespace iamq::worker
