#pragma once
/// The byte stream under one Redis connection: a `tcp::socket`, or an `ssl::stream` over one
/// for rediss://. Resolve, connect, TLS handshake (peer always verified), read and write;
/// no RESP in here. One stream per connection attempt; a new attempt makes a new stream.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "queue/redis_url.hpp"

namespace iamq::queue {

/// Builds the TLS client context from the settings: verification on, TLS 1.2+, the CA file
/// (or the system store), the optional client certificate. Throws std::runtime_error naming
/// the setting and the file when one cannot be used (start-up/config error, never later).
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const RedisTls& tls);

class RedisStream : public std::enable_shared_from_this<RedisStream> {
 public:
  /// Completion of a step; on failure `what` says what went wrong in words (for TLS the
  /// certificate problem, e.g. "certificate verify failed: unable to get local issuer
  /// certificate").
  using Step = std::function<void(const boost::system::error_code& ec, std::string what)>;
  using Io = std::function<void(const boost::system::error_code& ec, std::size_t n)>;

  /// `tls` null: plain TCP.
  RedisStream(boost::asio::io_context& ioc, std::shared_ptr<boost::asio::ssl::context> tls);
  ~RedisStream();
  RedisStream(const RedisStream&) = delete;
  RedisStream& operator=(const RedisStream&) = delete;

  /// Resolves `host`, connects (TCP_NODELAY), and for TLS runs the handshake with SNI and
  /// name verification against `server_name` (empty: `host`).
  void async_open(const std::string& host, int port, const std::string& server_name, Step done);
  void async_read_some(char* data, std::size_t size, Io done);
  void async_write(const char* data, std::size_t size, Io done);
  /// Closes the socket at once (pending operations complete with operation_aborted).
  void close();
  bool tls() const { return ssl_ != nullptr; }
  /// True once the TLS handshake failed because the server's certificate did not verify
  /// (a configuration problem: retrying cannot fix it).
  bool certificate_rejected() const { return cert_rejected_; }

 private:
  void on_resolve(const boost::system::error_code& ec,
                  const boost::asio::ip::tcp::resolver::results_type& results, Step done);
  void on_connect(const boost::system::error_code& ec, Step done);
  void on_handshake(const boost::system::error_code& ec, Step done);
  boost::asio::ip::tcp::socket& socket();

  std::string host_;
  bool cert_rejected_ = false;
  std::string server_name_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;  // outlives ssl_ (declared first)
  boost::asio::ip::tcp::resolver resolver_;
  std::unique_ptr<boost::asio::ip::tcp::socket> plain_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> ssl_;
};

}  // namespace iamq::queue
