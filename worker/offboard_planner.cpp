// The user planners: offboard_user (and its alias delete_user), offboard_user with keep_user
// ("disable"), and deactivate_mfa. One state machine walks a list of phases; a list phase
// pages its List* call to the end, collecting the mutating calls for what it found, then
// makes them one by one.
#include <deque>
#include <functional>
#include <tuple>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/planner_detail.hpp"

namespace iamq::worker::detail {

namespace {

enum class Phase {
  get_user,           // GetUser: does the user exist? permissions boundary?
  login_profile,      // DeleteLoginProfile (dry run: GetLoginProfile to see if there is one)
  access_keys,        // ListAccessKeys → DeleteAccessKey (keep_user: UpdateAccessKey Inactive)
  signing_certs,      // ListSigningCertificates → DeleteSigningCertificate
  ssh_keys,           // ListSSHPublicKeys → DeleteSSHPublicKey
  service_creds,      // ListServiceSpecificCredentials → DeleteServiceSpecificCredential
  mfa_devices,        // ListMFADevices → DeactivateMFADevice (+ DeleteVirtualMFADevice)
  inline_policies,    // ListUserPolicies → DeleteUserPolicy
  attached_policies,  // ListAttachedUserPolicies → DetachUserPolicy
  boundary,           // DeleteUserPermissionsBoundary when GetUser showed one
  groups,             // ListGroupsForUser → RemoveUserFromGroup
  delete_user,        // DeleteUser
  mfa_deactivate,     // deactivate_mfa with a serial: DeactivateMFADevice
  mfa_delete,         // … and DeleteVirtualMFADevice when asked and virtual
  hold_policy,        // keep_user: PutUserPolicy iamq-legal-hold (deny sessions issued before)
};

constexpr std::pair<Phase, std::string_view> kPhaseNames[] = {
    {Phase::get_user, "get_user"},
    {Phase::login_profile, "login_profile"},
    {Phase::access_keys, "access_keys"},
    {Phase::signing_certs, "signing_certs"},
    {Phase::ssh_keys, "ssh_keys"},
    {Phase::service_creds, "service_creds"},
    {Phase::mfa_devices, "mfa_devices"},
    {Phase::inline_policies, "inline_policies"},
    {Phase::attached_policies, "attached_policies"},
    {Phase::boundary, "boundary"},
    {Phase::groups, "groups"},
    {Phase::delete_user, "delete_user"},
    {Phase::mfa_deactivate, "mfa_deactivate"},
    {Phase::mfa_delete, "mfa_delete"},
    {Phase::hold_policy, "hold_policy"},
};

std::string_view phase_name(Phase p) {
  for (const auto& [ph, name] : kPhaseNames)
    if (ph == p) return name;
  return "?";
}

/// A list phase: which List* action, where its items are, what to do with each.
struct ListSpec {
  std::string_view action;
  std::string_view key;  ///< the member list in the result
  std::string_view what;  ///< for descriptions: "access keys"
};

std::optional<ListSpec> list_spec(Phase p) {
  switch (p) {
    case Phase::access_keys: return ListSpec{"ListAccessKeys", "AccessKeyMetadata", "access keys"};
    case Phase::signing_certs: return ListSpec{"ListSigningCertificates", "Certificates", "signing certificates"};
    case Phase::ssh_keys: return ListSpec{"ListSSHPublicKeys", "SSHPublicKeys", "SSH public keys"};
    case Phase::service_creds:
      return ListSpec{"ListServiceSpecificCredentials", "ServiceSpecificCredentials", "service-specific credentials"};
    case Phase::mfa_devices: return ListSpec{"ListMFADevices", "MFADevices", "MFA devices"};
    case Phase::inline_policies: return ListSpec{"ListUserPolicies", "PolicyNames", "inline policies"};
    case Phase::attached_policies: return ListSpec{"ListAttachedUserPolicies", "AttachedPolicies", "attached policies"};
    case Phase::groups: return ListSpec{"ListGroupsForUser", "Groups", "groups"};
    default: return std::nullopt;
  }
}

/// A string field of a list item; items of string lists (PolicyNames) are the value itself.
std::string field(const nlohmann::json& item, const char* name) {
  if (item.is_string()) return item.get<std::string>();
  if (!item.is_object()) return {};
  auto it = item.find(name);
  if (it == item.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

PlannedCall call(std::string action, client::Params params, bool mutating, std::string description) {
  return PlannedCall{std::move(action), std::move(params), mutating, std::move(description)};
}

class UserPlanner final : public MachineBase {
 public:
  UserPlanner(const Job& job, const PlannerOptions& opts)
      : MachineBase(opts.dry_run),
        type_(job.type),
        user_(job.user_name),
        serial_(job.serial_number),
        keep_user_(job.keep_user),
        delete_virtual_(job.delete_virtual),
        max_rounds_(opts.delete_conflict_rounds),
        clock_(opts.clock ? opts.clock : [] { return std::chrono::system_clock::now(); }) {
    if (type_ == JobType::deactivate_mfa) {
      if (!serial_.empty()) {
        phases_ = {Phase::mfa_deactivate};
        if (delete_virtual_ && is_virtual_mfa_serial(serial_)) phases_.push_back(Phase::mfa_delete);
      } else {
        phases_ = {Phase::mfa_devices};
      }
    } else if (keep_user_) {
      // A legal hold leaves nothing working and keeps the user and what it holds: MFA off, no
      // sign-in, every credential Inactive, and last the deny policy that revokes every
      // session issued before the hold (its time is taken when that phase starts, after
      // every credential is off, so no session from before can still be used).
      phases_ = {Phase::get_user,      Phase::mfa_devices, Phase::login_profile, Phase::access_keys,
                 Phase::signing_certs, Phase::ssh_keys,    Phase::service_creds, Phase::hold_policy};
    } else {
      // AWS's documented order for deleting a user through the API.
      phases_ = {Phase::get_user,      Phase::login_profile,   Phase::access_keys,       Phase::signing_certs,
                 Phase::ssh_keys,      Phase::service_creds,   Phase::mfa_devices,       Phase::inline_policies,
                 Phase::attached_policies, Phase::boundary,    Phase::groups,            Phase::delete_user};
    }
  }

  nlohmann::json checkpoint() const override {
    nlohmann::json j = base_checkpoint(type_key());
    j["phase"] = index_ < phases_.size() ? std::string(phase_name(phases_[index_])) : std::string("end");
    j["listing"] = listing_;
    j["marker"] = marker_;
    nlohmann::json pending = nlohmann::json::array();
    for (const auto& c : pending_) pending.push_back(to_json(c));
    j["pending"] = pending;
    j["round"] = round_;
    j["has_boundary"] = has_boundary_;
    j["changed"] = changed_;
    j["hold_time"] = hold_time_;
    return j;
  }

  /// Resumes from a checkpoint of the same job; false when it does not fit (caller starts over).
  bool restore(const nlohmann::json& j) {
    if (!j.is_object() || j.value("v", 0) != 1 || j.value("type", std::string()) != type_key()) return false;
    try {
      const std::string phase = j.at("phase").get<std::string>();
      std::size_t index = phases_.size();
      if (phase != "end") {
        for (std::size_t i = 0; i < phases_.size(); ++i)
          if (phase_name(phases_[i]) == phase) index = i;
        if (index == phases_.size()) return false;  // a phase this job does not have
      }
      std::deque<PlannedCall> pending;
      for (const auto& c : j.at("pending")) pending.push_back(planned_call_from_json(c));
      restore_base(j);
      index_ = index;
      listing_ = j.at("listing").get<bool>();
      marker_ = j.at("marker").get<std::string>();
      pending_ = std::move(pending);
      round_ = j.at("round").get<int>();
      has_boundary_ = j.at("has_boundary").get<bool>();
      changed_ = j.at("changed").get<bool>();
      hold_time_ = j.value("hold_time", std::string());
      result_.conflict_rounds = round_;
      return true;
    } catch (const nlohmann::json::exception&) {
      return false;
    }
  }

 protected:
  std::optional<PlannedCall> current() const override {
    if (index_ >= phases_.size()) return std::nullopt;
    const Phase ph = phases_[index_];
    if (auto spec = list_spec(ph)) {
      if (listing_) {
        client::Params p{{"UserName", user_}};
        if (!marker_.empty()) p.emplace_back("Marker", marker_);
        return call(std::string(spec->action), std::move(p), false,
                    "list " + std::string(spec->what) + " of " + user_ + (marker_.empty() ? "" : " (next page)"));
      }
      if (pending_.empty()) return std::nullopt;
      return pending_.front();
    }
    switch (ph) {
      case Phase::get_user:
        return call("GetUser", {{"UserName", user_}}, false, "get user " + user_);
      case Phase::login_profile:
        if (dry_run_) {
          // Is there a login profile to delete? Ask without changing anything.
          return call("GetLoginProfile", {{"UserName", user_}}, false, "get login profile of " + user_);
        }
        return call("DeleteLoginProfile", {{"UserName", user_}}, true, "delete login profile of " + user_);
      case Phase::boundary:
        if (!has_boundary_) return std::nullopt;
        return call("DeleteUserPermissionsBoundary", {{"UserName", user_}}, true,
                    "delete permissions boundary of " + user_);
      case Phase::delete_user:
        return call("DeleteUser", {{"UserName", user_}}, true, "delete user " + user_);
      case Phase::mfa_deactivate:
        return deactivate_call(serial_);
      case Phase::mfa_delete:
        return delete_virtual_call(serial_);
      case Phase::hold_policy:
        return call("PutUserPolicy",
                    {{"UserName", user_},
                     {"PolicyName", std::string(kLegalHoldPolicyName)},
                     {"PolicyDocument", legal_hold_policy_document(hold_time_)}},
                    true, "deny sessions of " + user_ + " issued before " + hold_time_ + " (inline policy " +
                              std::string(kLegalHoldPolicyName) + ")");
      default:
        return std::nullopt;
    }
  }

  void skip() override { advance(); }

  void on_success(const client::IamResult* r) override {
    const Phase ph = phases_[index_];
    if (auto spec = list_spec(ph)) {
      if (listing_) {
        if (r) collect(ph, *r, *spec);
        // Page to the end: IsTruncated + Marker.
        if (r && r->marker()) {
          marker_ = *r->marker();
        } else {
          listing_ = false;
          marker_.clear();
        }
        return;
      }
      if (r && pending_.front().mutating) {
        changed_ = true;
        note_disabled(pending_.front());
      }
      pending_.pop_front();
      return;
    }
    switch (ph) {
      case Phase::get_user:
        if (r) {
          const auto& user = r->result.contains("User") ? r->result["User"] : r->result;
          const auto b = user.is_object() ? user.find("PermissionsBoundary") : user.end();
          has_boundary_ = user.is_object() && b != user.end() &&
                          !(b->is_string() && b->get<std::string>().empty()) && !b->is_null();
        }
        break;
      case Phase::login_profile:
        if (dry_run_) {
          // GetLoginProfile found one: deleting it is what a real run would do.
          result_.would_call.push_back(
              call("DeleteLoginProfile", {{"UserName", user_}}, true, "delete login profile of " + user_));
        } else if (r) {
          changed_ = true;
          note_disabled(call("DeleteLoginProfile", {{"UserName", user_}}, true, ""));
        }
        break;
      case Phase::hold_policy:
        if (r) {
          changed_ = true;
          note_disabled(*current());
        }
        break;
      case Phase::delete_user:
      case Phase::boundary:
      case Phase::mfa_deactivate:
      case Phase::mfa_delete:
        if (r) changed_ = true;
        break;
      default:
        break;
    }
    advance();
  }

  void on_absent() override {
    const Phase ph = phases_[index_];
    if (list_spec(ph)) {
      if (listing_) {
        // The user is gone (for deactivate_mfa without a serial this is the first call
        // naming the user). Nothing left to list here.
        if (type_ == JobType::deactivate_mfa) {
          finish("absent");
          return;
        }
        listing_ = false;
        marker_.clear();
        return;
      }
      pending_.pop_front();  // already deleted / deactivated / detached: absent
      return;
    }
    switch (ph) {
      case Phase::get_user:
        // The first call naming the user. Gone before we started: absent; gone in a later
        // round (someone else deleted it meanwhile): the job's goal is reached.
        finish(round_ == 0 ? "absent" : final_outcome());
        return;
      case Phase::delete_user:
        finish(final_outcome());
        return;
      default:
        advance();  // login profile, boundary, MFA device: already gone
        return;
    }
  }

  void on_unsupported(const client::IamError& e) override {
    // Only a List* while listing gets here (MachineBase checks): the endpoint cannot tell
    // what there is, so act on what earlier pages showed and go on. DeleteUser stays the
    // judge: anything really left makes it answer DeleteConflict.
    const auto spec = list_spec(phases_[index_]);
    if (!spec || !listing_) return fail(e);
    note_unsupported(std::string(spec->action), std::string(spec->what), e);
    listing_ = false;
    marker_.clear();
  }

  void on_conflict(const client::IamError& e) override {
    // Something was attached meanwhile (or a device still in use): list everything again.
    if (type_ != JobType::deactivate_mfa && round_ < max_rounds_) {
      ++round_;
      result_.conflict_rounds = round_;
      index_ = 0;
      reset_phase();
      return;
    }
    client::IamError err = e;
    if (type_ != JobType::deactivate_mfa) {
      err.message += " (still conflicting after " + std::to_string(round_) + " list-again round" +
                     (round_ == 1 ? "" : "s") + ")";
    }
    if (!result_.unsupported.empty()) {
      // Say what could not be listed: that is most likely what is still attached.
      std::string what;
      for (const auto& u : result_.unsupported) {
        what += (what.empty() ? "" : ", ") + u.what + " (" + u.action + ")";
      }
      err.message += "; the endpoint does not implement listing " + what +
                     ", so they could not be removed: remove them by hand and retry the job";
    }
    fail(err);
  }

 private:
  std::string type_key() const {
    return type_ == JobType::deactivate_mfa ? "deactivate_mfa" : (keep_user_ ? "disable_user" : "offboard_user");
  }

  std::string final_outcome() const {
    if (dry_run_) return "dry_run";
    if (type_ == JobType::deactivate_mfa) return !serial_.empty() && !changed_ ? "absent" : "done";
    return keep_user_ ? "disabled" : "done";
  }

  void reset_phase() {
    listing_ = true;
    marker_.clear();
    pending_.clear();
  }

  void advance() {
    ++index_;
    reset_phase();
    if (index_ >= phases_.size()) return finish(final_outcome());
    if (phases_[index_] == Phase::hold_policy && hold_time_.empty()) {
      // Fixed once (and checkpointed): a resumed job puts the same policy again.
      hold_time_ = iso8601_utc(clock_());
      result_.hold_time = hold_time_;
    }
  }

  /// Legal hold: a disabling call answered; the result lists what, which and when.
  void note_disabled(const PlannedCall& c) {
    if (!keep_user_ || type_ == JobType::deactivate_mfa) return;
    static constexpr std::tuple<std::string_view, std::string_view, std::string_view> kWhat[] = {
        {"UpdateAccessKey", "access key", "AccessKeyId"},
        {"UpdateSigningCertificate", "signing certificate", "CertificateId"},
        {"UpdateSSHPublicKey", "SSH public key", "SSHPublicKeyId"},
        {"UpdateServiceSpecificCredential", "service-specific credential", "ServiceSpecificCredentialId"},
        {"DeactivateMFADevice", "MFA device (deactivated)", "SerialNumber"},
        {"DeleteVirtualMFADevice", "virtual MFA device (deleted)", "SerialNumber"},
        {"DeleteLoginProfile", "login profile (deleted)", ""},
        {"PutUserPolicy", "sessions issued before the hold (deny policy)", "PolicyName"},
    };
    for (const auto& [action, what, id_param] : kWhat) {
      if (c.action != action) continue;
      std::string id;
      for (const auto& [k, v] : c.params)
        if (k == id_param) id = v;
      result_.disabled.push_back({std::string(what), id, c.action, iso8601_utc(clock_())});
    }
  }

  PlannedCall deactivate_call(const std::string& serial) const {
    // Always both: without UserName IAM would act on the caller's own identity.
    return call("DeactivateMFADevice", {{"UserName", user_}, {"SerialNumber", serial}}, true,
                "deactivate MFA device " + serial + " of " + user_);
  }
  static PlannedCall delete_virtual_call(const std::string& serial) {
    return call("DeleteVirtualMFADevice", {{"SerialNumber", serial}}, true, "delete virtual MFA device " + serial);
  }

  /// Legal hold: `Status=Inactive` for a credential that is not inactive yet.
  void deactivate(const nlohmann::json& item, const char* action, const char* id_param, const std::string& id,
                  const char* what) {
    if (field(item, "Status") == "Inactive") {
      // Nothing to do; listed so that the record shows every credential was seen off.
      for (const auto& a : result_.already_inactive)
        if (a.id == id && a.what == what) return;  // seen again in a later page or round
      result_.already_inactive.push_back({what, id, action, ""});
      return;
    }
    pending_.push_back(call(action, {{"UserName", user_}, {id_param, id}, {"Status", "Inactive"}}, true,
                            "deactivate " + std::string(what) + " " + id + " of " + user_));
  }

  void collect(Phase ph, const client::IamResult& r, const ListSpec& spec) {
    for (const auto& item : client::members(r.result, spec.key)) {
      switch (ph) {
        case Phase::access_keys: {
          const std::string id = field(item, "AccessKeyId");
          if (id.empty()) break;
          if (keep_user_) {
            deactivate(item, "UpdateAccessKey", "AccessKeyId", id, "access key");
          } else {
            pending_.push_back(call("DeleteAccessKey", {{"UserName", user_}, {"AccessKeyId", id}}, true,
                                    "delete access key " + id + " of " + user_));
          }
          break;
        }
        case Phase::signing_certs: {
          const std::string id = field(item, "CertificateId");
          if (id.empty()) break;
          if (keep_user_) {
            deactivate(item, "UpdateSigningCertificate", "CertificateId", id, "signing certificate");
          } else {
            pending_.push_back(call("DeleteSigningCertificate", {{"UserName", user_}, {"CertificateId", id}}, true,
                                    "delete signing certificate " + id + " of " + user_));
          }
          break;
        }
        case Phase::ssh_keys: {
          const std::string id = field(item, "SSHPublicKeyId");
          if (id.empty()) break;
          if (keep_user_) {
            deactivate(item, "UpdateSSHPublicKey", "SSHPublicKeyId", id, "SSH public key");
          } else {
            pending_.push_back(call("DeleteSSHPublicKey", {{"UserName", user_}, {"SSHPublicKeyId", id}}, true,
                                    "delete SSH public key " + id + " of " + user_));
          }
          break;
        }
        case Phase::service_creds: {
          const std::string id = field(item, "ServiceSpecificCredentialId");
          if (id.empty()) break;
          if (keep_user_) {
            deactivate(item, "UpdateServiceSpecificCredential", "ServiceSpecificCredentialId", id,
                       "service-specific credential");
          } else {
            pending_.push_back(call("DeleteServiceSpecificCredential",
                                    {{"UserName", user_}, {"ServiceSpecificCredentialId", id}}, true,
                                    "delete service-specific credential " + id + " of " + user_));
          }
          break;
        }
        case Phase::mfa_devices: {
          const std::string serial = field(item, "SerialNumber");
          if (serial.empty()) break;
          pending_.push_back(deactivate_call(serial));
          const bool delete_it = type_ == JobType::deactivate_mfa ? delete_virtual_ : true;
          if (delete_it && is_virtual_mfa_serial(serial)) pending_.push_back(delete_virtual_call(serial));
          break;
        }
        case Phase::inline_policies: {
          const std::string name = field(item, "PolicyName");
          if (!name.empty())
            pending_.push_back(call("DeleteUserPolicy", {{"UserName", user_}, {"PolicyName", name}}, true,
                                    "delete inline policy " + name + " of " + user_));
          break;
        }
        case Phase::attached_policies: {
          const std::string arn = field(item, "PolicyArn");
          if (!arn.empty())
            pending_.push_back(call("DetachUserPolicy", {{"UserName", user_}, {"PolicyArn", arn}}, true,
                                    "detach policy " + arn + " from " + user_));
          break;
        }
        case Phase::groups: {
          const std::string group = field(item, "GroupName");
          if (!group.empty())
            pending_.push_back(call("RemoveUserFromGroup", {{"GroupName", group}, {"UserName", user_}}, true,
                                    "remove " + user_ + " from group " + group));
          break;
        }
        default:
          break;
      }
    }
  }

  JobType type_;
  std::string user_;
  std::string serial_;
  bool keep_user_;
  bool delete_virtual_;
  int max_rounds_;
  std::function<std::chrono::system_clock::time_point()> clock_;
  std::vector<Phase> phases_;

  // Resumable state (all of it goes into the checkpoint).
  std::size_t index_ = 0;       ///< into phases_
  bool listing_ = true;         ///< list phase: still paging (else: making pending_ calls)
  std::string marker_;          ///< next page's Marker ("" for the first page)
  std::deque<PlannedCall> pending_;
  int round_ = 0;               ///< DeleteConflict rounds used
  bool has_boundary_ = false;   ///< GetUser showed a PermissionsBoundary
  bool changed_ = false;        ///< some mutating call succeeded
  std::string hold_time_;       ///< legal hold: aws:TokenIssueTime bound, set entering hold_policy
};

}  // namespace

std::unique_ptr<Planner> make_user_planner(const Job& job, const PlannerOptions& opts,
                                           const nlohmann::json& checkpoint) {
  auto p = std::make_unique<UserPlanner>(job, opts);
  if (!checkpoint.is_null() && !p->restore(checkpoint)) p = std::make_unique<UserPlanner>(job, opts);
  return p;
}

}  // namespace iamq::worker::detail
