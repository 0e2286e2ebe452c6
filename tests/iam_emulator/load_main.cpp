// iamq-emulator-load: sends N SigV4-signed IAM calls over C keep-alive connections and prints
// {"calls":…, "seconds":…, "calls_per_s":…, "status":{…}, "errors":…} on stdout. For scripts/bench.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "client/query_encoder.hpp"
#include "client/signer.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Settings {
  std::string host = "127.0.0.1";
  int port = 0;
  long calls = 10000;
  int connections = 4;
  std::string action = "GetUser";
  std::vector<std::string> params;  // K=V
  std::string access_key = "AKIDEXAMPLE";
  std::string secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  std::string region = "us-east-1";
};

struct Shared {
  long issued = 0;
  long done = 0;
  long errors = 0;
  std::map<int, long> statuses;
};

/// A signed request, re-signed once a minute so long runs stay inside the clock-skew window.
class RequestFactory {
 public:
  explicit RequestFactory(const Settings& s) : s_(s) {
    iamq::client::Params params;
    for (const auto& kv : s.params) {
      auto eq = kv.find('=');
      params.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    body_ = iamq::client::encode_query(s.action, params);
  }
  const http::request<http::string_body>& get() {
    auto now = std::chrono::system_clock::now();
    if (now - signed_at_ > std::chrono::seconds(60)) sign(now);
    return req_;
  }

 private:
  void sign(std::chrono::system_clock::time_point now) {
    iamq::client::SignableRequest r;
    r.method = "POST";
    r.path = "/";
    std::string host = s_.host + ":" + std::to_string(s_.port);
    r.headers = {{"Host", host}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.body = body_;
    iamq::client::Credentials creds{s_.access_key, s_.secret_key, ""};
    iamq::client::SigningScope scope{s_.region, "iam", iamq::client::format_amz_date(now)};
    iamq::client::sign(r, creds, scope);
    req_ = {};
    req_.method(http::verb::post);
    req_.target("/");
    req_.version(11);
    for (const auto& [k, v] : r.headers) req_.set(k, v);
    req_.keep_alive(true);
    req_.body() = body_;
    req_.prepare_payload();
    signed_at_ = now;
  }
  const Settings& s_;
  std::string body_;
  http::request<http::string_body> req_;
  std::chrono::system_clock::time_point signed_at_{};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& ioc, const Settings& s, Shared& shared, RequestFactory& factory)
      : stream_(ioc), s_(s), shared_(shared), factory_(factory) {}

  void start(const tcp::endpoint& ep) {
    stream_.async_connect(ep, beast::bind_front_handler(&Connection::on_connect, shared_from_this()));
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return fail();
    next();
  }
  void next() {
    if (shared_.issued >= s_.calls) return;
    ++shared_.issued;
    req_ = factory_.get();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, req_, beast::bind_front_handler(&Connection::on_write, shared_from_this()));
  }
  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return fail();
    res_ = {};
    http::async_read(stream_, buffer_, res_, beast::bind_front_handler(&Connection::on_read, shared_from_this()));
  }
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return fail();
    ++shared_.done;
    ++shared_.statuses[static_cast<int>(res_.result_int())];
    next();
  }
  void fail() {
    ++shared_.errors;
    ++shared_.done;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  const Settings& s_;
  Shared& shared_;
  RequestFactory& factory_;
};

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"iamq-emulator-load: signed keep-alive IAM calls against iamq-emulator"};
  app.add_option("--host", s.host, "emulator address")->capture_default_str();
  app.add_option("--port", s.port, "emulator port")->required()->check(CLI::Range(1, 65535));
  app.add_option("--calls", s.calls, "total calls")->check(CLI::Range(1L, 100000000L))->capture_default_str();
  app.add_option("--connections", s.connections, "concurrent keep-alive connections")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--action", s.action, "IAM action")->capture_default_str();
  app.add_option("--param", s.params, "action parameter K=V (repeatable)");
  app.add_option("--access-key-id", s.access_key, "access key id")->capture_default_str();
  app.add_option("--secret-access-key", s.secret_key, "secret access key");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  asio::io_context ioc(1);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s.host, ec);
  if (ec) {
    std::cerr << "iamq-emulator-load: --host must be an IP address\n";
    return 2;
  }
  tcp::endpoint ep(addr, static_cast<unsigned short>(s.port));
  Shared shared;
  RequestFactory factory(s);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < s.connections; ++i)
    std::make_shared<Connection>(ioc, s, shared, factory)->start(ep);
  ioc.run();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json status = nlohmann::json::object();
  for (const auto& [code, n] : shared.statuses) status[std::to_string(code)] = n;
  long ok_calls = shared.done - shared.errors;
  nlohmann::json out = {{"calls", ok_calls},
                        {"seconds", seconds},
                        {"calls_per_s", seconds > 0 ? static_cast<double>(ok_calls) / seconds : 0.0},
                        {"connections", s.connections},
                        {"action", s.action},
                        {"status", status},
                        {"errors", shared.errors}};
  std::cout << out.dump() << std::endl;
  return shared.errors == 0 ? 0 : 1;
}
