// Token bucket and adaptive rate with a fake clock.
#include <algorithm>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "worker/rate_limiter.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using Clock = RateLimiter::Clock;

struct FakeClock {
  Clock::time_point t{std::chrono::hours(1000)};
  RateLimiter::Now fn() {
    return [this] { return t; };
  }
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

TEST(RateLimiter, BurstThenOnePerInterval) {
  FakeClock clock;
  RateLimiter l(10.0, 5.0, clock.fn());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(l.reserve(), Clock::duration::zero()) << i;
  // The bucket is empty: reservations queue, 100ms apart.
  EXPECT_NEAR(ms(l.reserve()), 100.0, 0.01);
  EXPECT_NEAR(ms(l.reserve()), 200.0, 0.01);
  EXPECT_NEAR(ms(l.reserve()), 300.0, 0.01);
  EXPECT_NEAR(l.tokens(), -3.0, 1e-9);
  clock.t += 300ms;  // the queue is paid back
  EXPECT_NEAR(l.tokens(), 0.0, 1e-9);
  EXPECT_NEAR(ms(l.reserve()), 100.0, 0.01);
}

TEST(RateLimiter, RefillsUpToTheBurstOnly) {
  FakeClock clock;
  RateLimiter l(2.0, 3.0, clock.fn());
  for (int i = 0; i < 3; ++i) l.reserve();
  clock.t += 1h;
  EXPECT_NEAR(l.tokens(), 3.0, 1e-9);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.reserve(), Clock::duration::zero());
  EXPECT_NEAR(ms(l.reserve()), 500.0, 0.01);
}

TEST(RateLimiter, TryAcquireNeverQueues) {
  FakeClock clock;
  RateLimiter l(4.0, 1.0, clock.fn());
  EXPECT_TRUE(l.try_acquire());
  EXPECT_FALSE(l.try_acquire());
  EXPECT_NEAR(l.tokens(), 0.0, 1e-9);  // the refusal took nothing
  EXPECT_NEAR(ms(l.time_until_available()), 250.0, 0.01);
  clock.t += 250ms;
  EXPECT_EQ(l.time_until_available(), Clock::duration::zero());
  EXPECT_TRUE(l.try_acquire());
}

// Callers that honour the waits never exceed rate*T + burst calls in any window T.
TEST(RateLimiter, SteadyRateHolds) {
  FakeClock clock;
  const double rate = 20.0;
  const double burst = 10.0;
  RateLimiter l(rate, burst, clock.fn());
  std::vector<Clock::time_point> calls;
  const auto start = clock.t;
  // 50 callers, each: reserve, "sleep" the wait, call, repeat; simulated in time order.
  std::multimap<Clock::time_point, int> due;
  for (int i = 0; i < 50; ++i) due.emplace(start, i);
  while (calls.size() < 1000) {
    auto [when, who] = *due.begin();
    due.erase(due.begin());
    clock.t = when;
    const auto wait = l.reserve();
    calls.push_back(when + wait);
    due.emplace(when + wait + 1ms, who);  // next reservation after this call went out
  }
  std::sort(calls.begin(), calls.end());
  const auto elapsed = std::chrono::duration<double>(calls.back() - calls.front()).count();
  EXPECT_NEAR(static_cast<double>(calls.size()) / elapsed, rate, rate * 0.05 + burst / elapsed);
  // Any 1-second window: at most rate + burst calls.
  std::size_t j = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    while (calls[i] - calls[j] >= 1s) ++j;
    ASSERT_LE(static_cast<double>(i - j + 1), rate + burst + 1e-9);
  }
}

TEST(RateLimiter, ThrottleCutsTheRateOncePerCooldown) {
  FakeClock clock;
  RateLimiter l(10.0, 10.0, clock.fn());
  EXPECT_DOUBLE_EQ(l.current_rate(), 10.0);
  l.on_throttled();
  EXPECT_DOUBLE_EQ(l.current_rate(), 7.0);
  EXPECT_NEAR(l.tokens(), 0.0, 1e-9);  // no burst right after a throttle
  EXPECT_DOUBLE_EQ(l.capacity(), 7.0);
  // The other in-flight calls answer "throttled" too: the same overload, one cut.
  l.on_throttled();
  l.on_throttled();
  EXPECT_DOUBLE_EQ(l.current_rate(), 7.0);
  clock.t += 1s;
  l.on_throttled();
  EXPECT_NEAR(l.current_rate(), 4.9, 1e-9);
  // Waits follow the current rate.
  EXPECT_NEAR(ms(l.reserve()), 1000.0 / 4.9, 0.01);
}

TEST(RateLimiter, RateNeverDropsBelowTheFloor) {
  FakeClock clock;
  RateLimiter::Options o;
  o.rate = 10;
  o.burst = 5;
  o.floor_fraction = 0.1;
  RateLimiter l(o, clock.fn());
  for (int i = 0; i < 50; ++i) {
    l.on_throttled();
    clock.t += 2s;
  }
  EXPECT_DOUBLE_EQ(l.current_rate(), 1.0);
  EXPECT_DOUBLE_EQ(l.capacity(), 1.0);
}

TEST(RateLimiter, SuccessRecoversGraduallyToTheConfiguredRate) {
  FakeClock clock;
  RateLimiter::Options o;
  o.rate = 10;
  o.burst = 10;
  o.recovery_period = 10s;
  RateLimiter l(o, clock.fn());
  l.on_throttled();
  ASSERT_DOUBLE_EQ(l.current_rate(), 7.0);
  clock.t += 1s;
  l.on_success();  // + 10 * 1s/10s
  EXPECT_NEAR(l.current_rate(), 8.0, 1e-9);
  clock.t += 500ms;
  l.on_success();
  EXPECT_NEAR(l.current_rate(), 8.5, 1e-9);
  l.on_success();  // no time passed: no change
  EXPECT_NEAR(l.current_rate(), 8.5, 1e-9);
  clock.t += 1min;
  l.on_success();
  EXPECT_DOUBLE_EQ(l.current_rate(), 10.0);  // capped at the configured rate
  clock.t += 1min;
  l.on_success();
  EXPECT_DOUBLE_EQ(l.current_rate(), 10.0);
  EXPECT_DOUBLE_EQ(l.configured_rate(), 10.0);
}

TEST(RateLimiter, FullRateSuccessesDoNotBankRecoveryTime) {
  FakeClock clock;
  RateLimiter l(10.0, 10.0, clock.fn());
  clock.t += 1h;
  l.on_success();
  l.on_throttled();  // the cut resets the recovery clock
  clock.t += 100ms;
  l.on_success();
  EXPECT_NEAR(l.current_rate(), 7.1, 1e-9);
}

TEST(RateLimiter, NonAdaptiveIgnoresThrottles) {
  FakeClock clock;
  RateLimiter::Options o;
  o.rate = 5;
  o.burst = 2;
  o.adaptive = false;
  RateLimiter l(o, clock.fn());
  l.on_throttled();
  EXPECT_DOUBLE_EQ(l.current_rate(), 5.0);
  EXPECT_NEAR(l.tokens(), 2.0, 1e-9);
}

TEST(RateLimiter, Reconfigure) {
  FakeClock clock;
  RateLimiter l(10.0, 10.0, clock.fn());
  l.reconfigure(4.0, 2.0);
  EXPECT_DOUBLE_EQ(l.current_rate(), 4.0);
  EXPECT_NEAR(l.tokens(), 2.0, 1e-9);
  l.on_throttled();
  l.reconfigure(100.0, 10.0);
  EXPECT_NEAR(l.current_rate(), 2.8, 1e-9);  // still cut; recovers toward the new rate
}

TEST(RateLimiter, RejectsNonsense) {
  EXPECT_THROW(RateLimiter(0.0, 1.0), std::invalid_argument);
  EXPECT_THROW(RateLimiter(1.0, 0.5), std::invalid_argument);
  RateLimiter l(1.0, 1.0);  // the real clock works too
  EXPECT_EQ(l.reserve(), Clock::duration::zero());
}

}  // namespace
}  // namespace iamq::worker
