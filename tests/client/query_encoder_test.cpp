// Tests for client/query_encoder.hpp: RFC 3986 encoding of every character IAM allows in
// names, injection attempts staying one parameter, list members, decode round trips.
#include "client/query_encoder.hpp"

#include <gtest/gtest.h>

namespace iamq::client {
namespace {

TEST(PercentEncode, UnreservedCharactersAreKept) {
  const std::string unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
  EXPECT_EQ(percent_encode(unreserved), unreserved);
}

TEST(PercentEncode, EveryOtherByteIsEscapedInUpperCaseHex) {
  // The characters IAM allows in user names ([\w+=,.@-]) and serial numbers (also / and :).
  EXPECT_EQ(percent_encode("+"), "%2B");
  EXPECT_EQ(percent_encode("="), "%3D");
  EXPECT_EQ(percent_encode(","), "%2C");
  EXPECT_EQ(percent_encode("@"), "%40");
  EXPECT_EQ(percent_encode("/"), "%2F");
  EXPECT_EQ(percent_encode(":"), "%3A");
  EXPECT_EQ(percent_encode("user+tag=x,y.z@corp-1_a"), "user%2Btag%3Dx%2Cy.z%40corp-1_a");
  EXPECT_EQ(percent_encode("arn:aws:iam::123456789012:mfa/alice"), "arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Falice");
  EXPECT_EQ(percent_encode("a b"), "a%20b");  // never '+'
  EXPECT_EQ(percent_encode("&?#%"), "%26%3F%23%25");
  EXPECT_EQ(percent_encode("\xE1\x88\xB4"), "%E1%88%B4");  // UTF-8 bytes, each escaped
  EXPECT_EQ(percent_encode("é"), "%C3%A9");
  EXPECT_EQ(percent_encode(std::string_view("\0\x7F\xFF", 3)), "%00%7F%FF");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(PercentEncode, AllBytesEncodeToUnreservedOrEscapes) {
  for (int b = 0; b < 256; ++b) {
    const std::string in(1, static_cast<char>(b));
    const std::string out = percent_encode(in);
    const bool unreserved = std::isalnum(b) || b == '-' || b == '_' || b == '.' || b == '~';
    if (unreserved) {
      EXPECT_EQ(out, in) << b;
    } else {
      char expected[4];
      std::snprintf(expected, sizeof expected, "%%%02X", b);
      EXPECT_EQ(out, expected) << b;
    }
  }
}

TEST(EncodeQuery, ActionAndVersionComeFirst) {
  EXPECT_EQ(encode_query("ListUsers", {}), "Action=ListUsers&Version=2010-05-08");
  EXPECT_EQ(encode_query("ListMFADevices", {{"UserName", "alice"}, {"MaxItems", "100"}}),
            "Action=ListMFADevices&Version=2010-05-08&UserName=alice&MaxItems=100");
}

TEST(EncodeQuery, NamesWithEveryAllowedCharacter) {
  const std::string user = "Ab0_+=,.@-z";
  const std::string serial = "arn:aws:iam::123456789012:mfa/path/Ab0_+=,.@-z";
  const std::string body =
      encode_query("DeactivateMFADevice", {{"UserName", user}, {"SerialNumber", serial}});
  EXPECT_EQ(body,
            "Action=DeactivateMFADevice&Version=2010-05-08&UserName=Ab0_%2B%3D%2C.%40-z"
            "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fpath%2FAb0_%2B%3D%2C.%40-z");
  const Params decoded = decode_query(body);
  ASSERT_EQ(decoded.size(), 4u);
  EXPECT_EQ(decoded[2], (std::pair<std::string, std::string>{"UserName", user}));
  EXPECT_EQ(decoded[3], (std::pair<std::string, std::string>{"SerialNumber", serial}));
}

TEST(EncodeQuery, InjectionStaysOneParameter) {
  const std::string body = encode_query("DeleteUser", {{"UserName", "x&Action=CreateAccessKey"}});
  EXPECT_EQ(body, "Action=DeleteUser&Version=2010-05-08&UserName=x%26Action%3DCreateAccessKey");
  const Params decoded = decode_query(body);
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[0], (std::pair<std::string, std::string>{"Action", "DeleteUser"}));
  EXPECT_EQ(decoded[2], (std::pair<std::string, std::string>{"UserName", "x&Action=CreateAccessKey"}));
}

TEST(EncodeQuery, SpacesUtf8AndReservedCharactersRoundTrip) {
  const Params params = {{"PolicyDocument", R"({"Version": "2012-10-17", "Statement": []})"},
                         {"Description", "Zoë's key — π ≈ 3.14 + 100% & more?#"},
                         {"Tag Key", "a=b=c"},
                         {"Empty", ""},
                         {"Plus", "+ +"}};
  const std::string body = encode_query("UpdateThing", params);
  EXPECT_EQ(body.find(' '), std::string::npos);
  EXPECT_EQ(body.find('+'), std::string::npos);  // '+' would decode back to a space
  const Params decoded = decode_query(body);
  ASSERT_EQ(decoded.size(), params.size() + 2);
  for (std::size_t i = 0; i < params.size(); ++i) EXPECT_EQ(decoded[i + 2], params[i]);
}

TEST(AddListParam, MembersAreNumberedFromOne) {
  Params params{{"UserName", "alice"}};
  add_list_param(params, "PolicyArns", {"arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"});
  add_list_param(params, "Empty", {});
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"PolicyArns.member.1", "arn:aws:iam::aws:policy/A"}));
  EXPECT_EQ(params[2], (std::pair<std::string, std::string>{"PolicyArns.member.2", "arn:aws:iam::aws:policy/B"}));
  EXPECT_EQ(encode_query("X", params),
            "Action=X&Version=2010-05-08&UserName=alice"
            "&PolicyArns.member.1=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FA"
            "&PolicyArns.member.2=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FB");
}

TEST(DecodeQuery, FormConventions) {
  // '+' is a space in form encoding (the AWS CLI and curl may send either spelling).
  EXPECT_EQ(decode_query("a=x+y&b=x%20y"), (Params{{"a", "x y"}, {"b", "x y"}}));
  // Lower-case hex is accepted.
  EXPECT_EQ(decode_query("k=%2f%2F"), (Params{{"k", "//"}}));
  // Key without '=', empty value, empty pieces, '=' in a value.
  EXPECT_EQ(decode_query("flag&e=&&x=a=b&"), (Params{{"flag", ""}, {"e", ""}, {"x", "a=b"}}));
  EXPECT_EQ(decode_query(""), Params{});
  // Repeated keys are kept in order.
  EXPECT_EQ(decode_query("a=1&a=2"), (Params{{"a", "1"}, {"a", "2"}}));
}

TEST(DecodeQuery, MalformedEscapesAreKeptLiterally) {
  EXPECT_EQ(decode_query("a=%&b=%4&c=%G1&d=100%&e=%%41"),
            (Params{{"a", "%"}, {"b", "%4"}, {"c", "%G1"}, {"d", "100%"}, {"e", "%A"}}));
  EXPECT_EQ(decode_query("%ZZ=1"), (Params{{"%ZZ", "1"}}));
}

TEST(DecodeQuery, DecodesNulAndHighBytes) {
  const Params p = decode_query("k=%00%FF");
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].second, std::string("\0\xFF", 2));
}

TEST(DecodeQuery, EncodeDecodeRoundTripOfEveryByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const Params decoded = decode_query(encode_query("A", {{all, all}}));
  ASSERT_EQ(decoded.size(), 3u);
  EXPECT_EQ(decoded[2].first, all);
  EXPECT_EQ(decoded[2].second, all);
}

}  // namespace
}  // namespace iamq::client
