#include "client/off_loop.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace iamq::client {
namespace {

using namespace std::chrono_literals;

TEST(OffLoop, ResultIsPostedBackToTheLoop) {
  boost::asio::io_context ioc;
  std::optional<OffLoopResult> got;
  std::thread::id worker_thread;
  run_off_loop(
      ioc, [&] { worker_thread = std::this_thread::get_id(); return OffLoopResult{std::nullopt, "hello"}; },
      [&](OffLoopResult r) { got = std::move(r); });
  ioc.run_for(5s);  // returns once the result is delivered (the work guard is released)
  ASSERT_TRUE(got);
  EXPECT_EQ(got->output, "hello");
  EXPECT_TRUE(worker_thread != std::this_thread::get_id());
}

TEST(BoundedProcess, CapturesStdoutAndReportsStatus) {
  auto ok = run_bounded_process("printf '{\"a\":1}'; echo oops >&2", 5000ms, 1024);
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.output, "{\"a\":1}");
  auto bad = run_bounded_process("echo SECRET; exit 3", 5000ms, 1024);
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(*bad.error, "exited with status 3");
  EXPECT_TRUE(bad.output.empty());
}

TEST(BoundedProcess, KilledPastTheTimeoutAndTheSizeCap) {
  const auto t0 = std::chrono::steady_clock::now();
  auto slow = run_bounded_process("sleep 30", 200ms, 1024);
  ASSERT_TRUE(slow.error);
  EXPECT_EQ(*slow.error, "timed out after 200 ms");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  auto big = run_bounded_process("yes SECRET", 5000ms, 4096);
  ASSERT_TRUE(big.error);
  EXPECT_EQ(*big.error, "wrote more than 4096 bytes");
  EXPECT_TRUE(big.output.empty());
}

TEST(BoundedFile, SizeCapAndNonRegularFilesRefused) {
  const std::string path = ::testing::TempDir() + "/off_loop_file";
  {
    std::ofstream(path) << std::string(100, 'x');
  }
  EXPECT_EQ(read_bounded_file(path, 1000).output.size(), 100u);
  EXPECT_EQ(*read_bounded_file(path, 10).error, "is larger than 10 bytes");
  const std::string fifo = ::testing::TempDir() + "/off_loop_fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(*read_bounded_file(fifo, 10).error, "is not a regular file");
  EXPECT_NE(read_bounded_file("/nonexistent/x", 10).error->find("cannot be read"), std::string::npos);
  ::unlink(fifo.c_str());
}

}  // namespace
}  // namespace iamq::client
