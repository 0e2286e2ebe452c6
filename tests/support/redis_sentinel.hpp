#pragma once
/// Test support: a real Sentinel deployment on loopback — a master, one replica, and three
/// sentinels (`redis-server <conf> --sentinel`, quorum 2, down-after 1 s), each on a free
/// port with its own directory. For failover tests: kill_master() is a SIGKILL.
#include <memory>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/redis_server.hpp"

namespace iamq::test {

class RedisSentinel {
 public:
  struct Options {
    std::string master_name = "mymaster";
    std::string sentinel_password;  ///< non-empty: requirepass on the sentinels
    std::string requirepass;        ///< non-empty: password on master and replica
  };
  /// Starts everything and waits until the sentinels know the replica and each other.
  explicit RedisSentinel(Options opts);
  RedisSentinel() : RedisSentinel(Options{}) {}
  ~RedisSentinel();
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  /// redis-sentinel://[:pw@]127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/0#mymaster
  std::string url() const;
  RedisServer& master() { return *master_; }
  RedisServer& replica() { return *replica_; }
  const std::vector<int>& sentinel_ports() const { return ports_; }
  /// SIGKILL of the master process.
  void kill_master() { master_->kill(); }
  /// The port the sentinels report for the master now (0 if none answers).
  int reported_master_port();

 private:
  Options opts_;
  std::unique_ptr<RedisServer> master_;
  std::unique_ptr<RedisServer> replica_;
  std::vector<int> ports_;
  std::vector<std::string> dirs_;
  std::vector<std::unique_ptr<ChildProcess>> sentinels_;
};

}  // namespace iamq::test
