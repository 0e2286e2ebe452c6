#include "queue/redis_url.hpp"

#include <charconv>
#include <optional>

namespace iamq::queue {
namespace {

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec != std::errc() || p != s.data() + i + 3) return std::nullopt;
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

/// One `host[:port]` or `[v6][:port]`; nullopt-free: returns the error text or empty.
std::string parse_node(std::string_view authority, RedisNode& node) {
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return "Redis URL: unterminated [ in host";
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "Redis URL: junk after ]";
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  node.host = host.empty() ? "127.0.0.1" : std::string(host);
  if (!port.empty()) {
    if (!parse_int(port, node.port) || node.port < 1 || node.port > 65535) {
      return "Redis URL: port \"" + std::string(port) + "\" is not a number 1-65535";
    }
  }
  return {};
}

}  // namespace

std::string RedisNode::to_string() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

std::string RedisEndpoint::redacted() const {
  std::string s = kind == Kind::sentinel ? "redis-sentinel://" : tls.enabled ? "rediss://" : "redis://";
  if (!user.empty() || !password.empty()) {
    s += user;
    if (!password.empty()) s += ":***";
    s += "@";
  }
  if (kind == Kind::sentinel) {
    for (std::size_t i = 0; i < nodes.size(); ++i) s += (i ? "," : "") + nodes[i].to_string();
    s += "/" + std::to_string(db) + "#" + master_name;
    return s;
  }
  if (nodes.size() > 1) {  // cluster seeds
    for (std::size_t i = 0; i < nodes.size(); ++i) s += (i ? "," : "") + nodes[i].to_string();
    return s + "/" + std::to_string(db);
  }
  s += RedisNode{host, port}.to_string();
  s += "/" + std::to_string(db);
  return s;
}

RedisEndpoint RedisEndpoint::at(const RedisNode& n) const {
  RedisEndpoint e = *this;
  e.host = n.host;
  e.port = n.port;
  return e;
}

std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url) {
  RedisEndpoint ep;
  std::string_view rest;
  if (url.substr(0, 8) == "redis://") {
    rest = url.substr(8);
  } else if (url.substr(0, 9) == "rediss://") {
    rest = url.substr(9);
    ep.tls.enabled = true;
  } else if (url.substr(0, 17) == "redis-sentinel://") {
    rest = url.substr(17);
    ep.kind = RedisEndpoint::Kind::sentinel;
  } else {
    return std::string(
        "Redis URL: must start with redis://, rediss:// or redis-sentinel:// (unix sockets are "
        "not supported)");
  }
  if (ep.kind == RedisEndpoint::Kind::sentinel) {
    auto hash = rest.find('#');
    if (hash == std::string_view::npos || hash + 1 == rest.size()) {
      return std::string("Redis URL: redis-sentinel:// needs the master's name after '#'");
    }
    ep.master_name = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  std::string_view authority = rest;
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = userinfo;
    std::string_view pass;
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      pass = userinfo.substr(colon + 1);
    } else {
      // redis://secret@host: a single token is a password (as redis-cli reads it).
      pass = userinfo;
      user = {};
    }
    auto u = percent_decode(user);
    auto p = percent_decode(pass);
    if (!u || !p) return std::string("Redis URL: bad percent-escape in user or password");
    ep.user = *u;
    ep.password = *p;
  }
  // Comma-separated hosts: the sentinels, or cluster seeds.
  while (true) {
    auto comma = authority.find(',');
    RedisNode node;
    if (auto err = parse_node(authority.substr(0, comma), node); !err.empty()) return err;
    if (ep.kind == RedisEndpoint::Kind::sentinel && authority.substr(0, comma).rfind(':') ==
                                                        std::string_view::npos) {
      node.port = 26379;  // Sentinel's default port
    }
    ep.nodes.push_back(node);
    if (comma == std::string_view::npos) break;
    authority = authority.substr(comma + 1);
    if (ep.nodes.size() > 64) return std::string("Redis URL: more than 64 hosts");
  }
  ep.host = ep.nodes.front().host;
  ep.port = ep.nodes.front().port;
  if (!path.empty()) {
    if (!parse_int(path, ep.db) || ep.db < 0) {
      return "Redis URL: database \"" + std::string(path) + "\" is not a non-negative number";
    }
  }
  if (ep.kind == RedisEndpoint::Kind::standalone && ep.nodes.size() > 1 && ep.db != 0) {
    return "Redis URL: several hosts are Redis Cluster seeds, and Redis Cluster has only "
           "database 0 (drop the /" + std::to_string(ep.db) + ")";
  }
  return ep;
}

std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url,
                                                         const RedisSettings& settings) {
  auto r = parse_redis_url(url);
  auto* ep = std::get_if<RedisEndpoint>(&r);
  if (ep == nullptr) return r;
  const bool tls = ep->tls.enabled;
  const RedisTls& t = settings.tls;
  if (!tls && (!t.ca_file.empty() || !t.cert_file.empty() || !t.key_file.empty() ||
               !t.server_name.empty())) {
    return std::string(
        "redis_tls_*: TLS settings are given but redis_url does not use rediss:// (TLS)");
  }
  if (t.cert_file.empty() != t.key_file.empty()) {
    return std::string(
        "redis_tls_cert_file and redis_tls_key_file: a client certificate needs both");
  }
  ep->tls = t;
  ep->tls.enabled = tls;
  ep->sentinel_user = settings.sentinel_user;
  ep->sentinel_password = settings.sentinel_password;
  ep->cluster_key = settings.cluster_key;
  if (ep->kind == RedisEndpoint::Kind::sentinel) {
    if (settings.cluster == 1) {
      return std::string("redis_cluster: a redis-sentinel:// URL is not a Redis Cluster");
    }
    ep->cluster = RedisEndpoint::Cluster::off;
    return r;
  }
  ep->cluster = settings.cluster == 0   ? RedisEndpoint::Cluster::off
                : settings.cluster == 1 ? RedisEndpoint::Cluster::on
                                        : RedisEndpoint::Cluster::autodetect;
  if (ep->cluster == RedisEndpoint::Cluster::off && ep->nodes.size() > 1) {
    return std::string(
        "Redis URL: several hosts are Redis Cluster seeds (or sentinels, with "
        "redis-sentinel://), but redis_cluster = false");
  }
  if (ep->cluster == RedisEndpoint::Cluster::on && ep->db != 0) {
    return std::string("Redis URL: Redis Cluster has only database 0 (drop the /" +
                       std::to_string(ep->db) + ")");
  }
  return r;
}

}  // namespace iamq::queue
