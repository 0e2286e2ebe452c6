#include "dashboard/event_series.hpp"

#include "client/iam_response.hpp"

namespace iamq::dashboard {

std::string retry_class_of(std::string_view error_text) {
  const auto colon = error_text.find(':');
  const std::string_view code = error_text.substr(0, colon);
  const std::string cls(client::to_string(client::classify(code, 0)));
  for (const auto c : kRetryClasses) {
    if (c == cls) return cls;
  }
  return "other";
}

EventSeries::Second& EventSeries::slot(std::int64_t second) {
  Second& s = seconds_[static_cast<std::size_t>(second % kSeconds)];
  if (s.at != second) s = Second{second};
  return s;
}

const EventSeries::Second* EventSeries::find(std::int64_t second) const {
  const Second& s = seconds_[static_cast<std::size_t>(second % kSeconds)];
  return s.at == second ? &s : nullptr;
}

void EventSeries::add(const std::map<std::string, std::string>& fields, std::string_view account) {
  auto at = fields.find("at");
  auto ev = fields.find("event");
  if (at == fields.end() || ev == fields.end()) return;
  std::int64_t ms = 0;
  try {
    ms = std::stoll(at->second);
  } catch (...) {
    return;
  }
  if (ms <= 0) return;
  const std::int64_t sec = ms / 1000;
  const std::string& kind = ev->second;
  // A slot may only move forward in time: an event older than what the slot holds now is
  // outside the window.
  const Second& cur = seconds_[static_cast<std::size_t>(sec % kSeconds)];
  if (cur.at > sec) return;
  if (kind == "step") {
    ++slot(sec).calls;
    if (!account.empty()) {
      auto& ring = account_calls_[std::string(account)];
      auto& cell = ring[static_cast<std::size_t>(sec % static_cast<std::int64_t>(ring.size()))];
      if (cell.first != sec) cell = {sec, 0};
      ++cell.second;
    }
  } else if (kind == "succeeded" || kind == "failed" || kind == "dead" || kind == "cancelled") {
    ++slot(sec).jobs;
  } else if (kind == "retry_scheduled" || kind == "delayed") {
    auto err = fields.find("error");
    const std::string cls = retry_class_of(err == fields.end() ? "" : err->second);
    for (std::size_t i = 0; i < kRetryClasses.size(); ++i) {
      if (kRetryClasses[i] == cls) ++slot(sec).retries[i];
    }
  }
}

nlohmann::json EventSeries::points(std::int64_t now_ms) const { return buckets(now_ms, kSeconds, 1); }

nlohmann::json EventSeries::buckets(std::int64_t now_ms, int seconds, int bucket) const {
  if (bucket < 1) bucket = 1;
  if (seconds > kSeconds) seconds = kSeconds;
  const std::int64_t end = now_ms / 1000;  // the current second, included
  const std::int64_t start = end - seconds + 1;
  nlohmann::json t = nlohmann::json::array(), jobs = nlohmann::json::array(),
                 calls = nlohmann::json::array();
  std::array<nlohmann::json, kRetryClasses.size()> retries;
  for (auto& r : retries) r = nlohmann::json::array();
  for (std::int64_t b = start; b <= end; b += bucket) {
    int j = 0, c = 0;
    std::array<int, kRetryClasses.size()> r{};
    for (std::int64_t s = b; s < b + bucket && s <= end; ++s) {
      if (const Second* x = find(s)) {
        j += x->jobs;
        c += x->calls;
        for (std::size_t i = 0; i < r.size(); ++i) r[i] += x->retries[i];
      }
    }
    t.push_back(b);
    jobs.push_back(j);
    calls.push_back(c);
    for (std::size_t i = 0; i < r.size(); ++i) retries[i].push_back(r[i]);
  }
  nlohmann::json out = {{"t", t}, {"jobs", jobs}, {"calls", calls}, {"bucket_seconds", bucket}};
  for (std::size_t i = 0; i < kRetryClasses.size(); ++i) {
    out["retries"][std::string(kRetryClasses[i])] = retries[i];
  }
  return out;
}

std::map<std::string, double> EventSeries::account_rates(std::int64_t now_ms) const {
  std::map<std::string, double> out;
  const std::int64_t end = now_ms / 1000;  // the current second is still filling: not counted
  for (const auto& [account, ring] : account_calls_) {
    int total = 0;
    for (const auto& cell : ring) {
      if (cell.first >= end - kRateWindow && cell.first < end) total += cell.second;
    }
    out[account] = static_cast<double>(total) / kRateWindow;
  }
  return out;
}

}  // namespace iamq::dashboard
