// Which listed accounts the worker uses: ACTIVE only, include/exclude, configured ids win.
#include <gtest/gtest.h>

#include "worker/organization_accounts.hpp"

namespace iamq::worker {
namespace {

config::Config org_config() {
  config::Config c = config::defaults();
  config::Account m;
  m.name = "mgmt";
  m.account_id = "111111111111";
  m.endpoint = "http://127.0.0.1:1/";
  c.accounts.emplace("mgmt", m);
  config::Account prod;
  prod.name = "prod";
  prod.account_id = "555555555555";
  c.accounts.emplace("prod", prod);
  c.organization.enabled = true;
  c.organization.account = "mgmt";
  c.organization.role_name = "iamq";
  return c;
}

std::vector<client::OrgAccount> listed() {
  return {{"444444444444", "d", "ACTIVE"},    {"111111111111", "mgmt", "ACTIVE"}, {"222222222222", "a", "ACTIVE"},
          {"333333333333", "s", "SUSPENDED"}, {"555555555555", "p", "ACTIVE"},    {"666666666666", "c", "PENDING_CLOSURE"},
          {"222222222222", "a", "ACTIVE"}};
}

std::vector<std::string> names(const std::vector<config::Account>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.name);
  return out;
}

TEST(OrganizationAccounts, ActiveOnlyConfiguredIdsWinSortedOnce) {
  const auto c = org_config();
  const auto used = select_discovered(c, listed());
  EXPECT_EQ(names(used), (std::vector<std::string>{"org-222222222222", "org-444444444444"}));
  EXPECT_EQ(config::expanded_role_arn(used[0]), "arn:aws:iam::222222222222:role/iamq");
  EXPECT_EQ(used[0].role_source, "mgmt");
  EXPECT_EQ(used[0].endpoint, "http://127.0.0.1:1/");
}

TEST(OrganizationAccounts, IncludeAndExclude) {
  auto c = org_config();
  c.organization.include = {"444444444444", "333333333333", "999999999999"};
  EXPECT_EQ(names(select_discovered(c, listed())), (std::vector<std::string>{"org-444444444444"}));
  c.organization.include.clear();
  c.organization.exclude = {"444444444444"};
  EXPECT_EQ(names(select_discovered(c, listed())), (std::vector<std::string>{"org-222222222222"}));
}

TEST(OrganizationAccounts, DiscoveredNamesAlreadyAddedDoNotHideThemselves) {
  auto c = org_config();
  for (auto& a : select_discovered(c, listed())) c.accounts.emplace(a.name, a);
  EXPECT_EQ(names(select_discovered(c, listed())), (std::vector<std::string>{"org-222222222222", "org-444444444444"}));
  c.organization.enabled = false;
  EXPECT_TRUE(select_discovered(c, listed()).empty());
}

}  // namespace
}  // namespace iamq::worker
