// CurlMultiTransport against a real HTTP server on loopback (tests/support/http_test_server).
#include "client/curl_multi_transport.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"
#include "tests/support/http_test_server.hpp"

namespace iamq::client {
namespace {

using namespace std::chrono_literals;
using test::HttpTestRequest;
using test::HttpTestResponse;
using test::HttpTestServer;

struct Result {
  std::error_code ec;
  HttpResponse response;
};

HttpRequest post(const std::string& url, std::string body = "Action=Test") {
  HttpRequest r;
  r.url = url;
  r.body = std::move(body);
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.connect_timeout = 2s;
  r.timeout = 5s;
  return r;
}

/// Runs one request to completion (bounded); fails the test if it never completes.
std::optional<Result> run_one(boost::asio::io_context& ioc, CurlMultiTransport& t, HttpRequest req,
                              std::chrono::milliseconds bound = 10s) {
  std::optional<Result> out;
  t.perform(std::move(req), [&](std::error_code ec, HttpResponse r) {
    out = Result{ec, std::move(r)};
  });
  ioc.restart();
  ioc.run_for(bound);
  return out;
}

TEST(CurlMultiTransport, ReturnsStatusBodyAndHeaders) {
  std::string seen_content_type, seen_body, seen_expect = "unset", seen_host;
  HttpTestServer server([&](const HttpTestRequest& req) {
    seen_content_type = req.header("content-type");
    seen_body = req.body;
    seen_expect = req.header("expect");
    seen_host = req.header("host");
    auto r = HttpTestResponse::text(200, "<ok/>");
    r.headers.emplace_back("X-Amzn-RequestId", "req-1");
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto req = post(server.url("/"), std::string(4000, 'a'));  // large enough for curl's Expect
  req.headers.emplace_back("Host", "iam.example.test");
  bool completed_inside_perform = false;
  bool in_perform = true;
  std::optional<Result> out;
  t.perform(std::move(req), [&](std::error_code ec, HttpResponse r) {
    completed_inside_perform = in_perform;
    out = Result{ec, std::move(r)};
  });
  in_perform = false;
  ioc.run_for(10s);
  ASSERT_TRUE(out) << "request did not complete";
  EXPECT_FALSE(completed_inside_perform);
  ASSERT_FALSE(out->ec) << out->ec.message() << " " << out->response.error_detail;
  EXPECT_EQ(out->response.status, 200);
  EXPECT_EQ(out->response.body, "<ok/>");
  EXPECT_EQ(out->response.header("x-amzn-requestid"), "req-1");
  EXPECT_EQ(out->response.header("X-AMZN-REQUESTID"), "req-1");
  EXPECT_EQ(seen_content_type, "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(seen_body, std::string(4000, 'a'));
  EXPECT_EQ(seen_expect, "");  // no Expect: 100-continue round trip
  EXPECT_EQ(seen_host, "iam.example.test");
  EXPECT_EQ(t.in_flight(), 0u);
}

TEST(CurlMultiTransport, SequentialRequestsReuseOneConnection) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::text(200, "ok"); });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  constexpr int kCalls = 5;
  std::vector<Result> results;
  std::function<void()> next = [&] {
    t.perform(post(server.url()), [&](std::error_code ec, HttpResponse r) {
      results.push_back({ec, std::move(r)});
      if (results.size() < kCalls) next();
    });
  };
  next();
  ioc.run_for(10s);
  ASSERT_EQ(results.size(), static_cast<size_t>(kCalls));
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_FALSE(results[i].ec) << results[i].response.error_detail;
    EXPECT_EQ(results[i].response.status, 200);
    EXPECT_EQ(results[i].response.connection_reused, i > 0) << "call " << i;
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(server.requests_received(), static_cast<size_t>(kCalls));
}

TEST(CurlMultiTransport, KeptAliveConnectionStaysRegisteredAndHandleIsReused) {
  HttpTestServer server([](const HttpTestRequest&) { return HttpTestResponse::text(200, "ok"); });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("call " + std::to_string(i));
    auto out = run_one(ioc, t, post(server.url(), "n=" + std::to_string(i)));
    ASSERT_TRUE(out) << "request did not complete";
    ASSERT_FALSE(out->ec) << out->response.error_detail;
    EXPECT_EQ(out->response.status, 200);
    // Between requests the idle connection's socket stays registered with the io_context,
    // without any pending wait: run_for() returned because the context ran out of work.
    EXPECT_EQ(t.watched_sockets(), 1u);
    EXPECT_TRUE(ioc.stopped()) << "an idle connection keeps the io_context busy";
  }
  EXPECT_EQ(server.connections_accepted(), 1u);
  EXPECT_EQ(t.stats().socket_registrations, 1u);  // one per connection, not per request
  EXPECT_EQ(t.stats().easy_handles_created, 1u);  // one per peak in flight, not per request
  t.stop();
  EXPECT_EQ(t.watched_sockets(), 0u);
}

TEST(CurlMultiTransport, ReusedHandleCarriesNoOptionOfTheRequestBefore) {
  struct Seen {
    std::string method, target, body, one;
  };
  std::mutex mu;
  std::vector<Seen> seen;
  HttpTestServer server([&](const HttpTestRequest& req) {
    {
      std::lock_guard lock(mu);
      seen.push_back({req.method, req.target, req.body, req.header("x-one")});
    }
    HttpTestResponse r = HttpTestResponse::text(200, "ok:" + req.method);
    if (req.target == "/hang") r.action = HttpTestResponse::Action::hang;
    if (req.target == "/slow") r.delay = 800ms;
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);

  // 1: a short timeout, a body and an extra header.
  auto first = post(server.url("/hang"), "first-body");
  first.headers.emplace_back("X-One", "1");
  first.timeout = 300ms;
  auto out1 = run_one(ioc, t, std::move(first));
  ASSERT_TRUE(out1);
  EXPECT_EQ(out1->ec, TransportError::timeout) << out1->response.error_detail;

  // 2: a GET that takes longer than the first request's timeout.
  HttpRequest second;
  second.method = "GET";
  second.url = server.url("/slow");
  second.timeout = 20s;
  auto out2 = run_one(ioc, t, std::move(second), 30s);
  ASSERT_TRUE(out2);
  ASSERT_FALSE(out2->ec) << "the first request's timeout carried over: "
                         << out2->response.error_detail;
  EXPECT_EQ(out2->response.body, "ok:GET");

  // 3: a custom method; 4: a POST again.
  auto third = post(server.url("/three"), "");
  third.method = "DELETE";
  auto out3 = run_one(ioc, t, std::move(third));
  ASSERT_TRUE(out3);
  ASSERT_FALSE(out3->ec) << out3->response.error_detail;
  EXPECT_EQ(out3->response.body, "ok:DELETE");
  auto out4 = run_one(ioc, t, post(server.url("/four"), "fourth-body"));
  ASSERT_TRUE(out4);
  ASSERT_FALSE(out4->ec) << out4->response.error_detail;
  EXPECT_EQ(out4->response.body, "ok:POST");

  EXPECT_EQ(t.stats().easy_handles_created, 1u);  // all four on the same handle
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "first-body");
  EXPECT_EQ(seen[0].one, "1");
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/slow");
  EXPECT_EQ(seen[1].body, "");
  EXPECT_EQ(seen[1].one, "");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_EQ(seen[2].body, "");
  EXPECT_EQ(seen[3].method, "POST");
  EXPECT_EQ(seen[3].body, "fourth-body");
  EXPECT_EQ(seen[3].one, "");
}

TEST(CurlMultiTransport, ConnectionsClosedByTheServerAreDeregisteredAndReplaced) {
  // 1st request: answered with "Connection: close". 2nd: answered, kept alive. 3rd, on the
  // kept connection: dropped without an answer, which curl retries on a fresh connection
  // (whose fd number is usually the one just closed). 4th: answered on that connection.
  std::atomic<int> n{0};
  HttpTestServer server([&](const HttpTestRequest&) {
    const int i = ++n;
    HttpTestResponse r = HttpTestResponse::text(200, "r" + std::to_string(i));
    if (i == 1) r.close = true;
    if (i == 3) r.action = HttpTestResponse::Action::close_without_response;
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("call " + std::to_string(i));
    auto out = run_one(ioc, t, post(server.url()));
    ASSERT_TRUE(out) << "request did not complete";
    ASSERT_FALSE(out->ec) << out->response.error_detail;
    bodies.push_back(out->response.body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"r1", "r2", "r4"}));
  EXPECT_EQ(server.connections_accepted(), 3u);
  EXPECT_EQ(t.stats().socket_registrations, 3u);
  EXPECT_EQ(t.watched_sockets(), 1u);  // only the live connection
}

TEST(CurlMultiTransport, TimeoutWhenServerNeverAnswers) {
  HttpTestServer server([](const HttpTestRequest&) {
    HttpTestResponse r;
    r.action = HttpTestResponse::Action::hang;
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto req = post(server.url());
  req.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  auto out = run_one(ioc, t, std::move(req));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(out) << "timeout never reported";
  EXPECT_EQ(out->ec, TransportError::timeout) << out->ec.message();
  EXPECT_FALSE(out->response.error_detail.empty());
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST(CurlMultiTransport, ConnectionResetMidResponse) {
  HttpTestServer server([](const HttpTestRequest&) {
    auto r = HttpTestResponse::text(200, std::string(2000, 'x'));
    r.action = HttpTestResponse::Action::reset_mid_response;
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto out = run_one(ioc, t, post(server.url()));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->ec, TransportError::connection_failed)
      << out->ec.message() << ": " << out->response.error_detail;
  EXPECT_TRUE(out->response.body.empty());
}

TEST(CurlMultiTransport, ClosedWithoutResponse) {
  HttpTestServer server([](const HttpTestRequest&) {
    HttpTestResponse r;
    r.action = HttpTestResponse::Action::close_without_response;
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto out = run_one(ioc, t, post(server.url()));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->ec, TransportError::connection_failed) << out->response.error_detail;
}

TEST(CurlMultiTransport, ConnectionRefused) {
  const int port = test::free_port();  // nothing listens there
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto out = run_one(ioc, t, post("http://127.0.0.1:" + std::to_string(port) + "/"));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->ec, TransportError::connection_failed) << out->response.error_detail;
  EXPECT_EQ(out->response.status, 0);
}

TEST(CurlMultiTransport, Html503IsAResponseNotAnError) {
  const std::string html = "<html><body><h1>503 Service Unavailable</h1></body></html>";
  HttpTestServer server([&](const HttpTestRequest&) {
    return HttpTestResponse::text(503, html, "text/html");
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto out = run_one(ioc, t, post(server.url()));
  ASSERT_TRUE(out);
  ASSERT_FALSE(out->ec) << out->response.error_detail;
  EXPECT_EQ(out->response.status, 503);
  EXPECT_EQ(out->response.body, html);
  EXPECT_EQ(out->response.header("content-type"), "text/html");
}

TEST(CurlMultiTransport, TwoHundredConcurrentRequestsOnOneThread) {
  // The server echoes the request body, so each completion can be matched to its request.
  HttpTestServer server([](const HttpTestRequest& req) {
    auto r = HttpTestResponse::text(200, req.body);
    r.delay = 20ms;  // keep requests overlapping
    return r;
  });
  boost::asio::io_context ioc;
  TransportOptions opts;
  opts.max_host_connections = 16;
  CurlMultiTransport t(ioc, opts);
  constexpr int kRequests = 200;
  const auto loop_thread = std::this_thread::get_id();
  int done = 0, ok = 0;
  bool wrong_thread = false;
  for (int i = 0; i < kRequests; ++i) {
    std::string body = "n=" + std::to_string(i);
    auto req = post(server.url(), body);
    req.timeout = 20s;
    t.perform(std::move(req), [&, body](std::error_code ec, HttpResponse r) {
      ++done;
      if (std::this_thread::get_id() != loop_thread) wrong_thread = true;
      if (!ec && r.status == 200 && r.body == body) ++ok;
    });
  }
  EXPECT_EQ(t.in_flight(), static_cast<size_t>(kRequests));
  ioc.run_for(30s);
  EXPECT_EQ(done, kRequests);
  EXPECT_EQ(ok, kRequests);
  EXPECT_FALSE(wrong_thread);
  EXPECT_EQ(t.in_flight(), 0u);
  EXPECT_LE(server.max_open_connections(), 16u);
  EXPECT_GE(server.max_open_connections(), 2u);  // really concurrent
}

TEST(CurlMultiTransport, StopCancelsTransfersInFlightAndFreesEverything) {
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  constexpr int kRequests = 10;
  std::atomic<int> arrived{0};
  // The handler runs on the server's thread; it tells the test's loop when every request
  // has reached the server, so stop() hits transfers that are really in flight.
  HttpTestServer server([&](const HttpTestRequest&) {
    if (++arrived == kRequests) boost::asio::post(ioc, [&] { t.stop(); });
    HttpTestResponse r;
    r.action = HttpTestResponse::Action::hang;
    return r;
  });
  int cancelled = 0, other = 0;
  for (int i = 0; i < kRequests; ++i) {
    t.perform(post(server.url()), [&](std::error_code ec, HttpResponse) {
      if (ec == std::errc::operation_canceled) {
        ++cancelled;
      } else {
        ++other;
      }
    });
  }
  ioc.run_for(10s);
  EXPECT_EQ(arrived.load(), kRequests);
  EXPECT_EQ(cancelled, kRequests);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(t.in_flight(), 0u);
  EXPECT_EQ(t.watched_sockets(), 0u);

  // A stopped transport refuses new work, asynchronously.
  std::optional<std::error_code> late;
  t.perform(post(server.url()), [&](std::error_code ec, HttpResponse) { late = ec; });
  EXPECT_FALSE(late);
  ioc.restart();
  ioc.run_for(5s);
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, std::errc::operation_canceled);
  t.stop();  // idempotent
}

TEST(CurlMultiTransport, DestroyedWithTransfersInFlight) {
  HttpTestServer server([](const HttpTestRequest&) {
    HttpTestResponse r;
    r.action = HttpTestResponse::Action::hang;
    return r;
  });
  boost::asio::io_context ioc;
  int cancelled = 0;
  {
    CurlMultiTransport t(ioc);
    for (int i = 0; i < 3; ++i) {
      t.perform(post(server.url()), [&](std::error_code ec, HttpResponse) {
        if (ec == std::errc::operation_canceled) ++cancelled;
      });
    }
    ioc.run_for(200ms);  // let them connect and send
  }
  ioc.restart();
  ioc.run_for(5s);  // late handlers of the destroyed transport must do nothing
  EXPECT_EQ(cancelled, 3);
}

TEST(CurlMultiTransport, RedirectIsReturnedNotFollowed) {
  HttpTestServer server([](const HttpTestRequest& req) {
    if (req.target == "/elsewhere") return HttpTestResponse::text(200, "followed");
    auto r = HttpTestResponse::text(301, "");
    r.headers.emplace_back("Location", "/elsewhere");
    return r;
  });
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  auto out = run_one(ioc, t, post(server.url()));
  ASSERT_TRUE(out);
  ASSERT_FALSE(out->ec) << out->response.error_detail;
  EXPECT_EQ(out->response.status, 301);
  EXPECT_EQ(out->response.header("location"), "/elsewhere");
  EXPECT_EQ(server.requests_received(), 1u);
}

TEST(CurlMultiTransport, OversizedBodyIsRefused) {
  for (bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "content-length");
    HttpTestServer server([&](const HttpTestRequest&) {
      auto r = HttpTestResponse::text(200, std::string(64 * 1024, 'z'));
      r.chunked = chunked;
      return r;
    });
    boost::asio::io_context ioc;
    TransportOptions opts;
    opts.max_response_bytes = 4096;
    CurlMultiTransport t(ioc, opts);
    auto out = run_one(ioc, t, post(server.url()));
    ASSERT_TRUE(out);
    EXPECT_EQ(out->ec, TransportError::response_too_large) << out->response.error_detail;
    EXPECT_NE(out->response.error_detail.find("4096"), std::string::npos)
        << out->response.error_detail;
    EXPECT_TRUE(out->response.body.empty());

    // At the limit is fine.
    opts.max_response_bytes = 64 * 1024;
    CurlMultiTransport t2(ioc, opts);
    auto ok = run_one(ioc, t2, post(server.url()));
    ASSERT_TRUE(ok);
    EXPECT_FALSE(ok->ec) << ok->response.error_detail;
    EXPECT_EQ(ok->response.body.size(), 64u * 1024);
  }
}

TEST(CurlMultiTransport, PlainHttpToNonLoopbackHostIsRefusedBeforeConnecting) {
  boost::asio::io_context ioc;
  CurlMultiTransport t(ioc);
  for (const char* url : {"http://iam.amazonaws.com/", "http://10.0.0.1:8080/",
                          "http://example.com/"}) {
    SCOPED_TRACE(url);
    auto out = run_one(ioc, t, post(url), 2s);
    ASSERT_TRUE(out);
    EXPECT_EQ(out->ec, TransportError::insecure_http_refused);
    EXPECT_NE(out->response.error_detail.find("https"), std::string::npos);
    EXPECT_EQ(t.watched_sockets(), 0u);
  }
  auto bad = run_one(ioc, t, post("ftp://127.0.0.1/"), 2s);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->ec, TransportError::invalid_url);
  auto garbage = run_one(ioc, t, post("not a url"), 2s);
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->ec, TransportError::invalid_url);
}

TEST(CurlMultiTransport, ErrorCategoryNamesItsErrors) {
  std::error_code ec = TransportError::response_too_large;
  EXPECT_STREQ(ec.category().name(), "iamq.transport");
  EXPECT_EQ(ec.message(), "response body too large");
}

}  // namespace
}  // namespace iamq::client
