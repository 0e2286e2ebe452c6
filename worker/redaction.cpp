#include "worker/redaction.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace iamq::worker {

namespace {

constexpr int kMaxDepth = 64;

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}

/// A value in text ends here.
bool ends_value(char c) {
  switch (c) {
    case ' ': case '\t': case '\r': case '\n': case '&': case ',': case ';': case '"': case '\'':
    case '<': case '>': case ')': case '}': case ']':
      return true;
    default:
      return false;
  }
}

nlohmann::json redact_at(const nlohmann::json& j, int depth, bool in_strings) {
  if (depth > kMaxDepth) return std::string(kRedacted) + " (nested too deep)";
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [k, v] : j.items()) {
        // The key itself is a name, but a text key may hold "Password=x" too.
        const std::string key = in_strings ? redact_text(k) : k;
        out[key] = (is_secret_name(k) && !v.is_null()) ? nlohmann::json(kRedacted) : redact_at(v, depth + 1, in_strings);
      }
      return out;
    }
    case nlohmann::json::value_t::array: {
      nlohmann::json out = nlohmann::json::array();
      // ["Password", "hunter2"]: a parameter pair, as checkpoints store them.
      const bool pair = j.size() == 2 && j[0].is_string() && is_secret_name(j[0].get_ref<const std::string&>());
      for (std::size_t i = 0; i < j.size(); ++i) {
        out.push_back(pair && i == 1 ? nlohmann::json(kRedacted) : redact_at(j[i], depth + 1, in_strings));
      }
      return out;
    }
    case nlohmann::json::value_t::string:
      return in_strings ? nlohmann::json(redact_text(j.get_ref<const std::string&>())) : j;
    default:
      return j;
  }
}

/// `\u0041`-style escapes of printable ASCII decoded, so that a name spelled with escapes
/// ("Pass\u0077ord") in JSON that did not parse is still seen.
std::string decode_ascii_escapes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 6 <= text.size() && text[i + 1] == 'u') {
      unsigned v = 0;
      bool hex = true;
      for (std::size_t k = i + 2; k < i + 6 && k < text.size(); ++k) {
        const char c = text[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
        else hex = false;
      }
      if (hex && i + 6 <= text.size() && v >= 0x20 && v < 0x7F && v != '"' && v != '\\') {
        out.push_back(static_cast<char>(v));
        i += 5;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace

bool is_secret_name(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kFragments = {
      "password", "secret", "token", "privatekey", "sshpublickeybody", "certificatebody", "authenticationcode"};
  if (name.size() < 5) return false;  // the shortest fragment
  // Case-insensitive substring search without a lowered copy: this runs for every name in
  // every step record and checkpoint.
  const auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  for (const std::string_view f : kFragments) {
    if (f.size() > name.size()) continue;
    for (std::size_t at = 0; at + f.size() <= name.size(); ++at) {
      if (lower(name[at]) != f[0]) continue;
      std::size_t k = 1;
      while (k < f.size() && lower(name[at + k]) == f[k]) ++k;
      if (k == f.size()) return true;
    }
  }
  return false;
}

bool has_secret_names(const nlohmann::json& j, int depth) {
  if (depth > kMaxDepth) return true;  // redact() replaces it
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((is_secret_name(k) && !v.is_null()) || has_secret_names(v, depth + 1)) return true;
    }
  } else if (j.is_array()) {
    if (j.size() == 2 && j[0].is_string() && is_secret_name(j[0].get_ref<const std::string&>())) return true;
    for (const auto& v : j) {
      if (has_secret_names(v, depth + 1)) return true;
    }
  }
  return false;
}

std::string dump_redacted_by_name(const nlohmann::json& j) {
  // Most checkpoints hold no secret name at all: then nothing is copied.
  return has_secret_names(j, 0) ? redact(j, false).dump() : j.dump();
}

std::string redact_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (!is_name_char(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    // A name: the longest run of name characters.
    const std::size_t start = i;
    while (i < n && is_name_char(text[i])) ++i;
    const std::string_view name = text.substr(start, i - start);
    out.append(name);
    if (i >= n || !is_secret_name(name)) continue;
    // What follows the name decides where its value is.
    std::size_t j = i;
    bool quoted_value = false;
    if (text[j] == '"' && start > 0 && text[start - 1] == '"') {
      // "Name" : value  (JSON key)
      ++j;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j >= n || text[j] != ':') continue;
      ++j;
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
      if (j < n && text[j] == '"') {
        quoted_value = true;
        ++j;
      }
    } else if (text[j] == '=' || (text[j] == '>' && start > 0 && text[start - 1] == '<')) {
      ++j;
    } else if (text[j] == ':') {
      ++j;
      while (j < n && text[j] == ' ') ++j;
    } else {
      continue;
    }
    std::size_t end = j;
    if (quoted_value) {
      while (end < n && text[end] != '"') end += (text[end] == '\\' && end + 1 < n) ? 2 : 1;
      end = std::min(end, n);
    } else {
      while (end < n && !ends_value(text[end])) ++end;
    }
    if (end == j) continue;  // nothing there ("Password=" or "Password: ")
    out.append(text.substr(i, j - i));
    out.append(kRedacted);
    i = end;
  }
  return out;
}

std::string redact_job_text(std::string_view text, std::size_t max_bytes) {
  const bool cut = text.size() > max_bytes;
  const std::string_view kept = cut ? text.substr(0, max_bytes) : text;
  std::string out;
  if (!cut) {
    // Lenient on purpose: a job refused for a duplicate key must still be stored redacted.
    auto j = nlohmann::json::parse(kept, nullptr, false);
    if (!j.is_discarded()) out = redact(j).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  if (out.empty()) out = redact_text(decode_ascii_escapes(kept));
  if (cut) {
    // Never inside a UTF-8 sequence.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
    out += "… (" + std::to_string(text.size()) + " bytes in all)";
  }
  return out;
}

nlohmann::json redact(const nlohmann::json& j, bool in_strings) { return redact_at(j, 0, in_strings); }

}  // namespace iamq::worker
