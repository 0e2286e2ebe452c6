// `iamq call ACTION [Name=Value ...] [--json] [--account NAME]`: one signed IAM call with
// the account's endpoint, region and credentials; prints the result XML (or JSON). Operators
// use it to check credentials and endpoints before a batch.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "client/credentials.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/iam_client.hpp"
#include "worker/account_credentials.hpp"
#include "config/config.hpp"
#include "cli/commands.hpp"
#include "cli/organization_listing.hpp"

namespace iamq::commands {

namespace {

struct CallOptions {
  std::string action;
  std::vector<std::string> params;  ///< "Name=Value", validated by CLI11 (kParamValidator)
  bool json = false;
  std::string account = "default";
};

bool is_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/// IAM action names are letters (ListMFADevices, DeactivateMFADevice…).
std::string check_action(const std::string& a) {
  if (a.empty() || a.size() > 128) return "ACTION must be an IAM action name such as ListUsers";
  for (char c : a) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) {
      return "ACTION \"" + a + "\" must be letters only (an IAM action name such as ListUsers)";
    }
  }
  return {};
}

/// "Name=Value": Name is letters, digits and dots (list members: PolicyArns.member.1);
/// Value is anything, possibly empty.
std::string check_param(const std::string& p) {
  const auto eq = p.find('=');
  if (eq == std::string::npos || eq == 0) {
    return "parameter \"" + p + "\" must be Name=Value (e.g. UserName=alice)";
  }
  for (char c : p.substr(0, eq)) {
    if (!is_alnum(c) && c != '.') {
      return "parameter \"" + p + "\": expected Name=Value where Name holds only letters, " +
             "digits and dots (e.g. PolicyArns.member.1=arn:...)";
    }
  }
  return {};
}

/// Logs go to stderr: stdout carries only the result.
void log_to_stderr(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("iamq-call");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

void run_call(const GlobalOptions& g, const CallOptions& o) {
  log_to_stderr(g.log_level.value_or("info"));
  config::Config cfg = resolve_config(g);
  const auto env = client::environment_snapshot();
  boost::asio::io_context ioc;
  client::CurlMultiTransport transport(ioc);
  // The account's provider (default chain, profile, static keys, role_arn via source): a
  // missing or refused credential fails the call with a credentials error naming the source.
  worker::AccountCredentials credentials(transport, cfg, env);
  const auto bound = 2 * (cfg.connect_timeout + cfg.request_timeout) + std::chrono::seconds(5);

  // An account the worker finds through [organization] (org-<account id>): listed once, as
  // the worker does at start.
  OrganizationListing listing;
  std::string org_note;
  if (!cfg.accounts.count(o.account) && cfg.organization.enabled && config::is_discovered_account_name(o.account)) {
    listing = add_organization_accounts(ioc, transport, credentials, cfg, env, bound);
    org_note = listing.ok ? "; the organization lists " + std::to_string(listing.listed) + " account(s), " +
                                std::to_string(listing.used) + " used"
                          : "; listing the organization with account " + cfg.organization.account +
                                " failed: " + listing.error;
  }
  auto acc = cfg.accounts.find(o.account);
  if (acc == cfg.accounts.end()) {
    std::string known;
    for (const auto& [name, _] : cfg.accounts) known += (known.empty() ? "" : ", ") + name;
    throw config::ConfigError("--account: no account named \"" + o.account + "\" (configured: " + known + org_note +
                              ")");
  }
  const config::Account& account = acc->second;

  client::IamClientOptions copts;
  try {
    copts.endpoint = client::parse_endpoint(
        client::endpoint_url(account.endpoint, env, account.region));
  } catch (const client::EndpointError& e) {
    throw config::ConfigError(std::string("accounts.") + account.name + ".endpoint: " + e.what());
  }
  if (copts.endpoint.scheme == "http" && !copts.endpoint.is_loopback()) {
    throw config::ConfigError("endpoint " + copts.endpoint.url() +
                              ": plain http is only allowed for loopback hosts; use https");
  }
  copts.region = client::iam_signing_region(account.region);
  copts.connect_timeout = cfg.connect_timeout;
  copts.request_timeout = cfg.request_timeout;

  client::Params params;
  for (const auto& p : o.params) {
    const auto eq = p.find('=');
    params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }

  client::IamClient client(transport, copts, credentials.provider(account.name));
  spdlog::debug("call {} on {} (region {}, account {})", o.action, copts.endpoint.url(),
                copts.region, account.name);

  std::optional<client::Outcome> outcome;
  int attempts = 0;
  client.call(o.action, std::move(params),
              [&](std::error_code, client::Outcome out, client::CallInfo info) {
                attempts = info.http_attempts;
                spdlog::debug("{}: HTTP {} in {} ms ({} attempt(s))", o.action, info.http_status,
                              info.duration.count(), info.http_attempts);
                outcome = std::move(out);
              });
  // The request timeout bounds the call; the margin covers a credentials retry.
  ioc.run_for(bound);
  if (!outcome) {
    transport.stop();
    throw CommandFailed(1, "call " + o.action + ": no answer in time");
  }

  if (outcome->succeeded()) {
    const client::IamResult& r = *outcome->ok;
    if (o.json) {
      nlohmann::json j = {{"action", o.action},
                          {"http_status", r.http_status},
                          {"request_id", r.request_id},
                          {"result", r.result}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << r.raw_xml;
      if (r.raw_xml.empty() || r.raw_xml.back() != '\n') std::cout << "\n";
    }
    std::cout.flush();
    return;
  }

  const client::IamError& e = *outcome->error;
  // No request was sent: the credentials could not be had (missing, partial, refused by
  // STS). A configuration problem, exit 2 like any other (main prints the message).
  if (attempts == 0 && e.error_class == client::ErrorClass::credentials) throw client::CredentialsError(e.message);
  if (o.json) {
    nlohmann::json j = {{"action", o.action},
                        {"error",
                         {{"class", std::string(client::to_string(e.error_class))},
                          {"code", e.code},
                          {"message", e.message},
                          {"request_id", e.request_id},
                          {"http_status", e.http_status}}}};
    std::cout << j.dump(2) << "\n";
    std::cout.flush();
  }
  std::string where = e.request_id.empty() ? "no request id" : "request id " + e.request_id;
  if (e.http_status != 0) where += ", HTTP " + std::to_string(e.http_status);
  std::cerr << e.code << ": " << e.message << " (" << where << ")\n";
  throw CommandFailed(1);
}

}  // namespace

void add_call_command(CLI::App& app, const GlobalOptions& g) {
  // Owned by the callback below, which CLI11 keeps for the life of the app.
  auto o = std::make_shared<CallOptions>();
  auto* cmd = app.add_subcommand(
      "call", "Make one signed IAM call and print the result (checks credentials and endpoint)");
  cmd->add_option("action", o->action, "IAM action, e.g. ListMFADevices")
      ->required()
      ->check(CLI::Validator(check_action, "ACTION", "IamAction"));
  cmd->add_option("params", o->params, "Request parameters as Name=Value (e.g. UserName=alice)")
      ->check(CLI::Validator(check_param, "Name=Value", "NameValue"));
  cmd->add_flag("--json", o->json, "Print the result (or error) as JSON");
  cmd->add_option("--account", o->account, "Account to use: a configured one, or org-<account id> from [organization] (default: default)");
  cmd->footer(
      "Endpoint: the account's endpoint, else AWS_ENDPOINT_URL_IAM, else AWS_ENDPOINT_URL,\n"
      "else https://iam.amazonaws.com. Credentials: the account's source (environment keys or\n"
      "AWS_PROFILE in the shared credentials file by default). Exit 0 on success, 1 on an IAM\n"
      "or transport error (code: message (request id …) on stderr), 2 on usage/config errors.\n"
      "Example: iamq call ListMFADevices UserName=alice");
  cmd->callback([&g, o] { run_call(g, *o); });
}

}  // namespace iamq::commands
