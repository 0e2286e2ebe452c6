// Unit tests of the sans-io core: IAM rules, responses, pagination, validation, SigV4,
// every fault kind with a fixed seed, the unmodifiable window and the rate limit with an
// injected clock, and the admin endpoints.
#include "tests/iam_emulator/emulator.hpp"

#include <gtest/gtest.h>

#include <set>

#include "tests/iam_emulator/emulator_harness.hpp"

namespace iamq::emulator {
namespace {

using namespace std::chrono_literals;
using testing::Harness;
using testing::Reply;
using testing::test_epoch;
using nlohmann::json;

const char* kDoc = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})";

State seeded(const json& seed) {
  State s = State::with_default_account();
  load_seed(s, seed);
  return s;
}

TEST(EmulatorResponses, SuccessIsNamespacedWithRequestId) {
  Harness h;
  Reply r = h.call("CreateUser", {{"UserName", "alice"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto root = r.doc.child("CreateUserResponse");
  EXPECT_STREQ(root.attribute("xmlns").value(), "https://iam.amazonaws.com/doc/2010-05-08/");
  auto user = root.child("CreateUserResult").child("User");
  EXPECT_STREQ(user.child_value("UserName"), "alice");
  EXPECT_STREQ(user.child_value("Arn"), "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(std::string(user.child_value("UserId")).rfind("AIDA", 0), 0u);
  EXPECT_STREQ(user.child_value("CreateDate"), "2024-05-01T12:00:00Z");
  EXPECT_FALSE(std::string(root.child("ResponseMetadata").child_value("RequestId")).empty());
}

TEST(EmulatorResponses, ErrorDocumentShape) {
  Harness h;
  Reply r = h.call("GetUser", {{"UserName", "nobody"}});
  EXPECT_EQ(r.status, 404);
  auto root = r.doc.child("ErrorResponse");
  EXPECT_STREQ(root.attribute("xmlns").value(), "https://iam.amazonaws.com/doc/2010-05-08/");
  EXPECT_STREQ(root.child("Error").child_value("Type"), "Sender");
  EXPECT_STREQ(root.child("Error").child_value("Code"), "NoSuchEntity");
  EXPECT_STREQ(root.child("Error").child_value("Message"),
               "The user with name nobody cannot be found.");
  EXPECT_FALSE(std::string(root.child_value("RequestId")).empty());
}

TEST(EmulatorRules, UserNamesAreUniqueCaseInsensitively) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "Alice"}}).status, 200);
  Reply dup = h.call("CreateUser", {{"UserName", "alice"}});
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.code(), "EntityAlreadyExists");
  EXPECT_EQ(h.call("GetUser", {{"UserName", "ALICE"}}).status, 200);
}

TEST(EmulatorRules, DeleteUserConflictsUntilEveryAttachmentIsGone) {
  Harness h;
  const std::string u = "offboard-me";
  ASSERT_EQ(h.call("CreateUser", {{"UserName", u}}).status, 200);
  ASSERT_EQ(h.call("CreateGroup", {{"GroupName", "devs"}}).status, 200);
  Reply pol = h.call("CreatePolicy", {{"PolicyName", "p1"}, {"PolicyDocument", kDoc}});
  ASSERT_EQ(pol.status, 200) << pol.body;
  std::string arn = pol.result("CreatePolicy").child("Policy").child_value("Arn");
  ASSERT_EQ(h.call("CreateLoginProfile", {{"UserName", u}, {"Password", "S3cret!pass"}}).status, 200);
  Reply key = h.call("CreateAccessKey", {{"UserName", u}});
  ASSERT_EQ(key.status, 200);
  std::string key_id = key.result("CreateAccessKey").child("AccessKey").child_value("AccessKeyId");
  Reply cert = h.call("UploadSigningCertificate",
                      {{"UserName", u},
                       {"CertificateBody", "-----BEGIN CERTIFICATE-----\nMIIBxyz\n-----END CERTIFICATE-----\n"}});
  ASSERT_EQ(cert.status, 200) << cert.body;
  std::string cert_id = cert.result("UploadSigningCertificate").child("Certificate").child_value("CertificateId");
  Reply ssh = h.call("UploadSSHPublicKey", {{"UserName", u}, {"SSHPublicKeyBody", "ssh-rsa AAAAB3Nza u@h"}});
  ASSERT_EQ(ssh.status, 200) << ssh.body;
  std::string ssh_id = ssh.result("UploadSSHPublicKey").child("SSHPublicKey").child_value("SSHPublicKeyId");
  Reply svc = h.call("CreateServiceSpecificCredential",
                     {{"UserName", u}, {"ServiceName", "codecommit.amazonaws.com"}});
  ASSERT_EQ(svc.status, 200) << svc.body;
  std::string svc_id = svc.result("CreateServiceSpecificCredential")
                           .child("ServiceSpecificCredential")
                           .child_value("ServiceSpecificCredentialId");
  Reply vmfa = h.call("CreateVirtualMFADevice", {{"VirtualMFADeviceName", u}});
  ASSERT_EQ(vmfa.status, 200);
  std::string serial = vmfa.result("CreateVirtualMFADevice").child("VirtualMFADevice").child_value("SerialNumber");
  EXPECT_EQ(serial, "arn:aws:iam::123456789012:mfa/" + u);
  ASSERT_EQ(h.call("EnableMFADevice", {{"UserName", u}, {"SerialNumber", serial},
                                       {"AuthenticationCode1", "123456"}, {"AuthenticationCode2", "654321"}})
                .status,
            200);
  ASSERT_EQ(h.call("PutUserPolicy", {{"UserName", u}, {"PolicyName", "inline"}, {"PolicyDocument", kDoc}}).status, 200);
  ASSERT_EQ(h.call("AttachUserPolicy", {{"UserName", u}, {"PolicyArn", arn}}).status, 200);
  ASSERT_EQ(h.call("AddUserToGroup", {{"UserName", u}, {"GroupName", "devs"}}).status, 200);
  ASSERT_EQ(h.call("PutUserPermissionsBoundary", {{"UserName", u}, {"PermissionsBoundary", arn}}).status, 200);

  // Each removal step: DeleteUser still conflicts before it, names what remains.
  struct Step {
    std::string expect_in_message;
    std::string action;
    client::Params params;
  };
  std::vector<Step> steps = {
      {"login profile", "DeleteLoginProfile", {{"UserName", u}}},
      {"access keys", "DeleteAccessKey", {{"UserName", u}, {"AccessKeyId", key_id}}},
      {"signing certificates", "DeleteSigningCertificate", {{"UserName", u}, {"CertificateId", cert_id}}},
      {"SSH public keys", "DeleteSSHPublicKey", {{"UserName", u}, {"SSHPublicKeyId", ssh_id}}},
      {"service specific credentials", "DeleteServiceSpecificCredential",
       {{"UserName", u}, {"ServiceSpecificCredentialId", svc_id}}},
      {"MFA devices", "DeactivateMFADevice", {{"UserName", u}, {"SerialNumber", serial}}},
      {"delete policies", "DeleteUserPolicy", {{"UserName", u}, {"PolicyName", "inline"}}},
      {"detach all policies", "DetachUserPolicy", {{"UserName", u}, {"PolicyArn", arn}}},
      {"remove users from group", "RemoveUserFromGroup", {{"UserName", u}, {"GroupName", "devs"}}},
  };
  for (const auto& step : steps) {
    Reply conflict = h.call("DeleteUser", {{"UserName", u}});
    EXPECT_EQ(conflict.status, 409) << step.action;
    EXPECT_EQ(conflict.code(), "DeleteConflict");
    EXPECT_NE(std::string(conflict.doc.child("ErrorResponse").child("Error").child_value("Message"))
                  .find(step.expect_in_message),
              std::string::npos)
        << conflict.body;
    Reply removed = h.call(step.action, step.params);
    ASSERT_EQ(removed.status, 200) << step.action << ": " << removed.body;
    // Removing again is NoSuchEntity: the worker records that as "absent".
    EXPECT_EQ(h.call(step.action, step.params).code(), "NoSuchEntity") << step.action;
  }
  // The boundary does not block DeleteUser; the deactivated virtual device stays, unassigned.
  Reply deleted = h.call("DeleteUser", {{"UserName", u}});
  EXPECT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(h.call("GetUser", {{"UserName", u}}).code(), "NoSuchEntity");
  Reply devices = h.call("ListVirtualMFADevices", {{"AssignmentStatus", "Unassigned"}});
  EXPECT_EQ(devices.members("ListVirtualMFADevices", "VirtualMFADevices", "SerialNumber"),
            std::vector<std::string>{serial});
  EXPECT_EQ(h.call("DeleteVirtualMFADevice", {{"SerialNumber", serial}}).status, 200);
  EXPECT_EQ(h.call("DeletePolicy", {{"PolicyArn", arn}}).status, 200);
  EXPECT_EQ(h.call("DeleteGroup", {{"GroupName", "devs"}}).status, 200);
}

TEST(EmulatorRules, AtMostTwoAccessKeys) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "k"}}).status, 200);
  EXPECT_EQ(h.call("CreateAccessKey", {{"UserName", "k"}}).status, 200);
  EXPECT_EQ(h.call("CreateAccessKey", {{"UserName", "k"}}).status, 200);
  Reply third = h.call("CreateAccessKey", {{"UserName", "k"}});
  EXPECT_EQ(third.status, 409);
  EXPECT_EQ(third.code(), "LimitExceeded");
}

TEST(EmulatorRules, UpdateAccessKeyStatus) {
  Harness h(seeded({{"accounts", {{{"users", {{{"name", "k"}, {"access_keys", {{{"id", "AKIAEXAMPLEKEY000001"}}}}}}}}}}}));
  Reply bad = h.call("UpdateAccessKey", {{"UserName", "k"}, {"AccessKeyId", "AKIAEXAMPLEKEY000001"}, {"Status", "Off"}});
  EXPECT_EQ(bad.code(), "ValidationError");
  ASSERT_EQ(h.call("UpdateAccessKey", {{"UserName", "k"}, {"AccessKeyId", "AKIAEXAMPLEKEY000001"}, {"Status", "Inactive"}}).status, 200);
  Reply list = h.call("ListAccessKeys", {{"UserName", "k"}});
  EXPECT_EQ(list.members("ListAccessKeys", "AccessKeyMetadata", "Status"), std::vector<std::string>{"Inactive"});
}

TEST(EmulatorRules, VirtualMfaDeleteConflictsWhileEnabled) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "m"}}).status, 200);
  std::string serial = h.call("CreateVirtualMFADevice", {{"VirtualMFADeviceName", "m-phone"}})
                           .result("CreateVirtualMFADevice").child("VirtualMFADevice").child_value("SerialNumber");
  ASSERT_EQ(h.call("EnableMFADevice", {{"UserName", "m"}, {"SerialNumber", serial},
                                       {"AuthenticationCode1", "111111"}, {"AuthenticationCode2", "222222"}}).status, 200);
  Reply conflict = h.call("DeleteVirtualMFADevice", {{"SerialNumber", serial}});
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(conflict.code(), "DeleteConflict");
  Reply assigned = h.call("ListVirtualMFADevices", {{"AssignmentStatus", "Assigned"}});
  auto member = assigned.result("ListVirtualMFADevices").child("VirtualMFADevices").child("member");
  EXPECT_STREQ(member.child("User").child_value("UserName"), "m");
}

TEST(EmulatorRules, DeactivateMfaDeviceNeedsUserAndEnabledDevice) {
  Harness h(seeded({{"accounts", {{{"users", {{{"name", "hw"}, {"mfa_devices", {"GAHT12345678"}}},
                                              {{"name", "other"}}}}}}}}));
  Reply missing_user = h.call("DeactivateMFADevice", {{"SerialNumber", "GAHT12345678"}});
  EXPECT_EQ(missing_user.status, 400);
  EXPECT_EQ(missing_user.code(), "ValidationError");
  // Hardware device: listed for the user, not among virtual devices.
  Reply list = h.call("ListMFADevices", {{"UserName", "hw"}});
  EXPECT_EQ(list.members("ListMFADevices", "MFADevices", "SerialNumber"), std::vector<std::string>{"GAHT12345678"});
  EXPECT_TRUE(h.call("ListVirtualMFADevices").members("ListVirtualMFADevices", "VirtualMFADevices", "SerialNumber").empty());
  Reply wrong_user = h.call("DeactivateMFADevice", {{"UserName", "other"}, {"SerialNumber", "GAHT12345678"}});
  EXPECT_EQ(wrong_user.status, 404);
  EXPECT_EQ(wrong_user.code(), "NoSuchEntity");
  EXPECT_EQ(h.call("DeactivateMFADevice", {{"UserName", "hw"}, {"SerialNumber", "GAHT12345678"}}).status, 200);
  EXPECT_EQ(h.call("DeactivateMFADevice", {{"UserName", "hw"}, {"SerialNumber", "GAHT12345678"}}).code(), "NoSuchEntity");
  EXPECT_EQ(h.call("DeleteUser", {{"UserName", "hw"}}).status, 200);
}

TEST(EmulatorRules, InlinePolicyDocumentsAreValidatedAndReturnedUrlEncoded) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "p"}}).status, 200);
  Reply bad = h.call("PutUserPolicy", {{"UserName", "p"}, {"PolicyName", "x"}, {"PolicyDocument", "{not json"}});
  EXPECT_EQ(bad.code(), "MalformedPolicyDocument");
  ASSERT_EQ(h.call("PutUserPolicy", {{"UserName", "p"}, {"PolicyName", "x"}, {"PolicyDocument", kDoc}}).status, 200);
  Reply got = h.call("GetUserPolicy", {{"UserName", "p"}, {"PolicyName", "x"}});
  EXPECT_EQ(got.result("GetUserPolicy").child_value("PolicyDocument"), client::percent_encode(kDoc));
  EXPECT_EQ(h.call("ListUserPolicies", {{"UserName", "p"}}).members("ListUserPolicies", "PolicyNames", nullptr),
            std::vector<std::string>{"x"});
}

TEST(EmulatorRules, AttachNeedsAnExistingPolicyAndDeletePolicyConflictsWhileAttached) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "a"}}).status, 200);
  EXPECT_EQ(h.call("AttachUserPolicy", {{"UserName", "a"}, {"PolicyArn", "arn:aws:iam::123456789012:policy/none"}}).code(),
            "NoSuchEntity");
  EXPECT_EQ(h.call("AttachUserPolicy", {{"UserName", "a"}, {"PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}}).status, 200);
  std::string arn = h.call("CreatePolicy", {{"PolicyName", "mine"}, {"PolicyDocument", kDoc}})
                        .result("CreatePolicy").child("Policy").child_value("Arn");
  ASSERT_EQ(h.call("AttachUserPolicy", {{"UserName", "a"}, {"PolicyArn", arn}}).status, 200);
  EXPECT_EQ(h.call("DeletePolicy", {{"PolicyArn", arn}}).code(), "DeleteConflict");
  Reply got = h.call("GetPolicy", {{"PolicyArn", arn}});
  EXPECT_STREQ(got.result("GetPolicy").child("Policy").child_value("AttachmentCount"), "1");
  Reply attached = h.call("ListAttachedUserPolicies", {{"UserName", "a"}});
  EXPECT_EQ(attached.members("ListAttachedUserPolicies", "AttachedPolicies", "PolicyName").size(), 2u);
}

// ---------------------------------------------------------------------------------------
// Pagination.

TEST(EmulatorPaging, DefaultPageSizeAndMarkers) {
  State s = State::with_default_account();
  json users = json::array();
  for (int i = 0; i < 12; ++i) users.push_back({{"name", "u" + std::to_string(100 + i)}});
  load_seed(s, {{"accounts", {{{"users", users}}}}});
  Options o;
  o.page_size = 5;
  Harness h(std::move(s), o);
  std::vector<std::string> seen;
  std::optional<std::string> marker;
  int pages = 0;
  do {
    client::Params p;
    if (marker) p.emplace_back("Marker", *marker);
    Reply r = h.call("ListUsers", p);
    ASSERT_EQ(r.status, 200) << r.body;
    auto names = r.members("ListUsers", "Users", "UserName");
    EXPECT_LE(names.size(), 5u);
    seen.insert(seen.end(), names.begin(), names.end());
    auto result = r.result("ListUsers");
    bool truncated = std::string(result.child_value("IsTruncated")) == "true";
    marker = truncated ? std::optional<std::string>(result.child_value("Marker")) : std::nullopt;
    EXPECT_EQ(truncated, !std::string(result.child_value("Marker")).empty());
    ++pages;
  } while (marker && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen.front(), "u100");
  EXPECT_EQ(seen.back(), "u111");
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 12u);

  Reply two = h.call("ListUsers", {{"MaxItems", "2"}});
  EXPECT_EQ(two.members("ListUsers", "Users", "UserName"), (std::vector<std::string>{"u100", "u101"}));
  // A marker stays valid when the item it points at is deleted in between.
  std::string m = two.result("ListUsers").child_value("Marker");
  ASSERT_EQ(h.call("DeleteUser", {{"UserName", "u102"}}).status, 200);
  Reply next = h.call("ListUsers", {{"MaxItems", "2"}, {"Marker", m}});
  EXPECT_EQ(next.members("ListUsers", "Users", "UserName"), (std::vector<std::string>{"u103", "u104"}));
}

TEST(EmulatorPaging, EveryListIsPaginated) {
  Harness h(seeded({{"accounts",
                     {{{"groups", {"g1", "g2", "g3"}},
                       {"users",
                        {{{"name", "full"},
                          {"access_keys", {json::object(), json::object()}},
                          {"mfa_devices", {"GAHT00000001", "GAHT00000002"}},
                          {"inline_policies", {{"a", kDoc}, {"b", kDoc}}},
                          {"attached_policies", {"arn:aws:iam::aws:policy/ReadOnlyAccess",
                                                 "arn:aws:iam::aws:policy/PowerUserAccess"}},
                          {"signing_certificates", {json::object(), json::object()}},
                          {"ssh_public_keys", {json::object(), json::object()}},
                          {"groups", {"g1", "g2", "g3"}}}}}}}}}));
  struct L {
    const char* action;
    const char* list;
    std::size_t total;
  };
  for (L l : {L{"ListAccessKeys", "AccessKeyMetadata", 2}, L{"ListMFADevices", "MFADevices", 2},
              L{"ListUserPolicies", "PolicyNames", 2}, L{"ListAttachedUserPolicies", "AttachedPolicies", 2},
              L{"ListSigningCertificates", "Certificates", 2}, L{"ListSSHPublicKeys", "SSHPublicKeys", 2},
              L{"ListGroupsForUser", "Groups", 3}}) {
    Reply first = h.call(l.action, {{"UserName", "full"}, {"MaxItems", "1"}});
    ASSERT_EQ(first.status, 200) << l.action << first.body;
    EXPECT_EQ(first.result(l.action).child(l.list).select_nodes("member").size(), 1u) << l.action;
    EXPECT_STREQ(first.result(l.action).child_value("IsTruncated"), "true") << l.action;
    Reply rest = h.call(l.action, {{"UserName", "full"}, {"MaxItems", "100"},
                                   {"Marker", first.result(l.action).child_value("Marker")}});
    EXPECT_EQ(rest.result(l.action).child(l.list).select_nodes("member").size(), l.total - 1) << l.action;
    EXPECT_STREQ(rest.result(l.action).child_value("IsTruncated"), "false") << l.action;
  }
}

TEST(EmulatorPaging, BadMaxItemsAndMarker) {
  Harness h;
  EXPECT_EQ(h.call("ListUsers", {{"MaxItems", "0"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("ListUsers", {{"MaxItems", "1001"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("ListUsers", {{"MaxItems", "ten"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("ListUsers", {{"Marker", "zz"}}).code(), "ValidationError");
}

// ---------------------------------------------------------------------------------------
// Validation.

TEST(EmulatorValidation, NamesSerialsAndRequiredParameters) {
  Harness h;
  Reply missing = h.call("CreateUser");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.code(), "ValidationError");
  EXPECT_NE(missing.body.find("'userName'"), std::string::npos);
  EXPECT_EQ(h.call("CreateUser", {{"UserName", "bad name"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("CreateUser", {{"UserName", "bad/name"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("CreateUser", {{"UserName", ""}}).code(), "ValidationError");
  EXPECT_EQ(h.call("CreateUser", {{"UserName", std::string(65, 'a')}}).code(), "ValidationError");
  EXPECT_EQ(h.call("CreateUser", {{"UserName", "ok+=,.@_-Name1"}}).status, 200);
  EXPECT_EQ(h.call("GetUser", {{"UserName", std::string(129, 'a')}}).code(), "ValidationError");
  EXPECT_EQ(h.call("GetUser", {{"UserName", std::string(128, 'a')}}).code(), "NoSuchEntity");
  EXPECT_EQ(h.call("DeactivateMFADevice", {{"UserName", "ok+=,.@_-Name1"}, {"SerialNumber", "SHORT123"}}).code(),
            "ValidationError");  // 8 < 9 characters
  EXPECT_EQ(h.call("DeactivateMFADevice", {{"UserName", "ok+=,.@_-Name1"}, {"SerialNumber", "bad serial!"}}).code(),
            "ValidationError");
  EXPECT_EQ(h.call("DeactivateMFADevice", {{"UserName", "ok+=,.@_-Name1"}, {"SerialNumber", "arn:aws:iam::1:mfa/x"}}).code(),
            "NoSuchEntity");
  EXPECT_EQ(h.call("CreateLoginProfile", {{"UserName", "ok+=,.@_-Name1"}}).code(), "ValidationError");
  EXPECT_EQ(h.call("EnableMFADevice", {{"UserName", "ok+=,.@_-Name1"}, {"SerialNumber", "GAHT12345678"},
                                       {"AuthenticationCode1", "12345"}, {"AuthenticationCode2", "123456"}}).code(),
            "ValidationError");
}

TEST(EmulatorValidation, PasswordsNeverEchoed) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "pw"}}).status, 200);
  Reply r = h.call("CreateLoginProfile", {{"UserName", "pw"}, {"Password", std::string(129, 'q')}});
  EXPECT_EQ(r.code(), "ValidationError");
  EXPECT_EQ(r.body.find(std::string(129, 'q')), std::string::npos);
}

TEST(EmulatorValidation, UnknownAndMissingAction) {
  Harness h;
  Reply unknown = h.call("StealEverything");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.code(), "InvalidAction");
  Reply admin_name = h.call("_emulator/state");
  EXPECT_EQ(admin_name.code(), "InvalidAction");
}

// ---------------------------------------------------------------------------------------
// SigV4.

TEST(EmulatorAuth, WrongSecretUnknownKeyAndTamperedBody) {
  Harness h;
  auto now = test_epoch();
  Reply wrong = h.call_with("ListUsers", {}, {"AKIDEXAMPLE", "not-the-secret", ""}, now, now);
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(wrong.code(), "SignatureDoesNotMatch");
  Reply unknown = h.call_with("ListUsers", {}, {"AKIDUNKNOWN", "whatever", ""}, now, now);
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(unknown.code(), "InvalidClientTokenId");
  EXPECT_EQ(unknown.body.find("whatever"), std::string::npos);  // no secret echoed

  client::SignableRequest req;
  req.method = "POST";
  req.headers = {{"Host", "127.0.0.1:4566"}, {"Content-Type", "application/x-www-form-urlencoded"}};
  req.body = client::encode_query("GetUser", {{"UserName", "a"}});
  client::sign(req, h.creds, {"us-east-1", "iam", client::format_amz_date(now)});
  Reply ok = h.send(Request{"POST", "/", req.headers, req.body, now});
  EXPECT_EQ(ok.code(), "NoSuchEntity");  // authenticated
  Reply tampered = h.send(Request{"POST", "/", req.headers, client::encode_query("GetUser", {{"UserName", "b"}}), now});
  EXPECT_EQ(tampered.code(), "SignatureDoesNotMatch");
  auto no_auth = req.headers;
  no_auth.erase(std::remove_if(no_auth.begin(), no_auth.end(), [](auto& kv) { return kv.first == "Authorization"; }),
                no_auth.end());
  Reply missing = h.send(Request{"POST", "/", no_auth, req.body, now});
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(missing.code(), "MissingAuthenticationToken");
}

TEST(EmulatorAuth, ClockSkewBeyondFiveMinutesIsRequestExpired) {
  Harness h;
  auto now = test_epoch();
  EXPECT_EQ(h.call_with("ListUsers", {}, h.creds, now - 4min, now).status, 200);
  EXPECT_EQ(h.call_with("ListUsers", {}, h.creds, now + 4min, now).status, 200);
  Reply old = h.call_with("ListUsers", {}, h.creds, now - 6min, now);
  EXPECT_EQ(old.status, 403);
  EXPECT_EQ(old.code(), "RequestExpired");
  EXPECT_EQ(h.call_with("ListUsers", {}, h.creds, now + 6min, now).code(), "RequestExpired");
}

TEST(EmulatorAuth, WrongRegionIsRejected) {
  Harness h;
  auto now = test_epoch();
  EXPECT_EQ(h.call_with("ListUsers", {}, h.creds, now, now, "eu-west-1").code(), "SignatureDoesNotMatch");
}

TEST(EmulatorAuth, SessionTokensExpiryAndAllowedActions) {
  State s = seeded({{"accounts",
                     {{{"id", "210987654321"},
                       {"keys",
                        {{{"access_key_id", "ASIATEMP"}, {"secret_access_key", "tempsecret"}, {"session_token", "tok123"}},
                         {{"access_key_id", "ASIAOLD"}, {"secret_access_key", "oldsecret"}, {"session_token", "t"}, {"expired", true}},
                         {{"access_key_id", "AKIAREADONLY"}, {"secret_access_key", "ro"}, {"allowed_actions", {"ListUsers"}}}}},
                       {"users", {{{"name", "other-account-user"}}}}}}}});
  Harness h(std::move(s));
  auto now = test_epoch();
  Reply no_token = h.call_with("ListUsers", {}, {"ASIATEMP", "tempsecret", ""}, now, now);
  EXPECT_EQ(no_token.status, 403);
  EXPECT_EQ(no_token.code(), "InvalidClientTokenId");
  EXPECT_EQ(h.call_with("ListUsers", {}, {"ASIATEMP", "tempsecret", "wrong"}, now, now).code(), "InvalidClientTokenId");
  Reply ok = h.call_with("ListUsers", {}, {"ASIATEMP", "tempsecret", "tok123"}, now, now);
  ASSERT_EQ(ok.status, 200) << ok.body;
  // The key's own account: only that account's users.
  EXPECT_EQ(ok.members("ListUsers", "Users", "UserName"), std::vector<std::string>{"other-account-user"});
  EXPECT_EQ(h.call_with("ListUsers", {}, {"ASIAOLD", "oldsecret", "t"}, now, now).code(), "ExpiredToken");
  EXPECT_EQ(h.call_with("ListUsers", {}, {"AKIAREADONLY", "ro", ""}, now, now).status, 200);
  Reply denied = h.call_with("DeleteUser", {{"UserName", "other-account-user"}}, {"AKIAREADONLY", "ro", ""}, now, now);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.code(), "AccessDenied");
}

TEST(EmulatorAuth, GetWithQueryString) {
  Harness h;
  auto now = test_epoch();
  client::SignableRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = client::encode_query("ListUsers", {{"MaxItems", "3"}});
  req.headers = {{"Host", "127.0.0.1:4566"}};
  client::sign(req, h.creds, {"us-east-1", "iam", client::format_amz_date(now)});
  Reply r = h.send(Request{"GET", "/?" + req.query, req.headers, "", now});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.doc.child("ListUsersResponse"));
}

// ---------------------------------------------------------------------------------------
// Faults: each kind, drawn from the seeded generator.

FaultConfig all(const char* kind, double p) {
  return faults_from_json({{"actions", {{"*", {{kind, p}}}}}});
}

TEST(EmulatorFaults, EachKindWithCertainty) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "f"}}).status, 200);
  h.emulator.set_faults(all("service_failure", 1), test_epoch());
  Reply failure = h.call("GetUser", {{"UserName", "f"}});
  EXPECT_EQ(failure.status, 500);
  EXPECT_EQ(failure.code(), "ServiceFailure");
  EXPECT_STREQ(failure.doc.child("ErrorResponse").child("Error").child_value("Type"), "Receiver");

  h.emulator.set_faults(all("html_503", 1), test_epoch());
  Reply html = h.call("GetUser", {{"UserName", "f"}});
  EXPECT_EQ(html.status, 503);
  EXPECT_EQ(html.content_type, "text/html");
  EXPECT_NE(html.body.find("<html>"), std::string::npos);

  h.emulator.set_faults(all("drop_connection", 1), test_epoch());
  EXPECT_TRUE(h.call("GetUser", {{"UserName", "f"}}).dropped);

  h.emulator.set_faults(all("unmodifiable", 1), test_epoch());
  EXPECT_EQ(h.call("GetUser", {{"UserName", "f"}}).status, 200);  // reads are never unmodifiable
  Reply unmod = h.call("CreateLoginProfile", {{"UserName", "f"}, {"Password", "x-Passw0rd"}});
  EXPECT_EQ(unmod.status, 409);
  EXPECT_EQ(unmod.code(), "EntityTemporarilyUnmodifiable");

  h.emulator.set_faults(all("concurrent_modification", 1), test_epoch());
  Reply conc = h.call("CreateLoginProfile", {{"UserName", "f"}, {"Password", "x-Passw0rd"}});
  EXPECT_EQ(conc.status, 409);
  EXPECT_EQ(conc.code(), "ConcurrentModification");
  // No fault applied a change.
  h.emulator.set_faults(FaultConfig{}, test_epoch());
  EXPECT_EQ(h.call("GetLoginProfile", {{"UserName", "f"}}).code(), "NoSuchEntity");
}

TEST(EmulatorFaults, PerActionEntriesOverrideTheDefault) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "f"}}).status, 200);
  h.emulator.set_faults(faults_from_json({{"actions", {{"*", {{"service_failure", 1}}},
                                                       {"GetUser", {{"service_failure", 0}}}}}}),
                        test_epoch());
  EXPECT_EQ(h.call("GetUser", {{"UserName", "f"}}).status, 200);
  EXPECT_EQ(h.call("ListUsers").status, 500);
}

std::vector<int> statuses(std::uint64_t seed, int n) {
  Options o;
  o.random_seed = seed;
  o.faults = all("service_failure", 0.5);
  Harness h(State::with_default_account(), o);
  std::vector<int> out;
  for (int i = 0; i < n; ++i) out.push_back(h.call("ListUsers").status);
  return out;
}

TEST(EmulatorFaults, ProbabilitiesReplayForASeed) {
  auto a = statuses(42, 200);
  auto b = statuses(42, 200);
  auto c = statuses(43, 200);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto failures = std::count(a.begin(), a.end(), 500);
  EXPECT_GT(failures, 60);
  EXPECT_LT(failures, 140);
  EXPECT_EQ(failures + std::count(a.begin(), a.end(), 200), 200);
}

TEST(EmulatorFaults, LatencyAndJitter) {
  Options o;
  o.faults.latency_ms = 20;
  o.faults.jitter_ms = 10;
  Harness h(State::with_default_account(), o);
  std::set<long> delays;
  for (int i = 0; i < 20; ++i) {
    Reply r = h.call("ListUsers");
    EXPECT_GE(r.delay, 20ms);
    EXPECT_LT(r.delay, 30ms);
    delays.insert(static_cast<long>(r.delay.count()));
  }
  EXPECT_GT(delays.size(), 5u);  // jitter varies
}

TEST(EmulatorFaults, UnmodifiableWindowAfterAChange) {
  Options o;
  o.faults.unmodifiable_window_s = 30;
  Harness h(State::with_default_account(), o);
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "w"}}, 0ms).status, 200);
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "other"}}, 0ms).status, 200);
  Reply again = h.call("CreateLoginProfile", {{"UserName", "w"}, {"Password", "x-Passw0rd"}}, 10s);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.code(), "EntityTemporarilyUnmodifiable");
  EXPECT_EQ(h.call("GetUser", {{"UserName", "w"}}, 10s).status, 200);  // reads unaffected
  // A different user is not locked by w's change... but was just created itself.
  EXPECT_EQ(h.call("CreateLoginProfile", {{"UserName", "other"}, {"Password", "x-Passw0rd"}}, 29s).code(),
            "EntityTemporarilyUnmodifiable");
  EXPECT_EQ(h.call("CreateLoginProfile", {{"UserName", "w"}, {"Password", "x-Passw0rd"}}, 31s).status, 200);
  // The successful change restarts w's window; the rejected one did not.
  EXPECT_EQ(h.call("DeleteLoginProfile", {{"UserName", "w"}}, 40s).code(), "EntityTemporarilyUnmodifiable");
  EXPECT_EQ(h.call("CreateLoginProfile", {{"UserName", "other"}, {"Password", "x-Passw0rd"}}, 40s).status, 200);
  EXPECT_EQ(h.call("DeleteLoginProfile", {{"UserName", "w"}}, 62s).status, 200);
}

TEST(EmulatorFaults, ThrottlingTokenBucket) {
  Options o;
  o.faults.rate_limit = 2;
  o.faults.rate_burst = 3;
  Harness h(State::with_default_account(), o);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.call("ListUsers", {}, 0ms).status, 200) << i;
  Reply throttled = h.call("ListUsers", {}, 0ms);
  EXPECT_EQ(throttled.status, 400);
  EXPECT_EQ(throttled.code(), "Throttling");
  EXPECT_STREQ(throttled.doc.child("ErrorResponse").child("Error").child_value("Message"), "Rate exceeded");
  EXPECT_EQ(h.call("ListUsers", {}, 500ms).status, 200);  // one token back after 0.5 s
  EXPECT_EQ(h.call("ListUsers", {}, 500ms).code(), "Throttling");
  EXPECT_EQ(h.call("ListUsers", {}, 1500ms).status, 200);
  EXPECT_EQ(h.call("ListUsers", {}, 1500ms).status, 200);
  EXPECT_EQ(h.call("ListUsers", {}, 1500ms).code(), "Throttling");
}

// ---------------------------------------------------------------------------------------
// Admin endpoints.

TEST(EmulatorAdmin, StateResetAndLoad) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "tmp"}}).status, 200);
  Response state = h.admin("GET", "/_emulator/state");
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.content_type, "application/json");
  json j = json::parse(state.body);
  EXPECT_EQ(j["accounts"][0]["users"][0]["name"], "tmp");
  EXPECT_EQ(h.admin("POST", "/_emulator/reset").status, 200);
  EXPECT_TRUE(json::parse(h.admin("GET", "/_emulator/state").body)["accounts"][0]["users"].empty());
  EXPECT_EQ(h.call("GetUser", {{"UserName", "tmp"}}).code(), "NoSuchEntity");

  Response loaded = h.admin("POST", "/_emulator/state", R"({"accounts":[{"users":[{"name":"loaded"}]}]})");
  EXPECT_EQ(loaded.status, 200) << loaded.body;
  EXPECT_EQ(h.call("GetUser", {{"UserName", "loaded"}}).status, 200);
  Response bad = h.admin("POST", "/_emulator/state", R"({"accounts":[{"users":[{"nam":"x"}]}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("accounts[0].users[0]"), std::string::npos) << bad.body;
}

TEST(EmulatorAdmin, FaultsGetAndSet) {
  Harness h;
  Response set = h.admin("POST", "/_emulator/faults",
                         R"({"latency_ms":5,"rate_limit":{"rate":10,"burst":20},"actions":{"DeleteUser":{"unmodifiable":0.25}}})");
  ASSERT_EQ(set.status, 200) << set.body;
  json got = json::parse(h.admin("GET", "/_emulator/faults").body);
  EXPECT_EQ(got["latency_ms"], 5.0);
  EXPECT_EQ(got["rate_limit"]["burst"], 20.0);
  EXPECT_EQ(got["actions"]["DeleteUser"]["unmodifiable"], 0.25);
  EXPECT_EQ(h.admin("POST", "/_emulator/faults", "{oops").status, 400);
  Response bad = h.admin("POST", "/_emulator/faults", R"({"actions":{"*":{"html_503":2}}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("html_503"), std::string::npos);
  EXPECT_EQ(h.admin("GET", "/_emulator/nothing").status, 404);
  EXPECT_EQ(h.admin("DELETE", "/_emulator/faults").status, 405);
}

TEST(EmulatorAdmin, StatsByActionCodeUserAndPeakRate) {
  Harness h;
  ASSERT_EQ(h.call("CreateUser", {{"UserName", "s"}}, 0ms).status, 200);
  ASSERT_EQ(h.call("DeleteUser", {{"UserName", "s"}}, 100ms).status, 200);
  ASSERT_EQ(h.call("DeleteUser", {{"UserName", "s"}}, 200ms).status, 404);
  ASSERT_EQ(h.call("ListUsers", {}, 2000ms).status, 200);
  h.call_with("ListUsers", {}, {"AKIDEXAMPLE", "bad", ""}, test_epoch() + 2s, test_epoch() + 2s);
  json s = json::parse(h.admin("GET", "/_emulator/stats").body);
  EXPECT_EQ(s["total_calls"], 5);
  EXPECT_EQ(s["calls"]["DeleteUser"]["OK"], 1);
  EXPECT_EQ(s["calls"]["DeleteUser"]["NoSuchEntity"], 1);
  EXPECT_EQ(s["calls"]["ListUsers"]["SignatureDoesNotMatch"], 1);
  EXPECT_EQ(s["calls_by_code"]["OK"], 3);
  EXPECT_EQ(s["mutating_calls_by_user"]["s"]["DeleteUser"]["OK"], 1);
  EXPECT_EQ(s["mutating_calls_by_user"]["s"]["total"], 3);
  EXPECT_EQ(s["max_calls_per_second"], 3);
  EXPECT_EQ(h.admin("DELETE", "/_emulator/stats").status, 200);
  EXPECT_EQ(json::parse(h.admin("GET", "/_emulator/stats").body)["total_calls"], 0);
}

TEST(EmulatorAdmin, AdminPathsAreNeverIamAndIamNeverAdmin) {
  Harness h;
  // A signed IAM call aimed at an admin path is answered by the admin handler (JSON), and an
  // unsigned call to the IAM path is rejected.
  Response r = h.admin("POST", "/?Action=ListUsers&Version=2010-05-08");
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("MissingAuthenticationToken"), std::string::npos);
}

}  // namespace
}  // namespace iamq::emulator
