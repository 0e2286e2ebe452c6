// RedisConnection and Redis Cluster: after connecting, CLUSTER SLOTS says whether this node
// serves the namespace's slot (else: connect to the master that does); MOVED moves the
// connection and sends the refused commands again, ASK sends one command to the importing
// node after ASKING, TRYAGAIN sends it again shortly. The decisions are queue/cluster_slots.
#include "queue/redis_connection_impl.hpp"

namespace iamq::queue {

bool RedisConnection::Impl::redirected(std::uint64_t id, const Reply& reply) {
  auto it = calls.find(id);
  if (it == calls.end() || it->second.internal || it->second.args.empty()) return false;
  Call& c = it->second;
  auto redirect = cluster::parse_redirect(reply.str, target.host);
  bool again = cluster::is_tryagain(reply.str);
  if (!redirect && !again) return false;
  if (again) {
    // The slot is being migrated (a multi-key command, or the queue's scripts refusing to
    // run half on each node): the same command again shortly, on this connection, until its
    // deadline (a migration takes well under a second).
    held.insert(id);
    c.sent = false;
    auto delay = std::chrono::milliseconds(std::min(10 + 10 * ++c.tryagains, 100));
    auto timer = std::make_shared<asio::steady_timer>(ioc, delay);
    timer->async_wait([w = weak_from_this(), timer, id](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (!self || ec || self->calls.count(id) == 0) return;
      self->resend(id);
    });
    return true;
  }
  if (c.redirects >= kMaxRedirects) return false;  // a loop of redirections: give it up
  // The connection serves the namespace's slot: a MOVED for another slot is a key outside the
  // namespace, answered as the error it is (following it would come straight back).
  if (redirect->kind == cluster::Redirect::Kind::moved &&
      redirect->slot != cluster::key_slot(opts.endpoint.cluster_key)) {
    return false;
  }
  ++c.redirects;
  if (redirect->kind == cluster::Redirect::Kind::ask) {
    // ASKING + the command on the node importing the slot, once; the slot map stays.
    held.insert(id);
    c.sent = false;
    ask(id, redirect->node);
    return true;
  }
  // MOVED: the slot has a new master. This command and every one written after it (those
  // were refused too, or are keyless: PING, WAIT) go again, in order, to the new master.
  c.sent = false;
  std::vector<std::uint64_t> again_ids{id};
  for (auto later : inflight) again_ids.push_back(later);
  inflight.clear();
  for (auto later : again_ids) {
    auto lit = calls.find(later);
    if (lit == calls.end()) continue;
    if (lit->second.args.empty() && !lit->second.wait_want) {
      complete(later, Errc::disconnected, {});
      continue;
    }
    lit->second.sent = false;
    if (lit->second.wire.empty() && !lit->second.wait_want) append_command(lit->second.wire, lit->second.args);
    unsent.push_back(later);
  }
  std::sort(unsent.begin(), unsent.end());
  move_to(redirect->node,
          "MOVED: slot " + std::to_string(redirect->slot) + " is served by " +
              redirect->node.to_string(),
          /*quiet=*/false);
  return true;
}

void RedisConnection::Impl::resend(std::uint64_t id) {
  auto it = calls.find(id);
  if (it == calls.end()) return;
  held.erase(id);
  Call& c = it->second;
  c.wire.clear();
  append_command(c.wire, c.args);
  if (state == State::ready) {
    send(id);
  } else {
    unsent.push_back(id);
    std::sort(unsent.begin(), unsent.end());
  }
  flush_deferred();
}

void RedisConnection::Impl::ask(std::uint64_t id, const RedisNode& node) {
  auto& side = ask_conns[node.to_string()];
  if (!side) {
    RedisConnection::Options o;
    o.endpoint = opts.endpoint.at(node);
    o.endpoint.cluster = RedisEndpoint::Cluster::off;
    o.endpoint.nodes = {node};
    o.name = opts.name + "-ask";
    o.reconnect = false;
    o.command_timeout = opts.command_timeout;
    o.connect_timeout = opts.connect_timeout;
    o.max_reply_bytes = opts.max_reply_bytes;
    side = std::make_unique<RedisConnection>(ioc, o);
  }
  auto& c = calls.at(id);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - Clock::now());
  side->command({"ASKING"}, [](std::error_code, Reply) {});
  side->command(c.args, std::max(left, std::chrono::milliseconds(1)),
                [w = weak_from_this(), id](std::error_code ec, Reply r) {
                  auto self = w.lock();
                  if (!self) return;
                  Errc e = !ec ? Errc::ok
                           : ec == Errc::server_error ? Errc::server_error
                                                      : Errc::disconnected;
                  self->complete(id, e, std::move(r));
                });
}

void RedisConnection::Impl::move_to(const RedisNode& node, const std::string& why, bool quiet) {
  next_target = node;
  spdlog::log(quiet ? spdlog::level::debug : spdlog::level::info, "{}: {}; connecting to it",
              opts.name, why);
  bool was_ready = state == State::ready;
  close_stream();
  std::vector<std::uint64_t> lost;
  for (auto& [cid, c] : calls) {
    if (c.sent || c.internal) lost.push_back(cid);
  }
  for (auto cid : lost) complete(cid, Errc::disconnected, {});
  if (was_ready && state_cb) state_cb(false);
  connect();
}

bool RedisConnection::Impl::on_cluster_slots(const Reply& r) {
  auto d = cluster::decide(opts.endpoint.cluster, opts.endpoint.cluster_key, target, r);
  switch (d.kind) {
    case cluster::Decision::Kind::standalone:
      cluster_active = false;
      return true;
    case cluster::Decision::Kind::ready:
      cluster_active = true;
      hops = 0;
      return true;
    case cluster::Decision::Kind::hop:
      cluster_active = true;
      if (++hops <= kMaxRedirects) {
        move_to(d.node, "cluster: slot " +
                            std::to_string(cluster::key_slot(opts.endpoint.cluster_key)) +
                            " is served by " + d.node.to_string(),
                /*quiet=*/true);  // the usual first step from a seed
        return false;
      }
      hops = 0;
      drop_connection("cluster: the slot map keeps changing (last: " + d.node.to_string() + ")");
      return false;
    case cluster::Decision::Kind::error:
      break;
  }
  if (d.fatal && fatal_cb) {
    asio::post(ioc, [w = weak_from_this(), why = d.why] {
      if (auto self = w.lock(); self && self->fatal_cb) self->fatal_cb(why);
    });
  }
  drop_connection(d.why);
  return false;
}

}  // namespace iamq::queue
