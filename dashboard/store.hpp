#pragma once
/// What the dashboard reads from and does to the queue in Redis, as JSON documents — the
/// same documents the JSON API serves and the HTML pages render. Asynchronous on the
/// dashboard's io_context, bounded: a job list scans at most kMaxScan keys per page.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "queue/job_queue.hpp"
#include "queue/redis_connection.hpp"

namespace iamq::dashboard {

class EventSeries;

/// Filters of the jobs page (query parameters of /jobs and /api/jobs).
struct JobFilter {
  std::string status, account, type, priority;
  std::string q;       ///< a job id (exact) or a user name (substring)
  std::string cursor;  ///< SCAN cursor of the next page ("" or "0": the first page)
  std::size_t limit = 50;
};

/// The result of an action: an HTTP status and a message for the operator.
struct ActionResult {
  int status = 200;  ///< 200 done, 404 unknown job, 409 not possible in this state, 501, 502
  std::string message;
};

class Store {
 public:
  static constexpr std::size_t kMaxScan = 5000;  ///< keys looked at per jobs page
  static constexpr std::size_t kMaxLimit = 200;  ///< jobs per page at most
  static constexpr std::size_t kMaxSteps = 2000;  ///< step log entries shown per job

  template <class T>
  using Callback = std::function<void(std::error_code, T)>;

  Store(queue::RedisConnection& conn, queue::JobQueue& queue, const config::Config& cfg,
        const EventSeries& series);

  /// counts, queue depths, accounts (rate vs limit, circuit, paused, lane depth),
  /// consumers, the last hour's series, recent events.
  void overview(Callback<nlohmann::json> done);
  /// {"jobs": [...], "next_cursor": "…"|null, "scanned": N, "filter": {...}}
  void jobs(const JobFilter& f, Callback<nlohmann::json> done);
  /// The record (JSON fields parsed), its steps, and its fan-out children; null if none.
  void job(const std::string& id, Callback<nlohmann::json> done);
  /// {"dead": [{id, reason, error, attempts, at, dead_entry, type, account, user_name}], "total": N}
  void dead(std::size_t limit, Callback<nlohmann::json> done);
  /// Counts and queue depths only (for the live updates).
  void counts(Callback<nlohmann::json> done);

  // ---- actions ----
  void retry_job(const std::string& id, std::function<void(ActionResult)> done);
  void cancel_job(const std::string& id, std::function<void(ActionResult)> done);
  void pause_account(const std::string& account, bool pause, std::function<void(ActionResult)> done);
  void retry_dead(const std::string& id, std::function<void(ActionResult)> done);
  void retry_all_dead(std::function<void(ActionResult)> done);
  void purge_dead(std::optional<std::chrono::milliseconds> older_than,
                  std::function<void(ActionResult)> done);

  /// The stats document (counts + queue) from QueueStats.
  static nlohmann::json stats_json(const queue::QueueStats& s);
  /// A record hash as JSON: job/result/checkpoint parsed, everything else as strings.
  static nlohmann::json record_json(const std::map<std::string, std::string>& fields);

 private:
  void scan_page(std::shared_ptr<struct ScanState> st);

  queue::RedisConnection& conn_;
  queue::JobQueue& queue_;
  const config::Config& cfg_;
  const EventSeries& series_;
};

}  // namespace iamq::dashboard
