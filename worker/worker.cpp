#include "worker/worker.hpp"

#include <map>
#include <algorithm>
#include <deque>
#include <functional>
#include <stdexcept>
#include <utility>
#include <variant>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "client/credentials.hpp"
#include "client/curl_multi_transport.hpp"
#include "client/endpoint.hpp"
#include "client/iam_client.hpp"
#include "queue/error.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"
#include "queue/redis_url.hpp"
#include "worker/circuit_breaker.hpp"
#include "worker/fleet_limiter.hpp"
#include "worker/job.hpp"
#include "worker/metrics.hpp"
#include "worker/planner.hpp"
#include "worker/rate_limiter.hpp"
#include "worker/retry_policy.hpp"
#include "worker/step_record.hpp"
#include "worker/unsupported_detector.hpp"
#include "worker/redaction.hpp"

namespace iamq::worker {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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

constexpr milliseconds kReadBlock{1000};      // XREADGROUP BLOCK: how long an idle read waits
constexpr milliseconds kRedisRetry{500};      // after a failed read/group creation
constexpr milliseconds kPromoteEvery{500};    // due delayed jobs back into the stream
constexpr milliseconds kTickEvery{1000};      // heartbeat, queue depth metrics
constexpr milliseconds kDrainCheckEvery{250};
constexpr std::size_t kPromoteBatch = 200;

std::string quote_value(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

/// "Code: message" for the record's error field and log lines (IAM messages hold no secrets).
std::string error_text(const client::IamError& e) {
  return redact_text(e.message.empty() ? e.code : e.code + ": " + e.message);
}

client::CredentialsLoader loader_for(const config::Account& a) {
  switch (a.source) {
    case config::CredentialsSource::environment: return client::environment_credentials_loader();
    case config::CredentialsSource::profile: return client::profile_credentials_loader(a.profile);
    case config::CredentialsSource::static_keys:
      return client::static_credentials_loader(
          client::Credentials{a.access_key_id, a.secret_access_key, a.session_token});
  }
  return client::environment_credentials_loader();
}


}  // namespace

// ---------------------------------------------------------------------------------------
// State

/// A job taken from the stream but not started because its account's circuit is open.
/// Its entry stays pending with this consumer (renewed), its record untouched (queued).
struct Parked {
  queue::AdoptResult adopt;
  Job job;
};

struct Run;

/// Everything kept per named account.
struct AccountState {
  AccountState(asio::io_context& ioc, std::string n, RateLimiter::Options lim,
               milliseconds probe_interval)
      : name(std::move(n)), limiter(lim), breaker(probe_interval), probe_timer(ioc), send_timer(ioc) {}
  std::string name;
  std::unique_ptr<client::IamClient> client;
  RateLimiter limiter;
  CircuitBreaker breaker;
  asio::steady_timer probe_timer;
  /// Jobs whose next call waits for a token of `limiter`, first come first served.
  std::deque<std::shared_ptr<Run>> waiting;
  asio::steady_timer send_timer;  ///< wakes dispatch() when the next token is due
  bool send_timer_armed = false;
  /// The account's circuit record in Redis is known to be clear (this process wrote it, or
  /// the keys answered since start). A record left "open" by an earlier worker is cleared on
  /// the first answer, or `iamq stats` would show an open circuit for working keys forever.
  bool circuit_record_clear = false;
  std::deque<Parked> parked;
  std::optional<client::IamError> startup_error;  ///< credentials could not be loaded
  /// Which List* actions this account's endpoint does not implement (issue 14).
  UnsupportedDetector unsupported;
};

/// One job being carried out.
struct Run {
  explicit Run(asio::io_context& ioc) : timer(ioc) {}
  enum class Phase { starting, waiting, calling, moving };

  std::string id;
  std::string entry_id;
  Job job;
  AccountState* account = nullptr;
  std::unique_ptr<Planner> planner;
  std::optional<PlannedCall> call;  ///< the call being made (or waited for)
  int call_attempts = 0;            ///< failed attempts of `call` so far (all classes)
  /// Failed attempts of `call` per error class: each class's max_attempts and backoff count
  /// only its own failures, so waiting out many EntityTemporarilyUnmodifiable answers does
  /// not spend the budget of a later 503.
  std::map<std::string, int> class_attempts;
  int delivery = 0;                 ///< attempt number from mark_running
  int calls = 0;                    ///< IAM calls made by this worker for the job
  asio::steady_timer timer;         ///< fleet limiter wait and in-process retry wait
  Clock::time_point queued_at;      ///< when it joined its account's line for a token
  Phase phase = Phase::starting;
  bool probe = false;      ///< the half-open circuit's probe job
  bool abandoned = false;  ///< claim lost (reclaimed elsewhere) or Redis failed a move
  bool dry_run = false;
  Clock::time_point started = Clock::now();
};
using RunPtr = std::shared_ptr<Run>;

struct Worker::Impl : std::enable_shared_from_this<Worker::Impl> {
  Impl(asio::io_context& ioc_, config::Config cfg_, WorkerOptions opts_);

  // ---- life cycle
  void start();
  void on_group(std::error_code ec);
  void begin_stop(int status, std::string_view why);
  void maybe_finish_stop();
  void finalize();

  // ---- taking jobs
  std::size_t free_slots() const;
  void fill();
  void on_read(std::error_code ec, std::vector<queue::StreamEntry> entries);
  void start_entry(const queue::StreamEntry& e, bool reclaimed);
  void on_adopted(queue::AdoptResult res, bool reclaimed);
  void park(AccountState& acct, queue::AdoptResult res, Job job);
  void start_run(queue::AdoptResult res, Job job, AccountState& acct, bool probe);

  // ---- running a job
  void run_next(const RunPtr& run);
  void acquire(const RunPtr& run);
  void enter_line(const RunPtr& run);
  void dispatch(AccountState& acct);
  void issue_call(const RunPtr& run);
  void on_call_done(const RunPtr& run, client::Outcome outcome, client::CallInfo info);
  void record(const RunPtr& run, const nlohmann::json& step, std::function<void()> next);
  nlohmann::json checkpoint(const Run& run) const;
  void finish_run(const RunPtr& run);
  void fail_run(const RunPtr& run, client::IamError error);
  void dead_letter(const std::string& id, const std::string& entry_id, const Job* job,
                   const std::string& reason, const std::string& error);
  void hand_back(const RunPtr& run, std::string_view reason);
  void remove_run(const RunPtr& run);
  bool move_failed(const RunPtr& run, std::error_code ec, std::string_view what);

  // ---- circuits
  /// `startup`: the credentials could not even be loaded (no job needed them yet).
  void on_credentials_error(AccountState& acct, const client::IamError& error, bool startup = false);
  void on_account_answer(AccountState& acct);
  void try_probe(AccountState& acct);
  void arm_probe(AccountState& acct, Clock::duration after);
  void write_circuit(const AccountState& acct);

  // ---- periodic work
  void every(asio::steady_timer& t, milliseconds period, void (Impl::*fn)());
  void renew();
  void reclaim();
  void promote();
  void tick();
  void drain_check();

  // ---- logging
  void log_job(spdlog::level::level_enum lvl, const Run& run, std::string_view status,
               const std::string& extra = {}) const;

  asio::io_context& ioc;
  config::Config cfg;
  WorkerOptions opts;
  PlannerOptions planner_opts;
  RetryPolicy retry;
  // Declaration order is destruction order reversed: the metrics listener outlives
  // everything that reports to it; the connections outlive the queue; the transport
  // outlives the clients (in `accounts`); the runs go first.
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<queue::RedisConnection> redis;
  std::unique_ptr<queue::RedisConnection> blocking;
  std::unique_ptr<queue::JobQueue> queue;
  std::unique_ptr<FleetLimiter> fleet;
  std::unique_ptr<client::CurlMultiTransport> transport;
  std::map<std::string, std::unique_ptr<AccountState>> accounts;
  std::map<std::string, RunPtr> runs;  ///< by job id
  std::deque<Parked> ready;            ///< released by a closed circuit, started before reading
  std::size_t parked_total = 0;
  std::size_t adopting = 0;   ///< adopt() calls outstanding
  std::size_t moving = 0;     ///< hand-backs of parked jobs outstanding
  bool group_ready = false;
  bool reading = false;
  bool stopping = false;
  bool finalized = false;
  bool redis_error_logged = false;
  int status = exit_ok;
  std::function<void()> on_stopped;

  asio::steady_timer read_retry_timer;
  asio::steady_timer renew_timer;
  asio::steady_timer reclaim_timer;
  asio::steady_timer promote_timer;
  asio::steady_timer tick_timer;
  asio::steady_timer drain_timer;
  asio::steady_timer shutdown_timer;
};

Worker::Impl::Impl(asio::io_context& ioc_, config::Config cfg_, WorkerOptions opts_)
    : ioc(ioc_),
      cfg(std::move(cfg_)),
      opts(std::move(opts_)),
      retry(cfg),
      read_retry_timer(ioc),
      renew_timer(ioc),
      reclaim_timer(ioc),
      promote_timer(ioc),
      tick_timer(ioc),
      drain_timer(ioc),
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
  qo.validator = job_validator();
  // An invalid entry is stored (record, dead letter) redacted and at most 4 KiB of it.
  qo.store_invalid = [](std::string_view text) { return redact_job_text(text, 4096); };
  queue = std::make_unique<queue::JobQueue>(*redis, *blocking, qo);
  if (opts.fleet_rate > 0) {
    fleet = std::make_unique<FleetLimiter>(*redis, cfg.ns, opts.fleet_rate,
                                           opts.fleet_burst > 0 ? opts.fleet_burst : opts.fleet_rate);
  }
  client::TransportOptions to;
  to.max_host_connections = std::max(4, opts.concurrency);
  transport = std::make_unique<client::CurlMultiTransport>(ioc, to);

  const auto env = client::environment_snapshot();
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
      co.endpoint = client::resolve_endpoint(a.endpoint, env);
    } catch (const client::EndpointError& e) {
      throw config::ConfigError("accounts." + name + ".endpoint: " + e.what());
    }
    co.region = a.region;
    co.connect_timeout = cfg.connect_timeout;
    co.request_timeout = cfg.request_timeout;
    try {
      st->client = std::make_unique<client::IamClient>(*transport, co, loader_for(a));
      st->client->load_credentials();
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
      self->begin_stop(exit_failure, "Redis TLS certificate rejected");
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
  every(tick_timer, kTickEvery, &Impl::tick);
  metrics->heartbeat();
}

void Worker::Impl::on_group(std::error_code ec) {
  if (stopping) return maybe_finish_stop();
  if (ec) {
    if (!redis_error_logged) {
      spdlog::error("redis: cannot create the consumer group on {}:jobs: {}; retrying", cfg.ns,
                    ec.message());
      redis_error_logged = true;
    }
    read_retry_timer.expires_after(kRedisRetry);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (!self || tec || self->stopping) return;
      self->queue->ensure_group([w](std::error_code e) {
        if (auto s = w.lock()) s->on_group(e);
      });
    });
    return;
  }
  group_ready = true;
  metrics->redis_ok(true);
  const milliseconds vis = opts.visibility_timeout;
  every(renew_timer, std::max(milliseconds(500), vis / 3), &Impl::renew);
  every(reclaim_timer, std::max(milliseconds(1000), vis / 4), &Impl::reclaim);
  every(promote_timer, kPromoteEvery, &Impl::promote);
  if (opts.drain) every(drain_timer, kDrainCheckEvery, &Impl::drain_check);
  promote();
  reclaim();
  fill();
}

void Worker::Impl::begin_stop(int st, std::string_view why) {
  if (stopping) return;
  stopping = true;
  if (status == exit_ok) status = st;
  spdlog::info("worker stopping ({}): {} jobs in flight, {} parked; handing back what is unfinished",
               why, runs.size(), parked_total + ready.size());
  read_retry_timer.cancel();
  reclaim_timer.cancel();
  promote_timer.cancel();
  drain_timer.cancel();
  for (auto& [name, acct] : accounts) acct->probe_timer.cancel();
  // Jobs waiting in an account's line for a token go back now (dispatch sees `stopping`).
  for (auto& [name, acct] : accounts) dispatch(*acct);
  // Jobs waiting on a timer (limiter or in-process retry) go back now; jobs in a call go
  // back when the call completes (run_next sees `stopping`).
  for (auto& [id, run] : runs) {
    if (run->phase == Run::Phase::waiting) run->timer.cancel();
  }
  // Parked and ready jobs were never started: back to the stream untouched.
  auto give_back = [this](Parked& p) {
    ++moving;
    queue->requeue(p.adopt.id, p.adopt.entry_id, [w = weak_from_this(), id = p.adopt.id](std::error_code ec) {
      auto self = w.lock();
      if (!self) return;
      --self->moving;
      if (ec) spdlog::warn("job={} hand-back failed ({}); it will be reclaimed", id, ec.message());
      self->metrics->job_handed_back("shutdown");
      self->maybe_finish_stop();
    });
  };
  for (auto& [name, acct] : accounts) {
    for (auto& p : acct->parked) give_back(p);
    acct->parked.clear();
  }
  parked_total = 0;
  for (auto& p : ready) give_back(p);
  ready.clear();

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
  if (!runs.empty() || adopting > 0 || moving > 0 || reading) return;
  finalize();
}

void Worker::Impl::finalize() {
  if (finalized) return;
  finalized = true;
  for (auto* t : {&read_retry_timer, &renew_timer, &reclaim_timer, &promote_timer, &tick_timer,
                  &drain_timer, &shutdown_timer}) {
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
  transport->stop();
  blocking->stop();
  redis->stop();
  metrics->in_flight(0);
  spdlog::info("worker stopped (exit status {})", status);
  spdlog::default_logger()->flush();
  if (on_stopped) asio::post(ioc, std::move(on_stopped));
}

// ---------------------------------------------------------------------------------------
// Taking jobs

std::size_t Worker::Impl::free_slots() const {
  const std::size_t busy = runs.size() + adopting;
  const auto cap = static_cast<std::size_t>(opts.concurrency);
  return busy >= cap ? 0 : cap - busy;
}

void Worker::Impl::fill() {
  if (stopping || !group_ready) return;
  while (!ready.empty() && free_slots() > 0) {
    Parked p = std::move(ready.front());
    ready.pop_front();
    AccountState& acct = *accounts.at(p.job.account);
    if (!acct.breaker.allow()) {
      park(acct, std::move(p.adopt), std::move(p.job));
      continue;
    }
    const bool probe = acct.breaker.state() == CircuitBreaker::State::half_open;
    start_run(std::move(p.adopt), std::move(p.job), acct, probe);
  }
  // Parked jobs hold their entries; past this bound, stop reading until a circuit closes.
  const std::size_t park_limit = static_cast<std::size_t>(opts.concurrency) * 2;
  if (reading || free_slots() == 0 || parked_total >= park_limit) return;
  reading = true;
  queue->read(free_slots(), kReadBlock,
              [w = weak_from_this()](std::error_code ec, std::vector<queue::StreamEntry> entries) {
                if (auto self = w.lock()) self->on_read(ec, std::move(entries));
              });
}

void Worker::Impl::on_read(std::error_code ec, std::vector<queue::StreamEntry> entries) {
  reading = false;
  if (ec) {
    if (!stopping && !redis_error_logged) {
      spdlog::error("redis: reading {}:jobs failed: {}; consumption paused until Redis answers",
                    cfg.ns, ec.message());
      redis_error_logged = true;
    }
    metrics->redis_ok(false);
    if (stopping) return maybe_finish_stop();
    read_retry_timer.expires_after(kRedisRetry);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (self && !tec) self->fill();
    });
    return;
  }
  if (redis_error_logged) {
    spdlog::info("redis: reading {}:jobs again", cfg.ns);
    redis_error_logged = false;
  }
  metrics->redis_ok(true);
  // Entries delivered to us are adopted even while stopping: on_adopted hands them back.
  for (const auto& e : entries) start_entry(e, false);
  if (stopping) return maybe_finish_stop();
  fill();
}

void Worker::Impl::start_entry(const queue::StreamEntry& e, bool reclaimed) {
  // A reclaim may hand us back an entry we still run (renewal came late): keep running it.
  for (const auto& [id, run] : runs) {
    if (run->entry_id == e.entry_id) return;
  }
  ++adopting;
  queue->adopt(e, [w = weak_from_this(), reclaimed, entry_id = e.entry_id](
                      std::error_code ec, queue::AdoptResult res) {
    auto self = w.lock();
    if (!self) return;
    --self->adopting;
    if (ec) {
      spdlog::warn("entry={} adopt failed: {}; it stays pending and will be reclaimed", entry_id,
                   ec.message());
    } else {
      self->on_adopted(std::move(res), reclaimed);
    }
    if (self->stopping) return self->maybe_finish_stop();
    self->fill();
  });
}

void Worker::Impl::on_adopted(queue::AdoptResult res, bool reclaimed) {
  using O = queue::AdoptResult::Outcome;
  switch (res.outcome) {
    case O::duplicate:
      spdlog::info("job={} entry={} status=duplicate note=\"another entry carries this id; dropped\"",
                   res.id, res.entry_id);
      return;
    case O::finished:
      spdlog::debug("job={} entry={} stale entry of a finished job; acknowledged", res.id, res.entry_id);
      return;
    case O::invalid:
      spdlog::warn("job={} status=dead reason={}", res.id, quote_value(redact_text("invalid job: " + res.error)));
      metrics->job_finished("invalid", "dead");
      return;
    case O::run:
      break;
  }
  if (stopping) {
    ++moving;
    queue->requeue(res.id, res.entry_id, [w = weak_from_this()](std::error_code) {
      if (auto self = w.lock()) {
        --self->moving;
        self->maybe_finish_stop();
      }
    });
    return;
  }
  auto parsed = parse_job(res.job_json);
  if (auto* err = std::get_if<JobError>(&parsed)) {
    dead_letter(res.id, res.entry_id, nullptr, "invalid job: " + err->message, err->message);
    return;
  }
  Job job = std::get<Job>(std::move(parsed));
  if (job.id.empty()) job.id = res.id;
  if (job.account.empty()) job.account = "default";
  auto acct_it = accounts.find(job.account);
  if (acct_it == accounts.end()) {
    const std::string msg = "account \"" + job.account + "\" is not configured";
    dead_letter(res.id, res.entry_id, &job, msg, msg);
    return;
  }
  if (reclaimed && cfg.max_attempts > 0 && res.attempts >= cfg.max_attempts) {
    const std::string msg = "abandoned by " + std::to_string(res.attempts) +
                            " workers that stopped renewing (crashed or killed); not retried";
    dead_letter(res.id, res.entry_id, &job, msg, msg);
    return;
  }
  AccountState& acct = *acct_it->second;
  if (!acct.breaker.allow()) {
    park(acct, std::move(res), std::move(job));
    return;
  }
  const bool probe = acct.breaker.state() == CircuitBreaker::State::half_open;
  start_run(std::move(res), std::move(job), acct, probe);
}

void Worker::Impl::park(AccountState& acct, queue::AdoptResult res, Job job) {
  spdlog::debug("job={} account={} parked: circuit open", res.id, acct.name);
  acct.parked.push_back(Parked{std::move(res), std::move(job)});
  ++parked_total;
  if (opts.drain && !stopping) {
    spdlog::error("--drain: stopping because account {} cannot authenticate; its jobs stay queued",
                  acct.name);
    begin_stop(exit_circuit_open, "circuit open while draining");
  }
}

void Worker::Impl::start_run(queue::AdoptResult res, Job job, AccountState& acct, bool probe) {
  auto run = std::make_shared<Run>(ioc);
  run->id = res.id;
  run->entry_id = res.entry_id;
  run->account = &acct;
  run->probe = probe;
  run->dry_run = planner_opts.dry_run || job.dry_run;
  run->job = std::move(job);
  nlohmann::json cp;
  if (!res.checkpoint.empty()) cp = nlohmann::json::parse(res.checkpoint, nullptr, false);
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
  queue->mark_running(run->id, run->entry_id,
                      [w = weak_from_this(), run, resumed = !res.checkpoint.empty()](std::error_code ec, int attempt) {
                        auto self = w.lock();
                        if (!self || run->abandoned) return;
                        if (self->move_failed(run, ec, "mark_running")) return;
                        run->delivery = attempt;
                        self->log_job(spdlog::level::info, *run, "running",
                                      "attempt=" + std::to_string(attempt) +
                                          (resumed ? " resumed=true" : "") +
                                          (run->probe ? " probe=true" : ""));
                        self->run_next(run);
                      });
}

// ---------------------------------------------------------------------------------------
// Running a job

void Worker::Impl::run_next(const RunPtr& run) {
  if (run->abandoned) return;
  if (stopping) return hand_back(run, "shutdown");
  auto call = run->planner->next();
  if (!call) return finish_run(run);
  if (run->dry_run && call->mutating) {
    // Defence in depth: a dry run never sends a mutating call, whatever the planner says.
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "DryRunViolation";
    e.message = "refusing mutating call " + call->action + " in a dry run";
    return fail_run(run, e);
  }
  if (auto why = refuse_call(run->job, *call)) {
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "NotAllowed";
    e.message = *why;
    return fail_run(run, e);
  }
  run->call = std::move(*call);
  acquire(run);
}

void Worker::Impl::acquire(const RunPtr& run) {
  if (!fleet) return enter_line(run);
  AccountState& acct = *run->account;
  run->phase = Run::Phase::waiting;
  fleet->reserve(acct.name, [w = weak_from_this(), run](std::error_code ec,
                                                        std::chrono::microseconds fleet_wait) {
    auto self = w.lock();
    if (!self || run->abandoned) return;
    if (self->stopping) return self->hand_back(run, "shutdown");
    if (ec) {
      // Without the shared limiter we cannot know the fleet's rate: wait and ask again.
      spdlog::warn("job={} fleet limiter unavailable ({}); asking again", run->id, ec.message());
      run->timer.expires_after(kRedisRetry);
      run->timer.async_wait([w, run](std::error_code) {
        auto s = w.lock();
        if (!s || run->abandoned) return;
        if (s->stopping) return s->hand_back(run, "shutdown");
        s->acquire(run);
      });
      return;
    }
    self->metrics->limiter_wait(run->account->name, "fleet", fleet_wait);
    if (fleet_wait <= std::chrono::microseconds::zero()) return self->enter_line(run);
    run->timer.expires_after(fleet_wait);
    run->timer.async_wait([w, run](std::error_code) {
      auto s = w.lock();
      if (!s || run->abandoned) return;
      if (s->stopping) return s->hand_back(run, "shutdown");
      s->enter_line(run);
    });
  });
}

void Worker::Impl::enter_line(const RunPtr& run) {
  if (stopping) return hand_back(run, "shutdown");
  AccountState& acct = *run->account;
  run->phase = Run::Phase::waiting;
  run->queued_at = Clock::now();
  acct.waiting.push_back(run);
  dispatch(acct);
}

// The account's token is taken at the moment a call is sent, never ahead of time. Reserving
// a token and then sleeping until it is due (what this did before) lets calls whose timers
// fire late — a busy loop, a descheduled process — go out together with the calls due at
// that moment: a one-second window of sends then holds more than rate + burst (seen: 378
// calls in one second at rate 300, burst 50). Counting tokens at send time bounds every
// window of sends by rate + burst, however late the wake-ups are.
void Worker::Impl::dispatch(AccountState& acct) {
  while (!acct.waiting.empty()) {
    RunPtr run = acct.waiting.front();
    if (run->abandoned) {
      acct.waiting.pop_front();
      continue;
    }
    if (stopping) {
      acct.waiting.pop_front();
      hand_back(run, "shutdown");
      continue;
    }
    if (!acct.limiter.try_acquire()) break;
    acct.waiting.pop_front();
    metrics->limiter_wait(acct.name, "account", Clock::now() - run->queued_at);
    issue_call(run);
  }
  if (acct.waiting.empty() || acct.send_timer_armed || finalized) return;
  acct.send_timer_armed = true;
  // At least a little: a token computed as due "now" may still be a rounding error short.
  const Clock::duration wait =
      std::max<Clock::duration>(acct.limiter.time_until_available(), std::chrono::microseconds(200));
  acct.send_timer.expires_after(wait);
  acct.send_timer.async_wait([w = weak_from_this(), name = acct.name](std::error_code) {
    auto self = w.lock();
    if (!self || self->finalized) return;
    auto it = self->accounts.find(name);
    if (it == self->accounts.end()) return;
    it->second->send_timer_armed = false;
    self->dispatch(*it->second);
  });
}

void Worker::Impl::issue_call(const RunPtr& run) {
  if (run->abandoned) return;
  if (stopping) return hand_back(run, "shutdown");
  run->phase = Run::Phase::calling;
  ++run->calls;
  // One line per call sent (trace level): lets an operator line the worker's sending rate up
  // with the account's limit. Names only, never parameters.
  spdlog::trace("call job={} account={} action={}", run->id, run->account->name, run->call->action);
  run->account->client->call(run->call->action, run->call->params,
                             [w = weak_from_this(), run](std::error_code, client::Outcome outcome,
                                                         client::CallInfo info) {
                               if (auto self = w.lock()) self->on_call_done(run, std::move(outcome), info);
                             });
}

nlohmann::json Worker::Impl::checkpoint(const Run& run) const {
  nlohmann::json cp = {{"v", 1}, {"planner", run.planner->checkpoint()}};
  if (run.call_attempts > 0 && run.call) {
    cp["action"] = run.call->action;
    cp["call_attempts"] = run.call_attempts;
    cp["class_attempts"] = run.class_attempts;
  }
  return cp;
}

void Worker::Impl::on_call_done(const RunPtr& run, client::Outcome outcome, client::CallInfo info) {
  AccountState& acct = *run->account;
  const PlannedCall& call = *run->call;
  if (const auto verdict = acct.unsupported.observe(call.action, outcome); verdict.unsupported) {
    metrics->unsupported(acct.name, call.action);
    if (verdict.first) {
      spdlog::warn("account={} action={} the endpoint does not implement it ({} HTTP {}); {}", acct.name,
                   call.action, outcome.error->code, outcome.error->http_status,
                   call.mutating ? "jobs that need it fail" : "recorded unsupported, jobs go on");
    }
  }
  const client::IamError* err = outcome.error ? &*outcome.error : nullptr;
  metrics->iam_call(call.action, err ? std::string_view(err->code) : std::string_view("OK"), info.duration);
  if (err && err->error_class == client::ErrorClass::throttled) {
    acct.limiter.on_throttled();
  } else {
    acct.limiter.on_success();
  }
  metrics->limiter_rate(acct.name, acct.limiter.current_rate());
  if (run->abandoned) return;

  StepFacts facts;
  facts.action = call.action;
  facts.params = call.params;
  facts.attempt = run->call_attempts + 1;
  facts.duration = info.duration;
  facts.http_status = info.http_status;
  facts.dry_run = run->dry_run;

  if (err && err->error_class == client::ErrorClass::credentials) {
    on_credentials_error(acct, *err);
    auto step = make_step_record(facts, outcome, StepDisposition::handed_back);
    // The call never reached the planner: the checkpoint still points at it.
    return record(run, step, [this, run] { hand_back(run, "circuit_open"); });
  }
  // An answer from IAM that is not a credentials error: the account's keys work.
  if (outcome.ok || (err && err->http_status != 0)) on_account_answer(acct);

  if (err && RetryPolicy::retryable(err->error_class)) {
    const std::string cls(client::to_string(err->error_class));
    const int class_attempt = run->class_attempts[cls] + 1;
    const RetryDecision d = retry.decide(err->error_class, class_attempt, run->job.max_attempts);
    if (d.retry) {
      metrics->retry(cls, d.use_delayed_set);
      run->call_attempts = facts.attempt;
      run->class_attempts[cls] = class_attempt;
      auto step = make_step_record(facts, outcome,
                                   d.use_delayed_set ? StepDisposition::delayed : StepDisposition::retry,
                                   d.delay);
      const std::string why = error_text(*err);
      if (d.use_delayed_set) {
        return record(run, step, [this, run, d, why, cls] {
          run->phase = Run::Phase::moving;
          queue->schedule_delayed(run->id, run->entry_id, d.delay, why,
                                  [w = weak_from_this(), run, d, why, cls](std::error_code ec) {
                                    auto self = w.lock();
                                    if (!self || run->abandoned) return;
                                    if (self->move_failed(run, ec, "schedule_delayed")) return;
                                    self->log_job(spdlog::level::info, *run, "retry_scheduled",
                                                  "class=" + cls + " wait_ms=" + std::to_string(d.delay.count()) +
                                                      " where=delayed_set error=" + quote_value(why));
                                    self->remove_run(run);
                                    self->fill();
                                  });
        });
      }
      return record(run, step, [this, run, d, why, cls] {
        if (stopping) return hand_back(run, "shutdown");
        queue->schedule_retry(run->id, run->entry_id, d.delay, why, [](std::error_code) {});
        log_job(spdlog::level::debug, *run, "retry_scheduled",
                "class=" + cls + " wait_ms=" + std::to_string(d.delay.count()) +
                    " where=timer action=" + run->call->action);
        run->phase = Run::Phase::waiting;
        run->timer.expires_after(d.delay);
        run->timer.async_wait([w = weak_from_this(), run](std::error_code) {
          auto self = w.lock();
          if (!self || run->abandoned) return;
          if (self->stopping) return self->hand_back(run, "shutdown");
          self->acquire(run);
        });
      });
    }
    // Attempts spent: the planner fails the job with this (last) error.
  }
  auto step = make_step_record(facts, outcome, StepDisposition::done);
  run->planner->on_outcome(outcome);
  run->call_attempts = 0;
  run->class_attempts.clear();
  record(run, step, [this, run] { run_next(run); });
}

void Worker::Impl::record(const RunPtr& run, const nlohmann::json& step, std::function<void()> next) {
  run->phase = Run::Phase::moving;
  // The step comes from make_step_record (redacted there); the checkpoint is redacted by
  // names only: its values are what a resumed job sends again.
  queue->record_step(run->id, run->entry_id, step.dump(), redact(checkpoint(*run), false).dump(),
                     [w = weak_from_this(), run, next = std::move(next)](std::error_code ec) {
                       auto self = w.lock();
                       if (!self || run->abandoned) return;
                       if (self->move_failed(run, ec, "record_step")) return;
                       next();
                     });
}

void Worker::Impl::finish_run(const RunPtr& run) {
  JobResult result = run->planner->result();
  nlohmann::json rj = to_json(result);
  rj["meta"] = run->job.meta.is_null() ? nlohmann::json::object() : run->job.meta;
  rj["type"] = std::string(to_string(run->job.type));
  rj["account"] = run->job.account;
  if (!run->job.user_name.empty()) rj["user_name"] = run->job.user_name;
  rj["calls"] = run->calls;
  rj["attempt"] = run->delivery;
  rj["dry_run"] = run->dry_run;
  rj["worker"] = queue->consumer();
  rj = redact(rj);  // would_call, descriptions, meta, errors: stored and printed as one
  const std::string error = result.error ? error_text(*result.error) : std::string();

  if (run->probe && run->account->breaker.state() == CircuitBreaker::State::half_open) {
    run->account->breaker.release_probe();  // ended without telling us about the keys
    arm_probe(*run->account, Clock::duration::zero());
  }
  run->phase = Run::Phase::moving;
  if (result.invalid) {
    return dead_letter(run->id, run->entry_id, &run->job, error, error), remove_run(run);
  }
  const bool ok = result.status == JobResult::Status::succeeded;
  queue->finish(run->id, run->entry_id, ok ? queue::JobStatus::succeeded : queue::JobStatus::failed,
                rj.dump(), error,
                [w = weak_from_this(), run, ok, outcome = result.outcome, error](std::error_code ec) {
                  auto self = w.lock();
                  if (!self || run->abandoned) return;
                  if (self->move_failed(run, ec, "finish")) return;
                  const auto ms_taken = std::chrono::duration_cast<milliseconds>(Clock::now() - run->started);
                  std::string extra = "calls=" + std::to_string(run->calls) +
                                      " duration_ms=" + std::to_string(ms_taken.count());
                  if (ok) {
                    extra = "outcome=" + (outcome.empty() ? std::string("done") : outcome) + " " + extra;
                  } else {
                    extra += " error=" + quote_value(error);
                  }
                  self->log_job(ok ? spdlog::level::info : spdlog::level::warn, *run,
                                ok ? "succeeded" : "failed", extra);
                  self->metrics->job_finished(to_string(run->job.type), ok ? "succeeded" : "failed");
                  self->remove_run(run);
                  self->fill();
                });
}

void Worker::Impl::fail_run(const RunPtr& run, client::IamError error) {
  const nlohmann::json rj = redact({{"status", "failed"}, {"error", error_json(error)}, {"meta", run->job.meta}});
  const std::string text = error_text(error);
  run->phase = Run::Phase::moving;
  queue->finish(run->id, run->entry_id, queue::JobStatus::failed, rj.dump(), text,
                [w = weak_from_this(), run, text](std::error_code ec) {
                  auto self = w.lock();
                  if (!self || run->abandoned) return;
                  if (self->move_failed(run, ec, "finish")) return;
                  self->log_job(spdlog::level::warn, *run, "failed", "error=" + quote_value(text));
                  self->metrics->job_finished(to_string(run->job.type), "failed");
                  self->remove_run(run);
                  self->fill();
                });
}

void Worker::Impl::dead_letter(const std::string& id, const std::string& entry_id, const Job* job,
                               const std::string& reason, const std::string& error) {
  const std::string type = job ? std::string(to_string(job->type)) : std::string("invalid");
  const std::string user = job ? job->user_name : std::string();
  ++moving;
  queue->dead_letter(id, entry_id, redact_text(reason), redact_text(error),
                     [w = weak_from_this(), id, type, user, reason](std::error_code ec) {
                       auto self = w.lock();
                       if (!self) return;
                       --self->moving;
                       if (ec) {
                         spdlog::warn("job={} dead-letter failed ({}); it will be reclaimed", id, ec.message());
                       } else {
                         spdlog::warn("job={} type={} user={} status=dead reason={}", id, type,
                                      user.empty() ? "-" : user, quote_value(redact_text(reason)));
                         self->metrics->job_finished(type, "dead");
                       }
                       if (self->stopping) return self->maybe_finish_stop();
                       self->fill();
                     });
}

void Worker::Impl::hand_back(const RunPtr& run, std::string_view reason) {
  run->phase = Run::Phase::moving;
  queue->requeue(run->id, run->entry_id,
                 [w = weak_from_this(), run, reason = std::string(reason)](std::error_code ec) {
                   auto self = w.lock();
                   if (!self || run->abandoned) return;
                   if (self->move_failed(run, ec, "requeue")) return;
                   self->log_job(spdlog::level::info, *run, "queued",
                                 "reason=" + reason + " note=\"handed back; resumes at step " +
                                     (run->call ? run->call->action : std::string("start")) + "\"");
                   self->metrics->job_handed_back(reason);
                   AccountState& acct = *run->account;
                   if (run->probe && acct.breaker.state() == CircuitBreaker::State::half_open) {
                     acct.breaker.release_probe();
                     self->arm_probe(acct, Clock::duration::zero());
                   }
                   self->remove_run(run);
                   if (self->stopping) return self->maybe_finish_stop();
                   self->fill();
                 });
}

void Worker::Impl::remove_run(const RunPtr& run) {
  auto it = runs.find(run->id);
  if (it != runs.end() && it->second == run) runs.erase(it);
  metrics->in_flight(runs.size());
  if (stopping) maybe_finish_stop();
}

bool Worker::Impl::move_failed(const RunPtr& run, std::error_code ec, std::string_view what) {
  if (!ec) return false;
  run->abandoned = true;
  run->timer.cancel();
  if (ec == queue::Errc::lost_claim) {
    log_job(spdlog::level::warn, *run, "abandoned",
            "note=\"claim lost: the entry was reclaimed by another worker\"");
  } else {
    // The entry stays pending with this consumer; without renewals it is reclaimed after the
    // visibility timeout and resumes from the last recorded checkpoint.
    log_job(spdlog::level::warn, *run, "abandoned",
            std::string("note=\"redis ") + std::string(what) + " failed: " + ec.message() +
                "; resumed after the visibility timeout\"");
  }
  if (run->probe && run->account->breaker.state() == CircuitBreaker::State::half_open) {
    run->account->breaker.release_probe();
  }
  remove_run(run);
  if (!stopping) fill();
  return true;
}

// ---------------------------------------------------------------------------------------
// Circuits

void Worker::Impl::on_credentials_error(AccountState& acct, const client::IamError& error,
                                        bool startup) {
  const auto before = acct.breaker.state();
  acct.breaker.on_credentials_error(error);
  acct.circuit_record_clear = false;
  metrics->circuit(acct.name, true);
  if (before == CircuitBreaker::State::closed) {
    spdlog::error(
        "account {}: credentials rejected ({}); circuit open: its jobs stay queued, untouched; "
        "next probe in {}",
        acct.name, error_text(error), config::format_duration(cfg.circuit_probe_interval));
    write_circuit(acct);
  } else if (before == CircuitBreaker::State::half_open) {
    spdlog::warn("account {}: probe failed ({}); circuit stays open, next probe in {}", acct.name,
                 error_text(error), config::format_duration(cfg.circuit_probe_interval));
    write_circuit(acct);
  }
  arm_probe(acct, acct.breaker.retry_in());
  if (opts.drain && !stopping && !startup) {
    spdlog::error("--drain: stopping because account {} cannot authenticate; its jobs stay queued",
                  acct.name);
    begin_stop(exit_circuit_open, "circuit open while draining");
  }
}

void Worker::Impl::on_account_answer(AccountState& acct) {
  const auto before = acct.breaker.state();
  acct.breaker.on_success();
  if (before == CircuitBreaker::State::closed) {
    if (!acct.circuit_record_clear) {
      acct.circuit_record_clear = true;
      write_circuit(acct);  // closed: removes a stale record of an earlier worker
    }
    return;
  }
  acct.circuit_record_clear = true;
  spdlog::info("account {}: credentials accepted again; circuit closed, {} parked jobs resume",
               acct.name, acct.parked.size());
  acct.probe_timer.cancel();
  metrics->circuit(acct.name, false);
  write_circuit(acct);
  parked_total -= acct.parked.size();
  for (auto& p : acct.parked) ready.push_back(std::move(p));
  acct.parked.clear();
  if (!stopping) fill();
}

void Worker::Impl::write_circuit(const AccountState& acct) {
  const auto st = acct.breaker.state();
  const std::string error = acct.breaker.last_error() && st != CircuitBreaker::State::closed
                                ? error_text(*acct.breaker.last_error())
                                : std::string();
  queue->set_circuit(acct.name, std::string(to_string(st)), error, [name = acct.name](std::error_code ec) {
    if (ec) spdlog::warn("account {}: could not record the circuit state in Redis: {}", name, ec.message());
  });
}

void Worker::Impl::arm_probe(AccountState& acct, Clock::duration after) {
  if (stopping) return;
  acct.probe_timer.expires_after(after);
  acct.probe_timer.async_wait([w = weak_from_this(), name = acct.name](std::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopping) return;
    auto it = self->accounts.find(name);
    if (it != self->accounts.end()) self->try_probe(*it->second);
  });
}

void Worker::Impl::try_probe(AccountState& acct) {
  if (acct.breaker.state() != CircuitBreaker::State::open) return;
  if (acct.parked.empty()) {
    // Nothing parked: the next job read for this account becomes the probe (allow()).
    // Reading may have paused on the park limit only if something is parked, so just fill.
    fill();
    return;
  }
  if (free_slots() == 0) return arm_probe(acct, milliseconds(1000));
  if (!acct.breaker.allow()) return arm_probe(acct, acct.breaker.retry_in());
  Parked p = std::move(acct.parked.front());
  acct.parked.pop_front();
  --parked_total;
  spdlog::info("account {}: probing the credentials with job {}", acct.name, p.adopt.id);
  start_run(std::move(p.adopt), std::move(p.job), acct, true);
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

void Worker::Impl::renew() {
  std::vector<std::string> entries;
  for (const auto& [id, run] : runs) entries.push_back(run->entry_id);
  for (const auto& [name, acct] : accounts) {
    for (const auto& p : acct->parked) entries.push_back(p.adopt.entry_id);
  }
  for (const auto& p : ready) entries.push_back(p.adopt.entry_id);
  if (entries.empty()) return;
  queue->renew(entries, [w = weak_from_this()](std::error_code ec, std::vector<std::string> lost) {
    auto self = w.lock();
    if (!self) return;
    if (ec) {
      spdlog::warn("redis: renewing claims failed: {}", ec.message());
      return;
    }
    for (const auto& entry : lost) {
      std::vector<RunPtr> gone;
      for (const auto& [id, run] : self->runs) {
        if (run->entry_id == entry) gone.push_back(run);
      }
      for (auto& run : gone) {
        self->move_failed(run, queue::make_error_code(queue::Errc::lost_claim), "renew");
      }
      for (auto& [name, acct] : self->accounts) {
        auto& pk = acct->parked;
        auto it = std::remove_if(pk.begin(), pk.end(), [&](const Parked& p) { return p.adopt.entry_id == entry; });
        self->parked_total -= static_cast<std::size_t>(pk.end() - it);
        pk.erase(it, pk.end());
      }
    }
  });
}

void Worker::Impl::reclaim() {
  if (stopping || free_slots() == 0) return;
  queue->reclaim(opts.visibility_timeout, free_slots(),
                 [w = weak_from_this()](std::error_code ec, std::vector<queue::StreamEntry> entries) {
                   auto self = w.lock();
                   if (!self || ec) return;
                   for (const auto& e : entries) {
                     spdlog::info("entry={} job={} reclaimed from a consumer that stopped renewing",
                                  e.entry_id, e.id.empty() ? "-" : e.id);
                     self->start_entry(e, true);
                   }
                 });
}

void Worker::Impl::promote() {
  if (stopping) return;
  queue->promote_due(kPromoteBatch, [w = weak_from_this()](std::error_code ec, std::size_t n) {
    auto self = w.lock();
    if (!self || ec || n == 0) return;
    spdlog::debug("{} delayed jobs due: back in the stream", n);
    self->fill();
  });
}

void Worker::Impl::tick() {
  metrics->heartbeat();
  queue->stats([w = weak_from_this()](std::error_code ec, queue::QueueStats s) {
    auto self = w.lock();
    if (!self || ec) return;
    self->metrics->queue_depth("waiting", static_cast<double>(s.waiting));
    self->metrics->queue_depth("pending", static_cast<double>(s.pending));
    self->metrics->queue_depth("delayed", static_cast<double>(s.delayed));
    self->metrics->queue_depth("dead", static_cast<double>(s.dead));
  });
}

void Worker::Impl::drain_check() {
  if (stopping || !runs.empty() || adopting > 0 || parked_total > 0 || !ready.empty()) return;
  queue->drained([w = weak_from_this()](std::error_code ec, bool drained) {
    auto self = w.lock();
    if (!self || ec || !drained || self->stopping) return;
    if (!self->runs.empty() || self->adopting > 0) return;
    self->begin_stop(exit_ok, "drained: stream, delayed set and in-flight jobs are empty");
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
