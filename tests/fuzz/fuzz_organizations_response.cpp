// Fuzz target: Organizations ListAccounts answers and error documents (JSON 1.1 protocol).
// An accepted page holds only 12-digit ids, a state, and at most max_accounts_per_page accounts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "client/organizations_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace iamq::client;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_list_accounts(in);
  if (auto* page = std::get_if<ListAccountsPage>(&r)) {
    if (page->accounts.size() > max_accounts_per_page) std::abort();
    for (const auto& a : page->accounts) {
      if (a.id.size() != 12 || a.status.empty()) std::abort();
      for (char c : a.id)
        if (c < '0' || c > '9') std::abort();
    }
  }
  for (int status : {200, 400, 403, 500}) {
    IamError e = organizations_error(status, in);
    if (e.code.empty() || e.message.size() > 1024) std::abort();
  }
  return 0;
}
