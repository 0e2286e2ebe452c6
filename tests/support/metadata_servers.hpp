#pragma once
/// Test support: small ECS container-credentials and EC2 IMDSv2 servers on loopback
/// (HttpTestServer underneath), answering what the real services answer, counting requests.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "tests/support/http_test_server.hpp"

namespace iamq::test {

/// Keys a metadata server hands out.
struct ServedCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  std::string expiration = "2099-01-01T00:00:00Z";
};

/// ECS: GET <path> with Authorization == token (when a token is set) → the credentials JSON.
class EcsTestServer {
 public:
  EcsTestServer(std::string path, std::string token, ServedCredentials creds);
  /// "http://127.0.0.1:PORT<path>": AWS_CONTAINER_CREDENTIALS_FULL_URI.
  std::string full_uri() const;
  std::size_t requests() const { return server_->requests_received(); }
  std::size_t refused() const { return refused_; }
  /// Answer a body of `bytes` bytes instead (hostile answer).
  void set_oversize(std::size_t bytes) { oversize_ = bytes; }

 private:
  std::string path_, token_;
  ServedCredentials creds_;
  std::atomic<std::size_t> refused_{0};
  std::atomic<std::size_t> oversize_{0};
  std::unique_ptr<HttpTestServer> server_;  // last: stopped before the members it reads
};

/// IMDSv2: PUT /latest/api/token (needs X-aws-ec2-metadata-token-ttl-seconds) → token;
/// GETs under /latest/meta-data/iam/security-credentials/ need X-aws-ec2-metadata-token.
class ImdsTestServer {
 public:
  ImdsTestServer(std::string role, ServedCredentials creds);
  /// "http://127.0.0.1:PORT": AWS_EC2_METADATA_SERVICE_ENDPOINT.
  std::string endpoint() const;
  std::size_t token_puts() const { return puts_; }
  std::size_t gets() const { return gets_; }
  std::size_t gets_without_token() const { return untokened_; }
  /// IMDSv1 only: the token PUT answers 403 (as with http-tokens disabled behind a proxy).
  void set_v1_only(bool v) { v1_only_ = v; }
  void set_oversize(std::size_t bytes) { oversize_ = bytes; }

 private:
  std::string role_, token_ = "AQAEAtesttoken==";
  ServedCredentials creds_;
  std::atomic<std::size_t> puts_{0}, gets_{0}, untokened_{0}, oversize_{0};
  std::atomic<bool> v1_only_{false};
  std::unique_ptr<HttpTestServer> server_;
};

}  // namespace iamq::test
