// The worker's shell, part 3: its accounts — building each one's state (limiter, IAM client,
// circuit) — and [organization]: the member accounts listed at start and every `refresh`; a
// new one joins (lane, gate, credentials through the role) at once, one no longer listed is
// retired (no new job is routed to it).
#include <algorithm>
#include <set>

#include "client/credentials.hpp"
#include "client/endpoint.hpp"
#include "worker/redaction.hpp"
#include "worker/worker_impl.hpp"

namespace iamq::worker {

AccountState& Worker::Impl::add_account(const std::string& name) {
  const config::Account& a = cfg.accounts.at(name);
  RateLimiter::Options lim;
  lim.rate = a.rate;
  lim.burst = a.burst;
  if (auto it = opts.account_rates.find(name); it != opts.account_rates.end()) lim.rate = it->second;
  auto st = std::make_unique<AccountState>(ioc, name, lim, cfg.circuit_probe_interval);
  st->discovered = config::is_discovered_account_name(name);
  const client::IamClientOptions co = iam_client_options(a);
  try {
    // Fetched at the first call (off the loop); a failure there, AccessDenied on the
    // account's AssumeRole included, opens this account's circuit only.
    st->client = std::make_unique<client::IamClient>(*transport, co, credentials->provider(name));
    spdlog::info("account {}: credentials from {}", name, credentials->describe(name));
  } catch (const client::CredentialsError& e) {
    client::IamError err;
    err.error_class = client::ErrorClass::credentials;
    err.code = "MissingCredentials";
    err.message = e.what();
    st->startup_error = err;
  }
  metrics->limiter_rate(name, lim.rate);
  metrics->circuit(name, false);
  AccountState& ref = *st;
  account_order.push_back(st.get());
  accounts.emplace(name, std::move(st));
  return ref;
}

client::IamClientOptions Worker::Impl::iam_client_options(const config::Account& a) const {
  client::IamClientOptions co;
  try {
    co.endpoint = client::parse_endpoint(client::endpoint_url(a.endpoint, env, a.region));
  } catch (const client::EndpointError& e) {
    throw config::ConfigError("accounts." + a.name + ".endpoint: " + e.what());
  }
  co.region = client::iam_signing_region(a.region);
  co.connect_timeout = cfg.connect_timeout;
  co.request_timeout = cfg.request_timeout;
  return co;
}

std::set<std::string> Worker::Impl::routable_accounts() const {
  std::set<std::string> out;
  for (const auto& [name, acct] : accounts)
    if (!acct->retired) out.insert(name);
  return out;
}

void Worker::Impl::discover_organization() {
  if (stopping || !organization) return;
  organization->discover([w = weak_from_this()](std::optional<client::IamError> err,
                                                std::vector<client::OrgAccount> listed) {
    if (auto self = w.lock()) self->on_organization(std::move(err), listed);
  });
}

void Worker::Impl::on_organization(std::optional<client::IamError> err,
                                   const std::vector<client::OrgAccount>& listed) {
  if (stopping || finalized) return;
  auto next = cfg.organization.refresh;
  if (err) {
    // The accounts known so far stay as they are; a failed listing retires nothing.
    if (!organization_error_logged) {
      spdlog::error("organization: listing the accounts with account {} failed: {} ({}); retrying",
                    cfg.organization.account, redact_text(err->message), client::to_string(err->error_class));
      organization_error_logged = true;
    }
    next = std::min<milliseconds>(next, milliseconds(30000));
  } else {
    organization_error_logged = false;
    std::set<std::string> listed_names;
    std::size_t joined = 0, left = 0;
    for (const auto& a : select_discovered(cfg, listed)) {
      listed_names.insert(a.name);
      auto it = accounts.find(a.name);
      if (it != accounts.end()) {
        if (it->second->retired) {
          it->second->retired = false;
          ++joined;
          spdlog::info("organization: account {} ({}) is listed again", a.name, a.account_id);
        }
        continue;
      }
      cfg.accounts.emplace(a.name, a);
      std::string why;
      try {
        if (add_account(a.name).client) {
          ++joined;
          continue;
        }
        why = accounts.at(a.name)->startup_error->message;
        account_order.pop_back();  // add_account put it last
        accounts.erase(a.name);
      } catch (const config::ConfigError& e) {
        why = e.what();
      }
      spdlog::error("organization: account {} cannot be used: {}", a.name, why);
      cfg.accounts.erase(a.name);
      listed_names.erase(a.name);
    }
    for (auto& [name, acct] : accounts) {
      if (!acct->discovered || acct->retired || listed_names.count(name)) continue;
      acct->retired = true;
      ++left;
      spdlog::warn("organization: account {} is no longer listed (left the organization, suspended or "
                   "excluded): no new job is routed to it", name);
    }
    spdlog::info("organization: {} account(s) listed, {} used from it; {} joined, {} retired", listed.size(),
                 listed_names.size(), joined, left);
    if (joined > 0) fill();
  }
  if (!organization_ready) {
    organization_ready = true;
    if (group_ready) read_intake();
  }
  organization_timer.expires_after(next);
  organization_timer.async_wait([w = weak_from_this()](std::error_code ec) {
    auto self = w.lock();
    if (self && !ec) self->discover_organization();
  });
}

}  // namespace iamq::worker
