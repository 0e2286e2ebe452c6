#include "client/organizations_client.hpp"

#include <utility>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "client/iam_client.hpp"
#include "client/signer.hpp"

namespace iamq::client {

std::string organizations_endpoint_url(const std::string& region, const std::map<std::string, std::string>& env) {
  for (const char* name : {"AWS_ENDPOINT_URL_ORGANIZATIONS", "AWS_ENDPOINT_URL"}) {
    if (auto it = env.find(name); it != env.end() && !it->second.empty()) return it->second;
  }
  if (region.rfind("cn-", 0) == 0) return "https://organizations.cn-northwest-1.amazonaws.com.cn";
  if (region.rfind("us-gov-", 0) == 0) return "https://organizations.us-gov-west-1.amazonaws.com";
  return "https://organizations.us-east-1.amazonaws.com";
}

std::string organizations_signing_region(const std::string& region) {
  if (region.rfind("cn-", 0) == 0) return "cn-northwest-1";
  if (region.rfind("us-gov-", 0) == 0) return "us-gov-west-1";
  return "us-east-1";
}

OrganizationsClient::OrganizationsClient(CurlMultiTransport& transport, OrganizationsOptions options)
    : transport_(transport), opts_(std::move(options)) {
  if (!opts_.clock) opts_.clock = [] { return std::chrono::system_clock::now(); };
}

/// One ListAccounts listing: a page at a time, each at most twice (after a refresh).
struct OrganizationsClient::Op : std::enable_shared_from_this<OrganizationsClient::Op> {
  std::shared_ptr<OrganizationsClient> self;
  ProviderPtr source;
  ListCompletion done;
  std::vector<OrgAccount> accounts;
  std::string next_token;
  std::size_t pages = 0;
  bool retried = false;  ///< this page was already asked again after a credentials answer

  void fail(IamError e) {
    e.message = "organizations ListAccounts: " + e.code + (e.message.empty() ? "" : ": " + e.message);
    done(std::move(e), {});
  }

  void next_page() {
    source->get([op = shared_from_this()](std::optional<ProviderError> err, TimedCredentials tc) {
      if (err) {
        return boost::asio::post(op->self->transport_.context(), [op, e = *err] {
          IamError ie;
          ie.error_class = ErrorClass::credentials;
          ie.code = e.code.empty() ? "MissingCredentials" : e.code;
          ie.message = e.message;
          op->fail(std::move(ie));
        });
      }
      op->send(tc.creds, op->source->generation());
    });
  }

  void send(const Credentials& creds, std::uint64_t generation) {
    auto& c = *self;
    nlohmann::json req = nlohmann::json::object();
    if (!next_token.empty()) req["NextToken"] = next_token;
    SignableRequest sreq;
    sreq.method = "POST";
    sreq.path = c.opts_.endpoint.path;
    sreq.headers.emplace_back("Host", c.opts_.endpoint.host_header());
    sreq.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
    sreq.headers.emplace_back("X-Amz-Target", std::string(kOrganizationsTarget) + ".ListAccounts");
    sreq.body = req.dump();
    SigningScope scope;
    scope.region = c.opts_.region;
    scope.service = "organizations";
    scope.amz_date = format_amz_date(c.opts_.clock());
    sign(sreq, creds, scope);
    HttpRequest hreq;
    hreq.method = "POST";
    hreq.url = c.opts_.endpoint.url();
    hreq.headers = std::move(sreq.headers);
    hreq.body = std::move(sreq.body);
    hreq.connect_timeout = c.opts_.connect_timeout;
    hreq.timeout = c.opts_.request_timeout;
    c.transport_.perform(std::move(hreq), [op = shared_from_this(), generation](std::error_code ec, HttpResponse resp) {
      op->on_response(ec, std::move(resp), generation);
    });
  }

  void on_response(std::error_code ec, HttpResponse resp, std::uint64_t generation) {
    if (ec) return fail(transport_error_to_iam_error(ec, resp));
    if (resp.status != 200) {
      IamError e = organizations_error(static_cast<int>(resp.status), resp.body);
      if (e.error_class == ErrorClass::credentials && !retried) {
        retried = true;
        source->invalidate(generation);
        spdlog::info("organizations ListAccounts: {}: credentials refreshed, retrying once", e.code);
        return next_page();
      }
      return fail(std::move(e));
    }
    auto parsed = parse_list_accounts(resp.body);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      IamError e;
      e.http_status = 200;
      e.code = "InvalidOrganizationsResponse";
      e.message = *why;
      e.error_class = ErrorClass::transient;
      return fail(std::move(e));
    }
    auto& page = std::get<ListAccountsPage>(parsed);
    for (auto& a : page.accounts) accounts.push_back(std::move(a));
    ++pages;
    retried = false;
    if (page.next_token.empty()) return done(std::nullopt, std::move(accounts));
    if (page.next_token == next_token || pages >= self->opts_.max_pages) {
      IamError e;
      e.code = "InvalidOrganizationsResponse";
      e.message = "NextToken did not end after " + std::to_string(pages) + " pages";
      e.error_class = ErrorClass::terminal;
      return fail(std::move(e));
    }
    next_token = std::move(page.next_token);
    next_page();
  }
};

void OrganizationsClient::list_accounts(ProviderPtr source, ListCompletion done) {
  auto op = std::make_shared<Op>();
  op->self = shared_from_this();
  op->source = std::move(source);
  op->done = std::move(done);
  op->next_page();
}

}  // namespace iamq::client
