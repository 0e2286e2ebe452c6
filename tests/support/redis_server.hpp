#pragma once
/// Test support: a real redis-server on a free loopback port with its own temporary
/// directory, optionally with AOF (appendfsync always), restartable on the same port and data.
#include <memory>
#include <string>

#include "tests/support/child_process.hpp"

namespace iamq::test {

class RedisServer {
 public:
  struct Options {
    bool aof = false;           ///< appendonly yes, appendfsync always
    std::string requirepass;    ///< non-empty: password for the default user
    std::string binary = "redis-server";
  };

  /// Starts the server and waits until it accepts connections (throws if it does not).
  explicit RedisServer(Options opts);
  RedisServer() : RedisServer(Options{}) {}
  /// Stops the server (SIGKILL if it does not stop) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  /// redis://127.0.0.1:<port>/0 (with the password if one is set)
  std::string url() const;
  const std::string& dir() const { return dir_; }
  bool running();

  /// Graceful stop (SIGTERM: AOF flushed), waits for exit.
  void stop();
  /// Hard stop (SIGKILL), waits for exit.
  void kill();
  /// Starts again on the same port and directory (AOF/data reloaded).
  void start();

 private:
  Options opts_;
  int port_ = 0;
  std::string dir_;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace iamq::test
