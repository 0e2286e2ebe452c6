#pragma once
/// Credentials providers: one asynchronous interface, a chain that tries sources in order,
/// and a caching provider that refreshes temporary credentials ahead of their expiry with
/// one refresh in flight shared by every waiter (after aws-c-auth's
/// credentials_provider_chain_default.c and credentials_provider_cached.c).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/credentials.hpp"

namespace iamq::client {

using SystemClock = std::function<std::chrono::system_clock::time_point()>;

/// Credentials with their lifetime. `expiration` is empty for long-lived keys.
struct TimedCredentials {
  Credentials creds;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

/// Why a provider produced nothing. The message names the source and the rule, never a
/// secret. `not_configured`: the source is not set up at all, so a chain goes on to the next.
struct ProviderError {
  std::string code = "MissingCredentials";  ///< also "AccessDenied", "ExpiredToken", "Timeout"…
  std::string message;
  bool not_configured = false;
  /// The answer came from STS with class `denied` (AssumeRole refused: trust, ExternalId…).
  bool denied = false;
};

/// One source of credentials. get() completes exactly once, on the io_context (possibly
/// before get() returns when the answer is already known: callers must not hold locks).
class CredentialsProvider {
 public:
  using Completion = std::function<void(std::optional<ProviderError> error, TimedCredentials creds)>;
  virtual ~CredentialsProvider() = default;
  /// Fetches credentials (sources fetch every time; CachingProvider caches).
  virtual void get(Completion completion) = 0;
  /// A credentials-class answer (ExpiredToken…) came back for credentials of `generation`:
  /// the next get() must not hand them out again. Default: nothing cached, nothing to do.
  virtual void invalidate(std::uint64_t generation) { (void)generation; }
  /// Generation of the credentials the last completed get() returned (0: not cached).
  virtual std::uint64_t generation() const { return 0; }
  /// Short description for logs: "environment", "assume-role arn:aws:iam::…:role/x".
  virtual std::string describe() const = 0;
};
using ProviderPtr = std::shared_ptr<CredentialsProvider>;

/// Fixed keys; an incomplete pair is a ProviderError naming `source`.
ProviderPtr make_static_provider(Credentials creds, std::string source = "static keys");

/// Runs a synchronous loader (the old CredentialsLoader) on each get(); a CredentialsError
/// becomes a ProviderError. Only for loaders that do no I/O worth leaving the loop for.
ProviderPtr make_function_provider(std::function<Credentials()> loader, std::string source);

/// Tries each provider in order; the first that answers wins. A `not_configured` error
/// moves on; any other error stops the chain (a half-configured source is a mistake to
/// report, not to skip). Once a provider has answered, later get()s start with it.
ProviderPtr make_chain_provider(std::vector<ProviderPtr> providers, std::string name = "default chain");

/// Tuning of a CachingProvider.
struct CachingOptions {
  /// Refresh this long before expiry (capped at half the lifetime, for short-lived test keys).
  std::chrono::seconds refresh_ahead{300};
  /// Plus a uniform random extra in [0, jitter] so that many workers do not refresh together.
  std::chrono::seconds jitter{60};
  /// Credentials are never handed out closer than this to their expiry (a call signed at
  /// that moment could reach AWS after it): a get() then waits for the refresh. Capped at
  /// an eighth of the lifetime.
  std::chrono::seconds expiry_margin{10};
  /// After a failed refresh, the next attempt waits this long (old credentials are used).
  std::chrono::seconds retry_after_failure{10};
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
  std::uint64_t random_seed = 0;  ///< 0: from std::random_device
};

/// Caches what `source` returns. Long-lived keys are kept until invalidate(); temporary
/// ones until their refresh point, after which the next get() starts one refresh and is
/// answered with the old credentials at once (no stall) as long as they are not within
/// expiry_margin of expiry; callers that arrive with nothing usable wait for the refresh,
/// all of them on the same one.
class CachingProvider : public CredentialsProvider {
 public:
  CachingProvider(ProviderPtr source, CachingOptions options = {});
  void get(Completion completion) override;
  void invalidate(std::uint64_t generation) override;
  std::uint64_t generation() const override;
  std::string describe() const override;

  /// Fetches of the source so far (tests, bench).
  std::uint64_t refreshes() const { return refreshes_; }
  /// When the cached credentials will be refreshed (nullopt: none cached or long-lived).
  std::optional<std::chrono::system_clock::time_point> refresh_at() const { return refresh_at_; }

 private:
  void start_refresh();
  void on_refreshed(std::optional<ProviderError> error, TimedCredentials creds);
  bool usable(std::chrono::system_clock::time_point now) const;

  ProviderPtr source_;
  CachingOptions opts_;
  std::mt19937_64 rng_;
  std::optional<TimedCredentials> cached_;
  std::optional<std::chrono::system_clock::time_point> refresh_at_;
  std::optional<std::chrono::system_clock::time_point> next_attempt_;  // after a failure
  std::chrono::system_clock::duration margin_{0};  // expiry_margin, capped at lifetime/8
  std::uint64_t generation_ = 0;
  std::uint64_t refreshes_ = 0;
  bool in_flight_ = false;
  std::vector<Completion> waiters_;
  // Shared with the completion of a refresh in flight: a provider destroyed meanwhile is
  // not touched.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// make_shared<CachingProvider>(…), as a ProviderPtr.
std::shared_ptr<CachingProvider> make_caching_provider(ProviderPtr source, CachingOptions options = {});

/// The refresh point for credentials obtained at `now` that expire at `expiration`:
/// expiration − min(refresh_ahead, lifetime/2) − jitter_draw (jitter_draw ≤ min(jitter, lifetime/4)).
std::chrono::system_clock::time_point refresh_point(std::chrono::system_clock::time_point now,
                                                    std::chrono::system_clock::time_point expiration,
                                                    const CachingOptions& opts, double unit_draw);

}  // namespace iamq::client
