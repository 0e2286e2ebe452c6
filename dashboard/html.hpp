#pragma once
/// HTML and URL text helpers for the dashboard's pages (sans-io). Every string that comes
/// from Redis — a job's meta, user names, error messages, even ids — goes through escape().
#include <map>
#include <string>
#include <string_view>

namespace iamq::dashboard {

/// Escapes & < > " ' for text and attribute values; invalid UTF-8 bytes become U+FFFD.
std::string escape(std::string_view text);
/// Percent-encodes everything but unreserved characters (RFC 3986), for path segments and
/// query values.
std::string url_encode(std::string_view text);
/// Decodes %XX and '+' (form encoding). Malformed escapes are kept as they are.
std::string url_decode(std::string_view text);
/// Parses "a=1&b=two" (a query string or an x-www-form-urlencoded body). Later keys win.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace iamq::dashboard
