// iamq-client-load: drives the IAM endpoint with iamq's own client stack, without Redis or
// the worker, so scripts/bench can split the worker's CPU per call into its layers:
//   --layer transport  one SigV4-signed GetUser request, signed once, sent N times through
//                      CurlMultiTransport (libcurl multi on Asio): the HTTP floor
//   --layer client     IamClient::call("GetUser") N times: Query encoding, signing per call,
//                      the transport, XML parsing and error classification
// Prints one JSON object: {"layer", "calls", "errors", "seconds", "cpu_user_s", "cpu_sys_s",
// "cpu_us_per_call", "statuses"}. CPU is getrusage(RUSAGE_SELF) around the run (start-up
// excluded).
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/iam_client.hpp"
#include "client/query_encoder.hpp"
#include "client/signer.hpp"

namespace {

namespace client = iamq::client;

struct Settings {
  std::string endpoint;
  std::string layer = "transport";
  long calls = 20000;
  int concurrency = 256;
  std::string user = "alice";
  std::string access_key = "AKIDEXAMPLE";
  std::string secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  std::string region = "us-east-1";
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

struct Tally {
  long issued = 0;
  long done = 0;
  long errors = 0;
  std::map<long, long> statuses;
};

/// The request IamClient would send for GetUser, signed now (valid for minutes: enough for a
/// bench run).
client::HttpRequest signed_request(const Settings& s, const client::Endpoint& ep) {
  client::SignableRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", ep.host_header()},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = client::encode_query("GetUser", {{"UserName", s.user}});
  client::Credentials creds{s.access_key, s.secret_key, ""};
  client::SigningScope scope{s.region, "iam",
                             client::format_amz_date(std::chrono::system_clock::now())};
  client::sign(r, creds, scope);
  client::HttpRequest req;
  req.url = ep.url();
  req.headers = r.headers;
  req.body = r.body;
  return req;
}

void run_transport(const Settings& s, const client::Endpoint& ep, Tally& t) {
  boost::asio::io_context ioc;
  client::TransportOptions topts;
  topts.max_host_connections = s.concurrency;
  client::CurlMultiTransport transport(ioc, topts);
  const client::HttpRequest req = signed_request(s, ep);
  std::function<void()> next = [&] {
    if (t.issued >= s.calls) return;
    ++t.issued;
    transport.perform(req, [&](std::error_code ec, client::HttpResponse res) {
      ++t.done;
      if (ec) ++t.errors;
      ++t.statuses[res.status];
      next();
    });
  };
  for (int i = 0; i < s.concurrency; ++i) next();
  ioc.run();
}

void run_client(const Settings& s, const client::Endpoint& ep, Tally& t) {
  boost::asio::io_context ioc;
  client::TransportOptions topts;
  topts.max_host_connections = s.concurrency;
  client::CurlMultiTransport transport(ioc, topts);
  client::IamClientOptions copts;
  copts.endpoint = ep;
  copts.region = s.region;
  client::IamClient iam(transport, copts,
                        client::static_credentials_loader({s.access_key, s.secret_key, ""}));
  std::function<void()> next = [&] {
    if (t.issued >= s.calls) return;
    ++t.issued;
    iam.call("GetUser", {{"UserName", s.user}},
             [&](std::error_code ec, client::Outcome outcome, client::CallInfo info) {
               ++t.done;
               if (ec || !outcome.ok) ++t.errors;
               ++t.statuses[info.http_status];
               next();
             });
  };
  for (int i = 0; i < s.concurrency; ++i) next();
  ioc.run();
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{
      "iamq-client-load: iamq's IAM client stack against an endpoint, no Redis (for "
      "scripts/bench)"};
  app.add_option("--endpoint", s.endpoint, "IAM endpoint URL (http://127.0.0.1:PORT)")->required();
  app.add_option("--layer", s.layer, "transport (pre-signed request) or client (IamClient::call)")
      ->check(CLI::IsMember({"transport", "client"}));
  app.add_option("--calls", s.calls, "requests to send")->check(CLI::Range(1L, 100000000L));
  app.add_option("--concurrency", s.concurrency, "requests in flight")->check(CLI::Range(1, 4096));
  app.add_option("--user", s.user, "UserName for GetUser");
  app.add_option("--access-key", s.access_key, "access key id");
  app.add_option("--secret-key", s.secret_key, "secret access key");
  app.add_option("--region", s.region, "signing region");
  CLI11_PARSE(app, argc, argv);

  client::Endpoint ep;
  try {
    ep = client::parse_endpoint(s.endpoint);
  } catch (const std::exception& e) {
    std::cerr << "iamq-client-load: --endpoint: " << e.what() << "\n";
    return 2;
  }
  Tally t;
  rusage r0{};
  getrusage(RUSAGE_SELF, &r0);
  const auto w0 = std::chrono::steady_clock::now();
  if (s.layer == "transport") {
    run_transport(s, ep, t);
  } else {
    run_client(s, ep, t);
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  rusage r1{};
  getrusage(RUSAGE_SELF, &r1);
  const double user = seconds(r1.ru_utime) - seconds(r0.ru_utime);
  const double sys = seconds(r1.ru_stime) - seconds(r0.ru_stime);
  nlohmann::json statuses = nlohmann::json::object();
  for (const auto& [code, n] : t.statuses) statuses[std::to_string(code)] = n;
  nlohmann::json out = {
      {"layer", s.layer},
      {"calls", t.done},
      {"errors", t.errors},
      {"concurrency", s.concurrency},
      {"seconds", wall},
      {"cpu_user_s", user},
      {"cpu_sys_s", sys},
      {"cpu_us_per_call", t.done ? (user + sys) * 1e6 / static_cast<double>(t.done) : 0.0},
      {"statuses", statuses}};
  std::cout << out.dump() << std::endl;
  return t.errors == 0 ? 0 : 1;
}
