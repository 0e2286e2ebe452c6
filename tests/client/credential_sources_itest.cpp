// Every source of the chain against the real emulator's STS and the ECS/IMDS test servers.
#include "client/credential_sources.hpp"

#include <sys/stat.h>

#include <fstream>

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "client/iam_client.hpp"
#include "tests/support/emulator_process.hpp"
#include "tests/support/metadata_servers.hpp"

namespace iamq::client {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const char* const kWebToken = "eyJhbGciOiJSUzI1NiJ9.test-web-identity.sig";

json sts_seed() {
  return {{"roles",
           {{{"account_id", "111111111111"}, {"name", "iamq-hub"}, {"trusted", {"123456789012"}}, {"external_id", "ext-hub"}},
            {{"account_id", "222222222222"},
             {"name", "iamq-member"},
             {"trusted", {"arn:aws:iam::111111111111:role/iamq-hub"}}},
            {{"account_id", "123456789012"}, {"name", "irsa"}, {"web_identity", true}}}},
          {"web_identity_tokens", {kWebToken}}};
}

const test::ServedCredentials kEcsKeys{"ASIAECSTASK000000001", "ecs-secret-value", "ecs-session-token"};
const test::ServedCredentials kImdsKeys{"ASIAIMDSROLE00000001", "imds-secret-value", "imds-session-token"};

json iam_seed() {
  json keys = json::array();
  for (const auto* k : {&kEcsKeys, &kImdsKeys})
    keys.push_back({{"access_key_id", k->access_key_id}, {"secret_access_key", k->secret_access_key}, {"session_token", k->token}});
  return {{"accounts", {{{"id", "123456789012"}, {"keys", keys}}}}};
}

std::string write_temp(const std::string& name, const std::string& text, bool executable = false) {
  // One name per process: ctest runs the tests of this file in parallel processes.
  const std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path) << text;
  if (executable) ::chmod(path.c_str(), 0700);
  return path;
}

struct SourcesTest : ::testing::Test {
  std::string sts_file = write_temp("sts_seed.json", sts_seed().dump());
  std::vector<std::string> extra_args;
  std::unique_ptr<test::EmulatorProcess> emulator;
  boost::asio::io_context ioc;
  CurlMultiTransport transport{ioc};
  CurlMultiTransport metadata{ioc, make_metadata_transport_options()};
  SourceContext ctx;

  void start(std::vector<std::string> args = {}) {
    test::EmulatorProcess::Options o;
    o.args = {"--sts-seed", sts_file};
    o.args.insert(o.args.end(), args.begin(), args.end());
    o.seed = iam_seed();
    emulator = std::make_unique<test::EmulatorProcess>(o);
    StsOptions so;
    so.endpoint = parse_endpoint(emulator->endpoint());
    ctx.transport = &transport;
    ctx.metadata_transport = &metadata;
    ctx.sts = std::make_shared<StsClient>(transport, so);
    ctx.env = {{"HOME", ::testing::TempDir() + "/nohome"}, {"AWS_EC2_METADATA_DISABLED", "true"}};
  }
  void SetUp() override { start(); }

  /// GetCallerIdentity with the provider: the ARN, or "error: <message>".
  std::string identity(ProviderPtr p) {
    std::string out = "(no answer)";
    ctx.sts->get_caller_identity(p, [&](std::optional<StsError> e, CallerIdentity id) {
      out = e ? "error: " + e->error.message : id.arn;
    });
    ioc.restart();
    ioc.run_for(20s);
    return out;
  }
  /// One IAM call signed by the provider.
  std::string iam_call(ProviderPtr p) {
    IamClientOptions o;
    o.endpoint = parse_endpoint(emulator->endpoint());
    IamClient client(transport, o, p);
    std::string out = "(no answer)";
    client.call("ListUsers", {}, [&](std::error_code, Outcome r, CallInfo) {
      out = r.error ? "error: " + r.error->code + ": " + r.error->message : "ok";
    });
    ioc.restart();
    ioc.run_for(20s);
    return out;
  }
};

TEST_F(SourcesTest, EnvironmentKeys) {
  ctx.env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE";
  ctx.env["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  EXPECT_EQ(identity(make_default_chain(ctx)), "arn:aws:iam::123456789012:user/AKIDEXAMPLE");
}

TEST_F(SourcesTest, ProfileRoleChainWithExternalIdThroughTwoAccounts) {
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_chain",
                                          "[profile hub]\nrole_arn = arn:aws:iam::111111111111:role/iamq-hub\n"
                                          "source_profile = base\nexternal_id = ext-hub\n"
                                          "[profile member]\nrole_arn = arn:aws:iam::222222222222:role/iamq-member\n"
                                          "source_profile = hub\nrole_session_name = offboarding\n");
  ctx.env["AWS_SHARED_CREDENTIALS_FILE"] = write_temp(
      "creds_chain", "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
  ctx.env["AWS_PROFILE"] = "member";
  auto chain = make_caching_provider(make_default_chain(ctx));
  EXPECT_EQ(identity(chain), "arn:aws:sts::222222222222:assumed-role/iamq-member/offboarding");
  EXPECT_EQ(iam_call(chain), "ok");
  EXPECT_EQ(emulator->request("GET", "/_emulator/sts").body.find("\"AssumeRole:OK\":2") != std::string::npos, true)
      << emulator->request("GET", "/_emulator/sts").body;
}

TEST_F(SourcesTest, WrongExternalIdIsAccessDeniedNamingTheRole) {
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_ext", "[profile hub]\nrole_arn = arn:aws:iam::111111111111:role/iamq-hub\n"
                                                        "source_profile = base\nexternal_id = wrong\n");
  ctx.env["AWS_SHARED_CREDENTIALS_FILE"] = write_temp(
      "creds_ext", "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
  ctx.env["AWS_PROFILE"] = "hub";
  const std::string got = iam_call(make_default_chain(ctx));
  EXPECT_NE(got.find("error: AccessDenied"), std::string::npos) << got;
  EXPECT_NE(got.find("arn:aws:iam::111111111111:role/iamq-hub"), std::string::npos) << got;
  EXPECT_EQ(got.find("wJalrXUtnFEMI"), std::string::npos);
}

TEST_F(SourcesTest, MfaSerialIsRefusedClearly) {
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_mfa", "[profile m]\nrole_arn = arn:aws:iam::111111111111:role/iamq-hub\n"
                                                        "source_profile = m2\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n"
                                                        "[profile m2]\naws_access_key_id = A\naws_secret_access_key = B\n");
  ctx.env["AWS_PROFILE"] = "m";
  const std::string got = identity(make_default_chain(ctx));
  EXPECT_NE(got.find("mfa_serial is set: the worker cannot prompt"), std::string::npos) << got;
}

TEST_F(SourcesTest, CredentialProcessAndItsBounds) {
  const std::string script = write_temp(
      "cred_proc.sh",
      "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"AKIDEXAMPLE00000000\",\"SecretAccessKey\":\"x\"}' >/dev/null\n"
      "printf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}' ASIAECSTASK000000001 ecs-secret-value\n",
      true);
  // The ECS keys need their session token: use a process that prints it too.
  const std::string with_token = write_temp(
      "cred_proc_token.sh",
      "#!/bin/sh\nprintf '{\"Version\":1,\"AccessKeyId\":\"ASIAECSTASK000000001\",\"SecretAccessKey\":\"ecs-secret-value\","
      "\"SessionToken\":\"ecs-session-token\",\"Expiration\":\"2099-01-01T00:00:00Z\"}'\n",
      true);
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_proc", "[profile p]\ncredential_process = " + with_token +
                                                             "\n[profile big]\ncredential_process = yes ecs-secret-value\n"
                                                             "[profile bad]\ncredential_process = " + script + " --extra\n");
  EXPECT_EQ(iam_call(make_profile_provider(ctx, "p", true)), "ok");
  const std::string big = iam_call(make_profile_provider(ctx, "big", true));
  EXPECT_NE(big.find("wrote more than 65536 bytes"), std::string::npos) << big;
  EXPECT_EQ(big.find("ecs-secret-value"), std::string::npos) << big;
  // Keys without the session token the emulator expects: the call is refused, nothing leaks.
  const std::string bad = iam_call(make_profile_provider(ctx, "bad", true));
  EXPECT_NE(bad.find("InvalidClientTokenId"), std::string::npos) << bad;
}

TEST_F(SourcesTest, WebIdentityFromTheEnvironment) {
  ctx.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/irsa";
  ctx.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = write_temp("web_token", std::string(kWebToken) + "\n");
  ctx.env["AWS_ROLE_SESSION_NAME"] = "pod-1";
  EXPECT_EQ(identity(make_default_chain(ctx)), "arn:aws:sts::123456789012:assumed-role/irsa/pod-1");
  ctx.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = write_temp("web_token_bad", "forged\n");
  const std::string bad = identity(make_default_chain(ctx));
  EXPECT_NE(bad.find("InvalidIdentityToken"), std::string::npos) << bad;
}

TEST_F(SourcesTest, EcsContainerCredentialsWithTokenFile) {
  test::EcsTestServer ecs("/v2/credentials/task-1", "Bearer ecs-auth", kEcsKeys);
  ctx.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = ecs.full_uri();
  ctx.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = write_temp("ecs_token", "Bearer ecs-auth\n");
  EXPECT_EQ(iam_call(make_default_chain(ctx)), "ok");
  EXPECT_EQ(ecs.requests(), 1u);
  ctx.env.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
  ctx.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer wrong";
  EXPECT_NE(iam_call(make_default_chain(ctx)).find("HTTP 403"), std::string::npos);
  ecs.set_oversize(200000);
  ctx.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "Bearer ecs-auth";
  const std::string big = iam_call(make_default_chain(ctx));
  EXPECT_NE(big.find("larger than 65536 bytes"), std::string::npos) << big;
}

TEST_F(SourcesTest, EcsPlainHttpOnlyToLoopbackOrLinkLocal) {
  ctx.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://metadata.example.com/creds";
  const std::string got = iam_call(make_default_chain(ctx));
  EXPECT_NE(got.find("plain http is allowed only"), std::string::npos) << got;
  EXPECT_EQ(container_credentials_url({{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x"}}).url,
            "http://169.254.170.2/v2/credentials/x");
  EXPECT_TRUE(container_credentials_url({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.23/v1/credentials"}})
                  .error.empty());
  EXPECT_TRUE(container_credentials_url({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "https://creds.example.com/x"}}).error.empty());
}

TEST_F(SourcesTest, ImdsV2TokenThenGetsAndNoV1Fallback) {
  test::ImdsTestServer imds("iamq-instance", kImdsKeys);
  ctx.env.erase("AWS_EC2_METADATA_DISABLED");
  ctx.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.endpoint();
  EXPECT_EQ(iam_call(make_default_chain(ctx)), "ok");
  EXPECT_EQ(imds.token_puts(), 1u);
  EXPECT_EQ(imds.gets(), 2u);
  EXPECT_EQ(imds.gets_without_token(), 0u);

  imds.set_v1_only(true);
  const std::string v1 = iam_call(make_default_chain(ctx));
  EXPECT_NE(v1.find("IMDSv1 fallback is off"), std::string::npos) << v1;
  EXPECT_EQ(imds.gets(), 2u);  // no token-less GET was tried

  imds.set_v1_only(false);
  imds.set_oversize(100000);
  const std::string big = iam_call(make_default_chain(ctx));
  EXPECT_NE(big.find("larger than 65536 bytes"), std::string::npos) << big;

  ctx.env["AWS_EC2_METADATA_DISABLED"] = "true";
  const std::string off = iam_call(make_default_chain(ctx));
  EXPECT_NE(off.find("no credentials found"), std::string::npos) << off;
}

/// 1,000 IAM calls paced over a little more than one refresh: none signed with expired
/// credentials (the emulator would answer ExpiredToken), and exactly one refresh.
TEST_F(SourcesTest, ThousandCallsSpanningARefresh) {
  emulator.reset();
  start({"--credential-ttl", "8"});
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_ttl", "[profile hub]\nrole_arn = arn:aws:iam::111111111111:role/iamq-hub\n"
                                                        "source_profile = base\nexternal_id = ext-hub\n");
  ctx.env["AWS_SHARED_CREDENTIALS_FILE"] = write_temp(
      "creds_ttl", "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
  // 8 s sessions refreshed 3 s ahead, no jitter: the refresh is due 5 s in, the next at 10 s.
  CachingOptions co;
  co.refresh_ahead = 3s;
  co.jitter = 0s;
  auto cache = make_caching_provider(make_profile_provider(ctx, "hub", true), co);
  IamClientOptions o;
  o.endpoint = parse_endpoint(emulator->endpoint());
  IamClient client(transport, o, cache);
  int ok = 0, failed = 0, refreshed_retries = 0, started = 0;
  std::string first_error;
  boost::asio::steady_timer timer(ioc);
  std::function<void()> tick = [&] {
    for (int i = 0; i < 25 && started < 1000; ++i, ++started) {
      client.call("ListUsers", {}, [&](std::error_code, Outcome r, CallInfo info) {
        if (info.credentials_refreshed) ++refreshed_retries;
        if (r.error) {
          ++failed;
          if (first_error.empty()) first_error = r.error->code + ": " + r.error->message;
        } else {
          ++ok;
        }
      });
    }
    if (started < 1000) {
      timer.expires_after(175ms);  // 1,000 calls over ~7 s
      timer.async_wait([&](boost::system::error_code) { tick(); });
    }
  };
  tick();
  ioc.restart();
  ioc.run_for(60s);
  EXPECT_EQ(ok, 1000) << first_error;
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(refreshed_retries, 0);
  EXPECT_EQ(cache->refreshes(), 2u);  // the first fetch and one refresh
  const json stats = json::parse(emulator->request("GET", "/_emulator/sts").body);
  EXPECT_EQ(stats["calls"].value("AssumeRole:OK", 0), 2) << stats.dump();
  const json iam = emulator->stats();
  EXPECT_EQ(iam["calls_by_code"].value("ExpiredToken", 0), 0) << iam.dump();
}

TEST_F(SourcesTest, ExpiredTokenMidRunRefreshesAndRetriesThatCallOnce) {
  ctx.env["AWS_CONFIG_FILE"] = write_temp("config_exp", "[profile hub]\nrole_arn = arn:aws:iam::111111111111:role/iamq-hub\n"
                                                        "source_profile = base\nexternal_id = ext-hub\n");
  ctx.env["AWS_SHARED_CREDENTIALS_FILE"] = write_temp(
      "creds_exp", "[base]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\n");
  auto cache = make_caching_provider(make_profile_provider(ctx, "hub", true));
  IamClientOptions o;
  o.endpoint = parse_endpoint(emulator->endpoint());
  IamClient client(transport, o, cache);
  auto one = [&] {
    std::optional<std::pair<Outcome, CallInfo>> out;
    client.call("ListUsers", {}, [&](std::error_code, Outcome r, CallInfo i) { out.emplace(std::move(r), i); });
    ioc.restart();
    ioc.run_for(20s);
    return out;
  };
  auto a = one();
  ASSERT_TRUE(a && a->first.succeeded());
  EXPECT_EQ(a->second.http_attempts, 1);
  emulator->request("POST", "/_emulator/sts/expire");
  auto b = one();
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->first.succeeded()) << b->first.error->code;
  EXPECT_EQ(b->second.http_attempts, 2);
  EXPECT_TRUE(b->second.credentials_refreshed);
  EXPECT_EQ(cache->refreshes(), 2u);
  const json iam = emulator->stats();
  EXPECT_EQ(iam["calls_by_code"].value("ExpiredToken", 0), 1) << iam.dump();
}

}  // namespace
}  // namespace iamq::client
