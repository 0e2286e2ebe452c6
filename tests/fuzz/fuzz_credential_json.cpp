// Fuzz target: credential_process output, ECS and IMDS credential documents, ISO 8601 times.
// Whatever the bytes: no crash, and an accepted document always has both keys set.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/credential_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iamq::client;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto parsed : {parse_process_credentials(in), parse_container_credentials(in), parse_imds_credentials(in)}) {
    if (auto* tc = std::get_if<TimedCredentials>(&parsed)) {
      if (tc->creds.access_key_id.empty() || tc->creds.secret_access_key.empty()) std::abort();
    }
  }
  (void)parse_iso8601(in);
  return 0;
}
