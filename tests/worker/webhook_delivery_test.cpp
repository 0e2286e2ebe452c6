#include "worker/webhook_delivery.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace iamq::worker {

TEST(WebhookDelivery, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(WebhookDelivery, BodyCarriesTheJobAndNeverMore) {
  std::map<std::string, std::string> entry = {
      {"webhook", "hr"}, {"event", "succeeded"}, {"id", "HR-1"}, {"status", "succeeded"}, {"error", ""},
      {"at", "1700000000000"},
      {"job", R"({"id":"HR-1","type":"offboard_user","account":"prod","user_name":"jane","meta":{"t":"<b>"}})"},
      {"result", R"({"outcome":"done","calls":19})"}};
  auto body = nlohmann::json::parse(webhook_body(entry));
  EXPECT_EQ(body["id"], "HR-1");
  EXPECT_EQ(body["type"], "offboard_user");
  EXPECT_EQ(body["account"], "prod");
  EXPECT_EQ(body["status"], "succeeded");
  EXPECT_EQ(body["event"], "succeeded");
  EXPECT_EQ(body["outcome"], "done");
  EXPECT_EQ(body["meta"]["t"], "<b>");
  EXPECT_EQ(body["at_ms"], 1700000000000LL);
  EXPECT_FALSE(body.contains("webhook"));
}

TEST(WebhookDelivery, BodyIsValidJsonForAnUnparseableJob) {
  auto body = nlohmann::json::parse(webhook_body({{"id", "x-1-0"}, {"job", "{not json"}, {"status", "dead"},
                                                  {"error", "invalid \xff"}}));
  EXPECT_EQ(body["status"], "dead");
  EXPECT_TRUE(body["outcome"].is_null());
  EXPECT_TRUE(body["meta"].is_object());
}

TEST(WebhookDelivery, RequestIsSignedAndNamesTheDelivery) {
  config::Webhook h;
  h.name = "hr";
  h.url = "https://hooks.example.com/iamq";
  h.secret = "0123456789abcdef";
  auto r = webhook_request(h, "iamq-1-0", "failed", "{\"id\":\"a\"}", 1700000000);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, h.url);
  std::map<std::string, std::string> hd(r.headers.begin(), r.headers.end());
  EXPECT_EQ(hd["X-Iamq-Signature"], "sha256=" + hmac_sha256_hex(h.secret, "{\"id\":\"a\"}"));
  EXPECT_EQ(hd["X-Iamq-Delivery"], "iamq-1-0");
  EXPECT_EQ(hd["X-Iamq-Timestamp"], "1700000000");
  EXPECT_EQ(hd["X-Iamq-Event"], "failed");
  for (const auto& [k, v] : r.headers) EXPECT_EQ(v.find(h.secret), std::string::npos) << k;
}

TEST(WebhookDelivery, WhatAnAnswerMeans) {
  using client::TransportError;
  EXPECT_EQ(judge_delivery({}, 200), DeliveryVerdict::delivered);
  EXPECT_EQ(judge_delivery({}, 204), DeliveryVerdict::delivered);
  EXPECT_EQ(judge_delivery({}, 503), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery({}, 500), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery({}, 429), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery({}, 408), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery({}, 400), DeliveryVerdict::give_up);
  EXPECT_EQ(judge_delivery({}, 301), DeliveryVerdict::give_up);
  EXPECT_EQ(judge_delivery(TransportError::timeout, 0), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery(TransportError::connection_failed, 0), DeliveryVerdict::retry);
  EXPECT_EQ(judge_delivery(TransportError::invalid_url, 0), DeliveryVerdict::give_up);
  EXPECT_EQ(judge_delivery(TransportError::insecure_http_refused, 0), DeliveryVerdict::give_up);
}

TEST(WebhookDelivery, BackoffGrowsAndIsCapped) {
  std::mt19937_64 rng(7);
  for (int n = 1; n <= 12; ++n) {
    const long long full = std::min<long long>(60000, 1000LL << std::min(n - 1, 6));
    for (int k = 0; k < 50; ++k) {
      auto d = delivery_backoff(n, rng).count();
      EXPECT_GE(d, full / 2);
      EXPECT_LE(d, full);
    }
  }
}

}  // namespace iamq::worker
