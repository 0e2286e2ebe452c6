#include "tests/iam_emulator/iam_unimplemented.hpp"

#include "tests/iam_emulator/iam_actions.hpp"
#include "tests/iam_emulator/iam_state.hpp"

namespace iamq::emulator {

UnimplementedActions parse_unimplemented(std::string_view spec) {
  UnimplementedActions out;
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view entry = spec.substr(start, comma - start);
    start = comma + 1;
    if (entry.empty()) {
      if (comma == spec.size()) break;
      throw SeedError("--unimplemented: an empty entry (expected ACTION[:500|html|501][,…])");
    }
    const std::size_t colon = entry.find(':');
    const std::string_view action = entry.substr(0, colon);
    const std::string_view style = colon == std::string_view::npos ? "500" : entry.substr(colon + 1);
    if (!find_action(action)) {
      throw SeedError("--unimplemented: \"" + std::string(action) + "\" is not an action the emulator knows");
    }
    UnimplementedStyle s;
    if (style == "500") s = UnimplementedStyle::plain_500;
    else if (style == "html") s = UnimplementedStyle::html_500;
    else if (style == "501") s = UnimplementedStyle::status_501;
    else throw SeedError("--unimplemented: style \"" + std::string(style) + "\" of " + std::string(action) +
                         " is not one of 500, html, 501");
    out[std::string(action)] = s;
  }
  if (out.empty()) throw SeedError("--unimplemented: no action given");
  return out;
}

UnimplementedAnswer unimplemented_answer(UnimplementedStyle style, std::string_view action,
                                         std::string_view request_id) {
  const std::string a(action);
  switch (style) {
    case UnimplementedStyle::plain_500:
      return {500, "text/plain", "NotImplementedError: The " + a + " action has not been implemented\n"};
    case UnimplementedStyle::html_500:
      return {500, "text/html",
              "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
              "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to "
              "complete your request.</p>\n"};
    case UnimplementedStyle::status_501:
      return {501, "text/xml",
              "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"
              "<Code>InternalFailure</Code><Message>API action '" + a +
                  "' for service 'iam' not yet implemented</Message></Error><RequestId>" +
                  std::string(request_id) + "</RequestId></ErrorResponse>"};
  }
  return {500, "text/plain", "error\n"};
}

}  // namespace iamq::emulator
