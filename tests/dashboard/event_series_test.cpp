#include "dashboard/event_series.hpp"

#include <gtest/gtest.h>

namespace iamq::dashboard {

namespace {
std::map<std::string, std::string> ev(const std::string& kind, long long at_ms, const std::string& error = "") {
  return {{"event", kind}, {"at", std::to_string(at_ms)}, {"id", "j"}, {"error", error}};
}
constexpr long long kNow = 1'700'000'000'000;
}  // namespace

TEST(EventSeries, RetryClassFromTheErrorCode) {
  EXPECT_EQ(retry_class_of("Throttling: Rate exceeded"), "throttled");
  EXPECT_EQ(retry_class_of("EntityTemporarilyUnmodifiable: wait"), "unmodifiable");
  EXPECT_EQ(retry_class_of("ConcurrentModification: x"), "concurrent_modification");
  EXPECT_EQ(retry_class_of("ServiceFailure: boom"), "transient");
  EXPECT_EQ(retry_class_of("AccessDenied: no"), "other");
}

TEST(EventSeries, CountsPerSecondOverTheLastHour) {
  EventSeries s;
  s.add(ev("step", kNow - 2000), "prod");
  s.add(ev("step", kNow - 2000), "prod");
  s.add(ev("step", kNow - 1000), "dev");
  s.add(ev("succeeded", kNow - 1000), "");
  s.add(ev("dead", kNow - 1000), "");
  s.add(ev("retry_scheduled", kNow - 1000, "Throttling: slow down"), "");
  s.add(ev("delayed", kNow - 1000, "EntityTemporarilyUnmodifiable: later"), "");
  s.add(ev("queued", kNow - 1000), "");            // not counted
  s.add(ev("step", kNow - 2 * 3600 * 1000), "");  // older than the window
  auto p = s.points(kNow);
  ASSERT_EQ(p["t"].size(), 3600u);
  EXPECT_EQ(p["t"].back().get<long long>(), kNow / 1000);
  const auto n = p["calls"].size();
  EXPECT_EQ(p["calls"][n - 3].get<int>(), 2);
  EXPECT_EQ(p["calls"][n - 2].get<int>(), 1);
  EXPECT_EQ(p["jobs"][n - 2].get<int>(), 2);
  EXPECT_EQ(p["retries"]["throttled"][n - 2].get<int>(), 1);
  EXPECT_EQ(p["retries"]["unmodifiable"][n - 2].get<int>(), 1);
  int total = 0;
  for (const auto& c : p["calls"]) total += c.get<int>();
  EXPECT_EQ(total, 3);
}

TEST(EventSeries, BucketsSumSeconds) {
  EventSeries s;
  for (int i = 0; i < 10; ++i) s.add(ev("step", kNow - i * 1000), "");
  auto b = s.buckets(kNow, 600, 300);
  ASSERT_EQ(b["t"].size(), 2u);
  EXPECT_EQ(b["calls"][0].get<int>() + b["calls"][1].get<int>(), 10);
}

TEST(EventSeries, AccountRateOverTheLastTenSeconds) {
  EventSeries s;
  for (int i = 1; i <= 10; ++i) {
    for (int k = 0; k < 5; ++k) s.add(ev("step", kNow - i * 1000), "prod");
  }
  s.add(ev("step", kNow), "prod");  // the current second is not complete: not counted
  auto r = s.account_rates(kNow);
  EXPECT_DOUBLE_EQ(r["prod"], 5.0);
}

TEST(EventSeries, ASlotReusedAnHourLaterForgetsTheOldSecond) {
  EventSeries s;
  s.add(ev("step", kNow - 3600 * 1000), "");
  s.add(ev("step", kNow), "");
  auto p = s.points(kNow);
  int total = 0;
  for (const auto& c : p["calls"]) total += c.get<int>();
  EXPECT_EQ(total, 1);
}

}  // namespace iamq::dashboard
