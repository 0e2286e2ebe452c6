// deactivate_root_mfa: the root user of a member account, through a session of
// sts:AssumeRoot (task policy IAMDeleteRootUserCredentials) that the engine gets for this job
// alone. Every call here acts on the session's own identity, the root user, so none names a
// user: ListMFADevices, then DeactivateMFADevice with only SerialNumber for each device; with
// delete_root_credentials also DeleteLoginProfile, ListAccessKeys → DeleteAccessKey and
// ListSigningCertificates → DeleteSigningCertificate. Nothing else is ever sent.
#include <deque>

#include "worker/planner_detail.hpp"

namespace iamq::worker::detail {

namespace {

enum class Phase { mfa_devices, login_profile, access_keys, signing_certs, done };

std::string_view phase_name(Phase p) {
  switch (p) {
    case Phase::mfa_devices: return "mfa_devices";
    case Phase::login_profile: return "login_profile";
    case Phase::access_keys: return "access_keys";
    case Phase::signing_certs: return "signing_certs";
    case Phase::done: return "done";
  }
  return "done";
}

Phase phase_from(const std::string& s) {
  for (auto p : {Phase::mfa_devices, Phase::login_profile, Phase::access_keys, Phase::signing_certs})
    if (phase_name(p) == s) return p;
  return Phase::done;
}

std::string member_field(const nlohmann::json& item, const char* name) {
  if (!item.is_object()) return {};
  auto it = item.find(name);
  return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class RootMfaPlanner final : public MachineBase {
 public:
  RootMfaPlanner(const Job& job, const PlannerOptions& opts)
      : MachineBase(opts.dry_run), account_(job.root_account_id), delete_credentials_(job.delete_root_credentials) {}

  void restore(const nlohmann::json& j) {
    restore_base(j);
    phase_ = phase_from(j.at("phase").get<std::string>());
    listing_ = j.at("listing").get<bool>();
    marker_ = j.at("marker").get<std::string>();
    changed_ = j.at("changed").get<bool>();
    for (const auto& c : j.at("pending")) pending_.push_back(planned_call_from_json(c));
  }

  nlohmann::json checkpoint() const override {
    nlohmann::json j = base_checkpoint("deactivate_root_mfa");
    j["phase"] = std::string(phase_name(phase_));
    j["listing"] = listing_;
    j["marker"] = marker_;
    j["changed"] = changed_;
    j["pending"] = nlohmann::json::array();
    for (const auto& c : pending_) j["pending"].push_back(to_json(c));
    return j;
  }

 protected:
  std::optional<PlannedCall> current() const override {
    if (phase_ == Phase::done) return std::nullopt;
    if (phase_ == Phase::login_profile) {
      return PlannedCall{"DeleteLoginProfile", {}, true, "delete the root user's password of " + account_};
    }
    if (listing_) {
      client::Params p;
      if (!marker_.empty()) p.emplace_back("Marker", marker_);
      const char* action = phase_ == Phase::mfa_devices ? "ListMFADevices"
                           : phase_ == Phase::access_keys ? "ListAccessKeys"
                                                          : "ListSigningCertificates";
      return PlannedCall{action, std::move(p), false, std::string("list the root user's ") +
                                                         (phase_ == Phase::mfa_devices ? "MFA devices"
                                                          : phase_ == Phase::access_keys ? "access keys"
                                                                                        : "signing certificates") +
                                                         " of " + account_};
    }
    if (pending_.empty()) return std::nullopt;
    return pending_.front();
  }

  void skip() override { advance(); }

  void on_success(const client::IamResult* r) override {
    if (phase_ == Phase::login_profile) {
      if (r) changed_ = true;
      return advance();
    }
    if (listing_) {
      if (r) collect(*r);
      if (r && r->marker()) {
        marker_ = *r->marker();
      } else {
        listing_ = false;
        marker_.clear();
      }
      return;
    }
    if (r) changed_ = true;
    pending_.pop_front();
  }

  void on_absent() override {
    // NoSuchEntity: already gone (a device, key, certificate or the password); a list that
    // answers it has nothing in it.
    if (phase_ == Phase::login_profile) return advance();
    if (listing_) {
      listing_ = false;
      marker_.clear();
      return;
    }
    pending_.pop_front();
  }

 private:
  void collect(const client::IamResult& r) {
    if (phase_ == Phase::mfa_devices) {
      for (const auto& item : client::members(r.result, "MFADevices")) {
        const std::string serial = member_field(item, "SerialNumber");
        if (serial.empty()) continue;
        pending_.push_back(PlannedCall{"DeactivateMFADevice", {{"SerialNumber", serial}}, true,
                                       "deactivate the root user's MFA " + serial + " of " + account_});
      }
    } else if (phase_ == Phase::access_keys) {
      for (const auto& item : client::members(r.result, "AccessKeyMetadata")) {
        const std::string id = member_field(item, "AccessKeyId");
        if (id.empty()) continue;
        pending_.push_back(PlannedCall{"DeleteAccessKey", {{"AccessKeyId", id}}, true,
                                       "delete the root user's access key " + id + " of " + account_});
      }
    } else if (phase_ == Phase::signing_certs) {
      for (const auto& item : client::members(r.result, "Certificates")) {
        const std::string id = member_field(item, "CertificateId");
        if (id.empty()) continue;
        pending_.push_back(PlannedCall{"DeleteSigningCertificate", {{"CertificateId", id}}, true,
                                       "delete the root user's signing certificate " + id + " of " + account_});
      }
    }
  }

  void advance() {
    pending_.clear();
    marker_.clear();
    listing_ = true;
    if (phase_ == Phase::mfa_devices) phase_ = delete_credentials_ ? Phase::login_profile : Phase::done;
    else if (phase_ == Phase::login_profile) phase_ = Phase::access_keys;
    else if (phase_ == Phase::access_keys) phase_ = Phase::signing_certs;
    else phase_ = Phase::done;
    if (phase_ == Phase::done) finish(dry_run_ ? "dry_run" : changed_ ? "done" : "absent");
  }

  std::string account_;
  bool delete_credentials_;
  Phase phase_ = Phase::mfa_devices;
  bool listing_ = true;
  std::string marker_;
  bool changed_ = false;
  std::deque<PlannedCall> pending_;
};

}  // namespace

std::unique_ptr<Planner> make_root_mfa_planner(const Job& job, const PlannerOptions& opts,
                                               const nlohmann::json& checkpoint) {
  if (checkpoint.is_object() && checkpoint.value("type", std::string()) == "deactivate_root_mfa") {
    try {
      auto p = std::make_unique<RootMfaPlanner>(job, opts);
      p->restore(checkpoint);
      return p;
    } catch (const nlohmann::json::exception&) {
      // Unreadable: start over (every call is idempotent).
    }
  }
  return std::make_unique<RootMfaPlanner>(job, opts);
}

}  // namespace iamq::worker::detail
