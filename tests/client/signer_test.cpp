// Tests for client/signer.hpp: the AWS SigV4 test suite (every applicable case, stage by
// stage), the IAM documentation's worked example, and the server side (parse/verify).
#include "client/signer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace iamq::client {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// The suite on disk
// ---------------------------------------------------------------------------------------

/// $IAMQ_SIGV4_SUITE when set; otherwise the copy committed with the tests
/// (tests/client/data/sigv4-testsuite: byte-for-byte the upstream files, see its SOURCE.md),
/// so a fresh clone tests against the suite without anything outside the repository.
fs::path suite_dir() {
  if (const char* env = std::getenv("IAMQ_SIGV4_SUITE"); env != nullptr && *env != '\0') return env;
  return fs::path(__FILE__).parent_path() / "data" / "sigv4-testsuite" / "v4";
}

/// Cases that do not apply to a Query-protocol (IAM) client, and why. Every name here must
/// exist on disk (checked below), so the list cannot silently rot.
const std::map<std::string, std::string>& excluded_cases() {
  static const std::map<std::string, std::string> excluded = {
      {"get-relative-relative-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-relative-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-slash-dot-slash-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-slash-pointless-dot-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-slash-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-slashes-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
      {"get-space-unnormalized", "S3-style: path signed without normalisation; IAM normalises"},
  };
  return excluded;
}
// Not a case but a file kind: the presigned-URL stages (query-canonical-request.txt,
// query-string-to-sign.txt, query-signature.txt, query-signed-request.txt) exist in every
// case. iamq signs in the Authorization header only, so those files are not compared.

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << p;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> all_case_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(suite_dir(), ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> applicable_case_names() {
  std::vector<std::string> names;
  for (const auto& n : all_case_names()) {
    if (!excluded_cases().contains(n)) names.push_back(n);
  }
  return names;
}

/// A request.txt / header-signed-request.txt parsed into a SignableRequest. Folded header
/// lines are kept as they are (joined with '\n') so the signer's own folding is tested.
SignableRequest parse_http_request(const std::string& text) {
  SignableRequest req;
  std::vector<std::string> lines;
  std::size_t pos = 0;
  std::size_t body_start = text.size();
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty()) {
      body_start = pos;
      break;
    }
    lines.push_back(line);
  }
  EXPECT_FALSE(lines.empty());
  if (lines.empty()) return req;
  // Request line: METHOD SP target SP HTTP/1.1 (the target may contain a raw space).
  const std::string& rl = lines[0];
  const std::size_t sp = rl.find(' ');
  const std::size_t proto = rl.rfind(" HTTP/");
  EXPECT_NE(sp, std::string::npos);
  EXPECT_NE(proto, std::string::npos);
  req.method = rl.substr(0, sp);
  const std::string target = rl.substr(sp + 1, proto - sp - 1);
  const std::size_t q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if ((line[0] == ' ' || line[0] == '\t') && !req.headers.empty()) {
      req.headers.back().second += "\n" + line;  // obsolete line folding
      continue;
    }
    const std::size_t colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << line;
    req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (body_start < text.size()) req.body = text.substr(body_start);
  return req;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string header_value(const SignableRequest& req, const std::string& lower_name) {
  for (const auto& [n, v] : req.headers) {
    if (lower(n) == lower_name) return v;
  }
  return {};
}

/// "2015-08-30T12:36:00Z" → "20150830T123600Z".
std::string amz_date_from_iso(const std::string& iso) {
  std::string out;
  for (char c : iso) {
    if (c != '-' && c != ':') out.push_back(c);
  }
  return out;
}

std::string hex(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xF]);
  }
  return out;
}

TEST(SigV4Suite, SuiteIsPresent) {
  ASSERT_TRUE(fs::is_directory(suite_dir())) << suite_dir() << " (IAMQ_SIGV4_SUITE)";
  EXPECT_FALSE(applicable_case_names().empty());
}

TEST(SigV4Suite, EveryExcludedCaseExistsOnDisk) {
  for (const auto& [name, reason] : excluded_cases()) {
    EXPECT_TRUE(fs::exists(suite_dir() / name / "request.txt"))
        << "excluded case '" << name << "' (" << reason << ") is not in the suite any more";
  }
}

TEST(SigV4Suite, EveryCaseOnDiskIsEitherRunOrExcludedWithAReason) {
  // The 31 normalised cases run, the 7 unnormalised ones are excluded (see SOURCE.md).
  const auto all = all_case_names();
  const auto run = applicable_case_names();
  EXPECT_EQ(all.size(), run.size() + excluded_cases().size());
  for (const auto& name : run) {
    const auto ctx = nlohmann::json::parse(read_file(suite_dir() / name / "context.json"));
    EXPECT_TRUE(ctx.value("normalize", true)) << name << " is unnormalised but not excluded";
  }
}

class SigV4SuiteCase : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4SuiteCase, HeaderStagesMatch) {
  const fs::path dir = suite_dir() / GetParam();
  const auto ctx = nlohmann::json::parse(read_file(dir / "context.json"));
  ASSERT_TRUE(ctx.value("normalize", true));

  Credentials creds;
  creds.access_key_id = ctx["credentials"]["access_key_id"];
  creds.secret_access_key = ctx["credentials"]["secret_access_key"];
  creds.session_token = ctx["credentials"].value("token", "");
  SigningScope scope{ctx["region"], ctx["service"], amz_date_from_iso(ctx["timestamp"])};
  SignOptions opts;
  opts.add_content_sha256 = ctx.value("sign_body", false);
  opts.omit_session_token = ctx.value("omit_session_token", false);

  const SignableRequest original = parse_http_request(read_file(dir / "request.txt"));

  // Stage by stage, on the request as the signer sees it just before computing.
  SignableRequest to_sign = original;
  to_sign.headers.emplace_back("X-Amz-Date", scope.amz_date);
  if (opts.add_content_sha256) to_sign.headers.emplace_back("x-amz-content-sha256", sha256_hex(to_sign.body));
  if (!creds.session_token.empty() && !opts.omit_session_token) {
    to_sign.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  }
  const std::string creq = canonical_request(to_sign);
  EXPECT_EQ(creq, read_file(dir / "header-canonical-request.txt"));
  const std::string sts = string_to_sign(creq, scope);
  EXPECT_EQ(sts, read_file(dir / "header-string-to-sign.txt"));
  const std::string sig = signature(sts, creds.secret_access_key, scope);
  EXPECT_EQ(sig, read_file(dir / "header-signature.txt"));

  // End to end: sign() adds exactly the headers of the signed request, Authorization included.
  SignableRequest signed_req = original;
  sign(signed_req, creds, scope, opts);
  const SignableRequest expected = parse_http_request(read_file(dir / "header-signed-request.txt"));
  EXPECT_EQ(header_value(signed_req, "authorization"), header_value(expected, "authorization"));
  auto normalise = [](const SignableRequest& r) {
    std::multiset<std::pair<std::string, std::string>> out;
    for (const auto& [n, v] : r.headers) out.emplace(lower(n), v);
    return out;
  };
  EXPECT_EQ(normalise(signed_req), normalise(expected));
  EXPECT_EQ(signed_req.body, expected.body);

  // And the server side accepts what the client signed.
  const auto parsed = parse_authorization(header_value(signed_req, "authorization"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(verify_signature(signed_req, *parsed, creds.secret_access_key, scope.amz_date));
}

INSTANTIATE_TEST_SUITE_P(Applicable, SigV4SuiteCase, ::testing::ValuesIn(applicable_case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// ---------------------------------------------------------------------------------------
// The IAM documentation's worked example (SOURCE.md, "The IAM documentation's worked example")
// ---------------------------------------------------------------------------------------

Credentials example_credentials() {
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  return c;
}

SignableRequest iam_list_users_request() {
  SignableRequest req;
  req.method = "GET";
  req.path = "/";
  req.query = "Action=ListUsers&Version=2010-05-08";
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"Host", "iam.amazonaws.com"},
                 {"X-Amz-Date", "20150830T123600Z"}};
  return req;
}

TEST(IamWorkedExample, EveryStageMatchesTheDocumentation) {
  const SigningScope scope{"us-east-1", "iam", "20150830T123600Z"};
  const SignableRequest req = iam_list_users_request();
  const std::string creq = canonical_request(req);
  EXPECT_EQ(creq,
            "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
            "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
            "host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex(creq), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(string_to_sign(creq, scope),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(hex(signing_key(example_credentials().secret_access_key, scope)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(authorization_header(req, example_credentials(), scope),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(IamWorkedExample, SignAddsTheDocumentedAuthorization) {
  const SigningScope scope{"us-east-1", "iam", "20150830T123600Z"};
  SignableRequest req = iam_list_users_request();
  req.headers.pop_back();  // sign() adds X-Amz-Date itself
  sign(req, example_credentials(), scope);
  EXPECT_EQ(header_value(req, "x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(header_value(req, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// ---------------------------------------------------------------------------------------
// The signing-key cache (signature() and cached_signing_key())
// ---------------------------------------------------------------------------------------

TEST(SigningKeyCache, ReturnsTheDocumentedKeysAndFollowsTheDate) {
  const std::string secret = example_credentials().secret_access_key;
  const SigningScope day1{"us-east-1", "iam", "20150830T123600Z"};
  const SigningScope day1_later{"us-east-1", "iam", "20150830T235959Z"};
  const SigningScope day0{"us-east-1", "iam", "20120215T000000Z"};
  // Both keys are the ones AWS documents for this secret and scope.
  EXPECT_EQ(hex(cached_signing_key(secret, day1)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(hex(cached_signing_key(secret, day1_later)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  EXPECT_EQ(hex(cached_signing_key(secret, day0)),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  EXPECT_EQ(hex(cached_signing_key(secret, day1)),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  // Region, service and secret are part of the key too.
  const SigningScope other_region{"eu-west-1", "iam", "20150830T123600Z"};
  const SigningScope other_service{"us-east-1", "sts", "20150830T123600Z"};
  EXPECT_EQ(cached_signing_key(secret, other_region), signing_key(secret, other_region));
  EXPECT_NE(cached_signing_key(secret, other_region), cached_signing_key(secret, day1));
  EXPECT_EQ(cached_signing_key(secret, other_service), signing_key(secret, other_service));
  EXPECT_NE(cached_signing_key(secret, other_service), cached_signing_key(secret, day1));
  const std::string other_secret = secret.substr(0, secret.size() - 1) + "Z";  // same length
  EXPECT_EQ(cached_signing_key(other_secret, day1), signing_key(other_secret, day1));
  EXPECT_NE(cached_signing_key(other_secret, day1), cached_signing_key(secret, day1));
}

TEST(SigningKeyCache, SameAsUncachedThroughEvictions) {
  // More (secret, day) pairs than the cache holds, twice over, in an interleaved order.
  const std::vector<std::string> secrets = {example_credentials().secret_access_key,
                                            "another/secret+key0123456789abcdefghijklm", "s"};
  for (int round = 0; round < 2; ++round) {
    for (int day = 1; day <= 12; ++day) {
      for (const auto& secret : secrets) {
        char date[32];
        std::snprintf(date, sizeof date, "201508%02dT120000Z", day);
        const SigningScope scope{"us-east-1", "iam", date};
        SCOPED_TRACE(std::string(date) + " secret of " + std::to_string(secret.size()) + " bytes");
        EXPECT_EQ(cached_signing_key(secret, scope), signing_key(secret, scope));
      }
    }
  }
}

TEST(SigningKeyCache, SignaturesStayCorrectAcrossDaysAndSecrets) {
  const SigningScope scope{"us-east-1", "iam", "20150830T123600Z"};
  const std::string documented =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, "
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
  EXPECT_EQ(authorization_header(iam_list_users_request(), example_credentials(), scope), documented);

  // The same string to sign under another day's key gives another signature...
  const std::string sts = "AWS4-HMAC-SHA256\n20150831T000000Z\n20150831/us-east-1/iam/aws4_request\nabc";
  const SigningScope next_day{"us-east-1", "iam", "20150831T000000Z"};
  const std::string secret = example_credentials().secret_access_key;
  const std::string sig_day1 = signature(sts, secret, scope);
  const std::string sig_day2 = signature(sts, secret, next_day);
  EXPECT_NE(sig_day1, sig_day2);
  // ... and under another secret too; neither disturbs a later signature of the first day.
  Credentials rotated = example_credentials();
  rotated.secret_access_key = "rotated/K7MDENG+bPxRfiCYEXAMPLEKEY";
  const std::string sig_rotated = signature(sts, rotated.secret_access_key, scope);
  EXPECT_NE(sig_rotated, sig_day1);
  EXPECT_NE(authorization_header(iam_list_users_request(), rotated, scope), documented);
  EXPECT_EQ(signature(sts, secret, scope), sig_day1);
  EXPECT_EQ(signature(sts, secret, next_day), sig_day2);
  EXPECT_EQ(authorization_header(iam_list_users_request(), example_credentials(), scope), documented);
}

// ---------------------------------------------------------------------------------------
// Pieces
// ---------------------------------------------------------------------------------------

TEST(Signer, Sha256OfEmptyAndKnownInput) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Signer, CredentialScope) {
  const SigningScope scope{"eu-west-1", "iam", "20240229T235959Z"};
  EXPECT_EQ(scope.date(), "20240229");
  EXPECT_EQ(scope.credential_scope(), "20240229/eu-west-1/iam/aws4_request");
}

TEST(Signer, AmzDateRoundTrip) {
  using namespace std::chrono;
  const auto t = sys_days{year{2015} / 8 / 30} + hours{12} + minutes{36};
  EXPECT_EQ(format_amz_date(t), "20150830T123600Z");
  const auto parsed = parse_amz_date("20150830T123600Z");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, t);
  EXPECT_EQ(format_amz_date(*parse_amz_date("20240229T235959Z")), "20240229T235959Z");
  // Sub-second parts are dropped, never rounded up.
  EXPECT_EQ(format_amz_date(t + milliseconds{999}), "20150830T123600Z");
}

TEST(Signer, AmzDateRejectsMalformed) {
  for (const char* bad : {"", "20150830T123600", "20150830 123600Z", "2015083OT123600Z", "20150830T123600ZZ",
                          "20151330T123600Z", "20150230T123600Z", "20150830T243600Z", "20150830T126000Z",
                          "2015-08-30T12:36:00Z",
                          /* outside what system_clock can hold (found by fuzzing) */ "28150830T123600Z",
                          "00010101T000000Z"}) {
    EXPECT_FALSE(parse_amz_date(bad).has_value()) << bad;
  }
}

SignableRequest with_path(const std::string& path, const std::string& query = "") {
  SignableRequest req;
  req.method = "GET";
  req.path = path;
  req.query = query;
  req.headers = {{"Host", "example.amazonaws.com"}};
  return req;
}

/// Line 2 (canonical URI) and line 3 (canonical query) of the canonical request.
std::pair<std::string, std::string> uri_and_query(const SignableRequest& req) {
  std::istringstream in(canonical_request(req));
  std::string method, uri, query;
  std::getline(in, method);
  std::getline(in, uri);
  std::getline(in, query);
  return {uri, query};
}

TEST(Signer, CanonicalUriNormalisesAndEncodesEachSegment) {
  EXPECT_EQ(uri_and_query(with_path("")).first, "/");
  EXPECT_EQ(uri_and_query(with_path("/")).first, "/");
  EXPECT_EQ(uri_and_query(with_path("/a/b/../c/./d")).first, "/a/c/d");
  EXPECT_EQ(uri_and_query(with_path("/a/b/..")).first, "/a/");
  EXPECT_EQ(uri_and_query(with_path("/../../x")).first, "/x");
  EXPECT_EQ(uri_and_query(with_path("//a///b//")).first, "/a/b/");
  EXPECT_EQ(uri_and_query(with_path("/a b/c+d=e")).first, "/a%20b/c%2Bd%3De");
  // Non-S3 services encode the path a second time: an encoded wire path gets %25.
  EXPECT_EQ(uri_and_query(with_path("/a%20b")).first, "/a%2520b");
}

TEST(Signer, CanonicalQuerySortsByEncodedKeyThenValue) {
  EXPECT_EQ(uri_and_query(with_path("/", "b=2&a=2&a=1&A=3")).second, "A=3&a=1&a=2&b=2");
  // Decoded then encoded once: raw and pre-encoded spellings canonicalise alike.
  EXPECT_EQ(uri_and_query(with_path("/", "k=a b&j=a%20b")).second, "j=a%20b&k=a%20b");
  // '+' is a literal plus in a signed query, and a key without '=' has an empty value.
  EXPECT_EQ(uri_and_query(with_path("/", "x=1+1&flag")).second, "flag=&x=1%2B1");
  EXPECT_EQ(uri_and_query(with_path("/", "&&a=1&")).second, "a=1");
  EXPECT_EQ(uri_and_query(with_path("/", "")).second, "");
}

TEST(Signer, HeadersAreLowerCasedTrimmedCollapsedAndJoined) {
  SignableRequest req = with_path("/");
  req.headers = {{"Host", " example.amazonaws.com "},
                 {"X-B", "  two   words\there "},
                 {"x-a", "first"},
                 {"X-A", "second\n   folded"}};
  EXPECT_EQ(signed_headers(req), "host;x-a;x-b");
  EXPECT_EQ(canonical_request(req),
            "GET\n/\n\nhost:example.amazonaws.com\nx-a:first,second folded\nx-b:two words here\n\n"
            "host;x-a;x-b\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Signer, PayloadHashIsTheBodyHash) {
  SignableRequest req = with_path("/");
  req.method = "POST";
  req.body = "Action=ListUsers&Version=2010-05-08";
  const std::string creq = canonical_request(req);
  EXPECT_TRUE(creq.ends_with("\n" + sha256_hex(req.body))) << creq;
}

TEST(Signer, SignWithSessionTokenSignsTheToken) {
  Credentials creds = example_credentials();
  creds.session_token = "TOKEN/with+chars==";
  const SigningScope scope{"us-east-1", "iam", "20150830T123600Z"};
  SignableRequest req = iam_list_users_request();
  sign(req, creds, scope);
  EXPECT_EQ(header_value(req, "x-amz-security-token"), "TOKEN/with+chars==");
  const std::string auth = header_value(req, "authorization");
  EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"), std::string::npos) << auth;
  EXPECT_EQ(auth.find("TOKEN"), std::string::npos);
  // Signing again (a retry) replaces, never duplicates, the added headers.
  sign(req, creds, SigningScope{"us-east-1", "iam", "20150830T123700Z"});
  EXPECT_EQ(std::count_if(req.headers.begin(), req.headers.end(),
                          [](const auto& h) { return lower(h.first) == "authorization"; }),
            1);
  EXPECT_EQ(std::count_if(req.headers.begin(), req.headers.end(),
                          [](const auto& h) { return lower(h.first) == "x-amz-security-token"; }),
            1);
  EXPECT_EQ(header_value(req, "x-amz-date"), "20150830T123700Z");
  const auto parsed = parse_authorization(header_value(req, "authorization"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(verify_signature(req, *parsed, creds.secret_access_key, "20150830T123700Z"));
}

TEST(Signer, SignRefusesIncompleteCredentialsWithoutLeakingTheSecret) {
  Credentials creds;
  creds.secret_access_key = "SUPERSECRETVALUE";
  SignableRequest req = iam_list_users_request();
  try {
    sign(req, creds, SigningScope{"us-east-1", "iam", "20150830T123600Z"});
    FAIL() << "signed with an empty access key id";
  } catch (const CredentialsError& e) {
    EXPECT_EQ(std::string(e.what()).find("SUPERSECRETVALUE"), std::string::npos) << e.what();
  }
  creds.access_key_id = "AKIDEXAMPLE";
  creds.secret_access_key.clear();
  EXPECT_THROW(sign(req, creds, SigningScope{"us-east-1", "iam", "20150830T123600Z"}), CredentialsError);
  EXPECT_TRUE(header_value(req, "authorization").empty());
}

TEST(Signer, SignRequiresHost) {
  SignableRequest req;
  req.method = "POST";
  EXPECT_THROW(sign(req, example_credentials(), SigningScope{"us-east-1", "iam", "20150830T123600Z"}),
               std::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// Server side: parse_authorization and verify_signature
// ---------------------------------------------------------------------------------------

TEST(ParseAuthorization, ParsesEveryPart) {
  const auto p = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, "
      "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(p->date, "20150830");
  EXPECT_EQ(p->region, "us-east-1");
  EXPECT_EQ(p->service, "iam");
  EXPECT_EQ(p->signed_headers, (std::vector<std::string>{"content-type", "host", "x-amz-date"}));
  EXPECT_EQ(p->signature, "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

TEST(ParseAuthorization, ToleratesSpacingVariants) {
  const std::string sig = std::string(64, 'a');
  EXPECT_TRUE(parse_authorization("AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request,SignedHeaders=host,Signature=" + sig));
  EXPECT_TRUE(parse_authorization("  AWS4-HMAC-SHA256   Credential=AK/20150830/r/s/aws4_request ,  SignedHeaders=host , Signature=" + sig + " "));
  // Order of the components does not matter.
  EXPECT_TRUE(parse_authorization("AWS4-HMAC-SHA256 Signature=" + sig + ", SignedHeaders=host, Credential=AK/20150830/r/s/aws4_request"));
}

TEST(ParseAuthorization, RejectsMalformedValues) {
  const std::string sig = std::string(64, 'a');
  const std::string cred = "Credential=AK/20150830/us-east-1/iam/aws4_request";
  const std::vector<std::string> bad = {
      "",
      "AWS4-HMAC-SHA256",
      "AWS4-HMAC-SHA256 ",
      "AWS4-HMAC-SHA1 " + cred + ", SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256" + cred + ", SignedHeaders=host, Signature=" + sig,  // no space after algorithm
      "Basic dXNlcjpwYXNz",
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host",                              // no signature
      "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + sig,                          // no credential
      "AWS4-HMAC-SHA256 " + cred + ", Signature=" + sig,                                // no signed headers
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + ", Extra=1",
      "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + ",",
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature",
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig.substr(1),   // short
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig + "a",       // long
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + std::string(64, 'g'),
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + std::string(64, 'A'),
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=" + sig,
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + sig,
      "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws4_request/x, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/2015083/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/2015O830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/20150830//iam/aws4_request, SignedHeaders=host, Signature=" + sig,
      "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/iam/aws5_request, SignedHeaders=host, Signature=" + sig,
  };
  for (const auto& value : bad) {
    EXPECT_FALSE(parse_authorization(value).has_value()) << "accepted: " << value;
  }
}

class VerifySignature : public ::testing::Test {
 protected:
  void SetUp() override {
    creds_ = example_credentials();
    req_.method = "POST";
    req_.path = "/";
    req_.headers = {{"Host", "127.0.0.1:4566"},
                    {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                    {"User-Agent", "iamq/0.1"}};
    req_.body = "Action=DeleteUser&UserName=alice&Version=2010-05-08";
    sign(req_, creds_, scope_);
    const auto parsed = parse_authorization(header_value(req_, "authorization"));
    ASSERT_TRUE(parsed.has_value());
    auth_ = *parsed;
  }
  bool verify(const SignableRequest& r, const std::string& secret) const {
    return verify_signature(r, auth_, secret, scope_.amz_date);
  }

  Credentials creds_;
  SigningScope scope_{"us-east-1", "iam", "20240102T030405Z"};
  SignableRequest req_;
  ParsedAuthorization auth_;
};

TEST_F(VerifySignature, RoundTrip) {
  EXPECT_EQ(auth_.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(auth_.service, "iam");
  EXPECT_TRUE(verify(req_, creds_.secret_access_key));
}

TEST_F(VerifySignature, UnsignedHeadersMayChangeOrAppear) {
  SignableRequest r = req_;
  r.headers.emplace_back("Accept", "*/*");  // added by a proxy, say: not in SignedHeaders
  std::reverse(r.headers.begin(), r.headers.end());
  r.headers.emplace_back("HOST", "127.0.0.1:4566");  // header names are case-insensitive...
  EXPECT_FALSE(verify(r, creds_.secret_access_key));  // ...but a duplicate changes the value
  r.headers.pop_back();
  EXPECT_TRUE(verify(r, creds_.secret_access_key));
}

TEST_F(VerifySignature, WrongSecretFails) {
  EXPECT_FALSE(verify(req_, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEX"));
  EXPECT_FALSE(verify(req_, ""));
}

TEST_F(VerifySignature, TamperedSignedHeaderFails) {
  SignableRequest r = req_;
  for (auto& [n, v] : r.headers) {
    if (lower(n) == "host") v = "127.0.0.1:4567";
  }
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
}

TEST_F(VerifySignature, TamperedBodyFails) {
  SignableRequest r = req_;
  r.body = "Action=DeleteUser&UserName=bob&Version=2010-05-08";
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
}

TEST_F(VerifySignature, TamperedMethodPathOrQueryFails) {
  SignableRequest r = req_;
  r.method = "GET";
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
  r = req_;
  r.path = "/other";
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
  r = req_;
  r.query = "Action=CreateAccessKey";
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
}

TEST_F(VerifySignature, MissingSignedHeaderFails) {
  SignableRequest r = req_;
  std::erase_if(r.headers, [](const auto& h) { return lower(h.first) == "user-agent"; });
  EXPECT_FALSE(verify(r, creds_.secret_access_key));
}

TEST_F(VerifySignature, TamperedAuthorizationPartsFail) {
  ParsedAuthorization a = auth_;
  a.signature[0] = a.signature[0] == '0' ? '1' : '0';
  EXPECT_FALSE(verify_signature(req_, a, creds_.secret_access_key, scope_.amz_date));
  a = auth_;
  a.region = "eu-west-1";
  EXPECT_FALSE(verify_signature(req_, a, creds_.secret_access_key, scope_.amz_date));
  a = auth_;
  a.service = "sts";
  EXPECT_FALSE(verify_signature(req_, a, creds_.secret_access_key, scope_.amz_date));
  a = auth_;
  std::erase(a.signed_headers, "user-agent");  // claims fewer headers than were signed
  EXPECT_FALSE(verify_signature(req_, a, creds_.secret_access_key, scope_.amz_date));
  a = auth_;
  a.signature.clear();
  EXPECT_FALSE(verify_signature(req_, a, creds_.secret_access_key, scope_.amz_date));
}

TEST_F(VerifySignature, DateMustMatchTheScopeAndBeWellFormed) {
  EXPECT_FALSE(verify_signature(req_, auth_, creds_.secret_access_key, "20240102T030406Z"));
  EXPECT_FALSE(verify_signature(req_, auth_, creds_.secret_access_key, "20240103T030405Z"));
  EXPECT_FALSE(verify_signature(req_, auth_, creds_.secret_access_key, "garbage"));
}

TEST_F(VerifySignature, HostMustBeSigned) {
  SignableRequest r;
  r.method = "POST";
  r.headers = {{"Host", "h"}, {"X-Amz-Date", scope_.amz_date}};
  SignableRequest without_host = r;
  without_host.headers.erase(without_host.headers.begin());
  ParsedAuthorization a;
  a.access_key_id = "AKIDEXAMPLE";
  a.date = "20240102";
  a.region = "us-east-1";
  a.service = "iam";
  a.signed_headers = {"x-amz-date"};
  a.signature = signature(string_to_sign(canonical_request(without_host), scope_), creds_.secret_access_key, scope_);
  EXPECT_FALSE(verify_signature(r, a, creds_.secret_access_key, scope_.amz_date));
}

}  // namespace
}  // namespace iamq::client
