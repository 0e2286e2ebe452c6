// The worker's shell, part 1: construction, life cycle and the periodic work (the lease
// keeper's tick: renewing claims, taking back those of stopped workers, promoting due delayed
// jobs — worker/lease_keeper.hpp decides when; stats; drain). The intake and starting jobs
// from lanes are worker_intake.cpp; carrying out a job is worker_run.cpp.
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
#include "worker/root_session_provider.hpp"
#include "worker/job_validator.hpp"

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

constexpr milliseconds kPromoteEvery{500};    // due delayed jobs into their lanes
constexpr milliseconds kTickEvery{1000};      // heartbeat, queue depth and pause state
constexpr milliseconds kDrainCheckEvery{250};
constexpr milliseconds kClaimPoll{100};       // lanes filled by other workers, tokens, pauses
constexpr std::size_t kPromoteBatch = 200;
constexpr std::size_t kReclaimBatch = 500;    // claims taken back per lease tick

LeaseKeeper::Options keeper_options(milliseconds visibility_timeout) {
  LeaseKeeper::Options o;
  o.visibility_timeout = visibility_timeout;
  o.promote_every = kPromoteEvery;
  o.reclaim_batch = kReclaimBatch;
  o.promote_batch = kPromoteBatch;
  return o;
}

}  // namespace

Worker::Impl::Impl(asio::io_context& ioc_, config::Config cfg_, WorkerOptions opts_)
    : ioc(ioc_),
      cfg(std::move(cfg_)),
      opts(std::move(opts_)),
      retry(cfg),
      keeper(keeper_options(opts.visibility_timeout)),
      read_retry_timer(ioc),
      keeper_timer(ioc),
      tick_timer(ioc),
      drain_timer(ioc),
      claim_timer(ioc),
      shutdown_timer(ioc),
      organization_timer(ioc) {
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
  // A fan-out's children: the accounts routable now (configured, and found in the organization).
  qo.validator = job_validator_over(std::move(webhook_names), [this] { return routable_accounts(); });
  // An invalid entry is stored (record, dead letter) redacted and at most 4 KiB of it.
  qo.store_invalid = [](std::string_view text) { return redact_job_text(text, 4096); };
  qo.max_entry_bytes = max_job_size;  // larger entries are refused inside Redis (intake.lua)
  qo.max_reclaims = cfg.max_reclaims;
  qo.known_account = [this](std::string_view a) {
    auto it = accounts.find(std::string(a));
    return it != accounts.end() && !it->second->retired;
  };
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

  env = client::environment_snapshot();
  credentials = std::make_unique<AccountCredentials>(*transport, cfg, env);
  std::optional<client::CredentialsError> first_error;
  std::size_t usable = 0;
  std::vector<std::string> names;
  for (const auto& [name, a] : cfg.accounts) names.push_back(name);
  for (const auto& name : names) {
    AccountState& st = add_account(name);
    if (!st.client) throw client::CredentialsError(st.startup_error->message);
    if (!st.startup_error) ++usable;
    else if (!first_error) first_error = client::CredentialsError(st.startup_error->message);
  }
  if (cfg.organization.enabled) {
    organization = std::make_unique<OrganizationAccounts>(*transport, *credentials, cfg, env);
    organization_ready = false;
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
  if (organization) {
    spdlog::info("organization: listing the accounts with account {} at {}", cfg.organization.account,
                 organization->endpoint());
    discover_organization();
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
  every(claim_timer, kClaimPoll, &Impl::claim_poll);
  if (opts.drain) every(drain_timer, kDrainCheckEvery, &Impl::drain_check);
  const auto work = keeper.start(Clock::now());
  if (work.promote) promote();
  if (work.lease) lease();
  keep_leases();
  read_intake();
  refresh_ready();  // rebuilds <ns>:ready from the lanes, then fills
}

void Worker::Impl::begin_stop(int st, std::string_view why) {
  if (stopping) return;
  stopping = true;
  if (status == exit_ok) status = st;
  spdlog::info("worker stopping ({}): {} jobs in flight; handing back what is unfinished", why,
               runs.size());
  read_retry_timer.cancel();
  keeper.stop();  // no more promotion; claims are renewed until the end
  organization_timer.cancel();
  drain_timer.cancel();
  claim_timer.cancel();
  for (auto& [name, acct] : accounts) acct->probe_timer.cancel();
  // Jobs waiting for the limiters or on a retry timer go back now; a job in a call goes back
  // once the call is recorded, a job in a write once the write is answered.
  std::vector<RunPtr> all;
  all.reserve(runs.size());
  for (auto& [id, run] : runs) all.push_back(run);
  for (auto& run : all) feed(run, JobRun::Event::stop_requested());
  for (auto& [name, acct] : accounts) dispatch(*acct);  // clears the lines
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
  for (auto* t : {&read_retry_timer, &keeper_timer, &tick_timer, &drain_timer, &claim_timer,
                  &shutdown_timer, &organization_timer}) {
    t->cancel();
  }
  for (auto& [name, acct] : accounts) {
    acct->probe_timer.cancel();
    acct->send_timer.cancel();
    acct->waiting.clear();
  }
  for (auto& [id, run] : runs) run->timer.cancel();  // their handlers see `finalized`
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

void Worker::Impl::keep_leases() {
  if (finalized) return;
  keeper_timer.expires_at(keeper.next_due());
  keeper_timer.async_wait([w = weak_from_this()](std::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->finalized) return;
    const auto work = self->keeper.tick(Clock::now());
    if (work.lease) self->lease();
    if (work.promote) self->promote();
    self->keep_leases();
  });
}

// One script renews our claims, then takes back the claims of workers that stopped renewing
// into their lanes. Our own live claims are renewed first, in the same script, so this
// worker never takes back a job it still runs.
void Worker::Impl::lease() {
  std::vector<std::string> live;
  live.reserve(runs.size());
  for (const auto& [id, run] : runs) live.push_back(run->entry_id);
  queue->lease(live, keeper.min_idle(), keeper.reclaim_batch(),
               [w = weak_from_this()](std::error_code ec, queue::LeaseResult r) {
                 auto self = w.lock();
                 if (!self) return;
                 if (ec) spdlog::warn("redis: renewing claims failed: {}", ec.message());
                 auto v = self->keeper.on_lease(Clock::now(), !ec, std::move(r.lost), r.reclaimed, r.dead);
                 for (const auto& entry : v.abandon) {
                   std::vector<RunPtr> gone;
                   for (const auto& [id, run] : self->runs) {
                     if (run->entry_id == entry) gone.push_back(run);
                   }
                   for (auto& run : gone) self->feed(run, JobRun::Event::claim_lost());
                 }
                 for (const auto& entry : r.cancel) {
                   // iamq cancel of a job that may be waiting (token, retry timer): stop it now
                   // rather than at its next write.
                   std::vector<RunPtr> asked;
                   for (const auto& [id, run] : self->runs) {
                     if (run->entry_id == entry) asked.push_back(run);
                   }
                   for (auto& run : asked) self->feed(run, JobRun::Event::cancel_seen());
                 }
                 if (v.log) {
                   spdlog::info("{} jobs of workers that stopped renewing back in their lanes, {} "
                                "dead-lettered (past max_reclaims)", r.reclaimed, r.dead);
                 }
                 if (r.reclaimed > 0) return self->refresh_ready();  // fills after reading
                 if (v.fill) self->fill();
               });
}

void Worker::Impl::promote() {
  if (stopping) return;
  queue->promote_due(keeper.promote_batch(), [w = weak_from_this()](std::error_code ec, std::size_t n) {
    auto self = w.lock();
    if (!self || !self->keeper.on_promote(!ec, n)) return;
    spdlog::debug("{} delayed jobs due: back in their lanes", n);
    if (n > 0) return self->refresh_ready();
    self->fill();
  });
}

void Worker::Impl::claim_poll() {
  if (stopping || free_slots() == 0) return;
  // Jobs other processes put in a lane this worker saw empty (another worker's routing,
  // iamq retry or resume): <ns>:ready says which accounts; it fills after reading it.
  if (some_lanes_empty || !ready_rebuilt) return refresh_ready();
  fill();
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
  const Job& job = run.job();
  spdlog::log(lvl, "job={} type={} user={} account={} status={}{}{}", run.id, to_string(job.type),
              job.user_name.empty() ? "-" : job.user_name, job.account, status,
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
