#pragma once
/// The durable job queue in Redis. Every state move is one Lua script (atomic together with
/// its XACK/XDEL and its event), so a crash between "recorded" and "acknowledged" can
/// neither lose a job nor record it twice.
///
/// Keys (all under `<ns>:`, default ns `iamq`; single Redis instance, not Cluster):
///   <ns>:jobs             stream: the intake (producers' entries, fields `job` and maybe `id`,
///                         read without the group and routed into lanes) and the claims of
///                         started jobs (fields `id`, `claim`), pending in consumer group
///                         `workers` for the worker running the job. Entries are XDELeted once
///                         routed or finished, so XLEN = not yet routed + in flight.
///   <ns>:lane:<acct>:<p>  list of job ids waiting to start, per account and priority
///                         (urgent, normal, bulk), FIFO
///   <ns>:lanes            set of lane keys; <ns>:starts hash: starts per account (bulk share)
///   <ns>:paused           hash: `*` (every account) or an account -> {"since","reason"}
///   <ns>:job:<id>         hash: the job's record (status, attempts, job, entry, checkpoint …)
///   <ns>:job:<id>:steps   list: the step log, one JSON object per recorded step
///   <ns>:delayed          zset: job ids waiting for a later attempt or their not_before,
///                         score = due time (ms)
///   <ns>:dead             stream: dead letters (id, job, reason, error, attempts, entry)
///   <ns>:events           stream capped with MAXLEN ~: one entry per state change
///   <ns>:counts           hash: status -> number of jobs (terminal ones: running totals)
///   <ns>:circuit:<acct>   hash: state, error, since (ms) — an account's open circuit
///   <ns>:circuits         set: accounts that have a circuit hash
/// Times are Redis server time in milliseconds since the epoch (TIME inside the scripts).
///
/// Fencing: every move of an in-flight job names its claim entry and checks that this consumer
/// still owns it (XPENDING); if the entry was taken back (its worker stopped renewing) the move
/// fails with Errc::lost_claim and changes nothing — the job must then be abandoned.
///
/// A job's record field `where` says where it waits: intake | lane | scheduled (not_before) |
/// delayed (backoff) | claimed | done. Delivery counts: `deliveries` (starts), `reclaims`
/// (taken back after its worker stopped renewing), `resumes` (back from the delayed set),
/// `handbacks` (shutdown, pause, open circuit); `attempts` = deliveries (kept for old readers).
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "queue/redis_connection.hpp"

namespace iamq::queue {

/// Key names under a namespace.
struct Keys {
  explicit Keys(std::string ns_) : ns(std::move(ns_)) {}
  std::string ns;
  std::string jobs() const { return ns + ":jobs"; }
  std::string job(std::string_view id) const { return ns + ":job:" + std::string(id); }
  std::string steps(std::string_view id) const { return job(id) + ":steps"; }
  std::string delayed() const { return ns + ":delayed"; }
  std::string dead() const { return ns + ":dead"; }
  std::string events() const { return ns + ":events"; }
  std::string counts() const { return ns + ":counts"; }
  std::string circuit(std::string_view account) const {
    return ns + ":circuit:" + std::string(account);
  }
  std::string circuits() const { return ns + ":circuits"; }
  std::string lane(std::string_view account, std::string_view priority) const {
    return ns + ":lane:" + std::string(account) + ":" + std::string(priority);
  }
  std::string lanes() const { return ns + ":lanes"; }
  std::string paused() const { return ns + ":paused"; }
  static constexpr const char* group = "workers";
};

/// Job status values, as stored in the record's `status` field.
enum class JobStatus { queued, running, retry_scheduled, succeeded, failed, dead, cancelled };
/// Every status, in display order.
inline constexpr JobStatus kAllStatuses[] = {
    JobStatus::queued, JobStatus::running, JobStatus::retry_scheduled, JobStatus::succeeded,
    JobStatus::failed, JobStatus::dead, JobStatus::cancelled};
std::string_view to_string(JobStatus s);
std::optional<JobStatus> job_status_from_string(std::string_view s);

/// One entry read (or reclaimed) from <ns>:jobs.
struct StreamEntry {
  std::string entry_id;  ///< e.g. "1700000000000-0"
  std::string job_json;  ///< field `job`
  std::string id;        ///< field `id` when present (iamq enqueue, dlq retry, claims)
  bool claim = false;    ///< a claim entry of a started job (never routed)
};

/// A validated job, as the queue needs it. Produced by a JobValidator.
struct JobSummary {
  std::string id;
  std::string type;  ///< offboard_user, deactivate_mfa, delete_user, iam_calls
  std::string account;
  std::string user_name;       ///< empty for iam_calls
  int max_attempts = 0;        ///< 0: the worker's default
  std::string canonical_json;  ///< what is stored in the record and handed to the worker
  std::string priority = "normal";  ///< urgent | normal | bulk
  long long not_before_ms = 0;      ///< 0: none; else ms since the epoch (UTC)
  /// A fan-out parent (`accounts`): it is never run; route() creates its `children` (filled
  /// by the worker's validator, which knows the configured accounts).
  bool parent = false;
  std::vector<JobSummary> children;
};

/// Validates one job's JSON text. `default_id` is the id to use when the JSON has none
/// (adopt passes "x-<entry id>" for plain XADDs without an id). Returns the summary or the
/// validation message (`user_name "bad name" does not match [\w+=,.@-]+`).
/// The worker's implementation is iamq::worker::job_validator() (worker/job_validator.hpp).
using JobValidator = std::function<std::variant<JobSummary, std::string>(
    std::string_view json_text, std::string_view default_id)>;

/// What route() did with one intake entry.
struct RouteResult {
  enum class Outcome {
    routed,     ///< into its lane
    scheduled,  ///< into the delayed set until its not_before
    duplicate,  ///< another entry already carries this id: dropped + event
    finished,   ///< the record is terminal (stale entry, cancelled before routing): dropped
    dead,       ///< invalid or refused (unknown account): dead-lettered with `error`
    gone,       ///< already routed by another worker (or a claim entry): nothing done
  };
  Outcome outcome = Outcome::gone;
  std::string id;
  std::string entry_id;
  std::string error;    ///< dead: the reason
  std::string account;  ///< routed: the lane's account ("" for a fan-out parent or not known)
};

/// A job this consumer started (claim()): its claim entry is pending for this consumer.
struct Claim {
  std::string id;
  std::string entry_id;    ///< the claim entry (the fence for every later move)
  std::string job_json;    ///< canonical job JSON
  std::string status;      ///< the record's status before the claim ("queued" for a new job)
  int attempts = 0;        ///< this delivery's number (1-based; = deliveries)
  std::string checkpoint;  ///< last checkpoint JSON ("" if none)
  int reclaims = 0;
  int resumes = 0;
  int handbacks = 0;
  std::string priority;
  std::string account;     ///< the lane it came from
};

/// What one claim brought.
struct ClaimResult {
  std::vector<Claim> started;
  /// Granted accounts whose lanes were all empty (they left <ns>:ready).
  std::vector<std::string> empty;
};

/// One account the worker can start jobs for now, and how many at most.
struct LaneGrant {
  std::string account;
  std::size_t max = 1;
};

/// What the lease keeper's tick did.
struct LeaseResult {
  std::vector<std::string> lost;  ///< our entries we no longer own: abandon those jobs
  std::size_t reclaimed = 0;      ///< entries of stopped workers put back into their lanes
  std::size_t dead = 0;           ///< of which dead-lettered (past max_reclaims)
  std::vector<std::string> cancel;  ///< our entries whose job iamq cancel asked to stop
};

/// What cancel() did.
enum class CancelOutcome {
  cancelled,  ///< it was waiting: now cancelled, no IAM call made
  requested,  ///< it runs: its worker stops it before its next call
  final,      ///< already finished (status in `status`)
};

/// Result of enqueueing one job.
struct EnqueueResult {
  std::string id;
  bool created = false;  ///< false: a job with this id existed; nothing was added
  std::string entry_id;  ///< created: the stream entry
  std::string status;    ///< !created: the existing job's status
};

/// A job's record and step log (iamq status).
struct JobRecord {
  std::map<std::string, std::string> fields;  ///< the hash <ns>:job:<id>
  std::vector<std::string> steps;             ///< step log entries (JSON text), oldest first
  std::map<std::string, std::string> children;  ///< a fan-out parent's: child id -> status
};

struct ConsumerInfo {
  std::string name;
  long long pending = 0;
  long long idle_ms = 0;
};

struct CircuitInfo {
  std::string account;
  std::string state;  ///< "open", "half_open"
  std::string error;
  long long since_ms = 0;
};

/// A point-in-time view of the queue (iamq stats / watch).
struct QueueStats {
  long long now_ms = 0;                     ///< Redis server time
  std::map<std::string, long long> counts;  ///< status -> jobs (every status present)
  long long stream_length = 0;              ///< entries in <ns>:jobs (waiting + in flight)
  long long pending = 0;                    ///< delivered, not yet acknowledged (in flight)
  long long waiting = 0;                    ///< not yet delivered to any worker
  long long delayed = 0;                    ///< in <ns>:delayed
  long long delayed_due = 0;                ///< of which due now
  long long dead = 0;                       ///< entries in <ns>:dead
  long long oldest_waiting_age_ms = -1;     ///< age of the oldest undelivered entry; -1: none
  std::vector<ConsumerInfo> consumers;
  std::vector<CircuitInfo> circuits;
  std::map<std::string, long long> lanes;  ///< "<account>:<priority>" -> jobs waiting (non-empty)
  long long in_lanes = 0;                  ///< jobs waiting in lanes, all accounts
  std::map<std::string, std::string> paused;  ///< "*" or account -> JSON {"since","reason"}
};

/// host:pid:start-time-ms, unique per worker process.
std::string make_consumer_name();

class JobQueue {
 public:
  struct Options {
    std::string ns = "iamq";
    std::string consumer;  ///< empty: make_consumer_name()
    std::chrono::seconds result_ttl{std::chrono::hours(24 * 30)};
    long events_maxlen = 100000;
    std::size_t enqueue_batch = 200;  ///< jobs per enqueue script call (calls are pipelined)
    JobValidator validator;           ///< required by route()
    /// route(): accounts jobs may name (others are dead-lettered); empty: every account.
    std::function<bool(std::string_view)> known_account;
    int max_reclaims = 5;  ///< lease(): reclaims of a job before it is dead-lettered (0: no limit)
    int bulk_share = 10;   ///< claim(): every Nth start of an account takes bulk first (0: never)
        /// How route() stores the text of an invalid entry (record, dead letter): the worker
    /// redacts it and keeps a bounded prefix. Empty: at most max_entry_bytes, as received.
    std::function<std::string(std::string_view)> store_invalid;
    /// Entries larger than this are refused before any parse or copy (the job limit).
    std::size_t max_entry_bytes = 64 * 1024;
  };

  using Done = std::function<void(std::error_code)>;

  /// `conn` carries every command; `blocking` carries only read() (XREADGROUP BLOCK).
  /// Both must outlive the queue. They may be the same connection when read() is not used.
  JobQueue(RedisConnection& conn, RedisConnection& blocking, Options opts);

  const Keys& keys() const { return keys_; }
  const std::string& consumer() const { return opts_.consumer; }
  const Options& options() const { return opts_; }

  // ---- consuming (the worker) ----

  /// Creates the consumer group `workers` on <ns>:jobs (MKSTREAM); fine if it exists.
  void ensure_group(Done done);
  /// Reads up to `max` intake entries after `cursor` ("0-0" at first) with one script (no
  /// group: reading takes no ownership, so a worker that stops reading holds nothing). Entries
  /// whose job is larger than Options::max_entry_bytes are dead-lettered inside Redis, without
  /// their text, and never sent here (`refused` counts them); claims of started jobs are
  /// skipped. `next` is the cursor to read from next (past refused and skipped entries).
  /// Does not block: with nothing new, `entries` is empty and `next` == `cursor`.
  struct IntakeRead {
    std::vector<StreamEntry> entries;
    std::string next;
    std::size_t refused = 0;
  };
  void read_intake(const std::string& cursor, std::size_t max,
                   std::function<void(std::error_code, IntakeRead)> done);
  /// Validates intake entries (Options::validator, Options::known_account) and routes them
  /// in one script: lane, delayed set (not_before), or dead letters. Results in input order.
  void route(const std::vector<StreamEntry>& entries,
             std::function<void(std::error_code, std::vector<RouteResult>)> done);
  /// Starts up to `max` jobs from the lanes of `grants` (round-robin in that order; priority
  /// order and the bulk share within an account; paused accounts are skipped): each gets a
  /// claim entry pending for this consumer, status running, deliveries + 1.
  void start_jobs(const std::vector<LaneGrant>& grants, std::size_t max,
                  std::function<void(std::error_code, ClaimResult)> done);
  /// start_jobs() without the empty accounts.
  void claim(const std::vector<LaneGrant>& grants, std::size_t max,
             std::function<void(std::error_code, std::vector<Claim>)> done);
  /// The accounts whose lanes may hold jobs (<ns>:ready, a superset). `rebuild` first adds
  /// the account of every non-empty lane (at start: lanes written by an older version).
  void ready_accounts(bool rebuild, std::function<void(std::error_code, std::vector<std::string>)> done);
  /// Appends `step_json` to the step log and stores `checkpoint_json` (if not empty) as the
  /// resume point for a worker that takes the job over. Steps recorded in the same turn of
  /// the event loop share one script call (sent at the end of the turn); each `done` still
  /// gets its own job's answer: lost_claim, not_found, success, or — the step recorded —
  /// cancel_requested (stop the job) or paused (hand it back).
  void record_step(const std::string& id, const std::string& entry_id, const std::string& step_json,
                   const std::string& checkpoint_json, Done done);
  /// An in-process retry: status -> retry_scheduled, last_error, next_attempt_at = now+delay.
  /// The entry stays in flight (keep renewing it).
  void schedule_retry(const std::string& id, const std::string& entry_id,
                      std::chrono::milliseconds delay, const std::string& error, Done done);
  /// The in-process retry's wait is over: status -> running. cancel_requested / paused /
  /// lost_claim tell the worker not to make the call.
  void wake(const std::string& id, const std::string& entry_id, Done done);
  /// A long wait: the job leaves its claim (XACK+XDEL) for <ns>:delayed, due now+delay,
  /// status retry_scheduled. promote_due() brings it back.
  void schedule_delayed(const std::string& id, const std::string& entry_id,
                        std::chrono::milliseconds delay, const std::string& error, Done done);
  /// Moves up to `limit` due jobs from <ns>:delayed into their lanes, each exactly once
  /// even when several workers call this at the same time. Returns how many moved.
  void promote_due(std::size_t limit, std::function<void(std::error_code, std::size_t)> done);
  /// Final status (succeeded, failed or cancelled): stores result JSON and error, XACK+XDEL,
  /// and expires the record and step log after result_ttl. `checkpoint_json` (if not empty)
  /// replaces the stored checkpoint: where `iamq retry` resumes a failed job.
  void finish(const std::string& id, const std::string& entry_id, JobStatus status,
              const std::string& result_json, const std::string& error, Done done,
              const std::string& checkpoint_json = {});
  /// Dead letter: XADD <ns>:dead (job, reason, error), status dead, XACK+XDEL.
  void dead_letter(const std::string& id, const std::string& entry_id, const std::string& reason,
                   const std::string& error, Done done);
  /// Hand-back: the job goes to the front of its lane (XACK+XDEL of its claim) with its record
  /// and checkpoint kept, status queued, handbacks + 1.
  void requeue(const std::string& id, const std::string& entry_id, Done done,
               const std::string& reason = "handback");
  /// The lease keeper's tick: renews `live` (our claims), then takes back up to `count`
  /// claims idle for at least `min_idle` (their worker stopped renewing) into their lanes.
  void lease(const std::vector<std::string>& live, std::chrono::milliseconds min_idle,
             std::size_t count, std::function<void(std::error_code, LeaseResult)> done);
  /// Opens ("open"/"half_open") or clears ("closed") an account's circuit (for iamq stats).
  void set_circuit(const std::string& account, const std::string& state, const std::string& error,
                   Done done);
  /// True when nothing is waiting (intake, lanes), in flight or delayed.
  void drained(std::function<void(std::error_code, bool)> done);

  // ---- producing and inspecting (iamq enqueue / status / stats / dlq) ----

  /// Enqueues validated jobs, idempotent by id (atomic even when clients race), pipelined in
  /// batches of Options::enqueue_batch. Results are in input order.
  void enqueue(std::vector<JobSummary> jobs,
               std::function<void(std::error_code, std::vector<EnqueueResult>)> done);
  /// The record and step log of one job; nullopt if there is no such job.
  void get_job(const std::string& id,
               std::function<void(std::error_code, std::optional<JobRecord>)> done);
  void stats(std::function<void(std::error_code, QueueStats)> done);
  /// Dead letters, newest first: each entry's fields plus `dead_entry` (its stream id).
  void dlq_list(
      std::size_t limit,
      std::function<void(std::error_code, std::vector<std::map<std::string, std::string>>)> done);
  /// Puts dead-lettered job `id` back into the stream (attempts reset). Errc::not_found if
  /// it is not in the dead-letter stream.
  void dlq_retry(const std::string& id, Done done);
  /// Retries every dead letter whose job is valid; returns {retried, skipped_invalid}.
  void dlq_retry_all(std::function<void(std::error_code, std::size_t, std::size_t)> done);
  /// iamq pause / resume: `account` empty = every account.
  void pause(const std::string& account, const std::string& reason,
             std::function<void(std::error_code, bool changed)> done);
  void resume(const std::string& account, std::function<void(std::error_code, bool changed)> done);
  /// iamq cancel (see CancelOutcome). not_found if there is no such job; `status` is the
  /// final status when the outcome is `final`.
  void cancel(const std::string& id, const std::string& reason,
              std::function<void(std::error_code, CancelOutcome, std::string status)> done);
  /// iamq retry: a failed or dead job back into its lane, resuming at its checkpoint with
  /// fresh budgets. not_found; refused (with `why`: its status, or "invalid").
  void retry(const std::string& id, std::function<void(std::error_code, std::string why)> done);
  /// Deletes dead letters older than `older_than` (all if nullopt); returns how many.
  void dlq_purge(std::optional<std::chrono::milliseconds> older_than,
                 std::function<void(std::error_code, std::size_t)> done);

 private:
  void eval(std::string_view script, std::vector<std::string> keys, std::vector<std::string> args,
            RedisConnection::Completion done);
  void flush_steps();
  /// dlq_retry of one id, one bounded batch of the dead-letter scan per call from `cursor`.
  void dlq_retry_from(const std::string& id, const std::string& cursor, Done done);
  struct CancelWalk;
  void cancel_children(std::vector<std::string> kids, const std::string& reason,
                       std::function<void(std::error_code, CancelOutcome, std::string)> done);
  void cancel_next(std::shared_ptr<CancelWalk> st);

  /// record_step() calls waiting for the end of the current event-loop turn.
  struct PendingStep {
    std::string id;
    std::string entry_id;
    std::string step;
    std::string checkpoint;
    Done done;
  };
  struct StepBatch {
    std::vector<PendingStep> pending;
    bool flush_posted = false;
  };
  static constexpr std::size_t kMaxStepsPerCall = 128;
  // Shared with the posted flush (it holds a weak reference): a flush that runs after the
  // queue is gone does nothing.
  std::shared_ptr<StepBatch> steps_ = std::make_shared<StepBatch>();

  RedisConnection& conn_;
  RedisConnection& blocking_;
  Options opts_;
  Keys keys_;
  std::string reclaim_cursor_ = "0-0";
};

}  // namespace iamq::queue
