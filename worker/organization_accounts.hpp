#pragma once
/// Accounts from AWS Organizations ([organization]): ListAccounts with the credentials of the
/// organization account, then the pure selection (ACTIVE only, include/exclude, none that a
/// configured account already names by account_id) and each one's account config. Used by
/// the worker (at start and every `refresh`) and by `iamq accounts`.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/organizations_client.hpp"
#include "config/config.hpp"
#include "worker/account_credentials.hpp"

namespace iamq::worker {

/// The discovered accounts `listed` gives under `cfg.organization`, ordered by account id:
/// SUSPENDED (and any state but ACTIVE) skipped, only `include` when it is set, never
/// `exclude`, and none whose id a configured account already has (the configured one wins).
std::vector<config::Account> select_discovered(const config::Config& cfg, const std::vector<client::OrgAccount>& listed);

class OrganizationAccounts {
 public:
  using Done = std::function<void(std::optional<client::IamError>, std::vector<client::OrgAccount>)>;

  /// Throws config::ConfigError when the Organizations endpoint cannot be parsed.
  OrganizationAccounts(client::CurlMultiTransport& transport, AccountCredentials& credentials,
                       const config::Config& cfg, const std::map<std::string, std::string>& env);

  /// Lists the organization (every page); select_discovered() picks the accounts to use.
  void discover(Done done);
  /// Where ListAccounts is sent (for logs and `iamq accounts`).
  std::string endpoint() const { return client_->options().endpoint.url(); }

 private:
  AccountCredentials& credentials_;
  const config::Config& cfg_;
  std::shared_ptr<client::OrganizationsClient> client_;
};

}  // namespace iamq::worker
