// RedisConnection and Sentinel: ask each sentinel in turn where the master is, and follow
// +switch-master (queue/sentinel_watch) to move at once after a failover.
#include "queue/redis_connection_impl.hpp"

namespace iamq::queue {

void RedisConnection::Impl::ask_sentinel(std::size_t i) {
  const auto& ep = opts.endpoint;
  if (i >= ep.nodes.size()) {
    return on_down("no sentinel knows master \"" + ep.master_name + "\": " + discovery_errors);
  }
  RedisConnection::Options o;
  o.endpoint.host = ep.nodes[i].host;
  o.endpoint.port = ep.nodes[i].port;
  o.endpoint.user = ep.sentinel_user;
  o.endpoint.password = ep.sentinel_password;
  o.endpoint.cluster = RedisEndpoint::Cluster::off;
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

void RedisConnection::Impl::watch_sentinels() {
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

void RedisConnection::Impl::retire_probe() {
  if (!probe) return;
  asio::post(ioc, [p = std::shared_ptr<RedisConnection>(std::move(probe))] {});
}

}  // namespace iamq::queue
