#include "client/credential_json.hpp"

#include <cctype>
#include <ctime>

#include <nlohmann/json.hpp>

namespace iamq::client {

namespace {

using nlohmann::json;

bool all_of(std::string_view s, int (*pred)(int)) {
  for (char c : s)
    if (!pred(static_cast<unsigned char>(c))) return false;
  return true;
}

/// Access key ids are upper-case letters and digits; secrets and tokens printable ASCII.
bool printable(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

struct Names {
  const char* token;  // "SessionToken" or "Token"
  bool token_required;
  bool expiration_required;
};

ParsedCredentials parse(std::string_view text, std::string_view source, const Names& names,
                        const json* already = nullptr) {
  const std::string src(source);
  if (text.size() > kMaxCredentialDocumentBytes)
    return src + ": answer is larger than " + std::to_string(kMaxCredentialDocumentBytes) + " bytes";
  json doc;
  if (already) {
    doc = *already;
  } else {
    doc = json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded()) return src + ": answer is not valid JSON";
  }
  if (!doc.is_object()) return src + ": answer is not a JSON object";
  auto string_field = [&](const char* name, bool required, std::string& out) -> std::optional<std::string> {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) {
      if (required) return src + ": " + name + " is missing";
      return std::nullopt;
    }
    if (!it->is_string()) return src + ": " + name + " must be a string";
    out = it->get<std::string>();
    if (required && out.empty()) return src + ": " + name + " is empty";
    return std::nullopt;
  };
  TimedCredentials tc;
  if (auto e = string_field("AccessKeyId", true, tc.creds.access_key_id)) return *e;
  if (auto e = string_field("SecretAccessKey", true, tc.creds.secret_access_key)) return *e;
  if (auto e = string_field(names.token, names.token_required, tc.creds.session_token)) return *e;
  if (tc.creds.access_key_id.size() < 16 || tc.creds.access_key_id.size() > 128 ||
      !all_of(tc.creds.access_key_id, [](int c) { return std::isupper(c) || std::isdigit(c) ? 1 : 0; }))
    return src + ": AccessKeyId must be 16-128 upper-case letters and digits";
  if (tc.creds.secret_access_key.size() > 256 || !printable(tc.creds.secret_access_key))
    return src + ": SecretAccessKey must be at most 256 printable characters";
  if (tc.creds.session_token.size() > 8192 || !printable(tc.creds.session_token))
    return src + ": " + names.token + " must be at most 8192 printable characters";
  std::string expiration;
  if (auto e = string_field("Expiration", names.expiration_required, expiration)) return *e;
  if (!expiration.empty()) {
    auto t = parse_iso8601(expiration);
    if (!t) return src + ": Expiration is not an ISO 8601 time";
    tc.expiration = *t;
  }
  return tc;
}

int digits(std::string_view s, std::size_t pos, std::size_t n, bool& ok) {
  if (pos + n > s.size()) {
    ok = false;
    return 0;
  }
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      ok = false;
      return 0;
    }
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view s) {
  bool ok = true;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = digits(s, 0, 4, ok) - 1900;
  tm.tm_mon = digits(s, 5, 2, ok) - 1;
  tm.tm_mday = digits(s, 8, 2, ok);
  tm.tm_hour = digits(s, 11, 2, ok);
  tm.tm_min = digits(s, 14, 2, ok);
  tm.tm_sec = digits(s, 17, 2, ok);
  // system_clock counts nanoseconds: years outside 1970-2200 would overflow it.
  if (!ok || tm.tm_year < 70 || tm.tm_year > 300 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i - start > 9) return std::nullopt;
  }
  long offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    const int h = digits(s, i + 1, 2, ok), m = digits(s, i + 4, 2, ok);
    if (!ok || h > 23 || m > 59) return std::nullopt;
    offset = (s[i] == '+' ? 1 : -1) * (h * 3600L + m * 60L);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t - offset);
}

ParsedCredentials parse_process_credentials(std::string_view text) {
  const std::string src = "credential_process";
  if (text.size() > kMaxCredentialDocumentBytes)
    return src + ": output is larger than " + std::to_string(kMaxCredentialDocumentBytes) + " bytes";
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return src + ": output is not valid JSON";
  if (!doc.is_object()) return src + ": output is not a JSON object";
  auto v = doc.find("Version");
  if (v == doc.end()) return src + ": Version is missing (expected 1)";
  if (!v->is_number_integer() || v->get<long long>() != 1) return src + ": Version must be 1";
  return parse(text, src, Names{"SessionToken", false, false}, &doc);
}

ParsedCredentials parse_container_credentials(std::string_view text) {
  return parse(text, "container credentials", Names{"Token", false, false});
}

ParsedCredentials parse_imds_credentials(std::string_view text) {
  const std::string src = "instance metadata";
  if (text.size() > kMaxCredentialDocumentBytes)
    return src + ": answer is larger than " + std::to_string(kMaxCredentialDocumentBytes) + " bytes";
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return src + ": answer is not valid JSON";
  if (!doc.is_object()) return src + ": answer is not a JSON object";
  if (auto c = doc.find("Code"); c != doc.end() && !(c->is_string() && c->get<std::string>() == "Success"))
    return src + ": Code is not \"Success\"";
  return parse(text, src, Names{"Token", true, true}, &doc);
}

}  // namespace iamq::client
