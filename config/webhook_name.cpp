// The rule for a webhook / `notify` name, apart from the rest of the webhook config so that
// the job parser (and its fuzz target) can use it without the TOML side.
#include <algorithm>
#include <cctype>

#include "config/webhook_config.hpp"

namespace iamq::config {

bool valid_webhook_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

}  // namespace iamq::config
