#pragma once
/// HTTP(S) over libcurl's multi-socket API, driven by a boost::asio::io_context: many
/// transfers in flight on one thread, keep-alive reuse, per-request timeouts, a cap on
/// connections per host, TLS verification always on, no redirects followed, a cap on the
/// response body size. The socket/timer contract follows curl's docs/examples/multi-uv.c;
/// easy handles and socket registrations are reused across requests.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace iamq::client {

/// Why a transfer produced no usable HTTP response. Cancellation by stop() is reported as
/// std::errc::operation_canceled (compare with `ec == std::errc::operation_canceled`).
enum class TransportError {
  timeout = 1,             ///< connect or total timeout elapsed (curl: CURLE_OPERATION_TIMEDOUT)
  connection_failed,       ///< resolve/connect failed, reset, nothing received, truncated body
  response_too_large,      ///< body larger than TransportOptions::max_response_bytes
  tls_error,               ///< certificate verification or TLS handshake rejected
  insecure_http_refused,   ///< http:// to a host that is not loopback, not explicitly allowed
  invalid_url,             ///< URL not parseable or scheme not http/https
  transfer_failed,         ///< any other curl failure (message in HttpResponse::error_detail)
};
const std::error_category& transport_category();
std::error_code make_error_code(TransportError e);

/// One HTTP request.
struct HttpRequest {
  std::string method = "POST";  ///< POST sends `body`; GET and others use CUSTOMREQUEST
  std::string url;              ///< http:// or https://
  /// Sent as given (a "Host" entry replaces curl's). curl's "Expect: 100-continue" is off.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5000};  ///< TCP+TLS connect
  std::chrono::milliseconds timeout{30000};         ///< the whole transfer
};

/// What came back. On a transport error, status is 0 (or the status seen before it failed)
/// and error_detail holds curl's message (never any request header or body).
struct HttpResponse {
  long status = 0;
  std::string body;
  /// Headers of the final response, names lower-cased, in order received.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::microseconds total_time{0};    ///< curl's TOTAL_TIME
  std::chrono::microseconds connect_time{0};  ///< curl's CONNECT_TIME (0 when reused)
  bool connection_reused = false;             ///< no new connection was opened for it
  std::string error_detail;                   ///< curl's error text on failure

  /// First header called `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

/// Counters of one transport (tests and diagnostics).
struct TransportStats {
  /// curl easy handles created: finished transfers give theirs back (curl_easy_reset) and
  /// the next perform() takes it, so this stays at the peak number in flight.
  std::size_t easy_handles_created = 0;
  /// Sockets registered with the io_context's reactor. A connection's socket stays
  /// registered while the connection idles in curl's connection cache and is taken up again
  /// when it is reused, so this counts connections (and resolver sockets), not requests.
  std::size_t socket_registrations = 0;
};

/// Tuning for one transport (one curl multi handle).
struct TransportOptions {
  long max_host_connections = 32;  ///< CURLMOPT_MAX_HOST_CONNECTIONS; extra transfers queue
  long max_total_connections = 0;  ///< CURLMOPT_MAX_TOTAL_CONNECTIONS; 0 = no cap
  std::size_t max_response_bytes = 8 * 1024 * 1024;  ///< larger bodies fail response_too_large
  /// Allow plain http:// to non-loopback hosts (never needed against AWS). Default: refused.
  bool allow_insecure_http = false;
  /// Extra CA bundle file for https (CURLOPT_CAINFO); empty = the system's store.
  std::string ca_file;
};

/// HTTP client on an io_context. Not thread-safe: use it from the thread running the
/// io_context. Every completion is called exactly once, posted to the io_context (never
/// from inside perform() or stop()), as long as the io_context keeps running.
class CurlMultiTransport {
 public:
  using Completion = std::function<void(std::error_code, HttpResponse)>;

  explicit CurlMultiTransport(boost::asio::io_context& ioc, TransportOptions opts = {});
  /// Calls stop().
  ~CurlMultiTransport();
  CurlMultiTransport(const CurlMultiTransport&) = delete;
  CurlMultiTransport& operator=(const CurlMultiTransport&) = delete;

  /// Starts a transfer. HTTP statuses (3xx, 4xx, 5xx) are responses, not errors; redirects
  /// are never followed. Errors: TransportError values; operation_canceled after stop().
  void perform(HttpRequest req, Completion completion);

  /// Cancels every transfer in flight (their completions get operation_canceled), closes
  /// every connection and frees every curl handle. Later perform() calls fail with
  /// operation_canceled. Idempotent.
  void stop();

  /// The io_context completions are posted to.
  boost::asio::io_context& context() const;

  /// Transfers started and not yet completed.
  std::size_t in_flight() const;
  /// Sockets currently registered with the io_context: watched, or kept registered while
  /// their connection idles in curl's cache (for tests: 0 after stop()).
  std::size_t watched_sockets() const;
  TransportStats stats() const;

  struct Impl;

 private:
  // Shared with pending asio handlers (they hold weak references), so a handler that
  // runs after the transport is gone does nothing.
  std::shared_ptr<Impl> impl_;
};

}  // namespace iamq::client

template <>
struct std::is_error_code_enum<iamq::client::TransportError> : std::true_type {};
