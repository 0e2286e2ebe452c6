#include "client/credential_json.hpp"

#include <gtest/gtest.h>

#include "client/sts_response.hpp"

namespace iamq::client {
namespace {

std::string error_of(const ParsedCredentials& p) {
  auto* e = std::get_if<std::string>(&p);
  return e ? *e : "(ok)";
}

TEST(ProcessCredentials, ValidDocument) {
  auto p = parse_process_credentials(
      R"({"Version":1,"AccessKeyId":"ASIAPROCESS000000001","SecretAccessKey":"s/e+c","SessionToken":"tok","Expiration":"2030-01-02T03:04:05Z"})");
  ASSERT_TRUE(std::holds_alternative<TimedCredentials>(p)) << error_of(p);
  const auto& tc = std::get<TimedCredentials>(p);
  EXPECT_EQ(tc.creds.access_key_id, "ASIAPROCESS000000001");
  EXPECT_EQ(tc.creds.session_token, "tok");
  ASSERT_TRUE(tc.expiration);
  EXPECT_EQ(*tc.expiration, *parse_iso8601("2030-01-02T03:04:05Z"));
}

TEST(ProcessCredentials, RefusalsNameTheFieldNeverTheValue) {
  EXPECT_EQ(error_of(parse_process_credentials("not json SECRETVALUE")), "credential_process: output is not valid JSON");
  EXPECT_EQ(error_of(parse_process_credentials(R"({"AccessKeyId":"A"})")), "credential_process: Version is missing (expected 1)");
  EXPECT_EQ(error_of(parse_process_credentials(R"({"Version":2})")), "credential_process: Version must be 1");
  EXPECT_EQ(error_of(parse_process_credentials(R"({"Version":1,"AccessKeyId":"ASIAPROCESS000000001"})")),
            "credential_process: SecretAccessKey is missing");
  EXPECT_EQ(error_of(parse_process_credentials(R"({"Version":1,"AccessKeyId":"bad key","SecretAccessKey":"TOPSECRET"})")),
            "credential_process: AccessKeyId must be 16-128 upper-case letters and digits");
  const std::string e = error_of(parse_process_credentials(
      R"({"Version":1,"AccessKeyId":"ASIAPROCESS000000001","SecretAccessKey":"TOP SECRET"})"));
  EXPECT_EQ(e.find("TOP"), std::string::npos);
  EXPECT_EQ(error_of(parse_process_credentials(
                R"({"Version":1,"AccessKeyId":"ASIAPROCESS000000001","SecretAccessKey":"s","Expiration":"tomorrow"})")),
            "credential_process: Expiration is not an ISO 8601 time");
  EXPECT_EQ(error_of(parse_process_credentials(std::string(kMaxCredentialDocumentBytes + 1, ' '))),
            "credential_process: output is larger than 65536 bytes");
}

TEST(ImdsCredentials, CodeMustBeSuccessAndTokenIsRequired) {
  EXPECT_EQ(error_of(parse_imds_credentials(R"({"Code":"Failure"})")), "instance metadata: Code is not \"Success\"");
  EXPECT_EQ(error_of(parse_imds_credentials(
                R"({"Code":"Success","AccessKeyId":"ASIAIMDS000000000001","SecretAccessKey":"s","Expiration":"2030-01-01T00:00:00Z"})")),
            "instance metadata: Token is missing");
}

TEST(Iso8601, OffsetsAndFractions) {
  EXPECT_EQ(*parse_iso8601("2030-01-01T01:00:00+01:00"), *parse_iso8601("2030-01-01T00:00:00Z"));
  EXPECT_EQ(*parse_iso8601("2030-01-01T00:00:00.123Z"), *parse_iso8601("2030-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2030-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("2030-01-01 00:00:00"));
  // Found by fuzz_credential_json: a far year overflowed system_clock (UB).
  EXPECT_FALSE(parse_iso8601("9999-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_iso8601("1900-01-01T00:00:00Z"));
}

TEST(StsResponse, AssumeRoleCredentialsAndErrors) {
  const std::string ok =
      "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
      "<Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>sec</SecretAccessKey><SessionToken>tok</SessionToken>"
      "<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
      "<AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>"
      "</AssumeRoleResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></AssumeRoleResponse>";
  auto r = parse_sts_credentials_response("AssumeRole", 200, ok);
  ASSERT_TRUE(std::holds_alternative<StsCredentials>(r));
  EXPECT_EQ(std::get<StsCredentials>(r).creds.creds.session_token, "tok");
  EXPECT_EQ(std::get<StsCredentials>(r).assumed_role_arn, "arn:aws:sts::1:assumed-role/r/s");

  const std::string denied =
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized</Message></Error>"
      "<RequestId>r2</RequestId></ErrorResponse>";
  auto d = parse_sts_credentials_response("AssumeRole", 403, denied);
  ASSERT_TRUE(std::holds_alternative<IamError>(d));
  EXPECT_EQ(std::get<IamError>(d).error_class, ErrorClass::denied);

  std::string no_token = ok;
  no_token.replace(no_token.find("<SessionToken>tok</SessionToken>"), 32, "");
  auto n = parse_sts_credentials_response("AssumeRole", 200, no_token);
  ASSERT_TRUE(std::holds_alternative<std::string>(n));
  EXPECT_EQ(std::get<std::string>(n), "sts AssumeRole: Credentials/SessionToken is missing");
}

}  // namespace
}  // namespace iamq::client
