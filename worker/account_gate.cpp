#include "worker/account_gate.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace iamq::worker {

AccountGate::AccountGate(std::string name, RateLimiter::Options limiter,
                         std::chrono::milliseconds probe_interval, Now now)
    : name_(std::move(name)), limiter_(limiter, now), breaker_(probe_interval, now) {}

AccountGate::Grant AccountGate::grant(std::size_t free_slots) {
  Grant g;
  if (free_slots == 0 || paused_) return g;
  // A token first: the probe job too must be able to make its first call at once.
  if (waiting_ > 0 || limiter_.time_until_available() > Clock::duration::zero()) return g;
  switch (breaker_.state()) {
    case CircuitBreaker::State::half_open:
      return g;  // the probe is out
    case CircuitBreaker::State::open:
      if (!breaker_.allow()) return g;
      g.jobs = 1;
      g.probe = true;
      return g;
    case CircuitBreaker::State::closed:
      break;
  }
  const double tokens = std::max(1.0, std::floor(limiter_.tokens()));
  g.jobs = std::min(free_slots, static_cast<std::size_t>(tokens));
  return g;
}

void AccountGate::on_claimed(const Grant& g, std::size_t started) {
  if (g.probe && started == 0 && breaker_.state() == CircuitBreaker::State::half_open) {
    breaker_.release_probe();
  }
}

std::string AccountGate::closed_reason() const {
  if (paused_) return "paused";
  if (breaker_.state() != CircuitBreaker::State::closed) return "circuit_open";
  if (waiting_ > 0 || limiter_.time_until_available() > Clock::duration::zero()) return "rate";
  return "";
}

}  // namespace iamq::worker
