#include "client/off_loop.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

extern char** environ;

namespace iamq::client {

namespace {

boost::asio::thread_pool& pool() {
  // Two threads: credential sources are few and each bounds itself.
  static boost::asio::thread_pool p(2);
  return p;
}

struct FdCloser {
  int fd = -1;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void run_off_loop(boost::asio::io_context& ioc, std::function<OffLoopResult()> work,
                  std::function<void(OffLoopResult)> done) {
  auto guard = std::make_shared<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>(
      ioc.get_executor());
  boost::asio::post(pool(), [&ioc, guard, work = std::move(work), done = std::move(done)]() mutable {
    OffLoopResult r;
    try {
      r = work();
    } catch (const std::exception& e) {
      r.error = e.what();
    }
    boost::asio::post(ioc, [guard, done = std::move(done), r = std::move(r)]() mutable {
      done(std::move(r));
      guard->reset();
    });
  });
}

OffLoopResult read_bounded_file(const std::string& path, std::size_t max_bytes) {
  OffLoopResult r;
  FdCloser f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) {
    r.error = "cannot be read (" + errno_text() + ")";
    return r;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    r.error = "cannot be read (" + errno_text() + ")";
    return r;
  }
  if (!S_ISREG(st.st_mode)) {
    r.error = "is not a regular file";
    return r;
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    r.error = "is larger than " + std::to_string(max_bytes) + " bytes";
    return r;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = "read error (" + errno_text() + ")";
      return r;
    }
    if (n == 0) break;
    r.output.append(buf, static_cast<std::size_t>(n));
    if (r.output.size() > max_bytes) {
      r.output.clear();
      r.error = "is larger than " + std::to_string(max_bytes) + " bytes";
      return r;
    }
  }
  return r;
}

OffLoopResult run_bounded_process(const std::string& command, std::chrono::milliseconds timeout,
                                  std::size_t max_bytes) {
  OffLoopResult r;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    r.error = "cannot create a pipe (" + errno_text() + ")";
    return r;
  }
  FdCloser read_end{out[0]};
  FdCloser write_end{out[1]};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    r.error = std::string("cannot be started (") + std::strerror(rc) + ")";
    return r;
  }
  ::close(write_end.fd);
  write_end.fd = -1;

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool killed = false;
  char buf[8192];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.error = "timed out after " + std::to_string(timeout.count()) + " ms";
      killed = true;
      break;
    }
    pollfd p{read_end.fd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;  // the deadline check above ends it
    ssize_t got = ::read(read_end.fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // EOF: the process closed stdout
    r.output.append(buf, static_cast<std::size_t>(got));
    if (r.output.size() > max_bytes) {
      r.error = "wrote more than " + std::to_string(max_bytes) + " bytes";
      killed = true;
      break;
    }
  }
  if (killed) ::kill(-pid, SIGKILL);
  int status = 0;
  // After EOF the process normally exits at once; bound the wait anyway.
  for (;;) {
    pid_t w = ::waitpid(pid, &status, killed ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (w == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(-pid, SIGKILL);
        killed = true;
        if (!r.error) r.error = "timed out after " + std::to_string(timeout.count()) + " ms";
      } else {
        ::usleep(2000);
      }
    }
  }
  if (r.error) {
    r.output.clear();
    return r;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    r.error = "exited with status " + std::to_string(WEXITSTATUS(status));
    r.output.clear();
  } else if (WIFSIGNALED(status)) {
    r.error = "killed by signal " + std::to_string(WTERMSIG(status));
    r.output.clear();
  }
  return r;
}

}  // namespace iamq::client
