// sts:AssumeRoleWithWebIdentity with a token file (EKS IRSA), read off the loop each time.
#include "client/credential_sources.hpp"
#include "client/off_loop.hpp"

namespace iamq::client {

namespace {

constexpr std::size_t kMaxTokenBytes = 16 * 1024;

class WebIdentityProvider : public CredentialsProvider {
 public:
  WebIdentityProvider(const SourceContext& ctx, std::string file, AssumeRoleParams p)
      : ioc_(&ctx.transport->context()), sts_(ctx.sts), file_(std::move(file)), params_(std::move(p)) {}
  void get(Completion completion) override {
    if (!sts_) return completion(ProviderError{"MissingCredentials", describe() + ": no STS client"}, {});
    const std::string file = file_;
    run_off_loop(
        *ioc_, [file] { return read_bounded_file(file, kMaxTokenBytes); },
        [sts = sts_, params = params_, file, completion = std::move(completion)](OffLoopResult r) mutable {
          if (r.error) return completion(ProviderError{"MissingCredentials", "web identity token file " + file + ": " + *r.error}, {});
          std::string token = std::move(r.output);
          while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
          if (token.empty()) return completion(ProviderError{"MissingCredentials", "web identity token file " + file + ": is empty"}, {});
          sts->assume_role_with_web_identity(params, std::move(token),
                                             [completion = std::move(completion)](std::optional<StsError> err,
                                                                                  StsCredentials c) {
                                               if (err) return completion(err->error, {});
                                               completion(std::nullopt, std::move(c.creds));
                                             });
        });
  }
  std::string describe() const override { return "web identity " + params_.role_arn; }

 private:
  boost::asio::io_context* ioc_;
  std::shared_ptr<StsClient> sts_;
  std::string file_;
  AssumeRoleParams params_;
};

}  // namespace

ProviderPtr make_web_identity_provider(const SourceContext& ctx, std::string token_file, AssumeRoleParams params) {
  return std::make_shared<WebIdentityProvider>(ctx, std::move(token_file), std::move(params));
}

ProviderPtr make_web_identity_env_provider(const SourceContext& ctx) {
  const std::string arn = env_get(ctx.env, "AWS_ROLE_ARN");
  const std::string file = env_get(ctx.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (arn.empty() || file.empty()) {
    class NotConfigured : public CredentialsProvider {
     public:
      void get(Completion c) override {
        c(ProviderError{"MissingCredentials", "web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE are not both set", true}, {});
      }
      std::string describe() const override { return "web identity (environment)"; }
    };
    return std::make_shared<NotConfigured>();
  }
  AssumeRoleParams p;
  p.role_arn = arn;
  p.role_session_name = env_get(ctx.env, "AWS_ROLE_SESSION_NAME");
  if (p.role_session_name.empty()) p.role_session_name = "iamq";
  return make_web_identity_provider(ctx, file, std::move(p));
}

}  // namespace iamq::client
