// offboard_user / delete_user / keep_user planning against the in-memory IAM model.
#include <gtest/gtest.h>

#include "tests/worker/fake_iam.hpp"
#include "worker/planner.hpp"

#include <chrono>
#include <map>

namespace iamq::worker {
namespace {

using test::err;
using test::FakeIam;

Job offboard(const std::string& user) {
  Job j;
  j.id = "job-1";
  j.type = JobType::offboard_user;
  j.user_name = user;
  return j;
}

FakeIam world_with_alice(int n = 5) {
  FakeIam iam;
  iam.users["alice"] = test::loaded_user("alice", n, iam.virtual_devices);
  iam.users["bob"] = test::loaded_user("bob", 1, iam.virtual_devices);  // must stay untouched
  return iam;
}

// The index of the first call of `action` in the log (or SIZE_MAX).
std::size_t first(const FakeIam& iam, const std::string& action) {
  for (std::size_t i = 0; i < iam.log.size(); ++i)
    if (iam.log[i].action == action) return i;
  return SIZE_MAX;
}
std::size_t last(const FakeIam& iam, const std::string& action) {
  std::size_t found = SIZE_MAX;
  for (std::size_t i = 0; i < iam.log.size(); ++i)
    if (iam.log[i].action == action) found = i;
  return found;
}

TEST(OffboardPlanner, DeletesEverythingInAwsOrderPagingEveryList) {
  FakeIam iam = world_with_alice(5);
  auto p = make_planner(offboard("alice"), {});
  iam.run(*p);

  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::succeeded);
  EXPECT_EQ(r.outcome, "done");
  EXPECT_FALSE(r.error);
  EXPECT_EQ(r.conflict_rounds, 0);
  EXPECT_EQ(iam.users.count("alice"), 0u);
  ASSERT_EQ(iam.users.count("bob"), 1u);
  EXPECT_EQ(iam.virtual_devices.size(), 1u);  // bob's only
  EXPECT_FALSE(iam.users["bob"].empty());

  // 5 items, 2 a page: every list is paged to the end (3 pages).
  for (const char* list : {"ListAccessKeys", "ListSigningCertificates", "ListSSHPublicKeys",
                           "ListServiceSpecificCredentials", "ListUserPolicies", "ListAttachedUserPolicies",
                           "ListGroupsForUser"}) {
    EXPECT_EQ(iam.count(list), 3u) << list;
  }
  EXPECT_EQ(iam.count("ListMFADevices"), 3u);  // 6 devices
  EXPECT_EQ(iam.count("DeleteAccessKey"), 5u);
  EXPECT_EQ(iam.count("DeactivateMFADevice"), 6u);
  EXPECT_EQ(iam.count("DeleteVirtualMFADevice"), 5u);  // not the hardware token
  EXPECT_EQ(iam.count("DeleteUserPermissionsBoundary"), 1u);
  EXPECT_EQ(iam.count("DeleteUser"), 1u);

  // The documented order, phase by phase.
  const std::vector<std::string> order = {
      "GetUser",          "DeleteLoginProfile",       "ListAccessKeys",     "DeleteAccessKey",
      "ListSigningCertificates", "DeleteSigningCertificate", "ListSSHPublicKeys", "DeleteSSHPublicKey",
      "ListServiceSpecificCredentials", "DeleteServiceSpecificCredential", "ListMFADevices",
      "DeactivateMFADevice", "ListUserPolicies", "DeleteUserPolicy",
      "ListAttachedUserPolicies", "DetachUserPolicy", "DeleteUserPermissionsBoundary", "ListGroupsForUser",
      "RemoveUserFromGroup", "DeleteUser"};
  for (std::size_t i = 1; i < order.size(); ++i) {
    EXPECT_LT(last(iam, order[i - 1]), first(iam, order[i])) << order[i - 1] << " before " << order[i];
  }
  // Per device: deactivate, then delete when virtual; all before the inline policies.
  EXPECT_LT(first(iam, "DeactivateMFADevice"), first(iam, "DeleteVirtualMFADevice"));
  EXPECT_LT(last(iam, "DeleteVirtualMFADevice"), first(iam, "ListUserPolicies"));
  EXPECT_EQ(iam.log.front().action, "GetUser");
  EXPECT_EQ(iam.log.back().action, "DeleteUser");
  // Each virtual device is deactivated before it is deleted; both calls name it.
  for (std::size_t i = 0; i < iam.log.size(); ++i) {
    if (iam.log[i].action != "DeleteVirtualMFADevice") continue;
    ASSERT_GT(i, 0u);
    EXPECT_EQ(iam.log[i - 1].action, "DeactivateMFADevice");
    EXPECT_EQ(test::param(iam.log[i - 1], "SerialNumber"), test::param(iam.log[i], "SerialNumber"));
    EXPECT_EQ(test::param(iam.log[i - 1], "UserName"), "alice");
  }
  // Nothing ever acts on bob.
  for (const auto& c : iam.log) EXPECT_NE(test::param(c, "UserName"), "bob") << c.description;
}

TEST(OffboardPlanner, DeleteUserIsAnAlias) {
  FakeIam iam = world_with_alice(2);
  Job j = offboard("alice");
  j.type = JobType::delete_user;
  auto p = make_planner(j, {});
  iam.run(*p);
  EXPECT_EQ(p->result().outcome, "done");
  EXPECT_EQ(iam.users.count("alice"), 0u);
}

TEST(OffboardPlanner, UnknownUserIsAbsentAfterOneCall) {
  FakeIam iam;
  auto p = make_planner(offboard("ghost"), {});
  EXPECT_EQ(iam.run(*p), 1u);
  EXPECT_EQ(iam.log[0].action, "GetUser");
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::succeeded);
  EXPECT_EQ(r.outcome, "absent");
}

TEST(OffboardPlanner, UserWithNothingAttached) {
  FakeIam iam;
  iam.users["empty"] = {};
  auto p = make_planner(offboard("empty"), {});
  iam.run(*p);
  EXPECT_EQ(p->result().outcome, "done");
  EXPECT_EQ(iam.count("DeleteUserPermissionsBoundary"), 0u);
  EXPECT_EQ(iam.users.count("empty"), 0u);
}

// NoSuchEntity injected at every call in turn: the job still succeeds (what is "absent" is
// already gone; when the world disagrees, DeleteConflict sends the planner round again).
TEST(OffboardPlanner, AbsentAtEachStepIsNotAFailure) {
  FakeIam baseline = world_with_alice(3);
  auto bp = make_planner(offboard("alice"), {});
  baseline.run(*bp);
  const std::size_t total = baseline.log.size();
  ASSERT_GT(total, 30u);

  for (std::size_t n = 0; n < total; ++n) {
    SCOPED_TRACE("NoSuchEntity at call " + std::to_string(n) + " (" + baseline.log[n].action + ")");
    FakeIam iam = world_with_alice(3);
    iam.fault = [n](const PlannedCall&, std::size_t i) -> std::optional<client::Outcome> {
      if (i == n) return err(client::ErrorClass::absent, "NoSuchEntity", 404);
      return std::nullopt;
    };
    auto p = make_planner(offboard("alice"), {});
    iam.run(*p);
    const auto r = p->result();
    ASSERT_EQ(r.status, JobResult::Status::succeeded) << (r.error ? r.error->message : "");
    if (n == 0) {
      EXPECT_EQ(r.outcome, "absent");  // GetUser said the user does not exist
      EXPECT_EQ(iam.log.size(), 1u);
    } else {
      EXPECT_EQ(r.outcome, "done");
      // (A NoSuchEntity injected on DeleteUser itself is believed: the user stays here.)
      if (baseline.log[n].action != "DeleteUser") {
        EXPECT_EQ(iam.users.count("alice"), 0u);
      }
    }
  }
}

TEST(OffboardPlanner, DeleteConflictListsAgainAndRepeats) {
  FakeIam iam = world_with_alice(2);
  int appeared = 0;
  // Twice, someone attaches an inline policy after the planner went past that phase.
  iam.after = [&](FakeIam& w, const PlannedCall& c, std::size_t) {
    if (c.action == "ListGroupsForUser" && appeared < 2 && w.users.count("alice")) {
      w.users["alice"].inline_policies.push_back("sneaky-" + std::to_string(appeared++));
    }
  };
  auto p = make_planner(offboard("alice"), {});
  iam.run(*p);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::succeeded);
  EXPECT_EQ(r.outcome, "done");
  EXPECT_EQ(r.conflict_rounds, 2);
  EXPECT_EQ(iam.count("DeleteUser"), 3u);
  EXPECT_EQ(iam.count("GetUser"), 3u);
  EXPECT_EQ(iam.users.count("alice"), 0u);
}

TEST(OffboardPlanner, DeleteConflictRoundsAreBounded) {
  FakeIam iam = world_with_alice(1);
  iam.after = [](FakeIam& w, const PlannedCall& c, std::size_t n) {
    if (c.action == "ListGroupsForUser" && w.users.count("alice"))
      w.users["alice"].inline_policies.push_back("again-" + std::to_string(n));
  };
  PlannerOptions opts;
  opts.delete_conflict_rounds = 3;
  auto p = make_planner(offboard("alice"), opts);
  iam.run(*p);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::failed);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->error_class, client::ErrorClass::conflict);
  EXPECT_EQ(r.error->code, "DeleteConflict");
  EXPECT_NE(r.error->message.find("3 list-again rounds"), std::string::npos) << r.error->message;
  EXPECT_EQ(r.conflict_rounds, 3);
  EXPECT_EQ(iam.count("DeleteUser"), 4u);  // first try + 3 rounds

  // Zero rounds: the first DeleteConflict fails the job.
  FakeIam iam0 = world_with_alice(1);
  iam0.after = iam.after;
  opts.delete_conflict_rounds = 0;
  auto p0 = make_planner(offboard("alice"), opts);
  iam0.run(*p0);
  EXPECT_EQ(p0->result().status, JobResult::Status::failed);
  EXPECT_EQ(iam0.count("DeleteUser"), 1u);
}

TEST(OffboardPlanner, TerminalErrorsFailTheJobAtThatStep) {
  struct Case {
    client::ErrorClass cls;
    std::string code;
  };
  for (const auto& c : {Case{client::ErrorClass::denied, "AccessDenied"},
                        Case{client::ErrorClass::terminal, "LimitExceeded"},
                        Case{client::ErrorClass::unmodifiable, "EntityTemporarilyUnmodifiable"},  // retries spent
                        Case{client::ErrorClass::throttled, "Throttling"},
                        // Documented: the engine handles credentials; fed anyway, the job fails.
                        Case{client::ErrorClass::credentials, "InvalidClientTokenId"}}) {
    SCOPED_TRACE(c.code);
    FakeIam iam = world_with_alice(2);
    iam.fault = [&](const PlannedCall& call, std::size_t) -> std::optional<client::Outcome> {
      if (call.action == "DeleteAccessKey") return err(c.cls, c.code, 403);
      return std::nullopt;
    };
    auto p = make_planner(offboard("alice"), {});
    iam.run(*p);
    const auto r = p->result();
    EXPECT_EQ(r.status, JobResult::Status::failed);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->code, c.code);
    EXPECT_EQ(r.error->error_class, c.cls);
    EXPECT_TRUE(r.outcome.empty());
    EXPECT_FALSE(r.invalid);
    EXPECT_EQ(iam.log.back().action, "DeleteAccessKey");  // nothing after the failure
    EXPECT_FALSE(p->next());
  }
}

// Issue 14: an endpoint without ListServiceSpecificCredentials (moto) or another List*.
TEST(OffboardPlanner, AnUnsupportedListIsRecordedAndTheJobGoesOn) {
  FakeIam iam = world_with_alice(2);
  iam.users["alice"].service_creds.clear();  // nothing there: DeleteUser will agree
  iam.fault = [&](const PlannedCall& call, std::size_t) -> std::optional<client::Outcome> {
    if (call.action == "ListServiceSpecificCredentials") return err(client::ErrorClass::unsupported, "NonXmlResponse", 500);
    return std::nullopt;
  };
  auto p = make_planner(offboard("alice"), {});
  iam.run(*p);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::succeeded);
  EXPECT_EQ(r.outcome, "done");
  ASSERT_EQ(r.unsupported.size(), 1u);
  EXPECT_EQ(r.unsupported[0].action, "ListServiceSpecificCredentials");
  EXPECT_EQ(r.unsupported[0].what, "service-specific credentials");
  EXPECT_EQ(r.unsupported[0].http_status, 500);
  EXPECT_EQ(iam.users.count("alice"), 0u);
  EXPECT_EQ(iam.count("ListServiceSpecificCredentials"), 1u);
  const auto j = to_json(r);
  EXPECT_EQ(j["unsupported"][0]["action"], "ListServiceSpecificCredentials");
  // It survives a checkpoint.
  FakeIam again = world_with_alice(2);
  again.users["alice"].service_creds.clear();
  auto q = make_planner(offboard("alice"), {});
  again.fault = iam.fault;
  for (int i = 0; i < 12; ++i) q->on_outcome(again.handle(*q->next()));
  auto restored = restore_planner(offboard("alice"), q->checkpoint(), {});
  again.run(*restored);
  EXPECT_EQ(restored->result().unsupported.size(), 1u);
}

TEST(OffboardPlanner, DeleteConflictAfterAnUnsupportedListSaysWhatCouldNotBeListed) {
  FakeIam iam = world_with_alice(2);  // alice has service-specific credentials
  iam.fault = [&](const PlannedCall& call, std::size_t) -> std::optional<client::Outcome> {
    if (call.action == "ListServiceSpecificCredentials") return err(client::ErrorClass::unsupported, "NotImplemented", 501);
    return std::nullopt;
  };
  PlannerOptions opts;
  opts.delete_conflict_rounds = 2;
  auto p = make_planner(offboard("alice"), opts);
  iam.run(*p);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::failed);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "DeleteConflict");
  EXPECT_NE(r.error->message.find("does not implement listing service-specific credentials "
                                  "(ListServiceSpecificCredentials)"),
            std::string::npos)
      << r.error->message;
  EXPECT_EQ(iam.count("DeleteUser"), 3u);
  EXPECT_EQ(iam.users.count("alice"), 1u);
}

TEST(OffboardPlanner, UnsupportedOnAMutatingOrGetCallFailsTheJob) {
  for (const char* action : {"DeleteSSHPublicKey", "GetUser", "DeleteUser"}) {
    SCOPED_TRACE(action);
    FakeIam iam = world_with_alice(1);
    iam.fault = [&](const PlannedCall& call, std::size_t) -> std::optional<client::Outcome> {
      if (call.action == action) return err(client::ErrorClass::unsupported, "NotImplemented", 501);
      return std::nullopt;
    };
    auto p = make_planner(offboard("alice"), {});
    iam.run(*p);
    const auto r = p->result();
    EXPECT_EQ(r.status, JobResult::Status::failed);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->error_class, client::ErrorClass::unsupported);
    EXPECT_EQ(iam.log.back().action, action);  // never skipped: nothing after it
    EXPECT_TRUE(r.unsupported.empty());
  }
}

// The legal hold (issue 14: it used to leave SSH keys, service-specific credentials,
// signing certificates and every session issued before the hold working).
TEST(OffboardPlanner, KeepUserLeavesNothingWorkingAndKeepsEverything) {
  FakeIam iam = world_with_alice(3);
  iam.users["alice"].access_keys["AKIAINACTIVE"] = "Inactive";
  iam.users["alice"].inactive.insert("APKA1");  // one SSH key already off
  Job j = offboard("alice");
  j.keep_user = true;
  PlannerOptions opts;
  const auto t0 = std::chrono::system_clock::from_time_t(1764632400);  // 2025-12-01T23:40:00Z
  int ticks = 0;
  opts.clock = [&] { return t0 + std::chrono::seconds(ticks++); };
  auto p = make_planner(j, opts);
  iam.run(*p);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::succeeded);
  EXPECT_EQ(r.outcome, "disabled");
  ASSERT_EQ(iam.users.count("alice"), 1u);
  const auto& u = iam.users["alice"];
  EXPECT_FALSE(u.login_profile);
  EXPECT_TRUE(u.mfa.empty());
  for (const auto& [id, status] : u.access_keys) EXPECT_EQ(status, "Inactive") << id;
  EXPECT_EQ(u.access_keys.size(), 4u);  // kept, not deleted
  EXPECT_EQ(u.certs.size(), 3u);
  EXPECT_EQ(u.ssh_keys.size(), 3u);
  EXPECT_EQ(u.service_creds.size(), 3u);
  for (const auto& id : u.certs) EXPECT_TRUE(u.inactive.count(id)) << id;
  for (const auto& id : u.ssh_keys) EXPECT_TRUE(u.inactive.count(id)) << id;
  for (const auto& id : u.service_creds) EXPECT_TRUE(u.inactive.count(id)) << id;
  EXPECT_EQ(u.groups.size(), 3u);
  EXPECT_EQ(u.attached.size(), 3u);
  EXPECT_TRUE(u.boundary);
  EXPECT_EQ(iam.virtual_devices.size(), 1u);  // alice's virtual devices deleted, bob's kept
  // The hold policy: denies every session issued before the hold's time.
  ASSERT_EQ(u.policy_docs.count("iamq-legal-hold"), 1u);
  EXPECT_EQ(u.inline_policies.size(), 4u);  // 3 of hers + the hold
  const auto doc = nlohmann::json::parse(u.policy_docs.at("iamq-legal-hold"));
  const auto& st = doc["Statement"][0];
  EXPECT_EQ(st["Effect"], "Deny");
  EXPECT_EQ(st["Action"], "*");
  EXPECT_EQ(st["Resource"], "*");
  EXPECT_EQ(st["Condition"]["DateLessThan"]["aws:TokenIssueTime"], r.hold_time);
  EXPECT_EQ(r.hold_time.substr(0, 17), "2025-12-01T23:40:");
  // Only these mutations, each Status=Inactive where it sets one; already inactive ones are
  // left alone.
  for (const auto& c : iam.log) {
    if (!c.mutating) continue;
    EXPECT_TRUE(c.action == "DeactivateMFADevice" || c.action == "DeleteVirtualMFADevice" ||
                c.action == "DeleteLoginProfile" || c.action == "UpdateAccessKey" ||
                c.action == "UpdateSigningCertificate" || c.action == "UpdateSSHPublicKey" ||
                c.action == "UpdateServiceSpecificCredential" || c.action == "PutUserPolicy")
        << c.action;
    if (c.action.rfind("Update", 0) == 0) {
      EXPECT_EQ(test::param(c, "Status"), "Inactive");
    }
    EXPECT_NE(test::param(c, "AccessKeyId"), "AKIAINACTIVE");
    EXPECT_NE(test::param(c, "SSHPublicKeyId"), "APKA1");
  }
  EXPECT_EQ(iam.count("UpdateAccessKey"), 3u);
  EXPECT_EQ(iam.count("UpdateSigningCertificate"), 3u);
  EXPECT_EQ(iam.count("UpdateSSHPublicKey"), 2u);
  EXPECT_EQ(iam.count("UpdateServiceSpecificCredential"), 3u);
  EXPECT_EQ(iam.count("PutUserPolicy"), 1u);
  // MFA first, then the login profile, then the keys; the policy last.
  EXPECT_LT(last(iam, "DeleteVirtualMFADevice"), first(iam, "DeleteLoginProfile"));
  EXPECT_LT(first(iam, "DeleteLoginProfile"), first(iam, "ListAccessKeys"));
  EXPECT_EQ(iam.log.back().action, "PutUserPolicy");

  // The result lists exactly what was disabled, and when.
  std::map<std::string, int> by_action;
  for (const auto& d : r.disabled) {
    ++by_action[d.action];
    EXPECT_EQ(d.at.substr(0, 17), "2025-12-01T23:40:") << d.action;
  }
  EXPECT_EQ(by_action["UpdateAccessKey"], 3);
  EXPECT_EQ(by_action["UpdateSSHPublicKey"], 2);
  EXPECT_EQ(by_action["UpdateSigningCertificate"], 3);
  EXPECT_EQ(by_action["UpdateServiceSpecificCredential"], 3);
  EXPECT_EQ(by_action["DeactivateMFADevice"], 4);
  EXPECT_EQ(by_action["DeleteVirtualMFADevice"], 3);
  EXPECT_EQ(by_action["DeleteLoginProfile"], 1);
  EXPECT_EQ(by_action["PutUserPolicy"], 1);
  EXPECT_EQ(r.disabled.size(), 3u + 2 + 3 + 3 + 4 + 3 + 1 + 1);
  ASSERT_EQ(r.already_inactive.size(), 2u);
  const auto j_res = to_json(r);
  EXPECT_EQ(j_res["legal_hold"]["hold_time"], r.hold_time);
  EXPECT_EQ(j_res["legal_hold"]["disabled"].size(), r.disabled.size());
  EXPECT_EQ(j_res["legal_hold"]["policy_name"], "iamq-legal-hold");
}

TEST(OffboardPlanner, TheHoldTimeSurvivesACheckpoint) {
  FakeIam iam = world_with_alice(1);
  Job j = offboard("alice");
  j.keep_user = true;
  PlannerOptions opts;
  auto now = std::chrono::system_clock::from_time_t(1764632400);
  opts.clock = [&] { return now; };
  auto p = make_planner(j, opts);
  while (auto c = p->next()) {
    if (c->action == "PutUserPolicy") break;
    p->on_outcome(iam.handle(*c));
  }
  const std::string hold = p->result().hold_time;
  ASSERT_FALSE(hold.empty());
  now += std::chrono::hours(5);  // the job was handed back and resumed hours later
  auto q = restore_planner(j, p->checkpoint(), opts);
  iam.run(*q);
  EXPECT_EQ(q->result().hold_time, hold);
  EXPECT_NE(iam.users["alice"].policy_docs["iamq-legal-hold"].find(hold), std::string::npos);
}

TEST(OffboardPlanner, OffboardingAfterAHoldRemovesEverythingWithTheHoldPolicy) {
  FakeIam iam = world_with_alice(2);
  Job hold = offboard("alice");
  hold.keep_user = true;
  auto p = make_planner(hold, {});
  iam.run(*p);
  ASSERT_EQ(iam.users["alice"].policy_docs.count("iamq-legal-hold"), 1u);
  auto q = make_planner(offboard("alice"), {});
  iam.run(*q);
  EXPECT_EQ(q->result().outcome, "done");
  EXPECT_EQ(iam.users.count("alice"), 0u);
  bool deleted_hold = false;
  for (const auto& c : iam.log)
    if (c.action == "DeleteUserPolicy" && test::param(c, "PolicyName") == "iamq-legal-hold") deleted_hold = true;
  EXPECT_TRUE(deleted_hold);
}

TEST(OffboardPlanner, KeepUserOfUnknownUserIsAbsent) {
  FakeIam iam;
  Job j = offboard("ghost");
  j.keep_user = true;
  auto p = make_planner(j, {});
  iam.run(*p);
  EXPECT_EQ(p->result().outcome, "absent");
}

// A dry run makes only Get*/List* calls and lists exactly the mutating calls a real run makes.
TEST(OffboardPlanner, DryRunListsTheCallsARealRunWouldMake) {
  for (bool keep : {false, true}) {
    for (bool job_flag : {true, false}) {
      SCOPED_TRACE(std::string(keep ? "keep_user " : "offboard ") + (job_flag ? "job dry_run" : "worker dry_run"));
      Job j = offboard("alice");
      j.keep_user = keep;
      PlannerOptions opts;
      (job_flag ? j.dry_run : opts.dry_run) = true;

      FakeIam dry = world_with_alice(3);
      const auto before = dry.users;
      auto p = make_planner(j, opts);
      dry.run(*p);
      EXPECT_EQ(dry.mutating_calls(), 0u);
      EXPECT_EQ(dry.users.size(), before.size());
      EXPECT_EQ(dry.users["alice"].certs, before.at("alice").certs);
      const auto r = p->result();
      EXPECT_EQ(r.status, JobResult::Status::succeeded);
      EXPECT_EQ(r.outcome, "dry_run");

      FakeIam real = world_with_alice(3);
      Job rj = j;
      rj.dry_run = false;
      auto rp = make_planner(rj, {});
      real.run(*rp);
      std::vector<PlannedCall> made;
      for (const auto& c : real.log)
        if (c.mutating) made.push_back(c);
      ASSERT_EQ(r.would_call.size(), made.size());
      for (std::size_t i = 0; i < made.size(); ++i) {
        EXPECT_EQ(r.would_call[i].action, made[i].action) << i;
        EXPECT_EQ(r.would_call[i].params, made[i].params) << i;
      }
      const auto js = to_json(r);
      EXPECT_EQ(js["would_call"].size(), made.size());
      EXPECT_EQ(js["outcome"], "dry_run");
    }
  }
}

TEST(OffboardPlanner, DryRunSkipsWhatIsNotThere) {
  FakeIam iam;
  iam.users["plain"] = {};  // no login profile, no boundary
  Job j = offboard("plain");
  j.dry_run = true;
  auto p = make_planner(j, {});
  iam.run(*p);
  const auto r = p->result();
  ASSERT_EQ(r.would_call.size(), 1u);
  EXPECT_EQ(r.would_call[0].action, "DeleteUser");
  EXPECT_EQ(iam.count("GetLoginProfile"), 1u);
  EXPECT_EQ(iam.mutating_calls(), 0u);
}

TEST(OffboardPlanner, DryRunOfUnknownUserIsAbsent) {
  FakeIam iam;
  Job j = offboard("ghost");
  j.dry_run = true;
  auto p = make_planner(j, {});
  iam.run(*p);
  EXPECT_EQ(p->result().outcome, "absent");
  EXPECT_TRUE(p->result().would_call.empty());
}

// Stop after every call, checkpoint (through its JSON text), resume in a new planner: it
// resumes at the call that was next, not from the start, and finishes the job.
TEST(OffboardPlanner, CheckpointRestoreResumesAtTheNextCall) {
  for (bool keep : {false, true}) {
    FakeIam baseline = world_with_alice(3);
    Job j = offboard("alice");
    j.keep_user = keep;
    auto bp = make_planner(j, {});
    baseline.run(*bp);
    const std::size_t total = baseline.log.size();

    for (std::size_t stop = 0; stop <= total; ++stop) {
      SCOPED_TRACE((keep ? "keep_user, stop after " : "offboard, stop after ") + std::to_string(stop));
      FakeIam iam = world_with_alice(3);
      auto p = make_planner(j, {});
      for (std::size_t i = 0; i < stop; ++i) {
        auto c = p->next();
        ASSERT_TRUE(c);
        p->on_outcome(iam.handle(*c));
      }
      const auto expected = p->next();
      const auto text = p->checkpoint().dump();
      auto q = restore_planner(j, nlohmann::json::parse(text), {});
      const auto resumed = q->next();
      ASSERT_EQ(resumed.has_value(), expected.has_value());
      if (expected) {
        EXPECT_EQ(*resumed, *expected);
      }
      iam.run(*q);
      EXPECT_EQ(iam.log.size(), total);  // exactly the calls of an uninterrupted run
      EXPECT_EQ(q->result().outcome, keep ? "disabled" : "done");
    }
  }
}

TEST(OffboardPlanner, CheckpointTakenWhileACallIsInFlightRepeatsThatCall) {
  FakeIam iam = world_with_alice(1);
  auto p = make_planner(offboard("alice"), {});
  for (int i = 0; i < 4; ++i) p->on_outcome(iam.handle(*p->next()));
  const auto in_flight = p->next();
  ASSERT_TRUE(in_flight);
  EXPECT_EQ(*p->next(), *in_flight);  // next() does not advance by itself
  auto q = restore_planner(offboard("alice"), p->checkpoint(), {});
  EXPECT_EQ(*q->next(), *in_flight);
}

TEST(OffboardPlanner, UnusableCheckpointStartsOver) {
  for (const auto& cp : {nlohmann::json(), nlohmann::json::object(), nlohmann::json("garbage"),
                         nlohmann::json{{"v", 1}, {"type", "offboard_user"}, {"phase", "nonsense"}},
                         nlohmann::json{{"v", 1}, {"type", "iam_calls"}, {"step", 3}}}) {
    SCOPED_TRACE(cp.dump());
    auto p = restore_planner(offboard("alice"), cp, {});
    auto c = p->next();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->action, "GetUser");
  }
  // A keep_user checkpoint does not fit a full offboarding of the same user.
  FakeIam iam = world_with_alice(1);
  Job keep = offboard("alice");
  keep.keep_user = true;
  auto k = make_planner(keep, {});
  for (int i = 0; i < 3; ++i) k->on_outcome(iam.handle(*k->next()));
  auto p = restore_planner(offboard("alice"), k->checkpoint(), {});
  EXPECT_EQ(p->next()->action, "GetUser");
}

TEST(OffboardPlanner, CheckpointOfAFinishedJobKeepsItsResult) {
  FakeIam iam = world_with_alice(1);
  auto p = make_planner(offboard("alice"), {});
  iam.run(*p);
  auto q = restore_planner(offboard("alice"), p->checkpoint(), {});
  EXPECT_TRUE(q->finished());
  EXPECT_FALSE(q->next());
  EXPECT_EQ(q->result().outcome, "done");
}

}  // namespace
}  // namespace iamq::worker
