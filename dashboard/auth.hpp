#pragma once
/// Who may read and act on the dashboard (sans-io; the clock is injected for tests).
///
/// - With a token configured (`--token` / IAMQ_DASHBOARD_TOKEN), every page and API call
///   needs it: API clients send `Authorization: Bearer <token>`; a browser logs in once
///   (POST /login with the token) and gets a session cookie (HttpOnly, SameSite=Strict)
///   bound to a CSRF token that every form POST must carry.
/// - Without a token (loopback only), pages can be read by anyone who reaches the port and
///   every action is refused: an action always needs the token.
/// - In read-only mode every action is refused (403).
/// Tokens are compared in constant time (CRYPTO_memcmp over SHA-256 digests, so the
/// length of the token does not leak either).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace iamq::dashboard {

/// Constant-time equality of two strings (their SHA-256 digests compared with CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);
/// `bytes` random bytes from OpenSSL's RAND_bytes, hex-encoded. Throws if RAND fails.
std::string random_hex(std::size_t bytes);

/// The name of the session cookie.
inline constexpr std::string_view kSessionCookie = "iamq_session";

class Auth {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  struct Options {
    std::string token;  ///< empty: no token (reads open, actions refused)
    bool read_only = false;
    std::size_t max_sessions = 256;
    std::chrono::seconds session_ttl{std::chrono::hours(12)};
  };
  /// Outcome of a check, with the HTTP status to answer when not allowed.
  enum class Decision { allowed, unauthenticated /*401*/, forbidden /*403*/ };
  struct Check {
    Decision decision = Decision::allowed;
    std::string reason;  ///< for the error page: never holds a secret
    bool ok() const { return decision == Decision::allowed; }
  };
  struct Session {
    std::string id;    ///< the cookie value
    std::string csrf;  ///< the CSRF token forms carry
  };

  explicit Auth(Options opts, Clock clock = [] { return std::chrono::steady_clock::now(); });

  bool token_configured() const { return !opts_.token.empty(); }
  bool read_only() const { return opts_.read_only; }

  /// Checks a login attempt; a new session when the token matches. The oldest session is
  /// dropped when there are max_sessions already.
  std::optional<Session> login(std::string_view token);
  /// Ends the session named in the Cookie header, if any.
  void logout(std::string_view cookie_header);
  /// The live session the Cookie header names, if any.
  std::optional<Session> session(std::string_view cookie_header);

  /// May this request read? (`authorization`: the Authorization header; `cookie`: Cookie.)
  Check can_read(std::string_view authorization, std::string_view cookie);
  /// May this request act? A Bearer token needs no CSRF token (it is not sent by a browser
  /// on its own); a session needs `csrf` to match its CSRF token.
  Check can_act(std::string_view authorization, std::string_view cookie, std::string_view csrf);

  /// The session id in a Cookie header ("a=1; iamq_session=…"), or "".
  static std::string cookie_value(std::string_view cookie_header, std::string_view name);

 private:
  bool bearer_ok(std::string_view authorization) const;
  std::map<std::string, std::pair<Session, std::chrono::steady_clock::time_point>>::iterator find(
      std::string_view cookie_header);

  Options opts_;
  Clock clock_;
  /// session id -> (session, expiry)
  std::map<std::string, std::pair<Session, std::chrono::steady_clock::time_point>> sessions_;
};

}  // namespace iamq::dashboard
