#pragma once
/// AWS Organizations answers (JSON 1.1 protocol), sans-io: one ListAccounts page parsed
/// into accounts and the NextToken, and an error answer ({"__type","message"}) classified as
/// IAM's errors are. Bounded: an answer over max_organizations_answer bytes, a page of more
/// than max_accounts_per_page accounts or a field longer than IAM allows is refused.
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/iam_response.hpp"

namespace iamq::client {

inline constexpr std::string_view kOrganizationsTarget = "AWSOrganizationsV20161128";
/// Largest ListAccounts answer read (a page holds at most 20 accounts; 1 MiB is generous).
inline constexpr std::size_t max_organizations_answer = 1024 * 1024;
/// Largest page accepted (AWS pages at most 20; a larger page is not AWS's answer).
inline constexpr std::size_t max_accounts_per_page = 1000;

/// One account of the organization, as ListAccounts lists it.
struct OrgAccount {
  std::string id;      ///< 12 digits
  std::string name;    ///< 1-50 characters (may be empty in the answer)
  std::string status;  ///< ACTIVE | SUSPENDED | PENDING_CLOSURE (the `State` field when present)
};

struct ListAccountsPage {
  std::vector<OrgAccount> accounts;
  std::string next_token;  ///< empty: the last page
};

/// Parses a 200 answer's body; the error says what is wrong (never the body itself).
std::variant<ListAccountsPage, std::string> parse_list_accounts(std::string_view body);

/// The error of a non-200 answer (or a 200 that did not parse: `InvalidOrganizationsResponse`,
/// transient). The code is the `__type` without its namespace prefix; classes: AccessDenied*
/// → denied, TooManyRequests*/Throttling* → throttled, UnrecognizedClient/InvalidSignature/
/// ExpiredToken → credentials, ServiceException and 5xx → transient, else terminal.
IamError organizations_error(int http_status, std::string_view body);

}  // namespace iamq::client
