#include "worker/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace iamq::worker {

namespace {

double seconds(RateLimiter::Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

RateLimiter::Clock::duration from_seconds(double s) {
  return std::chrono::duration_cast<RateLimiter::Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

RateLimiter::RateLimiter(Options opts, Now now) : opts_(opts), now_(std::move(now)) {
  if (!(opts_.rate > 0)) throw std::invalid_argument("rate limiter: rate must be > 0");
  if (!(opts_.burst >= 1)) throw std::invalid_argument("rate limiter: burst must be >= 1");
  opts_.cut_factor = std::clamp(opts_.cut_factor, 0.01, 1.0);
  opts_.floor_fraction = std::clamp(opts_.floor_fraction, 0.001, 1.0);
  if (!now_) now_ = [] { return Clock::now(); };
  rate_ = opts_.rate;
  tokens_ = opts_.burst;
  last_refill_ = last_change_ = last_cut_ = now_();
}

RateLimiter::RateLimiter(double rate, double burst, Now now)
    : RateLimiter(Options{.rate = rate, .burst = burst}, std::move(now)) {}

double RateLimiter::capacity() const {
  return std::max(1.0, opts_.burst * rate_ / opts_.rate);
}

void RateLimiter::refill(Clock::time_point t) {
  if (t <= last_refill_) return;
  tokens_ = std::min(capacity(), tokens_ + rate_ * seconds(t - last_refill_));
  last_refill_ = t;
}

double RateLimiter::tokens() const {
  const auto t = now_();
  if (t <= last_refill_) return tokens_;
  return std::min(capacity(), tokens_ + rate_ * seconds(t - last_refill_));
}

RateLimiter::Clock::duration RateLimiter::reserve() {
  refill(now_());
  tokens_ -= 1.0;
  if (tokens_ >= 0) return Clock::duration::zero();
  // Our token arrives once the debt (including ours) is paid back at the current rate.
  return from_seconds(-tokens_ / rate_);
}

bool RateLimiter::try_acquire() {
  refill(now_());
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

RateLimiter::Clock::duration RateLimiter::time_until_available() const {
  const double t = tokens();
  if (t >= 1.0) return Clock::duration::zero();
  return from_seconds((1.0 - t) / rate_);
}

void RateLimiter::on_throttled() {
  if (!opts_.adaptive) return;
  const auto t = now_();
  // Calls already in flight when the first throttle arrived answer "throttled" too; they
  // describe the same overload, so they count as one cut.
  if (cut_ever_ && t - last_cut_ < opts_.cut_cooldown) return;
  refill(t);
  rate_ = std::max(opts_.rate * opts_.floor_fraction, rate_ * opts_.cut_factor);
  tokens_ = std::min(tokens_, 0.0);  // no burst right after a throttle
  last_cut_ = last_change_ = t;
  cut_ever_ = true;
}

void RateLimiter::on_success() {
  if (!opts_.adaptive) return;
  const auto t = now_();
  if (rate_ >= opts_.rate) {
    last_change_ = t;
    return;
  }
  refill(t);  // tokens earned so far at the old rate
  const double period = std::max(1e-3, seconds(opts_.recovery_period));
  const double elapsed = std::max(0.0, seconds(t - last_change_));
  rate_ = std::min(opts_.rate, rate_ + opts_.rate * elapsed / period);
  last_change_ = t;
}

void RateLimiter::reconfigure(double rate, double burst) {
  if (!(rate > 0)) throw std::invalid_argument("rate limiter: rate must be > 0");
  if (!(burst >= 1)) throw std::invalid_argument("rate limiter: burst must be >= 1");
  refill(now_());
  const bool at_full = rate_ >= opts_.rate;
  opts_.rate = rate;
  opts_.burst = burst;
  rate_ = at_full ? rate : std::min(rate_, rate);
  tokens_ = std::min(tokens_, capacity());
}

}  // namespace iamq::worker
