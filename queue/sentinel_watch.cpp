#include "queue/sentinel_watch.hpp"

#include <boost/asio/post.hpp>

#include "queue/redis_connection.hpp"

namespace iamq::queue {

namespace asio = boost::asio;

std::string switch_master_target(const std::string& text, const std::string& master) {
  auto sp = text.find(' ');
  if (sp == std::string::npos || text.substr(0, sp) != master) return {};
  auto last = text.rfind(' ');
  if (last == std::string::npos || last == 0) return {};
  auto before = text.rfind(' ', last - 1);
  if (before == std::string::npos || before <= sp) return {};
  return text.substr(before + 1, last - before - 1) + ":" + text.substr(last + 1);
}

struct SentinelWatch::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, RedisEndpoint ep, std::string n, std::chrono::milliseconds ct,
       std::function<void(const std::string&)> cb)
      : ioc(io), endpoint(std::move(ep)), name(std::move(n)), connect_timeout(ct), on_switch(std::move(cb)) {}

  void watch() {
    if (stopped || endpoint.nodes.empty()) return;
    const auto& node = endpoint.nodes[index % endpoint.nodes.size()];
    RedisConnection::Options o;
    o.endpoint.host = node.host;
    o.endpoint.port = node.port;
    o.endpoint.user = endpoint.sentinel_user;
    o.endpoint.password = endpoint.sentinel_password;
    o.endpoint.cluster = RedisEndpoint::Cluster::off;
    o.name = name;
    o.reconnect = true;
    o.connect_timeout = connect_timeout;
    conn = std::make_unique<RedisConnection>(ioc, o);
    auto w = weak_from_this();
    conn->on_push([w](Reply r) {
      auto self = w.lock();
      // ["message", "+switch-master", payload]
      if (!self || !r.is_array() || r.elements.size() != 3 || r.elements[0].str != "message") return;
      auto target = switch_master_target(r.elements[2].str, self->endpoint.master_name);
      if (!target.empty() && self->on_switch) self->on_switch(target);
    });
    conn->on_state_change([w](bool up) {
      auto self = w.lock();
      if (!self || !self->conn) return;
      if (up) {
        self->conn->command({"SUBSCRIBE", "+switch-master"}, [](std::error_code, Reply) {});
        return;
      }
      // Watch the next sentinel; this one is destroyed later (we are inside its callback).
      asio::post(self->ioc, [p = std::shared_ptr<RedisConnection>(std::move(self->conn))] {});
      ++self->index;
      asio::post(self->ioc, [w] {
        if (auto s = w.lock()) s->watch();
      });
    });
    conn->start();
  }

  asio::io_context& ioc;
  RedisEndpoint endpoint;
  std::string name;
  std::chrono::milliseconds connect_timeout;
  std::function<void(const std::string&)> on_switch;
  std::unique_ptr<RedisConnection> conn;
  std::size_t index = 0;
  bool stopped = false;
};

SentinelWatch::SentinelWatch(asio::io_context& ioc, RedisEndpoint endpoint, std::string name,
                             std::chrono::milliseconds connect_timeout,
                             std::function<void(const std::string&)> on_switch)
    : impl_(std::make_shared<Impl>(ioc, std::move(endpoint), std::move(name), connect_timeout,
                                   std::move(on_switch))) {
  impl_->watch();
}

SentinelWatch::~SentinelWatch() {
  impl_->stopped = true;
  impl_->conn.reset();
}

}  // namespace iamq::queue
