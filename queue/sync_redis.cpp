// SyncRedis: the blocking convenience for the CLI, on RedisConnection.
#include <stdexcept>

#include "queue/redis_connection.hpp"

namespace iamq::queue {

namespace asio = boost::asio;

SyncRedis::SyncRedis(const RedisEndpoint& endpoint, std::chrono::milliseconds timeout)
    : ioc_(std::make_unique<asio::io_context>()) {
  RedisConnection::Options o;
  o.endpoint = endpoint;
  o.name = "redis";
  o.command_timeout = timeout;
  o.connect_timeout = timeout;
  o.reconnect = false;
  conn_ = std::make_unique<RedisConnection>(*ioc_, o);
}

SyncRedis::~SyncRedis() {
  conn_->stop();
  conn_.reset();
}

std::error_code SyncRedis::try_call(std::vector<std::string> args, Reply& out) {
  bool finished = false;
  std::error_code result;
  conn_->command(std::move(args), [&](std::error_code ec, Reply r) {
    finished = true;
    result = ec;
    out = std::move(r);
  });
  ioc_->restart();
  while (!finished && ioc_->run_one() > 0) {
  }
  if (!finished) return make_error_code(Errc::stopped);
  return result;
}

Reply SyncRedis::call(std::vector<std::string> args) {
  std::string name = args.empty() ? std::string() : args[0];
  Reply r;
  auto ec = try_call(std::move(args), r);
  if (ec == Errc::server_error) throw std::runtime_error("Redis " + name + ": " + r.str);
  if (ec == Errc::not_connected || ec == Errc::connect_failed) {
    throw std::runtime_error("cannot connect to Redis: " + conn_->last_error());
  }
  if (ec) throw std::runtime_error("Redis " + name + ": " + ec.message());
  return r;
}

asio::io_context& SyncRedis::io_context() {
  return *ioc_;
}
RedisConnection& SyncRedis::connection() {
  return *conn_;
}

}  // namespace iamq::queue
