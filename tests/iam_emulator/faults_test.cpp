// Unit tests of the fault configuration's JSON form, its per-action lookup and the token bucket.
#include "tests/iam_emulator/faults.hpp"

#include <gtest/gtest.h>

namespace iamq::emulator {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(FaultConfig, LookupFallsBackFieldByFieldToTheDefault) {
  FaultConfig f = faults_from_json(
      {{"actions", {{"*", {{"service_failure", 0.1}, {"drop_connection", 0.2}}},
                    {"DeleteUser", {{"service_failure", 0.5}, {"unmodifiable", 0.3}}}}}});
  EXPECT_DOUBLE_EQ(f.service_failure_p("DeleteUser"), 0.5);
  EXPECT_DOUBLE_EQ(f.drop_p("DeleteUser"), 0.2);
  EXPECT_DOUBLE_EQ(f.unmodifiable_p("DeleteUser"), 0.3);
  EXPECT_DOUBLE_EQ(f.unmodifiable_p("ListUsers"), 0);
  EXPECT_DOUBLE_EQ(f.service_failure_p("ListUsers"), 0.1);
  EXPECT_DOUBLE_EQ(f.html_503_p("ListUsers"), 0);
}

TEST(FaultConfig, JsonRoundTrip) {
  json in = {{"latency_ms", 3.0},
             {"jitter_ms", 2.0},
             {"unmodifiable_window_s", 5.0},
             {"rate_limit", {{"rate", 50.0}, {"burst", 10.0}}},
             {"actions", {{"*", {{"html_503", 0.01}}}, {"GetUser", {{"concurrent_modification", 0.5}}}}}};
  FaultConfig f = faults_from_json(in);
  EXPECT_EQ(to_json(f), in);
  EXPECT_EQ(to_json(faults_from_json(json::object())),
            (json{{"latency_ms", 0.0}, {"jitter_ms", 0.0}, {"unmodifiable_window_s", 0.0},
                  {"rate_limit", {{"rate", 0.0}, {"burst", 0.0}}}, {"actions", json::object()}}));
}

TEST(FaultConfig, ErrorsNameTheField) {
  auto message = [](const json& j) {
    try {
      faults_from_json(j);
    } catch (const SeedError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"latency", 1}}).find("\"latency\""), std::string::npos);
  EXPECT_NE(message({{"latency_ms", -1}}).find("faults.latency_ms"), std::string::npos);
  EXPECT_NE(message({{"actions", {{"GetUser", {{"service_failure", 1.5}}}}}}).find("faults.actions.GetUser.service_failure"),
            std::string::npos);
  EXPECT_NE(message({{"actions", {{"GetUser", {{"explode", 0.5}}}}}}).find("\"explode\""), std::string::npos);
  EXPECT_NE(message({{"rate_limit", {{"rate", "fast"}}}}).find("faults.rate_limit.rate"), std::string::npos);
  EXPECT_NE(message(json::array()).find("expected an object"), std::string::npos);
}

TEST(TokenBucket, RateAndBurstWithInjectedTime) {
  TimePoint t0{std::chrono::seconds(1000)};
  TokenBucket b;
  b.configure(10, 5, t0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(t0)) << i;
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + 50ms));  // half a token
  EXPECT_TRUE(b.take(t0 + 100ms));
  EXPECT_FALSE(b.take(t0 + 100ms));
  // Never more than the burst, however long it was idle.
  int taken = 0;
  while (b.take(t0 + 60s)) ++taken;
  EXPECT_EQ(taken, 5);
}

TEST(TokenBucket, DefaultBurstIsTheRate) {
  TimePoint t0{std::chrono::seconds(1000)};
  TokenBucket b;
  b.configure(3, 0, t0);
  int taken = 0;
  while (b.take(t0)) ++taken;
  EXPECT_EQ(taken, 3);
}

TEST(Random, SameSeedSameDraws) {
  Random a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    double x = a.unit();
    EXPECT_EQ(x, b.unit());
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    differs = differs || x != c.unit();
  }
  EXPECT_TRUE(differs);
  EXPECT_FALSE(a.chance(0));
  EXPECT_TRUE(a.chance(1));
}

}  // namespace
}  // namespace iamq::emulator
