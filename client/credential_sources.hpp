#pragma once
/// The credential sources of the AWS SDKs' default chain, each an asynchronous
/// CredentialsProvider (one .cpp per source), and the chain itself. File reads and
/// credential_process run off the loop (off_loop.hpp); HTTP goes through curl-multi.
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "client/aws_profile.hpp"
#include "client/credentials_provider.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/sts_client.hpp"

namespace iamq::client {

/// What every source may need. One per process (or per test).
struct SourceContext {
  CurlMultiTransport* transport = nullptr;           ///< STS calls
  /// ECS and IMDS calls: plain http allowed (each source checks the host first), answers
  /// capped at kMaxCredentialDocumentBytes. See make_metadata_transport_options().
  CurlMultiTransport* metadata_transport = nullptr;
  std::shared_ptr<StsClient> sts;                    ///< regional STS for roles
  std::map<std::string, std::string> env;            ///< environment snapshot
  std::chrono::milliseconds process_timeout{30000};  ///< credential_process
  std::chrono::milliseconds metadata_timeout{2000};  ///< each ECS/IMDS request
  bool imds_v1_fallback = false;                     ///< never on by default
  CachingOptions caching;                            ///< for every cache built here
};

/// Transport options for SourceContext::metadata_transport.
TransportOptions make_metadata_transport_options();

/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]; not configured when
/// neither is set; a partial pair is an error.
ProviderPtr make_environment_provider(const SourceContext& ctx);

/// Profile `profile` of AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE (~/.aws/…), read
/// off the loop on every fetch and resolved by resolve_profile(). `must_exist`: a profile
/// found in neither file is an error (else not configured, so the chain goes on).
ProviderPtr make_profile_provider(const SourceContext& ctx, std::string profile, bool must_exist);

/// The provider for a resolved plan (base source, then each role). Exposed for tests.
ProviderPtr make_plan_provider(const SourceContext& ctx, const ProfilePlan& plan);

/// sts:AssumeRole signed with `source`'s credentials.
ProviderPtr make_assume_role_provider(const SourceContext& ctx, ProviderPtr source, AssumeRoleParams params);

/// sts:AssumeRoleWithWebIdentity with the token read from `token_file` on every fetch.
ProviderPtr make_web_identity_provider(const SourceContext& ctx, std::string token_file, AssumeRoleParams params);
/// The same from AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_SESSION_NAME;
/// not configured unless both of the first two are set.
ProviderPtr make_web_identity_env_provider(const SourceContext& ctx);

/// `command` run with /bin/sh -c, its stdout parsed by parse_process_credentials().
ProviderPtr make_process_provider(const SourceContext& ctx, std::string command, std::string profile);

/// ECS container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, with
/// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or _TOKEN); not configured when neither URI is set.
ProviderPtr make_container_provider(const SourceContext& ctx);
/// The URL container credentials come from, or the reason it is refused: RELATIVE_URI is
/// appended to http://169.254.170.2; a FULL_URI over plain http must name a loopback host,
/// 169.254.170.2, 169.254.170.23 or fd00:ec2::23. Empty URL and no error: not configured.
struct ContainerUrl {
  std::string url;
  std::string error;
};
ContainerUrl container_credentials_url(const std::map<std::string, std::string>& env);

/// EC2 instance metadata, IMDSv2 only (token PUT, then the role name and its credentials);
/// AWS_EC2_METADATA_SERVICE_ENDPOINT overrides http://169.254.169.254;
/// AWS_EC2_METADATA_DISABLED=true turns it off (not configured).
ProviderPtr make_imds_provider(const SourceContext& ctx);

/// The SDK default chain, in order: environment, the AWS_PROFILE profile (or "default"),
/// web identity from the environment, ECS container, EC2 instance metadata. Not cached:
/// wrap it in make_caching_provider().
ProviderPtr make_default_chain(const SourceContext& ctx);

/// The value of `key` in `env`, or "".
std::string env_get(const std::map<std::string, std::string>& env, const std::string& key);

}  // namespace iamq::client
