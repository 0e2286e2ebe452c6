// Tests for client/credentials.hpp: environment (injected maps), the shared credentials file
// (temporary files), the default chain, redaction, and error messages free of secrets.
#include "client/credentials.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace iamq::client {
namespace {

namespace fs = std::filesystem;

constexpr const char* kKeyId = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN";

/// Expects `fn` to throw a CredentialsError whose message contains every one of `needles`
/// and none of the secret values.
template <typename Fn>
void expect_credentials_error(Fn fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "no CredentialsError";
  } catch (const CredentialsError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    EXPECT_EQ(msg.find(kSecret), std::string::npos) << msg;
    EXPECT_EQ(msg.find(kToken), std::string::npos) << msg;
    EXPECT_EQ(msg.find("wJalr"), std::string::npos) << msg;
  }
}

/// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "iamq-credentials-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& content) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << content;
    return p.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------

TEST(CredentialsFromEnvironment, FullPairAndToken) {
  const auto c = credentials_from_environment(
      {{"AWS_ACCESS_KEY_ID", kKeyId}, {"AWS_SECRET_ACCESS_KEY", kSecret}, {"AWS_SESSION_TOKEN", kToken}});
  EXPECT_EQ(c.access_key_id, kKeyId);
  EXPECT_EQ(c.secret_access_key, kSecret);
  EXPECT_EQ(c.session_token, kToken);
  EXPECT_TRUE(c.complete());
}

TEST(CredentialsFromEnvironment, TokenIsOptional) {
  const auto c = credentials_from_environment({{"AWS_ACCESS_KEY_ID", kKeyId}, {"AWS_SECRET_ACCESS_KEY", kSecret}});
  EXPECT_TRUE(c.session_token.empty());
  EXPECT_TRUE(c.complete());
}

TEST(CredentialsFromEnvironment, MissingOrEmptyFieldIsNamed) {
  expect_credentials_error([] { credentials_from_environment({{"AWS_SECRET_ACCESS_KEY", kSecret}}); },
                           {"environment", "AWS_ACCESS_KEY_ID is not set"});
  expect_credentials_error([] { credentials_from_environment({{"AWS_ACCESS_KEY_ID", kKeyId}}); },
                           {"environment: AWS_SECRET_ACCESS_KEY is not set"});
  expect_credentials_error(
      [] { credentials_from_environment({{"AWS_ACCESS_KEY_ID", kKeyId}, {"AWS_SECRET_ACCESS_KEY", ""}}); },
      {"environment: AWS_SECRET_ACCESS_KEY is not set"});
  expect_credentials_error(
      [] {
        credentials_from_environment(
            {{"AWS_ACCESS_KEY_ID", "  "}, {"AWS_SECRET_ACCESS_KEY", kSecret}, {"AWS_SESSION_TOKEN", kToken}});
      },
      {"environment: AWS_ACCESS_KEY_ID is not set"});
  expect_credentials_error([] { credentials_from_environment({}); }, {"environment: AWS_ACCESS_KEY_ID is not set"});
}

// ---------------------------------------------------------------------------------------
// Shared credentials file
// ---------------------------------------------------------------------------------------

const char* const kSharedFile =
    "# comment line\n"
    "; another comment\n"
    "\n"
    "[default]\n"
    "aws_access_key_id = AKIADEFAULTEXAMPLE00\n"
    "aws_secret_access_key=defaultSecretValue/xyz+abc\n"
    "\n"
    "  [ ops ]  \n"
    "\taws_access_key_id\t=\tAKIAOPSEXAMPLE000000   \r\n"
    "AWS_SECRET_ACCESS_KEY = " "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" "\r\n"
    "aws_session_token = " "FwoGZXIvYXdzEJr//////////wEaDEXAMPLETOKEN" "\n"
    "region = eu-west-1\n"
    "[partial]\n"
    "aws_access_key_id = AKIAPARTIALEXAMPLE0\n"
    "[no-id]\n"
    "aws_secret_access_key = " "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" "\n"
    "[empty-secret]\n"
    "aws_access_key_id = AKIAEMPTYEXAMPLE000\n"
    "aws_secret_access_key =\n"
    "[profile staging]\n"
    "aws_access_key_id = AKIASTAGINGEXAMPLE0\n"
    "aws_secret_access_key = stagingSecret\n";

TEST(CredentialsFromSharedFile, DefaultProfile) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  const auto c = credentials_from_shared_file(path, "default");
  EXPECT_EQ(c.access_key_id, "AKIADEFAULTEXAMPLE00");
  EXPECT_EQ(c.secret_access_key, "defaultSecretValue/xyz+abc");
  EXPECT_TRUE(c.session_token.empty());
}

TEST(CredentialsFromSharedFile, WhitespaceCrlfCaseAndTokenInANamedProfile) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  const auto c = credentials_from_shared_file(path, "ops");
  EXPECT_EQ(c.access_key_id, "AKIAOPSEXAMPLE000000");
  EXPECT_EQ(c.secret_access_key, kSecret);
  EXPECT_EQ(c.session_token, kToken);
}

TEST(CredentialsFromSharedFile, SectionNameIsTakenLiterally) {
  // In the credentials file (unlike ~/.aws/config) "[profile x]" names a profile "profile x".
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  EXPECT_EQ(credentials_from_shared_file(path, "profile staging").access_key_id, "AKIASTAGINGEXAMPLE0");
  expect_credentials_error([&] { credentials_from_shared_file(path, "staging"); }, {"profile 'staging' not found"});
}

TEST(CredentialsFromSharedFile, PartialPairsNameTheMissingField) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  expect_credentials_error([&] { credentials_from_shared_file(path, "partial"); },
                           {path, "profile 'partial'", "aws_secret_access_key is not set"});
  expect_credentials_error([&] { credentials_from_shared_file(path, "no-id"); },
                           {path, "profile 'no-id'", "aws_access_key_id is not set"});
  expect_credentials_error([&] { credentials_from_shared_file(path, "empty-secret"); },
                           {"profile 'empty-secret'", "aws_secret_access_key is not set"});
}

TEST(CredentialsFromSharedFile, MissingProfile) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  expect_credentials_error([&] { credentials_from_shared_file(path, "nope"); }, {path, "profile 'nope' not found"});
}

TEST(CredentialsFromSharedFile, MissingFile) {
  TempDir dir;
  const std::string path = (dir.path() / "does-not-exist").string();
  expect_credentials_error([&] { credentials_from_shared_file(path, "default"); },
                           {path, "cannot be read", "No such file"});
}

TEST(CredentialsFromSharedFile, EmptyFileAndKeysBeforeAnySection) {
  TempDir dir;
  const auto empty = dir.write("empty", "");
  expect_credentials_error([&] { credentials_from_shared_file(empty, "default"); }, {"profile 'default' not found"});
  const auto orphan = dir.write("orphan", "aws_access_key_id = AKIAORPHAN\naws_secret_access_key = s\n[default]\n");
  expect_credentials_error([&] { credentials_from_shared_file(orphan, "default"); },
                           {"aws_access_key_id is not set"});
}

TEST(CredentialsFromSharedFile, RepeatedSectionsMergeLaterWins) {
  TempDir dir;
  const auto path = dir.write("credentials",
                              "[a]\naws_access_key_id = AKIAFIRST\n[b]\naws_access_key_id = AKIAB\n"
                              "[a]\naws_secret_access_key = secret-a\naws_access_key_id = AKIASECOND\n");
  const auto c = credentials_from_shared_file(path, "a");
  EXPECT_EQ(c.access_key_id, "AKIASECOND");
  EXPECT_EQ(c.secret_access_key, "secret-a");
}

TEST(CredentialsFromSharedFile, JunkLinesAreIgnored) {
  TempDir dir;
  const auto path = dir.write("credentials",
                              "[default]\nthis line has no equals sign\naws_access_key_id=AKIAJUNK\n"
                              "[broken section\naws_secret_access_key=s3cr3t\n");
  // "[broken section" ends the default section (it is a section line, just malformed).
  expect_credentials_error([&] { credentials_from_shared_file(path, "default"); },
                           {"aws_secret_access_key is not set"});
}

// ---------------------------------------------------------------------------------------
// Path and default chain
// ---------------------------------------------------------------------------------------

TEST(SharedCredentialsPath, EnvironmentOverrideHomeAndTilde) {
  EXPECT_EQ(shared_credentials_path({{"HOME", "/home/op"}}), "/home/op/.aws/credentials");
  EXPECT_EQ(shared_credentials_path({{"HOME", "/home/op"}, {"AWS_SHARED_CREDENTIALS_FILE", "/etc/iamq/creds"}}),
            "/etc/iamq/creds");
  EXPECT_EQ(shared_credentials_path({{"HOME", "/home/op"}, {"AWS_SHARED_CREDENTIALS_FILE", "~/creds"}}),
            "/home/op/creds");
  expect_credentials_error([] { shared_credentials_path({}); }, {"HOME"});
}

TEST(DefaultCredentials, EnvironmentWins) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  const auto c = default_credentials({{"AWS_ACCESS_KEY_ID", kKeyId},
                                      {"AWS_SECRET_ACCESS_KEY", kSecret},
                                      {"AWS_SHARED_CREDENTIALS_FILE", path},
                                      {"AWS_PROFILE", "ops"}});
  EXPECT_EQ(c.access_key_id, kKeyId);
}

TEST(DefaultCredentials, PartialEnvironmentIsAnErrorNotAFallBack) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  expect_credentials_error(
      [&] { default_credentials({{"AWS_ACCESS_KEY_ID", kKeyId}, {"AWS_SHARED_CREDENTIALS_FILE", path}}); },
      {"environment: AWS_SECRET_ACCESS_KEY is not set"});
  expect_credentials_error(
      [&] { default_credentials({{"AWS_SECRET_ACCESS_KEY", kSecret}, {"AWS_SHARED_CREDENTIALS_FILE", path}}); },
      {"environment: AWS_ACCESS_KEY_ID is not set"});
}

TEST(DefaultCredentials, ProfileFromAwsProfileElseDefault) {
  TempDir dir;
  const auto path = dir.write("credentials", kSharedFile);
  EXPECT_EQ(default_credentials({{"AWS_SHARED_CREDENTIALS_FILE", path}}).access_key_id, "AKIADEFAULTEXAMPLE00");
  EXPECT_EQ(default_credentials({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "ops"}}).session_token,
            kToken);
  expect_credentials_error(
      [&] { default_credentials({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "partial"}}); },
      {"profile 'partial'", "aws_secret_access_key is not set"});
}

TEST(DefaultCredentials, HomeFileIsUsedWithoutOverride) {
  TempDir dir;
  dir.write(".aws/credentials", kSharedFile);
  const auto c = default_credentials({{"HOME", dir.path().string()}, {"AWS_PROFILE", "ops"}});
  EXPECT_EQ(c.access_key_id, "AKIAOPSEXAMPLE000000");
}

TEST(DefaultCredentials, NothingAnywhereNamesTheFile) {
  TempDir dir;
  expect_credentials_error([&] { default_credentials({{"HOME", dir.path().string()}}); },
                           {(dir.path() / ".aws/credentials").string(), "cannot be read"});
}

TEST(EnvironmentSnapshot, ReadsTheProcessEnvironment) {
  ASSERT_EQ(setenv("IAMQ_CREDENTIALS_TEST_VAR", "a=b=c", 1), 0);
  const auto env = environment_snapshot();
  ASSERT_TRUE(env.contains("IAMQ_CREDENTIALS_TEST_VAR"));
  EXPECT_EQ(env.at("IAMQ_CREDENTIALS_TEST_VAR"), "a=b=c");
  unsetenv("IAMQ_CREDENTIALS_TEST_VAR");
  EXPECT_FALSE(environment_snapshot().contains("IAMQ_CREDENTIALS_TEST_VAR"));
}

// ---------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------

TEST(Redacted, ShowsAtMostFourAndFourOfTheKeyIdAndNoSecrets) {
  Credentials c{kKeyId, kSecret, ""};
  const std::string r = c.redacted();
  EXPECT_EQ(r, "AKIA…MPLE (secret redacted)");
  c.session_token = kToken;
  const std::string rt = c.redacted();
  EXPECT_EQ(rt, "AKIA…MPLE (secret redacted, session token)");
  EXPECT_EQ(rt.find(kSecret), std::string::npos);
  EXPECT_EQ(rt.find("FwoG"), std::string::npos);
  EXPECT_EQ(rt.find("IOSFODNN7"), std::string::npos);
}

TEST(Redacted, ShortAndEmptyKeyIds) {
  EXPECT_EQ((Credentials{"", "", ""}.redacted()), "(no access key id) (no secret)");
  const std::string shortid = Credentials{"AKIA12345", "s", ""}.redacted();
  EXPECT_EQ(shortid, "AKI… (secret redacted)");
  EXPECT_EQ(shortid.find("2345"), std::string::npos);
  EXPECT_EQ((Credentials{"AB", "s", ""}.redacted()), "… (secret redacted)");
}

}  // namespace
}  // namespace iamq::client
