#include "tests/support/redis_cluster.hpp"

#include <signal.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/child_process.hpp"

namespace iamq::test {

RedisCluster::RedisCluster(Options opts) : opts_(opts) {
  RedisServer::Options so;
  so.extra = {"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
              "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0",
              "--cluster-allow-replica-migration", "no"};
  const int count = opts_.replicas ? 6 : 3;
  std::string create = "redis-cli --cluster create";
  for (int i = 0; i < count; ++i) {
    // The cluster bus on a free port of its own (the default, port + 10000, may not exist).
    RedisServer::Options o = so;
    o.extra.insert(o.extra.end(), {"--cluster-port", std::to_string(free_port())});
    servers_.push_back(std::make_unique<RedisServer>(o));
    create += " 127.0.0.1:" + std::to_string(servers_.back()->port());
  }
  create += opts_.replicas ? " --cluster-replicas 1" : " --cluster-replicas 0";
  auto r = run({"/bin/sh", "-c", create + " --cluster-yes 2>&1"}, {}, std::chrono::seconds(60));
  if (r.out.find("[OK] All 16384 slots covered") == std::string::npos) {
    throw std::runtime_error("redis-cli --cluster create failed:\n" + r.out);
  }
  // Which servers redis-cli made masters: each one's ROLE says (once its replica was told).
  auto roles_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (;;) {
    master_ports_.clear();
    for (auto& srv : servers_) {
      if (cli(srv->port(), "ROLE").rfind("master", 0) == 0) master_ports_.push_back(srv->port());
    }
    if (master_ports_.size() == 3 || std::chrono::steady_clock::now() > roles_deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (master_ports_.size() != 3) throw std::runtime_error("the cluster does not have 3 masters");
  wait_ok(30);
  if (opts_.replicas) {
    // Ready for a failover once each replica is in sync with its master.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (int port : master_ports_) {
      while (cli(port, "INFO replication").find("state=online") == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline) {
          throw std::runtime_error("a replica did not come in sync with its master");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
}

RedisCluster::~RedisCluster() = default;

std::string RedisCluster::url() const {
  std::string s = "redis://";
  for (std::size_t i = 0; i < master_ports_.size(); ++i) {
    s += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(master_ports_[i]);
  }
  return s;
}

std::vector<RedisServer*> RedisCluster::servers() {
  std::vector<RedisServer*> out;
  for (auto& s : servers_) out.push_back(s.get());
  return out;
}

std::string RedisCluster::cli(int port, const std::string& args) {
  auto r = run({"/bin/sh", "-c", "redis-cli -p " + std::to_string(port) + " " + args + " 2>/dev/null"},
               {}, std::chrono::seconds(10));
  return r.out;
}

std::string RedisCluster::node_id(int port) {
  std::string id = cli(port, "CLUSTER MYID");
  while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
  return id;
}

int RedisCluster::master_of(int slot, int ask_port) {
  // CLUSTER NODES: <id> <ip:port@bus> <flags> <master> <ping> <pong> <epoch> <link> <slots…>
  std::istringstream in(cli(ask_port, "CLUSTER NODES"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::vector<std::string> w;
    for (std::string x; f >> x;) w.push_back(x);
    if (w.size() < 9 || w[2].find("master") == std::string::npos ||
        w[2].find("fail") != std::string::npos) {
      continue;
    }
    for (std::size_t i = 8; i < w.size(); ++i) {
      if (w[i].front() == '[') continue;  // [slot->-id] / [slot-<-id]: a migration mark
      auto dash = w[i].find('-');
      int first = std::atoi(w[i].c_str());
      int last = dash == std::string::npos ? first : std::atoi(w[i].c_str() + dash + 1);
      if (slot >= first && slot <= last) {
        auto colon = w[1].find(':');
        return colon == std::string::npos ? 0 : std::atoi(w[1].c_str() + colon + 1);
      }
    }
  }
  return 0;
}

int RedisCluster::master_of(int slot) {
  for (auto& s : servers_) {
    if (!s->running()) continue;
    if (int p = master_of(slot, s->port()); p != 0) return p;
  }
  return 0;
}

int RedisCluster::other_master(int port) {
  for (int p : master_ports_) {
    if (p != port) return p;
  }
  return 0;
}

int RedisCluster::migrate_slot(int slot, int to_port) {
  const int from_port = master_of(slot);
  if (from_port == 0 || from_port == to_port) throw std::runtime_error("migrate_slot: bad source");
  const std::string s = std::to_string(slot);
  const std::string from_id = node_id(from_port);
  const std::string to_id = node_id(to_port);
  if (cli(to_port, "CLUSTER SETSLOT " + s + " IMPORTING " + from_id).find("OK") == std::string::npos ||
      cli(from_port, "CLUSTER SETSLOT " + s + " MIGRATING " + to_id).find("OK") == std::string::npos) {
    throw std::runtime_error("migrate_slot: SETSLOT IMPORTING/MIGRATING refused");
  }
  int moved = 0;
  for (;;) {
    std::string keys = cli(from_port, "--raw CLUSTER GETKEYSINSLOT " + s + " 100000");
    std::istringstream in(keys);
    std::string list;
    int n = 0;
    for (std::string k; std::getline(in, k);) {
      if (k.empty()) continue;
      list += " '" + k + "'";  // namespace keys hold no quote
      ++n;
    }
    if (n == 0) break;
    // All the slot's keys in one MIGRATE: the source is blocked while it runs, so no script
    // ever sees the keys split between the two nodes.
    std::string out = cli(from_port,
                          "MIGRATE 127.0.0.1 " + std::to_string(to_port) + " \"\" 0 10000 REPLACE KEYS" + list);
    if (out.find("OK") == std::string::npos && out.find("NOKEY") == std::string::npos) {
      throw std::runtime_error("migrate_slot: MIGRATE failed: " + out);
    }
    moved += n;
  }
  // The new owner first (it stops asking for ASKING), then the old one, then the others.
  cli(to_port, "CLUSTER SETSLOT " + s + " NODE " + to_id);
  cli(from_port, "CLUSTER SETSLOT " + s + " NODE " + to_id);
  for (int p : master_ports_) {
    if (p != to_port && p != from_port) cli(p, "CLUSTER SETSLOT " + s + " NODE " + to_id);
  }
  return moved;
}

void RedisCluster::kill(int port) {
  for (auto& s : servers_) {
    if (s->port() == port) s->kill();
  }
}

void RedisCluster::wait_ok(int seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (int port : master_ports_) {
    bool alive = false;
    for (auto& s : servers_) {
      if (s->port() == port) alive = s->running();
    }
    if (!alive) continue;
    while (cli(port, "CLUSTER INFO").find("cluster_state:ok") == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the cluster did not reach cluster_state:ok");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace iamq::test
