#include "queue/redis_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

namespace iamq::queue {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

/// The Asio side of one hiredis context: a non-owning stream_descriptor on hiredis's socket.
/// hiredis's ev hooks (addRead/delRead/addWrite/delWrite/cleanup, as in adapters/libuv.h)
/// turn into async_wait calls. hiredis owns the fd and closes it after `cleanup`, so the
/// descriptor is release()d there, never closed. Kept alive by shared_ptr from the Impl and
/// from every pending async_wait handler; `ac` is null once hiredis has let go of the context.
struct Socket : std::enable_shared_from_this<Socket> {
  Socket(asio::io_context& ioc, int fd) : sd(ioc, fd) {}
  ~Socket() { detach(); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void detach() {
    ac = nullptr;
    want_read = want_write = false;
    if (sd.is_open()) {
      boost::system::error_code ignored;
      sd.cancel(ignored);
      sd.release();  // hiredis closes the fd itself
    }
  }

  void arm_read() {
    if (read_armed || !want_read || ac == nullptr) return;
    read_armed = true;
    sd.async_wait(asio::posix::descriptor_base::wait_read,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->read_armed = false;
                    if (ec || self->ac == nullptr || !self->want_read) return;
                    redisAsyncHandleRead(self->ac);  // may free the context (cleanup → detach)
                    self->arm_read();
                  });
  }

  void arm_write() {
    if (write_armed || !want_write || ac == nullptr) return;
    write_armed = true;
    sd.async_wait(asio::posix::descriptor_base::wait_write,
                  [self = shared_from_this()](const boost::system::error_code& ec) {
                    self->write_armed = false;
                    if (ec || self->ac == nullptr || !self->want_write) return;
                    redisAsyncHandleWrite(self->ac);  // may free the context
                    self->arm_write();
                  });
  }

  // hiredis hooks: static trampolines; privdata is the Socket (owned by the Impl's shared_ptr).
  static void add_read(void* p) {
    auto* s = static_cast<Socket*>(p);
    s->want_read = true;
    s->arm_read();
  }
  static void del_read(void* p) { static_cast<Socket*>(p)->want_read = false; }
  static void add_write(void* p) {
    auto* s = static_cast<Socket*>(p);
    s->want_write = true;
    s->arm_write();
  }
  static void del_write(void* p) { static_cast<Socket*>(p)->want_write = false; }
  static void cleanup(void* p) { static_cast<Socket*>(p)->detach(); }

  asio::posix::stream_descriptor sd;
  redisAsyncContext* ac = nullptr;
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
  std::uint64_t generation = 0;
};

}  // namespace

struct RedisConnection::Impl : std::enable_shared_from_this<Impl> {
  enum class State { idle, connecting, handshake, ready, backoff, failed, stopped };

  struct Call {
    std::vector<std::string> args;
    Completion done;
    Clock::time_point deadline;
    bool sent = false;
    bool internal = false;         // AUTH/SELECT of the handshake
    std::uint64_t generation = 0;  // connection it was sent on
  };

  /// hiredis privdata for one command: owned by hiredis between redisAsyncCommandArgv and the
  /// reply callback (released into C, re-wrapped in the trampoline).
  struct CallRef {
    std::weak_ptr<Impl> impl;
    std::uint64_t id;
  };

  Impl(asio::io_context& io, Options o)
      : ioc(io), opts(std::move(o)), deadline_timer(io), retry_timer(io), connect_timer(io) {}

  // ---- commands ----

  void command(std::vector<std::string> args, std::chrono::milliseconds timeout, Completion done,
               bool internal = false) {
    std::uint64_t id = next_id++;
    Call c;
    c.args = std::move(args);
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

  void send(std::uint64_t id) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    Call& c = it->second;
    if (ac == nullptr) {
      complete(id, Errc::disconnected, {});
      return;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    argv.reserve(c.args.size());
    lens.reserve(c.args.size());
    for (const auto& a : c.args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto ref = std::make_unique<CallRef>(CallRef{weak_from_this(), id});
    int rc = redisAsyncCommandArgv(ac, &Impl::on_reply, ref.get(), static_cast<int>(argv.size()),
                                   argv.data(), lens.data());
    if (rc != REDIS_OK) {
      complete(id, Errc::disconnected, {});
      return;
    }
    ref.release();  // hiredis owns it until on_reply
    c.sent = true;
    c.generation = generation;
  }

  /// hiredis reply callback (static trampoline). Runs inside hiredis: only records and posts.
  static void on_reply(redisAsyncContext*, void* r, void* privdata) {
    std::unique_ptr<CallRef> ref(static_cast<CallRef*>(privdata));
    auto self = ref->impl.lock();
    if (!self) return;
    try {
      if (r == nullptr) {
        self->complete(ref->id, self->state == State::stopped ? Errc::stopped : Errc::disconnected,
                       {});
        return;
      }
      Reply reply = decode_reply(static_cast<redisReply*>(r));
      Errc e = reply.is_error() ? Errc::server_error : Errc::ok;
      self->complete(ref->id, e, std::move(reply));
    } catch (...) {
      // never let an exception cross into C (bad_alloc while decoding)
    }
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
    if (drop && ac != nullptr) {
      // The reply stream is stuck (or Redis hangs): start over on a fresh connection.
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
    redisAsyncContext* c = redisAsyncConnect(opts.endpoint.host.c_str(), opts.endpoint.port);
    if (c == nullptr) {
      on_down("out of memory");
      return;
    }
    if (c->err) {
      std::string err = c->errstr;
      redisAsyncFree(c);
      on_down(err);
      return;
    }
    socket = std::make_shared<Socket>(ioc, c->c.fd);
    socket->ac = c;
    socket->generation = generation;
    c->ev.data = socket.get();
    c->ev.addRead = &Socket::add_read;
    c->ev.delRead = &Socket::del_read;
    c->ev.addWrite = &Socket::add_write;
    c->ev.delWrite = &Socket::del_write;
    c->ev.cleanup = &Socket::cleanup;
    // ac->data: a heap weak_ptr owned by this Impl (self_refs_), valid as long as the Impl.
    c->data = self_ref();
    redisAsyncSetConnectCallback(c, &Impl::on_connect_cb);
    redisAsyncSetDisconnectCallback(c, &Impl::on_disconnect_cb);
    ac = c;
    connect_timer.expires_after(opts.connect_timeout);
    connect_timer.async_wait(
        [w = weak_from_this(), gen = generation](const boost::system::error_code& ec) {
          auto self = w.lock();
          if (!self || ec || gen != self->generation) return;
          if (self->state == State::connecting || self->state == State::handshake) {
            self->drop_connection("connect timed out");
          }
        });
  }

  std::weak_ptr<Impl>* self_ref() {
    if (!weak_holder) weak_holder = std::make_unique<std::weak_ptr<Impl>>(weak_from_this());
    return weak_holder.get();
  }

  static std::shared_ptr<Impl> from_context(const redisAsyncContext* c) {
    if (c == nullptr || c->data == nullptr) return nullptr;
    return static_cast<std::weak_ptr<Impl>*>(c->data)->lock();
  }

  /// hiredis connect callback (static trampoline, runs inside hiredis).
  static void on_connect_cb(const redisAsyncContext* c, int status) {
    auto self = from_context(c);
    if (!self || c != self->ac) return;
    if (status != REDIS_OK) {
      // hiredis frees the context right after this callback returns.
      std::string err = c->errstr;
      self->ac = nullptr;
      asio::post(self->ioc, [w = self->weak_from_this(), err, gen = self->generation] {
        auto s = w.lock();
        if (s && gen == s->generation) s->on_down(err);
      });
      return;
    }
    asio::post(self->ioc, [w = self->weak_from_this(), gen = self->generation] {
      auto s = w.lock();
      if (s && gen == s->generation) s->start_handshake();
    });
  }

  /// hiredis disconnect callback (static trampoline): the context is freed after it returns.
  static void on_disconnect_cb(const redisAsyncContext* c, int) {
    auto self = from_context(c);
    if (!self || c != self->ac) return;  // we dropped it ourselves
    std::string err = c->err ? c->errstr : "connection closed by server";
    self->ac = nullptr;
    asio::post(self->ioc, [w = self->weak_from_this(), err, gen = self->generation] {
      auto s = w.lock();
      if (s && gen == s->generation) s->on_down(err);
    });
  }

  void start_handshake() {
    if (ac == nullptr) return;
    state = State::handshake;
    std::vector<std::vector<std::string>> steps;
    if (!opts.endpoint.password.empty()) {
      if (opts.endpoint.user.empty()) {
        steps.push_back({"AUTH", opts.endpoint.password});
      } else {
        steps.push_back({"AUTH", opts.endpoint.user, opts.endpoint.password});
      }
    }
    if (opts.endpoint.db != 0) steps.push_back({"SELECT", std::to_string(opts.endpoint.db)});
    if (steps.empty()) {
      on_ready();
      return;
    }
    auto left = std::make_shared<std::size_t>(steps.size());
    auto failed = std::make_shared<bool>(false);
    for (auto& args : steps) {
      std::string what = args[0];
      command(
          std::move(args), opts.connect_timeout,
          [w = weak_from_this(), gen = generation, left, failed, what](std::error_code ec,
                                                                       Reply r) {
            auto self = w.lock();
            if (!self || gen != self->generation || *failed) return;
            if (self->state != State::handshake) return;
            if (ec) {
              *failed = true;
              std::string msg = what + " failed: " + (r.is_error() ? r.str : ec.message());
              self->drop_connection(msg);
              return;
            }
            if (--*left == 0) self->on_ready();
          },
          /*internal=*/true);
    }
  }

  void on_ready() {
    connect_timer.cancel();
    state = State::ready;
    attempt = 0;
    last_err.clear();
    if (down_logged) {
      spdlog::info("{}: connected to {} again", opts.name, opts.endpoint.redacted());
      down_logged = false;
    } else {
      spdlog::debug("{}: connected to {}", opts.name, opts.endpoint.redacted());
    }
    auto ids = std::move(unsent);
    unsent.clear();
    for (auto id : ids) send(id);
    if (state_cb) state_cb(true);
  }

  /// Drops the current context on our initiative (timeouts, failed handshake).
  void drop_connection(const std::string& reason) {
    if (ac != nullptr) {
      redisAsyncContext* c = ac;
      ac = nullptr;       // on_disconnect_cb ignores contexts that are no longer current
      redisAsyncFree(c);  // fails the sent commands (NULL replies → disconnected)
    }
    on_down(reason);
  }

  /// The context is gone (connect failed, dropped, or closed): reconnect or fail.
  void on_down(const std::string& reason) {
    if (state == State::stopped) return;
    bool was_ready = state == State::ready;
    connect_timer.cancel();
    if (socket) {
      socket->detach();
      socket.reset();
    }
    last_err = reason + " (" + opts.endpoint.redacted() + ")";
    // Sent commands of the lost connection that hiredis did not fail yet.
    std::vector<std::uint64_t> lost;
    for (auto& [id, c] : calls) {
      if (c.sent) lost.push_back(id);
    }
    for (auto id : lost) complete(id, Errc::disconnected, {});
    // Handshake commands queued for a connection that is gone are dropped above; the
    // handshake runs again on the next connection.
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
    }
    state = State::backoff;
    auto base = opts.backoff_min * (1LL << std::min(attempt, 16));
    auto delay = std::min<std::chrono::milliseconds>(base, opts.backoff_max);
    ++attempt;
    std::uniform_int_distribution<long long> jitter(delay.count() / 2, delay.count());
    retry_timer.expires_after(std::chrono::milliseconds(jitter(rng)));
    retry_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec) return;
      if (self->state == State::backoff) self->connect();
    });
    if (was_ready && state_cb) state_cb(false);
  }

  void start() {
    if (state == State::idle || (state == State::failed)) connect();
  }

  void stop() {
    if (state == State::stopped) return;
    state = State::stopped;
    connect_timer.cancel();
    retry_timer.cancel();
    deadline_timer.cancel();
    if (ac != nullptr) {
      redisAsyncContext* c = ac;
      ac = nullptr;
      redisAsyncFree(c);
    }
    if (socket) {
      socket->detach();
      socket.reset();
    }
    std::vector<std::uint64_t> ids;
    for (auto& [id, c] : calls) ids.push_back(id);
    for (auto id : ids) complete(id, Errc::stopped, {});
    unsent.clear();
  }

  asio::io_context& ioc;
  Options opts;
  State state = State::idle;
  redisAsyncContext* ac = nullptr;  // owned by hiredis once connected; freed via redisAsyncFree
  std::shared_ptr<Socket> socket;
  std::unique_ptr<std::weak_ptr<Impl>> weak_holder;  // what ac->data points to
  std::map<std::uint64_t, Call> calls;               // sent or waiting, by id (= send order)
  std::deque<std::uint64_t> unsent;                  // waiting for a connection, in order
  std::set<std::pair<Clock::time_point, std::uint64_t>> deadlines;
  std::uint64_t next_id = 1;
  std::uint64_t generation = 0;
  int attempt = 0;
  bool down_logged = false;
  bool deadline_armed = false;
  Clock::time_point armed_for{};
  std::string last_err;
  std::function<void(bool)> state_cb;
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
