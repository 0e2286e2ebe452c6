// `iamq call` end to end: the real iamq binary ($IAMQ_BIN) against a loopback HTTP server
// that answers IAM-shaped XML and verifies each request's SigV4 signature.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/query_encoder.hpp"
#include "client/signer.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_test_server.hpp"

namespace iamq {
namespace {

using namespace std::chrono_literals;
using test::HttpTestRequest;
using test::HttpTestResponse;
using test::HttpTestServer;

constexpr const char* kAccessKey = "AKIDCALLTEST";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET";

const char* const kListMfaXml = R"(<ListMFADevicesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListMFADevicesResult>
    <MFADevices>
      <member>
        <UserName>alice</UserName>
        <SerialNumber>arn:aws:iam::123456789012:mfa/alice</SerialNumber>
        <EnableDate>2024-01-01T00:00:00Z</EnableDate>
      </member>
    </MFADevices>
    <IsTruncated>false</IsTruncated>
  </ListMFADevicesResult>
  <ResponseMetadata><RequestId>req-call-1</RequestId></ResponseMetadata>
</ListMFADevicesResponse>)";

/// A tiny IAM: ListMFADevices for alice, NoSuchEntity for anyone else, 403 for a bad signature.
class FakeIam {
 public:
  FakeIam()
      : server_([this](const HttpTestRequest& req) { return handle(req); }) {}

  std::string url() const { return server_.url("/"); }
  std::size_t requests() const { return server_.requests_received(); }
  std::vector<std::string> bodies() {
    std::lock_guard lock(m_);
    return bodies_;
  }

 private:
  HttpTestResponse handle(const HttpTestRequest& req) {
    {
      std::lock_guard lock(m_);
      bodies_.push_back(req.body);
    }
    auto auth = client::parse_authorization(req.header("authorization"));
    client::SignableRequest received;
    received.method = req.method;
    received.path = req.target;
    for (const auto& [k, v] : req.headers) received.headers.emplace_back(k, v);
    received.body = req.body;
    if (!auth || auth->access_key_id != kAccessKey || auth->service != "iam" ||
        !client::verify_signature(received, *auth, kSecret, req.header("x-amz-date"))) {
      return error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.",
                   "req-sig");
    }
    const auto params = client::decode_query(req.body);
    std::string user;
    for (const auto& [k, v] : params) {
      if (k == "UserName") user = v;
    }
    if (user == "alice") return HttpTestResponse::text(200, kListMfaXml);
    return error(404, "NoSuchEntity", "The user with name " + user + " cannot be found.",
                 "req-404-" + user);
  }

  static HttpTestResponse error(int status, const std::string& code, const std::string& message,
                                const std::string& request_id) {
    return HttpTestResponse::text(
        status, "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
                "<Type>Sender</Type><Code>" + code + "</Code><Message>" + message +
                    "</Message></Error><RequestId>" + request_id + "</RequestId></ErrorResponse>");
  }

  std::mutex m_;
  std::vector<std::string> bodies_;
  HttpTestServer server_;  // last: stops (joins its thread) before the members it uses go
};

class CallCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = test::env_or("IAMQ_BIN", "");
    ASSERT_FALSE(bin_.empty()) << "IAMQ_BIN is not set (run through ctest)";
    ASSERT_TRUE(std::filesystem::exists(bin_)) << bin_;
    home_ = std::filesystem::temp_directory_path() /
            ("iamq-call-itest-" + std::to_string(::getpid()));
    std::filesystem::create_directories(home_);
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  /// A clean environment: only what the test sets, no stray AWS settings of the host.
  test::ChildProcess::Options env(const std::string& endpoint) {
    test::ChildProcess::Options o;
    o.env_remove = {"AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                    "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                    "AWS_CONFIG_FILE", "http_proxy", "https_proxy", "HTTP_PROXY",
                    "HTTPS_PROXY", "ALL_PROXY", "all_proxy"};
    o.env_overrides = {{"HOME", home_.string()},
                       {"AWS_ENDPOINT_URL_IAM", endpoint},
                       {"AWS_ACCESS_KEY_ID", kAccessKey},
                       {"AWS_SECRET_ACCESS_KEY", kSecret}};
    return o;
  }

  test::RunResult call(std::vector<std::string> args, test::ChildProcess::Options opts) {
    std::vector<std::string> argv{bin_, "call"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv, std::move(opts), 30s);
  }

  std::string bin_;
  std::filesystem::path home_;
};

TEST_F(CallCommand, PrintsTheResultXml) {
  FakeIam iam;
  auto r = call({"ListMFADevices", "UserName=alice"}, env(iam.url()));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("<SerialNumber>arn:aws:iam::123456789012:mfa/alice</SerialNumber>"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("req-call-1"), std::string::npos);
  ASSERT_EQ(iam.bodies().size(), 1u);
  EXPECT_EQ(iam.bodies()[0], client::encode_query("ListMFADevices", {{"UserName", "alice"}}));
  EXPECT_EQ(r.err.find(kSecret), std::string::npos);
  EXPECT_EQ(r.out.find(kSecret), std::string::npos);
}

TEST_F(CallCommand, PrintsJsonWithJsonFlag) {
  FakeIam iam;
  auto r = call({"ListMFADevices", "UserName=alice", "--json"}, env(iam.url()));
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["action"], "ListMFADevices");
  EXPECT_EQ(j["request_id"], "req-call-1");
  EXPECT_EQ(j["http_status"], 200);
  EXPECT_EQ(j["result"]["MFADevices"][0]["UserName"], "alice");
  EXPECT_EQ(j["result"]["IsTruncated"], "false");
}

TEST_F(CallCommand, IamErrorPrintsCodeMessageAndRequestIdAndExitsNonZero) {
  FakeIam iam;
  auto r = call({"ListMFADevices", "UserName=bob"}, env(iam.url()));
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("NoSuchEntity: The user with name bob cannot be found."),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("request id req-404-bob"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  auto j = call({"ListMFADevices", "UserName=bob", "--json"}, env(iam.url()));
  EXPECT_EQ(j.status, 1);
  auto parsed = nlohmann::json::parse(j.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << j.out;
  EXPECT_EQ(parsed["error"]["code"], "NoSuchEntity");
  EXPECT_EQ(parsed["error"]["class"], "absent");
  EXPECT_EQ(parsed["error"]["request_id"], "req-404-bob");
}

TEST_F(CallCommand, WrongSecretIsACredentialsErrorWithoutLeakingIt) {
  FakeIam iam;
  auto opts = env(iam.url());
  opts.env_overrides["AWS_SECRET_ACCESS_KEY"] = "not-the-right-secret-value";
  auto r = call({"ListMFADevices", "UserName=alice"}, opts);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("SignatureDoesNotMatch"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not-the-right-secret-value"), std::string::npos) << r.err;
  EXPECT_EQ(iam.requests(), 2u);  // one refresh-and-retry, then reported
}

TEST_F(CallCommand, MissingSecretExits2NamingTheVariable) {
  FakeIam iam;
  auto opts = env(iam.url());
  opts.env_overrides.erase("AWS_SECRET_ACCESS_KEY");
  opts.env_remove.push_back("AWS_SECRET_ACCESS_KEY");
  auto r = call({"ListMFADevices", "UserName=alice"}, opts);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << r.err;
  EXPECT_EQ(iam.requests(), 0u);
}

TEST_F(CallCommand, BadParameterIsAUsageError) {
  FakeIam iam;
  for (const char* bad : {"UserName", "=alice", "User Name=alice"}) {
    SCOPED_TRACE(bad);
    auto r = call({"ListMFADevices", bad}, env(iam.url()));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("Name=Value"), std::string::npos) << r.err;
  }
  auto r = call({"List-Users"}, env(iam.url()));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(iam.requests(), 0u);
}

TEST_F(CallCommand, PlainHttpToARemoteHostIsRefused) {
  auto r = call({"ListUsers"}, env("http://iam.example.com:8080"));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("https"), std::string::npos) << r.err;
  auto bad = call({"ListUsers"}, env("ftp://127.0.0.1/"));
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_NE(bad.err.find("http or https"), std::string::npos) << bad.err;
}

TEST_F(CallCommand, UnknownAccountIsAConfigurationError) {
  FakeIam iam;
  auto r = call({"ListUsers", "--account", "nosuch"}, env(iam.url()));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  EXPECT_EQ(iam.requests(), 0u);
}

TEST_F(CallCommand, UnreachableEndpointIsATransientErrorExit1) {
  const int port = test::free_port();
  auto r = call({"ListUsers"}, env("http://127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("ConnectionError"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace iamq
