#pragma once
// An in-memory IAM model for planner unit tests (sans-io: the planners never do I/O, so
// their tests feed them outcomes computed from this model). It answers the calls the
// planners make with the result shapes client::parse_response produces, pages every List*
// call (page_size items, Marker, IsTruncated), enforces DeleteUser's preconditions
// (DeleteConflict) and answers NoSuchEntity for what is not there.
#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "client/iam_response.hpp"
#include "worker/planner.hpp"

namespace iamq::test {

struct FakeUser {
  bool login_profile = false;
  std::map<std::string, std::string> access_keys;  // id → Active|Inactive
  std::vector<std::string> certs, ssh_keys, service_creds, mfa, inline_policies, attached, groups;
  std::optional<std::string> boundary;
  std::set<std::string> inactive;                  // ids of certs, SSH keys, service creds set Inactive
  std::map<std::string, std::string> policy_docs;  // PutUserPolicy: name → document
  bool empty() const {
    return !login_profile && access_keys.empty() && certs.empty() && ssh_keys.empty() && service_creds.empty() &&
           mfa.empty() && inline_policies.empty() && attached.empty() && groups.empty();
  }
};

inline client::Outcome ok(nlohmann::json result) {
  client::Outcome o;
  o.ok = client::IamResult{};
  o.ok->result = std::move(result);
  o.ok->request_id = "req";
  return o;
}

inline client::Outcome err(client::ErrorClass cls, std::string code, int status = 400) {
  client::Outcome o;
  o.error = client::IamError{cls, status, std::move(code), "injected or modelled error", "req"};
  return o;
}

inline std::string param(const worker::PlannedCall& c, const std::string& name) {
  for (const auto& [k, v] : c.params)
    if (k == name) return v;
  return {};
}
inline bool has_param(const worker::PlannedCall& c, const std::string& name) {
  return std::any_of(c.params.begin(), c.params.end(), [&](const auto& kv) { return kv.first == name; });
}

class FakeIam {
 public:
  std::map<std::string, FakeUser> users;
  std::set<std::string> virtual_devices;  // serials of virtual MFA devices that exist
  std::size_t page_size = 2;
  std::vector<worker::PlannedCall> log;  // every call answered
  /// Called before answering call number N (0-based); a value replaces the answer.
  std::function<std::optional<client::Outcome>(const worker::PlannedCall&, std::size_t n)> fault;
  /// Called after answering (to change the world meanwhile).
  std::function<void(FakeIam&, const worker::PlannedCall&, std::size_t n)> after;

  client::Outcome handle(const worker::PlannedCall& c) {
    const std::size_t n = log.size();
    log.push_back(c);
    if (c.action == "DeactivateMFADevice") {
      // The seed operation's invariant: never without UserName.
      EXPECT_TRUE(has_param(c, "UserName") && has_param(c, "SerialNumber")) << c.description;
    }
    EXPECT_EQ(c.mutating, !worker::is_read_only_action(c.action)) << c.action;
    if (fault) {
      if (auto o = fault(c, n)) return *o;
    }
    client::Outcome o = answer(c);
    if (after) after(*this, c, n);
    return o;
  }

  /// Runs a planner to the end against this model; returns the number of calls.
  std::size_t run(worker::Planner& p, std::size_t limit = 10000) {
    std::size_t calls = 0;
    while (auto c = p.next()) {
      if (++calls > limit) {
        ADD_FAILURE() << "planner did not finish within " << limit << " calls";
        break;
      }
      p.on_outcome(handle(*c));
    }
    EXPECT_TRUE(p.finished());
    return calls;
  }

  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const auto& c : log) out.push_back(c.action);
    return out;
  }
  std::size_t count(const std::string& action) const {
    return static_cast<std::size_t>(
        std::count_if(log.begin(), log.end(), [&](const auto& c) { return c.action == action; }));
  }
  std::size_t mutating_calls() const {
    return static_cast<std::size_t>(std::count_if(log.begin(), log.end(), [](const auto& c) { return c.mutating; }));
  }

 private:
  static client::Outcome no_such_entity() { return err(client::ErrorClass::absent, "NoSuchEntity", 404); }

  template <typename Items>
  client::Outcome page(const worker::PlannedCall& c, const std::string& key, const Items& items,
                       const std::function<nlohmann::json(const typename Items::value_type&)>& shape) {
    std::size_t start = 0;
    if (has_param(c, "Marker")) start = std::stoul(param(c, "Marker").substr(1));
    nlohmann::json arr = nlohmann::json::array();
    std::size_t i = 0;
    for (const auto& it : items) {
      if (i >= start && i < start + page_size) arr.push_back(shape(it));
      ++i;
    }
    nlohmann::json r = {{key, arr}};
    if (start + page_size < items.size()) {
      r["IsTruncated"] = "true";
      r["Marker"] = "m" + std::to_string(start + page_size);
    } else {
      r["IsTruncated"] = "false";
    }
    return ok(r);
  }

  static bool erase(std::vector<std::string>& v, const std::string& x) {
    auto it = std::find(v.begin(), v.end(), x);
    if (it == v.end()) return false;
    v.erase(it);
    return true;
  }

  client::Outcome answer(const worker::PlannedCall& c) {
    const std::string a = c.action;
    if (a == "DeleteVirtualMFADevice") {
      const std::string s = param(c, "SerialNumber");
      for (const auto& [name, u] : users)
        if (std::find(u.mfa.begin(), u.mfa.end(), s) != u.mfa.end())
          return err(client::ErrorClass::conflict, "DeleteConflict", 409);
      return virtual_devices.erase(s) ? ok({}) : no_such_entity();
    }
    auto uit = users.find(param(c, "UserName"));
    if (uit == users.end()) return no_such_entity();
    FakeUser& u = uit->second;
    using S = std::string;
    auto id_shape = [](const char* k) { return [k](const S& s) { return nlohmann::json{{k, s}}; }; };
    if (a == "GetUser") {
      nlohmann::json user = {{"UserName", uit->first}, {"Arn", "arn:aws:iam::123456789012:user/" + uit->first}};
      if (u.boundary)
        user["PermissionsBoundary"] = {{"PermissionsBoundaryType", "Policy"}, {"PermissionsBoundaryArn", *u.boundary}};
      return ok({{"User", user}});
    }
    if (a == "GetLoginProfile") return u.login_profile ? ok({{"LoginProfile", {{"UserName", uit->first}}}}) : no_such_entity();
    if (a == "DeleteLoginProfile") {
      if (!u.login_profile) return no_such_entity();
      u.login_profile = false;
      return ok({});
    }
    if (a == "ListAccessKeys") {
      std::vector<std::pair<S, S>> keys(u.access_keys.begin(), u.access_keys.end());
      return page<std::vector<std::pair<S, S>>>(c, "AccessKeyMetadata", keys, [&](const std::pair<S, S>& k) {
        return nlohmann::json{{"UserName", uit->first}, {"AccessKeyId", k.first}, {"Status", k.second}};
      });
    }
    if (a == "DeleteAccessKey") return u.access_keys.erase(param(c, "AccessKeyId")) ? ok({}) : no_such_entity();
    if (a == "UpdateAccessKey") {
      auto k = u.access_keys.find(param(c, "AccessKeyId"));
      if (k == u.access_keys.end()) return no_such_entity();
      k->second = param(c, "Status");
      return ok({});
    }
    auto status_shape = [&u](const char* k) {
      return [k, &u](const S& s) { return nlohmann::json{{k, s}, {"Status", u.inactive.count(s) ? "Inactive" : "Active"}}; };
    };
    auto update_status = [&](const std::vector<S>& items, const char* id_param) {
      const S id = param(c, id_param);
      if (std::find(items.begin(), items.end(), id) == items.end()) return no_such_entity();
      if (param(c, "Status") == "Inactive") u.inactive.insert(id);
      else u.inactive.erase(id);
      return ok({});
    };
    if (a == "UpdateSigningCertificate") return update_status(u.certs, "CertificateId");
    if (a == "UpdateSSHPublicKey") return update_status(u.ssh_keys, "SSHPublicKeyId");
    if (a == "UpdateServiceSpecificCredential") return update_status(u.service_creds, "ServiceSpecificCredentialId");
    if (a == "PutUserPolicy") {
      const S name = param(c, "PolicyName");
      if (std::find(u.inline_policies.begin(), u.inline_policies.end(), name) == u.inline_policies.end())
        u.inline_policies.push_back(name);
      u.policy_docs[name] = param(c, "PolicyDocument");
      return ok({});
    }
    if (a == "ListSigningCertificates")
      return page<std::vector<S>>(c, "Certificates", u.certs, status_shape("CertificateId"));
    if (a == "DeleteSigningCertificate") return erase(u.certs, param(c, "CertificateId")) ? ok({}) : no_such_entity();
    if (a == "ListSSHPublicKeys")
      return page<std::vector<S>>(c, "SSHPublicKeys", u.ssh_keys, status_shape("SSHPublicKeyId"));
    if (a == "DeleteSSHPublicKey") return erase(u.ssh_keys, param(c, "SSHPublicKeyId")) ? ok({}) : no_such_entity();
    if (a == "ListServiceSpecificCredentials")
      return page<std::vector<S>>(c, "ServiceSpecificCredentials", u.service_creds,
                                  status_shape("ServiceSpecificCredentialId"));
    if (a == "DeleteServiceSpecificCredential")
      return erase(u.service_creds, param(c, "ServiceSpecificCredentialId")) ? ok({}) : no_such_entity();
    if (a == "ListMFADevices") {
      return page<std::vector<S>>(c, "MFADevices", u.mfa, [&](const S& s) {
        return nlohmann::json{{"UserName", uit->first}, {"SerialNumber", s}};
      });
    }
    if (a == "DeactivateMFADevice") return erase(u.mfa, param(c, "SerialNumber")) ? ok({}) : no_such_entity();
    if (a == "ListUserPolicies")
      return page<std::vector<S>>(c, "PolicyNames", u.inline_policies, [](const S& s) { return nlohmann::json(s); });
    if (a == "DeleteUserPolicy") return erase(u.inline_policies, param(c, "PolicyName")) ? ok({}) : no_such_entity();
    if (a == "ListAttachedUserPolicies")
      return page<std::vector<S>>(c, "AttachedPolicies", u.attached, id_shape("PolicyArn"));
    if (a == "DetachUserPolicy") return erase(u.attached, param(c, "PolicyArn")) ? ok({}) : no_such_entity();
    if (a == "DeleteUserPermissionsBoundary") {
      if (!u.boundary) return no_such_entity();
      u.boundary.reset();
      return ok({});
    }
    if (a == "ListGroupsForUser") return page<std::vector<S>>(c, "Groups", u.groups, id_shape("GroupName"));
    if (a == "RemoveUserFromGroup") return erase(u.groups, param(c, "GroupName")) ? ok({}) : no_such_entity();
    if (a == "DeleteUser") {
      if (!u.empty()) return err(client::ErrorClass::conflict, "DeleteConflict", 409);
      users.erase(uit);
      return ok({});
    }
    ADD_FAILURE() << "fake IAM: unexpected action " << a;
    return err(client::ErrorClass::terminal, "InvalidAction");
  }
};

/// A user with some of everything (n of each list, virtual and hardware MFA).
inline FakeUser loaded_user(const std::string& name, int n, std::set<std::string>& virtual_devices) {
  FakeUser u;
  u.login_profile = true;
  for (int i = 0; i < n; ++i) {
    const std::string s = std::to_string(i);
    u.access_keys["AKIA" + name + s] = "Active";
    u.certs.push_back("CERT" + s);
    u.ssh_keys.push_back("APKA" + s);
    u.service_creds.push_back("ACCA" + s);
    u.inline_policies.push_back("inline-" + s);
    u.attached.push_back("arn:aws:iam::aws:policy/P" + s);
    u.groups.push_back("group-" + s);
    const std::string serial = "arn:aws:iam::123456789012:mfa/" + name + "-" + s;
    u.mfa.push_back(serial);
    virtual_devices.insert(serial);
  }
  u.mfa.push_back("GAHT12345678");  // a hardware token: deactivated, never "deleted"
  u.boundary = "arn:aws:iam::123456789012:policy/boundary";
  return u;
}

}  // namespace iamq::test
