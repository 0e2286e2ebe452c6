#pragma once
/// One Redis connection: RESP (queue/resp_parser: hiredis's reader and formatter, sans-io)
/// over an Asio `tcp::socket`, or `ssl::stream` for rediss:// (queue/redis_stream).
///
/// - Commands are queued while disconnected and sent (pipelined) once connected.
/// - Every command has a timeout (asio timer); a timed-out command fails with Errc::timeout
///   and the connection is dropped and re-established.
/// - With `reconnect` on (the worker), the connection comes back with exponential backoff
///   (capped, jittered) after Redis restarts or drops; the outage is logged once, and once
///   when it ends. The backoff and the outage only end when a connection has proved to be
///   Redis (the handshake's PING answered), so a server that accepts TCP and then talks
///   garbage is retried ever more slowly and logged once. With `reconnect` off (the CLI), a
///   failed connect fails every queued command at once.
/// - Handshake on every (re)connect: AUTH (password or ACL user+password), SELECT, PING, and
///   for Sentinel `ROLE` (must be master; the master is found with
///   SENTINEL get-master-addr-by-name, asking each sentinel in turn).
/// - Completions run on the io_context (posted, never inside a read handler), in command order.
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
    /// Bound on one reply's memory (see RespParser::Limits).
    std::size_t max_reply_bytes = std::size_t{64} << 20;
    /// command_replicated(): WAIT for this many replicas (0: off). WAIT is skipped while the
    /// master reports no replica (ROLE, checked on connect and every 10 s while it has none).
    int wait_replicas = 0;
    std::chrono::milliseconds wait_timeout{1000};
  };

  /// Throws std::runtime_error naming the setting when a TLS file cannot be used.
  RedisConnection(boost::asio::io_context& ioc, Options opts);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Sends `args` as one command. `timeout` overrides Options::command_timeout (for
  /// blocking commands pass block time + margin). The timeout counts from this call,
  /// including time spent waiting for a connection.
  void command(std::vector<std::string> args, Completion done);
  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Completion done);

  /// Like command(), then `WAIT wait_replicas wait_timeout` pipelined behind it: completes
  /// (with the command's own result) once that many replicas have the write or the WAIT
  /// timed out. For writes whose loss in a failover would lose a job or a result. A WAIT that
  /// falls short is logged (once until replication catches up) and does not fail the command.
  void command_replicated(std::vector<std::string> args, Completion done);
  /// Replicas the master reported at the last check (-1: not known yet).
  int replicas() const;

  /// Connects now (commands also connect lazily).
  void start();
  /// Closes the connection; outstanding and queued commands fail with Errc::stopped.
  void stop();

  /// True while a connection is established and authenticated.
  bool connected() const;
  /// Called with true when the connection comes up, false when it goes down.
  void on_state_change(std::function<void(bool up)> cb);
  /// Replies no command is waiting for (pub/sub messages after SUBSCRIBE).
  void on_push(std::function<void(Reply)> cb);
  /// Called once per failure that retrying cannot fix (the server's certificate does not
  /// verify), with the reason; the connection keeps retrying unless stopped.
  void on_fatal(std::function<void(const std::string& why)> cb);
  /// Drops the current connection and connects again (for Sentinel: asks the sentinels
  /// again); outstanding commands fail with Errc::disconnected.
  void reconnect_now(const std::string& why);
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
  std::shared_ptr<Impl> impl_;  // shared: asio handlers hold weak refs
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
