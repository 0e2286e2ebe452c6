#pragma once
/// IAM responses (sans-io): the XML result document and the error document, parsed with
/// pugixml, and the classification of errors that drives retry decisions.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace iamq::client {

/// What kind of failure a call ended in; the worker's retry policy keys on this.
enum class ErrorClass {
  throttled,                ///< Throttling, RequestLimitExceeded, TooManyRequests… (400/429)
  transient,                ///< 5xx, ServiceFailure, timeouts, connection errors, non-XML bodies
  unmodifiable,             ///< EntityTemporarilyUnmodifiable (409)
  concurrent_modification,  ///< ConcurrentModification (409)
  absent,                   ///< NoSuchEntity (404)
  conflict,                 ///< DeleteConflict (409)
  credentials,              ///< InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken, RequestExpired
  denied,                   ///< AccessDenied
  /// The endpoint does not implement the action: HTTP 501, NotImplemented, InvalidAction,
  /// UnknownOperation (or, decided by the worker's UnsupportedDetector, a 5xx without IAM's
  /// error envelope that repeats for one action while other actions answer). Never retried;
  /// a read-only List* step records it and goes on, any other call fails with it.
  unsupported,
  terminal,                 ///< everything else: LimitExceeded, ValidationError, InvalidInput…
};
std::string_view to_string(ErrorClass c);

/// Classifies an error by IAM error code and HTTP status (code wins when known).
ErrorClass classify(std::string_view code, int http_status);

/// A failed call.
struct IamError {
  ErrorClass error_class = ErrorClass::terminal;
  int http_status = 0;     ///< 0 when no HTTP response arrived (timeout, reset)
  std::string code;        ///< IAM error code, or "Timeout"/"ConnectionError"/"NonXmlResponse"…
  std::string message;     ///< IAM's message, or a short description (body excerpt ≤ 200 chars)
  std::string request_id;  ///< when the response carried one
};

/// A successful call's result: the <ActionResult> element as JSON-ish data.
/// Scalars become strings; `member` lists become arrays; nested structures become objects.
/// For ListMFADevices: {"MFADevices":[{"UserName":"a","SerialNumber":"…",…}],"IsTruncated":"false"}
struct IamResult {
  int http_status = 200;
  std::string request_id;
  nlohmann::json result = nlohmann::json::object();  ///< contents of <ActionResult>
  std::string raw_xml;                                ///< the body as received
  bool is_truncated() const;                          ///< IsTruncated == "true"
  std::optional<std::string> marker() const;          ///< Marker when truncated
};

/// Either a result or an error.
struct Outcome {
  std::optional<IamResult> ok;
  std::optional<IamError> error;
  bool succeeded() const { return ok.has_value(); }
};

/// The XML namespaces of the AWS Query APIs whose answers parse_response accepts.
inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";
inline constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Parses an HTTP response body from IAM into an Outcome. 2xx with a well-formed
/// <`action`Response> in the IAM (or STS) namespace → ok; any other root element or
/// namespace → `UnexpectedResponse` (terminal; transient for an HTML page with a non-2xx
/// status); an <ErrorResponse> (both the <Error> and <Errors><Error> shapes,
/// unknown extra elements tolerated) → classified error; a body that is not XML (an HTML
/// 503 page, truncated XML) → transient (5xx) or terminal (other) with the status and a
/// short excerpt (transient too for an HTML page with a 4xx). Never throws.
Outcome parse_response(std::string_view action, int http_status, std::string_view body);

/// The list under `key` in a result object, whatever shape it came out in: an array (one or
/// more <member>s), an empty string or missing (an empty list element), or a single object.
/// E.g. members(r.result, "MFADevices") for ListMFADevices.
std::vector<nlohmann::json> members(const nlohmann::json& result, std::string_view key);

/// A printable excerpt of a response body for error messages: at most `max_bytes` bytes (cut
/// on a UTF-8 boundary, "…" appended when cut), control characters replaced by spaces and
/// runs of whitespace collapsed, the contents of secret-bearing elements (SecretAccessKey,
/// SessionToken, Password, ServicePassword, PrivateKey) replaced by "***". "(empty body)" for
/// an empty body.
std::string body_excerpt(std::string_view body, std::size_t max_bytes = 200);

/// True when the error came without IAM's error envelope (<ErrorResponse>): a body that is
/// not XML, HTML, or XML that is not an IAM document.
bool without_error_envelope(const IamError& e);

}  // namespace iamq::client
