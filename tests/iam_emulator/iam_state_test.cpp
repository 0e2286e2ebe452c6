// Unit tests of the state model: the seed format (loading, errors naming their JSON path,
// dump and reload) and the deterministic user generator.
#include "tests/iam_emulator/iam_state.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace iamq::emulator {
namespace {

using nlohmann::json;

std::string seed_error(const json& seed) {
  State s = State::with_default_account();
  try {
    load_seed(s, seed);
  } catch (const SeedError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SeedFormat, DefaultAccountAndKey) {
  State s = State::with_default_account();
  ASSERT_EQ(s.accounts.count("123456789012"), 1u);
  const ApiKey& k = s.keys.at("AKIDEXAMPLE");
  EXPECT_EQ(k.secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(k.account_id, "123456789012");
  EXPECT_TRUE(k.allows("DeleteUser"));
}

TEST(SeedFormat, LoadsEveryKindOfEntity) {
  State s = State::with_default_account();
  load_seed(s, json::parse(R"({
    "accounts": [{
      "keys": [{"access_key_id": "AKIAOPS", "secret_access_key": "ops-secret", "allowed_actions": ["ListUsers"]}],
      "policies": [{"name": "team-read", "document": {"Version": "2012-10-17", "Statement": []}}],
      "groups": ["admins", {"name": "devs", "path": "/eng/"}],
      "virtual_mfa_devices": ["arn:aws:iam::123456789012:mfa/spare"],
      "users": [{
        "name": "Alice", "path": "/staff/",
        "login_profile": {"password_reset_required": true},
        "access_keys": [{"id": "AKIAALICE0000000001", "status": "Inactive"}, {}],
        "signing_certificates": [{}], "ssh_public_keys": [{}],
        "service_specific_credentials": [{"service_name": "cassandra.amazonaws.com"}],
        "mfa_devices": ["arn:aws:iam::123456789012:mfa/alice", {"serial": "GAHT99990000"}],
        "inline_policies": {"inline1": {"Version": "2012-10-17", "Statement": []}},
        "attached_policies": ["arn:aws:iam::123456789012:policy/team-read", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "groups": ["admins", "DEVS"],
        "permissions_boundary": "arn:aws:iam::aws:policy/PowerUserAccess"
      }]
    }]})"));
  const Account& a = s.accounts.at("123456789012");
  const User& u = a.users.at("alice");
  EXPECT_EQ(u.name, "Alice");
  EXPECT_EQ(u.path, "/staff/");
  ASSERT_TRUE(u.login_profile);
  EXPECT_TRUE(u.login_profile->password_reset_required);
  ASSERT_EQ(u.access_keys.size(), 2u);
  EXPECT_EQ(u.access_keys[0].status, "Inactive");
  EXPECT_EQ(u.access_keys[1].id.rfind("AKIA", 0), 0u);
  EXPECT_EQ(u.signing_certificates.size(), 1u);
  EXPECT_EQ(u.ssh_public_keys.size(), 1u);
  EXPECT_EQ(u.service_credentials.at(0).service_name, "cassandra.amazonaws.com");
  EXPECT_EQ(u.mfa_devices.size(), 2u);
  EXPECT_EQ(a.virtual_mfa_devices.at("arn:aws:iam::123456789012:mfa/alice").user, "alice");
  EXPECT_TRUE(a.virtual_mfa_devices.at("arn:aws:iam::123456789012:mfa/spare").user.empty());
  EXPECT_EQ(a.virtual_mfa_devices.count("GAHT99990000"), 0u);  // hardware: not a virtual device
  EXPECT_EQ(u.groups, (std::vector<std::string>{"admins", "devs"}));
  EXPECT_EQ(u.attached_policies.size(), 2u);
  EXPECT_FALSE(s.keys.at("AKIAOPS").allows("DeleteUser"));
  EXPECT_TRUE(s.keys.at("AKIAOPS").allows("ListUsers"));
}

TEST(SeedFormat, ErrorsNameThePath) {
  EXPECT_NE(seed_error({{"acounts", json::array()}}).find("unknown field \"acounts\""), std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"id", "12"}}}}}).find("accounts[0].id"), std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "ok"}}, {{"path", "/"}}}}}}}})
                .find("accounts[0].users[1]: missing \"name\""),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "bad name"}}}}}}}}).find("accounts[0].users[0].name"),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "g"}, {"groups", {"nope"}}}}}}}}})
                .find("accounts[0].users[0].groups[0]: no group \"nope\""),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "k"}, {"access_keys", {json::object(), json::object(), json::object()}}}}}}}}})
                .find("at most 2"),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "m"}, {"mfa_devices", {"short"}}}}}}}}})
                .find("mfa_devices[0].serial"),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"keys", {{{"access_key_id", "A"}}}}}}}}).find("accounts[0].keys[0]: missing \"secret_access_key\""),
            std::string::npos);
  EXPECT_NE(seed_error({{"accounts", {{{"users", {{{"name", "d"}}, {{"name", "D"}}}}}}}}).find("duplicate user"),
            std::string::npos);
}

TEST(SeedFormat, SeedFileErrorsNameTheFile) {
  std::string path = ::testing::TempDir() + "/iamq-bad-seed.json";
  std::ofstream(path) << "{ not json";
  State s = State::with_default_account();
  try {
    load_seed_file(s, path);
    FAIL() << "no error";
  } catch (const SeedError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos);
  }
  EXPECT_THROW(load_seed_file(s, "/nonexistent/seed.json"), SeedError);
}

TEST(SeedFormat, DumpLoadsBackToTheSameState) {
  State s = State::with_default_account();
  generate_users(s, 30, 9);
  json dumped = dump_state(s);
  State again;
  load_seed(again, dumped);
  EXPECT_EQ(dump_state(again), dumped);
}

TEST(GenerateUsers, DeterministicRealisticSpread) {
  State a = State::with_default_account(), b = State::with_default_account(), c = State::with_default_account();
  generate_users(a, 200, 1);
  generate_users(b, 200, 1);
  generate_users(c, 200, 2);
  EXPECT_EQ(dump_state(a), dump_state(b));
  EXPECT_NE(dump_state(a), dump_state(c));
  const Account& acct = a.accounts.at("123456789012");
  ASSERT_EQ(acct.users.size(), 200u);
  EXPECT_EQ(acct.users.begin()->second.name, "user-00001");
  EXPECT_EQ(acct.users.rbegin()->second.name, "user-00200");
  int login = 0, keys0 = 0, keys2 = 0, virt = 0, hw = 0, inl = 0, att = 0, grp = 0, certs = 0, ssh = 0,
      svc = 0, boundary = 0;
  for (const auto& [k, u] : acct.users) {
    login += u.login_profile ? 1 : 0;
    keys0 += u.access_keys.empty() ? 1 : 0;
    keys2 += u.access_keys.size() == 2 ? 1 : 0;
    EXPECT_LE(u.access_keys.size(), 2u);
    EXPECT_LE(u.mfa_devices.size(), 2u);
    EXPECT_LE(u.groups.size(), 3u);
    for (const auto& d : u.mfa_devices) (is_virtual_serial(d.serial) ? virt : hw)++;
    inl += u.inline_policies.empty() ? 0 : 1;
    att += u.attached_policies.empty() ? 0 : 1;
    grp += u.groups.empty() ? 0 : 1;
    certs += u.signing_certificates.empty() ? 0 : 1;
    ssh += u.ssh_public_keys.empty() ? 0 : 1;
    svc += u.service_credentials.empty() ? 0 : 1;
    boundary += u.permissions_boundary.empty() ? 0 : 1;
  }
  EXPECT_GT(login, 130);  // most users
  EXPECT_LT(login, 200);
  for (int n : {keys0, keys2, virt, hw, inl, att, grp, certs, ssh, svc, boundary}) EXPECT_GT(n, 10);
  // Enabled virtual devices point back at their users.
  for (const auto& [serial, d] : acct.virtual_mfa_devices) {
    if (!d.user.empty()) {
      EXPECT_EQ(acct.users.count(d.user), 1u) << serial;
    }
  }
}

}  // namespace
}  // namespace iamq::emulator
