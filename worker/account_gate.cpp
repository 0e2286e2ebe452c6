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
  const std::size_t wanted = wanted_running();
  if (busy_ >= wanted) return g;
  const double tokens = std::max(1.0, std::floor(limiter_.tokens()));
  g.jobs = std::min({free_slots, static_cast<std::size_t>(tokens), wanted - busy_});
  return g;
}

void AccountGate::on_cycle(Clock::duration d) {
  if (d < Clock::duration::zero()) return;
  if (!cycle_measured_) {
    cycle_ = d;
    cycle_measured_ = true;
    return;
  }
  cycle_ = cycle_ - cycle_ / 8 + d / 8;  // weight 1/8: follows a change within a few dozen calls
}

std::size_t AccountGate::wanted_running() const {
  const double per_job = std::chrono::duration<double>(cycle_).count();
  const double jobs = std::ceil(limiter_.current_rate() * per_job) + 1.0;
  // An account without a real limit (a rate far above what any slot count can reach) wants
  // every slot; the cap only keeps the double in range.
  return jobs >= 1e9 ? static_cast<std::size_t>(1e9) : static_cast<std::size_t>(jobs);
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
  if (busy_ >= wanted_running()) return "busy";
  return "";
}

}  // namespace iamq::worker
