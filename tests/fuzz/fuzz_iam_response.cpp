// Fuzz target: the IAM XML response parser. The first byte picks the HTTP status, the rest is
// the body. parse_response must never throw or crash, and must always decide: exactly one of
// a result or an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/iam_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static constexpr int kStatuses[] = {200, 200, 400, 403, 404, 409, 429, 500, 503, 302};
  int status = size ? kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])] : 200;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  if (size) body.remove_prefix(1);
  iamq::client::Outcome o = iamq::client::parse_response("ListUsers", status, body);
  if (o.ok.has_value() == o.error.has_value()) std::abort();
  if (o.ok && status >= 300) std::abort();  // a non-2xx status is never a success
  if (o.error && o.error->message.size() > 4096) std::abort();  // excerpts stay short
  return 0;
}
