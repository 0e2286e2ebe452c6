#pragma once
/// The worker's shell (internal to worker/): the state shared by worker.cpp (life cycle,
/// periodic work: the lease keeper's tick, stats, drain), worker_intake.cpp (intake routing,
/// starting jobs from lanes) and worker_run.cpp (carrying out one job's run). What to do is
/// decided by the sans-io parts: account_gate, job_run, lease_keeper.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "client/curl_multi_transport.hpp"
#include "client/iam_client.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"
#include "worker/account_credentials.hpp"
#include "worker/account_gate.hpp"
#include "worker/fleet_limiter.hpp"
#include "worker/job.hpp"
#include "worker/job_run.hpp"
#include "worker/lease_keeper.hpp"
#include "worker/metrics.hpp"
#include "worker/organization_accounts.hpp"
#include "worker/planner.hpp"
#include "worker/retry_policy.hpp"
#include "worker/unsupported_detector.hpp"
#include "worker/webhook_dispatcher.hpp"
#include "worker/worker.hpp"

namespace iamq::worker {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct Run;

/// Everything kept per named account.
struct AccountState {
  AccountState(asio::io_context& ioc, std::string n, RateLimiter::Options lim,
               milliseconds probe_interval)
      : name(n), gate(std::move(n), lim, probe_interval), probe_timer(ioc), send_timer(ioc) {}
  std::string name;
  std::unique_ptr<client::IamClient> client;
  AccountGate gate;
  asio::steady_timer probe_timer;
  /// Jobs whose next call waits for a token of the limiter, first come first served.
  std::deque<std::shared_ptr<Run>> waiting;
  asio::steady_timer send_timer;  ///< wakes dispatch() when the next token is due
  bool send_timer_armed = false;
  /// The account's circuit record in Redis is known to be clear (this process wrote it, or
  /// the keys answered since start). A record left "open" by an earlier worker is cleared on
  /// the first answer, or `iamq stats` would show an open circuit for working keys forever.
  bool circuit_record_clear = false;
  std::optional<client::IamError> startup_error;  ///< credentials could not be loaded
  /// Which List* actions this account's endpoint does not implement (issue 14).
  UnsupportedDetector unsupported;
  /// Found through [organization] and no longer listed there: no new job is routed to it
  /// (fan-outs leave it out, a job naming it is dead-lettered); what is in its lane still runs.
  bool retired = false;
  bool discovered = false;  ///< came from [organization], not from [accounts.X]
  /// A claim found its lanes empty: fill() asks for none of its jobs until something says a
  /// job is there again (this worker routed or handed one back, or <ns>:ready lists it).
  bool lanes_empty = false;
  /// Its jobs running here, counted by fill() (valid while busy_gen is fill()'s generation).
  std::size_t busy = 0;
  std::uint64_t busy_gen = 0;
};

/// One job being carried out: its run (sans-io, worker/job_run.hpp) and what the shell
/// keeps beside it to carry the run's actions out.
struct Run {
  explicit Run(asio::io_context& ioc) : timer(ioc) {}

  std::string id;
  std::string entry_id;  ///< the claim entry: the fence of every move
  AccountState* account = nullptr;
  std::unique_ptr<JobRun> fsm;
  /// deactivate_root_mfa: the IAM client of this job alone, signed with its AssumeRoot
  /// session (worker/root_session_provider.hpp); null for every other job.
  std::unique_ptr<client::IamClient> root_client;
  std::string root_error;  ///< why root_client could not be made (redacted)
  asio::steady_timer timer;     ///< fleet limiter wait and in-process retry wait
  Clock::time_point queued_at;  ///< when it joined its account's line for a token
  /// When its last token was granted (until its next request for one or its end: the
  /// gate's time per call).
  std::optional<Clock::time_point> granted_at;
  bool probe = false;           ///< the half-open circuit's probe job
  Clock::time_point started = Clock::now();

  const Job& job() const { return fsm->job(); }
  /// Still waiting for the limiters (a wait that ends otherwise is ignored).
  bool acquiring() const { return fsm->state() == JobRun::State::acquiring; }
};
using RunPtr = std::shared_ptr<Run>;

struct Worker::Impl : std::enable_shared_from_this<Worker::Impl> {
  Impl(asio::io_context& ioc_, config::Config cfg_, WorkerOptions opts_);

  // ---- life cycle (worker.cpp)
  void start();
  void on_group(std::error_code ec);
  void begin_stop(int status, std::string_view why);
  void maybe_finish_stop();
  void finalize();

  // ---- intake: routing <ns>:jobs into lanes (worker_intake.cpp)
  void read_intake();
  void on_intake(std::error_code ec, queue::JobQueue::IntakeRead read);
  void route(std::vector<queue::StreamEntry> entries, std::string next);

  // ---- starting jobs from lanes (worker_intake.cpp)
  std::size_t free_slots() const;
  void fill();
  void on_claimed(std::error_code ec, queue::ClaimResult claims,
                  std::map<std::string, AccountGate::Grant> grants);
  /// Reads <ns>:ready (the accounts whose lanes may hold jobs) into each account's
  /// lanes_empty, then fills; the first successful read rebuilds the set from the lanes.
  void refresh_ready();
  /// Reports one job's time per call to its account's gate (granted_at until now).
  void end_cycle(Run& run);
  void start_claim(queue::Claim c, bool probe);

  // ---- running a job (worker_run.cpp): the shell of JobRun
  /// Feeds `e` to the run and carries out what it answers.
  void feed(const RunPtr& run, JobRun::Event e);
  void carry_out(const RunPtr& run, JobRun::Action a);
  void acquire(const RunPtr& run);
  void enter_line(const RunPtr& run);
  void dispatch(AccountState& acct);
  void issue_call(const RunPtr& run);
  void on_call_done(const RunPtr& run, client::Outcome outcome, client::CallInfo info);
  void wait_retry(const RunPtr& run, const JobRun::Action& a);
  /// The run is over (JobRun::Op::done): log, count, free the slot.
  void on_run_over(const RunPtr& run, const JobRun::Action& a);
  /// A callback feeding `op`'s answer to `run`.
  std::function<void(std::error_code)> written(const RunPtr& run, JobRun::Op op);
  void dead_letter(const std::string& id, const std::string& entry_id, const Job* job,
                   const std::string& reason, const std::string& error);
  void remove_run(const RunPtr& run);
  void update_waiting(AccountState& acct);

  // ---- circuits (worker_run.cpp)
  /// `startup`: the credentials could not even be loaded (no job needed them yet).
  void on_credentials_error(AccountState& acct, const client::IamError& error, bool startup = false);
  void on_account_answer(AccountState& acct);
  void arm_probe(AccountState& acct, Clock::duration after);
  void write_circuit(const AccountState& acct);
  void release_probe(const RunPtr& run);

  // ---- accounts (worker.cpp)
  /// Builds the state of account `name` of cfg.accounts (limiter, IAM client, circuit).
  /// Throws config::ConfigError (bad endpoint); a CredentialsError is kept as its startup_error.
  AccountState& add_account(const std::string& name);
  /// The IAM client options of account `a` (endpoint, signing region, timeouts). Throws
  /// config::ConfigError for an endpoint that cannot be parsed.
  client::IamClientOptions iam_client_options(const config::Account& a) const;
  /// The accounts new jobs may be routed to (every one not retired).
  std::set<std::string> routable_accounts() const;
  void discover_organization();
  void on_organization(std::optional<client::IamError> err, const std::vector<client::OrgAccount>& listed);

  // ---- periodic work (worker.cpp)
  void every(asio::steady_timer& t, milliseconds period, void (Impl::*fn)());
  /// The lease keeper's tick: carries out what it says is due, then sleeps until the next.
  void keep_leases();
  void lease();
  void promote();
  void tick();
  void drain_check();
  void claim_poll();
  void apply_stats(const queue::QueueStats& s);

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
  std::unique_ptr<AccountCredentials> credentials;  // after transport: its providers use it
  LeaseKeeper keeper;
  std::unique_ptr<OrganizationAccounts> organization;  // null without [organization]
  std::map<std::string, std::string> env;  ///< the environment snapshot taken at construction
  std::shared_ptr<WebhookDispatcher> webhooks;  // null without [webhooks.*]
  std::map<std::string, std::unique_ptr<AccountState>> accounts;
  std::vector<AccountState*> account_order;  ///< round-robin order of the claims
  std::size_t rr = 0;                        ///< where the next claim's round starts
  std::uint64_t fill_gen = 0;                ///< fill()'s count, for AccountState::busy
  bool some_lanes_empty = false;  ///< some account's lanes_empty is set: claim_poll reads <ns>:ready
  bool ready_reading = false;     ///< a refresh_ready() is outstanding
  bool ready_again = false;       ///< another one was asked for meanwhile
  bool ready_rebuilt = false;     ///< <ns>:ready was rebuilt from the lanes (once per start)
  std::map<std::string, RunPtr> runs;        ///< by job id
  std::string intake_cursor = "0-0";
  std::size_t moving = 0;  ///< hand-backs and dead letters outstanding
  bool group_ready = false;
  /// The first [organization] listing has answered (or there is none): the intake is read
  /// only then, so that a fan-out to "*" sees the discovered accounts.
  bool organization_ready = true;
  bool organization_error_logged = false;
  bool reading = false;   ///< an intake read is outstanding
  bool routing = false;   ///< a route() is outstanding or waits for a retry
  bool claiming = false;  ///< a claim() is outstanding
  bool stopping = false;
  bool finalized = false;
  bool redis_error_logged = false;
  bool route_error_logged = false;
  bool claim_error_logged = false;
  std::map<std::string, bool> paused_seen;  ///< scope -> paused, as last logged
  int status = exit_ok;
  std::function<void()> on_stopped;

  asio::steady_timer read_retry_timer;
  asio::steady_timer keeper_timer;  ///< the lease keeper's next tick
  asio::steady_timer tick_timer;
  asio::steady_timer drain_timer;
  asio::steady_timer claim_timer;
  asio::steady_timer shutdown_timer;
  asio::steady_timer organization_timer;  ///< the next [organization] listing
};

/// A value for a log line: quoted, with quotes and backslashes escaped, newlines as spaces.
std::string quote_value(std::string_view s);

}  // namespace iamq::worker
