#pragma once
/// The emulator's in-memory IAM state (sans-io): accounts, their operator keys and every
/// entity the worker touches, plus the JSON seed format that loads and dumps it.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace iamq::emulator {

using TimePoint = std::chrono::system_clock::time_point;

/// The account every emulator has, with the AWS SigV4 test suite's key.
inline constexpr std::string_view kDefaultAccountId = "123456789012";
inline constexpr std::string_view kDefaultAccessKeyId = "AKIDEXAMPLE";
inline constexpr std::string_view kDefaultSecretAccessKey =
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// A bad seed file or admin state document; the message names the offending JSON path.
class SeedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A key that may sign IAM calls against the emulator (an "operator" key).
struct ApiKey {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  ///< non-empty: X-Amz-Security-Token must carry exactly this
  bool expired = false;       ///< true: every call answers ExpiredToken
  std::vector<std::string> allowed_actions{"*"};  ///< action names, or "*"
  std::string account_id;
  /// A session of sts:AssumeRoot: it is the account's root user, so calls without UserName
  /// act on Account::root.
  bool root_session = false;
  bool allows(std::string_view action) const;
};

struct AccessKey {
  std::string id;
  std::string status = "Active";
  std::string create_date;
};
struct SigningCertificate {
  std::string id;
  std::string body;
  std::string status = "Active";
  std::string upload_date;
};
struct SshPublicKey {
  std::string id;
  std::string body;
  std::string fingerprint;
  std::string status = "Active";
  std::string upload_date;
};
struct ServiceCredential {
  std::string id;
  std::string service_name;
  std::string service_user_name;
  std::string status = "Active";
  std::string create_date;
};
struct LoginProfile {
  std::string create_date;
  bool password_reset_required = false;
};
/// An MFA device enabled for a user. Virtual when the serial is an ARN (":mfa/"), else hardware.
struct MfaDevice {
  std::string serial;
  std::string enable_date;
};

struct User {
  std::string name;
  std::string id;
  std::string path = "/";
  std::string create_date;
  std::optional<LoginProfile> login_profile;
  std::vector<AccessKey> access_keys;
  std::vector<SigningCertificate> signing_certificates;
  std::vector<SshPublicKey> ssh_public_keys;
  std::vector<ServiceCredential> service_credentials;
  std::vector<MfaDevice> mfa_devices;
  std::map<std::string, std::string> inline_policies;  ///< name → policy document (JSON text)
  std::vector<std::string> attached_policies;          ///< policy ARNs
  std::vector<std::string> groups;                     ///< group names
  std::string permissions_boundary;                    ///< policy ARN or empty
};

struct Group {
  std::string name;
  std::string id;
  std::string path = "/";
  std::string create_date;
};

struct ManagedPolicy {
  std::string name;
  std::string id;
  std::string arn;
  std::string path = "/";
  std::string document;  ///< JSON text
  std::string description;
  std::string create_date;
};

struct VirtualMfaDevice {
  std::string serial;
  std::string create_date;
  std::string user;  ///< lower-case key of the user it is enabled for, empty when unassigned
  std::string enable_date;
};

struct Account {
  std::string id;
  // Keys are lower-case names: IAM names are unique case-insensitively; maps keep list order.
  std::map<std::string, User> users;
  std::map<std::string, Group> groups;
  std::map<std::string, ManagedPolicy> policies;  ///< customer managed, keyed by ARN
  std::map<std::string, VirtualMfaDevice> virtual_mfa_devices;  ///< keyed by serial (ARN)
  /// The root user's credentials (seed key "root": login_profile, access_keys,
  /// signing_certificates, mfa_devices); reached only by an AssumeRoot session without UserName.
  std::optional<User> root;
};

/// Everything the emulator knows. Copyable: the start-up state is kept for /_emulator/reset.
struct State {
  std::map<std::string, Account> accounts;
  std::unordered_map<std::string, ApiKey> keys;  ///< by access key id
  std::uint64_t id_counter = 0;                   ///< drives generated ids, deterministic

  /// The default account and key, nothing else.
  static State with_default_account();
  /// A fresh IAM-style id: prefix + upper-case alphanumerics (deterministic sequence).
  std::string next_id(std::string_view prefix, std::size_t length);
};

/// Lower-case ASCII copy (the key of users and groups).
std::string lower(std::string_view s);
/// "2024-01-02T03:04:05Z".
std::string iso8601(TimePoint t);
/// True when the serial number is a virtual device's ARN.
bool is_virtual_serial(std::string_view serial);
/// The AWS managed policies every account can attach (arn:aws:iam::aws:policy/…).
const std::vector<ManagedPolicy>& aws_managed_policies();
/// Finds a policy (customer or AWS managed) by ARN; nullptr when absent.
const ManagedPolicy* find_policy(const Account& account, std::string_view arn);

/// Loads a seed document into `state` (on top of what is there; the default account is
/// merged, not replaced). Throws SeedError naming the JSON path of the problem.
void load_seed(State& state, const nlohmann::json& seed);
/// Reads and loads a seed file; SeedError names the file and the problem.
void load_seed_file(State& state, const std::string& path);
/// The whole state in the seed format (so a dump can be loaded again). Secrets of
/// operator keys are included: this is loopback test plumbing.
nlohmann::json dump_state(const State& state);

/// Adds `count` users named user-00001… to the default account, each with a realistic
/// spread of credentials, MFA devices, policies and groups; deterministic for `seed`.
void generate_users(State& state, int count, std::uint64_t seed);

}  // namespace iamq::emulator
