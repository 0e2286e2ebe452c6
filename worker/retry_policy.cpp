#include "worker/retry_policy.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <utility>

namespace iamq::worker {

namespace {

RetryPolicy::Random default_random() {
  // One generator per policy; shared_ptr so the std::function stays copyable.
  auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [gen]() {
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    return dist(*gen);
  };
}

}  // namespace

RetryPolicy::RetryPolicy(std::map<std::string, config::Backoff> table,
                         std::chrono::milliseconds delay_threshold, Random random)
    : table_(std::move(table)), threshold_(delay_threshold), random_(std::move(random)) {
  const auto defaults = config::defaults().backoff;
  for (const auto& [key, b] : defaults) table_.try_emplace(key, b);
  if (!random_) random_ = default_random();
}

RetryPolicy::RetryPolicy(const config::Config& cfg, Random random)
    : RetryPolicy(cfg.backoff, cfg.delay_threshold, std::move(random)) {}

bool RetryPolicy::retryable(client::ErrorClass cls) {
  using client::ErrorClass;
  switch (cls) {
    case ErrorClass::throttled:
    case ErrorClass::transient:
    case ErrorClass::concurrent_modification:
    case ErrorClass::unmodifiable:
      return true;
    default:
      return false;
  }
}

std::string RetryPolicy::backoff_key(client::ErrorClass cls) {
  using client::ErrorClass;
  switch (cls) {
    case ErrorClass::throttled: return "throttled";
    case ErrorClass::transient: return "transient";
    case ErrorClass::concurrent_modification: return "concurrent_modification";
    case ErrorClass::unmodifiable: return "unmodifiable";
    default: return {};
  }
}

std::optional<config::Backoff> RetryPolicy::backoff(client::ErrorClass cls) const {
  if (!retryable(cls)) return std::nullopt;
  auto it = table_.find(backoff_key(cls));
  if (it == table_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::chrono::milliseconds> RetryPolicy::window(client::ErrorClass cls,
                                                            int attempt) const {
  auto b = backoff(cls);
  if (!b) return std::nullopt;
  const long long base = std::max<long long>(0, b->base.count());
  const long long cap = std::max<long long>(0, b->cap.count());
  const int exponent = std::max(0, attempt - 1);
  // base * 2^exponent without overflow: stop doubling once past the cap.
  long long w = base;
  for (int i = 0; i < exponent && w < cap; ++i) w *= 2;
  return std::chrono::milliseconds(std::min(w, cap));
}

RetryDecision RetryPolicy::decide(client::ErrorClass cls, int attempt, int job_max_attempts) const {
  RetryDecision d;
  auto b = backoff(cls);
  if (!b) {
    d.reason = "not retryable";
    return d;
  }
  const int limit = job_max_attempts > 0 ? job_max_attempts : b->max_attempts;
  if (attempt >= limit) {
    d.reason = "attempts spent (" + std::to_string(attempt) + " of " + std::to_string(limit) + ")";
    return d;
  }
  const auto w = *window(cls, attempt);
  double r = random_();
  r = std::clamp(r, 0.0, 1.0);
  auto delay = std::chrono::milliseconds(static_cast<long long>(r * static_cast<double>(w.count())));
  if (delay > w) delay = w;
  d.retry = true;
  d.delay = delay;
  d.use_delayed_set = delay >= threshold_;
  return d;
}

}  // namespace iamq::worker
