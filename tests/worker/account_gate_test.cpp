// The account gate with a fake clock: no Redis, no sockets. Each test drives the gate through
// a sequence of events and checks how many jobs it lets start; the failure-injection test
// opens the circuit at the Nth grant, for every N.
#include <gtest/gtest.h>

#include "worker/account_gate.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using Clock = AccountGate::Clock;

struct FakeClock {
  Clock::time_point t{std::chrono::hours(1000)};
  AccountGate::Now fn() {
    return [this] { return t; };
  }
};

RateLimiter::Options limits(double rate, double burst) {
  RateLimiter::Options o;
  o.rate = rate;
  o.burst = burst;
  return o;
}

client::IamError credentials_error() {
  client::IamError e;
  e.error_class = client::ErrorClass::credentials;
  e.code = "InvalidClientTokenId";
  return e;
}

TEST(AccountGate, GrantsWholeTokensUpToTheFreeSlots) {
  FakeClock clock;
  // 100 calls/s: 11 jobs wanted at the first guess of 100 ms per call, more than the tokens.
  AccountGate g("a", limits(100, 5), 1min, clock.fn());
  EXPECT_EQ(g.grant(64).jobs, 5u);  // a full bucket of 5
  EXPECT_EQ(g.grant(3).jobs, 3u);   // fewer free slots than tokens
  EXPECT_EQ(g.grant(0).jobs, 0u);
  EXPECT_EQ(g.closed_reason(), "");
}

TEST(AccountGate, NoTokenOrJobsWaitingForOneKeepTheJobsInTheirLane) {
  FakeClock clock;
  AccountGate g("a", limits(10, 2), 1min, clock.fn());
  EXPECT_TRUE(g.limiter().try_acquire());
  EXPECT_TRUE(g.limiter().try_acquire());
  EXPECT_EQ(g.grant(10).jobs, 0u) << "no token: a started job could not call";
  EXPECT_EQ(g.closed_reason(), "rate");
  clock.t += 100ms;  // one token back
  EXPECT_EQ(g.grant(10).jobs, 1u);
  g.set_waiting_for_token(1);
  EXPECT_EQ(g.grant(10).jobs, 0u) << "a job of this account already waits for the token";
  g.set_waiting_for_token(0);
  EXPECT_EQ(g.grant(10).jobs, 1u);
}

TEST(AccountGate, PauseClosesTheGateAndResumeOpensIt) {
  FakeClock clock;
  AccountGate g("a", limits(100, 5), 1min, clock.fn());
  g.set_paused(true);
  EXPECT_EQ(g.grant(10).jobs, 0u);
  EXPECT_EQ(g.closed_reason(), "paused");
  g.set_paused(false);
  EXPECT_EQ(g.grant(10).jobs, 5u);
}

TEST(AccountGate, OpenCircuitLetsOneProbeThroughWhenDueAndGivesAnUnusedProbeBack) {
  FakeClock clock;
  AccountGate g("a", limits(100, 5), 1min, clock.fn());
  g.breaker().on_credentials_error(credentials_error());
  EXPECT_EQ(g.grant(10).jobs, 0u);
  EXPECT_EQ(g.closed_reason(), "circuit_open");
  clock.t += 1min;
  auto probe = g.grant(10);
  EXPECT_EQ(probe.jobs, 1u);
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(g.grant(10).jobs, 0u) << "the probe is out";
  // The lane was empty: the probe comes back and may be taken by the next grant.
  g.on_claimed(probe, 0);
  auto again = g.grant(10);
  EXPECT_EQ(again.jobs, 1u);
  EXPECT_TRUE(again.probe);
  g.on_claimed(again, 1);  // used: stays half open until the job's first answer
  EXPECT_EQ(g.grant(10).jobs, 0u);
  g.breaker().on_success();
  EXPECT_EQ(g.grant(10).jobs, 5u);
}

// Issue 10's many-accounts figure: 50 accounts at 10 calls/s and 64 slots. A job makes one
// call after another (about 25 ms each here), so one job alone uses its account's 10 calls/s;
// a full bucket of 5 tokens used to start 5 jobs of one account that then shared its rate,
// holding 5 slots that other accounts had no job in.
TEST(AccountGate, StartsNoMoreJobsThanTheAccountsRateCanKeepBusy) {
  FakeClock clock;
  AccountGate g("a", limits(10, 5), 1min, clock.fn());
  EXPECT_EQ(g.cycle(), AccountGate::kInitialCycle);
  EXPECT_EQ(g.wanted_running(), 2u) << "ceil(10/s x 100 ms) + 1 before anything is measured";
  g.on_cycle(25ms);
  EXPECT_EQ(g.cycle(), 25ms) << "the first sample replaces the guess";
  EXPECT_EQ(g.wanted_running(), 2u) << "ceil(10/s x 25 ms) + 1";
  EXPECT_EQ(g.grant(64).jobs, 2u) << "5 tokens, but 2 jobs use the whole rate";
  g.set_busy(1);
  EXPECT_EQ(g.grant(64).jobs, 1u);
  g.set_busy(2);
  EXPECT_EQ(g.grant(64).jobs, 0u);
  EXPECT_EQ(g.closed_reason(), "busy");
  g.set_busy(0);
  EXPECT_EQ(g.grant(1).jobs, 1u) << "still no more than the free slots";
}

TEST(AccountGate, AFastAccountWantsAsManyJobsAsItsRateTimesTheTimePerCall) {
  FakeClock clock;
  AccountGate g("a", limits(1000, 50), 1min, clock.fn());
  g.on_cycle(20ms);
  EXPECT_EQ(g.wanted_running(), 21u) << "ceil(1000/s x 20 ms) + 1";
  EXPECT_EQ(g.grant(256).jobs, 21u);
  g.set_busy(21);
  EXPECT_EQ(g.grant(256).jobs, 0u);
  // The calls get slower (the endpoint's latency grows): the average follows, by 1/8 a sample.
  for (int i = 0; i < 40; ++i) g.on_cycle(40ms);
  const double ms = std::chrono::duration<double, std::milli>(g.cycle()).count();
  EXPECT_NEAR(ms, 40.0, 0.1);
  EXPECT_EQ(g.wanted_running(), 41u);
  EXPECT_EQ(g.grant(256).jobs, 20u) << "21 running, 41 wanted, 50 tokens";
  g.on_cycle(-5ms);  // a clock going backwards is no sample
  EXPECT_EQ(g.wanted_running(), 41u);
}

TEST(AccountGate, AnAccountWithoutARealLimitIsBoundByTheFreeSlotsAlone) {
  FakeClock clock;
  AccountGate g("a", limits(1e12, 1e9), 1min, clock.fn());
  EXPECT_GE(g.wanted_running(), 1000000u);
  g.set_busy(255);
  EXPECT_EQ(g.grant(1).jobs, 1u);
}

// Failure injection by counting: the circuit opens after the Nth grant, for every N; no
// grant after it may let more than one job (the probe) through per probe interval, and the
// grants before it add up to what the tokens allow.
TEST(AccountGate, CredentialsFailingAtEveryPointNeverLetMoreThanTheProbeThrough) {
  for (int n = 0; n < 8; ++n) {
    FakeClock clock;
    AccountGate g("a", limits(100, 4), 30s, clock.fn());
    std::size_t before = 0, after = 0;
    for (int i = 0; i < 8; ++i) {
      if (i == n) g.breaker().on_credentials_error(credentials_error());
      auto gr = g.grant(16);
      for (std::size_t k = 0; k < gr.jobs; ++k) g.limiter().try_acquire();  // each makes a call
      (i < n ? before : after) += gr.jobs;
      g.on_claimed(gr, gr.jobs);
      clock.t += 10ms;  // one token per 10 ms
    }
    EXPECT_EQ(after, 0u) << "n=" << n << ": the probe interval (30s) has not passed";
    EXPECT_LE(before, 4u + static_cast<std::size_t>(n)) << "n=" << n;
    clock.t += 30s;
    auto probe = g.grant(16);
    EXPECT_EQ(probe.jobs, 1u) << "n=" << n;
    EXPECT_TRUE(probe.probe) << "n=" << n;
  }
}

}  // namespace
}  // namespace iamq::worker
