#pragma once
/// Errors of the queue module (Redis connection and job queue), as std::error_code.
#include <string>
#include <system_error>

namespace iamq::queue {

/// What went wrong talking to Redis or moving a job.
enum class Errc {
  ok = 0,
  timeout = 1,      ///< the command got no reply within its timeout (the connection is dropped)
  disconnected,     ///< the connection dropped while the command was outstanding
  not_connected,    ///< Redis is unreachable and the connection does not reconnect (CLI mode)
  connect_failed,   ///< TCP connect, AUTH or SELECT failed
  server_error,     ///< Redis answered with an error reply (the Reply holds its text)
  protocol_error,   ///< a reply did not have the shape the caller expected
  stopped,          ///< the connection was stopped before the command completed
  lost_claim,       ///< the stream entry is no longer owned by this consumer (reclaimed elsewhere)
  not_found,        ///< no such job / entry
  reply_too_large,  ///< a reply exceeded the parser's size bound (the connection is dropped)
  tls_error,        ///< TLS handshake or certificate verification failed
  cancel_requested, ///< `iamq cancel` asked for this running job: stop before its next call
  paused,           ///< the job's account (or every account) is paused: hand it back
  refused,          ///< the job is not in a state that allows this (retry of a running job…)
};

const std::error_category& queue_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

}  // namespace iamq::queue

template <>
struct std::is_error_code_enum<iamq::queue::Errc> : std::true_type {};
