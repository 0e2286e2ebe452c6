#include "dashboard/store.hpp"

#include <algorithm>
#include <set>

#include "dashboard/event_series.hpp"

namespace iamq::dashboard {

using nlohmann::json;

namespace {

json parse_or_string(const std::string& s) {
  auto j = json::parse(s, nullptr, false);
  if (j.is_discarded()) return s;
  return j;
}


long long number(const std::string& s, long long fallback = 0) {
  try {
    return std::stoll(s);
  } catch (...) {
    return fallback;
  }
}

/// The record fields a jobs page lists (HMGET order).
const std::vector<std::string> kListFields = {"status",     "type",       "account",     "user_name",
                                              "priority",   "attempts",   "created_at",  "updated_at",
                                              "finished_at", "last_error", "error",      "job"};

/// Events a page lists as "recent" (state changes; steps are too many to list).
bool listed_event(const std::string& kind) {
  return kind != "step" && kind != "adopted" && kind != "running";
}

json events_json(const queue::Reply& r, std::size_t max) {
  json out = json::array();
  for (const auto& e : r.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    auto f = e.elements[1].as_map();
    if (!listed_event(f["event"])) continue;
    json ev = {{"entry", e.elements[0].as_string().value_or("")}};
    for (const auto& [k, v] : f) ev[k] = v;
    out.push_back(std::move(ev));
    if (out.size() >= max) break;
  }
  return out;
}

}  // namespace

struct ScanState {
  JobFilter filter;
  std::string cursor = "0";
  std::size_t scanned = 0;
  json jobs = json::array();
  bool first = true;
  Store::Callback<json> done;
};

Store::Store(queue::RedisConnection& conn, queue::JobQueue& queue, const config::Config& cfg,
             const EventSeries& series)
    : conn_(conn), queue_(queue), cfg_(cfg), series_(series) {}

json Store::stats_json(const queue::QueueStats& s) {
  json counts = json::object();
  for (const auto& [k, v] : s.counts) counts[k] = v;
  return {{"now_ms", s.now_ms},
          {"counts", counts},
          {"queue",
           {{"stream_length", s.stream_length},
            {"waiting", s.waiting},
            {"in_flight", s.pending},
            {"delayed", s.delayed},
            {"delayed_due", s.delayed_due},
            {"dead", s.dead},
            {"oldest_waiting_age_ms", s.oldest_waiting_age_ms}}}};
}

json Store::record_json(const std::map<std::string, std::string>& fields) {
  json out = json::object();
  for (const auto& [k, v] : fields) {
    if (k == "job" || k == "result" || k == "checkpoint" || k == "children") {
      out[k] = parse_or_string(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

void Store::counts(Callback<json> done) {
  queue_.stats([done = std::move(done)](std::error_code ec, queue::QueueStats s) {
    if (ec) return done(ec, json());
    done({}, stats_json(s));
  });
}

void Store::overview(Callback<json> done) {
  queue_.stats([this, done = std::move(done)](std::error_code ec, queue::QueueStats s) {
    if (ec) return done(ec, json());
    json out = stats_json(s);
    out["namespace"] = cfg_.ns;
    json consumers = json::array();
    for (const auto& c : s.consumers) {
      consumers.push_back({{"name", c.name}, {"pending", c.pending}, {"idle_ms", c.idle_ms}});
    }
    out["consumers"] = consumers;
    std::map<std::string, const queue::CircuitInfo*> circuits;
    for (const auto& c : s.circuits) circuits[c.account] = &c;
    const auto rates = series_.account_rates(s.now_ms);
    // Lane depth per account (all priorities) and the pause state ("*": every account).
    std::map<std::string, long long> depth;
    for (const auto& [lane, n] : s.lanes) {
      const auto colon = lane.rfind(':');
      depth[colon == std::string::npos ? lane : lane.substr(0, colon)] += n;
    }
    const bool all_paused = s.paused.count("*") > 0;
    auto paused = [&](const std::string& a) { return all_paused || s.paused.count(a) > 0; };
    auto lane_depth = [&](const std::string& a) { return depth.count(a) ? depth.at(a) : 0LL; };
    out["paused_all"] = all_paused;
    auto account_json = [&](const std::string& name, json rate_limit, json burst) {
      json acct = {{"name", name},
                   {"rate_limit", std::move(rate_limit)},
                   {"burst", std::move(burst)},
                   {"rate", rates.count(name) ? rates.at(name) : 0.0},
                   {"circuit", "closed"},
                   {"circuit_error", ""},
                   {"paused", paused(name)},
                   {"lane_depth", lane_depth(name)}};
      if (auto it = circuits.find(name); it != circuits.end()) {
        acct["circuit"] = it->second->state;
        acct["circuit_error"] = it->second->error;
        acct["circuit_since_ms"] = it->second->since_ms;
      }
      return acct;
    };
    json accounts = json::array();
    for (const auto& [name, a] : cfg_.accounts) accounts.push_back(account_json(name, a.rate, a.burst));
    // Accounts this dashboard's config does not name (discovered through [organization] by
    // the worker, or gone from this config) are still shown when Redis or the events know
    // them: a circuit, lane work, a pause or recent calls. A discovered account (org-<id>)
    // shows the [organization] bucket; any other, no limit.
    std::set<std::string> unnamed;
    for (const auto& c : s.circuits) unnamed.insert(c.account);
    for (const auto& [a, n] : depth) if (n > 0) unnamed.insert(a);
    for (const auto& [a, _] : s.paused) if (a != "*") unnamed.insert(a);
    for (const auto& [a, r] : rates) if (r > 0) unnamed.insert(a);
    for (const auto& name : unnamed) {
      if (cfg_.accounts.count(name)) continue;
      const bool discovered = cfg_.organization.enabled && config::is_discovered_account_name(name);
      accounts.push_back(discovered ? account_json(name, cfg_.organization.rate, cfg_.organization.burst)
                                    : account_json(name, nullptr, nullptr));
    }
    out["accounts"] = accounts;
    out["series"] = series_.points(s.now_ms);
    out["series_table"] = series_.buckets(s.now_ms, EventSeries::kSeconds, 300);
    conn_.command({"XREVRANGE", queue_.keys().events(), "+", "-", "COUNT", "300"},
                  [out = std::move(out), done](std::error_code ec2, queue::Reply r) mutable {
                    out["recent"] = ec2 ? json::array() : events_json(r, 20);
                    done({}, std::move(out));
                  });
  });
}

void Store::jobs(const JobFilter& f, Callback<json> done) {
  auto st = std::make_shared<ScanState>();
  st->filter = f;
  st->filter.limit = std::clamp<std::size_t>(f.limit, 1, kMaxLimit);
  st->cursor = f.cursor.empty() ? "0" : f.cursor;
  st->done = std::move(done);
  // An exact id first: a search by id must not depend on where SCAN finds the key.
  if (!f.q.empty() && f.cursor.empty()) {
    std::vector<std::string> cmd = {"HMGET", queue_.keys().job(f.q)};
    cmd.insert(cmd.end(), kListFields.begin(), kListFields.end());
    conn_.command(std::move(cmd), [this, st](std::error_code ec, queue::Reply r) {
      if (ec) return st->done(ec, json());
      if (!r.elements.empty() && !r.elements[0].is_nil()) {
        json j = {{"id", st->filter.q}};
        for (std::size_t i = 0; i < kListFields.size() && i < r.elements.size(); ++i) {
          if (kListFields[i] == "job") continue;
          j[kListFields[i]] = r.elements[i].as_string().value_or("");
        }
        st->jobs.push_back(j);
        return st->done({}, json{{"jobs", st->jobs}, {"next_cursor", nullptr}, {"scanned", 1}});
      }
      scan_page(st);
    });
    return;
  }
  scan_page(st);
}

void Store::scan_page(std::shared_ptr<ScanState> st) {
  const std::string prefix = queue_.keys().job("");
  conn_.command(
      {"SCAN", st->cursor, "MATCH", prefix + "*", "COUNT", "500"},
      [this, st, prefix](std::error_code ec, queue::Reply r) {
        if (ec) return st->done(ec, json());
        if (!r.is_array() || r.elements.size() < 2) return st->done(queue::Errc::protocol_error, json());
        st->cursor = r.elements[0].as_string().value_or("0");
        std::vector<std::string> ids;
        for (const auto& k : r.elements[1].elements) {
          std::string key = k.as_string().value_or("");
          if (key.size() <= prefix.size()) continue;
          if (key.size() > 6 && key.compare(key.size() - 6, 6, ":steps") == 0) continue;
          ids.push_back(key.substr(prefix.size()));
        }
        st->scanned += r.elements[1].elements.size();
        auto remaining = std::make_shared<std::size_t>(ids.size());
        auto finish_batch = [this, st] {
          const bool full = st->jobs.size() >= st->filter.limit;
          if (!full && st->cursor != "0" && st->scanned < kMaxScan) return scan_page(st);
          auto& arr = st->jobs;
          std::sort(arr.begin(), arr.end(), [](const json& a, const json& b) {
            return number(a.value("created_at", "0")) > number(b.value("created_at", "0"));
          });
          json out = {{"jobs", arr},
                      {"next_cursor", st->cursor == "0" ? json(nullptr) : json(st->cursor)},
                      {"scanned", st->scanned}};
          st->done({}, std::move(out));
        };
        if (ids.empty()) return finish_batch();
        for (const auto& id : ids) {
          std::vector<std::string> cmd = {"HMGET", queue_.keys().job(id)};
          cmd.insert(cmd.end(), kListFields.begin(), kListFields.end());
          conn_.command(std::move(cmd), [st, id, remaining, finish_batch](std::error_code ec2,
                                                                           queue::Reply rr) {
            if (!ec2 && rr.is_array() && rr.elements.size() == kListFields.size() &&
                !rr.elements[0].is_nil() && st->jobs.size() < st->filter.limit) {
              std::map<std::string, std::string> m;
              for (std::size_t i = 0; i < kListFields.size(); ++i) {
                m[kListFields[i]] = rr.elements[i].as_string().value_or("");
              }
              if (m["priority"].empty()) {
                auto job = json::parse(m["job"], nullptr, false);
                m["priority"] = job.is_object() ? job.value("priority", "normal") : "normal";
              }
              const auto& f = st->filter;
              bool keep = (f.status.empty() || m["status"] == f.status) &&
                          (f.account.empty() || m["account"] == f.account) &&
                          (f.type.empty() || m["type"] == f.type) &&
                          (f.priority.empty() || m["priority"] == f.priority) &&
                          (f.q.empty() || m["user_name"].find(f.q) != std::string::npos ||
                           id.find(f.q) != std::string::npos);
              if (keep) {
                json j = {{"id", id}};
                for (const auto& [k, v] : m) {
                  if (k != "job") j[k] = v;
                }
                st->jobs.push_back(std::move(j));
              }
            }
            if (--*remaining == 0) finish_batch();
          });
        }
      });
}

void Store::job(const std::string& id, Callback<json> done) {
  queue_.get_job(id, [this, id, done = std::move(done)](std::error_code ec,
                                                         std::optional<queue::JobRecord> rec) {
    if (ec) return done(ec, json());
    if (!rec) return done({}, json());
    json out = {{"id", id}, {"record", record_json(rec->fields)}};
    json steps = json::array();
    const std::size_t skip = rec->steps.size() > kMaxSteps ? rec->steps.size() - kMaxSteps : 0;
    for (std::size_t i = skip; i < rec->steps.size(); ++i) steps.push_back(parse_or_string(rec->steps[i]));
    out["steps"] = steps;
    out["steps_total"] = rec->steps.size();
    out["steps_shown_from"] = skip;
    // Fan-out: the record names its children (a JSON list of ids, or a comma-separated list).
    std::vector<std::string> children;
    const auto& rj = out["record"];
    if (rj.contains("children")) {
      if (rj["children"].is_array()) {
        for (const auto& c : rj["children"]) {
          if (c.is_string()) children.push_back(c.get<std::string>());
        }
      } else if (rj["children"].is_string()) {
        std::string s = rj["children"].get<std::string>();
        std::size_t p = 0;
        while (p < s.size()) {
          auto q = s.find(',', p);
          if (q == std::string::npos) q = s.size();
          if (q > p) children.push_back(s.substr(p, q - p));
          p = q + 1;
        }
      }
    }
    if (children.size() > 1000) children.resize(1000);
    out["children"] = json::array();
    if (children.empty()) return done({}, std::move(out));
    auto shared = std::make_shared<json>(std::move(out));
    auto remaining = std::make_shared<std::size_t>(children.size());
    for (const auto& c : children) {
      conn_.command({"HMGET", queue_.keys().job(c), "status", "account", "user_name", "error"},
                    [shared, remaining, c, done](std::error_code ec2, queue::Reply r) {
                      json child = {{"id", c}};
                      if (!ec2 && r.elements.size() == 4) {
                        child["status"] = r.elements[0].as_string().value_or("");
                        child["account"] = r.elements[1].as_string().value_or("");
                        child["user_name"] = r.elements[2].as_string().value_or("");
                        child["error"] = r.elements[3].as_string().value_or("");
                      }
                      (*shared)["children"].push_back(child);
                      if (--*remaining == 0) done({}, std::move(*shared));
                    });
    }
  });
}

void Store::dead(std::size_t limit, Callback<json> done) {
  queue_.dlq_list(limit, [this, done = std::move(done)](
                             std::error_code ec, std::vector<std::map<std::string, std::string>> rows) {
    if (ec) return done(ec, json());
    json list = json::array();
    for (auto& m : rows) {
      json row = {{"id", m["id"]},         {"reason", m["reason"]},
                  {"error", m["error"]},   {"attempts", m["attempts"]},
                  {"at", m["at"]},         {"dead_entry", m["dead_entry"]}};
      auto job = json::parse(m["job"], nullptr, false);
      if (job.is_object()) {
        row["type"] = job.value("type", "");
        row["account"] = job.value("account", "default");
        row["user_name"] = job.value("user_name", "");
      } else {
        row["job_text"] = m["job"].substr(0, 512);  // unparseable: shown (escaped) as text
      }
      list.push_back(std::move(row));
    }
    conn_.command({"XLEN", queue_.keys().dead()}, [list, done](std::error_code ec2, queue::Reply r) {
      done({}, json{{"dead", list}, {"total", ec2 ? 0 : r.as_integer().value_or(0)}});
    });
  });
}

// ---- actions ----

void Store::retry_job(const std::string& id, std::function<void(ActionResult)> done) {
  // `iamq retry`: a failed or dead job resumes where it stopped, with fresh budgets.
  queue_.retry(id, [id, done = std::move(done)](std::error_code ec, std::string why) {
    if (!ec) return done({200, "job " + id + " is queued again; it resumes where it stopped"});
    if (ec == queue::Errc::not_found) return done({404, "no job " + id});
    if (ec == queue::Errc::refused) {
      if (why == "invalid") {
        return done({409, "job " + id + " is still invalid: fix the job or the config first"});
      }
      return done({409, "a " + why + " job cannot be retried (only failed or dead jobs)"});
    }
    done({502, "Redis: " + ec.message()});
  });
}

void Store::cancel_job(const std::string& id, std::function<void(ActionResult)> done) {
  queue_.cancel(id, "cancelled from the dashboard",
                [id, done = std::move(done)](std::error_code ec, queue::CancelOutcome o, std::string st) {
                  if (ec == queue::Errc::not_found) return done({404, "no job " + id});
                  if (ec) return done({502, "Redis: " + ec.message()});
                  switch (o) {
                    case queue::CancelOutcome::cancelled:
                      return done({200, "job " + id + " cancelled (no IAM call made)"});
                    case queue::CancelOutcome::requested:
                      return done({202, "job " + id + " is running; it stops before its next call"});
                    case queue::CancelOutcome::final:
                      break;
                  }
                  done({409, "job " + id + " has already ended (" + st + ")"});
                });
}

void Store::pause_account(const std::string& account, bool pause,
                          std::function<void(ActionResult)> done) {
  auto answer = [account, pause, done = std::move(done)](std::error_code ec, bool changed) {
    if (ec) return done({502, "Redis: " + ec.message()});
    const std::string what = account.empty() ? "every account" : "account " + account;
    if (!changed) return done({200, what + " was already " + (pause ? "paused" : "running")});
    done({200, what + (pause ? " paused: no new job starts; calls in flight finish"
                             : " resumed")});
  };
  if (pause) {
    queue_.pause(account, "paused from the dashboard", std::move(answer));
  } else {
    queue_.resume(account, std::move(answer));
  }
}

void Store::retry_dead(const std::string& id, std::function<void(ActionResult)> done) {
  queue_.dlq_retry(id, [id, done = std::move(done)](std::error_code ec) {
    if (!ec) return done({200, "job " + id + " is queued again"});
    if (ec == queue::Errc::not_found) return done({404, "job " + id + " is not a dead letter"});
    if (ec == queue::Errc::refused || ec == queue::Errc::protocol_error) {
      return done({409, "job " + id + " is still invalid: fix the job or the config first"});
    }
    done({502, "Redis: " + ec.message()});
  });
}

void Store::retry_all_dead(std::function<void(ActionResult)> done) {
  queue_.dlq_retry_all([done = std::move(done)](std::error_code ec, std::size_t retried, std::size_t skipped) {
    if (ec) return done({502, "Redis: " + ec.message()});
    done({200, std::to_string(retried) + " dead letter(s) queued again, " + std::to_string(skipped) +
                   " still invalid and kept"});
  });
}

void Store::purge_dead(std::optional<std::chrono::milliseconds> older_than,
                       std::function<void(ActionResult)> done) {
  queue_.dlq_purge(older_than, [done = std::move(done)](std::error_code ec, std::size_t n) {
    if (ec) return done({502, "Redis: " + ec.message()});
    done({200, std::to_string(n) + " dead letter(s) purged"});
  });
}

}  // namespace iamq::dashboard
