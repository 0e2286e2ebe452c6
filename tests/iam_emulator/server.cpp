#include "tests/iam_emulator/server.hpp"

#include <chrono>
#include <optional>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace iamq::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(120);
constexpr std::size_t kBodyLimit = 1 << 20;

/// One keep-alive connection: read a request, let the core decide, answer, repeat.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Emulator& emulator)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), emulator_(emulator) {}

  void start() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();  // end_of_stream, timeout, malformed request: just close
    auto& req = parser_->get();
    request_.method = std::string(req.method_string());
    request_.target = std::string(req.target());
    request_.headers.clear();
    for (const auto& field : req)
      request_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    request_.body = std::move(req.body());
    request_.now = std::chrono::system_clock::now();
    keep_alive_ = req.keep_alive();
    version_ = req.version();

    Response out = emulator_.handle(request_);
    if (out.drop_connection) return reset_connection();

    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(out.status));
    res_.set(http::field::content_type, out.content_type);
    if (!out.request_id.empty()) res_.set("x-amzn-RequestId", out.request_id);
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(out.body);
    res_.prepare_payload();

    if (out.delay.count() > 0) {
      // Injected latency: a timer, never a sleep, so other connections go on meanwhile.
      timer_.expires_after(out.delay);
      timer_.async_wait(beast::bind_front_handler(&Session::on_delay, shared_from_this()));
      return;
    }
    do_write();
  }

  void on_delay(beast::error_code ec) {
    if (ec) return close();
    do_write();
  }

  void do_write() {
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return close();
    if (!keep_alive_) return close();
    do_read();
  }

  /// A dropped connection as a client sees it: RST, no response.
  void reset_connection() {
    beast::error_code ignored;
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
    stream_.socket().close(ignored);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  // The stream first: the timer and parser use its executor and must go before it.
  beast::tcp_stream stream_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  Request request_;  // reused: its vectors keep their capacity between requests
  Emulator& emulator_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

Server::Server(asio::io_context& ioc, Emulator& emulator, const tcp::endpoint& endpoint)
    : ioc_(ioc), emulator_(emulator), acceptor_(ioc) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

tcp::endpoint Server::local_endpoint() const { return acceptor_.local_endpoint(); }

void Server::start() { do_accept(); }

void Server::stop() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

void Server::do_accept() {
  acceptor_.async_accept(ioc_, [this](const boost::system::error_code& ec, tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void Server::on_accept(const boost::system::error_code& ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;  // stop()
  if (!ec) {
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::make_shared<Session>(std::move(socket), emulator_)->start();
  }
  if (acceptor_.is_open()) do_accept();
}

}  // namespace iamq::emulator
