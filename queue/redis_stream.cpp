#include "queue/redis_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace iamq::queue {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string s = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    if (reason != nullptr) s = reason;
  }
  return s;
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const RedisTls& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer);  // always: there is no setting to turn it off
  boost::system::error_code ec;
  if (tls.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("redis_tls_ca_file: no system CA store: " + ec.message());
  } else {
    ctx->load_verify_file(tls.ca_file, ec);
    if (ec) {
      throw std::runtime_error("redis_tls_ca_file: cannot use \"" + tls.ca_file +
                               "\" as a PEM CA bundle: " + openssl_reason(ec));
    }
  }
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      throw std::runtime_error("redis_tls_cert_file: cannot use \"" + tls.cert_file +
                               "\" as a PEM certificate: " + openssl_reason(ec));
    }
    ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    if (ec) {
      throw std::runtime_error("redis_tls_key_file: cannot use \"" + tls.key_file +
                               "\" as the certificate's PEM private key: " + openssl_reason(ec));
    }
  }
  return ctx;
}

RedisStream::RedisStream(asio::io_context& ioc, std::shared_ptr<ssl::context> tls)
    : ctx_(std::move(tls)), resolver_(ioc) {
  if (ctx_) {
    ssl_ = std::make_unique<ssl::stream<tcp::socket>>(ioc, *ctx_);
  } else {
    plain_ = std::make_unique<tcp::socket>(ioc);
  }
}

RedisStream::~RedisStream() = default;

tcp::socket& RedisStream::socket() {
  return ssl_ ? ssl_->next_layer() : *plain_;
}

void RedisStream::async_open(const std::string& host, int port, const std::string& server_name,
                             Step done) {
  host_ = host;
  server_name_ = server_name.empty() ? host : server_name;
  resolver_.async_resolve(
      host, std::to_string(port),
      [self = shared_from_this(), done = std::move(done)](
          const boost::system::error_code& ec, const tcp::resolver::results_type& results) mutable {
        self->on_resolve(ec, results, std::move(done));
      });
}

void RedisStream::on_resolve(const boost::system::error_code& ec,
                             const tcp::resolver::results_type& results, Step done) {
  if (ec) return done(ec, "cannot resolve " + host_ + ": " + ec.message());
  asio::async_connect(socket(), results,
                      [self = shared_from_this(), done = std::move(done)](
                          const boost::system::error_code& e, const tcp::endpoint&) mutable {
                        self->on_connect(e, std::move(done));
                      });
}

void RedisStream::on_connect(const boost::system::error_code& ec, Step done) {
  if (ec) return done(ec, ec.message());
  boost::system::error_code ignored;
  socket().set_option(tcp::no_delay(true), ignored);
  if (!ssl_) return done({}, {});
  // SNI only for names (RFC 6066); the certificate is checked against the name or IP.
  if (!is_ip_literal(server_name_)) {
    SSL_set_tlsext_host_name(ssl_->native_handle(), server_name_.c_str());
  }
  // OpenSSL's own name check (RFC 6125; an IP against the certificate's IP SANs), so a
  // mismatch is reported as such by SSL_get_verify_result.
  if (is_ip_literal(server_name_)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_->native_handle()), server_name_.c_str());
  } else {
    SSL_set_hostflags(ssl_->native_handle(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl_->native_handle(), server_name_.c_str());
  }
  ssl_->async_handshake(ssl::stream_base::client,
                        [self = shared_from_this(), done = std::move(done)](
                            const boost::system::error_code& e) mutable {
                          self->on_handshake(e, std::move(done));
                        });
}

void RedisStream::on_handshake(const boost::system::error_code& ec, Step done) {
  if (!ec) return done({}, {});
  std::string what = "TLS handshake failed: " + openssl_reason(ec);
  long verify = SSL_get_verify_result(ssl_->native_handle());
  if (verify != X509_V_OK) {
    cert_rejected_ = true;
    what += ": " + std::string(X509_verify_cert_error_string(verify));
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      what += " (the certificate is not for \"" + server_name_ + "\"; see redis_tls_server_name)";
    }
  }
  done(ec, what);
}

void RedisStream::async_read_some(char* data, std::size_t size, Io done) {
  auto h = [self = shared_from_this(), done = std::move(done)](const boost::system::error_code& ec,
                                                               std::size_t n) { done(ec, n); };
  if (ssl_) {
    ssl_->async_read_some(asio::buffer(data, size), std::move(h));
  } else {
    plain_->async_read_some(asio::buffer(data, size), std::move(h));
  }
}

void RedisStream::async_write(const char* data, std::size_t size, Io done) {
  auto h = [self = shared_from_this(), done = std::move(done)](const boost::system::error_code& ec,
                                                               std::size_t n) { done(ec, n); };
  if (ssl_) {
    asio::async_write(*ssl_, asio::buffer(data, size), std::move(h));
  } else {
    asio::async_write(*plain_, asio::buffer(data, size), std::move(h));
  }
}

void RedisStream::close() {
  boost::system::error_code ignored;
  resolver_.cancel();
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

}  // namespace iamq::queue
