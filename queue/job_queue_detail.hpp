#pragma once
/// Helpers shared by job_queue.cpp (consuming) and job_queue_admin.cpp (producing, inspecting,
/// operating). Internal to the queue library.
#include <string>
#include <system_error>

#include "queue/error.hpp"
#include "queue/job_queue.hpp"
#include "queue/reply.hpp"

namespace iamq::queue::detail {

/// The status word a script returns first ("ok", "lost", "missing", "run" …).
inline std::string head(const Reply& r) {
  if (r.is_array() && !r.elements.empty()) return r.elements[0].as_string().value_or("");
  return {};
}

/// Script status words as error codes: lost -> lost_claim, missing -> not_found,
/// cancel -> cancel_requested, pause -> paused, "" -> protocol_error, others success.
inline std::error_code map_status(const std::string& status) {
  if (status == "lost") return make_error_code(Errc::lost_claim);
  if (status == "missing") return make_error_code(Errc::not_found);
  if (status == "cancel") return make_error_code(Errc::cancel_requested);
  if (status == "pause") return make_error_code(Errc::paused);
  if (status.empty()) return make_error_code(Errc::protocol_error);
  return {};
}

/// Done-style completion for scripts that return {'ok', …} | {'lost'} | {'missing'} ….
inline RedisConnection::Completion simple(JobQueue::Done done) {
  return [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec);
    done(map_status(head(r)));
  };
}

}  // namespace iamq::queue::detail
