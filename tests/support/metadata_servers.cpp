#include "tests/support/metadata_servers.hpp"

#include <nlohmann/json.hpp>

namespace iamq::test {

namespace {

std::string creds_json(const ServedCredentials& c, bool imds) {
  nlohmann::json j = {{"AccessKeyId", c.access_key_id},
                      {"SecretAccessKey", c.secret_access_key},
                      {"Token", c.token},
                      {"Expiration", c.expiration}};
  if (imds) {
    j["Code"] = "Success";
    j["Type"] = "AWS-HMAC";
    j["LastUpdated"] = "2024-01-01T00:00:00Z";
  } else {
    j["RoleArn"] = "arn:aws:iam::123456789012:role/ecs-task";
  }
  return j.dump();
}

}  // namespace

EcsTestServer::EcsTestServer(std::string path, std::string token, ServedCredentials creds)
    : path_(std::move(path)), token_(std::move(token)), creds_(std::move(creds)) {
  server_ = std::make_unique<HttpTestServer>([this](const HttpTestRequest& req) {
    if (req.method != "GET" || req.target != path_) return HttpTestResponse::text(404, "not found", "text/plain");
    if (!token_.empty() && req.header("authorization") != token_) {
      ++refused_;
      return HttpTestResponse::text(403, R"({"message":"bad token"})", "application/json");
    }
    if (oversize_ > 0) return HttpTestResponse::text(200, std::string(oversize_, 'x'), "application/json");
    return HttpTestResponse::text(200, creds_json(creds_, false), "application/json");
  });
}

std::string EcsTestServer::full_uri() const { return server_->url(path_); }

ImdsTestServer::ImdsTestServer(std::string role, ServedCredentials creds)
    : role_(std::move(role)), creds_(std::move(creds)) {
  server_ = std::make_unique<HttpTestServer>([this](const HttpTestRequest& req) {
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    if (req.method == "PUT" && req.target == "/latest/api/token") {
      ++puts_;
      if (v1_only_) return HttpTestResponse::text(403, "", "text/plain");
      if (req.header("x-aws-ec2-metadata-token-ttl-seconds").empty()) return HttpTestResponse::text(400, "", "text/plain");
      return HttpTestResponse::text(200, token_, "text/plain");
    }
    if (req.method == "GET" && req.target.rfind(base, 0) == 0) {
      ++gets_;
      if (req.header("x-aws-ec2-metadata-token") != token_) {
        ++untokened_;
        if (!v1_only_) return HttpTestResponse::text(401, "", "text/plain");
      }
      if (req.target == base) return HttpTestResponse::text(200, role_, "text/plain");
      if (req.target == base + role_) {
        if (oversize_ > 0) return HttpTestResponse::text(200, std::string(oversize_, 'x'), "text/plain");
        return HttpTestResponse::text(200, creds_json(creds_, true), "text/plain");
      }
    }
    return HttpTestResponse::text(404, "", "text/plain");
  });
}

std::string ImdsTestServer::endpoint() const {
  std::string u = server_->url("/");
  u.pop_back();
  return u;
}

}  // namespace iamq::test
