#pragma once
/// The effective configuration: environment defaults, overridden by the TOML file,
/// overridden by command-line flags (each command applies its own flags last).
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "queue/redis_url.hpp"
#include "config/organization_config.hpp"
#include "config/webhook_config.hpp"

namespace iamq::config {

/// Backoff for one error class: full jitter, delay = rand(0, min(cap, base * 2^attempt)).
struct Backoff {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{30000};
  int max_attempts = 8;
};

/// Where an account's credentials come from.
enum class CredentialsSource { environment, profile, static_keys };

/// A named AWS account the worker may act on.
struct Account {
  std::string name = "default";
  CredentialsSource source = CredentialsSource::environment;
  std::string profile;            ///< for `profile` (empty: AWS_PROFILE or "default")
  std::string access_key_id;      ///< for `static_keys`
  std::string secret_access_key;  ///< for `static_keys`; never logged
  std::string session_token;      ///< for `static_keys`; optional, never logged
  std::string endpoint;           ///< empty: AWS_ENDPOINT_URL_IAM, AWS_ENDPOINT_URL, the partition's IAM endpoint
  std::string region = "us-east-1";  ///< picks the partition (IAM endpoint, signing region) and the STS region
  std::string account_id;         ///< 12 digits; fills {account_id} in role_arn
  std::string role_arn;           ///< assumed with the base credentials; may hold {account_id}
  std::string external_id;        ///< sent with AssumeRole when set
  std::string role_session_name = "iamq";
  int duration_seconds = 3600;    ///< AssumeRole session length (900-43200)
  /// The base credentials for role_arn: another account's name (its final credentials, so
  /// roles chain through a hub account) or a profile name. Empty: this account's `credentials`.
  std::string role_source;  ///< the `source` key
  double rate = 10.0;   ///< calls per second (token bucket refill)
  double burst = 20.0;  ///< bucket size
};

struct Config {
  std::string redis_url = "redis://127.0.0.1:6379/0";
  std::string redis_tls_ca_file;      ///< rediss://: PEM CA bundle (empty: the system store)
  std::string redis_tls_cert_file;    ///< rediss://: client certificate (optional)
  std::string redis_tls_key_file;     ///< rediss://: its private key
  std::string redis_tls_server_name;  ///< rediss://: name to verify (empty: the URL's host)
  std::string redis_sentinel_username;  ///< redis-sentinel://: AUTH user for the sentinels
  std::string redis_sentinel_password;  ///< redis-sentinel://: AUTH for the sentinels; never logged
  int redis_wait_replicas = 1;  ///< WAIT for this many replicas after enqueue/finish/dead (0: off)
  std::chrono::milliseconds redis_wait_timeout{1000};  ///< longest WAIT
  /// Redis Cluster: "true", "false" or "auto" (CLUSTER SLOTS on connect tells).
  std::string redis_cluster = "auto";
  std::string ns = "iamq";  ///< Redis key namespace; `{name}` (a hash tag) for Redis Cluster
  int concurrency = 64;
  std::chrono::milliseconds visibility_timeout{60000};
  std::chrono::seconds result_ttl{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds delay_threshold{5000};  ///< longer waits go to the delayed set
  std::chrono::milliseconds shutdown_timeout{30000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds circuit_probe_interval{60000};
  int max_attempts = 10;               ///< default per job, when the job does not say
  int delete_conflict_rounds = 5;      ///< offboarding: list-again rounds after DeleteConflict
  int max_reclaims = 5;  ///< times a job is taken back from a worker that stopped renewing, then dead
  long events_maxlen = 100000;         ///< <ns>:events MAXLEN ~
  /// keys: throttled, transient, concurrent_modification, unmodifiable
  std::map<std::string, Backoff> backoff;
  std::vector<std::string> allow_list;  ///< actions iam_calls jobs may run
  std::map<std::string, Account> accounts;  ///< always holds "default"
  std::string metrics_listen = "127.0.0.1:9464";
  double fleet_rate = 0.0;  ///< >0: a Redis-kept limiter shared by all workers (calls/s)
  double fleet_burst = 0.0;
  bool dry_run = false;
  std::string log_level = "info";
  /// [webhooks.NAME]: where jobs with "notify": "NAME" are reported (config/webhook_config.hpp).
  std::map<std::string, Webhook> webhooks;
  /// [organization]: accounts discovered from AWS Organizations (config/organization_config.hpp).
  Organization organization;
};

/// role_arn with {account_id} filled in.
std::string expanded_role_arn(const Account& a);

/// Raised for any bad configuration; the message names the field and the rule.
/// load() raises one ConfigError listing every problem, one per line, each `field: rule`
/// (e.g. `accounts.prod.rate: must be > 0`).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  /// what() = the problems joined by newlines.
  explicit ConfigError(std::vector<std::string> problems);
  /// Each `field: rule`; a ConfigError made from one message holds that message.
  std::vector<std::string> problems() const;

 private:
  std::vector<std::string> problems_;
};

/// The Redis settings that live outside redis_url (TLS files, Sentinel AUTH).
queue::RedisSettings redis_settings(const Config& cfg);
/// redis_url parsed with redis_settings(); throws ConfigError naming the field.
queue::RedisEndpoint redis_endpoint(const Config& cfg);

/// The built-in defaults (backoff table and allow-list filled in).
Config defaults();

/// Builds the effective config: defaults, then `env` (REDIS_URL, AWS_ENDPOINT_URL_IAM,
/// AWS_ENDPOINT_URL, AWS_REGION …), then the TOML file at `path` if given.
/// Throws ConfigError listing every bad field.
Config load(const std::optional<std::string>& path, const std::map<std::string, std::string>& env);

/// Validates `cfg` by the rules load() applies (and completes it as load() does, e.g. the
/// fleet burst); returns every problem as `field: rule`, empty when it is fine. Commands that
/// apply flags on top of a loaded config run it again so that a flag has the file's caps.
std::vector<std::string> validation_problems(Config& cfg);

/// The effective config as TOML text with every secret replaced by "<redacted>".
/// Loading it back gives the same config (secrets aside).
std::string to_redacted_toml(const Config& cfg);
/// The same as JSON text (durations as strings, secrets "<redacted>").
std::string to_redacted_json(const Config& cfg);

/// The longest duration any setting or flag accepts (10 years): every later sum with a clock
/// reading, in nanoseconds, stays far from overflowing.
inline constexpr std::chrono::milliseconds max_duration{3650LL * 24 * 3600 * 1000};
/// Parses "250ms", "5s", "2m", "1h", "30d" (a non-negative integer and a unit, at most
/// max_duration).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// Why parse_duration refuses `text` ("is not a duration (use e.g. …)", "is too long (at
/// most 3650d)"), or nullopt when it accepts it.
std::optional<std::string> duration_problem(std::string_view text);
/// The largest unit that divides evenly: 500 → "500ms", 5000 → "5s", 120000 → "2m".
std::string format_duration(std::chrono::milliseconds d);

/// The built-in allow-list for iam_calls: deactivating, detaching, removing and deleting
/// actions, plus "Get*" and "List*".
std::vector<std::string> default_allow_list();
/// Why an allow-list entry is refused (it could permit a granting or creating action:
/// Create*, Put*, Attach*, Update*Policy, Upload*, Enable*, Add*, …), or nullopt if fine.
/// Entries are action names, optionally ending in `*` (prefix match).
std::optional<std::string> refused_allow_list_entry(std::string_view entry);
/// Whether `action` matches an entry of `allow_list` (exact, or prefix for `X*`).
bool allow_list_permits(const std::vector<std::string>& allow_list, std::string_view action);

}  // namespace iamq::config
