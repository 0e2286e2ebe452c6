#pragma once
/// `[organization]`: accounts discovered from AWS Organizations (ListAccounts, called with
/// the credentials of one configured account) and reached through a role of the same name
/// in each, assumed with that account's credentials. Read at worker start and every
/// `refresh`; a discovered account is named `org-<account id>` (config/organization_config.cpp).
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace iamq::config {

struct Account;

struct Organization {
  bool enabled = false;  ///< the section is present
  std::string account;    ///< a configured [accounts.X] that may call organizations:ListAccounts
  std::string role_name;  ///< role in each member account: arn:<partition>:iam::<id>:role/<role_name>
  std::vector<std::string> include;  ///< account ids; non-empty: only these
  std::vector<std::string> exclude;  ///< account ids never used
  std::chrono::milliseconds refresh{5 * 60 * 1000};
  std::string external_id;  ///< sent with each AssumeRole when set
  std::string role_session_name = "iamq";
  double rate = 10.0;   ///< each discovered account's token bucket
  double burst = 20.0;
};

/// "org-<account id>": the name of a discovered account.
std::string discovered_account_name(const std::string& account_id);
/// True when `name` has the form of a discovered account's name.
bool is_discovered_account_name(const std::string& name);
/// "aws", "aws-cn" or "aws-us-gov" for `region`.
std::string partition_of(const std::string& region);

/// Checks the section against the configured accounts; "field: rule" lines.
std::vector<std::string> validate_organization(const Organization& org, const std::map<std::string, Account>& accounts);

/// The account config of a discovered account: the role `role_name` in it, assumed with the
/// credentials of `org.account` (its region and IAM endpoint too), with the section's
/// external_id, rate and burst.
Account discovered_account(const Organization& org, const Account& organization_account, const std::string& account_id);

}  // namespace iamq::config
