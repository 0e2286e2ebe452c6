// ECS (and EKS Pod Identity) container credentials over the metadata transport.
#include "client/credential_json.hpp"
#include "client/credential_sources.hpp"
#include "client/endpoint.hpp"
#include "client/metadata_host.hpp"
#include "client/off_loop.hpp"

namespace iamq::client {

bool metadata_http_host_allowed(std::string_view host) {
  if (is_loopback_host(host)) return true;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  for (std::string_view ok : {"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "169.254.169.254", "fd00:ec2::254"})
    if (host == ok) return true;
  return false;
}

TransportOptions make_metadata_transport_options() {
  TransportOptions o;
  o.max_host_connections = 4;
  o.max_response_bytes = kMaxCredentialDocumentBytes;
  o.allow_insecure_http = true;  // every caller checks metadata_http_host_allowed() first
  return o;
}

ContainerUrl container_credentials_url(const std::map<std::string, std::string>& env) {
  ContainerUrl out;
  const std::string rel = env_get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  const std::string full = env_get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (!rel.empty()) {
    if (rel.front() != '/' || rel.find_first_of(" \t\r\n@") != std::string::npos) {
      out.error = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path starting with /";
      return out;
    }
    out.url = "http://169.254.170.2" + rel;
    return out;
  }
  if (full.empty()) return out;
  try {
    Endpoint ep = parse_endpoint(full.substr(0, full.find('?')));
    if (ep.scheme == "http" && !metadata_http_host_allowed(ep.host)) {
      out.error = "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to a loopback host or "
                  "169.254.170.2, 169.254.170.23, fd00:ec2::23 (use https)";
      return out;
    }
  } catch (const EndpointError& e) {
    out.error = std::string("AWS_CONTAINER_CREDENTIALS_FULL_URI: ") + e.what();
    return out;
  }
  out.url = full;
  return out;
}

namespace {

constexpr std::size_t kMaxAuthTokenBytes = 16 * 1024;

class ContainerProvider : public CredentialsProvider, public std::enable_shared_from_this<ContainerProvider> {
 public:
  explicit ContainerProvider(const SourceContext& ctx) : ctx_(ctx), where_(container_credentials_url(ctx.env)) {}

  void get(Completion completion) override {
    if (!where_.error.empty()) return completion(ProviderError{"MissingCredentials", "container credentials: " + where_.error}, {});
    if (where_.url.empty())
      return completion(ProviderError{"MissingCredentials",
                                      "container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set", true},
                        {});
    const std::string token_file = env_get(ctx_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (token_file.empty()) return fetch(env_get(ctx_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN"), std::move(completion));
    auto self = shared_from_this();
    run_off_loop(
        ctx_.transport->context(), [token_file] { return read_bounded_file(token_file, kMaxAuthTokenBytes); },
        [self, token_file, completion = std::move(completion)](OffLoopResult r) mutable {
          if (r.error)
            return completion(ProviderError{"MissingCredentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE " + token_file + ": " + *r.error}, {});
          std::string t = std::move(r.output);
          while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
          self->fetch(std::move(t), std::move(completion));
        });
  }
  std::string describe() const override { return "container credentials"; }

 private:
  void fetch(std::string token, Completion completion) {
    if (token.find_first_of("\r\n") != std::string::npos)
      return completion(ProviderError{"MissingCredentials", "container credentials: the authorization token has a line break"}, {});
    HttpRequest req;
    req.method = "GET";
    req.url = where_.url;
    if (!token.empty()) req.headers.emplace_back("Authorization", token);
    req.connect_timeout = ctx_.metadata_timeout;
    req.timeout = ctx_.metadata_timeout;
    const std::string url = where_.url;
    ctx_.metadata_transport->perform(std::move(req), [url, completion = std::move(completion)](std::error_code ec,
                                                                                             HttpResponse resp) {
      if (ec) {
        const bool too_large = ec == TransportError::response_too_large;
        return completion(ProviderError{too_large ? "ResponseTooLarge" : "ConnectionError",
                                        "container credentials from " + url + ": " +
                                            (too_large ? "answer is larger than " + std::to_string(kMaxCredentialDocumentBytes) + " bytes"
                                                       : resp.error_detail.empty() ? ec.message() : resp.error_detail)},
                          {});
      }
      if (resp.status != 200)
        return completion(ProviderError{"MissingCredentials", "container credentials from " + url + ": HTTP " + std::to_string(resp.status)}, {});
      auto parsed = parse_container_credentials(resp.body);
      if (auto* why = std::get_if<std::string>(&parsed)) return completion(ProviderError{"MissingCredentials", *why}, {});
      completion(std::nullopt, std::get<TimedCredentials>(std::move(parsed)));
    });
  }

  SourceContext ctx_;
  ContainerUrl where_;
};

}  // namespace

ProviderPtr make_container_provider(const SourceContext& ctx) { return std::make_shared<ContainerProvider>(ctx); }

}  // namespace iamq::client
