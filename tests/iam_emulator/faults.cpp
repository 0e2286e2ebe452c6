#include "tests/iam_emulator/faults.hpp"

#include <algorithm>

namespace iamq::emulator {

using nlohmann::json;

namespace {

double lookup(const FaultConfig& f, std::string_view action,
              std::optional<double> ActionFaults::*field) {
  if (auto it = f.actions.find(action); it != f.actions.end() && (it->second.*field))
    return *(it->second.*field);
  if (auto it = f.actions.find(std::string_view("*")); it != f.actions.end() && (it->second.*field))
    return *(it->second.*field);
  return 0;
}

double number(const json& obj, const char* key, const std::string& path, double fallback,
              double min, double max) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw SeedError(path + "." + key + ": expected a number");
  double v = it->get<double>();
  if (v < min || v > max)
    throw SeedError(path + "." + key + ": must be between " + json(min).dump() + " and " +
                    json(max).dump());
  return v;
}

struct Field {
  const char* name;
  std::optional<double> ActionFaults::*member;
};
constexpr Field kFields[] = {
    {"unmodifiable", &ActionFaults::unmodifiable},
    {"concurrent_modification", &ActionFaults::concurrent_modification},
    {"service_failure", &ActionFaults::service_failure},
    {"html_503", &ActionFaults::html_503},
    {"drop_connection", &ActionFaults::drop_connection},
};

}  // namespace

double FaultConfig::unmodifiable_p(std::string_view a) const {
  return lookup(*this, a, &ActionFaults::unmodifiable);
}
double FaultConfig::concurrent_p(std::string_view a) const {
  return lookup(*this, a, &ActionFaults::concurrent_modification);
}
double FaultConfig::service_failure_p(std::string_view a) const {
  return lookup(*this, a, &ActionFaults::service_failure);
}
double FaultConfig::html_503_p(std::string_view a) const {
  return lookup(*this, a, &ActionFaults::html_503);
}
double FaultConfig::drop_p(std::string_view a) const {
  return lookup(*this, a, &ActionFaults::drop_connection);
}

FaultConfig faults_from_json(const json& j) {
  if (!j.is_object()) throw SeedError("faults: expected an object");
  static const char* kTop[] = {"latency_ms", "jitter_ms", "unmodifiable_window_s", "rate_limit",
                               "actions"};
  for (const auto& item : j.items()) {
    const std::string& k = item.key();
    if (std::none_of(std::begin(kTop), std::end(kTop), [&](const char* n) { return k == n; }))
      throw SeedError("faults: unknown field \"" + k + "\"");
  }
  FaultConfig f;
  f.latency_ms = number(j, "latency_ms", "faults", 0, 0, 600000);
  f.jitter_ms = number(j, "jitter_ms", "faults", 0, 0, 600000);
  f.unmodifiable_window_s = number(j, "unmodifiable_window_s", "faults", 0, 0, 86400);
  if (auto it = j.find("rate_limit"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw SeedError("faults.rate_limit: expected {\"rate\":…, \"burst\":…}");
    for (const auto& [k, v] : it->items())
      if (k != "rate" && k != "burst") throw SeedError("faults.rate_limit: unknown field \"" + k + "\"");
    f.rate_limit = number(*it, "rate", "faults.rate_limit", 0, 0, 1e9);
    f.rate_burst = number(*it, "burst", "faults.rate_limit", 0, 0, 1e9);
  }
  if (auto it = j.find("actions"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) throw SeedError("faults.actions: expected an object keyed by action name");
    for (const auto& [action, entry] : it->items()) {
      const std::string path = "faults.actions." + action;
      if (!entry.is_object()) throw SeedError(path + ": expected an object");
      ActionFaults af;
      for (const auto& [k, v] : entry.items()) {
        const Field* field = nullptr;
        for (const auto& fd : kFields)
          if (k == fd.name) field = &fd;
        if (!field) throw SeedError(path + ": unknown fault \"" + k + "\"");
        af.*(field->member) = number(entry, field->name, path, 0, 0, 1);
      }
      f.actions[action] = af;
    }
  }
  return f;
}

json to_json(const FaultConfig& f) {
  json actions = json::object();
  for (const auto& [name, af] : f.actions) {
    json entry = json::object();
    for (const auto& fd : kFields)
      if (af.*(fd.member)) entry[fd.name] = *(af.*(fd.member));
    actions[name] = std::move(entry);
  }
  return {{"latency_ms", f.latency_ms},
          {"jitter_ms", f.jitter_ms},
          {"unmodifiable_window_s", f.unmodifiable_window_s},
          {"rate_limit", {{"rate", f.rate_limit}, {"burst", f.rate_burst}}},
          {"actions", std::move(actions)}};
}

void TokenBucket::configure(double rate, double burst, TimePoint now) {
  rate_ = rate;
  burst_ = burst > 0 ? burst : std::max(1.0, rate);
  tokens_ = burst_;
  last_ = now;
}

bool TokenBucket::take(TimePoint now) {
  if (rate_ <= 0) return true;
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace iamq::emulator
