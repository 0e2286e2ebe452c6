// Circuit breaker transitions with a fake clock.
#include <gtest/gtest.h>

#include "worker/circuit_breaker.hpp"

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;
using State = CircuitBreaker::State;

struct FakeClock {
  CircuitBreaker::Clock::time_point t{std::chrono::hours(1000)};
  CircuitBreaker::Now fn() {
    return [this] { return t; };
  }
};

client::IamError bad_key() {
  return client::IamError{client::ErrorClass::credentials, 403, "InvalidClientTokenId",
                          "The security token included in the request is invalid.", "rid"};
}

TEST(CircuitBreaker, ClosedAllowsEverything) {
  FakeClock clock;
  CircuitBreaker b(60s, clock.fn());
  EXPECT_EQ(b.state(), State::closed);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.allow());
  EXPECT_EQ(b.retry_in(), 0s);
  EXPECT_FALSE(b.last_error());
  EXPECT_EQ(to_string(b.state()), "closed");
}

TEST(CircuitBreaker, CredentialsErrorOpensUntilTheProbeInterval) {
  FakeClock clock;
  CircuitBreaker b(60s, clock.fn());
  b.on_credentials_error(bad_key());
  EXPECT_EQ(b.state(), State::open);
  EXPECT_EQ(to_string(b.state()), "open");
  ASSERT_TRUE(b.last_error());
  EXPECT_EQ(b.last_error()->code, "InvalidClientTokenId");
  EXPECT_EQ(*b.opened_at(), clock.t);
  EXPECT_EQ(b.open_count(), 1);
  EXPECT_FALSE(b.allow());
  EXPECT_EQ(b.retry_in(), 60s);
  clock.t += 59s;
  EXPECT_FALSE(b.allow());
  EXPECT_EQ(b.retry_in(), 1s);
  clock.t += 1s;
  EXPECT_EQ(b.state(), State::open);  // reading the state does not transition
  EXPECT_EQ(b.retry_in(), 0s);
  EXPECT_TRUE(b.allow());  // the one probe
  EXPECT_EQ(b.state(), State::half_open);
  EXPECT_EQ(to_string(b.state()), "half_open");
  EXPECT_FALSE(b.allow());  // only one
  EXPECT_FALSE(b.allow());
}

TEST(CircuitBreaker, ProbeSuccessCloses) {
  FakeClock clock;
  CircuitBreaker b(10s, clock.fn());
  b.on_credentials_error(bad_key());
  clock.t += 10s;
  ASSERT_TRUE(b.allow());
  b.on_success();
  EXPECT_EQ(b.state(), State::closed);
  EXPECT_FALSE(b.last_error());
  EXPECT_FALSE(b.opened_at());
  EXPECT_TRUE(b.allow());
  EXPECT_TRUE(b.allow());
}

TEST(CircuitBreaker, ProbeFailureReopensWithAFreshInterval) {
  FakeClock clock;
  CircuitBreaker b(10s, clock.fn());
  b.on_credentials_error(bad_key());
  clock.t += 15s;
  ASSERT_TRUE(b.allow());
  auto expired = bad_key();
  expired.code = "ExpiredToken";
  b.on_credentials_error(expired);
  EXPECT_EQ(b.state(), State::open);
  EXPECT_EQ(b.last_error()->code, "ExpiredToken");
  EXPECT_EQ(b.open_count(), 2);
  EXPECT_FALSE(b.allow());
  clock.t += 9s;
  EXPECT_FALSE(b.allow());
  clock.t += 1s;
  EXPECT_TRUE(b.allow());
}

TEST(CircuitBreaker, AbandonedProbeCanBeRetriedAtOnce) {
  FakeClock clock;
  CircuitBreaker b(10s, clock.fn());
  b.on_credentials_error(bad_key());
  clock.t += 10s;
  ASSERT_TRUE(b.allow());
  EXPECT_EQ(b.retry_in(), 10s);
  b.release_probe();
  EXPECT_EQ(b.state(), State::open);
  EXPECT_TRUE(b.allow());
  EXPECT_EQ(b.state(), State::half_open);
  // release_probe on a closed circuit does nothing.
  b.on_success();
  b.release_probe();
  EXPECT_EQ(b.state(), State::closed);
}

TEST(CircuitBreaker, SuccessWhileClosedIsHarmless) {
  FakeClock clock;
  CircuitBreaker b(10s, clock.fn());
  b.on_success();
  EXPECT_EQ(b.state(), State::closed);
  EXPECT_EQ(b.open_count(), 0);
}

}  // namespace
}  // namespace iamq::worker
