#pragma once
/// The TOML side of [webhooks.NAME] (config.cpp and webhook_config.cpp only: keeps toml++ out
/// of config.hpp's includers).
#include <map>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/webhook_config.hpp"

namespace iamq::config {

/// Reads the `webhooks` table into `out`; returns problems as "field: rule" lines.
std::vector<std::string> read_webhooks(const toml::node& n, const std::string& field,
                                       std::map<std::string, Webhook>& out);
/// The webhooks as a TOML table with every secret "<redacted>".
toml::table redacted_webhooks(const std::map<std::string, Webhook>& hooks);

}  // namespace iamq::config
