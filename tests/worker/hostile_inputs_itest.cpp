// Hostile and broken input, tried on purpose (issue 6): a table of inputs across the
// surfaces a worker faces — jobs from `iamq enqueue`, raw entries written to Redis by other
// programs, and IAM answers from a misbehaving endpoint. Each must be answered with a clear
// error, lose nothing, make no IAM call it should not, and leave the worker serving.
//
// Real parts only: a real redis-server, the real `iamq` binary, and a real HTTP server on
// loopback that plays a broken IAM endpoint.
#include <map>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/query_encoder.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/redis_server.hpp"

namespace {

using namespace std::chrono_literals;
using iamq::test::ChildProcess;
using iamq::test::HttpTestRequest;
using iamq::test::HttpTestResponse;
using iamq::test::HttpTestServer;
using iamq::test::RedisServer;
using iamq::test::RunResult;

const std::string kNs = "hostile";

std::string iamq_bin() { return iamq::test::env_or("IAMQ_BIN", "build/bin/iamq"); }

std::string xml_ok(const std::string& action, const std::string& inner) {
  return "<" + action + "Response xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><" + action +
         "Result>" + inner + "</" + action + "Result><ResponseMetadata><RequestId>req-" + action +
         "</RequestId></ResponseMetadata></" + action + "Response>";
}

std::string xml_error(const std::string& code, const std::string& message) {
  return "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender"
         "</Type><Code>" + code + "</Code><Message>" + message +
         "</Message></Error><RequestId>req-err</RequestId></ErrorResponse>";
}

std::string param(const iamq::client::Params& params, const std::string& name) {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return "";
}

/// A broken IAM endpoint: what it answers depends on the UserName of the call, so that each
/// job of the table meets one kind of misbehaviour.
class HostileIam {
 public:
  HostileIam()
      : server_([this](const HttpTestRequest& r) { return answer(r); }) {}

  std::string url() const { return server_.url("/"); }
  std::size_t requests() const { return server_.requests_received(); }
  /// Every request body received, decoded.
  std::vector<iamq::client::Params> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  HttpTestResponse answer(const HttpTestRequest& r) {
    auto params = iamq::client::decode_query(r.body);
    {
      std::lock_guard lock(mu_);
      calls_.push_back(params);
    }
    const std::string action = param(params, "Action");
    const std::string user = param(params, "UserName");
    auto mfa_list = [&](const std::string& serial) {
      return xml_ok("ListMFADevices", "<MFADevices><member><UserName>" + user +
                                          "</UserName><SerialNumber>" + serial +
                                          "</SerialNumber><EnableDate>2024-01-01T00:00:00Z"
                                          "</EnableDate></member></MFADevices>"
                                          "<IsTruncated>false</IsTruncated>");
    };
    // Issue 14: an answer that is another action's (a proxy or a broken endpoint answering
    // <ListMFADevicesResponse> to everything) used to count as success.
    if (user == "h-other-action-root") {
      if (action == "ListMFADevices")
        return HttpTestResponse::text(
            200, xml_ok("ListMFADevices", "<MFADevices><member><UserName>h-other-action-root</UserName>"
                                          "<SerialNumber>GAKT0002</SerialNumber></member></MFADevices>"
                                          "<IsTruncated>false</IsTruncated>"));
      return HttpTestResponse::text(200, xml_ok("ListMFADevices", "<MFADevices/><IsTruncated>false</IsTruncated>"));
    }
    if (action == "DeactivateMFADevice") return HttpTestResponse::text(200, xml_ok(action, ""));
    if (action != "ListMFADevices")
      return HttpTestResponse::text(400, xml_error("InvalidAction", "unexpected " + action));

    if (user == "h-truncated-xml")
      return HttpTestResponse::text(200, xml_ok(action, "<MFADevices>").substr(0, 120));
    if (user == "h-html-200")
      return HttpTestResponse::text(200, "<html><body>Welcome</body></html>", "text/html");
    if (user == "h-html-503")
      return HttpTestResponse::text(503, "<html><body><h1>503 Service Unavailable</h1></body></html>",
                                    "text/html");
    if (user == "h-huge-body") {
      // 10 MiB of valid-looking XML: refused by the response size cap, never buffered whole.
      std::string pad(10 * 1024 * 1024, 'x');
      return HttpTestResponse::text(200, xml_ok(action, "<Marker>" + pad + "</Marker>"));
    }
    if (user == "h-slow-loris") {
      HttpTestResponse h;
      h.action = HttpTestResponse::Action::hang;
      return h;
    }
    if (user == "h-redirect") {
      HttpTestResponse h = HttpTestResponse::text(302, "");
      h.headers.emplace_back("Location", "http://169.254.169.254/latest/meta-data/");
      return h;
    }
    if (user == "h-empty-200") return HttpTestResponse::text(200, "");
    if (user == "h-reset") {
      HttpTestResponse h = HttpTestResponse::text(200, mfa_list("arn:aws:iam::1:mfa/x"));
      h.action = HttpTestResponse::Action::reset_mid_response;
      return h;
    }
    if (user == "h-close") {
      HttpTestResponse h;
      h.action = HttpTestResponse::Action::close_without_response;
      return h;
    }
    if (user == "h-entity-bomb") {
      std::string bomb =
          "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 "
          "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\"><!ENTITY lol3 "
          "\"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>" +
          xml_ok(action, "<MFADevices/><IsTruncated>false</IsTruncated><Marker>&lol3;</Marker>");
      return HttpTestResponse::text(200, bomb);
    }
    if (user == "h-wrong-root") return HttpTestResponse::text(200, "<Foo><Bar/></Foo>");
    if (user == "h-huge-error")
      return HttpTestResponse::text(400, xml_error("ValidationError", std::string(1 << 20, 'm')));
    if (user == "h-unknown-code")
      return HttpTestResponse::text(400, xml_error("SomethingNew", "a code nobody has seen"));
    if (user == "h-injected-serial")
      // The serial comes back from IAM with query syntax in it: the follow-up call must carry it
      // as one encoded value, never as a second Action.
      return HttpTestResponse::text(200, mfa_list("GAKT0001&amp;Action=CreateAccessKey"));
    if (user == "retry-budget") {
      // Three EntityTemporarilyUnmodifiable, then one ServiceFailure, then the answer: the
      // 500 must be judged by the transient class's own budget, not the call's total attempts.
      int n = 0;
      {
        std::lock_guard lock(mu_);
        n = ++list_calls_[user];
      }
      if (n <= 3)
        return HttpTestResponse::text(409, xml_error("EntityTemporarilyUnmodifiable", "busy, try later"));
      if (n == 4) return HttpTestResponse::text(500, xml_error("ServiceFailure", "internal"));
      return HttpTestResponse::text(200, mfa_list("GAKT00000002"));
    }
    if (user == "good-user") return HttpTestResponse::text(200, mfa_list("GAKT00000001"));
    return HttpTestResponse::text(404, xml_error("NoSuchEntity", "no user " + user));
  }

  mutable std::mutex mu_;
  std::vector<iamq::client::Params> calls_;
  std::map<std::string, int> list_calls_;  ///< ListMFADevices calls per user
  HttpTestServer server_;  // last: its thread calls answer() and must stop first
};

class HostileInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    config_path_ = redis_.dir() + "/iamq.toml";
    std::ofstream f(config_path_);
    f << "redis_url = \"" << redis_.url() << "\"\n"
      << "namespace = \"" << kNs << "\"\n"
      << "request_timeout = \"1500ms\"\n"
      << "connect_timeout = \"1s\"\n"
      << "max_attempts = 3\n"
      << "visibility_timeout = \"30s\"\n"
      << "[backoff.transient]\nbase = \"10ms\"\ncap = \"50ms\"\nmax_attempts = 2\n"
      << "[backoff.throttled]\nbase = \"10ms\"\ncap = \"50ms\"\nmax_attempts = 2\n"
      << "[backoff.unmodifiable]\nbase = \"10ms\"\ncap = \"50ms\"\nmax_attempts = 10\n"
      << "[accounts.default]\ncredentials = \"static\"\naccess_key_id = \"AKIDEXAMPLE\"\n"
      << "secret_access_key = \"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY\"\n"
      << "endpoint = \"" << iam_.url() << "\"\nrate = 1000.0\nburst = 1000.0\n";
  }

  RunResult iamq(std::vector<std::string> args, const std::string& stdin_data = "",
                 std::chrono::milliseconds timeout = 60s) {
    std::vector<std::string> argv = {iamq_bin(), "--config", config_path_};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess::Options opts;
    opts.stdin_data = stdin_data;
    return iamq::test::run(argv, opts, timeout);
  }

  /// redis-cli with `args`; a last argument too long for argv (Linux caps one at 128 KiB) is
  /// sent through stdin with `-x` instead.
  RunResult redis_cli(std::vector<std::string> args) {
    std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(redis_.port()), "--no-raw"};
    ChildProcess::Options opts;
    if (!args.empty() && args.back().size() > 64 * 1024) {
      opts.stdin_data = std::move(args.back());
      args.pop_back();
      argv.push_back("-x");
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return iamq::test::run(argv, opts);
  }

  std::string hget(const std::string& id, const std::string& field) {
    std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(redis_.port()), "--raw",
                                     "HGET", kNs + ":job:" + id, field};
    auto r = iamq::test::run(argv);
    std::string v = r.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    return v;
  }

  long long xlen(const std::string& key) {
    std::vector<std::string> argv = {"redis-cli", "-p", std::to_string(redis_.port()), "--raw",
                                     "XLEN", key};
    return std::stoll(iamq::test::run(argv).out);
  }

  /// Runs a worker until the queue is drained; it must exit 0 within the bound.
  void drain() {
    auto r = iamq({"worker", "--drain", "--concurrency", "16", "--metrics-listen", "off",
                   "--shutdown-timeout", "5s"},
                  "", 120s);
    ASSERT_EQ(r.status, 0) << "worker did not drain cleanly\nstdout:\n"
                           << r.out << "\nstderr:\n" << r.err.substr(0, 4000);
  }

  RedisServer redis_;
  HostileIam iam_;
  std::string config_path_;
};

/// A hostile job line, and a word its refusal must contain (the field or the rule).
struct BadJob {
  const char* name;
  std::string json;
  const char* must_mention;
};

std::vector<BadJob> bad_jobs() {
  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "[";
  for (int i = 0; i < 5000; ++i) deep += "]";
  std::string many_steps = R"({"type":"iam_calls","steps":[)";
  for (int i = 0; i < 5000; ++i)
    many_steps += std::string(i ? "," : "") +
                  R"({"action":"DeleteAccessKey","params":{"UserName":"u","AccessKeyId":"AKIA0000000000000000"}})";
  many_steps += "]}";
  return {
      {"oversized_1MiB", R"({"type":"offboard_user","user_name":"a","meta":{"pad":")" +
                             std::string(1 << 20, 'p') + "\"}}",
       "limit"},
      {"deeply_nested", R"({"type":"offboard_user","user_name":"a","meta":{"x":)" + deep + "}}",
       ""},
      {"not_json", "this is not json", ""},
      {"json_array", R"([{"type":"offboard_user","user_name":"a"}])", ""},
      {"nul_in_name", R"({"type":"offboard_user","user_name":"ali\u0000ce"})", "user_name"},
      {"non_utf8_name", "{\"type\":\"offboard_user\",\"user_name\":\"al\xff\xfeice\"}", ""},
      {"name_129_chars", R"({"type":"offboard_user","user_name":")" + std::string(129, 'a') + "\"}",
       "user_name"},
      {"empty_name", R"({"type":"offboard_user","user_name":""})", "user_name"},
      {"name_with_query", R"({"type":"offboard_user","user_name":"x&Action=CreateAccessKey"})",
       "user_name"},
      {"name_with_space", R"({"type":"offboard_user","user_name":"bad name"})", "user_name"},
      {"serial_too_short", R"({"type":"deactivate_mfa","user_name":"a","serial_number":"abc"})",
       "serial_number"},
      {"serial_257_chars", R"({"type":"deactivate_mfa","user_name":"a","serial_number":")" +
                               std::string(257, 's') + "\"}",
       "serial_number"},
      {"unknown_type", R"({"type":"format_disk","user_name":"a"})", "type"},
      {"missing_type", R"({"user_name":"a"})", "type"},
      {"type_not_string", R"({"type":7,"user_name":"a"})", "type"},
      {"unknown_field", R"({"type":"offboard_user","user_name":"a","sudo":true})", "sudo"},
      {"huge_steps_list", many_steps, "limit"},
      {"steps_not_allowed_action",
       R"({"type":"iam_calls","steps":[{"action":"CreateAccessKey","params":{"UserName":"a"}}]})",
       "CreateAccessKey"},
      {"max_attempts_negative", R"({"type":"offboard_user","user_name":"a","max_attempts":-1})",
       "max_attempts"},
      {"meta_not_object", R"({"type":"offboard_user","user_name":"a","meta":"x"})", "meta"},
      // Issue 14: the last of two equal keys used to win, and a NUL ended the document.
      {"duplicate_dry_run", R"({"type":"offboard_user","user_name":"a","dry_run":true,"dry_run":false})",
       "duplicate key \"dry_run\""},
      {"duplicate_type", R"({"type":"deactivate_mfa","type":"offboard_user","user_name":"a"})",
       "duplicate key \"type\""},
      {"trailing_after_nul", std::string(R"({"type":"offboard_user","user_name":"a"})") + std::string("\0garbage", 8),
       "NUL byte"},
  };
}

// Every hostile job is refused by `iamq enqueue` with its line number and a reason; nothing of
// it reaches Redis.
TEST_F(HostileInputs, EnqueueRefusesEachHostileJobWithAReason) {
  auto jobs = bad_jobs();
  for (const auto& bad : jobs) {
    if (std::string(bad.name) == "steps_not_allowed_action") continue;  // valid JSON; the worker refuses it
    auto r = iamq({"enqueue", "--file", "-"}, bad.json + "\n");
    EXPECT_NE(r.status, 0) << bad.name << ": enqueue accepted it: " << r.out;
    EXPECT_NE(r.err.find("line 1:"), std::string::npos) << bad.name << ": " << r.err.substr(0, 500);
    if (*bad.must_mention) {
      EXPECT_NE(r.err.find(bad.must_mention), std::string::npos)
          << bad.name << ": refusal does not mention " << bad.must_mention << ": "
          << r.err.substr(0, 500);
    }
    EXPECT_LT(r.err.size(), 4096u) << bad.name << ": the error echoes the whole input";
  }
  EXPECT_EQ(xlen(kNs + ":jobs"), 0);
}

// The same hostile jobs written straight into the stream by another program (and an entry
// without a `job` field) are dead-lettered by the worker with the reason, cost no IAM call,
// and the worker goes on to run a good job.
TEST_F(HostileInputs, WorkerDeadLettersRawHostileEntriesWithoutCallingIam) {
  auto jobs = bad_jobs();
  std::size_t written = 0;
  for (const auto& bad : jobs) {
    if (bad.json.find('\0') != std::string::npos) continue;
    auto r = redis_cli({"XADD", kNs + ":jobs", "*", "job", bad.json});
    ASSERT_EQ(r.status, 0) << bad.name << r.err;
    ++written;
  }
  ASSERT_EQ(redis_cli({"XADD", kNs + ":jobs", "*", "not_job", "x"}).status, 0);
  ++written;

  drain();
  EXPECT_EQ(iam_.requests(), 0u) << "a hostile job reached IAM";
  EXPECT_EQ(xlen(kNs + ":dead"), static_cast<long long>(written));
  EXPECT_EQ(xlen(kNs + ":jobs"), 0);

  auto dlq = iamq({"dlq", "list", "--json", "--limit", "100"});
  ASSERT_EQ(dlq.status, 0) << dlq.err;
  auto parsed = nlohmann::json::parse(dlq.out, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << dlq.out.substr(0, 500);
  std::string all = parsed.dump();
  EXPECT_NE(all.find("CreateAccessKey"), std::string::npos) << "allow-list refusal not explained";
  EXPECT_NE(all.find("user_name"), std::string::npos);
  // Every dead letter can be addressed: an id (its own, or x-<entry id>) with a record that
  // `iamq status` shows as dead with the reason.
  ASSERT_TRUE(parsed.is_array()) << dlq.out.substr(0, 300);
  for (const auto& d : parsed) {
    const std::string id = d.value("id", "");
    ASSERT_FALSE(id.empty()) << d.dump().substr(0, 300);
    EXPECT_EQ(hget(id, "status"), "dead") << id;
  }

  // Still serving: a good job runs to the end.
  auto ok = iamq({"enqueue", "deactivate-mfa", "--user", "good-user", "--id", "good-1"});
  ASSERT_EQ(ok.status, 0) << ok.err;
  drain();
  EXPECT_EQ(hget("good-1", "status"), "succeeded");
}

// Issue 14: eight raw 8 MiB entries were read by the worker (369 MiB) before its size check.
// Now they are refused inside Redis: the worker is sent none of their bytes, so Redis's count
// of bytes written to clients grows by far less than one of them while the worker drains them.
TEST_F(HostileInputs, OversizedEntriesAreRefusedInRedisWithoutBeingRead) {
  const std::string big = R"({"type":"offboard_user","user_name":"a","meta":{"pad":")" +
                          std::string(8 << 20, 'p') + "\"}}";
  for (int i = 0; i < 8; ++i) {
    auto r = redis_cli({"XADD", kNs + ":jobs", "*", "id", "big-" + std::to_string(i), "job", big});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  ASSERT_EQ(redis_cli({"XADD", kNs + ":jobs", "*", "job",
                       R"({"id":"small-1","type":"deactivate_mfa","user_name":"good-user"})"})
                .status,
            0);
  auto net_out = [&] {
    auto r = redis_cli({"INFO", "stats"});
    const auto at = r.out.find("total_net_output_bytes:");
    EXPECT_NE(at, std::string::npos) << r.out.substr(0, 300);
    return at == std::string::npos ? 0LL : std::stoll(r.out.substr(at + 23));
  };
  const long long before = net_out();
  drain();
  const long long sent = net_out() - before;
  EXPECT_LT(sent, 2LL << 20) << "Redis sent " << sent << " bytes: an oversized entry was read";
  EXPECT_EQ(xlen(kNs + ":jobs"), 0);
  EXPECT_EQ(xlen(kNs + ":dead"), 8);
  for (int i = 0; i < 8; ++i) {
    const std::string id = "big-" + std::to_string(i);
    EXPECT_EQ(hget(id, "status"), "dead") << id;
    EXPECT_NE(hget(id, "error").find("the limit is 65536"), std::string::npos) << hget(id, "error");
    EXPECT_LT(hget(id, "job").size(), 100u) << "the entry's text was stored";
  }
  EXPECT_EQ(hget("small-1", "status"), "succeeded");
  EXPECT_GT(iam_.requests(), 0u);
}

/// An IAM misbehaviour and how the job must end.
struct BadAnswer {
  const char* user;
  const char* status;  ///< final job status
  const char* code;    ///< error code recorded ("" when succeeded)
};

// Broken IAM answers: each job ends in a final state with a clear error code, bounded in time,
// and the worker keeps serving.
TEST_F(HostileInputs, BrokenIamAnswersEndJobsWithClearErrors) {
  const std::vector<BadAnswer> table = {
      {"h-truncated-xml", "failed", ""},
      {"h-html-200", "failed", ""},
      // Well-formed HTML is not the action's answer: UnexpectedResponse, transient (retried);
      // issue 14 (it was NonXmlResponse).
      {"h-html-503", "failed", "UnexpectedResponse"},
      {"h-huge-body", "failed", ""},
      {"h-slow-loris", "failed", ""},
      {"h-redirect", "failed", ""},
      {"h-empty-200", "failed", ""},
      {"h-reset", "failed", ""},
      {"h-close", "failed", ""},
      {"h-wrong-root", "failed", "UnexpectedResponse"},
      {"h-other-action-root", "failed", "UnexpectedResponse"},
      {"h-huge-error", "failed", "ValidationError"},
      {"h-unknown-code", "failed", "SomethingNew"},
      {"h-entity-bomb", "", ""},  // either way, bounded and no crash
      {"h-injected-serial", "succeeded", ""},
  };
  std::string lines;
  for (const auto& c : table)
    lines += R"({"id":")" + std::string(c.user) + R"(","type":"deactivate_mfa","user_name":")" +
             c.user + "\"}\n";
  auto enq = iamq({"enqueue", "--file", "-"}, lines);
  ASSERT_EQ(enq.status, 0) << enq.err;

  drain();  // bounded: a hanging answer must not hold the worker past drain()'s limit

  for (const auto& c : table) {
    std::string status = hget(c.user, "status");
    if (*c.status) {
      EXPECT_EQ(status, c.status) << c.user << " error=" << hget(c.user, "error").substr(0, 300);
    } else {
      EXPECT_TRUE(status == "succeeded" || status == "failed") << c.user << ": " << status;
    }
    std::string error = hget(c.user, "error");
    EXPECT_LT(error.size(), 4096u) << c.user << ": error not bounded";
    if (std::string(c.status) == "failed") {
      EXPECT_FALSE(error.empty()) << c.user << ": no reason";
    }
    if (*c.code) {
      EXPECT_NE(error.find(c.code), std::string::npos) << c.user << ": " << error;
    }
  }

  // The injected serial travelled as one encoded value: exactly one Action per request, and the
  // DeactivateMFADevice carried the whole serial.
  bool saw_deactivate = false;
  for (const auto& call : iam_.calls()) {
    int actions = 0;
    for (const auto& [k, v] : call) actions += k == "Action";
    EXPECT_EQ(actions, 1);
    EXPECT_NE(param(call, "Action"), "CreateAccessKey");
    if (param(call, "Action") == "DeactivateMFADevice" &&
        param(call, "UserName") == "h-injected-serial") {
      saw_deactivate = true;
      EXPECT_EQ(param(call, "SerialNumber"), "GAKT0001&Action=CreateAccessKey");
    }
  }
  EXPECT_TRUE(saw_deactivate);
  EXPECT_EQ(xlen(kNs + ":jobs"), 0);

  // Still serving afterwards.
  auto ok = iamq({"enqueue", "deactivate-mfa", "--user", "good-user", "--id", "good-2"});
  ASSERT_EQ(ok.status, 0) << ok.err;
  drain();
  EXPECT_EQ(hget("good-2", "status"), "succeeded");
}

}  // namespace

// Each error class spends only its own retry budget: three EntityTemporarilyUnmodifiable
// answers (unmodifiable allows 10) followed by one ServiceFailure (transient allows 2) is
// one transient failure, retried — not a fourth attempt over the transient limit.
TEST_F(HostileInputs, EachErrorClassSpendsOnlyItsOwnRetryBudget) {
  auto enq = iamq({"enqueue", "deactivate-mfa", "--user", "retry-budget", "--id", "retry-budget"});
  ASSERT_EQ(enq.status, 0) << enq.err;
  drain();
  EXPECT_EQ(hget("retry-budget", "status"), "succeeded") << hget("retry-budget", "error");
  std::size_t lists = 0;
  for (const auto& c : iam_.calls())
    if (param(c, "Action") == "ListMFADevices" && param(c, "UserName") == "retry-budget") ++lists;
  EXPECT_EQ(lists, 5u);  // 3 unmodifiable + 1 service failure + the answer
}
