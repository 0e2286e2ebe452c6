#pragma once
/// Actions the emulator pretends not to implement (`--unimplemented`), answered the way real
/// IAM-compatible endpoints answer them: moto's server raises NotImplementedError (an HTTP
/// 500 whose body is not IAM's error XML: plain text, or a framework's HTML page), LocalStack
/// answers 501 (with an InternalFailure error document).
#include <map>
#include <string>
#include <string_view>

namespace iamq::emulator {

enum class UnimplementedStyle {
  plain_500,  ///< 500, text/plain, like moto's NotImplementedError
  html_500,   ///< 500, an HTML "Internal Server Error" page
  status_501, ///< 501 with <ErrorResponse> code InternalFailure, like LocalStack
};

using UnimplementedActions = std::map<std::string, UnimplementedStyle, std::less<>>;

/// Parses `ACTION[:STYLE][,ACTION[:STYLE]…]`, STYLE one of `500` (the default), `html`, `501`.
/// Throws SeedError naming the bad entry (an unknown action is an error: a typo would test
/// nothing).
UnimplementedActions parse_unimplemented(std::string_view spec);

/// The HTTP answer for an unimplemented action.
struct UnimplementedAnswer {
  int status;
  std::string content_type;
  std::string body;
};
UnimplementedAnswer unimplemented_answer(UnimplementedStyle style, std::string_view action,
                                         std::string_view request_id);

}  // namespace iamq::emulator
