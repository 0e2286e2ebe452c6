#include "client/credentials_provider.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

namespace iamq::client {

namespace {

class StaticProvider : public CredentialsProvider {
 public:
  StaticProvider(Credentials c, std::string source) : creds_(std::move(c)), source_(std::move(source)) {}
  void get(Completion completion) override {
    if (creds_.access_key_id.empty())
      return completion(ProviderError{"MissingCredentials", source_ + ": access_key_id is empty"}, {});
    if (creds_.secret_access_key.empty())
      return completion(ProviderError{"MissingCredentials", source_ + ": secret_access_key is empty"}, {});
    completion(std::nullopt, TimedCredentials{creds_, std::nullopt});
  }
  std::string describe() const override { return source_; }

 private:
  Credentials creds_;
  std::string source_;
};

class FunctionProvider : public CredentialsProvider {
 public:
  FunctionProvider(std::function<Credentials()> f, std::string source)
      : loader_(std::move(f)), source_(std::move(source)) {}
  void get(Completion completion) override {
    TimedCredentials tc;
    try {
      tc.creds = loader_();
    } catch (const std::exception& e) {
      return completion(ProviderError{"MissingCredentials", e.what()}, {});
    }
    completion(std::nullopt, std::move(tc));
  }
  std::string describe() const override { return source_; }

 private:
  std::function<Credentials()> loader_;
  std::string source_;
};

class ChainProvider : public CredentialsProvider, public std::enable_shared_from_this<ChainProvider> {
 public:
  ChainProvider(std::vector<ProviderPtr> p, std::string name) : providers_(std::move(p)), name_(std::move(name)) {}

  void get(Completion completion) override {
    auto skipped = std::make_shared<std::vector<std::string>>();
    try_from(start_, std::move(completion), std::move(skipped));
  }
  std::string describe() const override {
    if (providers_.empty()) return name_;
    return name_ + " (" + providers_[std::min(start_, providers_.size() - 1)]->describe() + ")";
  }

 private:
  void try_from(std::size_t i, Completion completion, std::shared_ptr<std::vector<std::string>> skipped) {
    if (i >= providers_.size()) {
      std::string msg = name_ + ": no credentials found";
      if (!skipped->empty()) {
        msg += " (";
        for (std::size_t k = 0; k < skipped->size(); ++k) msg += (k ? "; " : "") + (*skipped)[k];
        msg += ")";
      }
      start_ = 0;
      return completion(ProviderError{"MissingCredentials", msg, true}, {});
    }
    auto self = shared_from_this();
    providers_[i]->get([self, i, completion = std::move(completion), skipped](
                           std::optional<ProviderError> err, TimedCredentials tc) mutable {
      if (err && err->not_configured) {
        skipped->push_back(err->message);
        return self->try_from(i + 1, std::move(completion), std::move(skipped));
      }
      if (!err) self->start_ = i;
      completion(std::move(err), std::move(tc));
    });
  }

  std::vector<ProviderPtr> providers_;
  std::string name_;
  std::size_t start_ = 0;  // the provider that answered last
};

}  // namespace

ProviderPtr make_static_provider(Credentials creds, std::string source) {
  return std::make_shared<StaticProvider>(std::move(creds), std::move(source));
}

ProviderPtr make_function_provider(std::function<Credentials()> loader, std::string source) {
  return std::make_shared<FunctionProvider>(std::move(loader), std::move(source));
}

ProviderPtr make_chain_provider(std::vector<ProviderPtr> providers, std::string name) {
  return std::make_shared<ChainProvider>(std::move(providers), std::move(name));
}

std::chrono::system_clock::time_point refresh_point(std::chrono::system_clock::time_point now,
                                                    std::chrono::system_clock::time_point expiration,
                                                    const CachingOptions& opts, double unit_draw) {
  using namespace std::chrono;
  const auto lifetime = expiration > now ? duration_cast<milliseconds>(expiration - now) : milliseconds(0);
  const auto ahead = std::min<milliseconds>(duration_cast<milliseconds>(opts.refresh_ahead), lifetime / 2);
  const auto jitter_cap = std::min<milliseconds>(duration_cast<milliseconds>(opts.jitter), lifetime / 4);
  const auto jitter = milliseconds(static_cast<std::int64_t>(static_cast<double>(jitter_cap.count()) *
                                                             std::clamp(unit_draw, 0.0, 1.0)));
  return expiration - ahead - jitter;
}

CachingProvider::CachingProvider(ProviderPtr source, CachingOptions options)
    : source_(std::move(source)), opts_(std::move(options)) {
  if (!opts_.clock) opts_.clock = [] { return std::chrono::system_clock::now(); };
  rng_.seed(opts_.random_seed != 0 ? opts_.random_seed : std::random_device{}());
}

std::shared_ptr<CachingProvider> make_caching_provider(ProviderPtr source, CachingOptions options) {
  return std::make_shared<CachingProvider>(std::move(source), std::move(options));
}

bool CachingProvider::usable(std::chrono::system_clock::time_point now) const {
  if (!cached_) return false;
  if (!cached_->expiration) return true;
  return now + margin_ < *cached_->expiration;
}

void CachingProvider::get(Completion completion) {
  const auto now = opts_.clock();
  if (usable(now)) {
    const bool due = refresh_at_ && now >= *refresh_at_ && (!next_attempt_ || now >= *next_attempt_);
    if (due && !in_flight_) start_refresh();
    // The old credentials until the new ones arrive: no caller waits for a refresh.
    return completion(std::nullopt, *cached_);
  }
  waiters_.push_back(std::move(completion));
  if (!in_flight_) start_refresh();
}

void CachingProvider::invalidate(std::uint64_t generation) {
  // Only the credentials that were rejected: a refresh since then already replaced them.
  if (generation != generation_ || !cached_) return;
  spdlog::info("credentials from {} rejected; fetching new ones", source_->describe());
  cached_.reset();
  refresh_at_.reset();
  next_attempt_.reset();
}

std::uint64_t CachingProvider::generation() const { return cached_ ? generation_ : 0; }

std::string CachingProvider::describe() const { return source_->describe(); }

void CachingProvider::start_refresh() {
  in_flight_ = true;
  ++refreshes_;
  std::weak_ptr<bool> alive = alive_;
  source_->get([this, alive](std::optional<ProviderError> err, TimedCredentials tc) {
    if (alive.expired()) return;
    on_refreshed(std::move(err), std::move(tc));
  });
}

void CachingProvider::on_refreshed(std::optional<ProviderError> err, TimedCredentials tc) {
  in_flight_ = false;
  const auto now = opts_.clock();
  if (err) {
    next_attempt_ = now + opts_.retry_after_failure;
    if (usable(now)) {
      spdlog::warn("credentials refresh from {} failed ({}: {}); the current ones stay in use",
                   source_->describe(), err->code, err->message);
    }
  } else {
    cached_ = std::move(tc);
    ++generation_;
    next_attempt_.reset();
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    refresh_at_.reset();
    if (cached_->expiration) {
      refresh_at_ = refresh_point(now, *cached_->expiration, opts_, unit(rng_));
      // Short-lived credentials (tests) get a margin to match: an eighth of their lifetime.
      const auto lifetime = *cached_->expiration > now ? *cached_->expiration - now : std::chrono::system_clock::duration(0);
      margin_ = std::min<std::chrono::system_clock::duration>(opts_.expiry_margin, lifetime / 8);
    }
  }
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& w : waiters) {
    if (cached_ && usable(now)) {
      w(std::nullopt, *cached_);
    } else if (err) {
      w(err, {});
    } else {
      w(ProviderError{"ExpiredToken", source_->describe() + ": the credentials returned are already expired"}, {});
    }
  }
}

}  // namespace iamq::client
