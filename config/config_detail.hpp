#pragma once
/// The pieces of config.cpp's reading shared by its parts (config.cpp, config_file.cpp,
/// config_validate.cpp, config_fields.cpp): the problem list, the typed TOML readers, and
/// the two passes. Not part of the config library's interface.
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "config/config.hpp"

namespace iamq::config::detail {

/// Every bad field is collected, then reported together.
class Problems {
 public:
  void add(const std::string& field, const std::string& rule) { list_.push_back(field + ": " + rule); }
  bool empty() const { return list_.empty(); }
  std::vector<std::string>& list() { return list_; }

 private:
  std::vector<std::string> list_;
};

/// `s` in double quotes, with quotes and backslashes escaped and control bytes shown as '?'.
std::string quoted(std::string_view s);
inline bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
inline bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Typed readers for TOML nodes. Each reports a type error under `field` and leaves `out`
// untouched.
void read_string(const toml::node& n, const std::string& field, std::string& out, Problems& p);
bool read_integer(const toml::node& n, const std::string& field, std::int64_t& out, Problems& p);
template <typename Int>
void read_int(const toml::node& n, const std::string& field, Int& out, Problems& p) {
  std::int64_t v = 0;
  if (!read_integer(n, field, v, p)) return;
  if (v < static_cast<std::int64_t>(std::numeric_limits<Int>::min()) ||
      v > static_cast<std::int64_t>(std::numeric_limits<Int>::max())) {
    p.add(field, "is out of range");
    return;
  }
  out = static_cast<Int>(v);
}
void read_number(const toml::node& n, const std::string& field, double& out, Problems& p);
void read_bool(const toml::node& n, const std::string& field, bool& out, Problems& p);
void read_duration(const toml::node& n, const std::string& field, std::chrono::milliseconds& out, Problems& p);

/// Dispatches the keys of `tbl` to `handlers`; any other key is reported as unknown.
using Handler = std::function<void(const toml::node&, const std::string& field)>;
void for_each_key(const toml::table& tbl, const std::string& prefix, const std::map<std::string, Handler>& handlers,
                  Problems& p);

/// The file's keys over `cfg` (config_file.cpp); `templ` is what a new [accounts.X] starts from.
void read_file(const toml::table& root, Config& cfg, const Account& templ, Problems& p);
/// The effective values, whatever their source (config_validate.cpp); may fill derived
/// defaults (fleet_burst).
void validate(Config& cfg, Problems& p);

}  // namespace iamq::config::detail
