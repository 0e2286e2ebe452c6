// worker/redaction.hpp: the one redaction function, on every shape a secret can take in what
// iamq stores or prints.
#include "worker/redaction.hpp"

#include <gtest/gtest.h>

namespace iamq::worker {
namespace {

using nlohmann::json;

TEST(Redaction, SecretNames) {
  for (const char* n : {"Password", "NewPassword", "OldPassword", "PrivateKey", "SecretAccessKey", "SessionToken",
                        "secret_access_key", "session_token", "ServiceSpecificCredentialSecret", "ServicePassword",
                        "AuthenticationCode1", "SSHPublicKeyBody", "CertificateBody", "x-token", "TOKEN"}) {
    EXPECT_TRUE(is_secret_name(n)) << n;
  }
  for (const char* n : {"UserName", "AccessKeyId", "ServiceSpecificCredentialId", "SerialNumber", "PolicyArn",
                        "Status", "", "tok", "PolicyName", "PolicyDocument"}) {
    EXPECT_FALSE(is_secret_name(n)) << n;
  }
}

TEST(Redaction, TextInEveryShape) {
  EXPECT_EQ(redact_text("step 1: ChangePassword OldPassword=abc NewPassword=hunter2 UserName=bob"),
            "step 1: ChangePassword OldPassword=<redacted> NewPassword=<redacted> UserName=bob");
  EXPECT_EQ(redact_text("Action=X&SessionToken=FQoG%2Fabc&UserName=u"),
            "Action=X&SessionToken=<redacted>&UserName=u");
  EXPECT_EQ(redact_text(R"({"Password": "hun\"ter2", "UserName":"u","SessionToken":12345})"),
            R"({"Password": "<redacted>", "UserName":"u","SessionToken":<redacted>})");
  EXPECT_EQ(redact_text("<SecretAccessKey>wJalrXUtnFEMI</SecretAccessKey><UserName>a</UserName>"),
            "<SecretAccessKey><redacted></SecretAccessKey><UserName>a</UserName>");
  EXPECT_EQ(redact_text("secret_access_key: wJalr and more"), "secret_access_key: <redacted> and more");
  // Words that only mention a secret are left alone; so is an empty value.
  EXPECT_EQ(redact_text("The security token included in the request is invalid."),
            "The security token included in the request is invalid.");
  EXPECT_EQ(redact_text("Password= x"), "Password= x");
  EXPECT_EQ(redact_text(""), "");
  // A cut value (a truncated JSON string) is still covered to the end.
  EXPECT_EQ(redact_text(R"({"Password":"hunter2)"), R"({"Password":"<redacted>)");
}

TEST(Redaction, JsonKeysPairsAndStrings) {
  const json in = {
      {"params", {{"UserName", "bob"}, {"Password", "hunter2"}, {"NewPassword", json::array({"a", "b"})}}},
      {"pending", json::array({json::array({"SessionToken", "FQoG"}), json::array({"UserName", "bob"})})},
      {"description", "step 2: X PrivateKey=-----BEGIN"},
      {"meta", {{"ticket", "T-1"}, {"api_token", 42}, {"nothing", nullptr}}},
      {"n", 3},
  };
  const json out = redact(in);
  EXPECT_EQ(out["params"]["UserName"], "bob");
  EXPECT_EQ(out["params"]["Password"], "<redacted>");
  EXPECT_EQ(out["params"]["NewPassword"], "<redacted>");
  EXPECT_EQ(out["pending"][0][1], "<redacted>");
  EXPECT_EQ(out["pending"][1][1], "bob");
  EXPECT_EQ(out["description"], "step 2: X PrivateKey=<redacted>");
  EXPECT_EQ(out["meta"]["ticket"], "T-1");
  EXPECT_EQ(out["meta"]["api_token"], "<redacted>");
  EXPECT_TRUE(out["meta"]["nothing"].is_null());
  EXPECT_EQ(out["n"], 3);
  EXPECT_EQ(out.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(out.dump().find("FQoG"), std::string::npos);
  // Deep nesting is bounded.
  json deep = "x";
  for (int i = 0; i < 200; ++i) deep = json::array({deep});
  EXPECT_NO_THROW(redact(deep));
}

TEST(Redaction, JobTextIsRedactedAndBounded) {
  // Valid JSON, a duplicate key (refused by the parser, stored all the same), invalid JSON,
  // a name spelled with escapes in JSON that does not parse.
  const std::string dup = R"({"type":"iam_calls","steps":[{"action":"ChangePassword","params":{"NewPassword":"hunter2","NewPassword":"hunter3"}}]})";
  const std::string stored = redact_job_text(dup, 4096);
  EXPECT_EQ(stored.find("hunter"), std::string::npos) << stored;
  EXPECT_NE(stored.find("ChangePassword"), std::string::npos) << stored;
  const std::string broken = R"({"type":"iam_calls","steps":[{"params":{"Pass\u0077ord":"hunter2")";
  EXPECT_EQ(redact_job_text(broken, 4096).find("hunter2"), std::string::npos) << redact_job_text(broken, 4096);
  const std::string nul = std::string(R"({"SessionToken":"FQoG"})") + std::string("\0tail", 5);
  EXPECT_EQ(redact_job_text(nul, 4096).find("FQoG"), std::string::npos);
  // An oversized entry keeps a bounded prefix, and says how big it was.
  const std::string big = R"({"type":"offboard_user","meta":{"pad":")" + std::string(8 << 20, 'x') + "\"}}";
  const std::string cut = redact_job_text(big, 4096);
  EXPECT_LT(cut.size(), 4200u);
  EXPECT_NE(cut.find("(" + std::to_string(big.size()) + " bytes in all)"), std::string::npos);
  EXPECT_EQ(cut.rfind(R"({"type":"offboard_user")", 0), 0u);
}

}  // namespace
}  // namespace iamq::worker
