#include "tests/support/redis_sentinel.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace iamq::test {

namespace {

std::string cli(int port, const std::string& password, const std::string& args) {
  std::string auth = password.empty() ? "" : " --no-auth-warning -a " + password;
  auto r = run({"/bin/sh", "-c",
                "redis-cli -p " + std::to_string(port) + auth + " " + args + " 2>/dev/null"},
               {}, std::chrono::seconds(5));
  return r.out;
}

}  // namespace

RedisSentinel::RedisSentinel(Options opts) : opts_(std::move(opts)) {
  RedisServer::Options mo;
  mo.requirepass = opts_.requirepass;
  // The first full sync starts at once (Redis 7 waits 5 s for more replicas by default).
  mo.extra = {"--repl-diskless-sync-delay", "0"};
  if (!opts_.requirepass.empty()) mo.extra.insert(mo.extra.end(), {"--masterauth", opts_.requirepass});
  master_ = std::make_unique<RedisServer>(mo);
  RedisServer::Options ro = mo;
  ro.extra.insert(ro.extra.end(), {"--replicaof", "127.0.0.1", std::to_string(master_->port())});
  replica_ = std::make_unique<RedisServer>(ro);
  for (int i = 0; i < 3; ++i) {
    char tmpl[] = "/tmp/iamq-sentinel-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dirs_.push_back(tmpl);
    int port = free_port();
    ports_.push_back(port);
    std::string conf = dirs_.back() + "/sentinel.conf";
    std::ofstream f(conf);
    f << "port " << port << "\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir " << dirs_.back()
      << "\nprotected-mode no\n"
      << "sentinel monitor " << opts_.master_name << " 127.0.0.1 " << master_->port() << " 2\n"
      << "sentinel down-after-milliseconds " << opts_.master_name << " 1000\n"
      << "sentinel failover-timeout " << opts_.master_name << " 5000\n"
      << "sentinel parallel-syncs " << opts_.master_name << " 1\n";
    if (!opts_.requirepass.empty()) {
      f << "sentinel auth-pass " << opts_.master_name << " " << opts_.requirepass << "\n";
    }
    if (!opts_.sentinel_password.empty()) f << "requirepass " << opts_.sentinel_password << "\n";
    f.close();
    ChildProcess::Options po;
    po.merge_stderr = true;
    sentinels_.push_back(
        std::make_unique<ChildProcess>(std::vector<std::string>{"redis-server", conf, "--sentinel"}, po));
    std::string log;
    for (;;) {
      auto line = sentinels_.back()->read_line(std::chrono::seconds(10));
      if (!line) throw std::runtime_error("sentinel did not start on port " + std::to_string(port) + ":\n" + log);
      log += *line + "\n";
      if (line->find("+monitor master") != std::string::npos) break;
    }
  }
  // Ready for a failover once the replica is in sync and every sentinel knows it and the two
  // other sentinels (hello messages every 2 s). Bounded waits on the servers' own answers.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (cli(master_->port(), opts_.requirepass, "INFO replication").find("state=online") ==
         std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the replica did not come in sync with the master");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (int port : ports_) {
    for (;;) {
      std::string info = cli(port, opts_.sentinel_password, "SENTINEL master " + opts_.master_name);
      auto field = [&](const std::string& name) {
        auto at = info.find(name + "\n");
        if (at == std::string::npos) return -1;
        return std::atoi(info.c_str() + at + name.size() + 1);
      };
      if (field("num-slaves") >= 1 && field("num-other-sentinels") >= 2) break;
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("sentinels did not discover the replica and each other:\n" + info);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

RedisSentinel::~RedisSentinel() {
  for (auto& s : sentinels_) {
    if (s && s->running()) {
      s->signal(SIGKILL);
      s->wait(std::chrono::seconds(5));
    }
  }
  sentinels_.clear();
  std::error_code ec;
  for (const auto& d : dirs_) std::filesystem::remove_all(d, ec);
}

std::string RedisSentinel::url() const {
  std::string s = "redis-sentinel://";
  if (!opts_.requirepass.empty()) s += ":" + opts_.requirepass + "@";
  for (std::size_t i = 0; i < ports_.size(); ++i) {
    s += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(ports_[i]);
  }
  return s + "/0#" + opts_.master_name;
}

int RedisSentinel::reported_master_port() {
  for (int port : ports_) {
    std::string out = cli(port, opts_.sentinel_password,
                          "SENTINEL get-master-addr-by-name " + opts_.master_name);
    auto nl = out.find('\n');
    if (nl != std::string::npos) {
      int p = std::atoi(out.c_str() + nl + 1);
      if (p > 0) return p;
    }
  }
  return 0;
}

}  // namespace iamq::test
