#include "dashboard/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace iamq::dashboard {

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (const unsigned char c : buf) {
    out += hex[c >> 4];
    out += hex[c & 0xF];
  }
  return out;
}

Auth::Auth(Options opts, Clock clock) : opts_(std::move(opts)), clock_(std::move(clock)) {}

std::string Auth::cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
  }
  return "";
}

bool Auth::bearer_ok(std::string_view authorization) const {
  constexpr std::string_view prefix = "Bearer ";
  if (opts_.token.empty() || authorization.size() <= prefix.size()) return false;
  if (authorization.substr(0, prefix.size()) != prefix) return false;
  return constant_time_equal(authorization.substr(prefix.size()), opts_.token);
}

std::map<std::string, std::pair<Auth::Session, std::chrono::steady_clock::time_point>>::iterator
Auth::find(std::string_view cookie_header) {
  const std::string id = cookie_value(cookie_header, kSessionCookie);
  if (id.empty()) return sessions_.end();
  // Session ids are random 256-bit values: a map lookup leaks nothing useful about them.
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return it;
  if (it->second.second <= clock_()) {
    sessions_.erase(it);
    return sessions_.end();
  }
  return it;
}

std::optional<Auth::Session> Auth::login(std::string_view token) {
  if (opts_.token.empty() || !constant_time_equal(token, opts_.token)) return std::nullopt;
  const auto now = clock_();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.second <= now ? sessions_.erase(it) : std::next(it);
  }
  if (sessions_.size() >= opts_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.second < b.second.second;
    });
    sessions_.erase(oldest);
  }
  Session s{random_hex(32), random_hex(32)};
  sessions_.emplace(s.id, std::make_pair(s, now + opts_.session_ttl));
  return s;
}

void Auth::logout(std::string_view cookie_header) {
  auto it = find(cookie_header);
  if (it != sessions_.end()) sessions_.erase(it);
}

std::optional<Auth::Session> Auth::session(std::string_view cookie_header) {
  auto it = find(cookie_header);
  if (it == sessions_.end()) return std::nullopt;
  return it->second.first;
}

Auth::Check Auth::can_read(std::string_view authorization, std::string_view cookie) {
  if (opts_.token.empty()) return {};
  if (bearer_ok(authorization) || find(cookie) != sessions_.end()) return {};
  return {Decision::unauthenticated, "log in with the dashboard token"};
}

Auth::Check Auth::can_act(std::string_view authorization, std::string_view cookie,
                          std::string_view csrf) {
  if (opts_.token.empty()) {
    return {Decision::forbidden, "actions need a token: start the dashboard with --token"};
  }
  const bool bearer = bearer_ok(authorization);
  auto it = bearer ? sessions_.end() : find(cookie);
  if (!bearer && it == sessions_.end()) {
    return {Decision::unauthenticated, "this action needs the dashboard token"};
  }
  if (!bearer && (csrf.empty() || !constant_time_equal(csrf, it->second.first.csrf))) {
    return {Decision::forbidden, "missing or wrong CSRF token: reload the page and try again"};
  }
  if (opts_.read_only) return {Decision::forbidden, "the dashboard runs with --read-only"};
  return {};
}

}  // namespace iamq::dashboard
