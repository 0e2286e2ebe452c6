#include "client/iam_client.hpp"

#include <optional>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "client/signer.hpp"

namespace iamq::client {

namespace {

constexpr std::string_view kContentType = "application/x-www-form-urlencoded; charset=utf-8";

IamError make_error(ErrorClass cls, int status, std::string code, std::string message) {
  IamError e;
  e.error_class = cls;
  e.http_status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

Outcome error_outcome(IamError e) {
  Outcome o;
  o.error = std::move(e);
  return o;
}

}  // namespace

CredentialsLoader environment_credentials_loader() {
  return [] { return default_credentials(environment_snapshot()); };
}

CredentialsLoader profile_credentials_loader(std::string profile) {
  return [profile = std::move(profile)] {
    auto env = environment_snapshot();
    std::string name = profile;
    if (name.empty()) {
      auto it = env.find("AWS_PROFILE");
      name = (it != env.end() && !it->second.empty()) ? it->second : "default";
    }
    return credentials_from_shared_file(shared_credentials_path(env), name);
  };
}

CredentialsLoader static_credentials_loader(Credentials creds) {
  return [creds = std::move(creds)] {
    if (creds.access_key_id.empty())
      throw CredentialsError("static credentials: access_key_id is empty");
    if (creds.secret_access_key.empty())
      throw CredentialsError("static credentials: secret_access_key is empty");
    return creds;
  };
}

IamError transport_error_to_iam_error(std::error_code ec, const HttpResponse& response) {
  const int status = static_cast<int>(response.status);
  const std::string detail = response.error_detail.empty() ? ec.message() : response.error_detail;
  if (ec == std::errc::operation_canceled) {
    return make_error(ErrorClass::transient, status, "Cancelled", "call cancelled: " + detail);
  }
  if (ec.category() == transport_category()) {
    switch (static_cast<TransportError>(ec.value())) {
      case TransportError::timeout:
        return make_error(ErrorClass::transient, status, "Timeout", detail);
      case TransportError::connection_failed:
        return make_error(ErrorClass::transient, status, "ConnectionError", detail);
      // Terminal: the same request would get the same oversized answer again.
      case TransportError::response_too_large:
        return make_error(ErrorClass::terminal, status, "ResponseTooLarge", detail);
      case TransportError::tls_error:
        return make_error(ErrorClass::terminal, status, "TlsError", detail);
      case TransportError::insecure_http_refused:
        return make_error(ErrorClass::terminal, status, "InsecureEndpoint", detail);
      case TransportError::invalid_url:
        return make_error(ErrorClass::terminal, status, "InvalidEndpoint", detail);
      case TransportError::transfer_failed:
        break;
    }
  }
  return make_error(ErrorClass::transient, status, "TransportError", detail);
}

/// Shared by the client and its calls in flight.
struct IamClient::State {
  CurlMultiTransport* transport = nullptr;
  IamClientOptions opts;
  CredentialsLoader loader;  // only for load_credentials() of a loader-built client
  ProviderPtr provider;      // caches; refreshed ahead of expiry or after a credentials error
  // Derived once from opts (the endpoint never changes): not rebuilt per call.
  std::string url;
  std::string host_header;
};

namespace {

/// One call(): its inputs and progress across (at most two) HTTP attempts.
struct CallOp {
  std::shared_ptr<IamClient::State> state;
  std::string action;
  std::string body;  // encoded once; re-signed per attempt
  IamClient::Completion completion;
  std::chrono::steady_clock::time_point started;
  CallInfo info;
  std::uint64_t generation = 0;  // of the credentials the last attempt was signed with

  void finish(std::error_code ec, Outcome outcome) {
    info.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (outcome.error) {
      spdlog::debug("iam {}: {} {} (HTTP {}, request id {}, {} ms, attempts {})", action,
                    to_string(outcome.error->error_class), outcome.error->code,
                    outcome.error->http_status, outcome.error->request_id, info.duration.count(),
                    info.http_attempts);
    } else {
      spdlog::debug("iam {}: ok (HTTP {}, request id {}, {} ms)", action, outcome.ok->http_status,
                    outcome.ok->request_id, info.duration.count());
    }
    completion(ec, std::move(outcome), info);
  }
};

void send_attempt(std::shared_ptr<CallOp> op, const Credentials& creds);

void on_response(std::shared_ptr<CallOp> op, std::error_code ec, HttpResponse response) {
  op->info.http_status = static_cast<int>(response.status);
  op->info.connection_reused = response.connection_reused;
  if (ec) {
    IamError err = transport_error_to_iam_error(ec, response);
    const std::error_code reported =
        ec == std::errc::operation_canceled ? ec : std::error_code{};
    return op->finish(reported, error_outcome(std::move(err)));
  }
  if (response.status >= 300 && response.status < 400) {
    std::string where = response.header("location");
    return op->finish({}, error_outcome(make_error(
                              ErrorClass::terminal, static_cast<int>(response.status), "Redirect",
                              "IAM endpoint answered HTTP " + std::to_string(response.status) +
                                  (where.empty() ? std::string() : " to " + where) +
                                  " (redirects are not followed: check the endpoint URL)")));
  }
  Outcome outcome = parse_response(op->action, static_cast<int>(response.status), response.body);
  if (outcome.error && outcome.error->request_id.empty()) {
    outcome.error->request_id = response.header("x-amzn-requestid");
  }
  if (outcome.error && outcome.error->error_class == ErrorClass::credentials &&
      !op->info.credentials_refreshed) {
    // One refresh-and-retry: the keys may have been rotated or the session token renewed.
    // Only the rejected generation is dropped: calls that failed together share one refresh.
    op->info.credentials_refreshed = true;
    op->state->provider->invalidate(op->generation);
    spdlog::info("iam {}: {}: credentials refreshed, retrying once", op->action, outcome.error->code);
    auto provider = op->state->provider;
    provider->get([op, provider, outcome = std::move(outcome)](std::optional<ProviderError> err,
                                                               TimedCredentials tc) mutable {
      if (err) {
        outcome.error->message += " (credentials refresh failed: " + err->message + ")";
        return op->finish({}, std::move(outcome));
      }
      op->generation = provider->generation();
      send_attempt(std::move(op), tc.creds);
    });
    return;
  }
  op->finish({}, std::move(outcome));
}

void send_attempt(std::shared_ptr<CallOp> op, const Credentials& creds) {
  auto& st = *op->state;
  SignableRequest sreq;
  sreq.method = "POST";
  sreq.path = st.opts.endpoint.path;
  sreq.headers.reserve(5);  // Host, Content-Type, X-Amz-Date, [token], Authorization
  sreq.headers.emplace_back("Host", st.host_header);
  sreq.headers.emplace_back("Content-Type", kContentType);
  sreq.body = op->body;
  SigningScope scope;
  scope.region = st.opts.region;
  scope.service = "iam";
  scope.amz_date = format_amz_date(st.opts.clock());
  sign(sreq, creds, scope);

  HttpRequest req;
  req.method = "POST";
  req.url = st.url;
  req.headers = std::move(sreq.headers);
  req.body = std::move(sreq.body);
  req.connect_timeout = st.opts.connect_timeout;
  req.timeout = st.opts.request_timeout;
  ++op->info.http_attempts;
  st.transport->perform(std::move(req), [op](std::error_code ec, HttpResponse response) mutable {
    on_response(std::move(op), ec, std::move(response));
  });
}

void start_attempt(std::shared_ptr<CallOp> op) {
  auto provider = op->state->provider;
  provider->get([op, provider](std::optional<ProviderError> err, TimedCredentials tc) mutable {
    if (err) {
      // Posted: the completion never runs inside call(). Every credential source failure
      // (missing keys, AssumeRole refused) is a credentials error: it opens the circuit.
      auto e = make_error(ErrorClass::credentials, 0, err->code, err->message);
      boost::asio::post(op->state->transport->context(), [op, e = std::move(e)]() mutable {
        op->finish({}, error_outcome(std::move(e)));
      });
      return;
    }
    op->generation = provider->generation();
    send_attempt(std::move(op), tc.creds);
  });
}

}  // namespace

IamClient::IamClient(CurlMultiTransport& transport, IamClientOptions opts, CredentialsLoader loader)
    : IamClient(transport, std::move(opts),
                std::static_pointer_cast<CredentialsProvider>(
                    make_caching_provider(make_function_provider(loader, "credentials loader")))) {
  state_->loader = std::move(loader);
}

IamClient::IamClient(CurlMultiTransport& transport, IamClientOptions opts, ProviderPtr provider)
    : state_(std::make_shared<State>()) {
  state_->transport = &transport;
  state_->opts = std::move(opts);
  state_->provider = std::move(provider);
  if (!state_->opts.clock) state_->opts.clock = [] { return std::chrono::system_clock::now(); };
  state_->url = state_->opts.endpoint.url();
  state_->host_header = state_->opts.endpoint.host_header();
}

IamClient::~IamClient() = default;

void IamClient::load_credentials() {
  if (state_->loader) (void)state_->loader();
}

const ProviderPtr& IamClient::provider() const { return state_->provider; }

const IamClientOptions& IamClient::options() const { return state_->opts; }

void IamClient::call(std::string action, Params params, Completion completion) {
  auto op = std::make_shared<CallOp>();
  op->state = state_;
  op->body = encode_query(action, params);
  op->action = std::move(action);
  op->completion = std::move(completion);
  op->started = std::chrono::steady_clock::now();
  start_attempt(std::move(op));
}

}  // namespace iamq::client
