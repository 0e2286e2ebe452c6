#include "queue/job_queue.hpp"

#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "queue/lua_scripts.hpp"

namespace iamq::queue {

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
  s.text = std::string(lua::source("common")) + "\n" + std::string(lua::source(name));
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(s.text.data()), s.text.size(), digest.data());
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    s.sha.push_back(hex[b >> 4]);
    s.sha.push_back(hex[b & 15]);
  }
  return cache.emplace(std::string(name), std::move(s)).first->second;
}

/// The status word a script returns first ("ok", "lost", "missing", "run" …).
std::string head(const Reply& r) {
  if (r.is_array() && !r.elements.empty()) return r.elements[0].as_string().value_or("");
  return {};
}

std::error_code map_status(const std::string& status) {
  if (status == "lost") return make_error_code(Errc::lost_claim);
  if (status == "missing") return make_error_code(Errc::not_found);
  if (status.empty()) return make_error_code(Errc::protocol_error);
  return {};
}

/// Done-style completion for scripts that return {'ok', …} | {'lost'} | {'missing'}.
RedisConnection::Completion simple(JobQueue::Done done) {
  return [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec);
    done(map_status(head(r)));
  };
}

bool safe_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
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
  }
  return "unknown";
}

std::optional<JobStatus> job_status_from_string(std::string_view s) {
  for (auto st : {JobStatus::queued, JobStatus::running, JobStatus::retry_scheduled,
                  JobStatus::succeeded, JobStatus::failed, JobStatus::dead}) {
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
  const bool replicated = name == "enqueue" || name == "finish" || name == "dead" || name == "invalid";
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

void JobQueue::read(std::size_t max, std::chrono::milliseconds block,
                    std::function<void(std::error_code, std::vector<StreamEntry>)> done) {
  if (max == 0) {
    done({}, {});
    return;
  }
  std::vector<std::string> cmd = {"XREADGROUP",   "GROUP", Keys::group,
                                  opts_.consumer, "COUNT", std::to_string(max)};
  if (block.count() > 0) {
    cmd.push_back("BLOCK");
    cmd.push_back(ms_string(block));
  }
  cmd.insert(cmd.end(), {"STREAMS", keys_.jobs(), ">"});
  auto timeout = blocking_.options().command_timeout + block;
  blocking_.command(
      std::move(cmd), timeout,
      [this, max, block, done = std::move(done)](std::error_code ec, Reply r) mutable {
        if (ec == Errc::server_error && r.str.rfind("NOGROUP", 0) == 0) {
          // The stream or group was deleted: recreate, then read again.
          ensure_group([this, max, block, done = std::move(done)](std::error_code ec2) mutable {
            if (ec2) return done(ec2, {});
            read(max, block, std::move(done));
          });
          return;
        }
        if (ec) return done(ec, {});
        std::vector<StreamEntry> out;
        if (r.is_array()) {
          for (const auto& stream : r.elements) {
            if (stream.is_array() && stream.elements.size() == 2) {
              auto part = parse_entries(stream.elements[1]);
              out.insert(out.end(), std::make_move_iterator(part.begin()),
                         std::make_move_iterator(part.end()));
            }
          }
        }
        done({}, std::move(out));
      });
}

void JobQueue::adopt(const StreamEntry& entry,
                     std::function<void(std::error_code, AdoptResult)> done) {
  AdoptResult res;
  res.entry_id = entry.entry_id;
  std::variant<JobSummary, std::string> checked = std::string("no job validator configured");
  const bool oversized = entry.job_json.size() > opts_.max_entry_bytes;
  if (oversized) {
    // Before any parse or copy: an 8 MiB entry is refused by its size alone.
    checked = "job is " + std::to_string(entry.job_json.size()) + " bytes; the limit is " +
              std::to_string(opts_.max_entry_bytes);
  } else if (opts_.validator) {
    checked = opts_.validator(entry.job_json, "x-" + entry.entry_id);
  }
  if (auto* err = std::get_if<std::string>(&checked)) {
    // Invalid: dead-letter with the validation message; keep the id if it is usable so that
    // `iamq status ID` can tell what happened.
    std::string id;
    auto j = oversized ? nlohmann::json() : nlohmann::json::parse(entry.job_json, nullptr, false);
    if (j.is_object() && j.contains("id") && j["id"].is_string() &&
        safe_id(j["id"].get<std::string>())) {
      id = j["id"].get<std::string>();
    } else if (safe_id(entry.id)) {
      id = entry.id;
    } else {
      id = "x-" + entry.entry_id;  // as a valid plain XADD without an id would be named
    }
    res.outcome = AdoptResult::Outcome::invalid;
    res.id = id;
    res.error = *err;
    std::string stored = opts_.store_invalid
                             ? opts_.store_invalid(entry.job_json)
                             : entry.job_json.substr(0, std::min(entry.job_json.size(), opts_.max_entry_bytes));
    eval("invalid", {},
         {id, entry.entry_id, std::move(stored), *err, std::to_string(opts_.result_ttl.count())},
         [res = std::move(res), done = std::move(done)](std::error_code ec, Reply r) mutable {
           if (!ec) ec = map_status(head(r));
           done(ec, std::move(res));
         });
    return;
  }
  auto& job = std::get<JobSummary>(checked);
  res.id = job.id;
  eval("adopt", {},
       {job.id, entry.entry_id, job.type, job.account, job.user_name,
        std::to_string(job.max_attempts), job.canonical_json},
       [res = std::move(res), done = std::move(done)](std::error_code ec, Reply r) mutable {
         if (ec) return done(ec, std::move(res));
         std::string h = head(r);
         if (h == "run" && r.elements.size() >= 5) {
           res.outcome = AdoptResult::Outcome::run;
           res.status = r.elements[1].as_string().value_or("");
           res.attempts = static_cast<int>(r.elements[2].as_integer().value_or(0));
           res.checkpoint = r.elements[3].as_string().value_or("");
           res.job_json = r.elements[4].as_string().value_or("");
         } else if (h == "duplicate" || h == "finished") {
           res.outcome =
               h == "duplicate" ? AdoptResult::Outcome::duplicate : AdoptResult::Outcome::finished;
           if (r.elements.size() > 1) res.status = r.elements[1].as_string().value_or("");
         } else {
           auto e = map_status(h);
           return done(e ? e : make_error_code(Errc::protocol_error), std::move(res));
         }
         done({}, std::move(res));
       });
}

void JobQueue::mark_running(const std::string& id, const std::string& entry_id,
                            std::function<void(std::error_code, int)> done) {
  eval("running", {}, {id, entry_id}, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, 0);
    if (auto e = map_status(head(r))) return done(e, 0);
    if (r.elements.size() < 2) return done(make_error_code(Errc::protocol_error), 0);
    done({}, static_cast<int>(r.elements[1].as_integer().value_or(0)));
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
                      const std::string& result_json, const std::string& error, Done done) {
  if (status != JobStatus::succeeded && status != JobStatus::failed) {
    done(make_error_code(Errc::protocol_error));
    return;
  }
  eval("finish", {},
       {id, entry_id, std::string(to_string(status)), result_json, error,
        std::to_string(opts_.result_ttl.count())},
       simple(std::move(done)));
}

void JobQueue::dead_letter(const std::string& id, const std::string& entry_id,
                           const std::string& reason, const std::string& error, Done done) {
  eval("dead", {}, {id, entry_id, reason, error}, simple(std::move(done)));
}

void JobQueue::requeue(const std::string& id, const std::string& entry_id, Done done) {
  eval("requeue", {}, {id, entry_id}, simple(std::move(done)));
}

void JobQueue::renew(const std::vector<std::string>& entry_ids,
                     std::function<void(std::error_code, std::vector<std::string>)> done) {
  if (entry_ids.empty()) {
    done({}, {});
    return;
  }
  eval("renew", {}, entry_ids, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, {});
    std::vector<std::string> lost;
    for (const auto& e : r.elements) lost.push_back(e.as_string().value_or(""));
    done({}, std::move(lost));
  });
}

void JobQueue::reclaim(std::chrono::milliseconds min_idle, std::size_t count,
                       std::function<void(std::error_code, std::vector<StreamEntry>)> done) {
  eval("reclaim", {}, {ms_string(min_idle), reclaim_cursor_, std::to_string(count)},
       [this, done = std::move(done)](std::error_code ec, Reply r) {
         if (ec == Errc::server_error && r.str.find("NOGROUP") != std::string::npos) {
           return done({}, {});  // no group yet: nothing to reclaim
         }
         if (ec) return done(ec, {});
         if (!r.is_array() || r.elements.size() < 2) {
           return done(make_error_code(Errc::protocol_error), {});
         }
         // Keep the cursor so that successive calls walk the whole pending list.
         reclaim_cursor_ = r.elements[0].as_string().value_or("0-0");
         done({}, parse_entries(r.elements[1]));
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

void JobQueue::enqueue(std::vector<JobSummary> jobs,
                       std::function<void(std::error_code, std::vector<EnqueueResult>)> done) {
  struct State {
    std::vector<EnqueueResult> results;
    std::size_t batches_left = 0;
    std::error_code first_error;
    std::function<void(std::error_code, std::vector<EnqueueResult>)> done;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);
  st->results.resize(jobs.size());
  if (jobs.empty()) {
    st->done({}, {});
    return;
  }
  std::size_t batch = opts_.enqueue_batch;
  st->batches_left = (jobs.size() + batch - 1) / batch;
  // Every batch is sent at once (pipelined on the connection); each is one atomic script.
  for (std::size_t start = 0; start < jobs.size(); start += batch) {
    std::size_t end = std::min(jobs.size(), start + batch);
    std::vector<std::string> args;
    args.reserve(1 + 6 * (end - start));
    args.push_back(std::to_string(end - start));
    for (std::size_t i = start; i < end; ++i) {
      auto& j = jobs[i];
      st->results[i].id = j.id;
      args.push_back(j.id);
      args.push_back(j.type);
      args.push_back(j.account);
      args.push_back(j.user_name);
      args.push_back(std::to_string(j.max_attempts));
      args.push_back(std::move(j.canonical_json));
    }
    eval("enqueue", {}, std::move(args), [st, start, end](std::error_code ec, Reply r) {
      if (!ec && (!r.is_array() || r.elements.size() != 2 * (end - start))) {
        ec = make_error_code(Errc::protocol_error);
      }
      if (ec) {
        if (!st->first_error) st->first_error = ec;
      } else {
        for (std::size_t i = start; i < end; ++i) {
          const Reply& flag = r.elements[2 * (i - start)];
          const Reply& val = r.elements[2 * (i - start) + 1];
          auto& out = st->results[i];
          out.created = flag.as_integer().value_or(0) == 1;
          if (out.created) {
            out.entry_id = val.as_string().value_or("");
          } else {
            out.status = val.as_string().value_or("");
          }
        }
      }
      if (--st->batches_left == 0) st->done(st->first_error, std::move(st->results));
    });
  }
}

void JobQueue::get_job(const std::string& id,
                       std::function<void(std::error_code, std::optional<JobRecord>)> done) {
  auto rec = std::make_shared<JobRecord>();
  auto failed = std::make_shared<std::error_code>();
  conn_.command({"HGETALL", keys_.job(id)}, [rec, failed](std::error_code ec, Reply r) {
    if (ec) *failed = ec;
    rec->fields = r.as_map();
  });
  // Pipelined: the LRANGE reply arrives after the HGETALL reply.
  conn_.command({"LRANGE", keys_.steps(id), "0", "-1"},
                [rec, failed, done = std::move(done)](std::error_code ec, Reply r) {
                  if (*failed) return done(*failed, std::nullopt);
                  if (ec) return done(ec, std::nullopt);
                  if (rec->fields.empty()) return done({}, std::nullopt);
                  for (const auto& e : r.elements) rec->steps.push_back(e.as_string().value_or(""));
                  done({}, std::move(*rec));
                });
}

void JobQueue::stats(std::function<void(std::error_code, QueueStats)> done) {
  eval("stats", {}, {}, [done = std::move(done)](std::error_code ec, Reply r) {
    QueueStats s;
    if (ec) return done(ec, s);
    if (!r.is_array() || r.elements.size() < 10) {
      return done(make_error_code(Errc::protocol_error), s);
    }
    const auto& e = r.elements;
    s.now_ms = e[0].as_integer().value_or(0);
    for (auto st : {JobStatus::queued, JobStatus::running, JobStatus::retry_scheduled,
                    JobStatus::succeeded, JobStatus::failed, JobStatus::dead}) {
      s.counts[std::string(to_string(st))] = 0;
    }
    for (const auto& [k, v] : e[1].as_map()) {
      try {
        s.counts[k] = std::stoll(v);
      } catch (...) {
      }
    }
    s.stream_length = e[2].as_integer().value_or(0);
    s.pending = e[3].as_integer().value_or(0);
    s.waiting = std::max<long long>(0, s.stream_length - s.pending);
    s.delayed = e[4].as_integer().value_or(0);
    s.delayed_due = e[5].as_integer().value_or(0);
    s.dead = e[6].as_integer().value_or(0);
    s.counts["dead"] = s.dead;
    s.oldest_waiting_age_ms = e[7].as_integer().value_or(-1);
    const auto& cs = e[8].elements;
    for (std::size_t i = 0; i + 2 < cs.size(); i += 3) {
      s.consumers.push_back({cs[i].as_string().value_or(""), cs[i + 1].as_integer().value_or(0),
                             cs[i + 2].as_integer().value_or(0)});
    }
    const auto& cc = e[9].elements;
    for (std::size_t i = 0; i + 3 < cc.size(); i += 4) {
      s.circuits.push_back({cc[i].as_string().value_or(""), cc[i + 1].as_string().value_or(""),
                            cc[i + 2].as_string().value_or(""),
                            cc[i + 3].as_integer().value_or(0)});
    }
    done({}, std::move(s));
  });
}

void JobQueue::dlq_list(
    std::size_t limit,
    std::function<void(std::error_code, std::vector<std::map<std::string, std::string>>)> done) {
  conn_.command({"XREVRANGE", keys_.dead(), "+", "-", "COUNT", std::to_string(limit)},
                [done = std::move(done)](std::error_code ec, Reply r) {
                  std::vector<std::map<std::string, std::string>> out;
                  if (ec) return done(ec, out);
                  for (const auto& e : r.elements) {
                    if (!e.is_array() || e.elements.size() < 2) continue;
                    auto m = e.elements[1].as_map();
                    m["dead_entry"] = e.elements[0].as_string().value_or("");
                    out.push_back(std::move(m));
                  }
                  done({}, std::move(out));
                });
}

void JobQueue::dlq_retry(const std::string& id, Done done) {
  eval("dlq_retry", {}, {id, "", "500"}, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec);
    if (!r.is_array() || r.elements.size() < 3) return done(make_error_code(Errc::protocol_error));
    auto retried = r.elements[0].as_integer().value_or(0);
    if (retried == 1) return done({});
    if (retried == 0) return done(make_error_code(Errc::protocol_error));  // invalid job
    done(make_error_code(Errc::not_found));
  });
}

void JobQueue::dlq_retry_all(std::function<void(std::error_code, std::size_t, std::size_t)> done) {
  struct State {
    std::size_t retried = 0;
    std::size_t skipped = 0;
    std::function<void(std::error_code, std::size_t, std::size_t)> done;
    std::function<void(std::string)> step;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);
  st->step = [this, w = std::weak_ptr<State>(st)](std::string cursor) {
    auto s = w.lock();
    if (!s) return;
    eval("dlq_retry", {}, {"", cursor, "500"}, [s](std::error_code ec, Reply r) {
      if (!ec && (!r.is_array() || r.elements.size() < 3))
        ec = make_error_code(Errc::protocol_error);
      if (ec) return s->done(ec, s->retried, s->skipped);
      s->retried += static_cast<std::size_t>(r.elements[0].as_integer().value_or(0));
      s->skipped += static_cast<std::size_t>(r.elements[1].as_integer().value_or(0));
      std::string next = r.elements[2].as_string().value_or("");
      if (next.empty()) return s->done({}, s->retried, s->skipped);
      s->step(next);
    });
  };
  st->step("");
}

void JobQueue::dlq_purge(std::optional<std::chrono::milliseconds> older_than,
                         std::function<void(std::error_code, std::size_t)> done) {
  struct State {
    std::size_t purged = 0;
    std::string upto = "+";
    std::function<void(std::error_code, std::size_t)> done;
    std::function<void()> step;
  };
  auto st = std::make_shared<State>();
  st->done = std::move(done);
  st->step = [this, w = std::weak_ptr<State>(st)] {
    auto s = w.lock();
    if (!s) return;
    eval("dlq_purge", {}, {s->upto, "500"}, [s](std::error_code ec, Reply r) {
      if (ec) return s->done(ec, s->purged);
      auto n = r.as_integer().value_or(0);
      s->purged += static_cast<std::size_t>(n);
      if (n < 500) return s->done({}, s->purged);
      s->step();
    });
  };
  if (!older_than) {
    st->step();
    return;
  }
  // Entry ids start with their creation time in ms: purge ids up to (server now - age).
  conn_.command({"TIME"}, [st, age = *older_than](std::error_code ec, Reply r) {
    if (ec) return st->done(ec, 0);
    if (r.elements.size() < 2) return st->done(make_error_code(Errc::protocol_error), 0);
    long long now = r.elements[0].as_integer().value_or(0) * 1000 +
                    r.elements[1].as_integer().value_or(0) / 1000;
    long long cutoff = now - age.count();
    if (cutoff <= 0) return st->done({}, 0);
    st->upto = "(" + std::to_string(cutoff) + "-0";
    st->step();
  });
}

}  // namespace iamq::queue
