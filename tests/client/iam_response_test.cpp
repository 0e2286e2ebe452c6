// Tests for client/iam_response.hpp: IAM-shaped XML samples (tests/client/data/), both error
// shapes, non-XML bodies, secrets kept out of messages, and the whole classification table.
#include "client/iam_response.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace iamq::client {
namespace {

namespace fs = std::filesystem;

fs::path data_dir() {
  if (const char* env = std::getenv("IAMQ_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return fs::path(env) / "tests" / "client" / "data";
  }
  return fs::path(__FILE__).parent_path() / "data";
}

std::string sample(const std::string& name) {
  std::ifstream in(data_dir() / name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing sample " << (data_dir() / name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const IamResult& ok(const Outcome& o) {
  if (!o.ok) {
    ADD_FAILURE() << "expected success, got " << (o.error ? o.error->code + ": " + o.error->message : "nothing");
    static const IamResult empty;
    return empty;
  }
  EXPECT_FALSE(o.error.has_value());
  return *o.ok;
}

const IamError& err(const Outcome& o) {
  if (!o.error) {
    ADD_FAILURE() << "expected an error, got success";
    static const IamError empty;
    return empty;
  }
  EXPECT_FALSE(o.ok.has_value());
  return *o.error;
}

// ---------------------------------------------------------------------------------------
// Successful results
// ---------------------------------------------------------------------------------------

TEST(ParseResponse, ListMFADevices) {
  const std::string body = sample("list_mfa_devices.xml");
  const Outcome o = parse_response("ListMFADevices", 200, body);
  const IamResult& r = ok(o);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
  EXPECT_EQ(r.raw_xml, body);
  EXPECT_FALSE(r.is_truncated());
  EXPECT_FALSE(r.marker().has_value());
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "MFADevices": [
      {"UserName": "bob+ops@example.com",
       "SerialNumber": "arn:aws:iam::123456789012:mfa/bob+ops@example.com",
       "EnableDate": "2024-01-15T09:30:00Z"},
      {"UserName": "bob+ops@example.com", "SerialNumber": "GAHT12345678",
       "EnableDate": "2023-06-01T12:00:00Z"}],
    "IsTruncated": "false"})");
  EXPECT_EQ(r.result, expected) << r.result.dump(2);
  const auto devices = members(r.result, "MFADevices");
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1]["SerialNumber"], "GAHT12345678");
}

TEST(ParseResponse, EmptyListIsAnEmptyArray) {
  const Outcome o_r = parse_response("ListMFADevices", 200, sample("list_mfa_devices_empty.xml"));
  const IamResult& r = ok(o_r);
  ASSERT_TRUE(r.result.contains("MFADevices"));
  EXPECT_EQ(r.result["MFADevices"], nlohmann::json::array());
  EXPECT_TRUE(members(r.result, "MFADevices").empty());
}

TEST(ParseResponse, ListAccessKeysTruncatedWithMarker) {
  const Outcome o_r = parse_response("ListAccessKeys", 200, sample("list_access_keys_truncated.xml"));
  const IamResult& r = ok(o_r);
  EXPECT_TRUE(r.is_truncated());
  ASSERT_TRUE(r.marker().has_value());
  EXPECT_EQ(*r.marker(), "AAEAAXNvbWUtb3BhcXVlLW1hcmtlcg==");
  EXPECT_EQ(r.result["UserName"], "alice");
  const auto keys = members(r.result, "AccessKeyMetadata");
  ASSERT_EQ(keys.size(), 1u);  // a single <member> is still a list
  EXPECT_EQ(keys[0]["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(keys[0]["Status"], "Active");
}

TEST(ParseResponse, ListUsersWithXmlDeclarationAndEntities) {
  const Outcome o_r = parse_response("ListUsers", 200, sample("list_users.xml"));
  const IamResult& r = ok(o_r);
  const auto users = members(r.result, "Users");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]["UserName"], "Andrew");
  EXPECT_EQ(users[0]["PasswordLastUsed"], "2014-09-08T21:47:36Z");
  EXPECT_EQ(users[1]["UserName"], "Jackie & Zoë");
  EXPECT_FALSE(users[1].contains("PasswordLastUsed"));
  EXPECT_FALSE(r.is_truncated());
}

TEST(ParseResponse, GetUserNestedObjectsListsAndUnknownElements) {
  const Outcome o_r = parse_response("GetUser", 200, sample("get_user.xml"));
  const IamResult& r = ok(o_r);
  const nlohmann::json& user = r.result["User"];
  ASSERT_TRUE(user.is_object()) << r.result.dump(2);
  EXPECT_EQ(user["UserName"], "Bob");
  EXPECT_EQ(user["PermissionsBoundary"]["PermissionsBoundaryType"], "Policy");
  const auto tags = members(user, "Tags");
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0], (nlohmann::json{{"Key", "Department"}, {"Value", "Accounting"}}));
  EXPECT_EQ(user["FutureField"], "new in some later API version");  // CDATA, unknown name
}

TEST(ParseResponse, DeleteUserHasAnEmptyResult) {
  const Outcome o_r = parse_response("DeleteUser", 200, sample("delete_user.xml"));
  const IamResult& r = ok(o_r);
  EXPECT_EQ(r.result, nlohmann::json::object());
  EXPECT_EQ(r.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
  EXPECT_FALSE(r.is_truncated());
}

TEST(ParseResponse, NamespacePrefixesAreIgnored) {
  const std::string body =
      R"(<iam:ListGroupsResponse xmlns:iam="https://iam.amazonaws.com/doc/2010-05-08/">)"
      "<iam:ListGroupsResult><iam:Groups><iam:member><iam:GroupName>admins</iam:GroupName></iam:member>"
      "</iam:Groups><iam:IsTruncated>false</iam:IsTruncated></iam:ListGroupsResult>"
      "<iam:ResponseMetadata><iam:RequestId>rid-1</iam:RequestId></iam:ResponseMetadata></iam:ListGroupsResponse>";
  const Outcome o_r = parse_response("ListGroups", 200, body);
  const IamResult& r = ok(o_r);
  EXPECT_EQ(r.request_id, "rid-1");
  const auto groups = members(r.result, "Groups");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["GroupName"], "admins");
}

TEST(ParseResponse, ARootThatIsNotTheActionsResponseIsUnexpected) {
  // Before: any <…Response> counted as success, so a server answering <GetUserResponse> to a
  // DeleteUser made offboarding "succeed" with nothing deleted.
  const Outcome o = parse_response("DeleteUser", 200, sample("get_user.xml"));
  const IamError& e = err(o);
  EXPECT_EQ(e.code, "UnexpectedResponse");
  EXPECT_EQ(e.error_class, ErrorClass::terminal);
  EXPECT_NE(e.message.find("<DeleteUserResponse>"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("<GetUserResponse>"), std::string::npos) << e.message;
  const std::string body =
      "<ListUsersResponse><ListUsersResult><Users/><IsTruncated>false</IsTruncated></ListUsersResult>"
      "</ListUsersResponse>";
  EXPECT_EQ(err(parse_response("", 200, body)).code, "UnexpectedResponse");
  // The same document with the action it answers, but without IAM's namespace.
  const Outcome no_ns_o = parse_response("ListUsers", 200, body);
  const IamError& no_ns = err(no_ns_o);
  EXPECT_EQ(no_ns.code, "UnexpectedResponse");
  EXPECT_NE(no_ns.message.find("without a namespace"), std::string::npos) << no_ns.message;
  // Another namespace.
  const Outcome other_o = parse_response(
      "ListUsers", 200, "<ListUsersResponse xmlns=\"http://evil.example/\"><ListUsersResult/></ListUsersResponse>");
  const IamError& other = err(other_o);
  EXPECT_EQ(other.code, "UnexpectedResponse");
  EXPECT_NE(other.message.find("http://evil.example/"), std::string::npos) << other.message;
  // A prefixed root in the right namespace, and the STS namespace, are fine.
  ok(parse_response("ListUsers", 200,
                    "<iam:ListUsersResponse xmlns:iam=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
                    "<iam:ListUsersResult/></iam:ListUsersResponse>"));
  ok(parse_response("GetCallerIdentity", 200,
                    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                    "<GetCallerIdentityResult/></GetCallerIdentityResponse>"));
  // The prefix's namespace is what counts, not a default xmlns beside it.
  EXPECT_EQ(err(parse_response("ListUsers", 200,
                               "<x:ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\" "
                               "xmlns:x=\"urn:other\"/>"))
                .code,
            "UnexpectedResponse");
}

TEST(ParseResponse, AnHtmlErrorPageIsTransientWhateverItsNon2xxStatus) {
  for (int status : {400, 403, 404, 502}) {
    const Outcome o = parse_response("ListUsers", status, "<html><body><h1>Bad gateway</h1></body></html>");
    const IamError& e = err(o);
    EXPECT_EQ(e.error_class, ErrorClass::transient) << status;
    EXPECT_EQ(e.code, "UnexpectedResponse") << status;
    const Outcome ob = parse_response("ListUsers", status, "<!DOCTYPE html><html><body><br></body></html>");
    const IamError& broken = err(ob);
    EXPECT_EQ(broken.error_class, ErrorClass::transient) << status;
  }
  // With a 2xx it is nobody's error page: terminal.
  EXPECT_EQ(err(parse_response("ListUsers", 200, "<html><body>ok</body></html>")).error_class, ErrorClass::terminal);
  EXPECT_TRUE(without_error_envelope(err(parse_response("ListUsers", 500, "<html/>"))));
  EXPECT_FALSE(without_error_envelope(err(parse_response("X", 500, sample("error_no_such_entity.xml")))));
}

TEST(Classify, UnimplementedActions) {
  EXPECT_EQ(classify("NotImplemented", 400), ErrorClass::unsupported);
  EXPECT_EQ(classify("InvalidAction", 400), ErrorClass::unsupported);
  EXPECT_EQ(classify("UnknownOperation", 400), ErrorClass::unsupported);
  EXPECT_EQ(classify("", 501), ErrorClass::unsupported);
  EXPECT_EQ(classify("NonXmlResponse", 501), ErrorClass::unsupported);
  EXPECT_EQ(classify("InternalFailure", 501), ErrorClass::unsupported);  // LocalStack's 501
  EXPECT_EQ(classify("NonXmlResponse", 500), ErrorClass::transient);  // one 500 is just a 500
  EXPECT_EQ(err(parse_response("ListUsers", 501, "not implemented")).error_class, ErrorClass::unsupported);
  EXPECT_EQ(to_string(ErrorClass::unsupported), "unsupported");
}

TEST(ParseResponse, RepeatedNonMemberElementsBecomeAList) {
  const std::string body =
      "<XResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><XResult><Item>a</Item><Item>b</Item><Item>c</Item>"
      "<Group><member>1</member></Group><Group><member>2</member><member>3</member></Group>"
      "<UnknownEmpty/></XResult></XResponse>";
  const Outcome o_r = parse_response("X", 200, body);
  const IamResult& r = ok(o_r);
  EXPECT_EQ(r.result["Item"], (nlohmann::json{"a", "b", "c"}));
  EXPECT_EQ(r.result["Group"], nlohmann::json::parse(R"([["1"],["2","3"]])"));
  EXPECT_EQ(r.result["UnknownEmpty"], "");  // not a known list wrapper: an empty string
  EXPECT_TRUE(members(r.result, "UnknownEmpty").empty());
}

TEST(ParseResponse, DeepNestingIsCutNotACrash) {
  std::string body = "<XResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><XResult>";
  for (int i = 0; i < 5000; ++i) body += "<a>";
  for (int i = 0; i < 5000; ++i) body += "</a>";
  body += "</XResult></XResponse>";
  const Outcome o_r = parse_response("X", 200, body);
  const IamResult& r = ok(o_r);
  EXPECT_TRUE(r.result.contains("a"));
}

TEST(Members, EveryShape) {
  const nlohmann::json r = nlohmann::json::parse(
      R"({"List":[{"a":"1"},{"a":"2"}],"Empty":"","Single":{"a":"3"},"Text":"x","EmptyArr":[]})");
  EXPECT_EQ(members(r, "List").size(), 2u);
  EXPECT_TRUE(members(r, "Empty").empty());
  EXPECT_TRUE(members(r, "EmptyArr").empty());
  EXPECT_TRUE(members(r, "Missing").empty());
  ASSERT_EQ(members(r, "Single").size(), 1u);
  EXPECT_EQ(members(r, "Single")[0]["a"], "3");
  EXPECT_TRUE(members(r, "Text").empty());
  EXPECT_TRUE(members(nlohmann::json("not an object"), "List").empty());
  EXPECT_TRUE(members(nlohmann::json(), "List").empty());
}

// ---------------------------------------------------------------------------------------
// Error documents
// ---------------------------------------------------------------------------------------

TEST(ParseResponse, ErrorShapeErrorResponseError) {
  const Outcome o_e = parse_response("DeleteUser", 404, sample("error_no_such_entity.xml"));
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::absent);
  EXPECT_EQ(e.http_status, 404);
  EXPECT_EQ(e.code, "NoSuchEntity");
  EXPECT_EQ(e.message, "The user with name alice cannot be found.");
  EXPECT_EQ(e.request_id, "4e8b7d1a-5b2c-11e5-8e5c-EXAMPLE");
}

TEST(ParseResponse, ErrorShapeErrorsErrorWithExtraElements) {
  const Outcome o_e = parse_response("ListUsers", 400, sample("error_errors_shape.xml"));
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::throttled);
  EXPECT_EQ(e.code, "Throttling");
  EXPECT_EQ(e.message, "Rate exceeded");
  EXPECT_EQ(e.request_id, "b6a6f3b0-errors-shape-EXAMPLE");  // <RequestID> spelling
}

TEST(ParseResponse, EntityTemporarilyUnmodifiable) {
  const Outcome o_e = parse_response("DeleteLoginProfile", 409, sample("error_unmodifiable.xml"));
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::unmodifiable);
  EXPECT_EQ(e.code, "EntityTemporarilyUnmodifiable");
  EXPECT_EQ(e.request_id, "0f1e2d3c-unmodifiable-EXAMPLE");
}

TEST(ParseResponse, Ec2StyleResponseErrorsShape) {
  const std::string body =
      "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors>"
      "<RequestID>ec2-rid</RequestID></Response>";
  const Outcome o_e = parse_response("X", 503, body);
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::throttled);  // the code wins over the 5xx status
  EXPECT_EQ(e.code, "RequestLimitExceeded");
  EXPECT_EQ(e.request_id, "ec2-rid");
}

TEST(ParseResponse, RequestIdInsideTheErrorElement) {
  const std::string body =
      "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message><RequestId>inner</RequestId>"
      "</Error></ErrorResponse>";
  const Outcome o_e = parse_response("X", 403, body);
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::denied);
  EXPECT_EQ(e.request_id, "inner");
}

TEST(ParseResponse, ErrorWithoutCodeIsClassifiedByStatus) {
  const Outcome o_e5 = parse_response("X", 500, "<ErrorResponse><Error/></ErrorResponse>");
  const IamError& e5 = err(o_e5);
  EXPECT_EQ(e5.error_class, ErrorClass::transient);
  EXPECT_EQ(e5.code, "UnknownError");
  EXPECT_FALSE(e5.message.empty());
  const Outcome o_e4 = parse_response("X", 400, "<ErrorResponse/>");
  const IamError& e4 = err(o_e4);
  EXPECT_EQ(e4.error_class, ErrorClass::terminal);
}

TEST(ParseResponse, ErrorFieldsAreBoundedAndPrintable) {
  const std::string body = "<ErrorResponse><Error><Code>ValidationError</Code><Message>line one\n\tline two " +
                           std::string(5000, 'm') + "</Message></Error><RequestId>" + std::string(1000, 'r') +
                           "</RequestId></ErrorResponse>";
  const Outcome o = parse_response("X", 400, body);
  const IamError& e = err(o);
  EXPECT_EQ(e.code, "ValidationError");
  EXPECT_TRUE(e.message.starts_with("line one line two mmm")) << e.message.substr(0, 40);
  EXPECT_LE(e.message.size(), 1024u);
  EXPECT_LE(e.request_id.size(), 128u);
  const std::string long_root = "<" + std::string(3000, 'Z') + "/>";
  EXPECT_LE(err(parse_response("X", 200, long_root)).message.size(), 400u);
}

TEST(ParseResponse, ErrorDocumentWithA200IsStillAnError) {
  const Outcome o_e = parse_response("X", 200, sample("error_no_such_entity.xml"));
  const IamError& e = err(o_e);
  EXPECT_EQ(e.code, "NoSuchEntity");
  EXPECT_EQ(e.error_class, ErrorClass::absent);
}

TEST(ParseResponse, ResultDocumentWithAFailureStatusIsAnError) {
  const Outcome o_e = parse_response("DeleteUser", 503, sample("delete_user.xml"));
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::transient);
  EXPECT_EQ(e.http_status, 503);
  EXPECT_EQ(e.request_id, "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE");
  const Outcome o_e3 = parse_response("DeleteUser", 302, sample("delete_user.xml"));
  const IamError& e3 = err(o_e3);
  EXPECT_EQ(e3.error_class, ErrorClass::terminal);
}

// ---------------------------------------------------------------------------------------
// Bodies that are not IAM XML
// ---------------------------------------------------------------------------------------

TEST(ParseResponse, Html503PageIsTransientWithAShortCleanExcerpt) {
  const std::string body = sample("service_unavailable.html");
  const Outcome o_e = parse_response("ListUsers", 503, body);
  const IamError& e = err(o_e);
  EXPECT_EQ(e.error_class, ErrorClass::transient);
  EXPECT_EQ(e.code, "NonXmlResponse");
  EXPECT_EQ(e.http_status, 503);
  EXPECT_NE(e.message.find("503"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("503 Service Temporarily Unavailable"), std::string::npos) << e.message;
  for (char c : e.message) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << e.message;
  EXPECT_LE(body_excerpt(body).size(), 200u);
  EXPECT_LT(e.message.size(), 320u);
}

TEST(ParseResponse, TruncatedXmlIsTransientOn5xxTerminalOtherwise) {
  const std::string body = sample("list_users_truncated.xml");
  ASSERT_EQ(body.size(), 300u);
  const Outcome o_e5 = parse_response("ListUsers", 502, body);
  const IamError& e5 = err(o_e5);
  EXPECT_EQ(e5.error_class, ErrorClass::transient);
  EXPECT_EQ(e5.code, "NonXmlResponse");
  const Outcome o_e2 = parse_response("ListUsers", 200, body);
  const IamError& e2 = err(o_e2);
  EXPECT_EQ(e2.error_class, ErrorClass::terminal);
  EXPECT_EQ(e2.code, "NonXmlResponse");
  EXPECT_NE(e2.message.find("200"), std::string::npos);
}

TEST(ParseResponse, EmptyBody) {
  const Outcome o_e5 = parse_response("ListUsers", 500, "");
  const IamError& e5 = err(o_e5);
  EXPECT_EQ(e5.error_class, ErrorClass::transient);
  EXPECT_EQ(e5.code, "NonXmlResponse");
  EXPECT_NE(e5.message.find("(empty body)"), std::string::npos) << e5.message;
  EXPECT_EQ(err(parse_response("ListUsers", 200, "")).error_class, ErrorClass::terminal);
  EXPECT_EQ(err(parse_response("ListUsers", 403, "")).error_class, ErrorClass::terminal);
  EXPECT_EQ(err(parse_response("ListUsers", 429, "")).error_class, ErrorClass::throttled);
}

TEST(ParseResponse, WellFormedXmlThatIsNotAResponseIs2xxTerminal) {
  for (const char* body : {"<html><body>ok</body></html>", "<Response/>", "<Result/>", "<Response>x</Response>"}) {
    const Outcome o_e = parse_response("ListUsers", 200, body);
    const IamError& e = err(o_e);
    EXPECT_EQ(e.error_class, ErrorClass::terminal) << body;
  }
  EXPECT_EQ(err(parse_response("ListUsers", 503, "<html><body>busy</body></html>")).error_class,
            ErrorClass::transient);
}

TEST(ParseResponse, SecretsNeverReachTheMessage) {
  const std::string full =
      "<CreateAccessKeyResponse><CreateAccessKeyResult><AccessKey><UserName>a</UserName>"
      "<AccessKeyId>AKIAEXAMPLE</AccessKeyId><Status>Active</Status>"
      "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>";
  for (int status : {200, 500, 400}) {
    const Outcome o = parse_response("CreateAccessKey", status, full);  // truncated XML
    const IamError& e = err(o);
    EXPECT_EQ(e.message.find("wJalr"), std::string::npos) << e.message;
  }
  // Also in a broken error body, and cut in the middle of the secret.
  const std::string cut = "<Oops><SessionToken>FQoGZXIvYXdzEJr//////////wEaDM";
  EXPECT_EQ(body_excerpt(cut).find("FQoG"), std::string::npos) << body_excerpt(cut);
  EXPECT_NE(body_excerpt(cut).find("<SessionToken>***"), std::string::npos) << body_excerpt(cut);
}

TEST(ParseResponse, NeverThrowsOnGarbage) {
  const std::vector<std::string> bodies = {
      std::string("\0\0\0", 3), "<", "<<>>", "<a", "</a>", "<?xml", "<!DOCTYPE x [<!ENTITY e \"&e;\">]><x>&e;</x>",
      "<ErrorResponse><Error><Code>", "<XResponse><XResult><member>1</member></XResult></XResponse>",
      std::string(10000, '<'), "\xFF\xFE<\0a\0>\0", "{\"json\": true}",
  };
  for (const auto& b : bodies) {
    for (int status : {0, 200, 302, 400, 503}) {
      Outcome o;
      EXPECT_NO_THROW(o = parse_response("X", status, b));
      EXPECT_NE(o.ok.has_value(), o.error.has_value());
      if (status >= 300 || status < 200) {
        EXPECT_FALSE(o.ok.has_value());
      }
    }
  }
}

TEST(BodyExcerpt, CleansAndCuts) {
  EXPECT_EQ(body_excerpt(""), "(empty body)");
  EXPECT_EQ(body_excerpt(" \r\n\t "), "(blank body)");
  EXPECT_EQ(body_excerpt("a\r\n\tb\x01\x7F  c"), "a b c");
  EXPECT_EQ(body_excerpt(std::string("x\0y", 3)), "x y");
  const std::string long_body(1000, 'x');
  const std::string ex = body_excerpt(long_body);
  EXPECT_EQ(ex.size(), 200u);
  EXPECT_TRUE(ex.ends_with("…"));
  EXPECT_EQ(body_excerpt(std::string(200, 'y')), std::string(200, 'y'));  // exactly fits: not cut
  // UTF-8 is never cut mid-character.
  std::string utf8;
  for (int i = 0; i < 150; ++i) utf8 += "é";  // 2 bytes each
  const std::string cut = body_excerpt(utf8, 101);
  EXPECT_LE(cut.size(), 101u);
  const std::string head = cut.substr(0, cut.size() - std::string("…").size());
  EXPECT_EQ(head.size() % 2, 0u);
  EXPECT_EQ(head, utf8.substr(0, head.size()));
}

// ---------------------------------------------------------------------------------------
// Classification
// ---------------------------------------------------------------------------------------

TEST(Classify, TheWholeCodeTable) {
  const std::vector<std::pair<const char*, ErrorClass>> table = {
      {"Throttling", ErrorClass::throttled},
      {"ThrottlingException", ErrorClass::throttled},
      {"RequestLimitExceeded", ErrorClass::throttled},
      {"RequestThrottled", ErrorClass::throttled},
      {"TooManyRequestsException", ErrorClass::throttled},
      {"ServiceFailure", ErrorClass::transient},
      {"ServiceUnavailable", ErrorClass::transient},
      {"InternalFailure", ErrorClass::transient},
      {"InternalError", ErrorClass::transient},
      {"EntityTemporarilyUnmodifiable", ErrorClass::unmodifiable},
      {"ConcurrentModification", ErrorClass::concurrent_modification},
      {"NoSuchEntity", ErrorClass::absent},
      {"DeleteConflict", ErrorClass::conflict},
      {"InvalidClientTokenId", ErrorClass::credentials},
      {"SignatureDoesNotMatch", ErrorClass::credentials},
      {"ExpiredToken", ErrorClass::credentials},
      {"RequestExpired", ErrorClass::credentials},
      {"IncompleteSignature", ErrorClass::credentials},
      {"MissingAuthenticationToken", ErrorClass::credentials},
      {"UnrecognizedClientException", ErrorClass::credentials},
      {"InvalidAccessKeyId", ErrorClass::credentials},
      {"AccessDenied", ErrorClass::denied},
      {"AccessDeniedException", ErrorClass::denied},
      {"LimitExceeded", ErrorClass::terminal},
      {"ValidationError", ErrorClass::terminal},
      {"InvalidInput", ErrorClass::terminal},
      {"EntityAlreadyExists", ErrorClass::terminal},
      {"MalformedPolicyDocument", ErrorClass::terminal},
      {"", ErrorClass::terminal},
      {"throttling", ErrorClass::terminal},  // codes are case-sensitive
  };
  for (const auto& [code, expected] : table) {
    // The code decides whatever the (4xx) status.
    for (int status : {400, 403, 404, 409}) {
      EXPECT_EQ(classify(code, status), expected) << code << " / " << status;
    }
  }
  // Known codes win over a 5xx or 429 status too.
  EXPECT_EQ(classify("NoSuchEntity", 503), ErrorClass::absent);
  EXPECT_EQ(classify("AccessDenied", 429), ErrorClass::denied);
  EXPECT_EQ(classify("Throttling", 500), ErrorClass::throttled);
}

TEST(Classify, StatusDecidesForUnknownCodes) {
  EXPECT_EQ(classify("", 429), ErrorClass::throttled);
  EXPECT_EQ(classify("SomethingNew", 429), ErrorClass::throttled);
  // 501 is Not Implemented: `unsupported` (issue 14), see Classify.UnimplementedActions.
  for (int status : {500, 502, 503, 504, 599}) {
    EXPECT_EQ(classify("", status), ErrorClass::transient) << status;
    EXPECT_EQ(classify("NonXmlResponse", status), ErrorClass::transient) << status;
    EXPECT_EQ(classify("LimitExceeded", status), ErrorClass::transient) << status;  // 5xx: retry
  }
  for (int status : {0, 200, 302, 400, 401, 403, 404, 409, 413, 600}) {
    EXPECT_EQ(classify("", status), ErrorClass::terminal) << status;
  }
}

TEST(Classify, ToStringNamesEveryClass) {
  EXPECT_EQ(to_string(ErrorClass::throttled), "throttled");
  EXPECT_EQ(to_string(ErrorClass::transient), "transient");
  EXPECT_EQ(to_string(ErrorClass::unmodifiable), "unmodifiable");
  EXPECT_EQ(to_string(ErrorClass::concurrent_modification), "concurrent_modification");
  EXPECT_EQ(to_string(ErrorClass::absent), "absent");
  EXPECT_EQ(to_string(ErrorClass::conflict), "conflict");
  EXPECT_EQ(to_string(ErrorClass::credentials), "credentials");
  EXPECT_EQ(to_string(ErrorClass::denied), "denied");
  EXPECT_EQ(to_string(ErrorClass::terminal), "terminal");
}

}  // namespace
}  // namespace iamq::client
