// RedisConnection: commands, replies, WAIT and timeouts (the connection's life cycle is in
// redis_connection_link.cpp, Cluster in redis_connection_cluster.cpp, Sentinel in
// redis_connection_sentinel.cpp; the shared state in redis_connection_impl.hpp).
#include "queue/redis_connection_impl.hpp"

namespace iamq::queue {

void RedisConnection::Impl::command(std::vector<std::string> args, std::chrono::milliseconds timeout, Completion done,
             bool internal, std::shared_ptr<int> wait_want) {
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
  if (cluster_possible() && !internal) c.args = std::move(args);
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

void RedisConnection::Impl::send(std::uint64_t id) {
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

void RedisConnection::Impl::flush() {
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

void RedisConnection::Impl::on_write(const boost::system::error_code& ec) {
  writing = false;
  if (ec) return drop_connection("write failed: " + ec.message());
  flush();
}

void RedisConnection::Impl::read_more() {
  auto buf = std::make_shared<std::array<char, 64 * 1024>>();
  stream->async_read_some(buf->data(), buf->size(),
                          [w = weak_from_this(), gen = generation, buf](
                              const boost::system::error_code& ec, std::size_t n) {
                            auto self = w.lock();
                            if (!self || gen != self->generation) return;
                            self->on_read(ec, std::string_view(buf->data(), n));
                          });
}

void RedisConnection::Impl::on_read(const boost::system::error_code& ec, std::string_view bytes) {
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

void RedisConnection::Impl::on_reply(Reply reply) {
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
  if (cluster_active && reply.is_error() && redirected(id, reply)) return;
  Errc e = reply.is_error() ? Errc::server_error : Errc::ok;
  complete(id, e, std::move(reply));
}

void RedisConnection::Impl::complete(std::uint64_t id, Errc e, Reply reply) {
  auto it = calls.find(id);
  if (it == calls.end()) return;  // timed out earlier
  Call c = std::move(it->second);
  calls.erase(it);
  deadlines.erase({c.deadline, id});
  held.erase(id);
  unsent.erase(std::remove(unsent.begin(), unsent.end(), id), unsent.end());
  // Completions stay in command order: behind a command sent again elsewhere (ASK,
  // TRYAGAIN), later completions wait for it.
  if (!held.empty() && *held.begin() < id) {
    deferred.emplace(id, Deferred{std::move(c.done), e, std::move(reply)});
    return;
  }
  post_done(std::move(c.done), e, std::move(reply));
  flush_deferred();
}

void RedisConnection::Impl::flush_deferred() {
  while (!deferred.empty() && (held.empty() || deferred.begin()->first < *held.begin())) {
    auto node = deferred.extract(deferred.begin());
    post_done(std::move(node.mapped().done), node.mapped().e, std::move(node.mapped().reply));
  }
}

void RedisConnection::Impl::post_done(Completion done, Errc e, Reply reply) {
  if (!done) return;
  asio::post(ioc, [done = std::move(done), e, reply = std::move(reply)]() mutable {
    done(e == Errc::ok ? std::error_code() : make_error_code(e), std::move(reply));
  });
}

void RedisConnection::Impl::command_replicated(std::vector<std::string> args, Completion done) {
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

void RedisConnection::Impl::note_wait(int want, long long got) {
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

void RedisConnection::Impl::note_role(const Reply& r) {
  if (r.is_array() && r.elements.size() >= 3 && r.elements[0].str == "master") {
    replicas_known = static_cast<int>(r.elements[2].elements.size());
  }
}

void RedisConnection::Impl::arm_deadline() {
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

void RedisConnection::Impl::on_deadline() {
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

}  // namespace iamq::queue
