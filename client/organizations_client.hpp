#pragma once
/// AWS Organizations over its JSON 1.1 protocol (X-Amz-Target AWSOrganizationsV20161128.*),
/// signed with service "organizations" through the shared CurlMultiTransport: ListAccounts,
/// paged through NextToken to the end. Errors are classified (organizations_response.hpp).
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/credentials_provider.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/organizations_response.hpp"

namespace iamq::client {

/// The Organizations URL: AWS_ENDPOINT_URL_ORGANIZATIONS, else AWS_ENDPOINT_URL, else the
/// partition's (https://organizations.us-east-1.amazonaws.com;
/// organizations.cn-northwest-1.amazonaws.com.cn; organizations.us-gov-west-1.amazonaws.com).
std::string organizations_endpoint_url(const std::string& region, const std::map<std::string, std::string>& env);
/// The region Organizations is signed for in `region`'s partition.
std::string organizations_signing_region(const std::string& region);

struct OrganizationsOptions {
  Endpoint endpoint;
  std::string region = "us-east-1";  ///< signing region
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  /// At most this many pages are read (20 accounts each on AWS): a NextToken that never
  /// ends is an error, not a loop.
  std::size_t max_pages = 1000;
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
};

class OrganizationsClient : public std::enable_shared_from_this<OrganizationsClient> {
 public:
  using ListCompletion = std::function<void(std::optional<IamError>, std::vector<OrgAccount>)>;

  OrganizationsClient(CurlMultiTransport& transport, OrganizationsOptions options);

  /// Every account of the organization (all pages), signed with `source`'s credentials.
  /// A credentials-class answer invalidates them and that page is asked again once.
  void list_accounts(ProviderPtr source, ListCompletion done);

  const OrganizationsOptions& options() const { return opts_; }

 private:
  struct Op;
  CurlMultiTransport& transport_;
  OrganizationsOptions opts_;
};

}  // namespace iamq::client
