#pragma once
/// Test support: the real iamq-emulator binary as a child process on a free loopback port,
/// with helpers for its /_emulator/ admin endpoints (state, reset, faults, stats).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/child_process.hpp"

namespace iamq::test {

/// A plain HTTP reply from the emulator.
struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class EmulatorProcess {
 public:
  struct Options {
    std::vector<std::string> args;  ///< extra flags, e.g. {"--generate-users", "20"}
    nlohmann::json seed;            ///< non-null: written to a temporary file, passed as --seed
    std::string binary;             ///< default: $IAMQ_EMULATOR_BIN
  };

  /// Starts the emulator with `--listen 127.0.0.1:0` and waits for its "listening on" line.
  /// Throws std::runtime_error (with the emulator's output) when it does not come up.
  explicit EmulatorProcess(Options options);
  EmulatorProcess() : EmulatorProcess(Options{}) {}
  /// SIGTERM, then SIGKILL if it does not exit; removes the temporary seed file.
  ~EmulatorProcess();
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT" — for AWS_ENDPOINT_URL / --endpoint-url.
  std::string endpoint() const;
  ChildProcess& process() { return *child_; }

  /// Any HTTP call to the emulator (admin endpoints need no signature). Throws on I/O errors.
  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = {},
                    const std::string& content_type = "application/json");
  /// GET /_emulator/state: the whole state in the seed format.
  nlohmann::json state();
  /// POST /_emulator/state: replaces the state (the default account stays).
  void load_state(const nlohmann::json& seed);
  /// POST /_emulator/reset: back to the start-up state, faults and empty stats.
  void reset();
  nlohmann::json faults();
  /// POST /_emulator/faults: replaces the fault configuration.
  void set_faults(const nlohmann::json& faults);
  nlohmann::json stats();

  /// The user `name` of the default account from state(), or null when absent.
  nlohmann::json user(const std::string& name);

  /// SIGTERM and the exit status (nullopt when it did not exit within `timeout`).
  std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  nlohmann::json admin_json(const std::string& method, const std::string& path,
                            const std::string& body = {});

  std::unique_ptr<ChildProcess> child_;
  std::string seed_path_;
  int port_ = 0;
};

}  // namespace iamq::test
