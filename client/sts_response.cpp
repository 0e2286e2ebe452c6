#include "client/sts_response.hpp"

#include "client/credential_json.hpp"

namespace iamq::client {

namespace {

std::string text(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

bool printable(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

}  // namespace

std::variant<StsCredentials, std::string> sts_credentials_from(std::string_view action, const IamResult& result) {
  const std::string src = "sts " + std::string(action);
  const nlohmann::json* c = nullptr;
  if (result.result.is_object()) {
    auto it = result.result.find("Credentials");
    if (it != result.result.end() && it->is_object()) c = &*it;
  }
  if (!c) return src + ": answer has no Credentials";
  StsCredentials out;
  out.creds.creds.access_key_id = text(*c, "AccessKeyId");
  out.creds.creds.secret_access_key = text(*c, "SecretAccessKey");
  out.creds.creds.session_token = text(*c, "SessionToken");
  const std::string exp = text(*c, "Expiration");
  if (out.creds.creds.access_key_id.empty()) return src + ": Credentials/AccessKeyId is missing";
  if (out.creds.creds.secret_access_key.empty()) return src + ": Credentials/SecretAccessKey is missing";
  if (out.creds.creds.session_token.empty()) return src + ": Credentials/SessionToken is missing";
  if (out.creds.creds.access_key_id.size() > 128 || !printable(out.creds.creds.access_key_id))
    return src + ": Credentials/AccessKeyId is not a key id";
  if (out.creds.creds.secret_access_key.size() > 256 || !printable(out.creds.creds.secret_access_key))
    return src + ": Credentials/SecretAccessKey is not a secret key";
  if (out.creds.creds.session_token.size() > 8192 || !printable(out.creds.creds.session_token))
    return src + ": Credentials/SessionToken is not a session token";
  auto t = parse_iso8601(exp);
  if (!t) return src + ": Credentials/Expiration is missing or not an ISO 8601 time";
  out.creds.expiration = *t;
  if (auto it = result.result.find("AssumedRoleUser"); it != result.result.end())
    out.assumed_role_arn = text(*it, "Arn");
  return out;
}

std::variant<CallerIdentity, std::string> caller_identity_from(const IamResult& result) {
  CallerIdentity id;
  id.account = text(result.result, "Account");
  id.arn = text(result.result, "Arn");
  id.user_id = text(result.result, "UserId");
  if (id.account.empty() || id.arn.empty()) return std::string("sts GetCallerIdentity: answer has no Account or Arn");
  return id;
}

std::variant<StsCredentials, IamError, std::string> parse_sts_credentials_response(std::string_view action,
                                                                                   int http_status,
                                                                                   std::string_view body) {
  Outcome o = parse_response(action, http_status, body);
  if (o.error) return *o.error;
  auto r = sts_credentials_from(action, *o.ok);
  if (auto* e = std::get_if<std::string>(&r)) return *e;
  return std::get<StsCredentials>(r);
}

}  // namespace iamq::client
