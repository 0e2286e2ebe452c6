#pragma once
/// Delivers the webhook outbox (<ns>:outbox, written by the queue's scripts together with
/// each state change of a job that has `"notify"`): reads it with the consumer group
/// `webhooks`, POSTs each entry to its configured webhook through the worker's curl-multi
/// transport, retries 5xx/timeouts/refused connections with backoff, deletes an entry once it
/// is delivered and moves one that cannot be delivered to <ns>:webhooks:failed
/// (`iamq webhooks list|retry`). A worker that dies mid-delivery leaves the entry pending;
/// another (or the next) worker takes it over with XAUTOCLAIM after `claim_idle`: at least once.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "client/curl_multi_transport.hpp"
#include "config/webhook_config.hpp"
#include "queue/redis_connection.hpp"

namespace iamq::worker {

class Metrics;

class WebhookDispatcher : public std::enable_shared_from_this<WebhookDispatcher> {
 public:
  struct Options {
    std::string ns = "iamq";
    std::string consumer;
    std::chrono::milliseconds claim_idle{60000};  ///< entries idle this long are taken over
    std::size_t max_in_flight = 16;
    std::chrono::milliseconds poll{250};
  };

  /// `conn`, `transport` and `metrics` must outlive the dispatcher (metrics may be null).
  WebhookDispatcher(boost::asio::io_context& ioc, queue::RedisConnection& conn,
                    client::CurlMultiTransport& transport, std::map<std::string, config::Webhook> hooks,
                    Metrics* metrics, Options opts);
  /// Creates the group (from the start of the outbox) and starts reading.
  void start();
  /// Stops reading and retrying; entries not yet delivered stay pending for a takeover.
  void stop();
  /// Deliveries held now (in flight or waiting to retry).
  std::size_t held() const { return held_.size(); }

  struct Delivery;

 private:
  void poll();
  void arm_poll(std::chrono::milliseconds after);
  void reclaim();
  void renew();
  void on_entries(const queue::Reply& entries);
  void send(const std::shared_ptr<Delivery>& d);
  void on_answer(const std::shared_ptr<Delivery>& d, std::error_code ec, const client::HttpResponse& r);
  void delivered(const std::shared_ptr<Delivery>& d);
  void give_up(const std::shared_ptr<Delivery>& d, const std::string& why);
  void release(const std::shared_ptr<Delivery>& d);

  boost::asio::io_context& ioc_;
  queue::RedisConnection& conn_;
  client::CurlMultiTransport& transport_;
  std::map<std::string, config::Webhook> hooks_;
  Metrics* metrics_;
  Options opts_;
  std::string outbox_;
  std::string failed_;
  boost::asio::steady_timer poll_timer_;
  boost::asio::steady_timer reclaim_timer_;
  boost::asio::steady_timer renew_timer_;
  std::map<std::string, std::shared_ptr<Delivery>> held_;  ///< outbox entry id -> delivery
  std::mt19937_64 rng_{std::random_device{}()};
  bool reading_ = false;
  bool stopped_ = false;
};

/// Lua for the outbox (EVAL, also used by `iamq webhooks`): KEYS[1] <ns>:outbox,
/// KEYS[2] <ns>:webhooks:failed.
namespace outbox_lua {
/// ARGV[1] entry: XACK + XDEL (delivered, or an event the webhook does not want).
extern const char* const kDone;
/// ARGV[1] entry, [2] error, [3] attempts, [4] delivery id: copy to failed, XACK + XDEL.
extern const char* const kFail;
/// ARGV[1] failed entry id ('' for all): back into the outbox; returns how many moved.
extern const char* const kRetry;
}  // namespace outbox_lua

}  // namespace iamq::worker
