// [organization]: reading, validation and the account config of each discovered account.
#include "config/organization_config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "config/config.hpp"
#include "config/organization_config_toml.hpp"

namespace iamq::config {

namespace {

bool twelve_digits(const std::string& s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool chars_ok(const std::string& s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

std::string shown(const std::string& s) {
  std::string out = "\"";
  for (char c : s.substr(0, 64)) out += static_cast<unsigned char>(c) < 0x20 || c == '"' ? '?' : c;
  return out + (s.size() > 64 ? "…\"" : "\"");
}

}  // namespace

std::string discovered_account_name(const std::string& account_id) { return "org-" + account_id; }

bool is_discovered_account_name(const std::string& name) {
  return name.size() == 16 && name.rfind("org-", 0) == 0 && twelve_digits(name.substr(4));
}

std::string partition_of(const std::string& region) {
  if (region.rfind("cn-", 0) == 0) return "aws-cn";
  if (region.rfind("us-gov-", 0) == 0) return "aws-us-gov";
  return "aws";
}

std::vector<std::string> read_organization(const toml::node& n, const std::string& field, Organization& out) {
  std::vector<std::string> p;
  auto tbl = n.as_table();
  if (!tbl) return {field + ": must be a table ([organization])"};
  out.enabled = true;
  auto ids = [&](const toml::node& v, const std::string& f, std::vector<std::string>& dst) {
    auto arr = v.as_array();
    if (!arr) return p.push_back(f + ": must be an array of 12-digit account ids");
    dst.clear();
    for (std::size_t i = 0; i < arr->size(); ++i) {
      auto s = (*arr)[i].as_string();
      if (!s) {
        p.push_back(f + "[" + std::to_string(i) + "]: must be a string of 12 digits");
        continue;
      }
      dst.push_back(s->get());
    }
  };
  auto number = [&](const toml::node& v, const std::string& f, double& dst) {
    if (auto d = v.as_floating_point(); d && std::isfinite(d->get())) dst = d->get();
    else if (auto i = v.as_integer()) dst = static_cast<double>(i->get());
    else p.push_back(f + ": must be a number");
  };
  for (auto&& [k, v] : *tbl) {
    const std::string key(k.str());
    const std::string f = field + "." + key;
    auto str = [&](std::string& dst) {
      if (auto s = v.as_string()) dst = s->get();
      else p.push_back(f + ": must be a string");
    };
    if (key == "account") str(out.account);
    else if (key == "role_name") str(out.role_name);
    else if (key == "external_id") str(out.external_id);
    else if (key == "role_session_name") str(out.role_session_name);
    else if (key == "include") ids(v, f, out.include);
    else if (key == "exclude") ids(v, f, out.exclude);
    else if (key == "rate") number(v, f, out.rate);
    else if (key == "burst") number(v, f, out.burst);
    else if (key == "refresh") {
      if (auto s = v.as_string()) {
        if (auto d = parse_duration(s->get())) out.refresh = *d;
        else p.push_back(f + ": " + shown(s->get()) + " " + duration_problem(s->get()).value_or("is not a duration"));
      } else if (auto i = v.as_integer(); i && i->get() >= 0 && i->get() <= max_duration.count()) {
        out.refresh = std::chrono::milliseconds(i->get());
      } else {
        p.push_back(f + ": must be a duration (\"5m\") or integer milliseconds");
      }
    } else {
      p.push_back(f + ": unknown key (known keys: account, burst, exclude, external_id, include, rate, refresh, "
                      "role_name, role_session_name)");
    }
  }
  return p;
}

std::vector<std::string> validate_organization(const Organization& org, const std::map<std::string, Account>& accounts) {
  std::vector<std::string> p;
  if (!org.enabled) return p;
  const std::string f = "organization";
  if (org.account.empty()) {
    p.push_back(f + ".account: required: the configured account that may call organizations:ListAccounts");
  } else if (!accounts.count(org.account)) {
    p.push_back(f + ".account: " + shown(org.account) + " is not a configured account ([accounts." + org.account + "])");
  }
  if (org.role_name.empty() || org.role_name.size() > 64 || !chars_ok(org.role_name, "+=,.@_-"))
    p.push_back(f + ".role_name: must be a role name, 1-64 of [A-Za-z0-9+=,.@_-] (e.g. \"iamq\")");
  auto check_ids = [&](const std::vector<std::string>& ids, const std::string& key) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::string fi = f + "." + key + "[" + std::to_string(i) + "]";
      if (!twelve_digits(ids[i])) p.push_back(fi + ": " + shown(ids[i]) + " must be 12 digits");
      else if (!seen.insert(ids[i]).second) p.push_back(fi + ": " + ids[i] + " is listed twice");
    }
  };
  check_ids(org.include, "include");
  check_ids(org.exclude, "exclude");
  for (const auto& id : org.exclude) {
    if (std::find(org.include.begin(), org.include.end(), id) != org.include.end())
      p.push_back(f + ".exclude: " + id + " is in include too (list an account in one of them)");
  }
  if (org.refresh < std::chrono::seconds(10)) p.push_back(f + ".refresh: must be at least 10s");
  if (!org.external_id.empty() &&
      (org.external_id.size() < 2 || org.external_id.size() > 1224 || !chars_ok(org.external_id, "+=,.@:/-_")))
    p.push_back(f + ".external_id: must be 2-1224 of [A-Za-z0-9+=,.@:/_-]");
  if (org.role_session_name.size() < 2 || org.role_session_name.size() > 64 || !chars_ok(org.role_session_name, "+=,.@_-"))
    p.push_back(f + ".role_session_name: must be 2-64 of [A-Za-z0-9+=,.@_-]");
  if (!(org.rate > 0)) p.push_back(f + ".rate: must be > 0");
  if (!(org.burst >= 1)) p.push_back(f + ".burst: must be >= 1");
  for (const auto& [name, a] : accounts) {
    if (is_discovered_account_name(name))
      p.push_back("accounts." + name + ": names org-<12 digits> are kept for accounts found through [organization]");
  }
  return p;
}

Account discovered_account(const Organization& org, const Account& organization_account, const std::string& account_id) {
  Account a;
  a.name = discovered_account_name(account_id);
  a.account_id = account_id;
  a.region = organization_account.region;
  a.endpoint = organization_account.endpoint;
  a.role_arn = "arn:" + partition_of(a.region) + ":iam::{account_id}:role/" + org.role_name;
  a.role_source = organization_account.name;
  a.external_id = org.external_id;
  a.role_session_name = org.role_session_name;
  a.rate = org.rate;
  a.burst = org.burst;
  return a;
}

toml::table organization_table(const Organization& org) {
  toml::table t;
  t.insert_or_assign("account", org.account);
  t.insert_or_assign("role_name", org.role_name);
  toml::array inc, exc;
  for (const auto& i : org.include) inc.push_back(i);
  for (const auto& e : org.exclude) exc.push_back(e);
  if (!org.include.empty()) t.insert_or_assign("include", std::move(inc));
  if (!org.exclude.empty()) t.insert_or_assign("exclude", std::move(exc));
  t.insert_or_assign("refresh", format_duration(org.refresh));
  if (!org.external_id.empty()) t.insert_or_assign("external_id", org.external_id);
  t.insert_or_assign("role_session_name", org.role_session_name);
  t.insert_or_assign("rate", org.rate);
  t.insert_or_assign("burst", org.burst);
  return t;
}

}  // namespace iamq::config
