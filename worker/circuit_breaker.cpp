#include "worker/circuit_breaker.hpp"

#include <utility>

namespace iamq::worker {

CircuitBreaker::CircuitBreaker(std::chrono::milliseconds probe_interval, Now now)
    : interval_(probe_interval), now_(std::move(now)) {
  if (!now_) now_ = [] { return Clock::now(); };
}

bool CircuitBreaker::allow() {
  switch (state_) {
    case State::closed:
      return true;
    case State::half_open:
      return false;
    case State::open:
      if (now_() >= probe_due_) {
        state_ = State::half_open;
        return true;
      }
      return false;
  }
  return false;
}

void CircuitBreaker::on_success() {
  state_ = State::closed;
  last_error_.reset();
  opened_at_.reset();
}

void CircuitBreaker::on_credentials_error(const client::IamError& error) {
  const auto t = now_();
  state_ = State::open;
  last_error_ = error;
  opened_at_ = t;
  probe_due_ = t + interval_;
  ++open_count_;
}

void CircuitBreaker::release_probe() {
  if (state_ != State::half_open) return;
  state_ = State::open;
  probe_due_ = now_();
}

CircuitBreaker::Clock::duration CircuitBreaker::retry_in() const {
  switch (state_) {
    case State::closed:
      return Clock::duration::zero();
    case State::half_open:
      return interval_;
    case State::open: {
      const auto t = now_();
      return t >= probe_due_ ? Clock::duration::zero() : probe_due_ - t;
    }
  }
  return Clock::duration::zero();
}

std::string_view to_string(CircuitBreaker::State s) {
  switch (s) {
    case CircuitBreaker::State::closed: return "closed";
    case CircuitBreaker::State::open: return "open";
    case CircuitBreaker::State::half_open: return "half_open";
  }
  return "closed";
}

}  // namespace iamq::worker
