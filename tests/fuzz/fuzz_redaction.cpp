// Fuzz target: the redaction function (worker/redaction.hpp), which scans free text and
// walks JSON. It must never throw or crash; a secret appended to any input is gone from the
// output; a redacted JSON document holds no secret-named value but "<redacted>"; the stored
// form of a job text is bounded; redacting twice changes nothing more.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "worker/redaction.hpp"

namespace {

void check_no_secret_values(const nlohmann::json& j, int depth) {
  if (depth > 80) return;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if (iamq::worker::is_secret_name(k) && !v.is_null() && v != iamq::worker::kRedacted) std::abort();
      check_no_secret_values(v, depth + 1);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) check_no_secret_values(v, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string once = iamq::worker::redact_text(text);
  if (iamq::worker::redact_text(once) != once) std::abort();

  // (Only when the input does not hold the marker itself: libFuzzer copies this binary's
  // strings into its inputs.)
  if (text.find("FUZZ-SECRET-MARKER") == std::string_view::npos) {
    const std::string planted = std::string(text) + " SessionToken=FUZZ-SECRET-MARKER";
    if (iamq::worker::redact_text(planted).find("FUZZ-SECRET-MARKER") != std::string::npos) std::abort();
  }

  const std::string stored = iamq::worker::redact_job_text(text, 1024);
  if (stored.size() > 1024 * 2 + 64) std::abort();  // escapes may grow it, never unbounded

  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) check_no_secret_values(iamq::worker::redact(j), 0);
  return 0;
}
