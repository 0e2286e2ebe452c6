#pragma once
/// The emulator's STS and Organizations (sans-io): roles with trust principals and
/// ExternalId, web identity tokens, AssumeRoot with the root-task policy limits, issued
/// session keys that expire (--credential-ttl), and Organizations ListAccounts (paged).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/iam_emulator/iam_actions.hpp"
#include "tests/iam_emulator/iam_state.hpp"

namespace iamq::emulator {

/// A role that AssumeRole / AssumeRoleWithWebIdentity may hand out.
struct Role {
  std::string account_id;
  std::string name;
  std::string arn;  ///< arn:aws:iam::<account>:role/<name>
  /// Who may assume it: "*", an account id, "arn:aws:iam::<acct>:root" (any principal of that
  /// account), or an exact user/role ARN (a role ARN also admits that role's sessions).
  std::vector<std::string> trusted;
  std::string external_id;     ///< non-empty: ExternalId must match
  bool web_identity = false;   ///< AssumeRoleWithWebIdentity allowed with a known token
  std::vector<std::string> allowed_actions{"*"};  ///< IAM actions its sessions may call
};

/// An Organizations member account.
struct OrgAccount {
  std::string id;
  std::string name;
  std::string email;
  std::string status = "ACTIVE";  ///< ACTIVE, SUSPENDED, PENDING_CLOSURE
};

struct StsState {
  std::map<std::string, Role> roles;  ///< by ARN
  std::vector<std::string> web_identity_tokens;
  std::string management_account;  ///< may call ListAccounts and AssumeRoot
  std::vector<OrgAccount> org_accounts;
  /// >0: every issued session lives this long, whatever DurationSeconds asked for.
  std::chrono::seconds credential_ttl{0};
  std::map<std::string, TimePoint> expirations;  ///< issued access key id → expiry
  std::map<std::string, std::string> identities;  ///< issued access key id → caller ARN
  std::uint64_t issued = 0;
  std::map<std::string, std::uint64_t> calls;  ///< "AssumeRole:OK", "AssumeRole:AccessDenied"…
};

/// Loads {"roles":[…], "web_identity_tokens":[…], "organization":{"management_account",
/// "accounts":[{"id","name","email","status"}]}}. Accounts named by roles or the organization
/// are created in `state` when missing. Throws SeedError naming the JSON path.
void load_sts_seed(StsState& sts, State& state, const nlohmann::json& seed);
nlohmann::json sts_stats(const StsState& sts);

/// True when `action` is an STS Query action the emulator serves.
bool is_sts_action(std::string_view action);

/// The ARN a key calls as: an issued session's, else arn:aws:iam::<acct>:user/<key id>.
std::string caller_arn(const StsState& sts, const ApiKey& key);

/// Runs an STS action. `caller` is null for the unsigned AssumeRoleWithWebIdentity.
/// Writes the whole response document (or error document) to `body`.
std::optional<ApiError> run_sts_action(StsState& sts, State& state, const ApiKey* caller, const client::Params& params,
                                       TimePoint now, const std::string& request_id, std::string& body);

/// Organizations over the JSON protocol: `target` is the X-Amz-Target operation
/// ("ListAccounts"). Returns the HTTP status and writes JSON to `body`.
int run_organizations_action(const StsState& sts, const ApiKey& caller, std::string_view operation,
                             std::string_view request_body, std::string& body, int page_size = 20);

}  // namespace iamq::emulator
