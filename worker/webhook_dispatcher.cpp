#include "worker/webhook_dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "worker/metrics.hpp"
#include "worker/webhook_delivery.hpp"

namespace iamq::worker {

namespace asio = boost::asio;

namespace outbox_lua {
const char* const kDone = R"lua(
redis.call('XACK', KEYS[1], 'webhooks', ARGV[1])
return redis.call('XDEL', KEYS[1], ARGV[1])
)lua";
const char* const kFail = R"lua(
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return 0 end
local f = {}
for i = 1, #e[1][2], 2 do
  local k = e[1][2][i]
  if k ~= 'delivery' then f[#f + 1] = k; f[#f + 1] = e[1][2][i + 1] end
end
local t = redis.call('TIME')
f[#f + 1] = 'last_error'; f[#f + 1] = ARGV[2]
f[#f + 1] = 'attempts'; f[#f + 1] = ARGV[3]
f[#f + 1] = 'delivery'; f[#f + 1] = ARGV[4]
f[#f + 1] = 'failed_at'; f[#f + 1] = string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '100000', '*', unpack(f))
redis.call('XACK', KEYS[1], 'webhooks', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
)lua";
const char* const kRetry = R"lua(
local list
if ARGV[1] == '' then list = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 10000)
else list = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1]) end
local n = 0
for _, e in ipairs(list) do
  local f = {}
  for i = 1, #e[2], 2 do
    local k = e[2][i]
    if k ~= 'last_error' and k ~= 'attempts' and k ~= 'failed_at' then
      f[#f + 1] = k; f[#f + 1] = e[2][i + 1]
    end
  end
  redis.call('XADD', KEYS[1], '*', unpack(f))
  redis.call('XDEL', KEYS[2], e[1])
  n = n + 1
end
return n
)lua";
}  // namespace outbox_lua

struct WebhookDispatcher::Delivery {
  std::string entry;
  std::map<std::string, std::string> fields;
  std::string id;  ///< X-Iamq-Delivery
  int attempts = 0;
  std::unique_ptr<asio::steady_timer> wait;
  bool released = false;
};

WebhookDispatcher::WebhookDispatcher(asio::io_context& ioc, queue::RedisConnection& conn,
                                     client::CurlMultiTransport& transport,
                                     std::map<std::string, config::Webhook> hooks, Metrics* metrics,
                                     Options opts)
    : ioc_(ioc),
      conn_(conn),
      transport_(transport),
      hooks_(std::move(hooks)),
      metrics_(metrics),
      opts_(std::move(opts)),
      outbox_(opts_.ns + ":outbox"),
      failed_(opts_.ns + ":webhooks:failed"),
      poll_timer_(ioc),
      reclaim_timer_(ioc),
      renew_timer_(ioc) {}

void WebhookDispatcher::start() {
  // From the start of the stream: entries written before any worker created the group count.
  conn_.command({"XGROUP", "CREATE", outbox_, "webhooks", "0", "MKSTREAM"},
                [w = weak_from_this()](std::error_code, queue::Reply) {
                  auto self = w.lock();
                  if (!self || self->stopped_) return;
                  self->reclaim();  // a previous worker's unfinished deliveries first
                  self->poll();
                  self->renew();
                });
}

void WebhookDispatcher::stop() {
  stopped_ = true;
  poll_timer_.cancel();
  reclaim_timer_.cancel();
  renew_timer_.cancel();
  for (auto& [entry, d] : held_) {
    if (d->wait) d->wait->cancel();
    d->released = true;
  }
  held_.clear();
}

void WebhookDispatcher::arm_poll(std::chrono::milliseconds after) {
  poll_timer_.expires_after(after);
  poll_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->poll();
  });
}

void WebhookDispatcher::poll() {
  if (stopped_ || reading_) return;
  if (held_.size() >= opts_.max_in_flight) return arm_poll(opts_.poll);
  reading_ = true;
  const std::size_t room = opts_.max_in_flight - held_.size();
  conn_.command({"XREADGROUP", "GROUP", "webhooks", opts_.consumer, "COUNT", std::to_string(room),
                 "STREAMS", outbox_, ">"},
                [w = weak_from_this()](std::error_code ec, queue::Reply r) {
                  auto self = w.lock();
                  if (!self) return;
                  self->reading_ = false;
                  if (self->stopped_) return;
                  if (!ec && r.is_array() && !r.elements.empty() && r.elements[0].elements.size() >= 2 &&
                      !r.elements[0].elements[1].elements.empty()) {
                    self->on_entries(r.elements[0].elements[1]);
                    return self->poll();
                  }
                  if (ec && r.str.find("NOGROUP") != std::string::npos) {
                    self->conn_.command({"XGROUP", "CREATE", self->outbox_, "webhooks", "0", "MKSTREAM"},
                                        [](std::error_code, queue::Reply) {});
                  }
                  self->arm_poll(self->opts_.poll);
                });
}

void WebhookDispatcher::reclaim() {
  if (stopped_) return;
  conn_.command({"XAUTOCLAIM", outbox_, "webhooks", opts_.consumer,
                 std::to_string(opts_.claim_idle.count()), "0-0", "COUNT", "64"},
                [w = weak_from_this()](std::error_code ec, queue::Reply r) {
                  auto self = w.lock();
                  if (!self || self->stopped_) return;
                  if (!ec && r.is_array() && r.elements.size() >= 2) self->on_entries(r.elements[1]);
                  self->reclaim_timer_.expires_after(std::max(std::chrono::milliseconds(500), self->opts_.claim_idle / 2));
                  self->reclaim_timer_.async_wait([w](std::error_code e2) {
                    if (auto s = w.lock(); s && !e2) s->reclaim();
                  });
                });
}

void WebhookDispatcher::renew() {
  if (stopped_) return;
  // Deliveries waiting out a backoff keep their claim (reset the idle time), so another
  // worker does not take over an entry this one is still retrying.
  if (!held_.empty()) {
    std::vector<std::string> cmd = {"XCLAIM", outbox_, "webhooks", opts_.consumer, "0"};
    for (const auto& [entry, d] : held_) cmd.push_back(entry);
    cmd.push_back("JUSTID");
    conn_.command(std::move(cmd), [](std::error_code, queue::Reply) {});
  }
  renew_timer_.expires_after(std::max(std::chrono::milliseconds(200), opts_.claim_idle / 3));
  renew_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->renew();
  });
}

void WebhookDispatcher::on_entries(const queue::Reply& entries) {
  for (const auto& e : entries.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    auto d = std::make_shared<Delivery>();
    d->entry = e.elements[0].as_string().value_or("");
    if (d->entry.empty() || held_.count(d->entry)) continue;
    d->fields = e.elements[1].as_map();
    d->id = d->fields.count("delivery") ? d->fields["delivery"] : opts_.ns + "-" + d->entry;
    held_[d->entry] = d;
    auto hook = hooks_.find(d->fields["webhook"]);
    if (hook == hooks_.end()) {
      give_up(d, "no webhook \"" + d->fields["webhook"] + "\" in this worker's config");
      continue;
    }
    const auto& ev = hook->second.events;
    if (std::find(ev.begin(), ev.end(), d->fields["event"]) == ev.end()) {
      // Not an event this webhook asked for: done with it.
      conn_.command({"EVAL", outbox_lua::kDone, "2", outbox_, failed_, d->entry},
                    [](std::error_code, queue::Reply) {});
      release(d);
      continue;
    }
    send(d);
  }
}

void WebhookDispatcher::send(const std::shared_ptr<Delivery>& d) {
  if (stopped_ || d->released) return;
  const auto& hook = hooks_.at(d->fields["webhook"]);
  ++d->attempts;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto req = webhook_request(hook, d->id, d->fields["event"], webhook_body(d->fields), now);
  transport_.perform(std::move(req), [w = weak_from_this(), d](std::error_code ec, client::HttpResponse r) {
    auto self = w.lock();
    if (!self || self->stopped_ || d->released) return;
    self->on_answer(d, ec, r);
  });
}

void WebhookDispatcher::on_answer(const std::shared_ptr<Delivery>& d, std::error_code ec,
                                  const client::HttpResponse& r) {
  if (ec == std::errc::operation_canceled) return;  // shutting down: stays pending
  const auto& hook = hooks_.at(d->fields["webhook"]);
  const auto verdict = judge_delivery(ec, r.status);
  const std::string why = delivery_error_text(ec, r);
  if (verdict == DeliveryVerdict::delivered) return delivered(d);
  if (verdict == DeliveryVerdict::give_up || d->attempts >= hook.max_attempts) {
    return give_up(d, why + " (attempt " + std::to_string(d->attempts) + ")");
  }
  if (metrics_) metrics_->webhook_delivery(hook.name, "retried");
  const auto wait = delivery_backoff(d->attempts, rng_);
  spdlog::info("webhook={} job={} event={} delivery={} attempt={} error=\"{}\" retry_in_ms={}", hook.name,
               d->fields["id"], d->fields["event"], d->id, d->attempts, why, wait.count());
  d->wait = std::make_unique<asio::steady_timer>(ioc_, wait);
  d->wait->async_wait([w = weak_from_this(), d](std::error_code e2) {
    auto self = w.lock();
    if (!self || e2) return;
    self->send(d);
  });
}

void WebhookDispatcher::delivered(const std::shared_ptr<Delivery>& d) {
  const std::string name = d->fields["webhook"];
  if (metrics_) metrics_->webhook_delivery(name, "delivered");
  spdlog::info("webhook={} job={} event={} delivery={} delivered attempts={}", name, d->fields["id"],
               d->fields["event"], d->id, d->attempts);
  conn_.command({"EVAL", outbox_lua::kDone, "2", outbox_, failed_, d->entry},
                [w = weak_from_this(), d](std::error_code ec, queue::Reply) {
                  // If Redis did not take the XACK, the entry stays pending and is delivered
                  // again after a takeover: at least once.
                  if (ec) spdlog::warn("webhook delivery {}: could not remove from the outbox: {}", d->id, ec.message());
                  if (auto self = w.lock()) self->release(d);
                });
}

void WebhookDispatcher::give_up(const std::shared_ptr<Delivery>& d, const std::string& why) {
  const std::string name = d->fields["webhook"];
  if (metrics_) metrics_->webhook_delivery(name, "failed");
  spdlog::warn("webhook={} job={} event={} delivery={} failed: {} (kept for iamq webhooks retry)", name,
               d->fields["id"], d->fields["event"], d->id, why);
  conn_.command({"EVAL", outbox_lua::kFail, "2", outbox_, failed_, d->entry, why, std::to_string(d->attempts), d->id},
                [w = weak_from_this(), d](std::error_code, queue::Reply) {
                  if (auto self = w.lock()) self->release(d);
                });
}

void WebhookDispatcher::release(const std::shared_ptr<Delivery>& d) {
  d->released = true;
  held_.erase(d->entry);
  if (!stopped_ && !reading_) poll();
}

}  // namespace iamq::worker
