#include "dashboard/auth.hpp"

#include <gtest/gtest.h>

namespace iamq::dashboard {

namespace {
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
};
const std::string kToken = "0123456789abcdef0123456789abcdef";
}  // namespace

TEST(Auth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal(kToken, kToken));
  EXPECT_FALSE(constant_time_equal(kToken, kToken.substr(0, 31)));
  EXPECT_FALSE(constant_time_equal(kToken, kToken + "0"));
  EXPECT_FALSE(constant_time_equal("", kToken));
}

TEST(Auth, WithoutATokenReadsAreOpenAndActionsRefused) {
  Auth a({});
  EXPECT_TRUE(a.can_read("", "").ok());
  auto act = a.can_act("Bearer anything", "", "");
  EXPECT_EQ(act.decision, Auth::Decision::forbidden);
  EXPECT_FALSE(a.login("").has_value());
}

TEST(Auth, BearerTokenReadsAndActsWithoutCsrf) {
  Auth a({kToken});
  EXPECT_EQ(a.can_read("", "").decision, Auth::Decision::unauthenticated);
  EXPECT_TRUE(a.can_read("Bearer " + kToken, "").ok());
  EXPECT_EQ(a.can_read("Bearer " + kToken + "x", "").decision, Auth::Decision::unauthenticated);
  EXPECT_EQ(a.can_read("Basic " + kToken, "").decision, Auth::Decision::unauthenticated);
  EXPECT_TRUE(a.can_act("Bearer " + kToken, "", "").ok());
  EXPECT_EQ(a.can_act("Bearer wrong", "", "").decision, Auth::Decision::unauthenticated);
}

TEST(Auth, SessionNeedsItsCsrfTokenToAct) {
  Auth a({kToken});
  EXPECT_FALSE(a.login("wrong").has_value());
  auto s = a.login(kToken);
  ASSERT_TRUE(s.has_value());
  const std::string cookie = "other=1; iamq_session=" + s->id;
  EXPECT_TRUE(a.can_read("", cookie).ok());
  EXPECT_EQ(a.can_act("", cookie, "").decision, Auth::Decision::forbidden);
  EXPECT_EQ(a.can_act("", cookie, std::string(64, 'f')).decision, Auth::Decision::forbidden);
  EXPECT_TRUE(a.can_act("", cookie, s->csrf).ok());
  EXPECT_EQ(a.can_act("", "iamq_session=forged", s->csrf).decision, Auth::Decision::unauthenticated);
  a.logout(cookie);
  EXPECT_EQ(a.can_read("", cookie).decision, Auth::Decision::unauthenticated);
}

TEST(Auth, ReadOnlyRefusesEveryActionButStillReads) {
  Auth a({kToken, true});
  EXPECT_TRUE(a.can_read("Bearer " + kToken, "").ok());
  auto c = a.can_act("Bearer " + kToken, "", "");
  EXPECT_EQ(c.decision, Auth::Decision::forbidden);
  EXPECT_NE(c.reason.find("read-only"), std::string::npos);
}

TEST(Auth, SessionsExpireAndAreBounded) {
  FakeClock clock;
  Auth::Options o{kToken};
  o.max_sessions = 2;
  o.session_ttl = std::chrono::seconds(60);
  Auth a(o, [&] { return clock.now; });
  auto s1 = a.login(kToken);
  clock.now += std::chrono::seconds(1);
  auto s2 = a.login(kToken);
  clock.now += std::chrono::seconds(1);
  auto s3 = a.login(kToken);  // drops s1, the oldest
  EXPECT_FALSE(a.session("iamq_session=" + s1->id).has_value());
  EXPECT_TRUE(a.session("iamq_session=" + s2->id).has_value());
  clock.now += std::chrono::seconds(61);
  EXPECT_FALSE(a.session("iamq_session=" + s3->id).has_value());
}

TEST(Auth, RandomHexIsFreshEachTime) {
  EXPECT_EQ(random_hex(32).size(), 64u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace iamq::dashboard
