#pragma once
/// The iamq subcommands. main.cpp builds the CLI11 app and calls each add_*; each
/// subcommand lives in its own file in this folder and sets its callback to do the work.
/// A callback that fails throws CommandFailed (exit code + message already printed)
/// or RuntimeFailure (printed as "iamq: <what>", exit 1) or any other std::exception
/// (printed the same way, exit 2).
#include <optional>
#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

#include "config/config.hpp"

namespace iamq::commands {

/// Options every subcommand accepts (they may appear before or after the subcommand).
struct GlobalOptions {
  std::optional<std::string> config_path;  ///< --config FILE
  std::optional<std::string> redis_url;    ///< --redis-url URL (overrides REDIS_URL and the file)
  std::optional<std::string> ns;           ///< --namespace NS
  std::optional<std::string> log_level;    ///< --log-level (overrides the config file when given)
};

/// Thrown by a command to end with `code` after it has printed its own message.
class CommandFailed : public std::runtime_error {
 public:
  explicit CommandFailed(int code, const std::string& what = "")
      : std::runtime_error(what), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

/// A runtime failure a command could not get past (Redis unreachable or failing): printed
/// as "iamq: <what>", exit status 1 (the README's "runtime failure"; 2 is for usage and
/// configuration).
class RuntimeFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Loads the effective config (environment, then --config file, then the global flags).
config::Config resolve_config(const GlobalOptions& g);

void add_call_command(CLI::App& app, const GlobalOptions& g);     // call.cpp
void add_enqueue_command(CLI::App& app, const GlobalOptions& g);  // enqueue.cpp
void add_status_command(CLI::App& app, const GlobalOptions& g);   // status.cpp
void add_stats_command(CLI::App& app, const GlobalOptions& g);    // stats.cpp
void add_watch_command(CLI::App& app, const GlobalOptions& g);    // watch.cpp
void add_dlq_command(CLI::App& app, const GlobalOptions& g);      // dlq.cpp
void add_worker_command(CLI::App& app, const GlobalOptions& g);   // worker.cpp
void add_config_command(CLI::App& app, const GlobalOptions& g);   // config.cpp
void add_dashboard_command(CLI::App& app, const GlobalOptions& g);  // dashboard.cpp
void add_pause_command(CLI::App& app, const GlobalOptions& g);    // pause.cpp
void add_resume_command(CLI::App& app, const GlobalOptions& g);   // resume.cpp
void add_cancel_command(CLI::App& app, const GlobalOptions& g);   // cancel.cpp
void add_retry_command(CLI::App& app, const GlobalOptions& g);    // retry.cpp
void add_webhooks_command(CLI::App& app, const GlobalOptions& g);   // webhooks.cpp
void add_accounts_command(CLI::App& app, const GlobalOptions& g);   // accounts.cpp

}  // namespace iamq::commands
