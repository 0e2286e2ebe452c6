#include "queue/job_queue.hpp"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "queue/job_queue_detail.hpp"

// The producing, inspecting and operating half of JobQueue: enqueue, status, stats, dead
// letters, pause/resume, cancel, retry. The consuming half is job_queue.cpp.

namespace iamq::queue {

using detail::head;
using detail::map_status;
using detail::simple;

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
    args.reserve(1 + 7 * (end - start));
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
      args.push_back(j.priority);
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
  // Pipelined: the replies arrive in order (HGETALL, LRANGE, then the children's HGETALL).
  conn_.command({"LRANGE", keys_.steps(id), "0", "-1"}, [rec, failed](std::error_code ec, Reply r) {
    if (ec && !*failed) *failed = ec;
    for (const auto& e : r.elements) rec->steps.push_back(e.as_string().value_or(""));
  });
  conn_.command({"HGETALL", keys_.job(id) + ":children"},
                [rec, failed, done = std::move(done)](std::error_code ec, Reply r) {
                  if (*failed) return done(*failed, std::nullopt);
                  if (ec) return done(ec, std::nullopt);
                  if (rec->fields.empty()) return done({}, std::nullopt);
                  rec->children = r.as_map();
                  done({}, std::move(*rec));
                });
}

void JobQueue::stats(std::function<void(std::error_code, QueueStats)> done) {
  eval("stats", {}, {}, [done = std::move(done)](std::error_code ec, Reply r) {
    QueueStats s;
    if (ec) return done(ec, s);
    if (!r.is_array() || r.elements.size() < 13) {
      return done(make_error_code(Errc::protocol_error), s);
    }
    const auto& e = r.elements;
    s.now_ms = e[0].as_integer().value_or(0);
    for (auto st : kAllStatuses) s.counts[std::string(to_string(st))] = 0;
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
    const auto& ln = e[10].elements;
    for (std::size_t i = 0; i + 1 < ln.size(); i += 2) {
      s.lanes[ln[i].as_string().value_or("")] = ln[i + 1].as_integer().value_or(0);
    }
    s.paused = e[11].as_map();
    s.in_lanes = e[12].as_integer().value_or(0);
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

void JobQueue::dlq_retry(const std::string& id, Done done) { dlq_retry_from(id, "", std::move(done)); }

void JobQueue::dlq_retry_from(const std::string& id, const std::string& cursor, Done done) {
  eval("dlq_retry", {}, {id, cursor, "500"},
       [this, id, done = std::move(done)](std::error_code ec, Reply r) mutable {
         if (ec) return done(ec);
         if (!r.is_array() || r.elements.size() < 3) return done(make_error_code(Errc::protocol_error));
         auto retried = r.elements[0].as_integer().value_or(0);
         if (retried == 1) return done({});
         if (retried == 0) return done(make_error_code(Errc::refused));  // an invalid letter
         if (retried == -2) {
           // Not in this batch of the scan: the next batch in its own script call.
           return dlq_retry_from(id, r.elements[2].as_string().value_or(""), std::move(done));
         }
         done(make_error_code(Errc::not_found));
       });
}

void JobQueue::pause(const std::string& account, const std::string& reason,
                     std::function<void(std::error_code, bool)> done) {
  eval("pause", {}, {account.empty() ? std::string("*") : account, "1", reason},
       [done = std::move(done)](std::error_code ec, Reply r) {
         done(ec, !ec && r.as_integer().value_or(0) > 0);
       });
}

void JobQueue::resume(const std::string& account, std::function<void(std::error_code, bool)> done) {
  eval("pause", {}, {account.empty() ? std::string("*") : account, "0", ""},
       [done = std::move(done)](std::error_code ec, Reply r) {
         done(ec, !ec && r.as_integer().value_or(0) > 0);
       });
}

void JobQueue::cancel(const std::string& id, const std::string& reason,
                      std::function<void(std::error_code, CancelOutcome, std::string)> done) {
  eval("cancel", {}, {id, reason, std::to_string(opts_.result_ttl.count())},
       [this, reason, done = std::move(done)](std::error_code ec, Reply r) mutable {
         if (ec) return done(ec, CancelOutcome::final, "");
         const std::string h = head(r);
         if (h == "parent") {
           std::vector<std::string> kids;
           for (std::size_t i = 1; i < r.elements.size(); ++i) {
             kids.push_back(r.elements[i].as_string().value_or(""));
           }
           return cancel_children(std::move(kids), reason, std::move(done));
         }
         if (h == "cancelled") return done({}, CancelOutcome::cancelled, "cancelled");
         if (h == "requested") return done({}, CancelOutcome::requested, "");
         if (h == "final" && r.elements.size() > 1) {
           return done({}, CancelOutcome::final, r.elements[1].as_string().value_or(""));
         }
         if (h == "missing") return done(make_error_code(Errc::not_found), CancelOutcome::final, "");
         done(make_error_code(Errc::protocol_error), CancelOutcome::final, "");
       });
}

// One child after another; the parent ends (cancelled children make it `failed`) when the last
// has. Any child still running makes the answer `requested`.
struct JobQueue::CancelWalk {
  std::vector<std::string> kids;
  std::string reason;
  std::size_t next = 0;
  bool running = false;
  std::function<void(std::error_code, CancelOutcome, std::string)> done;
};

void JobQueue::cancel_children(std::vector<std::string> kids, const std::string& reason,
                               std::function<void(std::error_code, CancelOutcome, std::string)> done) {
  auto st = std::make_shared<CancelWalk>();
  st->kids = std::move(kids);
  st->reason = reason;
  st->done = std::move(done);
  cancel_next(std::move(st));
}

void JobQueue::cancel_next(std::shared_ptr<CancelWalk> st) {
  if (st->next >= st->kids.size()) {
    return st->done({}, st->running ? CancelOutcome::requested : CancelOutcome::cancelled,
                    st->running ? "" : "cancelled");
  }
  const std::string kid = st->kids[st->next++];
  cancel(kid, st->reason, [this, st](std::error_code ec, CancelOutcome o, std::string) {
    if (ec && ec != Errc::not_found) return st->done(ec, CancelOutcome::final, "");
    if (!ec && o == CancelOutcome::requested) st->running = true;
    cancel_next(st);
  });
}

void JobQueue::retry(const std::string& id, std::function<void(std::error_code, std::string)> done) {
  eval("retry_job", {}, {id}, [done = std::move(done)](std::error_code ec, Reply r) {
    if (ec) return done(ec, "");
    const std::string h = head(r);
    if (h == "ok") return done({}, "");
    if (h == "missing") return done(make_error_code(Errc::not_found), "");
    if (h == "refused" && r.elements.size() > 1) {
      return done(make_error_code(Errc::refused), r.elements[1].as_string().value_or(""));
    }
    done(make_error_code(Errc::protocol_error), "");
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
