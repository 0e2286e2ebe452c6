#pragma once
/// The asynchronous IAM client: one call = Query-encode, SigV4-sign, POST over the
/// CurlMultiTransport, parse and classify the answer. A `credentials`-class answer makes
/// it reload the credentials once and retry once; every other retry decision belongs to
/// the caller (the worker's retry policy keys on IamError::error_class).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "client/credentials.hpp"
#include "client/credentials_provider.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/iam_response.hpp"
#include "client/query_encoder.hpp"

namespace iamq::client {

/// Loads credentials; called on the first call and again for the one refresh after a
/// credentials-class error. Throws CredentialsError (its message never holds a secret).
using CredentialsLoader = std::function<Credentials()>;

/// default_credentials(environment_snapshot()), re-read on every load: environment keys
/// when AWS_ACCESS_KEY_ID is set, otherwise the shared file's AWS_PROFILE profile.
CredentialsLoader environment_credentials_loader();
/// The shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials),
/// profile `profile` (empty: AWS_PROFILE, else "default"), re-read on every load.
CredentialsLoader profile_credentials_loader(std::string profile);
/// Fixed keys (a refresh returns the same keys). Throws CredentialsError when incomplete.
CredentialsLoader static_credentials_loader(Credentials creds);

/// Where and how one client calls IAM.
struct IamClientOptions {
  Endpoint endpoint;                  ///< see resolve_endpoint()
  std::string region = "us-east-1";   ///< SigV4 signing region
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  /// Signing time source (tests inject a fixed clock).
  std::function<std::chrono::system_clock::time_point()> clock = [] {
    return std::chrono::system_clock::now();
  };
};

/// Facts about one call(), whatever its outcome.
struct CallInfo {
  std::chrono::milliseconds duration{0};  ///< from call() to completion, all HTTP attempts
  int http_attempts = 0;                  ///< 1, or 2 after a credentials refresh-and-retry
  bool credentials_refreshed = false;     ///< the loader ran again after a credentials error
  int http_status = 0;                    ///< of the last attempt (0: no response)
  bool connection_reused = false;         ///< of the last attempt
};

/// IAM over a shared transport. Each call is independent (no client-side queueing or
/// rate limiting). A client may be destroyed with calls in flight: they still complete.
/// The transport must outlive every call in flight. Not thread-safe (io_context thread).
class IamClient {
 public:
  /// ec: empty, or std::errc::operation_canceled when the transport was stopped (then
  /// outcome.error is also set: class transient, code "Cancelled"). IAM and transport
  /// failures are in outcome.error: transport codes are "Timeout", "ConnectionError"
  /// (transient), "ResponseTooLarge", "TlsError", "InsecureEndpoint", "InvalidEndpoint",
  /// "Redirect" (terminal), "TransportError" (transient), "MissingCredentials"
  /// (credentials). Messages never contain secrets.
  using Completion = std::function<void(std::error_code ec, Outcome outcome, CallInfo info)>;

  /// The loader is wrapped in a CachingProvider (loaded once, again after a credentials error).
  IamClient(CurlMultiTransport& transport, IamClientOptions opts, CredentialsLoader loader);
  /// Credentials from `provider` (normally a CachingProvider shared by every client of the
  /// account): a credentials-class answer invalidates the generation it was signed with and
  /// the call is retried once with what the provider gives next.
  IamClient(CurlMultiTransport& transport, IamClientOptions opts, ProviderPtr provider);
  ~IamClient();
  IamClient(const IamClient&) = delete;
  IamClient& operator=(const IamClient&) = delete;

  /// Calls IAM `action` (e.g. "ListMFADevices") with `params`. The completion runs on the
  /// io_context, never inside call().
  void call(std::string action, Params params, Completion completion);

  /// Runs the loader now (loader-built clients; a no-op with a provider). Throws
  /// CredentialsError; lets a command fail at start-up with a clear message.
  void load_credentials();
  const ProviderPtr& provider() const;

  const IamClientOptions& options() const;

  struct State;

 private:
  std::shared_ptr<State> state_;  // shared with calls in flight
};

/// Maps a transport failure to the IamError a caller sees (class, code, message).
IamError transport_error_to_iam_error(std::error_code ec, const HttpResponse& response);

}  // namespace iamq::client
