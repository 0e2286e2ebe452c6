#include "config/webhook_config.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace iamq::config {

namespace {

Config load_toml(const std::string& text) {
  static std::atomic<int> n{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("iamq-webhook-config-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "iamq.toml").string();
  std::ofstream(path) << text;
  try {
    auto cfg = load(path, {});
    std::filesystem::remove_all(dir);
    return cfg;
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
}

std::vector<std::string> problems(const std::string& text) {
  try {
    load_toml(text);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  ADD_FAILURE() << "loaded without a problem";
  return {};
}

bool has(const std::vector<std::string>& v, const std::string& needle) {
  for (const auto& s : v) {
    if (s.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(WebhookConfig, ReadsEveryField) {
  auto cfg = load_toml(R"(
[webhooks.hr]
url = "https://hooks.example.com/iamq"
secret = "0123456789abcdef0123"
events = ["succeeded", "dead"]
timeout = "3s"
max_attempts = 4
)");
  ASSERT_EQ(cfg.webhooks.count("hr"), 1u);
  const auto& w = cfg.webhooks.at("hr");
  EXPECT_EQ(w.name, "hr");
  EXPECT_EQ(w.url, "https://hooks.example.com/iamq");
  EXPECT_EQ(w.events, (std::vector<std::string>{"succeeded", "dead"}));
  EXPECT_EQ(w.timeout, std::chrono::seconds(3));
  EXPECT_EQ(w.max_attempts, 4);
}

TEST(WebhookConfig, DefaultEventsAreTheFinalOnes) {
  auto cfg = load_toml("[webhooks.a]\nurl = \"http://127.0.0.1:9/x\"\nsecret = \"0123456789abcdef\"\n");
  EXPECT_EQ(cfg.webhooks.at("a").events,
            (std::vector<std::string>{"succeeded", "failed", "dead", "cancelled"}));
}

TEST(WebhookConfig, BadFieldsAreNamedAndTheSecretIsNeverEchoed) {
  auto p = problems(R"(
[webhooks.hr]
url = "http://hooks.example.com/iamq"
secret = "short-secret"
events = ["succeeded", "exploded"]
colour = "red"
[webhooks."bad name"]
url = "ftp://x"
secret = "0123456789abcdef"
)");
  EXPECT_TRUE(has(p, "webhooks.hr.url: plain http:// is only allowed to a loopback host")) << ::testing::PrintToString(p);
  EXPECT_TRUE(has(p, "webhooks.hr.secret: required, at least 16 characters"));
  EXPECT_TRUE(has(p, "webhooks.hr.events: \"exploded\" is not one of"));
  EXPECT_TRUE(has(p, "webhooks.hr.colour: unknown key"));
  EXPECT_TRUE(has(p, "webhook names are 1-64 of [A-Za-z0-9_-]"));
  EXPECT_TRUE(has(p, "must start with https://"));
  for (const auto& s : p) EXPECT_EQ(s.find("short-secret"), std::string::npos) << s;
}

TEST(WebhookConfig, RedactedOutputHidesTheSecret) {
  auto cfg = load_toml("[webhooks.hr]\nurl = \"https://h.example/x\"\nsecret = \"topsecret-topsecret\"\n");
  const auto text = to_redacted_toml(cfg);
  EXPECT_EQ(text.find("topsecret"), std::string::npos);
  EXPECT_NE(text.find("https://h.example/x"), std::string::npos);
  EXPECT_NE(text.find("<redacted>"), std::string::npos);
}

TEST(WebhookConfig, NotifyNames) {
  EXPECT_TRUE(valid_webhook_name("hr-system_2"));
  EXPECT_FALSE(valid_webhook_name(""));
  EXPECT_FALSE(valid_webhook_name("http://evil.example/"));
  EXPECT_FALSE(valid_webhook_name(std::string(65, 'a')));
}

}  // namespace iamq::config
