#pragma once
/// Test support for the worker's end-to-end tests: a real redis-server, a real iamq-emulator,
/// a config file pointing the worker at both, and helpers to run the real `iamq` binary
/// (enqueue, worker, status, stats) and read the end state in Redis and in the emulator.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue/redis_connection.hpp"
#include "queue/redis_url.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/emulator_process.hpp"
#include "tests/support/redis_server.hpp"

namespace iamq::test {

inline constexpr const char* kAccessKey = "AKIDEXAMPLE";
inline constexpr const char* kSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
inline constexpr const char* kAccountId = "123456789012";

/// What goes into the worker's config file.
struct WorkerConfig {
  double rate = 500;
  double burst = 50;
  std::string secret = kSecretKey;
  std::string access_key = kAccessKey;
  std::string delay_threshold = "5s";
  std::string shutdown_timeout = "20s";
  std::string visibility_timeout = "1m";
  std::string circuit_probe_interval = "1m";
  int max_attempts = 10;
  // Backoff (base, cap, max_attempts) per class: short, so that tests stay fast.
  std::string throttled = R"(base = "100ms"
cap = "400ms"
max_attempts = 30)";
  std::string transient = R"(base = "100ms"
cap = "400ms"
max_attempts = 30)";
  std::string concurrent_modification = R"(base = "100ms"
cap = "400ms"
max_attempts = 30)";
  std::string unmodifiable = R"(base = "100ms"
cap = "400ms"
max_attempts = 40)";
  /// Appended verbatim (more [accounts.X] sections).
  std::string extra;
};

class WorkerE2E : public ::testing::Test {
 protected:
  WorkerE2E() : bin_(env_or("IAMQ_BIN", "iamq")) {}

  void start_emulator(EmulatorProcess::Options o) { emu_ = std::make_unique<EmulatorProcess>(std::move(o)); }
  /// The emulator with extra flags.
  void start_emulator_args(std::vector<std::string> args) {
    EmulatorProcess::Options o;
    o.args = std::move(args);
    start_emulator(std::move(o));
  }
  /// The emulator loaded from a seed.
  void start_emulator_seed(nlohmann::json seed) {
    EmulatorProcess::Options o;
    o.seed = std::move(seed);
    start_emulator(std::move(o));
  }
  EmulatorProcess& emu() { return *emu_; }

  /// Writes the config file (redis, namespace, account "default" on the emulator) and
  /// returns its path; later iamq() calls use the most recent one.
  std::string write_config(const WorkerConfig& c) {
    std::ostringstream t;
    t << "redis_url = \"" << redis_url() << "\"\n"
      << "namespace = \"" << ns_ << "\"\n"
      << "metrics_listen = \"\"\n"
      << "log_level = \"info\"\n"
      << "delay_threshold = \"" << c.delay_threshold << "\"\n"
      << "shutdown_timeout = \"" << c.shutdown_timeout << "\"\n"
      << "visibility_timeout = \"" << c.visibility_timeout << "\"\n"
      << "circuit_probe_interval = \"" << c.circuit_probe_interval << "\"\n"
      << "max_attempts = " << c.max_attempts << "\n"
      << "request_timeout = \"10s\"\n"
      << "[backoff.throttled]\n" << c.throttled << "\n"
      << "[backoff.transient]\n" << c.transient << "\n"
      << "[backoff.concurrent_modification]\n" << c.concurrent_modification << "\n"
      << "[backoff.unmodifiable]\n" << c.unmodifiable << "\n"
      << "[accounts.default]\n"
      << "credentials = \"static\"\n"
      << "access_key_id = \"" << c.access_key << "\"\n"
      << "secret_access_key = \"" << c.secret << "\"\n"
      << "endpoint = \"" << emu_->endpoint() << "\"\n"
      << "rate = " << c.rate << "\n"
      << "burst = " << c.burst << "\n"
      << c.extra << "\n";
    config_path_ = redis_.dir() + "/iamq-" + std::to_string(++configs_) + ".toml";
    std::ofstream(config_path_) << t.str();
    return config_path_;
  }

  ChildProcess::Options child_options() const {
    ChildProcess::Options o;
    o.env_remove = {"AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "REDIS_URL", "IAMQ_NAMESPACE"};
    return o;
  }

  std::vector<std::string> argv(const std::vector<std::string>& args) const {
    std::vector<std::string> a = {bin_, "--config", config_path_};
    a.insert(a.end(), args.begin(), args.end());
    return a;
  }

  /// Runs `iamq --config <config> ARGS…` to completion.
  RunResult iamq(const std::vector<std::string>& args, const std::string& stdin_data = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto o = child_options();
    o.stdin_data = stdin_data;
    return run(argv(args), o, timeout);
  }

  /// Starts `iamq worker ARGS…` in the background (stderr merged into the pipe).
  std::unique_ptr<ChildProcess> start_worker(const std::vector<std::string>& args) {
    auto o = child_options();
    o.merge_stderr = true;
    std::vector<std::string> a = {"worker"};
    a.insert(a.end(), args.begin(), args.end());
    return std::make_unique<ChildProcess>(argv(a), o);
  }

  /// Enqueues jobs (one JSON object each) through `iamq enqueue --file -`.
  void enqueue(const std::vector<nlohmann::json>& jobs) {
    std::string text;
    for (const auto& j : jobs) text += j.dump() + "\n";
    auto r = iamq({"enqueue", "--file", "-"}, text);
    ASSERT_EQ(r.status, 0) << r.err;
  }

  queue::Reply redis(std::vector<std::string> args) {
    if (!sync_) {
      sync_ = std::make_unique<queue::SyncRedis>(
          std::get<queue::RedisEndpoint>(queue::parse_redis_url(redis_url())));
    }
    return sync_->call(std::move(args));
  }

  /// The Redis the worker is pointed at (a test may aim it elsewhere, e.g. Sentinel).
  virtual std::string redis_url() const { return redis_.url(); }

  std::string key(const std::string& suffix) const { return ns_ + ":" + suffix; }
  std::string job_field(const std::string& id, const std::string& field) {
    return redis({"HGET", key("job:" + id), field}).str;
  }
  std::string job_status(const std::string& id) { return job_field(id, "status"); }
  nlohmann::json job_result(const std::string& id) {
    return nlohmann::json::parse(job_field(id, "result"), nullptr, false);
  }
  /// The step log of a job, oldest first.
  std::vector<nlohmann::json> steps(const std::string& id) {
    std::vector<nlohmann::json> out;
    for (const auto& e : redis({"LRANGE", key("job:" + id + ":steps"), "0", "-1"}).elements) {
      out.push_back(nlohmann::json::parse(e.str));
    }
    return out;
  }
  /// `iamq status ID --json`.
  nlohmann::json status_json(const std::string& id) {
    auto r = iamq({"status", id, "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  /// `iamq stats --json`.
  nlohmann::json stats_json() {
    auto r = iamq({"stats", "--json"});
    EXPECT_EQ(r.status, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  long long count(const std::string& status) {
    auto v = redis({"HGET", key("counts"), status});
    return v.is_nil() ? 0 : v.as_integer().value_or(0);
  }

  /// Polls `pred` every 50 ms until it holds or `timeout` passes.
  static bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return pred();
  }

  /// The emulator's users by name.
  std::map<std::string, nlohmann::json> emulator_users() {
    std::map<std::string, nlohmann::json> out;
    const nlohmann::json state = emu_->state();  // named: the loop must not outlive it
    for (const auto& a : state["accounts"]) {
      if (a.value("id", std::string()) != kAccountId) continue;
      for (const auto& u : a["users"]) out[u["name"].get<std::string>()] = u;
    }
    return out;
  }
  /// Serials of the unassigned virtual MFA devices the emulator still holds.
  std::set<std::string> free_virtual_devices() {
    std::set<std::string> out;
    const nlohmann::json state = emu_->state();
    for (const auto& a : state["accounts"]) {
      if (a.value("id", std::string()) != kAccountId) continue;
      for (const auto& d : a["virtual_mfa_devices"]) out.insert(d["serial"].get<std::string>());
    }
    return out;
  }
  /// Calls the emulator answered, by action: {action: {code: n}}.
  nlohmann::json emulator_calls() { return emu_->stats()["calls"]; }
  long long calls_of(const nlohmann::json& calls, const std::string& action) {
    long long n = 0;
    if (!calls.contains(action)) return 0;
    for (const auto& [code, v] : calls[action].items()) n += v.get<long long>();
    return n;
  }

  std::string bin_;
  std::string ns_ = "e2e";
  RedisServer redis_;
  std::unique_ptr<EmulatorProcess> emu_;
  std::unique_ptr<queue::SyncRedis> sync_;
  std::string config_path_;
  int configs_ = 0;
};

}  // namespace iamq::test
