// Organizations answers: ListAccounts pages (paging, states), errors classified, and answers
// that are oversized or not what ListAccounts sends refused with a reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/organizations_response.hpp"

namespace iamq::client {
namespace {

using nlohmann::json;

TEST(OrganizationsResponse, ParsesAPageWithItsNextToken) {
  const std::string body = R"({"Accounts":[
    {"Id":"222222222222","Arn":"arn:aws:organizations::111111111111:account/o-x/222222222222","Name":"prod",
     "Email":"a@example.com","Status":"ACTIVE","JoinedMethod":"CREATED","JoinedTimestamp":1.7e9},
    {"Id":"333333333333","Name":"old","Status":"SUSPENDED"},
    {"Id":"444444444444","Name":"new","Status":"ACTIVE","State":"PENDING_CLOSURE"}],
    "NextToken":"abc"})";
  auto r = parse_list_accounts(body);
  ASSERT_TRUE(std::holds_alternative<ListAccountsPage>(r)) << std::get<std::string>(r);
  const auto& page = std::get<ListAccountsPage>(r);
  ASSERT_EQ(page.accounts.size(), 3u);
  EXPECT_EQ(page.accounts[0].id, "222222222222");
  EXPECT_EQ(page.accounts[0].name, "prod");
  EXPECT_EQ(page.accounts[0].status, "ACTIVE");
  EXPECT_EQ(page.accounts[1].status, "SUSPENDED");
  EXPECT_EQ(page.accounts[2].status, "PENDING_CLOSURE");  // State wins over the deprecated Status
  EXPECT_EQ(page.next_token, "abc");
}

TEST(OrganizationsResponse, LastPageHasNoToken) {
  auto r = parse_list_accounts(R"({"Accounts":[]})");
  ASSERT_TRUE(std::holds_alternative<ListAccountsPage>(r));
  EXPECT_TRUE(std::get<ListAccountsPage>(r).next_token.empty());
  r = parse_list_accounts(R"({"Accounts":[],"NextToken":null})");
  ASSERT_TRUE(std::holds_alternative<ListAccountsPage>(r));
}

TEST(OrganizationsResponse, RefusesGarbageAndOversizedAnswers) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a JSON object"},
      {"<html>503</html>", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({"accounts":[]})", "no Accounts list"},
      {R"({"Accounts":{}})", "no Accounts list"},
      {R"({"Accounts":[3]})", "Accounts[0] is not an object"},
      {R"({"Accounts":[{"Id":"12345","Status":"ACTIVE"}]})", "Accounts[0].Id is not 12 digits"},
      {R"({"Accounts":[{"Id":"22222222222x","Status":"ACTIVE"}]})", "Id is not 12 digits"},
      {R"({"Accounts":[{"Id":222222222222,"Status":"ACTIVE"}]})", "Id is not 12 digits"},
      {R"({"Accounts":[{"Id":"222222222222"}]})", "neither Status nor State"},
      {R"({"Accounts":[{"Id":"222222222222","Status":5}]})", "Status is not a short string"},
      {R"({"Accounts":[],"NextToken":7})", "NextToken is not a string"},
      {R"({"Accounts":[]} trailing)", "not a JSON object"},
  };
  for (const auto& [body, want] : cases) {
    auto r = parse_list_accounts(body);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << body;
    EXPECT_NE(std::get<std::string>(r).find(want), std::string::npos) << body << " -> " << std::get<std::string>(r);
  }
  std::string big = R"({"Accounts":[],"Pad":")" + std::string(max_organizations_answer, 'x') + "\"}";
  auto r = parse_list_accounts(big);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("bytes (at most"), std::string::npos);
  json many = {{"Accounts", json::array()}};
  for (std::size_t i = 0; i <= max_accounts_per_page; ++i) many["Accounts"].push_back({{"Id", "222222222222"}, {"Status", "ACTIVE"}});
  r = parse_list_accounts(many.dump());
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("in one page"), std::string::npos);
}

TEST(OrganizationsResponse, ClassifiesErrors) {
  auto e = organizations_error(400, R"({"__type":"AccessDeniedException","message":"You don't have permissions"})");
  EXPECT_EQ(e.code, "AccessDeniedException");
  EXPECT_EQ(e.error_class, ErrorClass::denied);
  EXPECT_EQ(e.message, "You don't have permissions");
  e = organizations_error(400, R"({"__type":"com.amazonaws.organizations#TooManyRequestsException","Message":"slow"})");
  EXPECT_EQ(e.code, "TooManyRequestsException");
  EXPECT_EQ(e.error_class, ErrorClass::throttled);
  EXPECT_EQ(e.message, "slow");
  EXPECT_EQ(organizations_error(400, R"({"__type":"UnrecognizedClientException"})").error_class, ErrorClass::credentials);
  EXPECT_EQ(organizations_error(403, R"({"__type":"InvalidSignatureException"})").error_class, ErrorClass::credentials);
  EXPECT_EQ(organizations_error(400, R"({"__type":"ExpiredTokenException"})").error_class, ErrorClass::credentials);
  EXPECT_EQ(organizations_error(500, R"({"__type":"ServiceException"})").error_class, ErrorClass::transient);
  EXPECT_EQ(organizations_error(400, R"({"__type":"AWSOrganizationsNotInUseException"})").error_class,
            ErrorClass::terminal);
  e = organizations_error(503, "<html>Service Unavailable</html>");
  EXPECT_EQ(e.error_class, ErrorClass::transient);
  EXPECT_EQ(e.code, "ServiceUnavailable");
  e = organizations_error(404, "not json");
  EXPECT_EQ(e.error_class, ErrorClass::terminal);
  EXPECT_EQ(e.message.find("not json"), std::string::npos);  // the body is never echoed
}

}  // namespace
}  // namespace iamq::client
