#include "client/signer.hpp"

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <map>
#include <memory>
#include <stdexcept>

#include "client/query_encoder.hpp"

namespace iamq::client {

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

struct EvpMacDeleter {
  void operator()(EVP_MAC* p) const { EVP_MAC_free(p); }
};
struct EvpMacCtxDeleter {
  void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); }
};
struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using EvpMacPtr = std::unique_ptr<EVP_MAC, EvpMacDeleter>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;

/// The HMAC algorithm, fetched once (EVP_MAC objects are reference counted and thread-safe
/// to share once fetched).
EVP_MAC* hmac_algorithm() {
  static const EvpMacPtr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  if (!mac) throw std::runtime_error("OpenSSL: HMAC is not available");
  return mac.get();
}

/// This thread's HMAC-SHA256 context, created once and re-initialised with each key
/// (saves a context allocation and a digest fetch per HMAC).
EVP_MAC_CTX* hmac_context() {
  thread_local const EvpMacCtxPtr ctx = [] {
    EvpMacCtxPtr c{EVP_MAC_CTX_new(hmac_algorithm())};
    if (!c) throw std::runtime_error("OpenSSL: EVP_MAC_CTX_new failed");
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(c.get(), params) != 1) {
      throw std::runtime_error("OpenSSL: HMAC-SHA256 is not available");
    }
    return c;
  }();
  return ctx.get();
}

/// Raw HMAC-SHA256(key, data).
std::string hmac_sha256(std::string_view key, std::string_view data) {
  EVP_MAC_CTX* ctx = hmac_context();
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  std::size_t out_len = 0;
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &out_len, out.size()) != 1) {
    throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(out.data()), out_len);
}

/// The signing-key derivation itself (4 HMACs), uncached.
std::string derive_signing_key(const std::string& secret_access_key, const SigningScope& scope) {
  std::string k_secret = "AWS4" + secret_access_key;
  const std::string k_date = hmac_sha256(k_secret, std::string_view(scope.amz_date).substr(0, 8));
  OPENSSL_cleanse(k_secret.data(), k_secret.size());
  const std::string k_region = hmac_sha256(k_date, scope.region);
  const std::string k_service = hmac_sha256(k_region, scope.service);
  return hmac_sha256(k_service, "aws4_request");
}

/// Signing keys derived on this thread, by (secret, date, region, service). A key is valid
/// for a whole UTC day, so a worker derives one per account and day instead of one per
/// call. A few entries, replaced round-robin; secrets and keys are wiped when replaced.
class SigningKeyCache {
 public:
  const std::string& get(const std::string& secret, const SigningScope& scope) {
    const std::string_view date = std::string_view(scope.amz_date).substr(0, 8);
    for (const Entry& e : entries_) {
      if (e.used && e.date == date && e.region == scope.region && e.service == scope.service &&
          e.secret.size() == secret.size() &&
          CRYPTO_memcmp(e.secret.data(), secret.data(), secret.size()) == 0) {
        return e.key;
      }
    }
    Entry& e = entries_[next_];
    next_ = (next_ + 1) % entries_.size();
    e.wipe();
    e.key = derive_signing_key(secret, scope);  // may throw: the entry stays unused
    e.secret = secret;
    e.date = date;
    e.region = scope.region;
    e.service = scope.service;
    e.used = true;
    return e.key;
  }
  ~SigningKeyCache() {
    for (Entry& e : entries_) e.wipe();
  }

 private:
  struct Entry {
    bool used = false;
    std::string secret, date, region, service, key;
    void wipe() {
      used = false;
      OPENSSL_cleanse(secret.data(), secret.size());
      OPENSSL_cleanse(key.data(), key.size());
      secret.clear();
      key.clear();
    }
  };
  std::array<Entry, 8> entries_;
  std::size_t next_ = 0;
};

/// This thread's SHA-256 context, re-initialised per digest.
EVP_MD_CTX* sha256_context() {
  thread_local const EvpMdCtxPtr ctx{EVP_MD_CTX_new()};
  if (!ctx) throw std::runtime_error("OpenSSL: EVP_MD_CTX_new failed");
  return ctx.get();
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0x0F]);
  }
  return out;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

/// Trims and collapses every run of whitespace (folded continuation lines included) into
/// one space, as SigV4 canonical header values require.
std::string canonical_header_value(std::string_view value) {
  value = trim(value);
  std::string out;
  out.reserve(value.size());
  bool in_space = false;
  for (const char c : value) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
  return out;
}

/// Lower-case name → values joined with ',' in the order they appear; sorted by name.
std::map<std::string, std::string> canonical_headers(const SignableRequest& req) {
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : req.headers) {
    const std::string key = lower(trim(name));
    auto [it, inserted] = headers.emplace(key, canonical_header_value(value));
    if (!inserted) {
      it->second += ',';
      it->second += canonical_header_value(value);
    }
  }
  return headers;
}

/// Removes dot segments and empty segments (repeated slashes), then URI-encodes each
/// segment. '%' is encoded too, so an already-encoded wire path is encoded a second time,
/// as SigV4 requires of every service but S3.
std::string canonical_uri(std::string_view path) {
  if (path.empty()) return "/";
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    std::size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view seg = path.substr(pos, slash - pos);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    pos = slash + 1;
  }
  // A trailing '/', "/." or "/.." leaves the result ending in '/', as RFC 3986 5.2.4 does.
  const bool trailing_slash = path.back() == '/' || path.ends_with("/.") || path.ends_with("/..") ||
                              path == "." || path == "..";
  std::string out;
  for (const auto seg : segments) {
    out += '/';
    out += percent_encode(seg);
  }
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes %XX escapes only ('+' stays a literal plus), so that both a raw and an already
/// percent-encoded query canonicalise to the same single encoding.
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view piece = query.substr(pos, amp - pos);
    if (!piece.empty()) {
      const std::size_t eq = piece.find('=');
      const std::string_view key = piece.substr(0, eq);
      const std::string_view value = eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1);
      pairs.emplace_back(percent_encode(percent_decode(key)), percent_encode(percent_decode(value)));
    }
    pos = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [key, value] : pairs) {
    if (!out.empty()) out += '&';
    out += key;
    out += '=';
    out += value;
  }
  return out;
}

bool has_header(const SignableRequest& req, std::string_view lower_name) {
  return std::any_of(req.headers.begin(), req.headers.end(),
                     [&](const auto& h) { return lower(trim(h.first)) == lower_name; });
}

void remove_header(SignableRequest& req, std::string_view lower_name) {
  std::erase_if(req.headers, [&](const auto& h) { return lower(trim(h.first)) == lower_name; });
}

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string SigningScope::credential_scope() const {
  return date() + "/" + region + "/" + service + "/aws4_request";
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::array<char, 32> buf{};
  const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf.data(), n);
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z' || !all_digits(s.substr(0, 8)) ||
      !all_digits(s.substr(9, 6))) {
    return std::nullopt;
  }
  const auto num = [&](std::size_t pos, std::size_t len) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)},
                                        std::chrono::month{static_cast<unsigned>(num(4, 2))},
                                        std::chrono::day{static_cast<unsigned>(num(6, 2))}};
  const int hh = num(9, 2);
  const int mm = num(11, 2);
  const int ss = num(13, 2);
  // system_clock counts nanoseconds in 64 bits (until 2262): refuse years it cannot hold.
  if (!ymd.ok() || ymd.year() < std::chrono::year{1970} || ymd.year() > std::chrono::year{2200} || hh > 23 ||
      mm > 59 || ss > 59) {
    return std::nullopt;
  }
  return std::chrono::sys_days{ymd} + std::chrono::hours{hh} + std::chrono::minutes{mm} +
         std::chrono::seconds{ss};
}

std::string sha256_hex(std::string_view data) {
  EVP_MD_CTX* ctx = sha256_context();
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int out_len = 0;
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &out_len) != 1) {
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(out.data()), out_len));
}

std::string signed_headers(const SignableRequest& req) {
  std::string out;
  for (const auto& entry : canonical_headers(req)) {
    if (!out.empty()) out += ';';
    out += entry.first;
  }
  return out;
}

std::string canonical_request(const SignableRequest& req) {
  const auto headers = canonical_headers(req);
  std::string out;
  out += req.method;
  out += '\n';
  out += canonical_uri(req.path);
  out += '\n';
  out += canonical_query(req.query);
  out += '\n';
  std::string names;
  for (const auto& [name, value] : headers) {
    out += name;
    out += ':';
    out += value;
    out += '\n';
    if (!names.empty()) names += ';';
    names += name;
  }
  out += '\n';
  out += names;
  out += '\n';
  out += sha256_hex(req.body);
  return out;
}

std::string string_to_sign(const std::string& canonical_request, const SigningScope& scope) {
  std::string out(kAlgorithm);
  out += '\n';
  out += scope.amz_date;
  out += '\n';
  out += scope.credential_scope();
  out += '\n';
  out += sha256_hex(canonical_request);
  return out;
}

std::string signing_key(const std::string& secret_access_key, const SigningScope& scope) {
  return derive_signing_key(secret_access_key, scope);
}

namespace {
SigningKeyCache& signing_key_cache() {
  thread_local SigningKeyCache cache;
  return cache;
}
}  // namespace

std::string cached_signing_key(const std::string& secret_access_key, const SigningScope& scope) {
  return signing_key_cache().get(secret_access_key, scope);
}

std::string signature(const std::string& string_to_sign, const std::string& secret_access_key,
                      const SigningScope& scope) {
  return to_hex(hmac_sha256(signing_key_cache().get(secret_access_key, scope), string_to_sign));
}

std::string authorization_header(const SignableRequest& req, const Credentials& creds,
                                 const SigningScope& scope) {
  const std::string sig =
      signature(string_to_sign(canonical_request(req), scope), creds.secret_access_key, scope);
  std::string out(kAlgorithm);
  out += " Credential=" + creds.access_key_id + "/" + scope.credential_scope();
  out += ", SignedHeaders=" + signed_headers(req);
  out += ", Signature=" + sig;
  return out;
}

void sign(SignableRequest& req, const Credentials& creds, const SigningScope& scope) {
  sign(req, creds, scope, SignOptions{});
}

void sign(SignableRequest& req, const Credentials& creds, const SigningScope& scope,
          const SignOptions& options) {
  if (!creds.complete()) {
    throw CredentialsError("cannot sign a request with incomplete credentials: " + creds.redacted());
  }
  if (!has_header(req, "host")) throw std::invalid_argument("cannot sign a request without a Host header");
  remove_header(req, "authorization");
  remove_header(req, "x-amz-date");
  req.headers.emplace_back("X-Amz-Date", scope.amz_date);
  if (options.add_content_sha256) {
    remove_header(req, "x-amz-content-sha256");
    req.headers.emplace_back("X-Amz-Content-SHA256", sha256_hex(req.body));
  }
  const bool with_token = !creds.session_token.empty();
  if (with_token) remove_header(req, "x-amz-security-token");
  if (with_token && !options.omit_session_token) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  const std::string auth = authorization_header(req, creds, scope);
  if (with_token && options.omit_session_token) {
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  req.headers.emplace_back("Authorization", auth);
}

std::optional<ParsedAuthorization> parse_authorization(std::string_view header_value) {
  std::string_view v = trim(header_value);
  if (!v.starts_with(kAlgorithm)) return std::nullopt;
  v.remove_prefix(kAlgorithm.size());
  if (v.empty() || !is_space(v.front())) return std::nullopt;
  v = trim(v);

  std::optional<std::string_view> credential;
  std::optional<std::string_view> headers;
  std::optional<std::string_view> sig;
  std::size_t pos = 0;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    if (comma == std::string_view::npos) comma = v.size();
    const std::string_view part = trim(v.substr(pos, comma - pos));
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = trim(part.substr(0, eq));
    const std::string_view value = trim(part.substr(eq + 1));
    std::optional<std::string_view>* slot = nullptr;
    if (key == "Credential") slot = &credential;
    else if (key == "SignedHeaders") slot = &headers;
    else if (key == "Signature") slot = &sig;
    else return std::nullopt;
    if (slot->has_value()) return std::nullopt;  // a repeated component is ambiguous
    *slot = value;
    pos = comma + 1;
  }
  if (!credential || !headers || !sig) return std::nullopt;

  ParsedAuthorization out;
  // Credential=AKID/yyyymmdd/region/service/aws4_request
  std::vector<std::string_view> scope_parts;
  for (std::size_t p = 0; p <= credential->size();) {
    std::size_t slash = credential->find('/', p);
    if (slash == std::string_view::npos) slash = credential->size();
    scope_parts.push_back(credential->substr(p, slash - p));
    p = slash + 1;
  }
  if (scope_parts.size() != 5 || scope_parts[4] != "aws4_request" || scope_parts[1].size() != 8 ||
      !all_digits(scope_parts[1])) {
    return std::nullopt;
  }
  for (const auto part : scope_parts) {
    if (part.empty()) return std::nullopt;
  }
  out.access_key_id = scope_parts[0];
  out.date = scope_parts[1];
  out.region = scope_parts[2];
  out.service = scope_parts[3];

  for (std::size_t p = 0; p <= headers->size();) {
    std::size_t semi = headers->find(';', p);
    if (semi == std::string_view::npos) semi = headers->size();
    const std::string_view name = headers->substr(p, semi - p);
    if (name.empty() || lower(name) != name ||
        std::any_of(name.begin(), name.end(), [](char c) { return is_space(c) || c == ':'; })) {
      return std::nullopt;
    }
    out.signed_headers.emplace_back(name);
    p = semi + 1;
  }

  if (sig->size() != 64 ||
      !std::all_of(sig->begin(), sig->end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })) {
    return std::nullopt;
  }
  out.signature = *sig;
  return out;
}

bool verify_signature(const SignableRequest& received, const ParsedAuthorization& auth,
                      const std::string& secret_access_key, const std::string& amz_date) {
  if (!parse_amz_date(amz_date) || amz_date.substr(0, 8) != auth.date) return false;
  if (auth.signature.size() != 64) return false;
  // AWS refuses a signature that does not cover the host.
  if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), "host") == auth.signed_headers.end()) {
    return false;
  }
  SignableRequest subset = received;
  subset.headers.clear();
  for (const auto& header : received.headers) {
    const std::string name = lower(trim(header.first));
    if (std::find(auth.signed_headers.begin(), auth.signed_headers.end(), name) != auth.signed_headers.end()) {
      subset.headers.push_back(header);
    }
  }
  for (const auto& name : auth.signed_headers) {
    if (!has_header(subset, name)) return false;  // a signed header the request does not carry
  }
  const SigningScope scope{auth.region, auth.service, amz_date};
  const std::string expected = signature(string_to_sign(canonical_request(subset), scope), secret_access_key, scope);
  return CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) == 0;
}

}  // namespace iamq::client
