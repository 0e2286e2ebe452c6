// iamq: the command-line entry point. Builds the CLI11 app from the subcommands in
// cli/ and maps failures to exit codes (2 for usage and configuration).
#include <cstdio>
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "config/config.hpp"
#include "client/credentials.hpp"
#include "cli/commands.hpp"

int main(int argc, char** argv) {
  using namespace iamq::commands;
  CLI::App app{"iamq: AWS IAM batch operations from a Redis queue"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.set_version_flag("--version", "iamq 0.1.0");

  GlobalOptions g;
  app.add_option("--config", g.config_path, "TOML config file")->check(CLI::ExistingFile);
  app.add_option("--redis-url", g.redis_url, "Redis URL (default: REDIS_URL, the config file)");
  app.add_option("--namespace", g.ns, "Redis key namespace (default iamq)");
  app.add_option("--log-level", g.log_level, "trace|debug|info|warn|error|off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));

  add_call_command(app, g);
  add_enqueue_command(app, g);
  add_status_command(app, g);
  add_stats_command(app, g);
  add_watch_command(app, g);
  add_dlq_command(app, g);
  add_worker_command(app, g);
  add_config_command(app, g);
  add_dashboard_command(app, g);
  add_pause_command(app, g);
  add_resume_command(app, g);
  add_cancel_command(app, g);
  add_retry_command(app, g);
  add_webhooks_command(app, g);
  add_accounts_command(app, g);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; usage errors exit 2 with CLI11's message.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const CommandFailed& e) {
    if (*e.what()) std::cerr << "iamq: " << e.what() << "\n";
    return e.code();
  } catch (const RuntimeFailure& e) {
    std::cerr << "iamq: " << e.what() << "\n";
    return 1;
  } catch (const iamq::config::ConfigError& e) {
    std::cerr << "iamq: configuration: " << e.what() << "\n";
    return 2;
  } catch (const iamq::client::CredentialsError& e) {
    std::cerr << "iamq: credentials: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "iamq: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
