// Secrets planted in jobs of every type (issue 14): whatever a producer sends, through
// `iamq enqueue` or a plain XADD, valid or refused, dry run or not, no secret value reaches
// Redis (every value of every key is searched) or a log or a command's output.
#include "tests/worker/worker_fixture.hpp"

namespace iamq::test {
namespace {

using nlohmann::json;

const std::string kPrefix = std::string("arn:aws:iam::") + kAccountId + ":";

class Secrets : public WorkerE2E {
 protected:
  /// Every value held in Redis, whatever the key's type, as one text.
  std::string everything_in_redis() {
    std::string all;
    for (const auto& k : redis({"KEYS", "*"}).elements) {
      const std::string key = k.str;
      all += "\n== " + key + "\n";
      const std::string type = redis({"TYPE", key}).str;
      auto add = [&](const queue::Reply& r, auto&& self) -> void {
        if (r.is_array()) {
          for (const auto& e : r.elements) self(e, self);
        } else {
          all += r.str + "\n";
        }
      };
      if (type == "string") add(redis({"GET", key}), add);
      else if (type == "hash") add(redis({"HGETALL", key}), add);
      else if (type == "list") add(redis({"LRANGE", key, "0", "-1"}), add);
      else if (type == "set") add(redis({"SMEMBERS", key}), add);
      else if (type == "zset") add(redis({"ZRANGE", key, "0", "-1", "WITHSCORES"}), add);
      else if (type == "stream") add(redis({"XRANGE", key, "-", "+"}), add);
      else ADD_FAILURE() << "unexpected type " << type << " of " << key;
    }
    return all;
  }
};

TEST_F(Secrets, NoPlantedSecretReachesRedisOrALog) {
  EmulatorProcess::Options o;
  o.seed = {{"accounts", json::array({{{"id", kAccountId},
                                       {"users", json::array({{{"name", "alice"}, {"login_profile", json::object()}},
                                                              {{"name", "bob"},
                                                               {"mfa_devices", json::array({kPrefix + "mfa/bob"})}},
                                                              {{"name", "carol"}}})}}})}};
  start_emulator(std::move(o));
  write_config(WorkerConfig());

  // Every secret has its own marker, so that a leak says where it came from.
  const std::vector<std::string> markers = {"S3CRET-META-OFFBOARD", "S3CRET-META-MFA",   "S3CRET-PARAM-DRYRUN",
                                            "S3CRET-PARAM-LIVE",    "S3CRET-PARAM-LIST", "S3CRET-UNKNOWN-FIELD",
                                            "S3CRET-XADD-DUP",      "S3CRET-XADD-TEXT",  "S3CRET-XADD-BIG",
                                            "S3CRET-CLI-META",      "S3CRET-KEEP-META",  "S3CRET-XADD-ESC"};
  const std::string jobs =
      json({{"id", "s-offboard"}, {"type", "offboard_user"}, {"user_name", "alice"},
            {"meta", {{"ticket", "T-1"}, {"password", markers[0]}}}}).dump() + "\n" +
      json({{"id", "s-mfa"}, {"type", "deactivate_mfa"}, {"user_name", "bob"},
            {"meta", {{"session_token", markers[1]}}}}).dump() + "\n" +
      json({{"id", "s-calls-dry"}, {"type", "iam_calls"}, {"dry_run", true},
            {"steps", json::array({{{"action", "ChangePassword"},
                                    {"params", {{"OldPassword", "x"}, {"NewPassword", markers[2]}}}}})}}).dump() + "\n" +
      json({{"id", "s-calls-live"}, {"type", "iam_calls"},
            {"steps", json::array({{{"action", "DeleteLoginProfile"},
                                    {"params", {{"UserName", "carol"}, {"Password", markers[3]}}}}})}}).dump() + "\n" +
      json({{"id", "s-calls-list"}, {"type", "iam_calls"},
            {"steps", json::array({{{"action", "DeleteSSHPublicKey"},
                                    {"params", {{"UserName", "carol"}, {"PrivateKey", json::array({markers[4]})}}}}})}})
          .dump() + "\n" +
      json({{"id", "s-unknown"}, {"type", "offboard_user"}, {"user_name", "carol"},
            {"SecretAccessKey", markers[5]}}).dump() + "\n" +
      json({{"id", "s-keep"}, {"type", "offboard_user"}, {"user_name", "carol"}, {"keep_user", true},
            {"meta", {{"api_token", markers[10]}}}}).dump() + "\n";
  auto enq = iamq({"enqueue", "--file", "-"}, jobs);
  EXPECT_EQ(enq.status, 1) << enq.err;  // four lines refused, three enqueued
  auto cli = iamq({"enqueue", "offboard-user", "--user", "carol", "--id", "s-cli", "--meta",
                   "session_token=" + markers[9], "--dry-run"});
  EXPECT_EQ(cli.status, 0) << cli.err;

  // The same refused jobs, and worse, straight into the stream.
  for (const auto& raw : std::vector<std::string>{
           jobs.substr(0, jobs.find('\n')),  // valid, with a secret in meta
           R"({"id":"x-calls","type":"iam_calls","steps":[{"action":"DeleteLoginProfile","params":{"UserName":"carol","SessionToken":"S3CRET-PARAM-LIVE"}}]})",
           R"({"id":"x-dup","type":"iam_calls","type":"iam_calls","steps":[{"action":"DeleteUser","params":{"UserName":"a","NewPassword":")" +
               markers[6] + "\"}}]}",
           "Password=" + markers[7] + " this is not JSON",
           R"({"type":"offboard_user","user_name":"a","meta":{"PrivateKey":")" + markers[8] + "\",\"pad\":\"" +
               std::string(100 * 1024, 'p') + "\"}}",
           R"({"type":"iam_calls","steps":[{"params":{"Pass\u0077ord":")" + markers[11] + "\"}",
       }) {
    redis({"XADD", key("jobs"), "*", "job", raw});
  }
  auto r = iamq({"worker", "--drain", "--log-level", "trace"}, {}, std::chrono::seconds(60));
  ASSERT_EQ(r.status, 0) << r.err;

  // The jobs ran (or were refused) as they should.
  EXPECT_EQ(job_status("s-offboard"), "succeeded");
  EXPECT_EQ(job_status("s-mfa"), "succeeded");
  EXPECT_EQ(job_status("s-keep"), "succeeded");
  EXPECT_EQ(job_status("s-cli"), "succeeded");
  EXPECT_EQ(job_result("s-offboard")["meta"]["ticket"], "T-1");
  EXPECT_EQ(job_result("s-offboard")["meta"]["password"], "<redacted>");
  EXPECT_EQ(job_status("x-calls"), "dead");
  EXPECT_NE(job_field("x-calls", "error").find("SessionToken carries a secret"), std::string::npos)
      << job_field("x-calls", "error");
  EXPECT_EQ(job_status("x-dup"), "dead");
  EXPECT_NE(enq.err.find("NewPassword carries a secret"), std::string::npos) << enq.err;

  const std::string stored = everything_in_redis();
  auto dlq = iamq({"dlq", "list", "--json", "--limit", "100"});
  auto dlq_human = iamq({"dlq", "list"});
  std::string statuses;
  for (const char* id : {"s-offboard", "s-mfa", "s-keep", "s-cli", "x-calls", "x-dup"}) {
    auto s = iamq({"status", id});
    statuses += s.out + s.err;
  }
  const std::string printed = enq.out + enq.err + cli.out + cli.err + r.out + r.err + dlq.out + dlq.err +
                              dlq_human.out + statuses;
  for (const auto& m : markers) {
    EXPECT_EQ(stored.find(m), std::string::npos) << m << " is in Redis:\n"
                                                 << stored.substr(stored.rfind("\n== ", stored.find(m)), 600);
    EXPECT_EQ(printed.find(m), std::string::npos) << m << " was printed";
  }
  // The oversized entry was dead-lettered in Redis without its text, not stored whole.
  EXPECT_LT(stored.size(), 96u * 1024) << "an entry was stored whole";  // the 100 KiB one
  EXPECT_NE(stored.find("bytes not stored"), std::string::npos);
  for (const auto& e : redis({"XRANGE", key("dead"), "-", "+"}).elements) {
    auto f = e.elements.at(1).as_map();
    EXPECT_LE(f["job"].size(), 4200u) << f["job"].substr(0, 200);
  }
  // And what was refused is there, redacted, for an operator to read.
  EXPECT_NE(stored.find("<redacted>"), std::string::npos);
}

}  // namespace
}  // namespace iamq::test
