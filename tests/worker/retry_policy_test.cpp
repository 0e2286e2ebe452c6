// Retry decisions: full jitter bounds with a fixed RNG, caps, attempts, the delayed-set threshold.
#include <set>

#include <gtest/gtest.h>

#include "worker/retry_policy.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using client::ErrorClass;

RetryPolicy::Random fixed(double v) {
  return [v] { return v; };
}

std::map<std::string, config::Backoff> table() {
  return {{"throttled", {100ms, 1000ms, 5}},
          {"transient", {1s, 30s, 3}},
          {"concurrent_modification", {2s, 60s, 4}},
          {"unmodifiable", {30s, 5min, 20}}};
}

TEST(RetryPolicy, WindowDoublesUpToTheCap) {
  RetryPolicy p(table(), 5s, fixed(0.5));
  EXPECT_EQ(*p.window(ErrorClass::throttled, 1), 100ms);
  EXPECT_EQ(*p.window(ErrorClass::throttled, 2), 200ms);
  EXPECT_EQ(*p.window(ErrorClass::throttled, 3), 400ms);
  EXPECT_EQ(*p.window(ErrorClass::throttled, 4), 800ms);
  EXPECT_EQ(*p.window(ErrorClass::throttled, 5), 1000ms);
  EXPECT_EQ(*p.window(ErrorClass::throttled, 100000), 1000ms);  // no overflow
  EXPECT_EQ(*p.window(ErrorClass::unmodifiable, 4), 240s);
  EXPECT_EQ(*p.window(ErrorClass::unmodifiable, 5), 5min);
  EXPECT_FALSE(p.window(ErrorClass::denied, 1));
}

TEST(RetryPolicy, FullJitterSpansZeroToTheWindow) {
  for (double r : {0.0, 0.25, 0.5, 0.999999}) {
    SCOPED_TRACE(r);
    RetryPolicy p(table(), 5s, fixed(r));
    for (int attempt = 1; attempt < 5; ++attempt) {
      const auto d = p.decide(ErrorClass::throttled, attempt);
      ASSERT_TRUE(d.retry);
      const auto w = *p.window(ErrorClass::throttled, attempt);
      EXPECT_EQ(d.delay.count(), static_cast<long long>(r * static_cast<double>(w.count())));
      EXPECT_LE(d.delay, w);
      EXPECT_GE(d.delay, 0ms);
    }
  }
  // An RNG out of its contract is clamped, never a delay beyond the window.
  RetryPolicy wild(table(), 5s, fixed(7.0));
  EXPECT_EQ(wild.decide(ErrorClass::throttled, 1).delay, 100ms);
  RetryPolicy negative(table(), 5s, fixed(-1.0));
  EXPECT_EQ(negative.decide(ErrorClass::throttled, 1).delay, 0ms);
}

TEST(RetryPolicy, RealRandomStaysInBoundsAndVaries) {
  RetryPolicy p(table(), 5s);
  std::set<long long> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto d = p.decide(ErrorClass::transient, 2);
    ASSERT_TRUE(d.retry);
    ASSERT_GE(d.delay, 0ms);
    ASSERT_LE(d.delay, 2s);
    seen.insert(d.delay.count());
  }
  EXPECT_GT(seen.size(), 100u);  // jittered, not a constant
}

TEST(RetryPolicy, GivesUpWhenAttemptsAreSpent) {
  RetryPolicy p(table(), 5s, fixed(0.5));
  EXPECT_TRUE(p.decide(ErrorClass::transient, 1).retry);
  EXPECT_TRUE(p.decide(ErrorClass::transient, 2).retry);
  const auto d = p.decide(ErrorClass::transient, 3);
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.reason, "attempts spent (3 of 3)");
  // A job's own max_attempts replaces the class's.
  EXPECT_TRUE(p.decide(ErrorClass::transient, 3, 6).retry);
  EXPECT_FALSE(p.decide(ErrorClass::transient, 6, 6).retry);
  EXPECT_FALSE(p.decide(ErrorClass::throttled, 1, 1).retry);
}

TEST(RetryPolicy, OnlyRetryableClassesAreRetried) {
  RetryPolicy p(table(), 5s, fixed(0.5));
  for (auto c : {ErrorClass::absent, ErrorClass::conflict, ErrorClass::credentials, ErrorClass::denied,
                 ErrorClass::terminal}) {
    const auto d = p.decide(c, 1);
    EXPECT_FALSE(d.retry);
    EXPECT_EQ(d.reason, "not retryable");
    EXPECT_FALSE(RetryPolicy::retryable(c));
    EXPECT_TRUE(RetryPolicy::backoff_key(c).empty());
  }
  for (auto c : {ErrorClass::throttled, ErrorClass::transient, ErrorClass::concurrent_modification,
                 ErrorClass::unmodifiable}) {
    EXPECT_TRUE(RetryPolicy::retryable(c));
    EXPECT_TRUE(p.decide(c, 1).retry);
  }
  EXPECT_EQ(RetryPolicy::backoff_key(ErrorClass::concurrent_modification), "concurrent_modification");
}

TEST(RetryPolicy, LongWaitsGoToTheDelayedSet) {
  RetryPolicy p(table(), 5s, fixed(0.999));
  auto short_wait = p.decide(ErrorClass::throttled, 3);  // ≤ 400ms
  EXPECT_FALSE(short_wait.use_delayed_set);
  auto long_wait = p.decide(ErrorClass::unmodifiable, 1);  // ~30s
  EXPECT_TRUE(long_wait.use_delayed_set);
  EXPECT_EQ(p.delay_threshold(), 5s);
  // Exactly at the threshold: delayed set.
  RetryPolicy q({{"transient", {10s, 10s, 3}}}, 5s, fixed(0.5));
  EXPECT_EQ(q.decide(ErrorClass::transient, 1).delay, 5s);
  EXPECT_TRUE(q.decide(ErrorClass::transient, 1).use_delayed_set);
}

TEST(RetryPolicy, MissingClassesUseTheDefaultsAndConfigIsHonoured) {
  RetryPolicy p({{"throttled", {1s, 2s, 2}}}, 5s, fixed(0.5));
  const auto d = config::defaults();
  EXPECT_EQ(p.backoff(ErrorClass::unmodifiable)->base, d.backoff.at("unmodifiable").base);
  EXPECT_EQ(p.backoff(ErrorClass::throttled)->cap, 2s);

  config::Config cfg = config::defaults();
  cfg.delay_threshold = 1s;
  cfg.backoff["transient"] = {3s, 4s, 9};
  RetryPolicy from_cfg(cfg, fixed(0.5));
  EXPECT_EQ(from_cfg.delay_threshold(), 1s);
  EXPECT_EQ(from_cfg.backoff(ErrorClass::transient)->max_attempts, 9);
  EXPECT_EQ(from_cfg.decide(ErrorClass::transient, 1).delay, 1500ms);
}

TEST(RetryPolicy, DefaultsArePatientWithUnmodifiable) {
  const auto d = config::defaults().backoff;
  EXPECT_EQ(d.at("throttled").base, 500ms);
  EXPECT_EQ(d.at("throttled").cap, 20s);
  EXPECT_EQ(d.at("transient").base, 1s);
  EXPECT_EQ(d.at("transient").cap, 30s);
  EXPECT_EQ(d.at("concurrent_modification").base, 2s);
  EXPECT_EQ(d.at("concurrent_modification").cap, 60s);
  EXPECT_EQ(d.at("unmodifiable").base, 30s);
  EXPECT_EQ(d.at("unmodifiable").cap, 5min);
  EXPECT_GE(d.at("unmodifiable").max_attempts, 10);
}

}  // namespace
}  // namespace iamq::worker
