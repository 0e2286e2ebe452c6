#pragma once
/// The IAM Query protocol request body (sans-io): Action, Version=2010-05-08, the
/// parameters, list members as Name.member.N, RFC 3986 percent-encoding.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace iamq::client {

/// Request parameters in the order given (the encoder sorts nothing; order is irrelevant
/// to IAM but kept stable for logs and tests).
using Params = std::vector<std::pair<std::string, std::string>>;

inline constexpr std::string_view kIamApiVersion = "2010-05-08";

/// RFC 3986 percent-encoding: unreserved A-Z a-z 0-9 - _ . ~ kept, every other byte %XX
/// (upper-case hex). A space is %20, never '+'.
std::string percent_encode(std::string_view s);

/// Appends `values` to `params` as `name.member.1`, `name.member.2`, …
void add_list_param(Params& params, const std::string& name, const std::vector<std::string>& values);

/// "Action=<action>&Version=2010-05-08&<k>=<v>…", every key and value percent-encoded.
std::string encode_query(std::string_view action, const Params& params);

/// Decodes an application/x-www-form-urlencoded body or query string into pairs ('+' is a
/// space, %XX decoded). Used by the emulator. Malformed escapes are kept literally.
Params decode_query(std::string_view body);

}  // namespace iamq::client
