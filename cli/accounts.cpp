// `iamq accounts [--check] [--json]`: the accounts the worker will use — the configured ones
// and those found through [organization] — with account id, region and partition, IAM
// endpoint and where the credentials come from. `--check` calls sts:GetCallerIdentity with
// each account's credentials (at most 8 at once, each bounded in time) and exits 1 if any
// fails. Nothing printed holds a secret (descriptions name sources, errors are redacted).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "client/credentials.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/sts_client.hpp"
#include "cli/commands.hpp"
#include "cli/organization_listing.hpp"
#include "config/config.hpp"
#include "worker/account_credentials.hpp"
#include "worker/redaction.hpp"

namespace iamq::commands {

namespace {

using nlohmann::json;

constexpr std::size_t kParallelChecks = 8;

struct AccountsOptions {
  bool check = false;
  bool json = false;
};

struct Row {
  std::string name;
  std::string account_id;
  std::string region;
  std::string partition;
  std::string endpoint;
  std::string origin;  ///< "config" | "organization"
  std::string credentials;
  client::ProviderPtr provider;
  std::string setup_error;  ///< the provider could not be built
  // --check
  bool checked = false;
  bool ok = false;
  std::string arn;
  std::string identity_account;
  std::string error_code;
  std::string error;
};

/// Runs the checks, at most kParallelChecks at once, each within `timeout`.
class Checker {
 public:
  Checker(boost::asio::io_context& ioc, worker::AccountCredentials& creds, std::vector<Row>& rows,
          std::chrono::milliseconds timeout)
      : ioc_(ioc), creds_(creds), rows_(rows), timeout_(timeout) {}

  void start() {
    for (std::size_t i = 0; i < kParallelChecks; ++i) next();
  }
  bool done() const { return finished_ == rows_.size(); }

 private:
  void next() {
    if (started_ >= rows_.size()) return;
    Row& row = rows_[started_++];
    if (!row.provider) return finish(row, false, "MissingCredentials", row.setup_error);
    auto settled = std::make_shared<bool>(false);
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, timeout_);
    timer->async_wait([this, &row, settled](std::error_code ec) {
      if (ec || *settled) return;
      *settled = true;
      finish(row, false, "Timeout", "no answer from STS within " + config::format_duration(timeout_));
    });
    try {
      creds_.sts(row.region)->get_caller_identity(
          row.provider, [this, &row, settled, timer](std::optional<client::StsError> err, client::CallerIdentity id) {
            if (*settled) return;
            *settled = true;
            timer->cancel();
            if (err) return finish(row, false, err->error.code, err->error.message);
            row.arn = id.arn;
            row.identity_account = id.account;
            finish(row, true, "", "");
          });
    } catch (const std::exception& e) {
      *settled = true;
      timer->cancel();
      finish(row, false, "InvalidConfiguration", e.what());
    }
  }

  void finish(Row& row, bool ok, std::string code, const std::string& message) {
    row.checked = true;
    row.ok = ok;
    row.error_code = std::move(code);
    row.error = worker::redact_text(message);
    ++finished_;
    next();
  }

  boost::asio::io_context& ioc_;
  worker::AccountCredentials& creds_;
  std::vector<Row>& rows_;
  std::chrono::milliseconds timeout_;
  std::size_t started_ = 0;
  std::size_t finished_ = 0;
};

void run_accounts(const GlobalOptions& g, const AccountsOptions& o) {
  auto logger = spdlog::stderr_color_mt("iamq-accounts");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(g.log_level.value_or("warn")));
  config::Config cfg = resolve_config(g);
  const auto env = client::environment_snapshot();

  boost::asio::io_context ioc;
  client::CurlMultiTransport transport(ioc);
  worker::AccountCredentials credentials(transport, cfg, env);
  const auto bound = 2 * (cfg.connect_timeout + cfg.request_timeout) + std::chrono::seconds(5);

  // [organization]: listed once, as the worker does at start.
  json org = nullptr;
  bool failed = false;
  OrganizationListing listing;
  if (cfg.organization.enabled) {
    listing = add_organization_accounts(ioc, transport, credentials, cfg, env, bound);
    org = {{"account", cfg.organization.account}, {"endpoint", listing.endpoint}};
    if (!listing.ok) {
      failed = true;
      org["error"] = listing.error;
      if (!o.json) std::cerr << "iamq: organization: listing the accounts with account " << cfg.organization.account
                             << " failed: " << listing.error << "\n";
    } else {
      org["listed"] = listing.listed;
      org["used"] = listing.used;
    }
  }

  std::vector<Row> rows;
  for (const auto& [name, a] : cfg.accounts) {
    Row r;
    r.name = name;
    r.account_id = a.account_id;
    r.region = a.region;
    r.partition = config::partition_of(a.region);
    try {
      r.endpoint = client::parse_endpoint(client::endpoint_url(a.endpoint, env, a.region)).url();
    } catch (const client::EndpointError& e) {
      r.endpoint = std::string("(invalid: ") + e.what() + ")";
    }
    r.origin = config::is_discovered_account_name(name) && cfg.organization.enabled ? "organization" : "config";
    try {
      r.provider = credentials.provider(name);
      r.credentials = credentials.describe(name);
    } catch (const std::exception& e) {
      r.setup_error = worker::redact_text(e.what());
      r.credentials = "(unusable: " + r.setup_error + ")";
    }
    rows.push_back(std::move(r));
  }

  if (o.check) {
    Checker checker(ioc, credentials, rows, bound);
    checker.start();
    ioc.run_for(bound + std::chrono::seconds(5));
    transport.stop();
    for (const auto& r : rows) failed = failed || !r.ok;
  }

  if (o.json) {
    json out = {{"accounts", json::array()}};
    if (!org.is_null()) out["organization"] = org;
    for (const auto& r : rows) {
      json j = {{"name", r.name},         {"account_id", r.account_id}, {"region", r.region},
                {"partition", r.partition}, {"iam_endpoint", r.endpoint}, {"origin", r.origin},
                {"credentials", r.credentials}};
      if (o.check) {
        j["check"] = r.ok ? json{{"ok", true}, {"arn", r.arn}, {"account", r.identity_account}}
                          : json{{"ok", false}, {"code", r.error_code}, {"error", r.error}};
      }
      out["accounts"].push_back(std::move(j));
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::size_t w = 4, ew = 12;
    for (const auto& r : rows) {
      w = std::max(w, r.name.size());
      ew = std::max(ew, r.endpoint.size());
    }
    const int nw = static_cast<int>(w) + 2;
    const int epw = static_cast<int>(ew) + 2;
    std::cout << std::left << std::setw(nw) << "NAME" << std::setw(14) << "ACCOUNT ID" << std::setw(24)
              << "REGION/PARTITION" << std::setw(14) << "FROM" << std::setw(epw) << "IAM ENDPOINT" << "CREDENTIALS\n";
    for (const auto& r : rows) {
      std::cout << std::left << std::setw(nw) << r.name << std::setw(14) << (r.account_id.empty() ? "-" : r.account_id)
                << std::setw(24) << (r.region + "/" + r.partition) << std::setw(14) << r.origin << std::setw(epw)
                << r.endpoint << r.credentials << "\n";
      if (o.check) {
        if (r.ok) std::cout << "    ok " << r.arn << "\n";
        else std::cout << "    FAILED " << r.error_code << ": " << r.error << "\n";
      }
    }
    if (o.check) {
      const auto bad = std::count_if(rows.begin(), rows.end(), [](const Row& r) { return !r.ok; });
      std::cout << (rows.size() - static_cast<std::size_t>(bad)) << " of " << rows.size() << " accounts ok\n";
    }
  }
  std::cout.flush();
  if (failed) throw CommandFailed(1);
}

}  // namespace

void add_accounts_command(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<AccountsOptions>();
  auto* cmd = app.add_subcommand("accounts", "List the accounts the worker uses (configured and from [organization])");
  cmd->add_flag("--check", o->check, "Call sts:GetCallerIdentity with each account's credentials; exit 1 if any fails");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->footer(
      "Exit 0 when every account is listed (and, with --check, answers); 1 when the organization\n"
      "cannot be listed or a check fails; 2 on a configuration error.");
  cmd->callback([&g, o] { run_accounts(g, *o); });
}

}  // namespace iamq::commands
