#include "dashboard/dashboard_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <optional>
#include <stdexcept>

#include "dashboard/auth.hpp"
#include "dashboard/event_series.hpp"
#include "dashboard/router.hpp"
#include "dashboard/sse.hpp"
#include "dashboard/store.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"

namespace iamq::dashboard {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

ListenAddress parse_listen(std::string_view text) {
  ListenAddress out;
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("--listen: \"" + std::string(text) + "\" is not [IPv6]:PORT");
    }
    host = std::string(text.substr(1, close - 1));
    port = std::string(text.substr(close + 2));
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = std::string(text.substr(0, colon));
    port = std::string(text.substr(colon + 1));
  } else {
    host = "127.0.0.1";
    port = std::string(text);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    throw std::invalid_argument("--listen: port \"" + port + "\" must be a number 0-65535");
  }
  out.port = static_cast<unsigned short>(std::stoul(port));
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("--listen: host \"" + host + "\" must be an IP address or localhost");
  out.host = host;
  out.loopback = addr.is_loopback();
  return out;
}

struct DashboardServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, config::Config c, DashboardOptions o)
      : ioc(io), cfg(std::move(c)), opts(std::move(o)), acceptor(io), hub(opts.max_event_streams) {}

  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);

  asio::io_context& ioc;
  config::Config cfg;
  DashboardOptions opts;
  // Declaration order is destruction order in reverse: the Redis connections outlive the
  // queue, store and tail that use them.
  std::unique_ptr<queue::RedisConnection> redis;
  std::unique_ptr<queue::RedisConnection> blocking;
  std::unique_ptr<queue::JobQueue> queue;
  EventSeries series;
  std::unique_ptr<Store> store;
  std::unique_ptr<Auth> auth;
  std::unique_ptr<Router> router;
  tcp::acceptor acceptor;
  SseHub hub;
  std::shared_ptr<EventTail> tail;
  std::shared_ptr<std::atomic<std::size_t>> connections = std::make_shared<std::atomic<std::size_t>>(0);
  bool stopped = false;
};

namespace {

/// One HTTP connection: read a request (bounded), answer it, repeat while keep-alive.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<DashboardServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)), counter_(server_->connections) {
    ++*counter_;
  }
  ~HttpSession() { --*counter_; }

  void run() { do_read(); }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->opts.header_limit));
    parser_->body_limit(server_->opts.body_limit);
    stream_.expires_after(server_->opts.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec == http::error::body_limit || ec == http::error::header_limit ||
        ec == http::error::buffer_overflow) {
      Request req;
      req.version(11);
      Response res{ec == http::error::body_limit ? http::status::payload_too_large
                                                 : http::status::request_header_fields_too_large,
                   11};
      res.set(http::field::content_type, "text/plain");
      res.body() = "request too large\n";
      res.keep_alive(false);
      res.prepare_payload();
      Router::secure_headers(res);
      return write(std::move(res));
    }
    if (ec) return close();
    Request req = parser_->release();
    if (req.target() == "/api/events" && req.method() == http::verb::get) return open_stream(req);
    if (++requests_ >= server_->opts.max_requests_per_connection) req.keep_alive(false);
    server_->router->handle(req, [self = shared_from_this()](Response res) { self->write(std::move(res)); });
  }

  void open_stream(const Request& req) {
    auto check = server_->router->check_stream(req);
    if (!check.ok()) {
      Response res{http::status::unauthorized, req.version()};
      res.set(http::field::content_type, "application/json");
      res.body() = "{\"error\":\"log in with the dashboard token\"}\n";
      res.keep_alive(false);
      res.prepare_payload();
      Router::secure_headers(res);
      return write(std::move(res));
    }
    stream_.expires_never();
    std::string headers = "Content-Security-Policy: " + std::string(kContentSecurityPolicy) +
                          "\r\nX-Content-Type-Options: nosniff\r\n";
    auto socket = stream_.release_socket();
    if (!server_->hub.attach(std::move(socket), headers)) {
      // Too many streams: the socket came back closed by the hub's refusal (dropped here).
      spdlog::warn("dashboard: event stream refused, {} open already", server_->opts.max_event_streams);
    }
  }

  void write(Response res) {
    auto sp = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
      self->on_write(ec, sp->need_eof());
    });
  }

  void on_write(beast::error_code ec, bool eof) {
    if (ec) return;
    if (eof || server_->stopped) return close();
    do_read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{8192};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<DashboardServer::Impl> server_;
  std::shared_ptr<std::atomic<std::size_t>> counter_;
  std::size_t requests_ = 0;
};

}  // namespace

void DashboardServer::Impl::do_accept() {
  acceptor.async_accept(ioc, [self = shared_from_this()](boost::system::error_code ec,
                                                                               tcp::socket s) {
    self->on_accept(ec, std::move(s));
  });
}

void DashboardServer::Impl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (!ec) {
    if (*connections >= opts.max_connections) {
      boost::system::error_code ignored;
      socket.close(ignored);  // over the cap: closed before anything is read
    } else {
      std::make_shared<HttpSession>(std::move(socket), shared_from_this())->run();
    }
  }
  do_accept();
}

DashboardServer::DashboardServer(asio::io_context& ioc, config::Config cfg, DashboardOptions opts)
    : impl_(std::make_shared<Impl>(ioc, std::move(cfg), std::move(opts))) {
  auto& o = impl_->opts;
  if (!o.listen.loopback && o.token.empty()) {
    throw std::invalid_argument("--listen " + o.listen.host +
                                ": a non-loopback address needs a token (--token or IAMQ_DASHBOARD_TOKEN)");
  }
  queue::RedisConnection::Options ro;
  ro.endpoint = config::redis_endpoint(impl_->cfg);  // URL + TLS files + Sentinel AUTH
  ro.name = "redis";
  ro.reconnect = true;
  ro.connect_timeout = impl_->cfg.connect_timeout;
  queue::RedisConnection::Options bo = ro;
  bo.name = "redis-events";
  impl_->redis = std::make_unique<queue::RedisConnection>(ioc, ro);
  impl_->blocking = std::make_unique<queue::RedisConnection>(ioc, bo);
  queue::JobQueue::Options qo;
  qo.ns = impl_->cfg.ns;
  qo.consumer = "dashboard";
  qo.result_ttl = impl_->cfg.result_ttl;
  qo.events_maxlen = impl_->cfg.events_maxlen;
  impl_->queue = std::make_unique<queue::JobQueue>(*impl_->redis, *impl_->redis, qo);
  impl_->store = std::make_unique<Store>(*impl_->redis, *impl_->queue, impl_->cfg, impl_->series);
  impl_->auth = std::make_unique<Auth>(Auth::Options{o.token, o.read_only});
  impl_->router = std::make_unique<Router>(*impl_->store, *impl_->auth);
  impl_->tail = std::make_shared<EventTail>(ioc, *impl_->redis, *impl_->blocking, impl_->cfg.ns,
                                            *impl_->store, impl_->hub, impl_->series);
}

DashboardServer::~DashboardServer() { stop(); }

void DashboardServer::start() {
  auto& i = *impl_;
  boost::system::error_code ec;
  const tcp::endpoint ep(asio::ip::make_address(i.opts.listen.host), i.opts.listen.port);
  i.acceptor.open(ep.protocol(), ec);
  if (!ec) i.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) i.acceptor.bind(ep, ec);
  if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + i.opts.listen.host + ":" +
                             std::to_string(i.opts.listen.port) + ": " + ec.message());
  }
  i.redis->start();
  i.blocking->start();
  i.tail->start();
  i.do_accept();
}

void DashboardServer::stop() {
  auto& i = *impl_;
  if (i.stopped) return;
  i.stopped = true;
  boost::system::error_code ignored;
  i.acceptor.close(ignored);
  i.tail->stop();
  i.hub.stop();
  i.blocking->stop();
  i.redis->stop();
}

unsigned short DashboardServer::port() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace iamq::dashboard
