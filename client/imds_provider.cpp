// EC2 instance metadata, IMDSv2: PUT /latest/api/token, then GET the role name and its
// credentials with the token. No IMDSv1 fallback unless SourceContext says so.
#include "client/credential_json.hpp"
#include "client/credential_sources.hpp"
#include "client/endpoint.hpp"
#include "client/metadata_host.hpp"

namespace iamq::client {

namespace {

constexpr const char* kCredentialsPath = "/latest/meta-data/iam/security-credentials/";

bool printable_line(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return !s.empty();
}

class ImdsProvider : public CredentialsProvider, public std::enable_shared_from_this<ImdsProvider> {
 public:
  explicit ImdsProvider(const SourceContext& ctx) : ctx_(ctx) {
    const std::string disabled = env_get(ctx.env, "AWS_EC2_METADATA_DISABLED");
    disabled_ = disabled == "true" || disabled == "TRUE" || disabled == "True";
    base_ = env_get(ctx.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base_.empty())
      base_ = env_get(ctx.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") == "IPv6" ? "http://[fd00:ec2::254]"
                                                                                  : "http://169.254.169.254";
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    try {
      Endpoint ep = parse_endpoint(base_);
      if (ep.scheme == "http" && !metadata_http_host_allowed(ep.host))
        error_ = "AWS_EC2_METADATA_SERVICE_ENDPOINT: plain http is allowed only to a loopback host, "
                 "169.254.169.254 or fd00:ec2::254";
    } catch (const EndpointError& e) {
      error_ = std::string("AWS_EC2_METADATA_SERVICE_ENDPOINT: ") + e.what();
    }
  }

  void get(Completion completion) override {
    if (disabled_) return completion(ProviderError{"MissingCredentials", "instance metadata: AWS_EC2_METADATA_DISABLED is set", true}, {});
    if (!error_.empty()) return completion(ProviderError{"MissingCredentials", "instance metadata: " + error_}, {});
    auto self = shared_from_this();
    HttpRequest put = request("PUT", "/latest/api/token", "");
    put.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    ctx_.metadata_transport->perform(std::move(put), [self, completion = std::move(completion)](std::error_code ec,
                                                                                              HttpResponse resp) mutable {
      if (ec) {
        // Nothing answers: not on EC2. The chain's last source says so and the chain ends.
        return completion(ProviderError{"MissingCredentials", "instance metadata: no answer from " + self->base_ + " (" +
                                                                  (resp.error_detail.empty() ? ec.message() : resp.error_detail) + ")",
                                        ec != TransportError::response_too_large},
                          {});
      }
      if (resp.status != 200 || !printable_line(resp.body) || resp.body.size() > 1024) {
        if (self->ctx_.imds_v1_fallback) return self->get_role("", std::move(completion));
        return completion(ProviderError{"MissingCredentials", "instance metadata: the IMDSv2 token request got HTTP " +
                                                                  std::to_string(resp.status) +
                                                                  " (IMDSv1 fallback is off)"},
                          {});
      }
      self->get_role(resp.body, std::move(completion));
    });
  }
  std::string describe() const override { return "instance metadata"; }

 private:
  HttpRequest request(const char* method, const std::string& path, const std::string& token) const {
    HttpRequest r;
    r.method = method;
    r.url = base_ + path;
    if (!token.empty()) r.headers.emplace_back("X-aws-ec2-metadata-token", token);
    r.connect_timeout = ctx_.metadata_timeout;
    r.timeout = ctx_.metadata_timeout;
    return r;
  }

  static ProviderError http_error(const std::string& what, std::error_code ec, const HttpResponse& resp) {
    if (ec == TransportError::response_too_large)
      return ProviderError{"ResponseTooLarge", "instance metadata: " + what + " answer is larger than " +
                                                   std::to_string(kMaxCredentialDocumentBytes) + " bytes"};
    if (ec) return ProviderError{"ConnectionError", "instance metadata: " + what + ": " + ec.message()};
    return ProviderError{"MissingCredentials", "instance metadata: " + what + ": HTTP " + std::to_string(resp.status)};
  }

  void get_role(std::string token, Completion completion) {
    auto self = shared_from_this();
    ctx_.metadata_transport->perform(request("GET", kCredentialsPath, token),
                                     [self, token, completion = std::move(completion)](std::error_code ec,
                                                                                       HttpResponse resp) mutable {
                                       if (ec || resp.status != 200) return completion(http_error("role name", ec, resp), {});
                                       std::string role = resp.body.substr(0, resp.body.find('\n'));
                                       while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
                                       if (role.empty() || role.size() > 128 ||
                                           role.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+=,.@_-") !=
                                               std::string::npos)
                                         return completion(ProviderError{"MissingCredentials", "instance metadata: no valid instance profile role name"}, {});
                                       self->get_credentials(role, token, std::move(completion));
                                     });
  }

  void get_credentials(const std::string& role, const std::string& token, Completion completion) {
    ctx_.metadata_transport->perform(request("GET", kCredentialsPath + role, token),
                                     [completion = std::move(completion)](std::error_code ec, HttpResponse resp) {
                                       if (ec || resp.status != 200) return completion(http_error("credentials", ec, resp), {});
                                       auto parsed = parse_imds_credentials(resp.body);
                                       if (auto* why = std::get_if<std::string>(&parsed))
                                         return completion(ProviderError{"MissingCredentials", *why}, {});
                                       completion(std::nullopt, std::get<TimedCredentials>(std::move(parsed)));
                                     });
  }

  SourceContext ctx_;
  bool disabled_ = false;
  std::string base_;
  std::string error_;
};

}  // namespace

ProviderPtr make_imds_provider(const SourceContext& ctx) { return std::make_shared<ImdsProvider>(ctx); }

}  // namespace iamq::client
