// [organization]: reading, validation with field-naming messages, discovered accounts.
#include <atomic>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace iamq::config {
namespace {

using namespace std::chrono_literals;

Config load_text(const std::string& toml) {
  static std::atomic<int> n{0};
  const auto dir = std::filesystem::temp_directory_path() /
                   ("iamq-org-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "iamq.toml").string();
  std::ofstream(path) << toml;
  struct Cleanup {
    std::filesystem::path d;
    ~Cleanup() { std::filesystem::remove_all(d); }
  } cleanup{dir};
  return load(path, {});
}

std::string problems(const std::string& toml) {
  try {
    load_text(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << toml;
  return {};
}

const std::string kHub = "[accounts.mgmt]\naccount_id = \"111111111111\"\nregion = \"us-east-1\"\n";

TEST(OrganizationConfig, AbsentMeansDisabled) {
  const Config c = load_text(kHub);
  EXPECT_FALSE(c.organization.enabled);
}

TEST(OrganizationConfig, ReadsEveryKeyWithDefaults) {
  Config c = load_text(kHub + "[organization]\naccount = \"mgmt\"\nrole_name = \"iamq\"\n");
  EXPECT_TRUE(c.organization.enabled);
  EXPECT_EQ(c.organization.account, "mgmt");
  EXPECT_EQ(c.organization.refresh, 5min);
  EXPECT_EQ(c.organization.rate, 10.0);
  EXPECT_EQ(c.organization.burst, 20.0);
  c = load_text(kHub +
                "[organization]\naccount = \"mgmt\"\nrole_name = \"iamq-ops\"\ninclude = [\"222222222222\"]\n"
                "refresh = \"1m\"\nexternal_id = \"ext-1\"\nrole_session_name = \"iamq-org\"\nrate = 3\nburst = 4.5\n");
  EXPECT_EQ(c.organization.role_name, "iamq-ops");
  EXPECT_EQ(c.organization.include, std::vector<std::string>{"222222222222"});
  EXPECT_EQ(c.organization.refresh, 1min);
  EXPECT_EQ(c.organization.external_id, "ext-1");
  EXPECT_EQ(c.organization.role_session_name, "iamq-org");
  EXPECT_EQ(c.organization.rate, 3.0);
  EXPECT_EQ(c.organization.burst, 4.5);
  // Printed back (config check) and loadable again.
  const std::string toml = to_redacted_toml(c);
  EXPECT_NE(toml.find("[organization]"), std::string::npos) << toml;
  EXPECT_NE(toml.find("iamq-ops"), std::string::npos) << toml;
}

TEST(OrganizationConfig, NamesEachBadField) {
  const std::string p = problems(
      kHub + "[organization]\naccount = \"nosuch\"\nrole_name = \"bad role\"\ninclude = [\"12345\", \"222222222222\"]\n"
             "exclude = [\"222222222222\", 7]\nrefresh = \"1s\"\nrate = 0\nburst = 0\nexternal_id = \"x\"\ncolour = 1\n");
  for (const char* want : {"organization.account: \"nosuch\" is not a configured account",
                           "organization.role_name: must be a role name",
                           "organization.include[0]: \"12345\" must be 12 digits",
                           "organization.exclude[1]: must be a string of 12 digits",
                           "organization.exclude: 222222222222 is in include too",
                           "organization.refresh: must be at least 10s", "organization.rate: must be > 0",
                           "organization.burst: must be >= 1", "organization.external_id: must be 2-1224",
                           "organization.colour: unknown key"}) {
    EXPECT_NE(p.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << p;
  }
}

TEST(OrganizationConfig, RequiresAccountAndRoleAndRefusesReservedNamesAndDuplicates) {
  std::string p = problems(kHub + "[organization]\n");
  EXPECT_NE(p.find("organization.account: required"), std::string::npos) << p;
  EXPECT_NE(p.find("organization.role_name: must be a role name"), std::string::npos) << p;
  p = problems(kHub + "[accounts.org-222222222222]\n[organization]\naccount = \"mgmt\"\nrole_name = \"r\"\n"
                      "exclude = [\"333333333333\", \"333333333333\"]\nrefresh = \"soon\"\n");
  EXPECT_NE(p.find("accounts.org-222222222222: names org-<12 digits> are kept"), std::string::npos) << p;
  EXPECT_NE(p.find("organization.exclude[1]: 333333333333 is listed twice"), std::string::npos) << p;
  EXPECT_NE(p.find("organization.refresh: \"soon\" is not a duration"), std::string::npos) << p;
  p = problems("organization = 3\n" + kHub);
  EXPECT_NE(p.find("organization: must be a table"), std::string::npos) << p;
}

TEST(OrganizationConfig, DiscoveredAccountUsesTheRoleThroughTheOrganizationAccount) {
  Config c = load_text(kHub + "endpoint = \"http://127.0.0.1:9/\"\n[organization]\naccount = \"mgmt\"\n"
                              "role_name = \"iamq\"\nexternal_id = \"ext-1\"\nrate = 3\nburst = 4\n");
  const Account a = discovered_account(c.organization, c.accounts.at("mgmt"), "222222222222");
  EXPECT_EQ(a.name, "org-222222222222");
  EXPECT_EQ(a.account_id, "222222222222");
  EXPECT_EQ(expanded_role_arn(a), "arn:aws:iam::222222222222:role/iamq");
  EXPECT_EQ(a.role_source, "mgmt");
  EXPECT_EQ(a.external_id, "ext-1");
  EXPECT_EQ(a.endpoint, "http://127.0.0.1:9/");
  EXPECT_EQ(a.rate, 3.0);
  EXPECT_EQ(a.burst, 4.0);
  Account cn = c.accounts.at("mgmt");
  cn.region = "cn-north-1";
  EXPECT_EQ(expanded_role_arn(discovered_account(c.organization, cn, "222222222222")),
            "arn:aws-cn:iam::222222222222:role/iamq");
  EXPECT_TRUE(is_discovered_account_name("org-222222222222"));
  EXPECT_FALSE(is_discovered_account_name("org-2222"));
  EXPECT_FALSE(is_discovered_account_name("prod"));
  EXPECT_EQ(partition_of("us-gov-west-1"), "aws-us-gov");
}

}  // namespace
}  // namespace iamq::config
