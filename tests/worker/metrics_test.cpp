// Unit tests of the worker's Prometheus metrics: the per-call series (cached per label set)
// count every call under its own labels, and the text exposition shows them.
#include "worker/metrics.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace iamq::worker {
namespace {

using namespace std::chrono_literals;

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, IamCallsCountPerActionAndCodeAndObserveLatency) {
  Metrics m(std::nullopt);
  for (int i = 0; i < 3; ++i) m.iam_call("DeleteUser", "OK", 20ms);
  m.iam_call("DeleteUser", "NoSuchEntity", 5ms);
  m.iam_call("ListGroupsForUser", "OK", 1s);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(iamq_iam_calls_total{action="DeleteUser",code="OK"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(iamq_iam_calls_total{action="DeleteUser",code="NoSuchEntity"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(iamq_iam_calls_total{action="ListGroupsForUser",code="OK"} 1)"))
      << text;
  // One latency histogram per action, whatever the code.
  EXPECT_TRUE(has_line(text, R"(iamq_iam_call_duration_seconds_count{action="DeleteUser"} 4)"))
      << text;
  EXPECT_TRUE(
      has_line(text, R"(iamq_iam_call_duration_seconds_count{action="ListGroupsForUser"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(iamq_iam_call_duration_seconds_sum{action="ListGroupsForUser"} 1)"))
      << text;
}

TEST(Metrics, LimiterSeriesPerAccountAndLimiter) {
  Metrics m(std::nullopt);
  m.limiter_wait("default", "account", 0ms);
  m.limiter_wait("default", "account", 2ms);
  m.limiter_wait("default", "fleet", 1ms);
  m.limiter_wait("prod", "account", 1ms);
  m.limiter_rate("default", 100);
  m.limiter_rate("default", 50);  // a gauge: the last value
  m.limiter_rate("prod", 7);
  const std::string text = m.render();
  EXPECT_TRUE(
      has_line(text, R"(iamq_limiter_wait_seconds_count{account="default",limiter="account"} 2)"))
      << text;
  EXPECT_TRUE(
      has_line(text, R"(iamq_limiter_wait_seconds_count{account="default",limiter="fleet"} 1)"))
      << text;
  EXPECT_TRUE(
      has_line(text, R"(iamq_limiter_wait_seconds_count{account="prod",limiter="account"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(iamq_limiter_rate{account="default"} 50)")) << text;
  EXPECT_TRUE(has_line(text, R"(iamq_limiter_rate{account="prod"} 7)")) << text;
}

}  // namespace
}  // namespace iamq::worker
