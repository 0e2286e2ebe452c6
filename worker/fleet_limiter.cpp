#include "worker/fleet_limiter.hpp"

#include <algorithm>
#include <cstdio>

#include "queue/error.hpp"

namespace iamq::worker {

namespace {

// GCRA with reservation. tat = the theoretical arrival time of the next call at the
// steady rate; a call may go at tat - burst * interval. Every caller moves tat on by one
// interval and learns its wait, so concurrent callers queue up in arrival order.
constexpr std::string_view kScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = 1000000 / rate
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return math.floor(wait)
)lua";

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

}  // namespace

std::string_view fleet_limiter_script() { return kScript; }

std::optional<std::chrono::microseconds> parse_fleet_reply(const queue::Reply& reply) {
  if (reply.type != queue::Reply::Type::integer || reply.integer < 0) return std::nullopt;
  return std::chrono::microseconds(reply.integer);
}

FleetLimiter::FleetLimiter(queue::RedisConnection& redis, std::string ns, double rate, double burst)
    : redis_(redis), ns_(std::move(ns)), rate_(rate), burst_(std::max(1.0, burst)) {}

void FleetLimiter::reserve(std::string_view account, Completion done) {
  redis_.command({"EVAL", std::string(kScript), "1", key(account), number(rate_), number(burst_)},
                 [done = std::move(done)](std::error_code ec, queue::Reply reply) {
                   if (ec) return done(ec, std::chrono::microseconds(0));
                   auto wait = parse_fleet_reply(reply);
                   if (!wait) return done(queue::make_error_code(queue::Errc::protocol_error),
                                          std::chrono::microseconds(0));
                   done({}, *wait);
                 });
}

}  // namespace iamq::worker
