#include "tests/support/emulator_process.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace iamq::test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

EmulatorProcess::EmulatorProcess(Options options) {
  std::string binary = options.binary.empty()
                           ? env_or("IAMQ_EMULATOR_BIN", "iamq-emulator")
                           : options.binary;
  std::vector<std::string> argv = {binary, "--listen", "127.0.0.1:0"};
  if (!options.seed.is_null()) {
    char path[] = "/tmp/iamq-emulator-seed-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) throw std::runtime_error("EmulatorProcess: mkstemp failed");
    ::close(fd);
    seed_path_ = path;
    std::ofstream(seed_path_) << options.seed.dump(2);
    argv.push_back("--seed");
    argv.push_back(seed_path_);
  }
  argv.insert(argv.end(), options.args.begin(), options.args.end());
  ChildProcess::Options child_options;
  child_options.merge_stderr = false;
  child_ = std::make_unique<ChildProcess>(argv, child_options);
  auto line = child_->read_line(std::chrono::seconds(20));
  const std::string prefix = "listening on 127.0.0.1:";
  if (!line || line->rfind(prefix, 0) != 0) {
    std::string rest = child_->read_all(std::chrono::seconds(2));
    auto status = child_->wait(std::chrono::seconds(2));
    throw std::runtime_error("iamq-emulator did not start (exit " +
                             (status ? std::to_string(*status) : std::string("?")) +
                             "): first line \"" + line.value_or("") + "\" " + rest);
  }
  port_ = std::stoi(line->substr(prefix.size()));
}

EmulatorProcess::~EmulatorProcess() {
  if (child_ && child_->running()) {
    child_->signal(SIGTERM);
    if (!child_->wait(std::chrono::seconds(5))) child_->signal(SIGKILL);
  }
  child_.reset();
  if (!seed_path_.empty()) ::unlink(seed_path_.c_str());
}

std::string EmulatorProcess::endpoint() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

HttpReply EmulatorProcess::request(const std::string& method, const std::string& target,
                                   const std::string& body, const std::string& content_type) {
  boost::asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port_)));
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  if (!body.empty()) req.set(http::field::content_type, content_type);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  HttpReply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.content_type = std::string(res[http::field::content_type]);
  reply.body = std::move(res.body());
  return reply;
}

nlohmann::json EmulatorProcess::admin_json(const std::string& method, const std::string& path,
                                           const std::string& body) {
  HttpReply r = request(method, path, body);
  if (r.status != 200)
    throw std::runtime_error(method + " " + path + " answered " + std::to_string(r.status) + ": " +
                             r.body);
  return nlohmann::json::parse(r.body);
}

nlohmann::json EmulatorProcess::state() { return admin_json("GET", "/_emulator/state"); }
void EmulatorProcess::load_state(const nlohmann::json& seed) {
  admin_json("POST", "/_emulator/state", seed.dump());
}
void EmulatorProcess::reset() { admin_json("POST", "/_emulator/reset"); }
nlohmann::json EmulatorProcess::faults() { return admin_json("GET", "/_emulator/faults"); }
void EmulatorProcess::set_faults(const nlohmann::json& faults) {
  admin_json("POST", "/_emulator/faults", faults.dump());
}
nlohmann::json EmulatorProcess::stats() { return admin_json("GET", "/_emulator/stats"); }

nlohmann::json EmulatorProcess::user(const std::string& name) {
  nlohmann::json s = state();
  for (const auto& account : s["accounts"]) {
    if (account["id"] != "123456789012") continue;
    for (const auto& u : account["users"])
      if (u["name"] == name) return u;
  }
  return nullptr;
}

std::optional<int> EmulatorProcess::stop(std::chrono::milliseconds timeout) {
  child_->signal(SIGTERM);
  return child_->wait(timeout);
}

}  // namespace iamq::test
