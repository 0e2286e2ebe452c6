#include "worker/job.hpp"

#include "worker/fan_out.hpp"

#include "worker/rfc3339.hpp"
#include "config/webhook_config.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <set>

#include "worker/redaction.hpp"

namespace iamq::worker {

namespace {

using nlohmann::json;

constexpr std::size_t max_depth = 16;          // nesting of the whole document
constexpr std::size_t max_meta_size = 8 * 1024;  // serialized meta
constexpr std::size_t max_steps = 1000;
constexpr std::size_t max_param_values = 1000;  // members of one list parameter

/// Quoted, escaped rendering of a value for messages (cut when long).
std::string quote(std::string_view s) {
  std::string v(s.substr(0, 80));
  std::string q = json(v).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) q.insert(q.size() - 1, "…");
  return q;
}

bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/// `s` consists only of \w and the characters in `extra`.
bool charset_ok(std::string_view s, std::string_view extra) {
  for (char c : s) {
    if (!is_word(c) && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

struct Rule {
  const char* field;
  std::size_t min;
  std::size_t max;
  std::string_view extra;  // allowed besides \w
  const char* pattern;     // as printed in messages
};

// As IAM validates them (API reference: UserName, SerialNumber).
constexpr Rule user_name_rule{"user_name", 1, 128, "+=,.@-", "[\\w+=,.@-]+"};
constexpr Rule serial_rule{"serial_number", 9, 256, "+=/:,.@-", "[\\w+=/:,.@-]+"};
// Ours: job ids and account names end up in Redis keys, logs and metrics labels.
// A '/' joins a fan-out parent's id and an account in its children's ids.
constexpr Rule id_rule{"id", 1, 128, ".:/-", "[A-Za-z0-9_.:/-]+"};
constexpr Rule account_rule{"account", 1, 64, ".-", "[A-Za-z0-9_.-]+"};

std::optional<JobError> check(const Rule& r, std::string_view v);

}  // namespace

std::optional<JobError> check_account_name(std::string_view name) { return check(account_rule, name); }

namespace {

std::optional<JobError> check(const Rule& r, std::string_view v) {
  if (v.size() < r.min || v.size() > r.max) {
    return JobError{r.field, std::string(r.field) + " must be " + std::to_string(r.min) + "-" +
                                 std::to_string(r.max) + " characters long (got " +
                                 std::to_string(v.size()) + ")"};
  }
  if (!charset_ok(v, r.extra)) {
    return JobError{r.field, std::string(r.field) + " " + quote(v) + " does not match " + r.pattern};
  }
  return std::nullopt;
}

/// `[A-Z][A-Za-z0-9]{1,127}`
bool action_ok(std::string_view a) {
  if (a.size() < 2 || a.size() > 128) return false;
  if (!(a[0] >= 'A' && a[0] <= 'Z')) return false;
  for (char c : a) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

/// Parameter names: `[A-Z][A-Za-z0-9.]{0,127}` (Query protocol names, e.g. Tags.member.1.Key).
bool param_name_ok(std::string_view p) {
  if (p.empty() || p.size() > 128) return false;
  if (!(p[0] >= 'A' && p[0] <= 'Z')) return false;
  for (char c : p) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'))
      return false;
  }
  return true;
}

/// Nesting depth of the JSON text (brackets outside strings); stops counting past `limit`.
std::size_t nesting_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0;
  std::size_t max_seen = 0;
  bool in_string = false;
  bool escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      max_seen = std::max(max_seen, ++depth);
      if (max_seen > limit) return max_seen;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_seen;
}

JobError err(std::string field, std::string message) {
  return JobError{std::move(field), std::move(message)};
}

/// Parses `text` as one JSON document, refusing what json::parse lets through: a key twice in
/// one object (the last would win silently: `"dry_run":true,"dry_run":false` ran live) and
/// anything after the document (nlohmann's lexer takes a NUL byte for the end of input, so
/// `{job}\0garbage` parsed as `{job}`).
std::variant<json, JobError> parse_strict(std::string_view text) {
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return err("", "not valid JSON: a NUL byte at byte " + std::to_string(nul) +
                       " (the JSON must end where the document ends)");
  }
  std::vector<std::set<std::string>> keys;  // one set per open object
  std::optional<std::string> duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && !keys.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default: break;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text, cb);
  } catch (const json::parse_error& e) {
    return err("", "not valid JSON (at byte " + std::to_string(e.byte) + ")");
  } catch (const json::out_of_range&) {
    return err("", "not valid JSON (a number is too large)");
  }
  if (duplicate) {
    return err(*duplicate, "duplicate key " + quote(*duplicate) + " (each key may appear once in an object)");
  }
  return j;
}

std::variant<Job, JobError> parse_object(const json& j) {
  Job job;
  static const std::set<std::string> known = {
      "id",   "type",       "account",        "user_name", "serial_number", "keep_user",
      "delete_virtual", "steps", "max_attempts", "dry_run",   "meta", "priority", "not_before",
      "notify", "accounts", "account_id", "delete_root_credentials"};
  for (const auto& [k, v] : j.items()) {
    if (!known.count(k)) return err(k, "unknown field " + quote(k));
  }

  auto string_field = [&](const char* name) -> std::variant<std::monostate, std::string, JobError> {
    auto it = j.find(name);
    if (it == j.end()) return std::monostate{};
    if (!it->is_string()) return err(name, std::string(name) + " must be a string");
    return it->get<std::string>();
  };
  auto bool_field = [&](const char* name, bool& out) -> std::optional<JobError> {
    auto it = j.find(name);
    if (it == j.end()) return std::nullopt;
    if (!it->is_boolean()) return err(name, std::string(name) + " must be true or false");
    out = it->get<bool>();
    return std::nullopt;
  };

  // type
  auto type = string_field("type");
  if (auto* e = std::get_if<JobError>(&type)) return *e;
  if (std::holds_alternative<std::monostate>(type)) {
    return err("type", "type is required (offboard_user, deactivate_mfa, delete_user, iam_calls, deactivate_root_mfa)");
  }
  auto t = job_type_from_string(std::get<std::string>(type));
  if (!t) {
    return err("type", "type " + quote(std::get<std::string>(type)) +
                           " is not one of offboard_user, deactivate_mfa, delete_user, iam_calls, "
                           "deactivate_root_mfa");
  }
  job.type = *t;

  // id
  auto id = string_field("id");
  if (auto* e = std::get_if<JobError>(&id)) return *e;
  if (auto* s = std::get_if<std::string>(&id)) {
    if (auto e = check(id_rule, *s)) return *e;
    job.id = *s;
  }

  // account
  auto account = string_field("account");
  if (auto* e = std::get_if<JobError>(&account)) return *e;
  if (auto* s = std::get_if<std::string>(&account)) {
    if (auto e = check(account_rule, *s)) return *e;
    job.account = *s;
  }

  if (auto e = parse_fan_out(j, job)) return *e;

  // account_id: deactivate_root_mfa only, required there (the member account whose root user)
  auto target = string_field("account_id");
  if (auto* e = std::get_if<JobError>(&target)) return *e;
  if (job.type == JobType::deactivate_root_mfa) {
    const auto* id = std::get_if<std::string>(&target);
    if (!id) return err("account_id", "account_id is required for deactivate_root_mfa (the member account, 12 digits)");
    if (id->size() != 12 || !charset_ok(*id, "") ||
        id->find_first_not_of("0123456789") != std::string::npos) {
      return err("account_id", "account_id " + quote(*id) + " must be 12 digits");
    }
    job.root_account_id = *id;
  } else if (!std::holds_alternative<std::monostate>(target)) {
    return err("account_id", "account_id is only for deactivate_root_mfa");
  }
  if (auto e = bool_field("delete_root_credentials", job.delete_root_credentials)) return *e;
  if (j.contains("delete_root_credentials") && job.type != JobType::deactivate_root_mfa) {
    return err("delete_root_credentials", "delete_root_credentials is only for deactivate_root_mfa");
  }

  // user_name: required except for iam_calls and deactivate_root_mfa (where it is refused)
  auto user = string_field("user_name");
  if (auto* e = std::get_if<JobError>(&user)) return *e;
  if (job.type == JobType::deactivate_root_mfa) {
    if (!std::holds_alternative<std::monostate>(user)) {
      return err("user_name", "user_name is not used by deactivate_root_mfa (it acts on the root user of account_id)");
    }
  } else if (job.type == JobType::iam_calls) {
    if (!std::holds_alternative<std::monostate>(user)) {
      return err("user_name", "user_name is not used by iam_calls (put it in the steps' params)");
    }
  } else {
    if (std::holds_alternative<std::monostate>(user)) {
      return err("user_name",
                 "user_name is required for " + std::string(to_string(job.type)));
    }
    if (auto e = check(user_name_rule, std::get<std::string>(user))) return *e;
    job.user_name = std::get<std::string>(user);
  }

  // serial_number: deactivate_mfa only, optional
  auto serial = string_field("serial_number");
  if (auto* e = std::get_if<JobError>(&serial)) return *e;
  if (auto* s = std::get_if<std::string>(&serial)) {
    if (job.type != JobType::deactivate_mfa) {
      return err("serial_number", "serial_number is only for deactivate_mfa");
    }
    if (auto e = check(serial_rule, *s)) return *e;
    job.serial_number = *s;
  }

  if (auto e = bool_field("keep_user", job.keep_user)) return *e;
  if (j.contains("keep_user") && job.type != JobType::offboard_user) {
    return err("keep_user", "keep_user is only for offboard_user");
  }
  if (auto e = bool_field("delete_virtual", job.delete_virtual)) return *e;
  if (j.contains("delete_virtual") && job.type != JobType::deactivate_mfa) {
    return err("delete_virtual", "delete_virtual is only for deactivate_mfa");
  }
  if (auto e = bool_field("dry_run", job.dry_run)) return *e;

  // priority, not_before (scheduling)
  if (auto it = j.find("priority"); it != j.end()) {
    if (!it->is_string() || (*it != "urgent" && *it != "normal" && *it != "bulk")) {
      return err("priority", "priority must be one of urgent, normal, bulk");
    }
    job.priority = it->get<std::string>();
  }
  if (auto it = j.find("not_before"); it != j.end()) {
    std::optional<long long> t;
    if (it->is_string()) t = parse_rfc3339_utc(it->get<std::string>());
    if (!t) {
      return err("not_before",
                 "not_before must be an RFC 3339 UTC time such as 2026-12-01T09:00:00Z");
    }
    job.not_before_ms = *t;
  }

  // max_attempts
  if (auto it = j.find("max_attempts"); it != j.end()) {
    // Judged in the type the parser chose, never converted out of range: an integer too
    // large for any integer type arrives as a double, one above LLONG_MAX as unsigned.
    bool ok = false;
    long long v = 0;
    if (it->is_number_unsigned()) {
      ok = it->get<std::uint64_t>() <= 100;
      if (ok) v = static_cast<long long>(it->get<std::uint64_t>());
    } else if (it->is_number_integer()) {
      v = it->get<std::int64_t>();
      ok = v >= 1 && v <= 100;
    } else if (it->is_number_float()) {
      const double d = it->get<double>();
      ok = d >= 1 && d <= 100 && d == std::floor(d);  // false for NaN and infinities too
      if (ok) v = static_cast<long long>(d);
    }
    if (!ok || v < 1 || v > 100) {
      return err("max_attempts", "max_attempts must be an integer 1-100");
    }
    job.max_attempts = static_cast<int>(v);
  }

  // notify: a webhook name; whether it is configured is the worker's check (job_validator)
  if (auto it = j.find("notify"); it != j.end()) {
    if (!it->is_string() || !config::valid_webhook_name(it->get<std::string>())) {
      return err("notify", "notify must be a webhook name: 1-64 of [A-Za-z0-9_-]");
    }
    job.notify = it->get<std::string>();
  }

  // meta
  if (auto it = j.find("meta"); it != j.end()) {
    if (!it->is_object()) return err("meta", "meta must be an object");
    if (it->dump().size() > max_meta_size) {
      return err("meta", "meta must be at most " + std::to_string(max_meta_size) +
                             " bytes as JSON");
    }
    job.meta = redact(*it);  // opaque, but never a place for a secret to be kept
  } else {
    job.meta = json::object();
  }

  // steps: iam_calls only, required there
  auto st = j.find("steps");
  if (job.type != JobType::iam_calls) {
    if (st != j.end()) return err("steps", "steps is only for iam_calls");
  } else {
    if (st == j.end()) return err("steps", "steps is required for iam_calls");
    if (!st->is_array() || st->empty() || st->size() > max_steps) {
      return err("steps", "steps must be an array of 1-" + std::to_string(max_steps) + " steps");
    }
    std::size_t n = 0;
    for (const auto& s : *st) {
      std::string where = "steps[" + std::to_string(n++) + "]";
      if (!s.is_object()) return err("steps", where + " must be an object {action, params}");
      for (const auto& [k, v] : s.items()) {
        if (k != "action" && k != "params") {
          return err("steps", where + ": unknown field " + quote(k));
        }
      }
      auto a = s.find("action");
      if (a == s.end() || !a->is_string()) {
        return err("steps", where + ".action is required (a string)");
      }
      std::string action = a->get<std::string>();
      if (!action_ok(action)) {
        return err("steps", where + ".action " + quote(action) + " does not match [A-Z][A-Za-z0-9]{1,127}");
      }
      IamStep step;
      step.action = action;
      if (auto p = s.find("params"); p != s.end()) {
        if (!p->is_object()) return err("steps", where + ".params must be an object");
        for (const auto& [name, value] : p->items()) {
          if (!param_name_ok(name) || name == "Action" || name == "Version") {
            return err("steps", where + ".params: parameter name " + quote(name) +
                                    " does not match [A-Z][A-Za-z0-9.]{0,127} (Action and "
                                    "Version are reserved)");
          }
          if (is_secret_name(name)) {
            // No allow-listed action takes a secret; refused in a dry run too, and the value
            // is never echoed.
            return err("steps", where + ".params." + name +
                                    " carries a secret: iam_calls never sends a password, key or token");
          }
          if (value.is_string()) {
            step.params.emplace_back(name, value.get<std::string>());
          } else if (value.is_array()) {
            if (value.size() > max_param_values) {
              return err("steps", where + ".params." + name + ": at most " +
                                      std::to_string(max_param_values) + " values");
            }
            std::size_t m = 0;
            for (const auto& item : value) {
              if (!item.is_string()) {
                return err("steps", where + ".params." + name + " must hold only strings");
              }
              step.params.emplace_back(name + ".member." + std::to_string(++m),
                                       item.get<std::string>());
            }
          } else {
            return err("steps", where + ".params." + name +
                                    " must be a string or an array of strings");
          }
        }
      }
      job.steps.push_back(std::move(step));
    }
  }
  return job;
}

}  // namespace

std::string_view to_string(JobType t) {
  switch (t) {
    case JobType::offboard_user: return "offboard_user";
    case JobType::deactivate_mfa: return "deactivate_mfa";
    case JobType::delete_user: return "delete_user";
    case JobType::iam_calls: return "iam_calls";
    case JobType::deactivate_root_mfa: return "deactivate_root_mfa";
  }
  return "unknown";
}

std::optional<JobType> job_type_from_string(std::string_view s) {
  for (auto t : {JobType::offboard_user, JobType::deactivate_mfa, JobType::delete_user,
                 JobType::iam_calls, JobType::deactivate_root_mfa}) {
    if (to_string(t) == s) return t;
  }
  return std::nullopt;
}

std::variant<Job, JobError> parse_job(std::string_view json_text) {
  try {
    if (json_text.size() > max_job_size) {
      return err("", "job is " + std::to_string(json_text.size()) + " bytes; the limit is " +
                         std::to_string(max_job_size));
    }
    if (nesting_depth(json_text, max_depth) > max_depth) {
      return err("", "job JSON is nested deeper than " + std::to_string(max_depth) + " levels");
    }
    auto parsed = parse_strict(json_text);
    if (auto* e = std::get_if<JobError>(&parsed)) return *e;
    const json& j = std::get<json>(parsed);
    if (!j.is_object()) return err("", "a job must be a JSON object");
    return parse_object(j);
  } catch (const std::exception& e) {
    return err("", std::string("cannot parse job: ") + e.what());
  } catch (...) {
    return err("", "cannot parse job");
  }
}

nlohmann::json to_json(const Job& job) {
  json j = json::object();
  if (!job.id.empty()) j["id"] = job.id;
  j["type"] = std::string(to_string(job.type));
  j["account"] = job.account;
  if (job.type != JobType::iam_calls && job.type != JobType::deactivate_root_mfa) j["user_name"] = job.user_name;
  if (job.type == JobType::deactivate_root_mfa) {
    j["account_id"] = job.root_account_id;
    if (job.delete_root_credentials) j["delete_root_credentials"] = true;
  }
  if (job.type == JobType::deactivate_mfa) {
    if (!job.serial_number.empty()) j["serial_number"] = job.serial_number;
    if (job.delete_virtual) j["delete_virtual"] = true;
  }
  if (job.type == JobType::offboard_user && job.keep_user) j["keep_user"] = true;
  if (job.type == JobType::iam_calls) {
    json steps = json::array();
    for (const auto& s : job.steps) {
      json params = json::object();
      for (const auto& [k, v] : s.params) params[k] = v;
      steps.push_back({{"action", s.action}, {"params", params}});
    }
    j["steps"] = steps;
  }
  if (job.max_attempts > 0) j["max_attempts"] = job.max_attempts;
  if (job.dry_run) j["dry_run"] = true;
  if (job.priority != "normal") j["priority"] = job.priority;
  if (job.not_before_ms > 0) j["not_before"] = format_rfc3339_utc(job.not_before_ms);
  if (!job.notify.empty()) j["notify"] = job.notify;
  fan_out_to_json(job, j);
  if (job.meta.is_object() && !job.meta.empty()) j["meta"] = redact(job.meta);
  return j;
}

std::string generate_job_id() {
  static thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 2; ++i) {
    auto v = rng();
    for (int b = 0; b < 16; ++b) {
      id.push_back(hex[v & 15]);
      v >>= 4;
    }
  }
  return id;
}

}  // namespace iamq::worker
