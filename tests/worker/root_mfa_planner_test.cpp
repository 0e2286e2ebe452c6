// deactivate_root_mfa: the calls in order, none with UserName, nothing else; paging, absent
// things, delete_root_credentials, dry run, resume from a checkpoint; refuse_call keeps every
// other job from sending a call without UserName.
#include <gtest/gtest.h>

#include "tests/worker/fake_iam.hpp"
#include "worker/job.hpp"
#include "worker/planner.hpp"

namespace iamq::worker {
namespace {

using nlohmann::json;
using test::err;
using test::ok;

Job root_job(bool delete_credentials = false) {
  auto parsed = parse_job(json{{"id", "r"}, {"type", "deactivate_root_mfa"}, {"account_id", "222222222222"},
                               {"delete_root_credentials", delete_credentials}}
                              .dump());
  return std::get<Job>(parsed);
}

/// A root user in a fake account, answering only the calls the root session may make.
struct FakeRoot {
  std::vector<std::string> mfa = {"arn:aws:iam::222222222222:mfa/root-account-mfa-device", "GAHT00000001",
                                  "GAHT00000002"};
  std::vector<std::string> keys = {"AKIAROOT0000000001"};
  std::vector<std::string> certs = {"CERT1", "CERT2"};
  bool password = true;
  std::vector<PlannedCall> log;

  client::Outcome answer(const PlannedCall& c) {
    log.push_back(c);
    auto page = [&](const char* key, const char* field, const std::vector<std::string>& items) {
      // Two items a page: the Marker is the index of the next one.
      std::size_t start = 0;
      for (const auto& [k, v] : c.params)
        if (k == "Marker") start = std::stoul(v);
      json list = json::array();
      for (std::size_t i = start; i < items.size() && i < start + 2; ++i) list.push_back({{field, items[i]}});
      json r = {{key, list}};
      if (start + 2 < items.size()) {
        r["IsTruncated"] = "true";
        r["Marker"] = std::to_string(start + 2);
      }
      return ok(r);
    };
    auto erase = [&](std::vector<std::string>& v, const std::string& id) {
      auto it = std::find(v.begin(), v.end(), id);
      if (it == v.end()) return err(client::ErrorClass::absent, "NoSuchEntity", 404);
      v.erase(it);
      return ok({});
    };
    auto param = [&](const char* n) { return test::param(c, n); };
    if (c.action == "ListMFADevices") return page("MFADevices", "SerialNumber", mfa);
    if (c.action == "DeactivateMFADevice") return erase(mfa, param("SerialNumber"));
    if (c.action == "DeleteLoginProfile") {
      if (!password) return err(client::ErrorClass::absent, "NoSuchEntity", 404);
      password = false;
      return ok({});
    }
    if (c.action == "ListAccessKeys") return page("AccessKeyMetadata", "AccessKeyId", keys);
    if (c.action == "DeleteAccessKey") return erase(keys, param("AccessKeyId"));
    if (c.action == "ListSigningCertificates") return page("Certificates", "CertificateId", certs);
    if (c.action == "DeleteSigningCertificate") return erase(certs, param("CertificateId"));
    ADD_FAILURE() << "unexpected call " << c.action;
    return err(client::ErrorClass::terminal, "Unexpected");
  }

  void run(Planner& p, const Job& job, std::size_t limit = 100) {
    for (std::size_t i = 0; i < limit; ++i) {
      auto c = p.next();
      if (!c) return;
      EXPECT_FALSE(refuse_call(job, *c)) << c->action;
      p.on_outcome(answer(*c));
    }
    ADD_FAILURE() << "planner did not finish";
  }

  std::vector<std::string> actions() const {
    std::vector<std::string> out;
    for (const auto& c : log) out.push_back(c.action);
    return out;
  }
};

TEST(RootMfaPlanner, ListsThenDeactivatesEachDeviceWithOnlySerialNumber) {
  FakeRoot root;
  const Job job = root_job();
  auto p = make_planner(job, {});
  root.run(*p, job);
  EXPECT_EQ(root.actions(), (std::vector<std::string>{"ListMFADevices", "ListMFADevices", "DeactivateMFADevice",
                                                      "DeactivateMFADevice", "DeactivateMFADevice"}));
  for (const auto& c : root.log) {
    for (const auto& [k, v] : c.params) EXPECT_NE(k, "UserName") << c.action;
    if (c.action == "DeactivateMFADevice") {
      ASSERT_EQ(c.params.size(), 1u);
      EXPECT_EQ(c.params[0].first, "SerialNumber");
      EXPECT_TRUE(c.mutating);
    }
  }
  EXPECT_EQ(test::param(root.log[1], "Marker"), "2");
  EXPECT_TRUE(root.mfa.empty());
  EXPECT_EQ(root.keys.size(), 1u) << "credentials are left without delete_root_credentials";
  EXPECT_TRUE(root.password);
  EXPECT_EQ(p->result().status, JobResult::Status::succeeded);
  EXPECT_EQ(p->result().outcome, "done");
}

TEST(RootMfaPlanner, DeleteRootCredentialsInOrder) {
  FakeRoot root;
  root.mfa = {"GAHT00000001"};
  const Job job = root_job(true);
  auto p = make_planner(job, {});
  root.run(*p, job);
  EXPECT_EQ(root.actions(),
            (std::vector<std::string>{"ListMFADevices", "DeactivateMFADevice", "DeleteLoginProfile", "ListAccessKeys",
                                      "DeleteAccessKey", "ListSigningCertificates", "DeleteSigningCertificate",
                                      "DeleteSigningCertificate"}));
  EXPECT_TRUE(root.log[2].params.empty()) << "DeleteLoginProfile without UserName";
  EXPECT_TRUE(root.mfa.empty());
  EXPECT_TRUE(root.keys.empty());
  EXPECT_TRUE(root.certs.empty());
  EXPECT_FALSE(root.password);
  EXPECT_EQ(p->result().outcome, "done");
}

TEST(RootMfaPlanner, NothingThereIsAbsentAndGoneThingsAreNotErrors) {
  FakeRoot root;
  root.mfa.clear();
  root.keys.clear();
  root.certs.clear();
  root.password = false;
  const Job job = root_job(true);
  auto p = make_planner(job, {});
  root.run(*p, job);
  EXPECT_EQ(root.actions(), (std::vector<std::string>{"ListMFADevices", "DeleteLoginProfile", "ListAccessKeys",
                                                      "ListSigningCertificates"}));
  EXPECT_EQ(p->result().status, JobResult::Status::succeeded);
  EXPECT_EQ(p->result().outcome, "absent");

  // A device deactivated meanwhile (NoSuchEntity) is already done; AccessDenied fails the job.
  auto q = make_planner(root_job(), {});
  q->on_outcome(ok({{"MFADevices", json::array({{{"SerialNumber", "GAHT1"}}, {{"SerialNumber", "GAHT2"}}})}}));
  ASSERT_EQ(q->next()->action, "DeactivateMFADevice");
  q->on_outcome(err(client::ErrorClass::absent, "NoSuchEntity", 404));
  ASSERT_EQ(test::param(*q->next(), "SerialNumber"), "GAHT2");
  q->on_outcome(err(client::ErrorClass::denied, "AccessDenied", 403));
  EXPECT_TRUE(q->finished());
  EXPECT_EQ(q->result().status, JobResult::Status::failed);
  EXPECT_EQ(q->result().error->code, "AccessDenied");
}

TEST(RootMfaPlanner, DryRunListsOnlyAndResumesFromCheckpoint) {
  FakeRoot root;
  Job job = root_job(true);
  job.dry_run = true;
  auto p = make_planner(job, {});
  root.run(*p, job);
  for (const auto& c : root.log) EXPECT_FALSE(c.mutating) << c.action;
  EXPECT_EQ(root.mfa.size(), 3u);
  EXPECT_EQ(p->result().outcome, "dry_run");
  EXPECT_EQ(p->result().would_call.size(), 3u + 1u + 1u + 2u);

  // Resume after the first deactivation: the same remaining calls, nothing repeated but the
  // call in flight.
  FakeRoot r2;
  const Job live = root_job();
  auto a = make_planner(live, {});
  a->on_outcome(r2.answer(*a->next()));  // page 1
  a->on_outcome(r2.answer(*a->next()));  // page 2
  a->on_outcome(r2.answer(*a->next()));  // first deactivation
  auto b = restore_planner(live, a->checkpoint(), {});
  r2.log.clear();
  r2.run(*b, live);
  EXPECT_EQ(r2.actions(), (std::vector<std::string>{"DeactivateMFADevice", "DeactivateMFADevice"}));
  EXPECT_TRUE(r2.mfa.empty());
}

TEST(RootMfaPlanner, OtherJobsMayNotOmitUserNameAndTheRootJobSendsNothingElse) {
  Job offboard;
  offboard.type = JobType::offboard_user;
  offboard.user_name = "alice";
  for (const char* action : {"ListMFADevices", "DeactivateMFADevice", "DeleteLoginProfile", "DeleteAccessKey"}) {
    PlannedCall c{action, {{"SerialNumber", "GAHT1"}}, true, ""};
    EXPECT_TRUE(refuse_call(offboard, c)) << action;
    c.params.emplace_back("UserName", "alice");
    EXPECT_FALSE(refuse_call(offboard, c)) << action;
  }
  Job calls;
  calls.type = JobType::iam_calls;
  EXPECT_TRUE(refuse_call(calls, PlannedCall{"DeactivateMFADevice", {{"SerialNumber", "GAHT1"}}, true, ""}));
  const Job root = root_job();
  EXPECT_TRUE(refuse_call(root, PlannedCall{"DeleteUser", {}, true, ""}));
  EXPECT_TRUE(refuse_call(root, PlannedCall{"DeactivateMFADevice", {{"UserName", "alice"}, {"SerialNumber", "X"}}, true, ""}));
  EXPECT_FALSE(refuse_call(root, PlannedCall{"DeactivateMFADevice", {{"SerialNumber", "GAHT1"}}, true, ""}));
}

TEST(RootMfaJob, ParsesAndRefusesWhatDoesNotBelong) {
  const Job j = root_job(true);
  EXPECT_EQ(j.type, JobType::deactivate_root_mfa);
  EXPECT_EQ(j.root_account_id, "222222222222");
  EXPECT_TRUE(j.delete_root_credentials);
  EXPECT_TRUE(j.user_name.empty());
  const json canon = to_json(j);
  EXPECT_EQ(canon["account_id"], "222222222222");
  EXPECT_FALSE(canon.contains("user_name")) << canon.dump();
  auto again = parse_job(canon.dump());
  ASSERT_TRUE(std::holds_alternative<Job>(again)) << std::get<JobError>(again).message;

  const std::vector<std::pair<json, std::string>> bad = {
      {{{"type", "deactivate_root_mfa"}}, "account_id is required"},
      {{{"type", "deactivate_root_mfa"}, {"account_id", "1234"}}, "must be 12 digits"},
      {{{"type", "deactivate_root_mfa"}, {"account_id", "22222222222a"}}, "must be 12 digits"},
      {{{"type", "deactivate_root_mfa"}, {"account_id", 222222222222LL}}, "must be a string"},
      {{{"type", "deactivate_root_mfa"}, {"account_id", "222222222222"}, {"user_name", "root"}}, "user_name is not used"},
      {{{"type", "deactivate_root_mfa"}, {"account_id", "222222222222"}, {"accounts", "*"}}, "accounts is only for"},
      {{{"type", "offboard_user"}, {"user_name", "a"}, {"account_id", "222222222222"}}, "account_id is only for"},
      {{{"type", "deactivate_mfa"}, {"user_name", "a"}, {"delete_root_credentials", true}},
       "delete_root_credentials is only for"},
  };
  for (const auto& [job, want] : bad) {
    auto r = parse_job(job.dump());
    ASSERT_TRUE(std::holds_alternative<JobError>(r)) << job.dump();
    EXPECT_NE(std::get<JobError>(r).message.find(want), std::string::npos)
        << job.dump() << " -> " << std::get<JobError>(r).message;
  }
}

}  // namespace
}  // namespace iamq::worker
