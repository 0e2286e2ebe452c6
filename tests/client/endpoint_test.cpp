#include "client/endpoint.hpp"

#include <gtest/gtest.h>

namespace iamq::client {
namespace {

TEST(Endpoint, DefaultIsIamGlobalEndpoint) {
  EXPECT_EQ(endpoint_url("", {}), "https://iam.amazonaws.com");
  auto ep = resolve_endpoint("", {});
  EXPECT_EQ(ep.scheme, "https");
  EXPECT_EQ(ep.host, "iam.amazonaws.com");
  EXPECT_EQ(ep.port, 0);
  EXPECT_EQ(ep.path, "/");
  EXPECT_EQ(ep.url(), "https://iam.amazonaws.com/");
  EXPECT_EQ(ep.host_header(), "iam.amazonaws.com");
  EXPECT_FALSE(ep.is_loopback());
}

TEST(Endpoint, PrecedenceConfiguredThenIamSpecificThenGeneric) {
  std::map<std::string, std::string> env{{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"},
                                         {"AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:2"}};
  EXPECT_EQ(endpoint_url("https://configured.example", env), "https://configured.example");
  EXPECT_EQ(endpoint_url("", env), "http://127.0.0.1:2");
  env.erase("AWS_ENDPOINT_URL_IAM");
  EXPECT_EQ(endpoint_url("", env), "http://127.0.0.1:1");
  env["AWS_ENDPOINT_URL_IAM"] = "";  // empty counts as unset
  EXPECT_EQ(endpoint_url("", env), "http://127.0.0.1:1");
}

TEST(Endpoint, ParsesPortAndPath) {
  auto ep = parse_endpoint("http://127.0.0.1:4566/iam/");
  EXPECT_EQ(ep.scheme, "http");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 4566);
  EXPECT_EQ(ep.path, "/iam/");
  EXPECT_EQ(ep.url(), "http://127.0.0.1:4566/iam/");
  EXPECT_EQ(ep.host_header(), "127.0.0.1:4566");
  EXPECT_TRUE(ep.is_loopback());

  // The scheme's default port is not repeated in the Host header.
  EXPECT_EQ(parse_endpoint("https://iam.amazonaws.com:443").host_header(), "iam.amazonaws.com");
  EXPECT_EQ(parse_endpoint("HTTPS://iam.amazonaws.com").scheme, "https");
  auto v6 = parse_endpoint("http://[::1]:8080");
  EXPECT_EQ(v6.host, "[::1]");
  EXPECT_EQ(v6.host_header(), "[::1]:8080");
  EXPECT_TRUE(v6.is_loopback());
}

TEST(Endpoint, RejectsUnusableUrlsWithClearErrors) {
  auto message = [](const char* url) {
    try {
      parse_endpoint(url);
    } catch (const EndpointError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("ftp://iam.amazonaws.com").find("http or https"), std::string::npos);
  EXPECT_NE(message("iam.amazonaws.com").find("missing scheme"), std::string::npos);
  EXPECT_NE(message("").find("empty"), std::string::npos);
  EXPECT_NE(message("https://user:pw@iam.amazonaws.com").find("user info"), std::string::npos);
  EXPECT_NE(message("https://iam.amazonaws.com/?a=b").find("query"), std::string::npos);
  EXPECT_NE(message("https://iam.amazonaws.com:99999").find("not a valid URL"),
            std::string::npos);
  EXPECT_NE(message("https://iam.amazonaws.com:99999").find("iam.amazonaws.com:99999"),
            std::string::npos);  // the message names the URL
  EXPECT_THROW(resolve_endpoint("", {{"AWS_ENDPOINT_URL_IAM", "nope"}}), EndpointError);
}

TEST(Endpoint, LoopbackHosts) {
  for (const char* h : {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    EXPECT_TRUE(is_loopback_host(h)) << h;
  }
  for (const char* h : {"10.0.0.1", "iam.amazonaws.com", "localhost.example.com", "[::2]",
                        "128.0.0.1", "0.0.0.0"}) {
    EXPECT_FALSE(is_loopback_host(h)) << h;
  }
}

}  // namespace
}  // namespace iamq::client

namespace iamq::client {
namespace {

TEST(Partition, IamEndpointAndSigningRegionFromTheRegion) {
  EXPECT_EQ(iam_partition_endpoint("us-east-1"), "https://iam.amazonaws.com");
  EXPECT_EQ(iam_partition_endpoint("eu-west-1"), "https://iam.amazonaws.com");
  EXPECT_EQ(iam_partition_endpoint("cn-northwest-1"), "https://iam.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(iam_partition_endpoint("us-gov-east-1"), "https://iam.us-gov.amazonaws.com");
  EXPECT_EQ(iam_signing_region("eu-west-1"), "us-east-1");
  EXPECT_EQ(iam_signing_region("cn-northwest-1"), "cn-north-1");
  EXPECT_EQ(iam_signing_region("us-gov-east-1"), "us-gov-west-1");
  EXPECT_EQ(endpoint_url("", {}, "cn-north-1"), "https://iam.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(endpoint_url("", {{"AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:1"}}, "cn-north-1"), "http://127.0.0.1:1");
  EXPECT_EQ(endpoint_url("https://x.example", {}, "cn-north-1"), "https://x.example");
}

}  // namespace
}  // namespace iamq::client
