#include "config/webhook_config.hpp"

#include <algorithm>
#include <cctype>

#include "config/webhook_config_toml.hpp"

#include "config/config.hpp"

namespace iamq::config {

namespace {

/// The host of an http(s) URL ("" if it has none).
std::string url_host(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  std::string rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') return rest.substr(1, rest.find(']') - 1);
  return rest.substr(0, rest.find(':'));
}

bool loopback_host(const std::string& h) {
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

}  // namespace

std::vector<std::string> read_webhooks(const toml::node& n, const std::string& field,
                                       std::map<std::string, Webhook>& out) {
  std::vector<std::string> p;
  auto tbl = n.as_table();
  if (!tbl) return {field + ": must be a table of [webhooks.<name>] sections"};
  for (auto&& [k, v] : *tbl) {
    const std::string name(k.str());
    const std::string f = field + "." + name;
    auto wt = v.as_table();
    if (!wt) {
      p.push_back(f + ": must be a table ([webhooks." + name + "])");
      continue;
    }
    Webhook w;
    w.name = name;
    for (auto&& [key, val] : *wt) {
      const std::string kf = f + "." + std::string(key.str());
      const std::string_view kk = key.str();
      if (kk == "url" || kk == "secret") {
        auto s = val.as_string();
        // A secret's value is never echoed, even in a type error.
        if (!s) {
          p.push_back(kf + ": must be a string");
          continue;
        }
        (kk == "url" ? w.url : w.secret) = s->get();
      } else if (kk == "events") {
        auto arr = val.as_array();
        if (!arr) {
          p.push_back(kf + ": must be an array of event names");
          continue;
        }
        w.events.clear();
        for (std::size_t i = 0; i < arr->size(); ++i) {
          auto s = (*arr)[i].as_string();
          if (!s) {
            p.push_back(kf + "[" + std::to_string(i) + "]: must be a string");
            continue;
          }
          w.events.push_back(s->get());
        }
      } else if (kk == "timeout") {
        std::optional<std::chrono::milliseconds> d;
        if (auto s = val.as_string()) d = parse_duration(s->get());
        if (!d) {
          p.push_back(kf + ": must be a duration string (\"500ms\", \"10s\")");
          continue;
        }
        w.timeout = *d;
      } else if (kk == "max_attempts") {
        auto i = val.as_integer();
        if (!i) {
          p.push_back(kf + ": must be an integer");
          continue;
        }
        w.max_attempts = static_cast<int>(std::clamp<std::int64_t>(i->get(), -1, 1000));
      } else {
        p.push_back(kf + ": unknown key (known keys: events, max_attempts, secret, timeout, url)");
      }
    }
    out[name] = std::move(w);
  }
  return p;
}

std::vector<std::string> validate_webhooks(const std::map<std::string, Webhook>& hooks) {
  std::vector<std::string> p;
  for (const auto& [name, w] : hooks) {
    const std::string f = "webhooks." + name;
    if (!valid_webhook_name(name)) p.push_back(f + ": webhook names are 1-64 of [A-Za-z0-9_-]");
    const bool https = w.url.rfind("https://", 0) == 0;
    const bool http = w.url.rfind("http://", 0) == 0;
    if (w.url.empty()) {
      p.push_back(f + ".url: required");
    } else if (!https && !http) {
      p.push_back(f + ".url: must start with https:// (or http:// for a loopback host)");
    } else if (url_host(w.url).empty()) {
      p.push_back(f + ".url: has no host");
    } else if (http && !loopback_host(url_host(w.url))) {
      p.push_back(f + ".url: plain http:// is only allowed to a loopback host; use https://");
    }
    if (w.secret.size() < 16) p.push_back(f + ".secret: required, at least 16 characters");
    if (w.events.empty()) p.push_back(f + ".events: must name at least one event");
    for (const auto& e : w.events) {
      if (std::find(kWebhookEvents.begin(), kWebhookEvents.end(), e) == kWebhookEvents.end()) {
        p.push_back(f + ".events: \"" + e +
                    "\" is not one of succeeded, failed, dead, cancelled, retry_scheduled");
      }
    }
    if (w.timeout <= std::chrono::milliseconds::zero()) p.push_back(f + ".timeout: must be > 0");
    if (w.max_attempts < 1 || w.max_attempts > 100) p.push_back(f + ".max_attempts: must be 1-100");
  }
  return p;
}

toml::table redacted_webhooks(const std::map<std::string, Webhook>& hooks) {
  toml::table t;
  for (const auto& [name, w] : hooks) {
    toml::array events;
    for (const auto& e : w.events) events.push_back(e);
    t.insert_or_assign(name, toml::table{{"url", w.url},
                                         {"secret", "<redacted>"},
                                         {"events", std::move(events)},
                                         {"timeout", format_duration(w.timeout)},
                                         {"max_attempts", w.max_attempts}});
  }
  return t;
}

}  // namespace iamq::config
