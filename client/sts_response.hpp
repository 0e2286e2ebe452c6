#pragma once
/// STS answers (sans-io): the Query-protocol XML is parsed and classified by
/// parse_response() (iam_response.hpp, the same document shapes); this reads the
/// credentials and identities out of a result and validates them.
#include <string>
#include <string_view>
#include <variant>

#include "client/credentials_provider.hpp"
#include "client/iam_response.hpp"

namespace iamq::client {

/// Credentials from AssumeRole, AssumeRoleWithWebIdentity or AssumeRoot.
struct StsCredentials {
  TimedCredentials creds;       ///< expiration always set
  std::string assumed_role_arn;  ///< AssumedRoleUser/Arn (empty for AssumeRoot)
};

/// GetCallerIdentity.
struct CallerIdentity {
  std::string account;
  std::string arn;
  std::string user_id;
};

/// Reads <Credentials> (AccessKeyId, SecretAccessKey, SessionToken, Expiration, all
/// required) from a successful result. Error text names the action and the field.
std::variant<StsCredentials, std::string> sts_credentials_from(std::string_view action, const IamResult& result);
/// Reads Account, Arn and UserId.
std::variant<CallerIdentity, std::string> caller_identity_from(const IamResult& result);

/// parse_response() then sts_credentials_from(): the whole answer to one STS call, for
/// the fuzz target and tests. An error answer comes back as its IamError.
std::variant<StsCredentials, IamError, std::string> parse_sts_credentials_response(std::string_view action,
                                                                                   int http_status,
                                                                                   std::string_view body);

}  // namespace iamq::client
