// The worker's shell, part 1: construction, life cycle, the intake (routing <ns>:jobs into
// lanes), starting jobs from lanes through each account's gate, and the periodic work (lease
// keeper, promotion of due delayed jobs, stats). Carrying out a job is worker_run.cpp.
#include "worker/worker.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>
#include <variant>

#include <boost/asio/post.hpp>

#include "client/credentials.hpp"
#include "client/endpoint.hpp"
#include "queue/error.hpp"
#include "queue/redis_url.hpp"
#include "worker/worker_impl.hpp"
#include "worker/account_credentials.hpp"
#include "worker/redaction.hpp"

namespace iamq::worker {

WorkerOptions options_from_config(const config::Config& cfg) {
  WorkerOptions o;
  o.concurrency = cfg.concurrency;
  o.dry_run = cfg.dry_run;
  o.fleet_rate = cfg.fleet_rate;
  o.fleet_burst = cfg.fleet_burst;
  o.shutdown_timeout = cfg.shutdown_timeout;
  o.visibility_timeout = cfg.visibility_timeout;
  o.metrics_listen = parse_metrics_listen(cfg.metrics_listen);
  return o;
}

namespace {

constexpr milliseconds kIntakePoll{100};      // an empty intake is read again after this
constexpr milliseconds kRedisRetry{500};      // after a failed read, route or group creation
constexpr milliseconds kPromoteEvery{500};    // due delayed jobs into their lanes
constexpr milliseconds kTickEvery{1000};      // heartbeat, queue depth and pause state
constexpr milliseconds kDrainCheckEvery{250};
constexpr milliseconds kClaimPoll{100};       // lanes filled by other workers, tokens, pauses
constexpr std::size_t kPromoteBatch = 200;
constexpr std::size_t kIntakeBatch = 200;     // entries per read and per route script
constexpr std::size_t kReclaimBatch = 500;    // claims taken back per lease tick

}  // namespace

Worker::Impl::Impl(asio::io_context& ioc_, config::Config cfg_, WorkerOptions opts_)
    : ioc(ioc_),
      cfg(std::move(cfg_)),
      opts(std::move(opts_)),
      retry(cfg),
      read_retry_timer(ioc),
      lease_timer(ioc),
      promote_timer(ioc),
      tick_timer(ioc),
      drain_timer(ioc),
      claim_timer(ioc),
      shutdown_timer(ioc) {
  if (opts.concurrency < 1) throw config::ConfigError("--concurrency: must be >= 1");
  if (opts.visibility_timeout < milliseconds(1000)) {
    throw config::ConfigError("--visibility-timeout: must be at least 1s");
  }
  planner_opts.allow_list = cfg.allow_list;
  planner_opts.dry_run = opts.dry_run || cfg.dry_run;
  planner_opts.delete_conflict_rounds = cfg.delete_conflict_rounds;

  queue::RedisConnection::Options ro;
  ro.endpoint = config::redis_endpoint(cfg);  // URL + TLS files + Sentinel AUTH
  ro.wait_replicas = cfg.redis_wait_replicas;
  ro.wait_timeout = cfg.redis_wait_timeout;
  ro.name = "redis";
  ro.reconnect = true;
  queue::RedisConnection::Options bo = ro;
  bo.name = "redis-blocking";

  metrics = std::make_unique<Metrics>(opts.metrics_listen);
  try {
    redis = std::make_unique<queue::RedisConnection>(ioc, ro);
    blocking = std::make_unique<queue::RedisConnection>(ioc, bo);
  } catch (const std::runtime_error& e) {
    throw config::ConfigError(e.what());  // an unusable TLS file: names the setting
  }
  queue::JobQueue::Options qo;
  qo.ns = cfg.ns;
  qo.consumer = opts.consumer;
  qo.result_ttl = cfg.result_ttl;
  qo.events_maxlen = cfg.events_maxlen;
  std::set<std::string> webhook_names;
  for (const auto& [name, hook] : cfg.webhooks) webhook_names.insert(name);
  std::set<std::string> account_names;  // a fan-out's children: configured accounts only
  for (const auto& [name, a] : cfg.accounts) account_names.insert(name);
  qo.validator = job_validator(std::move(webhook_names), std::move(account_names));
  // An invalid entry is stored (record, dead letter) redacted and at most 4 KiB of it.
  qo.store_invalid = [](std::string_view text) { return redact_job_text(text, 4096); };
  qo.max_entry_bytes = max_job_size;  // larger entries are refused inside Redis (intake.lua)
  qo.max_reclaims = cfg.max_reclaims;
  qo.known_account = [this](std::string_view a) { return accounts.count(std::string(a)) > 0; };
  queue = std::make_unique<queue::JobQueue>(*redis, *blocking, qo);
  if (opts.fleet_rate > 0) {
    fleet = std::make_unique<FleetLimiter>(*redis, cfg.ns, opts.fleet_rate,
                                           opts.fleet_burst > 0 ? opts.fleet_burst : opts.fleet_rate);
  }
  client::TransportOptions to;
  to.max_host_connections = std::max(4, opts.concurrency);
  transport = std::make_unique<client::CurlMultiTransport>(ioc, to);
  if (!cfg.webhooks.empty()) {
    WebhookDispatcher::Options wo;
    wo.ns = cfg.ns;
    wo.consumer = queue->consumer();
    wo.claim_idle = opts.visibility_timeout;
    webhooks = std::make_shared<WebhookDispatcher>(ioc, *redis, *transport, cfg.webhooks, metrics.get(), wo);
  }

  const auto env = client::environment_snapshot();
  credentials = std::make_unique<AccountCredentials>(*transport, cfg, env);
  std::optional<client::CredentialsError> first_error;
  std::size_t usable = 0;
  for (const auto& [name, a] : cfg.accounts) {
    RateLimiter::Options lim;
    lim.rate = a.rate;
    lim.burst = a.burst;
    if (auto it = opts.account_rates.find(name); it != opts.account_rates.end()) lim.rate = it->second;
    auto st = std::make_unique<AccountState>(ioc, name, lim, cfg.circuit_probe_interval);
    client::IamClientOptions co;
    try {
      co.endpoint = client::parse_endpoint(client::endpoint_url(a.endpoint, env, a.region));
    } catch (const client::EndpointError& e) {
      throw config::ConfigError("accounts." + name + ".endpoint: " + e.what());
    }
    co.region = client::iam_signing_region(a.region);
    co.connect_timeout = cfg.connect_timeout;
    co.request_timeout = cfg.request_timeout;
    try {
      // Fetched at the first call (off the loop); a failure there, AccessDenied on the
      // account's AssumeRole included, opens this account's circuit only.
      st->client = std::make_unique<client::IamClient>(*transport, co, credentials->provider(name));
      spdlog::info("account {}: credentials from {}", name, credentials->describe(name));
      ++usable;
    } catch (const client::CredentialsError& e) {
      if (!first_error) first_error = e;
      client::IamError err;
      err.error_class = client::ErrorClass::credentials;
      err.code = "MissingCredentials";
      err.message = e.what();
      st->startup_error = err;
      if (!st->client) throw;
    }
    metrics->limiter_rate(name, lim.rate);
    metrics->circuit(name, false);
    account_order.push_back(st.get());
    accounts.emplace(name, std::move(st));
  }
  if (usable == 0 && first_error) throw *first_error;
}

// ---------------------------------------------------------------------------------------
// Life cycle

void Worker::Impl::start() {
  auto w = weak_from_this();
  redis->on_state_change([w](bool up) {
    if (auto self = w.lock()) {
      self->metrics->redis_ok(up);
      if (up) self->redis_error_logged = false;
    }
  });
  // The server's certificate does not verify: retrying cannot fix it, so stop (exit 1)
  // instead of waiting for a Redis that will never be accepted.
  redis->on_fatal([w](const std::string& why) {
    if (auto self = w.lock()) {
      spdlog::error("redis: {}; stopping", why);
      // A certificate that does not verify, a namespace a cluster cannot hold: not retried.
      self->begin_stop(exit_failure, "Redis: " + why);
    }
  });
  redis->start();
  blocking->start();
  spdlog::info("worker {} starting: concurrency={} dry_run={} drain={} fleet_rate={} accounts={}",
               queue->consumer(), opts.concurrency, planner_opts.dry_run, opts.drain,
               opts.fleet_rate, accounts.size());
  for (auto& [name, acct] : accounts) {
    if (acct->startup_error) on_credentials_error(*acct, *acct->startup_error, true);
  }
  queue->ensure_group([w](std::error_code ec) {
    if (auto self = w.lock()) self->on_group(ec);
  });
  if (webhooks) webhooks->start();
  every(tick_timer, kTickEvery, &Impl::tick);
  metrics->heartbeat();
}

void Worker::Impl::on_group(std::error_code ec) {
  if (stopping) return maybe_finish_stop();
  if (ec) {
    // Reading the intake needs no group, and claim.lua creates it when it is missing; a
    // Redis that refuses writes (OOM) refuses XGROUP CREATE even when the group exists.
    spdlog::warn("redis: cannot create the consumer group on {}:jobs ({}); going on, it is "
                 "created with the first claim", cfg.ns, ec.message());
  }
  group_ready = true;
  metrics->redis_ok(true);
  const milliseconds vis = opts.visibility_timeout;
  every(lease_timer, std::max(milliseconds(500), vis / 3), &Impl::lease);
  every(promote_timer, kPromoteEvery, &Impl::promote);
  every(claim_timer, kClaimPoll, &Impl::claim_poll);
  if (opts.drain) every(drain_timer, kDrainCheckEvery, &Impl::drain_check);
  promote();
  lease();
  read_intake();
  fill();
}

void Worker::Impl::begin_stop(int st, std::string_view why) {
  if (stopping) return;
  stopping = true;
  if (status == exit_ok) status = st;
  spdlog::info("worker stopping ({}): {} jobs in flight; handing back what is unfinished", why,
               runs.size());
  read_retry_timer.cancel();
  promote_timer.cancel();
  drain_timer.cancel();
  claim_timer.cancel();
  for (auto& [name, acct] : accounts) acct->probe_timer.cancel();
  // Jobs waiting in an account's line for a token go back now (dispatch sees `stopping`).
  for (auto& [name, acct] : accounts) dispatch(*acct);
  // Jobs waiting on a timer (limiter or in-process retry) go back now; jobs in a call go
  // back when the call completes (run_next sees `stopping`).
  for (auto& [id, run] : runs) {
    if (run->phase == Run::Phase::waiting) run->timer.cancel();
  }
  shutdown_timer.expires_after(opts.shutdown_timeout);
  shutdown_timer.async_wait([w = weak_from_this()](std::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->finalized) return;
    for (auto& [id, run] : self->runs) {
      self->log_job(spdlog::level::warn, *run, "running",
                    "note=\"shutdown timeout: left in flight, resumed after the visibility timeout\"");
    }
    self->finalize();
  });
  maybe_finish_stop();
}

void Worker::Impl::maybe_finish_stop() {
  if (!stopping || finalized) return;
  // An outstanding route holds nothing (intake entries are not owned), but its answer is
  // awaited so the log says what happened; a route that keeps failing is given up here.
  if (!runs.empty() || claiming || moving > 0 || reading || (routing && !route_error_logged)) return;
  finalize();
}

void Worker::Impl::finalize() {
  if (finalized) return;
  finalized = true;
  for (auto* t : {&read_retry_timer, &lease_timer, &promote_timer, &tick_timer, &drain_timer,
                  &claim_timer, &shutdown_timer}) {
    t->cancel();
  }
  for (auto& [name, acct] : accounts) {
    acct->probe_timer.cancel();
    acct->send_timer.cancel();
    acct->waiting.clear();
  }
  for (auto& [id, run] : runs) {
    run->abandoned = true;
    run->timer.cancel();
  }
  if (webhooks) webhooks->stop();
  transport->stop();
  blocking->stop();
  redis->stop();
  metrics->in_flight(0);
  spdlog::info("worker stopped (exit status {})", status);
  spdlog::default_logger()->flush();
  if (on_stopped) asio::post(ioc, std::move(on_stopped));
}

// ---------------------------------------------------------------------------------------
// Intake: every entry of <ns>:jobs is validated here and routed into its lane by one script.
// Reading takes no ownership (XREAD, no group), so a worker that dies or stops reading holds
// nothing, and an entry whose routing failed is simply routed again.

void Worker::Impl::read_intake() {
  if (stopping || reading || routing) return;
  reading = true;
  queue->read_intake(intake_cursor, kIntakeBatch,
                     [w = weak_from_this()](std::error_code ec, queue::JobQueue::IntakeRead r) {
                       if (auto self = w.lock()) self->on_intake(ec, std::move(r));
                     });
}

void Worker::Impl::on_intake(std::error_code ec, queue::JobQueue::IntakeRead read) {
  reading = false;
  auto& entries = read.entries;
  auto& next = read.next;
  spdlog::debug("intake: read {} entries ({})", entries.size(), ec ? ec.message() : "ok");
  if (stopping) return maybe_finish_stop();
  if (ec) {
    if (!redis_error_logged) {
      spdlog::error("redis: reading {}:jobs failed: {}; consumption paused until Redis answers",
                    cfg.ns, ec.message());
      redis_error_logged = true;
    }
    metrics->redis_ok(false);
    read_retry_timer.expires_after(kRedisRetry);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (self && !tec) self->read_intake();
    });
    return;
  }
  if (redis_error_logged) {
    spdlog::info("redis: reading {}:jobs again", cfg.ns);
    redis_error_logged = false;
  }
  metrics->redis_ok(true);
  if (read.refused > 0) {
    // Refused inside Redis by size alone (never read here); the record and dead letter say so.
    spdlog::warn("intake: {} entr{} larger than {} bytes dead-lettered without being read",
                 read.refused, read.refused == 1 ? "y" : "ies", max_job_size);
    for (std::size_t i = 0; i < read.refused; ++i) metrics->job_finished("invalid", "dead");
  }
  const bool any = std::any_of(entries.begin(), entries.end(), [](const auto& e) { return !e.claim; });
  if (!any) {
    const bool moved = next != intake_cursor;
    intake_cursor = std::move(next);
    if (moved) return read_intake();
    // Nothing new: read again shortly. (A blocking XREAD would hand this worker every entry,
    // oversized ones included, before any check could refuse them.)
    read_retry_timer.expires_after(kIntakePoll);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (self && !tec) self->read_intake();
    });
    return;
  }
  route(std::move(entries), std::move(next));
}

void Worker::Impl::route(std::vector<queue::StreamEntry> entries, std::string next) {
  routing = true;
  queue->route(entries, [w = weak_from_this(), entries, next](std::error_code ec,
                                                               std::vector<queue::RouteResult> rs) mutable {
    auto self = w.lock();
    if (!self) return;
    if (ec) {
      // Redis refuses (OOM under noeviction, a failover…): reading pauses here — nothing was
      // taken, nothing needs handing back — and the same entries are routed again when it
      // answers. Logged once per outage, not per job.
      if (!self->route_error_logged) {
        spdlog::error("redis: routing {} intake entries failed: {}; reading paused until Redis "
                      "accepts writes again", entries.size(), ec.message());
        self->route_error_logged = true;
      }
      self->metrics->redis_ok(false);
      if (self->stopping) {
        self->routing = false;
        return self->maybe_finish_stop();
      }
      self->read_retry_timer.expires_after(kRedisRetry);
      self->read_retry_timer.async_wait([w, entries = std::move(entries), next](std::error_code tec) mutable {
        auto s = w.lock();
        if (!s || tec) return;
        if (s->stopping) {
          s->routing = false;
          return s->maybe_finish_stop();
        }
        s->route(std::move(entries), std::move(next));
      });
      return;
    }
    self->routing = false;
    if (self->route_error_logged) {
      spdlog::info("redis: routing intake entries again");
      self->route_error_logged = false;
      self->metrics->redis_ok(true);
    }
    using O = queue::RouteResult::Outcome;
    for (const auto& r : rs) {
      if (r.outcome == O::dead) {
        spdlog::warn("job={} status=dead reason={}", r.id, quote_value(redact_text("invalid job: " + r.error)));
        self->metrics->job_finished("invalid", "dead");
      } else if (r.outcome == O::duplicate) {
        spdlog::info("job={} entry={} status=duplicate note=\"another entry carries this id; dropped\"",
                     r.id, r.entry_id);
      } else if (r.outcome == O::scheduled) {
        spdlog::info("job={} status=queued note=\"not_before in the future: waits in the delayed set\"", r.id);
      }
    }
    self->intake_cursor = std::move(next);
    if (self->stopping) return self->maybe_finish_stop();
    self->fill();
    self->read_intake();
  });
}

// ---------------------------------------------------------------------------------------
// Starting jobs: one claim script takes jobs from the lanes of the accounts whose gate is
// open, round-robin, at most as many as there are free slots.

std::size_t Worker::Impl::free_slots() const {
  const auto cap = static_cast<std::size_t>(opts.concurrency);
  return runs.size() >= cap ? 0 : cap - runs.size();
}

void Worker::Impl::fill() {
  if (stopping || !group_ready || claiming) return;
  const std::size_t free = free_slots();
  if (free == 0 || account_order.empty()) return;
  std::vector<queue::LaneGrant> grants;
  std::map<std::string, AccountGate::Grant> given;
  const std::size_t n = account_order.size();
  for (std::size_t i = 0; i < n; ++i) {
    AccountState& acct = *account_order[(rr + i) % n];
    auto g = acct.gate.grant(free);
    if (g.jobs == 0) continue;
    grants.push_back({acct.name, g.jobs});
    given[acct.name] = g;
  }
  rr = (rr + 1) % n;
  if (grants.empty()) return;
  claiming = true;
  queue->claim(grants, free,
               [w = weak_from_this(), given](std::error_code ec, std::vector<queue::Claim> cs) {
                 if (auto self = w.lock()) self->on_claimed(ec, std::move(cs), given);
               });
}

void Worker::Impl::on_claimed(std::error_code ec, std::vector<queue::Claim> claims,
                              std::map<std::string, AccountGate::Grant> grants) {
  claiming = false;
  std::map<std::string, std::size_t> started;
  for (const auto& c : claims) {
    auto parsed = parse_job(c.job_json);
    if (auto* j = std::get_if<Job>(&parsed)) ++started[j->account];
  }
  for (auto& [name, g] : grants) accounts.at(name)->gate.on_claimed(g, started[name]);
  if (ec) {
    if (!claim_error_logged) {
      spdlog::error("redis: starting jobs from the lanes failed: {}; trying again", ec.message());
      claim_error_logged = true;
    }
    return maybe_finish_stop();
  }
  if (claim_error_logged) {
    spdlog::info("redis: starting jobs again");
    claim_error_logged = false;
  }
  const bool more = !claims.empty();
  for (auto& c : claims) {
    bool probe = false;
    auto parsed = parse_job(c.job_json);
    if (auto* j = std::get_if<Job>(&parsed)) {
      auto it = grants.find(j->account);
      probe = it != grants.end() && it->second.probe;
    }
    start_claim(std::move(c), probe);
  }
  if (stopping) return maybe_finish_stop();
  if (more) fill();
}

void Worker::Impl::start_claim(queue::Claim c, bool probe) {
  if (stopping) {
    // Claimed as the stop began: straight back to the front of its lane.
    ++moving;
    queue->requeue(c.id, c.entry_id, [w = weak_from_this()](std::error_code) {
      if (auto self = w.lock()) {
        --self->moving;
        self->maybe_finish_stop();
      }
    }, "shutdown");
    return;
  }
  auto parsed = parse_job(c.job_json);
  if (auto* err = std::get_if<JobError>(&parsed)) {
    return dead_letter(c.id, c.entry_id, nullptr, "invalid job: " + err->message, err->message);
  }
  Job job = std::get<Job>(std::move(parsed));
  if (job.id.empty()) job.id = c.id;
  auto acct_it = accounts.find(job.account);
  if (acct_it == accounts.end()) {
    const std::string msg = "account \"" + job.account + "\" is not configured";
    return dead_letter(c.id, c.entry_id, &job, msg, msg);
  }
  if (auto old = runs.find(c.id); old != runs.end()) {
    // A run of this id is still here although its claim was taken back (it stopped renewing
    // in time): it cannot move the job any more; the new claim is the job's only owner.
    log_job(spdlog::level::warn, *old->second, "abandoned",
            "note=\"claim taken back; the job was started again from its lane\"");
    old->second->abandoned = true;
    old->second->timer.cancel();
    runs.erase(old);
  }
  auto run = std::make_shared<Run>(ioc);
  run->id = c.id;
  run->entry_id = c.entry_id;
  run->account = acct_it->second.get();
  run->probe = probe;
  run->dry_run = planner_opts.dry_run || job.dry_run;
  run->job = std::move(job);
  run->delivery = c.attempts;
  nlohmann::json cp;
  if (!c.checkpoint.empty()) cp = nlohmann::json::parse(c.checkpoint, nullptr, false);
  if (cp.is_object() && cp.contains("planner")) {
    run->planner = restore_planner(run->job, cp["planner"], planner_opts);
    // The retry budget of the call that was failing carries over (delayed set, hand-back).
    auto next = run->planner->next();
    if (next && cp.value("action", std::string()) == next->action) {
      run->call_attempts = cp.value("call_attempts", 0);
      if (auto it = cp.find("class_attempts"); it != cp.end() && it->is_object()) {
        for (const auto& [cls, n] : it->items()) {
          if (n.is_number_integer()) run->class_attempts[cls] = n.get<int>();
        }
      }
    }
  } else {
    run->planner = make_planner(run->job, planner_opts);
  }
  runs[run->id] = run;
  metrics->in_flight(runs.size());
  std::string extra = "attempt=" + std::to_string(c.attempts);
  if (!c.checkpoint.empty()) extra += " resumed=true";
  if (c.reclaims > 0) extra += " reclaims=" + std::to_string(c.reclaims);
  if (run->job.priority != "normal") extra += " priority=" + run->job.priority;
  if (probe) extra += " probe=true";
  if (probe) spdlog::info("account {}: probing the credentials with job {}", run->account->name, run->id);
  log_job(spdlog::level::info, *run, "running", extra);
  run_next(run);
}

// ---------------------------------------------------------------------------------------
// Periodic work

void Worker::Impl::every(asio::steady_timer& t, milliseconds period, void (Impl::*fn)()) {
  t.expires_after(period);
  t.async_wait([w = weak_from_this(), &t, period, fn](std::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->finalized) return;
    ((*self).*fn)();
    if (!self->finalized) self->every(t, period, fn);
  });
}

// The lease keeper: one script renews our claims, then takes back the claims of workers that
// stopped renewing into their lanes. Our own live claims are renewed first, in the same
// script, so this worker never takes back a job it still runs.
void Worker::Impl::lease() {
  std::vector<std::string> live;
  live.reserve(runs.size());
  for (const auto& [id, run] : runs) live.push_back(run->entry_id);
  queue->lease(live, opts.visibility_timeout, kReclaimBatch,
               [w = weak_from_this()](std::error_code ec, queue::LeaseResult r) {
                 auto self = w.lock();
                 if (!self) return;
                 if (ec) {
                   spdlog::warn("redis: renewing claims failed: {}", ec.message());
                   return;
                 }
                 for (const auto& entry : r.lost) {
                   std::vector<RunPtr> gone;
                   for (const auto& [id, run] : self->runs) {
                     if (run->entry_id == entry) gone.push_back(run);
                   }
                   for (auto& run : gone) {
                     self->move_failed(run, queue::make_error_code(queue::Errc::lost_claim), "renew");
                   }
                 }
                 if (r.reclaimed > 0 || r.dead > 0) {
                   spdlog::info("{} jobs of workers that stopped renewing back in their lanes, {} "
                                "dead-lettered (past max_reclaims)", r.reclaimed, r.dead);
                   self->fill();
                 }
               });
}

void Worker::Impl::promote() {
  if (stopping) return;
  queue->promote_due(kPromoteBatch, [w = weak_from_this()](std::error_code ec, std::size_t n) {
    auto self = w.lock();
    if (!self || ec || n == 0) return;
    spdlog::debug("{} delayed jobs due: back in their lanes", n);
    self->fill();
  });
}

void Worker::Impl::claim_poll() {
  if (!stopping && free_slots() > 0) fill();
}

void Worker::Impl::tick() {
  metrics->heartbeat();
  queue->stats([w = weak_from_this()](std::error_code ec, queue::QueueStats s) {
    auto self = w.lock();
    if (!self || ec) return;
    self->apply_stats(s);
  });
}

void Worker::Impl::apply_stats(const queue::QueueStats& s) {
  metrics->queue_depth("stream", static_cast<double>(s.waiting));
  metrics->queue_depth("waiting", static_cast<double>(s.waiting + s.in_lanes));
  metrics->queue_depth("lanes", static_cast<double>(s.in_lanes));
  metrics->queue_depth("pending", static_cast<double>(s.pending));
  metrics->queue_depth("delayed", static_cast<double>(s.delayed));
  metrics->queue_depth("dead", static_cast<double>(s.dead));
  for (const auto& [lane, n] : s.lanes) {
    const auto colon = lane.rfind(':');
    if (colon != std::string::npos) {
      metrics->lane_depth(lane.substr(0, colon), lane.substr(colon + 1), static_cast<double>(n));
    }
  }
  const bool all = s.paused.count("*") > 0;
  std::map<std::string, bool> now;
  now["*"] = all;
  for (auto& [name, acct] : accounts) now[name] = s.paused.count(name) > 0;
  for (const auto& [scope, p] : now) {
    metrics->paused(scope, p);
    if (scope != "*") accounts.at(scope)->gate.set_paused(p || all);
    auto it = paused_seen.find(scope);
    const bool before = it != paused_seen.end() && it->second;
    if (p != before) {
      const std::string what = scope == "*" ? std::string("every account") : "account " + scope;
      if (p) {
        spdlog::warn("{} paused (iamq pause): no job of it starts; its jobs wait in their lanes", what);
      } else {
        spdlog::info("{} resumed", what);
      }
    }
    paused_seen[scope] = p;
  }
}

void Worker::Impl::drain_check() {
  if (stopping || !runs.empty() || claiming || routing) return;
  queue->stats([w = weak_from_this()](std::error_code ec, queue::QueueStats s) {
    auto self = w.lock();
    if (!self || ec || self->stopping) return;
    self->apply_stats(s);
    if (!self->runs.empty() || self->claiming || self->routing) return;
    if (s.stream_length == 0 && s.delayed == 0 && s.in_lanes == 0) {
      if (!self->webhooks) {
        return self->begin_stop(exit_ok, "drained: stream, lanes, delayed set and in-flight jobs are empty");
      }
      // With webhooks, drained also means the outbox is empty (delivered or kept as failed).
      self->redis->command({"XLEN", self->cfg.ns + ":outbox"}, [w](std::error_code e2, queue::Reply r) {
        auto s2 = w.lock();
        if (!s2 || e2 || s2->stopping || r.as_integer().value_or(1) != 0 || s2->webhooks->held() > 0) return;
        s2->begin_stop(exit_ok, "drained: stream, lanes, delayed set, in-flight jobs and webhook outbox are empty");
      });
      return;
    }
    // What is left may wait for an account whose credentials fail: --drain cannot finish.
    for (const auto& [lane, n] : s.lanes) {
      const std::string acct = lane.substr(0, lane.rfind(':'));
      auto it = self->accounts.find(acct);
      if (n > 0 && it != self->accounts.end() &&
          it->second->gate.breaker().state() != CircuitBreaker::State::closed) {
        spdlog::error("--drain: stopping because account {} cannot authenticate; its jobs stay queued",
                      acct);
        return self->begin_stop(exit_circuit_open, "circuit open while draining");
      }
    }
  });
}

void Worker::Impl::log_job(spdlog::level::level_enum lvl, const Run& run, std::string_view status,
                           const std::string& extra) const {
  spdlog::log(lvl, "job={} type={} user={} account={} status={}{}{}", run.id, to_string(run.job.type),
              run.job.user_name.empty() ? "-" : run.job.user_name, run.job.account, status,
              extra.empty() ? "" : " ", redact_text(extra));
}

// ---------------------------------------------------------------------------------------
// Worker

Worker::Worker(asio::io_context& ioc, config::Config cfg, WorkerOptions opts)
    : impl_(std::make_shared<Impl>(ioc, std::move(cfg), std::move(opts))) {}

Worker::~Worker() = default;

void Worker::start() { impl_->start(); }

void Worker::on_stopped(std::function<void()> cb) { impl_->on_stopped = std::move(cb); }

void Worker::stop() { impl_->begin_stop(exit_ok, "signal"); }

bool Worker::stopping() const { return impl_->stopping; }

int Worker::exit_status() const { return impl_->status; }

int Worker::metrics_port() const { return impl_->metrics->port(); }

}  // namespace iamq::worker
