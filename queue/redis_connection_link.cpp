// RedisConnection's life cycle: connect (to the server, a cluster seed or node, or the master
// Sentinel names), the handshake, ready, drops, reconnect with backoff, stop.
#include "queue/redis_connection_impl.hpp"

namespace iamq::queue {

void RedisConnection::Impl::connect() {
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
  } else if (next_target) {
    open(*next_target);
  } else if (cluster_possible() && !opts.endpoint.nodes.empty()) {
    // A seed (the next one after a failure): CLUSTER SLOTS there says where the slot is.
    open(opts.endpoint.nodes[seed_index % opts.endpoint.nodes.size()]);
  } else {
    open(RedisNode{opts.endpoint.host, opts.endpoint.port});
  }
}

void RedisConnection::Impl::open(const RedisNode& node) {
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

void RedisConnection::Impl::on_open(const boost::system::error_code& ec, const std::string& what) {
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

void RedisConnection::Impl::start_handshake() {
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
  if (cluster_possible()) steps.push_back({"CLUSTER", "SLOTS"});
  auto left = std::make_shared<std::size_t>(steps.size());
  for (auto& args : steps) {
    std::string what = args[0];
    command(
        std::move(args), opts.connect_timeout,
        [w = weak_from_this(), gen = generation, left, what](std::error_code ec, Reply r) {
          auto self = w.lock();
          if (!self || gen != self->generation || self->state != State::handshake) return;
          if (what == "CLUSTER") {
            if (!self->on_cluster_slots(r)) return;
          } else if (what == "ROLE" && self->opts.endpoint.kind != RedisEndpoint::Kind::sentinel) {
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

std::string RedisConnection::Impl::check_step(const std::string& what, std::error_code ec, const Reply& r) {
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

void RedisConnection::Impl::on_ready() {
  connect_timer.cancel();
  state = State::ready;
  seed_failures = 0;
  backoff.reset();
  last_err.clear();
  std::string where = opts.endpoint.kind == RedisEndpoint::Kind::sentinel
                          ? opts.endpoint.redacted() + " (master " + target.to_string() + ")"
                      : cluster_active
                          ? opts.endpoint.redacted() + " (cluster: master " + target.to_string() +
                                " of slot " +
                                std::to_string(cluster::key_slot(opts.endpoint.cluster_key)) + ")"
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

void RedisConnection::Impl::drop_connection(const std::string& reason) {
  close_stream();
  on_down(reason);
}

void RedisConnection::Impl::close_stream() {
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
  for (auto& [where, side] : ask_conns) {
    asio::post(ioc, [p = std::shared_ptr<RedisConnection>(std::move(side))] {});
  }
  ask_conns.clear();
}

void RedisConnection::Impl::on_down(const std::string& reason) {
  if (state == State::stopped) return;
  if (stream || parser) close_stream();
  bool was_ready = state == State::ready;
  connect_timer.cancel();
  last_err = reason + " (" + opts.endpoint.redacted() + ")";
  if (cluster_possible()) {
    // Cluster: the next attempt asks the seeds again (the next seed if it was one).
    if (next_target) {
      next_target.reset();
    } else {
      ++seed_index;
    }
  }
  // Commands written to the lost connection: their replies will never come.
  std::vector<std::uint64_t> lost;
  for (auto& [id, c] : calls) {
    if (c.sent || c.internal) lost.push_back(id);
  }
  for (auto id : lost) complete(id, Errc::disconnected, {});
  if (!opts.reconnect && !was_ready && cluster_possible() &&
      ++seed_failures <= opts.endpoint.nodes.size()) {
    // A command-line connection gives up only once every seed failed.
    spdlog::debug("{}: {}; trying the next seed", opts.name, last_err);
    connect();
    return;
  }
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

void RedisConnection::Impl::start() {
  if (state == State::idle || state == State::failed) connect();
}

void RedisConnection::Impl::reconnect_now(const std::string& why) {
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

void RedisConnection::Impl::stop() {
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

}  // namespace iamq::queue
