#include "cli/organization_listing.hpp"

#include <utility>

#include "worker/redaction.hpp"

namespace iamq::commands {

namespace {

struct Pending {
  std::unique_ptr<worker::OrganizationAccounts> discovery;
  std::optional<std::optional<client::IamError>> answer;
  std::vector<client::OrgAccount> listed;
};

}  // namespace

OrganizationListing add_organization_accounts(boost::asio::io_context& ioc, client::CurlMultiTransport& transport,
                                              worker::AccountCredentials& credentials, config::Config& cfg,
                                              const std::map<std::string, std::string>& env,
                                              std::chrono::milliseconds bound) {
  auto st = std::make_shared<Pending>();
  st->discovery = std::make_unique<worker::OrganizationAccounts>(transport, credentials, cfg, env);
  std::weak_ptr<Pending> weak = st;
  st->discovery->discover([weak](std::optional<client::IamError> err, std::vector<client::OrgAccount> l) {
    auto p = weak.lock();
    if (!p || p->answer) return;
    p->answer = std::move(err);
    p->listed = std::move(l);
  });
  ioc.run_for(bound);
  ioc.restart();

  OrganizationListing out;
  out.endpoint = st->discovery->endpoint();
  if (!st->answer) {
    out.error = "no answer in time";
  } else if (*st->answer) {
    out.error = worker::redact_text((**st->answer).message);
  } else {
    auto used = worker::select_discovered(cfg, st->listed);
    out.ok = true;
    out.listed = st->listed.size();
    out.used = used.size();
    for (auto& a : used) cfg.accounts.emplace(a.name, std::move(a));
  }
  out.keep_alive = st;
  return out;
}

}  // namespace iamq::commands
