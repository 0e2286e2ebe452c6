#include "client/sts_client.hpp"

#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "client/iam_client.hpp"
#include "client/query_encoder.hpp"
#include "client/signer.hpp"

namespace iamq::client {

namespace {

constexpr std::string_view kContentType = "application/x-www-form-urlencoded; charset=utf-8";

StsError to_sts_error(const IamError& e, const std::string& action) {
  StsError out;
  out.error_class = e.error_class;
  out.error.code = e.code;
  out.error.message = "sts " + action + ": " + e.code + (e.message.empty() ? "" : ": " + e.message);
  out.error.denied = e.error_class == ErrorClass::denied;
  return out;
}

}  // namespace

std::string sts_endpoint_url(const std::string& region, const std::map<std::string, std::string>& env) {
  for (const char* name : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    if (auto it = env.find(name); it != env.end() && !it->second.empty()) return it->second;
  }
  const std::string r = region.empty() ? "us-east-1" : region;
  const bool china = r.rfind("cn-", 0) == 0;
  return "https://sts." + r + (china ? ".amazonaws.com.cn" : ".amazonaws.com");
}

StsClient::StsClient(CurlMultiTransport& transport, StsOptions options)
    : transport_(transport), opts_(std::move(options)) {
  if (!opts_.clock) opts_.clock = [] { return std::chrono::system_clock::now(); };
}

/// One STS call: at most two HTTP attempts (the second after a credentials refresh).
struct StsClient::Op : std::enable_shared_from_this<StsClient::Op> {
  std::shared_ptr<StsClient> self;
  std::string action;
  std::string body;
  ProviderPtr source;
  RawCompletion done;
  bool retried = false;

  void send(std::optional<Credentials> creds, std::uint64_t generation) {
    auto& c = *self;
    SignableRequest sreq;
    sreq.method = "POST";
    sreq.path = c.opts_.endpoint.path;
    sreq.headers.emplace_back("Host", c.opts_.endpoint.host_header());
    sreq.headers.emplace_back("Content-Type", kContentType);
    sreq.body = body;
    if (creds) {
      SigningScope scope;
      scope.region = c.opts_.region;
      scope.service = "sts";
      scope.amz_date = format_amz_date(c.opts_.clock());
      sign(sreq, *creds, scope);
    }
    HttpRequest req;
    req.method = "POST";
    req.url = c.opts_.endpoint.url();
    req.headers = std::move(sreq.headers);
    req.body = std::move(sreq.body);
    req.connect_timeout = c.opts_.connect_timeout;
    req.timeout = c.opts_.request_timeout;
    ++c.calls_;
    c.transport_.perform(std::move(req), [op = shared_from_this(), generation](std::error_code ec, HttpResponse resp) {
      op->on_response(ec, std::move(resp), generation);
    });
  }

  void on_response(std::error_code ec, HttpResponse resp, std::uint64_t generation) {
    if (ec) return done(to_sts_error(transport_error_to_iam_error(ec, resp), action), {});
    Outcome o = parse_response(action, static_cast<int>(resp.status), resp.body);
    if (!o.error) return done(std::nullopt, std::move(*o.ok));
    if (o.error->error_class == ErrorClass::credentials && source && !retried) {
      retried = true;
      source->invalidate(generation);
      spdlog::info("sts {}: {}: source credentials refreshed, retrying once", action, o.error->code);
      return with_credentials();
    }
    done(to_sts_error(*o.error, action), {});
  }

  void with_credentials() {
    source->get([op = shared_from_this()](std::optional<ProviderError> err, TimedCredentials tc) {
      if (err) {
        // Posted: done never runs inside call(), even when the source answers at once.
        return boost::asio::post(op->self->transport_.context(), [op, e = *err] {
          op->done(StsError{e, ErrorClass::credentials}, {});
        });
      }
      op->send(tc.creds, op->source->generation());
    });
  }
};

void StsClient::call(std::string action, std::vector<std::pair<std::string, std::string>> params,
                     ProviderPtr source, RawCompletion done) {
  Params p;
  for (auto& [k, v] : params) p.emplace_back(std::move(k), std::move(v));
  std::string body = encode_query(action, p);
  // encode_query writes IAM's Version (values are percent-encoded, so this is the one).
  if (auto pos = body.find("&Version=2010-05-08"); pos != std::string::npos)
    body.replace(pos, 19, "&Version=" + std::string(kStsApiVersion));
  auto op = std::make_shared<Op>();
  op->self = shared_from_this();
  op->action = std::move(action);
  op->body = std::move(body);
  op->source = std::move(source);
  op->done = std::move(done);
  if (!op->source) {
    boost::asio::post(transport_.context(), [op] { op->send(std::nullopt, 0); });
    return;
  }
  op->with_credentials();
}

namespace {

void finish_credentials(const std::string& action, std::optional<StsError> err, IamResult r,
                        const StsClient::CredentialsCompletion& done) {
  if (err) return done(std::move(err), {});
  auto parsed = sts_credentials_from(action, r);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    StsError e;
    e.error.code = "InvalidStsResponse";
    e.error.message = *why;
    e.error_class = ErrorClass::transient;
    return done(std::move(e), {});
  }
  done(std::nullopt, std::get<StsCredentials>(std::move(parsed)));
}

}  // namespace

void StsClient::assume_role(ProviderPtr source, AssumeRoleParams params, CredentialsCompletion done) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"RoleArn", params.role_arn},
      {"RoleSessionName", params.role_session_name.empty() ? "iamq" : params.role_session_name},
      {"DurationSeconds", std::to_string(params.duration_seconds)}};
  if (!params.external_id.empty()) p.emplace_back("ExternalId", params.external_id);
  call("AssumeRole", std::move(p), std::move(source),
       [done = std::move(done), arn = params.role_arn](std::optional<StsError> err, IamResult r) {
         if (err) err->error.message += " (role " + arn + ")";
         finish_credentials("AssumeRole", std::move(err), std::move(r), done);
       });
}

void StsClient::assume_role_with_web_identity(AssumeRoleParams params, std::string token,
                                              CredentialsCompletion done) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"RoleArn", params.role_arn},
      {"RoleSessionName", params.role_session_name.empty() ? "iamq" : params.role_session_name},
      {"WebIdentityToken", std::move(token)},
      {"DurationSeconds", std::to_string(params.duration_seconds)}};
  call("AssumeRoleWithWebIdentity", std::move(p), nullptr,
       [done = std::move(done), arn = params.role_arn](std::optional<StsError> err, IamResult r) {
         if (err) err->error.message += " (role " + arn + ")";
         finish_credentials("AssumeRoleWithWebIdentity", std::move(err), std::move(r), done);
       });
}

void StsClient::assume_root(ProviderPtr source, std::string target_account, std::string task_policy_arn,
                            int duration_seconds, CredentialsCompletion done) {
  std::vector<std::pair<std::string, std::string>> p = {{"TargetPrincipal", target_account},
                                                        {"TaskPolicyArn.arn", task_policy_arn},
                                                        {"DurationSeconds", std::to_string(duration_seconds)}};
  call("AssumeRoot", std::move(p), std::move(source),
       [done = std::move(done), target_account](std::optional<StsError> err, IamResult r) {
         if (err) err->error.message += " (account " + target_account + ")";
         finish_credentials("AssumeRoot", std::move(err), std::move(r), done);
       });
}

void StsClient::get_caller_identity(ProviderPtr source, IdentityCompletion done) {
  call("GetCallerIdentity", {}, std::move(source), [done = std::move(done)](std::optional<StsError> err, IamResult r) {
    if (err) return done(std::move(err), {});
    auto parsed = caller_identity_from(r);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      StsError e;
      e.error.code = "InvalidStsResponse";
      e.error.message = *why;
      return done(std::move(e), {});
    }
    done(std::nullopt, std::get<CallerIdentity>(std::move(parsed)));
  });
}

}  // namespace iamq::client
