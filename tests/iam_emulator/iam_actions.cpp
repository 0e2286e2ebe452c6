#include "tests/iam_emulator/iam_actions.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace iamq::emulator {

namespace {

using Err = ActionResult;

// ---------------------------------------------------------------------------------------
// Errors, shaped and worded as IAM's.

ApiError error(int status, std::string code, std::string message) {
  return ApiError{status, std::move(code), std::move(message), false};
}
ApiError no_such_entity(std::string message) { return error(404, "NoSuchEntity", std::move(message)); }
ApiError no_such_user(const std::string& name) {
  return no_such_entity("The user with name " + name + " cannot be found.");
}
ApiError delete_conflict(std::string message) {
  return error(409, "DeleteConflict", std::move(message));
}
ApiError already_exists(std::string message) {
  return error(409, "EntityAlreadyExists", std::move(message));
}
ApiError limit_exceeded(std::string quota, int n) {
  return error(409, "LimitExceeded", "Cannot exceed quota for " + quota + ": " + std::to_string(n));
}
ApiError invalid_input(std::string message) { return error(400, "InvalidInput", std::move(message)); }

/// IAM's member name in validation messages: "UserName" → "userName".
std::string member(std::string_view param) {
  std::string m(param);
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z') m[0] = static_cast<char>(m[0] - 'A' + 'a');
  if (m.rfind("sSH", 0) == 0) m = "sshPublicKey" + m.substr(12);  // SSHPublicKeyId → sshPublicKeyId
  return m;
}
ApiError validation(std::string_view param, const std::string* value, const std::string& constraint,
                    bool secret = false) {
  std::string shown = !value ? "null" : secret ? "'*******'" : "'" + *value + "'";
  return error(400, "ValidationError",
               "1 validation error detected: Value " + shown + " at '" + member(param) +
                   "' failed to satisfy constraint: " + constraint);
}

// ---------------------------------------------------------------------------------------
// Parameter validation.

enum class Chars { name, serial, path, word, digits, printable, any };

bool char_ok(Chars kind, char ch) {
  auto c = static_cast<unsigned char>(ch);
  bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  switch (kind) {
    case Chars::name:
      return word || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
    case Chars::serial:
      return word || c == '+' || c == '=' || c == '/' || c == ':' || c == ',' || c == '.' ||
             c == '@' || c == '-';
    case Chars::path:
      return c >= 0x21 && c <= 0x7e;
    case Chars::word:
      return word;
    case Chars::digits:
      return c >= '0' && c <= '9';
    case Chars::printable:
      return c == '\t' || c == '\n' || c == '\r' || c >= 0x20;
    case Chars::any:
      return true;
  }
  return false;
}

const char* pattern_text(Chars kind) {
  switch (kind) {
    case Chars::name: return "[\\w+=,.@-]+";
    case Chars::serial: return "[\\w+=/:,.@-]+";
    case Chars::path: return "(\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)";
    case Chars::word: return "[\\w]+";
    case Chars::digits: return "[\\d]+";
    case Chars::printable: return "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";
    case Chars::any: return ".*";
  }
  return "";
}

/// Reads and validates parameter `name` into `out`. Absent and not required: `out` = fallback.
Err get(const CallContext& c, std::string_view name, std::string& out, Chars kind,
        std::size_t min_len, std::size_t max_len, bool required = true, std::string fallback = {},
        bool secret = false) {
  const std::string* v = find_param(c.params, name);
  if (!v) {
    if (required) return validation(name, nullptr, "Member must not be null");
    out = std::move(fallback);
    return std::nullopt;
  }
  if (v->size() < min_len)
    return validation(name, v,
                      "Member must have length greater than or equal to " + std::to_string(min_len),
                      secret);
  if (v->size() > max_len)
    return validation(name, v,
                      "Member must have length less than or equal to " + std::to_string(max_len),
                      secret);
  for (char ch : *v) {
    if (!char_ok(kind, ch))
      return validation(name, v,
                        std::string("Member must satisfy regular expression pattern: ") +
                            pattern_text(kind),
                        secret);
  }
  if (kind == Chars::path && !(v->front() == '/' && v->back() == '/'))
    return validation(name, v,
                      std::string("Member must satisfy regular expression pattern: ") +
                          pattern_text(kind));
  out = *v;
  return std::nullopt;
}

Err get_user_name(const CallContext& c, std::string& out) {
  return get(c, "UserName", out, Chars::name, 1, 128);
}
Err get_enum(const CallContext& c, std::string_view name, std::string& out,
             std::initializer_list<const char*> values, bool required, std::string fallback = {}) {
  const std::string* v = find_param(c.params, name);
  if (!v) {
    if (required) return validation(name, nullptr, "Member must not be null");
    out = std::move(fallback);
    return std::nullopt;
  }
  std::string set;
  for (const char* allowed : values) {
    if (*v == allowed) {
      out = *v;
      return std::nullopt;
    }
    set += set.empty() ? allowed : std::string(", ") + allowed;
  }
  return validation(name, v, "Member must satisfy enum value set: [" + set + "]");
}
Err get_bool(const CallContext& c, std::string_view name, std::optional<bool>& out) {
  const std::string* v = find_param(c.params, name);
  if (!v) return std::nullopt;
  if (*v == "true") out = true;
  else if (*v == "false") out = false;
  else return validation(name, v, "Member must be true or false");
  return std::nullopt;
}
Err get_policy_document(const CallContext& c, std::string& out) {
  if (auto e = get(c, "PolicyDocument", out, Chars::printable, 1, 131072)) return e;
  if (!nlohmann::json::accept(out))
    return error(400, "MalformedPolicyDocument", "Syntax errors in policy.");
  auto doc = nlohmann::json::parse(out);
  if (!doc.is_object() || !doc.contains("Statement"))
    return error(400, "MalformedPolicyDocument", "Policy document should contain a Statement.");
  return std::nullopt;
}
Err get_arn(const CallContext& c, std::string_view name, std::string& out) {
  if (auto e = get(c, name, out, Chars::printable, 20, 2048)) return e;
  if (out.rfind("arn:", 0) != 0) return invalid_input("ARN " + out + " is not valid.");
  return std::nullopt;
}

User* find_user(const CallContext& c, const std::string& name) {
  auto it = c.account.users.find(lower(name));
  return it == c.account.users.end() ? nullptr : &it->second;
}
Err user_param(CallContext& c, User*& user) {
  if (c.caller.root_session && !find_param(c.params, "UserName")) {
    // An AssumeRoot session acts on the account's root user when no user is named.
    if (!c.account.root) {
      User root;
      root.name = "root";
      root.id = c.account.id;
      root.create_date = "2020-01-01T00:00:00Z";
      c.account.root = std::move(root);
    }
    user = &*c.account.root;
    return std::nullopt;
  }
  std::string name;
  if (auto e = get_user_name(c, name)) return e;
  user = find_user(c, name);
  if (!user) return no_such_user(name);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// XML.

pugi::xml_node add(pugi::xml_node parent, const char* name, std::string_view text) {
  pugi::xml_node n = parent.append_child(name);
  n.text().set(text.data(), text.size());
  return n;
}
const char* bool_text(bool b) { return b ? "true" : "false"; }

std::string user_arn(const Account& a, const User& u) {
  return "arn:aws:iam::" + a.id + ":user" + u.path + u.name;
}
std::string group_arn(const Account& a, const Group& g) {
  return "arn:aws:iam::" + a.id + ":group" + g.path + g.name;
}
void user_xml(pugi::xml_node n, const Account& a, const User& u, bool with_boundary) {
  add(n, "Path", u.path);
  add(n, "UserName", u.name);
  add(n, "UserId", u.id);
  add(n, "Arn", user_arn(a, u));
  add(n, "CreateDate", u.create_date);
  if (with_boundary && !u.permissions_boundary.empty()) {
    auto b = n.append_child("PermissionsBoundary");
    add(b, "PermissionsBoundaryType", "PermissionsPolicy");
    add(b, "PermissionsBoundaryArn", u.permissions_boundary);
  }
}
void group_xml(pugi::xml_node n, const Account& a, const Group& g) {
  add(n, "Path", g.path);
  add(n, "GroupName", g.name);
  add(n, "GroupId", g.id);
  add(n, "Arn", group_arn(a, g));
  add(n, "CreateDate", g.create_date);
}
std::size_t attachment_count(const Account& a, const std::string& arn, std::size_t* boundaries) {
  std::size_t n = 0, b = 0;
  for (const auto& [k, u] : a.users) {
    n += static_cast<std::size_t>(std::count(u.attached_policies.begin(), u.attached_policies.end(), arn));
    b += u.permissions_boundary == arn ? 1 : 0;
  }
  if (boundaries) *boundaries = b;
  return n;
}
void policy_xml(pugi::xml_node n, const Account& a, const ManagedPolicy& p) {
  std::size_t boundaries = 0;
  std::size_t attached = attachment_count(a, p.arn, &boundaries);
  add(n, "PolicyName", p.name);
  add(n, "PolicyId", p.id);
  add(n, "Arn", p.arn);
  add(n, "Path", p.path);
  add(n, "DefaultVersionId", "v1");
  add(n, "AttachmentCount", std::to_string(attached));
  add(n, "PermissionsBoundaryUsageCount", std::to_string(boundaries));
  add(n, "IsAttachable", "true");
  if (!p.description.empty()) add(n, "Description", p.description);
  add(n, "CreateDate", p.create_date);
  add(n, "UpdateDate", p.create_date);
}

std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// ---------------------------------------------------------------------------------------
// Pagination: MaxItems (1–1000, default the emulator's page size), Marker (opaque: the hex of
// the next item's sort key, so deleting items between pages never invalidates a marker).

struct Paging {
  std::size_t max_items = 5;
  std::optional<std::string> marker;  ///< decoded sort key to start at
};

Err read_paging(const CallContext& c, Paging& p) {
  p.max_items = static_cast<std::size_t>(c.page_size);
  if (const std::string* v = find_param(c.params, "MaxItems")) {
    int n = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || ptr != v->data() + v->size())
      return validation("MaxItems", v, "Member must be an integer");
    if (n < 1) return validation("MaxItems", v, "Member must have value greater than or equal to 1");
    if (n > 1000) return validation("MaxItems", v, "Member must have value less than or equal to 1000");
    p.max_items = static_cast<std::size_t>(n);
  }
  if (const std::string* v = find_param(c.params, "Marker")) {
    auto hex = [](char ch) -> int {
      if (ch >= '0' && ch <= '9') return ch - '0';
      if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
      return -1;
    };
    if (v->empty() || v->size() % 2 || v->size() > 640)
      return validation("Marker", v, "Member must be a marker returned by a previous call");
    std::string key;
    for (std::size_t i = 0; i < v->size(); i += 2) {
      int hi = hex((*v)[i]), lo = hex((*v)[i + 1]);
      if (hi < 0 || lo < 0)
        return validation("Marker", v, "Member must be a marker returned by a previous call");
      key.push_back(static_cast<char>(hi * 16 + lo));
    }
    p.marker = std::move(key);
  }
  return std::nullopt;
}

std::string encode_marker(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char ch : key) {
    out.push_back(kHex[ch >> 4]);
    out.push_back(kHex[ch & 15]);
  }
  return out;
}

/// Writes one page of [it, last) (already positioned at the marker) into `list`, then
/// IsTruncated and Marker into `result`. `key(item)` is the sort key, `keep(item)` a filter,
/// `emit(member_node, item)` the member's fields.
template <class It, class Key, class Keep, class Emit>
void write_page(It it, It last, const Paging& paging, pugi::xml_node result, const char* list_name,
                Key key, Keep keep, Emit emit) {
  pugi::xml_node list = result.append_child(list_name);
  std::size_t n = 0;
  for (; it != last; ++it) {
    if (!keep(*it)) continue;
    if (n == paging.max_items) break;
    emit(list.append_child("member"), *it);
    ++n;
  }
  bool truncated = it != last;
  add(result, "IsTruncated", bool_text(truncated));
  if (truncated) add(result, "Marker", encode_marker(key(*it)));
}

/// Pages a small collection sorted by `key` (per-user lists).
template <class T, class Key, class Emit>
void page_vector(const std::vector<const T*>& items_in, const Paging& paging, pugi::xml_node result,
                 const char* list_name, Key key, Emit emit) {
  std::vector<const T*> items = items_in;
  std::sort(items.begin(), items.end(), [&](const T* a, const T* b) { return key(*a) < key(*b); });
  auto it = items.begin();
  if (paging.marker)
    it = std::lower_bound(items.begin(), items.end(), *paging.marker,
                          [&](const T* a, const std::string& m) { return key(*a) < m; });
  write_page(
      it, items.end(), paging, result, list_name, [&](const T* p) { return key(*p); },
      [](const T*) { return true; }, [&](pugi::xml_node n, const T* p) { emit(n, *p); });
}

template <class T>
std::vector<const T*> pointers(const std::vector<T>& v) {
  std::vector<const T*> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(&x);
  return out;
}

/// Marks the user changed (the worker's unmodifiable window keys off this in emulator.cpp).
Err check_path_prefix(const CallContext& c, std::string& prefix) {
  return get(c, "PathPrefix", prefix, Chars::path, 1, 512, false, "/");
}

// ---------------------------------------------------------------------------------------
// Users.

Err create_user(CallContext& c, pugi::xml_node r) {
  std::string name, path, boundary;
  if (auto e = get(c, "UserName", name, Chars::name, 1, 64)) return e;
  if (auto e = get(c, "Path", path, Chars::path, 1, 512, false, "/")) return e;
  if (find_param(c.params, "PermissionsBoundary")) {
    if (auto e = get_arn(c, "PermissionsBoundary", boundary)) return e;
    if (!find_policy(c.account, boundary))
      return no_such_entity("Scope ARN: " + boundary + " does not exist or is not attachable.");
  }
  if (find_user(c, name)) return already_exists("User with name " + name + " already exists.");
  User u;
  u.name = name;
  u.path = path;
  u.id = c.state.next_id("AIDA", 17);
  u.create_date = iso8601(c.now);
  u.permissions_boundary = boundary;
  user_xml(r.append_child("User"), c.account, u, true);
  c.account.users.emplace(lower(name), std::move(u));
  return std::nullopt;
}

Err get_user(CallContext& c, pugi::xml_node r) {
  if (!find_param(c.params, "UserName")) {
    // The caller itself: operator keys stand for the account's root user.
    auto u = r.append_child("User");
    add(u, "UserId", c.account.id);
    add(u, "Arn", "arn:aws:iam::" + c.account.id + ":root");
    add(u, "CreateDate", "2020-01-01T00:00:00Z");
    return std::nullopt;
  }
  User* user = nullptr;
  if (auto e = user_param(c, user)) return e;
  user_xml(r.append_child("User"), c.account, *user, true);
  return std::nullopt;
}

Err list_users(CallContext& c, pugi::xml_node r) {
  Paging paging;
  std::string prefix;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = check_path_prefix(c, prefix)) return e;
  auto& users = c.account.users;
  auto it = paging.marker ? users.lower_bound(*paging.marker) : users.begin();
  write_page(
      it, users.end(), paging, r, "Users", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) { return kv.second.path.rfind(prefix, 0) == 0; },
      [&](pugi::xml_node n, const auto& kv) { user_xml(n, c.account, kv.second, false); });
  return std::nullopt;
}

Err delete_user(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  if (auto e = user_param(c, u)) return e;
  const char* what = nullptr;
  if (u->login_profile) what = "must delete login profile first";
  else if (!u->access_keys.empty()) what = "must delete access keys first";
  else if (!u->signing_certificates.empty()) what = "must delete signing certificates first";
  else if (!u->ssh_public_keys.empty()) what = "must delete SSH public keys first";
  else if (!u->service_credentials.empty()) what = "must delete service specific credentials first";
  else if (!u->mfa_devices.empty()) what = "must remove MFA devices first";
  else if (!u->inline_policies.empty()) what = "must delete policies first";
  else if (!u->attached_policies.empty()) what = "must detach all policies first";
  else if (!u->groups.empty()) what = "must remove users from group first";
  if (what) return delete_conflict(std::string("Cannot delete entity, ") + what + ".");
  c.account.users.erase(lower(u->name));
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Login profiles.

void login_profile_xml(pugi::xml_node r, const User& u) {
  auto n = r.append_child("LoginProfile");
  add(n, "UserName", u.name);
  add(n, "CreateDate", u.login_profile->create_date);
  add(n, "PasswordResetRequired", bool_text(u.login_profile->password_reset_required));
}
ApiError no_login_profile(const User& u) {
  return no_such_entity("Login Profile for User " + u.name + " cannot be found.");
}

Err create_login_profile(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  std::string password;
  std::optional<bool> reset;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "Password", password, Chars::printable, 1, 128, true, {}, true)) return e;
  if (auto e = get_bool(c, "PasswordResetRequired", reset)) return e;
  if (u->login_profile)
    return already_exists("Login Profile for user " + u->name + " already exists.");
  u->login_profile = LoginProfile{iso8601(c.now), reset.value_or(false)};
  login_profile_xml(r, *u);
  return std::nullopt;
}
Err get_login_profile(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  if (auto e = user_param(c, u)) return e;
  if (!u->login_profile) return no_login_profile(*u);
  login_profile_xml(r, *u);
  return std::nullopt;
}
Err update_login_profile(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string password;
  std::optional<bool> reset;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "Password", password, Chars::printable, 1, 128, false, {}, true)) return e;
  if (auto e = get_bool(c, "PasswordResetRequired", reset)) return e;
  if (!u->login_profile) return no_login_profile(*u);
  if (reset) u->login_profile->password_reset_required = *reset;
  return std::nullopt;
}
Err delete_login_profile(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  if (auto e = user_param(c, u)) return e;
  if (!u->login_profile) return no_login_profile(*u);
  u->login_profile.reset();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Credentials with a status: access keys, signing certificates, SSH keys, service credentials.

template <class T>
T* find_by_id(std::vector<T>& v, const std::string& id) {
  for (auto& x : v)
    if (x.id == id) return &x;
  return nullptr;
}
template <class T>
void erase_by_id(std::vector<T>& v, const std::string& id) {
  v.erase(std::remove_if(v.begin(), v.end(), [&](const T& x) { return x.id == id; }), v.end());
}

Err create_access_key(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  if (auto e = user_param(c, u)) return e;
  if (u->access_keys.size() >= 2) return limit_exceeded("AccessKeysPerUser", 2);
  AccessKey k{c.state.next_id("AKIA", 16), "Active", iso8601(c.now)};
  auto n = r.append_child("AccessKey");
  add(n, "UserName", u->name);
  add(n, "AccessKeyId", k.id);
  add(n, "Status", k.status);
  // Shown once, as IAM does; the emulator does not keep it.
  add(n, "SecretAccessKey", base64(c.state.next_id("", 30)).substr(0, 40));
  add(n, "CreateDate", k.create_date);
  u->access_keys.push_back(std::move(k));
  return std::nullopt;
}
Err list_access_keys(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  page_vector(pointers(u->access_keys), paging, r, "AccessKeyMetadata",
              [](const AccessKey& k) { return k.id; },
              [&](pugi::xml_node n, const AccessKey& k) {
                add(n, "UserName", u->name);
                add(n, "AccessKeyId", k.id);
                add(n, "Status", k.status);
                add(n, "CreateDate", k.create_date);
              });
  return std::nullopt;
}
Err update_access_key(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id, status;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "AccessKeyId", id, Chars::word, 16, 128)) return e;
  if (auto e = get_enum(c, "Status", status, {"Active", "Inactive"}, true)) return e;
  AccessKey* k = find_by_id(u->access_keys, id);
  if (!k) return no_such_entity("The Access Key with id " + id + " cannot be found.");
  k->status = status;
  return std::nullopt;
}
Err delete_access_key(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "AccessKeyId", id, Chars::word, 16, 128)) return e;
  if (!find_by_id(u->access_keys, id))
    return no_such_entity("The Access Key with id " + id + " cannot be found.");
  erase_by_id(u->access_keys, id);
  return std::nullopt;
}

void certificate_xml(pugi::xml_node n, const User& u, const SigningCertificate& cert) {
  add(n, "UserName", u.name);
  add(n, "CertificateId", cert.id);
  add(n, "CertificateBody", cert.body);
  add(n, "Status", cert.status);
  add(n, "UploadDate", cert.upload_date);
}
Err upload_signing_certificate(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  std::string body;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "CertificateBody", body, Chars::printable, 1, 16384)) return e;
  if (body.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
      body.find("-----END CERTIFICATE-----") == std::string::npos)
    return error(400, "MalformedCertificate",
                 "Unable to parse certificate. Please ensure the certificate is in PEM format.");
  for (const auto& [k, other] : c.account.users)
    for (const auto& cert : other.signing_certificates)
      if (cert.body == body) return error(409, "DuplicateCertificate", "The certificate already exists.");
  if (u->signing_certificates.size() >= 2) return limit_exceeded("SigningCertificatesPerUser", 2);
  SigningCertificate cert{c.state.next_id("", 32), body, "Active", iso8601(c.now)};
  certificate_xml(r.append_child("Certificate"), *u, cert);
  u->signing_certificates.push_back(std::move(cert));
  return std::nullopt;
}
Err list_signing_certificates(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  page_vector(pointers(u->signing_certificates), paging, r, "Certificates",
              [](const SigningCertificate& x) { return x.id; },
              [&](pugi::xml_node n, const SigningCertificate& x) { certificate_xml(n, *u, x); });
  return std::nullopt;
}
Err update_signing_certificate(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id, status;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "CertificateId", id, Chars::word, 24, 128)) return e;
  if (auto e = get_enum(c, "Status", status, {"Active", "Inactive"}, true)) return e;
  SigningCertificate* cert = find_by_id(u->signing_certificates, id);
  if (!cert) return no_such_entity("The Certificate with id " + id + " cannot be found.");
  cert->status = status;
  return std::nullopt;
}
Err delete_signing_certificate(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "CertificateId", id, Chars::word, 24, 128)) return e;
  if (!find_by_id(u->signing_certificates, id))
    return no_such_entity("The Certificate with id " + id + " cannot be found.");
  erase_by_id(u->signing_certificates, id);
  return std::nullopt;
}

std::string fingerprint(std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), md, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    if (i) out.push_back(':');
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}
Err upload_ssh_public_key(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  std::string body;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "SSHPublicKeyBody", body, Chars::printable, 1, 16384)) return e;
  if (body.rfind("ssh-rsa ", 0) != 0 && body.rfind("ssh-ed25519 ", 0) != 0)
    return error(400, "UnrecognizedPublicKeyEncoding",
                 "Request contains a public key in an unrecognized encoding.");
  for (const auto& k : u->ssh_public_keys)
    if (k.body == body) return error(400, "DuplicateSSHPublicKey", "The public key already exists.");
  if (u->ssh_public_keys.size() >= 5) return limit_exceeded("SSHPublicKeysPerUser", 5);
  SshPublicKey k{c.state.next_id("APKA", 17), body, fingerprint(body), "Active", iso8601(c.now)};
  auto n = r.append_child("SSHPublicKey");
  add(n, "UserName", u->name);
  add(n, "SSHPublicKeyId", k.id);
  add(n, "Fingerprint", k.fingerprint);
  add(n, "SSHPublicKeyBody", k.body);
  add(n, "Status", k.status);
  add(n, "UploadDate", k.upload_date);
  u->ssh_public_keys.push_back(std::move(k));
  return std::nullopt;
}
Err list_ssh_public_keys(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  page_vector(pointers(u->ssh_public_keys), paging, r, "SSHPublicKeys",
              [](const SshPublicKey& x) { return x.id; },
              [&](pugi::xml_node n, const SshPublicKey& x) {
                add(n, "UserName", u->name);
                add(n, "SSHPublicKeyId", x.id);
                add(n, "Status", x.status);
                add(n, "UploadDate", x.upload_date);
              });
  return std::nullopt;
}
Err update_ssh_public_key(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id, status;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "SSHPublicKeyId", id, Chars::word, 20, 128)) return e;
  if (auto e = get_enum(c, "Status", status, {"Active", "Inactive"}, true)) return e;
  SshPublicKey* k = find_by_id(u->ssh_public_keys, id);
  if (!k) return no_such_entity("The Public Key with id " + id + " cannot be found.");
  k->status = status;
  return std::nullopt;
}
Err delete_ssh_public_key(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "SSHPublicKeyId", id, Chars::word, 20, 128)) return e;
  if (!find_by_id(u->ssh_public_keys, id))
    return no_such_entity("The Public Key with id " + id + " cannot be found.");
  erase_by_id(u->ssh_public_keys, id);
  return std::nullopt;
}

void service_credential_xml(pugi::xml_node n, const User& u, const ServiceCredential& x) {
  add(n, "UserName", u.name);
  add(n, "Status", x.status);
  add(n, "ServiceUserName", x.service_user_name);
  add(n, "CreateDate", x.create_date);
  add(n, "ServiceSpecificCredentialId", x.id);
  add(n, "ServiceName", x.service_name);
}
bool supported_service(std::string_view s) {
  return s == "codecommit.amazonaws.com" || s == "cassandra.amazonaws.com";
}
Err create_service_specific_credential(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  std::string service;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "ServiceName", service, Chars::printable, 1, 128)) return e;
  if (!supported_service(service))
    return error(404, "NotSupportedService", "Service " + service + " is not supported.");
  auto same = std::count_if(u->service_credentials.begin(), u->service_credentials.end(),
                            [&](const ServiceCredential& x) { return x.service_name == service; });
  if (same >= 2) return limit_exceeded("ServiceSpecificCredentialsPerUserPerService", 2);
  ServiceCredential x{c.state.next_id("ACCA", 17), service, u->name + "-at-" + c.account.id,
                      "Active", iso8601(c.now)};
  auto n = r.append_child("ServiceSpecificCredential");
  add(n, "CreateDate", x.create_date);
  add(n, "ServiceName", x.service_name);
  add(n, "ServiceUserName", x.service_user_name);
  add(n, "ServicePassword", base64(c.state.next_id("", 30)));  // shown once, not kept
  add(n, "ServiceSpecificCredentialId", x.id);
  add(n, "UserName", u->name);
  add(n, "Status", x.status);
  u->service_credentials.push_back(std::move(x));
  return std::nullopt;
}
Err list_service_specific_credentials(CallContext& c, pugi::xml_node r) {
  // Like IAM, this List* is not paginated (at most 2 per service and user).
  User* u = nullptr;
  std::string service;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "ServiceName", service, Chars::printable, 1, 128, false)) return e;
  auto list = r.append_child("ServiceSpecificCredentials");
  for (const auto& x : u->service_credentials)
    if (service.empty() || x.service_name == service)
      service_credential_xml(list.append_child("member"), *u, x);
  return std::nullopt;
}
Err update_service_specific_credential(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id, status;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "ServiceSpecificCredentialId", id, Chars::word, 20, 128)) return e;
  if (auto e = get_enum(c, "Status", status, {"Active", "Inactive"}, true)) return e;
  ServiceCredential* x = find_by_id(u->service_credentials, id);
  if (!x) return no_such_entity("No such credential " + id + " exists.");
  x->status = status;
  return std::nullopt;
}
Err delete_service_specific_credential(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string id;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "ServiceSpecificCredentialId", id, Chars::word, 20, 128)) return e;
  if (!find_by_id(u->service_credentials, id))
    return no_such_entity("No such credential " + id + " exists.");
  erase_by_id(u->service_credentials, id);
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// MFA devices.

Err get_serial(const CallContext& c, std::string& serial) {
  return get(c, "SerialNumber", serial, Chars::serial, 9, 256);
}

Err create_virtual_mfa_device(CallContext& c, pugi::xml_node r) {
  std::string name, path;
  if (auto e = get(c, "VirtualMFADeviceName", name, Chars::name, 1, 226)) return e;
  if (auto e = get(c, "Path", path, Chars::path, 1, 512, false, "/")) return e;
  std::string serial = "arn:aws:iam::" + c.account.id + ":mfa" + path + name;
  if (c.account.virtual_mfa_devices.count(serial))
    return already_exists("MFADevice entity at the same path and name already exists.");
  c.account.virtual_mfa_devices.emplace(serial, VirtualMfaDevice{serial, iso8601(c.now), "", ""});
  auto n = r.append_child("VirtualMFADevice");
  add(n, "SerialNumber", serial);
  std::string seed = c.state.next_id("", 32);  // a base32 TOTP seed
  add(n, "Base32StringSeed", base64(seed));
  add(n, "QRCodePNG", base64("\x89PNG\r\n\x1a\n" + seed));
  return std::nullopt;
}

Err enable_mfa_device(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string serial, code1, code2;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get_serial(c, serial)) return e;
  if (auto e = get(c, "AuthenticationCode1", code1, Chars::digits, 6, 6)) return e;
  if (auto e = get(c, "AuthenticationCode2", code2, Chars::digits, 6, 6)) return e;
  if (code1 == code2)
    return invalid_input("Authentication code for device is not valid.");
  if (u->mfa_devices.size() >= 8) return limit_exceeded("MFADevicesPerUser", 8);
  if (is_virtual_serial(serial)) {
    auto it = c.account.virtual_mfa_devices.find(serial);
    if (it == c.account.virtual_mfa_devices.end())
      return no_such_entity("VMFA with serial number " + serial + " doesn't exist.");
    if (!it->second.user.empty()) return already_exists("MFA device is already in use.");
    it->second.user = lower(u->name);
    it->second.enable_date = iso8601(c.now);
  } else {
    for (const auto& [k, other] : c.account.users)
      for (const auto& d : other.mfa_devices)
        if (d.serial == serial) return already_exists("MFA device is already in use.");
  }
  u->mfa_devices.push_back({serial, iso8601(c.now)});
  return std::nullopt;
}

Err deactivate_mfa_device(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string serial;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get_serial(c, serial)) return e;
  auto it = std::find_if(u->mfa_devices.begin(), u->mfa_devices.end(),
                         [&](const MfaDevice& d) { return d.serial == serial; });
  if (it == u->mfa_devices.end())
    return no_such_entity("MFA Device with serial number " + serial + " does not exist.");
  u->mfa_devices.erase(it);
  if (auto v = c.account.virtual_mfa_devices.find(serial); v != c.account.virtual_mfa_devices.end()) {
    v->second.user.clear();
    v->second.enable_date.clear();
  }
  return std::nullopt;
}

Err delete_virtual_mfa_device(CallContext& c, pugi::xml_node) {
  std::string serial;
  if (auto e = get_serial(c, serial)) return e;
  auto it = c.account.virtual_mfa_devices.find(serial);
  if (it == c.account.virtual_mfa_devices.end())
    return no_such_entity("VMFA with serial number " + serial + " doesn't exist.");
  if (!it->second.user.empty())
    return delete_conflict("MFA device is still enabled for a user; deactivate it first.");
  c.account.virtual_mfa_devices.erase(it);
  return std::nullopt;
}

Err list_mfa_devices(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  page_vector(pointers(u->mfa_devices), paging, r, "MFADevices",
              [](const MfaDevice& d) { return d.serial; },
              [&](pugi::xml_node n, const MfaDevice& d) {
                add(n, "UserName", u->name);
                add(n, "SerialNumber", d.serial);
                add(n, "EnableDate", d.enable_date);
              });
  return std::nullopt;
}

Err list_virtual_mfa_devices(CallContext& c, pugi::xml_node r) {
  Paging paging;
  std::string status;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = get_enum(c, "AssignmentStatus", status, {"Assigned", "Unassigned", "Any"}, false, "Any"))
    return e;
  auto& devices = c.account.virtual_mfa_devices;
  auto it = paging.marker ? devices.lower_bound(*paging.marker) : devices.begin();
  write_page(
      it, devices.end(), paging, r, "VirtualMFADevices", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) {
        bool assigned = !kv.second.user.empty();
        return status == "Any" || (status == "Assigned") == assigned;
      },
      [&](pugi::xml_node n, const auto& kv) {
        add(n, "SerialNumber", kv.first);
        if (!kv.second.user.empty()) {
          if (auto u = c.account.users.find(kv.second.user); u != c.account.users.end())
            user_xml(n.append_child("User"), c.account, u->second, false);
          add(n, "EnableDate", kv.second.enable_date);
        }
      });
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Inline and managed policies, permissions boundaries.

Err put_user_policy(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string name, doc;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "PolicyName", name, Chars::name, 1, 128)) return e;
  if (auto e = get_policy_document(c, doc)) return e;
  std::size_t total = doc.size();
  for (const auto& [n, d] : u->inline_policies)
    if (n != name) total += d.size();
  if (total > 2048)
    return error(409, "LimitExceeded",
                 "Maximum policy size of 2048 bytes exceeded for user " + u->name);
  u->inline_policies[name] = doc;
  return std::nullopt;
}
Err get_user_policy(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  std::string name;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "PolicyName", name, Chars::name, 1, 128)) return e;
  auto it = u->inline_policies.find(name);
  if (it == u->inline_policies.end())
    return no_such_entity("The user policy with name " + name + " cannot be found.");
  add(r, "UserName", u->name);
  add(r, "PolicyName", name);
  add(r, "PolicyDocument", client::percent_encode(it->second));  // IAM URL-encodes it
  return std::nullopt;
}
Err list_user_policies(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  auto& m = u->inline_policies;
  auto it = paging.marker ? m.lower_bound(*paging.marker) : m.begin();
  write_page(
      it, m.end(), paging, r, "PolicyNames", [](const auto& kv) { return kv.first; },
      [](const auto&) { return true; },
      [](pugi::xml_node n, const auto& kv) { n.text().set(kv.first.c_str()); });
  return std::nullopt;
}
Err delete_user_policy(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string name;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get(c, "PolicyName", name, Chars::name, 1, 128)) return e;
  if (!u->inline_policies.erase(name))
    return no_such_entity("The user policy with name " + name + " cannot be found.");
  return std::nullopt;
}

Err create_policy(CallContext& c, pugi::xml_node r) {
  std::string name, path, doc, description;
  if (auto e = get(c, "PolicyName", name, Chars::name, 1, 128)) return e;
  if (auto e = get(c, "Path", path, Chars::path, 1, 512, false, "/")) return e;
  if (auto e = get_policy_document(c, doc)) return e;
  if (auto e = get(c, "Description", description, Chars::printable, 0, 1000, false)) return e;
  std::string arn = "arn:aws:iam::" + c.account.id + ":policy" + path + name;
  for (const auto& [a, p] : c.account.policies)
    if (lower(p.name) == lower(name))
      return already_exists("A policy called " + name +
                            " already exists. Duplicate names are not allowed.");
  ManagedPolicy p{name, c.state.next_id("ANPA", 17), arn, path, doc, description, iso8601(c.now)};
  auto& stored = c.account.policies.emplace(arn, std::move(p)).first->second;
  policy_xml(r.append_child("Policy"), c.account, stored);
  return std::nullopt;
}
Err get_policy(CallContext& c, pugi::xml_node r) {
  std::string arn;
  if (auto e = get_arn(c, "PolicyArn", arn)) return e;
  const ManagedPolicy* p = find_policy(c.account, arn);
  if (!p) return no_such_entity("Policy " + arn + " was not found.");
  policy_xml(r.append_child("Policy"), c.account, *p);
  return std::nullopt;
}
Err delete_policy(CallContext& c, pugi::xml_node) {
  std::string arn;
  if (auto e = get_arn(c, "PolicyArn", arn)) return e;
  auto it = c.account.policies.find(arn);
  if (it == c.account.policies.end()) {
    if (find_policy(c.account, arn))
      return invalid_input("Cannot delete the AWS managed policy " + arn + ".");
    return no_such_entity("Policy " + arn + " was not found.");
  }
  std::size_t boundaries = 0;
  if (attachment_count(c.account, arn, &boundaries) > 0)
    return delete_conflict("Cannot delete a policy attached to entities.");
  if (boundaries > 0)
    return delete_conflict("Cannot delete a policy used as a permissions boundary.");
  c.account.policies.erase(it);
  return std::nullopt;
}
Err list_policies(CallContext& c, pugi::xml_node r) {
  Paging paging;
  std::string scope, prefix;
  std::optional<bool> only_attached;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = get_enum(c, "Scope", scope, {"All", "AWS", "Local"}, false, "All")) return e;
  if (auto e = get_bool(c, "OnlyAttached", only_attached)) return e;
  if (auto e = check_path_prefix(c, prefix)) return e;
  std::vector<const ManagedPolicy*> all;
  if (scope != "Local")
    for (const auto& p : aws_managed_policies()) all.push_back(&p);
  if (scope != "AWS")
    for (const auto& [arn, p] : c.account.policies) all.push_back(&p);
  std::vector<const ManagedPolicy*> kept;
  for (const ManagedPolicy* p : all) {
    if (p->path.rfind(prefix, 0) != 0) continue;
    if (only_attached.value_or(false) && attachment_count(c.account, p->arn, nullptr) == 0) continue;
    kept.push_back(p);
  }
  page_vector(kept, paging, r, "Policies", [](const ManagedPolicy& p) { return p.arn; },
              [&](pugi::xml_node n, const ManagedPolicy& p) { policy_xml(n, c.account, p); });
  return std::nullopt;
}

Err attach_user_policy(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string arn;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get_arn(c, "PolicyArn", arn)) return e;
  if (!find_policy(c.account, arn))
    return no_such_entity("Policy " + arn + " does not exist or is not attachable.");
  if (std::find(u->attached_policies.begin(), u->attached_policies.end(), arn) !=
      u->attached_policies.end())
    return std::nullopt;  // attaching twice is a no-op in IAM
  if (u->attached_policies.size() >= 10) return limit_exceeded("PoliciesPerUser", 10);
  u->attached_policies.push_back(arn);
  return std::nullopt;
}
Err detach_user_policy(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string arn;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get_arn(c, "PolicyArn", arn)) return e;
  auto it = std::find(u->attached_policies.begin(), u->attached_policies.end(), arn);
  if (it == u->attached_policies.end()) return no_such_entity("Policy " + arn + " was not found.");
  u->attached_policies.erase(it);
  return std::nullopt;
}
Err list_attached_user_policies(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  std::string prefix;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = check_path_prefix(c, prefix)) return e;
  std::vector<const ManagedPolicy*> kept;
  for (const auto& arn : u->attached_policies) {
    const ManagedPolicy* p = find_policy(c.account, arn);
    if (p && p->path.rfind(prefix, 0) == 0) kept.push_back(p);
  }
  page_vector(kept, paging, r, "AttachedPolicies", [](const ManagedPolicy& p) { return p.arn; },
              [](pugi::xml_node n, const ManagedPolicy& p) {
                add(n, "PolicyName", p.name);
                add(n, "PolicyArn", p.arn);
              });
  return std::nullopt;
}
Err put_user_permissions_boundary(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  std::string arn;
  if (auto e = user_param(c, u)) return e;
  if (auto e = get_arn(c, "PermissionsBoundary", arn)) return e;
  if (!find_policy(c.account, arn))
    return no_such_entity("Scope ARN: " + arn + " does not exist or is not attachable.");
  u->permissions_boundary = arn;
  return std::nullopt;
}
Err delete_user_permissions_boundary(CallContext& c, pugi::xml_node) {
  User* u = nullptr;
  if (auto e = user_param(c, u)) return e;
  if (u->permissions_boundary.empty())
    return no_such_entity("The user " + u->name + " has no permissions boundary.");
  u->permissions_boundary.clear();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Groups.

Group* find_group(const CallContext& c, const std::string& name) {
  auto it = c.account.groups.find(lower(name));
  return it == c.account.groups.end() ? nullptr : &it->second;
}
Err group_param(CallContext& c, Group*& g) {
  std::string name;
  if (auto e = get(c, "GroupName", name, Chars::name, 1, 128)) return e;
  g = find_group(c, name);
  if (!g) return no_such_entity("The group with name " + name + " cannot be found.");
  return std::nullopt;
}
bool in_group(const User& u, const Group& g) {
  return std::any_of(u.groups.begin(), u.groups.end(),
                     [&](const std::string& n) { return lower(n) == lower(g.name); });
}

Err create_group(CallContext& c, pugi::xml_node r) {
  std::string name, path;
  if (auto e = get(c, "GroupName", name, Chars::name, 1, 128)) return e;
  if (auto e = get(c, "Path", path, Chars::path, 1, 512, false, "/")) return e;
  if (find_group(c, name)) return already_exists("Group with name " + name + " already exists.");
  Group g{name, c.state.next_id("AGPA", 17), path, iso8601(c.now)};
  group_xml(r.append_child("Group"), c.account, g);
  c.account.groups.emplace(lower(name), std::move(g));
  return std::nullopt;
}
Err get_group(CallContext& c, pugi::xml_node r) {
  Group* g = nullptr;
  Paging paging;
  if (auto e = group_param(c, g)) return e;
  if (auto e = read_paging(c, paging)) return e;
  group_xml(r.append_child("Group"), c.account, *g);
  auto& users = c.account.users;
  auto it = paging.marker ? users.lower_bound(*paging.marker) : users.begin();
  write_page(
      it, users.end(), paging, r, "Users", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) { return in_group(kv.second, *g); },
      [&](pugi::xml_node n, const auto& kv) { user_xml(n, c.account, kv.second, false); });
  return std::nullopt;
}
Err list_groups(CallContext& c, pugi::xml_node r) {
  Paging paging;
  std::string prefix;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = check_path_prefix(c, prefix)) return e;
  auto& groups = c.account.groups;
  auto it = paging.marker ? groups.lower_bound(*paging.marker) : groups.begin();
  write_page(
      it, groups.end(), paging, r, "Groups", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) { return kv.second.path.rfind(prefix, 0) == 0; },
      [&](pugi::xml_node n, const auto& kv) { group_xml(n, c.account, kv.second); });
  return std::nullopt;
}
Err delete_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  if (auto e = group_param(c, g)) return e;
  for (const auto& [k, u] : c.account.users)
    if (in_group(u, *g))
      return delete_conflict("Cannot delete entity, must remove users from group first.");
  c.account.groups.erase(lower(g->name));
  return std::nullopt;
}
Err add_user_to_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  User* u = nullptr;
  if (auto e = group_param(c, g)) return e;
  if (auto e = user_param(c, u)) return e;
  if (in_group(*u, *g)) return std::nullopt;  // idempotent, as IAM
  if (u->groups.size() >= 10) return limit_exceeded("GroupsPerUser", 10);
  u->groups.push_back(g->name);
  return std::nullopt;
}
Err remove_user_from_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  User* u = nullptr;
  if (auto e = group_param(c, g)) return e;
  if (auto e = user_param(c, u)) return e;
  auto it = std::find_if(u->groups.begin(), u->groups.end(),
                         [&](const std::string& n) { return lower(n) == lower(g->name); });
  if (it == u->groups.end())
    return no_such_entity("User " + u->name + " is not in group " + g->name + ".");
  u->groups.erase(it);
  return std::nullopt;
}
Err list_groups_for_user(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  std::vector<const Group*> groups;
  for (const auto& name : u->groups)
    if (const Group* g = find_group(c, name)) groups.push_back(g);
  page_vector(groups, paging, r, "Groups", [](const Group& g) { return lower(g.name); },
              [&](pugi::xml_node n, const Group& g) { group_xml(n, c.account, g); });
  return std::nullopt;
}

const std::vector<ActionSpec> kActions = {
    {"CreateUser", true, create_user},
    {"GetUser", false, get_user},
    {"ListUsers", false, list_users},
    {"DeleteUser", true, delete_user},
    {"CreateLoginProfile", true, create_login_profile},
    {"GetLoginProfile", false, get_login_profile},
    {"UpdateLoginProfile", true, update_login_profile},
    {"DeleteLoginProfile", true, delete_login_profile},
    {"CreateAccessKey", true, create_access_key},
    {"ListAccessKeys", false, list_access_keys},
    {"UpdateAccessKey", true, update_access_key},
    {"DeleteAccessKey", true, delete_access_key},
    {"UploadSigningCertificate", true, upload_signing_certificate},
    {"ListSigningCertificates", false, list_signing_certificates},
    {"UpdateSigningCertificate", true, update_signing_certificate},
    {"DeleteSigningCertificate", true, delete_signing_certificate},
    {"UploadSSHPublicKey", true, upload_ssh_public_key},
    {"ListSSHPublicKeys", false, list_ssh_public_keys},
    {"UpdateSSHPublicKey", true, update_ssh_public_key},
    {"DeleteSSHPublicKey", true, delete_ssh_public_key},
    {"CreateServiceSpecificCredential", true, create_service_specific_credential},
    {"ListServiceSpecificCredentials", false, list_service_specific_credentials},
    {"UpdateServiceSpecificCredential", true, update_service_specific_credential},
    {"DeleteServiceSpecificCredential", true, delete_service_specific_credential},
    {"CreateVirtualMFADevice", true, create_virtual_mfa_device},
    {"EnableMFADevice", true, enable_mfa_device},
    {"DeactivateMFADevice", true, deactivate_mfa_device},
    {"DeleteVirtualMFADevice", true, delete_virtual_mfa_device},
    {"ListMFADevices", false, list_mfa_devices},
    {"ListVirtualMFADevices", false, list_virtual_mfa_devices},
    {"PutUserPolicy", true, put_user_policy},
    {"GetUserPolicy", false, get_user_policy},
    {"ListUserPolicies", false, list_user_policies},
    {"DeleteUserPolicy", true, delete_user_policy},
    {"CreatePolicy", true, create_policy},
    {"GetPolicy", false, get_policy},
    {"DeletePolicy", true, delete_policy},
    {"ListPolicies", false, list_policies},
    {"AttachUserPolicy", true, attach_user_policy},
    {"DetachUserPolicy", true, detach_user_policy},
    {"ListAttachedUserPolicies", false, list_attached_user_policies},
    {"PutUserPermissionsBoundary", true, put_user_permissions_boundary},
    {"DeleteUserPermissionsBoundary", true, delete_user_permissions_boundary},
    {"CreateGroup", true, create_group},
    {"GetGroup", false, get_group},
    {"ListGroups", false, list_groups},
    {"DeleteGroup", true, delete_group},
    {"AddUserToGroup", true, add_user_to_group},
    {"RemoveUserFromGroup", true, remove_user_from_group},
    {"ListGroupsForUser", false, list_groups_for_user},
};

/// string_view-keyed index, built once.
const std::unordered_map<std::string_view, const ActionSpec*>& action_index() {
  static const auto index = [] {
    std::unordered_map<std::string_view, const ActionSpec*> m;
    m.reserve(kActions.size() * 2);
    for (const auto& a : kActions) m.emplace(a.name, &a);
    return m;
  }();
  return index;
}

/// pugixml writer into a std::string.
struct StringWriter : pugi::xml_writer {
  std::string& out;
  explicit StringWriter(std::string& o) : out(o) {}
  void write(const void* data, std::size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

}  // namespace

const ActionSpec* find_action(std::string_view name) {
  const auto& index = action_index();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const std::vector<ActionSpec>& all_actions() { return kActions; }

const std::string* find_param(const client::Params& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

std::string error_xml(const ApiError& e, const std::string& request_id) {
  pugi::xml_document doc;
  auto root = doc.append_child("ErrorResponse");
  root.append_attribute("xmlns") = kIamNamespace;
  auto err = root.append_child("Error");
  add(err, "Type", e.receiver ? "Receiver" : "Sender");
  add(err, "Code", e.code);
  add(err, "Message", e.message);
  add(root, "RequestId", request_id);
  std::string body;
  body.reserve(256);
  StringWriter w(body);
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
  return body;
}

ActionResult run_action(const ActionSpec& spec, CallContext& ctx, const std::string& request_id,
                        std::string& body) {
  pugi::xml_document doc;
  std::string name(spec.name);
  auto root = doc.append_child((name + "Response").c_str());
  root.append_attribute("xmlns") = kIamNamespace;
  auto result = root.append_child((name + "Result").c_str());
  ActionResult err = spec.handler(ctx, result);
  if (err) {
    body = error_xml(*err, request_id);
    return err;
  }
  if (!result.first_child()) root.remove_child(result);  // IAM omits empty results
  add(root.append_child("ResponseMetadata"), "RequestId", request_id);
  body.clear();
  body.reserve(512);
  StringWriter w(body);
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
  return std::nullopt;
}

}  // namespace iamq::emulator
