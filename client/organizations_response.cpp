#include "client/organizations_response.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace iamq::client {

namespace {

using nlohmann::json;

bool twelve_digits(const std::string& s) {
  return s.size() == 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// A string member of `o` (empty when absent); false when present but not a string or too long.
bool string_member(const json& o, const char* key, std::size_t max, std::string& out) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return out.size() <= max;
}

}  // namespace

std::variant<ListAccountsPage, std::string> parse_list_accounts(std::string_view body) {
  if (body.size() > max_organizations_answer) {
    return "ListAccounts answer is " + std::to_string(body.size()) + " bytes (at most " +
           std::to_string(max_organizations_answer) + ")";
  }
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::string("ListAccounts answer is not a JSON object");
  ListAccountsPage page;
  auto accounts = doc.find("Accounts");
  if (accounts == doc.end() || !accounts->is_array()) return std::string("ListAccounts answer has no Accounts list");
  if (accounts->size() > max_accounts_per_page) {
    return "ListAccounts answer lists " + std::to_string(accounts->size()) + " accounts in one page (at most " +
           std::to_string(max_accounts_per_page) + ")";
  }
  for (std::size_t i = 0; i < accounts->size(); ++i) {
    const json& a = (*accounts)[i];
    const std::string where = "ListAccounts answer: Accounts[" + std::to_string(i) + "]";
    if (!a.is_object()) return where + " is not an object";
    OrgAccount acc;
    if (!string_member(a, "Id", 12, acc.id) || !twelve_digits(acc.id)) return where + ".Id is not 12 digits";
    if (!string_member(a, "Name", 256, acc.name)) return where + ".Name is not a string of at most 256 bytes";
    std::string status, state;
    if (!string_member(a, "Status", 32, status)) return where + ".Status is not a short string";
    if (!string_member(a, "State", 32, state)) return where + ".State is not a short string";
    acc.status = !state.empty() ? state : status;  // State replaces the deprecated Status
    if (acc.status.empty()) return where + " has neither Status nor State";
    page.accounts.push_back(std::move(acc));
  }
  if (!string_member(doc, "NextToken", 100000, page.next_token)) {
    return std::string("ListAccounts answer: NextToken is not a string of at most 100000 bytes");
  }
  return page;
}

IamError organizations_error(int http_status, std::string_view body) {
  IamError e;
  e.http_status = http_status;
  json doc = body.size() <= max_organizations_answer ? json::parse(body.begin(), body.end(), nullptr, false)
                                                     : json(nullptr);
  std::string type, message;
  if (doc.is_object()) {
    string_member(doc, "__type", 256, type);
    if (!string_member(doc, "message", 1024, message) || message.empty()) string_member(doc, "Message", 1024, message);
    if (message.size() > 1024) message.resize(1024);
  }
  if (const auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  if (type.empty()) {
    e.code = http_status >= 500 || http_status == 0 ? "ServiceUnavailable" : "InvalidOrganizationsResponse";
    e.message = "HTTP " + std::to_string(http_status) + " without an Organizations error document";
    e.error_class = http_status == 200 || http_status >= 500 ? ErrorClass::transient : ErrorClass::terminal;
    return e;
  }
  e.code = type;
  e.message = message;
  auto starts = [&](std::string_view p) { return type.rfind(p, 0) == 0; };
  if (starts("AccessDenied")) {
    e.error_class = ErrorClass::denied;
  } else if (starts("TooManyRequests") || starts("Throttling")) {
    e.error_class = ErrorClass::throttled;
  } else if (type == "UnrecognizedClientException" || type == "InvalidSignatureException" ||
             type == "ExpiredTokenException" || type == "IncompleteSignatureException" ||
             type == "InvalidClientTokenId" || type == "SignatureDoesNotMatch" || type == "ExpiredToken") {
    e.error_class = ErrorClass::credentials;
  } else if (type == "ServiceException" || http_status >= 500) {
    e.error_class = ErrorClass::transient;
  } else {
    e.error_class = ErrorClass::terminal;
  }
  return e;
}

}  // namespace iamq::client
