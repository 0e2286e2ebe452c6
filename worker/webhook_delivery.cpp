#include "worker/webhook_delivery.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include <nlohmann/json.hpp>

namespace iamq::worker {

using nlohmann::json;

std::string webhook_body(const std::map<std::string, std::string>& entry) {
  auto get = [&](const char* k) {
    auto it = entry.find(k);
    return it == entry.end() ? std::string() : it->second;
  };
  const json job = json::parse(get("job"), nullptr, false);
  const json result = json::parse(get("result"), nullptr, false);
  json body = {{"id", get("id")},
               {"type", job.is_object() ? job.value("type", "") : ""},
               {"account", job.is_object() ? job.value("account", "default") : ""},
               {"status", get("status")},
               {"event", get("event")},
               {"outcome", nullptr},
               {"error", get("error")},
               {"meta", job.is_object() && job.contains("meta") ? job["meta"] : json::object()}};
  if (result.is_object() && result.contains("outcome")) body["outcome"] = result["outcome"];
  try {
    body["at_ms"] = std::stoll(get("at"));
  } catch (...) {
    body["at_ms"] = nullptr;
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0xF];
  }
  return out;
}

client::HttpRequest webhook_request(const config::Webhook& hook, const std::string& delivery_id,
                                    const std::string& event, const std::string& body,
                                    std::int64_t unix_seconds) {
  client::HttpRequest r;
  r.method = "POST";
  r.url = hook.url;
  r.body = body;
  r.timeout = hook.timeout;
  r.connect_timeout = std::min(hook.timeout, std::chrono::milliseconds(5000));
  r.headers = {{"Content-Type", "application/json"},
               {"User-Agent", "iamq-webhook/1"},
               {"X-Iamq-Signature", "sha256=" + hmac_sha256_hex(hook.secret, body)},
               {"X-Iamq-Delivery", delivery_id},
               {"X-Iamq-Timestamp", std::to_string(unix_seconds)},
               {"X-Iamq-Event", event}};
  return r;
}

DeliveryVerdict judge_delivery(std::error_code ec, long status) {
  using client::TransportError;
  if (ec) {
    if (ec == TransportError::timeout || ec == TransportError::connection_failed ||
        ec == TransportError::transfer_failed || ec == TransportError::tls_error) {
      return DeliveryVerdict::retry;
    }
    return DeliveryVerdict::give_up;  // invalid URL, http:// refused, answer too large
  }
  if (status >= 200 && status < 300) return DeliveryVerdict::delivered;
  if (status >= 500 || status == 408 || status == 429) return DeliveryVerdict::retry;
  return DeliveryVerdict::give_up;
}

std::chrono::milliseconds delivery_backoff(int attempt, std::mt19937_64& rng) {
  const int n = std::clamp(attempt, 1, 7);
  const long long full = std::min<long long>(60000, 1000LL << (n - 1));
  std::uniform_int_distribution<long long> d(full / 2, full);
  return std::chrono::milliseconds(d(rng));
}

std::string delivery_error_text(std::error_code ec, const client::HttpResponse& r) {
  if (ec) return ec.message() + (r.error_detail.empty() ? "" : ": " + r.error_detail.substr(0, 200));
  return "HTTP " + std::to_string(r.status);
}

}  // namespace iamq::worker
