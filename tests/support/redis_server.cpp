#include "tests/support/redis_server.hpp"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

namespace iamq::test {

RedisServer::RedisServer(Options opts) : opts_(std::move(opts)) {
  char tmpl[] = "/tmp/iamq-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  port_ = free_port();
  if (opts_.tls) make_certificates();
  start();
}

RedisServer::~RedisServer() {
  try {
    if (proc_ && proc_->running()) {
      proc_->signal(SIGKILL);
      proc_->wait(std::chrono::seconds(5));
    }
    proc_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } catch (...) {
  }
}

std::string RedisServer::url() const {
  std::string auth = opts_.requirepass.empty() ? "" : ":" + opts_.requirepass + "@";
  return (opts_.tls ? "rediss://" : "redis://") + auth + "127.0.0.1:" + std::to_string(port_) +
         "/0";
}

bool RedisServer::running() { return proc_ && proc_->running(); }

void RedisServer::start() {
  if (running()) return;
  std::vector<std::string> argv = {opts_.binary,
                                   "--port", std::to_string(opts_.tls ? 0 : port_),
                                   "--bind", "127.0.0.1",
                                   "--dir", dir_,
                                   "--daemonize", "no",
                                   "--save", "",
                                   "--logfile", "",
                                   "--loglevel", "notice",
                                   "--protected-mode", "no",
                                   "--appendonly", opts_.aof ? "yes" : "no"};
  if (opts_.aof) {
    argv.insert(argv.end(), {"--appendfsync", "always"});
  }
  if (!opts_.requirepass.empty()) argv.insert(argv.end(), {"--requirepass", opts_.requirepass});
  if (opts_.tls) {
    argv.insert(argv.end(), {"--tls-port", std::to_string(port_), "--tls-cert-file",
                             dir_ + "/server.crt", "--tls-key-file", dir_ + "/server.key",
                             "--tls-ca-cert-file", ca_file(), "--tls-auth-clients",
                             opts_.tls_require_client_cert ? "yes" : "no"});
  }
  argv.insert(argv.end(), opts_.extra.begin(), opts_.extra.end());
  ChildProcess::Options o;
  o.merge_stderr = true;
  proc_ = std::make_unique<ChildProcess>(argv, o);
  // The server logs to stdout; wait for the line that says it is ready (an event, no polling).
  std::string log;
  for (;;) {
    auto line = proc_->read_line(std::chrono::seconds(10));
    if (!line) {
      throw std::runtime_error("redis-server did not become ready on port " +
                               std::to_string(port_) + ":\n" + log);
    }
    log += *line + "\n";
    if (line->find("Ready to accept connections") != std::string::npos) break;
  }
  // Keep draining its output so a chatty server never blocks on a full pipe.
  // (ChildProcess buffers on demand; redis logs little after start-up.)
}

void RedisServer::make_certificates() {
  auto sh = [](const std::string& cmd) {
    auto r = run({"/bin/sh", "-c", cmd});
    if (r.status != 0) throw std::runtime_error("openssl failed: " + cmd + "\n" + r.err + r.out);
  };
  const std::string d = dir_;
  const std::string days = " -days 2 ";
  // Two CAs; the server and client certificates are signed by the first.
  for (std::string ca : {"ca", "other-ca"}) {
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/" + ca + ".key -out " + d +
       "/" + ca + ".crt" + days + "-subj /CN=iamq-test-" + ca + " 2>&1");
  }
  std::string ext = d + "/server.ext";
  sh("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > " + ext);
  for (std::string who : {"server", "client"}) {
    sh("openssl req -newkey rsa:2048 -nodes -keyout " + d + "/" + who + ".key -out " + d + "/" +
       who + ".csr -subj /CN=iamq-test-" + who + " 2>&1");
    sh("openssl x509 -req -in " + d + "/" + who + ".csr -CA " + d + "/ca.crt -CAkey " + d +
       "/ca.key -CAcreateserial -out " + d + "/" + who + ".crt" + days +
       (who == "server" ? "-extfile " + ext : std::string()) + " 2>&1");
  }
}

void RedisServer::stop() {
  if (!running()) return;
  proc_->signal(SIGTERM);
  if (!proc_->wait(std::chrono::seconds(10))) {
    proc_->signal(SIGKILL);
    proc_->wait(std::chrono::seconds(5));
  }
}

void RedisServer::kill() {
  if (!running()) return;
  proc_->signal(SIGKILL);
  proc_->wait(std::chrono::seconds(5));
}

}  // namespace iamq::test
