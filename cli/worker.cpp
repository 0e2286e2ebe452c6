// `iamq worker`: consumes the queue until SIGTERM/SIGINT (or, with --drain, until the queue,
// the delayed set and the in-flight jobs are empty).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "cli/commands.hpp"
#include "worker/metrics.hpp"
#include "worker/worker.hpp"

namespace iamq::commands {

namespace {

struct WorkerFlags {
  std::optional<int> concurrency;
  bool dry_run = false;
  bool drain = false;
  std::optional<double> global_rate;
  std::optional<double> global_burst;
  std::optional<std::string> shutdown_timeout;
  std::optional<std::string> visibility_timeout;
  std::optional<std::string> metrics_listen;
  std::vector<std::string> account_rates;
  std::string consumer;
};

std::chrono::milliseconds duration_flag(const std::string& flag, const std::string& value) {
  auto d = config::parse_duration(value);
  if (!d) {
    throw config::ConfigError(flag + ": \"" + value + "\" " +
                              config::duration_problem(value).value_or("is not a duration"));
  }
  return *d;
}

/// Holds the flags that have a config field to the file's rules (--concurrency 1000000000
/// used to pass, the file caps concurrency at 10000): the flags are applied to a copy of the
/// config, which is validated again; a problem names the flag.
void check_flags_like_the_file(config::Config cfg, const worker::WorkerOptions& opts) {
  static const std::pair<std::string_view, std::string_view> kFlagOf[] = {
      {"concurrency", "--concurrency"},         {"fleet_rate", "--global-rate"},
      {"fleet_burst", "--global-burst"},        {"shutdown_timeout", "--shutdown-timeout"},
      {"visibility_timeout", "--visibility-timeout"},
  };
  cfg.concurrency = opts.concurrency;
  cfg.fleet_rate = opts.fleet_rate;
  cfg.fleet_burst = opts.fleet_burst;
  cfg.shutdown_timeout = opts.shutdown_timeout;
  cfg.visibility_timeout = opts.visibility_timeout;
  std::vector<std::string> problems;
  for (auto& problem : config::validation_problems(cfg)) {
    for (const auto& [field, flag] : kFlagOf) {
      if (problem.rfind(std::string(field) + ":", 0) == 0) {
        problem = std::string(flag) + problem.substr(field.size());
      }
    }
    problems.push_back(std::move(problem));
  }
  if (!problems.empty()) throw config::ConfigError(std::move(problems));
}

/// Logs go to stderr, one line each: time, level, then key=value pairs.
void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("iamq");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::warn);
}

void run_worker(const GlobalOptions& g, const WorkerFlags& f) {
  config::Config cfg = resolve_config(g);
  setup_logging(cfg.log_level);
  worker::WorkerOptions opts = worker::options_from_config(cfg);
  if (f.concurrency) opts.concurrency = *f.concurrency;  // checked below, as the file is
  opts.dry_run = opts.dry_run || f.dry_run;
  opts.drain = f.drain;
  if (f.global_rate) {
    if (*f.global_rate < 0) throw config::ConfigError("--global-rate: must be >= 0");
    opts.fleet_rate = *f.global_rate;
  }
  if (f.global_burst) {
    if (*f.global_burst < 0) throw config::ConfigError("--global-burst: must be >= 0");
    opts.fleet_burst = *f.global_burst;
  }
  if (f.shutdown_timeout) opts.shutdown_timeout = duration_flag("--shutdown-timeout", *f.shutdown_timeout);
  if (f.visibility_timeout) {
    opts.visibility_timeout = duration_flag("--visibility-timeout", *f.visibility_timeout);
  }
  if (f.metrics_listen) {
    try {
      opts.metrics_listen = worker::parse_metrics_listen(*f.metrics_listen);
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(e.what());
    }
  }
  for (const auto& ar : f.account_rates) {
    auto eq = ar.find('=');
    double rate = 0;
    try {
      if (eq == std::string::npos || eq == 0) throw std::invalid_argument("no =");
      std::size_t used = 0;
      rate = std::stod(ar.substr(eq + 1), &used);
      if (used != ar.size() - eq - 1 || rate <= 0) throw std::invalid_argument("bad rate");
    } catch (const std::exception&) {
      throw config::ConfigError("--account-rate: expected NAME=RATE with RATE > 0, got \"" + ar + "\"");
    }
    const std::string name = ar.substr(0, eq);
    if (!cfg.accounts.count(name)) {
      throw config::ConfigError("--account-rate: account \"" + name + "\" is not configured");
    }
    opts.account_rates[name] = rate;
  }
  opts.consumer = f.consumer;
  check_flags_like_the_file(cfg, opts);

  boost::asio::io_context ioc(1);
  worker::Worker w(ioc, cfg, opts);
  if (w.metrics_port() != 0) {
    spdlog::info("metrics on http://{}:{}/metrics (and /healthz)",
                 opts.metrics_listen->substr(0, opts.metrics_listen->rfind(':')), w.metrics_port());
  }

  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal;
  on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (w.stopping()) {
      // Second signal: leave at once. Entries in flight stay pending in the stream and are
      // reclaimed after the visibility timeout, resuming from their last checkpoint.
      spdlog::warn("second signal ({}): exiting now; unfinished jobs are reclaimed after the visibility timeout",
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      spdlog::default_logger()->flush();
      std::_Exit(128 + sig);
    }
    spdlog::info("{} received: finishing calls in flight (up to {}), then handing back",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", config::format_duration(opts.shutdown_timeout));
    w.stop();
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);
  w.on_stopped([&] { signals.cancel(); });
  w.start();
  ioc.run();
  spdlog::default_logger()->flush();
  if (w.exit_status() != 0) throw CommandFailed(w.exit_status());
}

}  // namespace

void add_worker_command(CLI::App& app, const GlobalOptions& g) {
  auto flags = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand("worker", "Consume the job queue and carry out the jobs against IAM");
  cmd->add_option("--concurrency", flags->concurrency, "Jobs in flight at once (default: config, 64)");
  cmd->add_flag("--dry-run", flags->dry_run,
                "Make only Get*/List* calls; results list the mutating calls that would be made");
  cmd->add_flag("--drain", flags->drain,
                "Exit 0 once the stream, the delayed set and the in-flight jobs are all empty");
  cmd->add_option("--global-rate", flags->global_rate,
                  "Fleet-wide calls/s per account, shared by every worker through Redis (0: off)");
  cmd->add_option("--global-burst", flags->global_burst, "Fleet-wide burst (default: the rate)");
  cmd->add_option("--shutdown-timeout", flags->shutdown_timeout,
                  "On SIGTERM/SIGINT, how long calls in flight may take (default 30s)");
  cmd->add_option("--visibility-timeout", flags->visibility_timeout,
                  "Entries of a worker that stopped renewing for this long are reclaimed (default 60s)");
  cmd->add_option("--metrics-listen", flags->metrics_listen,
                  "Prometheus /metrics and /healthz address, HOST:PORT (port 0: any) or off "
                  "(default 127.0.0.1:9464)");
  cmd->add_option("--account-rate", flags->account_rates, "NAME=RATE: override an account's calls/s")
      ->type_name("NAME=RATE");
  cmd->add_option("--consumer", flags->consumer, "Consumer name in the group (default host:pid:start)");
  cmd->callback([&g, flags] { run_worker(g, *flags); });
}

}  // namespace iamq::commands
