#pragma once
/// Private to the queue library: the state of one RedisConnection, shared by its parts —
/// redis_connection.cpp (commands, replies, WAIT, timeouts), redis_connection_link.cpp
/// (connect, handshake, reconnect with backoff, stop), redis_connection_cluster.cpp (Redis
/// Cluster: the slot's master, MOVED, ASK, TRYAGAIN) and redis_connection_sentinel.cpp
/// (Sentinel discovery and +switch-master).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "queue/cluster_slots.hpp"
#include "queue/reconnect_backoff.hpp"
#include "queue/redis_connection.hpp"
#include "queue/redis_stream.hpp"
#include "queue/resp_parser.hpp"
#include "queue/sentinel_watch.hpp"

namespace iamq::queue {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct RedisConnection::Impl : std::enable_shared_from_this<Impl> {
  enum class State { idle, connecting, handshake, ready, backoff, failed, stopped };

  struct Call {
    std::string wire;  // the formatted command (kept until it is written)
    Completion done;
    Clock::time_point deadline;
    bool sent = false;
    bool internal = false;  // a handshake step (AUTH, SELECT, PING, ROLE)
    std::shared_ptr<int> wait_want;  // a WAIT: its replica count, fixed when it is written
    std::vector<std::string> args;   // cluster: kept to send again after MOVED/ASK/TRYAGAIN
    int redirects = 0;               // MOVED/ASK followed for this command (bounded)
    int tryagains = 0;               // TRYAGAIN answers (bounded by the deadline)
  };

  Impl(asio::io_context& io, Options o)
      : ioc(io),
        opts(std::move(o)),
        backoff(opts.backoff_min, opts.backoff_max),
        deadline_timer(io),
        retry_timer(io),
        connect_timer(io) {
    if (opts.endpoint.tls.enabled) tls_ctx = make_tls_context(opts.endpoint.tls);
  }

  // ---- commands ----

  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Completion done,
               bool internal = false, std::shared_ptr<int> wait_want = nullptr);

  /// Appends the command to the output buffer; it goes out with the next write (pipelined).
  void send(std::uint64_t id);
  void flush();
  void on_write(const boost::system::error_code& ec);
  void read_more();
  void on_read(const boost::system::error_code& ec, std::string_view bytes);
  void on_reply(Reply reply);

  // ---- Redis Cluster: MOVED, ASK, TRYAGAIN ----

  bool cluster_possible() const {
    return opts.endpoint.kind == RedisEndpoint::Kind::standalone &&
           opts.endpoint.cluster != RedisEndpoint::Cluster::off;
  }

  /// Follows a redirection of command `id`; false when the reply is the command's answer.
  bool redirected(std::uint64_t id, const Reply& reply);

  /// Sends command `id` again on the current connection (or when it is up).
  void resend(std::uint64_t id);

  /// ASK: `ASKING` then the command, on a connection to `node` (kept while the slot moves).
  void ask(std::uint64_t id, const RedisNode& node);

  /// Connects to `node` at once (a MOVED, or the slot map named another master).
  void move_to(const RedisNode& node, const std::string& why, bool quiet);
  void complete(std::uint64_t id, Errc e, Reply reply);
  void flush_deferred();
  void post_done(Completion done, Errc e, Reply reply);

  // ---- WAIT ----

  void command_replicated(std::vector<std::string> args, Completion done);
  void note_wait(int want, long long got);

  /// ROLE of a master: ["master", offset, [[ip, port, offset], …]].
  void note_role(const Reply& r);

  // ---- timeouts ----

  void arm_deadline();
  void on_deadline();

  // ---- connection life cycle ----

  void connect();

  /// Sentinel: asks sentinel `i` where the master is; on failure the next one.
  void ask_sentinel(std::size_t i);

  /// Sentinel (worker): a subscription to +switch-master (queue/sentinel_watch), so a
  /// failover moves this connection to the new master at once instead of after a backoff.
  void watch_sentinels();

  /// The probe may be the connection whose completion is running: destroy it later.
  void retire_probe();
  void open(const RedisNode& node);
  void on_open(const boost::system::error_code& ec, const std::string& what);
  void start_handshake();

  /// The handshake's CLUSTER SLOTS: stay (this node serves the queue's slot, or it is not a
  /// cluster), move to the slot's master, or fail. False when the connection was left.
  bool on_cluster_slots(const Reply& r);

  /// Empty when the handshake step succeeded; otherwise what is wrong (no secrets).
  static std::string check_step(const std::string& what, std::error_code ec, const Reply& r);
  void on_ready();

  /// Drops the current connection on our initiative or after an I/O error.
  void drop_connection(const std::string& reason);
  void close_stream();

  /// The connection is gone (connect failed, dropped, or closed): reconnect or fail.
  void on_down(const std::string& reason);
  void start();
  void reconnect_now(const std::string& why);
  void stop();

  asio::io_context& ioc;
  Options opts;
  State state = State::idle;
  std::shared_ptr<asio::ssl::context> tls_ctx;  // outlives every stream made with it
  std::shared_ptr<RedisStream> stream;          // the current connection attempt
  std::unique_ptr<RespParser> parser;           // fresh for every stream
  std::string outbuf;                           // formatted, not yet written
  bool writing = false;
  std::map<std::uint64_t, Call> calls;      // sent or waiting, by id (= send order)
  std::deque<std::uint64_t> unsent;         // waiting for a connection, in order
  std::deque<std::uint64_t> inflight;       // written, waiting for their reply, in order
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines;
  std::uint64_t next_id = 1;
  std::uint64_t generation = 0;
  ReconnectBackoff backoff;
  bool down_logged = false;
  bool deadline_armed = false;
  Clock::time_point armed_for{};
  std::string last_err;
  RedisNode target;                        // where the current stream goes
  std::unique_ptr<RedisConnection> probe;    // Sentinel: the sentinel being asked
  std::unique_ptr<SentinelWatch> watcher;    // Sentinel: subscribed to +switch-master
  std::string discovery_errors;
  // Cluster. Calls sent again elsewhere (ASK) or later (TRYAGAIN) are `held`; completions of
  // later calls wait in `deferred` so that they still run in command order.
  static constexpr int kMaxRedirects = 5;
  struct Deferred {
    Completion done;
    Errc e;
    Reply reply;
  };
  bool cluster_active = false;             // the current node is a cluster node
  std::optional<RedisNode> next_target;    // MOVED / slot map: connect here next
  std::size_t seed_index = 0;              // the seed tried next
  std::size_t seed_failures = 0;           // failed attempts since the last ready (CLI)
  int hops = 0;                            // slot-map moves without reaching the slot's master
  std::set<std::uint64_t> held;
  std::map<std::uint64_t, Deferred> deferred;
  std::map<std::string, std::unique_ptr<RedisConnection>> ask_conns;  // ASK targets
  int replicas_known = -1;  // from ROLE at connect / every 10 s while 0
  Clock::time_point role_checked{};
  bool wait_short_logged = false;
  std::function<void(bool)> state_cb;
  std::function<void(Reply)> push_cb;
  std::function<void(const std::string&)> fatal_cb;
  std::minstd_rand rng{std::random_device{}()};
  // Timers last: destroyed first, their handlers only hold weak references.
  asio::steady_timer deadline_timer;
  asio::steady_timer retry_timer;
  asio::steady_timer connect_timer;
};

}  // namespace iamq::queue
