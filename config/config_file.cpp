// The TOML file's keys, section by section, over the defaults and the environment.
#include <algorithm>
#include <string>
#include <vector>

#include "config/config_detail.hpp"
#include "config/organization_config_toml.hpp"
#include "config/webhook_config_toml.hpp"

namespace iamq::config::detail {

namespace {

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

}  // namespace

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

}  // namespace iamq::config::detail
