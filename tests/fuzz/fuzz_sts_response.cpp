// Fuzz target: STS answers (AssumeRole, AssumeRoleWithWebIdentity, AssumeRoot) as XML bodies.
// Accepted credentials always carry a key, a secret, a session token and an expiration.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/sts_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iamq::client;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const char* action : {"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoot"}) {
    for (int status : {200, 403, 500}) {
      auto r = parse_sts_credentials_response(action, status, in);
      if (auto* c = std::get_if<StsCredentials>(&r)) {
        if (c->creds.creds.session_token.empty() || !c->creds.expiration) std::abort();
      }
    }
  }
  Outcome o = parse_response("GetCallerIdentity", 200, in);
  if (o.ok) (void)caller_identity_from(*o.ok);
  return 0;
}
