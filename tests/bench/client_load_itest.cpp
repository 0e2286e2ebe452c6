// Integration tests of iamq-client-load (scripts/bench's CPU breakdown): both layers send the
// asked number of calls through iamq's client stack to a real iamq-emulator and report them;
// a bad flag exits non-zero.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/emulator_process.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;

std::string load_bin() {
  std::string iamq = env_or("IAMQ_BIN", "iamq");
  return iamq + "-client-load";  // built next to it: bin/iamq-client-load
}

class ClientLoad : public ::testing::TestWithParam<std::string> {};

TEST_P(ClientLoad, SendsEveryCallAndReportsItsCpu) {
  EmulatorProcess emu({{"--generate-users", "3"}, nullptr, ""});
  RunResult r = run({load_bin(), "--endpoint", emu.endpoint(), "--layer", GetParam(), "--calls",
                     "300", "--concurrency", "16", "--user", "user-00002"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["layer"], GetParam());
  EXPECT_EQ(out["calls"], 300);
  EXPECT_EQ(out["errors"], 0);
  EXPECT_EQ(out["statuses"]["200"], 300);
  EXPECT_GT(out["cpu_us_per_call"].get<double>(), 0.0);
  // The emulator saw exactly those calls, each one signed correctly.
  json stats = emu.stats();
  EXPECT_EQ(stats["calls"]["GetUser"]["OK"], 300);
}

INSTANTIATE_TEST_SUITE_P(Layers, ClientLoad, ::testing::Values("transport", "client"));

TEST(ClientLoadFlags, UnknownUserCountsAsErrorsAndExitsOne) {
  EmulatorProcess emu({{"--generate-users", "1"}, nullptr, ""});
  RunResult r = run({load_bin(), "--endpoint", emu.endpoint(), "--layer", "client", "--calls", "5",
                     "--user", "nobody"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  json out = json::parse(r.out);
  EXPECT_EQ(out["errors"], 5);
  EXPECT_EQ(out["statuses"]["404"], 5);
}

TEST(ClientLoadFlags, BadLayerAndBadEndpointExitNonZero) {
  RunResult bad_layer = run({load_bin(), "--endpoint", "http://127.0.0.1:1", "--layer", "beast"});
  EXPECT_NE(bad_layer.status, 0);
  EXPECT_NE(bad_layer.err.find("--layer"), std::string::npos) << bad_layer.err;
  RunResult bad_url = run({load_bin(), "--endpoint", "ftp://example.com"});
  EXPECT_EQ(bad_url.status, 2);
  EXPECT_NE(bad_url.err.find("--endpoint"), std::string::npos) << bad_url.err;
}

}  // namespace
}  // namespace iamq::test
