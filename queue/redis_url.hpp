#pragma once
/// REDIS_URL parsing: `redis://[user:password@]host[:port][/db]` (also `redis://:password@…`).
#include <string>
#include <string_view>
#include <variant>

namespace iamq::queue {

/// Where and how to connect. The password is never printed (see redacted()).
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      ///< ACL user; empty: AUTH with the password only
  std::string password;  ///< empty: no AUTH
  int db = 0;            ///< SELECT db when not 0

  /// `redis://user:***@host:port/db` — safe for logs and error messages.
  std::string redacted() const;
};

/// Parses a Redis URL; on failure returns a message naming what is wrong (never the password).
/// Percent-escapes in user and password are decoded.
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url);

}  // namespace iamq::queue
