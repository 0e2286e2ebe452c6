// The lease keeper with time passed in: no Redis, no sockets, no clock. A driver ticks it at
// the times it asks for and answers its leases and promotions, making the Nth answer fail;
// looping N over every answer checks that renewals never stop or drift past a third of the
// visibility timeout, that nothing is promoted once the worker stops, and that lost claims
// are handed to the shell exactly as the lease script named them.
#include <gtest/gtest.h>

#include "worker/lease_keeper.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using Clock = LeaseKeeper::Clock;

LeaseKeeper::Options opts(std::chrono::milliseconds vis) {
  LeaseKeeper::Options o;
  o.visibility_timeout = vis;
  o.promote_every = 500ms;
  return o;
}

const Clock::time_point t0{std::chrono::hours(1)};

TEST(LeaseKeeper, StartsWithBothThenEachOnItsPeriod) {
  LeaseKeeper k(opts(60s));
  EXPECT_EQ(k.lease_every(), 20s);
  EXPECT_FALSE(k.tick(t0).lease) << "nothing before start";
  const auto w = k.start(t0);
  EXPECT_TRUE(w.lease);
  EXPECT_TRUE(w.promote);
  EXPECT_EQ(k.next_due(), t0 + 500ms);
  auto w2 = k.tick(t0 + 499ms);
  EXPECT_FALSE(w2.lease || w2.promote) << "not due yet";
  w2 = k.tick(t0 + 500ms);
  EXPECT_TRUE(w2.promote);
  EXPECT_FALSE(w2.lease);
  EXPECT_EQ(k.next_due(), t0 + 1000ms);
  w2 = k.tick(t0 + 20s);
  EXPECT_TRUE(w2.lease);
  EXPECT_TRUE(w2.promote);
}

TEST(LeaseKeeper, ShortVisibilityTimeoutsLeaseEveryHalfSecondAtMost) {
  LeaseKeeper k(opts(1s));
  EXPECT_EQ(k.lease_every(), 500ms);
  EXPECT_EQ(k.min_idle(), 1s);
}

TEST(LeaseKeeper, StopEndsPromotionButNotRenewal) {
  LeaseKeeper k(opts(3s));
  k.start(t0);
  k.stop();
  EXPECT_EQ(k.next_due(), t0 + 1s) << "only the lease is due";
  const auto w = k.tick(t0 + 1s);
  EXPECT_TRUE(w.lease);
  EXPECT_FALSE(w.promote);
  EXPECT_FALSE(k.on_promote(true, 5)) << "a promotion answered after the stop fills nothing";
}

TEST(LeaseKeeper, LeaseAnswersSayWhatToAbandonAndWhenToFill) {
  LeaseKeeper k(opts(60s));
  k.start(t0);
  auto v = k.on_lease(t0 + 5ms, true, {"1-1", "2-2"}, 0, 0);
  EXPECT_EQ(v.abandon, (std::vector<std::string>{"1-1", "2-2"}));
  EXPECT_FALSE(v.fill);
  EXPECT_EQ(k.renewals(), 1u);
  EXPECT_EQ(k.last_renewal(), t0 + 5ms);
  v = k.on_lease(t0 + 20s, true, {}, 3, 1);
  EXPECT_TRUE(v.abandon.empty());
  EXPECT_TRUE(v.fill);
  EXPECT_TRUE(v.log);
  v = k.on_lease(t0 + 40s, false, {"3-3"}, 9, 9);
  EXPECT_TRUE(v.abandon.empty()) << "a failed lease says nothing about our claims";
  EXPECT_FALSE(v.fill);
  EXPECT_EQ(k.renewals(), 2u);
  EXPECT_TRUE(k.on_promote(true, 2));
  EXPECT_FALSE(k.on_promote(true, 0));
  EXPECT_FALSE(k.on_promote(false, 2));
}

// Ten minutes of ticks at the times the keeper asks for (late by up to 30 ms, as a busy loop
// makes them), the Nth answer (lease or promotion) failing, the worker stopping at minute 7.
TEST(LeaseKeeper, EveryFailedAnswerAtEveryPointKeepsRenewing) {
  for (int n = 0; n < 200; ++n) {
    LeaseKeeper k(opts(6s));
    int answers = 0;
    std::vector<Clock::time_point> leases;
    std::size_t abandoned = 0;
    bool promoted_after_stop = false;
    auto answer = [&](Clock::time_point now, LeaseKeeper::Work w) {
      if (w.lease) {
        leases.push_back(now);
        const bool ok = answers++ != n;
        // Every fifth lease reports one of our claims lost.
        const bool lose = leases.size() % 5 == 0;
        auto v = k.on_lease(now, ok, lose ? std::vector<std::string>{"e"} : std::vector<std::string>{}, 1, 0);
        abandoned += v.abandon.size();
        if (ok) {
          EXPECT_TRUE(v.fill);
        }
      }
      if (w.promote) {
        if (k.stopped()) promoted_after_stop = true;
        k.on_promote(answers++ != n, 1);
      }
    };
    Clock::time_point now = t0;
    answer(now, k.start(now));
    int jitter = 0;
    while (now < t0 + 10min) {
      const auto due = k.next_due();
      ASSERT_GT(due, now) << "the keeper must not ask to run again at once (busy loop)";
      now = due + std::chrono::milliseconds(jitter);
      jitter = (jitter + 7) % 31;
      if (!k.stopped() && now >= t0 + 7min) k.stop();
      answer(now, k.tick(now));
    }
    EXPECT_FALSE(promoted_after_stop);
    ASSERT_GE(leases.size(), 2u);
    for (std::size_t i = 1; i < leases.size(); ++i) {
      EXPECT_LE(leases[i] - leases[i - 1], k.lease_every() + 31ms) << "lease " << i << ", failure " << n;
    }
    EXPECT_GE(leases.size(), static_cast<std::size_t>(10min / (k.lease_every() + 31ms)));
    // One failed answer, at most one lease: its lost claims are not known.
    const std::size_t lossy = leases.size() / 5;
    EXPECT_TRUE(abandoned == lossy || abandoned + 1 == lossy) << abandoned << " of " << lossy;
  }
}

}  // namespace
}  // namespace iamq::worker
