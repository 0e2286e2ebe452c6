#pragma once
/// The IAM endpoint: which URL to call (account config, AWS_ENDPOINT_URL_IAM,
/// AWS_ENDPOINT_URL, https://iam.amazonaws.com) and its parsed, validated parts.
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace iamq::client {

/// The default IAM endpoint (partition aws, global service, signed for us-east-1).
inline constexpr std::string_view kDefaultIamEndpoint = "https://iam.amazonaws.com";

/// Raised for an endpoint URL that cannot be used; the message names the URL and the rule.
class EndpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A parsed endpoint URL: scheme http or https, a host, an optional port, a path.
struct Endpoint {
  std::string scheme = "https";  ///< "http" or "https" (lower case)
  std::string host;              ///< as in the URL; IPv6 literals keep their brackets
  int port = 0;                  ///< 0: the scheme's default port
  std::string path = "/";        ///< always starts with '/'

  /// "scheme://host[:port]path", what the transport connects to.
  std::string url() const;
  /// "host[:port]" (port only when not the scheme's default): the Host header, signed.
  std::string host_header() const;
  /// True for localhost, 127.0.0.0/8 and ::1 (where plain http is accepted).
  bool is_loopback() const;
};

/// Parses and validates an endpoint URL: scheme http/https, a host, an optional port
/// (1-65535), an optional path; no user info, query or fragment. Throws EndpointError.
Endpoint parse_endpoint(std::string_view url);

/// The URL to use: `configured` (an account's `endpoint`) when not empty, else
/// AWS_ENDPOINT_URL_IAM, else AWS_ENDPOINT_URL (from `env`), else kDefaultIamEndpoint.
std::string endpoint_url(const std::string& configured,
                         const std::map<std::string, std::string>& env);

/// parse_endpoint(endpoint_url(configured, env)). Throws EndpointError.
Endpoint resolve_endpoint(const std::string& configured,
                          const std::map<std::string, std::string>& env);

/// The IAM endpoint of `region`'s partition: https://iam.cn-north-1.amazonaws.com.cn for
/// cn-*, https://iam.us-gov.amazonaws.com for us-gov-*, else https://iam.amazonaws.com.
std::string iam_partition_endpoint(std::string_view region);
/// The region IAM requests are signed for in `region`'s partition: cn-north-1,
/// us-gov-west-1 or us-east-1 (IAM is global within a partition).
std::string iam_signing_region(std::string_view region);
/// endpoint_url() with the partition of `region` as the last fall-back.
std::string endpoint_url(const std::string& configured, const std::map<std::string, std::string>& env,
                         std::string_view region);

/// True when `host` (as returned by a URL parser, brackets allowed) is a loopback name.
bool is_loopback_host(std::string_view host);

}  // namespace iamq::client
