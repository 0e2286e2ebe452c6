// Environment keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN.
#include "client/credential_sources.hpp"

namespace iamq::client {

std::string env_get(const std::map<std::string, std::string>& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

namespace {

class EnvironmentProvider : public CredentialsProvider {
 public:
  explicit EnvironmentProvider(std::map<std::string, std::string> env) : env_(std::move(env)) {}
  void get(Completion completion) override {
    if (env_get(env_, "AWS_ACCESS_KEY_ID").empty() && env_get(env_, "AWS_SECRET_ACCESS_KEY").empty())
      return completion(ProviderError{"MissingCredentials", "environment: AWS_ACCESS_KEY_ID is not set", true}, {});
    TimedCredentials tc;
    try {
      tc.creds = credentials_from_environment(env_);
    } catch (const CredentialsError& e) {
      return completion(ProviderError{"MissingCredentials", e.what()}, {});
    }
    completion(std::nullopt, std::move(tc));
  }
  std::string describe() const override { return "environment"; }

 private:
  std::map<std::string, std::string> env_;
};

}  // namespace

ProviderPtr make_environment_provider(const SourceContext& ctx) {
  return std::make_shared<EnvironmentProvider>(ctx.env);
}

}  // namespace iamq::client
