#include "client/endpoint.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <memory>

#include <curl/curl.h>

namespace iamq::client {
namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlFree {
  void operator()(char* p) const { curl_free(p); }
};
using CurlString = std::unique_ptr<char, CurlFree>;

/// One part of a parsed URL; nullopt-like empty string when the URL has none.
bool get_part(CURLU* url, CURLUPart part, std::string& out) {
  char* raw = nullptr;
  CURLUcode rc = curl_url_get(url, part, &raw, 0);
  CurlString holder(raw);
  if (rc != CURLUE_OK || raw == nullptr) return false;
  out = raw;
  return true;
}

[[noreturn]] void fail(std::string_view url, const std::string& why) {
  throw EndpointError("endpoint \"" + std::string(url) + "\": " + why);
}

int default_port(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

}  // namespace

std::string Endpoint::url() const {
  std::string u = scheme + "://" + host;
  if (port != 0) u += ":" + std::to_string(port);
  u += path;
  return u;
}

std::string Endpoint::host_header() const {
  if (port == 0 || port == default_port(scheme)) return host;
  return host + ":" + std::to_string(port);
}

bool Endpoint::is_loopback() const { return is_loopback_host(host); }

bool is_loopback_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost" || h == "localhost.") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    return IN6_IS_ADDR_LOOPBACK(&v6) != 0;
  }
  return false;
}

Endpoint parse_endpoint(std::string_view text) {
  if (text.empty()) fail(text, "empty URL");
  // libcurl's own URL parser: the transport will read the URL exactly as we validate it.
  UrlPtr url(curl_url());
  if (!url) throw EndpointError("out of memory parsing endpoint URL");
  const std::string s(text);
  if (s.find("://") == std::string::npos) {
    fail(text, "missing scheme (expected https://host[:port][/path])");
  }
  if (CURLUcode rc = curl_url_set(url.get(), CURLUPART_URL, s.c_str(), 0); rc != CURLUE_OK) {
    fail(text, std::string("not a valid URL (") + curl_url_strerror(rc) + ")");
  }
  Endpoint ep;
  get_part(url.get(), CURLUPART_SCHEME, ep.scheme);
  for (char& c : ep.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ep.scheme != "http" && ep.scheme != "https") {
    fail(text, "scheme must be http or https, not \"" + ep.scheme + "\"");
  }
  if (!get_part(url.get(), CURLUPART_HOST, ep.host) || ep.host.empty()) {
    fail(text, "missing host");
  }
  std::string ignored;
  if (get_part(url.get(), CURLUPART_USER, ignored) ||
      get_part(url.get(), CURLUPART_PASSWORD, ignored)) {
    fail(text, "user info is not allowed in an endpoint URL");
  }
  if (get_part(url.get(), CURLUPART_QUERY, ignored)) fail(text, "a query string is not allowed");
  if (get_part(url.get(), CURLUPART_FRAGMENT, ignored)) fail(text, "a fragment is not allowed");
  std::string port;
  if (get_part(url.get(), CURLUPART_PORT, port)) {
    // curl has already checked it is a number in 0..65535.
    ep.port = std::stoi(port);
    if (ep.port == 0) fail(text, "port 0 is not allowed");
  }
  if (!get_part(url.get(), CURLUPART_PATH, ep.path) || ep.path.empty()) ep.path = "/";
  return ep;
}

std::string endpoint_url(const std::string& configured,
                         const std::map<std::string, std::string>& env) {
  if (!configured.empty()) return configured;
  for (const char* name : {"AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"}) {
    if (auto it = env.find(name); it != env.end() && !it->second.empty()) return it->second;
  }
  return std::string(kDefaultIamEndpoint);
}

std::string iam_partition_endpoint(std::string_view region) {
  if (region.rfind("cn-", 0) == 0) return "https://iam.cn-north-1.amazonaws.com.cn";
  if (region.rfind("us-gov-", 0) == 0) return "https://iam.us-gov.amazonaws.com";
  return std::string(kDefaultIamEndpoint);
}

std::string iam_signing_region(std::string_view region) {
  if (region.rfind("cn-", 0) == 0) return "cn-north-1";
  if (region.rfind("us-gov-", 0) == 0) return "us-gov-west-1";
  return "us-east-1";
}

std::string endpoint_url(const std::string& configured, const std::map<std::string, std::string>& env,
                         std::string_view region) {
  std::string u = endpoint_url(configured, env);
  if (configured.empty() && u == kDefaultIamEndpoint) return iam_partition_endpoint(region);
  return u;
}

Endpoint resolve_endpoint(const std::string& configured,
                          const std::map<std::string, std::string>& env) {
  return parse_endpoint(endpoint_url(configured, env));
}

}  // namespace iamq::client
