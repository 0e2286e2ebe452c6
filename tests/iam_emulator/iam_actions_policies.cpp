// IAM actions on MFA devices and on policies (inline, managed, attachments, boundaries).
#include <algorithm>

#include "tests/iam_emulator/iam_action_support.hpp"

namespace iamq::emulator::detail {

namespace {

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

}  // namespace

void add_policy_actions(std::vector<ActionSpec>& out) {
  out.insert(out.end(), {
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
  });
}

}  // namespace iamq::emulator::detail
