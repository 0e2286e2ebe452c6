// Configuration: defaults, environment, the TOML file, every field, every error, redaction.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace iamq::config {
namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

/// A TOML file in a fresh temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static std::atomic<int> n{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("iamq-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "iamq.toml").string();
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::string path_;
};

Config load_text(const std::string& toml, const Env& env = {}) {
  TempFile f(toml);
  return load(f.path(), env);
}

/// The problems load() reports for `toml` (fails the test if it loads).
std::vector<std::string> problems(const std::string& toml, const Env& env = {}) {
  try {
    load_text(toml, env);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << toml;
  return {};
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(Config, Defaults) {
  const Config c = load(std::nullopt, {});
  EXPECT_EQ(c.redis_url, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.ns, "iamq");
  EXPECT_EQ(c.concurrency, 64);
  EXPECT_EQ(c.delay_threshold, 5s);
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9464");
  ASSERT_EQ(c.accounts.count("default"), 1u);
  EXPECT_EQ(c.accounts.at("default").source, CredentialsSource::environment);
  EXPECT_EQ(c.accounts.at("default").region, "us-east-1");
  EXPECT_TRUE(c.accounts.at("default").endpoint.empty());
  EXPECT_EQ(c.backoff.size(), 4u);
  EXPECT_EQ(c.allow_list, default_allow_list());
  EXPECT_FALSE(c.dry_run);
}

TEST(Config, EnvironmentDefaults) {
  const Config c = load(std::nullopt, {{"REDIS_URL", "redis://10.0.0.1:6380/2"},
                                       {"IAMQ_NAMESPACE", "hr"},
                                       {"AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9999"},
                                       {"AWS_ENDPOINT_URL", "http://127.0.0.1:8888"},
                                       {"AWS_REGION", "eu-west-1"}});
  EXPECT_EQ(c.redis_url, "redis://10.0.0.1:6380/2");
  EXPECT_EQ(c.ns, "hr");
  // Endpoints are the client's business (it reads them itself); not copied.
  EXPECT_TRUE(c.accounts.at("default").endpoint.empty());
  // IAM signs in us-east-1 in the aws partition whatever AWS_REGION says …
  EXPECT_EQ(c.accounts.at("default").region, "us-east-1");
  // … but another partition's region selects that partition's IAM region.
  EXPECT_EQ(load(std::nullopt, {{"AWS_REGION", "cn-northwest-1"}}).accounts.at("default").region, "cn-north-1");
  EXPECT_EQ(load(std::nullopt, {{"AWS_DEFAULT_REGION", "us-gov-east-1"}}).accounts.at("default").region,
            "us-gov-west-1");
  const Config t = load_text("[accounts.china]\n", {{"AWS_REGION", "cn-north-1"}});
  EXPECT_EQ(t.accounts.at("china").region, "cn-north-1");
}

TEST(Config, FileOverridesEnvironment) {
  const Config c = load_text("redis_url = \"redis://file:1/0\"\nnamespace = \"fromfile\"\n",
                             {{"REDIS_URL", "redis://env:2/0"}, {"IAMQ_NAMESPACE", "fromenv"}});
  EXPECT_EQ(c.redis_url, "redis://file:1/0");
  EXPECT_EQ(c.ns, "fromfile");
}

TEST(Config, EveryField) {
  const Config c = load_text(R"(
redis_url = "rediss://:pw@redis.internal:6380/1"
namespace = "iamq-prod"
concurrency = 128
visibility_timeout = "2m"
result_ttl = "7d"
delay_threshold = "10s"
shutdown_timeout = 45000
request_timeout = "20s"
connect_timeout = "1500ms"
circuit_probe_interval = "1h"
max_attempts = 12
delete_conflict_rounds = 2
events_maxlen = 5000
metrics_listen = "0.0.0.0:9100"
fleet_rate = 15.5
fleet_burst = 30
dry_run = true
log_level = "debug"
allow_list = ["DeactivateMFADevice", "Delete*", "List*"]

[backoff.throttled]
base = "250ms"
cap = "10s"
max_attempts = 7

[backoff.unmodifiable]
base = "1m"
cap = "10m"
max_attempts = 30

[accounts.default]
region = "us-east-1"
rate = 8
burst = 16

[accounts.prod]
credentials = "profile"
profile = "prod-admin"
endpoint = "https://iam.amazonaws.com"
rate = 5.5
burst = 10

[accounts.lab]
credentials = "static"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
session_token = "FwoGZXIvYXdzEXAMPLETOKEN"
endpoint = "http://127.0.0.1:4566"
)");
  EXPECT_EQ(c.redis_url, "rediss://:pw@redis.internal:6380/1");
  EXPECT_EQ(c.ns, "iamq-prod");
  EXPECT_EQ(c.concurrency, 128);
  EXPECT_EQ(c.visibility_timeout, 2min);
  EXPECT_EQ(c.result_ttl, std::chrono::hours(24 * 7));
  EXPECT_EQ(c.delay_threshold, 10s);
  EXPECT_EQ(c.shutdown_timeout, 45s);
  EXPECT_EQ(c.request_timeout, 20s);
  EXPECT_EQ(c.connect_timeout, 1500ms);
  EXPECT_EQ(c.circuit_probe_interval, 1h);
  EXPECT_EQ(c.max_attempts, 12);
  EXPECT_EQ(c.delete_conflict_rounds, 2);
  EXPECT_EQ(c.events_maxlen, 5000);
  EXPECT_EQ(c.metrics_listen, "0.0.0.0:9100");
  EXPECT_DOUBLE_EQ(c.fleet_rate, 15.5);
  EXPECT_DOUBLE_EQ(c.fleet_burst, 30);
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.allow_list, (std::vector<std::string>{"DeactivateMFADevice", "Delete*", "List*"}));
  EXPECT_EQ(c.backoff.at("throttled").base, 250ms);
  EXPECT_EQ(c.backoff.at("throttled").cap, 10s);
  EXPECT_EQ(c.backoff.at("throttled").max_attempts, 7);
  EXPECT_EQ(c.backoff.at("unmodifiable").base, 1min);
  EXPECT_EQ(c.backoff.at("unmodifiable").max_attempts, 30);
  EXPECT_EQ(c.backoff.at("transient").base, defaults().backoff.at("transient").base);  // untouched
  ASSERT_EQ(c.accounts.size(), 3u);
  EXPECT_DOUBLE_EQ(c.accounts.at("default").rate, 8);
  EXPECT_DOUBLE_EQ(c.accounts.at("default").burst, 16);
  const Account& prod = c.accounts.at("prod");
  EXPECT_EQ(prod.name, "prod");
  EXPECT_EQ(prod.source, CredentialsSource::profile);
  EXPECT_EQ(prod.profile, "prod-admin");
  EXPECT_EQ(prod.endpoint, "https://iam.amazonaws.com");
  EXPECT_DOUBLE_EQ(prod.rate, 5.5);
  const Account& lab = c.accounts.at("lab");
  EXPECT_EQ(lab.source, CredentialsSource::static_keys);
  EXPECT_EQ(lab.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(lab.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(lab.session_token, "FwoGZXIvYXdzEXAMPLETOKEN");
  EXPECT_EQ(lab.region, "us-east-1");
  EXPECT_DOUBLE_EQ(lab.rate, 10.0);  // default
}

TEST(Config, EveryBadFieldIsReportedAtOnce) {
  const auto p = problems(R"(
concurrency = 0
visibility_timeout = "soon"
max_attempts = 0
log_level = "loud"
metrics_listen = "nowhere"
typo_key = 1

[backoff.unmodifiable]
cap = "5x"

[backoff.transient]
base = "10s"
cap = "1s"

[accounts.prod]
rate = 0
burst = 0.5
credentials = "static"
access_key_id = "AKID"
)");
  const std::string all = joined(p);
  EXPECT_TRUE(has(p, "concurrency: must be between 1 and 10000")) << all;
  EXPECT_TRUE(has(p, "visibility_timeout: \"soon\" is not a duration (use e.g. \"500ms\", \"5s\", \"2m\", \"1h\", \"30d\")"))
      << all;
  EXPECT_TRUE(has(p, "max_attempts: must be >= 1")) << all;
  EXPECT_TRUE(has(p, "log_level: \"loud\" is not one of trace, debug, info, warn, error, off")) << all;
  EXPECT_TRUE(has(p, "metrics_listen: \"nowhere\" must be HOST:PORT (or \"\" to disable)")) << all;
  EXPECT_NE(all.find("typo_key: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("backoff.unmodifiable.cap: \"5x\" is not a duration"), std::string::npos) << all;
  EXPECT_TRUE(has(p, "backoff.transient.cap: must be >= base (10s)")) << all;
  EXPECT_TRUE(has(p, "accounts.prod.rate: must be > 0")) << all;
  EXPECT_TRUE(has(p, "accounts.prod.burst: must be >= 1")) << all;
  EXPECT_TRUE(has(p, "accounts.prod.secret_access_key: required when credentials = \"static\"")) << all;
  EXPECT_EQ(p.size(), 11u) << all;

  // what() lists them all, one a line.
  try {
    load_text("concurrency = 0\nmax_attempts = 0\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "concurrency: must be between 1 and 10000\nmax_attempts: must be >= 1");
  }
}

TEST(Config, TypeErrors) {
  const auto p = problems(R"(
concurrency = "many"
dry_run = "yes"
fleet_rate = "fast"
namespace = 5
allow_list = "DeleteUser"
request_timeout = 1.5
backoff = 3
accounts = []
)");
  const std::string all = joined(p);
  EXPECT_TRUE(has(p, "concurrency: must be an integer")) << all;
  EXPECT_TRUE(has(p, "dry_run: must be true or false")) << all;
  EXPECT_TRUE(has(p, "fleet_rate: must be a number")) << all;
  EXPECT_TRUE(has(p, "namespace: must be a string")) << all;
  EXPECT_TRUE(has(p, "allow_list: must be an array of action names")) << all;
  EXPECT_NE(all.find("request_timeout: must be a duration string"), std::string::npos) << all;
  EXPECT_TRUE(has(p, "backoff: must be a table of [backoff.<class>] sections")) << all;
  EXPECT_TRUE(has(p, "accounts: must be a table of [accounts.<name>] sections")) << all;
}

TEST(Config, UnknownKeysInEverySection) {
  const auto p = problems(R"(
[backoff.throttled]
bsae = "1s"
[backoff.slow]
base = "1s"
[accounts.prod]
rat = 5
)");
  const std::string all = joined(p);
  EXPECT_NE(all.find("backoff.throttled.bsae: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("backoff.slow: unknown error class"), std::string::npos) << all;
  EXPECT_NE(all.find("accounts.prod.rat: unknown key"), std::string::npos) << all;
}

TEST(Config, CredentialsRules) {
  auto p = problems("[accounts.a]\ncredentials = \"static\"\n");
  EXPECT_TRUE(has(p, "accounts.a.access_key_id: required when credentials = \"static\"")) << joined(p);
  EXPECT_TRUE(has(p, "accounts.a.secret_access_key: required when credentials = \"static\"")) << joined(p);

  p = problems("[accounts.a]\naccess_key_id = \"AKID\"\nsecret_access_key = \"s3cr3t-value\"\nprofile = \"x\"\n");
  EXPECT_TRUE(has(p, "accounts.a.access_key_id: only used with credentials = \"static\"")) << joined(p);
  EXPECT_TRUE(has(p, "accounts.a.secret_access_key: only used with credentials = \"static\"")) << joined(p);
  EXPECT_TRUE(has(p, "accounts.a.profile: only used with credentials = \"profile\"")) << joined(p);
  // A secret is never echoed back in an error.
  EXPECT_EQ(joined(p).find("s3cr3t-value"), std::string::npos);

  p = problems("[accounts.a]\ncredentials = \"vault\"\n");
  EXPECT_TRUE(has(p, "accounts.a.credentials: \"vault\" is not one of \"environment\", \"profile\", \"static\""))
      << joined(p);

  // Profile without a name: AWS_PROFILE or "default" at run time.
  const Config c = load_text("[accounts.a]\ncredentials = \"profile\"\n");
  EXPECT_EQ(c.accounts.at("a").source, CredentialsSource::profile);
  EXPECT_TRUE(c.accounts.at("a").profile.empty());
  // Static without a session token is complete.
  EXPECT_NO_THROW(load_text("[accounts.a]\ncredentials = \"static\"\naccess_key_id = \"AKID\"\nsecret_access_key = \"x\"\n"));
}

TEST(Config, AccountFieldRules) {
  const auto p = problems(R"(
[accounts."bad name"]
[accounts.b]
endpoint = "ftp://x"
region = "US East"
)");
  const std::string all = joined(p);
  EXPECT_TRUE(has(p, "accounts.bad name: account names are 1-64 of [A-Za-z0-9_.-]")) << all;
  EXPECT_TRUE(has(p, "accounts.b.endpoint: \"ftp://x\" is not an http:// or https:// URL")) << all;
  EXPECT_TRUE(has(p, "accounts.b.region: \"US East\" is not a region name (e.g. us-east-1)")) << all;
}

TEST(Config, RangeRules) {
  const auto p = problems(R"(
redis_url = "http://x"
namespace = "has space"
result_ttl = "500ms"
request_timeout = 0
connect_timeout = "0s"
circuit_probe_interval = "0ms"
delete_conflict_rounds = -1
events_maxlen = 0
fleet_rate = -1
delay_threshold = -5
)");
  const std::string all = joined(p);
  EXPECT_TRUE(has(p, "redis_url: must start with redis://, rediss:// or redis-sentinel:// (unix sockets are not supported)")) << all;
  EXPECT_TRUE(has(p, "namespace: \"has space\" must be 1-64 of [A-Za-z0-9_.:-], optionally starting with a hash tag {name} (e.g. {iamq})")) << all;
  EXPECT_TRUE(has(p, "result_ttl: must be at least 1s")) << all;
  EXPECT_TRUE(has(p, "request_timeout: must be > 0")) << all;
  EXPECT_TRUE(has(p, "connect_timeout: must be > 0")) << all;
  EXPECT_TRUE(has(p, "circuit_probe_interval: must be > 0")) << all;
  EXPECT_TRUE(has(p, "delete_conflict_rounds: must be >= 0")) << all;
  EXPECT_TRUE(has(p, "events_maxlen: must be >= 1")) << all;
  EXPECT_TRUE(has(p, "fleet_rate: must be >= 0 (0 disables the fleet limiter)")) << all;
  EXPECT_TRUE(has(p, "delay_threshold: must not be negative")) << all;
  // An invalid REDIS_URL from the environment is reported too.
  EXPECT_TRUE(has(problems("", {{"REDIS_URL", "localhost:6379"}}), "redis_url: must start with redis://, rediss:// or redis-sentinel:// (unix sockets are not supported)"));
}

TEST(Config, RedisClusterAndTheHashTagRule) {
  EXPECT_EQ(defaults().redis_cluster, "auto");
  const Config c = load_text("redis_url = \"redis://h1:7000,h2:7001,h3:7002\"\nredis_cluster = true\nnamespace = \"{iamq}\"\n");
  EXPECT_EQ(c.redis_cluster, "true");
  auto ep = redis_endpoint(c);
  EXPECT_EQ(ep.cluster, queue::RedisEndpoint::Cluster::on);
  EXPECT_EQ(ep.nodes.size(), 3u);
  EXPECT_EQ(ep.cluster_key, "{iamq}:jobs");
  EXPECT_EQ(load_text("redis_cluster = \"auto\"\nnamespace = \"{iamq}prod\"\n").ns, "{iamq}prod");
  EXPECT_EQ(redis_endpoint(load_text("redis_cluster = false\n")).cluster, queue::RedisEndpoint::Cluster::off);

  // In cluster mode the namespace must be a hash tag: the message names the field and the rule.
  auto p = problems("redis_url = \"redis://h1:7000,h2:7001\"\nredis_cluster = true\nnamespace = \"iamq\"\n");
  EXPECT_TRUE(has(p, "namespace: \"iamq\" must be a hash tag such as {iamq} with redis_cluster = true: every key of the queue must be in one slot, so that each of its Lua scripts runs on one node")) << joined(p);
  p = problems("redis_cluster = \"yes\"\nnamespace = \"{}x\"\n");
  EXPECT_TRUE(has(p, "redis_cluster: \"yes\" must be true, false or \"auto\"")) << joined(p);
  EXPECT_EQ(p.size(), 2u) << joined(p);  // and {}x is no hash tag, nor a plain name
  p = problems("redis_cluster = 1\n");
  EXPECT_TRUE(has(p, "redis_cluster: must be true, false or \"auto\"")) << joined(p);
  p = problems("redis_url = \"redis://h1:1,h2:2\"\nredis_cluster = false\n");
  EXPECT_EQ(p.size(), 1u);
  EXPECT_NE(joined(p).find("redis_url: several hosts are Redis Cluster seeds"), std::string::npos) << joined(p);
  p = problems("redis_url = \"redis://h1:1,h2:2/2\"\nnamespace = \"{iamq}\"\n");
  EXPECT_NE(joined(p).find("Cluster has only database 0"), std::string::npos) << joined(p);
  p = problems("redis_url = \"redis-sentinel://h1:1/0#m\"\nredis_cluster = true\nnamespace = \"{iamq}\"\n");
  EXPECT_TRUE(has(p, "redis_cluster: a redis-sentinel:// URL is not a Redis Cluster")) << joined(p);
}

TEST(Config, FleetBurstDefaultsToTheRate) {
  EXPECT_DOUBLE_EQ(load_text("fleet_rate = 25\n").fleet_burst, 25);
  EXPECT_DOUBLE_EQ(load_text("fleet_rate = 0.5\n").fleet_burst, 1);
  EXPECT_DOUBLE_EQ(load_text("").fleet_burst, 0);
  EXPECT_TRUE(has(problems("fleet_rate = 5\nfleet_burst = 0.5\n"), "fleet_burst: must be >= 1"));
  EXPECT_TRUE(load_text("metrics_listen = \"\"\n").metrics_listen.empty());  // disabled
  EXPECT_EQ(load_text("metrics_listen = \"[::1]:9464\"\n").metrics_listen, "[::1]:9464");
}

TEST(Config, AllowListRefusesGrantingActions) {
  const auto p = problems(R"(allow_list = ["DeleteUser", "CreateAccessKey", "PutUserPolicy", "AttachUserPolicy",
  "UpdateAssumeRolePolicy", "UploadSSHPublicKey", "EnableMFADevice", "AddUserToGroup", "*", "Up*", "delete user"])");
  const std::string all = joined(p);
  EXPECT_EQ(p.size(), 10u) << all;
  EXPECT_EQ(all.find("allow_list[0]"), std::string::npos) << all;
  for (int i = 1; i <= 10; ++i) EXPECT_NE(all.find("allow_list[" + std::to_string(i) + "]"), std::string::npos) << i;
  EXPECT_NE(all.find("allow_list[1]: \"CreateAccessKey\" is refused"), std::string::npos) << all;
  EXPECT_NE(all.find("allow_list[10]: \"delete user\" is not an IAM action name"), std::string::npos) << all;
}

TEST(Config, AllowListMatching) {
  EXPECT_FALSE(refused_allow_list_entry("DeleteUser"));
  EXPECT_FALSE(refused_allow_list_entry("Delete*"));
  EXPECT_FALSE(refused_allow_list_entry("Get*"));
  EXPECT_FALSE(refused_allow_list_entry("UpdateAccessKey"));
  EXPECT_TRUE(refused_allow_list_entry("UpdateUserPolicy"));
  EXPECT_TRUE(refused_allow_list_entry("Update*"));
  EXPECT_TRUE(refused_allow_list_entry("C*"));
  EXPECT_TRUE(refused_allow_list_entry("CreateUser*"));
  EXPECT_TRUE(refused_allow_list_entry("UpdateLoginProfile"));
  EXPECT_TRUE(refused_allow_list_entry(""));
  for (const auto& e : default_allow_list()) EXPECT_FALSE(refused_allow_list_entry(e)) << e;

  const std::vector<std::string> list = {"DeleteUser", "List*"};
  EXPECT_TRUE(allow_list_permits(list, "DeleteUser"));
  EXPECT_FALSE(allow_list_permits(list, "DeleteUserPolicy"));
  EXPECT_TRUE(allow_list_permits(list, "ListMFADevices"));
  EXPECT_FALSE(allow_list_permits(list, "GetUser"));
  EXPECT_FALSE(allow_list_permits({}, "DeleteUser"));
}

TEST(Config, Durations) {
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("5s"), 5s);
  EXPECT_EQ(*parse_duration("2m"), 2min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("30d"), std::chrono::hours(720));
  EXPECT_EQ(*parse_duration("0s"), 0ms);
  for (const char* bad : {"", "5", "s", "5x", "-5s", "1.5s", " 5s", "5 s", "5S", "9999999999999s"}) {
    EXPECT_FALSE(parse_duration(bad)) << bad;
  }
  EXPECT_EQ(format_duration(500ms), "500ms");
  EXPECT_EQ(format_duration(5s), "5s");
  EXPECT_EQ(format_duration(2min), "2m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(1h), "1h");
  EXPECT_EQ(format_duration(std::chrono::hours(720)), "30d");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(0ms), "0ms");
}

// Why 4 of issue 14: "999999999999d" overflowed n*factor (undefined behaviour) and was
// reported as "not a duration".
TEST(Config, DurationsThatWouldOverflowAreTooLong) {
  for (const char* big : {"999999999999d", "99999999999999999999999ms", "3651d", "87601h"}) {
    EXPECT_FALSE(parse_duration(big)) << big;
    ASSERT_TRUE(duration_problem(big)) << big;
    EXPECT_EQ(*duration_problem(big), "is too long (at most 3650d)") << big;
  }
  EXPECT_EQ(*parse_duration("3650d"), max_duration);
  EXPECT_FALSE(duration_problem("3650d"));
  EXPECT_EQ(duration_problem("5x")->rfind("is not a duration", 0), 0u);
  const std::string msg = joined(problems("result_ttl = \"999999999999d\""));
  EXPECT_NE(msg.find("result_ttl: \"999999999999d\" is too long (at most 3650d)"), std::string::npos) << msg;
  const std::string ms = joined(problems("visibility_timeout = 9223372036854775807"));
  EXPECT_NE(ms.find("visibility_timeout: is too long"), std::string::npos) << ms;
}

TEST(Config, ADuplicateKeyIsRefusedNamingIt) {
  const std::string msg = joined(problems("concurrency = 4\nconcurrency = 5000\n"));
  EXPECT_NE(msg.find("concurrency"), std::string::npos) << msg;
  const std::string tbl = joined(problems("[accounts.a]\nrate = 1.0\n[accounts.a]\nrate = 2.0\n"));
  EXPECT_NE(tbl.find("accounts.a"), std::string::npos) << tbl;
}

TEST(Config, ValidationProblemsHoldAnEditedConfigToTheFileRules) {
  Config cfg = defaults();
  EXPECT_TRUE(validation_problems(cfg).empty());
  cfg.concurrency = 1000000000;
  const auto p = validation_problems(cfg);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "concurrency: must be between 1 and 10000");
}

TEST(Config, SyntaxErrorNamesFileAndLine) {
  TempFile f("concurrency = 4\nnamespace = \"unterminated\n");
  try {
    load(f.path(), {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(f.path() + ":2:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load(std::string("/nonexistent/iamq.toml"), {}), ConfigError);
}

const char* kSecretsToml = R"(
redis_url = "redis://worker:hunter2-redis@redis:6379/0"
[accounts.lab]
credentials = "static"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI-SECRET"
session_token = "FwoGZXIv-TOKEN"
)";

TEST(Config, RedactedOutputNeverShowsASecret) {
  const Config c = load_text(kSecretsToml);
  for (const std::string& out : {to_redacted_toml(c), to_redacted_json(c)}) {
    EXPECT_EQ(out.find("wJalrXUtnFEMI-SECRET"), std::string::npos) << out;
    EXPECT_EQ(out.find("FwoGZXIv-TOKEN"), std::string::npos) << out;
    EXPECT_EQ(out.find("hunter2-redis"), std::string::npos) << out;
    EXPECT_NE(out.find("<redacted>"), std::string::npos) << out;
    EXPECT_NE(out.find("AKIDEXAMPLE"), std::string::npos) << out;  // an id, not a secret
  }
  const auto j = nlohmann::json::parse(to_redacted_json(c));
  EXPECT_EQ(j["accounts"]["lab"]["secret_access_key"], "<redacted>");
  EXPECT_EQ(j["accounts"]["lab"]["session_token"], "<redacted>");
  EXPECT_EQ(j["accounts"]["lab"]["credentials"], "static");
  EXPECT_EQ(j["redis_url"], "redis://worker:<redacted>@redis:6379/0");
  EXPECT_EQ(j["backoff"]["unmodifiable"]["cap"], "5m");
  EXPECT_EQ(j["concurrency"], 64);
}

// The printed config is itself a valid config file that loads back to the same values.
TEST(Config, RedactedTomlRoundTrips) {
  const Config a = load_text(R"(
concurrency = 7
delay_threshold = "1500ms"
result_ttl = "2d"
allow_list = ["DeleteUser", "List*"]
[backoff.throttled]
base = "1s"
cap = "4s"
max_attempts = 3
[accounts.prod]
credentials = "profile"
profile = "p"
rate = 2.5
burst = 4
)");
  const std::string text = to_redacted_toml(a);
  const Config b = load_text(text);
  EXPECT_EQ(to_redacted_toml(b), text);
  EXPECT_EQ(b.concurrency, 7);
  EXPECT_EQ(b.delay_threshold, 1500ms);
  EXPECT_EQ(b.result_ttl, std::chrono::hours(48));
  EXPECT_EQ(b.allow_list, a.allow_list);
  EXPECT_EQ(b.backoff.at("throttled").cap, 4s);
  EXPECT_EQ(b.accounts.at("prod").profile, "p");
  EXPECT_DOUBLE_EQ(b.accounts.at("prod").rate, 2.5);
  EXPECT_EQ(to_redacted_toml(load(std::nullopt, {})), to_redacted_toml(load_text(to_redacted_toml(defaults()))));
}

// The commented example in the repository is valid and spells out exactly the defaults.
TEST(Config, ExampleFileIsValidAndMatchesTheDefaults) {
  const char* src = std::getenv("IAMQ_SOURCE_DIR");
  const std::filesystem::path root =
      src ? std::filesystem::path(src) : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
  const std::string example = (root / "config" / "iamq.example.toml").string();
  ASSERT_TRUE(std::filesystem::exists(example)) << example;
  const Config c = load(example, {});
  EXPECT_EQ(to_redacted_toml(c), to_redacted_toml(load(std::nullopt, {})));
}

TEST(Config, ErrorFromOneMessage) {
  ConfigError e("--namespace: must not be empty");
  EXPECT_EQ(e.problems(), std::vector<std::string>{"--namespace: must not be empty"});
}

}  // namespace
}  // namespace iamq::config

namespace iamq::config {
namespace {

TEST(ConfigAccounts, RoleFieldsAndTemplates) {
  const Config c = load_text(R"(
[accounts.hub]
credentials = "profile"
profile = "ops"
[accounts.prod]
account_id = "222222222222"
role_arn = "arn:aws:iam::{account_id}:role/iamq"
external_id = "ext-42"
role_session_name = "offboarding"
duration_seconds = 900
source = "hub"
region = "cn-north-1"
)");
  const Account& a = c.accounts.at("prod");
  EXPECT_EQ(expanded_role_arn(a), "arn:aws:iam::222222222222:role/iamq");
  EXPECT_EQ(a.external_id, "ext-42");
  EXPECT_EQ(a.role_session_name, "offboarding");
  EXPECT_EQ(a.duration_seconds, 900);
  EXPECT_EQ(a.role_source, "hub");
  const std::string shown = to_redacted_toml(c);
  EXPECT_NE(shown.find("role_arn = 'arn:aws:iam::{account_id}:role/iamq'"), std::string::npos) << shown;
  EXPECT_NE(shown.find("source = 'hub'"), std::string::npos) << shown;
}

TEST(ConfigAccounts, BadRoleFieldsNameTheFieldAndTheRule) {
  auto p = problems(R"(
[accounts.a]
account_id = "12345"
role_arn = "arn:aws:iam::{account_id}:user/x"
role_session_name = "bad name"
duration_seconds = 60
[accounts.b]
role_arn = "arn:aws:iam::{account_id}:role/x"
[accounts.c]
source = "a"
external_id = "e1"
[accounts.d]
role_arn = "arn:aws:iam::111111111111:role/d"
source = "e"
[accounts.e]
role_arn = "arn:aws:iam::111111111111:role/e"
source = "d"
[accounts.f]
credentials = "static"
access_key_id = "AKID"
secret_access_key = "TOPSECRETVALUE"
role_arn = "arn:aws:iam::111111111111:role/f"
source = "a"
)");
  const std::string all = joined(p);
  EXPECT_TRUE(has(p, "accounts.a.account_id: \"12345\" must be 12 digits")) << all;
  EXPECT_NE(all.find("accounts.a.role_arn: "), std::string::npos) << all;
  EXPECT_TRUE(has(p, "accounts.a.role_session_name: must be 2-64 of [A-Za-z0-9+=,.@_-]")) << all;
  EXPECT_TRUE(has(p, "accounts.a.duration_seconds: must be between 900 and 43200")) << all;
  EXPECT_TRUE(has(p, "accounts.b.role_arn: uses {account_id} but account_id is not set")) << all;
  EXPECT_TRUE(has(p, "accounts.c.source: only used with role_arn")) << all;
  EXPECT_TRUE(has(p, "accounts.c.external_id: only used with role_arn")) << all;
  EXPECT_TRUE(has(p, "accounts.d.source: source accounts form a cycle through \"d\"")) << all;
  EXPECT_NE(all.find("accounts.f.source: replaces credentials = \"static\""), std::string::npos) << all;
  EXPECT_EQ(all.find("TOPSECRETVALUE"), std::string::npos);
}

}  // namespace
}  // namespace iamq::config
