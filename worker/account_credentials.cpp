#include "worker/account_credentials.hpp"

namespace iamq::worker {

namespace {

std::string default_region(const std::map<std::string, std::string>& env) {
  for (const char* k : {"AWS_REGION", "AWS_DEFAULT_REGION"})
    if (auto it = env.find(k); it != env.end() && !it->second.empty()) return it->second;
  return "us-east-1";
}

}  // namespace

AccountCredentials::AccountCredentials(client::CurlMultiTransport& transport, const config::Config& cfg,
                                       std::map<std::string, std::string> env)
    : transport_(transport), cfg_(cfg), env_(std::move(env)) {
  metadata_ = std::make_unique<client::CurlMultiTransport>(transport.context(), client::make_metadata_transport_options());
}

AccountCredentials::~AccountCredentials() = default;

std::shared_ptr<client::StsClient> AccountCredentials::sts(const std::string& region) {
  auto& s = sts_[region];
  if (!s) {
    client::StsOptions o;
    const std::string url = client::sts_endpoint_url(region, env_);
    try {
      o.endpoint = client::parse_endpoint(url);
    } catch (const client::EndpointError& e) {
      throw config::ConfigError(std::string("STS endpoint: ") + e.what());
    }
    o.region = region;
    o.connect_timeout = cfg_.connect_timeout;
    o.request_timeout = cfg_.request_timeout;
    s = std::make_shared<client::StsClient>(transport_, o);
  }
  return s;
}

client::SourceContext AccountCredentials::context(const std::string& region) {
  client::SourceContext c;
  c.transport = &transport_;
  c.metadata_transport = metadata_.get();
  c.sts = sts(region);
  c.env = env_;
  return c;
}

client::ProviderPtr AccountCredentials::base_of(const config::Account& a, int depth) {
  if (!a.role_source.empty()) {
    if (cfg_.accounts.count(a.role_source)) return build(a.role_source, depth + 1);
    auto& p = by_profile_[a.role_source];
    if (!p) p = client::make_caching_provider(client::make_profile_provider(context(default_region(env_)), a.role_source, true));
    return p;
  }
  switch (a.source) {
    case config::CredentialsSource::static_keys:
      return client::make_caching_provider(client::make_static_provider(
          client::Credentials{a.access_key_id, a.secret_access_key, a.session_token}, "accounts." + a.name + " static keys"));
    case config::CredentialsSource::profile: {
      auto ctx = context(default_region(env_));
      std::string name = a.profile.empty() ? client::env_get(env_, "AWS_PROFILE") : a.profile;
      if (name.empty()) name = "default";
      auto& p = by_profile_[name];
      if (!p) p = client::make_caching_provider(client::make_profile_provider(ctx, name, true));
      return p;
    }
    case config::CredentialsSource::environment:
      break;
  }
  if (!chain_) chain_ = client::make_caching_provider(client::make_default_chain(context(default_region(env_))));
  return chain_;
}

client::ProviderPtr AccountCredentials::build(const std::string& name, int depth) {
  if (auto it = by_account_.find(name); it != by_account_.end()) return it->second;
  auto it = cfg_.accounts.find(name);
  if (it == cfg_.accounts.end()) throw config::ConfigError("accounts." + name + ": no such account");
  if (depth > 16) throw config::ConfigError("accounts." + name + ".source: chain of source accounts is too long");
  const config::Account& a = it->second;
  client::ProviderPtr base = base_of(a, depth);
  client::ProviderPtr p = base;
  if (!a.role_arn.empty()) {
    client::AssumeRoleParams params;
    params.role_arn = config::expanded_role_arn(a);
    params.role_session_name = a.role_session_name;
    params.external_id = a.external_id;
    params.duration_seconds = a.duration_seconds;
    p = client::make_caching_provider(client::make_assume_role_provider(context(a.region), base, params));
    description_[name] = "assume-role " + params.role_arn + " with " +
                         (a.role_source.empty() ? base->describe() : "source " + a.role_source);
  } else {
    description_[name] = base->describe();
  }
  by_account_[name] = p;
  return p;
}

client::ProviderPtr AccountCredentials::provider(const std::string& name) { return build(name, 0); }

std::string AccountCredentials::describe(const std::string& name) const {
  auto it = description_.find(name);
  return it == description_.end() ? std::string() : it->second;
}

}  // namespace iamq::worker
