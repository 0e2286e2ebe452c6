#pragma once
/// AWS Signature Version 4 (sans-io): every stage is a plain function, date and
/// credentials are passed in. OpenSSL EVP does the hashing.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.hpp"

namespace iamq::client {

/// An HTTP request as it will be (or was) sent. `path` and `query` are raw, as on the wire
/// (query without the leading '?'). Header names keep their case; `host` must be present.
struct SignableRequest {
  std::string method;
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Where and when a request is signed.
struct SigningScope {
  std::string region;    ///< e.g. "us-east-1"
  std::string service;   ///< e.g. "iam"
  std::string amz_date;  ///< ISO 8601 basic, "20150830T123600Z"
  std::string date() const { return amz_date.substr(0, 8); }
  std::string credential_scope() const;  ///< "20150830/us-east-1/iam/aws4_request"
};

/// "YYYYMMDDTHHMMSSZ" for a point in time (UTC).
std::string format_amz_date(std::chrono::system_clock::time_point t);
/// Parses "YYYYMMDDTHHMMSSZ"; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

/// The canonical request (stage 1). Signs every header present in `req`.
std::string canonical_request(const SignableRequest& req);
/// Semicolon-joined, sorted, lower-case names of the signed headers.
std::string signed_headers(const SignableRequest& req);
/// The string to sign (stage 2).
std::string string_to_sign(const std::string& canonical_request, const SigningScope& scope);
/// The SigV4 signing key (raw 32 bytes): HMAC chain over date, region, service, "aws4_request".
std::string signing_key(const std::string& secret_access_key, const SigningScope& scope);
/// signing_key(), from a small per-thread cache keyed by (secret, date, region, service):
/// the same bytes, derived once per key and UTC day instead of once per request.
std::string cached_signing_key(const std::string& secret_access_key, const SigningScope& scope);
/// The hex signature (stage 3), with the signing key from cached_signing_key().
std::string signature(const std::string& string_to_sign, const std::string& secret_access_key,
                      const SigningScope& scope);
/// The Authorization header value (stage 4).
std::string authorization_header(const SignableRequest& req, const Credentials& creds,
                                 const SigningScope& scope);

/// Signs `req` in place: adds X-Amz-Date (if absent), X-Amz-Security-Token (when the
/// credentials carry a session token) and Authorization. The caller sets host and body.
void sign(SignableRequest& req, const Credentials& creds, const SigningScope& scope);

/// Less common signing variants (the AWS test suite exercises them; IAM needs neither).
struct SignOptions {
  /// Add and sign `X-Amz-Content-SHA256` (the body's SHA-256), as S3-style services want.
  bool add_content_sha256 = false;
  /// Sign without the session token and add `X-Amz-Security-Token` afterwards, unsigned.
  bool omit_session_token = false;
};
/// sign() with options. Any Authorization header already present is replaced; an existing
/// X-Amz-Date is set to `scope.amz_date`. Throws CredentialsError for incomplete credentials
/// and std::invalid_argument when there is no Host header (programming errors, never signed).
void sign(SignableRequest& req, const Credentials& creds, const SigningScope& scope,
          const SignOptions& options);

/// The parts of a received Authorization header, for servers that verify (the emulator).
struct ParsedAuthorization {
  std::string access_key_id;
  std::string date;     ///< yyyymmdd from the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  ///< lower-case, as listed
  std::string signature;
};
/// Parses "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…"; nullopt if malformed.
std::optional<ParsedAuthorization> parse_authorization(std::string_view header_value);

/// Recomputes the signature of a received request: only the headers named in
/// `auth.signed_headers` are used. Returns true when it matches `auth.signature`.
bool verify_signature(const SignableRequest& received, const ParsedAuthorization& auth,
                      const std::string& secret_access_key, const std::string& amz_date);

}  // namespace iamq::client
