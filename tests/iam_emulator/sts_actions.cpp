#include "tests/iam_emulator/sts_actions.hpp"

#include <algorithm>

namespace iamq::emulator {

using nlohmann::json;

namespace {

constexpr const char* kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw SeedError(path + ": " + what); }

void only(const json& o, const std::string& path, std::initializer_list<const char*> keys) {
  if (!o.is_object()) fail(path, "expected an object");
  for (auto it = o.begin(); it != o.end(); ++it) {
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return it.key() == k; }))
      fail(path, "unknown field \"" + it.key() + "\"");
  }
}

std::string text(const json& o, const char* key, const std::string& path, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) fail(path + "." + key, "is required");
    return {};
  }
  if (!it->is_string()) fail(path + "." + key, "expected a string");
  return it->get<std::string>();
}

std::vector<std::string> strings(const json& o, const char* key, const std::string& path) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end()) return out;
  if (!it->is_array()) fail(path + "." + key, "expected an array of strings");
  for (const auto& s : *it) {
    if (!s.is_string()) fail(path + "." + key, "expected an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

bool account_id_ok(std::string_view id) {
  return id.size() == 12 && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void ensure_account(State& state, const std::string& id) {
  auto& a = state.accounts[id];
  a.id = id;
}

void add(pugi::xml_node parent, const char* name, const std::string& value) {
  parent.append_child(name).text().set(value.c_str());
}

struct StringWriter : pugi::xml_writer {
  std::string& out;
  explicit StringWriter(std::string& o) : out(o) {}
  void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
};

const std::string* param(const client::Params& p, std::string_view name) { return find_param(p, name); }

ApiError denied(const std::string& who, const std::string& action, const std::string& resource) {
  return ApiError{403, "AccessDenied",
                  "User: " + who + " is not authorized to perform: sts:" + action + " on resource: " + resource, false};
}
ApiError validation(const std::string& message) { return ApiError{400, "ValidationError", message, false}; }

std::string account_of_arn(std::string_view arn) {
  // arn:aws:iam::123456789012:… / arn:aws:sts::123456789012:…
  auto p = arn.find("::");
  if (p == std::string_view::npos) return {};
  auto rest = arn.substr(p + 2);
  return std::string(rest.substr(0, rest.find(':')));
}

/// The role ARN behind an assumed-role session ARN, or "".
std::string role_of_session(std::string_view arn) {
  const std::string marker = ":assumed-role/";
  auto p = arn.find(marker);
  if (p == std::string_view::npos) return {};
  auto rest = arn.substr(p + marker.size());
  return "arn:aws:iam::" + account_of_arn(arn) + ":role/" + std::string(rest.substr(0, rest.find('/')));
}

bool trusts(const Role& role, const std::string& who) {
  const std::string acct = account_of_arn(who);
  const std::string session_role = role_of_session(who);
  for (const auto& t : role.trusted) {
    if (t == "*" || t == who || t == acct || t == "arn:aws:iam::" + acct + ":root") return true;
    if (!session_role.empty() && t == session_role) return true;
  }
  return false;
}

struct Issued {
  std::string key, secret, token;
  TimePoint expires;
};

Issued issue(StsState& sts, State& state, const std::string& account, const std::string& identity,
             std::vector<std::string> allowed, int duration_s, TimePoint now) {
  Issued i;
  ++sts.issued;
  i.key = state.next_id("ASIA", 16);
  i.secret = state.next_id("", 40);
  i.token = "IQoJb3JpZ2luX2VjE" + state.next_id("", 96);
  const auto ttl = sts.credential_ttl.count() > 0 ? sts.credential_ttl : std::chrono::seconds(duration_s);
  i.expires = now + ttl;
  ApiKey k;
  k.access_key_id = i.key;
  k.secret_access_key = i.secret;
  k.session_token = i.token;
  k.account_id = account;
  k.allowed_actions = std::move(allowed);
  state.keys[i.key] = std::move(k);
  sts.expirations[i.key] = i.expires;
  sts.identities[i.key] = identity;
  return i;
}

void write_credentials(pugi::xml_node result, const Issued& i) {
  auto c = result.append_child("Credentials");
  add(c, "AccessKeyId", i.key);
  add(c, "SecretAccessKey", i.secret);
  add(c, "SessionToken", i.token);
  add(c, "Expiration", iso8601(i.expires));
}

std::optional<int> duration(const client::Params& params, int lo, int hi, int fallback, std::optional<ApiError>& err) {
  const std::string* d = param(params, "DurationSeconds");
  if (!d) return fallback;
  int v = 0;
  bool ok = !d->empty() && d->size() <= 6 && std::all_of(d->begin(), d->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (ok) v = std::stoi(*d);
  if (!ok || v < lo || v > hi) {
    err = validation("1 validation error detected: Value '" + *d + "' at 'durationSeconds' failed to satisfy constraint: "
                     "Member must have value between " + std::to_string(lo) + " and " + std::to_string(hi));
    return std::nullopt;
  }
  return v;
}

std::optional<ApiError> session_name_check(const std::string* name) {
  if (!name) return validation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
  if (name->size() < 2 || name->size() > 64 ||
      !std::all_of(name->begin(), name->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("+=,.@-_").find(c) != std::string_view::npos;
      }))
    return validation("1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must "
                      "satisfy regular expression pattern: [\\w+=,.@-]{2,64}");
  return std::nullopt;
}

/// Root-task policies and the IAM actions each allows (the AWS managed policies' lists).
const std::map<std::string, std::vector<std::string>>& task_policies() {
  static const std::map<std::string, std::vector<std::string>> p = {
      {"arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
       {"DeactivateMFADevice", "DeleteAccessKey", "DeleteLoginProfile", "DeleteSigningCertificate", "ListAccessKeys",
        "ListMFADevices", "ListSigningCertificates", "GetLoginProfile", "GetUser", "GetAccessKeyLastUsed"}},
      {"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
       {"GetAccessKeyLastUsed", "GetLoginProfile", "GetUser", "ListAccessKeys", "ListMFADevices",
        "ListSigningCertificates"}},
      {"arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword", {"CreateLoginProfile", "GetLoginProfile"}},
  };
  return p;
}

std::optional<ApiError> assume_role(StsState& sts, State& state, const ApiKey& caller, const client::Params& params,
                                    TimePoint now, pugi::xml_node result) {
  const std::string who = caller_arn(sts, caller);
  const std::string* arn = param(params, "RoleArn");
  if (!arn) return validation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
  if (auto e = session_name_check(param(params, "RoleSessionName"))) return e;
  std::optional<ApiError> err;
  auto d = duration(params, 900, 43200, 3600, err);
  if (!d) return err;
  auto it = sts.roles.find(*arn);
  if (it == sts.roles.end() || !trusts(it->second, who)) return denied(who, "AssumeRole", *arn);
  const Role& role = it->second;
  const std::string* ext = param(params, "ExternalId");
  if (!role.external_id.empty() && (!ext || *ext != role.external_id)) return denied(who, "AssumeRole", *arn);
  const std::string& session = *param(params, "RoleSessionName");
  const std::string identity = "arn:aws:sts::" + role.account_id + ":assumed-role/" + role.name + "/" + session;
  Issued i = issue(sts, state, role.account_id, identity, role.allowed_actions, *d, now);
  write_credentials(result, i);
  auto u = result.append_child("AssumedRoleUser");
  add(u, "AssumedRoleId", "AROA" + role.name + ":" + session);
  add(u, "Arn", identity);
  return std::nullopt;
}

std::optional<ApiError> assume_role_with_web_identity(StsState& sts, State& state, const client::Params& params,
                                                      TimePoint now, pugi::xml_node result) {
  const std::string* arn = param(params, "RoleArn");
  const std::string* token = param(params, "WebIdentityToken");
  if (!arn || !token) return validation("RoleArn and WebIdentityToken are required");
  if (auto e = session_name_check(param(params, "RoleSessionName"))) return e;
  std::optional<ApiError> err;
  auto d = duration(params, 900, 43200, 3600, err);
  if (!d) return err;
  if (std::find(sts.web_identity_tokens.begin(), sts.web_identity_tokens.end(), *token) == sts.web_identity_tokens.end())
    return ApiError{400, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS.", false};
  auto it = sts.roles.find(*arn);
  if (it == sts.roles.end() || !it->second.web_identity)
    return ApiError{403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", false};
  const Role& role = it->second;
  const std::string& session = *param(params, "RoleSessionName");
  const std::string identity = "arn:aws:sts::" + role.account_id + ":assumed-role/" + role.name + "/" + session;
  Issued i = issue(sts, state, role.account_id, identity, role.allowed_actions, *d, now);
  write_credentials(result, i);
  auto u = result.append_child("AssumedRoleUser");
  add(u, "AssumedRoleId", "AROA" + role.name + ":" + session);
  add(u, "Arn", identity);
  add(result, "SubjectFromWebIdentityToken", "system:serviceaccount:iamq:worker");
  return std::nullopt;
}

std::optional<ApiError> assume_root(StsState& sts, State& state, const ApiKey& caller, const client::Params& params,
                                    TimePoint now, pugi::xml_node result) {
  const std::string who = caller_arn(sts, caller);
  const std::string* target = param(params, "TargetPrincipal");
  const std::string* policy = param(params, "TaskPolicyArn.arn");
  if (!target || !policy) return validation("TargetPrincipal and TaskPolicyArn are required");
  std::optional<ApiError> err;
  auto d = duration(params, 1, 900, 900, err);
  if (!d) return err;
  const auto& policies = task_policies();
  auto pit = policies.find(*policy);
  if (pit == policies.end()) return validation("TaskPolicyArn " + *policy + " is not a root-task policy");
  if (sts.management_account.empty() || caller.account_id != sts.management_account)
    return denied(who, "AssumeRoot", "arn:aws:iam::" + *target + ":root");
  const bool member = std::any_of(sts.org_accounts.begin(), sts.org_accounts.end(),
                                  [&](const OrgAccount& a) { return a.id == *target && a.status == "ACTIVE"; });
  if (!member || *target == sts.management_account)
    return denied(who, "AssumeRoot", "arn:aws:iam::" + *target + ":root");
  ensure_account(state, *target);
  Issued i = issue(sts, state, *target, "arn:aws:iam::" + *target + ":root", pit->second, *d, now);
  state.keys[i.key].root_session = true;
  write_credentials(result, i);
  add(result, "SourceIdentity", "");
  return std::nullopt;
}

}  // namespace

bool is_sts_action(std::string_view a) {
  return a == "AssumeRole" || a == "AssumeRoleWithWebIdentity" || a == "GetCallerIdentity" || a == "AssumeRoot";
}

std::string caller_arn(const StsState& sts, const ApiKey& key) {
  if (auto it = sts.identities.find(key.access_key_id); it != sts.identities.end()) return it->second;
  return "arn:aws:iam::" + key.account_id + ":user/" + key.access_key_id;
}

void load_sts_seed(StsState& sts, State& state, const json& seed) {
  only(seed, "sts", {"roles", "web_identity_tokens", "organization"});
  if (auto r = seed.find("roles"); r != seed.end()) {
    if (!r->is_array()) fail("sts.roles", "expected an array");
    for (std::size_t i = 0; i < r->size(); ++i) {
      const std::string p = "sts.roles[" + std::to_string(i) + "]";
      const json& jr = (*r)[i];
      only(jr, p, {"account_id", "name", "trusted", "external_id", "web_identity", "allowed_actions"});
      Role role;
      role.account_id = text(jr, "account_id", p, true);
      if (!account_id_ok(role.account_id)) fail(p + ".account_id", "must be 12 digits");
      role.name = text(jr, "name", p, true);
      if (role.name.empty() || role.name.size() > 64) fail(p + ".name", "must be 1-64 characters");
      role.arn = "arn:aws:iam::" + role.account_id + ":role/" + role.name;
      role.trusted = strings(jr, "trusted", p);
      role.external_id = text(jr, "external_id", p, false);
      if (auto w = jr.find("web_identity"); w != jr.end()) {
        if (!w->is_boolean()) fail(p + ".web_identity", "expected true or false");
        role.web_identity = w->get<bool>();
      }
      if (jr.contains("allowed_actions")) role.allowed_actions = strings(jr, "allowed_actions", p);
      ensure_account(state, role.account_id);
      sts.roles[role.arn] = std::move(role);
    }
  }
  sts.web_identity_tokens = strings(seed, "web_identity_tokens", "sts");
  if (auto o = seed.find("organization"); o != seed.end()) {
    only(*o, "sts.organization", {"management_account", "accounts"});
    sts.management_account = text(*o, "management_account", "sts.organization", true);
    if (!account_id_ok(sts.management_account)) fail("sts.organization.management_account", "must be 12 digits");
    ensure_account(state, sts.management_account);
    sts.org_accounts.clear();
    if (auto a = o->find("accounts"); a != o->end()) {
      if (!a->is_array()) fail("sts.organization.accounts", "expected an array");
      for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string p = "sts.organization.accounts[" + std::to_string(i) + "]";
        only((*a)[i], p, {"id", "name", "email", "status"});
        OrgAccount acc;
        acc.id = text((*a)[i], "id", p, true);
        if (!account_id_ok(acc.id)) fail(p + ".id", "must be 12 digits");
        acc.name = text((*a)[i], "name", p, false);
        acc.email = text((*a)[i], "email", p, false);
        if (auto s = text((*a)[i], "status", p, false); !s.empty()) acc.status = s;
        ensure_account(state, acc.id);
        sts.org_accounts.push_back(std::move(acc));
      }
    }
  }
}

json sts_stats(const StsState& sts) {
  json calls = json::object();
  for (const auto& [k, n] : sts.calls) calls[k] = n;
  return {{"issued", sts.issued}, {"calls", std::move(calls)}, {"roles", sts.roles.size()},
          {"credential_ttl", sts.credential_ttl.count()}};
}

std::optional<ApiError> run_sts_action(StsState& sts, State& state, const ApiKey* caller, const client::Params& params,
                                       TimePoint now, const std::string& request_id, std::string& body) {
  const std::string* action = param(params, "Action");
  const std::string name = action ? *action : "(none)";
  std::optional<ApiError> err;
  pugi::xml_document doc;
  auto root = doc.append_child((name + "Response").c_str());
  root.append_attribute("xmlns") = kStsNamespace;
  auto result = root.append_child((name + "Result").c_str());
  if (const std::string* v = param(params, "Version"); !v || *v != "2011-06-15") {
    err = ApiError{400, "InvalidAction", "Could not find operation " + name + " for version " + (v ? *v : "(none)"), false};
  } else if (name == "AssumeRoleWithWebIdentity") {
    err = assume_role_with_web_identity(sts, state, params, now, result);
  } else if (!caller) {
    err = ApiError{403, "MissingAuthenticationToken", "Request is missing Authentication Token", false};
  } else if (name == "AssumeRole") {
    err = assume_role(sts, state, *caller, params, now, result);
  } else if (name == "AssumeRoot") {
    err = assume_root(sts, state, *caller, params, now, result);
  } else if (name == "GetCallerIdentity") {
    const std::string arn = caller_arn(sts, *caller);
    add(result, "UserId", caller->access_key_id);
    add(result, "Account", caller->account_id);
    add(result, "Arn", arn);
  } else {
    err = ApiError{400, "InvalidAction", "Could not find operation " + name + " for version 2011-06-15", false};
  }
  ++sts.calls[name + ":" + (err ? err->code : std::string("OK"))];
  if (err) {
    body = error_xml(*err, request_id);
    return err;
  }
  auto meta = root.append_child("ResponseMetadata");
  add(meta, "RequestId", request_id);
  body.clear();
  StringWriter w(body);
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
  return std::nullopt;
}

int run_organizations_action(const StsState& sts, const ApiKey& caller, std::string_view operation,
                             std::string_view request_body, std::string& body, int page_size) {
  auto error = [&](int status, const char* type, const std::string& message) {
    body = json{{"__type", type}, {"message", message}}.dump();
    return status;
  };
  if (operation != "ListAccounts") return error(400, "UnknownOperationException", "operation " + std::string(operation) + " is not served");
  if (sts.management_account.empty()) return error(400, "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.");
  if (caller.account_id != sts.management_account)
    return error(400, "AccessDeniedException", "You don't have permissions to access this resource.");
  json req = request_body.empty() ? json::object() : json::parse(request_body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return error(400, "SerializationException", "body is not a JSON object");
  // Without MaxResults, pages as small as the IAM List* pages (--page-size, at most 20).
  std::size_t max = static_cast<std::size_t>(std::clamp(page_size, 1, 20)), start = 0;
  if (auto m = req.find("MaxResults"); m != req.end()) {
    if (!m->is_number_integer() || m->get<long long>() < 1 || m->get<long long>() > 20)
      return error(400, "InvalidInputException", "MaxResults must be between 1 and 20");
    max = m->get<std::size_t>();
  }
  if (auto t = req.find("NextToken"); t != req.end()) {
    if (!t->is_string() || t->get<std::string>().empty() ||
        t->get<std::string>().find_first_not_of("0123456789") != std::string::npos || t->get<std::string>().size() > 6)
      return error(400, "InvalidInputException", "NextToken is not valid");
    start = std::stoul(t->get<std::string>());
  }
  json accounts = json::array();
  std::size_t i = start;
  for (; i < sts.org_accounts.size() && accounts.size() < max; ++i) {
    const auto& a = sts.org_accounts[i];
    accounts.push_back({{"Id", a.id},
                        {"Arn", "arn:aws:organizations::" + sts.management_account + ":account/o-emulator/" + a.id},
                        {"Name", a.name},
                        {"Email", a.email},
                        {"Status", a.status},
                        {"JoinedMethod", "CREATED"},
                        {"JoinedTimestamp", 1.7e9}});
  }
  json out = {{"Accounts", std::move(accounts)}};
  if (i < sts.org_accounts.size()) out["NextToken"] = std::to_string(i);
  body = out.dump();
  return 200;
}

}  // namespace iamq::emulator
