// Integration tests: the real iamq-emulator binary driven by the Debian AWS CLI
// (/usr/bin/aws), signatures included. If the real client cannot drive it, it is not IAM enough.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/emulator_process.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;

const char* kAws = "/usr/bin/aws";  // not the pyenv aws 1.x that may be first on PATH

struct Aws {
  int status = -1;
  json out;
  std::string err;
};

/// Runs `aws iam <args> --endpoint-url … --output json` with a clean, file-less configuration.
Aws aws(EmulatorProcess& emu, std::vector<std::string> args,
        std::map<std::string, std::string> env = {}) {
  std::vector<std::string> argv = {kAws, "iam"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--endpoint-url", emu.endpoint(), "--output", "json"});
  ChildProcess::Options o;
  o.env_overrides = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                     {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                     {"AWS_DEFAULT_REGION", "us-east-1"},
                     {"AWS_CONFIG_FILE", "/dev/null"},
                     {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"},
                     {"AWS_PAGER", ""},
                     {"AWS_MAX_ATTEMPTS", "2"},
                     {"AWS_RETRY_MODE", "standard"}};
  o.env_remove = {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM",
                  "AWS_SECURITY_TOKEN"};
  for (auto& [k, v] : env) o.env_overrides[k] = v;
  RunResult r = run(argv, o, std::chrono::seconds(90));
  Aws a;
  a.status = r.status;
  a.err = r.err;
  if (!r.out.empty()) a.out = json::parse(r.out, nullptr, false);
  return a;
}

/// The AWS CLI's error line names the code: "An error occurred (DeleteConflict) when calling…".
bool failed_with(const Aws& a, const std::string& code) {
  return a.status != 0 && a.err.find("(" + code + ")") != std::string::npos;
}

TEST(AwsCli, FullUserLifecycleWithEveryAttachment) {
  EmulatorProcess emu;
  const std::string u = "lifecycle-user";
  ASSERT_EQ(aws(emu, {"create-user", "--user-name", u}).status, 0);
  ASSERT_EQ(aws(emu, {"create-group", "--group-name", "devs"}).status, 0);
  Aws policy = aws(emu, {"create-policy", "--policy-name", "team-read", "--policy-document",
                         R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]})"});
  ASSERT_EQ(policy.status, 0) << policy.err;
  const std::string arn = policy.out["Policy"]["Arn"];
  EXPECT_EQ(arn, "arn:aws:iam::123456789012:policy/team-read");

  ASSERT_EQ(aws(emu, {"create-login-profile", "--user-name", u, "--password", "Initial-Passw0rd!"}).status, 0);
  Aws key = aws(emu, {"create-access-key", "--user-name", u});
  ASSERT_EQ(key.status, 0) << key.err;
  const std::string key_id = key.out["AccessKey"]["AccessKeyId"];
  EXPECT_EQ(key.out["AccessKey"]["Status"], "Active");
  Aws cert = aws(emu, {"upload-signing-certificate", "--user-name", u, "--certificate-body",
                       "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUexample\n-----END CERTIFICATE-----\n"});
  ASSERT_EQ(cert.status, 0) << cert.err;
  const std::string cert_id = cert.out["Certificate"]["CertificateId"];
  Aws ssh = aws(emu, {"upload-ssh-public-key", "--user-name", u, "--ssh-public-key-body",
                      "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQexample lifecycle@host"});
  ASSERT_EQ(ssh.status, 0) << ssh.err;
  const std::string ssh_id = ssh.out["SSHPublicKey"]["SSHPublicKeyId"];
  Aws svc = aws(emu, {"create-service-specific-credential", "--user-name", u, "--service-name",
                      "codecommit.amazonaws.com"});
  ASSERT_EQ(svc.status, 0) << svc.err;
  const std::string svc_id = svc.out["ServiceSpecificCredential"]["ServiceSpecificCredentialId"];
  const std::string png = ::testing::TempDir() + "/iamq-vmfa-" + std::to_string(::getpid()) + ".png";
  Aws vmfa = aws(emu, {"create-virtual-mfa-device", "--virtual-mfa-device-name", u, "--outfile", png,
                       "--bootstrap-method", "QRCodePNG"});
  ASSERT_EQ(vmfa.status, 0) << vmfa.err;
  ::unlink(png.c_str());
  const std::string serial = vmfa.out["VirtualMFADevice"]["SerialNumber"];
  ASSERT_EQ(aws(emu, {"enable-mfa-device", "--user-name", u, "--serial-number", serial,
                      "--authentication-code1", "123456", "--authentication-code2", "654321"}).status, 0);
  ASSERT_EQ(aws(emu, {"put-user-policy", "--user-name", u, "--policy-name", "inline-s3",
                      "--policy-document", R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]})"}).status, 0);
  ASSERT_EQ(aws(emu, {"attach-user-policy", "--user-name", u, "--policy-arn", arn}).status, 0);
  ASSERT_EQ(aws(emu, {"add-user-to-group", "--user-name", u, "--group-name", "devs"}).status, 0);

  // The CLI reads lists the worker relies on.
  Aws mfa = aws(emu, {"list-mfa-devices", "--user-name", u});
  ASSERT_EQ(mfa.status, 0) << mfa.err;
  ASSERT_EQ(mfa.out["MFADevices"].size(), 1u);
  EXPECT_EQ(mfa.out["MFADevices"][0]["SerialNumber"], serial);
  Aws groups = aws(emu, {"list-groups-for-user", "--user-name", u});
  ASSERT_EQ(groups.status, 0);
  EXPECT_EQ(groups.out["Groups"][0]["GroupName"], "devs");

  json user = emu.user(u);
  ASSERT_FALSE(user.is_null());
  EXPECT_EQ(user["access_keys"].size(), 1u);
  EXPECT_EQ(user["signing_certificates"].size(), 1u);
  EXPECT_EQ(user["ssh_public_keys"].size(), 1u);
  EXPECT_EQ(user["service_specific_credentials"].size(), 1u);
  EXPECT_EQ(user["mfa_devices"].size(), 1u);
  EXPECT_TRUE(user["inline_policies"].contains("inline-s3"));
  EXPECT_FALSE(user["login_profile"].is_null());

  // Delete-user conflicts; removing each attachment in turn, it still conflicts until the last.
  Aws conflict = aws(emu, {"delete-user", "--user-name", u});
  EXPECT_TRUE(failed_with(conflict, "DeleteConflict")) << conflict.err;
  std::vector<std::vector<std::string>> removals = {
      {"delete-login-profile", "--user-name", u},
      {"delete-access-key", "--user-name", u, "--access-key-id", key_id},
      {"delete-signing-certificate", "--user-name", u, "--certificate-id", cert_id},
      {"delete-ssh-public-key", "--user-name", u, "--ssh-public-key-id", ssh_id},
      {"delete-service-specific-credential", "--user-name", u, "--service-specific-credential-id", svc_id},
      {"deactivate-mfa-device", "--user-name", u, "--serial-number", serial},
      {"delete-user-policy", "--user-name", u, "--policy-name", "inline-s3"},
      {"detach-user-policy", "--user-name", u, "--policy-arn", arn},
  };
  for (const auto& r : removals) {
    Aws a = aws(emu, r);
    ASSERT_EQ(a.status, 0) << r[0] << ": " << a.err;
  }
  conflict = aws(emu, {"delete-user", "--user-name", u});
  EXPECT_TRUE(failed_with(conflict, "DeleteConflict")) << conflict.err;  // still in a group
  ASSERT_EQ(aws(emu, {"remove-user-from-group", "--user-name", u, "--group-name", "devs"}).status, 0);
  Aws deleted = aws(emu, {"delete-user", "--user-name", u});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_TRUE(failed_with(aws(emu, {"get-user", "--user-name", u}), "NoSuchEntity"));
  // The virtual device outlives its user, unassigned, until deleted.
  EXPECT_EQ(aws(emu, {"delete-virtual-mfa-device", "--serial-number", serial}).status, 0);

  json stats = emu.stats();
  EXPECT_EQ(stats["calls"]["DeleteUser"]["DeleteConflict"], 2);
  EXPECT_EQ(stats["calls"]["DeleteUser"]["OK"], 1);
  EXPECT_EQ(stats["mutating_calls_by_user"][u]["DeleteUser"]["OK"], 1);
}

TEST(AwsCli, PagesThroughMoreUsersThanOnePage) {
  EmulatorProcess emu({{"--generate-users", "12", "--page-size", "5"}, nullptr, ""});
  Aws all = aws(emu, {"list-users"});
  ASSERT_EQ(all.status, 0) << all.err;
  ASSERT_EQ(all.out["Users"].size(), 12u);
  EXPECT_EQ(all.out["Users"][0]["UserName"], "user-00001");
  EXPECT_EQ(all.out["Users"][11]["UserName"], "user-00012");
  EXPECT_EQ(emu.stats()["calls"]["ListUsers"]["OK"], 3);  // 5 + 5 + 2: the CLI followed markers

  Aws first = aws(emu, {"list-users", "--max-items", "4"});
  ASSERT_EQ(first.status, 0) << first.err;
  ASSERT_EQ(first.out["Users"].size(), 4u);
  ASSERT_TRUE(first.out.contains("NextToken"));
  Aws next = aws(emu, {"list-users", "--max-items", "4", "--starting-token", first.out["NextToken"]});
  ASSERT_EQ(next.status, 0) << next.err;
  ASSERT_EQ(next.out["Users"].size(), 4u);
  EXPECT_EQ(next.out["Users"][0]["UserName"], "user-00005");
}

TEST(AwsCli, CredentialsAreVerified) {
  json seed = {{"accounts",
                {{{"keys",
                   {{{"access_key_id", "ASIATEMPORARY"},
                     {"secret_access_key", "temporary-secret"},
                     {"session_token", "session-token-value"}}}}}}}};
  EmulatorProcess emu({{}, seed, ""});
  Aws wrong = aws(emu, {"list-users"}, {{"AWS_SECRET_ACCESS_KEY", "definitely-not-the-secret"}});
  EXPECT_TRUE(failed_with(wrong, "SignatureDoesNotMatch")) << wrong.err;
  Aws unknown = aws(emu, {"list-users"}, {{"AWS_ACCESS_KEY_ID", "AKIAUNKNOWNKEY"}});
  EXPECT_TRUE(failed_with(unknown, "InvalidClientTokenId")) << unknown.err;
  Aws with_token = aws(emu, {"list-users"}, {{"AWS_ACCESS_KEY_ID", "ASIATEMPORARY"},
                                             {"AWS_SECRET_ACCESS_KEY", "temporary-secret"},
                                             {"AWS_SESSION_TOKEN", "session-token-value"}});
  EXPECT_EQ(with_token.status, 0) << with_token.err;
  Aws no_token = aws(emu, {"list-users"}, {{"AWS_ACCESS_KEY_ID", "ASIATEMPORARY"},
                                           {"AWS_SECRET_ACCESS_KEY", "temporary-secret"}});
  EXPECT_TRUE(failed_with(no_token, "InvalidClientTokenId")) << no_token.err;
}

TEST(AwsCli, InjectedFaultsReachTheClient) {
  EmulatorProcess emu({{"--generate-users", "3", "--random-seed", "7"}, nullptr, ""});
  // ServiceFailure on every GetUser: the CLI retries (AWS_MAX_ATTEMPTS=2), then reports it.
  emu.set_faults({{"actions", {{"GetUser", {{"service_failure", 1.0}}}}}});
  Aws failure = aws(emu, {"get-user", "--user-name", "user-00001"});
  EXPECT_TRUE(failed_with(failure, "ServiceFailure")) << failure.err;
  EXPECT_EQ(emu.stats()["calls"]["GetUser"]["ServiceFailure"], 2);

  // The unmodifiable window: a second change to the same user within T seconds is refused.
  emu.set_faults({{"unmodifiable_window_s", 60}});
  ASSERT_EQ(aws(emu, {"create-user", "--user-name", "fresh"}).status, 0);
  Aws locked = aws(emu, {"create-login-profile", "--user-name", "fresh", "--password", "Passw0rd-123"});
  EXPECT_TRUE(failed_with(locked, "EntityTemporarilyUnmodifiable")) << locked.err;

  // The rate limit: beyond the bucket the CLI sees Throttling ("Rate exceeded").
  emu.set_faults({{"rate_limit", {{"rate", 0.001}, {"burst", 1}}}});
  EXPECT_EQ(aws(emu, {"list-users"}).status, 0);
  Aws throttled = aws(emu, {"list-users"}, {{"AWS_MAX_ATTEMPTS", "1"}});
  EXPECT_TRUE(failed_with(throttled, "Throttling")) << throttled.err;
  EXPECT_NE(throttled.err.find("Rate exceeded"), std::string::npos);
}

}  // namespace
}  // namespace iamq::test
