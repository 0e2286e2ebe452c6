// `iamq dashboard [--listen HOST:PORT] [--token TOKEN] [--read-only]`: the web UI over the
// queue (dashboard/). Runs until SIGTERM/SIGINT.
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.hpp"
#include "dashboard/dashboard_server.hpp"

namespace iamq::commands {

namespace {

struct DashboardFlags {
  std::string listen = "127.0.0.1:8080";
  std::optional<std::string> token;
  bool read_only = false;
};

void run_dashboard(const GlobalOptions& g, const DashboardFlags& f) {
  config::Config cfg = resolve_config(g);
  auto logger = spdlog::stderr_color_mt("iamq-dashboard");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));

  dashboard::DashboardOptions opts;
  try {
    opts.listen = dashboard::parse_listen(f.listen);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(e.what());
  }
  if (f.token) {
    opts.token = *f.token;
  } else if (const char* env = std::getenv("IAMQ_DASHBOARD_TOKEN")) {
    opts.token = env;
  }
  if (f.token && f.token->empty()) throw config::ConfigError("--token: must not be empty");
  if (!opts.token.empty() && opts.token.size() < 16) {
    throw config::ConfigError("--token: must be at least 16 characters (e.g. openssl rand -hex 32)");
  }
  opts.read_only = f.read_only;

  boost::asio::io_context ioc;
  std::unique_ptr<dashboard::DashboardServer> server;
  try {
    server = std::make_unique<dashboard::DashboardServer>(ioc, cfg, opts);
  } catch (const std::invalid_argument& e) {
    throw config::ConfigError(e.what());
  }
  try {
    server->start();
  } catch (const std::runtime_error& e) {
    std::cerr << "iamq: " << e.what() << "\n";
    throw CommandFailed(1);
  }
  const std::string host = opts.listen.host.find(':') != std::string::npos ? "[" + opts.listen.host + "]"
                                                                           : opts.listen.host;
  // The first line on stdout, for scripts: the URL to open.
  std::cout << "dashboard listening on http://" << host << ":" << server->port() << "/" << std::endl;
  spdlog::info("dashboard: namespace {}, {}{}", cfg.ns,
               opts.token.empty() ? "no token (read pages only; actions refused)" : "token required",
               opts.read_only ? ", read-only" : "");
  boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    spdlog::info("dashboard: stopping");
    server->stop();
    ioc.stop();
  });
  ioc.run();
}

}  // namespace

void add_dashboard_command(CLI::App& app, const GlobalOptions& g) {
  auto f = std::make_shared<DashboardFlags>();
  CLI::App* cmd = app.add_subcommand("dashboard", "Web UI over the queue: pages, JSON API, live updates");
  cmd->add_option("--listen", f->listen, "HOST:PORT to serve on (default 127.0.0.1:8080; port 0 picks one)");
  cmd->add_option("--token", f->token,
                  "Token for reads and actions (default: IAMQ_DASHBOARD_TOKEN); required off loopback");
  cmd->add_flag("--read-only", f->read_only, "Refuse every action (403)");
  cmd->callback([&g, f] { run_dashboard(g, *f); });
}

}  // namespace iamq::commands
