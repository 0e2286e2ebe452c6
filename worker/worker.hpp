#pragma once
/// The consume loop: takes jobs from the Redis queue and carries them out against IAM on one
/// io_context — `concurrency` jobs at once, the calls of one job in order, every call through
/// the account's rate limiter (and the fleet limiter), retries per the retry policy (short
/// waits on a timer, long ones through the delayed set), a circuit per account for
/// credential failures, a step log entry per call, metrics, graceful shutdown and drain.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.hpp"

namespace iamq::worker {

class Metrics;

/// What `iamq worker` adds on top of the config.
struct WorkerOptions {
  int concurrency = 64;
  bool dry_run = false;
  /// Exit 0 once the stream, the delayed set and the in-flight jobs are all empty.
  bool drain = false;
  /// > 0: the Redis-kept fleet limiter, calls/s per account across every worker.
  double fleet_rate = 0.0;
  double fleet_burst = 0.0;  ///< 0: max(1, fleet_rate)
  std::chrono::milliseconds shutdown_timeout{30000};
  std::chrono::milliseconds visibility_timeout{60000};
  /// civetweb listen address ("127.0.0.1:9464"; port 0 picks one) or nullopt for none.
  std::optional<std::string> metrics_listen;
  /// Consumer name in the group; empty: host:pid:start-ms.
  std::string consumer;
  /// Per-account rate overrides (calls/s), from --account-rate NAME=R.
  std::map<std::string, double> account_rates;
};

/// The worker's options from a config (concurrency, fleet rate, timeouts, metrics address).
WorkerOptions options_from_config(const config::Config& cfg);

/// Exit statuses of `iamq worker`.
enum ExitStatus : int {
  exit_ok = 0,            ///< stopped by a signal after handing back, or drained
  exit_failure = 1,       ///< could not start (Redis, metrics listener)
  exit_circuit_open = 3,  ///< --drain stopped because an account's credentials fail
};

class Worker {
 public:
  /// Builds every component (Redis connections, job queue, transport, one IAM client,
  /// limiter and circuit per account, metrics listener). Throws config::ConfigError or
  /// client::CredentialsError (every account's credentials unusable) or
  /// std::runtime_error (metrics address in use) — start-up errors.
  Worker(boost::asio::io_context& ioc, config::Config cfg, WorkerOptions opts);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts consuming (connects, creates the group, starts the timers).
  void start();
  /// Graceful stop: take no more jobs, let calls in flight finish (up to shutdown_timeout),
  /// record where each job stands and hand it back. The io_context runs out of work when done.
  void stop();
  /// Called once on the io_context when the worker has stopped (after stop(), a finished
  /// drain, or the shutdown timeout): the caller cancels what else it keeps on the loop.
  void on_stopped(std::function<void()> cb);
  /// True once stop() was called or the drain finished.
  bool stopping() const;
  /// The exit status once the io_context has run out of work.
  int exit_status() const;
  /// The metrics port (0 without a listener).
  int metrics_port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace iamq::worker
