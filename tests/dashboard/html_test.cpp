#include "dashboard/html.hpp"

#include <gtest/gtest.h>

namespace iamq::dashboard {

TEST(Html, EscapesMarkupAndQuotes) {
  EXPECT_EQ(escape("<img src=x onerror=\"alert('1')\">&"),
            "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;");
}

TEST(Html, ReplacesInvalidUtf8AndControlCharacters) {
  EXPECT_EQ(escape(std::string("a\xff" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(escape(std::string("a\x01" "b")), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(escape(std::string("\xC0\xAF")), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(escape("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");  // kept
}

TEST(Html, UrlEncodeAndDecodeRoundTrip) {
  const std::string s = "a b/c?d=e&f#<\"'>\xC3\xA9";
  EXPECT_EQ(url_decode(url_encode(s)), s);
  EXPECT_EQ(url_encode("HR-1.x_y~"), "HR-1.x_y~");
  EXPECT_EQ(url_encode("a/b"), "a%2Fb");
  EXPECT_EQ(url_decode("%zz%4"), "%zz%4");  // malformed escapes kept
}

TEST(Html, ParsesQueryStrings) {
  auto q = parse_query("status=dead&q=jane+doe&x=%3Cb%3E&flag&=v");
  EXPECT_EQ(q["status"], "dead");
  EXPECT_EQ(q["q"], "jane doe");
  EXPECT_EQ(q["x"], "<b>");
  EXPECT_EQ(q["flag"], "");
}

}  // namespace iamq::dashboard
