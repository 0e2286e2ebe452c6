// Validation of the effective configuration (whatever its source): every bad field, each
// named with its rule.
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <variant>

#include "config/config_detail.hpp"
#include "queue/cluster_slots.hpp"

namespace iamq::config::detail {

namespace {

bool valid_name(std::string_view s, std::string_view extra) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

void validate_positive(std::chrono::milliseconds d, const std::string& field, Problems& p) {
  if (d <= std::chrono::milliseconds::zero()) p.add(field, "must be > 0");
}

void validate_account(const Account& a, Problems& p) {
  const std::string f = "accounts." + a.name;
  if (!valid_name(a.name, "_-.") || a.name.size() > 64) {
    p.add(f, "account names are 1-64 of [A-Za-z0-9_.-]");
  }
  const bool is_static = a.source == CredentialsSource::static_keys;
  if (is_static) {
    if (a.access_key_id.empty()) p.add(f + ".access_key_id", "required when credentials = \"static\"");
    if (a.secret_access_key.empty()) p.add(f + ".secret_access_key", "required when credentials = \"static\"");
  } else {
    const std::string rule = "only used with credentials = \"static\"";
    if (!a.access_key_id.empty()) p.add(f + ".access_key_id", rule);
    if (!a.secret_access_key.empty()) p.add(f + ".secret_access_key", rule);
    if (!a.session_token.empty()) p.add(f + ".session_token", rule);
  }
  if (!a.access_key_id.empty() && !valid_name(a.access_key_id, "")) {
    p.add(f + ".access_key_id", "must be letters and digits only");
  }
  if (!a.profile.empty() && a.source != CredentialsSource::profile) {
    p.add(f + ".profile", "only used with credentials = \"profile\"");
  }
  if (!a.endpoint.empty()) {
    const bool http = starts_with(a.endpoint, "http://") || starts_with(a.endpoint, "https://");
    const auto host_start = a.endpoint.find("://");
    if (!http || host_start == std::string::npos || a.endpoint.size() <= host_start + 3 ||
        a.endpoint.find_first_of(" \t\r\n") != std::string::npos) {
      p.add(f + ".endpoint", quoted(a.endpoint) + " is not an http:// or https:// URL");
    }
  }
  if (!valid_name(a.region, "-") ||
      std::any_of(a.region.begin(), a.region.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)); })) {
    p.add(f + ".region", quoted(a.region) + " is not a region name (e.g. us-east-1)");
  }
  const auto digits = [](std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!a.account_id.empty() && (a.account_id.size() != 12 || !digits(a.account_id)))
    p.add(f + ".account_id", quoted(a.account_id) + " must be 12 digits");
  if (!a.role_arn.empty()) {
    const std::string arn = expanded_role_arn(a);
    const bool arn_ok = (starts_with(arn, "arn:aws:iam::") || starts_with(arn, "arn:aws-cn:iam::") ||
                         starts_with(arn, "arn:aws-us-gov:iam::")) &&
                        arn.find(":role/") != std::string::npos && arn.size() <= 2048 &&
                        arn.find_first_of(" \t\r\n{}") == std::string::npos;
    if (a.role_arn.find("{account_id}") != std::string::npos && a.account_id.empty())
      p.add(f + ".role_arn", "uses {account_id} but account_id is not set");
    else if (!arn_ok)
      p.add(f + ".role_arn", quoted(a.role_arn) + " is not a role ARN (arn:aws:iam::<12 digits>:role/<name>)");
  }
  if (!valid_name(a.role_session_name, "+=,.@-_") || a.role_session_name.size() < 2 || a.role_session_name.size() > 64)
    p.add(f + ".role_session_name", "must be 2-64 of [A-Za-z0-9+=,.@_-]");
  if (!a.external_id.empty() && (a.external_id.size() < 2 || a.external_id.size() > 1224 || !valid_name(a.external_id, "+=,.@:/-_")))
    p.add(f + ".external_id", "must be 2-1224 of [A-Za-z0-9+=,.@:/_-]");
  if (a.duration_seconds < 900 || a.duration_seconds > 43200) p.add(f + ".duration_seconds", "must be between 900 and 43200");
  if (a.role_arn.empty()) {
    if (!a.role_source.empty()) p.add(f + ".source", "only used with role_arn");
    if (!a.external_id.empty()) p.add(f + ".external_id", "only used with role_arn");
  }
  if (!a.role_source.empty() && a.role_source == a.name) p.add(f + ".source", "an account cannot be its own source");
  if (!a.role_source.empty() && a.source != CredentialsSource::environment)
    p.add(f + ".source", "replaces credentials = \"" + std::string(a.source == CredentialsSource::profile ? "profile" : "static") +
                             "\" as the base of role_arn: set only one");
  if (!(a.rate > 0)) p.add(f + ".rate", "must be > 0");
  if (!(a.burst >= 1)) p.add(f + ".burst", "must be >= 1");
}

}  // namespace

void validate(Config& cfg, Problems& p) {
  // The worker's own parser judges the URL (its messages never include the password).
  if (auto ep = queue::parse_redis_url(cfg.redis_url, redis_settings(cfg));
      auto* err = std::get_if<std::string>(&ep)) {
    // Messages about the TLS settings start with the field(s) they are about.
    auto colon = err->find(": ");
    if ((err->rfind("redis_tls", 0) == 0 || err->rfind("redis_cluster", 0) == 0) &&
        colon != std::string::npos) {
      p.add(err->substr(0, colon), err->substr(colon + 2));
    } else {
      p.add("redis_url", err->rfind("Redis URL: ", 0) == 0 ? err->substr(11) : *err);
    }
  }
  if (cfg.redis_wait_replicas < 0 || cfg.redis_wait_replicas > 16) {
    p.add("redis_wait_replicas", "must be between 0 and 16");
  }
  validate_positive(cfg.redis_wait_timeout, "redis_wait_timeout", p);
  if (cfg.redis_cluster != "true" && cfg.redis_cluster != "false" && cfg.redis_cluster != "auto") {
    p.add("redis_cluster", quoted(cfg.redis_cluster) + " must be true, false or \"auto\"");
  }
  {
    // A hash tag `{name}` may start the namespace: every key `<ns>:…` then shares its slot.
    std::string_view rest = cfg.ns;
    bool tagged = queue::cluster::namespace_has_hash_tag(rest);
    bool ok = cfg.ns.size() <= 64;
    if (tagged) {
      auto close = rest.find('}');
      ok = ok && valid_name(rest.substr(1, close - 1), "_-.:");
      rest = rest.substr(close + 1);
      ok = ok && (rest.empty() || valid_name(rest, "_-.:"));
    } else {
      ok = ok && valid_name(rest, "_-.:");
    }
    if (!ok) {
      p.add("namespace", quoted(cfg.ns) +
                             " must be 1-64 of [A-Za-z0-9_.:-], optionally starting with a hash "
                             "tag {name} (e.g. {iamq})");
    } else if (!tagged && cfg.redis_cluster == "true") {
      p.add("namespace", quoted(cfg.ns) +
                             " must be a hash tag such as {" + cfg.ns +
                             "} with redis_cluster = true: every key of the queue must be in "
                             "one slot, so that each of its Lua scripts runs on one node");
    }
  }
  if (cfg.concurrency < 1 || cfg.concurrency > 10000) p.add("concurrency", "must be between 1 and 10000");
  validate_positive(cfg.visibility_timeout, "visibility_timeout", p);
  if (cfg.result_ttl < std::chrono::seconds(1)) p.add("result_ttl", "must be at least 1s");
  if (cfg.delay_threshold < std::chrono::milliseconds::zero()) p.add("delay_threshold", "must not be negative");
  if (cfg.shutdown_timeout < std::chrono::milliseconds::zero()) p.add("shutdown_timeout", "must not be negative");
  validate_positive(cfg.request_timeout, "request_timeout", p);
  validate_positive(cfg.connect_timeout, "connect_timeout", p);
  validate_positive(cfg.circuit_probe_interval, "circuit_probe_interval", p);
  if (cfg.max_attempts < 1) p.add("max_attempts", "must be >= 1");
  if (cfg.delete_conflict_rounds < 0) p.add("delete_conflict_rounds", "must be >= 0");
  if (cfg.max_reclaims < 0) p.add("max_reclaims", "must be >= 0 (0: no limit)");
  if (cfg.events_maxlen < 1) p.add("events_maxlen", "must be >= 1");
  if (!cfg.metrics_listen.empty()) {
    const auto colon = cfg.metrics_listen.rfind(':');
    bool ok = colon != std::string::npos && colon > 0 && colon + 1 < cfg.metrics_listen.size();
    if (ok) {
      const std::string port = cfg.metrics_listen.substr(colon + 1);
      ok = port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
           std::stol(port) <= 65535;
    }
    if (!ok) p.add("metrics_listen", quoted(cfg.metrics_listen) + " must be HOST:PORT (or \"\" to disable)");
  }
  if (!(cfg.fleet_rate >= 0)) p.add("fleet_rate", "must be >= 0 (0 disables the fleet limiter)");
  if (!(cfg.fleet_burst >= 0)) p.add("fleet_burst", "must be >= 0");
  if (cfg.fleet_rate > 0 && cfg.fleet_burst == 0) cfg.fleet_burst = std::max(1.0, cfg.fleet_rate);
  if (cfg.fleet_rate > 0 && cfg.fleet_burst > 0 && cfg.fleet_burst < 1) p.add("fleet_burst", "must be >= 1");
  static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!levels.count(cfg.log_level)) {
    p.add("log_level", quoted(cfg.log_level) + " is not one of trace, debug, info, warn, error, off");
  }
  for (std::size_t i = 0; i < cfg.allow_list.size(); ++i) {
    if (auto why = refused_allow_list_entry(cfg.allow_list[i])) {
      p.add("allow_list[" + std::to_string(i) + "]", *why);
    }
  }
  for (const auto& [cls, b] : cfg.backoff) {
    const std::string f = "backoff." + cls;
    if (b.base <= std::chrono::milliseconds::zero()) p.add(f + ".base", "must be > 0");
    if (b.cap < b.base) p.add(f + ".cap", "must be >= base (" + format_duration(b.base) + ")");
    if (b.max_attempts < 1) p.add(f + ".max_attempts", "must be >= 1");
  }
  for (const auto& [name, a] : cfg.accounts) validate_account(a, p);
  // `source` naming another account: the chain of sources must end (no cycle).
  for (const auto& [name, a] : cfg.accounts) {
    std::set<std::string> seen{name};
    std::string at = a.role_source;
    while (!at.empty()) {
      auto it = cfg.accounts.find(at);
      if (it == cfg.accounts.end()) break;  // a profile name
      if (!seen.insert(at).second) {
        if (at != name) break;  // reported for the accounts on the cycle itself
        p.add("accounts." + name + ".source", "source accounts form a cycle through \"" + name + "\"");
        break;
      }
      if (it->second.role_arn.empty() && it->first != name) break;
      at = it->second.role_source;
    }
  }
  for (auto& problem : validate_webhooks(cfg.webhooks)) p.list().push_back(std::move(problem));
  for (auto& problem : validate_organization(cfg.organization, cfg.accounts)) p.list().push_back(std::move(problem));
}

}  // namespace iamq::config::detail
