// IamClient against a real HTTP server on loopback that answers IAM-shaped XML and
// verifies the SigV4 signature of every request with the signer's verify_signature().
#include "client/iam_client.hpp"

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "client/signer.hpp"
#include "tests/support/http_test_server.hpp"

namespace iamq::client {
namespace {

using namespace std::chrono_literals;
using test::HttpTestRequest;
using test::HttpTestResponse;
using test::HttpTestServer;

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
  <ResponseMetadata><RequestId>req-list-1</RequestId></ResponseMetadata>
</ListMFADevicesResponse>)";

std::string error_xml(const std::string& code, const std::string& message,
                      const std::string& request_id) {
  return "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
         "<Type>Sender</Type><Code>" + code + "</Code><Message>" + message +
         "</Message></Error><RequestId>" + request_id + "</RequestId></ErrorResponse>";
}

Credentials creds(std::string id, std::string secret = "s3cr3t/KEY+value",
                  std::string token = "") {
  return Credentials{std::move(id), std::move(secret), std::move(token)};
}

/// What the server saw, checked on the test's thread after the loop ran.
struct Seen {
  std::mutex m;
  std::vector<HttpTestRequest> requests;
  std::vector<bool> signature_ok;
};

/// Verifies the request's SigV4 signature against `secret_for(access key id)`.
bool signature_valid(const HttpTestRequest& req,
                     const std::function<std::string(const std::string&)>& secret_for) {
  auto auth = parse_authorization(req.header("authorization"));
  if (!auth) return false;
  SignableRequest received;
  received.method = req.method;
  received.path = req.target;
  for (const auto& [k, v] : req.headers) received.headers.emplace_back(k, v);
  received.body = req.body;
  return verify_signature(received, *auth, secret_for(auth->access_key_id),
                          req.header("x-amz-date"));
}

struct IamClientTest : ::testing::Test {
  boost::asio::io_context ioc;
  CurlMultiTransport transport{ioc};

  IamClientOptions options_for(const HttpTestServer& server) {
    IamClientOptions o;
    o.endpoint = parse_endpoint(server.url("/"));
    o.region = "us-east-1";
    o.request_timeout = 5s;
    o.connect_timeout = 2s;
    o.clock = [] {
      return *parse_amz_date("20240102T030405Z");
    };
    return o;
  }

  struct Done {
    std::error_code ec;
    Outcome outcome;
    CallInfo info;
  };

  std::optional<Done> call(IamClient& client, const std::string& action, Params params) {
    std::optional<Done> done;
    client.call(action, std::move(params), [&](std::error_code ec, Outcome o, CallInfo i) {
      done = Done{ec, std::move(o), i};
    });
    ioc.restart();
    ioc.run_for(10s);
    return done;
  }
};

TEST_F(IamClientTest, SignsPostsAndParsesAResult) {
  Seen seen;
  HttpTestServer server([&](const HttpTestRequest& req) {
    std::lock_guard lock(seen.m);
    seen.requests.push_back(req);
    seen.signature_ok.push_back(
        signature_valid(req, [](const std::string&) { return "s3cr3t/KEY+value"; }));
    return HttpTestResponse::text(200, kListMfaXml);
  });
  IamClient client(transport, options_for(server),
                   static_credentials_loader(creds("AKIDEXAMPLE", "s3cr3t/KEY+value", "tok/en=")));
  auto done = call(client, "ListMFADevices", {{"UserName", "alice+ops@x"}});
  ASSERT_TRUE(done) << "call did not complete";
  EXPECT_FALSE(done->ec);
  ASSERT_TRUE(done->outcome.succeeded()) << done->outcome.error->code << ": "
                                         << done->outcome.error->message;
  const IamResult& r = *done->outcome.ok;
  EXPECT_EQ(r.request_id, "req-list-1");
  EXPECT_FALSE(r.is_truncated());
  ASSERT_TRUE(r.result.contains("MFADevices"));
  EXPECT_EQ(r.result["MFADevices"][0]["SerialNumber"], "arn:aws:iam::123456789012:mfa/alice");
  EXPECT_EQ(done->info.http_attempts, 1);
  EXPECT_EQ(done->info.http_status, 200);
  EXPECT_FALSE(done->info.credentials_refreshed);

  ASSERT_EQ(seen.requests.size(), 1u);
  const auto& req = seen.requests[0];
  EXPECT_TRUE(seen.signature_ok[0]) << "signature did not verify";
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/");
  EXPECT_EQ(req.body, encode_query("ListMFADevices", {{"UserName", "alice+ops@x"}}));
  EXPECT_EQ(req.body,
            "Action=ListMFADevices&Version=2010-05-08&UserName=alice%2Bops%40x");
  EXPECT_EQ(req.header("content-type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(req.header("x-amz-date"), "20240102T030405Z");
  EXPECT_EQ(req.header("x-amz-security-token"), "tok/en=");
  EXPECT_EQ(req.header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(req.header("authorization")
                .rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/us-east-1/iam/aws4_request",
                       0),
            0u)
      << req.header("authorization");
  for (const auto& [k, v] : req.headers) {
    EXPECT_EQ(v.find("s3cr3t"), std::string::npos) << "secret sent in header " << k;
  }
}

TEST_F(IamClientTest, IamErrorIsClassifiedWithCodeAndRequestId) {
  HttpTestServer server([](const HttpTestRequest&) {
    return HttpTestResponse::text(404, error_xml("NoSuchEntity", "The user with name bob cannot be found.",
                                                 "req-404"));
  });
  IamClient client(transport, options_for(server), static_credentials_loader(creds("AKID")));
  auto done = call(client, "DeleteLoginProfile", {{"UserName", "bob"}});
  ASSERT_TRUE(done);
  EXPECT_FALSE(done->ec);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::absent);
  EXPECT_EQ(done->outcome.error->code, "NoSuchEntity");
  EXPECT_EQ(done->outcome.error->request_id, "req-404");
  EXPECT_EQ(done->outcome.error->http_status, 404);
  EXPECT_EQ(done->info.http_attempts, 1);
}

TEST_F(IamClientTest, Html503IsTransient) {
  HttpTestServer server([](const HttpTestRequest&) {
    return HttpTestResponse::text(503, "<html><body>Service Unavailable</body></html>",
                                  "text/html");
  });
  IamClient client(transport, options_for(server), static_credentials_loader(creds("AKID")));
  auto done = call(client, "ListUsers", {});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::transient);
  EXPECT_EQ(done->outcome.error->http_status, 503);
  EXPECT_EQ(done->info.http_status, 503);
}

TEST_F(IamClientTest, ExpiredTokenRefreshesCredentialsAndRetriesOnce) {
  // The server accepts only the second key pair; the loader hands out AKID1 first.
  std::atomic<int> requests{0};
  HttpTestServer server([&](const HttpTestRequest& req) {
    ++requests;
    auto auth = parse_authorization(req.header("authorization"));
    if (auth && auth->access_key_id == "AKID2" &&
        signature_valid(req, [](const std::string&) { return "secret2"; })) {
      return HttpTestResponse::text(200, kListMfaXml);
    }
    return HttpTestResponse::text(400, error_xml("ExpiredToken", "The security token included in the request is expired", "req-exp"));
  });
  int loads = 0;
  IamClient client(transport, options_for(server), [&] {
    ++loads;
    return loads == 1 ? creds("AKID1", "secret1", "old") : creds("AKID2", "secret2", "new");
  });
  auto done = call(client, "ListMFADevices", {{"UserName", "alice"}});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.succeeded()) << done->outcome.error->code;
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(requests.load(), 2);
  EXPECT_EQ(done->info.http_attempts, 2);
  EXPECT_TRUE(done->info.credentials_refreshed);

  // The refreshed credentials are kept for the next call: no further load.
  auto again = call(client, "ListMFADevices", {{"UserName", "alice"}});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->outcome.succeeded());
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(again->info.http_attempts, 1);
}

TEST_F(IamClientTest, CredentialsErrorThatARefreshDoesNotFixIsReportedAfterOneRetry) {
  std::atomic<int> requests{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    ++requests;
    return HttpTestResponse::text(403, error_xml("InvalidClientTokenId",
                                                 "The security token included in the request is invalid.",
                                                 "req-bad"));
  });
  int loads = 0;
  IamClient client(transport, options_for(server), [&] {
    ++loads;
    return creds("AKIDBAD", "topsecretvalue");
  });
  auto done = call(client, "ListUsers", {});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::credentials);
  EXPECT_EQ(done->outcome.error->code, "InvalidClientTokenId");
  EXPECT_EQ(done->outcome.error->request_id, "req-bad");
  EXPECT_EQ(requests.load(), 2);
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(done->info.http_attempts, 2);
  EXPECT_TRUE(done->info.credentials_refreshed);
  EXPECT_EQ(done->outcome.error->message.find("topsecretvalue"), std::string::npos);
}

TEST_F(IamClientTest, RefreshThatFailsReportsTheOriginalErrorAndTheReason) {
  HttpTestServer server([](const HttpTestRequest&) {
    return HttpTestResponse::text(400, error_xml("ExpiredToken", "expired", "req-e"));
  });
  int loads = 0;
  IamClient client(transport, options_for(server), [&]() -> Credentials {
    if (++loads == 1) return creds("AKID1", "secret1", "old");
    throw CredentialsError("environment: AWS_SECRET_ACCESS_KEY is not set");
  });
  auto done = call(client, "ListUsers", {});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->code, "ExpiredToken");
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::credentials);
  EXPECT_NE(done->outcome.error->message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_EQ(done->info.http_attempts, 1);
}

TEST_F(IamClientTest, MissingCredentialsFailWithoutTraffic) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::text(200, kListMfaXml); });
  IamClient client(transport, options_for(server), []() -> Credentials {
    throw CredentialsError("environment: AWS_SECRET_ACCESS_KEY is not set");
  });
  EXPECT_THROW(client.load_credentials(), CredentialsError);
  bool inside_call = true;
  bool completed_inside_call = false;
  std::optional<Outcome> out;
  client.call("ListUsers", {}, [&](std::error_code, Outcome o, CallInfo) {
    completed_inside_call = inside_call;
    out = std::move(o);
  });
  inside_call = false;
  ioc.run_for(5s);
  ASSERT_TRUE(out);
  EXPECT_FALSE(completed_inside_call);
  ASSERT_TRUE(out->error);
  EXPECT_EQ(out->error->code, "MissingCredentials");
  EXPECT_EQ(out->error->error_class, ErrorClass::credentials);
  EXPECT_EQ(server.requests_received(), 0u);
}

TEST_F(IamClientTest, RedirectIsATerminalError) {
  HttpTestServer server([](const HttpTestRequest&) {
    auto r = HttpTestResponse::text(307, "");
    r.headers.emplace_back("Location", "https://elsewhere.example/");
    return r;
  });
  IamClient client(transport, options_for(server), static_credentials_loader(creds("AKID")));
  auto done = call(client, "ListUsers", {});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->code, "Redirect");
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::terminal);
  EXPECT_EQ(done->outcome.error->http_status, 307);
  EXPECT_NE(done->outcome.error->message.find("https://elsewhere.example/"), std::string::npos);
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST_F(IamClientTest, TimeoutAndResetAreTransient) {
  std::atomic<int> n{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    HttpTestResponse r = HttpTestResponse::text(200, kListMfaXml);
    r.action = ++n == 1 ? HttpTestResponse::Action::hang
                        : HttpTestResponse::Action::reset_mid_response;
    return r;
  });
  auto opts = options_for(server);
  opts.request_timeout = 300ms;
  IamClient client(transport, opts, static_credentials_loader(creds("AKID")));
  auto timed_out = call(client, "ListUsers", {});
  ASSERT_TRUE(timed_out);
  ASSERT_TRUE(timed_out->outcome.error);
  EXPECT_EQ(timed_out->outcome.error->code, "Timeout");
  EXPECT_EQ(timed_out->outcome.error->error_class, ErrorClass::transient);
  EXPECT_EQ(timed_out->outcome.error->http_status, 0);

  auto reset = call(client, "ListUsers", {});
  ASSERT_TRUE(reset);
  ASSERT_TRUE(reset->outcome.error);
  EXPECT_EQ(reset->outcome.error->code, "ConnectionError");
  EXPECT_EQ(reset->outcome.error->error_class, ErrorClass::transient);
}

TEST_F(IamClientTest, OversizedResponseIsTerminal) {
  HttpTestServer server([](const HttpTestRequest&) {
    return HttpTestResponse::text(200, std::string(10000, ' ') + kListMfaXml);
  });
  TransportOptions topts;
  topts.max_response_bytes = 1000;
  CurlMultiTransport small(ioc, topts);
  IamClient client(small, options_for(server), static_credentials_loader(creds("AKID")));
  auto done = call(client, "ListMFADevices", {});
  ASSERT_TRUE(done);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->code, "ResponseTooLarge");
  EXPECT_EQ(done->outcome.error->error_class, ErrorClass::terminal);
}

TEST_F(IamClientTest, StopCancelsCallsInFlight) {
  HttpTestServer server([&](const HttpTestRequest&) {
    boost::asio::post(ioc, [&] { transport.stop(); });
    HttpTestResponse r;
    r.action = HttpTestResponse::Action::hang;
    return r;
  });
  IamClient client(transport, options_for(server), static_credentials_loader(creds("AKID")));
  auto done = call(client, "ListUsers", {});
  ASSERT_TRUE(done);
  EXPECT_EQ(done->ec, std::errc::operation_canceled);
  ASSERT_TRUE(done->outcome.error);
  EXPECT_EQ(done->outcome.error->code, "Cancelled");
}

TEST_F(IamClientTest, ClientDestroyedWithCallInFlightStillCompletes) {
  HttpTestServer server([](const HttpTestRequest&) {
    auto r = HttpTestResponse::text(200, kListMfaXml);
    r.delay = 50ms;
    return r;
  });
  std::optional<Outcome> out;
  {
    IamClient client(transport, options_for(server), static_credentials_loader(creds("AKID")));
    client.call("ListMFADevices", {}, [&](std::error_code, Outcome o, CallInfo) { out = std::move(o); });
  }
  ioc.run_for(10s);
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->succeeded());
}

TEST(TransportErrorMapping, EveryTransportErrorHasACodeAndClass) {
  HttpResponse r;
  r.error_detail = "detail text";
  struct Case {
    std::error_code ec;
    const char* code;
    ErrorClass cls;
  };
  const Case cases[] = {
      {TransportError::timeout, "Timeout", ErrorClass::transient},
      {TransportError::connection_failed, "ConnectionError", ErrorClass::transient},
      {TransportError::response_too_large, "ResponseTooLarge", ErrorClass::terminal},
      {TransportError::tls_error, "TlsError", ErrorClass::terminal},
      {TransportError::insecure_http_refused, "InsecureEndpoint", ErrorClass::terminal},
      {TransportError::invalid_url, "InvalidEndpoint", ErrorClass::terminal},
      {TransportError::transfer_failed, "TransportError", ErrorClass::transient},
      {std::make_error_code(std::errc::operation_canceled), "Cancelled", ErrorClass::transient},
  };
  for (const auto& c : cases) {
    IamError e = transport_error_to_iam_error(c.ec, r);
    EXPECT_EQ(e.code, c.code);
    EXPECT_EQ(e.error_class, c.cls) << c.code;
    EXPECT_NE(e.message.find("detail text"), std::string::npos) << c.code;
  }
}

TEST(CredentialsLoaders, StaticRejectsIncompleteKeys) {
  EXPECT_THROW(static_credentials_loader(creds("AKID", ""))(), CredentialsError);
  EXPECT_THROW(static_credentials_loader(creds("", "x"))(), CredentialsError);
  EXPECT_EQ(static_credentials_loader(creds("AKID", "x"))().access_key_id, "AKID");
}

}  // namespace
}  // namespace iamq::client
