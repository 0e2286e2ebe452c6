#include "queue/reconnect_backoff.hpp"

#include <algorithm>

namespace iamq::queue {

ReconnectBackoff::ReconnectBackoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)) {}

std::chrono::milliseconds ReconnectBackoff::ceiling() const {
  // Doubling stops at the cap (and long before 2^k overflows).
  long long d = min_.count();
  for (int i = 0; i < failures_ && d < max_.count(); ++i) d *= 2;
  return std::chrono::milliseconds(std::min(d, static_cast<long long>(max_.count())));
}

std::chrono::milliseconds ReconnectBackoff::next(std::uint32_t random) {
  const long long d = ceiling().count();
  ++failures_;
  const long long half = d / 2;
  const long long span = d - half + 1;  // [d/2, d]
  return std::chrono::milliseconds(half + static_cast<long long>(random % span));
}

}  // namespace iamq::queue
