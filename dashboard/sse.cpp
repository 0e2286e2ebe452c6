#include "dashboard/sse.hpp"

#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "dashboard/store.hpp"

namespace iamq::dashboard {

namespace asio = boost::asio;
using nlohmann::json;

struct SseHub::Client {
  explicit Client(asio::ip::tcp::socket s) : socket(std::move(s)), write_timer(socket.get_executor()) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer write_timer;  // a write that takes longer than 30 s drops the client
  std::deque<std::string> queue;
  bool writing = false;
  bool closed = false;
};

bool SseHub::attach(asio::ip::tcp::socket socket, const std::string& extra_headers) {
  if (clients_.size() >= max_clients_) return false;
  auto c = std::make_shared<Client>(std::move(socket));
  clients_.push_back(c);
  // The body is the stream itself and ends when the connection closes (no length).
  send(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
          "Connection: close\r\nX-Accel-Buffering: no\r\n" +
              extra_headers + "\r\nretry: 2000\n\n");
  return true;
}

void SseHub::broadcast(const std::string& event, const std::string& data) {
  const std::string text = "event: " + event + "\ndata: " + data + "\n\n";
  auto copy = clients_;
  for (const auto& c : copy) send(c, text);
}

void SseHub::keepalive() {
  auto copy = clients_;
  for (const auto& c : copy) send(c, ": keep-alive\n\n");
}

void SseHub::send(const std::shared_ptr<Client>& c, std::string text) {
  if (c->closed) return;
  if (c->queue.size() >= kMaxQueued) return drop(c);  // too slow: let it reconnect
  c->queue.push_back(std::move(text));
  if (!c->writing) write_next(c);
}

void SseHub::write_next(const std::shared_ptr<Client>& c) {
  c->writing = true;
  c->write_timer.expires_after(std::chrono::seconds(30));
  c->write_timer.async_wait([c](std::error_code ec) {
    if (!ec) {
      boost::system::error_code ignored;
      c->socket.close(ignored);
    }
  });
  asio::async_write(c->socket, asio::buffer(c->queue.front()),
                    [this, c](std::error_code ec, std::size_t) { on_write(c, ec); });
}

void SseHub::on_write(const std::shared_ptr<Client>& c, std::error_code ec) {
  c->write_timer.cancel();
  c->writing = false;
  if (c->closed) return;
  if (ec) return drop(c);
  c->queue.pop_front();
  if (!c->queue.empty()) write_next(c);
}

void SseHub::drop(const std::shared_ptr<Client>& c) {
  c->closed = true;
  boost::system::error_code ignored;
  c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  c->write_timer.cancel();
  clients_.erase(std::remove(clients_.begin(), clients_.end(), c), clients_.end());
}

void SseHub::stop() {
  auto copy = clients_;
  for (const auto& c : copy) drop(c);
}

// ---------------------------------------------------------------------------------------

EventTail::EventTail(asio::io_context& ioc, queue::RedisConnection& conn,
                     queue::RedisConnection& blocking, std::string ns, Store& store, SseHub& hub,
                     EventSeries& series)
    : ioc_(ioc),
      conn_(conn),
      blocking_(blocking),
      events_key_(ns + ":events"),
      job_prefix_(ns + ":job:"),
      store_(store),
      hub_(hub),
      series_(series),
      tick_timer_(ioc),
      retry_timer_(ioc) {}

void EventTail::start() {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  backfill(std::to_string(now_ms - 3600 * 1000) + "-0");
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->on_tick();
  });
}

void EventTail::stop() {
  stopped_ = true;
  tick_timer_.cancel();
  retry_timer_.cancel();
}

void EventTail::backfill(std::string from) {
  conn_.command({"XRANGE", events_key_, from, "+", "COUNT", "10000"},
                [w = weak_from_this()](std::error_code ec, queue::Reply r) {
                  auto self = w.lock();
                  if (!self || self->stopped_) return;
                  if (ec) {
                    spdlog::warn("dashboard: reading {}: {}", self->events_key_, ec.message());
                    return self->read_more();
                  }
                  const std::size_t n = r.elements.size();
                  self->backfilled_ += n;
                  self->on_entries(r, [self, n] {
                    self->fresh_.clear();  // history is not news
                    if (n == 10000 && self->backfilled_ < kBackfillMax) {
                      return self->backfill("(" + self->last_id_);
                    }
                    self->read_more();
                  });
                });
}

void EventTail::read_more() {
  if (stopped_) return;
  const std::string from = last_id_ == "0-0" ? "$" : last_id_;
  blocking_.command({"XREAD", "COUNT", "5000", "BLOCK", "1000", "STREAMS", events_key_, from},
                    std::chrono::milliseconds(6000),
                    [w = weak_from_this()](std::error_code ec, queue::Reply r) {
                      auto self = w.lock();
                      if (!self || self->stopped_) return;
                      if (ec) {
                        self->retry_timer_.expires_after(std::chrono::seconds(1));
                        self->retry_timer_.async_wait([w](std::error_code e2) {
                          if (auto s = w.lock(); s && !e2) s->read_more();
                        });
                        return;
                      }
                      // [[key, [[id, fields] …]]] or nil on timeout
                      if (r.is_array() && !r.elements.empty() && r.elements[0].elements.size() >= 2) {
                        return self->on_entries(r.elements[0].elements[1], [self] { self->read_more(); });
                      }
                      self->read_more();
                    });
}

void EventTail::on_entries(const queue::Reply& entries, std::function<void()> next) {
  struct Parsed {
    std::string id;
    std::map<std::string, std::string> fields;
  };
  auto parsed = std::make_shared<std::vector<Parsed>>();
  for (const auto& e : entries.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    parsed->push_back({e.elements[0].as_string().value_or(""), e.elements[1].as_map()});
  }
  if (!parsed->empty()) last_id_ = parsed->back().id;
  // The accounts of jobs whose steps appear here, learned once per job.
  if (account_of_.size() > 200000) account_of_.clear();
  std::vector<std::string> unknown;
  std::unordered_set<std::string> asked;
  for (const auto& p : *parsed) {
    auto ev = p.fields.find("event");
    auto id = p.fields.find("id");
    if (ev == p.fields.end() || ev->second != "step" || id == p.fields.end()) continue;
    if (account_of_.count(id->second) || asked.count(id->second) || unknown.size() >= 1000) continue;
    asked.insert(id->second);
    unknown.push_back(id->second);
  }
  auto apply = [w = weak_from_this(), parsed, next = std::move(next)] {
    auto self = w.lock();
    if (!self || self->stopped_) return;
    for (const auto& p : *parsed) {
      std::string account;
      if (auto id = p.fields.find("id"); id != p.fields.end()) {
        if (auto a = self->account_of_.find(id->second); a != self->account_of_.end()) account = a->second;
      }
      self->series_.add(p.fields, account);
      auto ev = p.fields.find("event");
      if (ev != p.fields.end() && ev->second != "step" && ev->second != "adopted" && ev->second != "running") {
        json j = {{"entry", p.id}};
        for (const auto& [k, v] : p.fields) j[k] = v.substr(0, 300);
        self->fresh_.push_back(std::move(j));
        if (self->fresh_.size() > 50) self->fresh_.pop_front();
      }
    }
    next();
  };
  if (unknown.empty()) return apply();
  auto remaining = std::make_shared<std::size_t>(unknown.size());
  for (const auto& id : unknown) {
    conn_.command({"HGET", job_prefix_ + id, "account"},
                  [w = weak_from_this(), id, remaining, apply](std::error_code ec, queue::Reply r) {
                    auto self = w.lock();
                    if (!self) return;
                    if (!ec) self->account_of_[id] = r.as_string().value_or("");
                    if (--*remaining == 0) apply();
                  });
  }
}

void EventTail::on_tick() {
  if (stopped_) return;
  tick_timer_.expires_after(std::chrono::seconds(1));
  tick_timer_.async_wait([w = weak_from_this()](std::error_code ec) {
    if (auto self = w.lock(); self && !ec) self->on_tick();
  });
  if (++ticks_ % 15 == 0) hub_.keepalive();
  if (hub_.clients() == 0) {
    fresh_.clear();
    return;
  }
  store_.counts([w = weak_from_this()](std::error_code ec, json doc) {
    auto self = w.lock();
    if (!self || self->stopped_ || ec) return;
    const std::int64_t now_ms = doc.value("now_ms", std::int64_t{0});
    // The last complete second, as one point for the chart.
    json last = self->series_.buckets(now_ms - 1000, 1, 1);
    doc["point"] = last;
    doc["account_rates"] = self->series_.account_rates(now_ms);
    doc["events"] = json::array();
    for (auto& e : self->fresh_) doc["events"].push_back(std::move(e));
    self->fresh_.clear();
    self->hub_.broadcast("tick", doc.dump(-1, ' ', false, json::error_handler_t::replace));
  });
}

}  // namespace iamq::dashboard
