#include "client/aws_profile.hpp"

#include <gtest/gtest.h>

namespace iamq::client {
namespace {

ProfilePlan plan_of(const std::string& config, const std::string& creds, const std::string& profile) {
  auto r = resolve_profile(parse_ini(config, true), parse_ini(creds, false), profile);
  if (auto* e = std::get_if<ProfileError>(&r)) ADD_FAILURE() << e->message;
  return std::get<ProfilePlan>(r);
}

std::string error_of(const std::string& config, const std::string& creds, const std::string& profile) {
  auto r = resolve_profile(parse_ini(config, true), parse_ini(creds, false), profile);
  if (auto* e = std::get_if<ProfileError>(&r)) return e->message;
  return "(resolved)";
}

TEST(ParseIni, ConfigProfilesCommentsAndSubsections) {
  auto s = parse_ini("# c\n[default]\nregion = us-east-1\n[profile ops]\nrole_arn=arn:x ; note\ns3 =\n  max = 2\n"
                     "[sso-session corp]\nsso_region = eu-west-1\n",
                     true);
  EXPECT_EQ(s["default"]["region"], "us-east-1");
  EXPECT_EQ(s["ops"]["role_arn"], "arn:x");
  EXPECT_EQ(s["ops"].count("max"), 0u);
  EXPECT_EQ(s["sso-session corp"]["sso_region"], "eu-west-1");
}

TEST(ResolveProfile, CredentialsFileKeysWinOverConfig) {
  auto p = plan_of("[profile a]\naws_access_key_id = CONF\naws_secret_access_key = c\n",
                   "[a]\naws_access_key_id = CRED\naws_secret_access_key = k\n", "a");
  EXPECT_EQ(p.base.kind, ProfileBase::Kind::static_keys);
  EXPECT_EQ(p.base.keys.access_key_id, "CRED");
  EXPECT_TRUE(p.roles.empty());
}

TEST(ResolveProfile, RolesChainThroughSourceProfilesInOrder) {
  auto p = plan_of(
      "[profile hub]\nrole_arn = arn:aws:iam::111111111111:role/hub\nsource_profile = base\nexternal_id = ext-1\n"
      "role_session_name = s1\nduration_seconds = 900\n"
      "[profile member]\nrole_arn = arn:aws:iam::222222222222:role/member\nsource_profile = hub\n",
      "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = x\n", "member");
  EXPECT_EQ(p.base.kind, ProfileBase::Kind::static_keys);
  EXPECT_EQ(p.base.profile, "base");
  ASSERT_EQ(p.roles.size(), 2u);
  EXPECT_EQ(p.roles[0].role_arn, "arn:aws:iam::111111111111:role/hub");
  EXPECT_EQ(p.roles[0].external_id, "ext-1");
  EXPECT_EQ(p.roles[0].role_session_name, "s1");
  EXPECT_EQ(p.roles[0].duration_seconds, 900);
  EXPECT_EQ(p.roles[1].role_arn, "arn:aws:iam::222222222222:role/member");
}

TEST(ResolveProfile, CredentialSourceProcessAndWebIdentity) {
  auto env = plan_of("[profile e]\nrole_arn = arn:r\ncredential_source = Environment\n", "", "e");
  EXPECT_EQ(env.base.kind, ProfileBase::Kind::environment);
  ASSERT_EQ(env.roles.size(), 1u);
  EXPECT_EQ(plan_of("[profile i]\nrole_arn = arn:r\ncredential_source = Ec2InstanceMetadata\n", "", "i").base.kind,
            ProfileBase::Kind::ec2_metadata);
  EXPECT_EQ(plan_of("[profile c]\nrole_arn = arn:r\ncredential_source = EcsContainer\n", "", "c").base.kind,
            ProfileBase::Kind::ecs_container);
  auto proc = plan_of("[profile p]\ncredential_process = /bin/echo hi\n", "", "p");
  EXPECT_EQ(proc.base.kind, ProfileBase::Kind::credential_process);
  EXPECT_EQ(proc.base.process, "/bin/echo hi");
  auto web = plan_of("[profile w]\nrole_arn = arn:w\nweb_identity_token_file = /t\n", "", "w");
  EXPECT_EQ(web.base.kind, ProfileBase::Kind::web_identity);
  EXPECT_EQ(web.base.token_file, "/t");
  EXPECT_EQ(web.base.role.role_arn, "arn:w");
  EXPECT_TRUE(web.roles.empty());
}

TEST(ResolveProfile, SelfSourceMeansOwnKeys) {
  auto p = plan_of("", "[a]\naws_access_key_id = K\naws_secret_access_key = s\nrole_arn = arn:r\nsource_profile = a\n", "a");
  EXPECT_EQ(p.base.kind, ProfileBase::Kind::static_keys);
  ASSERT_EQ(p.roles.size(), 1u);
}

TEST(ResolveProfile, RefusalsNameTheProfileAndTheRule) {
  EXPECT_NE(error_of("[profile m]\nrole_arn = arn:r\nsource_profile = b\nmfa_serial = arn:aws:iam::1:mfa/x\n",
                     "[b]\naws_access_key_id = K\naws_secret_access_key = s\n", "m")
                .find("profile 'm': mfa_serial is set: the worker cannot prompt"),
            std::string::npos);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\nsource_profile = b\n[profile b]\nrole_arn = arn:s\nsource_profile = a\n", "", "a")
                .find("cycle"),
            std::string::npos);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\n", "", "a").find("needs source_profile"), std::string::npos);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\nsource_profile = b\ncredential_source = Environment\n", "", "a")
                .find("both source_profile and credential_source"),
            std::string::npos);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\ncredential_source = Vault\n", "", "a").find("credential_source must be"),
            std::string::npos);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\ncredential_source = Environment\nduration_seconds = 60\n", "", "a")
                .find("duration_seconds must be"),
            std::string::npos);
  EXPECT_NE(error_of("", "[a]\naws_access_key_id = K\n", "a").find("without aws_secret_access_key"), std::string::npos);
  EXPECT_NE(error_of("[profile s]\nsso_session = corp\n", "", "s").find("credential_process = aws configure export-credentials"),
            std::string::npos);
  auto missing = resolve_profile({}, {}, "nope");
  ASSERT_TRUE(std::holds_alternative<ProfileError>(missing));
  EXPECT_TRUE(std::get<ProfileError>(missing).not_found);
  EXPECT_NE(error_of("[profile a]\nrole_arn = arn:r\nsource_profile = gone\n", "", "a").find("source_profile 'gone' not found"),
            std::string::npos);
}

}  // namespace
}  // namespace iamq::client
