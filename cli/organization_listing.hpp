#pragma once
/// [organization] listed once, as the worker does at start, for the commands that must know
/// the discovered accounts (`iamq accounts`, `iamq call --account org-<id>`).
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "client/curl_multi_transport.hpp"
#include "config/config.hpp"
#include "worker/account_credentials.hpp"
#include "worker/organization_accounts.hpp"

namespace iamq::commands {

struct OrganizationListing {
  bool ok = false;
  std::string error;     ///< why the listing failed (redacted); empty when ok
  std::string endpoint;  ///< where ListAccounts went
  std::size_t listed = 0;
  std::size_t used = 0;
  /// Kept alive with the transport: a listing that did not end in time may still complete.
  std::shared_ptr<void> keep_alive;
};

/// Lists the organization within `bound` on `ioc` (which it runs, then restarts) and adds the
/// accounts select_discovered() picks to `cfg.accounts` (which `credentials` refers to).
/// Throws config::ConfigError when the Organizations endpoint cannot be parsed.
OrganizationListing add_organization_accounts(boost::asio::io_context& ioc, client::CurlMultiTransport& transport,
                                              worker::AccountCredentials& credentials, config::Config& cfg,
                                              const std::map<std::string, std::string>& env,
                                              std::chrono::milliseconds bound);

}  // namespace iamq::commands
