#pragma once
/// Work that must not run on the event loop (file reads, credential_process), run on a
/// small process-wide thread pool with bounds in time and size; the result is posted back
/// to the io_context. The io_context's run() is kept busy (a work guard) until then.
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

namespace iamq::client {

/// What off-loop work produced: output, or an error message (never holding the output).
struct OffLoopResult {
  std::optional<std::string> error;
  std::string output;
};

/// Runs `work` on the pool and `done(result)` on `ioc`. `work` must bound itself.
void run_off_loop(boost::asio::io_context& ioc, std::function<OffLoopResult()> work,
                  std::function<void(OffLoopResult)> done);

/// Reads a regular file of at most `max_bytes` (a FIFO or device is refused, so the read
/// cannot block). error: "cannot be read (…)", "is not a regular file", "is larger than N bytes".
OffLoopResult read_bounded_file(const std::string& path, std::size_t max_bytes);

/// Runs `command` with /bin/sh -c, stdin /dev/null, stderr discarded, and captures stdout.
/// Killed (SIGKILL, the whole process group) past `timeout` or past `max_bytes` of output.
/// error: "timed out after N ms", "wrote more than N bytes", "exited with status N", "killed by signal N".
OffLoopResult run_bounded_process(const std::string& command, std::chrono::milliseconds timeout,
                                  std::size_t max_bytes);

}  // namespace iamq::client
