#pragma once
/// `iamq dashboard`: a Boost.Beast HTTP/1.1 server on the caller's io_context serving the
/// pages, the JSON API, the assets and the event stream, with bounded requests (header and
/// body limits, a read timeout, requests per connection) and a cap on connections.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"

namespace iamq::dashboard {

/// A parsed `--listen HOST:PORT`.
struct ListenAddress {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  bool loopback = true;  ///< 127.0.0.0/8, ::1 or "localhost"
};
/// Parses "HOST:PORT", "[v6]:PORT" or "PORT"; HOST is an IP address or "localhost".
/// Throws std::invalid_argument naming the rule.
ListenAddress parse_listen(std::string_view text);

struct DashboardOptions {
  ListenAddress listen;
  std::string token;  ///< empty: reads open (loopback only), actions refused
  bool read_only = false;
  std::size_t max_connections = 64;  ///< more are closed at once
  std::size_t max_event_streams = 32;
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 16 * 1024;
  std::chrono::seconds read_timeout{15};  ///< for a whole request, and idle keep-alive
  std::size_t max_requests_per_connection = 1000;
};

class DashboardServer {
 public:
  /// Checks the options (a non-loopback address needs a token: std::invalid_argument).
  DashboardServer(boost::asio::io_context& ioc, config::Config cfg, DashboardOptions opts);
  ~DashboardServer();
  /// Binds and starts serving and tailing the events; throws std::runtime_error when the
  /// address cannot be bound.
  void start();
  /// Stops accepting, closes every connection and the Redis connections.
  void stop();
  /// The bound port (after start()).
  unsigned short port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace iamq::dashboard
