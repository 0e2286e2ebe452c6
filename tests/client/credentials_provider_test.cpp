// The chain and the caching provider, driven by a fake source and a fake clock.
#include "client/credentials_provider.hpp"

#include <gtest/gtest.h>

namespace iamq::client {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

/// A source whose answers the test gives by hand; counts fetches.
struct FakeSource : CredentialsProvider {
  std::vector<Completion> pending;
  int fetches = 0;
  bool not_configured = false;
  std::string name = "fake";
  void get(Completion c) override {
    ++fetches;
    if (not_configured) return c(ProviderError{"MissingCredentials", name + ": not set", true}, {});
    pending.push_back(std::move(c));
  }
  std::string describe() const override { return name; }
  void answer(const std::string& key, std::optional<Clock::time_point> exp) {
    auto c = std::move(pending.front());
    pending.erase(pending.begin());
    c(std::nullopt, TimedCredentials{Credentials{key, "secret-" + key, "token"}, exp});
  }
  void fail(const std::string& why) {
    auto c = std::move(pending.front());
    pending.erase(pending.begin());
    c(ProviderError{"AccessDenied", why}, {});
  }
};

struct CachingTest : ::testing::Test {
  Clock::time_point now = Clock::time_point(1'700'000'000s);
  std::shared_ptr<FakeSource> source = std::make_shared<FakeSource>();
  std::shared_ptr<CachingProvider> cache;
  void SetUp() override {
    CachingOptions o;
    o.clock = [this] { return now; };
    o.random_seed = 7;
    cache = make_caching_provider(source, o);
  }
  /// get(): the key handed out, "" while waiting, "error:<code>" on error.
  std::shared_ptr<std::string> get() {
    auto out = std::make_shared<std::string>();
    cache->get([out](std::optional<ProviderError> e, TimedCredentials tc) {
      *out = e ? "error:" + e->code : tc.creds.access_key_id;
    });
    return out;
  }
};

TEST_F(CachingTest, WaitersShareOneFetch) {
  auto a = get(), b = get(), c = get();
  EXPECT_EQ(source->fetches, 1);
  EXPECT_EQ(*a, "");
  source->answer("K1", now + 1h);
  EXPECT_EQ(*a, "K1");
  EXPECT_EQ(*b, "K1");
  EXPECT_EQ(*c, "K1");
  EXPECT_EQ(*get(), "K1");  // cached: answered at once
  EXPECT_EQ(source->fetches, 1);
}

TEST_F(CachingTest, RefreshesAheadOfExpiryWithoutStalling) {
  auto first = get();
  source->answer("K1", now + 1h);
  ASSERT_TRUE(cache->refresh_at());
  // 5 minutes ahead, minus up to 60 s of jitter.
  EXPECT_LE(*cache->refresh_at(), now + 55min);
  EXPECT_GE(*cache->refresh_at(), now + 54min);
  now = *cache->refresh_at() - 1s;
  EXPECT_EQ(*get(), "K1");
  EXPECT_EQ(source->fetches, 1);
  now = *cache->refresh_at() + 1s;
  // Due: the caller still gets K1 at once and one refresh starts, shared by later callers.
  EXPECT_EQ(*get(), "K1");
  EXPECT_EQ(*get(), "K1");
  EXPECT_EQ(source->fetches, 2);
  source->answer("K2", now + 1h);
  EXPECT_EQ(*get(), "K2");
  EXPECT_EQ(cache->refreshes(), 2u);
}

TEST_F(CachingTest, NeverHandsOutCredentialsAboutToExpire) {
  get();
  source->answer("K1", now + 1h);
  now += 1h - 5s;  // inside the 10 s margin
  auto w = get();
  EXPECT_EQ(*w, "");  // waits for the refresh
  source->answer("K2", now + 1h);
  EXPECT_EQ(*w, "K2");
}

TEST_F(CachingTest, FailedRefreshKeepsTheOldCredentialsAndRetriesLater) {
  get();
  source->answer("K1", now + 1h);
  now = *cache->refresh_at() + 1s;
  EXPECT_EQ(*get(), "K1");
  source->fail("denied");
  EXPECT_EQ(*get(), "K1");   // still valid
  EXPECT_EQ(source->fetches, 2);  // no immediate retry
  now += 11s;
  EXPECT_EQ(*get(), "K1");
  EXPECT_EQ(source->fetches, 3);
}

TEST_F(CachingTest, ErrorReachesEveryWaiterWhenNothingIsCached) {
  auto a = get(), b = get();
  source->fail("no");
  EXPECT_EQ(*a, "error:AccessDenied");
  EXPECT_EQ(*b, "error:AccessDenied");
}

TEST_F(CachingTest, InvalidateDropsOnlyTheRejectedGeneration) {
  get();
  source->answer("K1", std::nullopt);  // long-lived: kept until invalidated
  const auto g1 = cache->generation();
  cache->invalidate(g1);
  auto a = get();
  EXPECT_EQ(source->fetches, 2);
  source->answer("K2", std::nullopt);
  EXPECT_EQ(*a, "K2");
  // A second call rejected with K1 arrives late: K2 must stay.
  cache->invalidate(g1);
  EXPECT_EQ(*get(), "K2");
  EXPECT_EQ(source->fetches, 2);
}

TEST(RefreshPoint, ShortLifetimesRefreshAtHalfAndJitterIsBounded) {
  CachingOptions o;
  const auto t0 = Clock::time_point(1000s);
  EXPECT_EQ(refresh_point(t0, t0 + 8s, o, 0.0), t0 + 4s);
  EXPECT_EQ(refresh_point(t0, t0 + 8s, o, 1.0), t0 + 2s);
  EXPECT_EQ(refresh_point(t0, t0 + 1h, o, 0.0), t0 + 55min);
  EXPECT_EQ(refresh_point(t0, t0 + 1h, o, 1.0), t0 + 54min);
}

TEST(Chain, SkipsSourcesThatAreNotConfiguredAndRemembersTheWinner) {
  auto a = std::make_shared<FakeSource>();
  a->not_configured = true;
  a->name = "a";
  auto b = std::make_shared<FakeSource>();
  auto chain = make_chain_provider({a, b});
  std::string got;
  chain->get([&](std::optional<ProviderError> e, TimedCredentials tc) { got = e ? e->message : tc.creds.access_key_id; });
  b->answer("KB", std::nullopt);
  EXPECT_EQ(got, "KB");
  chain->get([&](std::optional<ProviderError> e, TimedCredentials tc) { got = e ? e->message : tc.creds.access_key_id; });
  EXPECT_EQ(a->fetches, 1);  // started at b the second time
  EXPECT_EQ(b->fetches, 2);
  // Answer the second fetch too: a completion left pending holds the chain (LeakSanitizer).
  b->answer("KB2", std::nullopt);
  EXPECT_EQ(got, "KB2");
}

TEST(Chain, AnErrorThatIsNotNotConfiguredStopsTheChain) {
  auto a = std::make_shared<FakeSource>();
  auto b = std::make_shared<FakeSource>();
  auto chain = make_chain_provider({a, b});
  std::optional<ProviderError> err;
  chain->get([&](std::optional<ProviderError> e, TimedCredentials) { err = e; });
  a->fail("partial keys");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "partial keys");
  EXPECT_EQ(b->fetches, 0);
}

TEST(Chain, NothingConfiguredListsEverySource) {
  auto a = std::make_shared<FakeSource>();
  auto b = std::make_shared<FakeSource>();
  a->not_configured = b->not_configured = true;
  a->name = "env";
  b->name = "imds";
  std::optional<ProviderError> err;
  make_chain_provider({a, b})->get([&](std::optional<ProviderError> e, TimedCredentials) { err = e; });
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("env: not set"), std::string::npos) << err->message;
  EXPECT_NE(err->message.find("imds: not set"), std::string::npos) << err->message;
}

TEST(StaticProvider, IncompleteKeysNameTheField) {
  std::optional<ProviderError> err;
  make_static_provider(Credentials{"AKID", "", ""}, "accounts.x")
      ->get([&](std::optional<ProviderError> e, TimedCredentials) { err = e; });
  ASSERT_TRUE(err);
  EXPECT_EQ(err->message, "accounts.x: secret_access_key is empty");
}

}  // namespace
}  // namespace iamq::client
