#pragma once
/// Sentinel: a subscription to `+switch-master` on one sentinel at a time (the next one when
/// it goes away), reporting each failover of one master as "host:port" of the new master.
/// The connection uses it to move at once instead of after a backoff.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "queue/redis_url.hpp"

namespace iamq::queue {

class RedisConnection;

/// Parses a `+switch-master` message payload ("<name> <old-ip> <old-port> <new-ip>
/// <new-port>"); returns "new-ip:new-port" when it is about `master`, empty otherwise.
std::string switch_master_target(const std::string& payload, const std::string& master);

class SentinelWatch {
 public:
  /// `endpoint`: the redis-sentinel:// endpoint (nodes, master name, sentinel AUTH).
  SentinelWatch(boost::asio::io_context& ioc, RedisEndpoint endpoint, std::string name,
                std::chrono::milliseconds connect_timeout,
                std::function<void(const std::string& new_master)> on_switch);
  ~SentinelWatch();
  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace iamq::queue
