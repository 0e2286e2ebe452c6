// The SDKs' default chain, in their order.
#include "client/credential_sources.hpp"

namespace iamq::client {

ProviderPtr make_default_chain(const SourceContext& ctx) {
  std::string profile = env_get(ctx.env, "AWS_PROFILE");
  const bool explicit_profile = !profile.empty();
  if (profile.empty()) profile = "default";
  return make_chain_provider({make_environment_provider(ctx), make_profile_provider(ctx, profile, explicit_profile),
                              make_web_identity_env_provider(ctx), make_container_provider(ctx),
                              make_imds_provider(ctx)},
                             "default chain");
}

}  // namespace iamq::client
