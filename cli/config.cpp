// `iamq config check [--json]`: load the effective configuration (environment, --config file,
// global flags), name every bad field, print the result with secrets redacted.
#include <iostream>
#include <memory>

#include "config/config.hpp"
#include "cli/commands.hpp"

namespace iamq::commands {

namespace {

struct ConfigCheckOptions {
  bool json = false;
};

void run_config_check(const GlobalOptions& g, const ConfigCheckOptions& o) {
  config::Config cfg;
  try {
    cfg = resolve_config(g);
  } catch (const config::ConfigError& e) {
    const auto problems = e.problems();
    std::cerr << "iamq: configuration has " << problems.size() << " problem" << (problems.size() == 1 ? "" : "s")
              << (g.config_path ? " (" + *g.config_path + ")" : std::string()) << ":\n";
    for (const auto& p : problems) std::cerr << "  " << p << "\n";
    throw CommandFailed(2);
  }
  std::cout << (o.json ? config::to_redacted_json(cfg) : config::to_redacted_toml(cfg));
  std::cout.flush();
}

}  // namespace

void add_config_command(CLI::App& app, const GlobalOptions& g) {
  auto* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);
  // Owned by the callback below, which CLI11 keeps for the life of the app.
  auto opts = std::make_shared<ConfigCheckOptions>();
  auto* check = config->add_subcommand(
      "check", "Validate the environment and --config file; print the effective config, secrets redacted");
  check->add_flag("--json", opts->json, "Print JSON instead of TOML");
  check->callback([&g, opts] { run_config_check(g, *opts); });
}

}  // namespace iamq::commands
