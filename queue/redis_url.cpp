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

}  // namespace

std::string RedisEndpoint::redacted() const {
  std::string s = "redis://";
  if (!user.empty() || !password.empty()) {
    s += user;
    if (!password.empty()) s += ":***";
    s += "@";
  }
  s += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  s += ":" + std::to_string(port);
  s += "/" + std::to_string(db);
  return s;
}

std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url) {
  RedisEndpoint ep;
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    return std::string("Redis URL must start with redis:// (rediss:// and unix sockets are not supported)");
  }
  std::string_view rest = url.substr(scheme.size());
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
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::string("Redis URL: unterminated [ in host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::string("Redis URL: junk after ]");
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) host = "127.0.0.1";
  ep.host = std::string(host);
  if (!port.empty()) {
    if (!parse_int(port, ep.port) || ep.port < 1 || ep.port > 65535) {
      return "Redis URL: port \"" + std::string(port) + "\" is not a number 1-65535";
    }
  }
  if (!path.empty()) {
    if (!parse_int(path, ep.db) || ep.db < 0) {
      return "Redis URL: database \"" + std::string(path) + "\" is not a non-negative number";
    }
  }
  return ep;
}

}  // namespace iamq::queue
