// deactivate_mfa and iam_calls planning, the allow-list, results and the shared helpers.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "tests/worker/fake_iam.hpp"
#include "worker/planner.hpp"

namespace iamq::worker {
namespace {

using test::err;
using test::FakeIam;
using test::ok;

const std::string kVirtual = "arn:aws:iam::123456789012:mfa/alice-phone";
const std::string kHardware = "GAHT12345678";

FakeIam world() {
  FakeIam iam;
  test::FakeUser u;
  u.mfa = {kVirtual, kHardware, "arn:aws:iam::123456789012:mfa/alice-2", "arn:aws:iam::123456789012:mfa/alice-3"};
  for (const auto& s : u.mfa)
    if (is_virtual_mfa_serial(s)) iam.virtual_devices.insert(s);
  iam.users["alice"] = u;
  iam.users["bob"].mfa = {"arn:aws:iam::123456789012:mfa/bob"};
  iam.virtual_devices.insert("arn:aws:iam::123456789012:mfa/bob");
  return iam;
}

Job mfa_job(const std::string& user, const std::string& serial = "", bool delete_virtual = false) {
  Job j;
  j.id = "j";
  j.type = JobType::deactivate_mfa;
  j.user_name = user;
  j.serial_number = serial;
  j.delete_virtual = delete_virtual;
  return j;
}

PlannerOptions defaults_opts() {
  PlannerOptions o;
  o.allow_list = config::default_allow_list();
  return o;
}

Job calls_job(std::vector<IamStep> steps) {
  Job j;
  j.id = "j";
  j.type = JobType::iam_calls;
  j.steps = std::move(steps);
  return j;
}

// ---- deactivate_mfa ---------------------------------------------------------------------

TEST(DeactivateMfaPlanner, WithSerialIsExactlyOneCallWithUserNameAndSerial) {
  FakeIam iam = world();
  auto p = make_planner(mfa_job("alice", kVirtual), {});
  EXPECT_EQ(iam.run(*p), 1u);
  ASSERT_EQ(iam.log.size(), 1u);
  EXPECT_EQ(iam.log[0].action, "DeactivateMFADevice");
  const client::Params expected = {{"UserName", "alice"}, {"SerialNumber", kVirtual}};
  EXPECT_EQ(iam.log[0].params, expected);
  EXPECT_TRUE(iam.log[0].mutating);
  EXPECT_EQ(p->result().status, JobResult::Status::succeeded);
  EXPECT_EQ(p->result().outcome, "done");
  EXPECT_EQ(iam.users["alice"].mfa.size(), 3u);
  EXPECT_EQ(iam.virtual_devices.count(kVirtual), 1u);  // not deleted without delete_virtual
}

TEST(DeactivateMfaPlanner, DeleteVirtualDeletesOnlyVirtualDevices) {
  FakeIam iam = world();
  auto p = make_planner(mfa_job("alice", kVirtual, true), {});
  iam.run(*p);
  ASSERT_EQ(iam.log.size(), 2u);
  EXPECT_EQ(iam.log[1].action, "DeleteVirtualMFADevice");
  EXPECT_EQ(test::param(iam.log[1], "SerialNumber"), kVirtual);
  EXPECT_EQ(iam.virtual_devices.count(kVirtual), 0u);

  FakeIam hw = world();
  auto q = make_planner(mfa_job("alice", kHardware, true), {});
  hw.run(*q);
  ASSERT_EQ(hw.log.size(), 1u);  // a hardware token has nothing to delete
  EXPECT_EQ(q->result().outcome, "done");
}

TEST(DeactivateMfaPlanner, UnknownDeviceOrUserIsAbsent) {
  FakeIam iam = world();
  auto p = make_planner(mfa_job("ghost", kVirtual), {});
  iam.run(*p);
  EXPECT_EQ(p->result().status, JobResult::Status::succeeded);
  EXPECT_EQ(p->result().outcome, "absent");

  FakeIam iam2 = world();
  auto q = make_planner(mfa_job("ghost"), {});
  EXPECT_EQ(iam2.run(*q), 1u);
  EXPECT_EQ(iam2.log[0].action, "ListMFADevices");
  EXPECT_EQ(q->result().outcome, "absent");
}

TEST(DeactivateMfaPlanner, WithoutSerialDeactivatesEveryDeviceOfTheUser) {
  for (bool del : {false, true}) {
    SCOPED_TRACE(del ? "delete_virtual" : "deactivate only");
    FakeIam iam = world();
    auto p = make_planner(mfa_job("alice", "", del), {});
    iam.run(*p);
    EXPECT_EQ(p->result().outcome, "done");
    EXPECT_TRUE(iam.users["alice"].mfa.empty());
    EXPECT_EQ(iam.users["bob"].mfa.size(), 1u);
    EXPECT_EQ(iam.count("ListMFADevices"), 2u);  // 4 devices, 2 a page
    EXPECT_EQ(iam.count("DeactivateMFADevice"), 4u);
    EXPECT_EQ(iam.count("DeleteVirtualMFADevice"), del ? 3u : 0u);
    EXPECT_EQ(iam.virtual_devices.size(), del ? 1u : 4u);
  }
}

TEST(DeactivateMfaPlanner, UserWithoutDevicesIsDone) {
  FakeIam iam;
  iam.users["carol"] = {};
  auto p = make_planner(mfa_job("carol"), {});
  EXPECT_EQ(iam.run(*p), 1u);
  EXPECT_EQ(p->result().outcome, "done");
}

TEST(DeactivateMfaPlanner, DryRun) {
  FakeIam iam = world();
  Job j = mfa_job("alice", kVirtual, true);
  j.dry_run = true;
  auto p = make_planner(j, {});
  EXPECT_EQ(iam.run(*p), 0u);
  const auto r = p->result();
  EXPECT_EQ(r.outcome, "dry_run");
  ASSERT_EQ(r.would_call.size(), 2u);
  EXPECT_EQ(r.would_call[0].action, "DeactivateMFADevice");
  EXPECT_EQ(r.would_call[1].action, "DeleteVirtualMFADevice");

  FakeIam iam2 = world();
  PlannerOptions opts;
  opts.dry_run = true;
  auto q = make_planner(mfa_job("alice"), opts);
  iam2.run(*q);
  EXPECT_EQ(iam2.mutating_calls(), 0u);
  EXPECT_EQ(q->result().would_call.size(), 4u);
  EXPECT_EQ(iam2.users["alice"].mfa.size(), 4u);
}

TEST(DeactivateMfaPlanner, ConflictAndDeniedFail) {
  FakeIam iam = world();
  iam.fault = [](const PlannedCall&, std::size_t) -> std::optional<client::Outcome> {
    return err(client::ErrorClass::denied, "AccessDenied", 403);
  };
  auto p = make_planner(mfa_job("alice", kVirtual), {});
  iam.run(*p);
  EXPECT_EQ(p->result().status, JobResult::Status::failed);
  EXPECT_EQ(p->result().error->code, "AccessDenied");
}

TEST(DeactivateMfaPlanner, CheckpointRestoreMidway) {
  FakeIam iam = world();
  Job j = mfa_job("alice", "", true);
  auto p = make_planner(j, {});
  for (int i = 0; i < 3; ++i) p->on_outcome(iam.handle(*p->next()));
  const auto expected = p->next();
  auto q = restore_planner(j, nlohmann::json::parse(p->checkpoint().dump()), {});
  EXPECT_EQ(*q->next(), *expected);
  iam.run(*q);
  EXPECT_EQ(q->result().outcome, "done");
  EXPECT_TRUE(iam.users["alice"].mfa.empty());
  EXPECT_EQ(iam.count("ListMFADevices"), 2u);  // not listed again from the start
}

// ---- iam_calls ---------------------------------------------------------------------------

TEST(IamCallsPlanner, RunsAllowedStepsInOrder) {
  FakeIam iam = world();
  iam.users["alice"].access_keys = {{"AKIA1", "Active"}, {"AKIA2", "Active"}};
  Job j = calls_job({{"ListAccessKeys", {{"UserName", "alice"}}},
                     {"UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", "AKIA1"}, {"Status", "Inactive"}}},
                     {"DeleteAccessKey", {{"UserName", "alice"}, {"AccessKeyId", "AKIA2"}}},
                     {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kHardware}}}});
  ASSERT_FALSE(check_allowed(j, defaults_opts()));
  auto p = make_planner(j, defaults_opts());
  EXPECT_EQ(iam.run(*p), 4u);
  EXPECT_EQ(iam.actions(),
            (std::vector<std::string>{"ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "DeactivateMFADevice"}));
  EXPECT_EQ(iam.log[1].params, j.steps[1].params);
  EXPECT_FALSE(iam.log[0].mutating);
  EXPECT_TRUE(iam.log[1].mutating);
  EXPECT_EQ(p->result().outcome, "done");
  EXPECT_EQ(iam.users["alice"].access_keys.at("AKIA1"), "Inactive");
  EXPECT_EQ(iam.users["alice"].access_keys.count("AKIA2"), 0u);
}

TEST(IamCallsPlanner, RefusesTheWholeJobBeforeAnyCall) {
  struct Case {
    IamStep bad;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"CreateAccessKey", {{"UserName", "alice"}}}, "\"CreateAccessKey\""},
      {{"AttachUserPolicy", {{"UserName", "alice"}, {"PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"}}},
       "\"AttachUserPolicy\""},
      {{"PutUserPolicy", {{"UserName", "alice"}}}, "\"PutUserPolicy\""},
      {{"DeleteRole", {{"RoleName", "r"}}}, "not on the allow-list"},
      {{"UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", "AKIA1"}, {"Status", "Active"}}},
       "Status=Inactive"},
      {{"UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", "AKIA1"}}}, "Status=Inactive"},
      {{"UpdateAccessKey",
        {{"UserName", "alice"}, {"AccessKeyId", "AKIA1"}, {"Status", "Inactive"}, {"Status", "Active"}}},
       "Status=Inactive"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bad.action);
    Job j = calls_job({{"ListUsers", {}}, {"DeleteLoginProfile", {{"UserName", "alice"}}}, c.bad,
                       {"DeleteUser", {{"UserName", "alice"}}}});
    auto why = check_allowed(j, defaults_opts());
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("steps[2]"), std::string::npos) << *why;
    EXPECT_NE(why->find(c.needle), std::string::npos) << *why;

    FakeIam iam = world();
    auto p = make_planner(j, defaults_opts());
    EXPECT_TRUE(p->finished());
    EXPECT_EQ(iam.run(*p), 0u);
    const auto r = p->result();
    EXPECT_EQ(r.status, JobResult::Status::failed);
    EXPECT_TRUE(r.invalid);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->message, *why);
    EXPECT_EQ(to_json(r)["invalid"], true);
  }
}

TEST(IamCallsPlanner, RefusedActionsStayRefusedWhateverTheAllowList) {
  PlannerOptions opts;
  opts.allow_list = {"CreateUser", "*", "Delete*"};  // as if config validation were bypassed
  Job j = calls_job({{"DeleteUser", {{"UserName", "a"}}}, {"CreateUser", {{"UserName", "a"}}}});
  auto why = check_allowed(j, opts);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("steps[1]"), std::string::npos);
  EXPECT_NE(why->find("never allowed"), std::string::npos);
  // Prefix entries of a custom list work.
  opts.allow_list = {"Delete*", "Remove*"};
  EXPECT_FALSE(check_allowed(calls_job({{"DeleteGroupPolicy", {}}, {"RemoveRoleFromInstanceProfile", {}}}), opts));
  EXPECT_TRUE(check_allowed(calls_job({{"ListUsers", {}}}), opts));
}

// The legal hold's PutUserPolicy is the typed job's alone (issue 14).
TEST(IamCallsPlanner, PutUserPolicyNeverRunsThroughIamCallsOrTheAllowList) {
  PlannerOptions opts;
  opts.allow_list = {"PutUserPolicy", "*"};  // as if config validation were bypassed
  Job j = calls_job({{"PutUserPolicy", {{"UserName", "a"}, {"PolicyName", "iamq-legal-hold"},
                                         {"PolicyDocument", legal_hold_policy_document("2026-01-01T00:00:00Z")}}}});
  auto why = check_allowed(j, opts);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("never allowed"), std::string::npos) << *why;
  auto p = make_planner(j, opts);
  EXPECT_FALSE(p->next());
  EXPECT_TRUE(p->result().invalid);
  // And the engine's own check refuses it for anything but a legal hold.
  PlannedCall put{"PutUserPolicy", {{"UserName", "a"}, {"PolicyName", "iamq-legal-hold"}}, true, ""};
  EXPECT_TRUE(refuse_call(j, put));
  Job hold;
  hold.type = JobType::offboard_user;
  hold.user_name = "a";
  EXPECT_TRUE(refuse_call(hold, put));  // not keep_user
  hold.keep_user = true;
  EXPECT_FALSE(refuse_call(hold, put));
  PlannedCall other{"PutUserPolicy", {{"UserName", "a"}, {"PolicyName", "admin"}}, true, ""};
  EXPECT_TRUE(refuse_call(hold, other));
  EXPECT_FALSE(refuse_call(j, PlannedCall{"DeleteUser", {{"UserName", "a"}}, true, ""}));
}

TEST(IamCallsPlanner, AnUnsupportedListStepIsRecordedAndTheNextStepRuns) {
  FakeIam iam = world();
  iam.fault = [](const PlannedCall& c, std::size_t) -> std::optional<client::Outcome> {
    if (c.action == "ListMFADevices") return err(client::ErrorClass::unsupported, "NotImplemented", 501);
    if (c.action == "DeleteLoginProfile") return err(client::ErrorClass::unsupported, "NotImplemented", 501);
    return std::nullopt;
  };
  auto p = make_planner(calls_job({{"ListMFADevices", {{"UserName", "alice"}}},
                                   {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kHardware}}},
                                   {"DeleteLoginProfile", {{"UserName", "alice"}}}}),
                        defaults_opts());
  iam.run(*p);
  const auto r = p->result();
  ASSERT_EQ(r.unsupported.size(), 1u);
  EXPECT_EQ(r.unsupported[0].what, "steps[0]");
  EXPECT_EQ(iam.count("DeactivateMFADevice"), 1u);
  // The mutating step the endpoint lacks fails the job: it is never skipped.
  EXPECT_EQ(r.status, JobResult::Status::failed);
  EXPECT_EQ(r.error->error_class, client::ErrorClass::unsupported);
}

TEST(IamCallsPlanner, DryRunMakesOnlyReadCalls) {
  FakeIam iam = world();
  iam.users["alice"].access_keys = {{"AKIA1", "Active"}};
  Job j = calls_job({{"ListAccessKeys", {{"UserName", "alice"}}},
                     {"DeleteAccessKey", {{"UserName", "alice"}, {"AccessKeyId", "AKIA1"}}},
                     {"GetUser", {{"UserName", "alice"}}},
                     {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kHardware}}}});
  j.dry_run = true;
  auto p = make_planner(j, defaults_opts());
  iam.run(*p);
  EXPECT_EQ(iam.actions(), (std::vector<std::string>{"ListAccessKeys", "GetUser"}));
  const auto r = p->result();
  EXPECT_EQ(r.outcome, "dry_run");
  ASSERT_EQ(r.would_call.size(), 2u);
  EXPECT_EQ(r.would_call[0].action, "DeleteAccessKey");
  EXPECT_EQ(r.would_call[1].action, "DeactivateMFADevice");
  EXPECT_EQ(r.would_call[1].params, j.steps[3].params);
  EXPECT_EQ(iam.users["alice"].access_keys.size(), 1u);
  const auto js = to_json(r);
  EXPECT_EQ(js["would_call"][0]["params"]["AccessKeyId"], "AKIA1");
}

TEST(IamCallsPlanner, AbsentGoesOnDeniedStops) {
  FakeIam iam = world();
  Job j = calls_job({{"DeleteLoginProfile", {{"UserName", "alice"}}},  // none: NoSuchEntity
                     {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kHardware}}},
                     {"DeleteUser", {{"UserName", "alice"}}},
                     {"DeleteLoginProfile", {{"UserName", "bob"}}}});
  iam.fault = [](const PlannedCall& c, std::size_t) -> std::optional<client::Outcome> {
    if (c.action == "DeleteUser") return err(client::ErrorClass::denied, "AccessDenied", 403);
    return std::nullopt;
  };
  auto p = make_planner(j, defaults_opts());
  EXPECT_EQ(iam.run(*p), 3u);
  const auto r = p->result();
  EXPECT_EQ(r.status, JobResult::Status::failed);
  EXPECT_EQ(r.error->error_class, client::ErrorClass::denied);
  EXPECT_FALSE(r.invalid);
}

TEST(IamCallsPlanner, ConflictFails) {
  FakeIam iam = world();
  auto p = make_planner(calls_job({{"DeleteUser", {{"UserName", "alice"}}}}), defaults_opts());
  iam.run(*p);
  EXPECT_EQ(p->result().status, JobResult::Status::failed);
  EXPECT_EQ(p->result().error->code, "DeleteConflict");
}

TEST(IamCallsPlanner, CheckpointRestoreAndAllowListRecheck) {
  FakeIam iam = world();
  Job j = calls_job({{"GetUser", {{"UserName", "alice"}}},
                     {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kHardware}}},
                     {"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", kVirtual}}}});
  auto p = make_planner(j, defaults_opts());
  p->on_outcome(iam.handle(*p->next()));
  p->on_outcome(iam.handle(*p->next()));
  const auto cp = nlohmann::json::parse(p->checkpoint().dump());
  auto q = restore_planner(j, cp, defaults_opts());
  EXPECT_EQ(test::param(*q->next(), "SerialNumber"), kVirtual);
  iam.run(*q);
  EXPECT_EQ(iam.log.size(), 3u);
  EXPECT_EQ(q->result().outcome, "done");

  // The allow-list shrank between the crash and the resume: refused before any call.
  PlannerOptions narrow;
  narrow.allow_list = {"Get*"};
  auto r = restore_planner(j, cp, narrow);
  EXPECT_FALSE(r->next());
  EXPECT_TRUE(r->result().invalid);
}

TEST(IamCallsPlanner, EmptyStepsIsDone) {
  auto p = make_planner(calls_job({}), defaults_opts());
  EXPECT_FALSE(p->next());
  EXPECT_EQ(p->result().outcome, "done");
}

// ---- shared ------------------------------------------------------------------------------

TEST(Planner, ReadOnlyActions) {
  EXPECT_TRUE(is_read_only_action("GetUser"));
  EXPECT_TRUE(is_read_only_action("ListMFADevices"));
  EXPECT_FALSE(is_read_only_action("DeleteUser"));
  EXPECT_FALSE(is_read_only_action("Get"));
}

TEST(Planner, VirtualMfaSerials) {
  EXPECT_TRUE(is_virtual_mfa_serial("arn:aws:iam::123456789012:mfa/alice"));
  EXPECT_TRUE(is_virtual_mfa_serial("arn:aws-cn:iam::123456789012:mfa/path/alice"));
  EXPECT_TRUE(is_virtual_mfa_serial("arn:aws-us-gov:iam::123456789012:mfa/alice"));
  EXPECT_FALSE(is_virtual_mfa_serial("GAHT12345678"));
  EXPECT_FALSE(is_virtual_mfa_serial("arn:aws:iam::123456789012:u2f/user/alice/key-1"));
  EXPECT_FALSE(is_virtual_mfa_serial("arn:aws:iam::123456789012:user/mfa/x"));
}

TEST(Planner, ResultJson) {
  JobResult r;
  r.status = JobResult::Status::failed;
  r.error = client::IamError{client::ErrorClass::denied, 403, "AccessDenied", "no", "rid"};
  const auto j = to_json(r);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["error"]["class"], "denied");
  EXPECT_EQ(j["error"]["code"], "AccessDenied");
  EXPECT_EQ(j["error"]["request_id"], "rid");
  EXPECT_FALSE(j.contains("would_call"));

  PlannedCall c{"DeleteUser", {{"UserName", "a"}}, true, "delete user a"};
  EXPECT_EQ(planned_call_from_json(to_json(c)), c);
}

TEST(Planner, EmptyOutcomeFailsInsteadOfLooping) {
  auto p = make_planner(mfa_job("alice", kHardware), {});
  ASSERT_TRUE(p->next());
  p->on_outcome(client::Outcome{});
  EXPECT_TRUE(p->finished());
  EXPECT_EQ(p->result().status, JobResult::Status::failed);
}

}  // namespace
}  // namespace iamq::worker
