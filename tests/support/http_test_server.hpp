#pragma once
/// Test support: a small real HTTP/1.1 server (Boost.Beast) on 127.0.0.1 with its own
/// thread and io_context. A handler decides each answer, including misbehaviour (never
/// answer, reset mid-response, close without answering, answer late). It counts
/// connections and requests so tests can check keep-alive reuse.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iamq::test {

/// A request as received.
struct HttpTestRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::size_t connection_index = 0;  ///< 1-based index of the connection it arrived on

  /// Header value or "".
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// What the server does with a request.
struct HttpTestResponse {
  enum class Action {
    respond,                 ///< send status/headers/body (keep-alive unless close = true)
    hang,                    ///< never answer; the connection stays open until the server stops
    reset_mid_response,      ///< send the status line, headers and half the body, then RST
    close_without_response,  ///< close the connection without a byte
  };
  Action action = Action::respond;
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;                ///< Connection: close after this response
  bool chunked = false;              ///< Transfer-Encoding: chunked instead of Content-Length
  std::chrono::milliseconds delay{0};  ///< wait before answering

  static HttpTestResponse text(int status, std::string body,
                               std::string content_type = "text/xml") {
    HttpTestResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", std::move(content_type));
    return r;
  }
};

class HttpTestServer {
 public:
  /// Called on the server's thread for every request; must be thread-safe.
  using Handler = std::function<HttpTestResponse(const HttpTestRequest&)>;

  /// Binds 127.0.0.1 on a free port and starts serving on its own thread.
  explicit HttpTestServer(Handler handler);
  /// Closes every connection and joins the thread.
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const;
  /// "http://127.0.0.1:<port><path>"
  std::string url(std::string_view path = "/") const;
  std::size_t connections_accepted() const;
  std::size_t requests_received() const;
  /// Most connections open at the same time.
  std::size_t max_open_connections() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace iamq::test
