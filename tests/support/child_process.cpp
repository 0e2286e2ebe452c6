#include <map>
#include "tests/support/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace iamq::test {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  if (v && *v) return std::string(v);
  // The build's own paths, compiled in (tests/CMakeLists.txt), so a test run directly rather
  // than through ctest still finds the binaries of the tree it was built in.
  static const std::map<std::string, std::string> built_in = {
      {"IAMQ_SOURCE_DIR", IAMQ_TEST_SOURCE_DIR},
      {"IAMQ_BINARY_DIR", IAMQ_TEST_BINARY_DIR},
      {"IAMQ_BIN", IAMQ_TEST_BINARY_DIR "/bin/iamq"},
      {"IAMQ_EMULATOR_BIN", IAMQ_TEST_BINARY_DIR "/bin/iamq-emulator"},
      {"IAMQ_SIGV4_SUITE", IAMQ_TEST_SOURCE_DIR "/tests/client/data/sigv4-testsuite/v4"},
  };
  if (auto it = built_in.find(name); it != built_in.end()) return it->second;
  return fallback;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, Options opts) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  int out[2];
  int in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");

  // Build the environment before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : opts.env_remove) env.erase(k);
  for (const auto& [k, v] : opts.env_overrides) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    if (opts.merge_stderr) ::dup2(out[1], 2);
    if (!opts.workdir.empty() && ::chdir(opts.workdir.c_str()) != 0) ::_exit(126);
    ::execvpe(argp[0], argp.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  out_fd_ = out[0];
  if (!opts.stdin_data.empty()) {
    // Write on a thread so a child that does not read stdin cannot block the test.
    std::thread([fd = in[1], data = opts.stdin_data] {
      size_t off = 0;
      while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      ::close(fd);
    }).detach();
  } else {
    ::close(in[1]);
  }
}

ChildProcess::~ChildProcess() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
  if (out_fd_ >= 0) ::close(out_fd_);
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (eof_) {
      if (buffer_.empty()) return std::nullopt;
      std::string rest;
      rest.swap(buffer_);
      return rest;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{out_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
    } else {
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
}

std::string ChildProcess::read_all(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string all;
  while (!eof_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      signal(SIGKILL);
      break;
    }
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[65536];
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) eof_ = true;
    else buffer_.append(buf, static_cast<size_t>(n));
  }
  all.swap(buffer_);
  return all;
}

void ChildProcess::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (r < 0) {
      status_ = -1;
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ChildProcess::running() {
  if (status_ || pid_ <= 0) return false;
  return !wait(std::chrono::milliseconds(0)).has_value();
}

RunResult run(const std::vector<std::string>& argv, ChildProcess::Options opts,
              std::chrono::milliseconds timeout) {
  // stderr goes to a temporary file so stdout and stderr stay apart.
  char path[] = "/tmp/iamq-test-stderr-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  std::vector<std::string> wrapped = {"/bin/sh", "-c", "exec \"$@\" 2>\"$0\"", path};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  ChildProcess child(wrapped, std::move(opts));
  RunResult r;
  r.out = child.read_all(timeout);
  r.status = child.wait(std::chrono::seconds(5)).value_or(-1);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  r.err = ss.str();
  ::unlink(path);
  return r;
}

}  // namespace iamq::test
