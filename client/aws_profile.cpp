#include "client/aws_profile.hpp"

#include <set>

namespace iamq::client {

namespace {

std::string_view trim(std::string_view s) {
  const auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && sp(s.front())) s.remove_prefix(1);
  while (!s.empty() && sp(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

using Values = std::map<std::string, std::string>;

const std::string* value(const Values& v, const char* key) {
  auto it = v.find(key);
  return it == v.end() || it->second.empty() ? nullptr : &it->second;
}

ProfileError fail(const std::string& profile, const std::string& why) {
  return ProfileError{"profile '" + profile + "': " + why, false};
}

}  // namespace

IniSections parse_ini(std::string_view text, bool config_file) {
  IniSections out;
  std::string current;
  bool in_section = false;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    const bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    const std::string_view l = trim(raw);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      const std::size_t close = l.find(']');
      in_section = close != std::string_view::npos;
      if (!in_section) continue;
      std::string_view name = trim(l.substr(1, close - 1));
      if (config_file && name.substr(0, 8) == "profile " ) name = trim(name.substr(8));
      else if (config_file && name.substr(0, 8) == "profile\t") name = trim(name.substr(8));
      current = std::string(name);
      out[current];
      continue;
    }
    if (!in_section || indented) continue;
    const std::size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view v = trim(l.substr(eq + 1));
    // Inline comments after a value are botocore's " #" / " ;" only when preceded by space.
    for (const char* marker : {" #", " ;", "\t#", "\t;"}) {
      const std::size_t p = v.find(marker);
      if (p != std::string_view::npos) v = trim(v.substr(0, p));
    }
    out[current][lower(trim(l.substr(0, eq)))] = std::string(v);
  }
  return out;
}

std::variant<ProfilePlan, ProfileError> resolve_profile(const IniSections& config,
                                                        const IniSections& credentials,
                                                        const std::string& profile) {
  ProfilePlan plan;
  std::vector<RoleStep> reversed;  // outermost first while walking source_profile links
  std::set<std::string> seen;
  std::string name = profile;
  for (int depth = 0;; ++depth) {
    if (depth > 16) return fail(profile, "source_profile chain is longer than 16 profiles");
    Values v;
    bool found = false;
    if (auto it = config.find(name); it != config.end()) {
      v = it->second;
      found = true;
    }
    if (auto it = credentials.find(name); it != credentials.end()) {
      for (const auto& [k, val] : it->second) v[k] = val;
      found = true;
    }
    if (!found) {
      if (name == profile) return ProfileError{"profile '" + profile + "' not found in the config or credentials file", true};
      return fail(reversed.empty() ? profile : reversed.back().profile,
                  "source_profile '" + name + "' not found in the config or credentials file");
    }
    const bool revisit = !seen.insert(name).second;
    const std::string* key_id = value(v, "aws_access_key_id");
    const std::string* secret = value(v, "aws_secret_access_key");
    const std::string* role_arn = value(v, "role_arn");
    // A profile that is its own source_profile means "my own keys", as botocore reads it.
    if (revisit && !(role_arn && key_id)) return fail(name, "source_profile cycle through '" + name + "'");
    if (role_arn && !revisit) {
      if (value(v, "mfa_serial"))
        return fail(name, "mfa_serial is set: the worker cannot prompt for an MFA code (use a role that "
                          "does not require MFA, or credential_process)");
      RoleStep step;
      step.profile = name;
      step.role_arn = *role_arn;
      if (auto x = value(v, "external_id")) step.external_id = *x;
      if (auto x = value(v, "role_session_name")) step.role_session_name = *x;
      if (auto x = value(v, "duration_seconds")) {
        int d = 0;
        bool ok = !x->empty() && x->size() <= 6;
        for (char c : *x) ok = ok && c >= '0' && c <= '9';
        if (ok) d = std::stoi(*x);
        if (!ok || d < 900 || d > 43200) return fail(name, "duration_seconds must be a number from 900 to 43200");
        step.duration_seconds = d;
      }
      const std::string* source_profile = value(v, "source_profile");
      const std::string* credential_source = value(v, "credential_source");
      const std::string* token_file = value(v, "web_identity_token_file");
      if (token_file && !source_profile && !credential_source) {
        plan.base.kind = ProfileBase::Kind::web_identity;
        plan.base.profile = name;
        plan.base.token_file = *token_file;
        plan.base.role = step;
        break;
      }
      if (source_profile && credential_source)
        return fail(name, "role_arn with both source_profile and credential_source (set only one)");
      if (!source_profile && !credential_source)
        return fail(name, "role_arn needs source_profile, credential_source or web_identity_token_file");
      reversed.push_back(step);
      if (credential_source) {
        plan.base.profile = name;
        if (*credential_source == "Environment") plan.base.kind = ProfileBase::Kind::environment;
        else if (*credential_source == "Ec2InstanceMetadata") plan.base.kind = ProfileBase::Kind::ec2_metadata;
        else if (*credential_source == "EcsContainer") plan.base.kind = ProfileBase::Kind::ecs_container;
        else
          return fail(name, "credential_source must be Environment, Ec2InstanceMetadata or EcsContainer");
        break;
      }
      name = *source_profile;
      continue;
    }
    plan.base.profile = name;
    if (auto p = value(v, "credential_process")) {
      plan.base.kind = ProfileBase::Kind::credential_process;
      plan.base.process = *p;
      break;
    }
    if (key_id || secret) {
      if (!key_id) return fail(name, "aws_secret_access_key without aws_access_key_id");
      if (!secret) return fail(name, "aws_access_key_id without aws_secret_access_key");
      plan.base.kind = ProfileBase::Kind::static_keys;
      plan.base.keys.access_key_id = *key_id;
      plan.base.keys.secret_access_key = *secret;
      if (auto t = value(v, "aws_session_token")) plan.base.keys.session_token = *t;
      break;
    }
    if (value(v, "sso_start_url") || value(v, "sso_session"))
      return fail(name, "SSO profiles are not read directly: set credential_process = aws configure "
                        "export-credentials --profile " + name + " --format process");
    return fail(name, "has no credentials (no keys, role_arn, credential_process or web_identity_token_file)");
  }
  plan.roles.assign(reversed.rbegin(), reversed.rend());
  return plan;
}

}  // namespace iamq::client
