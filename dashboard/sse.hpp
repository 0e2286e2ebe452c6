#pragma once
/// Live updates: EventTail reads <ns>:events as it grows (XREAD BLOCK on its own Redis
/// connection), feeds the EventSeries, and once a second sends every browser that listens
/// (SseHub) one Server-Sent Event with the counts, the last second's point of the chart and
/// the state changes since the previous one.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "dashboard/event_series.hpp"
#include "queue/redis_connection.hpp"

namespace iamq::dashboard {

class Store;

/// The browsers listening on /api/events. Each has a bounded queue of unsent messages; a
/// client that does not keep up (more than kMaxQueued behind) is dropped.
class SseHub {
 public:
  static constexpr std::size_t kMaxQueued = 32;
  explicit SseHub(std::size_t max_clients) : max_clients_(max_clients) {}

  /// Takes over a connection whose request asked for the stream: writes the response
  /// header (`extra_headers` are complete "Name: value\r\n" lines) and keeps it. False (and
  /// the socket is left to the caller) when max_clients are connected already.
  bool attach(boost::asio::ip::tcp::socket socket, const std::string& extra_headers);
  /// Queues `data` (one line of JSON) as an event of type `event` for every client.
  void broadcast(const std::string& event, const std::string& data);
  /// A comment line, so that idle proxies and browsers keep the stream open.
  void keepalive();
  std::size_t clients() const { return clients_.size(); }
  /// Closes every stream.
  void stop();

  struct Client;

 private:
  void send(const std::shared_ptr<Client>& c, std::string text);
  void write_next(const std::shared_ptr<Client>& c);
  void on_write(const std::shared_ptr<Client>& c, std::error_code ec);
  void drop(const std::shared_ptr<Client>& c);

  std::size_t max_clients_;
  std::vector<std::shared_ptr<Client>> clients_;
};

/// Tails <ns>:events and drives the live updates (see the file comment).
class EventTail : public std::enable_shared_from_this<EventTail> {
 public:
  static constexpr std::size_t kBackfillMax = 200000;  ///< events read at start (last hour)
  EventTail(boost::asio::io_context& ioc, queue::RedisConnection& conn,
            queue::RedisConnection& blocking, std::string ns, Store& store, SseHub& hub,
            EventSeries& series);
  void start();
  void stop();

 private:
  void backfill(std::string from);
  void read_more();
  void on_entries(const queue::Reply& entries, std::function<void()> next);
  void on_tick();

  boost::asio::io_context& ioc_;
  queue::RedisConnection& conn_;
  queue::RedisConnection& blocking_;
  std::string events_key_;
  std::string job_prefix_;
  Store& store_;
  SseHub& hub_;
  EventSeries& series_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer retry_timer_;
  std::string last_id_ = "0-0";
  std::size_t backfilled_ = 0;
  bool stopped_ = false;
  int ticks_ = 0;
  /// Job id -> account, learned for `step` events (bounded: cleared when it gets large).
  std::unordered_map<std::string, std::string> account_of_;
  /// State changes read since the last tick, sent with the next one (bounded).
  std::deque<nlohmann::json> fresh_;
};

}  // namespace iamq::dashboard
