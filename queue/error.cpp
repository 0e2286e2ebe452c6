#include "queue/error.hpp"

namespace iamq::queue {
namespace {

class QueueCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "iamq.queue"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::timeout: return "Redis command timed out";
      case Errc::disconnected: return "Redis connection lost";
      case Errc::not_connected: return "Redis is not reachable";
      case Errc::connect_failed: return "cannot connect to Redis";
      case Errc::server_error: return "Redis returned an error";
      case Errc::protocol_error: return "unexpected Redis reply";
      case Errc::stopped: return "Redis connection stopped";
      case Errc::lost_claim: return "job entry was reclaimed by another consumer";
      case Errc::not_found: return "not found";
      case Errc::reply_too_large: return "Redis reply too large";
      case Errc::tls_error: return "TLS with Redis failed";
      case Errc::cancel_requested: return "the job was cancelled";
      case Errc::paused: return "the job's account is paused";
      case Errc::refused: return "refused in the job's current state";
    }
    return "unknown queue error";
  }
};

}  // namespace

const std::error_category& queue_category() noexcept {
  static const QueueCategory cat;
  return cat;
}

std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), queue_category()};
}

}  // namespace iamq::queue
