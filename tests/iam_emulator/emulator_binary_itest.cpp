// Integration tests of the iamq-emulator binary's contract: the listening line, exit codes,
// keep-alive serving (through iamq-emulator-load), dropped connections, non-blocking
// latency, and the admin endpoints over HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/emulator_process.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

std::string emulator_bin() { return env_or("IAMQ_EMULATOR_BIN", "iamq-emulator"); }
std::string load_bin() {
  std::string e = emulator_bin();
  return e + "-load";  // built next to it: bin/iamq-emulator-load
}

TEST(EmulatorBinary, ListeningLineThenCleanExitOnSigterm) {
  EmulatorProcess emu;
  EXPECT_GT(emu.port(), 0);
  EXPECT_EQ(emu.request("GET", "/_emulator/stats").status, 200);
  auto status = emu.stop(std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST(EmulatorBinary, SigintAlsoExitsZero) {
  EmulatorProcess emu;
  emu.process().signal(SIGINT);
  auto status = emu.process().wait(std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

TEST(EmulatorBinary, BadFlagsExitTwo) {
  RunResult unknown = run({emulator_bin(), "--no-such-flag"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("no-such-flag"), std::string::npos) << unknown.err;
  RunResult range = run({emulator_bin(), "--fault-service-failure", "1.5"});
  EXPECT_EQ(range.status, 2);
  RunResult listen = run({emulator_bin(), "--listen", "localhost"});
  EXPECT_EQ(listen.status, 2);
  EXPECT_NE(listen.err.find("--listen"), std::string::npos) << listen.err;
}

TEST(EmulatorBinary, BadSeedFileExitsTwoNamingTheProblem) {
  std::string path = ::testing::TempDir() + "/iamq-emulator-bad-seed.json";
  std::ofstream(path) << R"({"accounts":[{"users":[{"name":"ok"},{"name":"x","groups":["missing"]}]}]})";
  RunResult r = run({emulator_bin(), "--seed", path});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("accounts[0].users[1].groups[0]"), std::string::npos) << r.err;
  RunResult missing = run({emulator_bin(), "--seed", "/nonexistent/seed.json"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.err.find("cannot be read"), std::string::npos) << missing.err;
  std::ofstream(path) << R"({"actions":{"*":{"service_failure":"often"}}})";
  RunResult faults = run({emulator_bin(), "--faults", path});
  EXPECT_EQ(faults.status, 2);
  EXPECT_NE(faults.err.find("service_failure"), std::string::npos) << faults.err;
}

TEST(EmulatorBinary, ServesSignedKeepAliveCallsConcurrently) {
  EmulatorProcess emu({{"--generate-users", "3"}, nullptr, ""});
  RunResult r = run({load_bin(), "--port", std::to_string(emu.port()), "--calls", "400",
                     "--connections", "8", "--action", "GetUser", "--param", "UserName=user-00002"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["calls"], 400);
  EXPECT_EQ(out["errors"], 0);
  EXPECT_EQ(out["status"]["200"], 400);
  json stats = emu.stats();
  EXPECT_EQ(stats["calls"]["GetUser"]["OK"], 400);
  EXPECT_GE(stats["max_calls_per_second"].get<int>(), 1);
}

TEST(EmulatorBinary, LatencyDoesNotBlockOtherConnections) {
  EmulatorProcess emu({{"--latency-ms", "500"}, nullptr, ""});
  // Eight calls on eight connections: if the latency blocked the loop they would take >= 4 s.
  auto start = std::chrono::steady_clock::now();
  RunResult r = run({load_bin(), "--port", std::to_string(emu.port()), "--calls", "8",
                     "--connections", "8", "--action", "ListUsers"});
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(json::parse(r.out)["status"]["200"], 8);
  EXPECT_LT(took, std::chrono::milliseconds(3900));
  EXPECT_GE(json::parse(r.out)["seconds"].get<double>(), 0.5);
}

TEST(EmulatorBinary, DroppedConnectionSendsNoResponse) {
  EmulatorProcess emu;
  emu.set_faults({{"actions", {{"ListUsers", {{"drop_connection", 1.0}}}}}});
  RunResult r = run({load_bin(), "--port", std::to_string(emu.port()), "--calls", "1",
                     "--connections", "1", "--action", "ListUsers"});
  EXPECT_EQ(r.status, 1) << r.out;
  json out = json::parse(r.out);
  EXPECT_EQ(out["errors"], 1);
  EXPECT_EQ(emu.stats()["calls"]["ListUsers"]["DroppedConnection"], 1);
}

TEST(EmulatorBinary, Html503AndAdminOverHttp) {
  EmulatorProcess emu;
  emu.set_faults({{"actions", {{"*", {{"html_503", 1.0}}}}}});
  EXPECT_EQ(emu.faults()["actions"]["*"]["html_503"], 1.0);
  RunResult r = run({load_bin(), "--port", std::to_string(emu.port()), "--calls", "3",
                     "--connections", "1", "--action", "ListUsers"});
  EXPECT_EQ(json::parse(r.out)["status"]["503"], 3) << r.out;
  // Unsigned IAM calls are refused; admin calls are not IAM.
  HttpReply unsigned_call = emu.request("POST", "/", "Action=ListUsers&Version=2010-05-08",
                                        "application/x-www-form-urlencoded");
  EXPECT_EQ(unsigned_call.status, 403);
  EXPECT_NE(unsigned_call.body.find("MissingAuthenticationToken"), std::string::npos);
  HttpReply bad = emu.request("POST", "/_emulator/faults", "{not json");
  EXPECT_EQ(bad.status, 400);
  emu.load_state({{"accounts", {{{"users", {{{"name", "via-admin"}}}}}}}});
  EXPECT_FALSE(emu.user("via-admin").is_null());
  emu.reset();
  EXPECT_TRUE(emu.user("via-admin").is_null());
  EXPECT_TRUE(emu.faults()["actions"].empty());
  EXPECT_EQ(emu.stats()["total_calls"], 0);
}

}  // namespace
}  // namespace iamq::test
