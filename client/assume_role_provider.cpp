// sts:AssumeRole with the credentials of another provider.
#include "client/credential_sources.hpp"

namespace iamq::client {

namespace {

class AssumeRoleProvider : public CredentialsProvider {
 public:
  AssumeRoleProvider(std::shared_ptr<StsClient> sts, ProviderPtr source, AssumeRoleParams p)
      : sts_(std::move(sts)), source_(std::move(source)), params_(std::move(p)) {}
  void get(Completion completion) override {
    if (!sts_) return completion(ProviderError{"MissingCredentials", describe() + ": no STS client"}, {});
    sts_->assume_role(source_, params_, [completion = std::move(completion)](std::optional<StsError> err,
                                                                            StsCredentials c) {
      if (err) return completion(err->error, {});
      completion(std::nullopt, std::move(c.creds));
    });
  }
  std::string describe() const override { return "assume-role " + params_.role_arn; }

 private:
  std::shared_ptr<StsClient> sts_;
  ProviderPtr source_;
  AssumeRoleParams params_;
};

}  // namespace

ProviderPtr make_assume_role_provider(const SourceContext& ctx, ProviderPtr source, AssumeRoleParams params) {
  return std::make_shared<AssumeRoleProvider>(ctx.sts, std::move(source), std::move(params));
}

}  // namespace iamq::client
