#pragma once
/// AWS credentials and where they come from: static keys, the environment, the shared
/// credentials file (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE).
#include <map>
#include <stdexcept>
#include <string>

namespace iamq::client {

/// A resolved key pair (and optional session token). Never print a Credentials object:
/// use redacted() for anything that ends up in a log or an error message.
struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< empty when not a temporary credential

  bool complete() const { return !access_key_id.empty() && !secret_access_key.empty(); }
  /// "AKID…XYZ (secret redacted[, session token])" — safe to log.
  std::string redacted() const;
};

/// Raised at start-up when credentials are missing, partial or unreadable. The message
/// names the source and the missing field, never a secret value.
class CredentialsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from `env`
/// (a snapshot of the environment, injectable for tests). Throws CredentialsError when
/// one of the pair is missing or empty.
Credentials credentials_from_environment(const std::map<std::string, std::string>& env);

/// Reads profile `profile` from the INI-style shared credentials file at `path`.
/// Throws CredentialsError for an unreadable file, a missing profile or a partial key pair.
Credentials credentials_from_shared_file(const std::string& path, const std::string& profile);

/// The shared credentials file path: AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials.
std::string shared_credentials_path(const std::map<std::string, std::string>& env);

/// The default chain, as the AWS CLI does it: environment keys if AWS_ACCESS_KEY_ID is set,
/// otherwise the shared file's profile AWS_PROFILE (default "default").
Credentials default_credentials(const std::map<std::string, std::string>& env);

/// A snapshot of the process environment.
std::map<std::string, std::string> environment_snapshot();

}  // namespace iamq::client
