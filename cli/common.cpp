#include "config/config.hpp"
#include "client/credentials.hpp"
#include "cli/commands.hpp"

namespace iamq::commands {

config::Config resolve_config(const GlobalOptions& g) {
  config::Config cfg = config::load(g.config_path, client::environment_snapshot());
  if (g.redis_url) cfg.redis_url = *g.redis_url;
  if (g.ns) {
    if (g.ns->empty()) throw config::ConfigError("--namespace: must not be empty");
    cfg.ns = *g.ns;
  }
  if (g.log_level) cfg.log_level = *g.log_level;
  return cfg;
}

}  // namespace iamq::commands
