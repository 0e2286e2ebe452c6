// Fan-out jobs: parsing `accounts`, expanding "*", and the children the queue is given.
#include "worker/fan_out.hpp"
#include "worker/job_validator.hpp"

#include <gtest/gtest.h>

namespace iamq::worker {
namespace {

Job parse_ok(const std::string& text) {
  auto r = parse_job(text);
  if (auto* e = std::get_if<JobError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<Job>(r) ? std::get<Job>(r) : Job{};
}

std::string parse_err(const std::string& text) {
  auto r = parse_job(text);
  if (auto* e = std::get_if<JobError>(&r)) return e->field + ": " + e->message;
  return "";
}

TEST(FanOut, ParsesAListOrEveryAccount) {
  auto list = parse_ok(R"({"id":"P","type":"offboard_user","user_name":"u","accounts":["a","b"]})");
  EXPECT_TRUE(is_fan_out(list));
  EXPECT_EQ(list.fan_out, (std::vector<std::string>{"a", "b"}));
  auto all = parse_ok(R"({"type":"deactivate_mfa","user_name":"u","accounts":"*"})");
  EXPECT_TRUE(all.fan_out_all);
  EXPECT_FALSE(is_fan_out(parse_ok(R"({"type":"offboard_user","user_name":"u"})")));
}

TEST(FanOut, RefusesWhatCannotFanOut) {
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","account":"a","accounts":["b"]})")
                .find("accounts and account cannot be combined"),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"iam_calls","steps":[{"action":"GetUser","params":{}}],"accounts":"*"})")
                .find("accounts is only for"),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","accounts":[]})").find("1-1000"),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","accounts":["a","a"]})").find("twice"),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","accounts":["bad name"]})")
                .find("does not match"),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","accounts":"all"})").find("\"*\""),
            std::string::npos);
  EXPECT_NE(parse_err(R"({"type":"offboard_user","user_name":"u","accounts":[7]})").find("strings"),
            std::string::npos);
}

TEST(FanOut, CanonicalJsonKeepsAccountsAndDropsAccount) {
  auto job = parse_ok(R"({"id":"P","type":"offboard_user","user_name":"u","accounts":["a"]})");
  const auto j = to_json(job);
  EXPECT_FALSE(j.contains("account")) << j.dump();
  EXPECT_EQ(j["accounts"], nlohmann::json::array({"a"}));
  EXPECT_TRUE(std::holds_alternative<Job>(parse_job(j.dump()))) << "the canonical form parses";
  const auto s = summarize(job);
  EXPECT_TRUE(s.parent);
  EXPECT_EQ(s.account, "a");
}

TEST(FanOut, ExpandsOverConfiguredAccountsOnly) {
  auto all = parse_ok(R"({"id":"P","type":"offboard_user","user_name":"u","accounts":"*"})");
  auto got = fan_out_accounts(all, {"prod", "dev"});
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(got));
  EXPECT_EQ(std::get<std::vector<std::string>>(got), (std::vector<std::string>{"dev", "prod"}));
  EXPECT_TRUE(std::holds_alternative<JobError>(fan_out_accounts(all, {})));
  auto list = parse_ok(R"({"id":"P","type":"offboard_user","user_name":"u","accounts":["prod","qa"]})");
  auto bad = fan_out_accounts(list, {"prod", "dev"});
  ASSERT_TRUE(std::holds_alternative<JobError>(bad));
  EXPECT_NE(std::get<JobError>(bad).message.find("\"qa\", which is not configured"), std::string::npos);
  auto long_id = parse_ok(R"({"id":")" + std::string(120, 'x') +
                          R"(","type":"offboard_user","user_name":"u","accounts":["production"]})");
  EXPECT_TRUE(std::holds_alternative<JobError>(fan_out_accounts(long_id, {"production"})));
}

TEST(FanOut, ChildrenAreCopiesWithTheirAccountAndNoWebhook) {
  auto job = parse_ok(
      R"({"id":"HR-1","type":"offboard_user","user_name":"jane","accounts":"*","notify":"hr","priority":"urgent","meta":{"t":"1"}})");
  auto kids = fan_out_children(job, {"dev", "prod"});
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].id, "HR-1/dev");
  EXPECT_EQ(kids[1].account, "prod");
  EXPECT_FALSE(kids[1].parent);
  EXPECT_EQ(kids[1].priority, "urgent");
  auto child = nlohmann::json::parse(kids[1].canonical_json);
  EXPECT_EQ(child["account"], "prod");
  EXPECT_EQ(child["id"], "HR-1/prod");
  EXPECT_FALSE(child.contains("accounts"));
  EXPECT_FALSE(child.contains("notify")) << "the parent reports once, for all";
  EXPECT_EQ(child["meta"]["t"], "1");
  EXPECT_TRUE(std::holds_alternative<Job>(parse_job(kids[1].canonical_json)));
}

TEST(FanOut, TheWorkersValidatorMakesTheChildren) {
  auto v = job_validator({}, {"prod", "dev"});
  auto r = v(R"({"type":"offboard_user","user_name":"jane","accounts":"*"})", "x-1-0");
  ASSERT_TRUE(std::holds_alternative<queue::JobSummary>(r)) << std::get<std::string>(r);
  const auto& s = std::get<queue::JobSummary>(r);
  EXPECT_EQ(s.id, "x-1-0");
  ASSERT_EQ(s.children.size(), 2u);
  EXPECT_EQ(s.children[0].id, "x-1-0/dev");
  auto refused = v(R"({"type":"offboard_user","user_name":"jane","accounts":["qa"]})", "x-2-0");
  ASSERT_TRUE(std::holds_alternative<std::string>(refused));
  EXPECT_NE(std::get<std::string>(refused).find("qa"), std::string::npos);
}

}  // namespace
}  // namespace iamq::worker
