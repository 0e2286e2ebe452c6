// The helpers of iam_action_support.hpp.
#include "tests/iam_emulator/iam_action_support.hpp"

#include <openssl/evp.h>

#include <charconv>

#include <nlohmann/json.hpp>

namespace iamq::emulator::detail {

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

std::string member(std::string_view param) {
  std::string m(param);
  if (!m.empty() && m[0] >= 'A' && m[0] <= 'Z') m[0] = static_cast<char>(m[0] - 'A' + 'a');
  if (m.rfind("sSH", 0) == 0) m = "sshPublicKey" + m.substr(12);  // SSHPublicKeyId → sshPublicKeyId
  return m;
}

ApiError validation(std::string_view param, const std::string* value, const std::string& constraint,
                    bool secret) {
  std::string shown = !value ? "null" : secret ? "'*******'" : "'" + *value + "'";
  return error(400, "ValidationError",
               "1 validation error detected: Value " + shown + " at '" + member(param) +
                   "' failed to satisfy constraint: " + constraint);
}

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

Err get(const CallContext& c, std::string_view name, std::string& out, Chars kind,
        std::size_t min_len, std::size_t max_len, bool required, std::string fallback,
        bool secret) {
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
             std::initializer_list<const char*> values, bool required, std::string fallback) {
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

Err check_path_prefix(const CallContext& c, std::string& prefix) {
  return get(c, "PathPrefix", prefix, Chars::path, 1, 512, false, "/");
}

}  // namespace iamq::emulator::detail
