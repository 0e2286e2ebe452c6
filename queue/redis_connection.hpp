#pragma once
/// One Redis connection: hiredis's async API driven by a boost::asio::io_context.
///
/// - Commands are queued while disconnected and sent (pipelined) once connected.
/// - Every command has a timeout (asio timer); a timed-out command fails with Errc::timeout
///   and the connection is dropped and re-established (hiredis 0.14 has no timeouts).
/// - With `reconnect` on (the worker), the connection comes back with exponential backoff
///   after Redis restarts or drops; the outage is logged once, and once when it ends.
///   With `reconnect` off (the CLI), a failed connect fails every queued command at once.
/// - AUTH (password or ACL user+password) and SELECT are sent first on every (re)connect.
/// - Completions run on the io_context (posted, never inside hiredis), in command order.
/// Use one connection for blocking reads (XREADGROUP BLOCK) and another for everything else.
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "queue/error.hpp"
#include "queue/redis_url.hpp"
#include "queue/reply.hpp"

namespace iamq::queue {

class RedisConnection {
 public:
  /// Completion of one command. `ec` is set for transport failures (timeout, disconnected…)
  /// and for Redis error replies (Errc::server_error; `reply` then holds the error text).
  using Completion = std::function<void(std::error_code ec, Reply reply)>;

  struct Options {
    RedisEndpoint endpoint;
    std::string name = "redis";  ///< for log lines ("redis", "redis-blocking")
    std::chrono::milliseconds command_timeout{5000};
    std::chrono::milliseconds connect_timeout{5000};
    bool reconnect = true;  ///< false: a failed connect fails queued commands (CLI)
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{5000};
  };

  RedisConnection(boost::asio::io_context& ioc, Options opts);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Sends `args` as one command. `timeout` overrides Options::command_timeout (for
  /// blocking commands pass block time + margin). The timeout counts from this call,
  /// including time spent waiting for a connection.
  void command(std::vector<std::string> args, Completion done);
  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Completion done);

  /// Connects now (commands also connect lazily).
  void start();
  /// Closes the connection; outstanding and queued commands fail with Errc::stopped.
  void stop();

  /// True while a connection is established and authenticated.
  bool connected() const;
  /// Called with true when the connection comes up, false when it goes down.
  void on_state_change(std::function<void(bool up)> cb);
  /// Commands sent or queued and not yet completed.
  std::size_t outstanding() const;

  const Options& options() const;
  /// The io_context completions run on.
  boost::asio::io_context& context() const;
  /// The last connection error as text ("Connection refused", "AUTH failed: WRONGPASS …"),
  /// with the endpoint redacted; empty if none.
  std::string last_error() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared: hiredis callbacks and asio handlers hold weak refs
};

/// Blocking convenience for the CLI commands: runs a private io_context until the reply
/// arrives (the same RedisConnection code path underneath). Not for use on the worker loop.
class SyncRedis {
 public:
  explicit SyncRedis(const RedisEndpoint& endpoint,
                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~SyncRedis();
  /// Runs one command; throws std::runtime_error naming the command and Redis's message.
  Reply call(std::vector<std::string> args);
  /// Runs one command; returns the error instead of throwing.
  std::error_code try_call(std::vector<std::string> args, Reply& out);
  boost::asio::io_context& io_context();
  RedisConnection& connection();

 private:
  std::unique_ptr<boost::asio::io_context> ioc_;  // declared first: destroyed last
  std::unique_ptr<RedisConnection> conn_;
};

}  // namespace iamq::queue
