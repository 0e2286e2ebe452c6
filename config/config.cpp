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

#include "config/organization_config_toml.hpp"
#include "config/webhook_config_toml.hpp"
#include "queue/cluster_slots.hpp"

namespace iamq::config {

namespace {

constexpr std::string_view kRedacted = "<redacted>";

// ---------------------------------------------------------------------------------------
// Problems: every bad field is collected, then reported together.

class Problems {
 public:
  void add(const std::string& field, const std::string& rule) { list_.push_back(field + ": " + rule); }
  bool empty() const { return list_.empty(); }
  std::vector<std::string>& list() { return list_; }

 private:
  std::vector<std::string> list_;
};

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// ---------------------------------------------------------------------------------------
// Typed readers for TOML nodes. Each reports a type error under `field` and leaves `out`
// untouched.

void read_string(const toml::node& n, const std::string& field, std::string& out, Problems& p) {
  if (auto s = n.as_string()) {
    out = s->get();
    return;
  }
  p.add(field, "must be a string");
}

bool read_integer(const toml::node& n, const std::string& field, std::int64_t& out, Problems& p) {
  if (auto i = n.as_integer()) {
    out = i->get();
    return true;
  }
  p.add(field, "must be an integer");
  return false;
}

template <typename Int>
void read_int(const toml::node& n, const std::string& field, Int& out, Problems& p) {
  std::int64_t v = 0;
  if (!read_integer(n, field, v, p)) return;
  if (v < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
      v > static_cast<std::int64_t>(std::numeric_limits<Int>::max())) {
    p.add(field, "is out of range");
    return;
  }
  out = static_cast<Int>(v);
}

void read_number(const toml::node& n, const std::string& field, double& out, Problems& p) {
  if (auto f = n.as_floating_point()) {
    if (!std::isfinite(f->get())) {
      p.add(field, "must be a finite number");
      return;
    }
    out = f->get();
    return;
  }
  if (auto i = n.as_integer()) {
    out = static_cast<double>(i->get());
    return;
  }
  p.add(field, "must be a number");
}

void read_bool(const toml::node& n, const std::string& field, bool& out, Problems& p) {
  if (auto b = n.as_boolean()) {
    out = b->get();
    return;
  }
  p.add(field, "must be true or false");
}

void read_duration(const toml::node& n, const std::string& field, std::chrono::milliseconds& out,
                   Problems& p) {
  if (auto s = n.as_string()) {
    if (auto d = parse_duration(s->get())) {
      out = *d;
      return;
    }
    p.add(field, quoted(s->get()) + " " + duration_problem(s->get()).value_or("is not a duration"));
    return;
  }
  if (auto i = n.as_integer()) {
    if (i->get() < 0) {
      p.add(field, "must not be negative");
      return;
    }
    if (i->get() > max_duration.count()) {
      p.add(field, "is too long (at most " + format_duration(max_duration) + ")");
      return;
    }
    out = std::chrono::milliseconds(i->get());
    return;
  }
  p.add(field, "must be a duration string (\"500ms\", \"5s\", \"2m\", \"30d\") or integer milliseconds");
}

/// Dispatches the keys of `tbl` to `handlers`; any other key is reported as unknown.
using Handler = std::function<void(const toml::node&, const std::string& field)>;
void for_each_key(const toml::table& tbl, const std::string& prefix,
                  const std::map<std::string, Handler>& handlers, Problems& p) {
  for (auto&& [k, v] : tbl) {
    const std::string key(k.str());
    const std::string field = prefix.empty() ? key : prefix + "." + key;
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [name, _] : handlers) known += (known.empty() ? "" : ", ") + name;
      p.add(field, "unknown key (known keys: " + known + ")");
      continue;
    }
    it->second(v, field);
  }
}

// ---------------------------------------------------------------------------------------
// Sections.

const std::vector<std::string> kBackoffClasses = {"throttled", "transient", "concurrent_modification",
                                                  "unmodifiable"};

void read_backoff(const toml::node& n, const std::string& field, Config& cfg, Problems& p) {
  auto tbl = n.as_table();
  if (!tbl) {
    p.add(field, "must be a table of [backoff.<class>] sections");
    return;
  }
  for (auto&& [k, v] : *tbl) {
    const std::string cls(k.str());
    const std::string cfield = field + "." + cls;
    if (std::find(kBackoffClasses.begin(), kBackoffClasses.end(), cls) == kBackoffClasses.end()) {
      p.add(cfield, "unknown error class (known: throttled, transient, concurrent_modification, unmodifiable)");
      continue;
    }
    auto ctbl = v.as_table();
    if (!ctbl) {
      p.add(cfield, "must be a table with base, cap, max_attempts");
      continue;
    }
    Backoff& b = cfg.backoff[cls];
    for_each_key(*ctbl, cfield,
                 {{"base", [&](const toml::node& x, const std::string& f) { read_duration(x, f, b.base, p); }},
                  {"cap", [&](const toml::node& x, const std::string& f) { read_duration(x, f, b.cap, p); }},
                  {"max_attempts",
                   [&](const toml::node& x, const std::string& f) { read_int(x, f, b.max_attempts, p); }}},
                 p);
  }
}

void read_account(const toml::table& tbl, const std::string& field, Account& a, Problems& p) {
  auto str = [&](std::string& out) {
    return [&out, &p](const toml::node& x, const std::string& f) { read_string(x, f, out, p); };
  };
  for_each_key(
      tbl, field,
      {{"credentials",
        [&](const toml::node& x, const std::string& f) {
          std::string s;
          if (auto v = x.as_string()) {
            s = v->get();
          } else {
            p.add(f, "must be a string: \"environment\", \"profile\" or \"static\"");
            return;
          }
          if (s == "environment") {
            a.source = CredentialsSource::environment;
          } else if (s == "profile") {
            a.source = CredentialsSource::profile;
          } else if (s == "static") {
            a.source = CredentialsSource::static_keys;
          } else {
            p.add(f, quoted(s) + " is not one of \"environment\", \"profile\", \"static\"");
          }
        }},
       {"profile", str(a.profile)},
       {"access_key_id", str(a.access_key_id)},
       // Never echo a secret's value in an error message: read_string reports only the type.
       {"secret_access_key", str(a.secret_access_key)},
       {"session_token", str(a.session_token)},
       {"endpoint", str(a.endpoint)},
       {"region", str(a.region)},
       {"account_id", str(a.account_id)},
       {"role_arn", str(a.role_arn)},
       {"external_id", str(a.external_id)},
       {"role_session_name", str(a.role_session_name)},
       {"duration_seconds", [&](const toml::node& x, const std::string& f) { read_int(x, f, a.duration_seconds, p); }},
       {"source", str(a.role_source)},
       {"rate", [&](const toml::node& x, const std::string& f) { read_number(x, f, a.rate, p); }},
       {"burst", [&](const toml::node& x, const std::string& f) { read_number(x, f, a.burst, p); }}},
      p);
}

void read_accounts(const toml::node& n, const std::string& field, Config& cfg, const Account& templ,
                   Problems& p) {
  auto tbl = n.as_table();
  if (!tbl) {
    p.add(field, "must be a table of [accounts.<name>] sections");
    return;
  }
  for (auto&& [k, v] : *tbl) {
    const std::string name(k.str());
    const std::string afield = field + "." + name;
    auto atbl = v.as_table();
    if (!atbl) {
      p.add(afield, "must be a table ([accounts." + name + "])");
      continue;
    }
    auto [it, inserted] = cfg.accounts.try_emplace(name, templ);
    it->second.name = name;
    read_account(*atbl, afield, it->second, p);
  }
}

void read_allow_list(const toml::node& n, const std::string& field, Config& cfg, Problems& p) {
  auto arr = n.as_array();
  if (!arr) {
    p.add(field, "must be an array of action names");
    return;
  }
  std::vector<std::string> list;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string efield = field + "[" + std::to_string(i) + "]";
    auto s = (*arr)[i].as_string();
    if (!s) {
      p.add(efield, "must be a string");
      continue;
    }
    list.push_back(s->get());
  }
  cfg.allow_list = std::move(list);
}

void read_file(const toml::table& root, Config& cfg, const Account& templ, Problems& p) {
  auto dur = [&](std::chrono::milliseconds& out) {
    return [&out, &p](const toml::node& x, const std::string& f) { read_duration(x, f, out, p); };
  };
  auto str = [&](std::string& out) {
    return [&out, &p](const toml::node& x, const std::string& f) { read_string(x, f, out, p); };
  };
  auto integer = [&](int& out) {
    return [&out, &p](const toml::node& x, const std::string& f) { read_int(x, f, out, p); };
  };
  auto number = [&](double& out) {
    return [&out, &p](const toml::node& x, const std::string& f) { read_number(x, f, out, p); };
  };
  for_each_key(
      root, "",
      {{"redis_url", str(cfg.redis_url)},
       {"redis_tls_ca_file", str(cfg.redis_tls_ca_file)},
       {"redis_tls_cert_file", str(cfg.redis_tls_cert_file)},
       {"redis_tls_key_file", str(cfg.redis_tls_key_file)},
       {"redis_tls_server_name", str(cfg.redis_tls_server_name)},
       {"redis_sentinel_username", str(cfg.redis_sentinel_username)},
       {"redis_sentinel_password", str(cfg.redis_sentinel_password)},
       {"redis_wait_replicas", integer(cfg.redis_wait_replicas)},
       {"redis_wait_timeout", dur(cfg.redis_wait_timeout)},
       {"redis_cluster",
        [&](const toml::node& x, const std::string& f) {
          if (auto b = x.as_boolean()) {
            cfg.redis_cluster = b->get() ? "true" : "false";
          } else if (auto s = x.as_string()) {
            cfg.redis_cluster = s->get();
          } else {
            p.add(f, "must be true, false or \"auto\"");
          }
        }},
       {"namespace", str(cfg.ns)},
       {"concurrency", integer(cfg.concurrency)},
       {"visibility_timeout", dur(cfg.visibility_timeout)},
       {"result_ttl",
        [&](const toml::node& x, const std::string& f) {
          std::chrono::milliseconds ms = cfg.result_ttl;
          const std::size_t before = p.list().size();
          read_duration(x, f, ms, p);
          if (p.list().size() != before) return;
          if (ms < std::chrono::seconds(1)) {
            p.add(f, "must be at least 1s");
            return;
          }
          cfg.result_ttl = std::chrono::duration_cast<std::chrono::seconds>(ms);
        }},
       {"delay_threshold", dur(cfg.delay_threshold)},
       {"shutdown_timeout", dur(cfg.shutdown_timeout)},
       {"request_timeout", dur(cfg.request_timeout)},
       {"connect_timeout", dur(cfg.connect_timeout)},
       {"circuit_probe_interval", dur(cfg.circuit_probe_interval)},
       {"max_attempts", integer(cfg.max_attempts)},
       {"delete_conflict_rounds", integer(cfg.delete_conflict_rounds)},
       {"max_reclaims", integer(cfg.max_reclaims)},
       {"events_maxlen",
        [&](const toml::node& x, const std::string& f) { read_int(x, f, cfg.events_maxlen, p); }},
       {"metrics_listen", str(cfg.metrics_listen)},
       {"fleet_rate", number(cfg.fleet_rate)},
       {"fleet_burst", number(cfg.fleet_burst)},
       {"dry_run", [&](const toml::node& x, const std::string& f) { read_bool(x, f, cfg.dry_run, p); }},
       {"log_level", str(cfg.log_level)},
       {"allow_list", [&](const toml::node& x, const std::string& f) { read_allow_list(x, f, cfg, p); }},
       {"backoff", [&](const toml::node& x, const std::string& f) { read_backoff(x, f, cfg, p); }},
       {"accounts",
        [&](const toml::node& x, const std::string& f) { read_accounts(x, f, cfg, templ, p); }},
       {"webhooks",
        [&](const toml::node& x, const std::string& f) {
          for (auto& problem : read_webhooks(x, f, cfg.webhooks)) p.list().push_back(std::move(problem));
        }},
       {"organization",
        [&](const toml::node& x, const std::string& f) {
          for (auto& problem : read_organization(x, f, cfg.organization)) p.list().push_back(std::move(problem));
        }}},
      p);
}

// ---------------------------------------------------------------------------------------
// Validation of the effective values (whatever their source).

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
