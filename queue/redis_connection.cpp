#include "queue/redis_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "queue/reconnect_backoff.hpp"
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
               bool internal = false, std::shared_ptr<int> wait_want = nullptr) {
    std::uint64_t id = next_id++;
    Call c;
    c.wait_want = std::move(wait_want);
    c.done = std::move(done);
    c.deadline = Clock::now() + timeout;
    c.internal = internal;
    if (state == State::stopped) {
      post_done(std::move(c.done), Errc::stopped, {});
      return;
    }
    if (state == State::failed && !internal) {
      post_done(std::move(c.done), Errc::not_connected, {});
      return;
    }
    append_command(c.wire, args);
    deadlines.emplace(c.deadline, id);
    calls.emplace(id, std::move(c));
    arm_deadline();
    if (internal || state == State::ready) {
      send(id);
    } else {
      unsent.push_back(id);
      if (state == State::idle) connect();
    }
  }

  /// Appends the command to the output buffer; it goes out with the next write (pipelined).
  void send(std::uint64_t id) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    if (!stream) {
      complete(id, Errc::disconnected, {});
      return;
    }
    Call& c = it->second;
    if (c.wait_want) {
      *c.wait_want = std::min(opts.wait_replicas, std::max(replicas_known, 0));
      c.wire.clear();
      append_command(c.wire, {"WAIT", std::to_string(*c.wait_want),
                              std::to_string(*c.wait_want > 0 ? opts.wait_timeout.count() : 0)});
    }
    outbuf += c.wire;
    std::string().swap(c.wire);
    c.sent = true;
    inflight.push_back(id);
    flush();
  }

  void flush() {
    if (writing || outbuf.empty() || !stream) return;
    writing = true;
    // The bytes in flight live in a shared buffer the handler keeps alive.
    auto buf = std::make_shared<std::string>();
    buf->swap(outbuf);
    stream->async_write(buf->data(), buf->size(),
                        [w = weak_from_this(), gen = generation, buf](
                            const boost::system::error_code& ec, std::size_t) {
                          auto self = w.lock();
                          if (!self || gen != self->generation) return;
                          self->on_write(ec);
                        });
  }

  void on_write(const boost::system::error_code& ec) {
    writing = false;
    if (ec) return drop_connection("write failed: " + ec.message());
    flush();
  }

  void read_more() {
    auto buf = std::make_shared<std::array<char, 64 * 1024>>();
    stream->async_read_some(buf->data(), buf->size(),
                            [w = weak_from_this(), gen = generation, buf](
                                const boost::system::error_code& ec, std::size_t n) {
                              auto self = w.lock();
                              if (!self || gen != self->generation) return;
                              self->on_read(ec, std::string_view(buf->data(), n));
                            });
  }

  void on_read(const boost::system::error_code& ec, std::string_view bytes) {
    if (ec) {
      bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      return drop_connection(eof ? "connection closed by server" : ec.message());
    }
    parser->feed(bytes);
    const auto gen = generation;
    while (auto reply = parser->next()) {
      on_reply(std::move(*reply));
      if (gen != generation) return;  // the reply dropped the connection
    }
    if (parser->error()) {
      std::string what = parser->error() == Errc::reply_too_large ? "reply too large: "
                                                                  : "not RESP (is this Redis?): ";
      return drop_connection(what + parser->error_message());
    }
    read_more();
  }

  void on_reply(Reply reply) {
    if (inflight.empty()) {
      if (push_cb) {
        asio::post(ioc, [w = weak_from_this(), reply = std::move(reply)]() mutable {
          if (auto self = w.lock(); self && self->push_cb) self->push_cb(std::move(reply));
        });
        return;
      }
      return drop_connection("a reply no command was waiting for: " + to_debug_string(reply));
    }
    auto id = inflight.front();
    inflight.pop_front();
    Errc e = reply.is_error() ? Errc::server_error : Errc::ok;
    complete(id, e, std::move(reply));
  }

  void complete(std::uint64_t id, Errc e, Reply reply) {
    auto it = calls.find(id);
    if (it == calls.end()) return;  // timed out earlier
    Call c = std::move(it->second);
    calls.erase(it);
    deadlines.erase({c.deadline, id});
    post_done(std::move(c.done), e, std::move(reply));
  }

  void post_done(Completion done, Errc e, Reply reply) {
    if (!done) return;
    asio::post(ioc, [done = std::move(done), e, reply = std::move(reply)]() mutable {
      done(e == Errc::ok ? std::error_code() : make_error_code(e), std::move(reply));
    });
  }

  // ---- WAIT ----

  void command_replicated(std::vector<std::string> args, Completion done) {
    if (opts.wait_replicas <= 0) return command(std::move(args), opts.command_timeout, std::move(done));
    if (replicas_known == 0 && state == State::ready &&
        Clock::now() - role_checked > std::chrono::seconds(10)) {
      // Replicas may have attached since: look again, for the next writes.
      role_checked = Clock::now();
      command({"ROLE"}, opts.command_timeout, [w = weak_from_this()](std::error_code ec, Reply r) {
        if (auto self = w.lock(); self && !ec) self->note_role(r);
      });
    }
    auto result = std::make_shared<std::pair<std::error_code, Reply>>();
    command(std::move(args), opts.command_timeout,
            [result](std::error_code ec, Reply r) { *result = {ec, std::move(r)}; });
    // The WAIT's count is fixed when it is written (after a reconnect's ROLE): WAIT 0 0 when
    // the master has no replica, which answers at once.
    auto want = std::make_shared<int>(0);
    command({"WAIT"}, opts.command_timeout + opts.wait_timeout,
            [w = weak_from_this(), result, want, done = std::move(done)](std::error_code ec,
                                                                         Reply r) {
              // Completions run in command order: the command's has run when WAIT's runs.
              auto self = w.lock();
              if (self && !ec && !result->first && *want > 0) self->note_wait(*want, r.integer);
              if (done) done(result->first ? result->first : ec, std::move(result->second));
            },
            /*internal=*/false, want);
  }

  void note_wait(int want, long long got) {
    if (got >= want) {
      if (wait_short_logged) {
        spdlog::info("{}: writes reach {} replica(s) again", opts.name, got);
        wait_short_logged = false;
      }
      return;
    }
    if (!wait_short_logged) {
      spdlog::warn(
          "{}: WAIT: a write reached {} of {} replica(s) within {} ms; going on (a failover now "
          "could lose it). Logged once until replication catches up",
          opts.name, got, want, opts.wait_timeout.count());
      wait_short_logged = true;
    }
  }

  /// ROLE of a master: ["master", offset, [[ip, port, offset], …]].
  void note_role(const Reply& r) {
    if (r.is_array() && r.elements.size() >= 3 && r.elements[0].str == "master") {
      replicas_known = static_cast<int>(r.elements[2].elements.size());
    }
  }

  // ---- timeouts ----

  void arm_deadline() {
    if (deadlines.empty()) return;
    auto first = deadlines.begin()->first;
    if (deadline_armed && first >= armed_for) return;
    deadline_armed = true;
    armed_for = first;
    deadline_timer.expires_at(first);
    deadline_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec == asio::error::operation_aborted) return;
      self->on_deadline();
    });
  }

  void on_deadline() {
    deadline_armed = false;
    auto now = Clock::now();
    bool drop = false;
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      auto id = deadlines.begin()->second;
      auto it = calls.find(id);
      if (it != calls.end() && it->second.sent) drop = true;
      unsent.erase(std::remove(unsent.begin(), unsent.end(), id), unsent.end());
      complete(id, Errc::timeout, {});
    }
    if (drop && stream) {
      // The reply stream is stuck (or Redis hangs): replies can no longer be matched to
      // commands, so start over on a fresh connection.
      spdlog::warn("{}: command timed out; dropping the connection to {}", opts.name,
                   opts.endpoint.redacted());
      drop_connection("command timed out");
    }
    arm_deadline();
  }

  // ---- connection life cycle ----

  void connect() {
    retry_timer.cancel();
    state = State::connecting;
    ++generation;
    connect_timer.expires_after(opts.connect_timeout);
    connect_timer.async_wait(
        [w = weak_from_this(), gen = generation](const boost::system::error_code& ec) {
          auto self = w.lock();
          if (!self || ec || gen != self->generation) return;
          if (self->state == State::connecting || self->state == State::handshake) {
            self->drop_connection("connect timed out after " +
                                  std::to_string(self->opts.connect_timeout.count()) + " ms");
          }
        });
    if (opts.endpoint.kind == RedisEndpoint::Kind::sentinel) {
      watch_sentinels();
      discovery_errors.clear();
      ask_sentinel(0);
    } else {
      open(RedisNode{opts.endpoint.host, opts.endpoint.port});
    }
  }

  /// Sentinel: asks sentinel `i` where the master is; on failure the next one.
  void ask_sentinel(std::size_t i) {
    const auto& ep = opts.endpoint;
    if (i >= ep.nodes.size()) {
      return on_down("no sentinel knows master \"" + ep.master_name + "\": " + discovery_errors);
    }
    RedisConnection::Options o;
    o.endpoint.host = ep.nodes[i].host;
    o.endpoint.port = ep.nodes[i].port;
    o.endpoint.user = ep.sentinel_user;
    o.endpoint.password = ep.sentinel_password;
    o.name = opts.name + "-sentinel";
    o.reconnect = false;
    o.connect_timeout = o.command_timeout = std::min(opts.connect_timeout, opts.command_timeout);
    probe = std::make_unique<RedisConnection>(ioc, o);
    probe->command(
        {"SENTINEL", "get-master-addr-by-name", ep.master_name},
        [w = weak_from_this(), gen = generation, i](std::error_code ec, Reply r) {
          auto self = w.lock();
          if (!self || gen != self->generation || self->state != State::connecting) return;
          std::string where = self->opts.endpoint.nodes[i].to_string();
          RedisNode master;
          bool ok = !ec && r.is_array() && r.elements.size() == 2;
          if (ok) {
            master.host = r.elements[0].as_string().value_or("");
            auto port = r.elements[1].as_integer();
            ok = !master.host.empty() && port && *port > 0 && *port < 65536;
            if (ok) master.port = static_cast<int>(*port);
          }
          if (!ok) {
            std::string why = ec ? (r.is_error() ? r.str : ec == Errc::not_connected
                                                              ? self->probe->last_error()
                                                              : ec.message())
                                 : "does not know the master";
            self->discovery_errors += (self->discovery_errors.empty() ? "" : "; ") + where +
                                      ": " + why;
            self->retire_probe();
            return self->ask_sentinel(i + 1);
          }
          self->retire_probe();
          self->target = master;
          self->open(master);
        });
  }

  /// Sentinel (worker): a subscription to +switch-master (queue/sentinel_watch), so a
  /// failover moves this connection to the new master at once instead of after a backoff.
  void watch_sentinels() {
    if (watcher || !opts.reconnect || opts.endpoint.nodes.empty()) return;
    watcher = std::make_unique<SentinelWatch>(
        ioc, opts.endpoint, opts.name + "-sentinel-watch", opts.connect_timeout,
        [w = weak_from_this()](const std::string& where) {
          auto self = w.lock();
          if (!self) return;
          if (self->state == State::ready && where == self->target.to_string()) return;
          self->reconnect_now("Sentinel: +switch-master, the master is now " + where);
        });
  }

  /// The probe may be the connection whose completion is running: destroy it later.
  void retire_probe() {
    if (!probe) return;
    asio::post(ioc, [p = std::shared_ptr<RedisConnection>(std::move(probe))] {});
  }

  void open(const RedisNode& node) {
    target = node;
    stream = std::make_shared<RedisStream>(ioc, tls_ctx);
    RespParser::Limits lim;
    lim.max_reply_bytes = opts.max_reply_bytes;
    parser = std::make_unique<RespParser>(lim);
    writing = false;
    outbuf.clear();
    inflight.clear();
    stream->async_open(node.host, node.port, opts.endpoint.tls.server_name,
                       [w = weak_from_this(), gen = generation](const boost::system::error_code& ec,
                                                                std::string what) {
                         auto self = w.lock();
                         if (!self || gen != self->generation) return;
                         self->on_open(ec, what);
                       });
  }

  void on_open(const boost::system::error_code& ec, const std::string& what) {
    if (ec) {
      if (stream && stream->certificate_rejected() && fatal_cb) {
        asio::post(ioc, [w = weak_from_this(), what] {
          if (auto self = w.lock(); self && self->fatal_cb) self->fatal_cb(what);
        });
      }
      return drop_connection(what);
    }
    read_more();
    start_handshake();
  }

  void start_handshake() {
    state = State::handshake;
    const auto& ep = opts.endpoint;
    std::vector<std::vector<std::string>> steps;
    if (!ep.password.empty()) {
      if (ep.user.empty()) {
        steps.push_back({"AUTH", ep.password});
      } else {
        steps.push_back({"AUTH", ep.user, ep.password});
      }
    }
    if (ep.db != 0) steps.push_back({"SELECT", std::to_string(ep.db)});
    // PING proves the peer speaks RESP and is Redis; until it answers, the outage goes on.
    steps.push_back({"PING"});
    if (ep.kind == RedisEndpoint::Kind::sentinel || opts.wait_replicas > 0) {
      steps.push_back({"ROLE"});
    }
    auto left = std::make_shared<std::size_t>(steps.size());
    for (auto& args : steps) {
      std::string what = args[0];
      command(
          std::move(args), opts.connect_timeout,
          [w = weak_from_this(), gen = generation, left, what](std::error_code ec, Reply r) {
            auto self = w.lock();
            if (!self || gen != self->generation || self->state != State::handshake) return;
            if (what == "ROLE" && self->opts.endpoint.kind != RedisEndpoint::Kind::sentinel) {
              // Only to count replicas for WAIT: a server that refuses ROLE (ACL) has none known.
              self->role_checked = Clock::now();
              self->replicas_known = 0;
              if (!ec) self->note_role(r);
            } else if (auto problem = check_step(what, ec, r); !problem.empty()) {
              return self->drop_connection(problem);
            } else if (what == "ROLE") {
              self->role_checked = Clock::now();
              self->note_role(r);
            }
            if (--*left == 0) self->on_ready();
          },
          /*internal=*/true);
    }
  }

  /// Empty when the handshake step succeeded; otherwise what is wrong (no secrets).
  static std::string check_step(const std::string& what, std::error_code ec, const Reply& r) {
    if (ec) return what + " failed: " + (r.is_error() ? r.str : ec.message());
    if (what == "PING" && !(r.type == Reply::Type::status && r.str == "PONG")) {
      return "not a Redis server: PING answered " + to_debug_string(r);
    }
    if (what == "ROLE") {
      std::string role = r.is_array() && !r.elements.empty()
                             ? r.elements[0].as_string().value_or("?")
                             : "?";
      if (role != "master") return "ROLE is \"" + role + "\", not master (failover in progress?)";
    }
    return {};
  }

  void on_ready() {
    connect_timer.cancel();
    state = State::ready;
    backoff.reset();
    last_err.clear();
    std::string where = opts.endpoint.kind == RedisEndpoint::Kind::sentinel
                            ? opts.endpoint.redacted() + " (master " + target.to_string() + ")"
                            : opts.endpoint.redacted();
    if (down_logged) {
      spdlog::info("{}: connected to {} again", opts.name, where);
      down_logged = false;
    } else {
      spdlog::debug("{}: connected to {}", opts.name, where);
    }
    auto ids = std::move(unsent);
    unsent.clear();
    for (auto id : ids) send(id);
    if (state_cb) state_cb(true);
  }

  /// Drops the current connection on our initiative or after an I/O error.
  void drop_connection(const std::string& reason) {
    close_stream();
    on_down(reason);
  }

  void close_stream() {
    ++generation;  // every handler of the old stream now sees a stale generation
    if (stream) {
      stream->close();
      stream.reset();
    }
    parser.reset();
    writing = false;
    outbuf.clear();
    inflight.clear();
    if (probe) retire_probe();
  }

  /// The connection is gone (connect failed, dropped, or closed): reconnect or fail.
  void on_down(const std::string& reason) {
    if (state == State::stopped) return;
    if (stream || parser) close_stream();
    bool was_ready = state == State::ready;
    connect_timer.cancel();
    last_err = reason + " (" + opts.endpoint.redacted() + ")";
    // Commands written to the lost connection: their replies will never come.
    std::vector<std::uint64_t> lost;
    for (auto& [id, c] : calls) {
      if (c.sent || c.internal) lost.push_back(id);
    }
    for (auto id : lost) complete(id, Errc::disconnected, {});
    if (!opts.reconnect) {
      state = State::failed;
      spdlog::debug("{}: {}", opts.name, last_err);
      auto ids = std::move(unsent);
      unsent.clear();
      for (auto id : ids) complete(id, Errc::not_connected, {});
      if (was_ready && state_cb) state_cb(false);
      return;
    }
    if (!down_logged) {
      spdlog::error(
          "{}: Redis unavailable: {}; reconnecting with backoff (logged once until it "
          "is back)",
          opts.name, last_err);
      down_logged = true;
    } else {
      spdlog::debug("{}: still unavailable: {}", opts.name, last_err);
    }
    state = State::backoff;
    auto delay = backoff.next(static_cast<std::uint32_t>(rng()));
    retry_timer.expires_after(delay);
    retry_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec) return;
      if (self->state == State::backoff) self->connect();
    });
    if (was_ready && state_cb) state_cb(false);
  }

  void start() {
    if (state == State::idle || state == State::failed) connect();
  }

  void reconnect_now(const std::string& why) {
    if (state == State::stopped || state == State::idle || state == State::failed) return;
    if (state == State::backoff) {
      retry_timer.cancel();
      connect();
      return;
    }
    spdlog::info("{}: reconnecting: {}", opts.name, why);
    drop_connection(why);
    // A deliberate move (e.g. +switch-master): no need to wait out a backoff.
    if (state == State::backoff) {
      retry_timer.cancel();
      connect();
    }
  }

  void stop() {
    if (state == State::stopped) return;
    state = State::stopped;
    connect_timer.cancel();
    retry_timer.cancel();
    deadline_timer.cancel();
    close_stream();
    watcher.reset();
    std::vector<std::uint64_t> ids;
    for (auto& [id, c] : calls) ids.push_back(id);
    for (auto id : ids) complete(id, Errc::stopped, {});
    unsent.clear();
  }

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

RedisConnection::RedisConnection(asio::io_context& ioc, Options opts)
    : impl_(std::make_shared<Impl>(ioc, std::move(opts))) {}

RedisConnection::~RedisConnection() {
  impl_->stop();
}

void RedisConnection::command(std::vector<std::string> args, Completion done) {
  impl_->command(std::move(args), impl_->opts.command_timeout, std::move(done));
}

void RedisConnection::command(std::vector<std::string> args, std::chrono::milliseconds timeout,
                              Completion done) {
  impl_->command(std::move(args), timeout, std::move(done));
}

void RedisConnection::start() {
  impl_->start();
}
void RedisConnection::stop() {
  impl_->stop();
}
bool RedisConnection::connected() const {
  return impl_->state == Impl::State::ready;
}
void RedisConnection::on_state_change(std::function<void(bool up)> cb) {
  impl_->state_cb = std::move(cb);
}
void RedisConnection::on_push(std::function<void(Reply)> cb) {
  impl_->push_cb = std::move(cb);
}
void RedisConnection::on_fatal(std::function<void(const std::string&)> cb) {
  impl_->fatal_cb = std::move(cb);
}
void RedisConnection::reconnect_now(const std::string& why) {
  impl_->reconnect_now(why);
}
void RedisConnection::command_replicated(std::vector<std::string> args, Completion done) {
  impl_->command_replicated(std::move(args), std::move(done));
}
int RedisConnection::replicas() const {
  return impl_->replicas_known;
}
std::size_t RedisConnection::outstanding() const {
  return impl_->calls.size();
}
const RedisConnection::Options& RedisConnection::options() const {
  return impl_->opts;
}
boost::asio::io_context& RedisConnection::context() const {
  return impl_->ioc;
}
std::string RedisConnection::last_error() const {
  return impl_->last_err;
}

// ---- SyncRedis ----

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
