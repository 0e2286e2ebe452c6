#include "worker/metrics.hpp"

#include <civetweb.h>
#include <dlfcn.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <charconv>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace iamq::worker {

namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The loop counts as stuck when it has not ticked for this long.
constexpr std::int64_t kLoopStaleMs = 10000;

// ---- /healthz on the exposer's civetweb server -------------------------------------
//
// prometheus-cpp's Exposer only serves collectables, so /healthz is answered from
// civetweb's begin_request hook, which runs on civetweb's worker threads before any
// handler. The project links civetweb only indirectly (through prometheus-cpp-pull), so
// the two civetweb functions used here are looked up at run time in the already loaded
// libcivetweb instead of being linked directly.
using GetRequestInfoFn = const mg_request_info* (*)(const mg_connection*);
using WriteFn = int (*)(mg_connection*, const void*, size_t);

struct CivetApi {
  GetRequestInfoFn get_request_info = nullptr;
  WriteFn write = nullptr;
  bool ok() const { return get_request_info != nullptr && write != nullptr; }
};

const CivetApi& civet_api() {
  static const CivetApi api = [] {
    CivetApi a;
    a.get_request_info =
        reinterpret_cast<GetRequestInfoFn>(dlsym(RTLD_DEFAULT, "mg_get_request_info"));
    a.write = reinterpret_cast<WriteFn>(dlsym(RTLD_DEFAULT, "mg_write"));
    return a;
  }();
  return api;
}

// Metrics objects by listening port, so the C hook (which gets no user pointer of ours:
// civetweb's user_data belongs to CivetServer) can find whose health to report.
std::mutex g_health_mutex;
std::map<int, const Metrics*> g_health_by_port;

// Static trampoline called by civetweb for every request (civetweb owns `conn`).
// Returns 0 to let civetweb (prometheus-cpp's handlers) serve anything but /healthz.
int on_begin_request(mg_connection* conn) noexcept {
  try {
    const CivetApi& api = civet_api();
    const mg_request_info* info = api.get_request_info(conn);
    if (info == nullptr || info->local_uri == nullptr ||
        std::strcmp(info->local_uri, "/healthz") != 0) {
      return 0;
    }
    std::pair<int, std::string> h{503, "unknown\n"};
    {
      std::lock_guard lock(g_health_mutex);
      auto it = g_health_by_port.find(info->server_port);
      if (it != g_health_by_port.end()) h = it->second->health();
    }
    std::string response =
        "HTTP/1.1 " + std::to_string(h.first) + (h.first == 200 ? " OK" : " Service Unavailable") +
        "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(h.second.size()) +
        "\r\nConnection: close\r\n\r\n" + h.second;
    api.write(conn, response.data(), response.size());
    return h.first;
  } catch (...) {
    return 0;  // never let an exception cross into C
  }
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                     0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

const std::vector<double>& wait_buckets() {
  static const std::vector<double> b{0.0001, 0.001, 0.005, 0.01, 0.05, 0.1,
                                     0.25,   0.5,   1,     2.5,  5,    10};
  return b;
}

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::optional<std::string> parse_metrics_listen(std::string_view value) {
  if (value.empty() || value == "off" || value == "none") return std::nullopt;
  std::string_view host = "127.0.0.1";
  std::string_view port = value;
  if (auto colon = value.rfind(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535 || host.empty()) {
    throw std::invalid_argument("--metrics-listen: expected HOST:PORT, PORT or off, got \"" +
                                std::string(value) + "\"");
  }
  return std::string(host) + ":" + std::to_string(p);
}

Metrics::Metrics(const std::optional<std::string>& listen)
    : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  jobs_ = &BuildCounter()
               .Name("iamq_jobs_total")
               .Help("Jobs that reached a final status, by type and status")
               .Register(*registry_);
  handed_back_ = &BuildCounter()
                      .Name("iamq_jobs_handed_back_total")
                      .Help("Jobs handed back to the queue untouched, by reason")
                      .Register(*registry_);
  calls_ = &BuildCounter()
                .Name("iamq_iam_calls_total")
                .Help("IAM calls by action and result code (OK or the IAM error code)")
                .Register(*registry_);
  webhooks_ = &BuildCounter()
                   .Name("iamq_webhook_deliveries_total")
                   .Help("Webhook delivery attempts by webhook and result (delivered, retried, failed)")
                   .Register(*registry_);
  retries_ = &BuildCounter()
                  .Name("iamq_retries_total")
                  .Help(
                      "Retries scheduled, by error class and where the wait happens (timer or "
                      "delayed set)")
                  .Register(*registry_);
  unsupported_ = &BuildCounter()
                      .Name("iamq_unsupported_calls_total")
                      .Help("Calls the endpoint does not implement (recorded unsupported), by account and action")
                      .Register(*registry_);
  limiter_rate_ = &BuildGauge()
                       .Name("iamq_limiter_rate")
                       .Help("Current adaptive rate of the account limiter, calls per second")
                       .Register(*registry_);
  limiter_wait_ = &BuildHistogram()
                       .Name("iamq_limiter_wait_seconds")
                       .Help("Time calls waited for a rate limiter token")
                       .Register(*registry_);
  in_flight_ = &BuildGauge()
                    .Name("iamq_jobs_in_flight")
                    .Help("Jobs currently held by this worker")
                    .Register(*registry_);
  queue_depth_ = &BuildGauge()
                      .Name("iamq_queue_depth")
                      .Help("Queue depth by part: stream (not yet routed), pending (running), lanes, delayed, dead")
                      .Register(*registry_);
  circuit_ =
      &BuildGauge()
           .Name("iamq_circuit_open")
           .Help("1 when the account's circuit is open (credentials failing, consumption paused)")
           .Register(*registry_);
  paused_ = &BuildGauge()
                 .Name("iamq_paused")
                 .Help("1 while iamq pause holds the account (account=\"*\": every account)")
                 .Register(*registry_);
  lane_depth_ = &BuildGauge()
                     .Name("iamq_lane_depth")
                     .Help("Jobs waiting in a lane, by account and priority")
                     .Register(*registry_);
  call_latency_ = &BuildHistogram()
                       .Name("iamq_iam_call_duration_seconds")
                       .Help("IAM call latency by action")
                       .Register(*registry_);
  in_flight_gauge_ = &in_flight_->Add({});
  last_heartbeat_ms_ = steady_ms();

  if (listen) {
    // Zero-initialised mg_callbacks with only begin_request set; CivetCallbacks adds no
    // members to mg_callbacks (its constructor just zeroes it), see CivetServer.h.
    static mg_callbacks callbacks = [] {
      mg_callbacks cb;
      std::memset(&cb, 0, sizeof cb);
      cb.begin_request = &on_begin_request;
      return cb;
    }();
    const bool with_health = civet_api().ok();
    try {
      exposer_ = std::make_unique<Exposer>(
          *listen, 2, with_health ? reinterpret_cast<const CivetCallbacks*>(&callbacks) : nullptr);
    } catch (const std::exception& e) {
      throw std::runtime_error("metrics: cannot listen on " + *listen + ": " + e.what());
    }
    exposer_->RegisterCollectable(registry_);
    auto ports = exposer_->GetListeningPorts();
    port_ = ports.empty() ? 0 : ports.front();
    std::lock_guard lock(g_health_mutex);
    g_health_by_port[port_] = this;
  }
}

Metrics::~Metrics() {
  {
    std::lock_guard lock(g_health_mutex);
    auto it = g_health_by_port.find(port_);
    if (it != g_health_by_port.end() && it->second == this) g_health_by_port.erase(it);
  }
  exposer_.reset();
}

void Metrics::job_finished(std::string_view type, std::string_view status) {
  jobs_->Add({{"type", std::string(type)}, {"status", std::string(status)}}).Increment();
}

void Metrics::job_handed_back(std::string_view reason) {
  handed_back_->Add({{"reason", std::string(reason)}}).Increment();
}

void Metrics::iam_call(std::string_view action, std::string_view code,
                       std::chrono::nanoseconds duration) {
  std::string key;
  key.reserve(action.size() + 1 + code.size());
  key.append(action).push_back('\0');
  key.append(code);
  std::lock_guard lock(cache_mutex_);
  auto it = call_series_.find(key);
  if (it == call_series_.end()) {
    PerCall s;
    s.calls = &calls_->Add({{"action", std::string(action)}, {"code", std::string(code)}});
    s.latency = &call_latency_->Add({{"action", std::string(action)}}, latency_buckets());
    it = call_series_.emplace(std::move(key), s).first;
  }
  it->second.calls->Increment();
  it->second.latency->Observe(seconds(duration));
}

void Metrics::retry(std::string_view error_class, bool delayed) {
  retries_->Add({{"class", std::string(error_class)}, {"wait", delayed ? "delayed" : "timer"}})
      .Increment();
}

void Metrics::unsupported(std::string_view account, std::string_view action) {
  unsupported_->Add({{"account", std::string(account)}, {"action", std::string(action)}}).Increment();
}

void Metrics::limiter_rate(std::string_view account, double rate) {
  std::lock_guard lock(cache_mutex_);
  auto it = rate_series_.find(std::string(account));
  if (it == rate_series_.end()) {
    it =
        rate_series_
            .emplace(std::string(account), &limiter_rate_->Add({{"account", std::string(account)}}))
            .first;
  }
  it->second->Set(rate);
}

void Metrics::limiter_wait(std::string_view account, std::string_view limiter,
                           std::chrono::nanoseconds waited) {
  std::string key;
  key.reserve(account.size() + 1 + limiter.size());
  key.append(account).push_back('\0');
  key.append(limiter);
  std::lock_guard lock(cache_mutex_);
  auto it = wait_series_.find(key);
  if (it == wait_series_.end()) {
    auto* h = &limiter_wait_->Add(
        {{"account", std::string(account)}, {"limiter", std::string(limiter)}}, wait_buckets());
    it = wait_series_.emplace(std::move(key), h).first;
  }
  it->second->Observe(seconds(waited));
}

void Metrics::in_flight(std::size_t n) {
  in_flight_gauge_->Set(static_cast<double>(n));
}

void Metrics::queue_depth(std::string_view part, double n) {
  queue_depth_->Add({{"part", std::string(part)}}).Set(n);
}

void Metrics::circuit(std::string_view account, bool open) {
  circuit_->Add({{"account", std::string(account)}}).Set(open ? 1.0 : 0.0);
}

void Metrics::paused(std::string_view scope, bool p) {
  paused_->Add({{"account", std::string(scope)}}).Set(p ? 1.0 : 0.0);
}

void Metrics::lane_depth(std::string_view account, std::string_view priority, double n) {
  lane_depth_->Add({{"account", std::string(account)}, {"priority", std::string(priority)}}).Set(n);
}

void Metrics::webhook_delivery(std::string_view webhook, std::string_view result) {
  webhooks_->Add({{"webhook", std::string(webhook)}, {"result", std::string(result)}}).Increment();
}

void Metrics::heartbeat() {
  last_heartbeat_ms_.store(steady_ms(), std::memory_order_relaxed);
}

void Metrics::redis_ok(bool ok) {
  redis_ok_.store(ok, std::memory_order_relaxed);
}

std::pair<int, std::string> Metrics::health() const {
  const std::int64_t age = steady_ms() - last_heartbeat_ms_.load(std::memory_order_relaxed);
  if (age > kLoopStaleMs) return {503, "event loop stalled for " + std::to_string(age) + " ms\n"};
  if (!redis_ok_.load(std::memory_order_relaxed)) return {503, "redis unavailable\n"};
  return {200, "ok\n"};
}

std::string Metrics::render() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry_->Collect());
}

}  // namespace iamq::worker
