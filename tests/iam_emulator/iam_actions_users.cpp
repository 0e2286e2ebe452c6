// IAM actions on users, their login profiles and their credentials (access keys, signing
// certificates, SSH public keys, service-specific credentials).
#include <algorithm>

#include <openssl/evp.h>

#include "tests/iam_emulator/iam_action_support.hpp"

namespace iamq::emulator::detail {

namespace {

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

}  // namespace

void add_user_actions(std::vector<ActionSpec>& out) {
  out.insert(out.end(), {
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
  });
}

}  // namespace iamq::emulator::detail
