// Typed TOML readers of the configuration (config_detail.hpp).
#include <cmath>

#include "config/config_detail.hpp"

namespace iamq::config::detail {

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += '?';
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

void read_string(const toml::node& n, const std::string& field, std::string& out, Problems& p) {
  if (auto s = n.as_string()) {
    out = s->get();
    return;
  }
  p.add(field, "must be a string");
}

bool read_integer(const toml::node& n, const std::string& field, std::int64_t& out, Problems& p) {
  if (auto i = n.as_integer()) {
    out = i->get();
    return true;
  }
  p.add(field, "must be an integer");
  return false;
}


void read_number(const toml::node& n, const std::string& field, double& out, Problems& p) {
  if (auto f = n.as_floating_point()) {
    if (!std::isfinite(f->get())) {
      p.add(field, "must be a finite number");
      return;
    }
    out = f->get();
    return;
  }
  if (auto i = n.as_integer()) {
    out = static_cast<double>(i->get());
    return;
  }
  p.add(field, "must be a number");
}

void read_bool(const toml::node& n, const std::string& field, bool& out, Problems& p) {
  if (auto b = n.as_boolean()) {
    out = b->get();
    return;
  }
  p.add(field, "must be true or false");
}

void read_duration(const toml::node& n, const std::string& field, std::chrono::milliseconds& out,
                   Problems& p) {
  if (auto s = n.as_string()) {
    if (auto d = parse_duration(s->get())) {
      out = *d;
      return;
    }
    p.add(field, quoted(s->get()) + " " + duration_problem(s->get()).value_or("is not a duration"));
    return;
  }
  if (auto i = n.as_integer()) {
    if (i->get() < 0) {
      p.add(field, "must not be negative");
      return;
    }
    if (i->get() > max_duration.count()) {
      p.add(field, "is too long (at most " + format_duration(max_duration) + ")");
      return;
    }
    out = std::chrono::milliseconds(i->get());
    return;
  }
  p.add(field, "must be a duration string (\"500ms\", \"5s\", \"2m\", \"30d\") or integer milliseconds");
}

void for_each_key(const toml::table& tbl, const std::string& prefix,
                  const std::map<std::string, Handler>& handlers, Problems& p) {
  for (auto&& [k, v] : tbl) {
    const std::string key(k.str());
    const std::string field = prefix.empty() ? key : prefix + "." + key;
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::string known;
      for (const auto& [name, _] : handlers) known += (known.empty() ? "" : ", ") + name;
      p.add(field, "unknown key (known keys: " + known + ")");
      continue;
    }
    it->second(v, field);
  }
}

}  // namespace iamq::config::detail
