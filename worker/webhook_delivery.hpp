#pragma once
/// One webhook delivery, without I/O: the JSON body built from an outbox entry, the signed
/// request, what an answer means (delivered, retry, give up) and the wait before a retry.
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <system_error>

#include "client/curl_multi_transport.hpp"
#include "config/webhook_config.hpp"

namespace iamq::worker {

/// {"id","type","account","status","event","outcome","error","meta","at_ms"} from the
/// fields of a <ns>:outbox entry (job and result JSON are parsed for type, account, meta
/// and outcome). Always valid JSON, whatever the entry holds.
std::string webhook_body(const std::map<std::string, std::string>& entry);
/// Lower-case hex of HMAC-SHA256(key, data) (OpenSSL).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
/// The POST: Content-Type, X-Iamq-Signature: sha256=<hmac of body>, X-Iamq-Delivery (the same
/// on every attempt of one delivery, for de-duplication), X-Iamq-Timestamp (unix seconds of
/// this attempt), X-Iamq-Event.
client::HttpRequest webhook_request(const config::Webhook& hook, const std::string& delivery_id,
                                    const std::string& event, const std::string& body,
                                    std::int64_t unix_seconds);

enum class DeliveryVerdict { delivered, retry, give_up };
/// 2xx: delivered. 5xx, 408, 429, a timeout, a refused or reset connection: retry. Any other
/// status (a 4xx, a redirect) and a refused URL: give up (retrying cannot help).
DeliveryVerdict judge_delivery(std::error_code transport_error, long http_status);
/// Full-jitter backoff for retry `attempt` (1-based): uniform in [0.5, 1] × min(60 s, 1 s·2^(n-1)).
std::chrono::milliseconds delivery_backoff(int attempt, std::mt19937_64& rng);
/// "HTTP 503" / "timeout: …" for the failed-deliveries list (never holds the secret or body).
std::string delivery_error_text(std::error_code transport_error, const client::HttpResponse& r);

}  // namespace iamq::worker
