#include "tests/support/http_test_server.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace iamq::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session;

}  // namespace

struct HttpTestServer::Impl {
  explicit Impl(Handler h) : handler(std::move(h)), acceptor(ioc) {}

  // Declaration order = reverse destruction order: sessions (which use the counters and
  // the io_context) go first, the counters last.
  Handler handler;
  std::atomic<std::size_t> accepted{0};
  std::atomic<std::size_t> requests{0};
  std::atomic<std::size_t> open{0};
  std::atomic<std::size_t> max_open{0};
  int port = 0;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::thread thread;
  std::mutex sessions_mutex;
  // Owns every session (a hanging one has no pending operation to keep it alive);
  // all are closed at shutdown.
  std::vector<std::shared_ptr<Session>> sessions;

  void do_accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpTestServer::Impl& server, tcp::socket socket, std::size_t index)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()),
        index_(index) {
    auto now = ++server_.open;
    auto prev = server_.max_open.load();
    while (prev < now && !server_.max_open.compare_exchange_weak(prev, now)) {
    }
  }
  ~Session() { --server_.open; }

  void start() { do_read(); }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(64 * 1024 * 1024);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(boost::system::error_code ec) {
    if (ec) return close();
    ++server_.requests;
    auto& req = parser_->get();
    HttpTestRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      r.headers[name] = std::string(field.value());
    }
    r.body = req.body();
    r.connection_index = index_;
    keep_alive_ = req.keep_alive();
    response_ = server_.handler(r);
    if (response_.delay.count() > 0) {
      timer_.expires_after(response_.delay);
      timer_.async_wait([self = shared_from_this()](boost::system::error_code tec) {
        if (!tec) self->act();
      });
    } else {
      act();
    }
  }

  void act() {
    using Action = HttpTestResponse::Action;
    switch (response_.action) {
      case Action::hang:
        return;  // keep the socket open (owned by this session, kept by the server list)
      case Action::close_without_response:
        return close();
      case Action::reset_mid_response: {
        raw_ = "HTTP/1.1 " + std::to_string(response_.status) + " OK\r\nContent-Length: " +
               std::to_string(response_.body.size()) + "\r\n\r\n" +
               response_.body.substr(0, response_.body.size() / 2);
        asio::async_write(socket_, asio::buffer(raw_),
                          [self = shared_from_this()](boost::system::error_code, std::size_t) {
                            boost::system::error_code ignored;
                            // SO_LINGER 0: close sends RST instead of FIN.
                            self->socket_.set_option(asio::socket_base::linger(true, 0), ignored);
                            self->socket_.close(ignored);
                          });
        return;
      }
      case Action::respond:
        break;
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response_.status));
    for (const auto& [k, v] : response_.headers) res->set(k, v);
    res->body() = response_.body;
    const bool keep = keep_alive_ && !response_.close;
    res->keep_alive(keep);
    if (response_.chunked) {
      res->chunked(true);
    } else {
      res->prepare_payload();
    }
    http::async_write(socket_, *res,
                      [self = shared_from_this(), res, keep](boost::system::error_code ec,
                                                             std::size_t) {
                        if (ec || !keep) return self->close();
                        self->do_read();
                      });
  }

  HttpTestServer::Impl& server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::size_t index_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpTestResponse response_;
  std::string raw_;
  bool keep_alive_ = true;
};

}  // namespace

void HttpTestServer::Impl::do_accept() {
  acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) return;  // acceptor closed
    auto index = ++accepted;
    auto s = std::make_shared<Session>(*this, std::move(socket), index);
    {
      std::lock_guard lock(sessions_mutex);
      sessions.push_back(s);
    }
    s->start();
    do_accept();
  });
}

HttpTestServer::HttpTestServer(Handler handler) : impl_(std::make_unique<Impl>(std::move(handler))) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->do_accept();
  impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

HttpTestServer::~HttpTestServer() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    boost::system::error_code ignored;
    impl->acceptor.close(ignored);
    std::lock_guard lock(impl->sessions_mutex);
    for (auto& s : impl->sessions) s->close();
    impl->sessions.clear();
  });
  // With the acceptor and every socket closed, the pending operations finish with
  // errors and run() returns by itself.
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpTestServer::port() const { return impl_->port; }

std::string HttpTestServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

std::size_t HttpTestServer::connections_accepted() const { return impl_->accepted.load(); }
std::size_t HttpTestServer::requests_received() const { return impl_->requests.load(); }
std::size_t HttpTestServer::max_open_connections() const { return impl_->max_open.load(); }

}  // namespace iamq::test
