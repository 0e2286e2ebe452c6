#include "dashboard/pages.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "dashboard/assets.hpp"

namespace iamq::dashboard {

using nlohmann::json;

namespace {
const std::string kXss = "<img src=x onerror=alert(1)><script>alert(2)</script>";

json hostile_job() {
  return {{"id", "J-1"},
          {"record",
           {{"status", "failed"},
            {"user_name", kXss},
            {"error", kXss},
            {"job", {{"type", "offboard_user"}, {"meta", {{"note", kXss}}}}}}},
          {"steps", json::array({{{"action", kXss}, {"attempt", 2}, {"http_status", 503}, {"code", kXss},
                                  {"request_id", kXss}, {"message", kXss}, {"disposition", "delayed"},
                                  {"retry_in_ms", 30000}, {"result", "error"}}})},
          {"steps_total", 1},
          {"children", json::array({{{"id", "J-1.prod"}, {"status", "succeeded"}, {"account", kXss}}})}};
}
}  // namespace

TEST(Pages, JobPageEscapesEverythingFromTheJob) {
  PageContext ctx;
  const std::string html = job_page(hostile_job(), ctx);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("delayed set"), std::string::npos);   // where it waited
  EXPECT_NE(html.find("attempt 2"), std::string::npos);
  EXPECT_NE(html.find("/jobs/J-1.prod"), std::string::npos);  // a fan-out child
  // The only scripts are the page's own files: nothing inline.
  EXPECT_EQ(html.find("<script>"), std::string::npos);
}

TEST(Pages, ActionButtonsOnlyForAViewerWhoCanAct) {
  PageContext viewer;
  EXPECT_EQ(job_page(hostile_job(), viewer).find("/jobs/J-1/retry"), std::string::npos);
  PageContext op;
  op.can_act = true;
  op.csrf = "c5rf";
  op.logged_in = true;
  const std::string html = job_page(hostile_job(), op);
  EXPECT_NE(html.find("action=\"/jobs/J-1/retry\""), std::string::npos);
  EXPECT_NE(html.find("name=\"csrf\" value=\"c5rf\""), std::string::npos);
}

TEST(Pages, JobsPageEscapesTheSearchAndPagesOn) {
  JobFilter f;
  f.q = "\"><script>x</script>";
  json doc = {{"jobs", json::array({{{"id", "a"}, {"status", "queued"}, {"user_name", kXss}}})},
              {"next_cursor", "42"},
              {"scanned", 500}};
  const std::string html = jobs_page(doc, f, {});
  EXPECT_EQ(html.find("<script>x"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("cursor=42"), std::string::npos);
}

TEST(Pages, DeadLettersShowTheReason) {
  json doc = {{"dead", json::array({{{"id", "x-1-0"}, {"reason", "invalid"}, {"error", kXss}, {"job_text", kXss}}})},
              {"total", 1}};
  const std::string html = dead_page(doc, {});
  EXPECT_NE(html.find("invalid"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
}

TEST(Assets, ServedFilesAreCompiledIn) {
  EXPECT_FALSE(asset("app.js").empty());
  EXPECT_FALSE(asset("style.css").empty());
  EXPECT_FALSE(asset("vendor/uPlot.iife.min.js").empty());
  EXPECT_TRUE(asset("../CMakeLists.txt").empty());
}

TEST(Assets, VendoredUplotIsThePinnedNpmPackage) {
  // scripts/setup installs package-lock.json's uplot; the vendored copy must be that file.
  const std::string root = IAMQ_TEST_SOURCE_ROOT;
  std::ifstream in(root + "/node_modules/uplot/dist/uPlot.iife.min.js", std::ios::binary);
  ASSERT_TRUE(in) << "node_modules/uplot is missing: run scripts/setup (npm ci)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), std::string(asset("vendor/uPlot.iife.min.js")));
}

}  // namespace iamq::dashboard
