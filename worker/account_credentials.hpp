#pragma once
/// Credentials for each configured account: its base source (the default chain, a
/// profile or static keys), then `role_arn` assumed with it, or with another account's
/// credentials (`source`), so a hub account can reach every member. Every source is one
/// CachingProvider shared by all the accounts that use it: one refresh in flight each.
#include <map>
#include <memory>
#include <string>

#include "client/credential_sources.hpp"
#include "config/config.hpp"

namespace iamq::worker {

class AccountCredentials {
 public:
  AccountCredentials(client::CurlMultiTransport& transport, const config::Config& cfg,
                     std::map<std::string, std::string> env);
  ~AccountCredentials();

  /// The provider of account `name` (built once). Throws config::ConfigError for an
  /// unknown account or an endpoint that cannot be parsed.
  client::ProviderPtr provider(const std::string& name);
  /// The STS client for `region` (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or regional).
  std::shared_ptr<client::StsClient> sts(const std::string& region);
  /// "assume-role arn:… via account hub", "default chain", "profile 'ops'", "static keys".
  std::string describe(const std::string& name) const;

 private:
  client::ProviderPtr base_of(const config::Account& a, int depth);
  client::ProviderPtr build(const std::string& name, int depth);
  client::SourceContext context(const std::string& region);

  client::CurlMultiTransport& transport_;
  const config::Config& cfg_;
  std::map<std::string, std::string> env_;
  std::unique_ptr<client::CurlMultiTransport> metadata_;
  std::map<std::string, std::shared_ptr<client::StsClient>> sts_;
  std::map<std::string, client::ProviderPtr> by_account_;
  std::map<std::string, client::ProviderPtr> by_profile_;
  client::ProviderPtr chain_;
  std::map<std::string, std::string> description_;
};

}  // namespace iamq::worker
