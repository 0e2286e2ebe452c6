#pragma once
/// Test support: run a real program (redis-server, iamq-emulator, iamq, aws) as a child
/// process, read its output, signal it, and find free loopback ports.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace iamq::test {

/// A free TCP port on 127.0.0.1 (bound then released; good enough for tests).
int free_port();

/// The value of an environment variable set by CTest (IAMQ_BIN, IAMQ_EMULATOR_BIN, …),
/// or `fallback`.
std::string env_or(const char* name, const std::string& fallback);

/// A child process with its stdout (and optionally stderr) piped back to the test.
/// The destructor sends SIGKILL and reaps it if it is still running.
class ChildProcess {
 public:
  struct Options {
    std::map<std::string, std::string> env_overrides;  ///< set on top of the current environment
    std::vector<std::string> env_remove;               ///< unset in the child
    bool merge_stderr = false;  ///< stderr into the same pipe as stdout
    std::string stdin_data;     ///< written to the child's stdin, then closed
    std::string workdir;
  };

  ChildProcess(const std::vector<std::string>& argv, Options opts);
  explicit ChildProcess(const std::vector<std::string>& argv) : ChildProcess(argv, Options{}) {}
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Next line of stdout, waiting at most `timeout`; nullopt on timeout or EOF.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Everything the child writes until it exits (or `timeout`, then SIGKILL).
  std::string read_all(std::chrono::milliseconds timeout);
  void signal(int sig);
  /// Waits for exit; returns the exit status (128+signal if killed), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
  std::optional<int> status_;
};

/// Runs a program to completion and returns {exit status, stdout, stderr}.
struct RunResult {
  int status = -1;
  std::string out;
  std::string err;
};
RunResult run(const std::vector<std::string>& argv, ChildProcess::Options opts = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace iamq::test
