#pragma once
/// Test support: a real redis-server on a free loopback port with its own temporary
/// directory, optionally with AOF (appendfsync always), restartable on the same port and data.
/// With `tls`, it listens only on a TLS port, with a CA and a server certificate (for
/// 127.0.0.1 and localhost) made for the test with the openssl CLI, plus a client certificate
/// signed by the same CA and another CA that signed nothing the server holds.
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace iamq::test {

class RedisServer {
 public:
  struct Options {
    bool aof = false;           ///< appendonly yes, appendfsync always
    std::string requirepass;    ///< non-empty: password for the default user
    std::string binary = "redis-server";
    bool tls = false;               ///< TLS only (rediss://), certificates made in dir()
    bool tls_require_client_cert = false;  ///< tls-auth-clients yes
    std::vector<std::string> extra;  ///< more redis-server arguments (`--replicaof`, …)
  };

  /// Starts the server and waits until it accepts connections (throws if it does not).
  explicit RedisServer(Options opts);
  RedisServer() : RedisServer(Options{}) {}
  /// Stops the server (SIGKILL if it does not stop) and removes its directory.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  /// redis://127.0.0.1:<port>/0 (rediss:// with `tls`; with the password if one is set)
  std::string url() const;
  /// TLS: the CA that signed the server's and the client's certificates.
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  /// TLS: a CA that did not sign the server's certificate.
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }
  std::string client_cert_file() const { return dir_ + "/client.crt"; }
  std::string client_key_file() const { return dir_ + "/client.key"; }
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

  void make_certificates();
};

}  // namespace iamq::test
