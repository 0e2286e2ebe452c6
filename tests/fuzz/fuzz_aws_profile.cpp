// Fuzz target: the shared config/credentials file parser and profile resolution. The input is
// split at the first NUL into the config text and the credentials text; every profile found
// is resolved. Nothing may crash, hang or loop (source_profile cycles are bounded).
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/aws_profile.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  const std::string config = in.substr(0, nul);
  const std::string creds = nul == std::string::npos ? std::string() : in.substr(nul + 1);
  const auto c = iamq::client::parse_ini(config, true);
  const auto k = iamq::client::parse_ini(creds, false);
  for (const auto& [name, _] : c) (void)iamq::client::resolve_profile(c, k, name);
  for (const auto& [name, _] : k) (void)iamq::client::resolve_profile(c, k, name);
  (void)iamq::client::resolve_profile(c, k, "default");
  return 0;
}
