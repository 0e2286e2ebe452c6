#pragma once
/// Test support: a real Redis Cluster on loopback — 3 masters (optionally 1 replica each),
/// `cluster-enabled yes`, each redis-server on a free port with its own directory, joined with
/// `redis-cli --cluster create … --cluster-yes`; ready once every node says cluster_state:ok.
/// For the tests that move a slot or fail a master over.
#include <memory>
#include <string>
#include <vector>

#include "tests/support/redis_server.hpp"

namespace iamq::test {

class RedisCluster {
 public:
  struct Options {
    bool replicas = false;  ///< one replica per master (6 servers)
  };
  explicit RedisCluster(Options opts);
  RedisCluster() : RedisCluster(Options{}) {}
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  /// redis://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 (the masters as seeds)
  std::string url() const;
  /// Every server (masters first).
  std::vector<RedisServer*> servers();
  /// The port of the master serving `slot` now, as the node on `ask_port` sees it (0: none).
  int master_of(int slot, int ask_port);
  /// The port of the master serving `slot`, asked of any live node (0: none answers).
  int master_of(int slot);
  /// A master other than the one on `port`.
  int other_master(int port);
  /// `redis-cli -p PORT ARGS…` (words split by the shell); its stdout.
  std::string cli(int port, const std::string& args);
  /// The node id of the server on `port`.
  std::string node_id(int port);
  /// Moves `slot` from its master to the master on `to_port` as redis-cli --cluster reshard
  /// does (IMPORTING, MIGRATING, MIGRATE … KEYS until the slot is empty, SETSLOT NODE on every
  /// master); returns the number of keys moved.
  int migrate_slot(int slot, int to_port);
  /// SIGKILL of the server on `port`.
  void kill(int port);
  /// Waits until every live master says cluster_state:ok (throws after `seconds`).
  void wait_ok(int seconds);

 private:
  Options opts_;
  std::vector<std::unique_ptr<RedisServer>> servers_;
  std::vector<int> master_ports_;
};

}  // namespace iamq::test
