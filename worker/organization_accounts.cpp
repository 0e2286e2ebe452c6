#include "worker/organization_accounts.hpp"

#include <algorithm>
#include <set>

namespace iamq::worker {

std::vector<config::Account> select_discovered(const config::Config& cfg, const std::vector<client::OrgAccount>& listed) {
  std::vector<config::Account> out;
  const auto& org = cfg.organization;
  auto it = cfg.accounts.find(org.account);
  if (!org.enabled || it == cfg.accounts.end()) return out;
  std::set<std::string> configured_ids;
  for (const auto& [name, a] : cfg.accounts)
    if (!a.account_id.empty() && !config::is_discovered_account_name(name)) configured_ids.insert(a.account_id);
  const std::set<std::string> include(org.include.begin(), org.include.end());
  const std::set<std::string> exclude(org.exclude.begin(), org.exclude.end());
  std::set<std::string> ids;
  for (const auto& a : listed) {
    if (a.status != "ACTIVE") continue;
    if (!include.empty() && !include.count(a.id)) continue;
    if (exclude.count(a.id) || configured_ids.count(a.id)) continue;
    ids.insert(a.id);
  }
  for (const auto& id : ids) out.push_back(config::discovered_account(org, it->second, id));
  return out;
}

OrganizationAccounts::OrganizationAccounts(client::CurlMultiTransport& transport, AccountCredentials& credentials,
                                           const config::Config& cfg, const std::map<std::string, std::string>& env)
    : credentials_(credentials), cfg_(cfg) {
  const auto& acct = cfg.accounts.at(cfg.organization.account);
  client::OrganizationsOptions o;
  const std::string url = client::organizations_endpoint_url(acct.region, env);
  try {
    o.endpoint = client::parse_endpoint(url);
  } catch (const client::EndpointError& e) {
    throw config::ConfigError(std::string("organization: Organizations endpoint: ") + e.what());
  }
  if (o.endpoint.scheme == "http" && !o.endpoint.is_loopback())
    throw config::ConfigError("organization: Organizations endpoint " + url + ": plain http:// only to a loopback host");
  o.region = client::organizations_signing_region(acct.region);
  o.connect_timeout = cfg.connect_timeout;
  o.request_timeout = cfg.request_timeout;
  client_ = std::make_shared<client::OrganizationsClient>(transport, o);
}

void OrganizationAccounts::discover(Done done) {
  client::ProviderPtr source;
  try {
    source = credentials_.provider(cfg_.organization.account);
  } catch (const std::exception& e) {
    client::IamError err;
    err.error_class = client::ErrorClass::credentials;
    err.code = "MissingCredentials";
    err.message = e.what();
    return done(std::move(err), {});
  }
  // Only `done` is captured: this object may be gone when the listing ends.
  client_->list_accounts(source, std::move(done));
}

}  // namespace iamq::worker
