// ReconnectBackoff (sans-io): exponential, capped, jittered, reset only when told.
#include "queue/reconnect_backoff.hpp"

#include <gtest/gtest.h>

#include <random>

namespace iamq::queue {
namespace {

using std::chrono::milliseconds;

TEST(ReconnectBackoffTest, DoublesUpToTheCapWithJitterInTheUpperHalf) {
  ReconnectBackoff b(milliseconds(100), milliseconds(5000));
  std::mt19937 rng(7);
  const long long ceilings[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
  for (long long c : ceilings) {
    EXPECT_EQ(b.ceiling().count(), c);
    auto d = b.next(static_cast<std::uint32_t>(rng()));
    EXPECT_GE(d.count(), c / 2);
    EXPECT_LE(d.count(), c);
  }
  EXPECT_EQ(b.failures(), 9);
  for (int i = 0; i < 1000; ++i) b.next(static_cast<std::uint32_t>(rng()));
  EXPECT_EQ(b.ceiling().count(), 5000);  // no overflow after many failures
  b.reset();
  EXPECT_EQ(b.ceiling().count(), 100);
}

TEST(ReconnectBackoffTest, JitterSpreadsAcrossTheRange) {
  ReconnectBackoff b(milliseconds(1000), milliseconds(1000));
  EXPECT_EQ(b.next(0).count(), 500);
  EXPECT_EQ(b.next(500).count(), 1000);
  EXPECT_EQ(b.next(501).count(), 500);  // wraps: 501 % 501
}

TEST(ReconnectBackoffTest, DegenerateBoundsStayPositive) {
  ReconnectBackoff b(milliseconds(0), milliseconds(0));
  for (int i = 0; i < 5; ++i) EXPECT_GE(b.next(12345).count(), 0);
  EXPECT_EQ(b.ceiling().count(), 1);
}

}  // namespace
}  // namespace iamq::queue
