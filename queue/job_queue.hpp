#pragma once
/// The durable job queue in Redis. Every state move is one Lua script (atomic together with
/// its XACK/XDEL and its event), so a crash between "recorded" and "acknowledged" can
/// neither lose a job nor record it twice.
///
/// Keys (all under `<ns>:`, default ns `iamq`; single Redis instance, not Cluster):
///   <ns>:jobs             stream, consumer group `workers`; entry fields `id`, `job` (JSON).
///                         Entries are XDELeted once acknowledged, so XLEN = waiting + in flight.
///   <ns>:job:<id>         hash: the job's record (status, attempts, job, entry, checkpoint …)
///   <ns>:job:<id>:steps   list: the step log, one JSON object per recorded step
///   <ns>:delayed          zset: job ids waiting for a later attempt, score = due time (ms)
///   <ns>:dead             stream: dead letters (id, job, reason, error, attempts, entry)
///   <ns>:events           stream capped with MAXLEN ~: one entry per state change
///   <ns>:counts           hash: status -> number of jobs (terminal ones: running totals)
///   <ns>:circuit:<acct>   hash: state, error, since (ms) — an account's open circuit
///   <ns>:circuits         set: accounts that have a circuit hash
/// Times are Redis server time in milliseconds since the epoch (TIME inside the scripts).
///
/// Fencing: every move of an in-flight job names the stream entry it came from and checks that
/// this consumer still owns it (XPENDING); if the entry was reclaimed by another worker the move
/// fails with Errc::lost_claim and changes nothing — the job must then be abandoned.
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
  static constexpr const char* group = "workers";
};

/// Job status values, as stored in the record's `status` field.
enum class JobStatus { queued, running, retry_scheduled, succeeded, failed, dead };
std::string_view to_string(JobStatus s);
std::optional<JobStatus> job_status_from_string(std::string_view s);

/// One entry read (or reclaimed) from <ns>:jobs.
struct StreamEntry {
  std::string entry_id;  ///< e.g. "1700000000000-0"
  std::string job_json;  ///< field `job`
  std::string id;        ///< field `id` when present (iamq enqueue, promotions, requeues)
};

/// A validated job, as the queue needs it. Produced by a JobValidator.
struct JobSummary {
  std::string id;
  std::string type;  ///< offboard_user, deactivate_mfa, delete_user, iam_calls
  std::string account;
  std::string user_name;       ///< empty for iam_calls
  int max_attempts = 0;        ///< 0: the worker's default
  std::string canonical_json;  ///< what is stored in the record and handed to the worker
};

/// Validates one job's JSON text. `default_id` is the id to use when the JSON has none
/// (adopt passes "x-<entry id>" for plain XADDs without an id). Returns the summary or the
/// validation message (`user_name "bad name" does not match [\w+=,.@-]+`).
/// The worker's implementation is iamq::worker::job_validator() (worker/job.hpp).
using JobValidator = std::function<std::variant<JobSummary, std::string>(
    std::string_view json_text, std::string_view default_id)>;

/// What adopt() decided about an entry.
struct AdoptResult {
  enum class Outcome {
    run,        ///< this consumer owns the job now: run it (resume from `checkpoint` if set)
    duplicate,  ///< another entry already carries this id: acked + event, do nothing
    invalid,    ///< failed validation: dead-lettered with `error`, acked, do nothing
    finished,   ///< the record is already terminal (stale entry): acked, do nothing
  };
  Outcome outcome = Outcome::run;
  std::string id;
  std::string entry_id;
  std::string job_json;    ///< canonical job JSON (run)
  std::string status;      ///< the record's status before adopt ("queued" for a new record)
  int attempts = 0;        ///< attempts already made (0 for a fresh job)
  std::string checkpoint;  ///< last checkpoint JSON given to record_step ("" if none)
  std::string error;       ///< invalid: the validation message
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
    JobValidator validator;           ///< required by adopt()
    /// How adopt() stores the text of an invalid entry (record, dead letter): the worker
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
  /// XREADGROUP up to `max` new entries, blocking up to `block` (0: do not block).
  /// Recreates the group if it vanished (NOGROUP). Returns an empty vector on timeout.
  void read(std::size_t max, std::chrono::milliseconds block,
            std::function<void(std::error_code, std::vector<StreamEntry>)> done);
  /// Takes an entry (read or reclaimed): validates it, creates the record if it came from a
  /// plain XADD, detects duplicates and stale entries. See AdoptResult::Outcome.
  void adopt(const StreamEntry& entry, std::function<void(std::error_code, AdoptResult)> done);
  /// status -> running, attempts += 1; returns the attempt number now running (1-based).
  void mark_running(const std::string& id, const std::string& entry_id,
                    std::function<void(std::error_code, int attempt)> done);
  /// Appends `step_json` to the step log and stores `checkpoint_json` (if not empty) as the
  /// resume point for a worker that takes the job over. Steps recorded in the same turn of
  /// the event loop share one script call (sent at the end of the turn); each `done` still
  /// gets its own job's answer: lost_claim, not_found, or success.
  void record_step(const std::string& id, const std::string& entry_id, const std::string& step_json,
                   const std::string& checkpoint_json, Done done);
  /// An in-process retry: status -> retry_scheduled, last_error, next_attempt_at = now+delay.
  /// The entry stays in flight (keep renewing it).
  void schedule_retry(const std::string& id, const std::string& entry_id,
                      std::chrono::milliseconds delay, const std::string& error, Done done);
  /// A long wait: the job leaves the stream (XACK+XDEL) for <ns>:delayed, due now+delay,
  /// status retry_scheduled. promote_due() brings it back.
  void schedule_delayed(const std::string& id, const std::string& entry_id,
                        std::chrono::milliseconds delay, const std::string& error, Done done);
  /// Moves up to `limit` due jobs from <ns>:delayed back into <ns>:jobs, each exactly once
  /// even when several workers call this at the same time. Returns how many moved.
  void promote_due(std::size_t limit, std::function<void(std::error_code, std::size_t)> done);
  /// Final status (succeeded or failed): stores result JSON and error, XACK+XDEL, and
  /// expires the record and step log after result_ttl.
  void finish(const std::string& id, const std::string& entry_id, JobStatus status,
              const std::string& result_json, const std::string& error, Done done);
  /// Dead letter: XADD <ns>:dead (job, reason, error), status dead, XACK+XDEL.
  void dead_letter(const std::string& id, const std::string& entry_id, const std::string& reason,
                   const std::string& error, Done done);
  /// Shutdown hand-back: the job goes back to the stream as a new entry (XACK+XDEL of the old
  /// one) with its record and checkpoint kept, status queued, so the next worker resumes it
  /// at once instead of after the visibility timeout.
  void requeue(const std::string& id, const std::string& entry_id, Done done);
  /// Resets the idle time of in-flight entries this consumer still owns (XCLAIM … JUSTID).
  /// Returns the entries it no longer owns (reclaimed elsewhere: abandon those jobs).
  void renew(const std::vector<std::string>& entry_ids,
             std::function<void(std::error_code, std::vector<std::string> lost)> done);
  /// XAUTOCLAIM: takes up to `count` entries idle for at least `min_idle` (consumers that
  /// stopped renewing). Pass each to adopt(); it resumes from the last checkpoint.
  void reclaim(std::chrono::milliseconds min_idle, std::size_t count,
               std::function<void(std::error_code, std::vector<StreamEntry>)> done);
  /// Opens ("open"/"half_open") or clears ("closed") an account's circuit (for iamq stats).
  void set_circuit(const std::string& account, const std::string& state, const std::string& error,
                   Done done);
  /// True when nothing is waiting, in flight or delayed (XLEN jobs == 0, ZCARD delayed == 0).
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
  /// Deletes dead letters older than `older_than` (all if nullopt); returns how many.
  void dlq_purge(std::optional<std::chrono::milliseconds> older_than,
                 std::function<void(std::error_code, std::size_t)> done);

 private:
  void eval(std::string_view script, std::vector<std::string> keys, std::vector<std::string> args,
            RedisConnection::Completion done);
  void flush_steps();

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
