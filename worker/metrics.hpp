#pragma once
/// The worker's Prometheus metrics (prometheus-cpp registry, pull exposer on its own
/// civetweb thread) and the `/healthz` endpoint on the same listener.
///
/// Threading: every update method is called from the worker's io_context thread only.
/// prometheus-cpp's metric objects are thread-safe, so the exposer thread may read them
/// at any time; the health state is a pair of atomics.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace prometheus {
class Registry;
class Exposer;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace iamq::worker {

/// Splits a `--metrics-listen` value. "off" (or empty) → nullopt: no listener.
/// "HOST:PORT" or "PORT"; port 0 picks a free one. Throws std::invalid_argument otherwise.
std::optional<std::string> parse_metrics_listen(std::string_view value);

class Metrics {
 public:
  /// Registers every metric family. With `listen` (civetweb "host:port"), starts the
  /// exposer serving /metrics and /healthz; throws std::runtime_error if it cannot bind.
  explicit Metrics(const std::optional<std::string>& listen);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// The port the exposer listens on (0 when there is none).
  int port() const { return port_; }

  /// A job reached a final status (succeeded, failed, dead) or was handed back.
  void job_finished(std::string_view type, std::string_view status);
  /// A job was handed back to the queue untouched (reason: circuit_open, shutdown).
  void job_handed_back(std::string_view reason);
  /// One IAM call completed: code is the IAM error code, or "OK".
  void iam_call(std::string_view action, std::string_view code, std::chrono::nanoseconds duration);
  /// A retry was scheduled for an error class (throttled, transient, …), in process or delayed.
  void retry(std::string_view error_class, bool delayed);
  /// A call the endpoint does not implement (recorded `unsupported`), by account and action.
  void unsupported(std::string_view account, std::string_view action);
  /// The account limiter's current (adaptive) rate in calls/s.
  void limiter_rate(std::string_view account, double rate);
  /// Time a call waited for a limiter token (`limiter`: "account" or "fleet").
  void limiter_wait(std::string_view account, std::string_view limiter,
                    std::chrono::nanoseconds waited);
  /// Jobs currently held by this worker.
  void in_flight(std::size_t n);
  /// Queue depth by part: "stream" (not yet delivered), "pending", "delayed", "dead".
  void queue_depth(std::string_view part, double n);
  /// Circuit state of an account: true = open (consumption paused).
  void circuit(std::string_view account, bool open);
  /// Paused by iamq pause: `scope` is an account or "*" (every account).
  void paused(std::string_view scope, bool paused);
  /// Jobs waiting in one lane ("<account>:<priority>").
  void lane_depth(std::string_view account, std::string_view priority, double n);

  /// A webhook delivery attempt ended: result is delivered, retried (will try again) or failed
  /// (gave up; kept in <ns>:webhooks:failed).
  void webhook_delivery(std::string_view webhook, std::string_view result);

  /// Health as /healthz reports it: the loop is alive when heartbeat() was called within
  /// the last few seconds; Redis is OK as last reported.
  void heartbeat();
  void redis_ok(bool ok);
  /// 200 when healthy, 503 otherwise, with a short text reason.
  std::pair<int, std::string> health() const;

  /// The registry's current text exposition (what /metrics serves).
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* jobs_ = nullptr;
  prometheus::Family<prometheus::Counter>* handed_back_ = nullptr;
  prometheus::Family<prometheus::Counter>* calls_ = nullptr;
  prometheus::Family<prometheus::Counter>* retries_ = nullptr;
  prometheus::Family<prometheus::Counter>* unsupported_ = nullptr;
  prometheus::Family<prometheus::Gauge>* limiter_rate_ = nullptr;
  prometheus::Family<prometheus::Histogram>* limiter_wait_ = nullptr;
  prometheus::Family<prometheus::Gauge>* in_flight_ = nullptr;
  prometheus::Family<prometheus::Gauge>* queue_depth_ = nullptr;
  prometheus::Family<prometheus::Gauge>* circuit_ = nullptr;
  prometheus::Family<prometheus::Gauge>* paused_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lane_depth_ = nullptr;
  prometheus::Family<prometheus::Histogram>* call_latency_ = nullptr;
  prometheus::Family<prometheus::Counter>* webhooks_ = nullptr;
  prometheus::Gauge* in_flight_gauge_ = nullptr;

  // The per-call series, looked up once per label set: Family::Add hashes the label map and
  // builds a new metric (a histogram's buckets) on every call before finding the existing one.
  struct PerCall {
    prometheus::Counter* calls = nullptr;
    prometheus::Histogram* latency = nullptr;
  };
  std::mutex cache_mutex_;
  std::unordered_map<std::string, PerCall> call_series_;                 // action \0 code
  std::unordered_map<std::string, prometheus::Histogram*> wait_series_;  // account \0 limiter
  std::unordered_map<std::string, prometheus::Gauge*> rate_series_;      // account

  std::atomic<std::int64_t> last_heartbeat_ms_{0};
  std::atomic<bool> redis_ok_{false};
  // Declared last: destroyed first, so the exposer thread stops before the families go.
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

}  // namespace iamq::worker
