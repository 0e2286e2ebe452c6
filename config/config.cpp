// The configuration model: defaults → environment → TOML file (toml++), validated in one
// pass that reports every bad field, and printed back with secrets redacted.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include <toml++/toml.h>

#include "config/config_detail.hpp"
#include "config/organization_config_toml.hpp"
#include "config/webhook_config_toml.hpp"
#include "queue/cluster_slots.hpp"

namespace iamq::config {

using namespace detail;

namespace {

constexpr std::string_view kRedacted = "<redacted>";

// ---------------------------------------------------------------------------------------
// Environment.

/// IAM is a global service signed in one region per partition: us-east-1 for `aws`. An
/// AWS_REGION such as eu-west-1 must not change that (iam.amazonaws.com would refuse the
/// signature); a region of another partition selects that partition's IAM region.
std::string iam_region_for(std::string_view region) {
  if (starts_with(region, "cn-")) return "cn-north-1";
  if (starts_with(region, "us-gov-")) return "us-gov-west-1";
  return "us-east-1";
}

std::string env_value(const std::map<std::string, std::string>& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

// ---------------------------------------------------------------------------------------
// Output.

std::string redact_url(const std::string& url) {
  // scheme://user:password@host → scheme://user:<redacted>@host
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon != std::string::npos && colon < at) {
    return url.substr(0, colon + 1) + std::string(kRedacted) + url.substr(at);
  }
  // redis://password@host (no user) — hiredis-style URLs treat it as the password.
  return url.substr(0, scheme + 3) + std::string(kRedacted) + url.substr(at);
}

std::string_view source_name(CredentialsSource s) {
  switch (s) {
    case CredentialsSource::environment: return "environment";
    case CredentialsSource::profile: return "profile";
    case CredentialsSource::static_keys: return "static";
  }
  return "environment";
}

toml::table redacted_table(const Config& cfg) {
  toml::table t;
  auto dur = [](std::chrono::milliseconds d) { return format_duration(d); };
  t.insert_or_assign("redis_url", redact_url(cfg.redis_url));
  if (!cfg.redis_tls_ca_file.empty()) t.insert_or_assign("redis_tls_ca_file", cfg.redis_tls_ca_file);
  if (!cfg.redis_tls_cert_file.empty()) t.insert_or_assign("redis_tls_cert_file", cfg.redis_tls_cert_file);
  if (!cfg.redis_tls_key_file.empty()) t.insert_or_assign("redis_tls_key_file", cfg.redis_tls_key_file);
  if (!cfg.redis_tls_server_name.empty()) {
    t.insert_or_assign("redis_tls_server_name", cfg.redis_tls_server_name);
  }
  if (!cfg.redis_sentinel_username.empty()) {
    t.insert_or_assign("redis_sentinel_username", cfg.redis_sentinel_username);
  }
  if (!cfg.redis_sentinel_password.empty()) {
    t.insert_or_assign("redis_sentinel_password", std::string(kRedacted));
  }
  t.insert_or_assign("redis_wait_replicas", static_cast<std::int64_t>(cfg.redis_wait_replicas));
  t.insert_or_assign("redis_wait_timeout", dur(cfg.redis_wait_timeout));
  t.insert_or_assign("redis_cluster", cfg.redis_cluster);
  t.insert_or_assign("namespace", cfg.ns);
  t.insert_or_assign("concurrency", static_cast<std::int64_t>(cfg.concurrency));
  t.insert_or_assign("visibility_timeout", dur(cfg.visibility_timeout));
  t.insert_or_assign("result_ttl", dur(std::chrono::duration_cast<std::chrono::milliseconds>(cfg.result_ttl)));
  t.insert_or_assign("delay_threshold", dur(cfg.delay_threshold));
  t.insert_or_assign("shutdown_timeout", dur(cfg.shutdown_timeout));
  t.insert_or_assign("request_timeout", dur(cfg.request_timeout));
  t.insert_or_assign("connect_timeout", dur(cfg.connect_timeout));
  t.insert_or_assign("circuit_probe_interval", dur(cfg.circuit_probe_interval));
  t.insert_or_assign("max_attempts", static_cast<std::int64_t>(cfg.max_attempts));
  t.insert_or_assign("delete_conflict_rounds", static_cast<std::int64_t>(cfg.delete_conflict_rounds));
  t.insert_or_assign("max_reclaims", static_cast<std::int64_t>(cfg.max_reclaims));
  t.insert_or_assign("events_maxlen", static_cast<std::int64_t>(cfg.events_maxlen));
  t.insert_or_assign("metrics_listen", cfg.metrics_listen);
  t.insert_or_assign("fleet_rate", cfg.fleet_rate);
  t.insert_or_assign("fleet_burst", cfg.fleet_burst);
  t.insert_or_assign("dry_run", cfg.dry_run);
  t.insert_or_assign("log_level", cfg.log_level);
  toml::array allow;
  for (const auto& a : cfg.allow_list) allow.push_back(a);
  t.insert_or_assign("allow_list", std::move(allow));
  toml::table backoff;
  for (const auto& [cls, b] : cfg.backoff) {
    backoff.insert_or_assign(cls, toml::table{{"base", dur(b.base)},
                                              {"cap", dur(b.cap)},
                                              {"max_attempts", static_cast<std::int64_t>(b.max_attempts)}});
  }
  t.insert_or_assign("backoff", std::move(backoff));
  toml::table accounts;
  for (const auto& [name, a] : cfg.accounts) {
    toml::table at;
    at.insert_or_assign("credentials", std::string(source_name(a.source)));
    if (!a.profile.empty()) at.insert_or_assign("profile", a.profile);
    if (!a.access_key_id.empty()) at.insert_or_assign("access_key_id", a.access_key_id);
    if (!a.secret_access_key.empty()) at.insert_or_assign("secret_access_key", std::string(kRedacted));
    if (!a.session_token.empty()) at.insert_or_assign("session_token", std::string(kRedacted));
    if (!a.endpoint.empty()) at.insert_or_assign("endpoint", redact_url(a.endpoint));
    at.insert_or_assign("region", a.region);
    if (!a.account_id.empty()) at.insert_or_assign("account_id", a.account_id);
    if (!a.role_arn.empty()) {
      at.insert_or_assign("role_arn", a.role_arn);
      at.insert_or_assign("role_session_name", a.role_session_name);
      at.insert_or_assign("duration_seconds", static_cast<std::int64_t>(a.duration_seconds));
    }
    if (!a.external_id.empty()) at.insert_or_assign("external_id", a.external_id);
    if (!a.role_source.empty()) at.insert_or_assign("source", a.role_source);
    at.insert_or_assign("rate", a.rate);
    at.insert_or_assign("burst", a.burst);
    accounts.insert_or_assign(name, std::move(at));
  }
  t.insert_or_assign("accounts", std::move(accounts));
  if (!cfg.webhooks.empty()) t.insert_or_assign("webhooks", redacted_webhooks(cfg.webhooks));
  if (cfg.organization.enabled) t.insert_or_assign("organization", organization_table(cfg.organization));
  return t;
}

}  // namespace

// -----------------------------------------------------------------------------------------

namespace {
std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}
}  // namespace

std::string expanded_role_arn(const Account& a) {
  std::string arn = a.role_arn;
  const std::string key = "{account_id}";
  for (auto pos = arn.find(key); pos != std::string::npos; pos = arn.find(key, pos + a.account_id.size()))
    arn.replace(pos, key.size(), a.account_id);
  return arn;
}

ConfigError::ConfigError(std::vector<std::string> problems)
    : std::runtime_error(join_lines(problems)), problems_(std::move(problems)) {}

std::vector<std::string> ConfigError::problems() const {
  if (!problems_.empty()) return problems_;
  return {what()};
}

namespace {

/// n·unit in ms, or nullopt when `text` is not "<digits><unit>"; `too_long` when it is, but
/// beyond max_duration (checked before multiplying: "999999999999d" used to overflow).
std::optional<std::chrono::milliseconds> duration_value(std::string_view text, bool& too_long) {
  too_long = false;
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0) return std::nullopt;
  const std::string_view unit = text.substr(i);
  std::int64_t factor = 0;
  if (unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60 * 1000;
  else if (unit == "h") factor = 3600 * 1000;
  else if (unit == "d") factor = 24 * 3600 * 1000;
  else return std::nullopt;
  const std::int64_t limit = max_duration.count() / factor;  // whole units that fit
  std::int64_t n = 0;
  for (std::size_t k = 0; k < i; ++k) {
    n = n * 10 + (text[k] - '0');
    if (n > limit) {
      too_long = true;
      return std::nullopt;
    }
  }
  return std::chrono::milliseconds(n * factor);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  bool too_long = false;
  return duration_value(text, too_long);
}

std::optional<std::string> duration_problem(std::string_view text) {
  bool too_long = false;
  if (duration_value(text, too_long)) return std::nullopt;
  if (too_long) return "is too long (at most " + format_duration(max_duration) + ")";
  return std::string("is not a duration (use e.g. \"500ms\", \"5s\", \"2m\", \"1h\", \"30d\")");
}

std::string format_duration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms == 0) return "0ms";
  static const std::pair<std::int64_t, const char*> units[] = {
      {24LL * 3600 * 1000, "d"}, {3600LL * 1000, "h"}, {60LL * 1000, "m"}, {1000, "s"}};
  for (const auto& [f, u] : units) {
    if (ms % f == 0) return std::to_string(ms / f) + u;
  }
  return std::to_string(ms) + "ms";
}

std::vector<std::string> default_allow_list() {
  return {"DeactivateMFADevice",
          "DeleteVirtualMFADevice",
          "DeleteLoginProfile",
          "DeleteAccessKey",
          "UpdateAccessKey",  // only with Status=Inactive (enforced when a job is planned)
          "DeleteSigningCertificate",
          "DeleteSSHPublicKey",
          "DeleteServiceSpecificCredential",
          "DeleteUserPolicy",
          "DetachUserPolicy",
          "DeleteUserPermissionsBoundary",
          "RemoveUserFromGroup",
          "DeleteUser",
          "Get*",
          "List*"};
}

std::optional<std::string> refused_allow_list_entry(std::string_view entry) {
  const bool wildcard = ends_with(entry, "*");
  const std::string_view name = wildcard ? entry.substr(0, entry.size() - 1) : entry;
  const bool syntax_ok =
      (!name.empty() || wildcard) &&
      std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }) &&
      (name.empty() || std::isupper(static_cast<unsigned char>(name[0])));
  if (!syntax_ok) {
    return quoted(entry) + " is not an IAM action name (e.g. \"DeleteAccessKey\", or a prefix ending in *)";
  }
  // Actions that create or grant access. An iam_calls job may only take access away.
  static const std::vector<std::string_view> prefixes = {"Create", "Put", "Attach", "Upload", "Enable",
                                                         "Add",    "Set", "Import"};
  static const std::vector<std::string_view> exact = {"UpdateLoginProfile", "ChangePassword",
                                                      "ResetServiceSpecificCredential"};
  const std::string refusal = quoted(entry) +
                              " is refused: iam_calls may only deactivate, detach, remove or delete "
                              "(never Create*, Put*, Attach*, Update*Policy, Upload*, Enable*, Add*, Set*)";
  if (!wildcard) {
    for (auto p : prefixes)
      if (starts_with(name, p)) return refusal;
    if (starts_with(name, "Update") && ends_with(name, "Policy")) return refusal;
    for (auto e : exact)
      if (name == e) return refusal;
    return std::nullopt;
  }
  // A prefix pattern is refused when it could match a refused action.
  for (auto p : prefixes)
    if (starts_with(p, name) || starts_with(name, p)) return refusal;
  if (starts_with("Update", name) || starts_with(name, "Update")) return refusal;  // Update*Policy
  for (auto e : exact)
    if (starts_with(e, name)) return refusal;
  return std::nullopt;
}

bool allow_list_permits(const std::vector<std::string>& allow_list, std::string_view action) {
  for (const auto& e : allow_list) {
    if (ends_with(e, "*")) {
      if (starts_with(action, std::string_view(e).substr(0, e.size() - 1))) return true;
    } else if (e == action) {
      return true;
    }
  }
  return false;
}

Config defaults() {
  using namespace std::chrono_literals;
  Config cfg;
  cfg.backoff = {
      {"throttled", Backoff{500ms, 20s, 10}},
      {"transient", Backoff{1s, 30s, 8}},
      {"concurrent_modification", Backoff{2s, 60s, 10}},
      // AWS: EntityTemporarilyUnmodifiable clears within minutes; be patient (~1h in all).
      {"unmodifiable", Backoff{30s, 5min, 20}},
  };
  cfg.allow_list = default_allow_list();
  Account def;
  def.name = "default";
  cfg.accounts.emplace("default", def);
  return cfg;
}

Config load(const std::optional<std::string>& path, const std::map<std::string, std::string>& env) {
  Config cfg = defaults();
  Problems p;

  // Environment defaults. Endpoints are not copied: the client resolves AWS_ENDPOINT_URL_IAM
  // and AWS_ENDPOINT_URL itself for accounts without an explicit endpoint.
  if (auto v = env_value(env, "REDIS_URL"); !v.empty()) cfg.redis_url = v;
  if (auto v = env_value(env, "IAMQ_NAMESPACE"); !v.empty()) cfg.ns = v;
  if (auto v = env_value(env, "IAMQ_REDIS_CLUSTER"); !v.empty()) cfg.redis_cluster = v;
  std::string region = env_value(env, "AWS_REGION");
  if (region.empty()) region = env_value(env, "AWS_DEFAULT_REGION");
  Account templ;  // what an [accounts.X] section starts from
  if (!region.empty()) templ.region = iam_region_for(region);
  for (auto& [name, a] : cfg.accounts) a.region = templ.region;

  if (path) {
    try {
      toml::table root = toml::parse_file(*path);
      read_file(root, cfg, templ, p);
    } catch (const toml::parse_error& e) {
      const auto& src = e.source();
      std::ostringstream os;
      os << *path;
      if (src.begin.line > 0) os << ":" << src.begin.line << ":" << src.begin.column;
      throw ConfigError(std::vector<std::string>{os.str() + ": " + std::string(e.description())});
    }
  }

  validate(cfg, p);
  if (!p.empty()) throw ConfigError(std::move(p.list()));
  return cfg;
}

std::vector<std::string> validation_problems(Config& cfg) {
  Problems p;
  validate(cfg, p);
  return std::move(p.list());
}

std::string to_redacted_toml(const Config& cfg) {
  std::ostringstream os;
  os << toml::toml_formatter(redacted_table(cfg)) << "\n";
  return os.str();
}

std::string to_redacted_json(const Config& cfg) {
  std::ostringstream os;
  os << toml::json_formatter(redacted_table(cfg)) << "\n";
  return os.str();
}

queue::RedisSettings redis_settings(const Config& cfg) {
  queue::RedisSettings s;
  s.tls.ca_file = cfg.redis_tls_ca_file;
  s.tls.cert_file = cfg.redis_tls_cert_file;
  s.tls.key_file = cfg.redis_tls_key_file;
  s.tls.server_name = cfg.redis_tls_server_name;
  s.sentinel_user = cfg.redis_sentinel_username;
  s.sentinel_password = cfg.redis_sentinel_password;
  s.cluster = cfg.redis_cluster == "false" ? 0 : cfg.redis_cluster == "true" ? 1 : 2;
  s.cluster_key = cfg.ns + ":jobs";
  return s;
}

queue::RedisEndpoint redis_endpoint(const Config& cfg) {
  auto ep = queue::parse_redis_url(cfg.redis_url, redis_settings(cfg));
  if (auto* err = std::get_if<std::string>(&ep)) {
    throw ConfigError(err->rfind("redis_tls", 0) == 0 || err->rfind("redis_cluster", 0) == 0 ? *err
                      : err->rfind("Redis URL: ", 0) == 0 ? "redis_url: " + err->substr(11)
                                                          : "redis_url: " + *err);
  }
  return std::get<queue::RedisEndpoint>(ep);
}

}  // namespace iamq::config
