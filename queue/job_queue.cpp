#include "queue/job_queue.hpp"

#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "queue/job_queue_detail.hpp"
#include "queue/lua_scripts.hpp"

namespace iamq::queue {

using detail::head;
using detail::map_status;
using detail::simple;

namespace {

/// One script: the common prelude + the script's body, with its SHA1 for EVALSHA.
struct Script {
  std::string text;
  std::string sha;
};

const Script& script(std::string_view name) {
  static std::unordered_map<std::string, Script> cache;
  auto it = cache.find(std::string(name));
  if (it != cache.end()) return it->second;
  Script s;
  s.text = std::string(lua::source("common")) + "\n" + std::string(lua::source("outbox_hook")) + "\n" +
           std::string(lua::source(name));
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(s.text.data()), s.text.size(), digest.data());
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    s.sha.push_back(hex[b >> 4]);
    s.sha.push_back(hex[b & 15]);
  }
  return cache.emplace(std::string(name), std::move(s)).first->second;
}

bool safe_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// Parses XREADGROUP / XAUTOCLAIM entries: [[id, [f, v, …]], …].
std::vector<StreamEntry> parse_entries(const Reply& list) {
  std::vector<StreamEntry> out;
  if (!list.is_array()) return out;
  for (const auto& e : list.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    StreamEntry se;
    se.entry_id = e.elements[0].as_string().value_or("");
    auto fields = e.elements[1].as_map();
    se.job_json = fields["job"];
    se.id = fields["id"];
    se.claim = fields.count("claim") > 0;
    if (!se.entry_id.empty()) out.push_back(std::move(se));
  }
  return out;
}

std::string ms_string(std::chrono::milliseconds d) {
  return std::to_string(d.count());
}

}  // namespace

std::string_view to_string(JobStatus s) {
  switch (s) {
    case JobStatus::queued:
      return "queued";
    case JobStatus::running:
      return "running";
    case JobStatus::retry_scheduled:
      return "retry_scheduled";
    case JobStatus::succeeded:
      return "succeeded";
    case JobStatus::failed:
      return "failed";
    case JobStatus::dead:
      return "dead";
    case JobStatus::cancelled:
      return "cancelled";
  }
  return "unknown";
}

std::optional<JobStatus> job_status_from_string(std::string_view s) {
  for (auto st : kAllStatuses) {
    if (to_string(st) == s) return st;
  }
  return std::nullopt;
}

std::string make_consumer_name() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  auto start = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  return std::string(host.data()) + ":" + std::to_string(::getpid()) + ":" + std::to_string(start);
}

JobQueue::JobQueue(RedisConnection& conn, RedisConnection& blocking, Options opts)
    : conn_(conn), blocking_(blocking), opts_(std::move(opts)), keys_(opts_.ns) {
  if (opts_.consumer.empty()) opts_.consumer = make_consumer_name();
  if (opts_.enqueue_batch == 0) opts_.enqueue_batch = 1;
}

void JobQueue::eval(std::string_view name, std::vector<std::string> keys,
                    std::vector<std::string> args, RedisConnection::Completion done) {
  const Script& s = script(name);
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + 3 + args.size());
  cmd.push_back("EVALSHA");
  cmd.push_back(s.sha);
  cmd.push_back(std::to_string(keys.size() + 1));
  cmd.push_back(keys_.jobs());
  for (auto& k : keys) cmd.push_back(std::move(k));
  cmd.push_back(keys_.ns);
  cmd.push_back(std::to_string(opts_.events_maxlen));
  cmd.push_back(opts_.consumer);
  for (auto& a : args) cmd.push_back(std::move(a));
  // EVALSHA first; on NOSCRIPT (new server, SCRIPT FLUSH, restart) send the text with EVAL.
  auto retry_cmd = std::make_shared<std::vector<std::string>>(cmd);
  // Writes whose loss in a failover would lose a job or a result wait for a replica (WAIT,
  // when the connection has wait_replicas set and the master has replicas).
  const bool replicated = name == "enqueue" || name == "finish" || name == "dead" || name == "route" ||
                          name == "cancel";
  auto send = [this, replicated](std::vector<std::string> c, RedisConnection::Completion d) {
    if (replicated) {
      conn_.command_replicated(std::move(c), std::move(d));
    } else {
      conn_.command(std::move(c), std::move(d));
    }
  };
  send(std::move(cmd), [send, retry_cmd, name = std::string(name), done = std::move(done)](
                           std::error_code ec, Reply r) mutable {
    if (ec == Errc::server_error && r.str.rfind("NOSCRIPT", 0) == 0) {
      (*retry_cmd)[0] = "EVAL";
      (*retry_cmd)[1] = script(name).text;
      send(std::move(*retry_cmd), std::move(done));
      return;
    }
    done(ec, std::move(r));
  });
}

void JobQueue::ensure_group(Done done) {
  conn_.command({"XGROUP", "CREATE", keys_.jobs(), Keys::group, "0", "MKSTREAM"},
                [done = std::move(done)](std::error_code ec, Reply r) {
                  if (ec == Errc::server_error && r.str.rfind("BUSYGROUP", 0) == 0) ec = {};
                  done(ec);
                });
}

void JobQueue::read_intake(const std::string& cursor, std::size_t max,
                           std::function<void(std::error_code, IntakeRead)> done) {
  const std::string from = cursor.empty() ? std::string("0-0") : cursor;
  eval("intake", {},
       {from, std::to_string(std::max<std::size_t>(1, max)), std::to_string(opts_.max_entry_bytes)},
       [from, done = std::move(done)](std::error_code ec, Reply r) {
         IntakeRead out;
         out.next = from;
         if (!ec && (!r.is_array() || r.elements.size() < 2)) ec = make_error_code(Errc::protocol_error);
         if (ec) return done(ec, std::move(out));
         out.next = r.elements[0].as_string().value_or(from);
         out.refused = static_cast<std::size_t>(std::max<long long>(0, r.elements[1].as_integer().value_or(0)));
         Reply rows;
         rows.type = Reply::Type::array;
         rows.elements.assign(std::make_move_iterator(r.elements.begin() + 2),
                              std::make_move_iterator(r.elements.end()));
         out.entries = parse_entries(rows);
         done({}, std::move(out));
       });
}

void JobQueue::route(const std::vector<StreamEntry>& entries,
                     std::function<void(std::error_code, std::vector<RouteResult>)> done) {
  std::vector<RouteResult> results;
  std::vector<std::string> args;
  args.push_back("0");
  std::size_t n = 0;
  for (const auto& e : entries) {
    if (e.claim) continue;  // a started job's claim: never routed
    RouteResult res;
    res.entry_id = e.entry_id;
    std::variant<JobSummary, std::string> checked = std::string("no job validator configured");
    const bool oversized = e.job_json.size() > opts_.max_entry_bytes;
    if (oversized) {
      // Before any parse or copy: an 8 MiB entry is refused by its size alone.
      checked = "job is " + std::to_string(e.job_json.size()) + " bytes; the limit is " +
                std::to_string(opts_.max_entry_bytes);
    } else if (opts_.validator) {
      checked = opts_.validator(e.job_json, "x-" + e.entry_id);
    }
    std::vector<std::string> group;
    if (auto* err = std::get_if<std::string>(&checked)) {
      // Invalid: dead-letter with the validation message; keep the id if it is usable so that
      // `iamq status ID` can tell what happened.
      std::string id;
      auto j = oversized ? nlohmann::json() : nlohmann::json::parse(e.job_json, nullptr, false);
      if (j.is_object() && j.contains("id") && j["id"].is_string() &&
          safe_id(j["id"].get<std::string>())) {
        id = j["id"].get<std::string>();
      } else if (safe_id(e.id)) {
        id = e.id;
      } else {
        id = "x-" + e.entry_id;  // as a valid plain XADD without an id would be named
      }
      res.id = id;
      res.error = *err;
      std::string stored =
          opts_.store_invalid
              ? opts_.store_invalid(e.job_json)
              : e.job_json.substr(0, std::min(e.job_json.size(), opts_.max_entry_bytes));
      group = {e.entry_id, "invalid", id, std::move(stored), *err, "", "", "", "0", "normal", "0", ""};
    } else {
      auto& job = std::get<JobSummary>(checked);
      res.id = job.id;
      std::string kind = "job";
      std::string children;
      if (job.parent) {
        // A fan-out parent: its children (id, account, JSON, ...) are created with it.
        kind = "parent";
        nlohmann::json list = nlohmann::json::array();
        for (const auto& c : job.children) {
          list.push_back({c.id, c.account, c.canonical_json, c.type, c.user_name,
                          std::to_string(c.max_attempts), c.priority, std::to_string(c.not_before_ms)});
        }
        if (list.empty()) {
          kind = "reject";
          res.error = "accounts: no child job could be made (no account configured?)";
        }
        children = list.dump();
      } else if (opts_.known_account && !opts_.known_account(job.account)) {
        kind = "reject";
        res.error = "account \"" + job.account + "\" is not configured";
      }
      if (kind == "job") res.account = job.account;
      group = {e.entry_id, kind, job.id, job.canonical_json, res.error, job.type, job.account,
               job.user_name, std::to_string(job.max_attempts), job.priority,
               std::to_string(job.not_before_ms), std::move(children)};
    }
    for (auto& g : group) args.push_back(std::move(g));
    results.push_back(std::move(res));
    ++n;
  }
  if (n == 0) {
    done({}, std::move(results));
    return;
  }
  args[0] = std::to_string(n);
  eval("route", {}, std::move(args),
       [results = std::move(results), done = std::move(done)](std::error_code ec, Reply r) mutable {
         if (!ec && (!r.is_array() || r.elements.size() != results.size())) {
           ec = make_error_code(Errc::protocol_error);
         }
         if (ec) return done(ec, {});
         using O = RouteResult::Outcome;
         for (std::size_t i = 0; i < results.size(); ++i) {
           const std::string w = r.elements[i].as_string().value_or("");
           results[i].outcome = w == "routed"      ? O::routed
                                : w == "scheduled" ? O::scheduled
                                : w == "duplicate" ? O::duplicate
                                : w == "finished"  ? O::finished
                                : w == "dead"      ? O::dead
                                                   : O::gone;
         }
         done({}, std::move(results));
       });
}

void JobQueue::start_jobs(const std::vector<LaneGrant>& grants, std::size_t max,
                          std::function<void(std::error_code, ClaimResult)> done) {
  if (max == 0 || grants.empty()) {
    done({}, {});
    return;
  }
  std::vector<std::string> args = {std::to_string(max), std::to_string(opts_.bulk_share)};
  for (const auto& g : grants) {
    args.push_back(g.account);
    args.push_back(std::to_string(g.max));
  }
  eval("claim", {}, std::move(args), [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, {});
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[0].is_array() ||
        !r.elements[1].is_array() || r.elements[0].elements.size() % 11 != 0) {
      return done(make_error_code(Errc::protocol_error), {});
    }
    ClaimResult out;
    const auto& e = r.elements[0].elements;
    for (std::size_t i = 0; i + 10 < e.size(); i += 11) {
      Claim c;
      c.id = e[i].as_string().value_or("");
      c.entry_id = e[i + 1].as_string().value_or("");
      c.status = e[i + 2].as_string().value_or("");
      c.attempts = static_cast<int>(e[i + 3].as_integer().value_or(0));
      c.checkpoint = e[i + 4].as_string().value_or("");
      c.job_json = e[i + 5].as_string().value_or("");
      c.reclaims = static_cast<int>(e[i + 6].as_integer().value_or(0));
      c.resumes = static_cast<int>(e[i + 7].as_integer().value_or(0));
      c.handbacks = static_cast<int>(e[i + 8].as_integer().value_or(0));
      c.priority = e[i + 9].as_string().value_or("normal");
      c.account = e[i + 10].as_string().value_or("");
      out.started.push_back(std::move(c));
    }
    for (const auto& a : r.elements[1].elements) out.empty.push_back(a.as_string().value_or(""));
    done({}, std::move(out));
  });
}

void JobQueue::claim(const std::vector<LaneGrant>& grants, std::size_t max,
                     std::function<void(std::error_code, std::vector<Claim>)> done) {
  start_jobs(grants, max, [done = std::move(done)](std::error_code ec, ClaimResult r) {
    done(ec, std::move(r.started));
  });
}

void JobQueue::ready_accounts(bool rebuild,
                              std::function<void(std::error_code, std::vector<std::string>)> done) {
  eval("ready", {}, {rebuild ? "rebuild" : ""}, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, {});
    if (!r.is_array()) return done(make_error_code(Errc::protocol_error), {});
    std::vector<std::string> out;
    out.reserve(r.elements.size());
    for (const auto& a : r.elements) out.push_back(a.as_string().value_or(""));
    done({}, std::move(out));
  });
}

void JobQueue::record_step(const std::string& id, const std::string& entry_id,
                           const std::string& step_json, const std::string& checkpoint_json,
                           Done done) {
  // Batched: every step recorded in this turn of the event loop goes out in one script call
  // (one EVALSHA instead of one per IAM call; Redis spends most of a small script's time in
  // the call itself). A job has at most one step in flight (the worker waits for it), so
  // batching never reorders one job's commands.
  steps_->pending.push_back(PendingStep{id, entry_id, step_json, checkpoint_json, std::move(done)});
  if (steps_->flush_posted) return;
  steps_->flush_posted = true;
  boost::asio::post(conn_.context(), [this, alive = std::weak_ptr<StepBatch>(steps_)] {
    if (alive.lock()) flush_steps();
  });
}

void JobQueue::flush_steps() {
  steps_->flush_posted = false;
  std::vector<PendingStep> batch = std::move(steps_->pending);
  steps_->pending.clear();
  for (std::size_t off = 0; off < batch.size(); off += kMaxStepsPerCall) {
    const std::size_t n = std::min(kMaxStepsPerCall, batch.size() - off);
    std::vector<std::string> args;
    args.reserve(1 + 4 * n);
    args.push_back(std::to_string(n));
    auto dones = std::make_shared<std::vector<Done>>();
    dones->reserve(n);
    for (std::size_t i = off; i < off + n; ++i) {
      PendingStep& p = batch[i];
      args.push_back(std::move(p.id));
      args.push_back(std::move(p.entry_id));
      args.push_back(std::move(p.step));
      args.push_back(std::move(p.checkpoint));
      dones->push_back(std::move(p.done));
    }
    eval("step", {}, std::move(args), [dones](std::error_code ec, Reply r) {
      const bool shaped = !ec && r.is_array() && r.elements.size() == dones->size();
      for (std::size_t i = 0; i < dones->size(); ++i) {
        std::error_code e = ec;
        if (!e) {
          e = shaped ? map_status(r.elements[i].as_string().value_or(""))
                     : make_error_code(Errc::protocol_error);
        }
        (*dones)[i](e);
      }
    });
  }
}

void JobQueue::schedule_retry(const std::string& id, const std::string& entry_id,
                              std::chrono::milliseconds delay, const std::string& error,
                              Done done) {
  eval("retry", {}, {id, entry_id, ms_string(delay), error}, simple(std::move(done)));
}

void JobQueue::wake(const std::string& id, const std::string& entry_id, Done done) {
  eval("wake", {}, {id, entry_id}, simple(std::move(done)));
}

void JobQueue::schedule_delayed(const std::string& id, const std::string& entry_id,
                                std::chrono::milliseconds delay, const std::string& error,
                                Done done) {
  eval("delay", {}, {id, entry_id, ms_string(delay), error}, simple(std::move(done)));
}

void JobQueue::promote_due(std::size_t limit,
                           std::function<void(std::error_code, std::size_t)> done) {
  eval("promote", {}, {std::to_string(limit)},
       [done = std::move(done)](std::error_code ec, Reply r) {
         if (ec) return done(ec, 0);
         done({}, static_cast<std::size_t>(r.as_integer().value_or(0)));
       });
}

void JobQueue::finish(const std::string& id, const std::string& entry_id, JobStatus status,
                      const std::string& result_json, const std::string& error, Done done,
                      const std::string& checkpoint_json) {
  if (status != JobStatus::succeeded && status != JobStatus::failed &&
      status != JobStatus::cancelled) {
    done(make_error_code(Errc::protocol_error));
    return;
  }
  eval("finish", {},
       {id, entry_id, std::string(to_string(status)), result_json, error,
        std::to_string(opts_.result_ttl.count()), checkpoint_json},
       simple(std::move(done)));
}

void JobQueue::dead_letter(const std::string& id, const std::string& entry_id,
                           const std::string& reason, const std::string& error, Done done) {
  eval("dead", {}, {id, entry_id, reason, error}, simple(std::move(done)));
}

void JobQueue::requeue(const std::string& id, const std::string& entry_id, Done done,
                       const std::string& reason) {
  eval("requeue", {}, {id, entry_id, reason}, simple(std::move(done)));
}

void JobQueue::lease(const std::vector<std::string>& live, std::chrono::milliseconds min_idle,
                     std::size_t count,
                     std::function<void(std::error_code, LeaseResult)> done) {
  std::vector<std::string> args = {ms_string(min_idle), reclaim_cursor_,
                                   std::to_string(std::max<std::size_t>(1, count)),
                                   std::to_string(std::max(0, opts_.max_reclaims))};
  args.insert(args.end(), live.begin(), live.end());
  eval("lease", {}, std::move(args), [this, done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, {});
    if (!r.is_array() || r.elements.size() < 4) return done(make_error_code(Errc::protocol_error), {});
    LeaseResult res;
    for (const auto& e : r.elements[0].elements) res.lost.push_back(e.as_string().value_or(""));
    if (r.elements.size() > 4) {
      for (const auto& e : r.elements[4].elements) res.cancel.push_back(e.as_string().value_or(""));
    }
    // Keep the cursor so that successive ticks walk the whole pending list.
    reclaim_cursor_ = r.elements[1].as_string().value_or("0-0");
    res.reclaimed = static_cast<std::size_t>(r.elements[2].as_integer().value_or(0));
    res.dead = static_cast<std::size_t>(r.elements[3].as_integer().value_or(0));
    done({}, std::move(res));
  });
}

void JobQueue::set_circuit(const std::string& account, const std::string& state,
                           const std::string& error, Done done) {
  eval("circuit", {}, {account, state, error}, simple(std::move(done)));
}

void JobQueue::drained(std::function<void(std::error_code, bool)> done) {
  eval("drained", {}, {}, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, false);
    done({}, r.as_integer().value_or(1) == 0);
  });
}

}  // namespace iamq::queue
