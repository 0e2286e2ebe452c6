#include "tests/iam_emulator/iam_state.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

namespace iamq::emulator {

using nlohmann::json;

bool ApiKey::allows(std::string_view action) const {
  for (const auto& a : allowed_actions) {
    if (a == "*" || a == action) return true;
  }
  return false;
}

State State::with_default_account() {
  State s;
  Account a;
  a.id = std::string(kDefaultAccountId);
  s.accounts.emplace(a.id, std::move(a));
  ApiKey k;
  k.access_key_id = std::string(kDefaultAccessKeyId);
  k.secret_access_key = std::string(kDefaultSecretAccessKey);
  k.account_id = std::string(kDefaultAccountId);
  s.keys.emplace(k.access_key_id, std::move(k));
  return s;
}

std::string State::next_id(std::string_view prefix, std::size_t length) {
  // A mixed counter (splitmix64) so ids look random but never repeat and replay exactly.
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::uint64_t z = ++id_counter * 0x9E3779B97F4A7C15ULL;
  std::string out(prefix);
  out.reserve(prefix.size() + length);
  std::uint64_t x = z;
  for (std::size_t i = 0; i < length; ++i) {
    if (i % 12 == 0) {
      x += 0x9E3779B97F4A7C15ULL;
      std::uint64_t y = x;
      y = (y ^ (y >> 30)) * 0xBF58476D1CE4E5B9ULL;
      y = (y ^ (y >> 27)) * 0x94D049BB133111EBULL;
      z = y ^ (y >> 31);
    }
    out.push_back(kAlphabet[z & 31]);
    z >>= 5;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string iso8601(TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool is_virtual_serial(std::string_view serial) {
  return serial.substr(0, 8) == "arn:aws:" && serial.find(":mfa/") != std::string_view::npos;
}

const std::vector<ManagedPolicy>& aws_managed_policies() {
  static const std::vector<ManagedPolicy> policies = [] {
    std::vector<ManagedPolicy> v;
    const std::pair<const char*, const char*> defs[] = {
        {"AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK"},
        {"ReadOnlyAccess", "ANPAILL3HVNFSB6DCOWYQ"},
        {"IAMUserChangePassword", "ANPAJ4L4MM2A7QIEB56MS"},
        {"IAMReadOnlyAccess", "ANPAJKSO7NDY4T57MWDSQ"},
        {"AmazonS3ReadOnlyAccess", "ANPAIZTJ4DXE7G6AGAE6M"},
        {"PowerUserAccess", "ANPAJYRXTHIB4FOVS3ZXS"},
    };
    for (auto [name, id] : defs) {
      ManagedPolicy p;
      p.name = name;
      p.id = id;
      p.arn = std::string("arn:aws:iam::aws:policy/") + name;
      p.document = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";
      p.create_date = "2015-02-06T18:39:46Z";
      v.push_back(std::move(p));
    }
    return v;
  }();
  return policies;
}

const ManagedPolicy* find_policy(const Account& account, std::string_view arn) {
  if (auto it = account.policies.find(std::string(arn)); it != account.policies.end())
    return &it->second;
  for (const auto& p : aws_managed_policies()) {
    if (p.arn == arn) return &p;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Seed loading: a small checked reader so every error names its JSON path.
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw SeedError(path + ": " + what);
}

void only_keys(const json& obj, const std::string& path, std::initializer_list<const char*> keys) {
  if (!obj.is_object()) fail(path, "expected an object");
  for (const auto& [k, v] : obj.items()) {
    bool known = false;
    for (const char* allowed : keys) known = known || k == allowed;
    if (!known) fail(path, "unknown field \"" + k + "\"");
  }
}

std::string str(const json& obj, const char* key, const std::string& path, bool required,
                 std::string fallback = {}) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) fail(path, std::string("missing \"") + key + "\"");
    return fallback;
  }
  if (!it->is_string()) fail(path + "." + key, "expected a string");
  return it->get<std::string>();
}

bool boolean(const json& obj, const char* key, const std::string& path, bool fallback) {
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (!it->is_boolean()) fail(path + "." + key, "expected true or false");
  return it->get<bool>();
}

const json& array(const json& obj, const char* key, const std::string& path) {
  static const json empty = json::array();
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return empty;
  if (!it->is_array()) fail(path + "." + key, "expected an array");
  return *it;
}

bool valid_name(std::string_view s, std::size_t max_len, bool serial = false) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-' ||
              (serial && (c == '/' || c == ':'));
    if (!ok) return false;
  }
  return true;
}

std::string status_of(const json& obj, const std::string& path) {
  std::string s = str(obj, "status", path, false, "Active");
  if (s != "Active" && s != "Inactive") fail(path + ".status", "must be Active or Inactive");
  return s;
}

std::string document_text(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]})";
  if (it->is_string()) {
    if (!json::accept(it->get<std::string>())) fail(path + "." + key, "not a JSON document");
    return it->get<std::string>();
  }
  if (!it->is_object()) fail(path + "." + key, "expected a policy document (object or string)");
  return it->dump();
}

std::string fingerprint_of(std::string_view body) {
  // Not MD5 of the key as IAM computes it, but stable and shaped the same (16 hex pairs).
  std::uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL;
  for (unsigned char c : body) {
    h1 = (h1 ^ c) * 1099511628211ULL;
    h2 = (h2 + c) * 6364136223846793005ULL + 1442695040888963407ULL;
  }
  char buf[64];
  std::string out;
  for (int i = 0; i < 16; ++i) {
    unsigned byte = static_cast<unsigned>(((i < 8 ? h1 : h2) >> ((i % 8) * 8)) & 0xff);
    std::snprintf(buf, sizeof buf, i ? ":%02x" : "%02x", byte);
    out += buf;
  }
  return out;
}

constexpr const char* kSeedDate = "2020-01-01T00:00:00Z";

void load_user(State& st, Account& acct, const json& ju, const std::string& path) {
  only_keys(ju, path,
            {"name", "id", "path", "create_date", "login_profile", "access_keys",
             "signing_certificates", "ssh_public_keys", "service_specific_credentials",
             "mfa_devices", "inline_policies", "attached_policies", "groups",
             "permissions_boundary"});
  User u;
  u.name = str(ju, "name", path, true);
  if (!valid_name(u.name, 64)) fail(path + ".name", "not a valid IAM user name: \"" + u.name + "\"");
  if (acct.users.count(lower(u.name))) fail(path + ".name", "duplicate user \"" + u.name + "\"");
  u.id = str(ju, "id", path, false);
  if (u.id.empty()) u.id = st.next_id("AIDA", 17);
  u.path = str(ju, "path", path, false, "/");
  if (u.path.empty() || u.path.front() != '/' || u.path.back() != '/')
    fail(path + ".path", "must begin and end with '/'");
  u.create_date = str(ju, "create_date", path, false, kSeedDate);
  if (auto it = ju.find("login_profile"); it != ju.end() && !it->is_null()) {
    const std::string p = path + ".login_profile";
    if (it->is_boolean()) {
      if (it->get<bool>()) u.login_profile = LoginProfile{kSeedDate, false};
    } else {
      only_keys(*it, p, {"create_date", "password_reset_required"});
      u.login_profile = LoginProfile{str(*it, "create_date", p, false, kSeedDate),
                                     boolean(*it, "password_reset_required", p, false)};
    }
  }
  const json& keys = array(ju, "access_keys", path);
  if (keys.size() > 2) fail(path + ".access_keys", "at most 2 access keys per user");
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string p = path + ".access_keys[" + std::to_string(i) + "]";
    only_keys(keys[i], p, {"id", "status", "create_date"});
    AccessKey k{str(keys[i], "id", p, false), status_of(keys[i], p),
                str(keys[i], "create_date", p, false, kSeedDate)};
    if (k.id.empty()) k.id = st.next_id("AKIA", 16);
    u.access_keys.push_back(std::move(k));
  }
  const json& certs = array(ju, "signing_certificates", path);
  for (std::size_t i = 0; i < certs.size(); ++i) {
    const std::string p = path + ".signing_certificates[" + std::to_string(i) + "]";
    only_keys(certs[i], p, {"id", "body", "status", "upload_date"});
    SigningCertificate c{str(certs[i], "id", p, false), str(certs[i], "body", p, false),
                         status_of(certs[i], p), str(certs[i], "upload_date", p, false, kSeedDate)};
    if (c.id.empty()) c.id = st.next_id("", 32);
    if (c.body.empty())
      c.body = "-----BEGIN CERTIFICATE-----\nMIIB" + c.id + "\n-----END CERTIFICATE-----\n";
    u.signing_certificates.push_back(std::move(c));
  }
  const json& ssh = array(ju, "ssh_public_keys", path);
  for (std::size_t i = 0; i < ssh.size(); ++i) {
    const std::string p = path + ".ssh_public_keys[" + std::to_string(i) + "]";
    only_keys(ssh[i], p, {"id", "body", "fingerprint", "status", "upload_date"});
    SshPublicKey k;
    k.id = str(ssh[i], "id", p, false);
    if (k.id.empty()) k.id = st.next_id("APKA", 17);
    k.body = str(ssh[i], "body", p, false, "ssh-rsa AAAAB3NzaC1yc2E" + k.id + " " + u.name);
    k.fingerprint = str(ssh[i], "fingerprint", p, false, fingerprint_of(k.body));
    k.status = status_of(ssh[i], p);
    k.upload_date = str(ssh[i], "upload_date", p, false, kSeedDate);
    u.ssh_public_keys.push_back(std::move(k));
  }
  const json& creds = array(ju, "service_specific_credentials", path);
  for (std::size_t i = 0; i < creds.size(); ++i) {
    const std::string p = path + ".service_specific_credentials[" + std::to_string(i) + "]";
    only_keys(creds[i], p, {"id", "service_name", "service_user_name", "status", "create_date"});
    ServiceCredential c;
    c.id = str(creds[i], "id", p, false);
    if (c.id.empty()) c.id = st.next_id("ACCA", 17);
    c.service_name = str(creds[i], "service_name", p, false, "codecommit.amazonaws.com");
    c.service_user_name = str(creds[i], "service_user_name", p, false, u.name + "-at-" + acct.id);
    c.status = status_of(creds[i], p);
    c.create_date = str(creds[i], "create_date", p, false, kSeedDate);
    u.service_credentials.push_back(std::move(c));
  }
  const json& mfas = array(ju, "mfa_devices", path);
  for (std::size_t i = 0; i < mfas.size(); ++i) {
    const std::string p = path + ".mfa_devices[" + std::to_string(i) + "]";
    MfaDevice d;
    if (mfas[i].is_string()) {
      d.serial = mfas[i].get<std::string>();
      d.enable_date = kSeedDate;
    } else {
      only_keys(mfas[i], p, {"serial", "enable_date"});
      d.serial = str(mfas[i], "serial", p, true);
      d.enable_date = str(mfas[i], "enable_date", p, false, kSeedDate);
    }
    if (!valid_name(d.serial, 256, true) || d.serial.size() < 9)
      fail(p + ".serial", "not a valid MFA serial number: \"" + d.serial + "\"");
    if (is_virtual_serial(d.serial)) {
      auto& dev = acct.virtual_mfa_devices[d.serial];
      if (!dev.user.empty()) fail(p + ".serial", "device already enabled for another user");
      dev.serial = d.serial;
      if (dev.create_date.empty()) dev.create_date = kSeedDate;
      dev.user = lower(u.name);
      dev.enable_date = d.enable_date;
    }
    u.mfa_devices.push_back(std::move(d));
  }
  if (auto it = ju.find("inline_policies"); it != ju.end() && !it->is_null()) {
    const std::string p = path + ".inline_policies";
    if (!it->is_object()) fail(p, "expected an object of name → policy document");
    for (const auto& [name, doc] : it->items()) {
      if (!valid_name(name, 128)) fail(p, "not a valid policy name: \"" + name + "\"");
      json holder = json::object({{"d", doc}});
      u.inline_policies[name] = document_text(holder, "d", p + "." + name);
    }
  }
  const json& attached = array(ju, "attached_policies", path);
  for (std::size_t i = 0; i < attached.size(); ++i) {
    const std::string p = path + ".attached_policies[" + std::to_string(i) + "]";
    if (!attached[i].is_string()) fail(p, "expected a policy ARN");
    std::string arn = attached[i].get<std::string>();
    if (!find_policy(acct, arn)) fail(p, "no managed policy " + arn + " (define it under policies)");
    u.attached_policies.push_back(std::move(arn));
  }
  const json& groups = array(ju, "groups", path);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string p = path + ".groups[" + std::to_string(i) + "]";
    if (!groups[i].is_string()) fail(p, "expected a group name");
    auto g = acct.groups.find(lower(groups[i].get<std::string>()));
    if (g == acct.groups.end())
      fail(p, "no group \"" + groups[i].get<std::string>() + "\" (define it under groups)");
    u.groups.push_back(g->second.name);
  }
  u.permissions_boundary = str(ju, "permissions_boundary", path, false);
  if (!u.permissions_boundary.empty() && !find_policy(acct, u.permissions_boundary))
    fail(path + ".permissions_boundary", "no managed policy " + u.permissions_boundary);
  std::string key = lower(u.name);
  acct.users.emplace(std::move(key), std::move(u));
}

void load_account(State& st, const json& ja, const std::string& path) {
  only_keys(ja, path,
            {"id", "keys", "users", "groups", "policies", "virtual_mfa_devices", "root"});
  std::string id = str(ja, "id", path, false, std::string(kDefaultAccountId));
  if (id.size() != 12 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
    fail(path + ".id", "an account id is 12 digits");
  Account& acct = st.accounts[id];
  acct.id = id;

  const json& keys = array(ja, "keys", path);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string p = path + ".keys[" + std::to_string(i) + "]";
    only_keys(keys[i], p,
              {"access_key_id", "secret_access_key", "session_token", "expired", "allowed_actions"});
    ApiKey k;
    k.access_key_id = str(keys[i], "access_key_id", p, true);
    k.secret_access_key = str(keys[i], "secret_access_key", p, true);
    if (k.access_key_id.empty()) fail(p + ".access_key_id", "must not be empty");
    if (k.secret_access_key.empty()) fail(p + ".secret_access_key", "must not be empty");
    k.session_token = str(keys[i], "session_token", p, false);
    k.expired = boolean(keys[i], "expired", p, false);
    if (auto it = keys[i].find("allowed_actions"); it != keys[i].end()) {
      if (!it->is_array()) fail(p + ".allowed_actions", "expected an array of action names");
      k.allowed_actions.clear();
      for (const auto& a : *it) {
        if (!a.is_string()) fail(p + ".allowed_actions", "expected an array of action names");
        k.allowed_actions.push_back(a.get<std::string>());
      }
    }
    k.account_id = id;
    if (auto existing = st.keys.find(k.access_key_id);
        existing != st.keys.end() && existing->second.account_id != id)
      fail(p + ".access_key_id", "key " + k.access_key_id + " already belongs to account " +
                                     existing->second.account_id);
    st.keys[k.access_key_id] = std::move(k);
  }

  const json& policies = array(ja, "policies", path);
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const std::string p = path + ".policies[" + std::to_string(i) + "]";
    only_keys(policies[i], p,
              {"name", "id", "arn", "path", "document", "description", "create_date"});
    ManagedPolicy mp;
    mp.name = str(policies[i], "name", p, true);
    if (!valid_name(mp.name, 128)) fail(p + ".name", "not a valid policy name: \"" + mp.name + "\"");
    mp.path = str(policies[i], "path", p, false, "/");
    mp.id = str(policies[i], "id", p, false);
    if (mp.id.empty()) mp.id = st.next_id("ANPA", 17);
    mp.arn = "arn:aws:iam::" + id + ":policy" + mp.path + mp.name;
    std::string given_arn = str(policies[i], "arn", p, false);
    if (!given_arn.empty() && given_arn != mp.arn)
      fail(p + ".arn", "does not match account, path and name (" + mp.arn + ")");
    mp.document = document_text(policies[i], "document", p);
    mp.description = str(policies[i], "description", p, false);
    mp.create_date = str(policies[i], "create_date", p, false, kSeedDate);
    if (acct.policies.count(mp.arn)) fail(p + ".name", "duplicate policy " + mp.arn);
    acct.policies.emplace(mp.arn, std::move(mp));
  }

  const json& groups = array(ja, "groups", path);
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const std::string p = path + ".groups[" + std::to_string(i) + "]";
    Group g;
    if (groups[i].is_string()) {
      g.name = groups[i].get<std::string>();
      g.create_date = kSeedDate;
    } else {
      only_keys(groups[i], p, {"name", "id", "path", "create_date"});
      g.name = str(groups[i], "name", p, true);
      g.id = str(groups[i], "id", p, false);
      g.path = str(groups[i], "path", p, false, "/");
      g.create_date = str(groups[i], "create_date", p, false, kSeedDate);
    }
    if (!valid_name(g.name, 128)) fail(p + ".name", "not a valid group name: \"" + g.name + "\"");
    if (g.id.empty()) g.id = st.next_id("AGPA", 17);
    if (acct.groups.count(lower(g.name))) fail(p + ".name", "duplicate group \"" + g.name + "\"");
    std::string key = lower(g.name);
    acct.groups.emplace(std::move(key), std::move(g));
  }

  const json& devices = array(ja, "virtual_mfa_devices", path);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const std::string p = path + ".virtual_mfa_devices[" + std::to_string(i) + "]";
    VirtualMfaDevice d;
    if (devices[i].is_string()) {
      d.serial = devices[i].get<std::string>();
      d.create_date = kSeedDate;
    } else {
      only_keys(devices[i], p, {"serial", "create_date"});
      d.serial = str(devices[i], "serial", p, true);
      d.create_date = str(devices[i], "create_date", p, false, kSeedDate);
    }
    if (!is_virtual_serial(d.serial) || d.serial.find(":" + id + ":") == std::string::npos)
      fail(p + ".serial", "expected arn:aws:iam::" + id + ":mfa/NAME, got \"" + d.serial + "\"");
    if (acct.virtual_mfa_devices.count(d.serial)) fail(p + ".serial", "duplicate device " + d.serial);
    acct.virtual_mfa_devices.emplace(d.serial, std::move(d));
  }

  const json& users = array(ja, "users", path);
  for (std::size_t i = 0; i < users.size(); ++i)
    load_user(st, acct, users[i], path + ".users[" + std::to_string(i) + "]");

  // The root user: read as a user named "root" of a scratch account, then kept apart.
  if (auto r = ja.find("root"); r != ja.end() && !r->is_null()) {
    if (!r->is_object()) fail(path + ".root", "expected an object");
    json jr = *r;
    if (!jr.contains("name")) jr["name"] = "root";
    Account scratch;
    scratch.id = acct.id;
    load_user(st, scratch, jr, path + ".root");
    for (auto& [serial, d] : scratch.virtual_mfa_devices) acct.virtual_mfa_devices[serial] = std::move(d);
    acct.root = std::move(scratch.users.begin()->second);
  }
}

}  // namespace

void load_seed(State& state, const json& seed) {
  only_keys(seed, "seed", {"accounts"});
  const json& accounts = array(seed, "accounts", "seed");
  for (std::size_t i = 0; i < accounts.size(); ++i)
    load_account(state, accounts[i], "accounts[" + std::to_string(i) + "]");
}

void load_seed_file(State& state, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SeedError("seed file " + path + ": cannot be read");
  json seed;
  try {
    seed = json::parse(in);
  } catch (const json::exception& e) {
    throw SeedError("seed file " + path + ": not valid JSON: " + e.what());
  }
  try {
    load_seed(state, seed);
  } catch (const SeedError& e) {
    throw SeedError("seed file " + path + ": " + e.what());
  }
}

namespace {
json dump_user(const User& u) {
    json ju = {{"name", u.name}, {"id", u.id}, {"path", u.path}, {"create_date", u.create_date}};
    if (u.login_profile) {
      ju["login_profile"] = {{"create_date", u.login_profile->create_date},
                             {"password_reset_required", u.login_profile->password_reset_required}};
    } else {
      ju["login_profile"] = nullptr;
    }
    json ak = json::array();
    for (const auto& k : u.access_keys)
      ak.push_back({{"id", k.id}, {"status", k.status}, {"create_date", k.create_date}});
    ju["access_keys"] = std::move(ak);
    json certs = json::array();
    for (const auto& c : u.signing_certificates)
      certs.push_back({{"id", c.id}, {"body", c.body}, {"status", c.status},
                       {"upload_date", c.upload_date}});
    ju["signing_certificates"] = std::move(certs);
    json ssh = json::array();
    for (const auto& k : u.ssh_public_keys)
      ssh.push_back({{"id", k.id}, {"body", k.body}, {"fingerprint", k.fingerprint},
                     {"status", k.status}, {"upload_date", k.upload_date}});
    ju["ssh_public_keys"] = std::move(ssh);
    json creds = json::array();
    for (const auto& c : u.service_credentials)
      creds.push_back({{"id", c.id}, {"service_name", c.service_name},
                       {"service_user_name", c.service_user_name}, {"status", c.status},
                       {"create_date", c.create_date}});
    ju["service_specific_credentials"] = std::move(creds);
    json mfa = json::array();
    for (const auto& d : u.mfa_devices)
      mfa.push_back({{"serial", d.serial}, {"enable_date", d.enable_date}});
    ju["mfa_devices"] = std::move(mfa);
    json inl = json::object();
    for (const auto& [name, doc] : u.inline_policies) inl[name] = doc;
    ju["inline_policies"] = std::move(inl);
    ju["attached_policies"] = u.attached_policies;
    ju["groups"] = u.groups;
    ju["permissions_boundary"] =
        u.permissions_boundary.empty() ? json(nullptr) : json(u.permissions_boundary);
  return ju;
}

}  // namespace

json dump_state(const State& state) {
  json accounts = json::array();
  for (const auto& [id, acct] : state.accounts) {
    json ja = {{"id", id}};
    json keys = json::array();
    std::vector<const ApiKey*> sorted;
    for (const auto& [kid, k] : state.keys)
      if (k.account_id == id) sorted.push_back(&k);
    std::sort(sorted.begin(), sorted.end(),
              [](auto* a, auto* b) { return a->access_key_id < b->access_key_id; });
    for (const ApiKey* k : sorted) {
      json jk = {{"access_key_id", k->access_key_id}, {"secret_access_key", k->secret_access_key}};
      if (!k->session_token.empty()) jk["session_token"] = k->session_token;
      if (k->expired) jk["expired"] = true;
      jk["allowed_actions"] = k->allowed_actions;
      keys.push_back(std::move(jk));
    }
    ja["keys"] = std::move(keys);
    json policies = json::array();
    for (const auto& [arn, p] : acct.policies) {
      policies.push_back({{"name", p.name}, {"id", p.id}, {"arn", p.arn}, {"path", p.path},
                          {"document", p.document}, {"description", p.description},
                          {"create_date", p.create_date}});
    }
    ja["policies"] = std::move(policies);
    json groups = json::array();
    for (const auto& [key, g] : acct.groups) {
      groups.push_back(
          {{"name", g.name}, {"id", g.id}, {"path", g.path}, {"create_date", g.create_date}});
    }
    ja["groups"] = std::move(groups);
    json devices = json::array();
    for (const auto& [serial, d] : acct.virtual_mfa_devices) {
      if (d.user.empty()) devices.push_back({{"serial", serial}, {"create_date", d.create_date}});
    }
    ja["virtual_mfa_devices"] = std::move(devices);
    json users = json::array();
    for (const auto& [key, u] : acct.users) {
      json ju = dump_user(u);
      users.push_back(std::move(ju));
    }
    ja["users"] = std::move(users);
    if (acct.root) ja["root"] = dump_user(*acct.root);
    accounts.push_back(std::move(ja));
  }
  return {{"accounts", std::move(accounts)}};
}

// ---------------------------------------------------------------------------------------
// Generated users.
namespace {

/// Uniform draws from a seeded generator, independent of the standard library's
/// distribution implementations (so a seed replays the same on every platform).
struct Draw {
  std::mt19937_64 rng;
  double unit() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
  int upto(int n) { return static_cast<int>(unit() * (n + 1)); }  ///< 0…n inclusive
  bool chance(double p) { return unit() < p; }
};

}  // namespace

void generate_users(State& state, int count, std::uint64_t seed) {
  Draw d{std::mt19937_64(seed ^ 0x5EEDF00DULL)};
  Account& acct = state.accounts[std::string(kDefaultAccountId)];
  acct.id = std::string(kDefaultAccountId);
  const std::string prefix = "arn:aws:iam::" + acct.id + ":";

  static const char* kGroups[] = {"engineering", "finance", "ops", "support",
                                  "security",    "sales",   "data", "contractors"};
  std::vector<std::string> group_names;
  for (const char* g : kGroups) {
    if (!acct.groups.count(g)) {
      acct.groups.emplace(g, Group{g, state.next_id("AGPA", 17), "/", kSeedDate});
    }
    group_names.emplace_back(g);
  }
  static const char* kPolicies[] = {"s3-read-reports", "ec2-start-stop", "billing-view",
                                    "deploy-pipeline", "logs-read"};
  std::vector<std::string> policy_arns;
  for (const char* name : kPolicies) {
    std::string arn = prefix + "policy/" + name;
    if (!acct.policies.count(arn)) {
      ManagedPolicy p;
      p.name = name;
      p.id = state.next_id("ANPA", 17);
      p.arn = arn;
      p.document = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}]})";
      p.create_date = kSeedDate;
      acct.policies.emplace(arn, std::move(p));
    }
    policy_arns.push_back(arn);
  }
  for (const auto& p : aws_managed_policies()) policy_arns.push_back(p.arn);
  static const char* kServices[] = {"codecommit.amazonaws.com", "cassandra.amazonaws.com"};

  for (int i = 1; i <= count; ++i) {
    char name_buf[32];
    std::snprintf(name_buf, sizeof name_buf, "user-%05d", i);
    std::string key = name_buf;
    if (acct.users.count(key)) continue;
    User u;
    u.name = name_buf;
    u.id = state.next_id("AIDA", 17);
    u.create_date = kSeedDate;
    if (d.chance(0.8)) u.login_profile = LoginProfile{kSeedDate, d.chance(0.2)};
    for (int k = d.upto(2); k > 0; --k)
      u.access_keys.push_back({state.next_id("AKIA", 16), d.chance(0.8) ? "Active" : "Inactive", kSeedDate});
    for (int m = d.upto(2); m > 0; --m) {
      std::string serial;
      if (d.chance(0.6)) {
        serial = prefix + "mfa/" + u.name + (m == 1 ? "" : "-" + std::to_string(m));
        acct.virtual_mfa_devices[serial] = {serial, kSeedDate, key, kSeedDate};
      } else {
        serial = "GAHT" + state.next_id("", 8);
      }
      u.mfa_devices.push_back({serial, kSeedDate});
    }
    for (int p = d.upto(2); p > 0; --p)
      u.inline_policies["inline-" + std::to_string(p)] =
          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]})";
    for (int p = d.upto(2); p > 0; --p) {
      const std::string& arn = policy_arns[static_cast<std::size_t>(d.upto(static_cast<int>(policy_arns.size()) - 1))];
      if (std::find(u.attached_policies.begin(), u.attached_policies.end(), arn) == u.attached_policies.end())
        u.attached_policies.push_back(arn);
    }
    for (int g = d.upto(3); g > 0; --g) {
      const std::string& name = group_names[static_cast<std::size_t>(d.upto(static_cast<int>(group_names.size()) - 1))];
      if (std::find(u.groups.begin(), u.groups.end(), name) == u.groups.end()) u.groups.push_back(name);
    }
    if (d.chance(0.2)) {
      std::string id = state.next_id("", 32);
      u.signing_certificates.push_back(
          {id, "-----BEGIN CERTIFICATE-----\nMIIB" + id + "\n-----END CERTIFICATE-----\n", "Active", kSeedDate});
    }
    if (d.chance(0.25)) {
      SshPublicKey k;
      k.id = state.next_id("APKA", 17);
      k.body = "ssh-rsa AAAAB3NzaC1yc2E" + k.id + " " + u.name;
      k.fingerprint = fingerprint_of(k.body);
      k.upload_date = kSeedDate;
      u.ssh_public_keys.push_back(std::move(k));
    }
    if (d.chance(0.15)) {
      const char* svc = kServices[d.upto(1)];
      u.service_credentials.push_back(
          {state.next_id("ACCA", 17), svc, u.name + "-at-" + acct.id, "Active", kSeedDate});
    }
    if (d.chance(0.2)) u.permissions_boundary = policy_arns[static_cast<std::size_t>(d.upto(static_cast<int>(policy_arns.size()) - 1))];
    acct.users.emplace(std::move(key), std::move(u));
  }
  // A few unassigned virtual devices, as real accounts accumulate.
  for (int i = 1; i <= count / 10; ++i) {
    std::string serial = prefix + "mfa/orphan-" + std::to_string(i);
    acct.virtual_mfa_devices.emplace(serial, VirtualMfaDevice{serial, kSeedDate, "", ""});
  }
}

}  // namespace iamq::emulator
