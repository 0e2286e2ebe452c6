#pragma once
/// AWS STS over the Query protocol (Version 2011-06-15), signed with service "sts" through
/// the shared CurlMultiTransport: AssumeRole, AssumeRoleWithWebIdentity (unsigned),
/// AssumeRoot and GetCallerIdentity. Errors are classified as IAM's are (iam_response.hpp).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "client/credentials_provider.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/sts_response.hpp"

namespace iamq::client {

inline constexpr std::string_view kStsApiVersion = "2011-06-15";

/// The STS URL: AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the regional endpoint
/// https://sts.<region>.amazonaws.com (".amazonaws.com.cn" for cn-* regions).
std::string sts_endpoint_url(const std::string& region, const std::map<std::string, std::string>& env);

struct StsOptions {
  Endpoint endpoint;
  std::string region = "us-east-1";  ///< signing region
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
};

struct AssumeRoleParams {
  std::string role_arn;
  std::string role_session_name = "iamq";
  std::string external_id;  ///< empty: not sent
  int duration_seconds = 3600;
};

/// An STS failure: the ProviderError a credentials provider passes on, plus the class.
struct StsError {
  ProviderError error;
  ErrorClass error_class = ErrorClass::terminal;
};

class StsClient : public std::enable_shared_from_this<StsClient> {
 public:
  using CredentialsCompletion = std::function<void(std::optional<StsError>, StsCredentials)>;
  using IdentityCompletion = std::function<void(std::optional<StsError>, CallerIdentity)>;

  StsClient(CurlMultiTransport& transport, StsOptions options);

  /// sts:AssumeRole signed with `source`'s credentials. A credentials-class answer
  /// invalidates them and the call is retried once with fresh ones.
  void assume_role(ProviderPtr source, AssumeRoleParams params, CredentialsCompletion done);
  /// sts:AssumeRoleWithWebIdentity: unsigned, the token is the proof.
  void assume_role_with_web_identity(AssumeRoleParams params, std::string token, CredentialsCompletion done);
  /// sts:AssumeRoot from the management account (`source`) into `target_account`.
  void assume_root(ProviderPtr source, std::string target_account, std::string task_policy_arn,
                   int duration_seconds, CredentialsCompletion done);
  /// sts:GetCallerIdentity.
  void get_caller_identity(ProviderPtr source, IdentityCompletion done);

  const StsOptions& options() const { return opts_; }
  /// STS calls started (tests, bench).
  std::uint64_t calls() const { return calls_; }

 private:
  using RawCompletion = std::function<void(std::optional<StsError>, IamResult)>;
  void call(std::string action, std::vector<std::pair<std::string, std::string>> params, ProviderPtr source,
            RawCompletion done);

  struct Op;
  CurlMultiTransport& transport_;
  StsOptions opts_;
  std::uint64_t calls_ = 0;
};

}  // namespace iamq::client
