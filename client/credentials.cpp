#include "client/credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

extern char** environ;  // POSIX; declared by no standard header in C++

namespace iamq::client {

namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// The value of `key` in `env`, or empty when unset.
std::string get(const std::map<std::string, std::string>& env, const std::string& key) {
  const auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

/// Throws a CredentialsError naming `source` and the first missing field of the pair.
void require_pair(const Credentials& c, const std::string& source, const char* key_field,
                  const char* secret_field) {
  if (c.access_key_id.empty()) throw CredentialsError(source + ": " + key_field + " is not set");
  if (c.secret_access_key.empty()) throw CredentialsError(source + ": " + secret_field + " is not set");
}

}  // namespace

std::string Credentials::redacted() const {
  std::string out;
  const std::size_t n = access_key_id.size();
  if (n == 0) {
    out = "(no access key id)";
  } else if (n >= 12) {
    out = access_key_id.substr(0, 4) + "…" + access_key_id.substr(n - 4);
  } else {
    // Too short to show both ends without showing most of it: show a third at most.
    out = access_key_id.substr(0, n / 3) + "…";
  }
  out += secret_access_key.empty() ? " (no secret" : " (secret redacted";
  if (!session_token.empty()) out += ", session token";
  out += ")";
  return out;
}

Credentials credentials_from_environment(const std::map<std::string, std::string>& env) {
  Credentials c;
  c.access_key_id = std::string(trim(get(env, "AWS_ACCESS_KEY_ID")));
  c.secret_access_key = std::string(trim(get(env, "AWS_SECRET_ACCESS_KEY")));
  c.session_token = std::string(trim(get(env, "AWS_SESSION_TOKEN")));
  require_pair(c, "environment", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY");
  return c;
}

Credentials credentials_from_shared_file(const std::string& path, const std::string& profile) {
  const std::string source = "shared credentials file " + path;
  std::ifstream in(path);
  if (!in) {
    throw CredentialsError(source + ": cannot be read (" + std::strerror(errno) + ")");
  }
  // INI: "[name]" sections, "key = value" lines, '#'/';' comment lines. A section that
  // appears twice is merged, later values winning (as botocore's parser does).
  std::map<std::string, std::string> values;
  bool found = false;
  bool in_profile = false;
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view l = trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      const std::size_t close = l.find(']');
      const std::string_view name = close == std::string_view::npos ? std::string_view{} : trim(l.substr(1, close - 1));
      in_profile = close != std::string_view::npos && name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    const std::size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;  // not a key line; ignored like botocore does
    values[lower(trim(l.substr(0, eq)))] = std::string(trim(l.substr(eq + 1)));
  }
  if (in.bad()) throw CredentialsError(source + ": read error");
  if (!found) throw CredentialsError(source + ": profile '" + profile + "' not found");

  Credentials c;
  c.access_key_id = values["aws_access_key_id"];
  c.secret_access_key = values["aws_secret_access_key"];
  c.session_token = values["aws_session_token"];
  require_pair(c, source + ", profile '" + profile + "'", "aws_access_key_id", "aws_secret_access_key");
  return c;
}

std::string shared_credentials_path(const std::map<std::string, std::string>& env) {
  const std::string home = get(env, "HOME");
  std::string path = get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (!path.empty()) {
    if (path == "~" || path.starts_with("~/")) {
      if (home.empty()) throw CredentialsError("AWS_SHARED_CREDENTIALS_FILE starts with ~ but HOME is not set");
      path = home + path.substr(1);
    }
    return path;
  }
  if (home.empty()) {
    throw CredentialsError("shared credentials file: neither AWS_SHARED_CREDENTIALS_FILE nor HOME is set");
  }
  return home + "/.aws/credentials";
}

Credentials default_credentials(const std::map<std::string, std::string>& env) {
  // Either environment key set means the operator chose the environment: a partial pair is
  // an error rather than a silent fall-back to some profile.
  if (!trim(get(env, "AWS_ACCESS_KEY_ID")).empty() || !trim(get(env, "AWS_SECRET_ACCESS_KEY")).empty()) {
    return credentials_from_environment(env);
  }
  std::string profile = get(env, "AWS_PROFILE");
  if (profile.empty()) profile = get(env, "AWS_DEFAULT_PROFILE");
  if (profile.empty()) profile = "default";
  return credentials_from_shared_file(shared_credentials_path(env), profile);
}

std::map<std::string, std::string> environment_snapshot() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace iamq::client
